//! Shared helpers for the sandbox integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use portone_sandbox::{spawn, RunningSandbox, SandboxConfig};
use serde_json::{json, Value};

pub async fn start() -> RunningSandbox {
    start_with(SandboxConfig::for_tests()).await
}

pub async fn start_with(config: SandboxConfig) -> RunningSandbox {
    spawn(config).await.expect("sandbox starts")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("client")
}

/// A REST call with the sandbox's secret; returns status and JSON body.
pub async fn api(sb: &RunningSandbox, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}{}", sb.base_url(), path);
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = client()
        .request(m, url)
        .header("authorization", format!("PortOne {}", sb.config().api_secret));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, json)
}

/// An admin call (no secret). Writes are always `Content-Type: application/json`
/// (the admin routes refuse anything else), with an empty body when `body` is `None`.
pub async fn admin(sb: &RunningSandbox, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}{}", sb.base_url(), path);
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = client().request(m.clone(), url);
    match body {
        Some(b) => req = req.json(&b),
        None if m != reqwest::Method::GET && m != reqwest::Method::HEAD => {
            req = req.header("content-type", "application/json");
        }
        None => {}
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let json = res.json().await.unwrap_or(Value::Null);
    (status, json)
}

pub fn tosspay_request(payment_id: &str, amount: i64) -> Value {
    json!({
        "storeId": "store-sandbox",
        "channelKey": "channel-key-sandbox-tosspay",
        "paymentId": payment_id,
        "orderName": "테스트 주문",
        "totalAmount": amount,
        "currency": "KRW",
        "payMethod": "EASY_PAY",
        "customer": {"customerId": "cust-1", "fullName": "홍길동"},
        "customData": {"orderRef": 42},
    })
}

pub fn card_request(payment_id: &str, amount: i64) -> Value {
    json!({
        "storeId": "store-sandbox",
        "channelKey": "channel-key-sandbox-card",
        "paymentId": payment_id,
        "orderName": "카드 주문",
        "totalAmount": amount,
        "currency": "KRW",
        "payMethod": "CARD",
    })
}

pub async fn pay(sb: &RunningSandbox, request: Value, outcome: &str) -> (u16, Value) {
    admin(
        sb,
        "POST",
        "/__sandbox/pay",
        Some(json!({"request": request, "outcome": outcome})),
    )
    .await
}

