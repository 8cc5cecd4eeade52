//! PortOne V1 stand-in over HTTP: tokens, the `/iamport/` REST API in V1's
//! envelope, the `/__sandbox/v1/pay` driver, billing keys and schedules.

mod common;

use std::time::Duration;

use common::*;
use portone_sandbox::SandboxConfig;
use serde_json::{json, Value};

fn response(v: &Value) -> &Value {
    assert_eq!(v["code"], 0, "{v}");
    assert!(v["message"].is_null(), "{v}");
    &v["response"]
}

#[tokio::test]
async fn a_token_works_in_all_three_header_forms_and_asking_again_returns_the_same_token() {
    let sb = start().await;
    let c = sb.config().clone();
    let url = format!("{}/iamport/users/getToken", sb.base_url());
    let json_res: Value = client()
        .post(&url)
        .json(&json!({"imp_key": c.v1_imp_key, "imp_secret": c.v1_imp_secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = response(&json_res);
    let token = r["access_token"].as_str().unwrap().to_owned();
    let (now, exp) = (r["now"].as_i64().unwrap(), r["expired_at"].as_i64().unwrap());
    assert!((1790..=1800).contains(&(exp - now)), "30 minutes: {r}");
    let form_res: Value = client()
        .post(&url)
        .form(&[
            ("imp_key", c.v1_imp_key.as_str()),
            ("imp_secret", c.v1_imp_secret.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        response(&form_res)["access_token"],
        token.as_str(),
        "a form body works and the token is reused before expiry"
    );

    let (_, r) = v1_pay(&sb, v1_params("hdr-1", 1000), "approve").await;
    let imp_uid = r["imp_uid"].as_str().unwrap();
    let path = format!("{}/iamport/payments/{imp_uid}", sb.base_url());
    for (name, value) in [
        ("authorization", token.clone()),
        ("authorization", format!("Bearer {token}")),
        ("x-imptokenheader", token.clone()),
    ] {
        let res = client().get(&path).header(name, &value).send().await.unwrap();
        assert_eq!(res.status(), 200, "{name}: {value}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(response(&v)["imp_uid"], imp_uid);
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn requests_without_a_valid_token_or_keys_get_401_in_the_v1_envelope() {
    let sb = start().await;
    let path = format!("{}/iamport/payments/imp_000000000001", sb.base_url());
    for header in [
        None,
        Some(("authorization", "not-a-token")),
        Some(("x-imptokenheader", "nope")),
    ] {
        let mut req = client().get(&path);
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{header:?}");
        let v: Value = res.json().await.unwrap();
        assert_v1_error(&v);
        assert_eq!(v["code"], -1);
    }
    let url = format!("{}/iamport/users/getToken", sb.base_url());
    let res = client()
        .post(&url)
        .json(&json!({"imp_key": "sandbox-imp-key", "imp_secret": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_v1_error(&res.json().await.unwrap());
    let res = client().post(&url).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_v1_error(&res.json().await.unwrap());
    sb.shutdown().await;
}

#[tokio::test]
async fn an_expired_token_is_refused_and_get_token_then_issues_a_new_one() {
    let sb = start_with(SandboxConfig {
        v1_token_ttl: Duration::from_secs(1),
        ..SandboxConfig::for_tests()
    })
    .await;
    let token = v1_token(&sb).await;
    let (s, _) = v1_call(&sb, &token, "GET", "/payments/find/none", None).await;
    assert_eq!(s, 404, "valid while fresh");
    wait_for(Duration::from_secs(5), "the token to expire", || {
        let (sb, token) = (&sb, token.clone());
        async move {
            let (s, v) = v1_call(sb, &token, "GET", "/payments/find/none", None).await;
            (s == 401).then_some(v)
        }
    })
    .await;
    let fresh = v1_token(&sb).await;
    assert_ne!(fresh, token);
    let (s, _) = v1_call(&sb, &fresh, "GET", "/payments/find/none", None).await;
    assert_eq!(s, 404);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_window_must_ask_for_the_prepared_amount() {
    let sb = start().await;
    let token = v1_token(&sb).await;
    let (s, v) = v1_call(
        &sb,
        &token,
        "POST",
        "/payments/prepare",
        Some(json!({"merchant_uid": "prep-1", "amount": 1000})),
    )
    .await;
    assert_eq!(
        (s, response(&v)),
        (200, &json!({"merchant_uid": "prep-1", "amount": 1000}))
    );
    let (s, v) = v1_call(&sb, &token, "GET", "/payments/prepare/prep-1", None).await;
    assert_eq!((s, response(&v)["amount"].as_i64()), (200, Some(1000)));
    let (s, v) = v1_call(
        &sb,
        &token,
        "POST",
        "/payments/prepare",
        Some(json!({"merchant_uid": "prep-1", "amount": 2000})),
    )
    .await;
    assert_eq!((s, v["code"].as_i64()), (200, Some(1)), "already prepared: {v}");

    let (s, r) = v1_pay(&sb, v1_params("prep-1", 900), "approve").await;
    assert_eq!(s, 400);
    assert_eq!(r["error_code"], "AMOUNT_MISMATCH");
    assert!(r["imp_uid"].is_null());
    assert_eq!(r["success"], false);
    let (s, _) = v1_call(&sb, &token, "GET", "/payments/find/prep-1", None).await;
    assert_eq!(s, 404, "no window, no payment");

    let (s, r) = v1_pay(&sb, v1_params("prep-1", 1000), "approve").await;
    assert_eq!((s, &r["success"]), (200, &json!(true)), "{r}");
    assert_eq!(r["paid_amount"], 1000);

    // PUT changes the amount; the driver's bypassPrepare pays another amount anyway.
    v1_call(
        &sb,
        &token,
        "POST",
        "/payments/prepare",
        Some(json!({"merchant_uid": "prep-2", "amount": 5000})),
    )
    .await;
    let (_, v) = v1_call(
        &sb,
        &token,
        "PUT",
        "/payments/prepare",
        Some(json!({"merchant_uid": "prep-2", "amount": 4000})),
    )
    .await;
    assert_eq!(response(&v)["amount"], 4000);
    let (s, r) = admin(
        &sb,
        "POST",
        "/__sandbox/v1/pay",
        Some(json!({"params": v1_params("prep-2", 100), "outcome": "approve", "bypassPrepare": true})),
    )
    .await;
    assert_eq!((s, &r["paid_amount"]), (200, &json!(100)), "{r}");
    let (s, v) = v1_call(&sb, &token, "GET", "/payments/prepare/nothing", None).await;
    assert_eq!(s, 404);
    assert_v1_error(&v);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_paid_window_payment_reads_back_in_v1_names_and_the_callback_object() {
    let sb = start().await;
    let mut params = v1_params("shape-1", 15000);
    params["pg"] = json!("tosspay_v2");
    params.as_object_mut().unwrap().remove("channelKey");
    let (s, r) = v1_pay(&sb, params, "approve").await;
    assert_eq!(s, 200, "deprecated pg: tosspay_v2 works: {r}");
    let imp_uid = r["imp_uid"].as_str().unwrap().to_owned();
    assert!(
        imp_uid.starts_with("imp_") && imp_uid.len() == 16 && imp_uid[4..].bytes().all(|b| b.is_ascii_digit()),
        "{imp_uid}"
    );
    for (k, want) in [
        ("success", json!(true)),
        ("imp_success", json!(true)),
        ("merchant_uid", json!("shape-1")),
        ("paid_amount", json!(15000)),
        ("status", json!("paid")),
        ("pay_method", json!("tosspay")),
        ("pg_provider", json!("tosspay_v2")),
        ("error_code", Value::Null),
        ("error_msg", Value::Null),
    ] {
        assert_eq!(r[k], want, "callback {k}: {r}");
    }
    assert!(r["pg_tid"].is_string() && r["receipt_url"].is_string());

    let (s, v) = v1_api(&sb, "GET", &format!("/payments/{imp_uid}"), None).await;
    assert_eq!(s, 200);
    let p = response(&v);
    for (k, want) in [
        ("imp_uid", json!(imp_uid)),
        ("merchant_uid", json!("shape-1")),
        ("amount", json!(15000)),
        ("cancel_amount", json!(0)),
        ("currency", json!("KRW")),
        ("status", json!("paid")),
        ("pay_method", json!("tosspay")),
        ("channel", json!("pc")),
        ("pg_provider", json!("tosspay_v2")),
        ("name", json!("테스트 주문")),
        ("buyer_name", json!("홍길동")),
        ("buyer_tel", json!("010-1234-5678")),
        ("custom_data", json!("{\"orderRef\":42}")),
        ("failed_at", json!(0)),
        ("cancelled_at", json!(0)),
        ("fail_reason", Value::Null),
        ("cancel_history", json!([])),
        ("customer_uid", Value::Null),
        ("customer_uid_usage", Value::Null),
    ] {
        assert_eq!(p[k], want, "payment {k}: {p}");
    }
    assert!(p["paid_at"].as_i64().unwrap() > 1_600_000_000);
    assert_eq!(p["pg_tid"], r["pg_tid"]);
    assert!(p["receipt_url"].is_string());

    // A phone's window is a redirect: channel mobile, and the driver tells where it returned to.
    let mut params = v1_params("shape-2", 3000);
    params["m_redirect_url"] = json!("http://127.0.0.1:9/return?x=1");
    let (s, r) = admin(
        &sb,
        "POST",
        "/__sandbox/v1/pay",
        Some(json!({"params": params, "outcome": "decline", "userAgent": "Mozilla/5.0 (iPhone) Mobile"})),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let to = url::Url::parse(r["redirectTo"].as_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
    assert_eq!(q["x"], "1");
    assert_eq!(q["imp_uid"], r["imp_uid"].as_str().unwrap());
    assert_eq!(q["merchant_uid"], "shape-2");
    assert_eq!(q["imp_success"], "false");
    assert_eq!(q["error_code"], "INSUFFICIENT_BALANCE");
    assert!(q.contains_key("error_msg"));
    let (_, v) = v1_api(&sb, "GET", "/payments/find/shape-2", None).await;
    let p = response(&v);
    assert_eq!(
        (p["channel"].as_str(), p["status"].as_str()),
        (Some("mobile"), Some("failed"))
    );
    assert!(p["failed_at"].as_i64().unwrap() > 0 && p["fail_reason"].is_string());
    sb.shutdown().await;
}

#[tokio::test]
async fn find_by_merchant_uid_answers_the_newest_payment_and_filters_by_status() {
    let sb = start().await;
    let (_, first) = v1_pay(&sb, v1_params("find-1", 2000), "decline").await;
    let (_, second) = v1_pay(&sb, v1_params("find-1", 2000), "cancel").await;
    let token = v1_token(&sb).await;
    let (_, v) = v1_call(&sb, &token, "GET", "/payments/find/find-1", None).await;
    assert_eq!(response(&v)["imp_uid"], second["imp_uid"], "newest first");
    let (_, third) = v1_pay(&sb, v1_params("find-1", 2000), "approve").await;
    assert_ne!(first["imp_uid"], third["imp_uid"], "every window is a new imp_uid");
    let (_, v) = v1_call(&sb, &token, "GET", "/payments/find/find-1", None).await;
    assert_eq!(response(&v)["imp_uid"], third["imp_uid"]);
    let (_, v) = v1_call(&sb, &token, "GET", "/payments/find/find-1/paid", None).await;
    assert_eq!(response(&v)["imp_uid"], third["imp_uid"]);
    let (_, v) = v1_call(&sb, &token, "GET", "/payments/find/find-1/failed", None).await;
    assert_eq!(response(&v)["imp_uid"], second["imp_uid"], "the newest failed one");
    let (s, v) = v1_call(&sb, &token, "GET", "/payments/find/find-1/cancelled", None).await;
    assert_eq!(s, 404);
    assert_v1_error(&v);
    let (s, v) = v1_call(&sb, &token, "GET", "/payments/find/find-1/bogus", None).await;
    assert_eq!(s, 400);
    assert_v1_error(&v);
    let (s, v) = v1_call(&sb, &token, "GET", "/payments/imp_000000000000", None).await;
    assert_eq!((s, v["code"].as_i64()), (404, Some(-1)));
    assert_v1_error(&v);
    // A paid order cannot be paid again: refused before the window.
    let (s, r) = v1_pay(&sb, v1_params("find-1", 2000), "approve").await;
    assert_eq!((s, r["error_code"].as_str()), (400, Some("ALREADY_PAID")));
    sb.shutdown().await;
}

#[tokio::test]
async fn cancels_are_partial_or_full_and_a_checksum_that_differs_is_refused() {
    let sb = start().await;
    let (_, r) = v1_pay(&sb, v1_params("cancel-1", 10000), "approve").await;
    let imp_uid = r["imp_uid"].as_str().unwrap().to_owned();
    let token = v1_token(&sb).await;
    let (s, v) = v1_call(
        &sb,
        &token,
        "POST",
        "/payments/cancel",
        Some(json!({"imp_uid": imp_uid, "reason": "부분 환불", "amount": 3000, "checksum": 10000})),
    )
    .await;
    assert_eq!(s, 200);
    let p = response(&v);
    assert_eq!(
        (p["status"].as_str(), p["cancel_amount"].as_i64()),
        (Some("paid"), Some(3000))
    );
    assert_eq!(p["cancel_history"].as_array().unwrap().len(), 1);
    assert_eq!(p["cancel_history"][0]["amount"], 3000);
    assert_eq!(p["cancel_history"][0]["reason"], "부분 환불");
    assert!(p["cancelled_at"].as_i64().unwrap() > 0);

    let (s, v) = v1_call(
        &sb,
        &token,
        "POST",
        "/payments/cancel",
        Some(json!({"imp_uid": imp_uid, "reason": "r", "amount": 1000, "checksum": 10000})),
    )
    .await;
    assert_eq!((s, v["code"].as_i64()), (200, Some(1)), "stale checksum: {v}");
    assert_v1_error(&v);
    let (s, v) = v1_call(
        &sb,
        &token,
        "POST",
        "/payments/cancel",
        Some(json!({"imp_uid": imp_uid, "reason": "r", "amount": 8000})),
    )
    .await;
    assert_eq!((s, v["code"].as_i64()), (200, Some(1)), "more than cancellable: {v}");
    let (_, v) = v1_call(&sb, &token, "GET", &format!("/payments/{imp_uid}"), None).await;
    assert_eq!(response(&v)["cancel_amount"], 3000, "refusals changed nothing");

    // By merchant_uid, amount omitted: the rest.
    let (_, v) = v1_call(
        &sb,
        &token,
        "POST",
        "/payments/cancel",
        Some(json!({"merchant_uid": "cancel-1", "reason": "전액 환불", "checksum": 7000})),
    )
    .await;
    let p = response(&v);
    assert_eq!(
        (p["status"].as_str(), p["cancel_amount"].as_i64()),
        (Some("cancelled"), Some(10000))
    );
    assert_eq!(p["cancel_reason"], "전액 환불");
    assert_eq!(p["cancel_history"].as_array().unwrap().len(), 2);
    let (s, v) = v1_call(
        &sb,
        &token,
        "POST",
        "/payments/cancel",
        Some(json!({"imp_uid": imp_uid, "reason": "again"})),
    )
    .await;
    assert_eq!((s, v["code"].as_i64()), (200, Some(1)), "{v}");
    let (s, v) = v1_call(
        &sb,
        &token,
        "POST",
        "/payments/cancel",
        Some(json!({"imp_uid": "imp_000000000000", "reason": "x"})),
    )
    .await;
    assert_eq!((s, v["code"].as_i64()), (200, Some(1)));
    assert_eq!(v["message"], "취소할 결제건이 존재하지 않습니다.");
    let (s, v) = v1_call(&sb, &token, "POST", "/payments/cancel", Some(json!({"reason": "x"}))).await;
    assert_eq!(s, 400);
    assert_v1_error(&v);

    // Form-encoded cancels work too (V1 takes both).
    let (_, r) = v1_pay(&sb, v1_params("cancel-2", 5000), "approve").await;
    let res = client()
        .post(format!("{}/iamport/payments/cancel", sb.base_url()))
        .header("authorization", &token)
        .form(&[
            ("imp_uid", r["imp_uid"].as_str().unwrap()),
            ("amount", "2000"),
            ("reason", "form"),
        ])
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(response(&v)["cancel_amount"], 2000);
    sb.shutdown().await;
}

#[tokio::test]
async fn invalid_request_pay_params_are_refused_with_a_callback_error_and_no_payment() {
    let sb = start().await;
    let long = "x".repeat(41);
    let with = |k: &str, v: Value| {
        let mut p = v1_params("bad-1", 1000);
        p[k] = v;
        p
    };
    let without = |k: &str| {
        let mut p = v1_params("bad-1", 1000);
        p.as_object_mut().unwrap().remove(k);
        p
    };
    let mut billing_card = v1_billing_params("cust-bad", "bad-1");
    billing_card["pay_method"] = json!("tosspay_card");
    let mut billing_no_id = v1_billing_params("cust-bad", "bad-1");
    billing_no_id.as_object_mut().unwrap().remove("customer_id");
    let mut billing_long_id = v1_billing_params("cust-bad", "bad-1");
    billing_long_id["customer_id"] = json!("u".repeat(51));
    let cases: Vec<(&str, Value, &str)> = vec![
        ("no merchant_uid", without("merchant_uid"), "INVALID_PARAMETER"),
        (
            "long merchant_uid",
            with("merchant_uid", json!(long)),
            "INVALID_PARAMETER",
        ),
        ("long name", with("name", json!(long)), "INVALID_PARAMETER"),
        ("no amount", without("amount"), "INVALID_PARAMETER"),
        ("string amount", with("amount", json!("1000")), "INVALID_PARAMETER"),
        ("zero amount", with("amount", json!(0)), "INVALID_PARAMETER"),
        ("fractional amount", with("amount", json!(10.5)), "INVALID_PARAMETER"),
        (
            "card pay_method",
            with("pay_method", json!("card")),
            "INVALID_PARAMETER",
        ),
        ("no pay_method", without("pay_method"), "INVALID_PARAMETER"),
        (
            "unknown channelKey",
            with("channelKey", json!("nope")),
            "CHANNEL_NOT_FOUND",
        ),
        (
            "a card channel",
            with("channelKey", json!("channel-key-sandbox-card")),
            "CHANNEL_NOT_FOUND",
        ),
        (
            "relative m_redirect_url",
            with("m_redirect_url", json!("/return")),
            "INVALID_PARAMETER",
        ),
        (
            "external notice_url",
            with("notice_url", json!(EXTERNAL_HOOK)),
            "INVALID_PARAMETER",
        ),
        (
            "external notice_url in an array",
            with("notice_url", json!([LOOPBACK_HOOK, EXTERNAL_HOOK])),
            "INVALID_PARAMETER",
        ),
        ("numeric notice_url", with("notice_url", json!(5)), "INVALID_PARAMETER"),
        ("USD", with("currency", json!("USD")), "INVALID_PARAMETER"),
        (
            "unknown outcome preset",
            with("bypass", json!({"sandbox": {"outcome": "virtualAccount"}})),
            "INVALID_PARAMETER",
        ),
        (
            "bad expiredTime",
            with("bypass", json!({"tosspay_v2": {"expiredTime": "tomorrow"}})),
            "INVALID_PARAMETER",
        ),
        (
            "bad cash receipt option",
            with("bypass", json!({"tosspay_v2": {"cashReceiptTradeOption": "X"}})),
            "INVALID_PARAMETER",
        ),
        ("billing with tosspay_card", billing_card, "INVALID_PARAMETER"),
        ("billing without customer_id", billing_no_id, "INVALID_PARAMETER"),
        (
            "billing with a 51-char customer_id",
            billing_long_id,
            "INVALID_PARAMETER",
        ),
    ];
    for (what, params, code) in cases {
        let (s, r) = v1_pay(&sb, params, "approve").await;
        assert_eq!(s, 400, "{what}: {r}");
        assert_eq!(r["success"], false, "{what}");
        assert_eq!(r["imp_success"], false, "{what}");
        assert!(r["imp_uid"].is_null(), "{what}");
        assert_eq!(r["error_code"], code, "{what}: {r}");
        assert!(r["error_msg"].as_str().is_some_and(|m| !m.is_empty()), "{what}");
    }
    // An unknown user code, and a phone without m_redirect_url.
    let (s, r) = admin(
        &sb,
        "POST",
        "/__sandbox/v1/pay",
        Some(json!({"params": v1_params("bad-1", 1000), "outcome": "approve", "userCode": "imp99999999"})),
    )
    .await;
    assert_eq!((s, r["error_code"].as_str()), (400, Some("INVALID_USER_CODE")));
    let (s, r) = admin(
        &sb,
        "POST",
        "/__sandbox/v1/pay",
        Some(json!({"params": v1_params("bad-1", 1000), "outcome": "approve", "userAgent": "Android Mobile"})),
    )
    .await;
    assert_eq!((s, r["error_code"].as_str()), (400, Some("INVALID_PARAMETER")), "{r}");
    let (s, _) = v1_api(&sb, "GET", "/payments/find/bad-1", None).await;
    assert_eq!(s, 404, "no refused request made a payment");
    // The loopback notice_url, as a string or an array, is fine.
    let (s, r) = v1_pay(&sb, with("notice_url", json!([LOOPBACK_HOOK])), "approve").await;
    assert_eq!((s, &r["success"]), (200, &json!(true)), "{r}");
    sb.shutdown().await;
}

#[tokio::test]
async fn a_billing_key_window_issues_a_key_with_a_zero_won_issue_payment_and_reuse_replaces_it() {
    let sb = start().await;
    let r = v1_issue_billing_key(&sb, "cust-1").await;
    assert_eq!(r["customer_uid"], "cust-1");
    assert_eq!(r["paid_amount"], 0);
    let token = v1_token(&sb).await;
    let (_, v) = v1_call(
        &sb,
        &token,
        "GET",
        &format!("/payments/{}", r["imp_uid"].as_str().unwrap()),
        None,
    )
    .await;
    let p = response(&v);
    assert_eq!(p["amount"], 0);
    assert_eq!(p["status"], "paid");
    assert_eq!(p["customer_uid"], "cust-1");
    assert_eq!(p["customer_uid_usage"], "issue");
    let (s, v) = v1_call(&sb, &token, "GET", "/subscribe/customers/cust-1", None).await;
    assert_eq!(s, 200);
    let c = response(&v).clone();
    assert_eq!(c["customer_uid"], "cust-1");
    assert_eq!(c["customer_id"], "user-0001");
    assert_eq!(c["pg_provider"], "tosspay_v2");
    assert_eq!(c["customer_name"], "홍길동");
    assert_eq!(c["customer_email"], "buyer@example.com");
    assert!(c["inserted"].as_i64().unwrap() > 0);

    // The same customer_uid again replaces the key (another holder here).
    let mut params = v1_billing_params("cust-1", "issue-again");
    params["customer_id"] = json!("user-0002");
    let (s, r2) = v1_pay(&sb, params, "approve").await;
    assert_eq!(s, 200, "{r2}");
    let (_, v) = v1_call(&sb, &token, "GET", "/subscribe/customers/cust-1", None).await;
    assert_eq!(response(&v)["customer_id"], "user-0002");
    assert_eq!(response(&v)["inserted"], c["inserted"]);

    // A declined billing window issues nothing.
    let (s, r) = v1_pay(&sb, v1_billing_params("cust-2", "issue-declined"), "decline").await;
    assert_eq!((s, &r["success"]), (200, &json!(false)));
    assert_eq!(r["error_code"], "INSUFFICIENT_BALANCE");
    let (s, v) = v1_call(&sb, &token, "GET", "/subscribe/customers/cust-2", None).await;
    assert_eq!(s, 404);
    assert_v1_error(&v);
    sb.shutdown().await;
}

#[tokio::test]
async fn again_charges_the_billing_key_and_a_pg_decline_is_a_failed_payment_with_code_0() {
    let sb = start().await;
    v1_issue_billing_key(&sb, "cust-again").await;
    let token = v1_token(&sb).await;
    let body = |m: &str| {
        json!({"customer_uid": "cust-again", "merchant_uid": m, "amount": 9900, "name": "월 구독",
        "bypass": "{\"tosspay_v2\": {\"cashReceiptTradeOption\": \"GENERAL\", \"sendFailPush\": false}}"})
    };
    let (s, v) = v1_call(&sb, &token, "POST", "/subscribe/payments/again", Some(body("again-1"))).await;
    assert_eq!(s, 200, "{v}");
    let p = response(&v);
    assert_eq!(p["status"], "paid");
    assert_eq!(p["amount"], 9900);
    assert_eq!(p["channel"], "api");
    assert_eq!(p["customer_uid"], "cust-again");
    assert_eq!(p["customer_uid_usage"], "payment");
    assert_eq!(p["buyer_name"], "홍길동", "the customer's buyer fields fill in");

    let (s, v) = v1_call(&sb, &token, "POST", "/subscribe/payments/again", Some(body("again-1"))).await;
    assert_eq!((s, v["code"].as_i64()), (200, Some(1)), "already paid order: {v}");
    let mut unknown = body("again-2");
    unknown["customer_uid"] = json!("nobody");
    let (s, v) = v1_call(&sb, &token, "POST", "/subscribe/payments/again", Some(unknown)).await;
    assert_eq!((s, v["code"].as_i64()), (200, Some(-1)), "{v}");
    assert_v1_error(&v);
    for bad in [
        json!({"tosspay_v2": {"sendFailPush": false}}),
        json!("{not json"),
        json!("{\"tosspay_v2\": {\"cashReceiptTradeOption\": \"SOMETIMES\"}}"),
    ] {
        let mut b = body("again-2");
        b["bypass"] = bad.clone();
        let (s, v) = v1_call(&sb, &token, "POST", "/subscribe/payments/again", Some(b)).await;
        assert_eq!(s, 400, "{bad}: {v}");
        assert_v1_error(&v);
    }
    let mut no_name = body("again-2");
    no_name.as_object_mut().unwrap().remove("name");
    let (s, _) = v1_call(&sb, &token, "POST", "/subscribe/payments/again", Some(no_name)).await;
    assert_eq!(s, 400);

    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"pgFailNext": 1}))).await;
    let (s, v) = v1_call(&sb, &token, "POST", "/subscribe/payments/again", Some(body("again-3"))).await;
    assert_eq!(s, 200);
    let p = response(&v);
    assert_eq!(p["status"], "failed");
    assert!(p["fail_reason"].as_str().is_some_and(|r| r.contains("잔액")), "{p}");
    assert!(p["failed_at"].as_i64().unwrap() > 0);
    assert_eq!(p["paid_at"], 0);
    // The order can still be paid after the decline.
    let (_, v) = v1_call(&sb, &token, "POST", "/subscribe/payments/again", Some(body("again-3"))).await;
    assert_eq!(response(&v)["status"], "paid");
    sb.shutdown().await;
}

#[tokio::test]
async fn schedules_run_at_their_time_or_on_demand_and_can_be_unscheduled() {
    let sb = start().await;
    v1_issue_billing_key(&sb, "cust-sched").await;
    let token = v1_token(&sb).await;
    let now = chrono::Utc::now().timestamp();
    let (s, v) = v1_call(
        &sb,
        &token,
        "POST",
        "/subscribe/payments/schedule",
        Some(json!({"customer_uid": "cust-sched", "schedules": [
            {"merchant_uid": "sched-soon", "schedule_at": now + 1, "amount": 1000, "name": "1회차"},
            {"merchant_uid": "sched-later", "schedule_at": now + 3600, "amount": 2000, "name": "2회차"},
            {"merchant_uid": "sched-drop", "schedule_at": now + 7200, "amount": 3000, "name": "3회차"},
        ]})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let list = response(&v).as_array().unwrap().clone();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["schedule_status"], "scheduled");
    assert_eq!(list[0]["schedule_at"], now + 1);

    // The first runs by its timer.
    let x = wait_for(Duration::from_secs(10), "the due schedule to run", || {
        let (sb, token) = (&sb, token.clone());
        async move {
            let (_, v) = v1_call(sb, &token, "GET", "/subscribe/payments/schedule/sched-soon", None).await;
            (v["response"]["schedule_status"] == "executed").then(|| v["response"].clone())
        }
    })
    .await;
    assert_eq!(x["payment_status"], "paid");
    assert!(x["executed_at"].as_i64().unwrap() > 0);
    let (_, v) = v1_call(
        &sb,
        &token,
        "GET",
        &format!("/payments/{}", x["imp_uid"].as_str().unwrap()),
        None,
    )
    .await;
    let p = response(&v);
    assert_eq!(
        (p["amount"].as_i64(), p["customer_uid_usage"].as_str()),
        (Some(1000), Some("payment.scheduled"))
    );

    // Unschedule one; the admin route runs the rest now.
    let (s, v) = v1_call(
        &sb,
        &token,
        "POST",
        "/subscribe/payments/unschedule",
        Some(json!({"customer_uid": "cust-sched", "merchant_uid": "sched-drop"})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(response(&v)[0]["schedule_status"], "revoked");
    assert!(response(&v)[0]["revoked_at"].as_i64().unwrap() > 0);
    let (s, v) = v1_call(
        &sb,
        &token,
        "POST",
        "/subscribe/payments/unschedule",
        Some(json!({"customer_uid": "cust-sched", "merchant_uid": "sched-drop"})),
    )
    .await;
    assert_eq!((s, v["code"].as_i64()), (200, Some(1)), "nothing left to revoke");
    let (_, ran) = admin(&sb, "POST", "/__sandbox/v1/schedules/run", None).await;
    assert_eq!(ran["ran"], json!([]), "nothing due");
    let (_, ran) = admin(&sb, "POST", "/__sandbox/v1/schedules/run", Some(json!({"all": true}))).await;
    assert_eq!(ran["ran"], json!(["sched-later"]));
    let (_, v) = v1_call(&sb, &token, "GET", "/payments/find/sched-later", None).await;
    assert_eq!(response(&v)["status"], "paid");

    let path = format!(
        "/subscribe/payments/schedule?schedule_from={}&schedule_to={}",
        now,
        now + 86400
    );
    let (s, v) = v1_call(&sb, &token, "GET", &path, None).await;
    assert_eq!(s, 200);
    let page = response(&v);
    assert_eq!(page["total"], 3);
    assert_eq!(page["list"][0]["merchant_uid"], "sched-soon");
    let (_, v) = v1_call(&sb, &token, "GET", &format!("{path}&schedule_status=revoked"), None).await;
    assert_eq!(response(&v)["total"], 1);

    // Refusals: unknown customer, past time, an order already scheduled or paid.
    for (body, status, code) in [
        (
            json!({"customer_uid": "nobody", "schedules": [{"merchant_uid": "s-x", "schedule_at": now + 60, "amount": 1}]}),
            200,
            1,
        ),
        (
            json!({"customer_uid": "cust-sched", "schedules": [{"merchant_uid": "s-x", "schedule_at": now - 60, "amount": 1}]}),
            400,
            -1,
        ),
        (
            json!({"customer_uid": "cust-sched", "schedules": [{"merchant_uid": "sched-later", "schedule_at": now + 60, "amount": 1}]}),
            200,
            1,
        ),
        (json!({"customer_uid": "cust-sched", "schedules": []}), 400, -1),
        (
            json!({"customer_uid": "cust-sched", "schedules": [{"merchant_uid": "s-y", "amount": 1}]}),
            400,
            -1,
        ),
    ] {
        let (s, v) = v1_call(&sb, &token, "POST", "/subscribe/payments/schedule", Some(body.clone())).await;
        assert_eq!((s, v["code"].as_i64()), (status, Some(code)), "{body}: {v}");
        assert_v1_error(&v);
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn a_failing_pg_makes_a_scheduled_charge_failed() {
    let sb = start().await;
    v1_issue_billing_key(&sb, "cust-fail").await;
    let token = v1_token(&sb).await;
    let at = chrono::Utc::now().timestamp() + 3600;
    v1_call(
        &sb,
        &token,
        "POST",
        "/subscribe/payments/schedule",
        Some(json!({"customer_uid": "cust-fail", "schedules": [{"merchant_uid": "sf-1", "schedule_at": at, "amount": 500}]})),
    )
    .await;
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"pgFailNext": 1}))).await;
    let (_, ran) = admin(&sb, "POST", "/__sandbox/v1/schedules/run", Some(json!({"all": true}))).await;
    assert_eq!(ran["ran"], json!(["sf-1"]));
    let (_, v) = v1_call(&sb, &token, "GET", "/subscribe/payments/schedule/sf-1", None).await;
    let x = response(&v);
    assert_eq!(
        (x["schedule_status"].as_str(), x["payment_status"].as_str()),
        (Some("executed"), Some("failed"))
    );
    assert!(x["fail_reason"].is_string());
    let (_, v) = v1_call(&sb, &token, "GET", "/payments/find/sf-1", None).await;
    assert_eq!(response(&v)["status"], "failed");
    sb.shutdown().await;
}

#[tokio::test]
async fn deleting_a_customer_revokes_its_schedules_and_its_key() {
    let sb = start().await;
    v1_issue_billing_key(&sb, "cust-del").await;
    let token = v1_token(&sb).await;
    let at = chrono::Utc::now().timestamp() + 3600;
    v1_call(
        &sb,
        &token,
        "POST",
        "/subscribe/payments/schedule",
        Some(json!({"customer_uid": "cust-del", "schedules": [{"merchant_uid": "sd-1", "schedule_at": at, "amount": 500}]})),
    )
    .await;
    let (s, v) = v1_call(&sb, &token, "DELETE", "/subscribe/customers/cust-del", None).await;
    assert_eq!(s, 200);
    assert_eq!(response(&v)["customer_uid"], "cust-del");
    let (s, v) = v1_call(&sb, &token, "GET", "/subscribe/customers/cust-del", None).await;
    assert_eq!(s, 404);
    assert_v1_error(&v);
    let (s, _) = v1_call(&sb, &token, "DELETE", "/subscribe/customers/cust-del", None).await;
    assert_eq!(s, 404);
    let (_, v) = v1_call(&sb, &token, "GET", "/subscribe/payments/schedule/sd-1", None).await;
    assert_eq!(response(&v)["schedule_status"], "revoked");
    let (_, ran) = admin(&sb, "POST", "/__sandbox/v1/schedules/run", Some(json!({"all": true}))).await;
    assert_eq!(ran["ran"], json!([]));
    let (s, v) = v1_call(
        &sb,
        &token,
        "POST",
        "/subscribe/payments/again",
        Some(json!({"customer_uid": "cust-del", "merchant_uid": "sd-2", "amount": 500, "name": "x"})),
    )
    .await;
    assert_eq!((s, v["code"].as_i64()), (200, Some(-1)));
    sb.shutdown().await;
}

#[tokio::test]
async fn every_v1_error_comes_in_the_envelope() {
    let sb = start().await;
    let token = v1_token(&sb).await;
    let base = sb.base_url();
    let checks: Vec<(reqwest::RequestBuilder, u16)> = vec![
        (client().get(format!("{base}/iamport/no/such/route")), 404),
        (client().get(format!("{base}/iamport/payments/imp_1")), 401),
        (
            client()
                .get(format!("{base}/iamport/payments/imp_1"))
                .header("authorization", &token),
            404,
        ),
        (
            client()
                .post(format!("{base}/iamport/payments/prepare"))
                .header("authorization", &token)
                .header("content-type", "application/json")
                .body("{not json"),
            400,
        ),
        (
            client()
                .post(format!("{base}/iamport/payments/prepare"))
                .header("authorization", &token)
                .json(&json!([1, 2])),
            400,
        ),
        (
            client()
                .post(format!("{base}/iamport/payments/prepare"))
                .header("authorization", &token)
                .json(&json!({"merchant_uid": "m", "amount": "lots"})),
            400,
        ),
        (
            client()
                .post(format!("{base}/iamport/payments/prepare"))
                .header("authorization", &token)
                .header("content-type", "application/json")
                .body(format!("{{\"merchant_uid\": \"{}\"}}", "x".repeat(70_000))),
            413,
        ),
        (
            client()
                .post(format!("{base}/iamport/subscribe/payments/unschedule"))
                .header("authorization", &token)
                .json(&json!({"customer_uid": "nobody"})),
            200,
        ),
        (
            client()
                .get(format!("{base}/iamport/subscribe/payments/schedule/none"))
                .header("authorization", &token),
            404,
        ),
        (
            client()
                .get(format!("{base}/iamport/subscribe/payments/schedule?schedule_from=x"))
                .header("authorization", &token),
            400,
        ),
    ];
    for (req, status) in checks {
        let res = req.send().await.unwrap();
        let url = res.url().to_string();
        assert_eq!(res.status().as_u16(), status, "{url}");
        let v: Value = res.json().await.unwrap_or(Value::Null);
        assert_v1_error(&v);
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn info_lists_the_v1_keys_and_reset_forgets_v1_records() {
    let sb = start().await;
    let (_, info) = admin(&sb, "GET", "/__sandbox/info", None).await;
    assert_eq!(info["v1"]["userCode"], "imp00000000");
    assert_eq!(info["v1"]["impKey"], "sandbox-imp-key");
    assert_eq!(info["v1"]["impSecret"], "sandbox-imp-secret");
    assert_eq!(info["v1"]["tokenTtlSecs"], 1800);
    let (_, r) = v1_pay(&sb, v1_params("reset-1", 1000), "approve").await;
    v1_issue_billing_key(&sb, "cust-reset").await;
    let token = v1_token(&sb).await;
    admin(&sb, "POST", "/__sandbox/reset", None).await;
    let (s, _) = v1_call(&sb, &token, "GET", "/payments/find/reset-1", None).await;
    assert_eq!(s, 401, "tokens are forgotten too");
    let token = v1_token(&sb).await;
    let (s, _) = v1_call(
        &sb,
        &token,
        "GET",
        &format!("/payments/{}", r["imp_uid"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = v1_call(&sb, &token, "GET", "/subscribe/customers/cust-reset", None).await;
    assert_eq!(s, 404);
    sb.shutdown().await;
}

#[tokio::test]
async fn v1_records_survive_a_restart_from_the_state_file_and_old_files_load() {
    let dir = std::env::temp_dir().join(format!("sandbox-v1-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    // A state file from before V1 existed.
    std::fs::write(
        &file,
        r#"{"payments": {}, "billing_keys": {}, "pre_registrations": {}, "schedules": {}, "attempts": {}}"#,
    )
    .unwrap();
    let config = SandboxConfig {
        state_file: Some(file.clone()),
        ..SandboxConfig::for_tests()
    };
    let sb = start_with(config.clone()).await;
    let (_, r) = v1_pay(&sb, v1_params("persist-1", 1000), "approve").await;
    v1_issue_billing_key(&sb, "cust-persist").await;
    let token = v1_token(&sb).await;
    sb.shutdown().await;

    let sb = start_with(config).await;
    let (s, v) = v1_call(&sb, &token, "GET", "/payments/find/persist-1", None).await;
    assert_eq!(s, 200, "the token and the payment were kept: {v}");
    assert_eq!(response(&v)["imp_uid"], r["imp_uid"]);
    let (s, _) = v1_call(&sb, &token, "GET", "/subscribe/customers/cust-persist", None).await;
    assert_eq!(s, 200);
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
