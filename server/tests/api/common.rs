//! Test harness: a real `portone-sandbox` and a real `checkout-server` on
//! loopback, with a SQLite file in a temp dir.
#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use checkout_server::config::{Config, Limits, PortOneConfig, ReconcileConfig, RetryPolicy, TossConfig};
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

    async fn start_full(webhooks: bool, secrets: Option<Vec<String>>, tweak: fn(&mut Config)) -> Harness {
        let sandbox = portone_sandbox::spawn(SandboxConfig::for_tests())
            .await
            .expect("sandbox starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let webhook_secrets = secrets.unwrap_or_else(|| vec![portone_sandbox::DEFAULT_WEBHOOK_SECRET.to_owned()]);
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
        };
        h.start_server().await;
        if webhooks {
            let url = format!("{}/api/webhooks/portone", h.base());
            h.admin_post("/__sandbox/webhook-targets", json!({ "urls": [url] }))
                .await;
        }
        h
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("data").join("checkout.db")
    }

    pub fn config(&self) -> Config {
        let mut portone = PortOneConfig::sandbox(self.sandbox.base_url());
        portone.webhook_secrets = self.webhook_secrets.clone();
        portone.retry = test_retry();
        let mut config = Config {
            addr: "127.0.0.1:0".parse().expect("addr"),
            database_path: self.db_path(),
            static_dir: None,
            portone,
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
        let signature = portone_sandbox::sign_webhook(secret, webhook_id, timestamp, body).expect("sign");
        let resp = self
            .http
            .post(format!("{}/api/webhooks/portone", self.base()))
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
