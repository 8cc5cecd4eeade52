//! # checkout-server
//!
//! The reference merchant backend for `portone-checkout`: server-owned
//! orders, payment verification with PortOne V2, PortOne V1 with TossPay
//! (under `/v1`) and Toss Payments used directly (under `/toss`: the
//! server-side confirm with the secret key), Standard-Webhooks, V1
//! `notice_url` and Toss webhooks, billing-key charges and schedules,
//! refunds, on SQLite (one machine) or PostgreSQL (several replicas behind
//! a load balancer, see `server/README.md`).
//!
//! The JSON contract it serves is [`portone_checkout::protocol`]; see
//! `server/README.md` for the route-by-route description other backends can
//! implement.
//!
//! Mount [`app`] in your own axum application, or run [`serve`]:
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let mut config = checkout_server::Config::sandbox_default();
//! config.addr = "127.0.0.1:0".parse()?;
//! let server = checkout_server::serve(config).await?;
//! println!("listening on {}", server.addr());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
pub mod db;
pub mod error;
pub mod provider;
pub mod reconcile;
mod routes;
pub mod shop_api;
pub mod sync;
mod toss_routes;
mod webhook;
mod webhook_v1;

use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{
    Config, ConfigError, Database, Limits, Mode, PortOneConfig, PortOneV1Config, PostgresUrl, ReconcileConfig,
    RetryPolicy, TossConfig,
};
pub use db::{Backend, Db};
pub use error::ApiError;
pub use provider::portone_v2::PortOneClient;
pub use provider::{Provider, ProviderError, ProviderKind, Providers};

/// The fixed signed-in demo user's customer id.
pub const DEMO_CUSTOMER_ID: &str = "demo-customer-1";
/// The demo user's full name.
pub const DEMO_CUSTOMER_NAME: &str = "홍길동";
/// The demo user's phone number.
pub const DEMO_CUSTOMER_PHONE: &str = "01012345678";
/// The demo user's e-mail.
pub const DEMO_CUSTOMER_EMAIL: &str = "hong@example.com";
/// Monthly subscription price charged with a billing key (KRW).
pub const SUBSCRIPTION_PRICE: i64 = 9900;
/// Name of a subscription charge.
pub const SUBSCRIPTION_ORDER_NAME: &str = "정기구독 1개월";

/// The charge of a subscription with its stored billing key and the demo
/// customer (TossPay needs the customer's name on billing-key charges).
pub fn subscription_charge(
    sub: &db::SubscriptionRow,
    order_name: String,
    total_amount: i64,
    currency: String,
) -> provider::BillingKeyCharge {
    provider::BillingKeyCharge {
        billing_key: sub.billing_key.clone(),
        order_name,
        customer: provider::ChargeCustomer {
            id: sub.customer_id.clone(),
            full_name: DEMO_CUSTOMER_NAME.into(),
            phone_number: Some(DEMO_CUSTOMER_PHONE.into()),
            email: Some(DEMO_CUSTOMER_EMAIL.into()),
        },
        total_amount,
        currency,
    }
}

/// Failure to start the server.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration breaks a rule of its mode.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A provider's settings are unusable.
    #[error("provider settings: {0}")]
    Provider(#[from] ProviderError),
    /// A webhook secret is not a valid `whsec_` secret.
    #[error("webhook secret #{index} is invalid (expected whsec_<base64>)")]
    WebhookSecret {
        /// Position in the list (0-based).
        index: usize,
    },
    /// No webhook secret configured.
    #[error("at least one webhook secret is required")]
    NoWebhookSecret,
    /// Binding the listener failed.
    #[error("listen: {0}")]
    Io(#[from] std::io::Error),
}

/// Shared state of the handlers. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The providers this backend speaks.
    pub providers: Providers,
    /// The configuration.
    pub config: Arc<Config>,
    /// Sandbox or live.
    pub mode: Mode,
    locks: Arc<sync::PaymentLocks>,
    verifiers: Arc<Vec<standardwebhooks::Webhook>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// The provider of `kind`, or an error saying it is not configured.
    pub fn provider(&self, kind: ProviderKind) -> Result<Arc<dyn Provider>, sync::SyncError> {
        self.providers
            .get(kind)
            .ok_or(sync::SyncError::NoProvider(kind.as_str()))
    }

    /// Toss Payments' provider, when configured (for the routes that are
    /// Toss's own: refunds and webhooks).
    pub fn toss(&self) -> Option<Arc<provider::toss::TossPayments>> {
        let any: Arc<dyn std::any::Any + Send + Sync> = self.providers.get(ProviderKind::Toss)?;
        any.downcast::<provider::toss::TossPayments>().ok()
    }

    /// Opens the database and builds the PortOne client and webhook
    /// verifiers from `config`, and the Toss Payments client when
    /// configured.
    pub async fn new(config: Config) -> Result<AppState, StartError> {
        config.portone.validate()?;
        let mut providers = Providers::default();
        providers.insert(Arc::new(provider::portone_v2::PortOneV2::new(&config.portone)?));
        if let Some(v1) = &config.portone_v1 {
            if v1.mode != config.portone.mode() {
                return Err(ConfigError::V1Mode(config.portone.mode().as_str()).into());
            }
            v1.validate()?;
            providers.insert(Arc::new(provider::portone_v1::PortOneV1::new(v1)?));
        }
        if let Some(toss) = &config.toss {
            toss.validate(config.portone.mode())?;
            providers.insert(Arc::new(provider::toss::TossPayments::new(toss)?));
        }
        if config.portone.webhook_secrets.is_empty() {
            return Err(StartError::NoWebhookSecret);
        }
        let verifiers = config
            .portone
            .webhook_secrets
            .iter()
            .enumerate()
            .map(|(index, s)| standardwebhooks::Webhook::new(s).map_err(|_| StartError::WebhookSecret { index }))
            .collect::<Result<Vec<_>, _>>()?;
        let db = Db::connect(&config.database).await?;
        Ok(AppState {
            db,
            providers,
            mode: config.portone.mode(),
            config: Arc::new(config),
            locks: Arc::default(),
            verifiers: Arc::new(verifiers),
        })
    }
}

/// The router: `/api/...` routes (see [`portone_checkout::protocol`]) and,
/// if configured, the static demo with SPA fallback.
pub fn app(state: AppState) -> axum::Router {
    routes::router(state)
}

/// A running server (see [`serve`]).
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The shared state (database access for operators and tests).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting connections, lets in-flight requests finish, closes
    /// the database.
    pub async fn shutdown(mut self) {
        for task in &self.background {
            task.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        for task in self.background.drain(..) {
            let _ = task.await;
        }
        self.state.db.close().await;
    }

    /// Waits until the server stops (it stops only on error or shutdown).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

/// Opens the database, binds `config.addr`, serves [`app`] in a background
/// task and starts the reconciler (unless disabled).
pub async fn serve(config: Config) -> Result<RunningServer, StartError> {
    let addr = config.addr;
    let state = AppState::new(config).await?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (router, limiter_cleanup) = routes::router_with_cleanup(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let mut background = Vec::new();
    if let Some(cleanup) = limiter_cleanup {
        background.push(tokio::spawn(cleanup));
    }
    if state.config.reconcile.enabled {
        background.push(reconcile::spawn(state.clone()));
    }
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "server stopped");
        }
    });
    tracing::info!(%addr, mode = state.mode.as_str(), "checkout-server listening");
    Ok(RunningServer {
        addr,
        state,
        shutdown: Some(tx),
        task,
        background,
    })
}
