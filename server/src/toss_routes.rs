//! The routes that are Toss Payments' own, mounted under [`PREFIX`] next to
//! the contract's routes for Toss (`/toss/api/payments`, ...):
//!
//! - `POST /toss/api/webhooks/toss`: Toss's webhooks. They are **not
//!   signed**: `PAYMENT_STATUS_CHANGED` is only a trigger to read the
//!   payment again (its body is never trusted); `DEPOSIT_CALLBACK` is
//!   checked against the payment's `secret` (read from Toss) before the
//!   order is read again. Unknown payments and event types get 200.
//! - `POST /toss/api/admin/payments/{paymentId}/refunds`: full and partial
//!   refunds of a paid order (the customer's refund account for a virtual
//!   account), for operators: `Authorization: Bearer <CHECKOUT_ADMIN_TOKEN>`
//!   and an `Idempotency-Key` (a retry refunds once).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use portone_checkout::protocol::{OrderStatus, PaymentId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::db::STATUS_CANCELLING;
use crate::error::ApiError;
use crate::provider::toss::{refund_idempotency_key, CancelRequest, RefundAccount, TossCancel, TossPayments};
use crate::provider::{ProviderError, ProviderKind};
use crate::routes::{idempotency_key, parse_json, path_id, RawBody};
use crate::sync::sync_payment;
use crate::AppState;

/// Where the Toss mount lives (`/toss/api/...`).
pub(crate) const PREFIX: &str = crate::shop_api::TOSS_PREFIX;
/// Toss's webhook endpoint, under [`PREFIX`].
pub const WEBHOOK_PATH: &str = "/api/webhooks/toss";
/// The refund endpoint, under [`PREFIX`].
pub const REFUNDS_PATH: &str = "/api/admin/payments/{payment_id}/refunds";
/// Longest refund reason (Toss takes 200 characters; `refund: ` is added).
pub const MAX_REFUND_REASON: usize = 150;

/// The contract's routes for Toss (`mounted`) plus Toss's own.
pub(crate) fn routes(mounted: Router<AppState>) -> Router<AppState> {
    mounted
        .route(WEBHOOK_PATH, post(webhook))
        .route(REFUNDS_PATH, post(refund))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    event_type: String,
    #[serde(default)]
    data: Value,
    // DEPOSIT_CALLBACK carries these at the top (Toss) or in `data`.
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    order_id: Option<String>,
}

impl Event {
    fn field(&self, top: &Option<String>, name: &str) -> Option<String> {
        top.clone()
            .or_else(|| self.data.get(name).and_then(Value::as_str).map(str::to_owned))
    }
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn toss(state: &AppState) -> Result<std::sync::Arc<TossPayments>, ApiError> {
    state.toss().ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "provider_not_configured",
            "Toss Payments is not configured on this server",
        )
    })
}

/// Reads the order's payment at Toss again and acts on it (a webhook is
/// only a trigger). Orders of other providers are left alone.
async fn resync(state: &AppState, order_id: &PaymentId) -> Result<StatusCode, ApiError> {
    match state.db.order(order_id.as_str()).await? {
        Some(o) if o.provider == ProviderKind::Toss => {}
        _ => {
            tracing::info!(%order_id, "Toss webhook for an order this shop does not know ignored");
            return Ok(StatusCode::OK);
        }
    }
    match sync_payment(state, order_id.as_str(), true).await? {
        // A cancel this server started is not confirmed yet: non-2xx, so
        // Toss delivers again (the reconciler retries the cancel meanwhile).
        Some(s) if s.order.status == STATUS_CANCELLING => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "cancel_pending",
            "a cancel of this payment is not confirmed by Toss Payments yet; deliver again later",
        )),
        _ => Ok(StatusCode::OK),
    }
}

async fn webhook(State(state): State<AppState>, RawBody(body): RawBody) -> Result<StatusCode, ApiError> {
    let event: Event = parse_json(&body, "Toss webhook {eventType, createdAt, data}")?;
    let order_id = event.field(&event.order_id, "orderId");
    let Some(order_id) = order_id.as_deref().and_then(|id| PaymentId::parse(id).ok()) else {
        tracing::info!(event = %event.event_type, "Toss webhook without a known orderId ignored");
        return Ok(StatusCode::OK);
    };
    match event.event_type.as_str() {
        "PAYMENT_STATUS_CHANGED" => resync(&state, &order_id).await,
        "DEPOSIT_CALLBACK" => {
            let Some(secret) = event.field(&event.secret, "secret") else {
                return Err(ApiError::bad_request(
                    "invalid_deposit_secret",
                    "DEPOSIT_CALLBACK must carry the payment's secret",
                ));
            };
            let payment = match toss(&state)?.client().payment_by_order(order_id.as_str()).await {
                Ok(p) => p,
                Err(e) if e.is_not_found() => {
                    tracing::warn!(%order_id, "DEPOSIT_CALLBACK for a payment Toss does not know ignored");
                    return Ok(StatusCode::OK);
                }
                Err(e) => return Err(e.into()),
            };
            if !payment.secret.as_deref().is_some_and(|s| same_secret(s, &secret)) {
                tracing::warn!(%order_id, "DEPOSIT_CALLBACK with a secret that is not the payment's: refused");
                return Err(ApiError::bad_request(
                    "invalid_deposit_secret",
                    "the DEPOSIT_CALLBACK's secret is not the payment's",
                ));
            }
            resync(&state, &order_id).await
        }
        other => {
            tracing::info!(event = other, "Toss webhook of an unknown type ignored");
            Ok(StatusCode::OK)
        }
    }
}

