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

fn main() {
    leptos::mount::mount_to_body(|| {
        view! {
            <CheckoutProvider gateway=PortOneV2::new("store-sandbox")
                .channel_key("channel-key-sandbox-tosspay")
                .pg(PgProvider::TosspayV2)
                .sdk_url(SDK_URL)>
                <Checkout order=Signal::stored(serde_json::json!({ "items": [{ "productId": "americano", "quantity": 1 }] })) />
            </CheckoutProvider>
        }
    });
}
