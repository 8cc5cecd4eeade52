//! The typed model of the PortOne V1 (I'mport) browser SDK for TossPay
//! (pure Rust, no DOM).
//!
//! V1's `IMP.request_pay(params, callback)` takes snake_case params and
//! answers through a callback on PC, or by redirecting a phone to
//! `m_redirect_url`. Field names here are V1's exactly.
//!
//! - [`PaymentRequest`] / [`BillingKeyRequest`]: the call's argument for a
//!   payment and for TossPay's billing-key window (`customer_uid`).
//! - [`validate`]: every rule checked before the SDK is called, all
//!   violations at once (the TossPay rules are shared with V2 in
//!   [`crate::model::rules`]).
//! - [`callback`] / [`return_url`]: the callback object and the redirect
//!   return, read into the machines' neutral results; the legacy
//!   `imp_success` is never read.
//! - [`build`]: the requests from what the backend prepared.
//! - [`MerchantUid`]: an order id that fits V1's 40 characters.

pub mod build;
pub mod callback;
mod merchant_uid;
mod request;
pub mod return_url;
pub mod validate;

pub use crate::model::portone_v2::{PaymentBypass, TosspayV2PaymentBypass};
pub use build::{BillingOptions, PaymentOptions};
pub use callback::{Callback, CallbackError};
pub use merchant_uid::{MerchantUid, MerchantUidError, MAX_MERCHANT_UID_LEN};
pub use request::{BillingKeyRequest, CardOptions, Language, NoticeUrl, PayMethod, PaymentRequest};
pub use validate::{validate_billing_key, validate_payment, ValidationContext};
