//! Toss Payments (direct) stand-in at the HTTP level: the REST API under
//! `/toss/v1/...`, the `/__sandbox/toss/...` drivers, deadlines,
//! `Idempotency-Key`, faults in Toss's error shape, and state files.

mod common;

use std::time::Duration;

use common::*;
use portone_sandbox::{SandboxConfig, TossConfig};
use serde_json::{json, Value};

fn with_toss(toss: TossConfig) -> SandboxConfig {
    SandboxConfig {
        toss,
        ..SandboxConfig::for_tests()
    }
}

async fn confirm(sb: &portone_sandbox::RunningSandbox, key: &str, order_id: &str, amount: i64) -> (u16, Value) {
    toss_api(
        sb,
        "POST",
        "/v1/payments/confirm",
        Some(json!({"paymentKey": key, "orderId": order_id, "amount": amount})),
    )
    .await
}

async fn status_of(sb: &portone_sandbox::RunningSandbox, key: &str) -> String {
    let (s, p) = toss_api(sb, "GET", &format!("/v1/payments/{key}"), None).await;
    assert_eq!(s, 200, "{p}");
    p["status"].as_str().expect("status").to_owned()
}

#[tokio::test]
async fn toss_rest_calls_need_basic_auth_of_the_secret_key_with_a_colon_else_401_unauthorized_key() {
    let sb = start().await;
    let url = format!("{}/toss/v1/payments/nope", sb.base_url());
    let secret = sb.config().toss.secret_key.clone();
    let b64 = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let wrong = [
        None,
        Some(format!("Basic {}", b64(&secret))),
        Some(format!("Basic {}", b64("test_sk_other:"))),
        Some(format!("Basic {}", b64(&format!("{}:", sb.config().toss.client_key)))),
        Some(format!("Bearer {secret}")),
        Some(format!("PortOne {}", sb.config().api_secret)),
    ];
    for auth in wrong {
        let mut req = client().get(&url);
        if let Some(a) = &auth {
            req = req.header("authorization", a);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{auth:?}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["code"], "UNAUTHORIZED_KEY");
        assert!(v["message"].is_string());
    }
    let (s, v) = toss_api(&sb, "GET", "/v1/payments/nope", None).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("NOT_FOUND_PAYMENT")));
    assert!(v["message"].is_string());
    sb.shutdown().await;
}

#[tokio::test]
async fn an_approved_window_is_in_progress_until_the_confirm_makes_it_done_in_toss_shape() {
    let sb = start().await;
    let (s, r) = toss_pay(&sb, toss_request("order-0001", "CARD", 15000), "approve").await;
    assert_eq!(s, 200, "{r}");
    let key = r["paymentKey"].as_str().expect("paymentKey").to_owned();
    assert_eq!(r["orderId"], "order-0001");
    assert_eq!(r["amount"], json!({"currency": "KRW", "value": 15000}));
    assert_eq!(r["paymentType"], "NORMAL");
    assert!(r.get("redirectTo").is_none(), "promise form: {r}");

    let (_, p) = toss_api(&sb, "GET", &format!("/v1/payments/{key}"), None).await;
    assert_eq!(p["status"], "IN_PROGRESS");
    assert_eq!(p["approvedAt"], Value::Null);

    let (s, p) = confirm(&sb, &key, "order-0001", 15000).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["status"], "DONE");
    assert_eq!(p["paymentKey"], key.as_str());
    assert_eq!(p["orderId"], "order-0001");
    assert_eq!(p["orderName"], "토스 티셔츠 외 2건");
    assert_eq!(p["mId"], "tvivarepublica");
    assert_eq!(p["type"], "NORMAL");
    assert_eq!(p["method"], "카드");
    assert_eq!(p["currency"], "KRW");
    assert_eq!(p["totalAmount"], 15000);
    assert_eq!(p["balanceAmount"], 15000);
    assert_eq!(p["suppliedAmount"], 13636);
    assert_eq!(p["vat"], 1364);
    assert_eq!(p["taxFreeAmount"], 0);
    assert_eq!(p["cancels"], Value::Null);
    assert_eq!(p["failure"], Value::Null);
    assert_eq!(p["secret"], Value::Null);
    assert!(p["lastTransactionKey"].is_string());
    assert!(p["receipt"]["url"].is_string());
    assert!(p["card"]["number"].is_string());
    assert_eq!(p["card"]["amount"], 15000);
    for k in ["requestedAt", "approvedAt"] {
        let t = p[k].as_str().unwrap();
        assert!(t.ends_with("+09:00"), "{k} is KST: {t}");
        chrono::DateTime::parse_from_rfc3339(t).unwrap_or_else(|e| panic!("{k}: {e}"));
    }
    let (s, by_order) = toss_api(&sb, "GET", "/v1/payments/orders/order-0001", None).await;
    assert_eq!(s, 200);
    assert_eq!(by_order, p);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_confirm_with_a_tampered_amount_or_another_order_id_is_refused_and_changes_nothing() {
    let sb = start().await;
    let key = toss_authenticated(&sb, "order-tamper", "CARD", 50000).await;
    let (s, e) = confirm(&sb, &key, "order-tamper", 100).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("INVALID_REQUEST")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("100"));
    let (s, e) = confirm(&sb, &key, "order-other", 50000).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("INVALID_REQUEST")), "{e}");
    let (s, e) = toss_api(&sb, "POST", "/v1/payments/confirm", Some(json!({"paymentKey": key}))).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("INVALID_REQUEST")), "{e}");
    assert_eq!(
        status_of(&sb, &key).await,
        "IN_PROGRESS",
        "refused confirms change nothing"
    );
    let (s, _) = confirm(&sb, &key, "order-tamper", 50000).await;
    assert_eq!(s, 200);
    let (s, e) = confirm(&sb, "tsbx-unknown", "order-tamper", 50000).await;
    assert_eq!((s, e["code"].as_str()), (404, Some("NOT_FOUND_PAYMENT")));
    sb.shutdown().await;
}

