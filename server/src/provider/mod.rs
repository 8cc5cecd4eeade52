//! The providers the backend speaks, behind one seam: [`Provider`].
//!
//! The sync (browser, webhook, reconciler) reads a payment through its
//! order's provider and acts on the normalized [`ProviderPayment`]; each
//! provider's REST client lives in its own module. Adding a provider is a
//! module here and a registration in [`crate::AppState`]; the sync does not
//! change.

mod http;
pub mod portone_v1;
pub mod portone_v2;
pub mod toss;

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use portone_checkout::protocol::PgFailure;

/// A failed provider call (after retries): the same shape for every provider.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    /// No answer: connection failure or timeout. The call may or may not
    /// have taken effect.
    #[error("no answer from the provider: {0}")]
    Transport(String),
    /// The provider answered with an error (`kind`: its error code or type,
    /// e.g. PortOne V2's `PAYMENT_NOT_FOUND`).
    #[error("the provider answered {status} {kind}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The provider's error code or type, e.g. `PAYMENT_NOT_FOUND`.
        kind: String,
        /// The provider's message (logged, never shown to customers).
        message: String,
    },
    /// The answer was not the JSON we expect.
    #[error("unexpected provider response: {0}")]
    Decode(String),
}

impl ProviderError {
    /// The provider's error code or type, if it answered with one.
    pub fn kind(&self) -> Option<&str> {
        match self {
            ProviderError::Api { kind, .. } => Some(kind),
            _ => None,
        }
    }

    /// `true` for a 404 / `*_NOT_FOUND` answer.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ProviderError::Api { status: 404, .. }) || self.kind().is_some_and(|k| k.ends_with("NOT_FOUND"))
    }

    /// The error of a call this provider does not offer (`what`: the call).
    pub fn not_supported(what: &str) -> Self {
        ProviderError::Api {
            status: 501,
            kind: NOT_SUPPORTED.to_owned(),
            message: format!("{what} is not offered by this provider"),
        }
    }

    /// `true` for [`ProviderError::not_supported`].
    pub fn is_not_supported(&self) -> bool {
        self.kind() == Some(NOT_SUPPORTED)
    }

    /// `true` for a definitive refusal of the request: a 4xx answer, or an
    /// error a provider answers inside a 2xx envelope (PortOne V1's
    /// `code != 0`). Not for no answer, 5xx, an unreadable answer, or a
    /// [transient](Self::is_transient) refusal.
    pub fn is_refusal(&self) -> bool {
        matches!(self, ProviderError::Api { status, .. } if (200..300).contains(status) || (400..500).contains(status))
            && !self.is_transient()
    }

    /// `true` for a refusal that says nothing about the request itself,
    /// only about its timing: asked too fast (429, V1's "too fast" refusal,
    /// Toss's 403 `FORBIDDEN_CONSECUTIVE_REQUEST`), while the same
    /// idempotent request is still running (Toss's
    /// `IDEMPOTENT_REQUEST_PROCESSING`), or a 408. The same request may
    /// succeed when sent again, so its outcome is unknown, not failed.
    pub fn is_transient(&self) -> bool {
        matches!(self, ProviderError::Api { status, kind, .. }
            if *status == 408 || *status == 429
                || kind == "FORBIDDEN_CONSECUTIVE_REQUEST" || kind == "IDEMPOTENT_REQUEST_PROCESSING")
    }
}

/// The error kind of [`ProviderError::not_supported`].
pub const NOT_SUPPORTED: &str = "NOT_SUPPORTED_BY_PROVIDER";

/// Which provider an order was made with (stored with the order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProviderKind {
    /// PortOne V2 (`PortOne.requestPayment`, `/payments/{paymentId}`).
    PortOneV2,
    /// PortOne V1 with TossPay (`IMP.request_pay`, `/payments/find/{merchant_uid}`).
    PortOneV1,
    /// Toss Payments used directly (`TossPayments(clientKey)`,
    /// `/v1/payments/confirm`).
    Toss,
}

