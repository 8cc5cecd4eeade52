use std::time::{Duration, Instant};

use portone_checkout::protocol::OrderStatus;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::Harness;

#[tokio::test]
async fn portone_5xx_answers_are_retried_and_the_payment_ends_paid() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare(json!([{"productId": "americano", "quantity": 1}])).await;
    h.pay(&prepared, "approve", None).await;
    h.set_faults(json!({"failNext": 2})).await;
    let status = h.complete_ok(&prepared.payment_id).await;
    assert_eq!(status.status, OrderStatus::Paid);
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn portone_down_beyond_retries_keeps_the_order_and_a_later_complete_pays() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare(json!([{"productId": "americano", "quantity": 1}])).await;
    h.pay(&prepared, "approve", None).await;
    h.set_faults(json!({"failNext": 1000})).await;
    // Both routes answer the stored record, saying it is not verified.
    let (code, body) = h.complete(&prepared.payment_id, json!({})).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(
        (body["status"].as_str(), body["verified"].as_bool()),
        (Some("PENDING"), Some(false)),
        "{body}"
    );
    assert_eq!(h.stored_status(&prepared.payment_id).await, "PENDING");
    let (code, body) = h.get(&format!("/api/payments/{}", prepared.payment_id)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        (body["status"].as_str(), body["verified"].as_bool()),
        (Some("PENDING"), Some(false)),
        "{body}"
    );

    h.set_faults(json!({})).await;
    assert_eq!(h.complete_ok(&prepared.payment_id).await.status, OrderStatus::Paid);
    h.shutdown().await;
}

#[tokio::test]
async fn lost_read_responses_are_retried_and_tampering_still_ends_cancelled() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare(json!([{"productId": "cafe-latte", "quantity": 1}])).await;
    h.pay(&prepared, "approve", Some(4000)).await;
    // The server's reads lose their answers three times in a row.
    h.set_faults(json!({"loseResponses": 3})).await;
    let status = h.complete_ok(&prepared.payment_id).await;
    assert_eq!(status.status, OrderStatus::Cancelled, "{status:?}");
    assert_eq!(h.stored_status(&prepared.payment_id).await, "CANCELLED");
    assert_eq!(h.portone_payment(&prepared.payment_id).await["status"], "CANCELLED");
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 0);
    h.shutdown().await;
}

#[tokio::test]
async fn lost_prepare_answer_is_retried_and_the_order_is_usable() {
    let h = Harness::start_with(false, None).await;
    h.set_faults(json!({"loseResponses": 1})).await;
    let prepared = h.prepare(json!([{"productId": "croissant", "quantity": 1}])).await;
    h.pay(&prepared, "approve", None).await;
    assert_eq!(h.complete_ok(&prepared.payment_id).await.status, OrderStatus::Paid);
    h.shutdown().await;
}

#[tokio::test]
async fn consecutive_request_refusal_is_waited_out_and_retried() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare(json!([{"productId": "americano", "quantity": 1}])).await;
    h.pay(&prepared, "approve", None).await;
    h.set_faults(json!({"consecutiveRequestGuard": true})).await;
    // Someone else just read this payment: the server's read is refused once.
    let first = h.portone_payment(&prepared.payment_id).await;
    assert_eq!(first["status"], "PAID");
    let started = Instant::now();
    let status = h.complete_ok(&prepared.payment_id).await;
    assert_eq!(status.status, OrderStatus::Paid);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the retry waited only {:?}",
        started.elapsed()
    );
    h.shutdown().await;
}
