//! `cargo run -p portone-sandbox`: serve the sandbox (PortOne V2, PortOne V1 with TossPay, Toss Payments).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use portone_sandbox::{Channel, Faults, SandboxConfig};
use serde::Deserialize;

/// A local, stateful stand-in for PortOne V2, PortOne V1 and Toss Payments (SDKs, PG window, REST APIs, webhooks).
/// Precedence: built-in defaults < `--config` file < flags / environment.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Listen address.
    #[arg(long, env = "SANDBOX_ADDR")]
    addr: Option<SocketAddr>,
    /// Store id.
    #[arg(long, env = "SANDBOX_STORE_ID")]
    store_id: Option<String>,
    /// REST API secret (`Authorization: PortOne <secret>`).
    #[arg(long, env = "SANDBOX_API_SECRET")]
    api_secret: Option<String>,
    /// Webhook secret, `whsec_<base64>`.
    #[arg(long, env = "SANDBOX_WEBHOOK_SECRET")]
    webhook_secret: Option<String>,
    /// Webhook URL receiving every event (repeatable; env: comma-separated).
    #[arg(long = "webhook-url", env = "SANDBOX_WEBHOOK_URLS", value_delimiter = ',')]
    webhook_urls: Vec<String>,
    /// Accept `noticeUrls` and `/__sandbox/webhook-targets` URLs on any host
    /// (default: loopback only, 127.0.0.0/8, ::1 or localhost).
    #[arg(long, env = "SANDBOX_ALLOW_EXTERNAL_WEBHOOKS", value_parser = clap::builder::FalseyValueParser::new())]
    allow_external_webhooks: bool,
    /// TOML or JSON config file (fields as in README).
    #[arg(long, env = "SANDBOX_CONFIG")]
    config: Option<PathBuf>,
    /// Persist state to this JSON file (loaded at start when it exists).
    #[arg(long, env = "SANDBOX_STATE_FILE")]
    state_file: Option<PathBuf>,
    /// First webhook retry delay in ms (doubles per retry; default 1000).
    #[arg(long, env = "SANDBOX_WEBHOOK_RETRY_BASE_MS")]
    webhook_retry_base_ms: Option<u64>,
    /// Toss Payments client key (`TossPayments(clientKey)`; default `test_ck_...`).
    #[arg(long, env = "SANDBOX_TOSS_CLIENT_KEY")]
    toss_client_key: Option<String>,
    /// Toss Payments secret key (`Authorization: Basic base64("<secretKey>:")`; default `test_sk_...`).
    #[arg(long, env = "SANDBOX_TOSS_SECRET_KEY")]
    toss_secret_key: Option<String>,
    /// Toss: ms an authenticated payment (IN_PROGRESS) waits for the confirm before EXPIRED (default 600000).
    #[arg(long, env = "SANDBOX_TOSS_CONFIRM_TTL_MS")]
    toss_confirm_ttl_ms: Option<u64>,
    /// Toss: ms an opened, unauthenticated window (READY) lives before EXPIRED (default 1800000).
    #[arg(long, env = "SANDBOX_TOSS_READY_TTL_MS")]
    toss_ready_ttl_ms: Option<u64>,
    /// Fault: latency added to every REST request (ms).
    #[arg(long)]
    latency_ms: Option<u64>,
    /// Fault: share of REST requests answered 500 (0.0..=1.0).
    #[arg(long)]
    error_rate: Option<f64>,
    /// Fault: drop the connection after applying the next N REST requests.
    #[arg(long)]
    lose_responses: Option<u32>,
    /// Fault: refuse a repeat request within 1 s with 429 FORBIDDEN_CONSECUTIVE_REQUEST.
    #[arg(long)]
    consecutive_request_guard: bool,
    /// Fault scope: latency, errors and lost responses apply only to REST
    /// requests whose "METHOD /path" contains this (e.g. "/cancel").
    #[arg(long)]
    faults_only: Option<String>,
    /// Fault: delay every webhook event (ms).
    #[arg(long)]
    webhook_delay_ms: Option<u64>,
    /// Fault: deliver every webhook twice.
    #[arg(long)]
    webhook_duplicate: bool,
    /// Fault: reorder webhook events.
    #[arg(long)]
    webhook_reorder: bool,
    /// Fault: drop every webhook.
    #[arg(long)]
    webhook_drop: bool,
    /// PortOne V1: the merchant identification code `IMP.init` takes (default imp00000000).
    #[arg(long, env = "SANDBOX_V1_USER_CODE")]
    v1_user_code: Option<String>,
    /// PortOne V1: the REST `imp_key` (default sandbox-imp-key).
    #[arg(long, env = "SANDBOX_V1_IMP_KEY")]
    v1_imp_key: Option<String>,
    /// PortOne V1: the REST `imp_secret` (default sandbox-imp-secret).
    #[arg(long, env = "SANDBOX_V1_IMP_SECRET")]
    v1_imp_secret: Option<String>,
    /// PortOne V1: access token lifetime in seconds (default 1800).
    #[arg(long, env = "SANDBOX_V1_TOKEN_TTL_SECS")]
    v1_token_ttl_secs: Option<u64>,
}

