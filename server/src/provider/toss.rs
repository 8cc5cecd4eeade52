//! Toss Payments used directly (without PortOne): a small REST client and the
//! [`Provider`] the sync drives.
//!
//! The two transactions: the browser, with the client key, opens Toss's
//! window and the customer authenticates (`IN_PROGRESS`); this server, with
//! the **secret key** (`Authorization: Basic base64(secretKey + ":")`),
//! confirms it (`POST /v1/payments/confirm`) once the sync has checked the
//! order id and the amount against its own order. Nothing is charged before
//! the confirm.
//!
//! Every call has a per-request timeout. Network errors, timeouts, 5xx and
//! `IDEMPOTENT_REQUEST_PROCESSING` answers are retried with exponential
//! backoff up to [`RetryPolicy::max_attempts`]; `FORBIDDEN_CONSECUTIVE_REQUEST`
//! (a repeat on one `paymentKey` within about a second) waits
//! [`RetryPolicy::consecutive_request_wait`] and asks again. Retrying is safe:
//! the confirm, the billing-key issue, billing charges and refunds carry an
//! `Idempotency-Key` derived from what they act on (Toss answers a repeated
//! key with the first answer), and a full cancel is idempotent by nature
//! (`ALREADY_CANCELED_PAYMENT` counts as done). An uncertain outcome (a lost
//! confirm answer) is resolved by reading the payment again, never by
//! guessing.

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::http::{exchange, Attempt, Endpoint};
use super::{
    BillingKeyCharge, BillingKeyState, IssuedBillingKey, PaymentState, Provider, ProviderError, ProviderKind,
    ProviderPayment, ScheduleOutcome,
};
use crate::config::{RetryPolicy, TossConfig};
use futures::future::BoxFuture;
use portone_checkout::protocol::PgFailure;

/// The reason sent with a net cancel starts with this, so Toss's records
/// say it is one (Toss has no separate net-cancel API).
pub const NET_CANCEL_PREFIX: &str = "net cancel";

/// `failure` of an `ABORTED` payment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TossFailure {
    /// Toss's code, e.g. `REJECT_CARD_COMPANY`, `PAY_PROCESS_CANCELED`.
    #[serde(default)]
    pub code: Option<String>,
    /// Toss's message.
    #[serde(default)]
    pub message: Option<String>,
}

/// One entry of `cancels[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TossCancel {
    /// Amount cancelled.
    #[serde(default)]
    pub cancel_amount: i64,
    /// Why.
    #[serde(default)]
    pub cancel_reason: String,
    /// When (RFC 3339).
    #[serde(default)]
    pub canceled_at: Option<String>,
    /// Toss's transaction key of the cancel.
    #[serde(default)]
    pub transaction_key: Option<String>,
}

/// The fields of Toss's `Payment` object this server uses (unknown fields
/// are ignored). Its `Debug` leaves the virtual account's `secret` out.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TossPayment {
    /// Toss's key of the payment.
    pub payment_key: String,
    /// The merchant's order id (the checkout's `paymentId`).
    pub order_id: String,
    /// `READY`, `IN_PROGRESS`, `WAITING_FOR_DEPOSIT`, `DONE`, `CANCELED`,
    /// `PARTIAL_CANCELED`, `ABORTED`, `EXPIRED`.
    pub status: String,
    /// The method as Toss names it (in Korean: `카드`, `가상계좌`, ...).
    #[serde(default)]
    pub method: Option<String>,
    /// `NORMAL`, `BILLING`, `BRANDPAY`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// The amount authenticated or paid.
    #[serde(default)]
    pub total_amount: i64,
    /// What is left after cancels.
    #[serde(default)]
    pub balance_amount: i64,
    /// Currency.
    #[serde(default)]
    pub currency: String,
    /// When approved (RFC 3339, KST).
    #[serde(default)]
    pub approved_at: Option<String>,
    /// The store (`tvivarepublica` for test keys).
    #[serde(default)]
    pub m_id: Option<String>,
    /// Why it was aborted.
    #[serde(default)]
    pub failure: Option<TossFailure>,
    /// The virtual account's secret, compared with `DEPOSIT_CALLBACK`.
    #[serde(default)]
    pub secret: Option<String>,
    /// Cancels, oldest first.
    #[serde(default)]
    pub cancels: Option<Vec<TossCancel>>,
    /// The virtual account, for virtual-account payments.
    #[serde(default)]
    pub virtual_account: Option<Value>,
}

