use std::time::Duration;

use checkout_server::shop_api::ChargeResult;
use portone_checkout::protocol::{BillingKeyPrepared, OrderStatus, Subscription};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{eventually, Harness, SECRET};

pub(crate) async fn prepare_issue(h: &Harness) -> BillingKeyPrepared {
    let (code, body) = h.post("/api/billing-keys/prepare", json!({})).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    serde_json::from_value(body).expect("BillingKeyPrepared")
}

/// Issues a TossPay billing key at the sandbox as the browser would.
pub(crate) async fn issue_key(h: &Harness, prepared: &BillingKeyPrepared, customer_id: &str) -> String {
    let request = json!({
        "storeId": portone_sandbox::DEFAULT_STORE_ID,
        "channelKey": portone_sandbox::TOSSPAY_CHANNEL_KEY,
        "billingKeyMethod": "EASY_PAY",
        "issueId": prepared.issue_id,
        "issueName": prepared.issue_name,
        "customer": {"customerId": customer_id, "fullName": "홍길동"},
    });
    let result = h
        .admin_post(
            "/__sandbox/issue-billing-key",
            json!({ "request": request, "outcome": "approve" }),
        )
        .await;
    result["billingKey"]
        .as_str()
        .unwrap_or_else(|| panic!("no billing key in {result}"))
        .to_owned()
}

pub(crate) async fn register(h: &Harness, key: &str, issue_id: Option<&str>) -> (StatusCode, Value) {
    h.post("/api/billing-keys", json!({ "billingKey": key, "issueId": issue_id }))
        .await
}

#[tokio::test]
async fn billing_key_is_verified_with_portone_and_registered_idempotently() {
    let h = Harness::start_with(false, None).await;
    let prepared = prepare_issue(&h).await;
    assert_eq!(prepared.customer.customer_id.as_deref(), Some("demo-customer-1"));
    assert!(prepared.customer.full_name.is_some());
    let key = issue_key(&h, &prepared, "demo-customer-1").await;
    let (code, body) = register(&h, &key, Some(prepared.issue_id.as_str())).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let sub: Subscription = serde_json::from_value(body).expect("Subscription");
    assert_eq!(
        (sub.status.as_str(), sub.billing_key.as_str()),
        ("ACTIVE", key.as_str())
    );
    let (_, again) = register(&h, &key, Some(prepared.issue_id.as_str())).await;
    assert_eq!(again["subscriptionId"], sub.subscription_id.as_str());
    let (code, fetched) = h.get(&format!("/api/subscriptions/{}", sub.subscription_id)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(fetched["billingKey"], key.as_str());
    h.shutdown().await;
}

#[tokio::test]
async fn billing_key_of_another_customer_or_unknown_key_is_refused() {
    let h = Harness::start_with(false, None).await;
    let prepared = prepare_issue(&h).await;
    let theirs = issue_key(&h, &prepared, "someone-else").await;
    let (code, body) = register(&h, &theirs, None).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "billing_key_customer_mismatch");

    let (code, body) = register(&h, "billing-key-that-does-not-exist", None).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"], "billing_key_not_found");

    let (code, body) = register(&h, &theirs, Some("issue-never-prepared")).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "unknown_issue_id");
    assert!(h.db().subscription_by_key(&theirs).await.expect("db").is_none());
    h.shutdown().await;
}

#[tokio::test]
async fn billing_key_issued_but_never_reported_is_stored_from_the_webhook() {
    let h = Harness::start().await;
    let prepared = prepare_issue(&h).await;
    let key = issue_key(&h, &prepared, "demo-customer-1").await;
    // The browser closed the window: nobody calls POST /api/billing-keys.
    let stored = eventually(
        "BillingKey.Issued to store the key",
        Duration::from_secs(10),
        || async { h.db().subscription_by_key(&key).await.ok().flatten() },
    )
    .await;
    assert_eq!(stored.status, "ACTIVE");
    assert_eq!(stored.customer_id, "demo-customer-1");
    // Reporting it late maps to the same subscription.
    let (code, body) = register(&h, &key, Some(prepared.issue_id.as_str())).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["subscriptionId"], stored.subscription_id.as_str());
    h.shutdown().await;
}

/// A registered subscription whose key the merchant then deleted at PortOne
/// (through its REST API, as the console would), once `BillingKey.Deleted`
/// has retired it here.
async fn subscription_whose_key_was_deleted(h: &Harness) -> (BillingKeyPrepared, String, Subscription) {
    let prepared = prepare_issue(h).await;
    let key = issue_key(h, &prepared, "demo-customer-1").await;
    let (_, body) = register(h, &key, Some(prepared.issue_id.as_str())).await;
    let sub: Subscription = serde_json::from_value(body).expect("Subscription");
    let mut url = reqwest::Url::parse(&h.sandbox.base_url()).expect("url");
    url.path_segments_mut()
        .expect("base")
        .extend(["billing-keys", key.as_str()]);
    let resp = h
        .http
        .delete(url)
        .header("Authorization", format!("PortOne {SECRET}"))
        .send()
        .await
        .expect("delete");
    assert!(resp.status().is_success(), "{}", resp.status());
    eventually(
        "BillingKey.Deleted to retire the key",
        Duration::from_secs(10),
        || async {
            let s = h.db().subscription_by_key(&key).await.ok().flatten()?;
            (s.status == "DELETED").then_some(())
        },
    )
    .await;
    (prepared, key, sub)
}

