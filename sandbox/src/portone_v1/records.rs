//! What the sandbox remembers for PortOne V1, in its own maps
//! (`Store::v1`): payments by `imp_uid` (with an index by `merchant_uid`),
//! pre-registered amounts, billing-key customers by `customer_uid`,
//! scheduled charges by `merchant_uid` and issued access tokens. Records
//! only; the REST bodies are in `json.rs`. Every field defaults, so a state
//! file written before V1 existed (or by an older sandbox) still loads.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// V1 payment status values (lowercase on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum V1Status {
    Ready,
    Paid,
    Cancelled,
    Failed,
}

impl V1Status {
    pub fn as_str(self) -> &'static str {
        match self {
            V1Status::Ready => "ready",
            V1Status::Paid => "paid",
            V1Status::Cancelled => "cancelled",
            V1Status::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<V1Status> {
        match s {
            "ready" => Some(V1Status::Ready),
            "paid" => Some(V1Status::Paid),
            "cancelled" => Some(V1Status::Cancelled),
            "failed" => Some(V1Status::Failed),
            _ => None,
        }
    }

    /// Paid at some point (the order cannot be paid again).
    pub fn was_paid(self) -> bool {
        matches!(self, V1Status::Paid | V1Status::Cancelled)
    }
}

/// The buyer fields V1 carries on payments, customers and schedules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct V1Buyer {
    pub name: Option<String>,
    pub email: Option<String>,
    pub tel: Option<String>,
    pub addr: Option<String>,
    pub postcode: Option<String>,
}

impl V1Buyer {
    /// `self`, with each missing field taken from `other`.
    pub fn or(&self, other: &V1Buyer) -> V1Buyer {
        let pick = |a: &Option<String>, b: &Option<String>| a.clone().or_else(|| b.clone());
        V1Buyer {
            name: pick(&self.name, &other.name),
            email: pick(&self.email, &other.email),
            tel: pick(&self.tel, &other.tel),
            addr: pick(&self.addr, &other.addr),
            postcode: pick(&self.postcode, &other.postcode),
        }
    }
}

/// One (partial) cancellation, `cancel_history[]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct V1Cancel {
    pub pg_tid: String,
    pub cancellation_id: String,
    pub amount: i64,
    pub tax_free: i64,
    pub reason: String,
    pub cancelled_at: DateTime<Utc>,
}

/// A V1 payment (one `imp_uid`: one window attempt or one API charge).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct V1Payment {
    pub imp_uid: String,
    pub merchant_uid: String,
    /// The sandbox channel the payment went through.
    pub channel_key: String,
    /// `pg_provider` (`tosspay_v2`).
    pub pg_provider: String,
    /// `pg_id`: the channel's PG merchant id.
    pub pg_id: String,
    /// `tosspay`, `tosspay_card` or `tosspay_money`.
    pub pay_method: String,
    /// `pc`, `mobile` or `api`.
    pub channel: String,
    pub status: V1Status,
    pub amount: i64,
    pub tax_free: i64,
    pub vat_amount: Option<i64>,
    pub currency: String,
    pub name: Option<String>,
    pub buyer: V1Buyer,
    /// Stored as the JSON text V1 returns.
    pub custom_data: Option<String>,
    pub notice_urls: Vec<String>,
    pub user_agent: Option<String>,
    pub pg_tid: Option<String>,
    pub started_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub fail_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub cancellations: Vec<V1Cancel>,
    pub customer_uid: Option<String>,
    /// `issue`, `payment` or `payment.scheduled` (none for a plain payment).
    pub customer_uid_usage: Option<String>,
    /// Creation order (newest wins in `GET /payments/find/{merchant_uid}`).
    pub seq: u64,
}

impl V1Payment {
    pub fn cancel_amount(&self) -> i64 {
        self.cancellations.iter().map(|c| c.amount).sum()
    }
    pub fn cancelled_tax_free(&self) -> i64 {
        self.cancellations.iter().map(|c| c.tax_free).sum()
    }
}

/// A pre-registered amount (`POST /payments/prepare`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct V1Prepared {
    pub amount: i64,
    pub created_at: DateTime<Utc>,
}

/// A billing key, as V1 names it by the merchant's `customer_uid`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct V1Customer {
    pub customer_uid: String,
    /// TossPay's `customer_id` given to `request_pay`.
    pub customer_id: Option<String>,
    pub channel_key: String,
    pub pg_provider: String,
    pub pg_id: String,
    pub pay_method: String,
    pub buyer: V1Buyer,
    pub notice_urls: Vec<String>,
    /// The PG-side key, never shown by V1 (kept so a replaced key is visibly new).
    pub billing_key: String,
    pub inserted: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

/// A scheduled charge (`POST /subscribe/payments/schedule`), by `merchant_uid`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct V1Schedule {
    pub customer_uid: String,
    pub merchant_uid: String,
    pub schedule_at: DateTime<Utc>,
    pub amount: i64,
    pub tax_free: i64,
    pub currency: String,
    pub name: Option<String>,
    pub buyer: V1Buyer,
    pub custom_data: Option<String>,
    pub notice_urls: Vec<String>,
    /// `scheduled`, `executing` (being charged), `executed` or `revoked`.
    pub status: String,
    pub imp_uid: Option<String>,
    /// `paid` or `failed` once executed.
    pub payment_status: Option<String>,
    pub fail_reason: Option<String>,
    pub executed_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Everything V1 keeps (`Store::v1`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct V1Store {
    pub payments: HashMap<String, V1Payment>,
    /// `merchant_uid` -> its `imp_uid`s, oldest first.
    pub by_merchant: HashMap<String, Vec<String>>,
    pub prepared: HashMap<String, V1Prepared>,
    pub customers: HashMap<String, V1Customer>,
    pub schedules: HashMap<String, V1Schedule>,
    /// Issued access tokens and when each expires.
    pub tokens: HashMap<String, DateTime<Utc>>,
    /// Last payment sequence number.
    pub seq: u64,
}

impl V1Store {
    /// A new, unused `imp_` + 12 digits id.
    pub fn new_imp_uid(&self) -> String {
        loop {
            let id = format!("imp_{:012}", rand::random::<u64>() % 1_000_000_000_000);
            if !self.payments.contains_key(&id) {
                return id;
            }
        }
    }

    /// Stores a new payment (its `seq` is assigned here) and indexes it by `merchant_uid`.
    pub fn insert(&mut self, mut p: V1Payment) -> V1Payment {
        self.seq += 1;
        p.seq = self.seq;
        self.by_merchant
            .entry(p.merchant_uid.clone())
            .or_default()
            .push(p.imp_uid.clone());
        self.payments.insert(p.imp_uid.clone(), p.clone());
        p
    }

    /// The newest payment of an order, optionally only among those with `status`.
    pub fn newest(&self, merchant_uid: &str, status: Option<V1Status>) -> Option<&V1Payment> {
        self.by_merchant
            .get(merchant_uid)?
            .iter()
            .filter_map(|id| self.payments.get(id))
            .filter(|p| status.is_none_or(|s| p.status == s))
            .max_by_key(|p| p.seq)
    }

    /// Whether some payment of this order was paid (then it cannot be paid again).
    pub fn order_paid(&self, merchant_uid: &str) -> bool {
        self.by_merchant.get(merchant_uid).is_some_and(|ids| {
            ids.iter()
                .any(|id| self.payments.get(id).is_some_and(|p| p.status.was_paid()))
        })
    }
}
