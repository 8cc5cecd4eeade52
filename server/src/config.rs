//! Server configuration: where to listen, the database, PortOne settings.
//!
//! Secrets (`api_secret`, `webhook_secrets`) are only ever read from the
//! environment by the binary; [`Config`]'s `Debug` redacts them and they are
//! never part of [`portone_checkout::protocol::ClientConfig`].

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The real PortOne REST API base URL. Any other base means sandbox mode.
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

/// Whether the server talks to the real PortOne or to a sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Any API base other than [`LIVE_API_BASE`].
    Sandbox,
    /// [`LIVE_API_BASE`]: payments must come from a `LIVE` channel.
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
    /// PG of that channel, e.g. `tosspay_v2`.
    pub channel_pg: String,
    /// Retry policy for every call.
    pub retry: RetryPolicy,
}

impl PortOneConfig {
    /// Sandbox defaults with the given API base.
    pub fn sandbox(api_base: impl Into<String>) -> Self {
        PortOneConfig {
            api_base: api_base.into(),
            api_secret: DEFAULT_SANDBOX_API_SECRET.to_owned(),
            webhook_secrets: vec![DEFAULT_SANDBOX_WEBHOOK_SECRET.to_owned()],
            store_id: DEFAULT_SANDBOX_STORE_ID.to_owned(),
            channel_key: DEFAULT_SANDBOX_CHANNEL_KEY.to_owned(),
            channel_pg: "tosspay_v2".to_owned(),
            retry: RetryPolicy::default(),
        }
    }

    /// [`Mode::Live`] when the base is the real PortOne API.
    pub fn mode(&self) -> Mode {
        if self.api_base.trim_end_matches('/') == LIVE_API_BASE {
            Mode::Live
        } else {
            Mode::Sandbox
        }
    }
}

impl fmt::Debug for PortOneConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortOneConfig")
            .field("api_base", &self.api_base)
            .field("api_secret", &"<redacted>")
            .field(
                "webhook_secrets",
                &format_args!("<{} redacted>", self.webhook_secrets.len()),
            )
            .field("store_id", &self.store_id)
            .field("channel_key", &self.channel_key)
            .field("channel_pg", &self.channel_pg)
            .field("retry", &self.retry)
            .finish()
    }
}

/// Everything [`crate::serve`] needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listen address (`127.0.0.1:0` picks a free port).
    pub addr: SocketAddr,
    /// SQLite file path (created with its parent directory).
    pub database_path: PathBuf,
    /// Directory of the trunk-built demo to serve (SPA fallback to
    /// `index.html`), if any.
    pub static_dir: Option<PathBuf>,
    /// PortOne settings.
    pub portone: PortOneConfig,
    /// Base URL browsers should load the sandbox SDK from, when it differs
    /// from `portone.api_base` (sandbox mode only).
    pub sandbox_public_url: Option<String>,
    /// Extra origins allowed by CORS on `/api` (loopback origins always are).
    pub cors_origins: Vec<String>,
}

impl Config {
    /// Sandbox defaults: `127.0.0.1:8080`, `./data/checkout.db`, the sandbox
    /// at [`DEFAULT_SANDBOX_BASE`].
    pub fn sandbox_default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_path: PathBuf::from("./data/checkout.db"),
            static_dir: None,
            portone: PortOneConfig::sandbox(DEFAULT_SANDBOX_BASE),
            sandbox_public_url: None,
            cors_origins: Vec::new(),
        }
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
}

#[cfg(test)]
mod tests {
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
    fn mode_is_live_only_for_the_real_api_and_picks_the_sdk_url() {
        let mut config = Config::sandbox_default();
        assert_eq!(config.portone.mode(), Mode::Sandbox);
        assert_eq!(config.sdk_url(), "http://127.0.0.1:8787/v2/browser-sdk.js");
        config.sandbox_public_url = Some("http://localhost:9000/".into());
        assert_eq!(config.sdk_url(), "http://localhost:9000/v2/browser-sdk.js");
        config.portone.api_base = "https://api.portone.io/".into();
        assert_eq!(config.portone.mode(), Mode::Live);
        assert_eq!(config.sdk_url(), LIVE_SDK_URL);
    }
}
