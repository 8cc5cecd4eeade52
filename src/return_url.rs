//! Parsing the query a redirect flow returns with (pure, no DOM).
//!
//! After a mobile (or forced) redirect, PortOne navigates back to
//! `redirectUrl` with the result in the query string: `paymentId` always;
//! `code`, `message` on failure; `pgCode`, `pgMessage` when the PG gave them;
//! `transactionType`, `txId`, `paymentToken`; for billing keys `billingKey`,
//! `billingIssueToken`. The older snake_case forms (`payment_id`, `tx_id`,
//! `imp_success`, `error_msg`, ...) are read too.
//!
//! Everything here is a **hint**: the query can be forged. The checkout
//! always asks the merchant backend, which asks PortOne, before showing a
//! result, and renders these strings as text, never as HTML.

use crate::protocol::PaymentId;

/// Longest value kept from the query (longer ones are cut, on a character
/// boundary, and marked with `…`).
pub const MAX_VALUE_CHARS: usize = 500;

/// The failure hint of a redirect return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureHint {
    /// `code`.
    pub code: String,
    /// `message` (text only).
    pub message: Option<String>,
    /// `pgCode`.
    pub pg_code: Option<String>,
    /// `pgMessage` (text only).
    pub pg_message: Option<String>,
}

/// A payment result read from the return URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentReturn {
    /// `paymentId`, parsed: a return whose id breaks the rule is refused.
    pub payment_id: PaymentId,
    /// `txId`.
    pub tx_id: Option<String>,
    /// `paymentToken`.
    pub payment_token: Option<String>,
    /// Set when the query reports a failure.
    pub failure: Option<FailureHint>,
}

/// A billing-key result read from the return URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingKeyReturn {
    /// `billingKey` (absent on failure).
    pub billing_key: Option<String>,
    /// `billingIssueToken`.
    pub billing_issue_token: Option<String>,
    /// Set when the query reports a failure.
    pub failure: Option<FailureHint>,
}

/// What a return URL carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectReturn {
    /// A payment (`transactionType=PAYMENT` or a `paymentId` alone).
    Payment(PaymentReturn),
    /// A billing key (`transactionType=ISSUE_BILLING_KEY` or a `billingKey`).
    BillingKey(BillingKeyReturn),
}

/// A return query that cannot be acted on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    /// An id breaks its rule: the return is ignored and nothing is
    /// requested for it.
    #[error("the return URL's `{field}` is refused ({reason}); the return is ignored and nothing was requested")]
    InvalidId {
        /// The field.
        field: &'static str,
        /// The rule it breaks.
        reason: String,
    },
    /// A payment result without `paymentId`.
    #[error("the return URL reports a payment result but has no `paymentId`")]
    MissingPaymentId,
}

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

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space,
/// malformed `%` escapes are kept literally, invalid UTF-8 is replaced).
pub fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes a query component (unreserved characters kept).
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The decoded `(key, value)` pairs of a query (`?` optional).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (form_decode(k), form_decode(v)),
            None => (form_decode(p), String::new()),
        })
        .collect()
}

/// The query without the result keys, `?`-prefixed, or `""` if nothing is
/// left.
pub fn strip_result_keys(query: &str) -> String {
    let kept: Vec<&str> = query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let key = form_decode(p.split_once('=').map_or(p, |(k, _)| k));
            !RESULT_KEYS.contains(&key.as_str())
        })
        .collect();
    if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    }
}

fn clip(v: &str) -> String {
    if v.chars().count() <= MAX_VALUE_CHARS {
        v.to_string()
    } else {
        let mut s: String = v.chars().take(MAX_VALUE_CHARS).collect();
        s.push('…');
        s
    }
}

struct Query(Vec<(String, String)>);

