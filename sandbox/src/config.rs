//! Sandbox configuration: store, channels, secrets (PortOne V2's API and
//! webhook secrets, PortOne V1's user code, `imp_key` and `imp_secret`),
//! webhook targets and faults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The default listen address, `127.0.0.1:8787`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8787";
/// The default store id, `store-sandbox`.
pub const DEFAULT_STORE_ID: &str = "store-sandbox";
/// The default REST API secret (`Authorization: PortOne sandbox-api-secret`).
pub const DEFAULT_API_SECRET: &str = "sandbox-api-secret";
/// The default Standard Webhooks secret. The key is the base64 after `whsec_`
/// (it decodes to `portone-sandbox-webhook-signing-key!`).
pub const DEFAULT_WEBHOOK_SECRET: &str = "whsec_cG9ydG9uZS1zYW5kYm94LXdlYmhvb2stc2lnbmluZy1rZXkh";
/// The default Toss Payments client key (browser side, `TossPayments(clientKey)`).
pub const DEFAULT_TOSS_CLIENT_KEY: &str = "test_ck_sandboxTossPaymentsClientKey";
/// The default Toss Payments secret key (`Authorization: Basic base64("<secretKey>:")`).
pub const DEFAULT_TOSS_SECRET_KEY: &str = "test_sk_sandboxTossPaymentsSecretKey";
/// The default PortOne V1 merchant identification code (`IMP.init("imp00000000")`).
pub const DEFAULT_V1_USER_CODE: &str = "imp00000000";
/// The default PortOne V1 REST API key (`imp_key` of `POST /iamport/users/getToken`).
pub const DEFAULT_V1_IMP_KEY: &str = "sandbox-imp-key";
/// The default PortOne V1 REST API secret (`imp_secret`).
pub const DEFAULT_V1_IMP_SECRET: &str = "sandbox-imp-secret";
/// Key of the default TossPay (`tosspay_v2`) channel.
pub const TOSSPAY_CHANNEL_KEY: &str = "channel-key-sandbox-tosspay";
/// Key of the default card channel (`nice_v2`).
pub const CARD_CHANNEL_KEY: &str = "channel-key-sandbox-card";

/// One payment channel of the sandbox store (always `type: "TEST"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    /// The channel key merchants pass as `channelKey`.
    pub key: String,
    /// The channel id reported in `channel.id`.
    pub id: String,
    /// A display name (`channel.name`).
    pub name: String,
    /// The PG module name as PortOne's console shows it, e.g. `tosspay_v2`, `nice_v2`.
    pub pg_provider: String,
    /// The PG merchant id reported as `channel.pgMerchantId`.
    pub pg_merchant_id: String,
    /// Pay methods accepted by `requestPayment` (`CARD`, `EASY_PAY`, ...).
    pub pay_methods: Vec<String>,
    /// Methods accepted by `requestIssueBillingKey` (`CARD`, `EASY_PAY`, ...).
    pub billing_key_methods: Vec<String>,
}

impl Channel {
    /// The REST `pgProvider` enum value (`TOSSPAY_V2` -> `TOSSPAY`, `nice_v2` -> `NICE_V2`).
    pub fn rest_pg_provider(&self) -> String {
        match self.pg_provider.as_str() {
            // PortOne's REST `PgProvider` reports the TossPay V2 module as `TOSSPAY`.
            "tosspay_v2" | "tosspay" => "TOSSPAY".to_owned(),
            other => other.to_ascii_uppercase(),
        }
    }

    /// Whether this is a TossPay channel (which has TossPay-specific rules).
    pub fn is_tosspay(&self) -> bool {
        self.pg_provider.starts_with("tosspay")
    }
}

