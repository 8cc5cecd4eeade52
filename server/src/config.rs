//! Server configuration: where to listen, the database, PortOne settings,
//! Toss Payments settings.
//!
//! Secrets (`api_secret`, `webhook_secrets`, PortOne V1's `imp_secret`,
//! Toss's `secret_key`, the admin token) are only ever read from the
//! environment by the binary; [`Config`]'s `Debug` redacts them and they are
//! never part of the browser's `ClientConfig` (which carries Toss's client
//! key only).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The real PortOne REST API base URL (the default in live mode; refused in
/// sandbox mode).
pub const LIVE_API_BASE: &str = "https://api.portone.io";
/// The browser SDK on PortOne's CDN (live mode).
pub const LIVE_SDK_URL: &str = "https://cdn.portone.io/v2/browser-sdk.js";
/// The sandbox's default address.
pub const DEFAULT_SANDBOX_BASE: &str = "http://127.0.0.1:8787";
/// The sandbox's default API secret.
pub const DEFAULT_SANDBOX_API_SECRET: &str = "sandbox-api-secret";
/// The sandbox's default webhook secret.
pub const DEFAULT_SANDBOX_WEBHOOK_SECRET: &str = "whsec_cG9ydG9uZS1zYW5kYm94LXdlYmhvb2stc2lnbmluZy1rZXkh";
/// The sandbox's default store id.
pub const DEFAULT_SANDBOX_STORE_ID: &str = "store-sandbox";
/// The sandbox's default TossPay channel key.
pub const DEFAULT_SANDBOX_CHANNEL_KEY: &str = "channel-key-sandbox-tosspay";
/// The sandbox's card channel key (cards, transfers, virtual accounts).
pub const DEFAULT_SANDBOX_CARD_CHANNEL_KEY: &str = "channel-key-sandbox-card";

/// Toss Payments' REST API (live mode's default; refused in sandbox mode).
pub const LIVE_TOSS_API_BASE: &str = "https://api.tosspayments.com";
/// Toss Payments' SDK v2 script (live mode).
pub const LIVE_TOSS_SDK_URL: &str = "https://js.tosspayments.com/v2/standard";
/// The sandbox's Toss client key (public).
pub const DEFAULT_SANDBOX_TOSS_CLIENT_KEY: &str = "test_ck_sandboxTossPaymentsClientKey";
/// The sandbox's Toss secret key (public, sandbox mode only).
pub const DEFAULT_SANDBOX_TOSS_SECRET_KEY: &str = "test_sk_sandboxTossPaymentsSecretKey";
/// PortOne V1's real REST API base (live mode).
pub const LIVE_V1_API_BASE: &str = "https://api.iamport.kr";
/// PortOne V1's browser SDK on its CDN (live mode).
pub const LIVE_V1_SDK_URL: &str = "https://cdn.iamport.kr/v1/iamport.js";
/// The sandbox's default V1 user code (`IMP.init`).
pub const DEFAULT_SANDBOX_V1_USER_CODE: &str = "imp00000000";
/// The sandbox's default V1 `imp_key`.
pub const DEFAULT_SANDBOX_V1_IMP_KEY: &str = "sandbox-imp-key";
/// The sandbox's default V1 `imp_secret`.
pub const DEFAULT_SANDBOX_V1_IMP_SECRET: &str = "sandbox-imp-secret";
/// The PG of PortOne V1 payments this shop accepts by default.
pub const DEFAULT_V1_PG_PROVIDER: &str = "tosspay_v2";

/// Whether the server takes real money: an explicit setting, never inferred
/// from the API base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Against a sandbox (never [`LIVE_API_BASE`]); the sandbox's public
    /// default secrets are allowed.
    Sandbox,
    /// Against the real PortOne: real secrets are required at start, and
    /// payments must come from a `LIVE` channel.
    Live,
}

impl Mode {
    /// `"sandbox"` or `"live"` (as in `ClientConfig::mode`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sandbox => "sandbox",
            Mode::Live => "live",
        }
    }

    /// Parses `"sandbox"` or `"live"`.
    pub fn parse(s: &str) -> Result<Mode, ConfigError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sandbox" => Ok(Mode::Sandbox),
            "live" => Ok(Mode::Live),
            _ => Err(ConfigError::Mode(s.to_owned())),
        }
    }
}

