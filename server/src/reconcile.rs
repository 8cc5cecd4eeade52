//! The reconciler: finds what nobody reported.
//!
//! A payment approved while both the browser's report and the webhook were
//! lost (a closed tab, webhook retries exhausted, the server down for a
//! while) would otherwise stay `PENDING` forever: paid, never fulfilled. At
//! start and every [`ReconcileConfig::interval`](crate::ReconcileConfig)
//! the sweep runs the same sync as the browser and the webhook over every
//! order that is not final:
//!
//! - pending and failed orders (a payment may exist at PortOne), virtual
//!   accounts awaiting their deposit, cancels PortOne has not confirmed
//!   (`CANCELLING`), scheduled charges once their time has come;
//! - scheduled charges written but not yet confirmed by PortOne are
//!   scheduled (again); due charges of a provider without server-side
//!   schedules (Toss Payments) are made here, under their payment id;
//! - authenticated payments of a two-step provider (Toss `IN_PROGRESS`,
//!   e.g. a confirm whose answer was lost, or a tab closed after the
//!   window) are confirmed by the sync once their amount is the order's, or
//!   found `DONE`;
//! - an order is read again only when its last sync (by anyone) is at least
//!   one interval old, and less often as it ages: every
//!   `max(interval, min(age / 8, 1 h))`, so an abandoned cart does not spend
//!   the merchant's PortOne quota for a whole day;
//! - a pending or failed order that was never paid expires after
//!   [`ReconcileConfig::pending_ttl`](crate::ReconcileConfig) (after one
//!   last read) and is no longer read.
//!
//! Every order is leased before it is read ([`crate::Db::claim_sync`]: a
//! conditional update on its `synced_at` and lease, `FOR UPDATE SKIP
//! LOCKED` on PostgreSQL), so reconcilers in several replicas sharing the
//! database never sync the same order at the same time. A sync is cut off
//! at [`ReconcileConfig::work_budget`](crate::ReconcileConfig::work_budget)
//! and gives its lease back, so only a replica that died mid-sync leaves one
//! behind, and that lease runs out after
//! [`ReconcileConfig::lease`](crate::ReconcileConfig::lease) (60 s by
//! default): a crash delays an order's next sync by that much at most.
//! Every replica may run
//! the reconciler. Concurrency is bounded; the
//! PortOne client's retry rules apply (1 s after
//! `FORBIDDEN_CONSECUTIVE_REQUEST`). One log line per order it changes.

use std::time::Duration;

use futures::stream::{self, StreamExt as _};

use crate::db::{unix_now, Order, STATUS_CANCELLING};
use crate::sync::{charge_due_locally, schedule_pending_charges, sync_payment, SyncError};
use crate::AppState;

/// The longest wait between two reads of one old order.
const MAX_BACKOFF_SECS: i64 = 60 * 60;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Orders read at PortOne.
    pub synced: usize,
    /// Orders whose status changed.
    pub changed: usize,
    /// Orders that expired.
    pub expired: usize,
    /// Scheduled charges PortOne confirmed.
    pub scheduled: usize,
    /// Orders that could not be synced (PortOne or the database failed);
    /// the next sweep tries again.
    pub errors: usize,
}

/// Whether `order` is due for a read at `now`.
fn due(order: &Order, now: i64, interval: i64) -> bool {
    if order.due_at.is_some_and(|at| at > now) {
        return false; // a scheduled charge before its time
    }
    let Some(last) = order.synced_at else {
        return true;
    };
    let wait = if order.status == STATUS_CANCELLING {
        interval
    } else {
        let age = (now - order.payable_since()).max(0);
        interval.max((age / 8).min(MAX_BACKOFF_SECS))
    };
    now - last >= wait
}

/// Runs one sweep.
pub async fn run_once(state: &AppState) -> Result<Report, SyncError> {
    let cfg = &state.config.reconcile;
    let interval = i64::try_from(cfg.interval.as_secs()).unwrap_or(i64::MAX).max(0);
    let ttl = i64::try_from(cfg.pending_ttl.as_secs()).unwrap_or(i64::MAX);
    let now = unix_now();
    let mut report = Report {
        scheduled: schedule_pending_charges(state, None).await?,
        ..Report::default()
    };
    let candidates: Vec<Order> = state
        .db
        .open_orders()
        .await?
        .into_iter()
        .filter(|o| due(o, now, interval))
        .collect();
    let results: Vec<Outcome> = stream::iter(candidates)
        .map(|order| reconcile_one(state, order, now, ttl))
        .buffer_unordered(cfg.concurrency.max(1))
        .collect()
        .await;
    for r in results {
        match r {
            Outcome::Skipped => {}
            Outcome::Synced { changed, expired } => {
                report.synced += 1;
                report.changed += usize::from(changed);
                report.expired += usize::from(expired);
            }
            Outcome::Failed => report.errors += 1,
        }
    }
    Ok(report)
}

enum Outcome {
    Skipped,
    Synced { changed: bool, expired: bool },
    Failed,
}

