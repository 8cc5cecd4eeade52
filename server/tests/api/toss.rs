//! Toss Payments used directly, against the sandbox's Toss stand-in: the
//! server-side confirm with the secret key, lost confirm answers, refreshed
//! success pages, consecutive-request refusals, tampered amounts, net
//! cancels, refunds, billing and webhooks.

use std::time::{Duration, Instant};

use checkout_server::provider::toss::confirm_idempotency_key;
use checkout_server::provider::{PaymentState, ProviderKind};
use checkout_server::shop_api::{ChargeResult, ClientConfig};
use portone_checkout::protocol::{BillingKeyPrepared, OrderStatus, PaymentStatus, PreparedPayment, Subscription};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{eventually, now_unix, Harness, ADMIN_TOKEN};

const CLIENT_KEY: &str = portone_sandbox::DEFAULT_TOSS_CLIENT_KEY;
const SECRET_KEY: &str = portone_sandbox::DEFAULT_TOSS_SECRET_KEY;

/// Sandbox + server; with `webhooks`, the sandbox's webhooks go to the
/// server's Toss endpoint (only).
async fn start(webhooks: bool) -> Harness {
    let h = Harness::start_with(false, None).await;
    if webhooks {
        let url = format!("{}/toss/api/webhooks/toss", h.base());
        h.admin_post("/__sandbox/webhook-targets", json!({ "urls": [url] }))
            .await;
    }
    h
}

impl Harness {
    async fn toss_prepare(&self, items: Value) -> PreparedPayment {
        let (status, body) = self.post("/toss/api/payments", json!({ "items": items })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).expect("PreparedPayment")
    }

    /// Opens and finishes Toss's window as the browser would (`outcome`:
    /// approve, decline, cancel); `amount` overrides the amount (tampering).
    async fn toss_pay(&self, prepared: &PreparedPayment, outcome: &str, method: &str, amount: Option<i64>) -> Value {
        let request = json!({
            "method": method,
            "amount": {"currency": "KRW", "value": amount.unwrap_or(prepared.total_amount)},
            "orderId": prepared.payment_id,
            "orderName": prepared.order_name,
            "customerName": "홍길동",
        });
        self.admin_post(
            "/__sandbox/toss/pay",
            json!({ "request": request, "outcome": outcome, "customerKey": "demo-customer-1" }),
        )
        .await
    }

    /// Authenticates a card payment of the order; returns its `paymentKey`.
    async fn toss_approve(&self, prepared: &PreparedPayment) -> String {
        let result = self.toss_pay(prepared, "approve", "CARD", None).await;
        result["paymentKey"]
            .as_str()
            .unwrap_or_else(|| panic!("no paymentKey in {result}"))
            .to_owned()
    }

