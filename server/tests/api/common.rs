//! Test harness: a real `portone-sandbox` and a real `checkout-server` on
//! loopback, with an SQLite file in a temp dir or, when
//! `CHECKOUT_TEST_DATABASE_URL` names a PostgreSQL server (as `cargo xtask
//! test` does for its PostgreSQL run), a schema of its own there.
#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use checkout_server::config::{
    Config, Database, Limits, PortOneConfig, PortOneV1Config, ReconcileConfig, RetryPolicy, TossConfig,
};
use checkout_server::RunningServer;
use portone_checkout::protocol::{PaymentStatus, PreparedPayment};
use portone_sandbox::{RunningSandbox, SandboxConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub const SECRET: &str = portone_sandbox::DEFAULT_API_SECRET;
/// The admin token the test server's refund route takes.
pub const ADMIN_TOKEN: &str = "test-admin-token";

pub struct Harness {
    pub sandbox: RunningSandbox,
    pub server: Option<RunningServer>,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub webhook_secrets: Vec<String>,
    /// Applied to the server's config at every (re)start.
    pub tweak: fn(&mut Config),
    /// The server's database, as `DATABASE_URL` names it (for server
    /// processes a test starts itself).
    pub database_url: String,
}

/// The variable naming the PostgreSQL server the suite runs against.
pub const TEST_DATABASE_URL: &str = "CHECKOUT_TEST_DATABASE_URL";

/// The database of one harness: with [`TEST_DATABASE_URL`] set, a fresh
/// schema on that PostgreSQL server (the server's connections use it
/// through `search_path`); else an SQLite file in `dir`. A PostgreSQL that
/// cannot be reached fails the test: the suite never falls back to SQLite.
pub async fn test_database_url(dir: &std::path::Path) -> String {
    use sqlx::Connection as _;
    let Some(admin) = std::env::var(TEST_DATABASE_URL).ok().filter(|u| !u.trim().is_empty()) else {
        return format!("sqlite:{}", dir.join("data").join("checkout.db").display());
    };
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("{TEST_DATABASE_URL} is set but PostgreSQL cannot be reached: {e}"));
    sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create the test's schema");
    let _ = conn.close().await;
    let sep = if admin.contains('?') { '&' } else { '?' };
    format!("{admin}{sep}options=-c%20search_path%3D{schema}")
}

pub fn test_retry() -> RetryPolicy {
    RetryPolicy {
        request_timeout: Duration::from_secs(5),
        max_attempts: 4,
        base_backoff: Duration::from_millis(50),
        consecutive_request_wait: Duration::from_millis(1100),
    }
}

impl Harness {
    /// Sandbox + server, sandbox webhooks pointed at the server.
    pub async fn start() -> Harness {
        Self::start_with(true, None).await
    }

    /// `webhooks`: whether the sandbox delivers webhooks to the server.
    /// `secrets`: the server's webhook secrets (default: the sandbox's).
    pub async fn start_with(webhooks: bool, secrets: Option<Vec<String>>) -> Harness {
        Self::start_full(webhooks, secrets, |_| {}).await
    }

    /// Like [`Harness::start_with`], with `tweak` applied to the server's
    /// config at every start.
    pub async fn start_configured(webhooks: bool, tweak: fn(&mut Config)) -> Harness {
        Self::start_full(webhooks, None, tweak).await
    }

    /// Like [`Harness::start_configured`], with the sandbox's own config.
    pub async fn start_with_sandbox(webhooks: bool, sandbox: SandboxConfig, tweak: fn(&mut Config)) -> Harness {
        Self::start_sandbox(webhooks, None, tweak, sandbox).await
    }

    async fn start_full(webhooks: bool, secrets: Option<Vec<String>>, tweak: fn(&mut Config)) -> Harness {
        Self::start_sandbox(webhooks, secrets, tweak, SandboxConfig::for_tests()).await
    }