impl std::fmt::Debug for TossPayment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TossPayment")
            .field("payment_key", &self.payment_key)
            .field("order_id", &self.order_id)
            .field("status", &self.status)
            .field("method", &self.method)
            .field("total_amount", &self.total_amount)
            .field("balance_amount", &self.balance_amount)
            .field("currency", &self.currency)
            .field("failure", &self.failure)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl TossPayment {
    /// Whether it is a virtual-account payment (its refunds need the
    /// customer's account).
    pub fn is_virtual_account(&self) -> bool {
        self.virtual_account.as_ref().is_some_and(|v| !v.is_null())
            || matches!(self.method.as_deref(), Some("가상계좌" | "VIRTUAL_ACCOUNT"))
    }
}

/// The account a virtual-account refund is paid to
/// (`refundReceiveAccount`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundAccount {
    /// Bank code (e.g. `"88"`) as Toss lists them.
    pub bank: String,
    /// Account number, digits only.
    pub account_number: String,
    /// Account holder.
    pub holder_name: String,
}

/// `POST /v1/payments/{paymentKey}/cancel`'s body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelRequest {
    /// `cancelReason` (at most 200 characters).
    pub cancel_reason: String,
    /// `cancelAmount`: `None` cancels the whole balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_amount: Option<i64>,
    /// `refundReceiveAccount`, for a deposited virtual account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_receive_account: Option<RefundAccount>,
}

/// The Toss Payments REST client. Cheap to clone.
#[derive(Clone)]
pub struct TossClient {
    endpoint: Endpoint,
    secret: String,
    retry: RetryPolicy,
}

impl std::fmt::Debug for TossClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TossClient")
            .field("base", &self.endpoint.base().as_str())
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The `Idempotency-Key` of the confirm of `payment_key`: a retry, from
/// this process or another, is the same request.
pub fn confirm_idempotency_key(payment_key: &str) -> String {
    format!("confirm-{payment_key}")
}

/// The `Idempotency-Key` of the billing charge made under `payment_id`.
pub fn charge_idempotency_key(payment_id: &str) -> String {
    format!("billing-{payment_id}")
}

/// The `Idempotency-Key` of the billing-key issue from `auth_key`.
pub fn issue_idempotency_key(auth_key: &str) -> String {
    format!("issue-{auth_key}")
}

/// The `Idempotency-Key` of a refund of `payment_id` the operator keyed
/// `operator_key` (at most 300 characters, as Toss allows).
pub fn refund_idempotency_key(payment_id: &str, operator_key: &str) -> String {
    let key = format!("refund-{payment_id}-{operator_key}");
    key.chars().take(300).collect()
}

impl TossClient {
    /// Builds a client from the config.
    pub fn new(config: &TossConfig) -> Result<Self, ProviderError> {
        Ok(TossClient {
            endpoint: Endpoint::new(&config.api_base, &config.retry, "Toss Payments")?,
            secret: config.secret_key.clone(),
            retry: config.retry.clone(),
        })
    }

