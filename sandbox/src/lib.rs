//! A local, stateful stand-in for PortOne V2: the browser SDK (`/v2/browser-sdk.js`),
//! the PG window, the REST API (`/payments/...`, `/billing-keys/...`) and
//! Standard-Webhooks-signed webhooks, with fault injection and an admin API
//! under `/__sandbox/`; for PortOne V1 (I'mport) with TossPay: the `IMP` SDK
//! (`/v1/iamport.js`), the REST API under `/iamport/` and unsigned
//! `notice_url` webhooks; and for Toss Payments (direct): the SDK v2
//! (`/toss/v2/standard`), the REST API (`/toss/v1/...`) and unsigned webhooks.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let sandbox = portone_sandbox::spawn(portone_sandbox::SandboxConfig::for_tests()).await?;
//! println!("PortOne sandbox at {}", sandbox.base_url());
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Code layout (see also the README's "Code layout"): shared pieces in
//! `store.rs` (state), `api.rs` (error and body conventions), `faults.rs`
//! (REST fault guard), `webhook.rs` (delivery), `window/` (the PG window) and
//! `admin.rs` (`/__sandbox/...`); each provider in its own module
//! (`portone_v2/`, `portone_v1/`, `toss/`) with its SDK script, REST API, JSON
//! views and webhook format. [`spawn`] builds the state; `app` merges the routers.
#![deny(missing_docs)]
// `json!` bodies as large as V1's `Payment` need more than the default 128.
#![recursion_limit = "256"]

mod admin;
mod api;
mod config;
mod faults;
mod ledger;
mod portone_v1;
mod portone_v2;
mod store;
mod toss;
mod webhook;
mod window;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use config::{
    default_channels, Channel, Faults, SandboxConfig, TossConfig, WebhookFaults, CARD_CHANNEL_KEY, DEFAULT_ADDR,
    DEFAULT_API_SECRET, DEFAULT_STORE_ID, DEFAULT_TOSS_CLIENT_KEY, DEFAULT_TOSS_SECRET_KEY, DEFAULT_V1_IMP_KEY,
    DEFAULT_V1_IMP_SECRET, DEFAULT_V1_USER_CODE, DEFAULT_WEBHOOK_SECRET, TOSSPAY_CHANNEL_KEY,
};

use faults::FaultState;
use store::{lock, AppState, Inner, Store};

/// Signs a webhook body the way the sandbox does: returns the
/// `webhook-signature` header value `v1,<base64>` for `whsec_` secret `secret`.
pub fn sign_webhook(secret: &str, webhook_id: &str, timestamp: i64, body: &str) -> anyhow::Result<String> {
    let key = portone_v2::webhook::decode_secret(secret)?;
    Ok(portone_v2::webhook::sign(&key, webhook_id, timestamp, body))
}

/// A sandbox serving in a background tokio task.
pub struct RunningSandbox {
    config: SandboxConfig,
    state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
}

impl RunningSandbox {
    /// `http://127.0.0.1:PORT` (the REST base URL and the SDK origin).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.config.addr)
    }

    /// The configuration in effect; `addr` is the bound address (real port).
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Stops serving and aborts background tasks (webhook retries, schedules).
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        lock(&self.state.tasks).abort_all();
        let abort = self.server.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), &mut self.server)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

