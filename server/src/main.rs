//! `checkout-server`: the reference merchant backend (see the library docs).

use std::net::SocketAddr;
use std::path::PathBuf;

use std::time::Duration;

use checkout_server::config::{
    Config, Limits, ReconcileConfig, CHARGE_INTERVAL_DAYS, DEFAULT_SANDBOX_API_SECRET, DEFAULT_SANDBOX_BASE,
    DEFAULT_SANDBOX_CHANNEL_KEY, DEFAULT_SANDBOX_STORE_ID, DEFAULT_SANDBOX_TOSS_CLIENT_KEY,
    DEFAULT_SANDBOX_TOSS_SECRET_KEY, DEFAULT_SANDBOX_V1_IMP_KEY, DEFAULT_SANDBOX_V1_IMP_SECRET,
    DEFAULT_SANDBOX_V1_USER_CODE, DEFAULT_SANDBOX_WEBHOOK_SECRET, DEFAULT_V1_PG_PROVIDER, LIVE_API_BASE,
    LIVE_V1_API_BASE, LIVE_V1_SDK_URL,
};
use checkout_server::{Mode, PortOneConfig, PortOneV1Config, TossConfig};
use clap::Parser;

/// Reference merchant backend for portone-checkout.
///
/// Secrets come only from the environment: PORTONE_API_SECRET and
/// PORTONE_WEBHOOK_SECRET (comma-separated, at most two, for rotation),
/// TOSS_SECRET_KEY and CHECKOUT_ADMIN_TOKEN, and for PortOne V1
/// PORTONE_V1_IMP_SECRET.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Listen address.
    #[arg(long, env = "CHECKOUT_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The database: `postgres://user:password@host:port/database` for
    /// PostgreSQL (several replicas may share it), else an SQLite file
    /// (`sqlite:PATH`, or a plain path).
    #[arg(
        long = "db",
        env = "DATABASE_URL",
        default_value = "./data/checkout.db",
        hide_env_values = true
    )]
    db: String,
    /// Directory of the trunk-built demo to serve (SPA fallback to index.html).
    #[arg(long)]
    static_dir: Option<PathBuf>,
    /// `sandbox` (the default: the sandbox's public secrets are allowed) or
    /// `live` (real money: PORTONE_API_SECRET and PORTONE_WEBHOOK_SECRET are
    /// required).
    #[arg(long, env = "CHECKOUT_MODE", default_value = "sandbox")]
    mode: String,
    /// PortOne REST API base. Default: the sandbox in sandbox mode,
    /// `https://api.portone.io` in live mode.
    #[arg(long, env = "PORTONE_API_BASE")]
    portone_api_base: Option<String>,
    /// PortOne store id.
    #[arg(long, env = "PORTONE_STORE_ID", default_value = DEFAULT_SANDBOX_STORE_ID)]
    store_id: String,
    /// PortOne channel key (TossPay).
    #[arg(long, env = "PORTONE_CHANNEL_KEY", default_value = DEFAULT_SANDBOX_CHANNEL_KEY)]
    channel_key: String,
    /// PG of the channel.
    #[arg(long, env = "PORTONE_CHANNEL_PG", default_value = "tosspay_v2")]
    channel_pg: String,
    /// Other channel keys whose payments are accepted (comma-separated).
    /// Default in sandbox mode: the sandbox's card channel.
    #[arg(long, env = "PORTONE_OTHER_CHANNEL_KEYS", value_delimiter = ',')]
    other_channel_keys: Option<Vec<String>>,
    /// Base URL browsers load the sandbox SDK from (sandbox mode), when it
    /// differs from the API base.
    #[arg(long, env = "SANDBOX_PUBLIC_URL")]
    sandbox_public_url: Option<String>,
    /// Extra CORS origins for /api (comma-separated); loopback origins are
    /// always allowed.
    #[arg(long, env = "CHECKOUT_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
    /// Seconds between reconciler sweeps (and the least age of a sync before
    /// an order is read again).
    #[arg(long, env = "CHECKOUT_RECONCILE_SECS", default_value_t = 60)]
    reconcile_secs: u64,
    /// The subscription period in seconds: a paid charge writes the next one
    /// this much later (default 30 days).
    #[arg(long, env = "CHECKOUT_CHARGE_INTERVAL_SECS", default_value_t = CHARGE_INTERVAL_DAYS * 24 * 60 * 60)]
    charge_interval_secs: u64,
    /// Seconds a claim on an order lasts (a reconciler's lease, a cancel
    /// attempt): the work under it is cut off at three quarters of this, so
    /// only a crashed process lets one run out, and its orders are taken up
    /// again this long after the crash at most (at least 4).
    #[arg(long, env = "CHECKOUT_LEASE_SECS", default_value_t = 60)]
    lease_secs: u64,
    /// Seconds an unpaid order stays payable before it expires.
    #[arg(long, env = "CHECKOUT_PENDING_TTL_SECS", default_value_t = 24 * 60 * 60)]
    pending_ttl_secs: u64,
    /// Requests a client may burst on prepare, complete and charge (0: no
    /// limit).
    #[arg(long, env = "CHECKOUT_RATE_BURST", default_value_t = 30)]
    rate_burst: u32,
    /// Milliseconds for one request's allowance to come back.
    #[arg(long, env = "CHECKOUT_RATE_REFILL_MS", default_value_t = 1000)]
    rate_refill_ms: u64,
    /// Tell clients apart by X-Forwarded-For / Forwarded (only behind a proxy
    /// that sets them).
    #[arg(long, env = "CHECKOUT_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// Seconds a request may take before it is answered 408.
    #[arg(long, env = "CHECKOUT_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    request_timeout_secs: u64,
    /// Toss Payments (direct) under /toss: `auto` (on in sandbox mode; in
    /// live mode, on when TOSS_SECRET_KEY is set), `on` or `off`.
    #[arg(long, env = "TOSS", default_value = "auto")]
    toss: String,
    /// Toss Payments REST API base. Default: the sandbox's `/toss` in
    /// sandbox mode, `https://api.tosspayments.com` in live mode.
    #[arg(long, env = "TOSS_API_BASE")]
    toss_api_base: Option<String>,
    /// Toss Payments client key (public: sent to browsers). Default in
    /// sandbox mode: the sandbox's.
    #[arg(long, env = "TOSS_CLIENT_KEY")]
    toss_client_key: Option<String>,
    /// Serve PortOne V1 (TossPay) under /v1 too (`true`/`false`). Default:
    /// on in sandbox mode, off in live mode (where it then needs
    /// PORTONE_V1_IMP_KEY and PORTONE_V1_IMP_SECRET).
    #[arg(long, env = "PORTONE_V1")]
    portone_v1: Option<bool>,
    /// PortOne V1 REST API base. Default: the sandbox's /iamport in sandbox
    /// mode, `https://api.iamport.kr` in live mode.
    #[arg(long, env = "PORTONE_V1_API_BASE")]
    portone_v1_api_base: Option<String>,
    /// PortOne V1 REST API key (`imp_key`). Default in sandbox mode: the
    /// sandbox's.
    #[arg(long, env = "PORTONE_V1_IMP_KEY")]
    portone_v1_imp_key: Option<String>,
    /// PortOne V1 user code (`IMP.init`).
    #[arg(long, env = "PORTONE_V1_USER_CODE", default_value = DEFAULT_SANDBOX_V1_USER_CODE)]
    portone_v1_user_code: String,
    /// PortOne V1 TossPay channel key (`channelKey`).
    #[arg(long, env = "PORTONE_V1_CHANNEL_KEY", default_value = DEFAULT_SANDBOX_CHANNEL_KEY)]
    portone_v1_channel_key: String,
    /// The PG V1 payments must be made with (`pg_provider`).
    #[arg(long, env = "PORTONE_V1_PG_PROVIDER", default_value = DEFAULT_V1_PG_PROVIDER)]
    portone_v1_pg_provider: String,
    /// The PG merchant id V1 payments must carry (`pg_id`), if any.
    #[arg(long, env = "PORTONE_V1_PG_ID")]
    portone_v1_pg_id: Option<String>,
    /// Webhook URL sent with V1 billing-key charges and schedules
    /// (`notice_url`), e.g. `https://shop.example/v1/api/webhooks/portone-v1`.
    #[arg(long, env = "PORTONE_V1_NOTICE_URL")]
    portone_v1_notice_url: Option<String>,
}

