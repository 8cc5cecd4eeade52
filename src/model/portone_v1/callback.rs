//! What `IMP.request_pay` passes to its callback, read into the machines'
//! neutral results.
//!
//! The callback object carries `imp_uid` (PortOne's payment id; `null` when
//! the request was refused before any window), `merchant_uid`,
//! `error_code`, `error_msg`, and for a billing window `customer_uid`, plus
//! fields such as `paid_amount` and `status`. `success` / `imp_success` is
//! legacy: it may be missing, and may say `false` for a payment that is
//! paid, so it is never read. Neither it nor the absence of `error_code`
//! proves a payment: the backend looks the payment up. What is read here is
//! only the hint for that look-up.

// The parsers are the browser gateway's (feature `browser`); the types are
// everyone's.
#![cfg_attr(not(feature = "browser"), allow(dead_code))]

use crate::machine::{BillingWindowResult, WindowResult};
use crate::model::answer::{Answer, Field, Fields};
use crate::protocol::{CompleteRequest, IssueId, PgFailure, RegisterBillingKeyRequest};

/// What a callback reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback<T> {
    /// The window opened and finished (success or failure, both hints).
    Finished(T),
    /// V1 refused the request before any window opened (`imp_uid` is
    /// `null`): nothing was attempted.
    Refused {
        /// `error_code`, when given.
        code: Option<String>,
        /// `error_msg` (or a sentence saying it was missing).
        message: String,
    },
}

/// A callback object this crate cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// Not an object.
    #[error("IMP.request_pay called back with {found}, not a response object")]
    NotAnObject {
        /// A short rendering of what came back.
        found: String,
    },
    /// A field has the wrong JSON type.
    #[error("IMP.request_pay's response field `{field}` must be a string, found {found}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// A short rendering of what came back.
        found: String,
    },
    /// Neither a failure nor `imp_uid`: nothing to verify.
    #[error("IMP.request_pay's response has neither `imp_uid` nor `error_code`")]
    Empty,
}

/// The callback's fields this crate reads, type-checked.
struct Read<F>(F);

impl<F: Fields> Read<F> {
    fn of(answer: Answer<F>) -> Result<Self, CallbackError> {
        match answer {
            Answer::Object(o) => Ok(Read(o)),
            Answer::Nothing => Err(CallbackError::NotAnObject {
                found: "nothing".into(),
            }),
            Answer::Other(found) => Err(CallbackError::NotAnObject { found }),
        }
    }

    /// A string field; `null`, absent and blank are `None`.
    fn get(&self, field: &'static str) -> Result<Option<String>, CallbackError> {
        match self.0.field(field) {
            Field::Absent => Ok(None),
            Field::Str(s) if s.trim().is_empty() => Ok(None),
            Field::Str(s) => Ok(Some(s)),
            other => Err(CallbackError::WrongType {
                field,
                found: other.describe(),
            }),
        }
    }

    /// `imp_uid` and the failure, if any, decided without `imp_success`.
    fn read(&self) -> Result<Callback<(String, Option<PgFailure>)>, CallbackError> {
        let imp_uid = self.get("imp_uid")?;
        let code = self.get("error_code")?;
        let message = self.get("error_msg")?;
        let failure = (code.is_some() || message.is_some()).then(|| PgFailure {
            code: code.clone(),
            message: message.clone(),
            pg_code: None,
            pg_message: None,
        });
        match (imp_uid, failure) {
            (Some(imp_uid), failure) => Ok(Callback::Finished((imp_uid, failure))),
            (None, Some(_)) => Ok(Callback::Refused {
                code,
                message: message.unwrap_or_else(|| "V1 refused the request without a message".into()),
            }),
            (None, None) => Err(CallbackError::Empty),
        }
    }
}

/// Reads a payment window's callback object: `imp_uid` becomes the
/// report's `tx_id`, `error_code` / `error_msg` its failure.
pub(crate) fn payment_result(answer: Answer<impl Fields>) -> Result<Callback<WindowResult>, CallbackError> {
    Ok(match Read::of(answer)?.read()? {
        Callback::Finished((imp_uid, failure)) => Callback::Finished(WindowResult::Finished(CompleteRequest {
            tx_id: Some(imp_uid),
            failure,
            amount: None,
        })),
        Callback::Refused { code, message } => Callback::Refused { code, message },
    })
}

