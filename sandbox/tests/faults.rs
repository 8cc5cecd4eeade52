//! REST fault injection: latency, 5xx, lost responses, consecutive-request guard, PG declines.

mod common;

use std::time::{Duration, Instant};

use common::*;
use portone_sandbox::{Faults, SandboxConfig};
use serde_json::json;

#[tokio::test]
async fn latency_is_added_to_rest_requests() {
    let sb = start().await;
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"latencyMs": 300}))).await;
    let t = Instant::now();
    let (s, _) = api(&sb, "GET", "/payments/none", None).await;
    assert_eq!(s, 404);
    assert!(t.elapsed() >= Duration::from_millis(300));
    sb.shutdown().await;
}

#[tokio::test]
async fn fail_next_answers_exactly_the_next_n_requests_with_500_and_applies_nothing() {
    let sb = start().await;
    pay(&sb, card_request("f-1", 1000), "approve").await;
    let (s, f) = admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"failNext": 2}))).await;
    assert_eq!((s, f["failNext"].as_u64()), (200, Some(2)));
    for _ in 0..2 {
        let (s, v) = api(&sb, "POST", "/payments/f-1/cancel", Some(json!({"reason": "r"}))).await;
        assert_eq!(s, 500);
        assert!(v["type"].is_string() && v["message"].is_string());
    }
    let (s, p) = api(&sb, "GET", "/payments/f-1", None).await;
    assert_eq!(
        (s, p["status"].as_str()),
        (200, Some("PAID")),
        "the failed cancels changed nothing"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn an_error_rate_of_one_fails_every_request_and_zero_none() {
    let faults = Faults {
        error_rate: 1.0,
        ..Faults::default()
    };
    let sb = start_with(SandboxConfig {
        faults,
        ..SandboxConfig::for_tests()
    })
    .await;
    for _ in 0..5 {
        let (s, _) = api(&sb, "GET", "/payments/x", None).await;
        assert_eq!(s, 500);
    }
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"errorRate": 0.0}))).await;
    let (s, _) = api(&sb, "GET", "/payments/x", None).await;
    assert_eq!(s, 404);
    let (s, _) = admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"errorRate": 2.0}))).await;
    assert_eq!(s, 400);
    let (s, _) = admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"noSuchFault": true}))).await;
    assert_eq!(s, 400);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_lost_response_errors_on_the_client_but_the_cancel_was_applied() {
    let sb = start().await;
    pay(&sb, card_request("lost-1", 4000), "approve").await;
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"loseResponses": 1}))).await;
    let res = client()
        .post(format!("{}/payments/lost-1/cancel", sb.base_url()))
        .header("authorization", format!("PortOne {}", sb.config().api_secret))
        .json(&json!({"reason": "net cancel"}))
        .send()
        .await;
    let err = res.expect_err("the client must not get any answer, not even a status line");
    assert!(!err.is_status() && !err.is_timeout(), "{err}");
    let (_, p) = api(&sb, "GET", "/payments/lost-1", None).await;
    assert_eq!(
        p["status"], "CANCELLED",
        "the action was applied before the connection dropped"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn a_repeat_request_within_one_second_is_refused_with_forbidden_consecutive_request() {
    let sb = start().await;
    pay(&sb, card_request("cg-1", 1000), "approve").await;
    admin(
        &sb,
        "PUT",
        "/__sandbox/faults",
        Some(json!({"consecutiveRequestGuard": true})),
    )
    .await;
    let (s, _) = api(&sb, "GET", "/payments/cg-1", None).await;
    assert_eq!(s, 200);
    let (s, v) = api(&sb, "GET", "/payments/cg-1", None).await;
    assert_eq!((s, v["type"].as_str()), (429, Some("FORBIDDEN_CONSECUTIVE_REQUEST")));
    // A different request is not a repeat.
    let (s, _) = api(
        &sb,
        "POST",
        "/payments/cg-1/cancel",
        Some(json!({"reason": "r", "amount": 100})),
    )
    .await;
    assert_eq!(s, 200);
    // After a second the same request is accepted again (poll, no fixed sleep).
    let sb_ref = &sb;
    wait_for(Duration::from_secs(3), "guard window to pass", || async move {
        let (s, _) = api(sb_ref, "GET", "/payments/cg-1", None).await;
        (s == 200).then_some(())
    })
    .await;
    sb.shutdown().await;
}

#[tokio::test]
async fn pg_fail_next_makes_a_billing_key_charge_fail_with_502_pg_provider() {
    let sb = start().await;
    let key = issue_tosspay_billing_key(&sb).await;
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"pgFailNext": 1}))).await;
    let body = json!({"billingKey": key, "orderName": "o", "amount": {"total": 1000}, "currency": "KRW",
                      "customer": {"name": {"full": "홍길동"}}});
    let (s, v) = api(&sb, "POST", "/payments/pg-1/billing-key", Some(body.clone())).await;
    assert_eq!((s, v["type"].as_str()), (502, Some("PG_PROVIDER")));
    assert_eq!(v["pgCode"], "INSUFFICIENT_BALANCE");
    let (_, p) = api(&sb, "GET", "/payments/pg-1", None).await;
    assert_eq!(p["status"], "FAILED");
    let (s, _) = api(&sb, "POST", "/payments/pg-1/billing-key", Some(body)).await;
    assert_eq!(s, 200, "the retry succeeds");
    sb.shutdown().await;
}