/// The refund account as the operator gives it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RefundAccountBody {
    bank: String,
    account_number: String,
    holder_name: String,
}

/// Body of a refund: `{amount?, reason, refundAccount?}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RefundBody {
    /// Omitted: the whole balance.
    #[serde(default)]
    amount: Option<i64>,
    reason: String,
    #[serde(default)]
    refund_account: Option<RefundAccountBody>,
}

/// A refund the backend parsed: every field checked.
struct Refund {
    amount: Option<i64>,
    reason: String,
    account: Option<RefundAccount>,
}

fn parse_refund(body: &[u8]) -> Result<Refund, ApiError> {
    let raw: RefundBody = parse_json(body, "refund {amount?, reason, refundAccount?}")?;
    if raw.amount.is_some_and(|a| a <= 0) {
        return Err(ApiError::bad_request(
            "invalid_amount",
            "amount must be a whole number of won greater than 0 (leave it out to refund the whole balance)",
        ));
    }
    let reason = raw.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > MAX_REFUND_REASON || reason.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_reason",
            format!("reason must be 1 to {MAX_REFUND_REASON} printable characters"),
        ));
    }
    let account = match raw.refund_account {
        None => None,
        Some(a) => {
            let bank = a.bank.trim();
            if bank.is_empty() || bank.len() > 10 || !bank.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(ApiError::bad_request(
                    "invalid_refund_account",
                    "refundAccount.bank must be Toss's bank code (1 to 10 letters or digits, e.g. \"88\")",
                ));
            }
            let number = a.account_number.trim();
            if number.is_empty() || number.len() > 20 || !number.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::bad_request(
                    "invalid_refund_account",
                    "refundAccount.accountNumber must be 1 to 20 digits, without '-'",
                ));
            }
            let holder = a.holder_name.trim();
            if holder.is_empty() || holder.chars().count() > 60 {
                return Err(ApiError::bad_request(
                    "invalid_refund_account",
                    "refundAccount.holderName must be 1 to 60 characters",
                ));
            }
            Some(RefundAccount {
                bank: bank.to_owned(),
                account_number: number.to_owned(),
                holder_name: holder.to_owned(),
            })
        }
    };
    Ok(Refund {
        amount: raw.amount,
        reason,
        account,
    })
}

/// `Authorization: Bearer <token>` against the configured admin token.
/// Without one configured, the admin routes do not exist (404).
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = state.config.toss.as_ref().and_then(|t| t.admin_token.as_deref()) else {
        return Err(ApiError::not_found("not_found", "no such API route"));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    if expected.is_empty() || !same_secret(given, expected) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this admin route needs Authorization: Bearer <CHECKOUT_ADMIN_TOKEN>",
        ));
    }
    Ok(())
}

/// The answer of a refund: Toss's view of the payment afterwards.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundResult {
    /// The order.
    pub payment_id: String,
    /// Toss's status: `PARTIAL_CANCELED` or `CANCELED` (or, for a refund
    /// Toss has not applied, what it still is).
    pub provider_status: String,
    /// What was paid.
    pub total_amount: i64,
    /// What is left after every refund.
    pub balance_amount: i64,
    /// Every refund so far, oldest first.
    pub refunds: Vec<TossCancel>,
    /// The order's status after the refund (`CANCELLED` once nothing is
    /// left).
    pub order_status: OrderStatus,
}

fn refusal(e: &ProviderError, balance: i64) -> ApiError {
    match e.kind() {
        Some("NOT_CANCELABLE_AMOUNT") => ApiError::conflict(
            "not_cancelable_amount",
            format!("amount exceeds what Toss can refund (the balance is {balance} KRW)"),
        ),
        Some("NOT_CANCELABLE_PAYMENT") => ApiError::conflict(
            "not_cancelable_payment",
            "Toss does not allow this refund (e.g. a partial refund of a mobile-phone payment, or one from another month)",
        ),
        Some("ALREADY_CANCELED_PAYMENT") => ApiError::conflict("already_refunded", "the payment is already fully refunded"),
        _ => match e {
            ProviderError::Api { status, kind, .. } if (400..500).contains(status) => ApiError::bad_request(
                "refund_refused",
                format!("Toss refused the refund ({kind}); see the server log"),
            ),
            _ => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "refund_outcome_unknown",
                "Toss could not be reached or failed: the refund's outcome is not known yet; retry with the same \
                 Idempotency-Key (it will not refund twice)",
            ),
        },
    }
}