/// The config file: every field optional, camelCase.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileConfig {
    addr: Option<SocketAddr>,
    store_id: Option<String>,
    merchant_id: Option<String>,
    api_secret: Option<String>,
    webhook_secret: Option<String>,
    channels: Option<Vec<Channel>>,
    webhook_urls: Option<Vec<String>>,
    allow_external_webhooks: Option<bool>,
    webhook_retry_base_ms: Option<u64>,
    webhook_timeout_ms: Option<u64>,
    faults: Option<Faults>,
    state_file: Option<PathBuf>,
    toss_client_key: Option<String>,
    toss_secret_key: Option<String>,
    toss_confirm_ttl_ms: Option<u64>,
    toss_ready_ttl_ms: Option<u64>,
    v1_user_code: Option<String>,
    v1_imp_key: Option<String>,
    v1_imp_secret: Option<String>,
    v1_token_ttl_secs: Option<u64>,
}

fn load_file(path: &PathBuf) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    } else {
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

fn build_config(args: Args) -> anyhow::Result<SandboxConfig> {
    let mut c = SandboxConfig::default();
    if let Some(path) = &args.config {
        let f = load_file(path)?;
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = f.$field { c.$field = v; } )* };
        }
        set!(
            addr,
            store_id,
            merchant_id,
            api_secret,
            webhook_secret,
            channels,
            webhook_urls,
            allow_external_webhooks,
            faults,
            v1_user_code,
            v1_imp_key,
            v1_imp_secret
        );
        if let Some(secs) = f.v1_token_ttl_secs {
            c.v1_token_ttl = Duration::from_secs(secs);
        }
        if let Some(ms) = f.webhook_retry_base_ms {
            c.webhook_retry_base = Duration::from_millis(ms);
        }
        if let Some(ms) = f.webhook_timeout_ms {
            c.webhook_timeout = Duration::from_millis(ms);
        }
        if f.state_file.is_some() {
            c.state_file = f.state_file;
        }
        if let Some(v) = f.toss_client_key {
            c.toss.client_key = v;
        }
        if let Some(v) = f.toss_secret_key {
            c.toss.secret_key = v;
        }
        if let Some(ms) = f.toss_confirm_ttl_ms {
            c.toss.confirm_ttl = Duration::from_millis(ms);
        }
        if let Some(ms) = f.toss_ready_ttl_ms {
            c.toss.ready_ttl = Duration::from_millis(ms);
        }
    }
    if let Some(v) = args.addr {
        c.addr = v;
    }
    if let Some(v) = args.store_id {
        c.store_id = v;
    }
    if let Some(v) = args.api_secret {
        c.api_secret = v;
    }
    if let Some(v) = args.webhook_secret {
        c.webhook_secret = v;
    }
    if !args.webhook_urls.is_empty() {
        c.webhook_urls = args.webhook_urls;
    }
    c.allow_external_webhooks |= args.allow_external_webhooks;
    if args.state_file.is_some() {
        c.state_file = args.state_file;
    }
    if let Some(ms) = args.webhook_retry_base_ms {
        c.webhook_retry_base = Duration::from_millis(ms);
    }
    if let Some(v) = args.toss_client_key {
        c.toss.client_key = v;
    }
    if let Some(v) = args.toss_secret_key {
        c.toss.secret_key = v;
    }
    if let Some(ms) = args.toss_confirm_ttl_ms {
        c.toss.confirm_ttl = Duration::from_millis(ms);
    }
    if let Some(ms) = args.toss_ready_ttl_ms {
        c.toss.ready_ttl = Duration::from_millis(ms);
    }
    if let Some(v) = args.latency_ms {
        c.faults.latency_ms = v;
    }
    if let Some(v) = args.error_rate {
        anyhow::ensure!((0.0..=1.0).contains(&v), "--error-rate must be between 0 and 1");
        c.faults.error_rate = v;
    }
    if let Some(v) = args.lose_responses {
        c.faults.lose_responses = v;
    }
    if args.faults_only.is_some() {
        c.faults.only = args.faults_only;
    }
    c.faults.consecutive_request_guard |= args.consecutive_request_guard;
    if let Some(v) = args.webhook_delay_ms {
        c.faults.webhook.delay_ms = v;
    }
    c.faults.webhook.duplicate |= args.webhook_duplicate;
    c.faults.webhook.reorder |= args.webhook_reorder;
    c.faults.webhook.drop |= args.webhook_drop;
    if let Some(v) = args.v1_user_code {
        c.v1_user_code = v;
    }
    if let Some(v) = args.v1_imp_key {
        c.v1_imp_key = v;
    }
    if let Some(v) = args.v1_imp_secret {
        c.v1_imp_secret = v;
    }
    if let Some(secs) = args.v1_token_ttl_secs {
        anyhow::ensure!(secs > 0, "--v1-token-ttl-secs must be positive");
        c.v1_token_ttl = Duration::from_secs(secs);
    }
    Ok(c)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let config = build_config(Args::parse())?;
    let sandbox = portone_sandbox::spawn(config).await?;
    let c = sandbox.config();
    println!(
        "Sandbox: PortOne V2, PortOne V1 with TossPay, Toss Payments (TEST ONLY: these secrets are sandbox secrets, printed on purpose)"
    );
    println!("  base URL        {}", sandbox.base_url());
    println!("  browser SDK     {}/v2/browser-sdk.js", sandbox.base_url());
    println!("  store id        {}", c.store_id);
    println!(
        "  API secret      {}   (Authorization: PortOne {})",
        c.api_secret, c.api_secret
    );
    println!("  webhook secret  {}", c.webhook_secret);
    for ch in &c.channels {
        println!(
            "  channel         {}  pg={}  payMethods={:?}  billingKeyMethods={:?}",
            ch.key, ch.pg_provider, ch.pay_methods, ch.billing_key_methods
        );
    }
    println!("  Toss SDK        {}/toss/v2/standard", sandbox.base_url());
    println!(
        "  Toss API base   {}/toss   (e.g. POST /toss/v1/payments/confirm)",
        sandbox.base_url()
    );
    println!("  Toss client key {}", c.toss.client_key);
    println!(
        "  Toss secret key {}   (Authorization: Basic base64(\"{}:\"))",
        c.toss.secret_key, c.toss.secret_key
    );
    println!(
        "  Toss deadlines  READY {:?}, IN_PROGRESS (confirm) {:?}",
        c.toss.ready_ttl, c.toss.confirm_ttl
    );
    println!("  webhook URLs    {:?}", c.webhook_urls);
    if c.allow_external_webhooks {
        println!("  noticeUrls      any http(s) host (--allow-external-webhooks)");
    } else {
        println!("  noticeUrls      loopback only (127.0.0.0/8, ::1, localhost); --allow-external-webhooks for others");
    }
    println!("  webhook retry   base {:?}, at most 5 retries", c.webhook_retry_base);
    if let Some(p) = &c.state_file {
        println!("  state file      {}", p.display());
    }
    println!("  faults          {:?}", c.faults);
    println!("PortOne V1 (I'mport) with TossPay");
    println!(
        "  V1 browser SDK  {}/v1/iamport.js   (IMP.init(\"{}\"))",
        sandbox.base_url(),
        c.v1_user_code
    );
    println!("  V1 REST base    {}/iamport/", sandbox.base_url());
    println!("  V1 user code    {}", c.v1_user_code);
    println!("  V1 imp_key      {}", c.v1_imp_key);
    println!("  V1 imp_secret   {}", c.v1_imp_secret);
    println!("  V1 token TTL    {:?}", c.v1_token_ttl);
    println!("  admin API       {}/__sandbox/ (loopback only)", sandbox.base_url());
    tokio::signal::ctrl_c().await?;
    sandbox.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_config_file_which_overrides_defaults() {
        let dir = std::env::temp_dir().join(format!("sandbox-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("sandbox.toml");
        std::fs::write(
            &file,
            "apiSecret = \"from-file\"\nstoreId = \"store-file\"\nv1UserCode = \"imp-from-file\"\nv1ImpKey = \"key-from-file\"\nv1TokenTtlSecs = 90\n[faults]\nlatencyMs = 7\n",
        )
        .expect("write");
        let args = Args::try_parse_from([
            "portone-sandbox",
            "--config",
            file.to_str().expect("utf-8 path"),
            "--api-secret",
            "from-flag",
            "--webhook-url",
            "http://127.0.0.1:1/a",
            "--webhook-url",
            "http://127.0.0.1:1/b",
            "--webhook-retry-base-ms",
            "50",
            "--webhook-drop",
            "--v1-imp-key",
            "key-from-flag",
        ])
        .expect("args");
        let c = build_config(args).expect("config");
        assert_eq!(c.v1_imp_key, "key-from-flag");
        assert_eq!(c.v1_user_code, "imp-from-file");
        assert_eq!(c.v1_imp_secret, portone_sandbox::DEFAULT_V1_IMP_SECRET);
        assert_eq!(c.v1_token_ttl, Duration::from_secs(90));
        assert_eq!(c.api_secret, "from-flag");
        assert_eq!(c.store_id, "store-file");
        assert_eq!(c.faults.latency_ms, 7);
        assert!(c.faults.webhook.drop);
        assert_eq!(c.webhook_urls.len(), 2);
        assert_eq!(c.webhook_retry_base, Duration::from_millis(50));
        assert_eq!(c.channels.len(), 2, "default channels kept");
        assert!(!c.allow_external_webhooks, "loopback-only webhooks by default");
        assert_eq!(c.faults.only, None);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn external_webhooks_and_the_fault_scope_come_from_the_file_or_the_flags() {
        let dir = std::env::temp_dir().join(format!("sandbox-cfg-ext-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("sandbox.json");
        std::fs::write(
            &file,
            r#"{"allowExternalWebhooks": true, "faults": {"failNext": 3, "only": "/cancel"}}"#,
        )
        .expect("write");
        let from_file =
            Args::try_parse_from(["portone-sandbox", "--config", file.to_str().expect("path")]).expect("args");
        let c = build_config(from_file).expect("config");
        assert!(c.allow_external_webhooks);
        assert_eq!((c.faults.fail_next, c.faults.only.as_deref()), (3, Some("/cancel")));
        let flags = Args::try_parse_from([
            "portone-sandbox",
            "--allow-external-webhooks",
            "--faults-only",
            "POST /payments/",
            "--lose-responses",
            "1",
        ])
        .expect("args");
        let c = build_config(flags).expect("config");
        assert!(c.allow_external_webhooks);
        assert_eq!(
            (c.faults.lose_responses, c.faults.only.as_deref()),
            (1, Some("POST /payments/"))
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn toss_keys_and_deadlines_come_from_the_file_or_the_flags() {
        let dir = std::env::temp_dir().join(format!("sandbox-cfg-toss-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("sandbox.toml");
        std::fs::write(
            &file,
            "tossClientKey = \"test_ck_file\"\ntossSecretKey = \"test_sk_file\"\ntossConfirmTtlMs = 5000\n",
        )
        .expect("write");
        let c = build_config(
            Args::try_parse_from(["portone-sandbox", "--config", file.to_str().expect("path")]).expect("args"),
        )
        .expect("config");
        assert_eq!(c.toss.client_key, "test_ck_file");
        assert_eq!(c.toss.secret_key, "test_sk_file");
        assert_eq!(c.toss.confirm_ttl, Duration::from_millis(5000));
        assert_eq!(c.toss.ready_ttl, Duration::from_secs(30 * 60), "default kept");
        let c = build_config(
            Args::try_parse_from([
                "portone-sandbox",
                "--config",
                file.to_str().expect("path"),
                "--toss-client-key",
                "test_ck_flag",
                "--toss-ready-ttl-ms",
                "700",
            ])
            .expect("args"),
        )
        .expect("config");
        assert_eq!(c.toss.client_key, "test_ck_flag");
        assert_eq!(c.toss.secret_key, "test_sk_file");
        assert_eq!(c.toss.ready_ttl, Duration::from_millis(700));
        let d = SandboxConfig::default();
        assert!(d.toss.client_key.starts_with("test_ck_") && d.toss.secret_key.starts_with("test_sk_"));
        assert_eq!(d.toss.confirm_ttl, Duration::from_secs(600));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn an_unknown_config_field_is_an_error() {
        let dir = std::env::temp_dir().join(format!("sandbox-cfg-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("sandbox.json");
        std::fs::write(&file, r#"{"apiSecrett": "typo"}"#).expect("write");
        let args = Args::try_parse_from(["portone-sandbox", "--config", file.to_str().expect("path")]).expect("args");
        assert!(build_config(args).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