/// PortOne V1's settings from the flags and the environment (`None`: off).
fn portone_v1(args: &Args, mode: Mode) -> anyhow::Result<Option<PortOneV1Config>> {
    let live = mode == Mode::Live;
    if !args.portone_v1.unwrap_or(!live) {
        return Ok(None);
    }
    let sandbox_base = args.portone_api_base.as_deref().unwrap_or(DEFAULT_SANDBOX_BASE);
    let mut v1 = PortOneV1Config::sandbox(sandbox_base);
    v1.mode = mode;
    if live {
        v1.api_base = LIVE_V1_API_BASE.into();
        v1.sdk_url = LIVE_V1_SDK_URL.into();
    }
    if let Some(base) = &args.portone_v1_api_base {
        v1.api_base = base.trim_end_matches('/').to_owned();
    }
    match (&args.portone_v1_imp_key, secret_env("PORTONE_V1_IMP_SECRET")) {
        (Some(key), Some(secret)) => {
            v1.imp_key = key.clone();
            v1.imp_secret = secret;
        }
        _ if live => anyhow::bail!("{}", checkout_server::ConfigError::LiveV1Secret),
        (key, secret) => {
            v1.imp_key = key.clone().unwrap_or_else(|| DEFAULT_SANDBOX_V1_IMP_KEY.into());
            v1.imp_secret = secret.unwrap_or_else(|| DEFAULT_SANDBOX_V1_IMP_SECRET.into());
        }
    }
    v1.user_code = args.portone_v1_user_code.clone();
    v1.channel_key = args.portone_v1_channel_key.clone();
    v1.pg_provider = args.portone_v1_pg_provider.clone();
    v1.pg_id = args.portone_v1_pg_id.clone().filter(|s| !s.trim().is_empty());
    v1.notice_url = args.portone_v1_notice_url.clone().filter(|s| !s.trim().is_empty());
    v1.validate()?;
    Ok(Some(v1))
}

