//! Webhook delivery: Standard Webhooks signatures (verified by the independent
//! `standardwebhooks` crate), retries, noticeUrls and the webhook fault modes.

mod common;

use std::time::Duration;

use common::*;
use portone_sandbox::{SandboxConfig, DEFAULT_WEBHOOK_SECRET};
use serde_json::{json, Value};
use standardwebhooks::Webhook;

async fn start_with_hook(answers: Vec<u16>) -> (portone_sandbox::RunningSandbox, Receiver) {
    let (rx, url) = webhook_receiver(answers).await;
    let sb = start_with(SandboxConfig {
        webhook_urls: vec![url],
        ..SandboxConfig::for_tests()
    })
    .await;
    (sb, rx)
}

async fn wait_type(rx: &Receiver, kind: &str, n: usize) -> Vec<Received> {
    wait_for(Duration::from_secs(10), kind, || {
        let got = rx.of_type(kind);
        async move { (got.len() >= n).then_some(got) }
    })
    .await
}

#[tokio::test]
async fn a_paid_webhook_is_signed_so_standard_webhooks_verifies_it_and_rejects_tampering() {
    let (sb, rx) = start_with_hook(vec![]).await;
    let (_, r) = pay(&sb, tosspay_request("wh-1", 1000), "approve").await;
    let got = wait_type(&rx, "Transaction.Paid", 1).await;
    let d = &got[0];
    let body = d.json();
    assert_eq!(body["data"]["storeId"], "store-sandbox");
    assert_eq!(body["data"]["paymentId"], "wh-1");
    assert_eq!(body["data"]["transactionId"], r["txId"]);
    chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).unwrap();
    assert!(d.headers["webhook-signature"].to_str().unwrap().starts_with("v1,"));

    let wh = Webhook::new(DEFAULT_WEBHOOK_SECRET).unwrap();
    wh.verify(&d.body, &d.headers).expect("the sandbox signature verifies");
    let tampered = String::from_utf8(d.body.to_vec()).unwrap().replace("wh-1", "wh-2");
    assert!(
        wh.verify(tampered.as_bytes(), &d.headers).is_err(),
        "a tampered body must fail"
    );
    let other = Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    assert!(other.verify(&d.body, &d.headers).is_err(), "another secret must fail");

    // The library helper signs identically.
    let id = d.headers["webhook-id"].to_str().unwrap();
    let ts: i64 = d.headers["webhook-timestamp"].to_str().unwrap().parse().unwrap();
    let sig =
        portone_sandbox::sign_webhook(DEFAULT_WEBHOOK_SECRET, id, ts, std::str::from_utf8(&d.body).unwrap()).unwrap();
    assert_eq!(sig, d.headers["webhook-signature"].to_str().unwrap());
    sb.shutdown().await;
}

#[tokio::test]
async fn failing_endpoints_are_retried_with_the_same_webhook_id_until_2xx() {
    let (sb, rx) = start_with_hook(vec![500, 503, 404]).await;
    // Only one event (BillingKey.Issued) is emitted: it takes the three failures.
    issue_tosspay_billing_key(&sb).await;
    let got = wait_type(&rx, "BillingKey.Issued", 4).await;
    let ids: Vec<_> = got.iter().map(|r| r.headers["webhook-id"].clone()).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "retries keep the webhook-id");
    let sb_ref = &sb;
    let list = wait_for(Duration::from_secs(10), "delivered status", || async move {
        let (_, list) = admin(sb_ref, "GET", "/__sandbox/webhooks", None).await;
        let d = list
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["type"] == "BillingKey.Issued")
            .cloned()
            .unwrap();
        (d["status"] == "delivered").then_some(d)
    })
    .await;
    assert_eq!(list["attempts"], 4);
    assert_eq!(list["lastStatusCode"], 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn an_endpoint_that_never_succeeds_gets_at_most_five_retries_then_failed() {
    let (sb, rx) = start_with_hook(vec![500; 100]).await;
    let key = issue_tosspay_billing_key(&sb).await;
    let sb_ref = &sb;
    let d = wait_for(Duration::from_secs(15), "failed delivery", || async move {
        let (_, list) = admin(sb_ref, "GET", "/__sandbox/webhooks", None).await;
        let d = list
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["type"] == "BillingKey.Issued")
            .cloned()?;
        (d["status"] == "failed").then_some(d)
    })
    .await;
    assert_eq!(d["attempts"], 6, "1 attempt + 5 retries");
    assert_eq!(d["lastStatusCode"], 500);
    assert_eq!(rx.of_type("BillingKey.Issued").len(), 6);
    assert!(d["body"].as_str().unwrap().contains(&key));
    sb.shutdown().await;
}