/// A configuration the server refuses to start with. Each message says
/// what to set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `CHECKOUT_MODE` is neither `sandbox` nor `live`.
    #[error("CHECKOUT_MODE must be `sandbox` or `live`, got {0:?}")]
    Mode(String),
    /// Live mode without a real API secret.
    #[error(
        "live mode needs PORTONE_API_SECRET (your PortOne V2 API secret); it is missing or is the sandbox's public one"
    )]
    LiveApiSecret,
    /// Live mode without a real webhook secret.
    #[error(
        "live mode needs PORTONE_WEBHOOK_SECRET (whsec_..., from PortOne's console); it is missing or is the sandbox's public one"
    )]
    LiveWebhookSecret,
    /// Live mode against a non-https API.
    #[error("live mode needs an https:// PORTONE_API_BASE, got {0:?}")]
    LiveApiBase(String),
    /// Sandbox mode pointed at the real PortOne.
    #[error(
        "sandbox mode must not talk to the real PortOne API ({LIVE_API_BASE}): set CHECKOUT_MODE=live with real secrets, or point PORTONE_API_BASE at a sandbox"
    )]
    SandboxAgainstLive,
    /// Toss in live mode without live keys (or with test/sandbox keys).
    #[error(
        "live mode with Toss Payments needs TOSS_SECRET_KEY (live_sk_..., environment only) and TOSS_CLIENT_KEY (live_ck_...); a key is missing or is a test key"
    )]
    LiveTossKeys,
    /// Toss in live mode against a non-https API.
    #[error("live mode needs an https:// TOSS_API_BASE, got {0:?}")]
    LiveTossApiBase(String),
    /// Toss in sandbox mode pointed at the real Toss API or given live keys.
    #[error(
        "sandbox mode must not talk to the real Toss Payments API ({LIVE_TOSS_API_BASE}) nor use live keys: set CHECKOUT_MODE=live, or point TOSS_API_BASE at a sandbox with test keys"
    )]
    SandboxAgainstLiveToss,
    /// A secret key configured as the (browser) client key.
    #[error("TOSS_CLIENT_KEY must be a client key (test_ck_/live_ck_): a secret key would be sent to every browser")]
    TossSecretAsClientKey,
    /// Live mode with PortOne V1 on but without its real REST key and secret.
    #[error(
        "live mode with PortOne V1 needs PORTONE_V1_IMP_KEY and PORTONE_V1_IMP_SECRET (the REST API key and secret of your V1 console); they are missing or are the sandbox's public ones"
    )]
    LiveV1Secret,
    /// Live mode with PortOne V1 against a non-https API.
    #[error("live mode needs an https:// PORTONE_V1_API_BASE, got {0:?}")]
    LiveV1ApiBase(String),
    /// Sandbox mode with PortOne V1 pointed at the real V1 API.
    #[error(
        "sandbox mode must not talk to the real PortOne V1 API ({LIVE_V1_API_BASE}): set CHECKOUT_MODE=live with real secrets, or point PORTONE_V1_API_BASE at a sandbox's /iamport"
    )]
    SandboxAgainstLiveV1,
    /// PortOne V1's mode differs from the server's.
    #[error("PortOne V1 must run in the server's mode ({0}), not the other one")]
    V1Mode(&'static str),
    /// `DATABASE_URL` (`--db`) is neither a PostgreSQL URL nor an SQLite
    /// path.
    #[error("DATABASE_URL {0}")]
    DatabaseUrl(String),
}

/// Where the server keeps its data (`DATABASE_URL`, `--db`).
#[derive(Clone, Debug)]
pub enum Database {
    /// An SQLite file, created with its parent directory if missing: the
    /// embedded default for the demo and a single machine.
    Sqlite(PathBuf),
    /// A PostgreSQL database (it must exist; the schema is created and
    /// migrated at start): the choice for several replicas.
    Postgres(PostgresUrl),
}

impl Database {
    /// Parses a `DATABASE_URL`: `postgres://` or `postgresql://` is
    /// PostgreSQL; `sqlite:PATH`, `sqlite://PATH` (a `?query` is ignored) or
    /// a plain path is an SQLite file.
    pub fn parse(url: &str) -> Result<Database, ConfigError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return PostgresUrl::parse(url).map(Database::Postgres);
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        if let Some((scheme, _)) = path.split_once("://") {
            return Err(ConfigError::DatabaseUrl(format!(
                "must be postgres://..., sqlite:PATH or a file path; the scheme {scheme:?} is not supported"
            )));
        }
        if path.is_empty() {
            return Err(ConfigError::DatabaseUrl(
                "must name an SQLite file (the path is empty)".into(),
            ));
        }
        Ok(Database::Sqlite(PathBuf::from(path)))
    }
}

/// A parsed PostgreSQL connection URL. `Debug` and `Display` show user,
/// host, port and database, never the password.
#[derive(Clone)]
pub struct PostgresUrl {
    options: Box<sqlx::postgres::PgConnectOptions>,
}

impl PostgresUrl {
    /// Parses `postgres://user:password@host:port/database?params` (the
    /// parameters libpq knows that sqlx supports, e.g. `sslmode`,
    /// `options=-c search_path=...`).
    pub fn parse(url: &str) -> Result<PostgresUrl, ConfigError> {
        use std::str::FromStr as _;
        let options = sqlx::postgres::PgConnectOptions::from_str(url).map_err(|e| {
            // sqlx's message names the part that failed, not the URL itself.
            ConfigError::DatabaseUrl(format!("is not a valid PostgreSQL URL: {e}"))
        })?;
        Ok(PostgresUrl {
            options: Box::new(options),
        })
    }

    /// The connection options.
    pub fn options(&self) -> &sqlx::postgres::PgConnectOptions {
        &self.options
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        write!(
            f,
            "postgres://{}@{}:{}/{}",
            o.get_username(),
            o.get_host(),
            o.get_port(),
            o.get_database().unwrap_or_default()
        )
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({self})")
    }
}

