//! The money-safety scenarios: stale reads are never "failed", a cancel is
//! done only when PortOne says so, the reconciler finds what nobody
//! reported, subscriptions keep going exactly once, charges are idempotent,
//! clients are rate limited.

use std::time::Duration;

use checkout_server::config::Config;
use checkout_server::shop_api::ChargeResult;
use portone_checkout::protocol::{OrderStatus, Subscription};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::billing::{issue_key, prepare_issue, register};
use crate::common::{eventually, now_unix, Harness};

/// Every sweep reads every open order (no waiting for the interval).
fn eager_reconciler(c: &mut Config) {
    c.reconcile.interval = Duration::ZERO;
}

/// Two paid orders of a product with one unit in stock: the first is
/// fulfilled, the second must be net-cancelled.
async fn second_paid_order_without_stock(h: &Harness) -> String {
    let first = h.prepare(json!([{"productId": "beans-1kg", "quantity": 1}])).await;
    let second = h.prepare(json!([{"productId": "beans-1kg", "quantity": 1}])).await;
    h.pay(&first, "approve", None).await;
    h.pay(&second, "approve", None).await;
    assert_eq!(h.complete_ok(&first.payment_id).await.status, OrderStatus::Paid);
    second.payment_id.to_string()
}

async fn signed_paid_webhook(h: &Harness, payment_id: &str, webhook_id: &str) -> (StatusCode, Value) {
    let body = json!({
        "type": "Transaction.Paid",
        "timestamp": "2026-11-30T00:00:00Z",
        "data": {"storeId": portone_sandbox::DEFAULT_STORE_ID, "paymentId": payment_id, "transactionId": "tx"}
    })
    .to_string();
    h.send_webhook(portone_sandbox::DEFAULT_WEBHOOK_SECRET, webhook_id, now_unix(), &body)
        .await
}

#[tokio::test]
async fn a_paid_payment_read_while_portone_is_down_is_answered_unverified_never_failed() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare(json!([{"productId": "americano", "quantity": 1}])).await;
    h.pay(&prepared, "approve", None).await;
    h.set_faults(json!({"failNext": 1000})).await;
    // The return link claims a PG failure; PortOne cannot be read.
    let hint = json!({"code": "FAILURE_TYPE_PG", "pgMessage": "<b>카드 거절</b>", "message": "forged"});
    let (code, body) = h.complete(&prepared.payment_id, hint).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "PENDING", "{body}");
    assert_eq!(body["verified"], false, "{body}");
    assert!(
        body.get("failure").is_none() && body.get("message").is_none(),
        "no hint text is echoed: {body}"
    );
    let (_, body) = h.get(&format!("/api/payments/{}", prepared.payment_id)).await;
    assert_eq!(
        (body["status"].as_str(), body["verified"].as_bool()),
        (Some("PENDING"), Some(false))
    );
    // PortOne is back: the truth is PAID, verified.
    h.set_faults(json!({})).await;
    let (_, body) = h.get(&format!("/api/payments/{}", prepared.payment_id)).await;
    assert_eq!(
        (body["status"].as_str(), body["verified"].as_bool()),
        (Some("PAID"), Some(true)),
        "{body}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn an_interrupted_net_cancel_stays_cancelling_until_portone_confirms_and_the_reconciler_finishes_it() {
    let h = Harness::start_configured(false, eager_reconciler).await;
    let id = second_paid_order_without_stock(&h).await;
    // Every cancel call fails; reads still work.
    h.set_faults(json!({"failNext": 1000, "only": "/cancel"})).await;
    let status = h.complete_ok(&id).await;
    assert_eq!(status.status, OrderStatus::Cancelling, "{status:?}");
    assert!(status.verified);
    assert!(
        status.message.as_deref().unwrap_or("").contains("net cancel"),
        "{status:?}"
    );
    assert_eq!(h.portone_payment(&id).await["status"], "PAID");
    // Asked again, still not cancelled: PortOne has not confirmed.
    let (_, body) = h.get(&format!("/api/payments/{id}")).await;
    assert_eq!(body["status"], "CANCELLING", "{body}");
    // PortOne's webhook is answered non-2xx, so PortOne delivers it again.
    let (code, body) = signed_paid_webhook(&h, &id, "msg-cancel-pending").await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "cancel_pending");
    assert_eq!(h.db().processed_webhook_count().await.expect("db"), 0);
    // A sweep while cancels still fail changes nothing.
    h.reconcile().await;
    assert_eq!(h.stored_status(&id).await, "CANCELLING");

    // PortOne answers cancels again: the next sweep finishes it.
    h.set_faults(json!({})).await;
    let report = h.reconcile().await;
    assert!(report.changed >= 1, "{report:?}");
    assert_eq!(h.stored_status(&id).await, "CANCELLED");
    assert_eq!(h.portone_payment(&id).await["status"], "CANCELLED");
    assert_eq!(h.db().fulfilment_count(&id).await.expect("db"), 0);
    // The redelivered webhook is now acknowledged.
    let (code, _) = signed_paid_webhook(&h, &id, "msg-cancel-pending").await;
    assert_eq!(code, StatusCode::OK);
    h.shutdown().await;
}

