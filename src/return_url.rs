//! Reading the query a redirect flow returns with (pure, no DOM): the
//! query tools every provider's parser uses, and what they produce.
//!
//! After a mobile (or forced) redirect the provider navigates back to the
//! page with the result in the query string; each provider names its keys
//! differently (PortOne V2: [`crate::model::portone_v2::return_url`], Toss
//! Payments: [`crate::model::toss::return_url`]). A
//! parser turns them into a [`Returned`] for the state machines.
//!
//! Everything here is a **hint**: the query can be forged. The checkout
//! always asks the merchant backend, which asks the provider, before
//! showing a result; an id that breaks its rule is refused without any
//! request.

use crate::machine::BillingWindowResult;
use crate::protocol::{CompleteRequest, PaymentId};

/// Longest value kept from the query (longer ones are cut, on a character
/// boundary, and marked with `…`).
pub const MAX_VALUE_CHARS: usize = 500;

/// What a return URL carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Returned {
    /// A payment result.
    Payment {
        /// The order's id, parsed: a return whose id breaks the rule is
        /// refused.
        payment_id: PaymentId,
        /// What the query reported, for the backend (a hint).
        report: CompleteRequest,
    },
    /// A billing-key result (never [`BillingWindowResult::Redirected`]).
    BillingKey(BillingWindowResult),
}

/// A return query that cannot be acted on: nothing is requested for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnError {
    /// An id breaks its rule.
    #[error("the return URL's `{field}` is refused ({reason}); the return is ignored and nothing was requested")]
    InvalidId {
        /// The field.
        field: &'static str,
        /// The rule it breaks.
        reason: String,
    },
    /// A value breaks its rule (an amount that is not a whole number, ...).
    #[error("the return URL's `{field}` is refused ({reason}); the return is ignored and nothing was requested")]
    InvalidValue {
        /// The field.
        field: &'static str,
        /// The rule it breaks.
        reason: String,
    },
    /// A result without a field it must carry.
    #[error("the return URL reports a result but has no `{field}`; nothing was requested")]
    Missing {
        /// The field that is missing.
        field: &'static str,
    },
}

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

/// The query without `keys`, `?`-prefixed, or `""` if nothing is left.
pub fn strip_keys(query: &str, keys: &[&str]) -> String {
    let kept: Vec<&str> = query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let key = form_decode(p.split_once('=').map_or(p, |(k, _)| k));
            !keys.contains(&key.as_str())
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

/// A decoded query (`?` optional), for providers' parsers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Decodes the `key=value` pairs of `query`.
    pub fn parse(query: &str) -> Self {
        Query(
            query
                .trim_start_matches('?')
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (form_decode(k), form_decode(v)),
                    None => (form_decode(p), String::new()),
                })
                .collect(),
        )
    }

    /// The first non-blank value of any of `keys`, trimmed and clipped to
    /// [`MAX_VALUE_CHARS`].
    pub fn get(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|k| {
            self.0
                .iter()
                .find(|(key, v)| key == k && !v.trim().is_empty())
                .map(|(_, v)| clip(v.trim()))
        })
    }

    /// The first non-empty raw value of any of `keys` (not clipped).
    pub fn raw(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| {
            self.0
                .iter()
                .find(|(key, v)| key == k && !v.is_empty())
                .map(|(_, v)| v.as_str())
        })
    }

    /// The order's id under any of `keys`, parsed: `Ok(None)` when absent,
    /// an error naming `field` when it breaks the rule.
    pub fn payment_id(&self, field: &'static str, keys: &[&str]) -> Result<Option<PaymentId>, ReturnError> {
        let Some(raw) = self.raw(keys) else {
            return Ok(None);
        };
        PaymentId::parse(raw).map(Some).map_err(|e| ReturnError::InvalidId {
            field,
            reason: e.to_string(),
        })
    }

    /// A provider reference under any of `keys`: 1 to 128 visible ASCII
    /// characters, else an error naming `field`.
    pub fn reference(&self, field: &'static str, keys: &[&str]) -> Result<Option<String>, ReturnError> {
        let Some(raw) = self.raw(keys) else {
            return Ok(None);
        };
        if raw.len() <= 128 && raw.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Some(raw.to_owned()))
        } else {
            Err(ReturnError::InvalidId {
                field,
                reason: format!("`{field}` must be 1 to 128 visible ASCII characters"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let _ = Query::parse(q);
        }
        assert_eq!(form_decode("%zz%4"), "%zz%4");
        assert_eq!(form_decode("a%"), "a%");
        assert_eq!(form_decode("%41%"), "A%");
    }

    #[test]
    fn very_long_values_are_clipped() {
        let long = "가".repeat(5000);
        let encoded: String = long.bytes().map(|b| format!("%{b:02X}")).collect();
        let m = Query::parse(&format!("message={encoded}"))
            .get(&["message"])
            .unwrap_or_default();
        assert_eq!(m.chars().count(), MAX_VALUE_CHARS + 1);
        assert!(m.ends_with('…'));
    }

    #[test]
    fn keys_are_stripped_and_others_kept() {
        let keys = ["paymentId", "txId", "code"];
        assert_eq!(strip_keys("?paymentId=p&txId=t&code=C", &keys), "");
        assert_eq!(
            strip_keys("?lang=en&paymentId=p&window=popup", &keys),
            "?lang=en&window=popup"
        );
        assert_eq!(strip_keys("", &keys), "");
    }

    #[test]
    fn first_value_wins_for_repeated_keys() {
        let q = Query::parse("paymentId=first&paymentId=second");
        assert_eq!(
            q.payment_id("paymentId", &["paymentId"]),
            Ok(PaymentId::parse("first").ok())
        );
    }

    #[test]
    fn a_crafted_path_in_the_payment_id_is_refused_before_any_request() {
        for id in [
            "../subscriptions/sub-1/charge%3F",
            "..",
            "a.b",
            "a%2Fb",
            "a%3Fb",
            "%EA%B0%80",
        ] {
            let q = Query::parse(&format!("?paymentId={id}"));
            let err = q.payment_id("paymentId", &["paymentId"]).expect_err(id);
            assert!(matches!(err, ReturnError::InvalidId { field: "paymentId", .. }), "{id}");
            assert!(err.to_string().contains("nothing was requested"), "{err}");
        }
    }
}
