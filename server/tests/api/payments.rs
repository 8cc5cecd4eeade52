use std::time::Duration;

use checkout_server::shop_api::{ClientConfig, Product};
use portone_checkout::protocol::OrderStatus;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{eventually, Harness};

#[tokio::test]
async fn catalogue_and_config_are_served_without_secrets() {
    let h = Harness::start().await;
    let (status, body) = h.get("/api/products").await;
    assert_eq!(status, StatusCode::OK);
    let products: Vec<Product> = serde_json::from_value(body).expect("products");
    assert!(products.len() >= 4);
    let americano = products.iter().find(|p| p.id == "americano").expect("americano");
    assert_eq!((americano.price, americano.currency.as_str()), (4500, "KRW"));

    let (status, body) = h.get("/api/config").await;
    assert_eq!(status, StatusCode::OK);
    let text = body.to_string();
    assert!(!text.contains(crate::common::SECRET), "{text}");
    assert!(!text.contains("whsec_"), "{text}");
    let config: ClientConfig = serde_json::from_value(body).expect("config");
    assert_eq!(config.store_id, portone_sandbox::DEFAULT_STORE_ID);
    assert_eq!(config.mode, "sandbox");
    assert_eq!(config.channels[0].key, portone_sandbox::TOSSPAY_CHANNEL_KEY);
    assert_eq!(config.channels[0].pg, "tosspay_v2");
    assert_eq!(config.sdk_url, format!("{}/v2/browser-sdk.js", h.sandbox.base_url()));
    h.shutdown().await;
}

#[tokio::test]
async fn happy_path_computes_the_amount_pays_and_fulfils_exactly_once() {
    let h = Harness::start().await;
    let stock_before = h.db().stock("americano").await.expect("db").expect("stock");
    let prepared = h
        .prepare(json!([{"productId": "americano", "quantity": 2}, {"productId": "croissant", "quantity": 1}]))
        .await;
    assert_eq!(prepared.total_amount, 2 * 4500 + 3800);
    assert_eq!(prepared.currency, "KRW");
    assert_eq!(prepared.order_name, "아메리카노 외 1건");
    let customer = prepared.customer.clone().expect("customer");
    assert_eq!(customer.customer_id.as_deref(), Some("demo-customer-1"));

    let result = h.pay(&prepared, "approve", None).await;
    assert!(result.get("code").is_none(), "{result}");
    let status = h
        .complete_ok_with_tx(&prepared.payment_id, result["txId"].as_str())
        .await;
    assert_eq!(status.status, OrderStatus::Paid);
    assert_eq!(status.total_amount, prepared.total_amount);
    assert!(status.paid_at.is_some());

    let (code, body) = h.get(&format!("/api/payments/{}", prepared.payment_id)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["status"], "PAID");

    // The Transaction.Paid webhook arrives too; still one fulfilment.
    h.webhooks_settled("Transaction.Paid").await;
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    assert_eq!(h.db().stock("americano").await.expect("db"), Some(stock_before - 2));
    h.shutdown().await;
}

impl Harness {
    async fn complete_ok_with_tx(
        &self,
        payment_id: &str,
        tx_id: Option<&str>,
    ) -> portone_checkout::protocol::PaymentStatus {
        let (status, body) = self.complete(payment_id, json!({ "txId": tx_id })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).expect("PaymentStatus")
    }
}

