//! `GET /__sandbox/ledger`: every payment, cancellation, billing key and
//! schedule the sandbox holds, for all three providers at once, in one
//! provider-neutral shape.
//!
//! This is the read-out a checker compares a shop against (the chaos soak,
//! `cargo xtask soak`): the sandbox's own records are the source of truth
//! for what was paid, cancelled (and why) and scheduled. Each provider's own
//! REST API shows one payment at a time; this shows them all.

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use serde_json::{json, Value};

use crate::store::{lock, ts, AppState};

/// The ledger (see the module docs and `docs/sandbox-admin-api.md`).
pub(crate) async fn ledger(State(st): State<AppState>) -> Json<Value> {
    let now = Utc::now();
    let s = lock(&st.store);
    let mut v2: Vec<Value> = s
        .payments
        .values()
        .map(|p| {
            json!({
                "paymentId": p.id,
                "status": p.status.as_str(),
                "totalAmount": p.total,
                "currency": p.currency,
                "billingKey": p.billing_key,
                "scheduleId": p.schedule_id,
                "requestedAt": ts(p.requested_at),
                "cancellations": p.cancellations.iter().map(|c| json!({
                    "amount": c.total_amount,
                    "reason": c.reason,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut v2_schedules: Vec<Value> = s.schedules.values().map(crate::admin::schedule_json).collect();
    let mut v1: Vec<Value> =
        s.v1.payments
            .values()
            .map(|p| {
                json!({
                    "impUid": p.imp_uid,
                    "merchantUid": p.merchant_uid,
                    "status": p.status.as_str(),
                    "amount": p.amount,
                    "currency": p.currency,
                    "customerUid": p.customer_uid,
                    "customerUidUsage": p.customer_uid_usage,
                    "seq": p.seq,
                    "cancellations": p.cancellations.iter().map(|c| json!({
                        "amount": c.amount,
                        "reason": c.reason,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
    let mut v1_schedules: Vec<Value> =
        s.v1.schedules
            .values()
            .map(|x| {
                json!({
                    "merchantUid": x.merchant_uid,
                    "customerUid": x.customer_uid,
                    "status": x.status,
                    "amount": x.amount,
                    "impUid": x.imp_uid,
                    "paymentStatus": x.payment_status,
                })
            })
            .collect();
    let mut toss: Vec<Value> = s
        .toss
        .payments
        .values()
        .map(|p| {
            // An unconfirmed payment past its deadline is reported as it
            // would be read (`EXPIRED`), whether or not a read has stored it.
            let mut status = p.status;
            if status.has_deadline() && p.deadline.is_some_and(|d| d <= now) {
                status = crate::toss::records::TossStatus::Expired;
            }
            json!({
                "paymentKey": p.payment_key,
                "orderId": p.order_id,
                "status": status.as_str(),
                "totalAmount": p.total_amount,
                "currency": p.currency,
                "billing": p.billing,
                "billingKey": p.billing_key,
                "method": p.method,
                "cancellations": p.cancels.iter().map(|c| json!({
                    "amount": c.cancel_amount,
                    "reason": c.cancel_reason,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    drop(s);
    let by = |k: &'static str| move |a: &Value, b: &Value| a[k].as_str().cmp(&b[k].as_str());
    v2.sort_by(by("paymentId"));
    v2_schedules.sort_by(by("id"));
    v1.sort_by_key(|p| p["seq"].as_u64());
    v1_schedules.sort_by(by("merchantUid"));
    toss.sort_by(by("paymentKey"));
    Json(json!({
        "portoneV2": { "payments": v2, "schedules": v2_schedules },
        "portoneV1": { "payments": v1, "schedules": v1_schedules },
        "toss": { "payments": toss },
    }))
}
