//! What the sandbox remembers for Toss Payments, in its own maps of the
//! shared [`Store`](crate::store::Store) (`Store::toss`, `#[serde(default)]`
//! so state files written before Toss existed still load): payments by
//! `paymentKey`, the `paymentKey`s of each `orderId`, billing keys, the
//! `authKey`s of approved billing-auth windows, and the answers kept for
//! `Idempotency-Key`s. Records only; the JSON views are in `json.rs`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Toss payment statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum TossStatus {
    /// The window is open, the buyer has not authenticated yet.
    Ready,
    /// Authenticated in the window, waiting for the merchant's confirm.
    InProgress,
    /// Confirmed virtual account, waiting for the buyer's deposit.
    WaitingForDeposit,
    Done,
    Canceled,
    PartialCanceled,
    /// Declined or given up (window decline/cancel, declined confirm or billing charge).
    Aborted,
    /// Not authenticated or not confirmed in time.
    Expired,
}

impl TossStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TossStatus::Ready => "READY",
            TossStatus::InProgress => "IN_PROGRESS",
            TossStatus::WaitingForDeposit => "WAITING_FOR_DEPOSIT",
            TossStatus::Done => "DONE",
            TossStatus::Canceled => "CANCELED",
            TossStatus::PartialCanceled => "PARTIAL_CANCELED",
            TossStatus::Aborted => "ABORTED",
            TossStatus::Expired => "EXPIRED",
        }
    }

    /// Confirmed at some point: its `orderId` cannot be paid again.
    pub fn was_confirmed(self) -> bool {
        matches!(
            self,
            TossStatus::WaitingForDeposit | TossStatus::Done | TossStatus::Canceled | TossStatus::PartialCanceled
        )
    }

    /// Waiting for something with a deadline (authentication or the confirm).
    pub fn has_deadline(self) -> bool {
        matches!(self, TossStatus::Ready | TossStatus::InProgress)
    }
}

/// One cancellation (`cancels[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TossCancel {
    pub cancel_amount: i64,
    pub cancel_reason: String,
    pub tax_free_amount: i64,
    /// The balance left after this cancellation.
    pub refundable_amount: i64,
    pub canceled_at: DateTime<Utc>,
    pub transaction_key: String,
}

/// An issued virtual account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TossVirtualAccount {
    pub account_number: String,
    pub bank_code: String,
    pub customer_name: String,
    pub due_date: DateTime<Utc>,
    /// `NONE`, or `PENDING` once a refund was asked for (it never completes here).
    pub refund_status: String,
    /// `INCOMPLETED` until the deposit, then `COMPLETED`.
    pub settlement_status: String,
    /// The `refundReceiveAccount` of the refund, as given.
    pub refund_receive_account: Option<Value>,
}

/// A Toss payment (one `paymentKey`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TossPayment {
    pub payment_key: String,
    pub order_id: String,
    pub order_name: String,
    /// `type: BILLING` (a billing-key charge) rather than `NORMAL`.
    pub billing: bool,
    /// The SDK's method name: `CARD`, `TRANSFER`, `VIRTUAL_ACCOUNT`, `MOBILE_PHONE`,
    /// `CULTURE_GIFT_CERTIFICATE` or `FOREIGN_EASY_PAY`.
    pub method: String,
    pub status: TossStatus,
    pub total_amount: i64,
    pub tax_free_amount: i64,
    pub currency: String,
    pub customer_key: Option<String>,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub customer_mobile_phone: Option<String>,
    pub metadata: Option<Value>,
    pub requested_at: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
    /// While `READY` or `IN_PROGRESS`: when it becomes `EXPIRED`.
    pub deadline: Option<DateTime<Utc>>,
    pub last_transaction_key: Option<String>,
    pub cancels: Vec<TossCancel>,
    pub virtual_account: Option<TossVirtualAccount>,
    /// Hours the virtual account stays open for the deposit (`virtualAccount.validHours`).
    pub valid_hours: Option<i64>,
    /// Compared with `DEPOSIT_CALLBACK`'s `secret` (virtual accounts).
    pub secret: Option<String>,
    /// `(code, message)`.
    pub failure: Option<(String, String)>,
    pub billing_key: Option<String>,
}

impl TossPayment {
    pub fn canceled_amount(&self) -> i64 {
        self.cancels.iter().map(|c| c.cancel_amount).sum()
    }
    pub fn balance_amount(&self) -> i64 {
        self.total_amount - self.canceled_amount()
    }
    pub fn canceled_tax_free(&self) -> i64 {
        self.cancels.iter().map(|c| c.tax_free_amount).sum()
    }
    /// Mobile-phone payments can only be cancelled whole.
    pub fn is_partial_cancelable(&self) -> bool {
        self.method != "MOBILE_PHONE"
    }
    /// If the deadline has passed while `READY`/`IN_PROGRESS`, becomes `EXPIRED`; returns whether it did.
    pub fn expire_if_due(&mut self, now: DateTime<Utc>) -> bool {
        if self.status.has_deadline() && self.deadline.is_some_and(|d| d <= now) {
            self.status = TossStatus::Expired;
            self.deadline = None;
            true
        } else {
            false
        }
    }
}

/// A billing key issued from an `authKey`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TossBillingKey {
    pub billing_key: String,
    pub customer_key: String,
    /// `CARD` or `TRANSFER`.
    pub method: String,
    pub authenticated_at: DateTime<Utc>,
}

/// An `authKey` from an approved `requestBillingAuth` window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TossAuthKey {
    pub customer_key: String,
    /// `CARD` or `TRANSFER`.
    pub method: String,
    pub created_at: DateTime<Utc>,
    /// Exchanged for a billing key already (an `authKey` works once).
    pub used: bool,
}

/// The answer kept for one `Idempotency-Key`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TossIdempotentAnswer {
    pub status: u16,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// Toss's part of the store.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct TossStore {
    /// By `paymentKey`.
    pub payments: HashMap<String, TossPayment>,
    /// `orderId` -> its `paymentKey`s, oldest first (one per window opened).
    pub orders: HashMap<String, Vec<String>>,
    /// By billing key.
    pub billing_keys: HashMap<String, TossBillingKey>,
    /// By `authKey`.
    pub auth_keys: HashMap<String, TossAuthKey>,
    /// By `Idempotency-Key` (kept 15 days).
    pub idempotency: HashMap<String, TossIdempotentAnswer>,
}

impl TossStore {
    /// The payment `GET /v1/payments/orders/{orderId}` shows: the confirmed one, else the latest.
    pub fn by_order(&self, order_id: &str) -> Option<&TossPayment> {
        let keys = self.orders.get(order_id)?;
        let mut all = keys.iter().filter_map(|k| self.payments.get(k));
        let latest = keys.last().and_then(|k| self.payments.get(k));
        all.find(|p| p.status.was_confirmed()).or(latest)
    }

    /// Whether another payment than `except` was confirmed for `order_id`.
    pub fn order_confirmed(&self, order_id: &str, except: Option<&str>) -> bool {
        self.orders.get(order_id).is_some_and(|keys| {
            keys.iter()
                .filter(|k| Some(k.as_str()) != except)
                .filter_map(|k| self.payments.get(k))
                .any(|p| p.status.was_confirmed())
        })
    }

    /// Stores a new payment and indexes its `orderId`.
    pub fn insert(&mut self, p: TossPayment) {
        self.orders
            .entry(p.order_id.clone())
            .or_default()
            .push(p.payment_key.clone());
        self.payments.insert(p.payment_key.clone(), p);
    }
}
