//! What `requestPayment` / `requestBillingAuth` give back, typed.
//!
//! The SDK's promise:
//! - resolves to `{paymentKey, orderId, amount: {currency, value}}` (plus
//!   `paymentType`) in the promise form, once the customer authenticated:
//!   nothing is charged until the merchant's server confirms;
//! - never settles in the redirect form (the page leaves); `undefined` is
//!   read as that too;
//! - rejects with `{code, message}`: before the window opened (bad
//!   parameters: [`Rejection::Refused`]) or from the window (a cancel, a
//!   decline: [`Rejection::Window`], a hint the backend confirms).

// The parsers are the browser gateway's (feature `browser`); the types are
// everyone's.
#![cfg_attr(not(feature = "browser"), allow(dead_code))]

use super::payment::Amount;
use crate::model::answer::{Answer, Field, Fields};
use crate::protocol::{CompleteRequest, PaymentId, PgFailure};

/// The promise form's result: the customer authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentResult {
    /// `paymentKey`: Toss's reference, which the server confirms.
    pub payment_key: String,
    /// `orderId`: the checkout's own payment id.
    pub order_id: PaymentId,
    /// `amount`: what the window authenticated (a hint the server checks).
    pub amount: Amount,
    /// `paymentType` (`NORMAL`, ...), when given.
    pub payment_type: Option<String>,
}

impl PaymentResult {
    /// The report for the backend (a hint: `paymentKey` as `txId`, the
    /// amount as `amount`).
    pub fn report(&self) -> CompleteRequest {
        CompleteRequest {
            tx_id: Some(self.payment_key.clone()),
            failure: None,
            amount: Some(self.amount.value),
        }
    }
}

/// What `requestPayment` gave back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The customer authenticated in the window (promise form).
    Authenticated(PaymentResult),
    /// The flow left the page (redirect form); it resumes on return.
    Redirected,
}

/// What `requestBillingAuth` gave back: it always leaves the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillingAuthOutcome {
    /// The flow left the page; it resumes on return with an `authKey`.
    Redirected,
}

/// A resolved value the checkout cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Toss Payments SDK's answer is refused: {0}")]
pub struct ResponseError(pub String);

fn visible_ascii(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_graphic())
}

/// A string field, or an error naming it.
fn string(f: &impl Fields, name: &'static str) -> Result<Option<String>, ResponseError> {
    match f.field(name) {
        Field::Absent => Ok(None),
        Field::Str(s) => Ok(Some(s)),
        other => Err(ResponseError(format!(
            "`{name}` must be a string, found {}",
            other.describe()
        ))),
    }
}

impl PaymentOutcome {
    /// Reads the promise's value, checking it is for `expected` (the
    /// order the window was opened for).
    pub(crate) fn read(answer: Answer<impl Fields>, expected: &PaymentId) -> Result<Self, ResponseError> {
        let f = match answer {
            Answer::Nothing => return Ok(Self::Redirected),
            Answer::Object(f) => f,
            Answer::Other(found) => {
                return Err(ResponseError(format!(
                    "not a {{paymentKey, orderId, amount}} object: {found}"
                )))
            }
        };
        let payment_key = string(&f, "paymentKey")?
            .filter(|k| visible_ascii(k, 200))
            .ok_or_else(|| ResponseError("`paymentKey` must be 1 to 200 visible ASCII characters".into()))?;
        let order_id = string(&f, "orderId")?
            .as_deref()
            .map(PaymentId::parse)
            .transpose()
            .map_err(|e| ResponseError(e.to_string()))?
            .ok_or_else(|| ResponseError("`orderId` is missing".into()))?;
        if order_id != *expected {
            return Err(ResponseError(format!(
                "`orderId` {order_id} is not the order the window was opened for ({expected})"
            )));
        }
        // The SDK gives {currency, value}; a bare integer is read too.
        let amount = match f.field("amount") {
            Field::Int(n) => Some(Amount::krw(n)),
            _ => f
                .object("amount")
                .and_then(|a| match (a.field("currency"), a.field("value")) {
                    (Field::Str(currency), Field::Int(value)) => Some(Amount { currency, value }),
                    _ => None,
                }),
        }
        .ok_or_else(|| ResponseError("`amount` must be {currency, value} with an integer value".into()))?;
        Ok(Self::Authenticated(PaymentResult {
            payment_key,
            order_id,
            amount,
            payment_type: string(&f, "paymentType")?,
        }))
    }
}

/// How a rejection of the SDK's promise is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The SDK refused before any window opened (bad parameters, a busy
    /// window, a wrong key): nothing happened at Toss. `already_paid`: the
    /// order id was already confirmed (`DUPLICATED_ORDER_ID`), so the
    /// checkout asks the backend instead of failing.
    Refused {
        /// The order was already paid.
        already_paid: bool,
    },
    /// The window ended with this failure (a cancel, a decline, a window
    /// abandoned): a hint the backend confirms with Toss.
    Window(PgFailure),
}