/// The sandbox's two default channels: TossPay (`EASY_PAY`) and a NICE card channel.
pub fn default_channels() -> Vec<Channel> {
    vec![
        Channel {
            key: TOSSPAY_CHANNEL_KEY.to_owned(),
            id: "channel-id-sandbox-tosspay".to_owned(),
            name: "Sandbox TossPay".to_owned(),
            pg_provider: "tosspay_v2".to_owned(),
            pg_merchant_id: "tosspay-sandbox-mid".to_owned(),
            pay_methods: vec!["EASY_PAY".to_owned()],
            billing_key_methods: vec!["EASY_PAY".to_owned()],
        },
        Channel {
            key: CARD_CHANNEL_KEY.to_owned(),
            id: "channel-id-sandbox-card".to_owned(),
            name: "Sandbox NICE card".to_owned(),
            pg_provider: "nice_v2".to_owned(),
            pg_merchant_id: "nice-sandbox-mid".to_owned(),
            pay_methods: vec![
                "CARD".to_owned(),
                "TRANSFER".to_owned(),
                "VIRTUAL_ACCOUNT".to_owned(),
                "MOBILE".to_owned(),
            ],
            billing_key_methods: vec!["CARD".to_owned()],
        },
    ]
}

/// Faults applied to webhook deliveries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct WebhookFaults {
    /// Wait this long before the first delivery attempt of every event.
    pub delay_ms: u64,
    /// Deliver every event twice (same `webhook-id`, as a real duplicate would be).
    pub duplicate: bool,
    /// Hold each event until the next one is emitted (at most 1 s), then send the newer first.
    pub reorder: bool,
    /// Record events as `dropped` and never send them.
    pub drop: bool,
}

/// Fault injection settings (`PUT /__sandbox/faults` replaces them as a whole).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Faults {
    /// Added latency before every REST request is handled.
    pub latency_ms: u64,
    /// Share (0.0..=1.0) of REST requests answered `500` at random.
    pub error_rate: f64,
    /// The next `n` REST requests are answered `500` (deterministic form of `error_rate`).
    pub fail_next: u32,
    /// The next `n` REST requests are applied, then the connection is dropped without an answer.
    pub lose_responses: u32,
    /// Refuse a repeat of the same request (method and path) within 1 s with
    /// 429 `FORBIDDEN_CONSECUTIVE_REQUEST`.
    pub consecutive_request_guard: bool,
    /// The next `n` billing-key charges (direct or scheduled) are declined by the
    /// PG: the payment becomes `FAILED` and the REST call answers 502 `PG_PROVIDER`.
    /// Toss Payments: the next `n` confirms or billing charges are declined
    /// (payment `ABORTED`, 403 `REJECT_CARD_COMPANY`).
    pub pg_fail_next: u32,
    /// Webhook delivery faults.
    pub webhook: WebhookFaults,
    /// Scope of the REST fault modes `latencyMs`, `errorRate`, `failNext` and
    /// `loseResponses`: when set, they apply only to REST requests whose
    /// `"{METHOD} {path}"` (e.g. `POST /payments/p-1/cancel`) contains this
    /// substring; other requests pass untouched and do not use up `failNext`
    /// or `loseResponses`. `consecutiveRequestGuard`, `pgFailNext` and the
    /// webhook faults ignore it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only: Option<String>,
}

impl Faults {
    /// Whether the scoped REST fault modes apply to `key` (`"{METHOD} {path}"`), see [`Faults::only`].
    pub fn applies_to(&self, key: &str) -> bool {
        self.only.as_deref().is_none_or(|only| key.contains(only))
    }
}