    async fn start_sandbox(
        webhooks: bool,
        secrets: Option<Vec<String>>,
        tweak: fn(&mut Config),
        sandbox: SandboxConfig,
    ) -> Harness {
        let sandbox = portone_sandbox::spawn(sandbox).await.expect("sandbox starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let webhook_secrets = secrets.unwrap_or_else(|| vec![portone_sandbox::DEFAULT_WEBHOOK_SECRET.to_owned()]);
        let database_url = test_database_url(dir.path()).await;
        let mut h = Harness {
            sandbox,
            server: None,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            dir,
            webhook_secrets,
            tweak,
            database_url,
        };
        h.start_server().await;
        if webhooks {
            let url = format!("{}/api/webhooks/portone", h.base());
            h.admin_post("/__sandbox/webhook-targets", json!({ "urls": [url] }))
                .await;
        }
        h
    }

    pub fn config(&self) -> Config {
        let mut portone = PortOneConfig::sandbox(self.sandbox.base_url());
        portone.webhook_secrets = self.webhook_secrets.clone();
        portone.retry = test_retry();
        let mut config = Config {
            addr: "127.0.0.1:0".parse().expect("addr"),
            database: Database::parse(&self.database_url).expect("the test database URL"),
            static_dir: None,
            portone,
            portone_v1: Some(self.v1_config()),
            toss: Some(TossConfig {
                retry: test_retry(),
                admin_token: Some(ADMIN_TOKEN.to_owned()),
                ..TossConfig::sandbox(format!("{}/toss", self.sandbox.base_url()))
            }),
            sandbox_public_url: None,
            cors_origins: Vec::new(),
            // Sweeps run when a test asks (`reconcile::run_once`) or where a
            // test turns them on.
            reconcile: ReconcileConfig {
                enabled: false,
                ..ReconcileConfig::default()
            },
            // Tests send many requests from one address.
            limits: Limits {
                rate_burst: 0,
                ..Limits::default()
            },
        };
        (self.tweak)(&mut config);
        config
    }

    /// PortOne V1 against the sandbox's `/iamport`, with the test retry
    /// policy.
    pub fn v1_config(&self) -> PortOneV1Config {
        let mut v1 = PortOneV1Config::sandbox(&self.sandbox.base_url());
        v1.retry = test_retry();
        v1
    }

    pub async fn start_server(&mut self) {
        let server = checkout_server::serve(self.config()).await.expect("server starts");
        self.server = Some(server);
    }

    pub async fn stop_server(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }

    /// The server's shared state (for `reconcile::run_once`).
    pub fn state(&self) -> &checkout_server::AppState {
        self.server().state()
    }

    /// Runs one reconciler sweep now.
    pub async fn reconcile(&self) -> checkout_server::reconcile::Report {
        checkout_server::reconcile::run_once(self.state())
            .await
            .expect("reconciler sweep")
    }

    /// The sandbox's schedules (`GET /__sandbox/schedules`).
    pub async fn sandbox_schedules(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/__sandbox/schedules", self.sandbox.base_url()))
            .send()
            .await
            .expect("schedules")
            .json::<Vec<Value>>()
            .await
            .expect("schedules JSON")
    }

    pub fn server(&self) -> &RunningServer {
        self.server.as_ref().expect("server running")
    }

    pub fn db(&self) -> &checkout_server::Db {
        &self.server().state().db
    }

    /// The subscription's pending next charge (panics when it has none).
    pub async fn pending_next_charge(&self, subscription_id: &str) -> checkout_server::db::Order {
        self.db()
            .next_charge(subscription_id)
            .await
            .expect("db")
            .unwrap_or_else(|| panic!("subscription {subscription_id} has no pending next charge"))
    }

    pub fn base(&self) -> String {
        self.server().base_url()
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base()))
            .send()
            .await
            .expect("GET");
        let status = resp.status();
        let body = resp.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.post_raw(path, body.to_string().into_bytes()).await
    }

    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base()))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST");
        let status = resp.status();
        let body = resp.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// `POST /api/subscriptions/{id}/charge` with an `Idempotency-Key`.
    pub async fn charge(&self, subscription_id: &str, key: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}/api/subscriptions/{subscription_id}/charge", self.base()))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body("{}")
            .send()
            .await
            .expect("POST charge");
        let status = resp.status();
        let body = resp.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}{path}", self.sandbox.base_url()))
            .json(&body)
            .send()
            .await
            .expect("sandbox admin");
        let status = resp.status();
        let value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    /// The sandbox's REST request counts by `"{METHOD} {path}"`.
    pub async fn sandbox_requests(&self) -> std::collections::HashMap<String, u64> {
        self.http
            .get(format!("{}/__sandbox/requests", self.sandbox.base_url()))
            .send()
            .await
            .expect("requests")
            .json()
            .await
            .expect("requests JSON")
    }

    pub async fn set_faults(&self, faults: Value) {
        let resp = self
            .http
            .put(format!("{}/__sandbox/faults", self.sandbox.base_url()))
            .json(&faults)
            .send()
            .await
            .expect("faults");
        assert!(resp.status().is_success(), "faults: {}", resp.status());
    }

    /// Reads a payment from the sandbox's REST API.
    pub async fn portone_payment(&self, payment_id: &str) -> Value {
        self.http
            .get(format!("{}/payments/{payment_id}", self.sandbox.base_url()))
            .header("Authorization", format!("PortOne {SECRET}"))
            .send()
            .await
            .expect("sandbox GET payment")
            .json()
            .await
            .expect("payment JSON")
    }

    pub async fn prepare(&self, items: Value) -> PreparedPayment {
        let (status, body) = self.post("/api/payments", json!({ "items": items })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).expect("PreparedPayment")
    }

    /// Pays at the sandbox as the browser would (`outcome`: approve, decline,
    /// cancel, virtualAccount). `amount` overrides the amount (tampering).
    pub async fn pay(&self, prepared: &PreparedPayment, outcome: &str, amount: Option<i64>) -> Value {
        let request = json!({
            "storeId": portone_sandbox::DEFAULT_STORE_ID,
            "channelKey": portone_sandbox::TOSSPAY_CHANNEL_KEY,
            "paymentId": prepared.payment_id,
            "orderName": prepared.order_name,
            "totalAmount": amount.unwrap_or(prepared.total_amount),
            "currency": prepared.currency,
            "payMethod": "EASY_PAY",
            "customer": prepared.customer,
        });
        self.admin_post(
            "/__sandbox/pay",
            json!({ "request": request, "outcome": outcome, "bypassPreRegistration": amount.is_some() }),
        )
        .await
    }

    pub async fn complete(&self, payment_id: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/api/payments/{payment_id}/complete"), body).await
    }

    pub async fn complete_ok(&self, payment_id: &str) -> PaymentStatus {
        let (status, body) = self.complete(payment_id, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).expect("PaymentStatus")
    }

    pub async fn stored_status(&self, payment_id: &str) -> String {
        self.db()
            .order(payment_id)
            .await
            .expect("db")
            .expect("order exists")
            .status
    }

    /// Sends a webhook signed with `secret` to the server.
    pub async fn send_webhook(
        &self,
        secret: &str,
        webhook_id: &str,
        timestamp: i64,
        body: &str,
    ) -> (StatusCode, Value) {
        self.send_webhook_to(&self.base(), secret, webhook_id, timestamp, body)
            .await
    }

    /// Sends a webhook signed with `secret` to the server at `base`.
    pub async fn send_webhook_to(
        &self,
        base: &str,
        secret: &str,
        webhook_id: &str,
        timestamp: i64,
        body: &str,
    ) -> (StatusCode, Value) {
        let signature = portone_sandbox::sign_webhook(secret, webhook_id, timestamp, body).expect("sign");
        let resp = self
            .http
            .post(format!("{base}/api/webhooks/portone"))
            .header("content-type", "application/json")
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_owned())
            .send()
            .await
            .expect("webhook POST");
        let status = resp.status();
        let body = resp.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Waits until the sandbox has no pending webhook delivery and has
    /// delivered at least one of `kind`.
    pub async fn webhooks_settled(&self, kind: &str) {
        eventually("sandbox webhooks to be delivered", Duration::from_secs(15), || async {
            let list: Value = self
                .http
                .get(format!("{}/__sandbox/webhooks", self.sandbox.base_url()))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let all = list.as_array()?;
            let settled = all.iter().all(|d| d["status"] != "pending");
            let delivered = all.iter().any(|d| d["type"] == kind && d["status"] == "delivered");
            (settled && delivered).then_some(())
        })
        .await;
    }

    pub async fn shutdown(mut self) {
        self.stop_server().await;
        self.sandbox.shutdown().await;
    }
}

