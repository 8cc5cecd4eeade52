//! What `requestPayment` / `requestIssueBillingKey` give back, typed.
//!
//! The SDK's promise:
//! - resolves to a response object: success, or a failure after the window
//!   opened (`code` set; it does not reject);
//! - resolves to `undefined` when the flow left the page by redirect;
//! - rejects only for errors before the window opened (bad parameters, SDK
//!   load/network failure).

// The parsers are the browser gateway's (feature `browser`); the types are
// everyone's.
#![cfg_attr(not(feature = "browser"), allow(dead_code))]

use super::enums::string_enum;
use crate::model::rules::short_json as short;
use crate::protocol::PgFailure;
use serde::{Deserialize, Serialize};
use serde_json::Value;

string_enum! {
    /// An SDK error code: the union of the SDK's `CheckoutServiceErrorCode`,
    /// `GrpcErrorCode`, `TxServicePayErrorCode`, `TxServiceIssueErrorCode`
    /// and the codes merchant code sees on PG failures. Unknown codes are
    /// kept verbatim in `Other`.
    ErrorCode {
        FailureTypePg = "FAILURE_TYPE_PG",
        PortoneError = "PORTONE_ERROR",
        BadRequest = "BadRequest",
        ParseChannelFailed = "ParseChannelFailed",
        ParseIdentityVerificationPrepareResponseFailed = "ParseIdentityVerificationPrepareResponseFailed",
        ParseIssuePrepareResponseFailed = "ParseIssuePrepareResponseFailed",
        ParsePgRawIdentityVerificationResponseFailed = "ParsePgRawIdentityVerificationResponseFailed",
        ParsePgRawIssueBillingKeyResponseFailed = "ParsePgRawIssueBillingKeyResponseFailed",
        ParsePgRawResponseFailed = "ParsePgRawResponseFailed",
        ParsePrepareResponseFailed = "ParsePrepareResponseFailed",
        Ok = "Ok",
        Cancelled = "Cancelled",
        Unknown = "Unknown",
        InvalidArgument = "InvalidArgument",
        DeadlineExceeded = "DeadlineExceeded",
        NotFound = "NotFound",
        AlreadyExists = "AlreadyExists",
        PermissionDenied = "PermissionDenied",
        ResourceExhausted = "ResourceExhausted",
        FailedPrecondition = "FailedPrecondition",
        Aborted = "Aborted",
        OutOfRange = "OutOfRange",
        Unimplemented = "Unimplemented",
        Internal = "Internal",
        Unavailable = "Unavailable",
        DataLoss = "DataLoss",
        Unauthenticated = "Unauthenticated",
        RequestParseFailed = "RequestParseFailed",
        InvalidEntityState = "InvalidEntityState",
        ConfirmUrlRequired = "ConfirmUrlRequired",
        StoreNotFound = "StoreNotFound",
        ChannelNotFound = "ChannelNotFound",
        PgProviderError = "PGProviderError",
        PaymentNotFound = "PaymentNotFound",
        PaymentAlreadyPaid = "PaymentAlreadyPaid",
        TransactionNotFound = "TransactionNotFound",
        AllChannelsNotSatisfied = "AllChannelsNotSatisfied",
        AmountNotEqualToPredefined = "AmountNotEqualToPredefined",
        ConfirmProcessFailed = "ConfirmProcessFailed",
        BillingKeyNotFound = "BillingKeyNotFound",
        UnknownError = "UnknownError",
    }
}

/// A failure reported by a resolved SDK promise (the window had opened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkFailure {
    /// `code`, `message`, `pgCode` and `pgMessage`: the contract's one
    /// failure shape.
    pub failure: PgFailure,
    /// `paymentId`, when present.
    pub payment_id: Option<String>,
    /// `txId`, when present.
    pub tx_id: Option<String>,
}

impl SdkFailure {
    /// The SDK's code, typed (unknown codes in `Other`).
    pub fn code(&self) -> ErrorCode {
        ErrorCode::from(self.failure.code.as_deref().unwrap_or_default())
    }