/// Builds the whole application router from each concern's routes. Only the
/// SDK-support routes (called from merchant pages on other origins: the SDK
/// scripts, `/__sandbox/sdk/...`) send CORS headers; the admin routes send none
/// and answer no preflight, see `admin.rs`. A new provider adds its
/// `router(..)` here and its drivers to the `admin::router` call.
fn app(st: AppState) -> Router {
    Router::new()
        .merge(portone_v2::router(st.clone()))
        .merge(portone_v1::router(st.clone()))
        .merge(toss::router(st.clone()))
        .merge(window::router())
        .merge(admin::router(
            st.clone(),
            portone_v2::admin_routes()
                .merge(portone_v1::admin_routes())
                .merge(toss::admin_routes()),
        ))
        .fallback(|| async {
            api::ApiError::new(axum::http::StatusCode::NOT_FOUND, "NOT_FOUND", "no such sandbox route")
        })
        .layer(DefaultBodyLimit::max(api::BODY_LIMIT))
        .layer(
            TraceLayer::new_for_http()
                .on_request(DefaultOnRequest::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(st)
}

fn load_store(config: &SandboxConfig) -> anyhow::Result<Store> {
    let Some(path) = &config.state_file else {
        return Ok(Store::default());
    };
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("state file {} is not sandbox state: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Store::default()),
        Err(e) => Err(anyhow::anyhow!("cannot read state file {}: {e}", path.display())),
    }
}

fn new_state(config: &SandboxConfig, store: Store) -> anyhow::Result<AppState> {
    Ok(Arc::new(Inner {
        portone_v2: portone_v2::V2State::new(config)?,
        toss: toss::TossState::default(),
        webhooks: webhook::Webhooks::new(config.webhook_timeout)?,
        faults: Mutex::new(FaultState {
            faults: config.faults.clone(),
            ..FaultState::default()
        }),
        store: Mutex::new(store),
        tasks: Mutex::new(tokio::task::JoinSet::new()),
        config: config.clone(),
    }))
}

/// Binds `config.addr` and serves the sandbox in a tokio task.
pub async fn spawn(mut config: SandboxConfig) -> anyhow::Result<RunningSandbox> {
    let listener = TcpListener::bind(config.addr).await?;
    config.addr = listener.local_addr()?;
    let state = new_state(&config, load_store(&config)?)?;
    portone_v2::resume(&state);
    portone_v1::resume(&state);
    toss::resume(&state);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = app(state.clone());
    let server = tokio::spawn(async move {
        let res = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = res {
            tracing::error!(error = %e, "sandbox server stopped");
        }
    });
    Ok(RunningSandbox {
        config,
        state,
        shutdown: Some(tx),
        server,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use axum::http::Request;
    use tower::ServiceExt as _;

    async fn admin_status_as(peer: [u8; 4], content_type: Option<&str>) -> u16 {
        let st = new_state(&SandboxConfig::for_tests(), Store::default()).expect("state");
        let mut req = Request::post("/__sandbox/reset");
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let mut req = req.body(Body::empty()).expect("request");
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((peer, 40000))));
        let res = app(st).oneshot(req).await.expect("response");
        res.status().as_u16()
    }

    async fn admin_status(peer: [u8; 4]) -> u16 {
        admin_status_as(peer, Some("application/json")).await
    }

    #[tokio::test]
    async fn admin_routes_refuse_non_loopback_peers() {
        assert_eq!(admin_status([10, 0, 0, 7]).await, 403);
        assert_eq!(admin_status([192, 168, 1, 2]).await, 403);
        assert_eq!(
            admin_status_as([10, 0, 0, 7], Some("text/plain")).await,
            403,
            "the loopback check comes before the content-type check"
        );
    }

    #[tokio::test]
    async fn admin_routes_serve_loopback_peers() {
        assert_eq!(admin_status([127, 0, 0, 1]).await, 200);
    }

    #[tokio::test]
    async fn admin_posts_need_exactly_the_json_media_type() {
        let lo = [127, 0, 0, 1];
        assert_eq!(admin_status_as(lo, Some("application/json; charset=utf-8")).await, 200);
        assert_eq!(admin_status_as(lo, Some("Application/JSON")).await, 200);
        for ct in [
            None,
            Some("text/plain"),
            Some("text/plain; charset=utf-8"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/jsonp"),
            Some("text/plain; a=application/json"),
        ] {
            assert_eq!(admin_status_as(lo, ct).await, 415, "{ct:?}");
        }
    }
}
