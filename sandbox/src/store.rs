//! In-memory state (payments, billing keys, schedules, sessions) and its JSON views.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::config::{Channel, Faults, SandboxConfig};
use crate::webhook::Webhooks;

/// RFC 3339 with milliseconds and `Z`, as PortOne prints timestamps.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A short random id with a prefix.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A PortOne-shaped REST error: `{type, message}` with an HTTP status.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    pub pg: Option<(String, String)>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
            pg: None,
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }
    pub fn payment_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "PAYMENT_NOT_FOUND",
            "결제 건이 존재하지 않습니다.",
        )
    }
    pub fn billing_key_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "BILLING_KEY_NOT_FOUND",
            "빌링키가 존재하지 않습니다.",
        )
    }
    pub fn billing_key_deleted() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "BILLING_KEY_ALREADY_DELETED",
            "빌링키가 이미 삭제되었습니다.",
        )
    }
    pub fn already_paid() -> Self {
        Self::new(StatusCode::CONFLICT, "ALREADY_PAID", "결제가 이미 완료되었습니다.")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "type": self.kind, "message": self.message });
        if let Some((code, msg)) = self.pg {
            body["pgCode"] = Value::String(code);
            body["pgMessage"] = Value::String(msg);
        }
        (self.status, axum::Json(body)).into_response()
    }
}

/// PortOne payment status values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum Status {
    Ready,
    PayPending,
    VirtualAccountIssued,
    Paid,
    Failed,
    PartialCancelled,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ready => "READY",
            Status::PayPending => "PAY_PENDING",
            Status::VirtualAccountIssued => "VIRTUAL_ACCOUNT_ISSUED",
            Status::Paid => "PAID",
            Status::Failed => "FAILED",
            Status::PartialCancelled => "PARTIAL_CANCELLED",
            Status::Cancelled => "CANCELLED",
        }
    }
    /// Paid at some point (so the id cannot be paid again).
    pub fn was_paid(self) -> bool {
        matches!(self, Status::Paid | Status::PartialCancelled | Status::Cancelled)
    }
}

/// One successful cancellation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CancellationRec {
    pub id: String,
    pub pg_cancellation_id: String,
    pub total_amount: i64,
    pub tax_free_amount: i64,
    pub vat_amount: i64,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    pub cancelled_at: DateTime<Utc>,
}

impl CancellationRec {
    pub fn to_json(&self) -> Value {
        json!({
            "status": "SUCCEEDED",
            "id": self.id,
            "pgCancellationId": self.pg_cancellation_id,
            "totalAmount": self.total_amount,
            "taxFreeAmount": self.tax_free_amount,
            "vatAmount": self.vat_amount,
            "reason": self.reason,
            "cancelledAt": ts(self.cancelled_at),
            "requestedAt": ts(self.requested_at),
            "trigger": "API",
        })
    }
}

/// A payment as the sandbox stores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PaymentRec {
    pub id: String,
    pub transaction_id: String,
    pub store_id: String,
    pub channel_key: String,
    pub status: Status,
    pub pay_method: String,
    pub order_name: String,
    pub currency: String,
    pub total: i64,
    pub tax_free: i64,
    pub vat: Option<i64>,
    /// Output-shaped `Customer` object.
    pub customer: Value,
    pub custom_data: Option<String>,
    pub billing_key: Option<String>,
    pub schedule_id: Option<String>,
    pub notice_urls: Vec<String>,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status_changed_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub failure: Option<(String, String, String)>,
    pub pg_tx_id: Option<String>,
    pub cancellations: Vec<CancellationRec>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub virtual_account: Option<(String, String, DateTime<Utc>)>,
}

impl PaymentRec {
    pub fn cancelled_total(&self) -> i64 {
        self.cancellations.iter().map(|c| c.total_amount).sum()
    }
    pub fn cancelled_tax_free(&self) -> i64 {
        self.cancellations.iter().map(|c| c.tax_free_amount).sum()
    }
    pub fn set_status(&mut self, status: Status, now: DateTime<Utc>) {
        self.status = status;
        self.status_changed_at = now;
        self.updated_at = now;
    }

