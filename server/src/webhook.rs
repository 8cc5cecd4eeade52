//! `POST /api/webhooks/portone`: Standard Webhooks verification over the raw
//! body, de-duplication by `webhook-id`, then the same sync as `complete`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use standardwebhooks::WebhookError;

use portone_checkout::protocol::PaymentId;

use crate::db::STATUS_CANCELLING;
use crate::error::ApiError;
use crate::routes::RawBody;
use crate::sync::{sync_billing_key, sync_payment};
use crate::AppState;

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: EventData,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventData {
    #[serde(default)]
    payment_id: Option<String>,
    #[serde(default)]
    billing_key: Option<String>,
    #[serde(default)]
    store_id: Option<String>,
}

fn reject(err: &WebhookError) -> ApiError {
    match err {
        WebhookError::TimestampTooOldError | WebhookError::FutureTimestampError => ApiError::bad_request(
            "stale_webhook",
            "webhook-timestamp is more than 5 minutes away from the server's clock",
        ),
        WebhookError::MissingHeader(_) | WebhookError::InvalidHeader(_) | WebhookError::InvalidTimestamp => {
            ApiError::bad_request(
                "invalid_webhook_headers",
                "webhook-id, webhook-timestamp and webhook-signature headers are required",
            )
        }
        _ => ApiError::bad_request(
            "invalid_signature",
            "webhook-signature does not match the body for any configured secret",
        ),
    }
}

/// Verifies with every configured secret (rotation); the first success wins.
/// When all fail, a timestamp error is reported over a signature error.
fn verify(state: &AppState, body: &[u8], headers: &HeaderMap) -> Result<(), ApiError> {
    let mut worst: Option<WebhookError> = None;
    for verifier in state.verifiers.iter() {
        match verifier.verify(body, headers) {
            Ok(()) => return Ok(()),
            Err(e) => {
                let keep = matches!(
                    e,
                    WebhookError::TimestampTooOldError
                        | WebhookError::FutureTimestampError
                        | WebhookError::MissingHeader(_)
                        | WebhookError::InvalidHeader(_)
                        | WebhookError::InvalidTimestamp
                );
                if keep || worst.is_none() {
                    worst = Some(e);
                }
            }
        }
    }
    Err(worst
        .as_ref()
        .map(reject)
        .unwrap_or_else(|| ApiError::bad_request("invalid_signature", "no webhook secret is configured")))
}

pub(crate) async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<StatusCode, ApiError> {
    verify(&state, &body, &headers)?;
    let webhook_id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let envelope: Envelope = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("the webhook body is not a PortOne webhook object: {e}"),
        )
    })?;
    if state.db.webhook_seen(&webhook_id, &envelope.kind).await? {
        tracing::info!(%webhook_id, kind = %envelope.kind, "duplicate webhook ignored");
        return Ok(StatusCode::OK);
    }
    if let Some(store) = &envelope.data.store_id {
        if *store != state.config.portone.store_id {
            tracing::warn!(%webhook_id, "webhook for another store ignored");
            state.db.webhook_processed(&webhook_id).await?;
            return Ok(StatusCode::OK);
        }
    }
    let kind = envelope.kind.as_str();
    if kind.starts_with("Transaction.") {
        if let Some(payment_id) = envelope
            .data
            .payment_id
            .as_deref()
            .and_then(|id| PaymentId::parse(id).ok())
        {
            match sync_payment(&state, payment_id.as_str(), true).await? {
                None => tracing::info!(%webhook_id, %payment_id, "webhook for an unknown payment ignored"),
                // A cancel this server started is not confirmed yet: answer
                // non-2xx so PortOne delivers again (the reconciler retries
                // the cancel meanwhile). Not marked processed.
                Some(synced) if synced.order.status == STATUS_CANCELLING => {
                    tracing::warn!(%webhook_id, %payment_id, "cancel not confirmed yet; asking PortOne to redeliver");
                    return Err(ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "cancel_pending",
                        "a cancel of this payment is not confirmed by PortOne yet; deliver again later",
                    ));
                }
                Some(_) => {}
            }
        }
    } else if matches!(kind, "BillingKey.Issued" | "BillingKey.Updated" | "BillingKey.Deleted") {
        if let Some(key) = envelope
            .data
            .billing_key
            .as_deref()
            .filter(|k| !k.is_empty() && k.len() <= 256)
        {
            sync_billing_key(&state, crate::provider::ProviderKind::PortOneV2, key).await?;
        }
    } else {
        tracing::info!(%webhook_id, kind, "unknown webhook type ignored");
    }
    state.db.webhook_processed(&webhook_id).await?;
    Ok(StatusCode::OK)
}