#[tokio::test]
async fn notice_urls_of_a_payment_also_receive_its_webhooks_and_cancels_carry_cancellation_id() {
    let sb = start().await;
    let (rx, url) = webhook_receiver(vec![]).await;
    let mut req = card_request("wh-notice", 5000);
    req["noticeUrls"] = json!([url]);
    pay(&sb, req, "approve").await;
    wait_type(&rx, "Transaction.Paid", 1).await;
    let (_, c) = api(
        &sb,
        "POST",
        "/payments/wh-notice/cancel",
        Some(json!({"reason": "r", "amount": 1000})),
    )
    .await;
    let got = wait_type(&rx, "Transaction.PartialCancelled", 1).await;
    assert_eq!(got[0].json()["data"]["cancellationId"], c["cancellation"]["id"]);
    api(&sb, "POST", "/payments/wh-notice/cancel", Some(json!({"reason": "r"}))).await;
    wait_type(&rx, "Transaction.Cancelled", 1).await;
    sb.shutdown().await;
}

#[tokio::test]
async fn billing_key_lifecycle_sends_issued_updated_and_deleted() {
    let (sb, rx) = start_with_hook(vec![]).await;
    let key = issue_tosspay_billing_key(&sb).await;
    let issued = wait_type(&rx, "BillingKey.Issued", 1).await;
    assert_eq!(
        issued[0].json()["data"],
        json!({"storeId": "store-sandbox", "billingKey": key})
    );
    let (_, before) = api(&sb, "GET", &format!("/billing-keys/{key}"), None).await;
    let (s, _) = admin(&sb, "POST", &format!("/__sandbox/billing-keys/{key}/updated"), None).await;
    assert_eq!(s, 200);
    wait_type(&rx, "BillingKey.Updated", 1).await;
    let (_, after) = api(&sb, "GET", &format!("/billing-keys/{key}"), None).await;
    assert_eq!(
        before["methods"][0]["method"]["type"],
        "BillingKeyPaymentMethodEasyPayCharge"
    );
    assert_eq!(
        after["methods"][0]["method"]["type"], "BillingKeyPaymentMethodCard",
        "the funding method changed"
    );
    api(&sb, "DELETE", &format!("/billing-keys/{key}"), None).await;
    wait_type(&rx, "BillingKey.Deleted", 1).await;
    sb.shutdown().await;
}

