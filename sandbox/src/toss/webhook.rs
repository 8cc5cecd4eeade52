//! Toss Payments' webhooks, unsigned (Toss does not sign payment webhooks:
//! re-query the payment before acting): `PAYMENT_STATUS_CHANGED`
//! `{eventType, createdAt, data: <Payment>}` on every status change, and
//! `DEPOSIT_CALLBACK` `{eventType, createdAt, secret, status, orderId,
//! transactionKey}` when a virtual account is paid. Delivery, retries, faults
//! and the delivery log are the shared `webhook.rs`; Toss events go to the
//! configured webhook URLs (Toss registers them per store, there is no
//! per-request notice URL).

use chrono::Utc;
use serde_json::{json, Value};

use super::json::webhook_time;
use crate::store::AppState;
use crate::webhook;

/// Sends `PAYMENT_STATUS_CHANGED` with the payment (its JSON view).
pub(crate) fn payment_status_changed(st: &AppState, payment: Value) {
    let body = json!({
        "eventType": "PAYMENT_STATUS_CHANGED",
        "createdAt": webhook_time(Utc::now()),
        "data": payment,
    });
    webhook::emit(st, "PAYMENT_STATUS_CHANGED", body.to_string(), &[], None);
}

/// Sends `DEPOSIT_CALLBACK` for a virtual account's deposit.
pub(crate) fn deposit_callback(st: &AppState, secret: &str, status: &str, order_id: &str, transaction_key: &str) {
    let body = json!({
        "eventType": "DEPOSIT_CALLBACK",
        "createdAt": webhook_time(Utc::now()),
        "secret": secret,
        "status": status,
        "orderId": order_id,
        "transactionKey": transaction_key,
    });
    webhook::emit(st, "DEPOSIT_CALLBACK", body.to_string(), &[], None);
}
