//! The idempotent payment sync shared by the browser's `complete` call and
//! the webhook, and the billing-key sync.
//!
//! The sync never trusts its caller: it re-reads the payment from PortOne
//! and moves the stored order accordingly. Every transition is a
//! conditional update, so running it any number of times, concurrently, in
//! any order, from several processes, has the effect of running it once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

use crate::db::{FulfilOutcome, NewOrder, Order, PAYABLE, SCHEDULED, STATUS_CANCELLING, TO_SCHEDULE};
use crate::provider::{PaymentState, ProviderError, ProviderKind, ProviderPayment, ScheduleOutcome};
use crate::AppState;

/// A sync that could not finish (the order keeps its last recorded state).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The provider could not be read.
    #[error("provider: {0}")]
    Provider(#[from] ProviderError),
    /// The order's provider is not configured on this server.
    #[error("the provider {0} is not configured")]
    NoProvider(&'static str),
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
    let provider = state.provider(order.provider)?;
    let mut payment = provider.read(payment_id).await?;
    // A two-step provider's authenticated payment is confirmed here, once
    // its amount is the order's: the customer paid in the window, and only
    // the merchant's confirm is missing.
    if let Some(p) = payment.as_ref().filter(|p| p.state == PaymentState::Authenticated) {
        match verify_payment(&order, p) {
            Ok(()) => {
                if let Err(e) = provider.confirm(payment_id, p).await {
                    tracing::warn!(payment_id, error = %e, "confirm failed; reading the payment again");
                }
                payment = provider.read(payment_id).await?;
            }
            Err(reason) => {
                // Never confirmed, so nothing is charged: the attempt failed
                // (the provider expires it), and the order may be paid again.
                tracing::warn!(payment_id, %reason, "authenticated payment not confirmed");
                let message = if p.total != order.total_amount || p.currency != order.currency {
                    format!(
                        "the payment window authorised {} {}, not the order's {} {}: it was not confirmed and nothing \
                         was charged",
                        p.total, p.currency, order.total_amount, order.currency
                    )
                } else {
                    format!("the payment was not confirmed ({reason}); nothing was charged")
                };
                let failure = portone_checkout::protocol::PgFailure {
                    code: Some("NOT_CONFIRMED".into()),
                    message: Some(message),
                    ..Default::default()
                };
                state
                    .db
                    .transition(payment_id, &["PENDING", "FAILED"], "FAILED", Some(&failure), None)
                    .await?;
            }
        }
    }
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

/// The merchant's verification of a paid payment: amount and currency equal
/// the stored order, and the provider's own checks pass (the store, the
/// channel, a live channel in live mode). `Err` carries the cancel reason.
pub fn verify_payment(order: &Order, payment: &ProviderPayment) -> Result<(), String> {
    payment.checks.clone()?;
    if payment.total != order.total_amount || payment.currency != order.currency {
        return Err(format!(
            "suspected tampering: the provider reports {} {} paid but the order amount is {} {}",
            payment.total, payment.currency, order.total_amount, order.currency
        ));
    }
    Ok(())
}

async fn apply(state: &AppState, order: &Order, payment: &ProviderPayment) -> Result<(), SyncError> {
    let db = &state.db;
    let id = order.payment_id.as_str();
    match &payment.state {
        PaymentState::Paid => {
            if order.status == STATUS_CANCELLING {
                let reason = order
                    .message
                    .clone()
                    .unwrap_or_else(|| "cancelled by the merchant".into());
                cancel_and_record(state, order, &reason).await?;
                return Ok(());
            }
            if !PAYABLE.contains(&order.status.as_str()) {
                return Ok(());
            }
            match verify_payment(order, payment) {
                Err(reason) => {
                    tracing::warn!(payment_id = id, %reason, "payment verification failed");
                    if db
                        .transition(id, PAYABLE, STATUS_CANCELLING, None, Some(&reason))
                        .await?
                    {
                        cancel_and_record(state, order, &reason).await?;
                    }
                }
                Ok(()) => {
                    let next = next_charge_for(order, state.config.reconcile.charge_interval);
                    let next_order = next.as_ref().map(NextCharge::as_new_order);
                    match db.fulfil(id, payment.paid_at.as_deref(), next_order.as_ref()).await? {
                        FulfilOutcome::Fulfilled => {
                            tracing::info!(payment_id = id, "order paid and fulfilled");
                        }
                        FulfilOutcome::AlreadyDone => {}
                        FulfilOutcome::OutOfStock => net_cancel(state, order).await?,
                    }
                }
            }
        }
        PaymentState::VirtualAccountIssued => {
            // Decided before the deposit: a deposited account cannot be
            // cancelled without the customer's refund account, a waiting one
            // can. So the amount is checked now, and the stock is held.
            if !matches!(order.status.as_str(), "PENDING" | "FAILED") {
                return Ok(());
            }
            if let Err(reason) = verify_payment(order, payment) {
                tracing::warn!(payment_id = id, %reason, "virtual account verification failed");
                if db
                    .transition(id, &["PENDING", "FAILED"], STATUS_CANCELLING, None, Some(&reason))
                    .await?
                {
                    cancel_and_record(state, order, &reason).await?;
                }
                return Ok(());
            }
            if db.hold_for_deposit(id).await? == FulfilOutcome::OutOfStock {
                net_cancel(state, order).await?;
            }
        }
        PaymentState::Failed => {
            // A virtual account that ended without a deposit gives its stock back.
            db.release_hold(id).await?;
            // A cancel the server wanted of a payment that failed anyway (a
            // waiting account that expired): nothing was paid.
            db.transition(id, &[STATUS_CANCELLING], "FAILED", payment.failure.as_ref(), None)
                .await?;
            // The PG's own words first (some PGs require they be shown).
            let mut failure = payment.failure.clone().unwrap_or_default();
            if failure.message.is_none() {
                failure.message = Some("the payment failed".into());
            }
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
        PaymentState::Cancelled => {
            db.release_hold(id).await?;
            record_cancelled(state, id).await?
        }
        // Ready, pending, authenticated (not confirmed), partly cancelled and
        // unknown states leave the order as it is.
        _ => {}
    }
    Ok(())
}

/// Stock ran out ([`FulfilOutcome::OutOfStock`]: the order is now
/// `CANCELLING` with the reason): cancel the payment.
async fn net_cancel(state: &AppState, order: &Order) -> Result<(), SyncError> {
    let id = order.payment_id.as_str();
    let reason = state
        .db
        .order(id)
        .await?
        .and_then(|o| o.message)
        .unwrap_or_else(|| "net cancel: the order could not be fulfilled".into());
    tracing::warn!(payment_id = id, %reason, "net cancel");
    cancel_and_record(state, order, &reason).await
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
            Some("the payment was cancelled at the payment provider"),
        )
        .await?;
    if !moved {
        db.transition(
            id,
            &["PAID"],
            "CANCELLED",
            None,
            Some("the payment was cancelled at the payment provider after fulfilment"),
        )
        .await?;
    }
    Ok(())
}

/// Cancels a payment the server decided not to keep and records the outcome
/// by re-reading it. Only PortOne's word makes it `CANCELLED`: if PortOne
/// cannot confirm, the order stays `CANCELLING` (reported as such) and the
/// next sync (webhook redelivery, browser, reconciler) retries the cancel.
///
/// One cancel request at a time goes out per order, across replicas: the
/// attempt is claimed in the database first ([`crate::Db::claim_cancel`]),
/// and a sync that finds another attempt under way leaves it to that one.
async fn cancel_and_record(state: &AppState, order: &Order, reason: &str) -> Result<(), SyncError> {
    let payment_id = order.payment_id.as_str();
    let now = crate::db::unix_now();
    let claim = &state.config.reconcile;
    if !state.db.claim_cancel(payment_id, now, now + claim.lease_secs()).await? {
        tracing::info!(
            payment_id,
            "another sync is asking for this cancel; leaving it to that one"
        );
        return Ok(());
    }
    // Cut off within the claim, so that a live process always ends its
    // attempt before the claim runs out; one that died leaves it to run out
    // (`ReconcileConfig::lease`). An attempt cut off stays `CANCELLING` and
    // the next sync asks again (a cancel is safe to repeat: the provider
    // refuses a second one and the read that follows finds it cancelled).
    let attempt = match tokio::time::timeout(claim.work_budget(), cancel_claimed(state, order, reason)).await {
        Ok(attempt) => attempt,
        Err(_) => Err(SyncError::Provider(ProviderError::Transport(
            "the cancel took longer than its budget".into(),
        ))),
    };
    let done = state.db.cancel_done(payment_id).await;
    attempt?;
    Ok(done?)
}

async fn cancel_claimed(state: &AppState, order: &Order, reason: &str) -> Result<(), SyncError> {
    let payment_id = order.payment_id.as_str();
    let provider = state.provider(order.provider)?;
    if let Err(e) = provider.cancel(payment_id, reason).await {
        tracing::warn!(payment_id, error = %e, "cancel failed; re-reading the payment");
    }
    match provider.read(payment_id).await {
        Ok(Some(p)) if p.state == PaymentState::Cancelled => {
            state
                .db
                .transition(payment_id, &[STATUS_CANCELLING], "CANCELLED", None, None)
                .await?;
        }
        Ok(p) => {
            let state = p.map(|p| p.state);
            tracing::warn!(payment_id, ?state, "cancel not confirmed yet; will retry on next sync");
        }
        Err(e) => {
            tracing::warn!(payment_id, error = %e, "cancel not confirmed; will retry on next sync");
        }
    }
    Ok(())
}

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
    provider: ProviderKind,
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
            provider: self.provider,
        }
    }
}