#[tokio::test]
async fn the_webhook_drop_fault_records_dropped_and_sends_nothing() {
    let (sb, rx) = start_with_hook(vec![]).await;
    admin(
        &sb,
        "PUT",
        "/__sandbox/faults",
        Some(json!({"webhook": {"drop": true}})),
    )
    .await;
    pay(&sb, card_request("wh-drop", 1000), "approve").await;
    let (_, list) = admin(&sb, "GET", "/__sandbox/webhooks", None).await;
    let list = list.as_array().unwrap().clone();
    assert!(!list.is_empty());
    assert!(list.iter().all(|d| d["status"] == "dropped"));
    // Prove delivery still works and nothing from before arrived: switch the fault off, send one more.
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({}))).await;
    api(&sb, "POST", "/payments/wh-drop/cancel", Some(json!({"reason": "r"}))).await;
    wait_type(&rx, "Transaction.Cancelled", 1).await;
    assert!(rx.of_type("Transaction.Paid").is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn the_webhook_duplicate_fault_delivers_each_event_twice_with_one_id() {
    let (sb, rx) = start_with_hook(vec![]).await;
    admin(
        &sb,
        "PUT",
        "/__sandbox/faults",
        Some(json!({"webhook": {"duplicate": true}})),
    )
    .await;
    pay(&sb, card_request("wh-dup", 1000), "approve").await;
    let paid = wait_type(&rx, "Transaction.Paid", 2).await;
    assert_eq!(paid.len(), 2);
    assert_eq!(paid[0].headers["webhook-id"], paid[1].headers["webhook-id"]);
    sb.shutdown().await;
}

#[tokio::test]
async fn the_webhook_reorder_fault_delivers_a_later_event_first() {
    let (sb, rx) = start_with_hook(vec![]).await;
    admin(
        &sb,
        "PUT",
        "/__sandbox/faults",
        Some(json!({"webhook": {"reorder": true}})),
    )
    .await;
    // Ready then Paid are emitted in this order; reorder sends Paid first.
    pay(&sb, card_request("wh-re", 1000), "approve").await;
    wait_for(Duration::from_secs(5), "two events", || {
        let n = rx.received().len();
        async move { (n >= 2).then_some(()) }
    })
    .await;
    let kinds: Vec<Value> = rx.received().iter().map(|r| r.json()["type"].clone()).collect();
    assert_eq!(kinds[0], "Transaction.Paid");
    assert_eq!(kinds[1], "Transaction.Ready");
    sb.shutdown().await;
}

#[tokio::test]
async fn the_webhook_delay_fault_holds_deliveries_back() {
    let (sb, rx) = start_with_hook(vec![]).await;
    admin(
        &sb,
        "PUT",
        "/__sandbox/faults",
        Some(json!({"webhook": {"delayMs": 800}})),
    )
    .await;
    let started = std::time::Instant::now();
    pay(&sb, card_request("wh-delay", 1000), "approve").await;
    assert!(rx.received().is_empty(), "nothing arrives before the delay");
    wait_type(&rx, "Transaction.Paid", 1).await;
    assert!(started.elapsed() >= Duration::from_millis(800));
    sb.shutdown().await;
}

#[tokio::test]
async fn webhook_targets_can_be_replaced_at_runtime() {
    let sb = start().await;
    let (rx, url) = webhook_receiver(vec![]).await;
    let (s, _) = admin(&sb, "POST", "/__sandbox/webhook-targets", Some(json!({"urls": [url]}))).await;
    assert_eq!(s, 200);
    pay(&sb, card_request("wh-t", 1000), "approve").await;
    wait_type(&rx, "Transaction.Paid", 1).await;
    sb.shutdown().await;
}

#[tokio::test]
async fn a_webhook_endpoint_that_times_out_is_retried() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = axum::Router::new().route(
        "/slow",
        axum::routing::post(move || {
            let h = h.clone();
            async move {
                if h.fetch_add(1, Ordering::SeqCst) == 0 {
                    // Longer than the sandbox's webhook timeout below: counts as a failed attempt.
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slow", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let sb = start_with(SandboxConfig {
        webhook_urls: vec![url],
        webhook_timeout: Duration::from_millis(300),
        ..SandboxConfig::for_tests()
    })
    .await;
    issue_tosspay_billing_key(&sb).await;
    let sb_ref = &sb;
    let d = wait_for(Duration::from_secs(10), "delivery after timeout", || async move {
        let (_, list) = admin(sb_ref, "GET", "/__sandbox/webhooks", None).await;
        let d = list.as_array().unwrap().first().cloned()?;
        (d["status"] == "delivered").then_some(d)
    })
    .await;
    assert_eq!(d["attempts"], 2);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    sb.shutdown().await;
}

fn with_notice(mut request: Value, urls: &[&str]) -> Value {
    request["noticeUrls"] = json!(urls);
    request
}

#[tokio::test]
async fn notice_urls_of_payment_and_billing_key_requests_must_be_loopback_by_default() {
    let sb = start().await;
    let (s, e) = pay(
        &sb,
        with_notice(card_request("nu-1", 1000), &[EXTERNAL_HOOK]),
        "approve",
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("InvalidArgument")), "{e}");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("noticeUrls[0]") && msg.contains("loopback") && msg.contains("--allow-external-webhooks"),
        "{msg}"
    );
    let (s, _) = api(&sb, "GET", "/payments/nu-1", None).await;
    assert_eq!(s, 404, "a refused request makes no payment");
    // Parsed, not prefix-matched: the host of this one is example.com.
    for (urls, named) in [
        (
            vec![LOOPBACK_HOOK, "http://127.0.0.1@example.com/hook"],
            "noticeUrls[1]",
        ),
        (vec!["http://127.0.0.1.example.com/hook"], "noticeUrls[0]"),
        (vec!["http://10.0.0.1/hook"], "noticeUrls[0]"),
        (vec!["ftp://127.0.0.1/hook"], "noticeUrls[0]"),
    ] {
        let (s, e) = pay(&sb, with_notice(card_request("nu-1", 1000), &urls), "approve").await;
        assert_eq!((s, e["code"].as_str()), (400, Some("InvalidArgument")), "{urls:?}");
        assert!(e["message"].as_str().unwrap().contains(named), "{urls:?}: {e}");
    }
    let (s, e) = admin(
        &sb,
        "POST",
        "/__sandbox/issue-billing-key",
        Some(json!({"request": {
            "storeId": "store-sandbox", "channelKey": "channel-key-sandbox-card",
            "billingKeyMethod": "CARD", "noticeUrls": [EXTERNAL_HOOK]
        }, "outcome": "approve"})),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("InvalidArgument")));
    assert!(e["message"].as_str().unwrap().contains("noticeUrls[0]"), "{e}");
    // The SDK route (what requestPayment calls) rejects it the same way.
    let (s, _, e) = raw(
        &sb,
        "POST",
        "/__sandbox/sdk/payment",
        &[("content-type", "application/json")],
        &json!({"request": with_notice(card_request("nu-1", 1000), &[EXTERNAL_HOOK])}).to_string(),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("InvalidArgument")));
    assert!(e["message"].as_str().unwrap().contains("noticeUrls[0]"), "{e}");

    let loopbacks = [
        LOOPBACK_HOOK,
        "http://localhost:9/hook",
        "http://[::1]:9/hook",
        "https://127.1.2.3:9/hook",
    ];
    let (s, r) = pay(&sb, with_notice(card_request("nu-1", 1000), &loopbacks), "approve").await;
    assert_eq!(s, 200, "{r}");
    let (_, p) = api(&sb, "GET", "/payments/nu-1", None).await;
    assert_eq!(p["status"], "PAID");
    sb.shutdown().await;
}