    /// The URL of `segments` under the base, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Result<Url, ProviderError> {
        self.endpoint.url(segments)
    }

    /// The request as sent: Basic auth with the secret key and an empty
    /// password (`base64(secretKey + ":")`), the JSON body, the
    /// idempotency key.
    fn request(&self, method: &Method, url: &Url, body: Option<&Value>, key: Option<&str>) -> reqwest::RequestBuilder {
        let mut req = self
            .endpoint
            .http
            .request(method.clone(), url.clone())
            .basic_auth(&self.secret, None::<&str>);
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        req
    }

    async fn attempt(&self, method: &Method, url: &Url, body: Option<&Value>, key: Option<&str>) -> Attempt {
        let (status, bytes) = match exchange(self.request(method, url, body, key)).await {
            Ok(answer) => answer,
            Err(retry) => return retry,
        };
        if status.is_success() {
            return match serde_json::from_slice(&bytes) {
                Ok(v) => Attempt::Done(v),
                Err(e) => Attempt::Fail(ProviderError::Decode(e.to_string())),
            };
        }
        let parsed: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let code = parsed
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or("UNKNOWN")
            .to_owned();
        let message = parsed.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
        let err = ProviderError::Api {
            status: status.as_u16(),
            kind: code.clone(),
            message,
        };
        match code.as_str() {
            "FORBIDDEN_CONSECUTIVE_REQUEST" => Attempt::Retry(err, self.retry.consecutive_request_wait),
            "IDEMPOTENT_REQUEST_PROCESSING" => Attempt::Retry(err, self.retry.base_backoff),
            _ if status == StatusCode::TOO_MANY_REQUESTS => Attempt::Retry(err, self.retry.consecutive_request_wait),
            _ if status.is_server_error() => Attempt::Retry(err, Duration::ZERO),
            _ => Attempt::Fail(err),
        }
    }

    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<Value>,
        key: Option<&str>,
    ) -> Result<Value, ProviderError> {
        let url = self.url(segments)?;
        self.endpoint
            .with_retries(&self.retry, &method, &url, || {
                self.attempt(&method, &url, body.as_ref(), key)
            })
            .await
    }

    fn decode<T: DeserializeOwned>(value: Value) -> Result<T, ProviderError> {
        serde_json::from_value(value).map_err(|e| ProviderError::Decode(e.to_string()))
    }

    /// `GET /v1/payments/orders/{orderId}`: the order's confirmed payment,
    /// else its latest attempt.
    pub async fn payment_by_order(&self, order_id: &str) -> Result<TossPayment, ProviderError> {
        let v = self
            .call(Method::GET, &["v1", "payments", "orders", order_id], None, None)
            .await?;
        Self::decode(v)
    }

    /// `GET /v1/payments/{paymentKey}`.
    pub async fn payment(&self, payment_key: &str) -> Result<TossPayment, ProviderError> {
        let v = self
            .call(Method::GET, &["v1", "payments", payment_key], None, None)
            .await?;
        Self::decode(v)
    }

    /// `POST /v1/payments/confirm {paymentKey, orderId, amount}` with
    /// [`confirm_idempotency_key`]. The caller reads the payment afterwards
    /// whatever this returns.
    pub async fn confirm(&self, payment_key: &str, order_id: &str, amount: i64) -> Result<TossPayment, ProviderError> {
        let body = json!({ "paymentKey": payment_key, "orderId": order_id, "amount": amount });
        let key = confirm_idempotency_key(payment_key);
        let v = self
            .call(Method::POST, &["v1", "payments", "confirm"], Some(body), Some(&key))
            .await?;
        Self::decode(v)
    }

    /// `POST /v1/payments/{paymentKey}/cancel`, with `idempotency_key` when
    /// the cancel is partial (a full cancel is idempotent by itself).
    pub async fn cancel(
        &self,
        payment_key: &str,
        cancel: &CancelRequest,
        idempotency_key: Option<&str>,
    ) -> Result<TossPayment, ProviderError> {
        let body = serde_json::to_value(cancel).map_err(|e| ProviderError::Decode(e.to_string()))?;
        let v = self
            .call(
                Method::POST,
                &["v1", "payments", payment_key, "cancel"],
                Some(body),
                idempotency_key,
            )
            .await?;
        Self::decode(v)
    }

    /// `POST /v1/billing/authorizations/issue {authKey, customerKey}` with
    /// [`issue_idempotency_key`] (an `authKey` works once: a retry after a
    /// lost answer gets the first answer again).
    pub async fn issue_billing_key(
        &self,
        auth_key: &str,
        customer_key: &str,
    ) -> Result<IssuedBillingKey, ProviderError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Issued {
            billing_key: String,
            customer_key: String,
        }
        let body = json!({ "authKey": auth_key, "customerKey": customer_key });
        let key = issue_idempotency_key(auth_key);
        let v = self
            .call(
                Method::POST,
                &["v1", "billing", "authorizations", "issue"],
                Some(body),
                Some(&key),
            )
            .await?;
        let issued: Issued = Self::decode(v)?;
        Ok(IssuedBillingKey {
            billing_key: issued.billing_key,
            customer_id: issued.customer_key,
        })
    }

    /// `POST /v1/billing/{billingKey}`: charges the key now under `order_id`
    /// with [`charge_idempotency_key`].
    pub async fn charge_billing_key(
        &self,
        order_id: &str,
        charge: &BillingKeyCharge,
    ) -> Result<TossPayment, ProviderError> {
        let mut body = json!({
            "customerKey": charge.customer.id,
            "amount": charge.total_amount,
            "orderId": order_id,
            "orderName": charge.order_name,
            "customerName": charge.customer.full_name,
        });
        if let Some(email) = &charge.customer.email {
            body["customerEmail"] = json!(email);
        }
        let key = charge_idempotency_key(order_id);
        let v = self
            .call(
                Method::POST,
                &["v1", "billing", &charge.billing_key],
                Some(body),
                Some(&key),
            )
            .await?;
        Self::decode(v)
    }
}

