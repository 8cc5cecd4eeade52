//! PortOne V1 with TossPay: the contract under `/v1`, verified with the V1
//! REST API of the sandbox's stand-in (`/iamport`).

use std::time::Duration;

use checkout_server::provider::portone_v1::PortOneV1;
use checkout_server::provider::{PaymentState, Provider, ProviderKind};
use checkout_server::shop_api::ChargeResult;
use portone_checkout::protocol::{BillingKeyPrepared, OrderStatus, Subscription};
use portone_sandbox::SandboxConfig;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{eventually, Harness};

fn eager_reconciler(c: &mut checkout_server::Config) {
    c.reconcile.interval = Duration::ZERO;
}

fn americano() -> Value {
    json!([{ "productId": "americano", "quantity": 2 }])
}

#[tokio::test]
async fn a_v1_payment_approved_in_the_window_is_verified_paid_and_fulfilled_once() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare_v1(americano()).await;
    assert_eq!(prepared.total_amount, 9000);
    assert!(prepared.payment_id.len() <= 40, "{}", prepared.payment_id);
    // The amount is pre-registered with V1 before the window opens.
    let (status, pre) = h
        .v1_rest(Method::GET, &format!("/payments/prepare/{}", prepared.payment_id), None)
        .await;
    assert_eq!((status, pre["amount"].as_i64()), (StatusCode::OK, Some(9000)));
    let order = h.db().order(&prepared.payment_id).await.expect("db").expect("order");
    assert_eq!(order.provider, ProviderKind::PortOneV1);

    let rsp = h.pay_v1(&prepared, "approve", None).await;
    let imp_uid = rsp["imp_uid"].as_str().expect("imp_uid").to_owned();
    let status = h.complete_v1_ok(&prepared.payment_id, Some(&imp_uid)).await;
    assert_eq!(status.status, OrderStatus::Paid);
    assert!(status.verified);
    assert!(status.paid_at.is_some());
    // Any number of reports: fulfilled once.
    let again = h.complete_v1_ok(&prepared.payment_id, None).await;
    assert_eq!(again.status, OrderStatus::Paid);
    let (code, body) = h.get(&format!("/v1/api/payments/{}", prepared.payment_id)).await;
    assert_eq!((code, body["status"].as_str()), (StatusCode::OK, Some("PAID")));
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn a_declined_v1_payment_is_failed_in_the_pgs_words_and_a_retry_with_the_same_merchant_uid_pays() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare_v1(americano()).await;
    let rsp = h.pay_v1(&prepared, "decline", None).await;
    assert_eq!(rsp["error_code"], "INSUFFICIENT_BALANCE");
    let failed = h.complete_v1_ok(&prepared.payment_id, rsp["imp_uid"].as_str()).await;
    assert_eq!(failed.status, OrderStatus::Failed);
    assert!(failed.verified);
    let failure = failed.failure.expect("the reason");
    assert_eq!(failure.customer_text(), Some("잔액이 부족합니다."));
    assert_eq!(failure.code, None, "V1 reports a reason, no code");

    h.pay_v1(&prepared, "approve", None).await;
    let paid = h.complete_v1_ok(&prepared.payment_id, None).await;
    assert_eq!(paid.status, OrderStatus::Paid);
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn a_v1_window_report_of_success_is_only_a_hint_until_v1_says_paid() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare_v1(americano()).await;
    // The page claims success, but no window was ever paid.
    let (code, body) = h
        .complete_v1(&prepared.payment_id, json!({ "txId": "imp_000000000000" }))
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "PENDING");
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 0);
    h.shutdown().await;
}

#[tokio::test]
async fn a_v1_payment_made_at_another_amount_is_cancelled_as_tampering_once_v1_confirms() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare_v1(americano()).await;
    h.pay_v1(&prepared, "approve", Some(100)).await;
    let status = h.complete_v1_ok(&prepared.payment_id, None).await;
    assert_eq!(status.status, OrderStatus::Cancelled);
    assert!(status.message.unwrap_or_default().contains("tampering"));
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 0);
    let at_v1 = h.v1_payment(&prepared.payment_id).await;
    assert_eq!(at_v1["status"], "cancelled");
    assert_eq!(at_v1["cancel_amount"], 100);
    h.shutdown().await;
}