    /// Whether the customer cancelled (by code, see
    /// [`PgFailure::is_user_cancel`]).
    pub fn is_user_cancel(&self) -> bool {
        self.failure.is_user_cancel()
    }

    /// The text to show the customer: `pgMessage` when given, else `message`.
    pub fn customer_message(&self) -> &str {
        self.failure.customer_text().unwrap_or_default()
    }
}

/// A successful `requestPayment` (still to be verified by the backend).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCompleted {
    /// `paymentId`.
    pub payment_id: String,
    /// `txId`: the attempt's transaction id.
    pub tx_id: String,
    /// `paymentToken` (manual-confirm channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_token: Option<String>,
}

/// The typed result of `requestPayment`'s resolved promise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The window completed; the backend must verify before fulfilling.
    Completed(PaymentCompleted),
    /// The window reported a failure or a cancel.
    Failed(SdkFailure),
    /// The promise resolved to `undefined`: the page is leaving by redirect.
    Redirected,
}

/// A successful `requestIssueBillingKey` (still to be verified).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingKeyIssued {
    /// `billingKey` (`"NEEDS_CONFIRMATION"` on manual-confirm channels).
    pub billing_key: String,
    /// `billingIssueToken` (manual-confirm channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_issue_token: Option<String>,
}

impl BillingKeyIssued {
    /// Whether the key still needs server-side confirmation.
    pub fn needs_confirmation(&self) -> bool {
        self.billing_key == "NEEDS_CONFIRMATION"
    }
}

/// The typed result of `requestIssueBillingKey`'s resolved promise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillingKeyOutcome {
    /// A key was issued; the backend must verify it.
    Issued(BillingKeyIssued),
    /// The window reported a failure or a cancel.
    Failed(SdkFailure),
    /// The promise resolved to `undefined`: the page is leaving by redirect.
    Redirected,
}

/// The SDK resolved to something this crate cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// Not an object (and not `undefined`).
    #[error("the PortOne SDK resolved to {found}, not a response object")]
    NotAnObject {
        /// A short rendering of what came back.
        found: String,
    },
    /// A field has the wrong JSON type.
    #[error("the PortOne SDK response field `{field}` must be a string, found {found}")]
    WrongType {
        /// The camelCase field name.
        field: &'static str,
        /// A short rendering of what came back.
        found: String,
    },
    /// A field a success must carry is missing.
    #[error("the PortOne SDK response has no `{field}`, which a successful {kind} must carry")]
    MissingField {
        /// The camelCase field name.
        field: &'static str,
        /// `PAYMENT` or `ISSUE_BILLING_KEY`.
        kind: &'static str,
    },
    /// `transactionType` names another kind of transaction.
    #[error("the PortOne SDK response has transactionType `{found}`, expected `{expected}`")]
    WrongTransactionType {
        /// What was expected.
        expected: &'static str,
        /// What came back.
        found: String,
    },
}

/// The string fields of a response object, type-checked.
struct Fields<'a>(&'a serde_json::Map<String, Value>);

impl Fields<'_> {
    fn get(&self, field: &'static str) -> Result<Option<String>, ResponseError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(ResponseError::WrongType {
                field,
                found: short(other),
            }),
        }
    }

    fn require(&self, field: &'static str, kind: &'static str) -> Result<String, ResponseError> {
        self.get(field)?
            .filter(|s| !s.is_empty())
            .ok_or(ResponseError::MissingField { field, kind })
    }

    /// `Some(failure)` when `code` is set.
    fn failure(&self) -> Result<Option<SdkFailure>, ResponseError> {
        let Some(code) = self.get("code")?.filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        Ok(Some(SdkFailure {
            failure: PgFailure {
                code: Some(code),
                message: self.get("message")?,
                pg_code: self.get("pgCode")?,
                pg_message: self.get("pgMessage")?,
            },
            payment_id: self.get("paymentId")?,
            tx_id: self.get("txId")?,
        }))
    }

    fn check_type(&self, expected: &'static str) -> Result<(), ResponseError> {
        match self.get("transactionType")? {
            Some(t) if t != expected => Err(ResponseError::WrongTransactionType { expected, found: t }),
            _ => Ok(()),
        }
    }
}

