//! The browser SDK stand-in in headless Chromium (fantoccini + chromedriver).
//! These tests FAIL when Chromium/chromedriver are missing: they never skip.

mod common;
#[path = "support/browser.rs"]
mod support;

use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use common::*;
use fantoccini::{Client, Locator};
use portone_sandbox::RunningSandbox;
use serde_json::{json, Value};
use support::*;

/// A merchant page on ANOTHER origin than the sandbox, loading the SDK stand-in.
async fn merchant_site() -> String {
    async fn page(Query(q): Query<std::collections::HashMap<String, String>>) -> Html<String> {
        let sdk = q.get("sdk").cloned().unwrap_or_default();
        let sdk = sdk.replace(['"', '<', '>', '\\'], "");
        // `dynamic=1` injects the script the way @portone/browser-sdk's loader does.
        let tag = if q.contains_key("dynamic") {
            format!(
                r#"<script>var s = document.createElement("script"); s.src = "{sdk}";
document.head.appendChild(s);</script>"#
            )
        } else {
            format!(r#"<script src="{sdk}"></script>"#)
        };
        Html(format!(
            r#"<!doctype html><html><head><meta charset="utf-8"><title>merchant</title>
{tag}
<script>
window.__run = function (fn, req) {{
  window.__done = false; window.__result = undefined; window.__error = undefined;
  window.PortOne[fn](req).then(function (r) {{
    window.__result = r === undefined ? null : r; window.__done = true;
  }}, function (e) {{
    window.__error = {{ isError: e instanceof Error, code: e.code, message: e.message,
      type: e.__portOneErrorType, transactionType: e.transactionType }};
    window.__done = true;
  }});
}};
</script></head><body><h1>merchant checkout</h1></body></html>"#
        ))
    }
    let app = Router::new().route("/checkout", get(page)).route(
        "/return",
        get(|| async { Html("<!doctype html><title>returned</title><p>back</p>") }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

async fn open_checkout(c: &Client, site: &str, sb: &RunningSandbox, sdk_query: &str) {
    open_checkout_page(c, site, sb, sdk_query, false).await
}

async fn open_checkout_page(c: &Client, site: &str, sb: &RunningSandbox, sdk_query: &str, dynamic: bool) {
    let sdk = format!("{}/v2/browser-sdk.js{sdk_query}", sb.base_url());
    let extra = if dynamic { "&dynamic=1" } else { "" };
    let url = format!("{site}/checkout?sdk={}{extra}", urlencode(&sdk));
    c.goto(&url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ok = c
            .execute("return !!(window.PortOne && window.__run)", vec![])
            .await
            .unwrap();
        if ok == true {
            break;
        }
        assert!(Instant::now() < deadline, "SDK stand-in did not load");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn run(c: &Client, func: &str, req: Value) {
    c.execute(
        "window.__run(arguments[0], arguments[1]); return true;",
        vec![json!(func), req],
    )
    .await
    .unwrap();
}

/// Waits for the promise to settle: Ok(resolved value) or Err(rejection object).
async fn settled(c: &Client) -> Result<Value, Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = c
            .execute(
                "return window.__done ? {result: window.__result, error: window.__error} : null",
                vec![],
            )
            .await
            .unwrap();
        if !v.is_null() {
            return match v.get("error").filter(|e| !e.is_null()) {
                Some(e) => Err(e.clone()),
                None => Ok(v["result"].clone()),
            };
        }
        assert!(Instant::now() < deadline, "the SDK promise did not settle");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn pc_iframe_approve_resolves_success_shows_the_order_escaped_and_marks_the_payment_paid() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    open_checkout(&c, &site, &sb, "").await;
    let mut req = tosspay_request("browser-ok", 15000);
    req["orderName"] = json!("<b>커피</b> & \"빵\"");
    run(&c, "requestPayment", req).await;

    element(&c, "iframe[data-testid=sandbox-iframe]").await;
    c.enter_frame(Some(0)).await.unwrap();
    let name = element(&c, "[data-testid=sandbox-order-name]").await;
    assert_eq!(
        name.text().await.unwrap(),
        "<b>커피</b> & \"빵\"",
        "rendered as text, not HTML"
    );
    let amount = c.find(Locator::Css("[data-testid=sandbox-amount]")).await.unwrap();
    assert_eq!(amount.text().await.unwrap(), "15,000원");
    let store = c.find(Locator::Css("[data-testid=sandbox-store]")).await.unwrap();
    assert_eq!(store.text().await.unwrap(), "store-sandbox");
    c.find(Locator::Css("[data-testid=sandbox-approve]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.enter_parent_frame().await.unwrap();

    let r = settled(&c).await.expect("resolves");
    assert_eq!(r["transactionType"], "PAYMENT");
    assert_eq!(r["paymentId"], "browser-ok");
    assert!(r["txId"].is_string());
    assert!(r.get("code").is_none(), "{r}");
    assert_eq!(overlay_count(&c).await, 0, "the overlay is removed");
    let (_, p) = api(&sb, "GET", "/payments/browser-ok", None).await;
    assert_eq!(p["status"], "PAID");
    assert_eq!(p["transactionId"], r["txId"]);
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn pc_iframe_decline_and_cancel_resolve_pg_failures_and_closing_the_overlay_is_a_cancel() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    open_checkout(&c, &site, &sb, "").await;

    run(&c, "requestPayment", card_request("browser-fail", 3000)).await;
    click_in_iframe(&c, "sandbox-decline").await;
    let r = settled(&c).await.expect("a PG decline resolves");
    assert_eq!(r["code"], "FAILURE_TYPE_PG");
    assert_eq!(r["pgCode"], "INSUFFICIENT_BALANCE");
    assert_eq!(r["pgMessage"], "잔액이 부족합니다.");
    assert_eq!(r["paymentId"], "browser-fail");
    assert_eq!(overlay_count(&c).await, 0);

    run(&c, "requestPayment", card_request("browser-fail", 3000)).await;
    click_in_iframe(&c, "sandbox-cancel").await;
    let r = settled(&c).await.expect("a user cancel resolves");
    assert_eq!(r["code"], "FAILURE_TYPE_PG");
    assert_eq!(r["pgCode"], "PAY_PROCESS_CANCELED");

    run(&c, "requestPayment", card_request("browser-fail", 3000)).await;
    element(&c, "[data-testid=sandbox-overlay-close]")
        .await
        .click()
        .await
        .unwrap();
    let r = settled(&c).await.expect("closing resolves");
    assert_eq!(r["pgCode"], "PAY_PROCESS_CANCELED");
    assert_eq!(overlay_count(&c).await, 0);
    let (_, a) = admin(&sb, "GET", "/__sandbox/payments/browser-fail/attempts", None).await;
    assert_eq!(a["attempts"], 3);
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn bad_requests_reject_the_promise_with_a_portone_error_code() {
    let sb = start().await;
    pay(&sb, card_request("browser-paid", 1000), "approve").await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    open_checkout(&c, &site, &sb, "").await;

    let mut req = tosspay_request("browser-bad", 1000);
    req.as_object_mut().unwrap().remove("orderName");
    run(&c, "requestPayment", req).await;
    let e = settled(&c).await.expect_err("rejects");
    assert_eq!(e["isError"], true);
    assert_eq!(e["code"], "InvalidArgument");
    assert_eq!(e["type"], "PaymentError");
    assert_eq!(e["transactionType"], "PAYMENT");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(overlay_count(&c).await, 0, "no window opened");

    run(&c, "requestPayment", card_request("browser-paid", 1000)).await;
    let e = settled(&c).await.expect_err("rejects");
    assert_eq!(e["code"], "PaymentAlreadyPaid");

    run(
        &c,
        "requestIssueBillingKey",
        json!({"storeId": "store-sandbox",
        "channelKey": "channel-key-sandbox-tosspay", "billingKeyMethod": "EASY_PAY"}),
    )
    .await;
    let e = settled(&c)
        .await
        .expect_err("TossPay billing without customerId rejects");
    assert_eq!(e["code"], "InvalidArgument");
    assert_eq!(e["type"], "IssueBillingKeyError");
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn preset_outcomes_and_popup_windows_resolve_without_the_overlay() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    // ?outcome=approve on the script URL: no click needed; windowType.pc POPUP opens a popup.
    open_checkout(&c, &site, &sb, "?outcome=approve").await;
    let mut req = tosspay_request("browser-popup", 2000);
    req["windowType"] = json!({"pc": "POPUP"});
    run(&c, "requestPayment", req).await;
    let r = settled(&c).await.expect("resolves");
    assert!(r.get("code").is_none(), "{r}");
    assert_eq!(overlay_count(&c).await, 0);

    // bypass.sandbox.outcome overrides the script default, here in the iframe overlay.
    let mut req = tosspay_request("browser-preset", 2000);
    req["bypass"] = json!({"sandbox": {"outcome": "decline"}});
    run(&c, "requestPayment", req).await;
    let r = settled(&c).await.expect("resolves");
    assert_eq!(r["pgCode"], "INSUFFICIENT_BALANCE");

    // Billing key through the overlay with a preset outcome; the REST API then knows the key.
    run(
        &c,
        "requestIssueBillingKey",
        json!({"storeId": "store-sandbox",
        "channelKey": "channel-key-sandbox-tosspay", "billingKeyMethod": "EASY_PAY",
        "issueName": "구독", "customer": {"customerId": "cust-9"}}),
    )
    .await;
    let r = settled(&c).await.expect("resolves");
    assert_eq!(r["transactionType"], "ISSUE_BILLING_KEY");
    let key = r["billingKey"].as_str().expect("billingKey").to_owned();
    let (s, b) = api(&sb, "GET", &format!("/billing-keys/{key}"), None).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("ISSUED")));
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn closing_a_popup_without_a_choice_resolves_as_a_user_cancel() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    open_checkout(&c, &site, &sb, "").await;
    let main = c.window().await.unwrap();
    let mut req = card_request("browser-popup-close", 2000);
    req["windowType"] = json!({"pc": "POPUP"});
    run(&c, "requestPayment", req).await;
    switch_to_popup(&c, &main).await;
    element(&c, "[data-testid=sandbox-approve]").await;
    c.close_window().await.unwrap();
    c.switch_to_window(main).await.unwrap();
    let r = settled(&c).await.expect("resolves");
    assert_eq!(r["pgCode"], "PAY_PROCESS_CANCELED");
    let (_, p) = api(&sb, "GET", "/payments/browser-popup-close", None).await;
    assert_eq!(p["status"], "FAILED");
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn on_a_mobile_profile_the_window_redirects_back_to_redirect_url_with_the_result_query() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, true).await;
    open_checkout(&c, &site, &sb, "").await;

    // Without redirectUrl the mobile flow is refused before any window.
    run(&c, "requestPayment", tosspay_request("mobile-1", 8000)).await;
    let e = settled(&c).await.expect_err("mobile needs redirectUrl");
    assert_eq!(e["code"], "InvalidArgument");

    let mut req = tosspay_request("mobile-1", 8000);
    req["redirectUrl"] = json!(format!("{site}/return?order=abc"));
    run(&c, "requestPayment", req.clone()).await;
    let approve = element(&c, "[data-testid=sandbox-approve]").await;
    assert!(
        c.current_url().await.unwrap().as_str().starts_with(&sb.base_url()),
        "left the merchant page"
    );
    approve.click().await.unwrap();
    let u = wait_for_return(&c).await;
    let q = query(&u);
    assert_eq!(q["order"], "abc", "the redirectUrl's own query is kept");
    assert_eq!(q["paymentId"], "mobile-1");
    assert_eq!(q["transactionType"], "PAYMENT");
    assert!(q.contains_key("txId"));
    assert!(!q.contains_key("code"));
    let (_, p) = api(&sb, "GET", "/payments/mobile-1", None).await;
    assert_eq!(p["status"], "PAID");

    // A declined mobile payment comes back with the failure keys.
    open_checkout(&c, &site, &sb, "").await;
    let mut req = tosspay_request("mobile-2", 8000);
    req["redirectUrl"] = json!(format!("{site}/return"));
    run(&c, "requestPayment", req).await;
    element(&c, "[data-testid=sandbox-decline]")
        .await
        .click()
        .await
        .unwrap();
    let q = query(&wait_for_return(&c).await);
    assert_eq!(q["paymentId"], "mobile-2");
    assert_eq!(q["code"], "FAILURE_TYPE_PG");
    assert_eq!(q["pgCode"], "INSUFFICIENT_BALANCE");
    assert_eq!(q["pgMessage"], "잔액이 부족합니다.");
    assert!(q.contains_key("message"));
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn an_sdk_injected_by_a_loader_on_another_origin_talks_to_the_sandbox_origin() {
    let sb = start().await;
    let site = merchant_site().await;
    assert_ne!(site, sb.base_url());
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    open_checkout_page(&c, &site, &sb, "?outcome=approve", true).await;
    run(&c, "requestPayment", card_request("browser-dynamic", 1200)).await;
    let r = settled(&c).await.expect("resolves");
    assert_eq!(r["paymentId"], "browser-dynamic");
    assert!(r.get("code").is_none(), "{r}");
    let (_, p) = api(&sb, "GET", "/payments/browser-dynamic", None).await;
    assert_eq!(p["status"], "PAID");
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn a_pc_popup_is_opened_within_the_call_before_the_round_trip_and_reused_for_the_window() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    open_checkout(&c, &site, &sb, "?outcome=approve").await;
    // window.open wrapped to record its calls; the count is read as the call returns.
    let count = r#"var real = window.open; window.__opens = [];
window.open = function (url) { window.__opens.push(String(url)); return real.apply(window, arguments); };
window.__run(arguments[0], arguments[1]);
return window.__opens.length;"#;
    let mut req = tosspay_request("browser-popup-sync", 2000);
    req["windowType"] = json!({"pc": "POPUP"});
    let sync = c.execute(count, vec![json!("requestPayment"), req]).await.unwrap();
    assert_eq!(sync, 1, "window.open within the caller's task");
    let r = settled(&c).await.expect("resolves");
    assert_eq!(r["paymentId"], "browser-popup-sync", "{r}");
    let opens = c.execute("return window.__opens", vec![]).await.unwrap();
    assert_eq!(opens, json!(["about:blank"]), "the early popup shows the window");
    assert_eq!(overlay_count(&c).await, 0);
    c.close().await.unwrap();
    sb.shutdown().await;
}
