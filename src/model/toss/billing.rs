//! `TossPayments(clientKey).payment({customerKey}).requestBillingAuth(..)`'s
//! argument.

use serde::{Deserialize, Serialize};

/// `method` of `requestBillingAuth`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BillingMethod {
    /// `"CARD"`.
    #[default]
    Card,
    /// `"TRANSFER"`.
    Transfer,
}

/// The argument of `requestBillingAuth`: always the redirect form. The
/// window returns to `successUrl?customerKey=..&authKey=..`; the merchant's
/// server exchanges the `authKey` for a billing key with its secret key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingAuthRequest {
    /// `method`.
    pub method: BillingMethod,
    /// `successUrl`.
    pub success_url: String,
    /// `failUrl`.
    pub fail_url: String,
    /// `customerEmail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    /// `customerName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
}
