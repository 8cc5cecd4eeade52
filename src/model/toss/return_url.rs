//! Toss Payments' redirect returns (pure), read into the checkout's neutral
//! [`Returned`]:
//!
//! - payment success: `successUrl?paymentType=NORMAL&orderId=..&paymentKey=..&amount=..`;
//! - payment failure: `failUrl?code=..&message=..&orderId=..`;
//! - billing success: `successUrl?customerKey=..&authKey=..`;
//! - billing failure: `failUrl?code=..&message=..`.
//!
//! The gateway's URLs carry [`MARKER`] (`tossReturn=payment|billing`, and
//! for billing the `issueId`), so a failure without an `orderId` is still
//! recognised. Everything here is a hint: `orderId` must be a checkout
//! payment id and `paymentKey` / `authKey` visible ASCII, else the return
//! is refused without any request; `amount` must be a whole number of won,
//! and the backend only compares it with its own order, never uses it.

use crate::machine::BillingWindowResult;
use crate::protocol::{CompleteRequest, IssueId, PgFailure, RegisterBillingKeyRequest};
use crate::return_url::{Query, ReturnError, Returned};

/// The query key the gateway adds to its return URLs.
pub const MARKER: &str = "tossReturn";
/// [`MARKER`]'s value on payment returns.
pub const MARKER_PAYMENT: &str = "payment";
/// [`MARKER`]'s value on billing-authorisation returns.
pub const MARKER_BILLING: &str = "billing";
/// The query key of the issuance a billing return belongs to.
pub const ISSUE_ID_KEY: &str = "issueId";

/// Result keys the checkout removes from the address bar after reading
/// them.
pub const RESULT_KEYS: &[&str] = &[
    MARKER,
    ISSUE_ID_KEY,
    "paymentKey",
    "orderId",
    "amount",
    "paymentType",
    "code",
    "message",
    "authKey",
    "customerKey",
];

fn failure(q: &Query) -> Option<PgFailure> {
    Some(PgFailure {
        code: Some(q.get(&["code"])?),
        message: q.get(&["message"]),
        pg_code: None,
        pg_message: None,
    })
}

/// A whole, non-negative number of won (at most 15 digits).
fn amount(q: &Query) -> Result<Option<i64>, ReturnError> {
    let Some(raw) = q.raw(&["amount"]) else {
        return Ok(None);
    };
    let digits = raw.len() <= 15 && raw.bytes().all(|b| b.is_ascii_digit());
    match raw.parse::<i64>() {
        Ok(n) if digits => Ok(Some(n)),
        _ => Err(ReturnError::InvalidValue {
            field: "amount",
            reason: "`amount` must be a whole number of won (digits only)".into(),
        }),
    }
}