#[tokio::test]
async fn confirming_twice_answers_already_processed_payment() {
    let sb = start().await;
    let key = toss_confirmed(&sb, "order-twice", "CARD", 1000).await;
    let (s, e) = confirm(&sb, &key, "order-twice", 1000).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("ALREADY_PROCESSED_PAYMENT")));
    assert_eq!(e["message"], "이미 처리된 결제 입니다.");
    sb.shutdown().await;
}

#[tokio::test]
async fn a_lost_confirm_answer_was_applied_so_querying_the_payment_shows_done() {
    let sb = start().await;
    let key = toss_authenticated(&sb, "order-lost", "CARD", 3000).await;
    admin(
        &sb,
        "PUT",
        "/__sandbox/faults",
        Some(json!({"loseResponses": 1, "only": "/confirm"})),
    )
    .await;
    // A query first: out of scope, it neither fails nor uses up the fault.
    assert_eq!(status_of(&sb, &key).await, "IN_PROGRESS");
    let res = client()
        .post(format!("{}/toss/v1/payments/confirm", sb.base_url()))
        .header("authorization", toss_basic(&sb.config().toss.secret_key))
        .json(&json!({"paymentKey": key, "orderId": "order-lost", "amount": 3000}))
        .send()
        .await;
    let err = res.expect_err("the confirm's answer is lost, not even a status line");
    assert!(!err.is_status() && !err.is_timeout(), "{err}");
    assert_eq!(status_of(&sb, &key).await, "DONE", "the confirm was applied");
    let (s, e) = confirm(&sb, &key, "order-lost", 3000).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("ALREADY_PROCESSED_PAYMENT")));
    sb.shutdown().await;
}

#[tokio::test]
async fn a_lost_confirm_answer_is_replayed_to_a_retry_with_the_same_idempotency_key() {
    let sb = start().await;
    let key = toss_authenticated(&sb, "order-lost-idem", "CARD", 3000).await;
    admin(
        &sb,
        "PUT",
        "/__sandbox/faults",
        Some(json!({"loseResponses": 1, "only": "/confirm"})),
    )
    .await;
    let body = json!({"paymentKey": key, "orderId": "order-lost-idem", "amount": 3000});
    let res = client()
        .post(format!("{}/toss/v1/payments/confirm", sb.base_url()))
        .header("authorization", toss_basic(&sb.config().toss.secret_key))
        .header("idempotency-key", "confirm-order-lost-idem")
        .json(&body)
        .send()
        .await;
    assert!(res.is_err(), "answer lost");
    let (s, p) = toss_api_with(
        &sb,
        "POST",
        "/v1/payments/confirm",
        Some(body),
        &[("Idempotency-Key", "confirm-order-lost-idem")],
    )
    .await;
    assert_eq!((s, p["status"].as_str()), (200, Some("DONE")), "{p}");
    sb.shutdown().await;
}

#[tokio::test]
async fn an_idempotency_key_replays_the_same_status_and_body_and_a_new_key_runs_again() {
    let sb = start().await;
    let key = toss_authenticated(&sb, "order-idem", "CARD", 10000).await;
    let body = json!({"paymentKey": key, "orderId": "order-idem", "amount": 10000});
    let idem = [("Idempotency-Key", "idem-confirm-1")];
    let (s1, p1) = toss_api_with(&sb, "POST", "/v1/payments/confirm", Some(body.clone()), &idem).await;
    assert_eq!((s1, p1["status"].as_str()), (200, Some("DONE")));
    let (s2, p2) = toss_api_with(&sb, "POST", "/v1/payments/confirm", Some(body.clone()), &idem).await;
    assert_eq!((s2, &p2), (200, &p1), "same key, same answer");
    let (s, e) = toss_api_with(
        &sb,
        "POST",
        "/v1/payments/confirm",
        Some(body),
        &[("Idempotency-Key", "idem-confirm-2")],
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("ALREADY_PROCESSED_PAYMENT")));

    // A partial cancel sent twice with one key cancels once.
    let cancel = json!({"cancelReason": "부분 환불", "cancelAmount": 3000});
    let idem = [("Idempotency-Key", "idem-cancel-1")];
    let path = format!("/v1/payments/{key}/cancel");
    let (s1, c1) = toss_api_with(&sb, "POST", &path, Some(cancel.clone()), &idem).await;
    let (s2, c2) = toss_api_with(&sb, "POST", &path, Some(cancel), &idem).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(c1, c2);
    let (_, p) = toss_api(&sb, "GET", &format!("/v1/payments/{key}"), None).await;
    assert_eq!(p["balanceAmount"], 7000);
    assert_eq!(p["cancels"].as_array().unwrap().len(), 1);

    // A refusal is kept too.
    let bad = [("Idempotency-Key", "idem-bad")];
    let (s1, e1) = toss_api_with(&sb, "POST", &path, Some(json!({"cancelAmount": 1})), &bad).await;
    let (s2, e2) = toss_api_with(&sb, "POST", &path, Some(json!({"cancelReason": "ok"})), &bad).await;
    assert_eq!((s1, s2), (400, 400));
    assert_eq!(e1, e2, "the kept answer, not a new cancel");
    assert_eq!(status_of(&sb, &key).await, "PARTIAL_CANCELED");

    let long = "k".repeat(301);
    let (s, e) = toss_api_with(
        &sb,
        "POST",
        &path,
        Some(json!({"cancelReason": "x"})),
        &[("Idempotency-Key", &long)],
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("INVALID_REQUEST")));
    sb.shutdown().await;
}