async fn refund(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    RawBody(body): RawBody,
) -> Result<Json<RefundResult>, ApiError> {
    authorize(&state, &headers)?;
    let payment_id: PaymentId = path_id(path, "invalid_payment_id", "paymentId")?;
    let operator_key = idempotency_key(&headers)?;
    let refund = parse_refund(&body)?;
    let order = state.db.order(payment_id.as_str()).await?.ok_or_else(|| {
        ApiError::not_found(
            "payment_not_found",
            format!("paymentId {payment_id} is not an order of this shop"),
        )
    })?;
    if order.provider != ProviderKind::Toss {
        return Err(ApiError::conflict(
            "not_a_toss_payment",
            "this order was not paid with Toss Payments",
        ));
    }
    if !matches!(order.status.as_str(), "PAID" | "CANCELLED") {
        return Err(ApiError::conflict(
            "not_refundable",
            format!("only a paid order can be refunded; this one is {}", order.status),
        ));
    }
    let toss = toss(&state)?;
    let payment = toss.client().payment_by_order(payment_id.as_str()).await?;
    if payment.is_virtual_account() && refund.account.is_none() {
        return Err(ApiError::bad_request(
            "refund_account_required",
            "a virtual-account payment is refunded to the customer's account: refundAccount {bank, accountNumber, \
             holderName} is required",
        ));
    }
    let cancel = CancelRequest {
        cancel_reason: format!("refund: {}", refund.reason),
        cancel_amount: refund.amount,
        refund_receive_account: refund.account,
    };
    let key = refund_idempotency_key(payment_id.as_str(), &operator_key);
    if let Err(e) = toss.client().cancel(&payment.payment_key, &cancel, Some(&key)).await {
        tracing::warn!(%payment_id, error = %e, "refund not applied (or its answer was lost)");
        return Err(refusal(&e, payment.balance_amount));
    }
    tracing::info!(%payment_id, amount = ?refund.amount, "refund applied at Toss");
    // Toss's word, read again, is what is reported; the order follows it.
    let after = toss.client().payment(&payment.payment_key).await?;
    let order_status = match sync_payment(&state, payment_id.as_str(), true).await {
        Ok(Some(s)) => OrderStatus::parse(&s.order.status).unwrap_or(OrderStatus::Paid),
        _ => OrderStatus::parse(&order.status).unwrap_or(OrderStatus::Paid),
    };
    Ok(Json(RefundResult {
        payment_id: payment_id.into_string(),
        provider_status: after.status,
        total_amount: after.total_amount,
        balance_amount: after.balance_amount,
        refunds: after.cancels.unwrap_or_default(),
        order_status,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_compared_whole() {
        assert!(same_secret("ps_abc", "ps_abc"));
        assert!(!same_secret("ps_abc", "ps_abd"));
        assert!(!same_secret("ps_abc", "ps_ab"));
        assert!(!same_secret("", "x"));
    }

    #[test]
    fn a_refund_body_is_parsed_field_by_field() {
        let ok = parse_refund(br#"{"amount": 1000, "reason": "broken cup"}"#).expect("valid");
        assert_eq!((ok.amount, ok.reason.as_str()), (Some(1000), "broken cup"));
        let whole = parse_refund(
            r#"{"reason": "x", "refundAccount": {"bank": "88", "accountNumber": "12345678", "holderName": "홍길동"}}"#
                .as_bytes(),
        )
        .expect("valid");
        assert_eq!(whole.amount, None);
        assert!(whole.account.is_some());
        for (body, code) in [
            (&br#"{"amount": 0, "reason": "x"}"#[..], "invalid_amount"),
            (br#"{"amount": 1}"#, "invalid_json"),
            (br#"{"reason": " "}"#, "invalid_reason"),
            (br#"{"reason": "x", "amount": "1000"}"#, "invalid_json"),
            (br#"{"reason": "x", "extra": 1}"#, "invalid_json"),
            (
                br#"{"reason": "x", "refundAccount": {"bank": "88", "accountNumber": "123-45", "holderName": "a"}}"#,
                "invalid_refund_account",
            ),
        ] {
            let e = parse_refund(body).err().map(|e| e.code);
            assert_eq!(e, Some(code), "{}", String::from_utf8_lossy(body));
        }
    }
}