/// Reads a return query. `Ok(None)`: the query carries no Toss result (an
/// ordinary page load).
pub fn parse_return(query: &str) -> Result<Option<Returned>, ReturnError> {
    let q = Query::parse(query);
    let marker = q.get(&[MARKER]);
    let auth_key = q.reference("authKey", &["authKey"])?;
    let billing = match marker.as_deref() {
        Some(MARKER_BILLING) => true,
        Some(_) => false,
        None => auth_key.is_some(),
    };
    if billing {
        let issue_id = q
            .raw(&[ISSUE_ID_KEY])
            .map(IssueId::parse)
            .transpose()
            .map_err(|e| ReturnError::InvalidId {
                field: "issueId",
                reason: e.to_string(),
            })?;
        let result = match (failure(&q), auth_key) {
            (Some(f), _) => BillingWindowResult::Failed(f),
            (None, Some(auth)) => BillingWindowResult::Issued(RegisterBillingKeyRequest::auth(auth, issue_id)),
            (None, None) => return Err(ReturnError::Missing { field: "authKey" }),
        };
        return Ok(Some(Returned::BillingKey(result)));
    }
    let payment_key = q.reference("paymentKey", &["paymentKey"])?;
    let order_id = q.payment_id("orderId", &["orderId"])?;
    let failure = failure(&q);
    let is_result = marker.is_some() || payment_key.is_some() || (order_id.is_some() && failure.is_some());
    if !is_result {
        return Ok(None);
    }
    let Some(payment_id) = order_id else {
        return Err(ReturnError::Missing { field: "orderId" });
    };
    if failure.is_none() && payment_key.is_none() {
        return Err(ReturnError::Missing { field: "paymentKey" });
    }
    Ok(Some(Returned::Payment {
        payment_id,
        report: CompleteRequest {
            tx_id: payment_key,
            amount: amount(&q)?,
            failure,
        },
    }))
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
    fn a_success_url_gives_the_payment_key_and_the_amount_as_hints() {
        let (id, r) =
            pay("?tossReturn=payment&paymentType=NORMAL&orderId=order-0123456789&paymentKey=tgen_2026&amount=9500");
        assert_eq!(id, "order-0123456789");
        assert_eq!(
            r,
            CompleteRequest {
                tx_id: Some("tgen_2026".into()),
                failure: None,
                amount: Some(9500)
            }
        );
        // Without the marker (a URL built elsewhere), the keys are enough.
        let (_, r) = pay("?orderId=order-0123456789&paymentKey=k&amount=1");
        assert_eq!(r.amount, Some(1));
    }

    #[test]
    fn a_fail_url_gives_the_code_and_message_as_hints() {
        let (id, r) = pay("?tossReturn=payment&code=PAY_PROCESS_CANCELED&message=%EC%82%AC%EC%9A%A9%EC%9E%90+%EC%B7%A8%EC%86%8C&orderId=order-0123456789");
        assert_eq!(id, "order-0123456789");
        let f = r.failure.unwrap_or_else(|| panic!("a failure"));
        assert_eq!(f.code.as_deref(), Some("PAY_PROCESS_CANCELED"));
        assert_eq!(f.message.as_deref(), Some("사용자 취소"));
        assert!(f.is_user_cancel());
        assert_eq!(r.tx_id, None);
    }

    #[test]
    fn an_amount_that_is_not_a_whole_number_is_refused_naming_the_field() {
        for bad in ["9500.5", "-1", "1e3", "abc", "99999999999999999999"] {
            let q = format!("?tossReturn=payment&orderId=order-0123456789&paymentKey=k&amount={bad}");
            assert!(
                matches!(parse_return(&q), Err(ReturnError::InvalidValue { field: "amount", .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_crafted_order_id_or_key_is_refused_before_any_request() {
        assert!(matches!(
            parse_return("?tossReturn=payment&orderId=../subscriptions/x&paymentKey=k"),
            Err(ReturnError::InvalidId { field: "orderId", .. })
        ));
        assert!(matches!(
            parse_return("?orderId=order-0123456789&paymentKey=a%20b"),
            Err(ReturnError::InvalidId {
                field: "paymentKey",
                ..
            })
        ));
        assert_eq!(
            parse_return("?tossReturn=payment&code=X"),
            Err(ReturnError::Missing { field: "orderId" })
        );
        assert_eq!(
            parse_return("?tossReturn=payment&orderId=order-0123456789"),
            Err(ReturnError::Missing { field: "paymentKey" })
        );
    }

    #[test]
    fn an_ordinary_page_load_carries_no_result() {
        assert_eq!(parse_return(""), Ok(None));
        assert_eq!(parse_return("?lang=en&redirect=1"), Ok(None));
        assert_eq!(parse_return("?orderId=order-0123456789"), Ok(None));
    }

    #[test]
    fn billing_returns_give_the_auth_key_and_the_issue() {
        let r = parse_return("?tossReturn=billing&issueId=issue-1&customerKey=demo-customer-1&authKey=auth_1");
        assert_eq!(
            r,
            Ok(Some(Returned::BillingKey(BillingWindowResult::Issued(
                RegisterBillingKeyRequest::auth("auth_1", IssueId::parse("issue-1").ok())
            ))))
        );
        let r = parse_return("?tossReturn=billing&issueId=issue-1&code=PAY_PROCESS_CANCELED&message=x");
        assert!(
            matches!(&r, Ok(Some(Returned::BillingKey(BillingWindowResult::Failed(f)))) if f.is_user_cancel()),
            "{r:?}"
        );
        assert_eq!(
            parse_return("?tossReturn=billing&issueId=issue-1"),
            Err(ReturnError::Missing { field: "authKey" })
        );
        assert!(matches!(
            parse_return("?tossReturn=billing&issueId=..%2Fx&authKey=a"),
            Err(ReturnError::InvalidId { field: "issueId", .. })
        ));
    }

    #[test]
    fn result_keys_cover_what_the_parser_reads() {
        let stripped = crate::return_url::strip_keys(
            "?lang=en&tossReturn=payment&paymentType=NORMAL&orderId=o&paymentKey=k&amount=1&code=C&message=m&authKey=a&customerKey=c&issueId=i&keep=1",
            RESULT_KEYS,
        );
        assert_eq!(stripped, "?lang=en&keep=1");
    }
}
