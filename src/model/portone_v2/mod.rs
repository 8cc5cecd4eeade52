//! The typed model of the PortOne V2 browser SDK (pure Rust, no DOM).
//!
//! - [`PaymentRequest`] / [`IssueBillingKeyRequest`]: the SDK's arguments,
//!   serializing to exactly the plain objects the SDK expects.
//! - [`PaymentOutcome`] / [`BillingKeyOutcome`] / [`SdkRejection`]: what comes
//!   back, typed.
//! - [`validate`]: every rule checked before the SDK is called.

mod billing;
mod enums;
mod payment;
mod response;
pub mod validate;

pub use billing::{IssueBillingKeyBypass, IssueBillingKeyRequest, TosspayV2IssueBillingKeyBypass};
pub use enums::{
    BillingKeyMethod, CashReceiptTradeOption, CashReceiptType, Currency, EasyPayProvider, Gender, Locale, PayMethod,
    ProductType, WindowType,
};
pub use payment::{
    Address, Customer, EasyPayOptions, Iframe, JsonObject, PaymentBypass, PaymentRequest, Popup, Product,
    TosspayV2PaymentBypass, WindowTypes,
};
pub use response::{
    is_user_cancel, BillingKeyIssued, BillingKeyOutcome, ErrorCode, PaymentCompleted, PaymentOutcome, ResponseError,
    SdkFailure, SdkRejection, USER_CANCEL_PG_CODES,
};
pub use validate::{
    validate_billing_key, validate_payment, Device, PgProvider, ValidationContext, Violation, Violations,
};

#[cfg(test)]
mod serialization_tests;
