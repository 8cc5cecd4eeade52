//! PortOne V1: the shared REST fault modes rendered in V1's envelope, and the
//! unsigned `{imp_uid, merchant_uid, status}` webhooks.

mod common;

use std::time::{Duration, Instant};

use common::*;
use portone_sandbox::SandboxConfig;
use serde_json::{json, Value};

// ---------- faults ----------

#[tokio::test]
async fn fail_next_answers_500_in_the_v1_envelope_and_applies_nothing() {
    let sb = start().await;
    let (_, r) = v1_pay(&sb, v1_params("vf-1", 1000), "approve").await;
    let token = v1_token(&sb).await;
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"failNext": 2}))).await;
    for _ in 0..2 {
        let (s, v) = v1_call(
            &sb,
            &token,
            "POST",
            "/payments/cancel",
            Some(json!({"imp_uid": r["imp_uid"], "reason": "r"})),
        )
        .await;
        assert_eq!(s, 500);
        assert_v1_error(&v);
        assert_eq!(v["code"], -1);
    }
    let (s, v) = v1_call(&sb, &token, "GET", "/payments/find/vf-1", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["response"]["status"], "paid", "the failed cancels changed nothing");
    sb.shutdown().await;
}

#[tokio::test]
async fn unauthenticated_requests_do_not_use_up_fail_next_but_get_token_does() {
    let sb = start().await;
    let token = v1_token(&sb).await;
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"failNext": 1}))).await;
    let (s, _) = v1_call(&sb, "bad-token", "GET", "/payments/find/x", None).await;
    assert_eq!(s, 401, "the token check comes before the faults");
    let (s, v) = v1_call(&sb, &token, "GET", "/payments/find/x", None).await;
    assert_eq!(s, 500);
    assert_v1_error(&v);
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"failNext": 1}))).await;
    let res = client()
        .post(format!("{}/iamport/users/getToken", sb.base_url()))
        .json(&json!({"imp_key": "sandbox-imp-key", "imp_secret": "sandbox-imp-secret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500, "getToken is a REST request too");
    assert_v1_error(&res.json().await.unwrap());
    sb.shutdown().await;
}

#[tokio::test]
async fn an_error_rate_of_one_fails_every_v1_request_in_the_envelope() {
    let sb = start().await;
    let token = v1_token(&sb).await;
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"errorRate": 1.0}))).await;
    for _ in 0..3 {
        let (s, v) = v1_call(&sb, &token, "GET", "/payments/find/x", None).await;
        assert_eq!(s, 500);
        assert_v1_error(&v);
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn latency_is_added_to_v1_requests() {
    let sb = start().await;
    let token = v1_token(&sb).await;
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"latencyMs": 300}))).await;
    let t = Instant::now();
    let (s, _) = v1_call(&sb, &token, "GET", "/payments/find/x", None).await;
    assert_eq!(s, 404);
    assert!(t.elapsed() >= Duration::from_millis(300));
    sb.shutdown().await;
}

#[tokio::test]
async fn a_lost_v1_response_errors_on_the_client_but_the_cancel_was_applied() {
    let sb = start().await;
    let (_, r) = v1_pay(&sb, v1_params("vf-lost", 4000), "approve").await;
    let token = v1_token(&sb).await;
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"loseResponses": 1}))).await;
    let res = client()
        .post(format!("{}/iamport/payments/cancel", sb.base_url()))
        .header("authorization", &token)
        .json(&json!({"imp_uid": r["imp_uid"], "reason": "net cancel"}))
        .send()
        .await;
    let err = res.expect_err("no answer at all");
    assert!(!err.is_status() && !err.is_timeout(), "{err}");
    let (_, v) = v1_call(&sb, &token, "GET", "/payments/find/vf-lost", None).await;
    assert_eq!(v["response"]["status"], "cancelled");
    sb.shutdown().await;
}

#[tokio::test]
async fn only_scopes_the_faults_to_matching_v1_requests() {
    let sb = start().await;
    let (_, r) = v1_pay(&sb, v1_params("vf-only", 1000), "approve").await;
    let token = v1_token(&sb).await;
    admin(
        &sb,
        "PUT",
        "/__sandbox/faults",
        Some(json!({"failNext": 1000, "only": "POST /iamport/payments/cancel"})),
    )
    .await;
    let (s, v) = v1_call(&sb, &token, "GET", "/payments/find/vf-only", None).await;
    assert_eq!((s, v["code"].as_i64()), (200, Some(0)), "reads pass");
    let (s, v) = v1_call(
        &sb,
        &token,
        "POST",
        "/payments/cancel",
        Some(json!({"imp_uid": r["imp_uid"], "reason": "r"})),
    )
    .await;
    assert_eq!(s, 500);
    assert_v1_error(&v);
    let (_, f) = admin(&sb, "GET", "/__sandbox/faults", None).await;
    assert_eq!(f["failNext"], 999, "only the matching request used one up");
    sb.shutdown().await;
}

