//! The demo's calls to the reference shop's own API (its catalogue, config
//! and subscription charge): not the checkout's contract, so not the
//! library's; they use the library's JSON-over-fetch helpers.

use super::api::{subscription_charge_path, ChargeResult, IDEMPOTENCY_KEY_HEADER};
use portone_checkout::backend::{decode, fetch_text, get_json};
use portone_checkout::protocol::SubscriptionId;
use serde::de::DeserializeOwned;

/// `GET` a JSON document from the shop's backend.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, String> {
    get_json(path).await.map_err(|e| e.to_string())
}

/// `POST {prefix}/api/subscriptions/{id}/charge` with an `Idempotency-Key`:
/// a retry with the same key returns the first charge's result.
pub async fn charge(
    prefix: &str,
    subscription_id: &SubscriptionId,
    idempotency_key: &str,
) -> Result<ChargeResult, String> {
    let path = format!("{prefix}{}", subscription_charge_path(subscription_id));
    let text = fetch_text("POST", &path, &[(IDEMPOTENCY_KEY_HEADER, idempotency_key)], Some("{}"))
        .await
        .map_err(|e| e.to_string())?;
    decode(&text).map_err(|e| e.to_string())
}