/// Timeouts and retry policy for PortOne calls.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Per-request timeout (connect + response).
    pub request_timeout: Duration,
    /// Total attempts per call (first try included), at least 1.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled for each further one.
    pub base_backoff: Duration,
    /// Wait after a `FORBIDDEN_CONSECUTIVE_REQUEST` (or 429) refusal.
    pub consecutive_request_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            request_timeout: Duration::from_secs(10),
            max_attempts: 4,
            base_backoff: Duration::from_millis(200),
            consecutive_request_wait: Duration::from_millis(1100),
        }
    }
}

/// How to reach PortOne (or the sandbox).
#[derive(Clone)]
pub struct PortOneConfig {
    /// Sandbox or live (explicit).
    pub mode: Mode,
    /// REST API base, without trailing slash.
    pub api_base: String,
    /// API secret (`Authorization: PortOne <secret>`). Never logged.
    pub api_secret: String,
    /// Webhook secrets (`whsec_...`), one or two during rotation. Never logged.
    pub webhook_secrets: Vec<String>,
    /// Store id (public).
    pub store_id: String,
    /// Channel key used for payments and billing keys (public).
    pub channel_key: String,
    /// Other channels of the store whose payments the shop accepts (e.g. a
    /// card channel for virtual accounts). A paid payment through any other
    /// channel is cancelled as suspected tampering.
    pub other_channel_keys: Vec<String>,
    /// PG of that channel, e.g. `tosspay_v2`.
    pub channel_pg: String,
    /// Retry policy for every call.
    pub retry: RetryPolicy,
}

impl PortOneConfig {
    /// Sandbox defaults with the given API base.
    pub fn sandbox(api_base: impl Into<String>) -> Self {
        PortOneConfig {
            mode: Mode::Sandbox,
            api_base: api_base.into(),
            api_secret: DEFAULT_SANDBOX_API_SECRET.to_owned(),
            webhook_secrets: vec![DEFAULT_SANDBOX_WEBHOOK_SECRET.to_owned()],
            store_id: DEFAULT_SANDBOX_STORE_ID.to_owned(),
            channel_key: DEFAULT_SANDBOX_CHANNEL_KEY.to_owned(),
            other_channel_keys: vec![DEFAULT_SANDBOX_CARD_CHANNEL_KEY.to_owned()],
            channel_pg: "tosspay_v2".to_owned(),
            retry: RetryPolicy::default(),
        }
    }