/// Toss Payments as a [`Provider`].
#[derive(Debug, Clone)]
pub struct TossPayments {
    client: TossClient,
}

impl TossPayments {
    /// The provider for `config` (validated by the caller for its mode).
    pub fn new(config: &TossConfig) -> Result<Self, ProviderError> {
        Ok(Self {
            client: TossClient::new(config)?,
        })
    }

    /// The REST client.
    pub fn client(&self) -> &TossClient {
        &self.client
    }

    /// The normalized view of a Toss payment read for `order_id`.
    pub fn normalize(order_id: &str, p: TossPayment) -> ProviderPayment {
        let state = match p.status.as_str() {
            "READY" => PaymentState::Ready,
            "IN_PROGRESS" => PaymentState::Authenticated,
            "WAITING_FOR_DEPOSIT" => PaymentState::VirtualAccountIssued,
            "DONE" => PaymentState::Paid,
            "CANCELED" => PaymentState::Cancelled,
            "PARTIAL_CANCELED" => PaymentState::PartiallyCancelled,
            "ABORTED" | "EXPIRED" => PaymentState::Failed,
            other => PaymentState::Other(other.to_owned()),
        };
        let failure = match p.status.as_str() {
            "ABORTED" => Some(PgFailure {
                code: p
                    .failure
                    .as_ref()
                    .and_then(|f| f.code.clone())
                    .or_else(|| Some("ABORTED".into())),
                message: p
                    .failure
                    .as_ref()
                    .and_then(|f| f.message.clone())
                    .or_else(|| Some("the payment was not approved".into())),
                pg_code: None,
                pg_message: None,
            }),
            "EXPIRED" => Some(PgFailure {
                code: Some("EXPIRED".into()),
                message: Some("the payment expired before it was completed; nothing was charged".into()),
                pg_code: None,
                pg_message: None,
            }),
            _ => None,
        };
        let checks = if p.order_id == order_id {
            Ok(())
        } else {
            Err(format!(
                "suspected tampering: Toss answered payment of order {:?} for order {order_id:?}",
                p.order_id
            ))
        };
        ProviderPayment {
            state,
            total: p.total_amount,
            currency: p.currency,
            paid_at: p.approved_at.filter(|_| p.status == "DONE"),
            failure,
            checks,
            reference: Some(p.payment_key),
        }
    }
}