pub async fn issue_tosspay_billing_key(sb: &RunningSandbox) -> String {
    let (s, v) = admin(
        sb,
        "POST",
        "/__sandbox/issue-billing-key",
        Some(json!({"request": {
            "storeId": "store-sandbox",
            "channelKey": "channel-key-sandbox-tosspay",
            "billingKeyMethod": "EASY_PAY",
            "issueName": "정기 구독",
            "customer": {"customerId": "cust-1"}
        }, "outcome": "approve"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["billingKey"].as_str().expect("billingKey").to_owned()
}

/// Polls `f` until it returns `Some`, failing after `timeout`.
pub async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One request a test webhook receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub got: Arc<Mutex<Vec<Received>>>,
    /// Status codes to answer, in order; 200 once exhausted.
    pub answers: Arc<Mutex<Vec<u16>>>,
}

impl Receiver {
    pub fn received(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }
    pub fn of_type(&self, kind: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.json()["type"] == kind)
            .collect()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.got.lock().expect("lock").push(Received { headers, body });
    let mut a = r.answers.lock().expect("lock");
    let code = if a.is_empty() { 200 } else { a.remove(0) };
    StatusCode::from_u16(code).expect("status")
}

/// Starts a webhook receiver on a free port; returns it and its URL.
pub async fn webhook_receiver(answers: Vec<u16>) -> (Receiver, String) {
    let r = Receiver {
        got: Default::default(),
        answers: Arc::new(Mutex::new(answers)),
    };
    let app = Router::new().route("/hook", post(receive)).with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (r, format!("http://{addr}/hook"))
}

/// A raw call with an explicit `Content-Type` (or none) and body; returns the
/// status, the response headers and the JSON body (`Null` when not JSON).
pub async fn raw(
    sb: &RunningSandbox,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, HeaderMap, Value) {
    let url = format!("{}{}", sb.base_url(), path);
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = client().request(m, url).body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let json = res.json().await.unwrap_or(Value::Null);
    (status, headers, json)
}

/// A `noticeUrls` entry that is fine by default: loopback, nothing listens on port 9.
pub const LOOPBACK_HOOK: &str = "http://127.0.0.1:9/hook";
/// A `noticeUrls` entry refused unless `allow_external_webhooks` is set.
pub const EXTERNAL_HOOK: &str = "http://example.com/hook";

// ---------- Toss Payments ----------

/// `Basic base64("<secretKey>:")`, the Toss REST API's `Authorization`.
pub fn toss_basic(secret_key: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{secret_key}:"))
    )
}

/// A Toss REST call (`path` under `/toss`, e.g. `/v1/payments/confirm`) with
/// the sandbox's secret key and extra headers; returns status and JSON body.
pub async fn toss_api_with(
    sb: &RunningSandbox,
    method: &str,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let url = format!("{}/toss{}", sb.base_url(), path);
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = client()
        .request(m, url)
        .header("authorization", toss_basic(&sb.config().toss.secret_key));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, json)
}

/// A Toss REST call with the sandbox's secret key.
pub async fn toss_api(sb: &RunningSandbox, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    toss_api_with(sb, method, path, body, &[]).await
}

/// `requestPayment` arguments (promise form: no URLs).
pub fn toss_request(order_id: &str, method: &str, amount: i64) -> Value {
    json!({
        "method": method,
        "amount": {"currency": "KRW", "value": amount},
        "orderId": order_id,
        "orderName": "토스 티셔츠 외 2건",
        "customerName": "김토스",
        "customerEmail": "customer123@example.com",
    })
}

/// `POST /__sandbox/toss/pay` with an outcome.
pub async fn toss_pay(sb: &RunningSandbox, request: Value, outcome: &str) -> (u16, Value) {
    admin(
        sb,
        "POST",
        "/__sandbox/toss/pay",
        Some(json!({"request": request, "outcome": outcome})),
    )
    .await
}

/// An authenticated (`IN_PROGRESS`) payment; returns its `paymentKey`.
pub async fn toss_authenticated(sb: &RunningSandbox, order_id: &str, method: &str, amount: i64) -> String {
    let (s, r) = toss_pay(sb, toss_request(order_id, method, amount), "approve").await;
    assert_eq!(s, 200, "{r}");
    r["paymentKey"].as_str().expect("paymentKey").to_owned()
}

/// A confirmed payment; returns its `paymentKey`.
pub async fn toss_confirmed(sb: &RunningSandbox, order_id: &str, method: &str, amount: i64) -> String {
    let key = toss_authenticated(sb, order_id, method, amount).await;
    let (s, p) = toss_api(
        sb,
        "POST",
        "/v1/payments/confirm",
        Some(json!({"paymentKey": key, "orderId": order_id, "amount": amount})),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    key
}

// ---------- PortOne V1 ----------

/// `POST /iamport/users/getToken` with the sandbox's default V1 keys; the access token.
pub async fn v1_token(sb: &RunningSandbox) -> String {
    let c = sb.config();
    let res = client()
        .post(format!("{}/iamport/users/getToken", sb.base_url()))
        .json(&json!({"imp_key": c.v1_imp_key, "imp_secret": c.v1_imp_secret}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.expect("json");
    assert_eq!(v["code"], 0, "{v}");
    v["response"]["access_token"].as_str().expect("access_token").to_owned()
}

/// A V1 REST call (`path` under `/iamport`) with `Authorization: <token>`;
/// returns the HTTP status and the whole envelope.
pub async fn v1_call(sb: &RunningSandbox, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}/iamport{}", sb.base_url(), path);
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = client().request(m, url).header("authorization", token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let json = res.json().await.unwrap_or(Value::Null);
    (status, json)
}

/// [`v1_call`] with a fresh token.
pub async fn v1_api(sb: &RunningSandbox, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let token = v1_token(sb).await;
    v1_call(sb, &token, method, path, body).await
}

/// `request_pay` params for the default TossPay channel.
pub fn v1_params(merchant_uid: &str, amount: i64) -> Value {
    json!({
        "channelKey": "channel-key-sandbox-tosspay",
        "pay_method": "tosspay",
        "merchant_uid": merchant_uid,
        "name": "테스트 주문",
        "amount": amount,
        "buyer_name": "홍길동",
        "buyer_tel": "010-1234-5678",
        "custom_data": {"orderRef": 42},
    })
}

/// `POST /__sandbox/v1/pay`: a whole `request_pay`; the callback object.
pub async fn v1_pay(sb: &RunningSandbox, params: Value, outcome: &str) -> (u16, Value) {
    admin(
        sb,
        "POST",
        "/__sandbox/v1/pay",
        Some(json!({"params": params, "outcome": outcome})),
    )
    .await
}

/// `request_pay` params of a TossPay billing-key window.
pub fn v1_billing_params(customer_uid: &str, merchant_uid: &str) -> Value {
    json!({
        "channelKey": "channel-key-sandbox-tosspay",
        "pay_method": "tosspay",
        "merchant_uid": merchant_uid,
        "name": "정기 구독 등록",
        "amount": 0,
        "customer_uid": customer_uid,
        "customer_id": "user-0001",
        "buyer_name": "홍길동",
        "buyer_email": "buyer@example.com",
    })
}

/// Issues a billing key for `customer_uid` through the driver; the callback object.
pub async fn v1_issue_billing_key(sb: &RunningSandbox, customer_uid: &str) -> Value {
    let (s, r) = v1_pay(
        sb,
        v1_billing_params(customer_uid, &format!("issue-{customer_uid}")),
        "approve",
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["success"], true, "{r}");
    r
}

/// Asserts a V1 error envelope: `code != 0`, a message, `response: null`.
pub fn assert_v1_error(v: &Value) {
    assert!(v["code"].as_i64().is_some_and(|c| c != 0), "code != 0: {v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "message: {v}");
    assert!(v.get("response").is_some_and(Value::is_null), "response: null: {v}");
}