impl Query {
    /// The first non-empty value of any of `keys`.
    fn get(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|k| {
            self.0
                .iter()
                .find(|(key, v)| key == k && !v.trim().is_empty())
                .map(|(_, v)| clip(v.trim()))
        })
    }

    /// The first non-empty raw value of any of `keys` (not clipped).
    fn raw(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| {
            self.0
                .iter()
                .find(|(key, v)| key == k && !v.is_empty())
                .map(|(_, v)| v.as_str())
        })
    }

    fn payment_id(&self) -> Result<Option<PaymentId>, RedirectError> {
        let Some(raw) = self.raw(&["paymentId", "payment_id"]) else {
            return Ok(None);
        };
        PaymentId::parse(raw).map(Some).map_err(|e| RedirectError::InvalidId {
            field: "paymentId",
            reason: e.to_string(),
        })
    }

    fn tx_id(&self) -> Result<Option<String>, RedirectError> {
        let Some(raw) = self.raw(&["txId", "tx_id"]) else {
            return Ok(None);
        };
        if crate::model::validate::is_valid_id(raw) {
            Ok(Some(raw.to_owned()))
        } else {
            Err(RedirectError::InvalidId {
                field: "txId",
                reason: "`txId` must be 1 to 64 visible ASCII characters".into(),
            })
        }
    }

    fn failure(&self) -> Option<FailureHint> {
        let code = self.get(&["code", "error_code"]).or_else(|| {
            // The older form: imp_success=false without a code.
            self.get(&["imp_success"])
                .filter(|v| v.eq_ignore_ascii_case("false"))
                .map(|_| "FAILURE".to_string())
        })?;
        Some(FailureHint {
            code,
            message: self.get(&["message", "error_msg"]),
            pg_code: self.get(&["pgCode", "pg_code"]),
            pg_message: self.get(&["pgMessage", "pg_message"]),
        })
    }
}