/// Codes with which the SDK refuses before any window opens.
pub const REFUSAL_CODES: &[&str] = &[
    "INVALID_CLIENT_KEY",
    "INVALID_CUSTOMER_KEY",
    "INSECURE_KEY_USAGE",
    "NOT_SUPPORTED_METHOD",
    "NOT_SUPPORTED_PROMISE",
    "NOT_SUPPORTED_IN_SANDBOX",
    "INVALID_AMOUNT_CURRENCY",
    "INVALID_AMOUNT_VALUE",
    "BELOW_ZERO_AMOUNT",
    "BELOW_MINIMUM_AMOUNT",
    "INVALID_ORDER_ID",
    "INVALID_ORDER_NAME",
    "INCORRECT_SUCCESS_URL_FORMAT",
    "INCORRECT_FAIL_URL_FORMAT",
    "INVALID_PARAMETERS",
    "INVALID_METADATA",
    "INVALID_METHOD_TRANSACTION",
    "DUPLICATED_ORDER_ID",
];

/// Reads a rejection's `code` and `message`. Refusal codes (and a throw
/// without a code) are [`Rejection::Refused`]; any other code came from
/// the window and is only a hint the backend confirms.
pub fn classify_rejection(code: Option<&str>, message: &str) -> Rejection {
    match code {
        None => Rejection::Refused { already_paid: false },
        Some(c) if REFUSAL_CODES.contains(&c) => Rejection::Refused {
            already_paid: c == "DUPLICATED_ORDER_ID",
        },
        Some(c) => Rejection::Window(PgFailure {
            code: Some(c.to_owned()),
            message: Some(message.to_owned()).filter(|m| !m.trim().is_empty()),
            pg_code: None,
            pg_message: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::answer::json::answer;
    use serde_json::{json, Value};

    fn read(v: Option<&Value>) -> Result<PaymentOutcome, ResponseError> {
        PaymentOutcome::read(answer(v), &order())
    }

    fn order() -> PaymentId {
        PaymentId::parse("order-0123456789").expect("id")
    }

    #[test]
    fn an_authenticated_window_gives_the_payment_key_and_the_amount_as_hints() {
        let v = json!({"paymentKey": "tgen_1", "orderId": "order-0123456789",
                       "amount": {"currency": "KRW", "value": 9500}, "paymentType": "NORMAL"});
        let out = read(Some(&v)).expect("readable");
        let PaymentOutcome::Authenticated(r) = out else {
            panic!("expected Authenticated, got {out:?}");
        };
        assert_eq!(r.payment_type.as_deref(), Some("NORMAL"));
        assert_eq!(
            r.report(),
            CompleteRequest {
                tx_id: Some("tgen_1".into()),
                failure: None,
                amount: Some(9500)
            }
        );
    }

    #[test]
    fn undefined_means_the_page_is_leaving() {
        assert_eq!(read(None), Ok(PaymentOutcome::Redirected));
    }

    #[test]
    fn an_answer_for_another_order_or_without_a_key_is_refused() {
        let other = json!({"paymentKey": "k", "orderId": "order-other-1", "amount": {"currency": "KRW", "value": 1}});
        assert!(read(Some(&other)).expect_err("other order").0.contains("orderId"));
        for bad in [
            json!({"orderId": "order-0123456789", "amount": {"currency": "KRW", "value": 1}}),
            json!({"paymentKey": "a b", "orderId": "order-0123456789", "amount": {"currency": "KRW", "value": 1}}),
            json!({"paymentKey": "k", "orderId": "../x", "amount": {"currency": "KRW", "value": 1}}),
            json!({"paymentKey": "k", "orderId": "order-0123456789", "amount": {"currency": "KRW", "value": 1.5}}),
            json!(42),
        ] {
            assert!(read(Some(&bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn refusals_before_the_window_and_window_failures_are_told_apart_by_code() {
        assert_eq!(
            classify_rejection(Some("INVALID_ORDER_ID"), "x"),
            Rejection::Refused { already_paid: false }
        );
        assert_eq!(
            classify_rejection(Some("DUPLICATED_ORDER_ID"), "x"),
            Rejection::Refused { already_paid: true }
        );
        assert_eq!(
            classify_rejection(None, "TypeError"),
            Rejection::Refused { already_paid: false }
        );
        let Rejection::Window(f) = classify_rejection(Some("PAY_PROCESS_CANCELED"), "취소") else {
            panic!("a cancel comes from the window");
        };
        assert!(f.is_user_cancel());
        assert!(matches!(
            classify_rejection(Some("REJECT_CARD_COMPANY"), "거절"),
            Rejection::Window(PgFailure { code: Some(c), .. }) if c == "REJECT_CARD_COMPANY"
        ));
    }
}
