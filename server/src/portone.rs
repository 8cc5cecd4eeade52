//! A small PortOne V2 REST client with timeouts and bounded retries.
//!
//! Every call has a per-request timeout. Network errors, timeouts and 5xx
//! answers are retried with exponential backoff up to
//! [`RetryPolicy::max_attempts`]; a `FORBIDDEN_CONSECUTIVE_REQUEST` refusal
//! (or HTTP 429) waits [`RetryPolicy::consecutive_request_wait`] and retries.
//! Retrying is safe because every mutating call is keyed by a
//! merchant-chosen payment id (a payment can be paid or cancelled only once);
//! callers resolve an uncertain outcome by re-reading the payment
//! ([`PortOneClient::get_payment`]), never by guessing.

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::{PortOneConfig, RetryPolicy};

/// A failed PortOne call (after retries).
#[derive(Debug, Clone, thiserror::Error)]
pub enum PortOneError {
    /// No answer: connection failure or timeout. The call may or may not
    /// have taken effect.
    #[error("no answer from PortOne: {0}")]
    Transport(String),
    /// PortOne answered with an error body `{type, message}`.
    #[error("PortOne answered {status} {kind}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// PortOne's error `type`, e.g. `PAYMENT_NOT_FOUND`.
        kind: String,
        /// PortOne's message.
        message: String,
    },
    /// The answer was not the JSON we expect.
    #[error("unexpected PortOne response: {0}")]
    Decode(String),
}

impl PortOneError {
    /// The PortOne error `type`, if PortOne answered with one.
    pub fn kind(&self) -> Option<&str> {
        match self {
            PortOneError::Api { kind, .. } => Some(kind),
            _ => None,
        }
    }

    /// `true` for a 404 / `*_NOT_FOUND` answer.
    pub fn is_not_found(&self) -> bool {
        matches!(self, PortOneError::Api { status: 404, .. }) || self.kind().is_some_and(|k| k.ends_with("NOT_FOUND"))
    }
}

/// `amount` of a payment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAmount {
    /// Total amount.
    #[serde(default)]
    pub total: i64,
    /// Amount actually paid.
    #[serde(default)]
    pub paid: i64,
    /// Amount cancelled.
    #[serde(default)]
    pub cancelled: i64,
}

/// `channel` of a payment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectedChannel {
    /// `LIVE` or `TEST`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Channel key.
    #[serde(default)]
    pub key: Option<String>,
}

/// `failure` of a `FAILED` payment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFailureInfo {
    /// Reason.
    #[serde(default)]
    pub reason: Option<String>,
    /// PG code.
    #[serde(default)]
    pub pg_code: Option<String>,
    /// PG message.
    #[serde(default)]
    pub pg_message: Option<String>,
}

/// The fields of `GET /payments/{paymentId}` the server uses (unknown
/// fields are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    /// `READY`, `PAY_PENDING`, `VIRTUAL_ACCOUNT_ISSUED`, `PAID`, `FAILED`,
    /// `PARTIAL_CANCELLED`, `CANCELLED`.
    pub status: String,
    /// The payment id.
    #[serde(default)]
    pub id: String,
    /// Store id.
    #[serde(default)]
    pub store_id: Option<String>,
    /// Amounts.
    #[serde(default)]
    pub amount: PaymentAmount,
    /// Currency code.
    #[serde(default)]
    pub currency: String,
    /// Channel (absent on some `READY` payments).
    #[serde(default)]
    pub channel: Option<SelectedChannel>,
    /// When paid.
    #[serde(default)]
    pub paid_at: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub failure: Option<PaymentFailureInfo>,
    /// Billing key used, for billing-key payments.
    #[serde(default)]
    pub billing_key: Option<String>,
}

/// `customer` of a billing key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingKeyCustomer {
    /// Merchant customer id.
    #[serde(default)]
    pub id: Option<String>,
}

