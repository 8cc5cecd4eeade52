//! PortOne V2's webhooks: version 2024-04-25 bodies
//! (`{type, timestamp, data}`: `Transaction.*` with
//! `{storeId, paymentId, transactionId, cancellationId?}`, `BillingKey.*` with
//! `{storeId, billingKey}`) signed the Standard Webhooks way (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>` keyed by
//! the `whsec_` webhook secret). Delivery itself is the shared `webhook.rs`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::store::{ts, AppState};
use crate::webhook;

/// Decodes a `whsec_` secret to its key bytes.
pub(crate) fn decode_secret(secret: &str) -> anyhow::Result<Vec<u8>> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    B64.decode(b64)
        .map_err(|e| anyhow::anyhow!("webhook secret is not whsec_<base64>: {e}"))
}

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
pub(crate) fn sign(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

/// The Standard Webhooks headers of one attempt (a `webhook::Signer`).
fn standard_webhooks_headers(
    st: &AppState,
    webhook_id: &str,
    timestamp: i64,
    body: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("webhook-id", webhook_id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        (
            "webhook-signature",
            sign(&st.portone_v2.webhook_key, webhook_id, timestamp, body),
        ),
    ]
}

/// Emits a transaction event for a payment.
pub(crate) fn emit_transaction(
    st: &AppState,
    kind: &str,
    payment_id: &str,
    transaction_id: &str,
    cancellation_id: Option<&str>,
    notice_urls: &[String],
) {
    let mut data = json!({
        "storeId": st.config.store_id,
        "paymentId": payment_id,
        "transactionId": transaction_id,
    });
    if let Some(c) = cancellation_id {
        data["cancellationId"] = c.into();
    }
    emit(st, kind, data, notice_urls);
}

/// Emits a billing-key event.
pub(crate) fn emit_billing_key(st: &AppState, kind: &str, billing_key: &str, notice_urls: &[String]) {
    let data = json!({ "storeId": st.config.store_id, "billingKey": billing_key });
    emit(st, kind, data, notice_urls);
}

fn emit(st: &AppState, kind: &str, data: Value, notice_urls: &[String]) {
    let body = json!({ "type": kind, "timestamp": ts(Utc::now()), "data": data }).to_string();
    webhook::emit(st, kind, body, notice_urls, Some(standard_webhooks_headers));
}
