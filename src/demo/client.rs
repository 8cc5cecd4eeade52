//! The demo's calls to the reference shop's own API (its catalogue, config
//! and subscription charge): not the checkout's contract, so not the
//! library's.

use super::api::{subscription_charge_path, ChargeResult, IDEMPOTENCY_KEY_HEADER};
use gloo_net::http::Request;
use portone_checkout::protocol::SubscriptionId;
use serde::de::DeserializeOwned;

/// `GET` a JSON document from the shop's backend (`prefix`: where the
/// provider's routes are mounted, `""` or `/v1`).
pub async fn get<T: DeserializeOwned>(prefix: &str, path: &str) -> Result<T, String> {
    let path = format!("{prefix}{path}");
    let resp = Request::get(&path).send().await.map_err(|e| e.to_string())?;
    if !resp.ok() {
        return Err(format!("{path}: HTTP {}", resp.status()));
    }
    resp.json().await.map_err(|e| e.to_string())
}

/// `POST /api/subscriptions/{id}/charge` with an `Idempotency-Key`: a retry
/// with the same key returns the first charge's result.
pub async fn charge(
    prefix: &str,
    subscription_id: &SubscriptionId,
    idempotency_key: &str,
) -> Result<ChargeResult, String> {
    let path = format!("{prefix}{}", subscription_charge_path(subscription_id));
    let resp = Request::post(&path)
        .header(IDEMPOTENCY_KEY_HEADER, idempotency_key)
        .header("Content-Type", "application/json")
        .body("{}")
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| e.to_string())
}
