//! PortOne V2's redirect return (pure): `redirectUrl?paymentId=...` with
//! `transactionType`, `txId`, and on failure `code`, `message`, `pgCode`,
//! `pgMessage`; for billing keys `billingKey`, `billingIssueToken`. The
//! older snake_case forms (`payment_id`, `tx_id`, `imp_success`,
//! `error_msg`, ...) are read too.

use crate::machine::BillingWindowResult;
use crate::protocol::{CompleteRequest, PgFailure, RegisterBillingKeyRequest};
use crate::return_url::{Query, ReturnError, Returned};

/// Result keys (camelCase and snake_case) the checkout removes from the
/// address bar after reading them.
pub const RESULT_KEYS: &[&str] = &[
    "paymentId",
    "payment_id",
    "txId",
    "tx_id",
    "transactionType",
    "transaction_type",
    "code",
    "message",
    "pgCode",
    "pg_code",
    "pgMessage",
    "pg_message",
    "paymentToken",
    "payment_token",
    "billingKey",
    "billing_key",
    "billingIssueToken",
    "billing_issue_token",
    "imp_success",
    "error_code",
    "error_msg",
];

fn failure(q: &Query) -> Option<PgFailure> {
    let code = q.get(&["code", "error_code"]).or_else(|| {
        // The older form: imp_success=false without a code.
        q.get(&["imp_success"])
            .filter(|v| v.eq_ignore_ascii_case("false"))
            .map(|_| "FAILURE".to_string())
    })?;
    Some(PgFailure {
        code: Some(code),
        message: q.get(&["message", "error_msg"]),
        pg_code: q.get(&["pgCode", "pg_code"]),
        pg_message: q.get(&["pgMessage", "pg_message"]),
    })
}