/// Everything the sandbox needs to run. `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Listen address (default `127.0.0.1:8787`; use port 0 for a free port).
    pub addr: SocketAddr,
    /// The only store id the sandbox knows (default `store-sandbox`).
    pub store_id: String,
    /// The merchant id reported in `merchantId` (default `merchant-sandbox`).
    pub merchant_id: String,
    /// The REST API secret (default `sandbox-api-secret`).
    pub api_secret: String,
    /// The Standard Webhooks secret, `whsec_` + base64 key.
    pub webhook_secret: String,
    /// The store's channels.
    pub channels: Vec<Channel>,
    /// URLs that receive every webhook (in addition to each payment's `noticeUrls`).
    /// Set by the operator, so trusted as given (any host).
    pub webhook_urls: Vec<String>,
    /// Accept caller-supplied webhook URLs (`noticeUrls` of SDK, driver and REST
    /// requests, `POST /__sandbox/webhook-targets`) on any host. When `false`
    /// (the default) they must be loopback http(s) URLs (`127.0.0.0/8`, `::1`
    /// or `localhost`), so a request cannot make the sandbox post to other hosts.
    pub allow_external_webhooks: bool,
    /// Delay before the first webhook retry; each further retry doubles it (default 1 s).
    pub webhook_retry_base: Duration,
    /// How long one webhook attempt may take before it counts as failed (default 10 s).
    pub webhook_timeout: Duration,
    /// Faults active from the start.
    pub faults: Faults,
    /// When set, state is loaded from and saved to this JSON file.
    pub state_file: Option<PathBuf>,
    /// PortOne V1: the merchant identification code `IMP.init` must be given
    /// (default `imp00000000`).
    pub v1_user_code: String,
    /// PortOne V1: the REST API key (`imp_key`, default `sandbox-imp-key`).
    pub v1_imp_key: String,
    /// PortOne V1: the REST API secret (`imp_secret`, default `sandbox-imp-secret`).
    pub v1_imp_secret: String,
    /// PortOne V1: how long an access token lives (default 30 minutes, as PortOne's).
    pub v1_token_ttl: Duration,
    /// Toss Payments (direct) settings.
    pub toss: TossConfig,
}

/// Toss Payments (direct) settings: keys and the payment deadlines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TossConfig {
    /// The only client key `TossPayments(clientKey)` accepts (default `test_ck_...`).
    pub client_key: String,
    /// The secret key of the REST API (default `test_sk_...`).
    pub secret_key: String,
    /// How long an authenticated payment (`IN_PROGRESS`) waits for the
    /// merchant's confirm before it becomes `EXPIRED` (Toss: 10 minutes).
    pub confirm_ttl: Duration,
    /// How long an opened, not yet authenticated window (`READY`) lives before
    /// the payment becomes `EXPIRED` (Toss: 30 minutes).
    pub ready_ttl: Duration,
}

impl Default for TossConfig {
    fn default() -> Self {
        TossConfig {
            client_key: DEFAULT_TOSS_CLIENT_KEY.to_owned(),
            secret_key: DEFAULT_TOSS_SECRET_KEY.to_owned(),
            confirm_ttl: Duration::from_secs(10 * 60),
            ready_ttl: Duration::from_secs(30 * 60),
        }
    }
}

impl TossConfig {
    /// The `mId` Toss reports: `tvivarepublica`, as Toss's test stores do
    /// (the sandbox only ever plays a test store).
    pub fn mid(&self) -> &'static str {
        "tvivarepublica"
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8787)),
            store_id: DEFAULT_STORE_ID.to_owned(),
            merchant_id: "merchant-sandbox".to_owned(),
            api_secret: DEFAULT_API_SECRET.to_owned(),
            webhook_secret: DEFAULT_WEBHOOK_SECRET.to_owned(),
            channels: default_channels(),
            webhook_urls: Vec::new(),
            allow_external_webhooks: false,
            webhook_retry_base: Duration::from_secs(1),
            webhook_timeout: Duration::from_secs(10),
            faults: Faults::default(),
            state_file: None,
            toss: TossConfig::default(),
            v1_user_code: DEFAULT_V1_USER_CODE.to_owned(),
            v1_imp_key: DEFAULT_V1_IMP_KEY.to_owned(),
            v1_imp_secret: DEFAULT_V1_IMP_SECRET.to_owned(),
            v1_token_ttl: Duration::from_secs(30 * 60),
        }
    }
}

impl SandboxConfig {
    /// A configuration for tests: free port on loopback, 50 ms webhook retry base,
    /// 2 s webhook timeout, everything else default.
    pub fn for_tests() -> Self {
        SandboxConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            webhook_retry_base: Duration::from_millis(50),
            webhook_timeout: Duration::from_secs(2),
            ..SandboxConfig::default()
        }
    }

    /// Looks a channel up by key.
    pub fn channel(&self, key: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.key == key)
    }
}