#[tokio::test]
async fn tampered_amount_is_not_fulfilled_and_is_cancelled_with_a_reason() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare(json!([{"productId": "cafe-latte", "quantity": 1}])).await;
    // The browser paid 100 won instead of 5000 (pre-registration bypassed).
    h.pay(&prepared, "approve", Some(100)).await;
    let status = h.complete_ok(&prepared.payment_id).await;
    assert_eq!(status.status, OrderStatus::Cancelled);
    let message = status.message.expect("reason");
    assert!(message.contains("tampering"), "{message}");
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 0);
    let at_portone = h.portone_payment(&prepared.payment_id).await;
    assert_eq!(at_portone["status"], "CANCELLED", "{at_portone}");
    assert!(
        at_portone.to_string().contains("tampering"),
        "cancel reason sent to PortOne: {at_portone}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn pre_registration_makes_the_sandbox_refuse_a_different_amount() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare(json!([{"productId": "americano", "quantity": 1}])).await;
    let request = json!({
        "storeId": portone_sandbox::DEFAULT_STORE_ID,
        "channelKey": portone_sandbox::TOSSPAY_CHANNEL_KEY,
        "paymentId": prepared.payment_id,
        "orderName": prepared.order_name,
        "totalAmount": 100,
        "currency": "KRW",
        "payMethod": "EASY_PAY",
    });
    let resp = h
        .http
        .post(format!("{}/__sandbox/pay", h.sandbox.base_url()))
        .json(&json!({ "request": request, "outcome": "approve" }))
        .send()
        .await
        .expect("pay");
    let body: serde_json::Value = resp.json().await.expect("json");
    assert!(
        body.to_string().contains("AmountNotEqualToPredefined") || body.get("code").is_some(),
        "{body}"
    );
    let status = h.complete_ok(&prepared.payment_id).await;
    assert_ne!(status.status, OrderStatus::Paid);
    h.shutdown().await;
}

#[tokio::test]
async fn out_of_stock_after_payment_is_net_cancelled() {
    let h = Harness::start_with(false, None).await;
    assert_eq!(h.db().stock("beans-1kg").await.expect("db"), Some(1));
    let first = h.prepare(json!([{"productId": "beans-1kg", "quantity": 1}])).await;
    let second = h.prepare(json!([{"productId": "beans-1kg", "quantity": 1}])).await;
    h.pay(&first, "approve", None).await;
    h.pay(&second, "approve", None).await;
    assert_eq!(h.complete_ok(&first.payment_id).await.status, OrderStatus::Paid);
    let status = h.complete_ok(&second.payment_id).await;
    assert_eq!(status.status, OrderStatus::Cancelled);
    assert!(
        status.message.as_deref().unwrap_or("").contains("net cancel"),
        "{status:?}"
    );
    assert_eq!(h.db().fulfilment_count(&second.payment_id).await.expect("db"), 0);
    assert_eq!(h.db().stock("beans-1kg").await.expect("db"), Some(0));
    assert_eq!(h.portone_payment(&second.payment_id).await["status"], "CANCELLED");
    // A second complete changes nothing.
    assert_eq!(h.complete_ok(&second.payment_id).await.status, OrderStatus::Cancelled);
    h.shutdown().await;
}

