//! HTTP-level tests of the REST API stand-in and the admin drivers.

mod common;

use common::*;
use portone_sandbox::SandboxConfig;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn rest_calls_without_the_right_portone_secret_get_401_unauthorized() {
    let sb = start().await;
    let url = format!("{}/payments/x", sb.base_url());
    for auth in [None, Some("PortOne wrong-secret"), Some("Bearer sandbox-api-secret")] {
        let mut req = client().get(&url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401);
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["type"], "UNAUTHORIZED");
        assert!(v["message"].is_string());
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn an_unknown_payment_is_404_payment_not_found() {
    let sb = start().await;
    let (s, v) = api(&sb, "GET", "/payments/nope", None).await;
    assert_eq!((s, v["type"].as_str()), (404, Some("PAYMENT_NOT_FOUND")));
    sb.shutdown().await;
}

#[tokio::test]
async fn an_approved_tosspay_payment_reads_back_paid_in_portone_shape() {
    let sb = start().await;
    let (s, r) = pay(&sb, tosspay_request("order-1", 15000), "approve").await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["transactionType"], "PAYMENT");
    assert_eq!(r["paymentId"], "order-1");
    assert!(r["txId"].is_string());
    assert!(r.get("code").is_none());

    let (s, p) = api(&sb, "GET", "/payments/order-1", None).await;
    assert_eq!(s, 200);
    assert_eq!(p["status"], "PAID");
    assert_eq!(p["id"], "order-1");
    assert_eq!(p["transactionId"], r["txId"]);
    assert_eq!(p["storeId"], "store-sandbox");
    assert_eq!(p["version"], "V2");
    assert_eq!(
        p["method"],
        json!({"type": "PaymentMethodEasyPay", "provider": "TOSSPAY",
        "easyPayMethod": {"type": "PaymentMethodEasyPayMethodCharge"}})
    );
    assert_eq!(p["channel"]["type"], "TEST");
    assert_eq!(p["channel"]["key"], "channel-key-sandbox-tosspay");
    assert_eq!(p["channel"]["pgProvider"], "TOSSPAY");
    assert!(p["channel"]["pgMerchantId"].is_string());
    assert_eq!(p["amount"]["total"], 15000);
    assert_eq!(p["amount"]["paid"], 15000);
    assert_eq!(p["amount"]["cancelled"], 0);
    assert_eq!(p["currency"], "KRW");
    assert_eq!(p["orderName"], "테스트 주문");
    assert_eq!(p["customer"]["id"], "cust-1");
    assert_eq!(p["customer"]["name"], "홍길동");
    let custom: Value = serde_json::from_str(p["customData"].as_str().expect("customData is a string")).unwrap();
    assert_eq!(custom, json!({"orderRef": 42}));
    for k in ["requestedAt", "updatedAt", "statusChangedAt", "paidAt"] {
        chrono::DateTime::parse_from_rfc3339(p[k].as_str().unwrap()).unwrap_or_else(|e| panic!("{k}: {e}"));
    }
    assert!(p["pgTxId"].is_string());
    assert!(p["receiptUrl"].is_string());
    assert_eq!(p["cancellations"], json!([]));
    sb.shutdown().await;
}

#[tokio::test]
async fn a_card_payment_reports_payment_method_card_and_nice_v2() {
    let sb = start().await;
    pay(&sb, card_request("card-1", 1000), "approve").await;
    let (_, p) = api(&sb, "GET", "/payments/card-1", None).await;
    assert_eq!(p["method"]["type"], "PaymentMethodCard");
    assert_eq!(p["channel"]["pgProvider"], "NICE_V2");
    sb.shutdown().await;
}

#[tokio::test]
async fn decline_and_cancel_resolve_pg_failures_and_the_same_payment_id_can_then_be_paid() {
    let sb = start().await;
    let (s, r) = pay(&sb, tosspay_request("retry-1", 5000), "decline").await;
    assert_eq!(s, 200);
    assert_eq!(r["code"], "FAILURE_TYPE_PG");
    assert_eq!(r["pgCode"], "INSUFFICIENT_BALANCE");
    assert_eq!(r["pgMessage"], "잔액이 부족합니다.");
    assert_eq!(r["message"], "[INSUFFICIENT_BALANCE] 잔액이 부족합니다.");
    assert_eq!(r["paymentId"], "retry-1");
    let (_, p) = api(&sb, "GET", "/payments/retry-1", None).await;
    assert_eq!(p["status"], "FAILED");
    assert_eq!(p["failure"]["pgCode"], "INSUFFICIENT_BALANCE");
    assert!(p["failedAt"].is_string());

    let (_, r) = pay(&sb, tosspay_request("retry-1", 5000), "cancel").await;
    assert_eq!(r["code"], "FAILURE_TYPE_PG");
    assert_eq!(r["pgCode"], "PAY_PROCESS_CANCELED");
    assert_eq!(r["pgMessage"], "사용자가 결제를 취소하였습니다.");

    let (_, r) = pay(&sb, tosspay_request("retry-1", 5000), "approve").await;
    assert!(r.get("code").is_none(), "{r}");
    let (_, p) = api(&sb, "GET", "/payments/retry-1", None).await;
    assert_eq!(p["status"], "PAID");
    let (_, a) = admin(&sb, "GET", "/__sandbox/payments/retry-1/attempts", None).await;
    assert_eq!(a["attempts"], 3);

    let (s, e) = pay(&sb, tosspay_request("retry-1", 5000), "approve").await;
    assert_eq!((s, e["code"].as_str()), (400, Some("PaymentAlreadyPaid")));
    let (_, a) = admin(&sb, "GET", "/__sandbox/payments/retry-1/attempts", None).await;
    assert_eq!(a["attempts"], 3, "a rejected request never reaches the window");
    sb.shutdown().await;
}