    async fn toss_complete(&self, payment_id: &str, body: Value) -> PaymentStatus {
        let (status, body) = self
            .post(&format!("/toss/api/payments/{payment_id}/complete"), body)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).expect("PaymentStatus")
    }

    /// A Toss REST call with the sandbox's secret key.
    async fn toss_rest(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/toss{path}", self.sandbox.base_url()))
            .basic_auth(SECRET_KEY, None::<&str>);
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("Toss REST");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// The order's payment at Toss (`GET /v1/payments/orders/{orderId}`).
    async fn toss_payment(&self, order_id: &str) -> Value {
        let (status, body) = self
            .toss_rest(
                reqwest::Method::GET,
                &format!("/v1/payments/orders/{order_id}"),
                None,
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn refund(&self, payment_id: &str, token: Option<&str>, key: &str, body: Value) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(format!("{}/toss/api/admin/payments/{payment_id}/refunds", self.base()))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body.to_string());
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let resp = req.send().await.expect("refund");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn toss_webhook(&self, body: Value) -> (StatusCode, Value) {
        self.post("/toss/api/webhooks/toss", body).await
    }
}

async fn paid_order(h: &Harness, items: Value) -> (PreparedPayment, String) {
    let prepared = h.toss_prepare(items).await;
    let key = h.toss_approve(&prepared).await;
    let status = h
        .toss_complete(
            prepared.payment_id.as_str(),
            json!({"txId": key, "amount": prepared.total_amount}),
        )
        .await;
    assert_eq!(status.status, OrderStatus::Paid, "{status:?}");
    (prepared, key)
}

#[tokio::test]
async fn the_toss_config_gives_the_browser_the_client_key_and_never_the_secret_key() {
    let h = start(false).await;
    let (status, body) = h.get("/toss/api/config").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let text = body.to_string();
    assert!(!text.contains("test_sk_") && !text.contains(SECRET_KEY), "{text}");
    let config: ClientConfig = serde_json::from_value(body).expect("ClientConfig");
    assert_eq!(config.provider, "toss");
    assert_eq!(config.toss_client_key.as_deref(), Some(CLIENT_KEY));
    assert_eq!(config.sdk_url, format!("{}/toss/v2/standard", h.sandbox.base_url()));
    let (_, v2) = h.get("/api/config").await;
    assert_eq!(v2["provider"], "portone_v2", "{v2}");
    assert!(v2.get("tossClientKey").is_none(), "{v2}");
    // The Toss mount serves the same catalogue; unknown routes are JSON 404s.
    let (status, _) = h.get("/toss/api/products").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = h.get("/toss/api/nope").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_toss_payment_is_confirmed_with_the_secret_key_at_the_orders_amount_and_fulfilled_once() {
    let h = start(false).await;
    let prepared = h
        .toss_prepare(json!([{"productId": "americano", "quantity": 2}, {"productId": "croissant", "quantity": 1}]))
        .await;
    assert_eq!(prepared.total_amount, 2 * 4500 + 3800);
    let key = h.toss_approve(&prepared).await;
    // Authenticated, not charged: Toss waits for the merchant's confirm.
    assert_eq!(
        h.toss_payment(prepared.payment_id.as_str()).await["status"],
        "IN_PROGRESS"
    );
    let status = h
        .toss_complete(prepared.payment_id.as_str(), json!({"txId": key, "amount": 12800}))
        .await;
    assert_eq!((status.status, status.verified), (OrderStatus::Paid, true));
    assert!(status.paid_at.is_some());
    let at_toss = h.toss_payment(prepared.payment_id.as_str()).await;
    assert_eq!(at_toss["status"], "DONE", "{at_toss}");
    assert_eq!(at_toss["totalAmount"], 12800);
    assert_eq!(at_toss["paymentKey"], key.as_str());
    let order = h
        .db()
        .order(prepared.payment_id.as_str())
        .await
        .expect("db")
        .expect("order");
    assert_eq!(order.provider, ProviderKind::Toss);
    assert_eq!(
        h.db().fulfilment_count(prepared.payment_id.as_str()).await.expect("db"),
        1
    );
    // The confirm carried the Idempotency-Key derived from the paymentKey:
    // Toss replays its first answer for it (a retry is the same request),
    // instead of answering ALREADY_PROCESSED_PAYMENT.
    let (code, replay) = h
        .toss_rest(
            reqwest::Method::POST,
            "/v1/payments/confirm",
            Some(json!({"paymentKey": key, "orderId": prepared.payment_id, "amount": 12800})),
            Some(&confirm_idempotency_key(&key)),
        )
        .await;
    assert_eq!((code, replay["status"].as_str()), (200, Some("DONE")), "{replay}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_lost_confirm_answer_is_recovered_by_reading_the_payment() {
    let h = start(false).await;
    // One answer lost: the retry with the same Idempotency-Key gets it.
    let prepared = h
        .toss_prepare(json!([{"productId": "cafe-latte", "quantity": 1}]))
        .await;
    let key = h.toss_approve(&prepared).await;
    h.set_faults(json!({"loseResponses": 1, "only": "/confirm"})).await;
    let status = h
        .toss_complete(prepared.payment_id.as_str(), json!({"txId": key}))
        .await;
    assert_eq!(status.status, OrderStatus::Paid, "{status:?}");
    assert_eq!(
        h.db().fulfilment_count(prepared.payment_id.as_str()).await.expect("db"),
        1
    );
    // Every answer lost: the confirm went through once, and reading finds it DONE.
    let prepared = h.toss_prepare(json!([{"productId": "croissant", "quantity": 1}])).await;
    let key = h.toss_approve(&prepared).await;
    h.set_faults(json!({"loseResponses": 100, "only": "/confirm"})).await;
    let status = h
        .toss_complete(prepared.payment_id.as_str(), json!({"txId": key}))
        .await;
    assert_eq!(status.status, OrderStatus::Paid, "{status:?}");
    assert_eq!(h.toss_payment(prepared.payment_id.as_str()).await["status"], "DONE");
    assert_eq!(
        h.db().fulfilment_count(prepared.payment_id.as_str()).await.expect("db"),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn an_authenticated_payment_nobody_reported_is_confirmed_by_the_reconciler() {
    let h = start(false).await;
    let prepared = h.toss_prepare(json!([{"productId": "americano", "quantity": 1}])).await;
    h.toss_approve(&prepared).await;
    // The tab closed after the window: no complete, no webhook.
    let report = h.reconcile().await;
    assert!(report.changed >= 1, "{report:?}");
    assert_eq!(h.stored_status(prepared.payment_id.as_str()).await, "PAID");
    assert_eq!(h.toss_payment(prepared.payment_id.as_str()).await["status"], "DONE");
    assert_eq!(
        h.db().fulfilment_count(prepared.payment_id.as_str()).await.expect("db"),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_refreshed_success_page_reads_the_payment_instead_of_failing() {
    let h = start(false).await;
    let (prepared, key) = paid_order(&h, json!([{"productId": "americano", "quantity": 1}])).await;
    // The success page is loaded again: the same report, twice, at once.
    let body = json!({"txId": key, "amount": prepared.total_amount});
    let id = prepared.payment_id.as_str();
    let (a, b) = tokio::join!(h.toss_complete(id, body.clone()), h.toss_complete(id, body));
    assert_eq!((a.status, b.status), (OrderStatus::Paid, OrderStatus::Paid));
    assert_eq!(h.db().fulfilment_count(id).await.expect("db"), 1);

    // A confirm that meets a payment confirmed elsewhere first (another tab
    // or process): Toss answers ALREADY_PROCESSED_PAYMENT, which is a read.
    let prepared = h.toss_prepare(json!([{"productId": "croissant", "quantity": 1}])).await;
    let key = h.toss_approve(&prepared).await;
    let id = prepared.payment_id.as_str();
    let provider = h.state().provider(ProviderKind::Toss).expect("toss");
    let stale = provider.read(id).await.expect("read").expect("payment");
    assert_eq!(stale.state, PaymentState::Authenticated);
    let (code, _) = h
        .toss_rest(
            reqwest::Method::POST,
            "/v1/payments/confirm",
            Some(json!({"paymentKey": key, "orderId": id, "amount": prepared.total_amount})),
            None,
        )
        .await;
    assert_eq!(code, 200);
    provider
        .confirm(id, &stale)
        .await
        .expect("ALREADY_PROCESSED_PAYMENT is not an error");
    assert_eq!(
        h.toss_complete(id, json!({"txId": key})).await.status,
        OrderStatus::Paid
    );
    assert_eq!(h.db().fulfilment_count(id).await.expect("db"), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn a_consecutive_request_refusal_is_waited_out_and_asked_again() {
    let h = start(false).await;
    let prepared = h.toss_prepare(json!([{"productId": "americano", "quantity": 1}])).await;
    let key = h.toss_approve(&prepared).await;
    // Toss refuses a repeat on one path within 1 s: the sync's second read of
    // the order (right after the confirm) is refused once, then answered.
    h.set_faults(json!({"consecutiveRequestGuard": true})).await;
    let started = Instant::now();
    let status = h
        .toss_complete(prepared.payment_id.as_str(), json!({"txId": key}))
        .await;
    assert_eq!(
        (status.status, status.verified),
        (OrderStatus::Paid, true),
        "{status:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the refusal was waited out: {:?}",
        started.elapsed()
    );
    assert_eq!(
        h.db().fulfilment_count(prepared.payment_id.as_str()).await.expect("db"),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_tampered_amount_in_the_success_url_is_ignored_and_the_orders_amount_is_confirmed() {
    let h = start(false).await;
    let prepared = h
        .toss_prepare(json!([{"productId": "cafe-latte", "quantity": 2}]))
        .await;
    let key = h.toss_approve(&prepared).await;
    // The success URL says 100 won; the window authenticated 10000.
    let status = h
        .toss_complete(prepared.payment_id.as_str(), json!({"txId": key, "amount": 100}))
        .await;
    assert_eq!(status.status, OrderStatus::Paid, "{status:?}");
    assert_eq!(status.total_amount, 10000);
    let at_toss = h.toss_payment(prepared.payment_id.as_str()).await;
    assert_eq!(
        (at_toss["status"].as_str(), at_toss["totalAmount"].as_i64()),
        (Some("DONE"), Some(10000))
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_window_authorised_at_another_amount_is_never_confirmed_and_nothing_is_charged() {
    let h = start(false).await;
    let prepared = h.toss_prepare(json!([{"productId": "beans-1kg", "quantity": 1}])).await;
    // The page changed the amount before opening the window.
    let tampered = h.toss_pay(&prepared, "approve", "CARD", Some(100)).await;
    let key = tampered["paymentKey"].as_str().expect("paymentKey").to_owned();
    let status = h
        .toss_complete(prepared.payment_id.as_str(), json!({"txId": key, "amount": 32000}))
        .await;
    assert_eq!(
        (status.status, status.verified),
        (OrderStatus::Failed, true),
        "{status:?}"
    );
    let failure = status.failure.expect("failure");
    assert_eq!(failure.code.as_deref(), Some("NOT_CONFIRMED"));
    assert!(
        failure
            .message
            .as_deref()
            .is_some_and(|m| m.contains("nothing was charged")),
        "{failure:?}"
    );
    let at_toss = h.toss_payment(prepared.payment_id.as_str()).await;
    assert_eq!(at_toss["status"], "IN_PROGRESS", "never confirmed: {at_toss}");
    assert_eq!(
        h.db().fulfilment_count(prepared.payment_id.as_str()).await.expect("db"),
        0
    );
    // The same order paid properly afterwards is confirmed.
    let key = h.toss_approve(&prepared).await;
    let status = h
        .toss_complete(prepared.payment_id.as_str(), json!({"txId": key}))
        .await;
    assert_eq!(status.status, OrderStatus::Paid, "{status:?}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_declined_or_cancelled_window_is_recorded_with_tosss_code_and_may_be_retried() {
    let h = start(false).await;
    let prepared = h.toss_prepare(json!([{"productId": "americano", "quantity": 1}])).await;
    let declined = h.toss_pay(&prepared, "decline", "CARD", None).await;
    assert_eq!(declined["code"], "REJECT_CARD_COMPANY", "{declined}");
    let hint = json!({"failure": {"code": declined["code"], "message": "<b>forged text</b>"}});
    let status = h.toss_complete(prepared.payment_id.as_str(), hint).await;
    assert_eq!(status.status, OrderStatus::Failed);
    let failure = status.failure.expect("failure");
    assert_eq!(failure.code.as_deref(), Some("REJECT_CARD_COMPANY"));
    assert!(
        failure.message.as_deref().is_some_and(|m| !m.contains("forged")),
        "Toss's words, never the hint's: {failure:?}"
    );
    h.toss_pay(&prepared, "cancel", "CARD", None).await;
    let status = h.toss_complete(prepared.payment_id.as_str(), json!({})).await;
    assert!(
        status.failure.as_ref().is_some_and(|f| f.is_user_cancel()),
        "{status:?}"
    );
    let key = h.toss_approve(&prepared).await;
    let status = h
        .toss_complete(prepared.payment_id.as_str(), json!({"txId": key}))
        .await;
    assert_eq!(status.status, OrderStatus::Paid);
    h.shutdown().await;
}

#[tokio::test]
async fn a_paid_order_that_cannot_be_fulfilled_is_net_cancelled_through_tosss_cancel_api() {
    let h = start(false).await;
    let first = h.toss_prepare(json!([{"productId": "beans-1kg", "quantity": 1}])).await;
    let second = h.toss_prepare(json!([{"productId": "beans-1kg", "quantity": 1}])).await;
    let first_key = h.toss_approve(&first).await;
    let second_key = h.toss_approve(&second).await;
    assert_eq!(
        h.toss_complete(first.payment_id.as_str(), json!({"txId": first_key}))
            .await
            .status,
        OrderStatus::Paid
    );
    // Cancels cannot reach Toss at first: the order is CANCELLING, never CANCELLED.
    h.set_faults(json!({"failNext": 1000, "only": "/cancel"})).await;
    let status = h
        .toss_complete(second.payment_id.as_str(), json!({"txId": second_key}))
        .await;
    assert_eq!(status.status, OrderStatus::Cancelling, "{status:?}");
    assert!(
        status.message.as_deref().is_some_and(|m| m.starts_with("net cancel")),
        "{status:?}"
    );
    assert_eq!(h.toss_payment(second.payment_id.as_str()).await["status"], "DONE");
    // Toss is reachable again: the next sync finishes the cancel.
    h.set_faults(json!({})).await;
    h.reconcile().await;
    let (_, body) = h.get(&format!("/toss/api/payments/{}", second.payment_id)).await;
    assert_eq!(body["status"], "CANCELLED", "{body}");
    let at_toss = h.toss_payment(second.payment_id.as_str()).await;
    assert_eq!(at_toss["status"], "CANCELED", "{at_toss}");
    let reason = at_toss["cancels"][0]["cancelReason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("net cancel"),
        "the reason says it is a net cancel: {reason}"
    );
    assert_eq!(
        h.db().fulfilment_count(second.payment_id.as_str()).await.expect("db"),
        0
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_partial_refund_goes_through_the_admin_route_once_and_toss_keeps_the_balance() {
    let h = start(false).await;
    let (prepared, _) = paid_order(&h, json!([{"productId": "cafe-latte", "quantity": 2}])).await;
    let id = prepared.payment_id.as_str();
    let body = json!({"amount": 3000, "reason": "one cup was cold"});
    // The route is the operator's only.
    let (code, _) = h.refund(id, None, "refund-1", body.clone()).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, _) = h.refund(id, Some("wrong-token"), "refund-1", body.clone()).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, refund) = h.refund(id, Some(ADMIN_TOKEN), "refund-1", body.clone()).await;
    assert_eq!(code, StatusCode::OK, "{refund}");
    assert_eq!(refund["providerStatus"], "PARTIAL_CANCELED", "{refund}");
    assert_eq!(refund["balanceAmount"], 7000);
    assert_eq!(refund["orderStatus"], "PAID");
    assert_eq!(refund["refunds"][0]["cancelReason"], "refund: one cup was cold");
    // A retry with the same key refunds nothing more.
    let (code, again) = h.refund(id, Some(ADMIN_TOKEN), "refund-1", body).await;
    assert_eq!(
        (code, again["balanceAmount"].as_i64()),
        (StatusCode::OK, Some(7000)),
        "{again}"
    );
    assert_eq!(h.toss_payment(id).await["balanceAmount"], 7000);
    // More than the balance is Toss's refusal, in the shop's words.
    let (code, over) = h
        .refund(
            id,
            Some(ADMIN_TOKEN),
            "refund-2",
            json!({"amount": 8000, "reason": "x"}),
        )
        .await;
    assert_eq!(
        (code, over["error"].as_str()),
        (StatusCode::CONFLICT, Some("not_cancelable_amount")),
        "{over}"
    );
    // The rest: the payment is cancelled at Toss, and so is the order.
    let (code, rest) = h
        .refund(id, Some(ADMIN_TOKEN), "refund-3", json!({"reason": "customer left"}))
        .await;
    assert_eq!(code, StatusCode::OK, "{rest}");
    assert_eq!(
        (rest["providerStatus"].as_str(), rest["balanceAmount"].as_i64()),
        (Some("CANCELED"), Some(0))
    );
    assert_eq!(rest["orderStatus"], "CANCELLED", "{rest}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_virtual_account_is_paid_by_its_deposit_callback_and_refunded_to_the_customers_account() {
    let h = start(true).await;
    let prepared = h.toss_prepare(json!([{"productId": "croissant", "quantity": 1}])).await;
    let result = h.toss_pay(&prepared, "approve", "VIRTUAL_ACCOUNT", None).await;
    let key = result["paymentKey"].as_str().expect("paymentKey").to_owned();
    let id = prepared.payment_id.as_str();
    let status = h.toss_complete(id, json!({"txId": key})).await;
    assert_eq!(status.status, OrderStatus::VirtualAccountIssued, "{status:?}");
    // A forged deposit callback (wrong secret) is refused and changes nothing.
    let (code, body) = h
        .toss_webhook(
            json!({"eventType": "DEPOSIT_CALLBACK", "createdAt": "2026-11-30T12:00:00.000000",
                             "secret": "ps_forged", "status": "DONE", "orderId": id, "transactionKey": "t"}),
        )
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_deposit_secret"))
    );
    assert_eq!(h.stored_status(id).await, "VIRTUAL_ACCOUNT_ISSUED");
    // The buyer deposits: Toss's callback (with the payment's secret) pays the order.
    h.admin_post(&format!("/__sandbox/toss/payments/{key}/deposit"), json!({}))
        .await;
    eventually("the deposit to pay the order", Duration::from_secs(10), || async {
        (h.stored_status(id).await == "PAID").then_some(())
    })
    .await;
    assert_eq!(h.db().fulfilment_count(id).await.expect("db"), 1);
    // A refund of a virtual account needs the customer's account.
    let (code, body) = h
        .refund(id, Some(ADMIN_TOKEN), "va-refund", json!({"reason": "returned"}))
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("refund_account_required"))
    );
    let account = json!({"bank": "88", "accountNumber": "12345678901", "holderName": "홍길동"});
    let (code, body) = h
        .refund(
            id,
            Some(ADMIN_TOKEN),
            "va-refund",
            json!({"reason": "returned", "refundAccount": account}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["providerStatus"], "CANCELED", "{body}");
    h.shutdown().await;
}

async fn toss_issue(h: &Harness) -> (BillingKeyPrepared, String) {
    let (code, body) = h.post("/toss/api/billing-keys/prepare", json!({})).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let prepared: BillingKeyPrepared = serde_json::from_value(body).expect("BillingKeyPrepared");
    let url = format!(
        "{}/toss/subscribe?tossReturn=billing&issueId={}",
        h.base(),
        prepared.issue_id
    );
    let auth = h
        .admin_post(
            "/__sandbox/toss/billing-auth",
            json!({"request": {"method": "CARD", "successUrl": url, "failUrl": url, "customerName": "홍길동"},
                   "customerKey": "demo-customer-1", "outcome": "approve"}),
        )
        .await;
    let auth_key = auth["authKey"].as_str().expect("authKey").to_owned();
    (prepared, auth_key)
}

#[tokio::test]
async fn a_billing_key_is_issued_from_the_auth_key_charged_and_its_next_charge_made_by_the_reconciler() {
    let h = start(false).await;
    let (prepared, auth_key) = toss_issue(&h).await;
    let register = json!({"authKey": auth_key, "issueId": prepared.issue_id});
    let (code, body) = h.post("/toss/api/billing-keys", register.clone()).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let sub: Subscription = serde_json::from_value(body).expect("Subscription");
    assert_eq!(
        (sub.status.as_str(), sub.customer_id.as_str()),
        ("ACTIVE", "demo-customer-1")
    );
    // The register call retried (a lost answer) maps to the same subscription.
    let (code, again) = h.post("/toss/api/billing-keys", register).await;
    assert_eq!(
        (code, again["subscriptionId"].as_str()),
        (StatusCode::OK, Some(sub.subscription_id.as_str()))
    );
    // A bare billing key cannot be verified with Toss, so it is refused.
    let (code, body) = h
        .post("/toss/api/billing-keys", json!({"billingKey": sub.billing_key}))
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("billing_key_not_verifiable"))
    );

    let (code, body) = h.charge(&sub.subscription_id, "toss-charge-1").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let charge: ChargeResult = serde_json::from_value(body).expect("ChargeResult");
    assert_eq!(charge.status, OrderStatus::Paid);
    let at_toss = h.toss_payment(charge.payment_id.as_str()).await;
    assert_eq!(
        (at_toss["status"].as_str(), at_toss["type"].as_str()),
        (Some("DONE"), Some("BILLING"))
    );
    assert_eq!(at_toss["totalAmount"], checkout_server::SUBSCRIPTION_PRICE);
    // Toss has no schedules: the next charge is recorded here...
    let next = h
        .db()
        .next_charge(sub.subscription_id.as_str())
        .await
        .expect("db")
        .expect("next charge");
    assert_eq!(next.schedule_state.as_deref(), Some("SCHEDULED"));
    assert!(next.due_at.is_some_and(|d| d > now_unix() + 29 * 24 * 3600), "{next:?}");
    // ...and made by the reconciler once due.
    h.db().set_due_at(&next.payment_id, now_unix() - 1).await.expect("db");
    h.reconcile().await;
    assert_eq!(h.stored_status(&next.payment_id).await, "PAID");
    let paid = h.toss_payment(&next.payment_id).await;
    assert_eq!(
        (paid["status"].as_str(), paid["type"].as_str()),
        (Some("DONE"), Some("BILLING"))
    );
    let following = h
        .db()
        .next_charge(sub.subscription_id.as_str())
        .await
        .expect("db")
        .expect("the chain goes on");
    assert_ne!(following.payment_id, next.payment_id);
    h.shutdown().await;
}

#[tokio::test]
async fn an_auth_key_of_another_customer_is_refused() {
    let h = start(false).await;
    let url = format!("{}/toss/subscribe?tossReturn=billing", h.base());
    let auth = h
        .admin_post(
            "/__sandbox/toss/billing-auth",
            json!({"request": {"method": "CARD", "successUrl": url, "failUrl": url},
                   "customerKey": "someone-else", "outcome": "approve"}),
        )
        .await;
    let (code, body) = h
        .post("/toss/api/billing-keys", json!({"authKey": auth["authKey"]}))
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("billing_key_customer_mismatch"))
    );
    let (code, body) = h
        .post("/toss/api/billing-keys", json!({"authKey": "a", "billingKey": "b"}))
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_billing_key"))
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_forged_payment_webhook_only_triggers_a_read_and_changes_nothing() {
    let h = start(false).await;
    let prepared = h.toss_prepare(json!([{"productId": "americano", "quantity": 1}])).await;
    let id = prepared.payment_id.as_str();
    let forged = json!({"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-11-30T12:00:00.000000",
                        "data": {"paymentKey": "forged", "orderId": id, "status": "DONE", "totalAmount": 4500}});
    let (code, _) = h.toss_webhook(forged).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(h.stored_status(id).await, "PENDING");
    assert_eq!(h.db().fulfilment_count(id).await.expect("db"), 0);
    // Unknown orders, unknown events and garbage change nothing either.
    for body in [
        json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"orderId": "order-unknown-1"}}),
        json!({"eventType": "SOMETHING_ELSE", "data": {"orderId": id}}),
        json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"orderId": "../x"}}),
    ] {
        let (code, _) = h.toss_webhook(body).await;
        assert_eq!(code, StatusCode::OK);
    }
    let (code, body) = h.post_raw("/toss/api/webhooks/toss", b"not json".to_vec()).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_json"))
    );
    assert_eq!(h.stored_status(id).await, "PENDING");
    h.shutdown().await;
}

#[tokio::test]
async fn tosss_own_webhook_alone_confirms_and_pays_an_order_whose_page_never_reported() {
    let h = start(true).await;
    let prepared = h
        .toss_prepare(json!([{"productId": "cafe-latte", "quantity": 1}]))
        .await;
    h.toss_approve(&prepared).await;
    // PAYMENT_STATUS_CHANGED (IN_PROGRESS) makes the server read, confirm
    // and read again.
    let id = prepared.payment_id.as_str();
    eventually("the webhook to pay the order", Duration::from_secs(10), || async {
        (h.stored_status(id).await == "PAID").then_some(())
    })
    .await;
    assert_eq!(h.toss_payment(id).await["status"], "DONE");
    assert_eq!(h.db().fulfilment_count(id).await.expect("db"), 1);
    h.shutdown().await;
}

/// Found by the chaos soak (seed 77): a deposited virtual account whose
/// order had run out of stock was net-cancelled without the customer's
/// refund account, which Toss refuses; the order stayed `CANCELLING` and the
/// money was never returned. Now the issued account holds the stock, so the
/// deposit is fulfilled, and a card payment of the last unit is the one
/// net-cancelled.
#[tokio::test]
async fn an_issued_virtual_account_holds_the_last_unit_so_its_deposit_is_fulfilled() {
    let h = start(false).await;
    let beans = json!([{"productId": "beans-1kg", "quantity": 1}]);
    let va = h.toss_prepare(beans.clone()).await;
    let card = h.toss_prepare(beans).await;
    let result = h.toss_pay(&va, "approve", "VIRTUAL_ACCOUNT", None).await;
    let key = result["paymentKey"].as_str().expect("paymentKey").to_owned();
    let status = h.toss_complete(&va.payment_id, json!({"txId": key})).await;
    assert_eq!(status.status, OrderStatus::VirtualAccountIssued, "{status:?}");
    assert_eq!(h.db().stock("beans-1kg").await.expect("db"), Some(0));

    // The card payment of the same last unit is net-cancelled (a card needs
    // no refund account).
    let card_key = h.toss_approve(&card).await;
    let status = h.toss_complete(&card.payment_id, json!({"txId": card_key})).await;
    assert_eq!(status.status, OrderStatus::Cancelled, "{status:?}");
    assert!(
        status.message.as_deref().is_some_and(|m| m.starts_with("net cancel")),
        "{status:?}"
    );

    // The deposit: fulfilled from the held unit, the stock not taken twice.
    h.admin_post(&format!("/__sandbox/toss/payments/{key}/deposit"), json!({}))
        .await;
    let status = h.toss_complete(&va.payment_id, json!({"txId": key})).await;
    assert_eq!(status.status, OrderStatus::Paid, "{status:?}");
    assert_eq!(h.db().fulfilment_count(&va.payment_id).await.expect("db"), 1);
    assert_eq!(h.db().stock("beans-1kg").await.expect("db"), Some(0));
    h.shutdown().await;
}

/// The other order of events: the last unit went to a card payment first, so
/// a virtual account issued afterwards is cancelled while it waits (no
/// refund account needed), before anyone can deposit into it.
#[tokio::test]
async fn a_virtual_account_issued_after_the_last_unit_is_sold_is_cancelled_before_any_deposit() {
    let h = start(false).await;
    let beans = json!([{"productId": "beans-1kg", "quantity": 1}]);
    let va = h.toss_prepare(beans.clone()).await;
    let card = h.toss_prepare(beans).await;
    let card_key = h.toss_approve(&card).await;
    let status = h.toss_complete(&card.payment_id, json!({"txId": card_key})).await;
    assert_eq!(status.status, OrderStatus::Paid, "{status:?}");

    let result = h.toss_pay(&va, "approve", "VIRTUAL_ACCOUNT", None).await;
    let key = result["paymentKey"].as_str().expect("paymentKey").to_owned();
    let status = h.toss_complete(&va.payment_id, json!({"txId": key})).await;
    assert_eq!(status.status, OrderStatus::Cancelled, "{status:?}");
    assert!(
        status.message.as_deref().is_some_and(|m| m.starts_with("net cancel")),
        "{status:?}"
    );
    assert_eq!(h.toss_payment(&va.payment_id).await["status"], "CANCELED");
    assert_eq!(h.db().fulfilment_count(&va.payment_id).await.expect("db"), 0);
    assert_eq!(h.db().stock("beans-1kg").await.expect("db"), Some(0));
    h.shutdown().await;
}

/// A virtual account that ends without a deposit (here cancelled at Toss)
/// gives the held stock back, once however often it is synced.
#[tokio::test]
async fn a_virtual_account_cancelled_before_its_deposit_gives_the_held_stock_back() {
    let h = start(false).await;
    let va = h.toss_prepare(json!([{"productId": "beans-1kg", "quantity": 1}])).await;
    let result = h.toss_pay(&va, "approve", "VIRTUAL_ACCOUNT", None).await;
    let key = result["paymentKey"].as_str().expect("paymentKey").to_owned();
    h.toss_complete(&va.payment_id, json!({"txId": key})).await;
    assert_eq!(h.db().stock("beans-1kg").await.expect("db"), Some(0));
    let (status, body) = h
        .toss_rest(
            reqwest::Method::POST,
            &format!("/v1/payments/{key}/cancel"),
            Some(json!({"cancelReason": "the customer changed their mind"})),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..3 {
        let status = h.toss_complete(&va.payment_id, json!({"txId": key})).await;
        assert_eq!(status.status, OrderStatus::Cancelled, "{status:?}");
    }
    assert_eq!(h.db().stock("beans-1kg").await.expect("db"), Some(1));
    h.shutdown().await;
}