#[tokio::test]
async fn a_payment_nobody_reported_is_fulfilled_by_the_reconciler_exactly_once() {
    // No webhooks reach the server and the browser never reports.
    let h = Harness::start_configured(false, eager_reconciler).await;
    let prepared = h.prepare(json!([{"productId": "croissant", "quantity": 2}])).await;
    let stock = h.db().stock("croissant").await.expect("db").unwrap_or(0);
    h.pay(&prepared, "approve", None).await;
    assert_eq!(h.stored_status(&prepared.payment_id).await, "PENDING");
    let report = h.reconcile().await;
    assert_eq!(report.changed, 1, "{report:?}");
    assert_eq!(h.stored_status(&prepared.payment_id).await, "PAID");
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    // Sweeping again does nothing more.
    assert_eq!(h.reconcile().await.changed, 0);
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    assert_eq!(h.db().stock("croissant").await.expect("db"), Some(stock - 2));
    h.shutdown().await;
}

#[tokio::test]
async fn the_periodic_reconciler_finds_an_unreported_payment_on_its_own() {
    fn every_100ms(c: &mut Config) {
        c.reconcile.enabled = true;
        c.reconcile.interval = Duration::from_millis(100);
    }
    let h = Harness::start_configured(false, every_100ms).await;
    let prepared = h.prepare(json!([{"productId": "americano", "quantity": 1}])).await;
    h.pay(&prepared, "approve", None).await;
    eventually(
        "the reconciler to fulfil the order",
        Duration::from_secs(15),
        || async { (h.stored_status(&prepared.payment_id).await == "PAID").then_some(()) },
    )
    .await;
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn an_order_never_paid_expires_after_the_ttl_and_is_no_longer_read() {
    fn no_ttl(c: &mut Config) {
        c.reconcile.interval = Duration::ZERO;
        c.reconcile.pending_ttl = Duration::ZERO;
    }
    let h = Harness::start_configured(false, no_ttl).await;
    let abandoned = h.prepare(json!([{"productId": "americano", "quantity": 1}])).await;
    let report = h.reconcile().await;
    assert_eq!(report.expired, 1, "{report:?}");
    assert_eq!(h.stored_status(&abandoned.payment_id).await, "EXPIRED");
    let open = h.db().open_orders().await.expect("db");
    assert!(open.iter().all(|o| o.payment_id != abandoned.payment_id.as_str()));
    let (_, body) = h.get(&format!("/api/payments/{}", abandoned.payment_id)).await;
    assert_eq!(
        (body["status"].as_str(), body["verified"].as_bool()),
        (Some("EXPIRED"), Some(true))
    );
    h.shutdown().await;
}

/// A short lease (budget 3 s) and provider requests that outlast it.
fn short_lease(c: &mut Config) {
    c.reconcile.interval = Duration::ZERO;
    c.reconcile.lease = Duration::from_secs(4);
    c.portone.retry.request_timeout = Duration::from_secs(30);
}

/// A server with [`short_lease`], an order paid at PortOne that nobody
/// reported, and PortOne's payment reads hanging for a minute.
async fn paid_unreported_while_portone_hangs() -> (Harness, String) {
    let h = Harness::start_configured(false, short_lease).await;
    let prepared = h.prepare(json!([{"productId": "americano", "quantity": 1}])).await;
    h.pay(&prepared, "approve", None).await;
    h.set_faults(json!({"latencyMs": 60_000, "only": "GET /payments/"}))
        .await;
    (h, prepared.payment_id.to_string())
}

#[tokio::test]
async fn an_order_whose_sync_died_midway_is_taken_up_again_once_the_lease_runs_out() {
    let (h, id) = paid_unreported_while_portone_hangs().await;
    // A sweep leases the order and waits on PortOne.
    let state = h.state().clone();
    let sweep = tokio::spawn(async move { checkout_server::reconcile::run_once(&state).await });
    eventually("the sweep to lease the order", Duration::from_secs(10), || async {
        let order = h.db().order(&id).await.expect("db")?;
        order.synced_at.map(|_| ())
    })
    .await;
    // The process dies mid-sync: its lease is never given back.
    sweep.abort();
    let died = std::time::Instant::now();
    h.set_faults(json!({})).await;
    let report = h.reconcile().await;
    assert_eq!((report.synced, report.changed), (0, 0), "{report:?}");
    assert_eq!(h.stored_status(&id).await, "PENDING");
    // Once the lease has run out (4 s, not minutes), a sweep takes the order
    // up and fulfils it.
    eventually(
        "a sweep to take the order up again",
        Duration::from_secs(20),
        || async {
            h.reconcile().await;
            (h.stored_status(&id).await == "PAID").then_some(())
        },
    )
    .await;
    let waited = died.elapsed();
    assert!(
        waited >= Duration::from_secs(2),
        "taken up {waited:?} after the crash, while the 4 s lease still held"
    );
    assert_eq!(h.db().fulfilment_count(&id).await.expect("db"), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn a_sync_that_outlasts_its_budget_gives_its_lease_back_for_the_next_sweep() {
    let (h, id) = paid_unreported_while_portone_hangs().await;
    // The sync is cut off at three quarters of the lease, not at the
    // provider client's 30 s timeout.
    let started = std::time::Instant::now();
    let report = h.reconcile().await;
    let took = started.elapsed();
    assert_eq!(report.errors, 1, "{report:?}");
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(20),
        "the sweep took {took:?}; the budget is 3 s, a read with its retries 120 s"
    );
    assert_eq!(h.stored_status(&id).await, "PENDING");
    // The lease was given back: the next sweep reads the order at once.
    h.set_faults(json!({})).await;
    let report = h.reconcile().await;
    assert_eq!(report.changed, 1, "{report:?}");
    assert_eq!(h.stored_status(&id).await, "PAID");
    h.shutdown().await;
}

async fn subscribe(h: &Harness) -> Subscription {
    let prepared = prepare_issue(h).await;
    let key = issue_key(h, &prepared, checkout_server::DEMO_CUSTOMER_ID).await;
    let (code, body) = register(h, &key, Some(prepared.issue_id.as_str())).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    serde_json::from_value(body).expect("Subscription")
}

async fn charge_ok(h: &Harness, sub: &Subscription, key: &str) -> ChargeResult {
    let (code, body) = h.charge(&sub.subscription_id, key).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    serde_json::from_value(body).expect("ChargeResult")
}

/// The sandbox's schedules still waiting to run.
async fn scheduled(h: &Harness) -> Vec<Value> {
    h.sandbox_schedules()
        .await
        .into_iter()
        .filter(|s| s["status"] == "SCHEDULED")
        .collect()
}

#[tokio::test]
async fn each_paid_scheduled_charge_schedules_the_next_exactly_once_despite_duplicate_webhooks() {
    let h = Harness::start().await;
    let sub = subscribe(&h).await;
    h.set_faults(json!({"webhook": {"duplicate": true}})).await;
    let first = charge_ok(&h, &sub, "first-month").await;
    assert_eq!(first.status, OrderStatus::Paid);
    let mut schedule_id = first
        .next_charge_schedule_id
        .clone()
        .expect("the next charge is scheduled");
    assert_eq!(scheduled(&h).await.len(), 1);

    for month in 2..=3 {
        let next = h.pending_next_charge(&sub.subscription_id).await;
        // PortOne runs the schedule; only its (duplicated) webhook reports it.
        let ran = h.admin_post("/__sandbox/schedules/run", json!({"all": true})).await;
        assert!(ran.to_string().contains(&schedule_id), "month {month}: {ran}");
        let following = eventually(
            "the scheduled charge to be paid and the next one scheduled",
            Duration::from_secs(15),
            || async {
                let paid = h.stored_status(&next.payment_id).await == "PAID";
                let following = h.db().next_charge(&sub.subscription_id).await.ok()??;
                (paid && following.schedule_id.is_some()).then_some(following)
            },
        )
        .await;
        assert_ne!(following.payment_id, next.payment_id);
        h.webhooks_settled("Transaction.Paid").await;
        assert_eq!(
            h.db().fulfilment_count(&next.payment_id).await.expect("db"),
            1,
            "month {month}"
        );
        let waiting = scheduled(&h).await;
        assert_eq!(waiting.len(), 1, "month {month}: exactly one next charge: {waiting:?}");
        assert_eq!(waiting[0]["paymentId"], following.payment_id.as_str());
        schedule_id = following.schedule_id.clone().unwrap_or_default();
    }
    h.shutdown().await;
}

/// A server without webhooks (nothing but the test confirms a charge) and a
/// subscription's first charge, paid while every answer to the schedule
/// call is lost (the first call is applied). The fault stays on.
async fn charge_whose_schedule_answer_was_lost() -> (Harness, Subscription, ChargeResult) {
    let h = Harness::start_configured(false, eager_reconciler).await;
    let sub = subscribe(&h).await;
    h.set_faults(json!({"loseResponses": 4, "only": "/schedule"})).await;
    let charge = charge_ok(&h, &sub, "month-1").await;
    (h, sub, charge)
}

#[tokio::test]
async fn a_lost_schedule_answer_keeps_the_next_charge_and_the_reconciler_confirms_it_once() {
    let (h, sub, charge) = charge_whose_schedule_answer_was_lost().await;
    assert_eq!(charge.status, OrderStatus::Paid);
    assert_eq!(charge.next_charge_schedule_id, None);
    let next = h.pending_next_charge(&sub.subscription_id).await;
    assert_eq!(next.schedule_state.as_deref(), Some("TO_SCHEDULE"));
    assert_eq!(scheduled(&h).await.len(), 1, "PortOne did schedule it");

    h.set_faults(json!({})).await;
    let report = h.reconcile().await;
    assert_eq!(report.scheduled, 1, "{report:?}");
    let next = h.pending_next_charge(&sub.subscription_id).await;
    assert_eq!(next.schedule_state.as_deref(), Some("SCHEDULED"));
    let waiting = scheduled(&h).await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0]["paymentId"], next.payment_id.as_str());
    h.shutdown().await;
}

