//! The checkout flows as pure state machines (no DOM, no network), driven
//! by the hooks and tested natively. They know no provider: a gateway
//! (PortOne V2, ...) turns its SDK's answers into [`WindowResult`] /
//! [`BillingWindowResult`], and a provider's return-URL parser into
//! [`crate::return_url::Returned`].
//!
//! - [`payment`]: a payment, PC promise and mobile redirect flows.
//! - [`billing`]: a billing-key issuance, the same shape.

pub mod billing;
pub mod payment;

use crate::protocol::{CompleteRequest, PgFailure, RegisterBillingKeyRequest};

/// What a payment window gave back, for any provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowResult {
    /// The window finished: success or a failure (`report.failure`), both
    /// only hints the backend confirms with the provider.
    Finished(CompleteRequest),
    /// The page is leaving for the provider; it resumes on return.
    Redirected,
}

/// What a billing-key window gave back, for any provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillingWindowResult {
    /// A key (or what the backend needs to get one) to register.
    Issued(RegisterBillingKeyRequest),
    /// The window reported a failure or a cancel.
    Failed(PgFailure),
    /// The page is leaving for the provider; it resumes on return.
    Redirected,
}

/// Why a flow ended in a failed or cancelled state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    /// The backend could not prepare the order.
    Prepare,
    /// The SDK refused the request before opening the window.
    Rejected,
    /// The PG declined (or failed) in the window.
    Pg,
    /// The customer cancelled in the window.
    CancelledByCustomer,
    /// The backend verified the payment as failed.
    Declined,
    /// The merchant cancelled after payment (amount mismatch, out of stock).
    CancelledByMerchant,
    /// The backend refused the request (unknown order, invalid key).
    Refused,
    /// The order expired before it was paid: a new one is needed.
    Expired,
    /// A return URL that cannot be read (a broken or crafted link).
    InvalidReturn,
}

/// A failure: what the customer sees is kept apart from developer detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Why.
    pub reason: FailureReason,
    /// Text for the customer from the PG or the backend (rendered as text),
    /// shown after the checkout's own sentence for `reason`.
    pub customer_message: Option<String>,
    /// Developer detail (logged to the console, not shown).
    pub detail: String,
}

/// The delay before the automatic re-check number `checks` (0-based) of an
/// unknown outcome: 2 s, 4 s, 8 s, ... at most 30 s.
pub fn recheck_delay_ms(checks: u32) -> u32 {
    2_000u32.saturating_mul(1 << checks.min(4)).min(30_000)
}

#[cfg(test)]
mod tests {
    use super::recheck_delay_ms;

    #[test]
    fn recheck_delays_grow_and_are_capped() {
        let d: Vec<u32> = (0..7).map(recheck_delay_ms).collect();
        assert_eq!(d, [2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    }
}
