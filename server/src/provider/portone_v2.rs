//! PortOne V2: a small REST client with timeouts and bounded retries, and
//! the [`Provider`] the sync drives.
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

use super::http::{exchange, Attempt, Endpoint};
use super::{PaymentState, Provider, ProviderError, ProviderKind, ProviderPayment, ScheduleOutcome};
use crate::config::{Mode, PortOneConfig, RetryPolicy};
use futures::future::BoxFuture;
use portone_checkout::protocol::PgFailure;

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
    endpoint: Endpoint,
    secret: String,
    store_id: String,
    retry: RetryPolicy,
}

impl std::fmt::Debug for PortOneClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortOneClient")
            .field("base", &self.endpoint.base().as_str())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl PortOneClient {
    /// Builds a client from the config.
    pub fn new(config: &PortOneConfig) -> Result<Self, ProviderError> {
        let endpoint = Endpoint::new(&config.api_base, &config.retry, "PortOne")?;
        Ok(PortOneClient {
            endpoint,
            secret: config.api_secret.clone(),
            store_id: config.store_id.clone(),
            retry: config.retry.clone(),
        })
    }

    fn url(&self, segments: &[&str]) -> Result<Url, ProviderError> {
        self.endpoint.url(segments)
    }

    async fn attempt(&self, method: &Method, url: &Url, body: Option<&Value>) -> Attempt {
        let mut req = self
            .endpoint
            .http
            .request(method.clone(), url.clone())
            .header("Authorization", format!("PortOne {}", self.secret));
        if let Some(body) = body {
            req = req.json(body);
        }
        let (status, bytes) = match exchange(req).await {
            Ok(answer) => answer,
            Err(retry) => return retry,
        };
        if status.is_success() {
            if bytes.is_empty() {
                return Attempt::Done(Value::Null);
            }
            return match serde_json::from_slice(&bytes) {
                Ok(v) => Attempt::Done(v),
                Err(e) => Attempt::Fail(ProviderError::Decode(e.to_string())),
            };
        }
        let parsed: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let kind = parsed
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("UNKNOWN")
            .to_owned();
        let message = parsed.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
        let err = ProviderError::Api {
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

    async fn call(&self, method: Method, segments: &[&str], body: Option<Value>) -> Result<Value, ProviderError> {
        let url = self.url(segments)?;
        self.endpoint
            .with_retries(&self.retry, &method, &url, || {
                self.attempt(&method, &url, body.as_ref())
            })
            .await
    }

    fn decode<T: DeserializeOwned>(value: Value) -> Result<T, ProviderError> {
        serde_json::from_value(value).map_err(|e| ProviderError::Decode(e.to_string()))
    }

    /// `GET /payments/{paymentId}`.
    pub async fn get_payment(&self, payment_id: &str) -> Result<Payment, ProviderError> {
        let v = self.call(Method::GET, &["payments", payment_id], None).await?;
        Self::decode(v)
    }

    /// `POST /payments/{paymentId}/pre-register` with the amount.
    pub async fn pre_register(&self, payment_id: &str, total_amount: i64, currency: &str) -> Result<(), ProviderError> {
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
    pub async fn cancel_payment(&self, payment_id: &str, reason: &str) -> Result<(), ProviderError> {
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
    pub async fn get_billing_key(&self, billing_key: &str) -> Result<BillingKeyInfo, ProviderError> {
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
    pub async fn pay_with_billing_key(&self, payment_id: &str, charge: &BillingKeyCharge) -> Result<(), ProviderError> {
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
    ) -> Result<String, ProviderError> {
        let body = json!({ "payment": self.charge_json(charge), "timeToPay": time_to_pay });
        let v = self
            .call(Method::POST, &["payments", payment_id, "schedule"], Some(body))
            .await?;
        v.pointer("/schedule/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ProviderError::Decode("schedule response without schedule.id".into()))
    }
}

/// PortOne V2 as a [`Provider`]: the client plus the settings its
/// verification needs (store, accepted channels, live mode).
#[derive(Debug, Clone)]
pub struct PortOneV2 {
    client: PortOneClient,
    config: PortOneConfig,
}

impl PortOneV2 {
    /// The provider for `config`.
    pub fn new(config: &PortOneConfig) -> Result<Self, ProviderError> {
        Ok(Self {
            client: PortOneClient::new(config)?,
            config: config.clone(),
        })
    }

    /// The REST client.
    pub fn client(&self) -> &PortOneClient {
        &self.client
    }

    /// PortOne's own checks of a paid payment besides amount and currency:
    /// this store, an accepted channel, a `LIVE` channel in live mode.
    pub fn checks(&self, payment: &Payment) -> Result<(), String> {
        let config = &self.config;
        if payment.store_id.as_deref() != Some(config.store_id.as_str()) {
            return Err(format!(
                "suspected tampering: the payment belongs to store {:?}, not this shop's",
                payment.store_id.as_deref().unwrap_or("(none)")
            ));
        }
        let channel_key = payment.channel.as_ref().and_then(|c| c.key.as_deref());
        if !channel_key.is_some_and(|k| config.accepts_channel(k)) {
            return Err(format!(
                "suspected tampering: the payment was made through channel {:?}, not the shop's",
                channel_key.unwrap_or("(none)")
            ));
        }
        if config.mode == Mode::Live && payment.channel.as_ref().map(|c| c.kind.as_str()) != Some("LIVE") {
            return Err("suspected tampering: paid through a TEST channel while the shop is live".into());
        }
        Ok(())
    }

    /// The normalized view of a V2 payment.
    pub fn normalize(&self, p: Payment) -> ProviderPayment {
        let state = match p.status.as_str() {
            "READY" => PaymentState::Ready,
            "PAY_PENDING" => PaymentState::PayPending,
            "VIRTUAL_ACCOUNT_ISSUED" => PaymentState::VirtualAccountIssued,
            "PAID" => PaymentState::Paid,
            "FAILED" => PaymentState::Failed,
            "PARTIAL_CANCELLED" => PaymentState::PartiallyCancelled,
            "CANCELLED" => PaymentState::Cancelled,
            other => PaymentState::Other(other.to_owned()),
        };
        let failure = p.failure.clone().map(|f| PgFailure {
            code: None,
            message: f.pg_message.or(f.reason),
            pg_code: f.pg_code,
            pg_message: None,
        });
        ProviderPayment {
            checks: self.checks(&p),
            state,
            total: p.amount.total,
            currency: p.currency,
            paid_at: p.paid_at,
            failure,
            reference: None,
        }
    }
}

impl Provider for PortOneV2 {
    fn kind(&self) -> ProviderKind {
        ProviderKind::PortOneV2
    }

    fn pre_register<'a>(
        &'a self,
        payment_id: &'a str,
        total: i64,
        currency: &'a str,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.client.pre_register(payment_id, total, currency))
    }

    fn read<'a>(&'a self, payment_id: &'a str) -> BoxFuture<'a, Result<Option<ProviderPayment>, ProviderError>> {
        Box::pin(async move {
            match self.client.get_payment(payment_id).await {
                Ok(p) => Ok(Some(self.normalize(p))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn cancel<'a>(&'a self, payment_id: &'a str, reason: &'a str) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.client.cancel_payment(payment_id, reason))
    }

    fn read_billing_key<'a>(
        &'a self,
        billing_key: &'a str,
    ) -> BoxFuture<'a, Result<super::BillingKeyState, ProviderError>> {
        Box::pin(async move {
            let info = self.client.get_billing_key(billing_key).await?;
            Ok(super::BillingKeyState {
                issued: info.status == "ISSUED",
                customer_id: info.customer.id,
                issue_id: info.issue_id,
            })
        })
    }

    fn charge<'a>(
        &'a self,
        payment_id: &'a str,
        charge: &'a BillingKeyCharge,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.client.pay_with_billing_key(payment_id, charge))
    }

    fn schedule<'a>(
        &'a self,
        payment_id: &'a str,
        charge: &'a BillingKeyCharge,
        time_to_pay: i64,
    ) -> BoxFuture<'a, Result<ScheduleOutcome, ProviderError>> {
        Box::pin(async move {
            let at = chrono::DateTime::from_timestamp(time_to_pay, 0)
                .unwrap_or_else(chrono::Utc::now)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            match self.client.schedule_payment(payment_id, charge, &at).await {
                Ok(id) => Ok(ScheduleOutcome::Scheduled(Some(id))),
                Err(e) if e.kind() == Some("PAYMENT_SCHEDULE_ALREADY_EXISTS") => Ok(ScheduleOutcome::AlreadyExists),
                Err(e) => Err(e),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(mode: Mode) -> PortOneV2 {
        let mut config = PortOneConfig::sandbox("http://127.0.0.1:8787");
        config.mode = mode;
        PortOneV2::new(&config).expect("client")
    }

    fn paid(channel_kind: &str) -> Payment {
        Payment {
            status: "PAID".into(),
            id: "order-1".into(),
            store_id: Some("store-sandbox".into()),
            amount: PaymentAmount {
                total: 4500,
                paid: 4500,
                cancelled: 0,
            },
            currency: "KRW".into(),
            channel: Some(SelectedChannel {
                kind: channel_kind.into(),
                key: Some("channel-key-sandbox-tosspay".into()),
            }),
            paid_at: None,
            failure: None,
            billing_key: None,
        }
    }

    #[test]
    fn a_paid_payment_of_this_store_and_channel_passes_the_checks() {
        assert_eq!(provider(Mode::Sandbox).checks(&paid("TEST")), Ok(()));
        let n = provider(Mode::Sandbox).normalize(paid("TEST"));
        assert_eq!(
            (n.state, n.total, n.currency.as_str()),
            (PaymentState::Paid, 4500, "KRW")
        );
    }

    #[test]
    fn a_payment_of_another_store_or_channel_is_refused() {
        let p = provider(Mode::Sandbox);
        let mut other_store = paid("TEST");
        other_store.store_id = Some("store-other".into());
        assert!(p.checks(&other_store).is_err_and(|e| e.contains("store")));
        let mut no_store = paid("TEST");
        no_store.store_id = None;
        assert!(p.checks(&no_store).is_err());
        let mut other_channel = paid("TEST");
        if let Some(c) = other_channel.channel.as_mut() {
            c.key = Some("channel-key-not-accepted".into());
        }
        assert!(p.checks(&other_channel).is_err_and(|e| e.contains("channel")));
    }

    #[test]
    fn live_mode_refuses_payments_through_a_test_channel() {
        let live = provider(Mode::Live);
        assert_eq!(live.checks(&paid("LIVE")), Ok(()));
        assert!(live.checks(&paid("TEST")).is_err_and(|e| e.contains("TEST channel")));
        let mut no_channel = paid("LIVE");
        no_channel.channel = None;
        assert!(live.checks(&no_channel).is_err());
    }
}
