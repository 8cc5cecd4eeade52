//! The sandbox and the backend, in-process on loopback.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use checkout_server::config::{Config, PortOneConfig, PortOneV1Config, RetryPolicy, TossConfig};
use checkout_server::db::Order;
use checkout_server::RunningServer;
use portone_sandbox::{RunningSandbox, SandboxConfig};
use serde_json::{json, Value};

use crate::inject::{InitScripts, InjectingProxy};
use crate::{wait_for, workspace_root};

/// How long [`Services::start_backend`] keeps trying to bind the old address.
pub const BACKEND_RESTART_DEADLINE: Duration = Duration::from_secs(10);

/// A `portone-sandbox` and a `checkout-server` serving the demo build, each
/// behind an [`InjectingProxy`]: the browser only ever sees the proxies'
/// origins ([`Services::shop_url`], [`Services::sandbox_url`]); the backend
/// talks to the sandbox, the sandbox sends its webhooks to the backend and
/// the scenarios' API helpers call both directly.
pub struct Services {
    sandbox: RunningSandbox,
    server: Option<RunningServer>,
    addr: SocketAddr,
    shop_proxy: InjectingProxy,
    sandbox_proxy: InjectingProxy,
    dist: PathBuf,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

/// The directory of the trunk release build of the demo (`DEMO_DIST`, default
/// `<workspace>/dist`); an error naming the command to run if it has no
/// `index.html`.
pub fn demo_dist() -> anyhow::Result<PathBuf> {
    let dist = std::env::var_os("DEMO_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("dist"));
    if !dist.join("index.html").is_file() {
        anyhow::bail!(
            "the demo build is missing: {} has no index.html; run `cargo xtask test` (it builds the demo with \
             trunk) or `trunk build --release` first",
            dist.display()
        );
    }
    Ok(dist)
}

fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        request_timeout: Duration::from_secs(5),
        max_attempts: 4,
        base_backoff: Duration::from_millis(50),
        consecutive_request_wait: Duration::from_millis(1100),
    }
}

/// `sandbox` is where the backend calls PortOne; `sandbox_public` is the
/// sandbox's origin as the browser sees it (its proxy), for the SDK URL.
fn server_config(addr: SocketAddr, db: &Path, dist: &Path, sandbox: &str, sandbox_public: &str) -> Config {
    let mut portone = PortOneConfig::sandbox(sandbox);
    portone.retry = retry_policy();
    let mut v1 = PortOneV1Config::sandbox(sandbox);
    v1.retry = retry_policy();
    Config {
        addr,
        database: checkout_server::Database::Sqlite(db.to_path_buf()),
        static_dir: Some(dist.to_path_buf()),
        portone,
        portone_v1: Some(v1),
        toss: Some(TossConfig {
            retry: retry_policy(),
            ..TossConfig::sandbox(format!("{sandbox}/toss"))
        }),
        sandbox_public_url: Some(sandbox_public.to_owned()),
        cors_origins: Vec::new(),
        // Production settings: the reconciler sweeps, the rate limit holds.
        reconcile: Default::default(),
        limits: Default::default(),
    }
}

