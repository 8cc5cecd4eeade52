//! # portone-checkout
//!
//! A Leptos checkout component for [PortOne V2](https://portone.io) payments
//! (TossPay first, generic over PortOne channels), in layers:
//!
//! - [`model`]: the typed PortOne V2 browser-SDK requests, responses and
//!   error codes, plus [validation](model::validate) that reports every
//!   violation at once. Pure Rust, no DOM; tested with plain `cargo test`.
//! - [`protocol`]: the JSON contract between the checkout and the merchant
//!   backend (one definition, shared by the component and `checkout-server`).
//! - `sdk` (feature `browser`): the thin wasm-bindgen layer: the SDK script
//!   loader and `request_payment` / `request_issue_billing_key`.
//!
//! With `default-features = false` only the pure layers compile, which is
//! how the reference backend uses this crate.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "components")]
pub mod backend;
#[cfg(feature = "components")]
pub mod components;
#[cfg(feature = "browser")]
pub mod dom;
pub mod i18n;
pub mod machine;
pub mod model;
pub mod protocol;
pub mod redirect;
#[cfg(feature = "browser")]
pub mod sdk;