    /// Live settings: the real API and the merchant's own secrets and ids.
    pub fn live(
        api_secret: impl Into<String>,
        webhook_secrets: Vec<String>,
        store_id: impl Into<String>,
        channel_key: impl Into<String>,
    ) -> Self {
        PortOneConfig {
            mode: Mode::Live,
            api_base: LIVE_API_BASE.to_owned(),
            api_secret: api_secret.into(),
            webhook_secrets,
            store_id: store_id.into(),
            channel_key: channel_key.into(),
            other_channel_keys: Vec::new(),
            channel_pg: "tosspay_v2".to_owned(),
            retry: RetryPolicy::default(),
        }
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether payments through `channel_key` are accepted.
    pub fn accepts_channel(&self, channel_key: &str) -> bool {
        self.channel_key == channel_key || self.other_channel_keys.iter().any(|k| k == channel_key)
    }

    /// Checks the mode's rules: live mode has real secrets and an https API;
    /// sandbox mode never points at the real API.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let base = self.api_base.trim_end_matches('/');
        match self.mode {
            Mode::Live => {
                if self.api_secret.trim().is_empty() || self.api_secret == DEFAULT_SANDBOX_API_SECRET {
                    return Err(ConfigError::LiveApiSecret);
                }
                if self.webhook_secrets.is_empty()
                    || self
                        .webhook_secrets
                        .iter()
                        .any(|s| s.trim().is_empty() || s == DEFAULT_SANDBOX_WEBHOOK_SECRET)
                {
                    return Err(ConfigError::LiveWebhookSecret);
                }
                if !base.starts_with("https://") {
                    return Err(ConfigError::LiveApiBase(self.api_base.clone()));
                }
            }
            Mode::Sandbox => {
                if base.eq_ignore_ascii_case(LIVE_API_BASE) {
                    return Err(ConfigError::SandboxAgainstLive);
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for PortOneConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortOneConfig")
            .field("mode", &self.mode)
            .field("api_base", &self.api_base)
            .field("api_secret", &"<redacted>")
            .field(
                "webhook_secrets",
                &format_args!("<{} redacted>", self.webhook_secrets.len()),
            )
            .field("store_id", &self.store_id)
            .field("channel_key", &self.channel_key)
            .field("other_channel_keys", &self.other_channel_keys)
            .field("channel_pg", &self.channel_pg)
            .field("retry", &self.retry)
            .finish()
    }
}

/// How to reach PortOne V1 (I'mport) with TossPay (or the sandbox's
/// stand-in at `/iamport`).
#[derive(Clone)]
pub struct PortOneV1Config {
    /// Sandbox or live (explicit; the server's mode).
    pub mode: Mode,
    /// REST API base, without trailing slash (`https://api.iamport.kr`, the
    /// sandbox's `http://127.0.0.1:8787/iamport`).
    pub api_base: String,
    /// REST API key (`imp_key` of `POST /users/getToken`).
    pub imp_key: String,
    /// REST API secret (`imp_secret`). Never logged.
    pub imp_secret: String,
    /// The merchant's user code (`IMP.init`, public).
    pub user_code: String,
    /// The TossPay channel key (`channelKey`, public).
    pub channel_key: String,
    /// The PG a payment must have been made with (`pg_provider`); anything
    /// else is cancelled as suspected tampering.
    pub pg_provider: String,
    /// The PG merchant id (`pg_id`) a payment must carry, when set.
    pub pg_id: Option<String>,
    /// The browser SDK's URL.
    pub sdk_url: String,
    /// Webhook URL(s) sent with billing-key charges and schedules
    /// (`notice_url`), when set; otherwise the console's.
    pub notice_url: Option<String>,
    /// Retry policy for every call.
    pub retry: RetryPolicy,
}

impl PortOneV1Config {
    /// Sandbox defaults against the sandbox at `sandbox_base` (its V1 REST
    /// API is under `/iamport`, its SDK at `/v1/iamport.js`).
    pub fn sandbox(sandbox_base: &str) -> Self {
        let base = sandbox_base.trim_end_matches('/');
        PortOneV1Config {
            mode: Mode::Sandbox,
            api_base: format!("{base}/iamport"),
            imp_key: DEFAULT_SANDBOX_V1_IMP_KEY.to_owned(),
            imp_secret: DEFAULT_SANDBOX_V1_IMP_SECRET.to_owned(),
            user_code: DEFAULT_SANDBOX_V1_USER_CODE.to_owned(),
            channel_key: DEFAULT_SANDBOX_CHANNEL_KEY.to_owned(),
            pg_provider: DEFAULT_V1_PG_PROVIDER.to_owned(),
            pg_id: None,
            sdk_url: format!("{base}/v1/iamport.js"),
            notice_url: None,
            retry: RetryPolicy::default(),
        }
    }

    /// Live settings: the real V1 API and CDN, the merchant's own key,
    /// secret, user code and channel.
    pub fn live(
        imp_key: impl Into<String>,
        imp_secret: impl Into<String>,
        user_code: impl Into<String>,
        channel_key: impl Into<String>,
    ) -> Self {
        PortOneV1Config {
            mode: Mode::Live,
            api_base: LIVE_V1_API_BASE.to_owned(),
            imp_key: imp_key.into(),
            imp_secret: imp_secret.into(),
            user_code: user_code.into(),
            channel_key: channel_key.into(),
            pg_provider: DEFAULT_V1_PG_PROVIDER.to_owned(),
            pg_id: None,
            sdk_url: LIVE_V1_SDK_URL.to_owned(),
            notice_url: None,
            retry: RetryPolicy::default(),
        }
    }

    /// Checks the mode's rules: live mode has a real key and secret and an
    /// https API; sandbox mode never points at the real V1 API.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let base = self.api_base.trim_end_matches('/');
        match self.mode {
            Mode::Live => {
                let sandbox_key = self.imp_key == DEFAULT_SANDBOX_V1_IMP_KEY;
                let sandbox_secret = self.imp_secret == DEFAULT_SANDBOX_V1_IMP_SECRET;
                if self.imp_key.trim().is_empty() || self.imp_secret.trim().is_empty() || sandbox_key || sandbox_secret
                {
                    return Err(ConfigError::LiveV1Secret);
                }
                if !base.starts_with("https://") {
                    return Err(ConfigError::LiveV1ApiBase(self.api_base.clone()));
                }
            }
            Mode::Sandbox => {
                if base.eq_ignore_ascii_case(LIVE_V1_API_BASE) {
                    return Err(ConfigError::SandboxAgainstLiveV1);
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for PortOneV1Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortOneV1Config")
            .field("mode", &self.mode)
            .field("api_base", &self.api_base)
            .field("imp_key", &self.imp_key)
            .field("imp_secret", &"<redacted>")
            .field("user_code", &self.user_code)
            .field("channel_key", &self.channel_key)
            .field("pg_provider", &self.pg_provider)
            .field("pg_id", &self.pg_id)
            .field("sdk_url", &self.sdk_url)
            .field("notice_url", &self.notice_url)
            .field("retry", &self.retry)
            .finish()
    }
}

/// How to reach Toss Payments (direct, without PortOne), or the sandbox's
/// stand-in under `/toss`.
#[derive(Clone)]
pub struct TossConfig {
    /// REST API base, without trailing slash (`https://api.tosspayments.com`,
    /// or the sandbox's `http://127.0.0.1:8787/toss`).
    pub api_base: String,
    /// The client key (`test_ck_`/`live_ck_`): public, sent to browsers in
    /// `GET /toss/api/config`.
    pub client_key: String,
    /// The secret key (`test_sk_`/`live_sk_`): `Authorization: Basic
    /// base64(secretKey + ":")`. Environment only, never logged, never sent
    /// to a browser.
    pub secret_key: String,
    /// The token of the admin routes (`Authorization: Bearer <token>`):
    /// refunds. `None`: the admin routes answer 404. Environment only.
    pub admin_token: Option<String>,
    /// Where browsers load the SDK from (default: Toss's in live mode, the
    /// sandbox's `/toss/v2/standard` in sandbox mode).
    pub sdk_url: Option<String>,
    /// Retry policy for every call.
    pub retry: RetryPolicy,
}

impl TossConfig {
    /// The sandbox's keys, with the given API base (the sandbox's `/toss`).
    pub fn sandbox(api_base: impl Into<String>) -> Self {
        TossConfig {
            api_base: api_base.into(),
            client_key: DEFAULT_SANDBOX_TOSS_CLIENT_KEY.to_owned(),
            secret_key: DEFAULT_SANDBOX_TOSS_SECRET_KEY.to_owned(),
            admin_token: None,
            sdk_url: None,
            retry: RetryPolicy::default(),
        }
    }

    /// Live settings: Toss's API with the merchant's keys.
    pub fn live(client_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        TossConfig {
            api_base: LIVE_TOSS_API_BASE.to_owned(),
            client_key: client_key.into(),
            secret_key: secret_key.into(),
            admin_token: None,
            sdk_url: None,
            retry: RetryPolicy::default(),
        }
    }

    /// The SDK URL shown to browsers in `mode`.
    pub fn browser_sdk_url(&self, mode: Mode, sandbox_public_url: Option<&str>) -> String {
        if let Some(url) = &self.sdk_url {
            return url.clone();
        }
        match mode {
            Mode::Live => LIVE_TOSS_SDK_URL.to_owned(),
            Mode::Sandbox => match sandbox_public_url {
                Some(public) => format!("{}/toss/v2/standard", public.trim_end_matches('/')),
                None => format!("{}/v2/standard", self.api_base.trim_end_matches('/')),
            },
        }
    }

    /// Checks `mode`'s rules: live mode has live keys and an https API;
    /// sandbox mode never points at Toss's API nor holds live keys; the
    /// client key is never a secret key.
    pub fn validate(&self, mode: Mode) -> Result<(), ConfigError> {
        let is_secret = |k: &str| k.starts_with("test_sk_") || k.starts_with("live_sk_");
        if is_secret(self.client_key.trim()) {
            return Err(ConfigError::TossSecretAsClientKey);
        }
        let base = self.api_base.trim_end_matches('/');
        match mode {
            Mode::Live => {
                if !self.secret_key.trim().starts_with("live_sk_") || !self.client_key.trim().starts_with("live_ck_") {
                    return Err(ConfigError::LiveTossKeys);
                }
                if !base.starts_with("https://") {
                    return Err(ConfigError::LiveTossApiBase(self.api_base.clone()));
                }
            }
            Mode::Sandbox => {
                let live_key =
                    self.secret_key.trim().starts_with("live_") || self.client_key.trim().starts_with("live_");
                if base.eq_ignore_ascii_case(LIVE_TOSS_API_BASE) || live_key {
                    return Err(ConfigError::SandboxAgainstLiveToss);
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for TossConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TossConfig")
            .field("api_base", &self.api_base)
            .field("client_key", &self.client_key)
            .field("secret_key", &"<redacted>")
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<redacted>"))
            .field("sdk_url", &self.sdk_url)
            .field("retry", &self.retry)
            .finish()
    }
}

/// Days between subscription charges, unless configured
/// ([`ReconcileConfig::charge_interval`]).
pub const CHARGE_INTERVAL_DAYS: u64 = 30;

/// The reconciler's settings (see [`crate::reconcile`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileConfig {
    /// Whether the periodic sweep runs (it always can be run by hand with
    /// [`crate::reconcile::run_once`]). Default: on.
    pub enabled: bool,
    /// Time between sweeps, and the least time since an order's last sync
    /// before the sweep reads it again (`CHECKOUT_RECONCILE_SECS`). Default:
    /// 60 s.
    pub interval: Duration,
    /// How long an order that was never paid stays payable before it
    /// expires and is no longer read at PortOne (`CHECKOUT_PENDING_TTL_SECS`).
    /// Default: 24 h.
    pub pending_ttl: Duration,
    /// Orders synced at once. Default: 4.
    pub concurrency: usize,
    /// The subscription period: a paid charge writes the next one this much
    /// later (`CHECKOUT_CHARGE_INTERVAL_SECS`). Default: 30 days.
    pub charge_interval: Duration,
    /// How long a claim on an order lasts: a reconciler's lease while it
    /// syncs the order, and one cancel attempt (`CHECKOUT_LEASE_SECS`). The
    /// work a claim covers is cut off at [`ReconcileConfig::work_budget`]
    /// (three quarters of it), so a live process always gives its claim back
    /// in time and only one that died lets it run out: the order is then
    /// taken up again at most this long after the crash. Default: 60 s.
    pub lease: Duration,
}

impl ReconcileConfig {
    /// How long the work under one claim may take before it is abandoned
    /// (and retried by the next sync): three quarters of the lease as
    /// stored ([`ReconcileConfig::lease_secs`]), leaving the rest for the
    /// database, so the work always ends before the stored claim does.
    pub fn work_budget(&self) -> Duration {
        Duration::from_secs(self.lease_secs().unsigned_abs()).mul_f64(0.75)
    }

    /// [`ReconcileConfig::lease`] in whole seconds (at least 1), as stored.
    pub fn lease_secs(&self) -> i64 {
        i64::try_from(self.lease.as_secs()).unwrap_or(i64::MAX).max(1)
    }
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        ReconcileConfig {
            enabled: true,
            interval: Duration::from_secs(60),
            pending_ttl: Duration::from_secs(24 * 60 * 60),
            concurrency: 4,
            charge_interval: Duration::from_secs(CHARGE_INTERVAL_DAYS * 24 * 60 * 60),
            lease: Duration::from_secs(60),
        }
    }
}

/// Per-client rate limit and request limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Requests a client may burst on the rate-limited routes (prepare,
    /// complete, charge). `0` turns the limit off. Default: 30.
    pub rate_burst: u32,
    /// One request's worth of allowance comes back every this long.
    /// Default: 1 s (60 a minute once the burst is spent).
    pub rate_refill: Duration,
    /// Use `X-Forwarded-For` / `Forwarded` to tell clients apart (only
    /// behind a proxy that sets them; otherwise clients can forge them).
    /// Default: off (the peer address).
    pub trust_forwarded_for: bool,
    /// The longest a request may take before it is answered 408.
    /// Default: 60 s.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            rate_burst: 30,
            rate_refill: Duration::from_secs(1),
            trust_forwarded_for: false,
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Everything [`crate::serve`] needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listen address (`127.0.0.1:0` picks a free port).
    pub addr: SocketAddr,
    /// The database: an SQLite file or PostgreSQL.
    pub database: Database,
    /// Directory of the trunk-built demo to serve (SPA fallback to
    /// `index.html`), if any.
    pub static_dir: Option<PathBuf>,
    /// PortOne settings.
    pub portone: PortOneConfig,
    /// PortOne V1 settings: `Some` serves the contract for V1 under `/v1`
    /// (on by default in sandbox mode).
    pub portone_v1: Option<PortOneV1Config>,
    /// Toss Payments settings, when the server also speaks Toss (mounted
    /// under `/toss`).
    pub toss: Option<TossConfig>,
    /// Base URL browsers should load the sandbox SDK from, when it differs
    /// from `portone.api_base` (sandbox mode only).
    pub sandbox_public_url: Option<String>,
    /// Extra origins allowed by CORS on `/api` (loopback origins always are).
    pub cors_origins: Vec<String>,
    /// The reconciler.
    pub reconcile: ReconcileConfig,
    /// Rate limit and timeouts.
    pub limits: Limits,
}

impl Config {
    /// Sandbox defaults: `127.0.0.1:8080`, `./data/checkout.db`, the sandbox
    /// at [`DEFAULT_SANDBOX_BASE`] for PortOne V2 and Toss Payments.
    pub fn sandbox_default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: Database::Sqlite(PathBuf::from("./data/checkout.db")),
            static_dir: None,
            portone: PortOneConfig::sandbox(DEFAULT_SANDBOX_BASE),
            portone_v1: Some(PortOneV1Config::sandbox(DEFAULT_SANDBOX_BASE)),
            toss: Some(TossConfig::sandbox(format!("{DEFAULT_SANDBOX_BASE}/toss"))),
            sandbox_public_url: None,
            cors_origins: Vec::new(),
            reconcile: ReconcileConfig::default(),
            limits: Limits::default(),
        }
    }

    /// The Toss SDK URL shown to browsers, when Toss is configured.
    pub fn toss_sdk_url(&self) -> Option<String> {
        let toss = self.toss.as_ref()?;
        Some(toss.browser_sdk_url(self.portone.mode(), self.sandbox_public_url.as_deref()))
    }

    /// The SDK URL shown to browsers.
    pub fn sdk_url(&self) -> String {
        match self.portone.mode() {
            Mode::Live => LIVE_SDK_URL.to_owned(),
            Mode::Sandbox => {
                let base = self.sandbox_public_url.as_deref().unwrap_or(&self.portone.api_base);
                format!("{}/v2/browser-sdk.js", base.trim_end_matches('/'))
            }
        }
    }

    /// The V1 SDK URL shown to browsers (`None` when V1 is off): the
    /// configured one, or in sandbox mode the public sandbox URL's when set.
    pub fn v1_sdk_url(&self) -> Option<String> {
        let v1 = self.portone_v1.as_ref()?;
        Some(match (v1.mode, &self.sandbox_public_url) {
            (Mode::Sandbox, Some(public)) => format!("{}/v1/iamport.js", public.trim_end_matches('/')),
            _ => v1.sdk_url.clone(),
        })
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_database_url_is_postgres_or_an_sqlite_path() {
        let pg = Database::parse("postgres://shop:hunter2@db.internal:5433/checkout?sslmode=require").expect("pg");
        let Database::Postgres(url) = &pg else {
            panic!("not PostgreSQL: {pg:?}");
        };
        assert_eq!(url.to_string(), "postgres://shop@db.internal:5433/checkout");
        assert!(!format!("{pg:?}").contains("hunter2"), "the password is never shown");
        assert!(matches!(
            Database::parse("postgresql://u@h/d"),
            Ok(Database::Postgres(_))
        ));
        for (url, path) in [
            ("./data/checkout.db", "./data/checkout.db"),
            ("sqlite:data/x.db", "data/x.db"),
            ("sqlite://data/x.db?mode=rwc", "data/x.db"),
        ] {
            match Database::parse(url) {
                Ok(Database::Sqlite(p)) => assert_eq!(p, PathBuf::from(path)),
                other => panic!("{url}: {other:?}"),
            }
        }
        let err = Database::parse("mysql://u@h/d").expect_err("mysql").to_string();
        assert!(err.contains("DATABASE_URL") && err.contains("mysql"), "{err}");
        assert!(Database::parse("sqlite:").is_err());
        assert!(Database::parse("postgres://u@h:notaport/d").is_err());
    }

    use super::*;

    #[test]
    fn debug_output_never_contains_secrets() {
        let mut config = Config::sandbox_default();
        config.portone.api_secret = "super-secret-value".into();
        config.portone.webhook_secrets = vec!["whsec_AAAA".into(), "whsec_BBBB".into()];
        let shown = format!("{config:?}");
        assert!(!shown.contains("super-secret-value"), "{shown}");
        assert!(!shown.contains("whsec_"), "{shown}");
        assert!(shown.contains("store-sandbox"));
    }

    #[test]
    fn the_mode_is_explicit_and_picks_the_sdk_url() {
        let mut config = Config::sandbox_default();
        assert_eq!(config.portone.mode(), Mode::Sandbox);
        assert_eq!(config.sdk_url(), "http://127.0.0.1:8787/v2/browser-sdk.js");
        config.sandbox_public_url = Some("http://localhost:9000/".into());
        assert_eq!(config.sdk_url(), "http://localhost:9000/v2/browser-sdk.js");
        // An API base alone never switches to live.
        config.portone.api_base = "https://api.portone.io/".into();
        assert_eq!(config.portone.mode(), Mode::Sandbox);
        config.portone = PortOneConfig::live("real-secret", vec!["whsec_AAAA".into()], "store-1", "ck");
        assert_eq!(config.portone.mode(), Mode::Live);
        assert_eq!(config.sdk_url(), LIVE_SDK_URL);
        assert_eq!(Mode::parse(" Live "), Ok(Mode::Live));
        assert!(Mode::parse("production").is_err());
    }

    #[test]
    fn live_mode_refuses_missing_or_sandbox_secrets() {
        let live = |secret: &str, hooks: Vec<&str>| {
            PortOneConfig::live(secret, hooks.into_iter().map(str::to_owned).collect(), "store-1", "ck").validate()
        };
        assert_eq!(live("real", vec!["whsec_AAAA"]), Ok(()));
        assert_eq!(live("", vec!["whsec_AAAA"]), Err(ConfigError::LiveApiSecret));
        assert_eq!(
            live(DEFAULT_SANDBOX_API_SECRET, vec!["whsec_AAAA"]),
            Err(ConfigError::LiveApiSecret)
        );
        assert_eq!(live("real", vec![]), Err(ConfigError::LiveWebhookSecret));
        assert_eq!(
            live("real", vec!["whsec_AAAA", DEFAULT_SANDBOX_WEBHOOK_SECRET]),
            Err(ConfigError::LiveWebhookSecret)
        );
        let mut plain = PortOneConfig::live("real", vec!["whsec_AAAA".into()], "s", "c");
        plain.api_base = "http://api.portone.io".into();
        assert!(matches!(plain.validate(), Err(ConfigError::LiveApiBase(_))));
        // The messages say what to set.
        assert!(ConfigError::LiveApiSecret.to_string().contains("PORTONE_API_SECRET"));
    }

    #[test]
    fn the_toss_secret_key_and_admin_token_never_show_in_debug_output() {
        let mut config = Config::sandbox_default();
        if let Some(t) = config.toss.as_mut() {
            t.admin_token = Some("admin-token-value".into());
        }
        let shown = format!("{config:?}");
        assert!(!shown.contains(DEFAULT_SANDBOX_TOSS_SECRET_KEY), "{shown}");
        assert!(!shown.contains("test_sk_"), "{shown}");
        assert!(!shown.contains("admin-token-value"), "{shown}");
        assert!(
            shown.contains(DEFAULT_SANDBOX_TOSS_CLIENT_KEY),
            "the client key is public: {shown}"
        );
    }

    #[test]
    fn toss_live_mode_needs_live_keys_and_test_keys_are_refused() {
        assert_eq!(TossConfig::live("live_ck_a", "live_sk_b").validate(Mode::Live), Ok(()));
        assert_eq!(
            TossConfig::live("live_ck_a", "test_sk_b").validate(Mode::Live),
            Err(ConfigError::LiveTossKeys)
        );
        assert_eq!(
            TossConfig::live("test_ck_a", "live_sk_b").validate(Mode::Live),
            Err(ConfigError::LiveTossKeys)
        );
        assert_eq!(
            TossConfig::live("live_ck_a", "").validate(Mode::Live),
            Err(ConfigError::LiveTossKeys)
        );
        let sandbox_keys = TossConfig {
            api_base: LIVE_TOSS_API_BASE.into(),
            ..TossConfig::sandbox("x")
        };
        assert_eq!(sandbox_keys.validate(Mode::Live), Err(ConfigError::LiveTossKeys));
        let mut plain = TossConfig::live("live_ck_a", "live_sk_b");
        plain.api_base = "http://api.tosspayments.com".into();
        assert!(matches!(
            plain.validate(Mode::Live),
            Err(ConfigError::LiveTossApiBase(_))
        ));
        assert!(ConfigError::LiveTossKeys.to_string().contains("TOSS_SECRET_KEY"));
    }

    #[test]
    fn toss_sandbox_mode_refuses_the_real_api_live_keys_and_a_secret_client_key() {
        assert_eq!(
            TossConfig::sandbox("http://127.0.0.1:8787/toss").validate(Mode::Sandbox),
            Ok(())
        );
        assert_eq!(
            TossConfig::sandbox(LIVE_TOSS_API_BASE).validate(Mode::Sandbox),
            Err(ConfigError::SandboxAgainstLiveToss)
        );
        let mut live_keys = TossConfig::sandbox("http://127.0.0.1:8787/toss");
        live_keys.secret_key = "live_sk_real".into();
        assert_eq!(
            live_keys.validate(Mode::Sandbox),
            Err(ConfigError::SandboxAgainstLiveToss)
        );
        let mut swapped = TossConfig::sandbox("http://127.0.0.1:8787/toss");
        swapped.client_key = DEFAULT_SANDBOX_TOSS_SECRET_KEY.into();
        assert_eq!(swapped.validate(Mode::Sandbox), Err(ConfigError::TossSecretAsClientKey));
    }

    #[test]
    fn the_toss_sdk_url_follows_the_mode_and_the_sandbox() {
        let mut config = Config::sandbox_default();
        assert_eq!(
            config.toss_sdk_url().as_deref(),
            Some("http://127.0.0.1:8787/toss/v2/standard")
        );
        config.sandbox_public_url = Some("http://localhost:9000/".into());
        assert_eq!(
            config.toss_sdk_url().as_deref(),
            Some("http://localhost:9000/toss/v2/standard")
        );
        config.portone = PortOneConfig::live("real-secret", vec!["whsec_AAAA".into()], "store-1", "ck");
        assert_eq!(config.toss_sdk_url().as_deref(), Some(LIVE_TOSS_SDK_URL));
        config.toss = None;
        assert_eq!(config.toss_sdk_url(), None);
    }

    #[test]
    fn debug_output_never_contains_the_v1_secret() {
        let mut config = Config::sandbox_default();
        if let Some(v1) = config.portone_v1.as_mut() {
            v1.imp_secret = "v1-super-secret".into();
        }
        let shown = format!("{config:?}");
        assert!(!shown.contains("v1-super-secret"), "{shown}");
        assert!(shown.contains("imp00000000"), "{shown}");
    }

    #[test]
    fn v1_is_on_by_default_in_sandbox_mode_against_the_sandboxs_iamport() {
        let mut config = Config::sandbox_default();
        let v1 = config.portone_v1.clone().expect("V1 on by default");
        assert_eq!(v1.api_base, "http://127.0.0.1:8787/iamport");
        assert_eq!(v1.validate(), Ok(()));
        assert_eq!(
            config.v1_sdk_url().as_deref(),
            Some("http://127.0.0.1:8787/v1/iamport.js")
        );
        config.sandbox_public_url = Some("http://localhost:9000/".into());
        assert_eq!(
            config.v1_sdk_url().as_deref(),
            Some("http://localhost:9000/v1/iamport.js")
        );
        config.portone_v1 = None;
        assert_eq!(config.v1_sdk_url(), None);
    }

    #[test]
    fn live_v1_refuses_missing_or_sandbox_secrets_and_plain_http() {
        let live = |key: &str, secret: &str| PortOneV1Config::live(key, secret, "imp12345678", "ck").validate();
        assert_eq!(live("key", "secret"), Ok(()));
        assert_eq!(live("", "secret"), Err(ConfigError::LiveV1Secret));
        assert_eq!(live("key", " "), Err(ConfigError::LiveV1Secret));
        assert_eq!(
            live(DEFAULT_SANDBOX_V1_IMP_KEY, "secret"),
            Err(ConfigError::LiveV1Secret)
        );
        assert_eq!(
            live("key", DEFAULT_SANDBOX_V1_IMP_SECRET),
            Err(ConfigError::LiveV1Secret)
        );
        let mut plain = PortOneV1Config::live("key", "secret", "imp1", "ck");
        plain.api_base = "http://api.iamport.kr".into();
        assert!(matches!(plain.validate(), Err(ConfigError::LiveV1ApiBase(_))));
        assert_eq!(PortOneV1Config::live("k", "s", "u", "c").sdk_url, LIVE_V1_SDK_URL);
        assert!(ConfigError::LiveV1Secret.to_string().contains("PORTONE_V1_IMP_SECRET"));
    }

    #[test]
    fn sandbox_v1_refuses_the_real_v1_api() {
        let mut v1 = PortOneV1Config::sandbox(DEFAULT_SANDBOX_BASE);
        v1.api_base = "https://api.iamport.kr/".into();
        assert_eq!(v1.validate(), Err(ConfigError::SandboxAgainstLiveV1));
    }

    #[test]
    fn sandbox_mode_refuses_the_real_api() {
        let mut config = PortOneConfig::sandbox("https://api.portone.io/");
        assert_eq!(config.validate(), Err(ConfigError::SandboxAgainstLive));
        config.api_base = DEFAULT_SANDBOX_BASE.into();
        assert_eq!(config.validate(), Ok(()));
    }
}