#[tokio::test]
async fn deleted_billing_key_webhook_makes_the_subscription_unusable() {
    let h = Harness::start().await;
    let (_, _, sub) = subscription_whose_key_was_deleted(&h).await;
    let (code, body) = h.charge(&sub.subscription_id, "charge-after-delete").await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "subscription_inactive");
    h.shutdown().await;
}

/// A `BillingKey.Issued` sync that read the key before the delete and
/// writes after the `BillingKey.Deleted` sync (seen under load) must not
/// bring the subscription back: the key is gone at PortOne for good.
#[tokio::test]
async fn a_stale_issued_sync_landing_after_the_delete_does_not_revive_the_subscription() {
    let h = Harness::start().await;
    let (prepared, key, sub) = subscription_whose_key_was_deleted(&h).await;
    // The stale sync's write, as it lands after the delete.
    let row = h
        .db()
        .upsert_subscription(
            &key,
            "demo-customer-1",
            Some(prepared.issue_id.as_str()),
            checkout_server::ProviderKind::PortOneV2,
        )
        .await
        .expect("db");
    assert_eq!(row.subscription_id, sub.subscription_id.as_str());
    assert_eq!(row.status, "DELETED");
    let (code, body) = h.charge(&sub.subscription_id, "charge-after-stale-sync").await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "subscription_inactive");
    h.shutdown().await;
}

#[tokio::test]
async fn charge_pays_with_the_stored_key_and_schedules_the_next_charge() {
    let h = Harness::start().await;
    let prepared = prepare_issue(&h).await;
    let key = issue_key(&h, &prepared, "demo-customer-1").await;
    let (_, body) = register(&h, &key, Some(prepared.issue_id.as_str())).await;
    let sub: Subscription = serde_json::from_value(body).expect("Subscription");

    // The charge's answer is lost: the server must find out from PortOne.
    h.set_faults(json!({"loseResponses": 1})).await;
    let (code, body) = h.charge(&sub.subscription_id, "charge-1").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let charge: ChargeResult = serde_json::from_value(body).expect("ChargeResult");
    assert_eq!(charge.status, OrderStatus::Paid);
    assert_eq!(charge.total_amount, checkout_server::SUBSCRIPTION_PRICE);
    let at_portone = h.portone_payment(&charge.payment_id).await;
    assert_eq!(at_portone["status"], "PAID");
    assert_eq!(at_portone["billingKey"], key.as_str());
    assert_eq!(at_portone["amount"]["total"], checkout_server::SUBSCRIPTION_PRICE);
    assert_eq!(h.db().fulfilment_count(&charge.payment_id).await.expect("db"), 1);
    let schedule_id = charge.next_charge_schedule_id.expect("next charge scheduled");
    assert!(!schedule_id.is_empty());

    // Run the schedule now: its Transaction.Paid webhook pays the next order.
    let ran = h.admin_post("/__sandbox/schedules/run", json!({"all": true})).await;
    assert!(ran.to_string().contains(&schedule_id), "{ran}");
    eventually(
        "the scheduled charge to be recorded paid",
        Duration::from_secs(10),
        || async {
            let orders = h.db().orders_by_schedule(&schedule_id).await.ok()?;
            let order = orders.into_iter().next()?;
            (order.status == "PAID").then_some(())
        },
    )
    .await;
    h.shutdown().await;
}

/// `CHECKOUT_CHARGE_INTERVAL_SECS` (the subscription period): the next charge
/// is due that long after a paid one, at the shop and at PortOne, so a
/// scheduled charge PortOne runs is also one the reconciler reads once due
/// (the chaos soak runs subscriptions on a short period).
#[tokio::test]
async fn the_next_charge_is_due_one_configured_period_after_a_paid_one() {
    let h = Harness::start_configured(false, |c| {
        c.reconcile.charge_interval = Duration::from_secs(120);
    })
    .await;
    let prepared = prepare_issue(&h).await;
    let key = issue_key(&h, &prepared, "demo-customer-1").await;
    let (_, body) = register(&h, &key, Some(prepared.issue_id.as_str())).await;
    let sub: Subscription = serde_json::from_value(body).expect("Subscription");
    let before = crate::common::now_unix();
    let (code, body) = h.charge(&sub.subscription_id, "charge-1").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let next = h.pending_next_charge(&sub.subscription_id).await;
    let due = next.due_at.expect("due_at");
    assert!(
        (before + 120..=crate::common::now_unix() + 120).contains(&due),
        "due {due}, charged at {before}"
    );
    let schedules = h.sandbox_schedules().await;
    let at_portone = schedules
        .iter()
        .find(|s| s["paymentId"] == next.payment_id.as_str())
        .expect("scheduled at PortOne");
    assert_eq!(at_portone["status"], "SCHEDULED");
    h.shutdown().await;
}