/// Reads a billing-key window's callback object. A window that finished
/// without a failure reports the `customer_uid` the checkout asked for
/// (the backend reads the billing key behind it); `issue_id` is the
/// issuance it was prepared for.
pub(crate) fn billing_result(
    answer: Answer<impl Fields>,
    customer_uid: &str,
    issue_id: Option<IssueId>,
) -> Result<Callback<BillingWindowResult>, CallbackError> {
    Ok(match Read::of(answer)?.read()? {
        Callback::Finished((_, Some(failure))) => Callback::Finished(BillingWindowResult::Failed(failure)),
        Callback::Finished((_, None)) => Callback::Finished(BillingWindowResult::Issued(
            RegisterBillingKeyRequest::key(customer_uid, issue_id),
        )),
        Callback::Refused { code, message } => Callback::Refused { code, message },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::answer::json::answer;
    use serde_json::{json, Value};

    fn finished(tx: &str, failure: Option<PgFailure>) -> Result<Callback<WindowResult>, CallbackError> {
        Ok(Callback::Finished(WindowResult::Finished(CompleteRequest {
            tx_id: Some(tx.into()),
            failure,
            amount: None,
        })))
    }

    fn pay(v: &Value) -> Result<Callback<WindowResult>, CallbackError> {
        payment_result(answer(Some(v)))
    }

    fn billing(
        v: &Value,
        customer_uid: &str,
        issue_id: Option<IssueId>,
    ) -> Result<Callback<BillingWindowResult>, CallbackError> {
        billing_result(answer(Some(v)), customer_uid, issue_id)
    }

    #[test]
    fn a_success_reports_imp_uid_as_the_reference_and_no_failure() {
        let v = json!({"success": true, "imp_success": true, "imp_uid": "imp_123456789012",
                       "merchant_uid": "order-1", "error_code": null, "error_msg": null,
                       "paid_amount": 4500, "status": "paid"});
        assert_eq!(pay(&v), finished("imp_123456789012", None));
    }

    #[test]
    fn imp_success_is_never_trusted_either_way() {
        // A paid payment may say false: still only a hint to verify.
        let said_false = json!({"imp_success": false, "success": false, "imp_uid": "imp_1"});
        assert_eq!(pay(&said_false), finished("imp_1", None));
        // A failure that says true is still a failure.
        let said_true = json!({"imp_success": true, "imp_uid": "imp_2", "error_code": "X", "error_msg": "m"});
        assert_eq!(
            pay(&said_true),
            finished(
                "imp_2",
                Some(PgFailure {
                    code: Some("X".into()),
                    message: Some("m".into()),
                    ..PgFailure::default()
                })
            )
        );
    }

    #[test]
    fn a_window_failure_keeps_its_code_and_message_for_the_backend() {
        let v = json!({"success": false, "imp_uid": "imp_9", "merchant_uid": "order-1",
                       "error_code": "PAY_PROCESS_CANCELED", "error_msg": "사용자가 결제를 취소하였습니다."});
        let Ok(Callback::Finished(WindowResult::Finished(report))) = pay(&v) else {
            panic!("expected a finished window");
        };
        let failure = report.failure.unwrap_or_default();
        assert!(failure.is_user_cancel());
        assert_eq!(failure.customer_text(), Some("사용자가 결제를 취소하였습니다."));
    }

    #[test]
    fn a_refusal_before_the_window_has_no_imp_uid() {
        let v = json!({"success": false, "imp_success": false, "imp_uid": null, "merchant_uid": "order-1",
                       "error_code": "AMOUNT_MISMATCH", "error_msg": "금액이 다릅니다"});
        assert_eq!(
            pay(&v),
            Ok(Callback::Refused {
                code: Some("AMOUNT_MISMATCH".into()),
                message: "금액이 다릅니다".into()
            })
        );
        let no_code = json!({"imp_uid": "", "error_msg": "oops"});
        assert!(matches!(pay(&no_code), Ok(Callback::Refused { code: None, .. })));
    }

    #[test]
    fn garbage_gives_a_typed_error_and_no_panic() {
        assert!(matches!(pay(&json!(42)), Err(CallbackError::NotAnObject { .. })));
        assert!(matches!(
            pay(&json!({"imp_uid": 7})),
            Err(CallbackError::WrongType { field: "imp_uid", .. })
        ));
        assert_eq!(pay(&json!({"success": true})), Err(CallbackError::Empty));
        let long = "x".repeat(10_000);
        assert!(matches!(
            pay(&json!({"error_code": [long]})),
            Err(CallbackError::WrongType { found, .. }) if found.chars().count() <= 81
        ));
    }

    #[test]
    fn a_billing_window_that_finished_reports_the_customer_uid_asked_for() {
        let issue = IssueId::parse("issue-1").ok();
        let v = json!({"imp_uid": "imp_5", "customer_uid": "something-else", "error_code": null});
        assert_eq!(
            billing(&v, "issue-1", issue.clone()),
            Ok(Callback::Finished(BillingWindowResult::Issued(
                RegisterBillingKeyRequest::key("issue-1", issue.clone())
            )))
        );
        let declined = json!({"imp_uid": "imp_6", "error_code": "INSUFFICIENT_BALANCE", "error_msg": "잔액"});
        assert!(matches!(
            billing(&declined, "issue-1", issue.clone()),
            Ok(Callback::Finished(BillingWindowResult::Failed(f))) if f.code.as_deref() == Some("INSUFFICIENT_BALANCE")
        ));
        let refused = json!({"imp_uid": null, "error_code": "INVALID_PARAMETER", "error_msg": "customer_id"});
        assert!(matches!(
            billing(&refused, "issue-1", issue),
            Ok(Callback::Refused { .. })
        ));
    }
}
