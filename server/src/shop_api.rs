//! The reference shop's own API (catalogue, config, cart, subscription
//! charge): not the checkout's contract, and one definition with the demo
//! shop, whose `src/demo/api.rs` this module is.

#[path = "../../src/demo/api.rs"]
mod api;

pub use api::*;
