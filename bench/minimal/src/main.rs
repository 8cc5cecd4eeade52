//! The minimal checkout page measured by `cargo xtask bench`: only
//! `<CheckoutProvider>` and `<Checkout>`, nothing else.
//!
//! The SDK URL is fixed at build time (`BENCH_SDK_URL`, set by the bench to
//! its sandbox); the backend is the page's own origin.

use leptos::prelude::*;
use portone_checkout::components::{Checkout, CheckoutProvider};
use portone_checkout::gateway::PortOneV2;
use portone_checkout::model::portone_v2::PgProvider;

const SDK_URL: &str = match option_env!("BENCH_SDK_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:8787/v2/browser-sdk.js",
};

/// The shop's order as the shop's own type (the backend prices it).
#[derive(Clone, serde::Serialize)]
struct Order {
    items: [Item; 1],
}

#[derive(Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    product_id: &'static str,
    quantity: u32,
}

fn main() {
    leptos::mount::mount_to_body(|| {
        view! {
            <CheckoutProvider gateway=PortOneV2::new("store-sandbox")
                .channel_key("channel-key-sandbox-tosspay")
                .pg(PgProvider::TosspayV2)
                .sdk_url(SDK_URL)>
                <Checkout order=Signal::stored(Order { items: [Item { product_id: "americano", quantity: 1 }] }) />
            </CheckoutProvider>
        }
    });
}
