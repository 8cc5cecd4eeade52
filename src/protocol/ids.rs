//! Typed ids of the contract, built only by parsing.
//!
//! Every id the checkout and the backend exchange (in a path, a body or a
//! return URL) is one of these types. The only way to get one is
//! [`PaymentId::parse`] (or deserializing, which parses), so no code can
//! build a URL path from an unchecked string: an id holds 1 to 64
//! characters of `A-Z`, `a-z`, `0-9`, `-` and `_`, nothing else (no `/`,
//! `.`, `%`, `?`, spaces). Path builders encode each segment anyway
//! ([`encode_path_segment`]), as a second line of defence.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest id, in characters.
pub const MAX_ID_LEN: usize = 64;

/// Why a string is not an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The string is empty.
    #[error("`{field}` is required and must not be empty")]
    Empty {
        /// The field, e.g. `paymentId`.
        field: &'static str,
    },
    /// The string has more than [`MAX_ID_LEN`] characters.
    #[error("`{field}` must be at most 64 characters, got {len}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// A character outside `A-Z a-z 0-9 - _`.
    #[error("`{field}` may only contain A-Z, a-z, 0-9, '-' and '_' (found U+{code:04X} at byte {at})", code = u32::from(*found))]
    Character {
        /// The field.
        field: &'static str,
        /// The first offending character.
        found: char,
        /// Its byte offset.
        at: usize,
    },
}

impl IdError {
    /// The field the error names (`paymentId`, ...).
    pub fn field(&self) -> &'static str {
        match self {
            IdError::Empty { field } | IdError::TooLong { field, .. } | IdError::Character { field, .. } => field,
        }
    }
}

/// Checks the id rule; `field` names the field in the error.
pub fn check_id(field: &'static str, s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { field });
    }
    if let Some((at, found)) = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(IdError::Character { field, found, at });
    }
    if s.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { field, len: s.len() });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The field name used in error messages.
            pub const FIELD: &'static str = $field;

            /// Parses an id: 1 to 64 characters of `A-Z a-z 0-9 - _`.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                check_id($field, s)?;
                Ok(Self(s.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned `String`.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                check_id($field, &s)?;
                Ok(Self(s))
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

id_type!(
    /// An order's payment id (PortOne's `paymentId`): one per order, reused
    /// for every attempt, so the same order can be paid only once.
    PaymentId,
    "paymentId"
);
id_type!(
    /// A billing-key issuance id (PortOne's `issueId`).
    IssueId,
    "issueId"
);
id_type!(
    /// A stored billing key's subscription id.
    SubscriptionId,
    "subscriptionId"
);

/// Percent-encodes one path segment: everything but the unreserved
/// characters `A-Z a-z 0-9 - . _ ~` becomes `%XX`.
pub fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_id_of_url_safe_characters_parses() {
        let id = PaymentId::parse("order-0af3_X9").expect("valid");
        assert_eq!(id.as_str(), "order-0af3_X9");
        assert_eq!(id, "order-0af3_X9");
        assert!(PaymentId::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn path_characters_dots_and_escapes_are_refused_naming_the_field() {
        for bad in [
            "../subscriptions/sub-1/charge?",
            "a/b",
            "..",
            "a.b",
            "a%2Fb",
            "a b",
            "a?b",
            "a#b",
            "가",
            "a\u{0}",
        ] {
            let err = PaymentId::parse(bad).expect_err(bad);
            assert_eq!(err.field(), "paymentId", "{bad}");
            assert!(err.to_string().contains("`paymentId`"), "{err}");
        }
        assert_eq!(PaymentId::parse(""), Err(IdError::Empty { field: "paymentId" }));
        assert!(matches!(
            SubscriptionId::parse(&"a".repeat(65)),
            Err(IdError::TooLong {
                field: "subscriptionId",
                len: 65
            })
        ));
    }

    #[test]
    fn deserializing_parses_and_the_error_names_the_field() {
        let ok: IssueId = serde_json::from_str("\"issue-1\"").expect("valid");
        assert_eq!(ok.as_str(), "issue-1");
        let err = serde_json::from_str::<PaymentId>("\"../x\"").expect_err("invalid");
        assert!(err.to_string().contains("paymentId"), "{err}");
        assert_eq!(serde_json::to_string(&ok).expect("serialize"), "\"issue-1\"");
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(encode_path_segment("order-1_a.b~"), "order-1_a.b~");
        assert_eq!(encode_path_segment("../x?y"), "..%2Fx%3Fy");
        assert_eq!(encode_path_segment("a b/가"), "a%20b%2F%EA%B0%80");
    }
}