fn object(value: Option<&Value>) -> Result<Option<Fields<'_>>, ResponseError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(Fields(o))),
        Some(other) => Err(ResponseError::NotAnObject { found: short(other) }),
    }
}

impl PaymentOutcome {
    /// Parses what `requestPayment` resolved to (`None` for `undefined`).
    pub(crate) fn from_json(value: Option<&Value>) -> Result<Self, ResponseError> {
        const KIND: &str = "PAYMENT";
        let Some(f) = object(value)? else {
            return Ok(Self::Redirected);
        };
        if let Some(failure) = f.failure()? {
            return Ok(Self::Failed(failure));
        }
        f.check_type(KIND)?;
        Ok(Self::Completed(PaymentCompleted {
            payment_id: f.require("paymentId", KIND)?,
            tx_id: f.require("txId", KIND)?,
            payment_token: f.get("paymentToken")?,
        }))
    }
}

impl BillingKeyOutcome {
    /// Parses what `requestIssueBillingKey` resolved to (`None` for
    /// `undefined`).
    pub(crate) fn from_json(value: Option<&Value>) -> Result<Self, ResponseError> {
        const KIND: &str = "ISSUE_BILLING_KEY";
        let Some(f) = object(value)? else {
            return Ok(Self::Redirected);
        };
        if let Some(failure) = f.failure()? {
            return Ok(Self::Failed(failure));
        }
        f.check_type(KIND)?;
        Ok(Self::Issued(BillingKeyIssued {
            billing_key: f.require("billingKey", KIND)?,
            billing_issue_token: f.get("billingIssueToken")?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pay(v: Value) -> Result<PaymentOutcome, ResponseError> {
        PaymentOutcome::from_json(Some(&v))
    }

    #[test]
    fn a_successful_payment_parses_to_completed() {
        let out = pay(json!({"transactionType": "PAYMENT", "txId": "tx-1", "paymentId": "order-1"}));
        assert_eq!(
            out,
            Ok(PaymentOutcome::Completed(PaymentCompleted {
                payment_id: "order-1".into(),
                tx_id: "tx-1".into(),
                payment_token: None
            }))
        );
    }

    #[test]
    fn a_manual_confirm_payment_keeps_its_token() {
        let out = pay(json!({"transactionType": "PAYMENT", "txId": "t", "paymentId": "p", "paymentToken": "tok"}));
        assert!(matches!(out, Ok(PaymentOutcome::Completed(c)) if c.payment_token.as_deref() == Some("tok")));
    }

    #[test]
    fn a_pg_failure_with_pg_code_is_a_failure_showing_the_pg_message() {
        let out = pay(json!({
            "transactionType": "PAYMENT", "txId": "t", "paymentId": "p",
            "code": "FAILURE_TYPE_PG", "message": "[INSUFFICIENT_BALANCE] 잔액 부족",
            "pgCode": "INSUFFICIENT_BALANCE", "pgMessage": "잔액이 부족합니다."
        }));
        let Ok(PaymentOutcome::Failed(f)) = out else {
            panic!("expected a failure, got {out:?}");
        };
        assert_eq!(f.code(), ErrorCode::FailureTypePg);
        assert_eq!(f.failure.pg_code.as_deref(), Some("INSUFFICIENT_BALANCE"));
        assert_eq!(f.customer_message(), "잔액이 부족합니다.");
        assert!(!f.is_user_cancel());
    }

    #[test]
    fn a_failure_without_pg_code_shows_the_message() {
        let out = pay(json!({"code": "PGProviderError", "message": "PG 오류"}));
        let Ok(PaymentOutcome::Failed(f)) = out else {
            panic!("expected a failure, got {out:?}");
        };
        assert_eq!(f.code(), ErrorCode::PgProviderError);
        assert_eq!(f.failure.pg_code, None);
        assert_eq!(f.customer_message(), "PG 오류");
    }

    #[test]
    fn a_user_cancel_is_recognised_by_code_not_text() {
        let by_pg = pay(json!({"code": "FAILURE_TYPE_PG", "message": "x", "pgCode": "PAY_PROCESS_CANCELED"}));
        assert!(matches!(by_pg, Ok(PaymentOutcome::Failed(f)) if f.is_user_cancel()));
        let by_text = pay(json!({"code": "FAILURE_TYPE_PG", "message": "사용자가 취소했습니다"}));
        assert!(matches!(by_text, Ok(PaymentOutcome::Failed(f)) if !f.is_user_cancel()));
    }

    #[test]
    fn unknown_codes_are_kept_verbatim() {
        let out = pay(json!({"code": "BRAND_NEW_CODE", "message": "m"}));
        assert!(matches!(out, Ok(PaymentOutcome::Failed(f)) if f.code() == ErrorCode::Other("BRAND_NEW_CODE".into())));
    }

    #[test]
    fn undefined_and_null_mean_the_page_is_redirecting() {
        assert_eq!(PaymentOutcome::from_json(None), Ok(PaymentOutcome::Redirected));
        assert_eq!(pay(Value::Null), Ok(PaymentOutcome::Redirected));
        assert_eq!(BillingKeyOutcome::from_json(None), Ok(BillingKeyOutcome::Redirected));
    }

    #[test]
    fn garbage_gives_a_clear_error_and_no_panic() {
        assert!(matches!(pay(json!(42)), Err(ResponseError::NotAnObject { .. })));
        assert!(matches!(pay(json!("ok")), Err(ResponseError::NotAnObject { .. })));
        assert!(matches!(pay(json!([1, 2])), Err(ResponseError::NotAnObject { .. })));
        let e = pay(json!({"txId": 7, "paymentId": "p"}));
        assert_eq!(
            e,
            Err(ResponseError::WrongType {
                field: "txId",
                found: "7".into()
            })
        );
        let e = pay(json!({"paymentId": "p"}));
        assert_eq!(
            e,
            Err(ResponseError::MissingField {
                field: "txId",
                kind: "PAYMENT"
            })
        );
        let e = pay(json!({"transactionType": "ISSUE_BILLING_KEY", "txId": "t", "paymentId": "p"}));
        assert!(matches!(e, Err(ResponseError::WrongTransactionType { .. })));
        let long = "x".repeat(10_000);
        let e = pay(json!({"txId": [long], "paymentId": "p"}));
        assert!(matches!(e, Err(ResponseError::WrongType { found, .. }) if found.chars().count() <= 81));
    }

    #[test]
    fn billing_key_responses_parse() {
        let ok = BillingKeyOutcome::from_json(Some(
            &json!({"transactionType": "ISSUE_BILLING_KEY", "billingKey": "billing-key-1"}),
        ));
        assert!(
            matches!(ok, Ok(BillingKeyOutcome::Issued(k)) if k.billing_key == "billing-key-1" && !k.needs_confirmation())
        );
        let manual = BillingKeyOutcome::from_json(Some(
            &json!({"transactionType": "ISSUE_BILLING_KEY", "billingKey": "NEEDS_CONFIRMATION", "billingIssueToken": "tok"}),
        ));
        assert!(matches!(manual, Ok(BillingKeyOutcome::Issued(k)) if k.needs_confirmation()));
        let failed = BillingKeyOutcome::from_json(Some(
            &json!({"transactionType": "ISSUE_BILLING_KEY", "code": "FAILURE_TYPE_PG", "message": "m", "pgCode": "X", "pgMessage": "거절"}),
        ));
        assert!(matches!(failed, Ok(BillingKeyOutcome::Failed(f)) if f.customer_message() == "거절"));
        let missing = BillingKeyOutcome::from_json(Some(&json!({"transactionType": "ISSUE_BILLING_KEY"})));
        assert!(matches!(
            missing,
            Err(ResponseError::MissingField {
                field: "billingKey",
                ..
            })
        ));
    }
}