impl Provider for TossPayments {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Toss
    }

    /// Toss has no pre-registration: the server's own amount is enforced at
    /// the confirm.
    fn pre_register<'a>(
        &'a self,
        _payment_id: &'a str,
        _total: i64,
        _currency: &'a str,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async { Ok(()) })
    }

    fn read<'a>(&'a self, payment_id: &'a str) -> BoxFuture<'a, Result<Option<ProviderPayment>, ProviderError>> {
        Box::pin(async move {
            match self.client.payment_by_order(payment_id).await {
                Ok(p) => Ok(Some(Self::normalize(payment_id, p))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    /// `POST /v1/payments/confirm` with the amount the sync checked.
    /// `ALREADY_PROCESSED_PAYMENT` (a refreshed success page, another
    /// process first) is not an error: the sync reads the payment next.
    fn confirm<'a>(
        &'a self,
        payment_id: &'a str,
        payment: &'a ProviderPayment,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let Some(key) = payment.reference.as_deref() else {
                return Err(ProviderError::Decode("the payment has no paymentKey to confirm".into()));
            };
            match self.client.confirm(key, payment_id, payment.total).await {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == Some("ALREADY_PROCESSED_PAYMENT") => {
                    tracing::info!(payment_id, "confirm: already processed; the read decides");
                    Ok(())
                }
                Err(e) => Err(e),
            }
        })
    }

    /// Cancels the whole balance of the order's payment
    /// (`POST /v1/payments/{paymentKey}/cancel`); an already cancelled one
    /// is a success.
    fn cancel<'a>(&'a self, payment_id: &'a str, reason: &'a str) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let payment = self.client.payment_by_order(payment_id).await?;
            if payment.status == "CANCELED" {
                return Ok(());
            }
            let cancel = CancelRequest {
                cancel_reason: reason.chars().take(200).collect(),
                cancel_amount: None,
                refund_receive_account: None,
            };
            match self.client.cancel(&payment.payment_key, &cancel, None).await {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == Some("ALREADY_CANCELED_PAYMENT") => Ok(()),
                Err(e) => Err(e),
            }
        })
    }

    /// Toss has no API to read a billing key: keys are only ever stored
    /// from [`Provider::issue_billing_key`], which this server calls itself.
    fn read_billing_key<'a>(&'a self, _billing_key: &'a str) -> BoxFuture<'a, Result<BillingKeyState, ProviderError>> {
        Box::pin(async { Err(ProviderError::not_supported("reading a billing key")) })
    }

    fn issue_billing_key<'a>(
        &'a self,
        auth_key: &'a str,
        customer_id: &'a str,
    ) -> BoxFuture<'a, Result<IssuedBillingKey, ProviderError>> {
        Box::pin(self.client.issue_billing_key(auth_key, customer_id))
    }

    fn charge<'a>(
        &'a self,
        payment_id: &'a str,
        charge: &'a BillingKeyCharge,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move { self.client.charge_billing_key(payment_id, charge).await.map(|_| ()) })
    }

    /// Toss has no server-side schedules: the charge is only recorded (the
    /// order is written by the sync); the reconciler makes it when due.
    fn schedule<'a>(
        &'a self,
        _payment_id: &'a str,
        _charge: &'a BillingKeyCharge,
        _time_to_pay: i64,
    ) -> BoxFuture<'a, Result<ScheduleOutcome, ProviderError>> {
        Box::pin(async { Ok(ScheduleOutcome::Scheduled(None)) })
    }

    fn runs_schedules(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(status: &str) -> TossPayment {
        TossPayment {
            payment_key: "tgen_1".into(),
            order_id: "order-1".into(),
            status: status.into(),
            method: Some("카드".into()),
            kind: Some("NORMAL".into()),
            total_amount: 4500,
            balance_amount: 4500,
            currency: "KRW".into(),
            approved_at: Some("2026-11-30T12:00:00+09:00".into()),
            m_id: Some("tvivarepublica".into()),
            failure: None,
            secret: Some("ps_secret".into()),
            cancels: None,
            virtual_account: None,
        }
    }

    #[test]
    fn every_toss_status_maps_to_a_payment_state() {
        for (status, state) in [
            ("READY", PaymentState::Ready),
            ("IN_PROGRESS", PaymentState::Authenticated),
            ("WAITING_FOR_DEPOSIT", PaymentState::VirtualAccountIssued),
            ("DONE", PaymentState::Paid),
            ("CANCELED", PaymentState::Cancelled),
            ("PARTIAL_CANCELED", PaymentState::PartiallyCancelled),
            ("ABORTED", PaymentState::Failed),
            ("EXPIRED", PaymentState::Failed),
            ("SOMETHING_NEW", PaymentState::Other("SOMETHING_NEW".into())),
        ] {
            let n = TossPayments::normalize("order-1", payment(status));
            assert_eq!(n.state, state, "{status}");
            assert_eq!(n.reference.as_deref(), Some("tgen_1"), "the paymentKey is kept");
            assert_eq!(n.paid_at.is_some(), status == "DONE", "{status}");
        }
    }

    #[test]
    fn an_aborted_payment_carries_tosss_failure_and_an_expired_one_says_so() {
        let mut aborted = payment("ABORTED");
        aborted.failure = Some(TossFailure {
            code: Some("PAY_PROCESS_CANCELED".into()),
            message: Some("사용자가 결제를 취소하였습니다".into()),
        });
        let f = TossPayments::normalize("order-1", aborted).failure.unwrap_or_default();
        assert!(f.is_user_cancel(), "{f:?}");
        assert_eq!(f.message.as_deref(), Some("사용자가 결제를 취소하였습니다"));
        let f = TossPayments::normalize("order-1", payment("EXPIRED"))
            .failure
            .unwrap_or_default();
        assert_eq!(f.code.as_deref(), Some("EXPIRED"));
    }

    #[test]
    fn a_payment_of_another_order_fails_the_checks() {
        let n = TossPayments::normalize("order-2", payment("DONE"));
        assert!(n.checks.is_err_and(|e| e.contains("tampering")));
    }

    #[test]
    fn requests_carry_basic_auth_of_the_secret_key_with_a_colon_and_the_idempotency_key() {
        let client = TossClient::new(&TossConfig::sandbox("http://127.0.0.1:9/toss")).expect("client");
        let url = client.url(&["v1", "payments", "confirm"]).expect("url");
        assert_eq!(url.as_str(), "http://127.0.0.1:9/toss/v1/payments/confirm");
        let req = client
            .request(&Method::POST, &url, Some(&json!({})), Some("confirm-tgen_1"))
            .build()
            .expect("request");
        let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok());
        assert_eq!(auth, Some("Basic dGVzdF9za19zYW5kYm94VG9zc1BheW1lbnRzU2VjcmV0S2V5Og=="));
        assert_eq!(
            req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()),
            Some("confirm-tgen_1")
        );
    }

    #[test]
    fn path_segments_are_encoded() {
        let client = TossClient::new(&TossConfig::sandbox("http://127.0.0.1:9/toss")).expect("client");
        let url = client.url(&["v1", "payments", "orders", "../x?y"]).expect("url");
        assert_eq!(url.as_str(), "http://127.0.0.1:9/toss/v1/payments/orders/..%2Fx%3Fy");
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let client = TossClient::new(&TossConfig::sandbox("http://127.0.0.1:9/toss")).expect("client");
        assert!(!format!("{client:?}").contains("test_sk_"));
        assert!(!format!("{:?}", payment("DONE")).contains("ps_secret"));
    }

    #[test]
    fn idempotency_keys_are_derived_from_what_they_act_on() {
        assert_eq!(confirm_idempotency_key("k"), confirm_idempotency_key("k"));
        assert_ne!(confirm_idempotency_key("k"), confirm_idempotency_key("l"));
        assert_eq!(charge_idempotency_key("charge-1"), "billing-charge-1");
        assert!(refund_idempotency_key("order-1", &"x".repeat(400)).chars().count() <= 300);
    }
}
