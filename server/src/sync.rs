//! The idempotent payment sync shared by the browser's `complete` call and
//! the webhook, and the billing-key sync.
//!
//! The sync never trusts its caller: it re-reads the payment from PortOne
//! and moves the stored order accordingly. Every transition is a
//! conditional update, so running it any number of times, concurrently, in
//! any order, from several processes, has the effect of running it once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use portone_checkout::protocol::PaymentFailure;
use tokio::sync::OwnedMutexGuard;

use crate::config::Mode;
use crate::db::{FulfilOutcome, Order, STATUS_CANCELLING};
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

const OPEN: &[&str] = &["PENDING", "FAILED", "VIRTUAL_ACCOUNT_ISSUED"];

/// Syncs one order with PortOne and returns it as stored afterwards
/// (`None` if no such order). With `force == false` an order already in a
/// final state (`PAID`, `CANCELLED`) is returned without asking PortOne.
pub async fn sync_payment(state: &AppState, payment_id: &str, force: bool) -> Result<Option<Order>, SyncError> {
    let _lock = state.locks.lock(payment_id).await;
    let Some(order) = state.db.order(payment_id).await? else {
        return Ok(None);
    };
    if !force && (order.status == "PAID" || order.status == "CANCELLED") {
        return Ok(Some(order));
    }
    let payment = match state.portone.get_payment(payment_id).await {
        Ok(p) => Some(p),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e.into()),
    };
    if let Some(payment) = payment {
        apply(state, &order, &payment).await?;
    }
    Ok(state.db.order(payment_id).await?)
}

/// The merchant's verification of a `PAID` payment: amount and currency
/// equal the stored order and, in live mode, the channel is a `LIVE` one.
/// `Err` carries the cancel reason.
pub fn verify_payment(mode: Mode, order: &Order, payment: &Payment) -> Result<(), String> {
    if payment.amount.total != order.total_amount || payment.currency != order.currency {
        return Err(format!(
            "suspected tampering: PortOne reports {} {} paid but the order amount is {} {}",
            payment.amount.total, payment.currency, order.total_amount, order.currency
        ));
    }
    if mode == Mode::Live {
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
            if !OPEN.contains(&order.status.as_str()) {
                return Ok(());
            }
            match verify_payment(state.mode, order, payment) {
                Err(reason) => {
                    tracing::warn!(payment_id = id, %reason, "payment verification failed");
                    if db.transition(id, OPEN, STATUS_CANCELLING, None, Some(&reason)).await? {
                        cancel_and_record(state, id, &reason).await?;
                    }
                }
                Ok(()) => match db.fulfil(id, payment.paid_at.as_deref()).await? {
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
                },
            }
        }
        "VIRTUAL_ACCOUNT_ISSUED" => {
            db.transition(id, &["PENDING", "FAILED"], "VIRTUAL_ACCOUNT_ISSUED", None, None)
                .await?;
        }
        "FAILED" => {
            let info = payment.failure.clone().unwrap_or_default();
            let failure = PaymentFailure {
                code: None,
                pg_code: info.pg_code,
                message: info
                    .reason
                    .or(info.pg_message)
                    .unwrap_or_else(|| "the payment failed".into()),
            };
            db.transition(id, OPEN, "FAILED", Some(&failure), None).await?;
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
            OPEN,
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
/// by re-reading it. If PortOne cannot confirm, the order stays
/// `CANCELLING` and the next sync retries the cancel.
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
        }
    }

    fn paid(total: i64, currency: &str, channel: &str) -> Payment {
        Payment {
            status: "PAID".into(),
            id: "order-1".into(),
            store_id: None,
            amount: PaymentAmount {
                total,
                paid: total,
                cancelled: 0,
            },
            currency: currency.into(),
            channel: Some(SelectedChannel {
                kind: channel.into(),
                key: None,
            }),
            paid_at: None,
            failure: None,
            billing_key: None,
        }
    }

    #[test]
    fn verification_requires_equal_amount_and_currency() {
        assert!(verify_payment(Mode::Sandbox, &order(), &paid(4500, "KRW", "TEST")).is_ok());
        let err = verify_payment(Mode::Sandbox, &order(), &paid(100, "KRW", "TEST")).expect_err("amount mismatch");
        assert!(err.contains("tampering") && err.contains("100"), "{err}");
        assert!(verify_payment(Mode::Sandbox, &order(), &paid(4500, "USD", "TEST")).is_err());
    }

    #[test]
    fn live_mode_refuses_payments_through_a_test_channel() {
        assert!(verify_payment(Mode::Live, &order(), &paid(4500, "KRW", "LIVE")).is_ok());
        let err = verify_payment(Mode::Live, &order(), &paid(4500, "KRW", "TEST")).expect_err("test channel");
        assert!(err.contains("TEST channel"), "{err}");
        let mut no_channel = paid(4500, "KRW", "LIVE");
        no_channel.channel = None;
        assert!(verify_payment(Mode::Live, &order(), &no_channel).is_err());
    }
}