#[tokio::test]
async fn an_unconfirmed_payment_expires_at_the_confirm_deadline_and_the_confirm_is_refused() {
    let sb = start_with(with_toss(TossConfig {
        confirm_ttl: Duration::from_millis(300),
        ..TossConfig::default()
    }))
    .await;
    let key = toss_authenticated(&sb, "order-slow", "CARD", 1000).await;
    let sb_ref = &sb;
    let key_ref = key.as_str();
    wait_for(Duration::from_secs(10), "EXPIRED", || async move {
        (status_of(sb_ref, key_ref).await == "EXPIRED").then_some(())
    })
    .await;
    let (s, e) = confirm(&sb, &key, "order-slow", 1000).await;
    assert_eq!((s, e["code"].as_str()), (404, Some("NOT_FOUND_PAYMENT_SESSION")), "{e}");
    let (s, e) = toss_api(
        &sb,
        "POST",
        &format!("/v1/payments/{key}/cancel"),
        Some(json!({"cancelReason": "x"})),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (403, Some("NOT_CANCELABLE_PAYMENT")));
    sb.shutdown().await;
}

#[tokio::test]
async fn an_opened_window_nobody_authenticates_is_ready_then_expired() {
    let sb = start_with(with_toss(TossConfig {
        ready_ttl: Duration::from_millis(300),
        ..TossConfig::default()
    }))
    .await;
    // What the SDK script calls: opens the window and leaves it open.
    let (s, w) = admin(
        &sb,
        "POST",
        "/__sandbox/sdk/toss/payment",
        Some(json!({
            "clientKey": sb.config().toss.client_key,
            "customerKey": "@@ANONYMOUS",
            "request": toss_request("order-ready", "CARD", 1000),
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
        })),
    )
    .await;
    assert_eq!(s, 200, "{w}");
    assert_eq!(w["mode"], "IFRAME");
    let (_, p) = toss_api(&sb, "GET", "/v1/payments/orders/order-ready", None).await;
    assert_eq!(p["status"], "READY");
    let key = p["paymentKey"].as_str().unwrap().to_owned();
    let sb_ref = &sb;
    let key_ref = key.as_str();
    wait_for(Duration::from_secs(10), "EXPIRED", || async move {
        (status_of(sb_ref, key_ref).await == "EXPIRED").then_some(())
    })
    .await;
    // The window itself now ends as timed out.
    let (_, done) = admin(
        &sb,
        "POST",
        &format!("/__sandbox/sdk/sessions/{}/complete", w["sessionId"].as_str().unwrap()),
        Some(json!({"outcome": "approve"})),
    )
    .await;
    assert_eq!(done["result"]["code"], "PAY_PROCESS_ABORTED");
    assert_eq!(status_of(&sb, &key).await, "EXPIRED");
    sb.shutdown().await;
}

#[tokio::test]
async fn a_repeat_query_or_cancel_of_one_payment_key_within_a_second_is_refused_with_403() {
    let sb = start().await;
    let key = toss_confirmed(&sb, "order-consec", "CARD", 5000).await;
    admin(
        &sb,
        "PUT",
        "/__sandbox/faults",
        Some(json!({"consecutiveRequestGuard": true})),
    )
    .await;
    let path = format!("/v1/payments/{key}");
    let (s, _) = toss_api(&sb, "GET", &path, None).await;
    assert_eq!(s, 200);
    let (s, e) = toss_api(&sb, "GET", &path, None).await;
    assert_eq!((s, e["code"].as_str()), (403, Some("FORBIDDEN_CONSECUTIVE_REQUEST")));
    assert!(e["message"].is_string());

    let cancel_path = format!("{path}/cancel");
    let body = json!({"cancelReason": "a", "cancelAmount": 1000});
    let (s, _) = toss_api(&sb, "POST", &cancel_path, Some(body.clone())).await;
    assert_eq!(s, 200);
    let (s, e) = toss_api(&sb, "POST", &cancel_path, Some(body.clone())).await;
    assert_eq!((s, e["code"].as_str()), (403, Some("FORBIDDEN_CONSECUTIVE_REQUEST")));

    // Waiting it out (about 1 s) lets the same request through again.
    let (sb_ref, path_ref) = (&sb, path.as_str());
    let p = wait_for(Duration::from_secs(5), "the guard to let go", || async move {
        let (s, p) = toss_api(sb_ref, "GET", path_ref, None).await;
        (s == 200).then_some(p)
    })
    .await;
    assert_eq!(p["balanceAmount"], 4000, "the refused cancel was not applied");
    sb.shutdown().await;
}