/// Two syncs of one paid charge race to schedule the next: PortOne answers
/// the first with the schedule's id and the second with "already exists".
/// Whichever the database sees first, the charge is confirmed once and the
/// schedule id is kept (seen on PostgreSQL, where the "already exists" side
/// used to win and the id was lost for good).
#[tokio::test]
async fn two_syncs_racing_to_schedule_one_charge_keep_its_schedule_id_and_count_it_once() {
    // The next charge waits as TO_SCHEDULE while PortOne holds the schedule.
    let (h, sub, _) = charge_whose_schedule_answer_was_lost().await;
    h.set_faults(json!({})).await;
    let next = h.pending_next_charge(&sub.subscription_id).await;
    let waiting = scheduled(&h).await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    let schedule_id = waiting[0]["id"].as_str().expect("a schedule id").to_owned();

    // The "already exists" answer is recorded first, then the answer with the id.
    assert!(h.db().set_scheduled(&next.payment_id, None).await.expect("db"));
    assert!(!h
        .db()
        .set_scheduled(&next.payment_id, Some(&schedule_id))
        .await
        .expect("db"));
    let stored = h.pending_next_charge(&sub.subscription_id).await;
    assert_eq!(stored.schedule_state.as_deref(), Some("SCHEDULED"));
    assert_eq!(stored.schedule_id.as_deref(), Some(schedule_id.as_str()));
    // A later, different id never replaces the one kept.
    assert!(!h
        .db()
        .set_scheduled(&next.payment_id, Some("another"))
        .await
        .expect("db"));
    let stored = h.db().order(&next.payment_id).await.expect("db").expect("order");
    assert_eq!(stored.schedule_id.as_deref(), Some(schedule_id.as_str()));
    h.shutdown().await;
}