/// Reads a return query. `Ok(None)`: the query carries no result (an
/// ordinary page load).
pub fn parse_redirect_query(query: &str) -> Result<Option<RedirectReturn>, RedirectError> {
    let q = Query(query_pairs(query));
    let kind = q.get(&["transactionType", "transaction_type"]);
    let billing_key = q.get(&["billingKey", "billing_key"]);
    let is_billing = kind.as_deref() == Some("ISSUE_BILLING_KEY") || (kind.is_none() && billing_key.is_some());
    if is_billing {
        return Ok(Some(RedirectReturn::BillingKey(BillingKeyReturn {
            billing_key,
            billing_issue_token: q.get(&["billingIssueToken", "billing_issue_token"]),
            failure: q.failure(),
        })));
    }
    let payment_id = q.payment_id()?;
    match (payment_id, kind.as_deref()) {
        (Some(payment_id), _) => Ok(Some(RedirectReturn::Payment(PaymentReturn {
            payment_id,
            tx_id: q.tx_id()?,
            payment_token: q.get(&["paymentToken", "payment_token"]),
            failure: q.failure(),
        }))),
        (None, Some("PAYMENT")) => Err(RedirectError::MissingPaymentId),
        (None, _) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pay(q: &str) -> PaymentReturn {
        match parse_redirect_query(q) {
            Ok(Some(RedirectReturn::Payment(p))) => p,
            other => panic!("expected a payment return for {q:?}, got {other:?}"),
        }
    }

    #[test]
    fn a_camel_case_success_is_read() {
        let p = pay("?paymentId=order-1&transactionType=PAYMENT&txId=tx-9");
        assert_eq!(p.payment_id, "order-1");
        assert_eq!(p.tx_id.as_deref(), Some("tx-9"));
        assert_eq!(p.failure, None);
    }

    #[test]
    fn a_camel_case_failure_is_read_with_decoding() {
        let p = pay("paymentId=order-1&code=FAILURE_TYPE_PG&message=%5BX%5D+%EC%9E%94%EC%95%A1&pgCode=X&pgMessage=%EC%9E%94%EC%95%A1+%EB%B6%80%EC%A1%B1");
        let f = p.failure.unwrap_or_else(|| panic!("failure expected"));
        assert_eq!(f.code, "FAILURE_TYPE_PG");
        assert_eq!(f.message.as_deref(), Some("[X] 잔액"));
        assert_eq!(f.pg_code.as_deref(), Some("X"));
        assert_eq!(f.pg_message.as_deref(), Some("잔액 부족"));
    }

    #[test]
    fn snake_case_and_the_older_form_are_read() {
        let p = pay("payment_id=order-2&tx_id=tx-2&pg_code=E1&pg_message=no&code=FAIL");
        assert_eq!((p.payment_id.as_str(), p.tx_id.as_deref()), ("order-2", Some("tx-2")));
        assert_eq!(p.failure.and_then(|f| f.pg_code).as_deref(), Some("E1"));
        let old = pay("payment_id=order-3&imp_success=false&error_msg=denied");
        let f = old.failure.unwrap_or_else(|| panic!("failure expected"));
        assert_eq!((f.code.as_str(), f.message.as_deref()), ("FAILURE", Some("denied")));
        let ok = pay("payment_id=order-3&imp_success=true");
        assert_eq!(ok.failure, None);
    }

    #[test]
    fn an_ordinary_page_load_carries_no_result() {
        assert_eq!(parse_redirect_query(""), Ok(None));
        assert_eq!(parse_redirect_query("?window=popup&lang=en"), Ok(None));
        assert_eq!(parse_redirect_query("?&&=&"), Ok(None));
    }

    #[test]
    fn missing_or_malformed_ids_are_errors_not_panics() {
        assert_eq!(
            parse_redirect_query("?transactionType=PAYMENT&txId=t"),
            Err(RedirectError::MissingPaymentId)
        );
        assert!(matches!(
            parse_redirect_query("?paymentId=%3Cscript%3E+x"),
            Err(RedirectError::InvalidId { field: "paymentId", .. })
        ));
        assert!(matches!(
            parse_redirect_query(&format!("?paymentId={}", "a".repeat(65))),
            Err(RedirectError::InvalidId { .. })
        ));
        assert!(matches!(
            parse_redirect_query("?paymentId=ok&txId=%00"),
            Err(RedirectError::InvalidId { field: "txId", .. })
        ));
    }

    #[test]
    fn garbage_and_broken_escapes_do_not_panic() {
        for q in [
            "%",
            "%%",
            "%zz=1",
            "paymentId=%E0%A4",
            "=&=",
            "paymentId=a%",
            "a=%F0%9F%98%80%",
        ] {
            let _ = parse_redirect_query(q);
        }
        assert_eq!(form_decode("%zz%4"), "%zz%4");
        assert_eq!(form_decode("a%"), "a%");
        assert_eq!(form_decode("%41%"), "A%");
    }

    #[test]
    fn very_long_values_are_clipped() {
        let long = "가".repeat(5000);
        let p = pay(&format!("paymentId=p&code=C&message={}", form_encode(&long)));
        let m = p.failure.and_then(|f| f.message).unwrap_or_default();
        assert_eq!(m.chars().count(), MAX_VALUE_CHARS + 1);
        assert!(m.ends_with('…'));
    }

    #[test]
    fn html_in_values_stays_text() {
        let p = pay("paymentId=p&code=C&message=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E");
        let m = p.failure.and_then(|f| f.message).unwrap_or_default();
        // Kept verbatim: the components render it as a text node.
        assert_eq!(m, "<img src=x onerror=alert(1)>");
    }

    #[test]
    fn billing_key_returns_are_recognised() {
        let r = parse_redirect_query("?transactionType=ISSUE_BILLING_KEY&billingKey=bk-1");
        assert_eq!(
            r,
            Ok(Some(RedirectReturn::BillingKey(BillingKeyReturn {
                billing_key: Some("bk-1".into()),
                billing_issue_token: None,
                failure: None
            })))
        );
        let r = parse_redirect_query("?billing_key=bk-2");
        assert!(matches!(r, Ok(Some(RedirectReturn::BillingKey(b))) if b.billing_key.as_deref() == Some("bk-2")));
        let r = parse_redirect_query("?transactionType=ISSUE_BILLING_KEY&code=FAILURE_TYPE_PG&pgMessage=no");
        assert!(matches!(r, Ok(Some(RedirectReturn::BillingKey(b))) if b.billing_key.is_none() && b.failure.is_some()));
    }

    #[test]
    fn result_keys_are_stripped_and_others_kept() {
        assert_eq!(strip_result_keys("?paymentId=p&txId=t&code=C"), "");
        assert_eq!(
            strip_result_keys("?lang=en&paymentId=p&window=popup"),
            "?lang=en&window=popup"
        );
        assert_eq!(strip_result_keys("payment_id=p&x=1"), "?x=1");
        assert_eq!(strip_result_keys(""), "");
    }

    #[test]
    fn first_value_wins_for_repeated_keys() {
        let p = pay("paymentId=first&paymentId=second");
        assert_eq!(p.payment_id, "first");
    }

    #[test]
    fn a_crafted_path_in_the_payment_id_is_refused_before_any_request() {
        // The link that once made the page POST to a subscription's charge route.
        let crafted = "?paymentId=../subscriptions/sub-1/charge%3F&transactionType=PAYMENT&txId=x";
        let err = parse_redirect_query(crafted).expect_err("refused");
        assert!(
            matches!(err, RedirectError::InvalidId { field: "paymentId", .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("nothing was requested"), "{err}");
        for id in ["..", "a.b", "a%2Fb", "a%3Fb", "%EA%B0%80"] {
            assert!(
                matches!(
                    parse_redirect_query(&format!("?paymentId={id}")),
                    Err(RedirectError::InvalidId { field: "paymentId", .. })
                ),
                "{id}"
            );
        }
    }
}
