//! [`MerchantUid`]: an order id V1 accepts, built only by parsing.
//!
//! The checkout's ids ([`PaymentId`], [`IssueId`]) are 1 to 64 characters of
//! `A-Z a-z 0-9 - _`; V1's `merchant_uid` (and the `customer_uid` the
//! checkout derives from an issuance) must be at most 40. A backend that
//! serves V1 hands out ids that fit; this type is where that is checked.

use crate::protocol::{check_id, IdError, IssueId, PaymentId};
use std::fmt;

/// Longest `merchant_uid` V1 accepts, in characters.
pub const MAX_MERCHANT_UID_LEN: usize = 40;

/// Why a string is not a V1 order id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerchantUidError {
    /// It breaks the checkout's id rule (empty, or a character outside
    /// `A-Z a-z 0-9 - _`).
    #[error(transparent)]
    Id(#[from] IdError),
    /// Longer than [`MAX_MERCHANT_UID_LEN`].
    #[error("`merchant_uid` must be at most {MAX_MERCHANT_UID_LEN} characters for PortOne V1, got {len}")]
    TooLong {
        /// Its length.
        len: usize,
    },
}

/// A V1 order id: 1 to 40 characters of `A-Z a-z 0-9 - _`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MerchantUid(String);

impl MerchantUid {
    /// Parses an id.
    pub fn parse(s: &str) -> Result<Self, MerchantUidError> {
        check_id("merchant_uid", s)?;
        if s.len() > MAX_MERCHANT_UID_LEN {
            return Err(MerchantUidError::TooLong { len: s.len() });
        }
        Ok(Self(s.to_owned()))
    }

    /// The checkout's payment id as a V1 `merchant_uid`, if it fits.
    pub fn from_payment_id(id: &PaymentId) -> Result<Self, MerchantUidError> {
        Self::parse(id.as_str())
    }

    /// The checkout's issuance id as a V1 `customer_uid` / `merchant_uid`,
    /// if it fits.
    pub fn from_issue_id(id: &IssueId) -> Result<Self, MerchantUidError> {
        Self::parse(id.as_str())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MerchantUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MerchantUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MerchantUid({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_of_up_to_40_url_safe_characters_is_a_merchant_uid() {
        let forty = "o".repeat(40);
        assert_eq!(MerchantUid::parse(&forty).map(|m| m.as_str().len()), Ok(40));
        assert!(MerchantUid::parse("order-0123456789abcdef0123456789abcdef").is_ok());
    }

    #[test]
    fn an_id_of_41_characters_is_refused_naming_the_limit() {
        let err = MerchantUid::parse(&"o".repeat(41)).expect_err("too long");
        assert_eq!(err, MerchantUidError::TooLong { len: 41 });
        assert!(err.to_string().contains("at most 40"), "{err}");
    }

    #[test]
    fn empty_ids_and_other_characters_are_refused_by_the_checkout_rule() {
        assert!(matches!(
            MerchantUid::parse(""),
            Err(MerchantUidError::Id(IdError::Empty { .. }))
        ));
        for bad in ["a/b", "a b", "주문", "a.b"] {
            assert!(
                matches!(
                    MerchantUid::parse(bad),
                    Err(MerchantUidError::Id(IdError::Character { .. }))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_checkout_payment_id_longer_than_40_does_not_fit_v1() {
        let long = PaymentId::parse(&"p".repeat(64)).expect("a valid checkout id");
        assert!(MerchantUid::from_payment_id(&long).is_err());
        let short = PaymentId::parse("order-1").expect("id");
        assert_eq!(
            MerchantUid::from_payment_id(&short).map(|m| m.to_string()),
            Ok("order-1".into())
        );
    }
}