fn next_charge_for(order: &Order, interval: std::time::Duration) -> Option<NextCharge> {
    if order.kind != "charge" {
        return None;
    }
    let subscription_id = order.subscription_id.clone()?;
    let base = order
        .due_at
        .unwrap_or_else(crate::db::unix_now)
        .max(crate::db::unix_now());
    // 39 characters: within PortOne V1's 40-character `merchant_uid`.
    let payment_id = format!("charge-{}", uuid::Uuid::new_v4().simple());
    if !order.provider.accepts_payment_id(&payment_id) {
        tracing::error!(provider = order.provider.as_str(), %payment_id, "generated a charge id the provider does not accept");
        return None;
    }
    Some(NextCharge {
        payment_id,
        order_name: order.order_name.clone(),
        total_amount: order.total_amount,
        currency: order.currency.clone(),
        customer_id: order.customer_id.clone(),
        subscription_id,
        due_at: base + i64::try_from(interval.as_secs()).unwrap_or(i64::MAX / 2),
        provider: order.provider,
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
        let provider = state.provider(order.provider)?;
        match provider.schedule(&order.payment_id, &charge, due).await {
            Ok(ScheduleOutcome::Scheduled(schedule_id)) => {
                if state
                    .db
                    .set_scheduled(&order.payment_id, schedule_id.as_deref())
                    .await?
                {
                    tracing::info!(payment_id = %order.payment_id, ?schedule_id, "next charge scheduled");
                    confirmed += 1;
                }
            }
            Ok(ScheduleOutcome::AlreadyExists) => {
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

/// Makes a scheduled charge that is due, for a provider without
/// server-side schedules (Toss Payments: [`crate::provider::Provider::runs_schedules`]
/// is `false`), under the order's payment id (the charge's idempotency key
/// is derived from it, so a repeat is the same request). Returns whether a
/// charge was sent; the caller then reads the payment (the sync decides).
///
/// A charge the provider refuses outright (a 4xx: unknown or unusable key)
/// with no payment to read fails the order and puts the subscription
/// `PAST_DUE`, like a declined scheduled charge.
pub async fn charge_due_locally(state: &AppState, order: &Order, now: i64) -> Result<bool, SyncError> {
    let due = order.kind == "charge"
        && order.status == "PENDING"
        && order.schedule_state.as_deref() == Some(SCHEDULED)
        && order.due_at.is_some_and(|at| at <= now);
    if !due {
        return Ok(false);
    }
    let provider = state.provider(order.provider)?;
    if provider.runs_schedules() {
        return Ok(false);
    }
    let Some(sub_id) = order.subscription_id.as_deref() else {
        return Ok(false);
    };
    let Some(sub) = state.db.subscription(sub_id).await?.filter(|s| s.status == "ACTIVE") else {
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
        return Ok(false);
    };
    let charge = crate::subscription_charge(
        &sub,
        order.order_name.clone(),
        order.total_amount,
        order.currency.clone(),
    );
    tracing::info!(payment_id = %order.payment_id, "making a due scheduled charge");
    match provider.charge(&order.payment_id, &charge).await {
        Ok(()) => {}
        Err(ProviderError::Api { status, kind, .. }) if (400..500).contains(&status) => {
            tracing::warn!(payment_id = %order.payment_id, %kind, "the scheduled charge was refused");
            if provider.read(&order.payment_id).await?.is_none() {
                let failure = portone_checkout::protocol::PgFailure {
                    code: Some(kind),
                    message: Some("the charge could not be made with the registered payment method".into()),
                    ..Default::default()
                };
                if state
                    .db
                    .transition(&order.payment_id, &["PENDING"], "FAILED", Some(&failure), None)
                    .await?
                {
                    state
                        .db
                        .set_subscription_status(sub_id, &["ACTIVE"], "PAST_DUE")
                        .await?;
                }
            }
        }
        Err(e) => {
            tracing::warn!(payment_id = %order.payment_id, error = %e, "scheduled charge call failed; the read decides");
        }
    }
    Ok(true)
}

/// Re-reads a billing key from PortOne and stores, refreshes or retires it.
/// Keys of customers this shop does not know are ignored.
pub async fn sync_billing_key(state: &AppState, kind: ProviderKind, billing_key: &str) -> Result<(), SyncError> {
    let provider = state.provider(kind)?;
    let info = match provider.read_billing_key(billing_key).await {
        Ok(info) => info,
        Err(e) if e.is_not_found() => {
            state.db.delete_subscription_by_key(billing_key).await?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    if !info.issued {
        state.db.delete_subscription_by_key(billing_key).await?;
        return Ok(());
    }
    let Some(customer_id) = info.customer_id.clone() else {
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
        .upsert_subscription(billing_key, &customer_id, info.issue_id.as_deref(), kind)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
            provider: ProviderKind::PortOneV2,
        }
    }

    fn paid(total: i64, currency: &str, checks: Result<(), String>) -> ProviderPayment {
        ProviderPayment {
            state: PaymentState::Paid,
            total,
            currency: currency.into(),
            paid_at: None,
            failure: None,
            checks,
            reference: None,
        }
    }

    #[test]
    fn verification_requires_equal_amount_and_currency() {
        assert!(verify_payment(&order(), &paid(4500, "KRW", Ok(()))).is_ok());
        let err = verify_payment(&order(), &paid(100, "KRW", Ok(()))).expect_err("amount mismatch");
        assert!(err.contains("tampering") && err.contains("100"), "{err}");
        assert!(verify_payment(&order(), &paid(4500, "USD", Ok(()))).is_err());
    }

    #[test]
    fn the_providers_own_checks_must_pass_too() {
        let err = verify_payment(&order(), &paid(4500, "KRW", Err("another store".into()))).expect_err("checks");
        assert_eq!(err, "another store");
    }
}