#[tokio::test]
async fn a_full_cancel_makes_the_payment_canceled_with_its_cancel_record() {
    let sb = start().await;
    let key = toss_confirmed(&sb, "order-cancel", "CARD", 20000).await;
    let (s, p) = toss_api(
        &sb,
        "POST",
        &format!("/v1/payments/{key}/cancel"),
        Some(json!({"cancelReason": "구매자 변심"})),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["status"], "CANCELED");
    assert_eq!(p["balanceAmount"], 0);
    assert_eq!(p["totalAmount"], 20000);
    let cancels = p["cancels"].as_array().unwrap();
    assert_eq!(cancels.len(), 1);
    assert_eq!(cancels[0]["cancelAmount"], 20000);
    assert_eq!(cancels[0]["cancelReason"], "구매자 변심");
    assert!(cancels[0]["canceledAt"].as_str().unwrap().ends_with("+09:00"));
    assert_eq!(cancels[0]["transactionKey"], p["lastTransactionKey"]);
    let (s, e) = toss_api(
        &sb,
        "POST",
        &format!("/v1/payments/{key}/cancel"),
        Some(json!({"cancelReason": "again"})),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("ALREADY_CANCELED_PAYMENT")));
    let (s, e) = toss_api(
        &sb,
        "POST",
        "/v1/payments/tsbx-none/cancel",
        Some(json!({"cancelReason": "x"})),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (404, Some("NOT_FOUND_PAYMENT")));
    sb.shutdown().await;
}

#[tokio::test]
async fn partial_cancels_leave_a_balance_until_the_rest_is_cancelled_and_never_exceed_it() {
    let sb = start().await;
    let key = toss_confirmed(&sb, "order-partial", "CARD", 10000).await;
    let path = format!("/v1/payments/{key}/cancel");
    let (s, p) = toss_api(
        &sb,
        "POST",
        &path,
        Some(json!({"cancelReason": "one item", "cancelAmount": 4000})),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["status"], "PARTIAL_CANCELED");
    assert_eq!(p["balanceAmount"], 6000);
    assert_eq!(p["cancels"][0]["refundableAmount"], 6000);
    let (s, e) = toss_api(
        &sb,
        "POST",
        &path,
        Some(json!({"cancelReason": "too much", "cancelAmount": 6001})),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (403, Some("NOT_CANCELABLE_AMOUNT")));
    let (s, e) = toss_api(&sb, "POST", &path, Some(json!({"cancelAmount": 10}))).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (400, Some("INVALID_REQUEST")),
        "cancelReason is required"
    );
    let (s, p) = toss_api(&sb, "POST", &path, Some(json!({"cancelReason": "the rest"}))).await;
    assert_eq!(s, 200);
    assert_eq!(p["status"], "CANCELED");
    assert_eq!(p["cancels"].as_array().unwrap().len(), 2);
    assert_eq!(p["cancels"][1]["cancelAmount"], 6000);

    // Nothing confirmed yet: nothing to cancel.
    let open = toss_authenticated(&sb, "order-unconfirmed", "CARD", 1000).await;
    let (s, e) = toss_api(
        &sb,
        "POST",
        &format!("/v1/payments/{open}/cancel"),
        Some(json!({"cancelReason": "x"})),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (403, Some("NOT_CANCELABLE_PAYMENT")));
    sb.shutdown().await;
}

