//! PortOne V1 (I'mport) with TossPay: a REST client and the [`Provider`]
//! the sync drives.
//!
//! - The access token comes from `POST /users/getToken` and is cached until
//!   shortly before its `expired_at` (a minute, or half its lifetime when
//!   that is shorter). Callers that find no fresh token wait for one fetch
//!   (one lock around the fetch: no stampede on the token endpoint). A 401
//!   drops the token that was refused and retries once with a new one.
//! - Every answer is V1's envelope `{code, message, response}`: `code != 0`
//!   is an error, also inside an HTTP 200 (V1's refusal of a well-formed
//!   request). Errors become [`ProviderError::Api`] with `kind`
//!   `V1_CODE_{code}`.
//! - The retry rules are the V2 client's: a per-request timeout; network
//!   errors, timeouts and 5xx retried with exponential backoff up to
//!   [`RetryPolicy::max_attempts`]; 429 waits
//!   [`RetryPolicy::consecutive_request_wait`]. A mutating call whose answer
//!   was lost is safe to repeat: a repeat that V1 refuses (already
//!   pre-registered, already cancelled, already scheduled) is resolved by
//!   reading what V1 holds, never by guessing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use portone_checkout::model::portone_v1::build::clip_name;
use portone_checkout::model::portone_v1::MerchantUid;
use portone_checkout::protocol::PgFailure;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::http::{exchange, Attempt, Endpoint};
use super::{
    BillingKeyCharge, BillingKeyState, PaymentState, Provider, ProviderError, ProviderKind, ProviderPayment,
    ScheduleOutcome,
};
use crate::config::{PortOneV1Config, RetryPolicy};

/// The `kind` of a V1 error with envelope `code`.
pub fn error_kind(code: i64) -> String {
    format!("V1_CODE_{code}")
}

/// V1's payment `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V1Status {
    /// `ready`: the window opened; nothing paid.
    Ready,
    /// `paid` (possibly partly cancelled: see `cancel_amount`).
    Paid,
    /// `cancelled`: wholly cancelled.
    Cancelled,
    /// `failed`.
    Failed,
    /// A status this client does not know.
    Other(String),
}

impl<'de> Deserialize<'de> for V1Status {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match String::deserialize(d)?.as_str() {
            "ready" => Self::Ready,
            "paid" => Self::Paid,
            "cancelled" => Self::Cancelled,
            "failed" => Self::Failed,
            other => Self::Other(other.to_owned()),
        })
    }
}

/// The fields of V1's `Payment` the server uses (unknown fields are
/// ignored; a field of the wrong type refuses the whole answer).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Payment {
    /// PortOne's payment id.
    pub imp_uid: String,
    /// The merchant's order id.
    pub merchant_uid: String,
    /// The status.
    pub status: V1Status,
    /// The amount (integer KRW).
    pub amount: i64,
    /// How much of it was cancelled.
    #[serde(default)]
    pub cancel_amount: i64,
    /// Currency code.
    pub currency: String,
    /// The PG (`tosspay_v2`).
    #[serde(default)]
    pub pg_provider: Option<String>,
    /// The PG merchant id.
    #[serde(default)]
    pub pg_id: Option<String>,
    /// When paid (unix seconds, 0 when not).
    #[serde(default)]
    pub paid_at: i64,
    /// Why it failed.
    #[serde(default)]
    pub fail_reason: Option<String>,
    /// The billing key's handle, for billing-key payments.
    #[serde(default)]
    pub customer_uid: Option<String>,
    /// `issue`, `payment` or `payment.scheduled`.
    #[serde(default)]
    pub customer_uid_usage: Option<String>,
}

/// The fields of V1's billing-key `Customer` the server uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Customer {
    /// The handle.
    pub customer_uid: String,
    /// The PG of the key.
    #[serde(default)]
    pub pg_provider: Option<String>,
    /// The merchant's customer id, when V1 reports it (TossPay's
    /// `customer_id`).
    #[serde(default)]
    pub customer_id: Option<String>,
}

/// The fields of a V1 schedule the server uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Schedule {
    /// The key's handle.
    pub customer_uid: String,
    /// The charge's order id.
    pub merchant_uid: String,
    /// `scheduled`, `executed` or `revoked`.
    pub schedule_status: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    now: i64,
    expired_at: i64,
}