async fn reconcile_one(state: &AppState, order: Order, now: i64, ttl: i64) -> Outcome {
    let id = order.payment_id.clone();
    let token = uuid::Uuid::new_v4().simple().to_string();
    let lease = &state.config.reconcile;
    match state
        .db
        .claim_sync(&id, order.synced_at, now, &token, now + lease.lease_secs())
        .await
    {
        Ok(true) => {}
        // Someone else synced it meanwhile, or another replica holds it.
        Ok(false) => return Outcome::Skipped,
        Err(e) => {
            tracing::warn!(payment_id = %id, error = %e, "reconciler: could not claim the order");
            return Outcome::Failed;
        }
    }
    let outcome = match tokio::time::timeout(lease.work_budget(), sync_leased(state, &order, now, ttl)).await {
        Ok(outcome) => outcome,
        Err(_) => {
            tracing::warn!(payment_id = %id, "reconciler: the sync took longer than its budget; will retry");
            Outcome::Failed
        }
    };
    if let Err(e) = state.db.release_sync(&id, &token).await {
        // The lease runs out by itself.
        tracing::warn!(payment_id = %id, error = %e, "reconciler: could not give the lease back");
    }
    outcome
}

/// Syncs an order this reconciler holds the lease of.
async fn sync_leased(state: &AppState, order: &Order, now: i64, ttl: i64) -> Outcome {
    let id = order.payment_id.clone();
    if let Err(e) = charge_due_locally(state, order, now).await {
        tracing::warn!(payment_id = %id, error = %e, "reconciler: the due charge could not be made; will retry");
        return Outcome::Failed;
    }
    let synced = match sync_payment(state, &id, true).await {
        Ok(Some(s)) => s.order,
        Ok(None) => return Outcome::Skipped,
        Err(e) => {
            tracing::warn!(payment_id = %id, error = %e, "reconciler: sync failed; will retry");
            return Outcome::Failed;
        }
    };
    let mut expired = false;
    let never_paid = matches!(synced.status.as_str(), "PENDING" | "FAILED");
    if never_paid && now - synced.payable_since() >= ttl {
        match state
            .db
            .transition(
                &id,
                &["PENDING", "FAILED"],
                "EXPIRED",
                None,
                Some("the order was not paid in time"),
            )
            .await
        {
            Ok(moved) => expired = moved,
            Err(e) => {
                tracing::warn!(payment_id = %id, error = %e, "reconciler: could not expire the order");
                return Outcome::Failed;
            }
        }
    }
    let to = if expired { "EXPIRED" } else { synced.status.as_str() };
    let changed = to != order.status;
    if changed {
        tracing::info!(payment_id = %id, from = %order.status, to, "reconciler: order changed");
    }
    Outcome::Synced { changed, expired }
}

/// Runs a sweep at start and then every interval, until the task is
/// aborted.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let period = state.config.reconcile.interval.max(Duration::from_millis(100));
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match run_once(&state).await {
                Ok(r) if r.changed > 0 || r.errors > 0 || r.scheduled > 0 => {
                    tracing::info!(
                        synced = r.synced,
                        changed = r.changed,
                        expired = r.expired,
                        scheduled = r.scheduled,
                        errors = r.errors,
                        "reconciler sweep"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reconciler sweep failed; will retry"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(status: &str, created: &str, synced_at: Option<i64>, due_at: Option<i64>) -> Order {
        Order {
            payment_id: "order-1".into(),
            kind: "checkout".into(),
            order_name: "x".into(),
            total_amount: 1,
            currency: "KRW".into(),
            customer_id: "c".into(),
            subscription_id: None,
            status: status.into(),
            paid_at: None,
            failure_code: None,
            failure_pg_code: None,
            failure_message: None,
            message: None,
            fulfilled_at: None,
            schedule_id: None,
            created_at: created.into(),
            synced_at,
            due_at,
            schedule_state: None,
            provider: crate::provider::ProviderKind::PortOneV2,
        }
    }

    // 2026-11-30T00:00:00Z
    const T0: i64 = 1_795_996_800;

    #[test]
    fn a_never_synced_order_is_due_at_once() {
        assert!(due(&order("PENDING", "2026-11-30T00:00:00Z", None, None), T0, 60));
    }

    #[test]
    fn a_young_order_is_read_every_interval_and_an_old_one_less_often() {
        let young = order("PENDING", "2026-11-30T00:00:00Z", Some(T0 + 100), None);
        assert!(!due(&young, T0 + 150, 60));
        assert!(due(&young, T0 + 160, 60));
        // Eight hours old: read at most once an hour.
        let old = order("PENDING", "2026-11-30T00:00:00Z", Some(T0 + 8 * 3600), None);
        assert!(!due(&old, T0 + 8 * 3600 + 1800, 60));
        assert!(due(&old, T0 + 9 * 3600, 60));
    }

    #[test]
    fn a_cancel_in_progress_is_retried_every_interval_whatever_its_age() {
        let c = order(STATUS_CANCELLING, "2026-11-20T00:00:00Z", Some(T0), None);
        assert!(due(&c, T0 + 60, 60));
    }

    #[test]
    fn a_scheduled_charge_is_not_read_before_its_time() {
        let s = order("PENDING", "2026-11-30T00:00:00Z", None, Some(T0 + 1000));
        assert!(!due(&s, T0 + 999, 60));
        assert!(due(&s, T0 + 1000, 60));
    }
}
