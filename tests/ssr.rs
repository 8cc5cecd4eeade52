//! Server rendering, proven: `<CheckoutProvider>` + `<Checkout>` rendered
//! to HTML natively with Leptos `ssr`. The button is there, and inert
//! (disabled, nothing started) until the page hydrates.
#![cfg(all(feature = "ssr", not(target_arch = "wasm32")))]

use leptos::prelude::*;
use portone_checkout::prelude::*;
use serde::Serialize;

#[derive(Clone, Serialize)]
struct Cart {
    items: Vec<(String, u32)>,
}

fn render() -> String {
    let owner = Owner::new();
    owner.set();
    let cart = Signal::stored(Cart {
        items: vec![("americano".into(), 2)],
    });
    let gateway = PortOneV2::new("store-test")
        .channel_key("channel-key-test")
        .pg(PgProvider::TosspayV2);
    view! {
        <CheckoutProvider gateway>
            <Checkout order=cart />
            <IssueBillingKey />
        </CheckoutProvider>
    }
    .to_html()
}

#[test]
fn the_checkout_renders_on_the_server_with_an_inert_pay_button() {
    let html = render();
    assert!(html.contains(r#"data-testid="checkout-pay""#), "{html}");
    assert!(html.contains(r#"data-testid="checkout-status""#), "{html}");
    assert!(html.contains(r#"data-state="idle""#), "{html}");
    assert!(html.contains("결제하기"), "the Korean label: {html}");
    // Inert until hydrated: the SDK is not loaded on the server.
    let button = html
        .split("<button")
        .find(|b| b.contains(r#"data-testid="checkout-pay""#))
        .unwrap_or_default();
    assert!(button.contains("disabled"), "{button}");
}

#[test]
fn the_billing_button_renders_on_the_server_too() {
    let html = render();
    assert!(html.contains(r#"data-testid="billing-issue""#), "{html}");
    assert!(html.contains(r#"role="status""#), "{html}");
}