    /// The payment as `GET /payments/{id}` returns it.
    pub fn to_json(&self, config: &SandboxConfig) -> Value {
        let channel = config.channel(&self.channel_key);
        let mut o = Map::new();
        o.insert("status".into(), self.status.as_str().into());
        o.insert("id".into(), self.id.clone().into());
        o.insert("transactionId".into(), self.transaction_id.clone().into());
        o.insert("merchantId".into(), config.merchant_id.clone().into());
        o.insert("storeId".into(), self.store_id.clone().into());
        if self.status != Status::Ready {
            o.insert("method".into(), self.method_json(channel));
        }
        if let Some(ch) = channel {
            o.insert("channel".into(), channel_json(ch));
        }
        o.insert("version".into(), "V2".into());
        if let Some(s) = &self.schedule_id {
            o.insert("scheduleId".into(), s.clone().into());
        }
        if let Some(b) = &self.billing_key {
            o.insert("billingKey".into(), b.clone().into());
        }
        o.insert("requestedAt".into(), ts(self.requested_at).into());
        o.insert("updatedAt".into(), ts(self.updated_at).into());
        o.insert("statusChangedAt".into(), ts(self.status_changed_at).into());
        o.insert("orderName".into(), self.order_name.clone().into());
        let supply = self.vat.map(|v| self.total - self.tax_free - v);
        let paid = if self.status.was_paid() { self.total } else { 0 };
        let mut amount = json!({
            "total": self.total,
            "taxFree": self.tax_free,
            "discount": 0,
            "paid": paid,
            "cancelled": self.cancelled_total(),
            "cancelledTaxFree": self.cancelled_tax_free(),
        });
        if let (Some(v), Some(s)) = (self.vat, supply) {
            amount["vat"] = v.into();
            amount["supply"] = s.into();
        }
        o.insert("amount".into(), amount);
        o.insert("currency".into(), self.currency.clone().into());
        o.insert("customer".into(), self.customer.clone());
        if let Some(c) = &self.custom_data {
            o.insert("customData".into(), c.clone().into());
        }
        if self.status == Status::Paid {
            o.insert("disputes".into(), json!([]));
        }
        if let Some(p) = self.paid_at {
            o.insert("paidAt".into(), ts(p).into());
        }
        if let Some(p) = &self.pg_tx_id {
            o.insert("pgTxId".into(), p.clone().into());
        }
        if self.status.was_paid() {
            o.insert(
                "receiptUrl".into(),
                format!("https://sandbox.invalid/receipts/{}", self.transaction_id).into(),
            );
            o.insert(
                "cancellations".into(),
                Value::Array(self.cancellations.iter().map(|c| c.to_json()).collect()),
            );
        }
        if let Some(c) = self.cancelled_at {
            o.insert("cancelledAt".into(), ts(c).into());
        }
        if self.status == Status::Failed {
            if let Some(f) = self.failed_at {
                o.insert("failedAt".into(), ts(f).into());
            }
            if let Some((reason, code, msg)) = &self.failure {
                o.insert(
                    "failure".into(),
                    json!({"reason": reason, "pgCode": code, "pgMessage": msg}),
                );
            }
        }
        Value::Object(o)
    }

    fn method_json(&self, channel: Option<&Channel>) -> Value {
        match self.pay_method.as_str() {
            "EASY_PAY" => {
                let provider = match channel {
                    Some(c) if c.is_tosspay() => "TOSSPAY",
                    _ => "KAKAOPAY",
                };
                json!({"type": "PaymentMethodEasyPay", "provider": provider,
                       "easyPayMethod": {"type": "PaymentMethodEasyPayMethodCharge"}})
            }
            "VIRTUAL_ACCOUNT" => {
                let mut m = json!({"type": "PaymentMethodVirtualAccount", "bank": "SHINHAN",
                                   "accountType": "NORMAL", "remitteeName": "포트원 샌드박스"});
                if let Some((number, issued, expires)) =
                    self.virtual_account.as_ref().map(|(n, _, e)| (n, self.requested_at, e))
                {
                    m["accountNumber"] = number.clone().into();
                    m["issuedAt"] = ts(issued).into();
                    m["expiredAt"] = ts(*expires).into();
                }
                m
            }
            "TRANSFER" => json!({"type": "PaymentMethodTransfer", "bank": "SHINHAN"}),
            "MOBILE" => json!({"type": "PaymentMethodMobile", "phoneNumber": "01000000000"}),
            _ => json!({
                "type": "PaymentMethodCard",
                "card": sandbox_card(),
                "approvalNumber": "00000000",
                "installment": {"month": 0, "isInterestFree": false},
                "pointUsed": false
            }),
        }
    }
}

/// The `Card` object the sandbox reports for every card.
fn sandbox_card() -> Value {
    json!({"publisher": "SANDBOX", "issuer": "SANDBOX", "brand": "LOCAL", "type": "CREDIT",
           "ownerType": "PERSONAL", "bin": "123456", "name": "샌드박스카드", "number": "12345600****000*"})
}

/// `channel` object of REST responses.
pub(crate) fn channel_json(ch: &Channel) -> Value {
    json!({
        "type": "TEST",
        "id": ch.id,
        "key": ch.key,
        "name": ch.name,
        "pgProvider": ch.rest_pg_provider(),
        "pgMerchantId": ch.pg_merchant_id,
    })
}

/// A billing key as the sandbox stores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BillingKeyRec {
    pub billing_key: String,
    pub store_id: String,
    pub channel_key: String,
    pub method: String,
    pub customer: Value,
    pub custom_data: Option<String>,
    pub issue_id: Option<String>,
    pub issue_name: Option<String>,
    pub notice_urls: Vec<String>,
    pub requested_at: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// Bumped by the admin `updated` call (the user changed the funding method).
    pub revision: u32,
}