#[tokio::test]
async fn declined_payment_is_failed_and_can_be_retried_with_the_same_payment_id() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare(json!([{"productId": "croissant", "quantity": 1}])).await;
    let result = h.pay(&prepared, "decline", None).await;
    assert!(result.get("code").is_some(), "{result}");
    let (code, body) = h
        .complete(
            &prepared.payment_id,
            json!({"code": result["code"], "message": result["message"]}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "FAILED", "{body}");
    assert!(body["failure"]["message"].is_string(), "{body}");

    h.pay(&prepared, "approve", None).await;
    assert_eq!(h.complete_ok(&prepared.payment_id).await.status, OrderStatus::Paid);
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn fifty_concurrent_completes_and_duplicate_webhooks_fulfil_once() {
    let h = Harness::start().await;
    h.set_faults(json!({"webhook": {"duplicate": true}})).await;
    let stock_before = h.db().stock("cafe-latte").await.expect("db").expect("stock");
    let prepared = h.prepare(json!([{"productId": "cafe-latte", "quantity": 3}])).await;
    h.pay(&prepared, "approve", None).await;

    // 50 completes at once, plus 10 distinct webhooks for the same payment.
    let completes = (0..50).map(|_| h.complete(&prepared.payment_id, json!({})));
    let body = json!({
        "type": "Transaction.Paid",
        "timestamp": "2026-01-01T00:00:00Z",
        "data": {"storeId": portone_sandbox::DEFAULT_STORE_ID, "paymentId": prepared.payment_id, "transactionId": "tx"}
    })
    .to_string();
    let ids: Vec<String> = (0..10).map(|i| format!("msg_concurrent_{i}")).collect();
    let webhooks = ids.iter().map(|id| {
        h.send_webhook(
            portone_sandbox::DEFAULT_WEBHOOK_SECRET,
            id,
            crate::common::now_unix(),
            &body,
        )
    });
    let (results, hooks) = tokio::join!(
        futures::future::join_all(completes),
        futures::future::join_all(webhooks)
    );
    for (code, body) in results {
        assert_eq!(code, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "PAID", "{body}");
    }
    for (code, body) in hooks {
        assert_eq!(code, StatusCode::OK, "{body}");
    }
    // The sandbox's own (duplicated) deliveries.
    h.webhooks_settled("Transaction.Paid").await;
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    assert_eq!(h.db().stock("cafe-latte").await.expect("db"), Some(stock_before - 3));
    h.shutdown().await;
}

#[tokio::test]
async fn virtual_account_issued_then_paid_by_webhook() {
    let h = Harness::start().await;
    let prepared = h.prepare(json!([{"productId": "americano", "quantity": 1}])).await;
    let request = json!({
        "storeId": portone_sandbox::DEFAULT_STORE_ID,
        "channelKey": portone_sandbox::CARD_CHANNEL_KEY,
        "paymentId": prepared.payment_id,
        "orderName": prepared.order_name,
        "totalAmount": prepared.total_amount,
        "currency": "KRW",
        "payMethod": "VIRTUAL_ACCOUNT",
        "customer": prepared.customer,
        "virtualAccount": {"accountExpiry": {"validHours": 24}},
    });
    h.admin_post(
        "/__sandbox/pay",
        json!({ "request": request, "outcome": "virtualAccount" }),
    )
    .await;
    let status = h.complete_ok(&prepared.payment_id).await;
    assert_eq!(status.status, OrderStatus::VirtualAccountIssued);
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 0);

    h.admin_post(
        &format!("/__sandbox/payments/{}/deposit", prepared.payment_id),
        json!({}),
    )
    .await;
    // Only the webhook can move it: nobody calls the API for this order now.
    eventually(
        "the deposit webhook to mark the order paid",
        Duration::from_secs(10),
        || async { (h.stored_status(&prepared.payment_id).await == "PAID").then_some(()) },
    )
    .await;
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn orders_and_fulfilment_survive_a_restart_without_double_fulfilment() {
    let mut h = Harness::start_with(false, None).await;
    let paid = h.prepare(json!([{"productId": "americano", "quantity": 1}])).await;
    let unfinished = h.prepare(json!([{"productId": "croissant", "quantity": 2}])).await;
    h.pay(&paid, "approve", None).await;
    assert_eq!(h.complete_ok(&paid.payment_id).await.status, OrderStatus::Paid);
    // Paid at PortOne while the server is down.
    h.stop_server().await;
    h.pay(&unfinished, "approve", None).await;
    h.start_server().await;

    let (code, body) = h.get(&format!("/api/payments/{}", paid.payment_id)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["status"], "PAID");
    assert_eq!(h.complete_ok(&paid.payment_id).await.status, OrderStatus::Paid);
    assert_eq!(h.db().fulfilment_count(&paid.payment_id).await.expect("db"), 1);

    let status = h.complete_ok(&unfinished.payment_id).await;
    assert_eq!(status.status, OrderStatus::Paid);
    assert_eq!(status.total_amount, 7600);
    assert_eq!(h.db().fulfilment_count(&unfinished.payment_id).await.expect("db"), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn two_servers_sharing_the_database_fulfil_a_payment_once() {
    let h = Harness::start_with(false, None).await;
    let other = checkout_server::serve(h.config()).await.expect("second server");
    let prepared = h.prepare(json!([{"productId": "croissant", "quantity": 1}])).await;
    h.pay(&prepared, "approve", None).await;
    let path = format!("/api/payments/{}/complete", prepared.payment_id);
    let other_url = format!("{}{path}", other.base_url());
    let here = (0..20).map(|_| h.complete(&prepared.payment_id, json!({})));
    let there = (0..20).map(|_| {
        h.http
            .post(other_url.clone())
            .header("content-type", "application/json")
            .body("{}")
            .send()
    });
    let (a, b) = tokio::join!(futures::future::join_all(here), futures::future::join_all(there));
    for (code, body) in a {
        assert_eq!(code, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "PAID");
    }
    for resp in b {
        let resp = resp.expect("response");
        assert_eq!(resp.status(), StatusCode::OK);
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["status"], "PAID");
    }
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    other.shutdown().await;
    h.shutdown().await;
}

#[tokio::test]
async fn static_demo_is_served_with_spa_fallback_while_api_errors_stay_json() {
    let h = Harness::start_with(false, None).await;
    let site = tempfile::tempdir().expect("site dir");
    std::fs::write(site.path().join("index.html"), "<html>demo shop</html>").expect("index");
    std::fs::write(site.path().join("app.js"), "console.log(1)").expect("js");
    let mut config = h.config();
    config.static_dir = Some(site.path().to_owned());
    let server = checkout_server::serve(config).await.expect("server");
    let get = |path: &str| h.http.get(format!("{}{path}", server.base_url())).send();
    let js = get("/app.js").await.expect("js");
    assert_eq!(js.text().await.expect("text"), "console.log(1)");
    let deep = get("/cart/checkout").await.expect("deep link");
    assert_eq!(deep.status(), StatusCode::OK);
    assert!(deep.text().await.expect("text").contains("demo shop"));
    let api = get("/api/unknown").await.expect("api");
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = api.json().await.expect("json");
    assert_eq!(body["error"], "not_found");
    server.shutdown().await;
    h.shutdown().await;
}

#[tokio::test]
async fn precompressed_files_go_to_browsers_that_accept_them_and_wasm_streams() {
    let h = Harness::start_with(false, None).await;
    let site = tempfile::tempdir().expect("site dir");
    std::fs::write(site.path().join("index.html"), "<html>shop</html>").expect("index");
    std::fs::write(site.path().join("app_bg.wasm"), b"\0asm-plain").expect("wasm");
    std::fs::write(site.path().join("app_bg.wasm.br"), b"brotli-bytes").expect("wasm.br");
    let mut config = h.config();
    config.static_dir = Some(site.path().to_owned());
    let server = checkout_server::serve(config).await.expect("server");
    let url = format!("{}/app_bg.wasm", server.base_url());
    let br = h
        .http
        .get(&url)
        .header("accept-encoding", "br")
        .send()
        .await
        .expect("br");
    assert_eq!(br.headers()["content-encoding"], "br");
    assert_eq!(br.headers()["content-type"], "application/wasm");
    assert_eq!(br.bytes().await.expect("body").as_ref(), b"brotli-bytes");
    let plain = h
        .http
        .get(&url)
        .header("accept-encoding", "identity")
        .send()
        .await
        .expect("plain");
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.headers()["content-type"], "application/wasm");
    assert_eq!(plain.bytes().await.expect("body").as_ref(), b"\0asm-plain");
    server.shutdown().await;
    h.shutdown().await;
}

#[tokio::test]
async fn a_cancel_interrupted_by_a_crash_is_completed_after_restart() {
    let mut h = Harness::start_with(false, None).await;
    let prepared = h.prepare(json!([{"productId": "americano", "quantity": 1}])).await;
    h.pay(&prepared, "approve", Some(1000)).await;
    // The process decided to cancel (state written) and died before calling
    // PortOne.
    let moved = h
        .db()
        .transition(
            &prepared.payment_id,
            &["PENDING"],
            checkout_server::db::STATUS_CANCELLING,
            None,
            Some("suspected tampering: recorded before the crash"),
        )
        .await
        .expect("db");
    assert!(moved);
    h.stop_server().await;
    assert_eq!(h.portone_payment(&prepared.payment_id).await["status"], "PAID");
    h.start_server().await;

    let status = h.complete_ok(&prepared.payment_id).await;
    assert_eq!(status.status, OrderStatus::Cancelled);
    assert_eq!(h.stored_status(&prepared.payment_id).await, "CANCELLED");
    assert_eq!(h.portone_payment(&prepared.payment_id).await["status"], "CANCELLED");
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 0);
    h.shutdown().await;
}
