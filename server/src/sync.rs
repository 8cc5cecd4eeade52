//! The idempotent payment sync shared by the browser's `complete` call and
//! the webhook, and the billing-key sync.
//!
//! The sync never trusts its caller: it re-reads the payment from PortOne
//! and moves the stored order accordingly. Every transition is a
//! conditional update, so running it any number of times, concurrently, in
//! any order, from several processes, has the effect of running it once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use portone_checkout::protocol::PgFailure;
use tokio::sync::OwnedMutexGuard;

use crate::config::{Mode, PortOneConfig};
use crate::db::{FulfilOutcome, NewOrder, Order, PAYABLE, STATUS_CANCELLING, TO_SCHEDULE};
use crate::portone::{Payment, PortOneError};
use crate::AppState;

/// A sync that could not finish (the order keeps its last recorded state).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// PortOne could not be read.
    #[error("PortOne: {0}")]
    PortOne(#[from] PortOneError),
}

/// Per-payment async locks: concurrent syncs of one payment in this process
/// run one after another (so 50 concurrent completes cost one PortOne read).
/// Correctness across processes comes from the database's conditional
/// updates, not from this lock.
#[derive(Debug, Default)]
pub struct PaymentLocks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Holds a payment's lock; removes the map entry when the last user leaves.
pub struct PaymentLockGuard<'a> {
    locks: &'a PaymentLocks,
    key: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl PaymentLocks {
    /// Waits for and takes the lock of `key`.
    pub async fn lock(&self, key: &str) -> PaymentLockGuard<'_> {
        let mutex = {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(key.to_owned()).or_default().clone()
        };
        let guard = mutex.lock_owned().await;
        PaymentLockGuard {
            locks: self,
            key: key.to_owned(),
            guard: Some(guard),
        }
    }
}

impl Drop for PaymentLockGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self.locks.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(&self.key).is_some_and(|m| Arc::strong_count(m) == 1) {
            map.remove(&self.key);
        }
    }
}

/// Statuses a PortOne `FAILED` may overwrite.
const FAILABLE: &[&str] = &["PENDING", "FAILED", "VIRTUAL_ACCOUNT_ISSUED"];

/// An order after a sync, and whether PortOne was read to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    /// The order as stored afterwards.
    pub order: Order,
    /// `true` when PortOne was read during this sync (or the order is
    /// final, so there was nothing to read).
    pub verified: bool,
}

impl Synced {
    /// The contract view.
    pub fn to_status(&self) -> portone_checkout::protocol::PaymentStatus {
        self.order.to_status(self.verified)
    }
}

/// Syncs one order with PortOne and returns it as stored afterwards
/// (`None` if no such order). With `force == false` a final order is
/// returned without asking PortOne.
pub async fn sync_payment(state: &AppState, payment_id: &str, force: bool) -> Result<Option<Synced>, SyncError> {
    let _lock = state.locks.lock(payment_id).await;
    let Some(order) = state.db.order(payment_id).await? else {
        return Ok(None);
    };
    if !force && order.is_final() {
        return Ok(Some(Synced { order, verified: true }));
    }
    state.db.mark_synced(payment_id, crate::db::unix_now()).await?;
    let payment = match state.portone.get_payment(payment_id).await {
        Ok(p) => Some(p),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e.into()),
    };
    if let Some(payment) = payment {
        apply(state, &order, &payment).await?;
    }
    let Some(order) = state.db.order(payment_id).await? else {
        return Ok(None);
    };
    if let Some(subscription_id) = order.subscription_id.as_deref() {
        schedule_pending_charges(state, Some(subscription_id)).await?;
    }
    Ok(Some(Synced { order, verified: true }))
}

/// The merchant's verification of a `PAID` payment: it belongs to this
/// store and was paid through the configured channel, amount and currency
/// equal the stored order and, in live mode, the channel is a `LIVE` one.
/// `Err` carries the cancel reason.
pub fn verify_payment(config: &PortOneConfig, order: &Order, payment: &Payment) -> Result<(), String> {
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
    if payment.amount.total != order.total_amount || payment.currency != order.currency {
        return Err(format!(
            "suspected tampering: PortOne reports {} {} paid but the order amount is {} {}",
            payment.amount.total, payment.currency, order.total_amount, order.currency
        ));
    }
    if config.mode == Mode::Live {
        let kind = payment.channel.as_ref().map(|c| c.kind.as_str());
        if kind != Some("LIVE") {
            return Err("suspected tampering: paid through a TEST channel while the shop is live".into());
        }
    }
    Ok(())
}

