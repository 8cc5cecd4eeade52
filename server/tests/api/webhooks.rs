use portone_checkout::protocol::PreparedPayment;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{now_unix, Harness};

const OTHER_SECRET: &str = "whsec_b3RoZXItc2VjcmV0LW5vdC1jb25maWd1cmVkLWFueXdoZXJlIQ==";
const OLD_SECRET: &str = "whsec_b2xkLXNlY3JldC1iZWluZy1yb3RhdGVkLW91dC0xMjM0NTY3OA==";

fn paid_body(prepared: &PreparedPayment) -> String {
    json!({
        "type": "Transaction.Paid",
        "timestamp": "2026-01-01T00:00:00Z",
        "data": {
            "storeId": portone_sandbox::DEFAULT_STORE_ID,
            "paymentId": prepared.payment_id,
            "transactionId": "tx-1"
        }
    })
    .to_string()
}

/// A server whose sandbox does not deliver webhooks, and an order paid at
/// the sandbox that the server has not heard about yet.
async fn paid_but_unsynced(secrets: Option<Vec<String>>) -> (Harness, PreparedPayment) {
    let h = Harness::start_with(false, secrets).await;
    let prepared = h.prepare(json!([{"productId": "americano", "quantity": 1}])).await;
    h.pay(&prepared, "approve", None).await;
    assert_eq!(h.stored_status(&prepared.payment_id).await, "PENDING");
    (h, prepared)
}

#[tokio::test]
async fn valid_webhook_runs_the_sync_and_marks_the_order_paid() {
    let (h, prepared) = paid_but_unsynced(None).await;
    let (code, body) = h
        .send_webhook(
            portone_sandbox::DEFAULT_WEBHOOK_SECRET,
            "msg_valid_1",
            now_unix(),
            &paid_body(&prepared),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(h.stored_status(&prepared.payment_id).await, "PAID");
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn forged_webhook_is_rejected_with_400_and_changes_nothing() {
    let (h, prepared) = paid_but_unsynced(None).await;
    let (code, body) = h
        .send_webhook(OTHER_SECRET, "msg_forged", now_unix(), &paid_body(&prepared))
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_signature");
    // A valid signature over a different body does not verify this body.
    let signature =
        portone_sandbox::sign_webhook(portone_sandbox::DEFAULT_WEBHOOK_SECRET, "msg_swapped", now_unix(), "{}")
            .expect("sign");
    let resp = h
        .http
        .post(format!("{}/api/webhooks/portone", h.base()))
        .header("webhook-id", "msg_swapped")
        .header("webhook-timestamp", now_unix().to_string())
        .header("webhook-signature", signature)
        .body(paid_body(&prepared))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Missing headers.
    let (code, body) = h
        .post_raw("/api/webhooks/portone", paid_body(&prepared).into_bytes())
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_webhook_headers");

    assert_eq!(h.stored_status(&prepared.payment_id).await, "PENDING");
    assert_eq!(h.db().processed_webhook_count().await.expect("db"), 0);
    h.shutdown().await;
}

#[tokio::test]
async fn stale_or_future_webhook_is_rejected_and_changes_nothing() {
    let (h, prepared) = paid_but_unsynced(None).await;
    for ts in [now_unix() - 6 * 60, now_unix() + 6 * 60] {
        let (code, body) = h
            .send_webhook(
                portone_sandbox::DEFAULT_WEBHOOK_SECRET,
                "msg_stale",
                ts,
                &paid_body(&prepared),
            )
            .await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "stale_webhook");
    }
    assert_eq!(h.stored_status(&prepared.payment_id).await, "PENDING");
    h.shutdown().await;
}

#[tokio::test]
async fn replayed_webhook_id_is_acknowledged_without_being_processed_again() {
    let (h, prepared) = paid_but_unsynced(None).await;
    let body = paid_body(&prepared);
    let secret = portone_sandbox::DEFAULT_WEBHOOK_SECRET;
    let (code, _) = h.send_webhook(secret, "msg_replay", now_unix(), &body).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(h.stored_status(&prepared.payment_id).await, "PAID");

    // Every PortOne call now fails: a replay that did any work would fail too.
    h.set_faults(json!({"failNext": 1000})).await;
    let (code, body_replay) = h.send_webhook(secret, "msg_replay", now_unix(), &body).await;
    assert_eq!(code, StatusCode::OK, "{body_replay}");
    // A new id is processed (and fails because PortOne is down).
    let (code, _) = h.send_webhook(secret, "msg_new", now_unix(), &body).await;
    assert_eq!(code, StatusCode::BAD_GATEWAY);
    assert_eq!(h.db().processed_webhook_count().await.expect("db"), 1);
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn webhooks_verify_with_either_rotation_secret() {
    let secrets = vec![
        portone_sandbox::DEFAULT_WEBHOOK_SECRET.to_owned(),
        OLD_SECRET.to_owned(),
    ];
    let (h, prepared) = paid_but_unsynced(Some(secrets)).await;
    let body = paid_body(&prepared);
    let (code, _) = h.send_webhook(OLD_SECRET, "msg_old", now_unix(), &body).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(h.stored_status(&prepared.payment_id).await, "PAID");
    let (code, _) = h
        .send_webhook(portone_sandbox::DEFAULT_WEBHOOK_SECRET, "msg_new", now_unix(), &body)
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = h.send_webhook(OTHER_SECRET, "msg_other", now_unix(), &body).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn unknown_webhook_types_and_unknown_payments_are_acknowledged_and_ignored() {
    let (h, prepared) = paid_but_unsynced(None).await;
    let secret = portone_sandbox::DEFAULT_WEBHOOK_SECRET;
    let unknown_type = json!({"type": "Something.New", "timestamp": "2026-01-01T00:00:00Z",
                              "data": {"paymentId": prepared.payment_id}, "extra": 1})
    .to_string();
    let (code, _) = h.send_webhook(secret, "msg_unknown", now_unix(), &unknown_type).await;
    assert_eq!(code, StatusCode::OK);
    let unknown_payment = json!({"type": "Transaction.Paid", "timestamp": "2026-01-01T00:00:00Z",
                                 "data": {"paymentId": "order-not-ours", "storeId": portone_sandbox::DEFAULT_STORE_ID}})
    .to_string();
    let (code, _) = h
        .send_webhook(secret, "msg_unknown_payment", now_unix(), &unknown_payment)
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(h.stored_status(&prepared.payment_id).await, "PENDING");
    h.shutdown().await;
}