#[tokio::test]
async fn a_charge_retried_with_one_idempotency_key_makes_one_payment() {
    let h = Harness::start_with(false, None).await;
    let sub = subscribe(&h).await;
    // The charge goes through at PortOne, but no answer about it reaches
    // the server: the caller gets a 5xx it may retry.
    h.set_faults(json!({"loseResponses": 1000, "only": "/payments/charge-"}))
        .await;
    let (code, body) = h.charge(&sub.subscription_id, "month-1").await;
    assert_eq!(code, StatusCode::BAD_GATEWAY, "{body}");
    assert!(
        body["message"].as_str().unwrap_or("").contains("same Idempotency-Key"),
        "{body}"
    );
    let orders = h.db().open_orders().await.expect("db");
    let pending: Vec<_> = orders.iter().filter(|o| o.kind == "charge").collect();
    assert_eq!(pending.len(), 1, "{pending:?}");
    let payment_id = pending[0].payment_id.clone();
    h.set_faults(json!({})).await;
    assert_eq!(h.portone_payment(&payment_id).await["status"], "PAID");

    // The retry returns the first charge, paid once.
    let retried = charge_ok(&h, &sub, "month-1").await;
    assert_eq!(retried.payment_id, payment_id.as_str());
    assert_eq!(retried.status, OrderStatus::Paid);
    let again = charge_ok(&h, &sub, "month-1").await;
    assert_eq!(again, retried);
    assert_eq!(h.db().fulfilment_count(&payment_id).await.expect("db"), 1);
    let charges: Vec<_> = h
        .db()
        .open_orders()
        .await
        .expect("db")
        .into_iter()
        .filter(|o| o.kind == "charge" && o.schedule_state.is_none())
        .collect();
    assert!(charges.is_empty(), "no other charge was made: {charges:?}");
    // Without the header, nothing is charged.
    let resp = h
        .http
        .post(format!("{}/api/subscriptions/{}/charge", h.base(), sub.subscription_id))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    h.shutdown().await;
}