/// PortOne V1 through the backend's `/v1` routes and the sandbox's
/// `/iamport` stand-in.
impl Harness {
    /// `POST /v1/api/payments` with `items`.
    pub async fn prepare_v1(&self, items: Value) -> PreparedPayment {
        let (status, body) = self.post("/v1/api/payments", json!({ "items": items })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).expect("PreparedPayment")
    }

    /// The `IMP.request_pay` params of a prepared order, as the V1 gateway
    /// builds them (`amount` overrides the amount: tampering).
    pub fn v1_params(prepared: &PreparedPayment, amount: Option<i64>) -> Value {
        json!({
            "channelKey": portone_sandbox::TOSSPAY_CHANNEL_KEY,
            "pay_method": "tosspay",
            "merchant_uid": prepared.payment_id,
            "name": prepared.order_name,
            "amount": amount.unwrap_or(prepared.total_amount),
            "currency": prepared.currency,
            "buyer_name": "홍길동",
        })
    }

    /// The backend's V1 webhook URL.
    pub fn v1_webhook_url(&self) -> String {
        format!("{}/v1/api/webhooks/portone-v1", self.base())
    }

    /// Drives `IMP.request_pay` at the sandbox (`POST /__sandbox/v1/pay`)
    /// with `params`; answers the callback object.
    pub async fn pay_v1_params(&self, params: Value, outcome: &str, bypass_prepare: bool) -> Value {
        self.admin_post(
            "/__sandbox/v1/pay",
            json!({ "params": params, "outcome": outcome, "bypassPrepare": bypass_prepare }),
        )
        .await
    }