/// Reads a return query. `Ok(None)`: the query carries no result (an
/// ordinary page load).
pub fn parse_return(query: &str) -> Result<Option<Returned>, ReturnError> {
    let q = Query::parse(query);
    let kind = q.get(&["transactionType", "transaction_type"]);
    let billing_key = q.get(&["billingKey", "billing_key"]);
    let is_billing = kind.as_deref() == Some("ISSUE_BILLING_KEY") || (kind.is_none() && billing_key.is_some());
    if is_billing {
        let result = match (failure(&q), billing_key) {
            (Some(f), _) => BillingWindowResult::Failed(f),
            (None, Some(key)) => BillingWindowResult::Issued(RegisterBillingKeyRequest::key(key, None)),
            (None, None) => return Err(ReturnError::Missing { field: "billingKey" }),
        };
        return Ok(Some(Returned::BillingKey(result)));
    }
    let payment_id = q.payment_id("paymentId", &["paymentId", "payment_id"])?;
    match (payment_id, kind.as_deref()) {
        (Some(payment_id), _) => Ok(Some(Returned::Payment {
            payment_id,
            report: CompleteRequest {
                tx_id: q.reference("txId", &["txId", "tx_id"])?,
                failure: failure(&q),
                amount: None,
            },
        })),
        (None, Some("PAYMENT")) => Err(ReturnError::Missing { field: "paymentId" }),
        (None, _) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PaymentId;

    fn pay(q: &str) -> (PaymentId, CompleteRequest) {
        match parse_return(q) {
            Ok(Some(Returned::Payment { payment_id, report })) => (payment_id, report),
            other => panic!("expected a payment return for {q:?}, got {other:?}"),
        }
    }

    #[test]
    fn a_camel_case_success_is_read() {
        let (id, r) = pay("?paymentId=order-1&transactionType=PAYMENT&txId=tx-9");
        assert_eq!(id, "order-1");
        assert_eq!(r.tx_id.as_deref(), Some("tx-9"));
        assert_eq!(r.failure, None);
    }

    #[test]
    fn a_camel_case_failure_is_read_with_decoding() {
        let (_, r) = pay("paymentId=order-1&code=FAILURE_TYPE_PG&message=%5BX%5D+%EC%9E%94%EC%95%A1&pgCode=X&pgMessage=%EC%9E%94%EC%95%A1+%EB%B6%80%EC%A1%B1");
        let f = r.failure.unwrap_or_else(|| panic!("failure expected"));
        assert_eq!(f.code.as_deref(), Some("FAILURE_TYPE_PG"));
        assert_eq!(f.message.as_deref(), Some("[X] 잔액"));
        assert_eq!(f.pg_code.as_deref(), Some("X"));
        assert_eq!(f.pg_message.as_deref(), Some("잔액 부족"));
    }

    #[test]
    fn snake_case_and_the_older_form_are_read() {
        let (id, r) = pay("payment_id=order-2&tx_id=tx-2&pg_code=E1&pg_message=no&code=FAIL");
        assert_eq!((id.as_str(), r.tx_id.as_deref()), ("order-2", Some("tx-2")));
        assert_eq!(r.failure.and_then(|f| f.pg_code).as_deref(), Some("E1"));
        let (_, old) = pay("payment_id=order-3&imp_success=false&error_msg=denied");
        let f = old.failure.unwrap_or_else(|| panic!("failure expected"));
        assert_eq!(
            (f.code.as_deref(), f.message.as_deref()),
            (Some("FAILURE"), Some("denied"))
        );
        let (_, ok) = pay("payment_id=order-3&imp_success=true");
        assert_eq!(ok.failure, None);
    }

    #[test]
    fn an_ordinary_page_load_carries_no_result() {
        assert_eq!(parse_return(""), Ok(None));
        assert_eq!(parse_return("?window=popup&lang=en"), Ok(None));
        assert_eq!(parse_return("?&&=&"), Ok(None));
    }

    #[test]
    fn missing_or_malformed_ids_are_errors_not_panics() {
        assert_eq!(
            parse_return("?transactionType=PAYMENT&txId=t"),
            Err(ReturnError::Missing { field: "paymentId" })
        );
        for q in [
            "?paymentId=%3Cscript%3E+x".to_string(),
            format!("?paymentId={}", "a".repeat(65)),
            "?paymentId=../subscriptions/sub-1/charge%3F&transactionType=PAYMENT&txId=x".to_string(),
        ] {
            assert!(
                matches!(parse_return(&q), Err(ReturnError::InvalidId { field: "paymentId", .. })),
                "{q}"
            );
        }
        assert!(matches!(
            parse_return("?paymentId=ok&txId=%00"),
            Err(ReturnError::InvalidId { field: "txId", .. })
        ));
    }

    #[test]
    fn html_in_values_stays_text() {
        let (_, r) = pay("paymentId=p&code=C&message=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E");
        // Kept verbatim as a hint for the backend; the page never shows it.
        assert_eq!(
            r.failure.and_then(|f| f.message).as_deref(),
            Some("<img src=x onerror=alert(1)>")
        );
    }

    #[test]
    fn billing_key_returns_are_recognised() {
        let issued = |key: &str| {
            Ok(Some(Returned::BillingKey(BillingWindowResult::Issued(
                RegisterBillingKeyRequest::key(key, None),
            ))))
        };
        assert_eq!(
            parse_return("?transactionType=ISSUE_BILLING_KEY&billingKey=bk-1"),
            issued("bk-1")
        );
        assert_eq!(parse_return("?billing_key=bk-2"), issued("bk-2"));
        assert_eq!(
            parse_return("?transactionType=ISSUE_BILLING_KEY"),
            Err(ReturnError::Missing { field: "billingKey" })
        );
        let r = parse_return("?transactionType=ISSUE_BILLING_KEY&code=FAILURE_TYPE_PG&pgMessage=no");
        assert!(
            matches!(r, Ok(Some(Returned::BillingKey(BillingWindowResult::Failed(f)))) if f.pg_message.as_deref() == Some("no"))
        );
    }

    #[test]
    fn result_keys_cover_what_the_parser_reads() {
        let stripped = crate::return_url::strip_keys(
            "?lang=en&paymentId=p&txId=t&code=C&pgMessage=m&billingKey=b&keep=1",
            RESULT_KEYS,
        );
        assert_eq!(stripped, "?lang=en&keep=1");
    }
}
