//! PortOne V1's redirect return (pure): `m_redirect_url?imp_uid=...&merchant_uid=...`
//! and on failure `error_code`, `error_msg`. The legacy `imp_success` may be
//! there too and is never read (it can say `false` for a paid payment).
//!
//! A billing-key window returns the same keys. The checkout tells its two
//! returns apart by a key it puts into the `m_redirect_url` of a billing
//! window itself ([`CUSTOMER_UID_KEY`], the `customer_uid` it asked for): V1
//! keeps the URL's own query.

use super::MAX_MERCHANT_UID_LEN;
use crate::machine::BillingWindowResult;
use crate::protocol::{CompleteRequest, PgFailure, RegisterBillingKeyRequest};
use crate::return_url::{Query, ReturnError, Returned};

/// The key the checkout adds to a billing window's `m_redirect_url`.
pub const CUSTOMER_UID_KEY: &str = "customer_uid";

/// Result keys the checkout removes from the address bar after reading them.
pub const RESULT_KEYS: &[&str] = &[
    "imp_uid",
    "merchant_uid",
    "imp_success",
    "success",
    "error_code",
    "error_msg",
    CUSTOMER_UID_KEY,
];

fn failure(q: &Query) -> Option<PgFailure> {
    let code = q.get(&["error_code"]);
    let message = q.get(&["error_msg"]);
    (code.is_some() || message.is_some()).then_some(PgFailure {
        code,
        message,
        pg_code: None,
        pg_message: None,
    })
}

/// Reads a return query. `Ok(None)`: the query carries no result (an
/// ordinary page load).
pub fn parse_return(query: &str) -> Result<Option<Returned>, ReturnError> {
    let q = Query::parse(query);
    let imp_uid = q.reference("imp_uid", &["imp_uid"])?;
    let failure = failure(&q);
    let reported = imp_uid.is_some() || failure.is_some() || q.raw(&["merchant_uid"]).is_some();
    if !reported {
        return Ok(None);
    }
    if let Some(customer_uid) = q.reference(CUSTOMER_UID_KEY, &[CUSTOMER_UID_KEY])? {
        let result = match failure {
            Some(f) => BillingWindowResult::Failed(f),
            None => BillingWindowResult::Issued(RegisterBillingKeyRequest::key(customer_uid, None)),
        };
        return Ok(Some(Returned::BillingKey(result)));
    }
    let Some(payment_id) = q.payment_id("merchant_uid", &["merchant_uid"])? else {
        return Err(ReturnError::Missing { field: "merchant_uid" });
    };
    if payment_id.len() > MAX_MERCHANT_UID_LEN {
        return Err(ReturnError::InvalidId {
            field: "merchant_uid",
            reason: format!("`merchant_uid` must be at most {MAX_MERCHANT_UID_LEN} characters"),
        });
    }
    Ok(Some(Returned::Payment {
        payment_id,
        report: CompleteRequest {
            tx_id: imp_uid,
            failure,
            amount: None,
        },
    }))
}