#[tokio::test]
async fn pre_registered_amounts_are_enforced_unless_bypassed() {
    let sb = start().await;
    let (s, v) = api(
        &sb,
        "POST",
        "/payments/pre-1/pre-register",
        Some(json!({"storeId": "store-sandbox", "totalAmount": 10000, "currency": "KRW"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, e) = pay(&sb, tosspay_request("pre-1", 9000), "approve").await;
    assert_eq!((s, e["code"].as_str()), (400, Some("AmountNotEqualToPredefined")));
    assert!(e["message"].is_string());
    let (s, r) = admin(
        &sb,
        "POST",
        "/__sandbox/pay",
        Some(json!({
        "request": tosspay_request("pre-1", 9000), "outcome": "approve", "bypassPreRegistration": true})),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let (_, p) = api(&sb, "GET", "/payments/pre-1", None).await;
    assert_eq!(p["amount"]["total"], 9000);
    let (s, v) = api(
        &sb,
        "POST",
        "/payments/pre-1/pre-register",
        Some(json!({"totalAmount": 1})),
    )
    .await;
    assert_eq!((s, v["type"].as_str()), (409, Some("ALREADY_PAID")));

    api(
        &sb,
        "POST",
        "/payments/pre-2/pre-register",
        Some(json!({"totalAmount": 7000})),
    )
    .await;
    let (s, _) = pay(&sb, tosspay_request("pre-2", 7000), "approve").await;
    assert_eq!(s, 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn the_sdk_validation_rejects_bad_requests_with_the_real_sdk_codes() {
    let sb = start().await;
    let mut no_order_name = tosspay_request("v-1", 1000);
    no_order_name.as_object_mut().unwrap().remove("orderName");
    let mut string_amount = tosspay_request("v-1", 1000);
    string_amount["totalAmount"] = json!("1000");
    let mut bad_store = tosspay_request("v-1", 1000);
    bad_store["storeId"] = json!("store-other");
    let mut bad_channel = tosspay_request("v-1", 1000);
    bad_channel["channelKey"] = json!("channel-key-unknown");
    let mut card_on_toss = tosspay_request("v-1", 1000);
    card_on_toss["payMethod"] = json!("CARD");
    let mut force_no_url = tosspay_request("v-1", 1000);
    force_no_url["forceRedirect"] = json!(true);
    let mut bad_redirect = tosspay_request("v-1", 1000);
    bad_redirect["redirectUrl"] = json!("javascript:alert(1)");
    let cases = [
        (no_order_name, "InvalidArgument"),
        (string_amount, "InvalidArgument"),
        (bad_store, "StoreNotFound"),
        (bad_channel, "ChannelNotFound"),
        (card_on_toss, "FailedPrecondition"),
        (force_no_url, "InvalidArgument"),
        (bad_redirect, "InvalidArgument"),
        (json!("not an object"), "InvalidArgument"),
    ];
    for (req, code) in cases {
        let (s, e) = pay(&sb, req.clone(), "approve").await;
        assert_eq!((s, e["code"].as_str()), (400, Some(code)), "{req}: {e}");
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // A mobile browser needs redirectUrl.
    let (s, e) = admin(
        &sb,
        "POST",
        "/__sandbox/pay",
        Some(json!({
        "request": tosspay_request("v-1", 1000), "outcome": "approve",
        "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"})),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("InvalidArgument")));
    // Nothing above created a payment.
    let (s, _) = api(&sb, "GET", "/payments/v-1", None).await;
    assert_eq!(s, 404);
    sb.shutdown().await;
}

#[tokio::test]
async fn tosspay_billing_keys_need_a_customer_id_and_the_channel_method() {
    let sb = start().await;
    let base = json!({"storeId": "store-sandbox", "channelKey": "channel-key-sandbox-tosspay",
                      "billingKeyMethod": "EASY_PAY"});
    let (s, e) = admin(
        &sb,
        "POST",
        "/__sandbox/issue-billing-key",
        Some(json!({"request": base, "outcome": "approve"})),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("InvalidArgument")));
    let mut card = base.clone();
    card["billingKeyMethod"] = json!("CARD");
    card["customer"] = json!({"customerId": "c"});
    let (s, e) = admin(
        &sb,
        "POST",
        "/__sandbox/issue-billing-key",
        Some(json!({"request": card, "outcome": "approve"})),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("FailedPrecondition")));
    let mut ok = base.clone();
    ok["customer"] = json!({"customerId": "c"});
    let (s, r) = admin(
        &sb,
        "POST",
        "/__sandbox/issue-billing-key",
        Some(json!({"request": ok, "outcome": "decline"})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(r["transactionType"], "ISSUE_BILLING_KEY");
    assert_eq!(r["code"], "FAILURE_TYPE_PG");
    assert!(r.get("billingKey").is_none());
    sb.shutdown().await;
}

#[tokio::test]
async fn full_and_partial_cancels_follow_portone_rules_and_errors() {
    let sb = start().await;
    pay(&sb, card_request("c-1", 10000), "approve").await;
    let (s, v) = api(
        &sb,
        "POST",
        "/payments/c-1/cancel",
        Some(json!({"reason": "부분 환불", "amount": 3000, "currentCancellableAmount": 10000})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["cancellation"]["status"], "SUCCEEDED");
    assert_eq!(v["cancellation"]["totalAmount"], 3000);
    assert!(v["cancellation"]["id"].is_string());
    let (_, p) = api(&sb, "GET", "/payments/c-1", None).await;
    assert_eq!(p["status"], "PARTIAL_CANCELLED");
    assert_eq!(p["amount"]["cancelled"], 3000);
    assert_eq!(p["cancellations"].as_array().unwrap().len(), 1);
    assert!(p["cancelledAt"].is_string());

    let (s, v) = api(
        &sb,
        "POST",
        "/payments/c-1/cancel",
        Some(json!({"reason": "x", "amount": 1000, "currentCancellableAmount": 10000})),
    )
    .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN"))
    );
    let (s, v) = api(
        &sb,
        "POST",
        "/payments/c-1/cancel",
        Some(json!({"reason": "x", "amount": 7001})),
    )
    .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT"))
    );
    let (s, v) = api(
        &sb,
        "POST",
        "/payments/c-1/cancel",
        Some(json!({"reason": "나머지 전액"})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["cancellation"]["totalAmount"], 7000);
    let (_, p) = api(&sb, "GET", "/payments/c-1", None).await;
    assert_eq!(p["status"], "CANCELLED");
    assert_eq!(p["amount"]["cancelled"], 10000);
    let (s, v) = api(&sb, "POST", "/payments/c-1/cancel", Some(json!({"reason": "again"}))).await;
    assert_eq!((s, v["type"].as_str()), (409, Some("PAYMENT_ALREADY_CANCELLED")));

    pay(&sb, card_request("c-2", 1000), "decline").await;
    let (s, v) = api(&sb, "POST", "/payments/c-2/cancel", Some(json!({"reason": "x"}))).await;
    assert_eq!((s, v["type"].as_str()), (409, Some("PAYMENT_NOT_PAID")));
    let (s, v) = api(&sb, "POST", "/payments/none/cancel", Some(json!({"reason": "x"}))).await;
    assert_eq!((s, v["type"].as_str()), (404, Some("PAYMENT_NOT_FOUND")));
    sb.shutdown().await;
}

#[tokio::test]
async fn billing_keys_can_be_read_charged_and_deleted() {
    let sb = start().await;
    let key = issue_tosspay_billing_key(&sb).await;
    let (s, b) = api(&sb, "GET", &format!("/billing-keys/{key}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(b["status"], "ISSUED");
    assert_eq!(b["billingKey"], key.as_str());
    assert_eq!(b["storeId"], "store-sandbox");
    assert_eq!(b["customer"]["id"], "cust-1");
    assert_eq!(b["methods"][0]["type"], "BillingKeyPaymentMethodEasyPay");
    assert_eq!(b["channels"][0]["pgProvider"], "TOSSPAY");
    assert!(b["issuedAt"].is_string());

    let charge = json!({"billingKey": key, "orderName": "월 구독", "amount": {"total": 9900},
        "currency": "KRW", "customer": {"id": "cust-1", "name": {"full": "홍길동"}}});
    let mut no_name = charge.clone();
    no_name["customer"] = json!({"id": "cust-1"});
    let (s, v) = api(&sb, "POST", "/payments/sub-1/billing-key", Some(no_name)).await;
    assert_eq!((s, v["type"].as_str()), (400, Some("INVALID_REQUEST")));
    let (s, _) = api(&sb, "GET", "/payments/sub-1", None).await;
    assert_eq!(s, 404, "a refused charge leaves no payment");

    let (s, v) = api(&sb, "POST", "/payments/sub-1/billing-key", Some(charge.clone())).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["payment"]["pgTxId"].is_string());
    assert!(v["payment"]["paidAt"].is_string());
    let (_, p) = api(&sb, "GET", "/payments/sub-1", None).await;
    assert_eq!(p["status"], "PAID");
    assert_eq!(p["billingKey"], key.as_str());
    assert_eq!(p["amount"]["total"], 9900);
    let (s, v) = api(&sb, "POST", "/payments/sub-1/billing-key", Some(charge.clone())).await;
    assert_eq!((s, v["type"].as_str()), (409, Some("ALREADY_PAID")));

    let mut unknown = charge.clone();
    unknown["billingKey"] = json!("billing-key-nope");
    let (s, v) = api(&sb, "POST", "/payments/sub-2/billing-key", Some(unknown)).await;
    assert_eq!((s, v["type"].as_str()), (404, Some("BILLING_KEY_NOT_FOUND")));

    let (s, v) = api(&sb, "DELETE", &format!("/billing-keys/{key}"), None).await;
    assert_eq!(s, 200);
    assert!(v["deletedAt"].is_string());
    let (_, b) = api(&sb, "GET", &format!("/billing-keys/{key}"), None).await;
    assert_eq!(b["status"], "DELETED");
    let (s, v) = api(&sb, "DELETE", &format!("/billing-keys/{key}"), None).await;
    assert_eq!((s, v["type"].as_str()), (409, Some("BILLING_KEY_ALREADY_DELETED")));
    let (s, v) = api(&sb, "POST", "/payments/sub-3/billing-key", Some(charge)).await;
    assert_eq!((s, v["type"].as_str()), (409, Some("BILLING_KEY_ALREADY_DELETED")));
    let (s, v) = api(&sb, "GET", "/billing-keys/billing-key-nope", None).await;
    assert_eq!((s, v["type"].as_str()), (404, Some("BILLING_KEY_NOT_FOUND")));
    sb.shutdown().await;
}

#[tokio::test]
async fn schedules_run_on_the_admin_call_and_by_themselves_at_time_to_pay() {
    let sb = start().await;
    let key = issue_tosspay_billing_key(&sb).await;
    let payment = json!({"billingKey": key, "orderName": "다음 달 구독", "amount": {"total": 9900},
        "currency": "KRW", "customer": {"id": "cust-1", "name": {"separated": {"first": "길동", "last": "홍"}}}});
    let later = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let (s, v) = api(
        &sb,
        "POST",
        "/payments/sched-1/schedule",
        Some(json!({"payment": payment, "timeToPay": later})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let schedule_id = v["schedule"]["id"].as_str().unwrap().to_owned();
    let (s, v) = api(
        &sb,
        "POST",
        "/payments/sched-1/schedule",
        Some(json!({"payment": payment, "timeToPay": later})),
    )
    .await;
    assert_eq!((s, v["type"].as_str()), (409, Some("PAYMENT_SCHEDULE_ALREADY_EXISTS")));

    let (_, ran) = admin(&sb, "POST", "/__sandbox/schedules/run", None).await;
    assert_eq!(ran["ran"], json!([]), "not due yet");
    let (s, _) = api(&sb, "GET", "/payments/sched-1", None).await;
    assert_eq!(s, 404);
    let (_, ran) = admin(&sb, "POST", "/__sandbox/schedules/run", Some(json!({"all": true}))).await;
    assert_eq!(ran["ran"], json!([schedule_id]));
    let (_, p) = api(&sb, "GET", "/payments/sched-1", None).await;
    assert_eq!(p["status"], "PAID");
    assert_eq!(p["scheduleId"], schedule_id.as_str());

    // A schedule whose time has come runs by itself (background timer).
    let now = chrono::Utc::now().to_rfc3339();
    let (s, _) = api(
        &sb,
        "POST",
        "/payments/sched-2/schedule",
        Some(json!({"payment": payment, "timeToPay": now})),
    )
    .await;
    assert_eq!(s, 200);
    let sb_ref = &sb;
    wait_for(Duration::from_secs(5), "scheduled payment", || async move {
        let (_, p) = api(sb_ref, "GET", "/payments/sched-2", None).await;
        (p["status"] == "PAID").then_some(())
    })
    .await;

    let (s, v) = api(
        &sb,
        "POST",
        "/payments/sched-3/schedule",
        Some(json!({"payment": payment, "timeToPay": "tomorrow"})),
    )
    .await;
    assert_eq!((s, v["type"].as_str()), (400, Some("INVALID_REQUEST")));
    sb.shutdown().await;
}

#[tokio::test]
async fn malformed_wrongly_typed_and_oversized_bodies_are_invalid_request_and_change_nothing() {
    let sb = start().await;
    pay(&sb, card_request("b-1", 5000), "approve").await;
    let url = format!("{}/payments/b-1/cancel", sb.base_url());
    let auth = format!("PortOne {}", sb.config().api_secret);
    let bodies: Vec<Vec<u8>> = vec![
        b"{not json".to_vec(),
        br#"{"reason": 5}"#.to_vec(),
        br#"{"reason": "x", "amount": "100"}"#.to_vec(),
        br#"{"amount": 100}"#.to_vec(),
        br#"[]"#.to_vec(),
        format!(r#"{{"reason": "{}"}}"#, "x".repeat(70 * 1024)).into_bytes(),
        vec![0xff, 0xfe, 0x00],
    ];
    for body in bodies {
        let res = client()
            .post(&url)
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert!(status == 400 || status == 413, "status {status}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["type"], "INVALID_REQUEST");
        assert!(v["message"].is_string());
    }
    let (_, p) = api(&sb, "GET", "/payments/b-1", None).await;
    assert_eq!(p["status"], "PAID");
    assert_eq!(p["amount"]["cancelled"], 0);
    let (s, v) = admin(
        &sb,
        "POST",
        "/__sandbox/pay",
        Some(json!({"request": {}, "outcome": "explode"})),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("InvalidArgument")));
    for path in [
        "/__sandbox/pay",
        "/__sandbox/sdk/payment",
        "/__sandbox/issue-billing-key",
    ] {
        let res = client()
            .post(format!("{}{path}", sb.base_url()))
            .header("content-type", "application/json")
            .body("{oops")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{path}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(
            v["code"], "InvalidArgument",
            "{path}: the SDK-shaped routes answer code and message"
        );
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn a_virtual_account_is_issued_then_paid_on_deposit() {
    let sb = start().await;
    let mut req = card_request("va-1", 30000);
    req["payMethod"] = json!("VIRTUAL_ACCOUNT");
    let (s, r) = pay(&sb, req, "virtualAccount").await;
    assert_eq!(s, 200, "{r}");
    let (_, p) = api(&sb, "GET", "/payments/va-1", None).await;
    assert_eq!(p["status"], "VIRTUAL_ACCOUNT_ISSUED");
    assert_eq!(p["method"]["type"], "PaymentMethodVirtualAccount");
    assert!(p["method"]["accountNumber"].is_string());
    let (s, v) = api(&sb, "POST", "/payments/va-1/cancel", Some(json!({"reason": "x"}))).await;
    assert_eq!((s, v["type"].as_str()), (409, Some("PAYMENT_NOT_PAID")));
    let (s, p) = admin(&sb, "POST", "/__sandbox/payments/va-1/deposit", None).await;
    assert_eq!(s, 200);
    assert_eq!(p["status"], "PAID");
    let (s, _) = admin(&sb, "POST", "/__sandbox/payments/va-1/deposit", None).await;
    assert_eq!(s, 409);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_tosspay_window_past_its_expired_time_fails_with_pay_time_expired() {
    let sb = start().await;
    let kst = chrono::FixedOffset::east_opt(9 * 3600).unwrap();
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).with_timezone(&kst);
    let mut req = tosspay_request("exp-1", 1000);
    req["bypass"] = json!({"tosspay_v2": {"expiredTime": past.format("%Y-%m-%d %H:%M:%S").to_string()}});
    let (_, r) = pay(&sb, req.clone(), "approve").await;
    assert_eq!(r["code"], "FAILURE_TYPE_PG");
    assert_eq!(r["pgCode"], "PAY_TIME_EXPIRED");
    let (_, p) = api(&sb, "GET", "/payments/exp-1", None).await;
    assert_eq!(p["status"], "FAILED");
    req["bypass"]["tosspay_v2"]["expiredTime"] = json!("2020/01/01");
    let (s, e) = pay(&sb, req, "approve").await;
    assert_eq!((s, e["code"].as_str()), (400, Some("InvalidArgument")));
    sb.shutdown().await;
}

#[tokio::test]
async fn reset_clears_payments_billing_keys_and_faults() {
    let sb = start().await;
    pay(&sb, card_request("r-1", 1000), "approve").await;
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"latencyMs": 5}))).await;
    let (s, _) = admin(&sb, "POST", "/__sandbox/reset", None).await;
    assert_eq!(s, 200);
    let (s, _) = api(&sb, "GET", "/payments/r-1", None).await;
    assert_eq!(s, 404);
    let (_, f) = admin(&sb, "GET", "/__sandbox/faults", None).await;
    assert_eq!(f["latencyMs"], 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn state_survives_a_restart_with_a_state_file() {
    let dir = std::env::temp_dir().join(format!("sandbox-state-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    let config = SandboxConfig {
        state_file: Some(file.clone()),
        ..SandboxConfig::for_tests()
    };
    let sb = start_with(config.clone()).await;
    pay(&sb, card_request("persist-1", 2500), "approve").await;
    sb.shutdown().await;
    let sb = start_with(config).await;
    let (s, p) = api(&sb, "GET", "/payments/persist-1", None).await;
    assert_eq!((s, p["status"].as_str()), (200, Some("PAID")));
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    )
}

#[tokio::test]
async fn the_sdk_script_is_javascript_with_permissive_cors() {
    let sb = start().await;
    let res = client()
        .get(format!("{}/v2/browser-sdk.js", sb.base_url()))
        .header("origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let text = res.text().await.unwrap();
    assert!(text.contains("requestPayment") && text.contains("requestIssueBillingKey"));
    sb.shutdown().await;
}

#[tokio::test]
async fn an_older_window_of_the_same_payment_id_cannot_approve_after_a_newer_attempt() {
    let sb = start().await;
    let open = |id: &'static str| {
        let sb = &sb;
        async move {
            let res = client()
                .post(format!("{}/__sandbox/sdk/payment", sb.base_url()))
                .json(&json!({"request": card_request(id, 1000), "userAgent": "Mozilla/5.0 (X11; Linux x86_64)"}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let v: Value = res.json().await.unwrap();
            v["sessionId"].as_str().unwrap().to_owned()
        }
    };
    let old = open("stale-1").await;
    let new = open("stale-1").await;
    let complete = |sid: String, outcome: &'static str| {
        let sb = &sb;
        async move {
            let v: Value = client()
                .post(format!("{}/__sandbox/sdk/sessions/{sid}/complete", sb.base_url()))
                .json(&json!({"outcome": outcome}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["result"].clone()
        }
    };
    let r = complete(new.clone(), "approve").await;
    assert!(r.get("code").is_none(), "{r}");
    let r = complete(old, "approve").await;
    assert_eq!(r["pgCode"], "TRANSACTION_SUPERSEDED");
    let again = complete(new, "decline").await;
    assert!(again.get("code").is_none(), "a finished window keeps its first result");
    let (_, p) = api(&sb, "GET", "/payments/stale-1", None).await;
    assert_eq!(p["status"], "PAID");
    sb.shutdown().await;
}

#[tokio::test]
async fn a_tosspay_window_left_open_past_expired_time_fails_the_payment_by_itself() {
    let sb = start().await;
    let kst = chrono::FixedOffset::east_opt(9 * 3600).unwrap();
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).with_timezone(&kst);
    let mut req = tosspay_request("exp-open", 1000);
    req["bypass"] = json!({"tosspay_v2": {"expiredTime": soon.format("%Y-%m-%d %H:%M:%S").to_string()}});
    let res = client()
        .post(format!("{}/__sandbox/sdk/payment", sb.base_url()))
        .json(&json!({"request": req, "userAgent": "Mozilla/5.0 (X11; Linux x86_64)"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (_, p) = api(&sb, "GET", "/payments/exp-open", None).await;
    assert_eq!(p["status"], "READY", "the window is open");
    let sb_ref = &sb;
    let p = wait_for(Duration::from_secs(10), "expiry", || async move {
        let (_, p) = api(sb_ref, "GET", "/payments/exp-open", None).await;
        (p["status"] == "FAILED").then_some(p)
    })
    .await;
    assert_eq!(p["failure"]["pgCode"], "PAY_TIME_EXPIRED");
    let mut too_far = tosspay_request("exp-far", 1000);
    let far = (chrono::Utc::now() + chrono::Duration::minutes(90)).with_timezone(&kst);
    too_far["bypass"] = json!({"tosspay_v2": {"expiredTime": far.format("%Y-%m-%d %H:%M:%S").to_string()}});
    let (s, e) = pay(&sb, too_far, "approve").await;
    assert_eq!((s, e["code"].as_str()), (400, Some("InvalidArgument")));
    sb.shutdown().await;
}

#[tokio::test]
async fn a_pay_pending_payment_settles_to_paid_or_failed_through_the_admin_api() {
    let sb = start().await;
    let (s, r) = pay(&sb, card_request("pend-1", 2000), "payPending").await;
    assert_eq!(s, 200, "{r}");
    assert!(r.get("code").is_none(), "the SDK reports success for a pending payment");
    let (_, p) = api(&sb, "GET", "/payments/pend-1", None).await;
    assert_eq!(p["status"], "PAY_PENDING");
    assert!(p["pgTxId"].is_string());
    let (s, v) = api(&sb, "POST", "/payments/pend-1/cancel", Some(json!({"reason": "x"}))).await;
    assert_eq!((s, v["type"].as_str()), (409, Some("PAYMENT_NOT_PAID")));
    let (s, p) = admin(
        &sb,
        "POST",
        "/__sandbox/payments/pend-1/settle-pending",
        Some(json!({"outcome": "approve"})),
    )
    .await;
    assert_eq!((s, p["status"].as_str()), (200, Some("PAID")));
    let (s, _) = admin(
        &sb,
        "POST",
        "/__sandbox/payments/pend-1/settle-pending",
        Some(json!({"outcome": "approve"})),
    )
    .await;
    assert_eq!(s, 409);

    pay(&sb, card_request("pend-2", 2000), "payPending").await;
    let (s, e) = pay(&sb, card_request("pend-2", 2000), "approve").await;
    assert_eq!(
        (s, e["code"].as_str()),
        (400, Some("PaymentAlreadyPaid")),
        "a pending payment is not re-opened"
    );
    let (_, p) = admin(
        &sb,
        "POST",
        "/__sandbox/payments/pend-2/settle-pending",
        Some(json!({"outcome": "decline"})),
    )
    .await;
    assert_eq!(p["status"], "FAILED");
    assert_eq!(p["failure"]["pgCode"], "INSUFFICIENT_BALANCE");
    sb.shutdown().await;
}

#[tokio::test]
async fn the_admin_schedule_list_shows_each_schedule_and_its_status() {
    let sb = start().await;
    let key = issue_tosspay_billing_key(&sb).await;
    let payment = json!({"billingKey": key, "orderName": "구독", "amount": {"total": 1000},
        "currency": "KRW", "customer": {"name": {"full": "홍길동"}}});
    let later = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let (_, v) = api(
        &sb,
        "POST",
        "/payments/list-1/schedule",
        Some(json!({"payment": payment, "timeToPay": later})),
    )
    .await;
    let (_, list) = admin(&sb, "GET", "/__sandbox/schedules", None).await;
    assert_eq!(list[0]["id"], v["schedule"]["id"]);
    assert_eq!(list[0]["paymentId"], "list-1");
    assert_eq!(list[0]["status"], "SCHEDULED");
    // Deleting the billing key revokes its pending schedules.
    api(&sb, "DELETE", &format!("/billing-keys/{key}"), None).await;
    let (_, list) = admin(&sb, "GET", "/__sandbox/schedules", None).await;
    assert_eq!(list[0]["status"], "REVOKED");
    let (_, ran) = admin(&sb, "POST", "/__sandbox/schedules/run", Some(json!({"all": true}))).await;
    assert_eq!(ran["ran"], json!([]));
    sb.shutdown().await;
}

#[tokio::test]
async fn a_post_to_reset_without_a_json_content_type_is_refused_with_415_and_changes_nothing() {
    let sb = start().await;
    pay(&sb, card_request("csrf-reset", 1000), "approve").await;
    admin(&sb, "PUT", "/__sandbox/faults", Some(json!({"pgFailNext": 3}))).await;
    // What a cross-site form or `fetch(.., {mode: "no-cors"})` can send without a preflight.
    for headers in [
        vec![("content-type", "text/plain")],
        vec![("content-type", "text/plain;charset=UTF-8")],
        vec![("content-type", "application/x-www-form-urlencoded")],
        vec![],
    ] {
        let (s, _, v) = raw(&sb, "POST", "/__sandbox/reset", &headers, "{}").await;
        assert_eq!(
            (s, v["type"].as_str()),
            (415, Some("UNSUPPORTED_MEDIA_TYPE")),
            "{headers:?}"
        );
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("Content-Type: application/json"),
            "{v}"
        );
    }
    let (s, _) = api(&sb, "GET", "/payments/csrf-reset", None).await;
    assert_eq!(s, 200, "the payment survived");
    let (_, f) = admin(&sb, "GET", "/__sandbox/faults", None).await;
    assert_eq!(f["pgFailNext"], 3, "the faults survived");

    let json_ct = [("content-type", "application/json")];
    let (s, _, _) = raw(&sb, "POST", "/__sandbox/reset", &json_ct, "").await;
    assert_eq!(s, 200, "an empty body is fine with the JSON content type");
    let (s, _) = api(&sb, "GET", "/payments/csrf-reset", None).await;
    assert_eq!(s, 404);
    let (_, f) = admin(&sb, "GET", "/__sandbox/faults", None).await;
    assert_eq!(f["pgFailNext"], 0);
    let (s, _, _) = raw(
        &sb,
        "POST",
        "/__sandbox/reset",
        &[("content-type", "application/json; charset=utf-8")],
        "{}",
    )
    .await;
    assert_eq!(s, 200, "`{{}}` and a charset parameter are fine too");
    sb.shutdown().await;
}

#[tokio::test]
async fn a_text_plain_post_to_pay_or_put_to_faults_is_refused_with_415_and_changes_nothing() {
    let sb = start().await;
    let body = json!({"request": card_request("csrf-pay", 1000), "outcome": "approve"}).to_string();
    let text = [("content-type", "text/plain")];
    let (s, _, v) = raw(&sb, "POST", "/__sandbox/pay", &text, &body).await;
    assert_eq!((s, v["type"].as_str()), (415, Some("UNSUPPORTED_MEDIA_TYPE")), "{v}");
    let (s, _) = api(&sb, "GET", "/payments/csrf-pay", None).await;
    assert_eq!(s, 404, "no payment was made");
    let (_, a) = admin(&sb, "GET", "/__sandbox/payments/csrf-pay/attempts", None).await;
    assert_eq!(a["attempts"], 0, "no window was opened");
    let (s, _, v) = raw(&sb, "PUT", "/__sandbox/faults", &text, r#"{"failNext": 5}"#).await;
    assert_eq!((s, v["type"].as_str()), (415, Some("UNSUPPORTED_MEDIA_TYPE")));
    let (_, f) = admin(&sb, "GET", "/__sandbox/faults", None).await;
    assert_eq!(f["failNext"], 0, "the faults are unchanged");

    let (s, _, r) = raw(
        &sb,
        "POST",
        "/__sandbox/pay",
        &[("content-type", "application/json")],
        &body,
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["paymentId"], "csrf-pay");
    let (_, p) = api(&sb, "GET", "/payments/csrf-pay", None).await;
    assert_eq!(p["status"], "PAID");
    sb.shutdown().await;
}

#[tokio::test]
async fn admin_routes_answer_no_cors_preflight_and_send_no_cors_headers() {
    let sb = start().await;
    let preflight = [
        ("origin", "http://evil.example"),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "content-type"),
    ];
    for path in [
        "/__sandbox/reset",
        "/__sandbox/pay",
        "/__sandbox/faults",
        "/__sandbox/webhook-targets",
        "/__sandbox/schedules/run",
    ] {
        let (s, h, _) = raw(&sb, "OPTIONS", path, &preflight, "").await;
        assert!(!(200..300).contains(&s), "{path}: preflight answered {s}");
        assert!(h.get("access-control-allow-origin").is_none(), "{path}: {h:?}");
        assert!(h.get("access-control-allow-methods").is_none(), "{path}: {h:?}");
        assert!(h.get("access-control-allow-headers").is_none(), "{path}: {h:?}");
    }
    let (s, h, _) = raw(&sb, "GET", "/__sandbox/info", &[("origin", "http://evil.example")], "").await;
    assert_eq!(s, 200);
    assert!(
        h.get("access-control-allow-origin").is_none(),
        "a page on another origin cannot read the secrets"
    );
    // The SDK-support routes, called from merchant pages, keep permissive CORS.
    let (s, h, _) = raw(&sb, "OPTIONS", "/__sandbox/sdk/payment", &preflight, "").await;
    assert_eq!(s, 200);
    assert_eq!(h["access-control-allow-origin"], "*");
    sb.shutdown().await;
}

#[tokio::test]
async fn a_second_schedule_for_a_payment_id_with_a_scheduled_one_is_409_and_keeps_the_first() {
    let sb = start().await;
    let key = issue_tosspay_billing_key(&sb).await;
    let payment = json!({"billingKey": key, "orderName": "구독", "amount": {"total": 1000},
        "currency": "KRW", "customer": {"name": {"full": "홍길동"}}});
    let later = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let (s, first) = api(
        &sb,
        "POST",
        "/payments/dup-sched/schedule",
        Some(json!({"payment": payment, "timeToPay": later})),
    )
    .await;
    assert_eq!(s, 200, "{first}");
    let mut other = payment.clone();
    other["amount"]["total"] = json!(2000);
    let (s, v) = api(
        &sb,
        "POST",
        "/payments/dup-sched/schedule",
        Some(json!({"payment": other, "timeToPay": later})),
    )
    .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("PAYMENT_SCHEDULE_ALREADY_EXISTS")),
        "{v}"
    );
    assert!(v["message"].is_string());
    let (_, list) = admin(&sb, "GET", "/__sandbox/schedules", None).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["id"], first["schedule"]["id"]);
    assert_eq!(
        (list[0]["status"].as_str(), list[0]["totalAmount"].as_i64()),
        (Some("SCHEDULED"), Some(1000))
    );
    sb.shutdown().await;
}