#[tokio::test]
async fn a_virtual_account_waits_for_the_deposit_then_its_refund_needs_a_refund_receive_account() {
    let (rx, url) = webhook_receiver(vec![]).await;
    let sb = start_with(SandboxConfig {
        webhook_urls: vec![url],
        ..SandboxConfig::for_tests()
    })
    .await;
    let key = toss_confirmed(&sb, "order-va", "VIRTUAL_ACCOUNT", 30000).await;
    let (_, p) = toss_api(&sb, "GET", &format!("/v1/payments/{key}"), None).await;
    assert_eq!(p["status"], "WAITING_FOR_DEPOSIT");
    assert_eq!(p["method"], "가상계좌");
    let secret = p["secret"].as_str().expect("a virtual account has a secret").to_owned();
    assert!(p["virtualAccount"]["accountNumber"].is_string());
    assert_eq!(p["virtualAccount"]["customerName"], "김토스");
    assert!(p["virtualAccount"]["dueDate"].is_string());

    let (s, p) = admin(&sb, "POST", &format!("/__sandbox/toss/payments/{key}/deposit"), None).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["status"], "DONE");
    let (s, e) = admin(&sb, "POST", &format!("/__sandbox/toss/payments/{key}/deposit"), None).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("PAYMENT_NOT_WAITING_FOR_DEPOSIT")));

    let cb = wait_for(Duration::from_secs(10), "DEPOSIT_CALLBACK", || {
        let got: Vec<Value> = rx
            .received()
            .iter()
            .map(|r| r.json())
            .filter(|b| b["eventType"] == "DEPOSIT_CALLBACK")
            .collect();
        async move { got.into_iter().next() }
    })
    .await;
    assert_eq!(cb["secret"], secret.as_str(), "compare with the Payment's secret");
    assert_eq!(cb["status"], "DONE");
    assert_eq!(cb["orderId"], "order-va");
    assert!(cb["transactionKey"].is_string());
    assert!(cb["createdAt"].is_string());

    let path = format!("/v1/payments/{key}/cancel");
    let (s, e) = toss_api(&sb, "POST", &path, Some(json!({"cancelReason": "환불"}))).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("INVALID_REQUEST")));
    assert!(e["message"].as_str().unwrap().contains("refundReceiveAccount"));
    let (s, e) = toss_api(
        &sb,
        "POST",
        &path,
        Some(json!({"cancelReason": "환불", "refundReceiveAccount": {"bank": "88", "accountNumber": "110-123"}})),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("INVALID_REQUEST")), "{e}");
    let (s, p) = toss_api(
        &sb,
        "POST",
        &path,
        Some(json!({"cancelReason": "환불", "refundReceiveAccount":
            {"bank": "88", "accountNumber": "11012345678", "holderName": "김토스"}})),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["status"], "CANCELED");
    assert_eq!(p["virtualAccount"]["refundStatus"], "PENDING");
    assert_eq!(p["virtualAccount"]["refundReceiveAccount"]["holderName"], "김토스");

    // An unpaid virtual account is cancelled without a refund account.
    let unpaid = toss_confirmed(&sb, "order-va-unpaid", "VIRTUAL_ACCOUNT", 5000).await;
    let (s, p) = toss_api(
        &sb,
        "POST",
        &format!("/v1/payments/{unpaid}/cancel"),
        Some(json!({"cancelReason": "입금 전 취소"})),
    )
    .await;
    assert_eq!((s, p["status"].as_str()), (200, Some("CANCELED")), "{p}");
    sb.shutdown().await;
}

#[tokio::test]
async fn a_billing_auth_key_is_exchanged_once_for_a_billing_key_that_charges_billing_payments() {
    let sb = start().await;
    let (s, auth) = admin(
        &sb,
        "POST",
        "/__sandbox/toss/billing-auth",
        Some(json!({
            "customerKey": "customer-123",
            "request": {"method": "CARD", "successUrl": "http://127.0.0.1:1/billing/ok",
                        "failUrl": "http://127.0.0.1:1/billing/fail"},
            "outcome": "approve",
        })),
    )
    .await;
    assert_eq!(s, 200, "{auth}");
    assert_eq!(auth["customerKey"], "customer-123");
    let auth_key = auth["authKey"].as_str().expect("authKey").to_owned();
    let redirect = url::Url::parse(auth["redirectTo"].as_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = redirect.query_pairs().into_owned().collect();
    assert_eq!(redirect.path(), "/billing/ok");
    assert_eq!(q["authKey"], auth_key);
    assert_eq!(q["customerKey"], "customer-123");

    let issue = "/v1/billing/authorizations/issue";
    let (s, e) = toss_api(
        &sb,
        "POST",
        issue,
        Some(json!({"authKey": auth_key, "customerKey": "customer-999"})),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("NOT_MATCHES_CUSTOMER_KEY")));
    let (s, bk) = toss_api(
        &sb,
        "POST",
        issue,
        Some(json!({"authKey": auth_key, "customerKey": "customer-123"})),
    )
    .await;
    assert_eq!(s, 200, "{bk}");
    let billing_key = bk["billingKey"].as_str().expect("billingKey").to_owned();
    assert_eq!(bk["customerKey"], "customer-123");
    assert_eq!(bk["method"], "카드");
    assert_eq!(bk["mId"], "tvivarepublica");
    assert!(bk["card"]["number"].is_string());
    assert!(bk["authenticatedAt"].is_string());
    let (s, e) = toss_api(
        &sb,
        "POST",
        issue,
        Some(json!({"authKey": auth_key, "customerKey": "customer-123"})),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "an authKey works once"
    );

    let charge = format!("/v1/billing/{billing_key}");
    let body = |order: &str| {
        json!({"customerKey": "customer-123", "amount": 9900, "orderId": order,
               "orderName": "월간 구독", "customerEmail": "a@example.com", "customerName": "김토스"})
    };
    let (s, p) = toss_api(&sb, "POST", &charge, Some(body("sub-2024-01"))).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["status"], "DONE");
    assert_eq!(p["type"], "BILLING");
    assert_eq!(p["method"], "카드");
    assert_eq!(p["totalAmount"], 9900);
    assert!(p["approvedAt"].is_string());
    let (s, e) = toss_api(&sb, "POST", &charge, Some(body("sub-2024-01"))).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("DUPLICATED_ORDER_ID")));
    let mut other = body("sub-2024-02");
    other["customerKey"] = json!("customer-999");
    let (s, e) = toss_api(&sb, "POST", &charge, Some(other)).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("NOT_MATCHES_CUSTOMER_KEY")));
    let (s, e) = toss_api(&sb, "POST", "/v1/billing/tsbxbk-none", Some(body("sub-2024-02"))).await;
    assert_eq!((s, e["code"].as_str()), (404, Some("NOT_FOUND")));

    // The PG declines the next charge: ABORTED, 403 REJECT_CARD_COMPANY.
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"pgFailNext": 1}))).await;
    let (s, e) = toss_api(&sb, "POST", &charge, Some(body("sub-2024-02"))).await;
    assert_eq!((s, e["code"].as_str()), (403, Some("REJECT_CARD_COMPANY")));
    let (_, p) = toss_api(&sb, "GET", "/v1/payments/orders/sub-2024-02", None).await;
    assert_eq!(p["status"], "ABORTED");
    assert_eq!(p["failure"]["code"], "REJECT_CARD_COMPANY");
    let (s, p) = toss_api(&sb, "POST", &charge, Some(body("sub-2024-02"))).await;
    assert_eq!(
        (s, p["status"].as_str()),
        (200, Some("DONE")),
        "the same order can be charged again"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn payment_status_changed_webhooks_are_unsigned_and_carry_the_payment() {
    let (rx, url) = webhook_receiver(vec![]).await;
    let sb = start_with(SandboxConfig {
        webhook_urls: vec![url],
        ..SandboxConfig::for_tests()
    })
    .await;
    let key = toss_confirmed(&sb, "order-hook", "CARD", 8000).await;
    toss_api(
        &sb,
        "POST",
        &format!("/v1/payments/{key}/cancel"),
        Some(json!({"cancelReason": "x", "cancelAmount": 1000})),
    )
    .await;
    let got = wait_for(Duration::from_secs(10), "three status webhooks", || {
        let got = rx.received();
        async move { (got.len() >= 3).then_some(got) }
    })
    .await;
    let mut statuses: Vec<String> = Vec::new();
    for r in &got {
        let b = r.json();
        assert_eq!(b["eventType"], "PAYMENT_STATUS_CHANGED", "{b}");
        assert!(b["createdAt"].is_string());
        assert_eq!(b["data"]["paymentKey"], key.as_str());
        assert_eq!(b["data"]["orderId"], "order-hook");
        assert!(r.headers.get("webhook-signature").is_none(), "Toss does not sign");
        assert!(r.headers.get("tosspayments-webhook-signature").is_none());
        assert_eq!(r.headers["content-type"], "application/json");
        statuses.push(b["data"]["status"].as_str().unwrap().to_owned());
    }
    statuses.sort();
    assert_eq!(statuses, ["DONE", "IN_PROGRESS", "PARTIAL_CANCELED"]);
    let (_, log) = admin(&sb, "GET", "/__sandbox/webhooks", None).await;
    let kinds: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["type"].as_str().unwrap())
        .collect();
    assert!(kinds.iter().all(|k| *k == "PAYMENT_STATUS_CHANGED"), "{kinds:?}");
    sb.shutdown().await;
}