impl BillingKeyRec {
    pub fn to_json(&self, config: &SandboxConfig) -> Value {
        let mut o = Map::new();
        o.insert(
            "status".into(),
            if self.deleted_at.is_some() { "DELETED" } else { "ISSUED" }.into(),
        );
        o.insert("billingKey".into(), self.billing_key.clone().into());
        o.insert("merchantId".into(), config.merchant_id.clone().into());
        o.insert("storeId".into(), self.store_id.clone().into());
        let method = match self.method.as_str() {
            "EASY_PAY" => json!({"type": "BillingKeyPaymentMethodEasyPay", "provider": "TOSSPAY",
            "method": if self.revision.is_multiple_of(2) {
                json!({"type": "BillingKeyPaymentMethodEasyPayCharge"})
            } else {
                json!({"type": "BillingKeyPaymentMethodCard", "card": sandbox_card()})
            }}),
            "MOBILE" => {
                json!({"type": "BillingKeyPaymentMethodMobile", "phoneNumber": "01000000000"})
            }
            _ => json!({"type": "BillingKeyPaymentMethodCard", "card": sandbox_card()}),
        };
        o.insert("methods".into(), json!([method]));
        let channels: Vec<Value> = config
            .channel(&self.channel_key)
            .map(channel_json)
            .into_iter()
            .collect();
        o.insert("channels".into(), Value::Array(channels));
        o.insert("customer".into(), self.customer.clone());
        if let Some(c) = &self.custom_data {
            o.insert("customData".into(), c.clone().into());
        }
        if let Some(c) = &self.issue_id {
            o.insert("issueId".into(), c.clone().into());
        }
        if let Some(c) = &self.issue_name {
            o.insert("issueName".into(), c.clone().into());
        }
        o.insert("requestedAt".into(), ts(self.requested_at).into());
        o.insert("issuedAt".into(), ts(self.issued_at).into());
        if let Some(d) = self.deleted_at {
            o.insert("deletedAt".into(), ts(d).into());
        }
        Value::Object(o)
    }
}

/// A pre-registration (`POST /payments/{id}/pre-register`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PreRegistration {
    pub total_amount: Option<i64>,
    pub tax_free_amount: Option<i64>,
    pub currency: Option<String>,
}

/// A scheduled billing-key payment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ScheduleRec {
    pub id: String,
    pub payment_id: String,
    pub billing_key: String,
    pub order_name: String,
    pub customer: Value,
    pub custom_data: Option<String>,
    pub total: i64,
    pub tax_free: i64,
    pub currency: String,
    pub notice_urls: Vec<String>,
    pub time_to_pay: DateTime<Utc>,
    /// `SCHEDULED`, `SUCCEEDED` or `FAILED`.
    pub status: String,
}

/// Everything the sandbox remembers (persisted to `state_file` when set).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Store {
    pub payments: HashMap<String, PaymentRec>,
    pub billing_keys: HashMap<String, BillingKeyRec>,
    pub pre_registrations: HashMap<String, PreRegistration>,
    pub schedules: HashMap<String, ScheduleRec>,
    pub attempts: HashMap<String, u32>,
    #[serde(skip)]
    pub sessions: HashMap<String, crate::checkout::Session>,
}

/// Runtime fault state (counters and the consecutive-request clock).
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    pub faults: Faults,
    pub last_seen: HashMap<String, Instant>,
}

/// Shared application state.
pub(crate) struct Inner {
    pub config: SandboxConfig,
    pub store: Mutex<Store>,
    pub faults: Mutex<FaultState>,
    pub webhooks: Webhooks,
    pub tasks: Mutex<tokio::task::JoinSet<()>>,
}

/// Cheaply cloneable handle to the state.
pub(crate) type AppState = Arc<Inner>;

/// Locks a mutex, recovering from poisoning (a panicked holder cannot corrupt plain data here).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    /// Runs `f` on the store, then saves it if a state file is configured.
    pub fn with_store<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut s = lock(&self.store);
        let r = f(&mut s);
        // Saved while the lock is held, so concurrent saves cannot interleave.
        if let Some(path) = &self.config.state_file {
            let res = serde_json::to_vec_pretty(&*s)
                .map_err(std::io::Error::other)
                .and_then(|bytes| {
                    let tmp = path.with_extension("tmp");
                    std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path))
                });
            if let Err(e) = res {
                tracing::warn!(error = %e, path = %path.display(), "could not save sandbox state");
            }
        }
        r
    }

    /// Spawns a background task that is aborted at shutdown.
    pub fn spawn<F>(&self, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let mut tasks = lock(&self.tasks);
        while tasks.try_join_next().is_some() {}
        tasks.spawn(fut);
    }
}