async fn apply(state: &AppState, order: &Order, payment: &Payment) -> Result<(), SyncError> {
    let db = &state.db;
    let id = order.payment_id.as_str();
    match payment.status.as_str() {
        "PAID" => {
            if order.status == STATUS_CANCELLING {
                let reason = order
                    .message
                    .clone()
                    .unwrap_or_else(|| "cancelled by the merchant".into());
                cancel_and_record(state, id, &reason).await?;
                return Ok(());
            }
            if !PAYABLE.contains(&order.status.as_str()) {
                return Ok(());
            }
            match verify_payment(&state.config.portone, order, payment) {
                Err(reason) => {
                    tracing::warn!(payment_id = id, %reason, "payment verification failed");
                    if db
                        .transition(id, PAYABLE, STATUS_CANCELLING, None, Some(&reason))
                        .await?
                    {
                        cancel_and_record(state, id, &reason).await?;
                    }
                }
                Ok(()) => {
                    let next = next_charge_for(order);
                    let next_order = next.as_ref().map(NextCharge::as_new_order);
                    match db.fulfil(id, payment.paid_at.as_deref(), next_order.as_ref()).await? {
                        FulfilOutcome::Fulfilled => {
                            tracing::info!(payment_id = id, "order paid and fulfilled");
                        }
                        FulfilOutcome::AlreadyDone => {}
                        FulfilOutcome::OutOfStock => {
                            let reason = db
                                .order(id)
                                .await?
                                .and_then(|o| o.message)
                                .unwrap_or_else(|| "net cancel: the order could not be fulfilled".into());
                            tracing::warn!(payment_id = id, %reason, "net cancel");
                            cancel_and_record(state, id, &reason).await?;
                        }
                    }
                }
            }
        }
        "VIRTUAL_ACCOUNT_ISSUED" => {
            db.transition(id, &["PENDING", "FAILED"], "VIRTUAL_ACCOUNT_ISSUED", None, None)
                .await?;
        }
        "FAILED" => {
            let info = payment.failure.clone().unwrap_or_default();
            // The PG's own words first (some PGs require they be shown).
            let failure = PgFailure {
                code: None,
                pg_code: info.pg_code,
                message: Some(
                    info.pg_message
                        .or(info.reason)
                        .unwrap_or_else(|| "the payment failed".into()),
                ),
                pg_message: None,
            };
            if db.transition(id, FAILABLE, "FAILED", Some(&failure), None).await? && order.schedule_state.is_some() {
                // A scheduled charge that failed is not retried by PortOne:
                // the subscription stops until the customer acts.
                if let Some(sub) = order.subscription_id.as_deref() {
                    if db.set_subscription_status(sub, &["ACTIVE"], "PAST_DUE").await? {
                        tracing::warn!(
                            payment_id = id,
                            subscription_id = sub,
                            "scheduled charge failed; subscription past due"
                        );
                    }
                }
            }
        }
        "CANCELLED" => record_cancelled(state, id).await?,
        // READY, PAY_PENDING, PARTIAL_CANCELLED and unknown statuses leave
        // the order as it is.
        _ => {}
    }
    Ok(())
}

/// PortOne reports the payment cancelled: record it, keeping our own reason
/// when the server asked for the cancel.
async fn record_cancelled(state: &AppState, id: &str) -> Result<(), SyncError> {
    let db = &state.db;
    if db.transition(id, &[STATUS_CANCELLING], "CANCELLED", None, None).await? {
        return Ok(());
    }
    let moved = db
        .transition(
            id,
            PAYABLE,
            "CANCELLED",
            None,
            Some("the payment was cancelled at PortOne"),
        )
        .await?;
    if !moved {
        db.transition(
            id,
            &["PAID"],
            "CANCELLED",
            None,
            Some("the payment was cancelled at PortOne after fulfilment"),
        )
        .await?;
    }
    Ok(())
}