#[tokio::test]
async fn rest_faults_answer_in_toss_error_shape_and_only_scopes_them() {
    let sb = start().await;
    let key = toss_confirmed(&sb, "order-fault", "CARD", 2000).await;
    admin(
        &sb,
        "PUT",
        "/__sandbox/faults",
        Some(json!({"failNext": 1, "only": "/cancel"})),
    )
    .await;
    assert_eq!(status_of(&sb, &key).await, "DONE", "reads pass");
    let (s, e) = toss_api(
        &sb,
        "POST",
        &format!("/v1/payments/{key}/cancel"),
        Some(json!({"cancelReason": "x"})),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (500, Some("FAILED_INTERNAL_SYSTEM_PROCESSING"))
    );
    assert!(e["message"].is_string());
    assert!(e.get("type").is_none(), "Toss shape, not PortOne's: {e}");
    assert_eq!(status_of(&sb, &key).await, "DONE", "the failed cancel changed nothing");

    // A declined confirm (pgFailNext) aborts the payment.
    let open = toss_authenticated(&sb, "order-declined", "CARD", 2000).await;
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"pgFailNext": 1}))).await;
    let (s, e) = confirm(&sb, &open, "order-declined", 2000).await;
    assert_eq!((s, e["code"].as_str()), (403, Some("REJECT_CARD_COMPANY")));
    let (_, p) = toss_api(&sb, "GET", &format!("/v1/payments/{open}"), None).await;
    assert_eq!(p["status"], "ABORTED");
    assert_eq!(p["failure"]["code"], "REJECT_CARD_COMPANY");
    sb.shutdown().await;
}

