//! The typed models of the providers' browser SDKs (pure Rust, no DOM),
//! one module per provider, and the rules they share.
//!
//! - [`portone_v2`]: PortOne V2 (`PortOne.requestPayment`,
//!   `requestIssueBillingKey`): requests, outcomes, return URLs and
//!   validation that reports every violation at once.
//! - [`portone_v1`]: PortOne V1 with TossPay (`IMP.request_pay`): the
//!   payment and billing-key requests, the callback and the redirect
//!   return, validation, order ids that fit V1.
//! - [`toss`]: Toss Payments used directly (SDK v2 `requestPayment`,
//!   `requestBillingAuth`): requests, the promise's result, the
//!   success/fail URLs and validation.
//! - [`rules`]: violations, URL and Korean-time checks, KRW minimums and
//!   TossPay's own rules, shared by every provider.

pub(crate) mod answer;
pub mod json;
pub mod portone_v1;
pub mod portone_v2;
pub mod rules;
pub mod toss;

pub use json::{ByKey, Json, JsonObject};
pub use rules::{Device, Rule, Violation, Violations};