/// Cancels a payment the server decided not to keep and records the outcome
/// by re-reading it. Only PortOne's word makes it `CANCELLED`: if PortOne
/// cannot confirm, the order stays `CANCELLING` (reported as such) and the
/// next sync (webhook redelivery, browser, reconciler) retries the cancel.
async fn cancel_and_record(state: &AppState, payment_id: &str, reason: &str) -> Result<(), SyncError> {
    if let Err(e) = state.portone.cancel_payment(payment_id, reason).await {
        tracing::warn!(payment_id, error = %e, "cancel failed; re-reading the payment");
    }
    match state.portone.get_payment(payment_id).await {
        Ok(p) if p.status == "CANCELLED" => {
            state
                .db
                .transition(payment_id, &[STATUS_CANCELLING], "CANCELLED", None, None)
                .await?;
        }
        Ok(p) => {
            tracing::warn!(payment_id, status = %p.status, "cancel not confirmed yet; will retry on next sync");
        }
        Err(e) => {
            tracing::warn!(payment_id, error = %e, "cancel not confirmed; will retry on next sync");
        }
    }
    Ok(())
}

/// Days between subscription charges.
pub const CHARGE_INTERVAL_DAYS: i64 = 30;

/// The next charge of a subscription, as written when the current one is
/// fulfilled.
struct NextCharge {
    payment_id: String,
    order_name: String,
    total_amount: i64,
    currency: String,
    customer_id: String,
    subscription_id: String,
    due_at: i64,
}

impl NextCharge {
    fn as_new_order(&self) -> NewOrder<'_> {
        NewOrder {
            payment_id: &self.payment_id,
            kind: "charge",
            order_name: &self.order_name,
            total_amount: self.total_amount,
            currency: &self.currency,
            customer_id: &self.customer_id,
            subscription_id: Some(&self.subscription_id),
            items: &[],
            due_at: Some(self.due_at),
            schedule_state: Some(TO_SCHEDULE),
        }
    }
}

fn next_charge_for(order: &Order) -> Option<NextCharge> {
    if order.kind != "charge" {
        return None;
    }
    let subscription_id = order.subscription_id.clone()?;
    let base = order
        .due_at
        .unwrap_or_else(crate::db::unix_now)
        .max(crate::db::unix_now());
    Some(NextCharge {
        payment_id: format!("charge-{}", uuid::Uuid::new_v4().simple()),
        order_name: order.order_name.clone(),
        total_amount: order.total_amount,
        currency: order.currency.clone(),
        customer_id: order.customer_id.clone(),
        subscription_id,
        due_at: base + CHARGE_INTERVAL_DAYS * 24 * 60 * 60,
    })
}

/// Asks PortOne to schedule every written but unconfirmed scheduled charge
/// (of one subscription, or all). Safe to repeat: a schedule PortOne
/// already has (`PAYMENT_SCHEDULE_ALREADY_EXISTS`, after a lost answer)
/// counts as done; a charge of a subscription that is no longer active
/// expires. Returns how many were confirmed.
pub async fn schedule_pending_charges(state: &AppState, subscription_id: Option<&str>) -> Result<usize, SyncError> {
    let mut confirmed = 0;
    for order in state.db.charges_to_schedule(subscription_id).await? {
        let Some(sub_id) = order.subscription_id.as_deref() else {
            continue;
        };
        let sub = state.db.subscription(sub_id).await?;
        let Some(sub) = sub.filter(|s| s.status == "ACTIVE") else {
            state
                .db
                .transition(
                    &order.payment_id,
                    &["PENDING"],
                    "EXPIRED",
                    None,
                    Some("the subscription is no longer active"),
                )
                .await?;
            continue;
        };
        let charge = crate::subscription_charge(
            &sub,
            order.order_name.clone(),
            order.total_amount,
            order.currency.clone(),
        );
        let due = order.due_at.unwrap_or_else(crate::db::unix_now);
        let time_to_pay = chrono::DateTime::from_timestamp(due, 0)
            .unwrap_or_else(chrono::Utc::now)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        match state
            .portone
            .schedule_payment(&order.payment_id, &charge, &time_to_pay)
            .await
        {
            Ok(schedule_id) => {
                if state.db.set_scheduled(&order.payment_id, Some(&schedule_id)).await? {
                    tracing::info!(payment_id = %order.payment_id, %schedule_id, "next charge scheduled");
                    confirmed += 1;
                }
            }
            Err(e) if e.kind() == Some("PAYMENT_SCHEDULE_ALREADY_EXISTS") => {
                if state.db.set_scheduled(&order.payment_id, None).await? {
                    tracing::info!(payment_id = %order.payment_id, "next charge was already scheduled (lost answer)");
                    confirmed += 1;
                }
            }
            Err(e) => {
                tracing::warn!(payment_id = %order.payment_id, error = %e, "scheduling the next charge failed; the reconciler retries");
            }
        }
    }
    Ok(confirmed)
}