/// The fields of `GET /billing-keys/{billingKey}` the server uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingKeyInfo {
    /// `ISSUED` or `DELETED`.
    pub status: String,
    /// The key.
    #[serde(default)]
    pub billing_key: String,
    /// Owner.
    #[serde(default)]
    pub customer: BillingKeyCustomer,
    /// Issue id given at issue time.
    #[serde(default)]
    pub issue_id: Option<String>,
}

/// Customer sent with billing-key charges (TossPay needs `name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeCustomer {
    /// Merchant customer id.
    pub id: String,
    /// Full name.
    pub full_name: String,
    /// Phone number.
    pub phone_number: Option<String>,
    /// E-mail.
    pub email: Option<String>,
}

impl ChargeCustomer {
    fn to_json(&self) -> Value {
        let mut customer = json!({ "id": self.id, "name": { "full": self.full_name } });
        if let Some(phone) = &self.phone_number {
            customer["phoneNumber"] = json!(phone);
        }
        if let Some(email) = &self.email {
            customer["email"] = json!(email);
        }
        customer
    }
}

/// A billing-key charge (`POST /payments/{id}/billing-key`, also the
/// `payment` of a schedule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingKeyCharge {
    /// The key.
    pub billing_key: String,
    /// Order name.
    pub order_name: String,
    /// Customer (with name).
    pub customer: ChargeCustomer,
    /// Amount.
    pub total_amount: i64,
    /// Currency.
    pub currency: String,
}

/// The PortOne client. Cheap to clone.
#[derive(Clone)]
pub struct PortOneClient {
    http: reqwest::Client,
    base: Url,
    secret: String,
    store_id: String,
    retry: RetryPolicy,
}

impl std::fmt::Debug for PortOneClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortOneClient")
            .field("base", &self.base.as_str())
            .field("secret", &"<redacted>")
            .finish()
    }
}

enum Attempt {
    Done(Value),
    Fail(PortOneError),
    Retry(PortOneError, Duration),
}

