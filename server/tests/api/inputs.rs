use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::Harness;

fn assert_error(code: StatusCode, body: &Value, want_code: StatusCode, want_error: &str, field: &str) {
    assert_eq!(code, want_code, "{body}");
    assert_eq!(body["error"], want_error, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(field), "message {message:?} should name {field:?}");
}

#[tokio::test]
async fn every_bad_prepare_input_gets_a_clear_error_body_and_creates_no_order() {
    let h = Harness::start_with(false, None).await;
    let cases: Vec<(Value, StatusCode, &str, &str)> = vec![
        (
            json!({"items": [{"productId": "no-such", "quantity": 1}]}),
            StatusCode::BAD_REQUEST,
            "unknown_product",
            "items[0].productId",
        ),
        (
            json!({"items": [{"productId": "americano", "quantity": 0}]}),
            StatusCode::BAD_REQUEST,
            "invalid_quantity",
            "items[0].quantity",
        ),
        (
            json!({"items": [{"productId": "americano", "quantity": 100}]}),
            StatusCode::BAD_REQUEST,
            "invalid_quantity",
            "items[0].quantity",
        ),
        (
            json!({"items": [{"productId": "americano", "quantity": -1}]}),
            StatusCode::BAD_REQUEST,
            "invalid_quantity",
            "items[0].quantity",
        ),
        (
            json!({"items": [{"productId": "americano", "quantity": 1.5}]}),
            StatusCode::BAD_REQUEST,
            "invalid_quantity",
            "items[0].quantity",
        ),
        (
            json!({"items": [{"productId": "americano", "quantity": "2"}]}),
            StatusCode::BAD_REQUEST,
            "invalid_quantity",
            "items[0].quantity",
        ),
        (
            json!({"items": [{"productId": "americano"}]}),
            StatusCode::BAD_REQUEST,
            "invalid_quantity",
            "items[0].quantity",
        ),
        (
            json!({"items": [{"productId": 7, "quantity": 1}]}),
            StatusCode::BAD_REQUEST,
            "invalid_product_id",
            "items[0].productId",
        ),
        (
            json!({"items": [{"productId": "../etc", "quantity": 1}]}),
            StatusCode::BAD_REQUEST,
            "invalid_product_id",
            "items[0].productId",
        ),
        (json!({"items": []}), StatusCode::BAD_REQUEST, "empty_cart", "items"),
        (json!({}), StatusCode::BAD_REQUEST, "invalid_items", "items"),
        (json!([1, 2]), StatusCode::BAD_REQUEST, "invalid_json", "items"),
        (
            json!({"items": [{"productId": "americano", "quantity": 1}, {"productId": "americano", "quantity": 2}]}),
            StatusCode::BAD_REQUEST,
            "duplicate_product",
            "items[1].productId",
        ),
        (
            json!({"items": [{"productId": "beans-1kg", "quantity": 2}]}),
            StatusCode::CONFLICT,
            "out_of_stock",
            "items[0].quantity",
        ),
        (
            json!({"items": (0..21).map(|i| json!({"productId": format!("p{i}"), "quantity": 1})).collect::<Vec<_>>()}),
            StatusCode::BAD_REQUEST,
            "too_many_items",
            "items",
        ),
    ];
    for (body, want_code, want_error, field) in cases {
        let (code, resp) = h.post("/api/payments", body.clone()).await;
        assert_error(code, &resp, want_code, want_error, field);
    }
    let (code, resp) = h.post_raw("/api/payments", b"{not json".to_vec()).await;
    assert_error(
        code,
        &resp,
        StatusCode::BAD_REQUEST,
        "invalid_json",
        "PreparePaymentRequest",
    );
    let huge = format!(r#"{{"items": [], "pad": "{}"}}"#, "x".repeat(64 * 1024));
    let (code, resp) = h.post_raw("/api/payments", huge.into_bytes()).await;
    assert_error(code, &resp, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "bytes");
    // A browser-sent amount is ignored, never trusted.
    let (code, resp) = h
        .post(
            "/api/payments",
            json!({"items": [{"productId": "americano", "quantity": 1}], "totalAmount": 1}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{resp}");
    assert_eq!(resp["totalAmount"], 4500);
    h.shutdown().await;
}

#[tokio::test]
async fn bad_ids_unknown_routes_and_methods_get_error_bodies() {
    let h = Harness::start_with(false, None).await;
    let (code, body) = h.complete("bad%20id", json!({})).await;
    assert_error(code, &body, StatusCode::BAD_REQUEST, "invalid_payment_id", "paymentId");
    let long = "a".repeat(65);
    let (code, body) = h.get(&format!("/api/payments/{long}")).await;
    assert_error(code, &body, StatusCode::BAD_REQUEST, "invalid_payment_id", "paymentId");
    let (code, body) = h.complete("order-unknown", json!({})).await;
    assert_error(code, &body, StatusCode::NOT_FOUND, "payment_not_found", "paymentId");
    let (code, body) = h.get("/api/payments/order-unknown").await;
    assert_error(code, &body, StatusCode::NOT_FOUND, "payment_not_found", "paymentId");
    let (code, body) = h
        .post_raw("/api/payments/order-unknown/complete", b"[not json".to_vec())
        .await;
    assert_error(code, &body, StatusCode::BAD_REQUEST, "invalid_json", "CompleteRequest");
    let (code, body) = h.get("/api/nope").await;
    assert_error(code, &body, StatusCode::NOT_FOUND, "not_found", "route");
    let resp = h
        .http
        .delete(format!("{}/api/payments", h.base()))
        .send()
        .await
        .expect("DELETE");
    let code = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert_error(
        code,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method",
    );
    let (code, body) = h.get("/api/subscriptions/sub-unknown").await;
    assert_error(
        code,
        &body,
        StatusCode::NOT_FOUND,
        "subscription_not_found",
        "subscriptionId",
    );
    let (code, body) = h.charge("x.y", "key-1").await;
    assert_error(
        code,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_subscription_id",
        "subscriptionId",
    );
    let (code, body) = h.post("/api/billing-keys", json!({"billingKey": ""})).await;
    assert_error(
        code,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_billing_key",
        "billingKey",
    );
    let (code, body) = h.post("/api/billing-keys", json!({})).await;
    assert_error(code, &body, StatusCode::BAD_REQUEST, "invalid_json", "billingKey");
    let (code, body) = h
        .post("/api/billing-keys", json!({"billingKey": "k", "issueId": "bad id"}))
        .await;
    // Ids are parsed with the body: the refusal names the field and the rule.
    assert_error(
        code,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_json",
        "`issueId` may only contain",
    );
    h.shutdown().await;
}

#[tokio::test]
async fn cors_allows_loopback_origins_only() {
    let h = Harness::start_with(false, None).await;
    let preflight = |origin: &'static str| {
        h.http
            .request(reqwest::Method::OPTIONS, format!("{}/api/payments", h.base()))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight("http://127.0.0.1:8081").await.expect("preflight");
    assert_eq!(
        ok.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("http://127.0.0.1:8081")
    );
    let evil = preflight("https://evil.example").await.expect("preflight");
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    h.shutdown().await;
}