fn secret_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.trim().is_empty())
}

/// Toss Payments' settings from the flags and the environment (the secret
/// key and the admin token from the environment only). Sandbox keys are
/// used only in sandbox mode; live mode refuses test keys.
fn toss_config(
    switch: &str,
    mode: Mode,
    portone_base: &str,
    api_base: Option<String>,
    client_key: Option<String>,
) -> anyhow::Result<Option<TossConfig>> {
    let secret = secret_env("TOSS_SECRET_KEY");
    let enabled = match switch.trim().to_ascii_lowercase().as_str() {
        "on" => true,
        "off" => false,
        "auto" => mode == Mode::Sandbox || secret.is_some(),
        other => anyhow::bail!("TOSS must be `auto`, `on` or `off`, got {other:?}"),
    };
    if !enabled {
        return Ok(None);
    }
    let mut toss = match mode {
        Mode::Sandbox => TossConfig::sandbox(format!("{}/toss", portone_base.trim_end_matches('/'))),
        Mode::Live => TossConfig::live(String::new(), String::new()),
    };
    if let Some(base) = api_base {
        toss.api_base = base.trim_end_matches('/').to_owned();
    }
    match (client_key, mode) {
        (Some(k), _) => toss.client_key = k,
        (None, Mode::Sandbox) => toss.client_key = DEFAULT_SANDBOX_TOSS_CLIENT_KEY.into(),
        (None, Mode::Live) => anyhow::bail!("{}", checkout_server::ConfigError::LiveTossKeys),
    }
    match (secret, mode) {
        (Some(s), _) => toss.secret_key = s,
        (None, Mode::Sandbox) => toss.secret_key = DEFAULT_SANDBOX_TOSS_SECRET_KEY.into(),
        (None, Mode::Live) => anyhow::bail!("{}", checkout_server::ConfigError::LiveTossKeys),
    }
    toss.admin_token = secret_env("CHECKOUT_ADMIN_TOKEN");
    toss.validate(mode)?;
    Ok(Some(toss))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let args = Args::parse();
    let mode = Mode::parse(&args.mode)?;
    let portone_v1 = portone_v1(&args, mode)?;
    let default_base = match mode {
        Mode::Sandbox => DEFAULT_SANDBOX_BASE,
        Mode::Live => LIVE_API_BASE,
    };
    let base = args.portone_api_base.as_deref().unwrap_or(default_base);
    let mut portone = PortOneConfig::sandbox(base.trim_end_matches('/'));
    portone.mode = mode;
    let live = mode == Mode::Live;
    portone.store_id = args.store_id;
    portone.channel_key = args.channel_key;
    portone.channel_pg = args.channel_pg;
    match args.other_channel_keys {
        Some(keys) => portone.other_channel_keys = keys.into_iter().filter(|k| !k.trim().is_empty()).collect(),
        None if live => portone.other_channel_keys.clear(),
        None => {}
    }
    // Sandbox secrets are used only in sandbox mode; live mode refuses to
    // start without real ones (validated again by the server).
    match secret_env("PORTONE_API_SECRET") {
        Some(s) => portone.api_secret = s,
        None if live => anyhow::bail!("{}", checkout_server::ConfigError::LiveApiSecret),
        None => portone.api_secret = DEFAULT_SANDBOX_API_SECRET.into(),
    }
    match secret_env("PORTONE_WEBHOOK_SECRET") {
        Some(s) => {
            let secrets: Vec<String> = s
                .split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect();
            if secrets.len() > 2 {
                anyhow::bail!("PORTONE_WEBHOOK_SECRET holds at most two secrets");
            }
            portone.webhook_secrets = secrets;
        }
        None if live => anyhow::bail!("{}", checkout_server::ConfigError::LiveWebhookSecret),
        None => portone.webhook_secrets = vec![DEFAULT_SANDBOX_WEBHOOK_SECRET.into()],
    }
    portone.validate()?;
    let toss = toss_config(&args.toss, mode, base, args.toss_api_base, args.toss_client_key)?;
    let database = checkout_server::Database::parse(&args.db)?;
    let config = Config {
        addr: args.addr,
        database,
        static_dir: args.static_dir,
        portone,
        toss,
        portone_v1,
        sandbox_public_url: args.sandbox_public_url,
        cors_origins: args.cors_origins,
        reconcile: ReconcileConfig {
            interval: Duration::from_secs(args.reconcile_secs.max(1)),
            pending_ttl: Duration::from_secs(args.pending_ttl_secs),
            charge_interval: Duration::from_secs(args.charge_interval_secs.max(1)),
            lease: Duration::from_secs(args.lease_secs.max(4)),
            ..ReconcileConfig::default()
        },
        limits: Limits {
            rate_burst: args.rate_burst,
            rate_refill: Duration::from_millis(args.rate_refill_ms.max(1)),
            trust_forwarded_for: args.trust_forwarded_for,
            request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
        },
    };
    tracing::info!(?config, "starting");
    let server = checkout_server::serve(config).await?;
    println!("checkout-server listening on {}", server.base_url());
    tokio::signal::ctrl_c().await?;
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
}