impl PortOneClient {
    /// Builds a client from the config.
    pub fn new(config: &PortOneConfig) -> Result<Self, PortOneError> {
        let mut base = Url::parse(config.api_base.trim_end_matches('/'))
            .map_err(|e| PortOneError::Decode(format!("invalid PortOne API base: {e}")))?;
        if base.cannot_be_a_base() {
            return Err(PortOneError::Decode("PortOne API base is not a base URL".into()));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(config.retry.request_timeout)
            .connect_timeout(config.retry.request_timeout)
            .build()
            .map_err(|e| PortOneError::Transport(e.to_string()))?;
        Ok(PortOneClient {
            http,
            base,
            secret: config.api_secret.clone(),
            store_id: config.store_id.clone(),
            retry: config.retry.clone(),
        })
    }

    fn url(&self, segments: &[&str]) -> Result<Url, PortOneError> {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| PortOneError::Decode("PortOne API base is not a base URL".into()))?;
            path.pop_if_empty();
            for s in segments {
                path.push(s);
            }
        }
        Ok(url)
    }

    async fn attempt(&self, method: &Method, url: &Url, body: Option<&Value>) -> Attempt {
        let mut req = self
            .http
            .request(method.clone(), url.clone())
            .header("Authorization", format!("PortOne {}", self.secret));
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry(PortOneError::Transport(e.to_string()), Duration::ZERO);
            }
        };
        let status = resp.status();
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Attempt::Retry(PortOneError::Transport(e.to_string()), Duration::ZERO);
            }
        };
        if status.is_success() {
            if bytes.is_empty() {
                return Attempt::Done(Value::Null);
            }
            return match serde_json::from_slice(&bytes) {
                Ok(v) => Attempt::Done(v),
                Err(e) => Attempt::Fail(PortOneError::Decode(e.to_string())),
            };
        }
        let parsed: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let kind = parsed
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("UNKNOWN")
            .to_owned();
        let message = parsed.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
        let err = PortOneError::Api {
            status: status.as_u16(),
            kind: kind.clone(),
            message,
        };
        if kind == "FORBIDDEN_CONSECUTIVE_REQUEST" || status == StatusCode::TOO_MANY_REQUESTS {
            Attempt::Retry(err, self.retry.consecutive_request_wait)
        } else if status.is_server_error() && kind != "PG_PROVIDER" {
            Attempt::Retry(err, Duration::ZERO)
        } else {
            Attempt::Fail(err)
        }
    }

    async fn call(&self, method: Method, segments: &[&str], body: Option<Value>) -> Result<Value, PortOneError> {
        let url = self.url(segments)?;
        let attempts = self.retry.max_attempts.max(1);
        let mut backoff = self.retry.base_backoff;
        let mut last = PortOneError::Transport("no attempt made".into());
        for n in 1..=attempts {
            match self.attempt(&method, &url, body.as_ref()).await {
                Attempt::Done(v) => return Ok(v),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(e, wait) => {
                    tracing::warn!(%method, path = url.path(), attempt = n, error = %e, "PortOne call failed; will retry");
                    last = e;
                    if n < attempts {
                        tokio::time::sleep(wait.max(backoff)).await;
                        backoff = backoff.saturating_mul(2);
                    }
                }
            }
        }
        Err(last)
    }

    fn decode<T: DeserializeOwned>(value: Value) -> Result<T, PortOneError> {
        serde_json::from_value(value).map_err(|e| PortOneError::Decode(e.to_string()))
    }

    /// `GET /payments/{paymentId}`.
    pub async fn get_payment(&self, payment_id: &str) -> Result<Payment, PortOneError> {
        let v = self.call(Method::GET, &["payments", payment_id], None).await?;
        Self::decode(v)
    }

    /// `POST /payments/{paymentId}/pre-register` with the amount.
    pub async fn pre_register(&self, payment_id: &str, total_amount: i64, currency: &str) -> Result<(), PortOneError> {
        let body = json!({
            "storeId": self.store_id,
            "totalAmount": total_amount,
            "currency": currency,
        });
        self.call(Method::POST, &["payments", payment_id, "pre-register"], Some(body))
            .await
            .map(|_| ())
    }

    /// `POST /payments/{paymentId}/cancel` (full amount) with `reason`.
    /// An `PAYMENT_ALREADY_CANCELLED` answer counts as success.
    pub async fn cancel_payment(&self, payment_id: &str, reason: &str) -> Result<(), PortOneError> {
        let body = json!({ "storeId": self.store_id, "reason": reason });
        match self
            .call(Method::POST, &["payments", payment_id, "cancel"], Some(body))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == Some("PAYMENT_ALREADY_CANCELLED") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `GET /billing-keys/{billingKey}`.
    pub async fn get_billing_key(&self, billing_key: &str) -> Result<BillingKeyInfo, PortOneError> {
        let v = self.call(Method::GET, &["billing-keys", billing_key], None).await?;
        Self::decode(v)
    }

    fn charge_json(&self, charge: &BillingKeyCharge) -> Value {
        json!({
            "storeId": self.store_id,
            "billingKey": charge.billing_key,
            "orderName": charge.order_name,
            "customer": charge.customer.to_json(),
            "amount": { "total": charge.total_amount },
            "currency": charge.currency,
        })
    }

    /// `POST /payments/{paymentId}/billing-key`. The caller re-reads the
    /// payment afterwards whatever this returns.
    pub async fn pay_with_billing_key(&self, payment_id: &str, charge: &BillingKeyCharge) -> Result<(), PortOneError> {
        self.call(
            Method::POST,
            &["payments", payment_id, "billing-key"],
            Some(self.charge_json(charge)),
        )
        .await
        .map(|_| ())
    }

    /// `POST /payments/{paymentId}/schedule`; returns the schedule id.
    pub async fn schedule_payment(
        &self,
        payment_id: &str,
        charge: &BillingKeyCharge,
        time_to_pay: &str,
    ) -> Result<String, PortOneError> {
        let body = json!({ "payment": self.charge_json(charge), "timeToPay": time_to_pay });
        let v = self
            .call(Method::POST, &["payments", payment_id, "schedule"], Some(body))
            .await?;
        v.pointer("/schedule/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| PortOneError::Decode("schedule response without schedule.id".into()))
    }
}