#[tokio::test]
async fn a_paid_v1_order_that_cannot_be_fulfilled_is_net_cancelled_with_v1() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare_v1(json!([{ "productId": "beans-1kg", "quantity": 1 }])).await;
    h.db().set_stock("beans-1kg", 0).await.expect("stock");
    h.pay_v1(&prepared, "approve", None).await;
    let status = h.complete_v1_ok(&prepared.payment_id, None).await;
    assert_eq!(status.status, OrderStatus::Cancelled);
    assert_eq!(h.v1_payment(&prepared.payment_id).await["status"], "cancelled");
    h.shutdown().await;
}

#[tokio::test]
async fn an_unconfirmed_v1_cancel_stays_cancelling_and_the_webhook_answers_non_2xx_until_v1_confirms() {
    let h = Harness::start_configured(false, eager_reconciler).await;
    let prepared = h.prepare_v1(americano()).await;
    h.set_faults(json!({ "failNext": 1000, "only": "POST /iamport/payments/cancel" }))
        .await;
    let rsp = h.pay_v1(&prepared, "approve", Some(100)).await;
    let status = h.complete_v1_ok(&prepared.payment_id, None).await;
    assert_eq!(status.status, OrderStatus::Cancelling);
    assert_eq!(h.v1_payment(&prepared.payment_id).await["status"], "paid");
    let body = json!({ "imp_uid": rsp["imp_uid"], "merchant_uid": prepared.payment_id, "status": "paid" });
    let (code, answer) = h.v1_webhook(&body.to_string(), false).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert_eq!(answer["error"], "cancel_pending");

    // A sweep while cancels still fail changes nothing.
    h.reconcile().await;
    assert_eq!(h.stored_status(&prepared.payment_id).await, "CANCELLING");
    // V1 answers cancels again: the next sweep finishes it.
    h.set_faults(json!({})).await;
    assert!(h.reconcile().await.changed >= 1);
    assert_eq!(h.stored_status(&prepared.payment_id).await, "CANCELLED");
    assert_eq!(h.v1_payment(&prepared.payment_id).await["status"], "cancelled");
    let (code, _) = h.v1_webhook(&body.to_string(), false).await;
    assert_eq!(code, StatusCode::OK);
    h.shutdown().await;
}

