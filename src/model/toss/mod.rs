//! The typed model of Toss Payments' browser SDK v2 used directly, without
//! PortOne (pure Rust, no DOM).
//!
//! Mirrors `@tosspayments/tosspayments-sdk` 2.x (`TossPayments(clientKey)
//! .payment({customerKey})`): field names and enum strings exactly.
//!
//! - [`PaymentRequest`] / [`BillingAuthRequest`]: the arguments of
//!   `requestPayment` and `requestBillingAuth`, serializing to exactly the
//!   plain objects the SDK expects; [`CustomerKey`] is the argument of
//!   `payment({customerKey})`.
//! - [`validate`]: every rule checked before the SDK is called, all
//!   violations at once.
//! - [`build`]: the requests for what the backend prepared.
//! - [`response`]: the promise's result and rejections, typed.
//! - [`return_url`]: the `successUrl` / `failUrl` queries, read into the
//!   checkout's neutral results.
//!
//! Only the **client key** (`test_ck_...` / `live_ck_...`) is ever in the
//! browser; the secret key stays on the merchant's server, which confirms
//! every payment. What the browser reports (the promise, the return URL,
//! its `amount`) is a hint the server checks.

mod billing;
pub mod build;
mod payment;
pub mod response;
pub mod return_url;
pub mod validate;

pub use billing::{BillingAuthRequest, BillingMethod};
pub use build::{BillingAuthOptions, TossPaymentOptions};
pub use payment::{
    Amount, CardOptions, CashReceipt, CustomerKey, Metadata, Method, PaymentRequest, TransferOptions,
    VirtualAccountOptions, WindowTarget, ANONYMOUS,
};
pub use response::{BillingAuthOutcome, PaymentOutcome, PaymentResult, Rejection};
pub use validate::{validate_billing_auth, validate_client_key, validate_payment, ValidationContext};