#[tokio::test]
async fn the_driver_validates_like_the_sdk_and_rejects_with_toss_codes() {
    let sb = start().await;
    let base = toss_request("order-valid", "CARD", 1000);
    let with = |k: &str, v: Value| {
        let mut r = base.clone();
        r[k] = v;
        r
    };
    let cases = [
        (with("orderId", json!("abc")), "INVALID_ORDER_ID"),
        (with("orderId", json!("order id with spaces")), "INVALID_ORDER_ID"),
        (with("orderId", json!("x".repeat(65))), "INVALID_ORDER_ID"),
        (with("orderName", json!("가".repeat(101))), "INVALID_ORDER_NAME"),
        (with("method", json!("EASY_PAY")), "NOT_SUPPORTED_METHOD"),
        (
            with("amount", json!({"currency": "USD", "value": 1000})),
            "INVALID_AMOUNT_CURRENCY",
        ),
        (
            with("amount", json!({"currency": "KRW", "value": 10.5})),
            "INVALID_AMOUNT_VALUE",
        ),
        (
            with("amount", json!({"currency": "KRW", "value": 99})),
            "BELOW_MINIMUM_AMOUNT",
        ),
        (toss_request("order-valid", "MOBILE_PHONE", 299), "BELOW_MINIMUM_AMOUNT"),
        (toss_request("order-valid", "TRANSFER", 199), "BELOW_MINIMUM_AMOUNT"),
        (
            with("successUrl", json!("http://127.0.0.1:1/ok")),
            "INCORRECT_FAIL_URL_FORMAT",
        ),
        (
            with("failUrl", json!("http://127.0.0.1:1/fail")),
            "INCORRECT_SUCCESS_URL_FORMAT",
        ),
        (
            with("successUrl", json!("/relative/ok")),
            "INCORRECT_SUCCESS_URL_FORMAT",
        ),
        (with("windowTarget", json!("self")), "NOT_SUPPORTED_PROMISE"),
        (
            with(
                "metadata",
                json!({"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6"}),
            ),
            "INVALID_METADATA",
        ),
        (json!("not an object"), "INVALID_PARAMETERS"),
    ];
    for (req, code) in cases {
        let (s, e) = toss_pay(&sb, req.clone(), "approve").await;
        assert_eq!((s, e["code"].as_str()), (400, Some(code)), "{req}: {e}");
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Allowed at the minimum amounts.
    for (method, min) in [
        ("CARD", 100),
        ("MOBILE_PHONE", 300),
        ("TRANSFER", 200),
        ("VIRTUAL_ACCOUNT", 1),
    ] {
        let (s, r) = toss_pay(
            &sb,
            toss_request(&format!("order-min-{method}"), method, min),
            "approve",
        )
        .await;
        assert_eq!(s, 200, "{method}: {r}");
    }
    // Keys.
    let drive = |extra: Value| {
        let mut b = json!({"request": base.clone(), "outcome": "approve"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for (extra, code) in [
        (json!({"clientKey": "test_ck_someone_else"}), "INVALID_CLIENT_KEY"),
        (json!({"clientKey": sb.config().toss.secret_key}), "INVALID_CLIENT_KEY"),
        (json!({"customerKey": "a"}), "INVALID_CUSTOMER_KEY"),
        (json!({"customerKey": "has space"}), "INVALID_CUSTOMER_KEY"),
        (
            json!({"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"}),
            "NOT_SUPPORTED_PROMISE",
        ),
    ] {
        let (s, e) = admin(&sb, "POST", "/__sandbox/toss/pay", Some(drive(extra.clone()))).await;
        assert_eq!((s, e["code"].as_str()), (400, Some(code)), "{extra}: {e}");
    }
    let (s, r) = admin(
        &sb,
        "POST",
        "/__sandbox/toss/pay",
        Some(drive(json!({"customerKey": "user_01@example.com"}))),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    // A confirmed orderId cannot be paid again.
    let (s, _) = confirm(&sb, r["paymentKey"].as_str().unwrap(), "order-valid", 1000).await;
    assert_eq!(s, 200);
    let (s, e) = toss_pay(&sb, base.clone(), "approve").await;
    assert_eq!((s, e["code"].as_str()), (400, Some("DUPLICATED_ORDER_ID")));
    sb.shutdown().await;
}

#[tokio::test]
async fn the_redirect_form_carries_the_result_in_the_success_or_fail_url_query() {
    let sb = start().await;
    let mut req = toss_request("order-redirect", "CARD", 4500);
    req["successUrl"] = json!("http://127.0.0.1:1/toss/success?cart=7");
    req["failUrl"] = json!("http://127.0.0.1:1/toss/fail");
    let (s, r) = toss_pay(&sb, req.clone(), "approve").await;
    assert_eq!(s, 200, "{r}");
    let u = url::Url::parse(r["redirectTo"].as_str().expect("redirectTo")).unwrap();
    let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
    assert_eq!(u.path(), "/toss/success");
    assert_eq!(q["cart"], "7", "the successUrl's own query is kept");
    assert_eq!(q["paymentKey"], r["paymentKey"].as_str().unwrap());
    assert_eq!(q["orderId"], "order-redirect");
    assert_eq!(q["amount"], "4500");
    assert_eq!(q["paymentType"], "NORMAL");

    for (outcome, code) in [("decline", "REJECT_CARD_COMPANY"), ("cancel", "PAY_PROCESS_CANCELED")] {
        let mut req = req.clone();
        req["orderId"] = json!(format!("order-redirect-{outcome}"));
        let (s, r) = toss_pay(&sb, req, outcome).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["code"], code);
        let u = url::Url::parse(r["redirectTo"].as_str().expect("redirectTo")).unwrap();
        let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
        assert_eq!(u.path(), "/toss/fail");
        assert_eq!(q["code"], code);
        assert!(!q["message"].is_empty());
        assert_eq!(q["orderId"], format!("order-redirect-{outcome}"));
        let (_, p) = toss_api(
            &sb,
            "GET",
            &format!("/v1/payments/orders/order-redirect-{outcome}"),
            None,
        )
        .await;
        assert_eq!(p["status"], "ABORTED");
        assert_eq!(p["failure"]["code"], code);
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn info_lists_the_toss_keys_and_reset_clears_toss_state() {
    let sb = start().await;
    let (_, info) = admin(&sb, "GET", "/__sandbox/info", None).await;
    assert_eq!(info["toss"]["clientKey"], sb.config().toss.client_key.as_str());
    assert_eq!(info["toss"]["secretKey"], sb.config().toss.secret_key.as_str());
    assert!(info["toss"]["clientKey"].as_str().unwrap().starts_with("test_ck_"));
    assert!(info["toss"]["secretKey"].as_str().unwrap().starts_with("test_sk_"));
    assert_eq!(info["toss"]["mId"], "tvivarepublica");
    assert_eq!(info["toss"]["confirmTtlMs"], 600_000);
    assert_eq!(info["toss"]["readyTtlMs"], 1_800_000);
    let key = toss_confirmed(&sb, "order-reset", "CARD", 1000).await;
    admin(&sb, "POST", "/__sandbox/reset", None).await;
    let (s, _) = toss_api(&sb, "GET", &format!("/v1/payments/{key}"), None).await;
    assert_eq!(s, 404);
    // The JSON-only and loopback guards cover the Toss drivers too.
    let (s, _, e) = raw(
        &sb,
        "POST",
        "/__sandbox/toss/pay",
        &[("content-type", "text/plain")],
        "{}",
    )
    .await;
    assert_eq!((s, e["type"].as_str()), (415, Some("UNSUPPORTED_MEDIA_TYPE")));
    sb.shutdown().await;
}

#[tokio::test]
async fn toss_records_and_deadlines_survive_a_restart_and_old_state_files_load() {
    let dir = std::env::temp_dir().join(format!("toss-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    let _ = std::fs::remove_file(&file);
    let config = || SandboxConfig {
        state_file: Some(file.clone()),
        toss: TossConfig {
            confirm_ttl: Duration::from_millis(1500),
            ..TossConfig::default()
        },
        ..SandboxConfig::for_tests()
    };
    let sb = start_with(config()).await;
    let done = toss_confirmed(&sb, "order-persist", "CARD", 1000).await;
    let waiting = toss_authenticated(&sb, "order-persist-2", "CARD", 1000).await;
    sb.shutdown().await;

    let sb = start_with(SandboxConfig {
        webhook_urls: vec![LOOPBACK_HOOK.into()],
        ..config()
    })
    .await;
    assert_eq!(status_of(&sb, &done).await, "DONE");
    // No query touches the waiting payment: only the re-armed timer can expire it
    // (its PAYMENT_STATUS_CHANGED shows up in the delivery log).
    let (sb_ref, w) = (&sb, waiting.as_str());
    wait_for(Duration::from_secs(10), "the re-armed deadline", || async move {
        let (_, log) = admin(sb_ref, "GET", "/__sandbox/webhooks", None).await;
        log.as_array()?.iter().find_map(|d| {
            let b: Value = serde_json::from_str(d["body"].as_str()?).ok()?;
            (b["data"]["paymentKey"] == w && b["data"]["status"] == "EXPIRED").then_some(())
        })
    })
    .await;
    assert_eq!(status_of(&sb, &waiting).await, "EXPIRED");
    sb.shutdown().await;

    // A state file written before Toss existed (no `toss` object) still loads.
    std::fs::write(
        &file,
        r#"{"payments": {}, "billing_keys": {}, "pre_registrations": {}, "schedules": {}, "attempts": {}}"#,
    )
    .unwrap();
    let sb = start_with(config()).await;
    let (s, _) = toss_api(&sb, "GET", &format!("/v1/payments/{done}"), None).await;
    assert_eq!(s, 404);
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn two_windows_for_one_order_id_can_be_authenticated_but_only_one_confirmed() {
    let sb = start().await;
    let first = toss_authenticated(&sb, "order-dup", "CARD", 1000).await;
    let second = toss_authenticated(&sb, "order-dup", "CARD", 1000).await;
    assert_ne!(first, second);
    let (_, latest) = toss_api(&sb, "GET", "/v1/payments/orders/order-dup", None).await;
    assert_eq!(
        latest["paymentKey"],
        second.as_str(),
        "the latest attempt while none is confirmed"
    );
    let (s, _) = confirm(&sb, &first, "order-dup", 1000).await;
    assert_eq!(s, 200);
    let (s, e) = confirm(&sb, &second, "order-dup", 1000).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("DUPLICATED_ORDER_ID")));
    assert_eq!(status_of(&sb, &second).await, "IN_PROGRESS");
    let (_, p) = toss_api(&sb, "GET", "/v1/payments/orders/order-dup", None).await;
    assert_eq!(p["paymentKey"], first.as_str(), "the confirmed one");
    sb.shutdown().await;
}
