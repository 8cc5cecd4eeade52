//! # portone-checkout
//!
//! Leptos checkout hooks and components for Korean payment providers
//! (PortOne V2 and PortOne V1 with TossPay, and Toss Payments used
//! directly), in layers:
//!
//! - [`protocol`]: the JSON contract between the checkout and the merchant
//!   backend, with typed ids (one definition, shared by the checkout and
//!   `checkout-server`).
//! - [`model`]: each provider's typed SDK requests, outcomes, return URLs
//!   and validation that reports every violation at once.
//! - [`machine`]: the payment and billing-key flows as pure state machines
//!   that know no provider. These three layers are pure Rust (no DOM),
//!   tested with plain `cargo test`.
//! - [`gateway`] (feature `browser`): the thin wasm-bindgen layer, one
//!   adapter per provider SDK behind [`gateway::PaymentGateway`].
//! - [`hooks`] and [`components`] (feature `components` plus the
//!   rendering mode `csr`, `ssr` or `hydrate`): headless
//!   [`hooks::use_payment`] / [`hooks::use_billing_key`], and thin views
//!   over them.
//!
//! No feature is on by default: a server using only the contract and the
//! models (like `checkout-server`) compiles no browser or Leptos code.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "components")]
pub mod backend;
#[cfg(feature = "components")]
pub mod components;
#[cfg(feature = "browser")]
pub(crate) mod dom;
#[cfg(feature = "browser")]
pub mod gateway;
#[cfg(feature = "components")]
pub mod hooks;
pub mod i18n;
pub mod machine;
pub mod model;
pub mod protocol;
pub mod return_url;

/// The names most apps need, in one import:
/// `use portone_checkout::prelude::*;`.
#[cfg(feature = "components")]
pub mod prelude {
    #[cfg(feature = "billing")]
    pub use crate::components::IssueBillingKey;
    pub use crate::components::{Checkout, CheckoutProvider, PaymentView};
    pub use crate::gateway::{PortOneV1, PortOneV2, TossPayments};
    #[cfg(feature = "billing")]
    pub use crate::hooks::{use_billing_key, BillingPhase, UseBillingKeyOptions, UseBillingKeyReturn};
    pub use crate::hooks::{use_payment, PaymentPhase, UsePaymentOptions, UsePaymentReturn};
    pub use crate::i18n::Lang;
    pub use crate::model::portone_v2::{PaymentOptions, PgProvider};
    pub use crate::model::toss::TossPaymentOptions;
    pub use crate::protocol::{PaymentId, PaymentStatus, PreparedPayment, Subscription};
}