#[tokio::test]
async fn a_failed_charge_tells_the_customer_no_internal_detail() {
    let h = Harness::start_with(false, None).await;
    let sub = subscribe(&h).await;
    // The key is revoked at PortOne, unknown to the shop (no webhooks).
    let resp = h
        .http
        .delete(format!("{}/billing-keys/{}", h.sandbox.base_url(), sub.billing_key))
        .header("Authorization", format!("PortOne {}", crate::common::SECRET))
        .send()
        .await
        .expect("delete");
    assert!(resp.status().is_success());
    let charge = charge_ok(&h, &sub, "after-revoke").await;
    assert_eq!(charge.status, OrderStatus::Failed);
    let (_, body) = h.get(&format!("/api/payments/{}", charge.payment_id)).await;
    let text = body.to_string();
    for internal in ["http://", "127.0.0.1", "PortOne answered", "빌링키가"] {
        assert!(!text.contains(internal), "{internal:?} leaked: {text}");
    }
    assert_eq!(body["failure"]["code"], "BILLING_KEY_ALREADY_DELETED", "{body}");
    h.shutdown().await;
}

#[tokio::test]
async fn prepare_complete_and_charge_are_rate_limited_per_client() {
    fn three_then_wait(c: &mut Config) {
        c.limits.rate_burst = 3;
        c.limits.rate_refill = Duration::from_secs(600);
    }
    let h = Harness::start_configured(false, three_then_wait).await;
    let cart = json!({"items": [{"productId": "americano", "quantity": 1}]});
    for _ in 0..3 {
        let (code, body) = h.post("/api/payments", cart.clone()).await;
        assert_eq!(code, StatusCode::OK, "{body}");
    }
    let resp = h
        .http
        .post(format!("{}/api/payments", h.base()))
        .json(&cart)
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().get("retry-after").is_some());
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"], "rate_limited");
    // Reads are not limited.
    let (code, _) = h.get("/api/products").await;
    assert_eq!(code, StatusCode::OK);
    h.shutdown().await;
}

#[tokio::test]
async fn a_crafted_payment_id_never_reaches_another_route() {
    let h = Harness::start_with(false, None).await;
    let sub = subscribe(&h).await;
    let crafted = format!("..%2Fsubscriptions%2F{}%2Fcharge%3F", sub.subscription_id);
    let (code, body) = h.complete(&crafted, json!({})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_payment_id");
    assert!(h.db().next_charge(&sub.subscription_id).await.expect("db").is_none());
    assert!(scheduled(&h).await.is_empty(), "nothing was charged or scheduled");
    h.shutdown().await;
}

#[tokio::test]
async fn live_mode_without_real_secrets_does_not_start() {
    let h = Harness::start_with(false, None).await;
    let mut config = h.config();
    config.portone.mode = checkout_server::Mode::Live;
    config.portone.api_base = "https://api.portone.io".into();
    let err = checkout_server::serve(config).await.expect_err("refused");
    assert!(err.to_string().contains("PORTONE_API_SECRET"), "{err}");
    h.shutdown().await;
}
