//! Headless hooks (feature `components`), leptos-use style: each takes
//! options and returns signals plus actions, so a merchant can render their
//! own button and status; the components are thin views over them.
//!
//! - [`use_payment`]: one payment (prepare, window, verify).
//! - [`use_billing_key`]: one billing-key issuance.
//! - [`use_checkout`]: the context `<CheckoutProvider>` provides.
//!
//! The flows are the pure state machines of [`crate::machine`]; the runner
//! here executes their effects (backend calls, the gateway, storage, timers)
//! and feeds the results back. Everything a hook starts stops when its
//! owner is cleaned up (the component unmounts): timers, re-checks and
//! pending work are aborted, so no request leaves after unmount.

mod context;
mod runner;
#[cfg(feature = "billing")]
mod use_billing_key;
mod use_payment;

pub use context::{try_use_checkout, use_checkout, CheckoutContext, SdkStatus};
#[cfg(feature = "billing")]
pub use use_billing_key::{use_billing_key, BillingPhase, UseBillingKeyOptions, UseBillingKeyReturn};
pub use use_payment::{use_payment, PaymentPhase, UsePaymentOptions, UsePaymentReturn};

pub(crate) use context::{BillingSource, Inner};