#[derive(Clone)]
struct Token {
    value: String,
    refresh_at: Instant,
}

/// How long before `expired_at` a token is replaced: a minute, or half its
/// lifetime when that is shorter.
pub fn token_margin(lifetime_secs: i64) -> i64 {
    60.min(lifetime_secs / 2).max(0)
}

/// One V1 answer: an attempt as the shared retry loop sees it, or a refused
/// access token (a fresh one is fetched once, outside the retry count).
enum Answer {
    Attempt(Attempt),
    Unauthorized(ProviderError),
}

/// The V1 REST client. Cheap to share (`Arc`), not to clone.
pub struct V1Client {
    endpoint: Endpoint,
    imp_key: String,
    imp_secret: String,
    retry: RetryPolicy,
    token: tokio::sync::Mutex<Option<Token>>,
    token_fetches: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for V1Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V1Client")
            .field("base", &self.endpoint.base().as_str())
            .field("imp_key", &self.imp_key)
            .field("imp_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl V1Client {
    /// Builds a client from the config.
    pub fn new(config: &PortOneV1Config) -> Result<Self, ProviderError> {
        let endpoint = Endpoint::new(&config.api_base, &config.retry, "PortOne V1")?;
        Ok(V1Client {
            endpoint,
            imp_key: config.imp_key.clone(),
            imp_secret: config.imp_secret.clone(),
            retry: config.retry.clone(),
            token: tokio::sync::Mutex::new(None),
            token_fetches: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// How many times a token was fetched from `POST /users/getToken` (for
    /// monitoring and tests).
    pub fn token_fetches(&self) -> u64 {
        self.token_fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn url(&self, segments: &[&str]) -> Result<Url, ProviderError> {
        self.endpoint.url(segments)
    }

    async fn attempt(&self, method: &Method, url: &Url, body: Option<&Value>, token: Option<&str>) -> Answer {
        let mut req = self.endpoint.http.request(method.clone(), url.clone());
        if let Some(token) = token {
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let (status, bytes) = match exchange(req).await {
            Ok(answer) => answer,
            Err(retry) => return Answer::Attempt(retry),
        };
        let envelope: Option<Value> = serde_json::from_slice(&bytes).ok();
        let code = envelope.as_ref().and_then(|v| v.get("code")).and_then(Value::as_i64);
        let message = envelope
            .as_ref()
            .and_then(|v| v.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if status.is_success() {
            return Answer::Attempt(match (code, envelope) {
                (Some(0), Some(mut v)) => Attempt::Done(v.get_mut("response").map(Value::take).unwrap_or(Value::Null)),
                (Some(code), _) => Attempt::Fail(ProviderError::Api {
                    status: status.as_u16(),
                    kind: error_kind(code),
                    message,
                }),
                (None, _) => Attempt::Fail(ProviderError::Decode(
                    "PortOne V1 answered without its {code, message, response} envelope".into(),
                )),
            });
        }
        let err = ProviderError::Api {
            status: status.as_u16(),
            kind: error_kind(code.unwrap_or(-1)),
            message,
        };
        Answer::Attempt(if status == StatusCode::UNAUTHORIZED {
            return Answer::Unauthorized(err);
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            Attempt::Retry(err, self.retry.consecutive_request_wait)
        } else if status.is_server_error() {
            Attempt::Retry(err, Duration::ZERO)
        } else {
            Attempt::Fail(err)
        })
    }

    /// Runs `attempt` with the retry rules; `token`: whether the call needs
    /// the access token (a 401 then refreshes it once).
    async fn send(&self, method: Method, url: Url, body: Option<Value>, token: bool) -> Result<Value, ProviderError> {
        // A refused token is fetched again once per call, without counting
        // as a try.
        let refreshed = AtomicBool::new(false);
        let attempt = || async {
            loop {
                // Boxed: the token fetch itself goes through `send` (without a token).
                let used = if token {
                    match Box::pin(self.token()).await {
                        Ok(t) => Some(t),
                        Err(e) => return Attempt::Fail(e),
                    }
                } else {
                    None
                };
                match self.attempt(&method, &url, body.as_ref(), used.as_deref()).await {
                    Answer::Attempt(a) => return a,
                    Answer::Unauthorized(e) => match used {
                        Some(used) if !refreshed.swap(true, Ordering::Relaxed) => {
                            tracing::info!(
                                path = url.path(),
                                "PortOne V1 refused the access token; fetching a new one"
                            );
                            self.forget_token(&used).await;
                        }
                        _ => return Attempt::Fail(e),
                    },
                }
            }
        };
        self.endpoint.with_retries(&self.retry, &method, &url, attempt).await
    }

    async fn call(&self, method: Method, segments: &[&str], body: Option<Value>) -> Result<Value, ProviderError> {
        let url = self.url(segments)?;
        self.send(method, url, body, true).await
    }

    fn decode<T: DeserializeOwned>(value: Value) -> Result<T, ProviderError> {
        serde_json::from_value(value).map_err(|e| ProviderError::Decode(e.to_string()))
    }

    /// A fresh access token: the cached one until shortly before it
    /// expires, else one fetched now. Concurrent callers wait for a single
    /// fetch.
    pub async fn token(&self) -> Result<String, ProviderError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(t.value.clone());
        }
        let url = self.url(&["users", "getToken"])?;
        let body = json!({ "imp_key": self.imp_key, "imp_secret": self.imp_secret });
        self.token_fetches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let answer: TokenAnswer = Self::decode(self.send(Method::POST, url, Some(body), false).await?)?;
        let lifetime = answer.expired_at - answer.now;
        let fresh_for = (lifetime - token_margin(lifetime)).max(0);
        let token = Token {
            value: answer.access_token,
            refresh_at: Instant::now() + Duration::from_secs(u64::try_from(fresh_for).unwrap_or(0)),
        };
        *cached = Some(token.clone());
        Ok(token.value)
    }

    /// Drops `used` from the cache (if it is still the cached one: a token
    /// another caller already replaced stays).
    async fn forget_token(&self, used: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.value == used) {
            *cached = None;
        }
    }

    /// `GET /payments/{imp_uid}`.
    pub async fn get_payment(&self, imp_uid: &str) -> Result<Payment, ProviderError> {
        Self::decode(self.call(Method::GET, &["payments", imp_uid], None).await?)
    }

    /// `GET /payments/find/{merchant_uid}`: the newest payment of the order.
    pub async fn find_payment(&self, merchant_uid: &str) -> Result<Payment, ProviderError> {
        Self::decode(
            self.call(Method::GET, &["payments", "find", merchant_uid], None)
                .await?,
        )
    }

    /// `POST /payments/prepare {merchant_uid, amount}`. A repeat (after a
    /// lost answer) that V1 refuses is a success when V1 holds that amount.
    pub async fn prepare(&self, merchant_uid: &str, amount: i64) -> Result<(), ProviderError> {
        let body = json!({ "merchant_uid": merchant_uid, "amount": amount });
        match self.call(Method::POST, &["payments", "prepare"], Some(body)).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_refusal() && !e.is_not_found() => {
                let held = self
                    .call(Method::GET, &["payments", "prepare", merchant_uid], None)
                    .await?;
                if held.get("amount").and_then(Value::as_i64) == Some(amount) {
                    Ok(())
                } else {
                    Err(e)
                }
            }
            Err(e) => Err(e),
        }
    }

    /// `POST /payments/cancel {merchant_uid, reason}`: the whole amount left
    /// (V1 cancels everything when `amount` is omitted). A refusal is a
    /// success when the payment is cancelled already.
    pub async fn cancel(&self, merchant_uid: &str, reason: &str) -> Result<(), ProviderError> {
        let body = json!({ "merchant_uid": merchant_uid, "reason": reason });
        match self.call(Method::POST, &["payments", "cancel"], Some(body)).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_refusal() => match self.find_payment(merchant_uid).await {
                Ok(p) if p.status == V1Status::Cancelled => Ok(()),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// `GET /subscribe/customers/{customer_uid}`.
    pub async fn get_customer(&self, customer_uid: &str) -> Result<Customer, ProviderError> {
        Self::decode(
            self.call(Method::GET, &["subscribe", "customers", customer_uid], None)
                .await?,
        )
    }

    /// `GET /subscribe/payments/schedule/{merchant_uid}`.
    pub async fn get_schedule(&self, merchant_uid: &str) -> Result<Schedule, ProviderError> {
        Self::decode(
            self.call(Method::GET, &["subscribe", "payments", "schedule", merchant_uid], None)
                .await?,
        )
    }

    /// `POST /subscribe/payments/again`. The caller re-reads the payment
    /// whatever this returns (a decline is `code: 0` with a `failed` payment).
    pub async fn again(&self, body: Value) -> Result<(), ProviderError> {
        self.call(Method::POST, &["subscribe", "payments", "again"], Some(body))
            .await
            .map(|_| ())
    }

    /// `POST /subscribe/payments/schedule`.
    pub async fn schedule(&self, body: Value) -> Result<(), ProviderError> {
        self.call(Method::POST, &["subscribe", "payments", "schedule"], Some(body))
            .await
            .map(|_| ())
    }
}

/// TossPay's `bypass` of a billing-key charge: a JSON **string**.
pub const CHARGE_BYPASS: &str = r#"{"tosspay_v2":{"cashReceiptTradeOption":"GENERAL","sendFailPush":false}}"#;

/// PortOne V1 as a [`Provider`]: the client plus the settings its
/// verification needs (the PG, its merchant id).
#[derive(Debug)]
pub struct PortOneV1 {
    client: V1Client,
    config: PortOneV1Config,
}

impl PortOneV1 {
    /// The provider for `config`.
    pub fn new(config: &PortOneV1Config) -> Result<Self, ProviderError> {
        Ok(Self {
            client: V1Client::new(config)?,
            config: config.clone(),
        })
    }

    /// The REST client.
    pub fn client(&self) -> &V1Client {
        &self.client
    }

    /// V1's own checks of a payment besides amount and currency: the order
    /// asked for, the configured PG and, when set, its merchant id.
    pub fn checks(&self, merchant_uid: &str, p: &Payment) -> Result<(), String> {
        if p.merchant_uid != merchant_uid {
            return Err(format!(
                "suspected tampering: PortOne V1 answered with order {:?} for {merchant_uid:?}",
                p.merchant_uid
            ));
        }
        if p.pg_provider.as_deref() != Some(self.config.pg_provider.as_str()) {
            return Err(format!(
                "suspected tampering: the payment was made with PG {:?}, not the shop's {}",
                p.pg_provider.as_deref().unwrap_or("(none)"),
                self.config.pg_provider
            ));
        }
        if let Some(pg_id) = &self.config.pg_id {
            if p.pg_id.as_deref() != Some(pg_id.as_str()) {
                return Err(format!(
                    "suspected tampering: the payment was made with PG merchant {:?}, not the shop's",
                    p.pg_id.as_deref().unwrap_or("(none)")
                ));
            }
        }
        Ok(())
    }

    /// The normalized view of a V1 payment of `merchant_uid`.
    pub fn normalize(&self, merchant_uid: &str, p: Payment) -> ProviderPayment {
        let state = match &p.status {
            V1Status::Ready => PaymentState::Ready,
            V1Status::Paid if p.cancel_amount > 0 => PaymentState::PartiallyCancelled,
            V1Status::Paid => PaymentState::Paid,
            V1Status::Cancelled => PaymentState::Cancelled,
            V1Status::Failed => PaymentState::Failed,
            V1Status::Other(s) => PaymentState::Other(s.clone()),
        };
        // V1 reports a reason only, no code: a cancel in the window cannot
        // be told from a decline (never by its text).
        let failure = (p.status == V1Status::Failed).then(|| PgFailure {
            message: p.fail_reason.clone().filter(|r| !r.trim().is_empty()),
            ..PgFailure::default()
        });
        let paid_at = (p.paid_at > 0)
            .then(|| chrono::DateTime::from_timestamp(p.paid_at, 0))
            .flatten()
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        ProviderPayment {
            checks: self.checks(merchant_uid, &p),
            state,
            total: p.amount,
            currency: p.currency,
            paid_at,
            failure,
            reference: Some(p.imp_uid),
        }
    }

    fn buyer(&self, charge: &BillingKeyCharge, body: &mut Value) {
        body["buyer_name"] = json!(charge.customer.full_name);
        if let Some(tel) = &charge.customer.phone_number {
            body["buyer_tel"] = json!(tel);
        }
        if let Some(email) = &charge.customer.email {
            body["buyer_email"] = json!(email);
        }
        if let Some(url) = &self.config.notice_url {
            body["notice_url"] = json!(url);
        }
    }

    /// TossPay on V1 takes KRW only: anything else is refused here.
    fn krw(currency: &str) -> Result<(), ProviderError> {
        if currency == "KRW" {
            Ok(())
        } else {
            Err(ProviderError::Api {
                status: 400,
                kind: "V1_CURRENCY".into(),
                message: format!("TossPay on PortOne V1 takes KRW only, not {currency}"),
            })
        }
    }

    async fn schedule_one(
        &self,
        merchant_uid: &str,
        charge: &BillingKeyCharge,
        time_to_pay: i64,
    ) -> Result<ScheduleOutcome, ProviderError> {
        Self::krw(&charge.currency)?;
        // V1 refuses a time in the past: a charge already due runs a minute
        // from now.
        let at = time_to_pay.max(chrono::Utc::now().timestamp() + 60);
        let mut item = json!({
            "merchant_uid": merchant_uid,
            "schedule_at": at,
            "amount": charge.total_amount,
            "name": clip_name(&charge.order_name),
        });
        self.buyer(charge, &mut item);
        let body = json!({ "customer_uid": charge.billing_key, "schedules": [item] });
        match self.client.schedule(body).await {
            Ok(()) => Ok(ScheduleOutcome::Scheduled(Some(merchant_uid.to_owned()))),
            Err(e) if e.is_refusal() && !e.is_not_found() => match self.client.get_schedule(merchant_uid).await {
                // A repeat after a lost answer: V1 has it already.
                Ok(s) if s.customer_uid == charge.billing_key && s.schedule_status != "revoked" => {
                    Ok(ScheduleOutcome::AlreadyExists)
                }
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }
}

impl Provider for PortOneV1 {
    fn kind(&self) -> ProviderKind {
        ProviderKind::PortOneV1
    }

    fn pre_register<'a>(
        &'a self,
        payment_id: &'a str,
        total: i64,
        currency: &'a str,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            Self::krw(currency)?;
            if MerchantUid::parse(payment_id).is_err() {
                return Err(ProviderError::Api {
                    status: 400,
                    kind: "V1_MERCHANT_UID".into(),
                    message: format!("{payment_id:?} is not a PortOne V1 merchant_uid (at most 40 characters)"),
                });
            }
            self.client.prepare(payment_id, total).await
        })
    }

    fn read<'a>(&'a self, payment_id: &'a str) -> BoxFuture<'a, Result<Option<ProviderPayment>, ProviderError>> {
        Box::pin(async move {
            match self.client.find_payment(payment_id).await {
                Ok(p) => Ok(Some(self.normalize(payment_id, p))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn cancel<'a>(&'a self, payment_id: &'a str, reason: &'a str) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.client.cancel(payment_id, reason))
    }

    fn read_billing_key<'a>(&'a self, billing_key: &'a str) -> BoxFuture<'a, Result<BillingKeyState, ProviderError>> {
        Box::pin(async move {
            let c = self.client.get_customer(billing_key).await?;
            Ok(BillingKeyState {
                issued: c.customer_uid == billing_key
                    && c.pg_provider.as_deref() == Some(self.config.pg_provider.as_str()),
                customer_id: c.customer_id,
                // The checkout issues V1 keys under the issuance's id.
                issue_id: Some(c.customer_uid),
            })
        })
    }

    fn charge<'a>(
        &'a self,
        payment_id: &'a str,
        charge: &'a BillingKeyCharge,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            Self::krw(&charge.currency)?;
            let mut body = json!({
                "customer_uid": charge.billing_key,
                "merchant_uid": payment_id,
                "amount": charge.total_amount,
                "name": clip_name(&charge.order_name),
                "bypass": CHARGE_BYPASS,
            });
            self.buyer(charge, &mut body);
            self.client.again(body).await
        })
    }

    fn schedule<'a>(
        &'a self,
        payment_id: &'a str,
        charge: &'a BillingKeyCharge,
        time_to_pay: i64,
    ) -> BoxFuture<'a, Result<ScheduleOutcome, ProviderError>> {
        Box::pin(self.schedule_one(payment_id, charge, time_to_pay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_SANDBOX_BASE;

    fn provider() -> PortOneV1 {
        PortOneV1::new(&PortOneV1Config::sandbox(DEFAULT_SANDBOX_BASE)).expect("client")
    }

    fn paid() -> Payment {
        serde_json::from_value(json!({
            "imp_uid": "imp_123456789012", "merchant_uid": "order-1", "status": "paid",
            "amount": 4500, "cancel_amount": 0, "currency": "KRW", "pg_provider": "tosspay_v2",
            "pg_id": "tosspay-sandbox-mid", "paid_at": 1_795_316_400, "fail_reason": null,
            "custom_data": null, "unknown_field": [1, 2]
        }))
        .expect("a V1 payment")
    }

    #[test]
    fn a_paid_v1_payment_normalizes_to_paid_with_its_amount_and_reference() {
        let n = provider().normalize("order-1", paid());
        assert_eq!(n.state, PaymentState::Paid);
        assert_eq!((n.total, n.currency.as_str()), (4500, "KRW"));
        assert_eq!(n.paid_at.as_deref(), Some("2026-11-22T03:00:00Z"));
        assert_eq!(n.reference.as_deref(), Some("imp_123456789012"));
        assert_eq!(n.checks, Ok(()));
    }

    #[test]
    fn v1_statuses_map_to_the_normalized_states() {
        let with = |status: &str, cancel: i64| {
            let mut p = paid();
            p.status = serde_json::from_value(json!(status)).expect("status");
            p.cancel_amount = cancel;
            provider().normalize("order-1", p).state
        };
        assert_eq!(with("ready", 0), PaymentState::Ready);
        assert_eq!(with("paid", 1000), PaymentState::PartiallyCancelled);
        assert_eq!(with("cancelled", 4500), PaymentState::Cancelled);
        assert_eq!(with("failed", 0), PaymentState::Failed);
        assert_eq!(with("vbank_issued", 0), PaymentState::Other("vbank_issued".into()));
    }

    #[test]
    fn a_failed_payment_carries_its_reason_and_no_code() {
        let mut p = paid();
        p.status = V1Status::Failed;
        p.paid_at = 0;
        p.fail_reason = Some("잔액이 부족합니다.".into());
        let n = provider().normalize("order-1", p);
        let f = n.failure.expect("a failure");
        assert_eq!(f.code, None);
        assert_eq!(f.customer_text(), Some("잔액이 부족합니다."));
        assert_eq!(n.paid_at, None);
    }

    #[test]
    fn a_payment_of_another_order_or_pg_fails_the_checks() {
        let p = provider();
        assert!(p.checks("order-2", &paid()).is_err_and(|e| e.contains("order")));
        let mut kakao = paid();
        kakao.pg_provider = Some("kakaopay".into());
        assert!(p.checks("order-1", &kakao).is_err_and(|e| e.contains("PG")));
        let mut none = paid();
        none.pg_provider = None;
        assert!(p.checks("order-1", &none).is_err());
        let mut config = PortOneV1Config::sandbox(DEFAULT_SANDBOX_BASE);
        config.pg_id = Some("tosspay-live-mid".into());
        let strict = PortOneV1::new(&config).expect("client");
        assert!(strict.checks("order-1", &paid()).is_err_and(|e| e.contains("merchant")));
    }

    #[test]
    fn an_answer_with_a_fractional_amount_is_refused_at_the_edge() {
        let bad = serde_json::from_value::<Payment>(json!({
            "imp_uid": "imp_1", "merchant_uid": "order-1", "status": "paid", "amount": 4500.5, "currency": "KRW"
        }));
        assert!(bad.is_err());
        let missing = serde_json::from_value::<Payment>(json!({"imp_uid": "imp_1", "status": "paid"}));
        assert!(missing.is_err());
    }

    #[test]
    fn a_token_is_replaced_a_minute_before_it_expires_or_at_half_a_short_lifetime() {
        assert_eq!(token_margin(1800), 60);
        assert_eq!(token_margin(60), 30);
        assert_eq!(token_margin(2), 1);
        assert_eq!(token_margin(0), 0);
    }

    #[test]
    fn the_charge_bypass_is_a_json_string_holding_tosspays_options() {
        let v: Value = serde_json::from_str(CHARGE_BYPASS).expect("JSON");
        assert_eq!(v["tosspay_v2"]["cashReceiptTradeOption"], "GENERAL");
        assert_eq!(v["tosspay_v2"]["sendFailPush"], false);
    }
}