impl ProviderKind {
    /// The stored name (`portone_v2`, `portone_v1`, `toss`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PortOneV2 => "portone_v2",
            Self::PortOneV1 => "portone_v1",
            Self::Toss => "toss",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "portone_v2" => Some(Self::PortOneV2),
            "portone_v1" => Some(Self::PortOneV1),
            "toss" => Some(Self::Toss),
            _ => None,
        }
    }

    /// Whether this provider takes `id` as an order's payment id: the
    /// checkout's rule, for PortOne V1 at most 40 characters
    /// (`merchant_uid`), for Toss Payments at least 6 (`orderId`).
    pub fn accepts_payment_id(self, id: &str) -> bool {
        let checkout_rule = portone_checkout::protocol::check_id("paymentId", id).is_ok();
        match self {
            Self::PortOneV2 => checkout_rule,
            Self::PortOneV1 => portone_checkout::model::portone_v1::MerchantUid::parse(id).is_ok(),
            Self::Toss => checkout_rule && id.len() >= 6,
        }
    }
}

/// A payment's state at its provider, normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaymentState {
    /// The window was opened; nothing paid.
    Ready,
    /// Waiting for the PG's approval (PortOne `PAY_PENDING`).
    PayPending,
    /// The customer authenticated and the provider waits for the
    /// merchant's confirm (Toss `IN_PROGRESS`).
    Authenticated,
    /// A virtual account was issued; waiting for the deposit.
    VirtualAccountIssued,
    /// Paid.
    Paid,
    /// Failed (declined, cancelled in the window, expired).
    Failed,
    /// Partly cancelled.
    PartiallyCancelled,
    /// Cancelled.
    Cancelled,
    /// A state this backend does not know (left alone).
    Other(String),
}

/// A payment as a provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderPayment {
    /// The state.
    pub state: PaymentState,
    /// The amount the provider holds (minor unit).
    pub total: i64,
    /// Its currency.
    pub currency: String,
    /// When paid (RFC 3339), once paid.
    pub paid_at: Option<String>,
    /// Why it failed, for [`PaymentState::Failed`].
    pub failure: Option<PgFailure>,
    /// The provider's own checks besides amount and currency (the store,
    /// the channel, a live channel in live mode): `Err` carries the reason
    /// to cancel.
    pub checks: Result<(), String>,
    /// The provider's reference of the payment (needed by some providers to
    /// confirm or cancel it).
    pub reference: Option<String>,
}

/// A billing key as its provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingKeyState {
    /// Usable for charges.
    pub issued: bool,
    /// The merchant's customer id it belongs to.
    pub customer_id: Option<String>,
    /// The issuance it was created for, when the provider knows it.
    pub issue_id: Option<String>,
}

/// What a schedule call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleOutcome {
    /// Scheduled now (with the provider's schedule id when it has one).
    Scheduled(Option<String>),
    /// The provider already had it (a retry after a lost answer).
    AlreadyExists,
}

/// A billing key a provider issued to this server (from an authorisation
/// the browser got).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedBillingKey {
    /// The key.
    pub billing_key: String,
    /// The customer it belongs to, as the provider reports it.
    pub customer_id: String,
}

/// One provider's REST API, as the sync uses it. Every call may be
/// repeated: mutating calls are keyed by the merchant's payment id (or an
/// idempotency key), and an uncertain outcome is resolved by reading again.
///
/// `Any` lets the routes that are one provider's own (Toss's refunds and
/// webhooks) reach its concrete client ([`crate::AppState::toss`]).
pub trait Provider: std::any::Any + Send + Sync + 'static {
    /// Which provider this is.
    fn kind(&self) -> ProviderKind;
    /// Fixes the amount of an order before its window opens (where the
    /// provider supports it).
    fn pre_register<'a>(
        &'a self,
        payment_id: &'a str,
        total: i64,
        currency: &'a str,
    ) -> BoxFuture<'a, Result<(), ProviderError>>;
    /// Reads the payment of an order (`None`: the provider has none).
    fn read<'a>(&'a self, payment_id: &'a str) -> BoxFuture<'a, Result<Option<ProviderPayment>, ProviderError>>;
    /// Confirms an [`PaymentState::Authenticated`] payment whose amount the
    /// sync has checked (providers with a two-step payment); others have
    /// nothing to confirm.
    fn confirm<'a>(
        &'a self,
        _payment_id: &'a str,
        _payment: &'a ProviderPayment,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async { Ok(()) })
    }
    /// Cancels the whole payment with `reason` (an already cancelled one is
    /// a success).
    fn cancel<'a>(&'a self, payment_id: &'a str, reason: &'a str) -> BoxFuture<'a, Result<(), ProviderError>>;
    /// Reads a billing key.
    fn read_billing_key<'a>(&'a self, billing_key: &'a str) -> BoxFuture<'a, Result<BillingKeyState, ProviderError>>;
    /// Charges a billing key now, under `payment_id`.
    fn charge<'a>(
        &'a self,
        payment_id: &'a str,
        charge: &'a BillingKeyCharge,
    ) -> BoxFuture<'a, Result<(), ProviderError>>;
    /// Has the provider charge a billing key at `time_to_pay` (unix
    /// seconds), under `payment_id`.
    fn schedule<'a>(
        &'a self,
        payment_id: &'a str,
        charge: &'a BillingKeyCharge,
        time_to_pay: i64,
    ) -> BoxFuture<'a, Result<ScheduleOutcome, ProviderError>>;
    /// Whether the provider charges scheduled payments itself. A provider
    /// without server-side schedules (Toss) answers `false`: its
    /// [`Provider::schedule`] only records the charge, and the reconciler
    /// makes it when it is due ([`crate::sync::charge_due_locally`]).
    fn runs_schedules(&self) -> bool {
        true
    }
    /// Exchanges a billing authorisation from the browser (Toss's
    /// `authKey`) for a billing key of `customer_id`. Providers whose
    /// browser SDK returns the key itself do not offer it.
    fn issue_billing_key<'a>(
        &'a self,
        _auth_key: &'a str,
        _customer_id: &'a str,
    ) -> BoxFuture<'a, Result<IssuedBillingKey, ProviderError>> {
        Box::pin(async {
            Err(ProviderError::not_supported(
                "issuing a billing key from an authorisation",
            ))
        })
    }
}

