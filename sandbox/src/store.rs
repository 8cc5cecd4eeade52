//! The shared state: what the sandbox remembers ([`Store`]: payments,
//! billing keys, pre-registrations, schedules, window attempts and open window
//! sessions, plus PortOne V1's own maps in `Store::v1`, persisted to
//! `state_file` when set) and
//! the handle every handler gets ([`AppState`]: the store, the fault state, the
//! webhook bookkeeping, background tasks and per-provider runtime state).
//!
//! Toss Payments keeps its own maps in [`Store::toss`] (`toss/records.rs`).
//!
//! Records hold data only. How a provider shows them (PortOne V2's
//! `GET /payments/{id}` body, ...) lives with that provider, e.g.
//! `portone_v2/json.rs`; the error bodies live in `api.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::SandboxConfig;
use crate::faults::FaultState;
use crate::portone_v1::records::V1Store;
use crate::portone_v2::V2State;
use crate::toss::records::TossStore;
use crate::toss::TossState;
use crate::webhook::Webhooks;
use crate::window::Session;

/// RFC 3339 with milliseconds and `Z`, as PortOne prints timestamps.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A short random id with a prefix.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
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

/// A payment as the sandbox stores it. Field names and values follow PortOne
/// V2 (statuses, `pay_method` enum names, an output-shaped `customer`); another
/// provider maps them to its own view.
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
    /// Window openings per payment id (`GET /__sandbox/payments/{id}/attempts`).
    pub attempts: HashMap<String, u32>,
    /// Toss Payments' records (absent from state files written before Toss).
    #[serde(default)]
    pub toss: TossStore,
    /// Open and finished PG windows (`window/`), never persisted.
    #[serde(skip)]
    pub sessions: HashMap<String, Session>,
    /// PortOne V1's records in their own maps (payments by `imp_uid`,
    /// customers, schedules, tokens); absent in older state files.
    #[serde(default)]
    pub v1: V1Store,
}

/// Shared application state.
pub(crate) struct Inner {
    pub config: SandboxConfig,
    pub store: Mutex<Store>,
    pub faults: Mutex<FaultState>,
    pub webhooks: Webhooks,
    /// PortOne V2's runtime state (its webhook signing key).
    pub portone_v2: V2State,
    /// Toss Payments' runtime state (idempotency keys in flight).
    pub toss: TossState,
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