#[tokio::test]
async fn rest_notice_urls_of_billing_key_charges_and_schedules_must_be_loopback_by_default() {
    let sb = start().await;
    let key = issue_tosspay_billing_key(&sb).await;
    let charge = json!({"billingKey": key, "orderName": "o", "amount": {"total": 1000}, "currency": "KRW",
                        "customer": {"name": {"full": "홍길동"}}, "noticeUrls": [LOOPBACK_HOOK, EXTERNAL_HOOK]});
    let (s, v) = api(&sb, "POST", "/payments/nu-rest/billing-key", Some(charge.clone())).await;
    assert_eq!((s, v["type"].as_str()), (400, Some("INVALID_REQUEST")));
    assert!(v["message"].as_str().unwrap().contains("noticeUrls[1]"), "{v}");
    let (s, _) = api(&sb, "GET", "/payments/nu-rest", None).await;
    assert_eq!(s, 404, "no charge was made");
    let later = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let (s, v) = api(
        &sb,
        "POST",
        "/payments/nu-rest/schedule",
        Some(json!({"payment": charge, "timeToPay": later})),
    )
    .await;
    assert_eq!((s, v["type"].as_str()), (400, Some("INVALID_REQUEST")));
    assert!(v["message"].as_str().unwrap().contains("payment.noticeUrls[1]"), "{v}");
    let (_, list) = admin(&sb, "GET", "/__sandbox/schedules", None).await;
    assert_eq!(list, json!([]), "no schedule was made");

    let mut ok = charge.clone();
    ok["noticeUrls"] = json!([LOOPBACK_HOOK]);
    let (s, v) = api(&sb, "POST", "/payments/nu-rest/billing-key", Some(ok)).await;
    assert_eq!(s, 200, "{v}");
    sb.shutdown().await;
}

#[tokio::test]
async fn with_allow_external_webhooks_an_external_notice_url_is_accepted() {
    let sb = start_with(SandboxConfig {
        allow_external_webhooks: true,
        ..SandboxConfig::for_tests()
    })
    .await;
    // Nothing is actually sent to example.com: the drop fault records the deliveries only.
    admin(
        &sb,
        "PUT",
        "/__sandbox/faults",
        Some(json!({"webhook": {"drop": true}})),
    )
    .await;
    let (s, r) = pay(
        &sb,
        with_notice(card_request("nu-ext", 1000), &[EXTERNAL_HOOK]),
        "approve",
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let (_, p) = api(&sb, "GET", "/payments/nu-ext", None).await;
    assert_eq!(p["status"], "PAID");
    let (_, list) = admin(&sb, "GET", "/__sandbox/webhooks", None).await;
    assert!(
        list.as_array().unwrap().iter().any(|d| d["url"] == EXTERNAL_HOOK),
        "{list}"
    );
    let (s, e) = pay(
        &sb,
        with_notice(card_request("nu-ext-2", 1000), &["not a url"]),
        "approve",
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (400, Some("InvalidArgument")),
        "still an http(s) URL"
    );
    let (s, v) = admin(
        &sb,
        "POST",
        "/__sandbox/webhook-targets",
        Some(json!({"urls": [EXTERNAL_HOOK]})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    sb.shutdown().await;
}

#[tokio::test]
async fn webhook_targets_with_an_external_url_are_refused_and_the_targets_kept() {
    let sb = start().await;
    let (rx, url) = webhook_receiver(vec![]).await;
    let (s, _) = admin(&sb, "POST", "/__sandbox/webhook-targets", Some(json!({"urls": [url]}))).await;
    assert_eq!(s, 200);
    let (s, v) = admin(
        &sb,
        "POST",
        "/__sandbox/webhook-targets",
        Some(json!({"urls": [url, EXTERNAL_HOOK]})),
    )
    .await;
    assert_eq!((s, v["type"].as_str()), (400, Some("INVALID_REQUEST")), "{v}");
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.contains("urls[1]") && msg.contains("--allow-external-webhooks"),
        "{msg}"
    );
    pay(&sb, card_request("wt-kept", 1000), "approve").await;
    wait_type(&rx, "Transaction.Paid", 1).await;
    let (_, list) = admin(&sb, "GET", "/__sandbox/webhooks", None).await;
    assert!(
        list.as_array().unwrap().iter().all(|d| d["url"] == url.as_str()),
        "only the earlier target got events: {list}"
    );
    sb.shutdown().await;
}