impl Services {
    /// Starts the sandbox (webhook retry base 100 ms) and the backend (fresh
    /// SQLite file in a temp dir, serving [`demo_dist`]), each behind a proxy
    /// that puts `scripts` into every HTML document, and points the
    /// sandbox's webhooks at the backend's `/api/webhooks/portone`.
    pub async fn start(scripts: &InitScripts) -> anyhow::Result<Services> {
        let dist = demo_dist()?;
        let mut sandbox_config = SandboxConfig::for_tests();
        sandbox_config.webhook_retry_base = Duration::from_millis(100);
        let sandbox = portone_sandbox::spawn(sandbox_config)
            .await
            .context("starting portone-sandbox")?;
        let sandbox_proxy = match InjectingProxy::start(&sandbox.base_url(), scripts.clone()).await {
            Ok(p) => p,
            Err(e) => {
                sandbox.shutdown().await;
                return Err(e);
            }
        };
        let dir = tempfile::tempdir().context("temp dir for the database")?;
        let db = dir.path().join("checkout.db");
        let config = server_config(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            &db,
            &dist,
            &sandbox.base_url(),
            &sandbox_proxy.url(),
        );
        let server = match checkout_server::serve(config).await {
            Ok(s) => s,
            Err(e) => {
                sandbox.shutdown().await;
                return Err(anyhow::anyhow!("starting checkout-server: {e}"));
            }
        };
        let addr = server.addr();
        let shop_proxy = match InjectingProxy::start(&format!("http://{addr}"), scripts.clone()).await {
            Ok(p) => p,
            Err(e) => {
                server.shutdown().await;
                sandbox.shutdown().await;
                return Err(e);
            }
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("HTTP client")?;
        let services = Services {
            sandbox,
            server: Some(server),
            addr,
            shop_proxy,
            sandbox_proxy,
            dist,
            dir,
            http,
        };
        let hook = format!("{}{}", services.backend_url(), "/api/webhooks/portone");
        services
            .sandbox_send("POST", "/__sandbox/webhook-targets", Some(json!({ "urls": [hook] })))
            .await?;
        Ok(services)
    }

    /// `http://127.0.0.1:PORT`: the shop's origin as the browser sees it
    /// (the proxy in front of the backend). Stable across
    /// [`Services::stop_backend`] / [`Services::start_backend`].
    pub fn shop_url(&self) -> String {
        self.shop_proxy.url()
    }

    /// `http://127.0.0.1:PORT` of the backend itself (no proxy): for the
    /// scenarios' own API calls and the sandbox's webhooks. Stable across a
    /// restart too.
    pub fn backend_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT`: the sandbox's origin as the browser sees it
    /// (the proxy in front of it: the SDK, the PG window, the redirect page).
    pub fn sandbox_url(&self) -> String {
        self.sandbox_proxy.url()
    }

    /// The demo build being served.
    pub fn dist(&self) -> &Path {
        &self.dist
    }

    fn db_path(&self) -> PathBuf {
        self.dir.path().join("checkout.db")
    }

    /// Stops the backend (graceful shutdown, database closed). The sandbox
    /// keeps running; its webhooks to the backend fail and are retried.
    pub async fn stop_backend(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }

    /// Starts the backend again on the same address with the same database,
    /// retrying the bind until [`BACKEND_RESTART_DEADLINE`].
    pub async fn start_backend(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(self.server.is_none(), "the backend is already running");
        let config = server_config(
            self.addr,
            &self.db_path(),
            &self.dist,
            &self.sandbox.base_url(),
            &self.sandbox_proxy.url(),
        );
        let server = wait_for(
            "the backend to bind its old address again",
            BACKEND_RESTART_DEADLINE,
            || {
                let config = config.clone();
                async move {
                    match checkout_server::serve(config).await {
                        Ok(s) => Ok(Some(s)),
                        Err(e) => Err(anyhow::anyhow!("{e}")),
                    }
                }
            },
        )
        .await?;
        self.server = Some(server);
        Ok(())
    }

    /// Whether the backend is running.
    pub fn backend_running(&self) -> bool {
        self.server.is_some()
    }

    fn db(&self) -> anyhow::Result<&checkout_server::Db> {
        self.server
            .as_ref()
            .map(|s| &s.state().db)
            .context("the backend is stopped")
    }

    /// The stored order, read from the database directly (no sync with
    /// PortOne, unlike `GET /api/payments/{id}`).
    pub async fn order(&self, payment_id: &str) -> anyhow::Result<Option<Order>> {
        Ok(self.db()?.order(payment_id).await?)
    }

    /// How many fulfilment records the backend wrote for `payment_id`.
    pub async fn fulfilment_count(&self, payment_id: &str) -> anyhow::Result<i64> {
        Ok(self.db()?.fulfilment_count(payment_id).await?)
    }

    /// Every order the backend holds that is not final (read from the
    /// database directly).
    pub async fn open_orders(&self) -> anyhow::Result<Vec<Order>> {
        Ok(self.db()?.open_orders().await?)
    }

    /// The subscription's pending scheduled charge, if any.
    pub async fn next_charge(&self, subscription_id: &str) -> anyhow::Result<Option<Order>> {
        Ok(self.db()?.next_charge(subscription_id).await?)
    }

    /// The backend's subscription for a billing key, if it stored one.
    pub async fn subscription_by_key(
        &self,
        billing_key: &str,
    ) -> anyhow::Result<Option<checkout_server::db::SubscriptionRow>> {
        Ok(self.db()?.subscription_by_key(billing_key).await?)
    }

    async fn send(&self, method: &str, url: String, body: Option<Value>) -> anyhow::Result<(u16, Value)> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).context("HTTP method")?;
        let mut req = self.http.request(method, &url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.with_context(|| format!("request to {url}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.with_context(|| format!("body of {url}"))?;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }

    /// A request to the backend: `(status, JSON body)`.
    pub async fn api(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<(u16, Value)> {
        self.send(method, format!("{}{path}", self.backend_url()), body).await
    }

    /// `POST /api/subscriptions/{id}/charge` with an `Idempotency-Key`.
    pub async fn charge(&self, subscription_id: &str, idempotency_key: &str) -> anyhow::Result<(u16, Value)> {
        let url = format!("{}/api/subscriptions/{subscription_id}/charge", self.backend_url());
        let resp = self
            .http
            .post(&url)
            .header("idempotency-key", idempotency_key)
            .json(&json!({}))
            .send()
            .await
            .with_context(|| format!("request to {url}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.with_context(|| format!("body of {url}"))?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// `GET /api/payments/{id}` (note: syncs with PortOne if not final).
    pub async fn payment_status(&self, payment_id: &str) -> anyhow::Result<Value> {
        let (status, body) = self.api("GET", &format!("/api/payments/{payment_id}"), None).await?;
        anyhow::ensure!(status == 200, "GET /api/payments/{payment_id}: {status} {body}");
        Ok(body)
    }

    /// A request to the sandbox (admin or REST); REST calls carry the
    /// sandbox's API secret. Fails on a non-2xx answer.
    pub async fn sandbox_send(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.sandbox.base_url());
        let method_v = reqwest::Method::from_bytes(method.as_bytes()).context("HTTP method")?;
        let mut req = self
            .http
            .request(method_v, &url)
            .header("authorization", format!("PortOne {}", self.sandbox.config().api_secret));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.with_context(|| format!("request to {url}"))?;
        let status = resp.status();
        let text = resp.text().await.with_context(|| format!("body of {url}"))?;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        anyhow::ensure!(status.is_success(), "{method} {path}: {status} {value}");
        Ok(value)
    }

    /// The sandbox's view of a payment (`GET /payments/{id}`), `None` if unknown.
    pub async fn portone_payment(&self, payment_id: &str) -> anyhow::Result<Option<Value>> {
        let (status, body) = self
            .send_sandbox_rest("GET", &format!("/payments/{payment_id}"))
            .await?;
        match status {
            200 => Ok(Some(body)),
            404 => Ok(None),
            _ => anyhow::bail!("GET /payments/{payment_id} at the sandbox: {status} {body}"),
        }
    }

    async fn send_sandbox_rest(&self, method: &str, path: &str) -> anyhow::Result<(u16, Value)> {
        let url = format!("{}{path}", self.sandbox.base_url());
        let method = reqwest::Method::from_bytes(method.as_bytes()).context("HTTP method")?;
        let resp = self
            .http
            .request(method, &url)
            .header("authorization", format!("PortOne {}", self.sandbox.config().api_secret))
            .send()
            .await
            .with_context(|| format!("request to {url}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.with_context(|| format!("body of {url}"))?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// A call to the sandbox's PortOne V1 REST API (`/iamport` + `path`)
    /// with a fresh access token: `(HTTP status, the envelope)`.
    pub async fn v1_rest(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<(u16, Value)> {
        let base = format!("{}/iamport", self.sandbox_url());
        let config = self.sandbox.config();
        let token = self
            .http
            .post(format!("{base}/users/getToken"))
            .json(&json!({ "imp_key": config.v1_imp_key, "imp_secret": config.v1_imp_secret }))
            .send()
            .await
            .context("V1 getToken")?
            .json::<Value>()
            .await
            .context("V1 token JSON")?;
        let token = token["response"]["access_token"]
            .as_str()
            .with_context(|| format!("no V1 access token in {token}"))?
            .to_owned();
        let method = reqwest::Method::from_bytes(method.as_bytes()).context("HTTP method")?;
        let mut req = self
            .http
            .request(method, format!("{base}{path}"))
            .header("authorization", token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.with_context(|| format!("V1 request to {path}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.with_context(|| format!("body of V1 {path}"))?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// The sandbox's newest PortOne V1 payment of `merchant_uid`, `None` if
    /// it has none.
    pub async fn v1_payment(&self, merchant_uid: &str) -> anyhow::Result<Option<Value>> {
        let (status, body) = self
            .v1_rest("GET", &format!("/payments/find/{merchant_uid}"), None)
            .await?;
        match status {
            200 => Ok(Some(body["response"].clone())),
            404 => Ok(None),
            _ => anyhow::bail!("V1 find {merchant_uid} at the sandbox: {status} {body}"),
        }
    }

    /// How many times a PG window was opened for `payment_id`.
    pub async fn attempts(&self, payment_id: &str) -> anyhow::Result<u64> {
        let v = self
            .sandbox_send("GET", &format!("/__sandbox/payments/{payment_id}/attempts"), None)
            .await?;
        v["attempts"]
            .as_u64()
            .with_context(|| format!("attempts is not a number: {v}"))
    }

    /// The sandbox's webhook deliveries, in creation order.
    pub async fn webhooks(&self) -> anyhow::Result<Vec<Value>> {
        let v = self.sandbox_send("GET", "/__sandbox/webhooks", None).await?;
        match v {
            Value::Array(a) => Ok(a),
            other => anyhow::bail!("webhook list is not an array: {other}"),
        }
    }

    /// Replaces the sandbox's fault settings (`PUT /__sandbox/faults`).
    pub async fn set_faults(&self, faults: Value) -> anyhow::Result<()> {
        self.sandbox_send("PUT", "/__sandbox/faults", Some(faults)).await?;
        Ok(())
    }

    /// Sends the sandbox's webhooks to the backend's Toss endpoint
    /// (`/toss/api/webhooks/toss`) instead of PortOne's (the sandbox has one
    /// list of webhook URLs for both providers).
    pub async fn use_toss_webhooks(&self) -> anyhow::Result<()> {
        let hook = format!("{}/toss/api/webhooks/toss", self.shop_url());
        self.sandbox_send("POST", "/__sandbox/webhook-targets", Some(json!({ "urls": [hook] })))
            .await?;
        Ok(())
    }

    /// The order's payment at the Toss stand-in
    /// (`GET /toss/v1/payments/orders/{orderId}` with the secret key), `None`
    /// if Toss has none.
    pub async fn toss_payment(&self, order_id: &str) -> anyhow::Result<Option<Value>> {
        let url = format!("{}/toss/v1/payments/orders/{order_id}", self.sandbox_url());
        let resp = self
            .http
            .get(&url)
            .basic_auth(&self.sandbox.config().toss.secret_key, None::<&str>)
            .send()
            .await
            .with_context(|| format!("request to {url}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.with_context(|| format!("body of {url}"))?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        match status {
            200 => Ok(Some(body)),
            404 => Ok(None),
            _ => anyhow::bail!("GET /toss/v1/payments/orders/{order_id}: {status} {body}"),
        }
    }

    /// Stops both services.
    pub async fn shutdown(mut self) {
        self.stop_backend().await;
        self.sandbox.shutdown().await;
    }
}
