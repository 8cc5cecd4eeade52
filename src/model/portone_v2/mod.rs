//! The typed model of the PortOne V2 browser SDK (pure Rust, no DOM).
//!
//! Mirrors `@portone/browser-sdk` (its `.d.ts`): field names and enum
//! strings exactly.
//!
//! - [`PaymentRequest`] / [`IssueBillingKeyRequest`]: the SDK's arguments,
//!   serializing to exactly the plain objects the SDK expects.
//! - [`PaymentOutcome`] / [`BillingKeyOutcome`]: what comes
//!   back, typed.
//! - [`validate`]: every rule checked before the SDK is called.

mod billing;
pub mod build;
pub(crate) mod enums;
mod payment;
mod response;
pub mod return_url;
pub mod validate;

pub use billing::{IssueBillingKeyBypass, IssueBillingKeyRequest, TosspayV2IssueBillingKeyBypass};
pub use build::{ChannelSettings, IssueOptions, PaymentOptions};
pub use enums::{
    BillingKeyMethod, CashReceiptTradeOption, CashReceiptType, Currency, EasyPayProvider, Gender, Locale, PayMethod,
    ProductType, WindowType,
};
pub use payment::{
    Address, Customer, EasyPayOptions, Iframe, PaymentBypass, PaymentRequest, Popup, Product, TosspayV2PaymentBypass,
    WindowTypes,
};
pub use response::{
    BillingKeyIssued, BillingKeyOutcome, ErrorCode, PaymentCompleted, PaymentOutcome, ResponseError, SdkFailure,
};
pub use validate::{validate_billing_key, validate_payment, PgProvider, UnknownPg, ValidationContext, KNOWN_PG_IDS};

#[cfg(test)]
mod serialization_tests;