#[tokio::test]
async fn fail_next_with_only_fails_just_the_matching_requests_and_reads_do_not_use_it_up() {
    let sb = start().await;
    pay(&sb, card_request("only-1", 3000), "approve").await;
    let (s, f) = admin(
        &sb,
        "PUT",
        "/__sandbox/faults",
        Some(json!({"failNext": 2, "only": "/cancel"})),
    )
    .await;
    assert_eq!((s, f["only"].as_str()), (200, Some("/cancel")));
    for _ in 0..3 {
        let (s, p) = api(&sb, "GET", "/payments/only-1", None).await;
        assert_eq!((s, p["status"].as_str()), (200, Some("PAID")), "reads are out of scope");
    }
    let (_, f) = admin(&sb, "GET", "/__sandbox/faults", None).await;
    assert_eq!(f["failNext"], 2, "the reads did not use up the count");
    for _ in 0..2 {
        let (s, v) = api(&sb, "POST", "/payments/only-1/cancel", Some(json!({"reason": "r"}))).await;
        assert_eq!((s, v["type"].as_str()), (500, Some("INTERNAL_SERVER_ERROR")));
        let (_, p) = api(&sb, "GET", "/payments/only-1", None).await;
        assert_eq!(p["status"], "PAID", "the failed cancel had no effect");
    }
    let (s, v) = api(&sb, "POST", "/payments/only-1/cancel", Some(json!({"reason": "r"}))).await;
    assert_eq!(s, 200, "the third cancel works: {v}");
    let (_, p) = api(&sb, "GET", "/payments/only-1", None).await;
    assert_eq!(p["status"], "CANCELLED");
    sb.shutdown().await;
}

#[tokio::test]
async fn an_error_rate_with_only_matches_method_and_path() {
    let sb = start().await;
    pay(&sb, card_request("only-2", 3000), "approve").await;
    admin(
        &sb,
        "PUT",
        "/__sandbox/faults",
        Some(json!({"errorRate": 1.0, "only": "POST /payments/"})),
    )
    .await;
    let (s, _) = api(&sb, "GET", "/payments/only-2", None).await;
    assert_eq!(s, 200, "GET is not `POST /payments/`");
    let (s, _) = api(&sb, "POST", "/payments/only-2/cancel", Some(json!({"reason": "r"}))).await;
    assert_eq!(s, 500);
    let (s, _) = api(
        &sb,
        "POST",
        "/payments/only-2/pre-register",
        Some(json!({"totalAmount": 1})),
    )
    .await;
    assert_eq!(s, 500);
    let (s, _) = api(&sb, "GET", "/billing-keys/none", None).await;
    assert_eq!(s, 404, "other routes answer normally");
    sb.shutdown().await;
}

#[tokio::test]
async fn lose_responses_with_only_loses_the_next_schedule_answer_after_applying_it() {
    let sb = start().await;
    let key = issue_tosspay_billing_key(&sb).await;
    admin(
        &sb,
        "PUT",
        "/__sandbox/faults",
        Some(json!({"loseResponses": 1, "only": "/schedule"})),
    )
    .await;
    // Out-of-scope requests are answered and do not use up the lost answer.
    let (s, _) = api(&sb, "GET", &format!("/billing-keys/{key}"), None).await;
    assert_eq!(s, 200);
    let (s, _) = api(&sb, "GET", "/payments/lost-sched", None).await;
    assert_eq!(s, 404);
    let body = json!({
        "payment": {"billingKey": key, "orderName": "구독", "amount": {"total": 1000}, "currency": "KRW",
                    "customer": {"name": {"full": "홍길동"}}},
        "timeToPay": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339(),
    });
    let res = client()
        .post(format!("{}/payments/lost-sched/schedule", sb.base_url()))
        .header("authorization", format!("PortOne {}", sb.config().api_secret))
        .json(&body)
        .send()
        .await;
    let err = res.expect_err("the schedule answer is lost");
    assert!(!err.is_status() && !err.is_timeout(), "{err}");
    let (_, list) = admin(&sb, "GET", "/__sandbox/schedules", None).await;
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(1),
        "the schedule was applied: {list}"
    );
    assert_eq!(list[0]["paymentId"], "lost-sched");
    assert_eq!(list[0]["status"], "SCHEDULED");
    // The client's retry learns it is already done.
    let (s, v) = api(&sb, "POST", "/payments/lost-sched/schedule", Some(body)).await;
    assert_eq!((s, v["type"].as_str()), (409, Some("PAYMENT_SCHEDULE_ALREADY_EXISTS")));
    let (_, f) = admin(&sb, "GET", "/__sandbox/faults", None).await;
    assert_eq!(f["loseResponses"], 0);
    sb.shutdown().await;
}