/// Re-reads a billing key from PortOne and stores, refreshes or retires it.
/// Keys of customers this shop does not know are ignored.
pub async fn sync_billing_key(state: &AppState, billing_key: &str) -> Result<(), SyncError> {
    let info = match state.portone.get_billing_key(billing_key).await {
        Ok(info) => info,
        Err(e) if e.is_not_found() => {
            state.db.delete_subscription_by_key(billing_key).await?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    if info.status != "ISSUED" {
        state.db.delete_subscription_by_key(billing_key).await?;
        return Ok(());
    }
    let Some(customer_id) = info.customer.id.clone() else {
        tracing::warn!("billing key without customer id ignored");
        return Ok(());
    };
    let known = match info.issue_id.as_deref() {
        Some(issue) => state.db.billing_issue_customer(issue).await? == Some(customer_id.clone()),
        None => false,
    } || customer_id == crate::DEMO_CUSTOMER_ID;
    if !known {
        tracing::warn!("billing key of an unknown customer ignored");
        return Ok(());
    }
    state
        .db
        .upsert_subscription(billing_key, &customer_id, info.issue_id.as_deref())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portone::{PaymentAmount, SelectedChannel};

    fn order() -> Order {
        Order {
            payment_id: "order-1".into(),
            kind: "checkout".into(),
            order_name: "아메리카노".into(),
            total_amount: 4500,
            currency: "KRW".into(),
            customer_id: "demo-customer-1".into(),
            subscription_id: None,
            status: "PENDING".into(),
            paid_at: None,
            failure_code: None,
            failure_pg_code: None,
            failure_message: None,
            message: None,
            fulfilled_at: None,
            schedule_id: None,
            created_at: "2026-11-30T00:00:00Z".into(),
            synced_at: None,
            due_at: None,
            schedule_state: None,
        }
    }

    fn config(mode: Mode) -> PortOneConfig {
        let mut c = PortOneConfig::sandbox("http://127.0.0.1:8787");
        c.mode = mode;
        c
    }

    fn paid(total: i64, currency: &str, channel: &str) -> Payment {
        Payment {
            status: "PAID".into(),
            id: "order-1".into(),
            store_id: Some("store-sandbox".into()),
            amount: PaymentAmount {
                total,
                paid: total,
                cancelled: 0,
            },
            currency: currency.into(),
            channel: Some(SelectedChannel {
                kind: channel.into(),
                key: Some("channel-key-sandbox-tosspay".into()),
            }),
            paid_at: None,
            failure: None,
            billing_key: None,
        }
    }

    #[test]
    fn verification_requires_equal_amount_and_currency() {
        assert!(verify_payment(&config(Mode::Sandbox), &order(), &paid(4500, "KRW", "TEST")).is_ok());
        let err =
            verify_payment(&config(Mode::Sandbox), &order(), &paid(100, "KRW", "TEST")).expect_err("amount mismatch");
        assert!(err.contains("tampering") && err.contains("100"), "{err}");
        assert!(verify_payment(&config(Mode::Sandbox), &order(), &paid(4500, "USD", "TEST")).is_err());
    }

    #[test]
    fn live_mode_refuses_payments_through_a_test_channel() {
        assert!(verify_payment(&config(Mode::Live), &order(), &paid(4500, "KRW", "LIVE")).is_ok());
        let err = verify_payment(&config(Mode::Live), &order(), &paid(4500, "KRW", "TEST")).expect_err("test channel");
        assert!(err.contains("TEST channel"), "{err}");
        let mut no_channel = paid(4500, "KRW", "LIVE");
        no_channel.channel = None;
        assert!(verify_payment(&config(Mode::Live), &order(), &no_channel).is_err());
    }

    #[test]
    fn a_payment_of_another_store_or_channel_is_refused() {
        let mut other_store = paid(4500, "KRW", "TEST");
        other_store.store_id = Some("store-other".into());
        let err = verify_payment(&config(Mode::Sandbox), &order(), &other_store).expect_err("store");
        assert!(err.contains("store"), "{err}");
        let mut no_store = paid(4500, "KRW", "TEST");
        no_store.store_id = None;
        assert!(verify_payment(&config(Mode::Sandbox), &order(), &no_store).is_err());
        let mut other_channel = paid(4500, "KRW", "TEST");
        if let Some(c) = other_channel.channel.as_mut() {
            c.key = Some("channel-key-not-accepted".into());
        }
        let err = verify_payment(&config(Mode::Sandbox), &order(), &other_channel).expect_err("channel");
        assert!(err.contains("channel"), "{err}");
    }
}