/// `url` with `key=value` added to its query (before any `#fragment`);
/// the value is percent-encoded.
pub fn with_query_param(url: &str, key: &str, value: &str) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let sep = if !base.contains('?') {
        "?"
    } else if base.ends_with('?') || base.ends_with('&') {
        ""
    } else {
        "&"
    };
    let encoded = crate::protocol::encode_path_segment(value);
    let mut out = format!("{base}{sep}{key}={encoded}");
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
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
    fn a_success_return_reports_imp_uid_for_the_order_in_merchant_uid() {
        let (id, r) = pay("?imp_uid=imp_123456789012&merchant_uid=order-1&imp_success=true");
        assert_eq!(id, "order-1");
        assert_eq!(r.tx_id.as_deref(), Some("imp_123456789012"));
        assert_eq!(r.failure, None);
    }

    #[test]
    fn a_failure_return_keeps_code_and_decoded_message_as_a_hint() {
        let (_, r) = pay(
            "imp_uid=imp_1&merchant_uid=order-1&imp_success=false&error_code=INSUFFICIENT_BALANCE\
             &error_msg=%EC%9E%94%EC%95%A1%EC%9D%B4+%EB%B6%80%EC%A1%B1%ED%95%A9%EB%8B%88%EB%8B%A4.",
        );
        let f = r.failure.unwrap_or_default();
        assert_eq!(f.code.as_deref(), Some("INSUFFICIENT_BALANCE"));
        assert_eq!(f.message.as_deref(), Some("잔액이 부족합니다."));
    }

    #[test]
    fn imp_success_decides_nothing() {
        let (_, said_false) = pay("?imp_uid=imp_1&merchant_uid=order-1&imp_success=false");
        assert_eq!(said_false.failure, None, "no error_code: the backend decides");
        let (_, said_true) = pay("?imp_uid=imp_1&merchant_uid=order-1&imp_success=true&error_code=X");
        assert!(said_true.failure.is_some());
    }

    #[test]
    fn an_ordinary_page_load_carries_no_result() {
        for q in ["", "?lang=en", "?window=popup&customer_uid=mine", "?imp_success=true"] {
            assert_eq!(parse_return(q), Ok(None), "{q}");
        }
    }

    #[test]
    fn a_forged_or_broken_merchant_uid_is_refused_before_any_request() {
        for q in [
            "?imp_uid=imp_1&merchant_uid=..%2Fsubscriptions%2Fsub-1%2Fcharge".to_string(),
            "?imp_uid=imp_1&merchant_uid=%3Cscript%3E".to_string(),
            format!("?imp_uid=imp_1&merchant_uid={}", "o".repeat(41)),
        ] {
            assert!(
                matches!(
                    parse_return(&q),
                    Err(ReturnError::InvalidId {
                        field: "merchant_uid",
                        ..
                    })
                ),
                "{q}"
            );
        }
        assert_eq!(
            parse_return("?imp_uid=imp_1"),
            Err(ReturnError::Missing { field: "merchant_uid" })
        );
        assert!(matches!(
            parse_return("?imp_uid=%00&merchant_uid=order-1"),
            Err(ReturnError::InvalidId { field: "imp_uid", .. })
        ));
    }

    #[test]
    fn a_billing_return_is_recognised_by_the_checkouts_own_customer_uid_key() {
        assert_eq!(
            parse_return("?customer_uid=issue-1&imp_uid=imp_7&merchant_uid=issue-1&imp_success=true"),
            Ok(Some(Returned::BillingKey(BillingWindowResult::Issued(
                RegisterBillingKeyRequest::key("issue-1", None)
            ))))
        );
        let failed =
            parse_return("?customer_uid=issue-1&imp_uid=imp_7&merchant_uid=issue-1&error_code=PAY_PROCESS_CANCELED");
        assert!(matches!(failed, Ok(Some(Returned::BillingKey(BillingWindowResult::Failed(f)))) if f.is_user_cancel()));
        assert!(matches!(
            parse_return("?customer_uid=a%20b&imp_uid=imp_7"),
            Err(ReturnError::InvalidId {
                field: "customer_uid",
                ..
            })
        ));
    }

    #[test]
    fn result_keys_cover_what_the_parser_reads() {
        let stripped = crate::return_url::strip_keys(
            "?lang=en&imp_uid=i&merchant_uid=m&imp_success=true&error_code=C&error_msg=x&customer_uid=c&keep=1",
            RESULT_KEYS,
        );
        assert_eq!(stripped, "?lang=en&keep=1");
    }

    #[test]
    fn a_query_parameter_is_added_before_the_fragment_and_encoded() {
        assert_eq!(
            with_query_param("https://shop.example/v1/subscribe", "customer_uid", "issue-1"),
            "https://shop.example/v1/subscribe?customer_uid=issue-1"
        );
        assert_eq!(
            with_query_param("https://shop.example/a?lang=en#top", "k", "a b&c"),
            "https://shop.example/a?lang=en&k=a%20b%26c#top"
        );
        assert_eq!(
            with_query_param("https://s.example/?", "k", "v"),
            "https://s.example/?k=v"
        );
    }
}