#[tokio::test]
async fn the_consecutive_request_guard_answers_429_in_the_v1_envelope() {
    let sb = start().await;
    let token = v1_token(&sb).await;
    admin(
        &sb,
        "PUT",
        "/__sandbox/faults",
        Some(json!({"consecutiveRequestGuard": true})),
    )
    .await;
    let (s, _) = v1_call(&sb, &token, "GET", "/payments/find/x", None).await;
    assert_eq!(s, 404);
    let (s, v) = v1_call(&sb, &token, "GET", "/payments/find/x", None).await;
    assert_eq!(s, 429);
    assert_v1_error(&v);
    sb.shutdown().await;
}

// ---------- webhooks ----------

async fn start_with_hook() -> (portone_sandbox::RunningSandbox, Receiver, String) {
    // A configured webhook URL too (its server keeps running); tests read the notice_url one.
    let (_configured, url) = webhook_receiver(vec![]).await;
    let (notice_rx, notice_url) = webhook_receiver(vec![]).await;
    let sb = start_with(SandboxConfig {
        webhook_urls: vec![url],
        ..SandboxConfig::for_tests()
    })
    .await;
    (sb, notice_rx, notice_url)
}

/// Waits until `rx` has a body with `status` for `merchant_uid`.
async fn wait_body(rx: &Receiver, merchant_uid: &str, status: &str) -> Received {
    wait_for(Duration::from_secs(10), &format!("{merchant_uid} {status}"), || {
        let got = rx
            .received()
            .into_iter()
            .find(|r| r.json()["merchant_uid"] == merchant_uid && r.json()["status"] == status);
        async move { got }
    })
    .await
}

#[tokio::test]
async fn a_paid_window_payment_posts_an_unsigned_v1_body_to_notice_url_instead_of_the_webhook_urls() {
    let (configured, configured_url) = webhook_receiver(vec![]).await;
    let (notice, notice_url) = webhook_receiver(vec![]).await;
    let sb = start_with(SandboxConfig {
        webhook_urls: vec![configured_url.clone()],
        ..SandboxConfig::for_tests()
    })
    .await;
    let (_, declined) = v1_pay(
        &sb,
        {
            let mut p = v1_params("wh-1", 1000);
            p["notice_url"] = json!(notice_url);
            p
        },
        "decline",
    )
    .await;
    let mut p = v1_params("wh-1", 1000);
    p["notice_url"] = json!([notice_url]);
    let (_, r) = v1_pay(&sb, p, "approve").await;
    let got = wait_body(&notice, "wh-1", "paid").await;
    assert_eq!(
        got.json(),
        json!({"imp_uid": r["imp_uid"], "merchant_uid": "wh-1", "status": "paid"})
    );
    assert!(
        got.headers.get("webhook-signature").is_none(),
        "V1 webhooks are unsigned"
    );
    assert!(got.headers.get("webhook-id").is_none());
    assert_eq!(got.headers["content-type"], "application/json");
    // A payment without notice_url goes to the configured (console) URL.
    let (_, r2) = v1_pay(&sb, v1_params("wh-2", 1000), "approve").await;
    let got = wait_body(&configured, "wh-2", "paid").await;
    assert_eq!(got.json()["imp_uid"], r2["imp_uid"]);
    let (_, log) = admin(&sb, "GET", "/__sandbox/webhooks", None).await;
    let log = log.as_array().unwrap();
    assert!(
        log.iter().all(|d| d["type"] == "iamport.paid"),
        "no webhook for the declined window: {log:?}"
    );
    // notice_url overrides the console's URL: wh-1 was never sent there.
    let wh1_targets: Vec<&str> = log
        .iter()
        .filter(|d| d["body"].as_str().is_some_and(|b| b.contains("\"wh-1\"")))
        .map(|d| d["url"].as_str().unwrap())
        .collect();
    assert_eq!(wh1_targets, vec![notice_url.as_str()], "{log:?}");
    assert!(!configured.received().iter().any(|x| x.json()["merchant_uid"] == "wh-1"));
    assert!(!notice
        .received()
        .iter()
        .any(|x| x.json()["imp_uid"] == declined["imp_uid"]));
    sb.shutdown().await;
}