    /// Pays a prepared order with V1 at the sandbox as the browser would.
    pub async fn pay_v1(&self, prepared: &PreparedPayment, outcome: &str, amount: Option<i64>) -> Value {
        self.pay_v1_params(Self::v1_params(prepared, amount), outcome, amount.is_some())
            .await
    }

    /// `POST /v1/api/payments/{id}/complete` with `body`.
    pub async fn complete_v1(&self, payment_id: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/v1/api/payments/{payment_id}/complete"), body)
            .await
    }

    /// `complete_v1` expecting 200.
    pub async fn complete_v1_ok(&self, payment_id: &str, imp_uid: Option<&str>) -> PaymentStatus {
        let (status, body) = self.complete_v1(payment_id, json!({ "txId": imp_uid })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).expect("PaymentStatus")
    }

    /// Posts a V1 webhook body (`form`: form-encoded, else JSON) to the backend.
    pub async fn v1_webhook(&self, body: &str, form: bool) -> (StatusCode, Value) {
        let ct = if form {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        let resp = self
            .http
            .post(self.v1_webhook_url())
            .header("content-type", ct)
            .body(body.to_owned())
            .send()
            .await
            .expect("V1 webhook POST");
        let status = resp.status();
        let body = resp.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// A call to the sandbox's V1 REST API (`/iamport` + `path`) with a
    /// fresh token; answers the envelope's `response` (`Null` for an error).
    pub async fn v1_rest(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let base = format!("{}/iamport", self.sandbox.base_url());
        let token: Value = self
            .http
            .post(format!("{base}/users/getToken"))
            .json(&json!({
                "imp_key": portone_sandbox::DEFAULT_V1_IMP_KEY,
                "imp_secret": portone_sandbox::DEFAULT_V1_IMP_SECRET,
            }))
            .send()
            .await
            .expect("getToken")
            .json()
            .await
            .expect("token JSON");
        let token = token["response"]["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut req = self
            .http
            .request(method, format!("{base}{path}"))
            .header("Authorization", token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("V1 REST");
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        (status, v["response"].clone())
    }

    /// The sandbox's newest V1 payment of `merchant_uid`.
    pub async fn v1_payment(&self, merchant_uid: &str) -> Value {
        let (status, p) = self
            .v1_rest(reqwest::Method::GET, &format!("/payments/find/{merchant_uid}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "find {merchant_uid}: {p}");
        p
    }
}

pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Polls `check` until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