#[tokio::test]
async fn lost_v1_answers_are_retried_safely_and_the_order_ends_paid_once() {
    let h = Harness::start_with(false, None).await;
    // The pre-registration is applied but its answer is lost: the retry is
    // refused as a duplicate, which V1's record of the amount resolves.
    h.set_faults(json!({ "loseResponses": 1, "only": "POST /iamport/payments/prepare" }))
        .await;
    let prepared = h.prepare_v1(americano()).await;
    h.set_faults(json!({})).await;
    h.pay_v1(&prepared, "approve", None).await;
    // The verification read is lost once, then two 5xx.
    h.set_faults(json!({ "loseResponses": 1, "failNext": 2, "only": "/iamport/payments/find/" }))
        .await;
    let status = h.complete_v1_ok(&prepared.payment_id, None).await;
    assert_eq!(status.status, OrderStatus::Paid);
    let faults: Value = h
        .http
        .get(format!("{}/__sandbox/faults", h.sandbox.base_url()))
        .send()
        .await
        .expect("faults")
        .json()
        .await
        .expect("faults JSON");
    assert_eq!(
        (faults["loseResponses"].as_u64(), faults["failNext"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn while_v1_is_unreachable_the_order_is_answered_unverified_never_failed() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare_v1(americano()).await;
    h.pay_v1(&prepared, "approve", None).await;
    h.set_faults(json!({ "failNext": 1000, "only": "/iamport/payments/find/" }))
        .await;
    let status = h.complete_v1_ok(&prepared.payment_id, None).await;
    assert_eq!(status.status, OrderStatus::Pending);
    assert!(!status.verified);
    h.set_faults(json!({})).await;
    assert_eq!(
        h.complete_v1_ok(&prepared.payment_id, None).await.status,
        OrderStatus::Paid
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_forged_unsigned_v1_webhook_changes_nothing() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare_v1(americano()).await;
    let forged = json!({ "imp_uid": "imp_999999999999", "merchant_uid": prepared.payment_id, "status": "paid" });
    let (code, _) = h.v1_webhook(&forged.to_string(), false).await;
    assert_eq!(code, StatusCode::OK);
    let form = format!(
        "imp_uid=imp_999999999999&merchant_uid={}&status=paid",
        prepared.payment_id
    );
    let (code, _) = h.v1_webhook(&form, true).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(h.stored_status(&prepared.payment_id).await, "PENDING");
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 0);
    // An order this shop does not have: acknowledged, nothing happens.
    let (code, _) = h
        .v1_webhook(
            r#"{"imp_uid":"imp_1","merchant_uid":"order-unknown","status":"paid"}"#,
            false,
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    // Not a webhook: refused naming the field.
    let (code, body) = h.v1_webhook(r#"{"imp_uid":"imp_1","status":"paid"}"#, false).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap_or_default().contains("merchant_uid"),
        "{body}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn the_v1_webhook_alone_settles_a_paid_order() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare_v1(americano()).await;
    let mut params = Harness::v1_params(&prepared, None);
    params["notice_url"] = json!(h.v1_webhook_url());
    h.pay_v1_params(params, "approve", false).await;
    eventually(
        "the V1 webhook to settle the order",
        Duration::from_secs(15),
        || async { (h.stored_status(&prepared.payment_id).await == "PAID").then_some(()) },
    )
    .await;
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn a_v1_payment_nobody_reported_is_found_by_the_reconciler_and_fulfilled_once() {
    let h = Harness::start_configured(false, eager_reconciler).await;
    let prepared = h.prepare_v1(americano()).await;
    h.pay_v1(&prepared, "approve", None).await;
    assert_eq!(h.stored_status(&prepared.payment_id).await, "PENDING");
    assert_eq!(h.reconcile().await.changed, 1);
    assert_eq!(h.stored_status(&prepared.payment_id).await, "PAID");
    assert_eq!(h.reconcile().await.changed, 0);
    assert_eq!(h.db().fulfilment_count(&prepared.payment_id).await.expect("db"), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn the_v1_config_names_its_provider_user_code_and_sdk_and_never_a_secret() {
    let h = Harness::start_with(false, None).await;
    let (code, v1) = h.get("/v1/api/config").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v1["provider"], "portone_v1");
    assert_eq!(v1["userCode"], portone_sandbox::DEFAULT_V1_USER_CODE);
    assert_eq!(v1["channels"][0]["payMethod"], "tosspay");
    assert!(
        v1["sdkUrl"].as_str().unwrap_or_default().ends_with("/v1/iamport.js"),
        "{v1}"
    );
    let text = v1.to_string();
    assert!(!text.contains(portone_sandbox::DEFAULT_V1_IMP_SECRET), "{text}");
    assert!(!text.contains(portone_sandbox::DEFAULT_V1_IMP_KEY), "{text}");
    let (_, v2) = h.get("/api/config").await;
    assert_eq!(v2["provider"], "portone_v2");
    assert!(v2.get("userCode").is_none(), "{v2}");
    let (code, body) = h.get("/v1/api/nothing-here").await;
    assert_eq!(
        (code, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    h.shutdown().await;
}

fn no_v1(config: &mut checkout_server::Config) {
    config.portone_v1 = None;
}

#[tokio::test]
async fn a_server_without_v1_has_no_v1_routes() {
    let h = Harness::start_configured(false, no_v1).await;
    let (code, _) = h.get("/v1/api/config").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = h.post("/v1/api/payments", json!({ "items": americano() })).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = h.get("/api/config").await;
    assert_eq!(code, StatusCode::OK);
    h.shutdown().await;
}

// ---------- access token ----------

fn short_tokens() -> SandboxConfig {
    SandboxConfig {
        v1_token_ttl: Duration::from_secs(2),
        ..SandboxConfig::for_tests()
    }
}

#[tokio::test]
async fn concurrent_v1_calls_fetch_one_token_and_a_refused_token_is_replaced_once() {
    let h = Harness::start_with(false, None).await;
    let prepared = h.prepare_v1(americano()).await;
    h.pay_v1(&prepared, "approve", None).await;
    let v1 = PortOneV1::new(&h.v1_config()).expect("client");
    let id = prepared.payment_id.as_str();
    let reads = futures::future::join_all((0..8).map(|_| v1.read(id))).await;
    assert!(
        reads
            .iter()
            .all(|r| matches!(r, Ok(Some(p)) if p.state == PaymentState::Paid)),
        "{reads:?}"
    );
    assert_eq!(v1.client().token_fetches(), 1, "one token for eight concurrent calls");
    // The sandbox forgets every token: the next call gets 401, fetches a new
    // token and succeeds.
    h.admin_post("/__sandbox/reset", json!({})).await;
    assert!(
        matches!(v1.read(id).await, Ok(None)),
        "after a reset the order is unknown at V1"
    );
    assert_eq!(v1.client().token_fetches(), 2);
    h.shutdown().await;
}

#[tokio::test]
async fn an_expiring_v1_token_is_replaced_before_it_expires_without_a_refused_call() {
    let h = Harness::start_with_sandbox(false, short_tokens(), |_| {}).await;
    let prepared = h.prepare_v1(americano()).await;
    let v1 = PortOneV1::new(&h.v1_config()).expect("client");
    assert!(matches!(v1.read(&prepared.payment_id).await, Ok(None)));
    assert_eq!(v1.client().token_fetches(), 1);
    // A 2 s token is replaced after 1 s; every call in between succeeds.
    eventually("the token to be replaced", Duration::from_secs(10), || async {
        let read = v1.read(&prepared.payment_id).await;
        assert!(read.is_ok(), "{read:?}");
        (v1.client().token_fetches() == 2).then_some(())
    })
    .await;
    h.shutdown().await;
}

// ---------- billing keys ----------

async fn prepare_issue_v1(h: &Harness) -> BillingKeyPrepared {
    let (code, body) = h.post("/v1/api/billing-keys/prepare", json!({})).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    serde_json::from_value(body).expect("BillingKeyPrepared")
}

/// The billing-key window as the V1 gateway opens it; `notice`: with the
/// backend's webhook URL.
async fn issue_v1(h: &Harness, issue: &BillingKeyPrepared, customer_id: &str, notice: bool) -> Value {
    let mut params = json!({
        "channelKey": portone_sandbox::TOSSPAY_CHANNEL_KEY,
        "pay_method": "tosspay",
        "merchant_uid": issue.issue_id,
        "customer_uid": issue.issue_id,
        "customer_id": customer_id,
        "name": issue.issue_name,
        "amount": 0,
        "buyer_name": "홍길동",
    });
    if notice {
        params["notice_url"] = json!(h.v1_webhook_url());
    }
    h.pay_v1_params(params, "approve", false).await
}

async fn subscribed_v1(h: &Harness, notice: bool) -> (BillingKeyPrepared, Subscription) {
    let issue = prepare_issue_v1(h).await;
    assert!(issue.issue_id.len() <= 40);
    let rsp = issue_v1(h, &issue, "demo-customer-1", notice).await;
    assert_eq!(rsp["customer_uid"], issue.issue_id.as_str());
    let (code, body) = h
        .post(
            "/v1/api/billing-keys",
            json!({ "billingKey": issue.issue_id, "issueId": issue.issue_id }),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    (issue, serde_json::from_value(body).expect("Subscription"))
}

async fn charge(h: &Harness, sub: &Subscription, key: &str) -> ChargeResult {
    let (code, body) = h.charge(sub.subscription_id.as_str(), key).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    serde_json::from_value(body).expect("ChargeResult")
}

#[tokio::test]
async fn a_v1_billing_key_is_registered_charged_once_per_key_and_its_next_charge_scheduled_with_v1() {
    let h = Harness::start_with(false, None).await;
    let (issue, sub) = subscribed_v1(&h, false).await;
    assert_eq!(
        (sub.status.as_str(), sub.billing_key.as_str()),
        ("ACTIVE", issue.issue_id.as_str())
    );
    let row = h
        .db()
        .subscription(sub.subscription_id.as_str())
        .await
        .expect("db")
        .expect("row");
    assert_eq!(row.provider, ProviderKind::PortOneV1);

    let first = charge(&h, &sub, "charge-key-1").await;
    assert_eq!(first.status, OrderStatus::Paid);
    assert!(first.payment_id.len() <= 40);
    let at_v1 = h.v1_payment(&first.payment_id).await;
    assert_eq!(
        (at_v1["status"].as_str(), at_v1["customer_uid_usage"].as_str()),
        (Some("paid"), Some("payment"))
    );
    // The same idempotency key: the same charge, not a second one.
    let again = charge(&h, &sub, "charge-key-1").await;
    assert_eq!(again.payment_id, first.payment_id);

    let next = h
        .db()
        .next_charge(sub.subscription_id.as_str())
        .await
        .expect("db")
        .expect("a next charge");
    assert!(next.payment_id.len() <= 40);
    assert_eq!(next.schedule_state.as_deref(), Some("SCHEDULED"));
    assert_eq!(next.provider, ProviderKind::PortOneV1);
    let (code, schedule) = h
        .v1_rest(
            Method::GET,
            &format!("/subscribe/payments/schedule/{}", next.payment_id),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(schedule["schedule_status"], "scheduled");
    assert_eq!(schedule["customer_uid"], issue.issue_id.as_str());
    assert_eq!(schedule["amount"], 9900);
    h.shutdown().await;
}

#[tokio::test]
async fn a_scheduled_v1_charge_run_by_portone_is_paid_through_its_webhook_and_schedules_the_next() {
    let h = Harness::start_with(false, None).await;
    let (_, sub) = subscribed_v1(&h, true).await;
    charge(&h, &sub, "charge-key-1").await;
    let scheduled = h
        .db()
        .next_charge(sub.subscription_id.as_str())
        .await
        .expect("db")
        .expect("scheduled");
    let ran = h
        .admin_post("/__sandbox/v1/schedules/run", json!({ "all": true }))
        .await;
    assert_eq!(ran["ran"], json!([scheduled.payment_id]));
    eventually("the scheduled charge to be paid", Duration::from_secs(15), || async {
        (h.stored_status(&scheduled.payment_id).await == "PAID").then_some(())
    })
    .await;
    // The next charge is written with the fulfilment and scheduled at V1
    // after it, so it may still be on its way when the charge reads PAID.
    let after = eventually(
        "the next charge to be scheduled at V1",
        Duration::from_secs(15),
        || async {
            h.db()
                .next_charge(sub.subscription_id.as_str())
                .await
                .expect("db")
                .filter(|next| next.schedule_state.as_deref() == Some("SCHEDULED"))
        },
    )
    .await;
    assert_ne!(after.payment_id, scheduled.payment_id);
    h.shutdown().await;
}

#[tokio::test]
async fn a_declined_v1_billing_charge_is_failed() {
    let h = Harness::start_with(false, None).await;
    let (_, sub) = subscribed_v1(&h, false).await;
    h.set_faults(json!({ "pgFailNext": 1 })).await;
    let declined = charge(&h, &sub, "charge-key-declined").await;
    assert_eq!(declined.status, OrderStatus::Failed);
    h.shutdown().await;
}

#[tokio::test]
async fn a_lost_v1_schedule_answer_counts_as_scheduled_once() {
    let h = Harness::start_with(false, None).await;
    let (_, sub) = subscribed_v1(&h, false).await;
    h.set_faults(json!({ "loseResponses": 1, "only": "POST /iamport/subscribe/payments/schedule" }))
        .await;
    charge(&h, &sub, "charge-key-1").await;
    let next = h
        .db()
        .next_charge(sub.subscription_id.as_str())
        .await
        .expect("db")
        .expect("a next charge");
    assert_eq!(next.schedule_state.as_deref(), Some("SCHEDULED"));
    let (_, list) = h
        .v1_rest(
            Method::GET,
            &format!(
                "/subscribe/payments/schedule?schedule_from=0&schedule_to={}",
                crate::common::now_unix() + 400 * 24 * 3600
            ),
            None,
        )
        .await;
    assert_eq!(list["total"], 1, "{list}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_v1_billing_key_of_another_customer_is_refused() {
    let h = Harness::start_with(false, None).await;
    let issue = prepare_issue_v1(&h).await;
    issue_v1(&h, &issue, "someone-else", false).await;
    let (code, body) = h
        .post(
            "/v1/api/billing-keys",
            json!({ "billingKey": issue.issue_id, "issueId": issue.issue_id }),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");
    let (code, body) = h
        .post("/v1/api/billing-keys", json!({ "billingKey": "issue-never-issued" }))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    h.shutdown().await;
}

#[tokio::test]
async fn the_v1_billing_key_issue_webhook_registers_the_key_of_the_issuance() {
    let h = Harness::start_with(false, None).await;
    let issue = prepare_issue_v1(&h).await;
    // The browser never registers it: the issue's webhook does.
    issue_v1(&h, &issue, "demo-customer-1", true).await;
    let sub = eventually("the webhook to store the key", Duration::from_secs(15), || async {
        h.db().subscription_by_key(issue.issue_id.as_str()).await.ok().flatten()
    })
    .await;
    assert_eq!((sub.status.as_str(), sub.provider), ("ACTIVE", ProviderKind::PortOneV1));
    h.shutdown().await;
}