#[tokio::test]
async fn cancels_post_the_payment_status_after_the_cancel() {
    let (sb, rx, url) = start_with_hook().await;
    let mut p = v1_params("wh-cancel", 5000);
    p["notice_url"] = json!(url);
    let (_, r) = v1_pay(&sb, p, "approve").await;
    wait_body(&rx, "wh-cancel", "paid").await;
    let token = v1_token(&sb).await;
    v1_call(
        &sb,
        &token,
        "POST",
        "/payments/cancel",
        Some(json!({"imp_uid": r["imp_uid"], "amount": 1000, "reason": "part"})),
    )
    .await;
    v1_call(
        &sb,
        &token,
        "POST",
        "/payments/cancel",
        Some(json!({"imp_uid": r["imp_uid"], "reason": "rest"})),
    )
    .await;
    let got = wait_body(&rx, "wh-cancel", "cancelled").await;
    assert_eq!(got.json()["imp_uid"], r["imp_uid"]);
    // The window's `paid`, then the partial cancel's (the payment is still `paid`).
    wait_for(Duration::from_secs(10), "two paid notifications", || {
        let paid = rx.received().iter().filter(|x| x.json()["status"] == "paid").count();
        async move { (paid == 2).then_some(()) }
    })
    .await;
    sb.shutdown().await;
}

#[tokio::test]
async fn billing_issue_again_and_scheduled_charges_post_webhooks_paid_or_failed() {
    let (sb, rx, url) = start_with_hook().await;
    let mut p = v1_billing_params("cust-wh", "wh-issue");
    p["notice_url"] = json!(url);
    let (_, issued) = v1_pay(&sb, p, "approve").await;
    let got = wait_body(&rx, "wh-issue", "paid").await;
    assert_eq!(
        got.json(),
        json!({"imp_uid": issued["imp_uid"], "merchant_uid": "wh-issue", "status": "paid"}),
        "the TossPay billing-key issue payment"
    );
    let token = v1_token(&sb).await;
    // The customer's notice_url hears its charges.
    let (_, v) = v1_call(
        &sb,
        &token,
        "POST",
        "/subscribe/payments/again",
        Some(json!({"customer_uid": "cust-wh", "merchant_uid": "wh-again", "amount": 700, "name": "n"})),
    )
    .await;
    let got = wait_body(&rx, "wh-again", "paid").await;
    assert_eq!(got.json()["imp_uid"], v["response"]["imp_uid"]);

    let at = chrono::Utc::now().timestamp() + 3600;
    v1_call(
        &sb,
        &token,
        "POST",
        "/subscribe/payments/schedule",
        Some(json!({"customer_uid": "cust-wh", "schedules": [
            {"merchant_uid": "wh-s1", "schedule_at": at, "amount": 100},
            {"merchant_uid": "wh-s2", "schedule_at": at + 1, "amount": 100},
        ]})),
    )
    .await;
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"pgFailNext": 1}))).await;
    let (_, ran) = admin(&sb, "POST", "/__sandbox/v1/schedules/run", Some(json!({"all": true}))).await;
    assert_eq!(ran["ran"], json!(["wh-s1", "wh-s2"]));
    let failed = wait_body(&rx, "wh-s1", "failed").await;
    let paid = wait_body(&rx, "wh-s2", "paid").await;
    let (_, x) = v1_call(&sb, &token, "GET", "/subscribe/payments/schedule/wh-s1", None).await;
    assert_eq!(failed.json()["imp_uid"], x["response"]["imp_uid"]);
    let (_, x) = v1_call(&sb, &token, "GET", "/subscribe/payments/schedule/wh-s2", None).await;
    assert_eq!(paid.json()["imp_uid"], x["response"]["imp_uid"]);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_v1_notice_url_must_be_loopback_unless_external_webhooks_are_allowed() {
    let sb = start().await;
    let v1 = v1_token(&sb).await;
    v1_issue_billing_key(&sb, "cust-ext").await;
    let (s, v) = v1_call(
        &sb,
        &v1,
        "POST",
        "/subscribe/payments/again",
        Some(
            json!({"customer_uid": "cust-ext", "merchant_uid": "ext-1", "amount": 100, "name": "n",
                    "notice_url": EXTERNAL_HOOK}),
        ),
    )
    .await;
    assert_eq!(s, 400);
    assert!(v["message"].as_str().unwrap().contains("notice_url"), "{v}");
    sb.shutdown().await;

    let sb = start_with(SandboxConfig {
        allow_external_webhooks: true,
        webhook_timeout: Duration::from_millis(200),
        ..SandboxConfig::for_tests()
    })
    .await;
    admin(
        &sb,
        "PUT",
        "/__sandbox/faults",
        Some(json!({"webhook": {"drop": true}})),
    )
    .await;
    let mut p = v1_params("ext-2", 100);
    p["notice_url"] = json!(EXTERNAL_HOOK);
    let (s, r) = v1_pay(&sb, p, "approve").await;
    assert_eq!((s, &r["success"]), (200, &json!(true)), "{r}");
    let (_, log) = admin(&sb, "GET", "/__sandbox/webhooks", None).await;
    let d: Vec<Value> = log.as_array().unwrap().clone();
    assert!(d.iter().any(|x| x["url"] == EXTERNAL_HOOK && x["status"] == "dropped"));
    sb.shutdown().await;
}
