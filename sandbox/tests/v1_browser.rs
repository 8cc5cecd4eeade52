//! The PortOne V1 `IMP` stand-in (`/v1/iamport.js`) in headless Chromium
//! (fantoccini + chromedriver), on a merchant page of another origin.
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

const USER_CODE: &str = "imp00000000";

/// A merchant page on ANOTHER origin than the sandbox, loading `/v1/iamport.js`.
/// `__run(userCode, params)` calls `IMP.init(userCode)` (unless null) and
/// `IMP.request_pay(params, callback)`; the callback stores its object in `__rsp`.
async fn merchant_site() -> String {
    async fn page(Query(q): Query<std::collections::HashMap<String, String>>) -> Html<String> {
        let sdk = q
            .get("sdk")
            .cloned()
            .unwrap_or_default()
            .replace(['"', '<', '>', '\\'], "");
        Html(format!(
            r#"<!doctype html><html><head><meta charset="utf-8"><title>merchant</title>
<script src="{sdk}"></script>
<script>
window.__run = function (code, params) {{
  window.__done = false; window.__rsp = undefined;
  if (code !== null) IMP.init(code);
  IMP.request_pay(params, function (rsp) {{ window.__rsp = rsp; window.__done = true; }});
}};
</script></head><body><h1>merchant checkout (V1)</h1></body></html>"#
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
    let sdk = format!("{}/v1/iamport.js{sdk_query}", sb.base_url());
    c.goto(&format!("{site}/checkout?sdk={}", urlencode(&sdk)))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while c
        .execute("return !!(window.IMP && window.__run)", vec![])
        .await
        .unwrap()
        != true
    {
        assert!(Instant::now() < deadline, "the IMP stand-in did not load");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn request_pay(c: &Client, user_code: Option<&str>, params: Value) {
    c.execute(
        "window.__run(arguments[0], arguments[1]); return true;",
        vec![json!(user_code), params],
    )
    .await
    .unwrap();
}

/// Waits for the callback; its object.
async fn callback(c: &Client) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = c
            .execute("return window.__done ? window.__rsp : null", vec![])
            .await
            .unwrap();
        if !v.is_null() {
            return v;
        }
        assert!(Instant::now() < deadline, "the request_pay callback never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn pc_iframe_approve_calls_back_with_the_imp_uid_and_the_payment_reads_paid() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    open_checkout(&c, &site, &sb, "").await;
    request_pay(&c, Some(USER_CODE), v1_params("v1-browser-ok", 15000)).await;

    element(&c, "iframe[data-testid=sandbox-iframe]").await;
    c.enter_frame(Some(0)).await.unwrap();
    let amount = element(&c, "[data-testid=sandbox-amount]").await;
    assert_eq!(amount.text().await.unwrap(), "15,000원");
    let name = c.find(Locator::Css("[data-testid=sandbox-order-name]")).await.unwrap();
    assert_eq!(name.text().await.unwrap(), "테스트 주문");
    c.find(Locator::Css("[data-testid=sandbox-approve]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.enter_parent_frame().await.unwrap();

    let rsp = callback(&c).await;
    assert_eq!(rsp["success"], true, "{rsp}");
    assert_eq!(rsp["imp_success"], true);
    assert_eq!(rsp["merchant_uid"], "v1-browser-ok");
    assert_eq!(rsp["paid_amount"], 15000);
    assert_eq!(rsp["status"], "paid");
    assert_eq!(rsp["pg_provider"], "tosspay_v2");
    assert!(rsp["error_code"].is_null());
    let imp_uid = rsp["imp_uid"].as_str().expect("imp_uid").to_owned();
    assert_eq!(overlay_count(&c).await, 0, "the overlay is removed");
    let (_, v) = v1_api(&sb, "GET", &format!("/payments/{imp_uid}"), None).await;
    assert_eq!(v["response"]["status"], "paid");
    assert_eq!(v["response"]["channel"], "pc");
    assert!(v["response"]["user_agent"].as_str().unwrap().contains("Chrome"));
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn pc_decline_and_closing_the_overlay_call_back_with_errors() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    open_checkout(&c, &site, &sb, "").await;

    request_pay(&c, Some(USER_CODE), v1_params("v1-browser-fail", 3000)).await;
    click_in_iframe(&c, "sandbox-decline").await;
    let rsp = callback(&c).await;
    assert_eq!(
        (rsp["success"].clone(), rsp["imp_success"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(rsp["error_code"], "INSUFFICIENT_BALANCE");
    assert_eq!(rsp["error_msg"], "잔액이 부족합니다.");
    assert_eq!(rsp["status"], "failed");
    assert!(rsp["imp_uid"].is_string(), "the attempt has an imp_uid: {rsp}");
    assert_eq!(overlay_count(&c).await, 0);

    request_pay(&c, Some(USER_CODE), v1_params("v1-browser-fail", 3000)).await;
    element(&c, "[data-testid=sandbox-overlay-close]")
        .await
        .click()
        .await
        .unwrap();
    let rsp = callback(&c).await;
    assert_eq!(rsp["error_code"], "PAY_PROCESS_CANCELED");
    assert_eq!(overlay_count(&c).await, 0);
    let (_, v) = v1_api(&sb, "GET", "/payments/find/v1-browser-fail", None).await;
    assert_eq!(v["response"]["imp_uid"], rsp["imp_uid"], "the newest attempt");
    assert_eq!(v["response"]["status"], "failed");
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn a_missing_init_an_unknown_user_code_and_invalid_params_call_back_an_error_and_open_no_window() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    open_checkout(&c, &site, &sb, "").await;

    request_pay(&c, None, v1_params("v1-bad", 1000)).await;
    let rsp = callback(&c).await;
    assert_eq!(rsp["success"], false);
    assert_eq!(rsp["error_code"], "NOT_INITIALIZED");
    assert!(rsp["error_msg"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(rsp["imp_uid"].is_null());
    assert_eq!(rsp["merchant_uid"], "v1-bad");

    request_pay(&c, Some("imp99999999"), v1_params("v1-bad", 1000)).await;
    assert_eq!(callback(&c).await["error_code"], "INVALID_USER_CODE");

    let mut params = v1_params("v1-bad", 1000);
    params["amount"] = json!("1000");
    request_pay(&c, Some(USER_CODE), params).await;
    let rsp = callback(&c).await;
    assert_eq!(rsp["error_code"], "INVALID_PARAMETER");
    assert!(rsp["error_msg"].as_str().unwrap().contains("amount"), "{rsp}");

    let mut params = v1_params("v1-bad", 1000);
    params["pay_method"] = json!("card");
    request_pay(&c, Some(USER_CODE), params).await;
    assert_eq!(callback(&c).await["error_code"], "INVALID_PARAMETER");
    assert_eq!(overlay_count(&c).await, 0, "no window opened");
    let (s, _) = v1_api(&sb, "GET", "/payments/find/v1-bad", None).await;
    assert_eq!(s, 404, "no payment was made");
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn on_a_phone_request_pay_redirects_to_m_redirect_url_with_imp_uid_and_imp_success() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, true).await;
    open_checkout(&c, &site, &sb, "").await;

    // Without m_redirect_url the phone flow is refused before any window.
    request_pay(&c, Some(USER_CODE), v1_params("v1-mobile-1", 8000)).await;
    assert_eq!(callback(&c).await["error_code"], "INVALID_PARAMETER");

    let mut params = v1_params("v1-mobile-1", 8000);
    params["m_redirect_url"] = json!(format!("{site}/return?order=abc"));
    request_pay(&c, Some(USER_CODE), params).await;
    let approve = element(&c, "[data-testid=sandbox-approve]").await;
    assert!(
        c.current_url().await.unwrap().as_str().starts_with(&sb.base_url()),
        "left the merchant page"
    );
    approve.click().await.unwrap();
    let q = query(&wait_for_return(&c).await);
    assert_eq!(q["order"], "abc", "the URL's own query is kept");
    assert_eq!(q["merchant_uid"], "v1-mobile-1");
    assert_eq!(q["imp_success"], "true");
    assert!(!q.contains_key("error_code"));
    let (_, v) = v1_api(&sb, "GET", &format!("/payments/{}", q["imp_uid"]), None).await;
    assert_eq!(v["response"]["status"], "paid");
    assert_eq!(v["response"]["channel"], "mobile");

    open_checkout(&c, &site, &sb, "").await;
    let mut params = v1_params("v1-mobile-2", 8000);
    params["m_redirect_url"] = json!(format!("{site}/return"));
    request_pay(&c, Some(USER_CODE), params).await;
    element(&c, "[data-testid=sandbox-decline]")
        .await
        .click()
        .await
        .unwrap();
    let q = query(&wait_for_return(&c).await);
    assert_eq!(q["merchant_uid"], "v1-mobile-2");
    assert!(q["imp_uid"].starts_with("imp_"));
    assert_eq!(q["imp_success"], "false");
    assert_eq!(q["error_code"], "INSUFFICIENT_BALANCE");
    assert_eq!(q["error_msg"], "잔액이 부족합니다.");
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn a_billing_key_window_with_customer_uid_issues_the_key_in_a_popup_with_a_preset_outcome() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    // ?outcome=approve on the script URL: no click needed; popup: true opens a popup.
    open_checkout(&c, &site, &sb, "?outcome=approve").await;
    let mut params = v1_billing_params("v1-browser-cust", "v1-browser-issue");
    params["popup"] = json!(true);
    request_pay(&c, Some(USER_CODE), params).await;
    let rsp = callback(&c).await;
    assert_eq!(rsp["success"], true, "{rsp}");
    assert_eq!(rsp["customer_uid"], "v1-browser-cust");
    assert_eq!(rsp["paid_amount"], 0);
    assert_eq!(overlay_count(&c).await, 0, "a popup, not the overlay");
    let (s, v) = v1_api(&sb, "GET", "/subscribe/customers/v1-browser-cust", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["response"]["customer_id"], "user-0001");
    let (_, v) = v1_api(
        &sb,
        "GET",
        &format!("/payments/{}", rsp["imp_uid"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(v["response"]["customer_uid_usage"], "issue");

    // bypass.sandbox.outcome overrides the script's preset, here in the overlay.
    let mut params = v1_billing_params("v1-browser-cust-2", "v1-browser-issue-2");
    params["bypass"] = json!({"sandbox": {"outcome": "decline"}});
    request_pay(&c, Some(USER_CODE), params).await;
    let rsp = callback(&c).await;
    assert_eq!(rsp["success"], false);
    assert_eq!(rsp["error_code"], "INSUFFICIENT_BALANCE");
    let (s, _) = v1_api(&sb, "GET", "/subscribe/customers/v1-browser-cust-2", None).await;
    assert_eq!(s, 404);
    c.close().await.unwrap();
    sb.shutdown().await;
}

/// Runs `request_pay` with `window.open` wrapped to record its calls in
/// `window.__opens` (`{url, win}`); answers how many were made before
/// `request_pay` returned, i.e. in the caller's own task. `refuse` makes the
/// wrapper return null like a browser blocking the popup.
async fn request_pay_counting_opens(c: &Client, params: Value, refuse: bool) -> u64 {
    c.execute(
        r#"var refuse = arguments[2];
if (!window.__realOpen) window.__realOpen = window.open;
window.__opens = [];
window.open = function (url) {
  var win = refuse ? null : window.__realOpen.apply(window, arguments);
  window.__opens.push({ url: String(url), win: win });
  return win;
};
window.__run(arguments[0], arguments[1]);
return window.__opens.length;"#,
        vec![json!(USER_CODE), params, json!(refuse)],
    )
    .await
    .unwrap()
    .as_u64()
    .expect("a count")
}

async fn opened_urls(c: &Client) -> Vec<String> {
    let v = c
        .execute("return window.__opens.map(function (o) { return o.url; })", vec![])
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn a_popup_is_opened_within_request_pay_before_the_round_trip_and_shows_the_window() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    open_checkout(&c, &site, &sb, "?outcome=approve").await;

    // popup: true: one window.open, made synchronously inside request_pay
    // (WebKit refuses one made after the fetch), later pointed at the window.
    let mut params = v1_params("v1-popup-sync", 1000);
    params["popup"] = json!(true);
    assert_eq!(
        request_pay_counting_opens(&c, params, false).await,
        1,
        "window.open within the caller's task"
    );
    let rsp = callback(&c).await;
    assert_eq!(rsp["success"], true, "{rsp}");
    assert_eq!(opened_urls(&c).await, ["about:blank"], "the same popup is reused");
    assert_eq!(overlay_count(&c).await, 0, "a popup, not the overlay");
    let closed = c.execute("return window.__opens[0].win.closed", vec![]).await.unwrap();
    assert_eq!(closed, true, "the popup is closed once the window has answered");

    // Without popup: no window.open at all (the overlay).
    assert_eq!(
        request_pay_counting_opens(&c, v1_params("v1-popup-none", 1000), false).await,
        0
    );
    let rsp = callback(&c).await;
    assert_eq!(rsp["success"], true, "{rsp}");
    assert!(opened_urls(&c).await.is_empty(), "{:?}", opened_urls(&c).await);

    // V1 refuses the request: the popup opened in advance is closed again.
    let mut params = v1_params("v1-popup-refused", 1000);
    params["popup"] = json!(true);
    params["currency"] = json!("USD");
    assert_eq!(request_pay_counting_opens(&c, params, false).await, 1);
    let rsp = callback(&c).await;
    assert_eq!(rsp["error_code"], "INVALID_PARAMETER", "{rsp}");
    let closed = c.execute("return window.__opens[0].win.closed", vec![]).await.unwrap();
    assert_eq!(closed, true, "the unused popup is closed");
    assert_eq!(opened_urls(&c).await, ["about:blank"]);
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn closing_a_v1_popup_calls_back_a_cancel_and_a_refused_popup_falls_back_to_the_overlay() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    open_checkout(&c, &site, &sb, "").await;
    let main = c.window().await.unwrap();

    let mut params = v1_params("v1-popup-close", 1000);
    params["popup"] = json!(true);
    request_pay(&c, Some(USER_CODE), params).await;
    switch_to_popup(&c, &main).await;
    element(&c, "[data-testid=sandbox-approve]").await;
    c.close_window().await.unwrap();
    c.switch_to_window(main.clone()).await.unwrap();
    let rsp = callback(&c).await;
    assert_eq!(rsp["error_code"], "PAY_PROCESS_CANCELED", "{rsp}");
    let (_, v) = v1_api(&sb, "GET", "/payments/find/v1-popup-close", None).await;
    assert_eq!(v["response"]["status"], "failed");

    // The browser refuses both the early popup and the retry after the
    // round trip (as a blocker would): the window shows in the overlay.
    let mut params = v1_params("v1-popup-blocked", 1000);
    params["popup"] = json!(true);
    assert_eq!(request_pay_counting_opens(&c, params, true).await, 1);
    click_in_iframe(&c, "sandbox-approve").await;
    let rsp = callback(&c).await;
    assert_eq!(rsp["success"], true, "{rsp}");
    assert_eq!(opened_urls(&c).await.len(), 2, "{:?}", opened_urls(&c).await);
    assert_eq!(overlay_count(&c).await, 0, "the overlay is removed");
    assert_eq!(c.windows().await.unwrap().len(), 1, "no popup is left open");
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn the_three_stand_ins_on_one_page_share_one_private_window_object() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    open_checkout(&c, &site, &sb, "?outcome=approve").await;
    c.execute(
        r#"window.__shared = window.__portoneSandboxWindow;
var base = arguments[0];
["/v2/browser-sdk.js", "/toss/v2/standard"].forEach(function (p) {
  var s = document.createElement("script"); s.src = base + p; document.head.appendChild(s);
});
return true;"#,
        vec![json!(sb.base_url())],
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while c
        .execute("return !!(window.PortOne && window.TossPayments)", vec![])
        .await
        .unwrap()
        != true
    {
        assert!(Instant::now() < deadline, "the other stand-ins did not load");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let v = c
        .execute(
            "return [window.__portoneSandboxWindow === window.__shared, typeof window.__shared.show,
                     Object.keys(window).indexOf('__portoneSandboxWindow')]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(v, json!([true, "function", -1]), "defined once, not enumerable");
    request_pay(&c, Some(USER_CODE), v1_params("v1-shared", 1000)).await;
    let rsp = callback(&c).await;
    assert_eq!(rsp["success"], true, "{rsp}");
    c.close().await.unwrap();
    sb.shutdown().await;
}