pub use portone_v2::{BillingKeyCharge, ChargeCustomer};

/// The providers this backend speaks.
#[derive(Clone, Default)]
pub struct Providers(HashMap<ProviderKind, Arc<dyn Provider>>);

impl Providers {
    /// Adds (or replaces) a provider.
    pub fn insert(&mut self, provider: Arc<dyn Provider>) {
        self.0.insert(provider.kind(), provider);
    }

    /// The provider of `kind`, if configured.
    pub fn get(&self, kind: ProviderKind) -> Option<Arc<dyn Provider>> {
        self.0.get(&kind).cloned()
    }
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_kinds_round_trip_through_their_stored_names() {
        for kind in [ProviderKind::PortOneV2, ProviderKind::PortOneV1, ProviderKind::Toss] {
            assert_eq!(ProviderKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ProviderKind::parse("stripe"), None);
    }

    #[test]
    fn v1_takes_payment_ids_of_at_most_40_characters_and_v2_of_64() {
        let forty = "o".repeat(40);
        let long = "o".repeat(41);
        assert!(ProviderKind::PortOneV1.accepts_payment_id(&forty));
        assert!(!ProviderKind::PortOneV1.accepts_payment_id(&long));
        assert!(ProviderKind::PortOneV2.accepts_payment_id(&long));
        assert!(!ProviderKind::PortOneV2.accepts_payment_id("a/b"));
        assert!(!ProviderKind::PortOneV1.accepts_payment_id("a/b"));
        assert!(ProviderKind::Toss.accepts_payment_id("order-1"));
        assert!(!ProviderKind::Toss.accepts_payment_id("o-1"));
    }

    #[test]
    fn a_refusal_is_a_4xx_or_an_error_inside_a_2xx_envelope_never_a_5xx_or_no_answer() {
        let api = |status| ProviderError::Api {
            status,
            kind: "K".into(),
            message: String::new(),
        };
        assert!(api(400).is_refusal());
        assert!(api(200).is_refusal());
        // Found by the chaos soak (seed 16016): asked too fast is not refused.
        assert!(!api(429).is_refusal());
        assert!(!api(408).is_refusal());
        let consecutive = ProviderError::Api {
            status: 403,
            kind: "FORBIDDEN_CONSECUTIVE_REQUEST".into(),
            message: String::new(),
        };
        assert!(consecutive.is_transient() && !consecutive.is_refusal());
        let processing = ProviderError::Api {
            status: 409,
            kind: "IDEMPOTENT_REQUEST_PROCESSING".into(),
            message: String::new(),
        };
        assert!(!processing.is_refusal());
        assert!(!api(500).is_refusal());
        assert!(!api(502).is_refusal());
        assert!(!ProviderError::Transport("x".into()).is_refusal());
        assert!(!ProviderError::Decode("x".into()).is_refusal());
    }
}
