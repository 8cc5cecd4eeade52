//! The Toss Payments SDK v2 stand-in (`/toss/v2/standard`) in headless
//! Chromium (fantoccini + chromedriver), also loaded through Toss's own npm
//! loader (`@tosspayments/tosspayments-sdk`'s `loadTossPayments(clientKey, {src})`,
//! installed with npm into the target dir at test time).
//! These tests FAIL when Chromium, chromedriver or npm are missing: they never skip.

mod common;
#[path = "support/browser.rs"]
mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use common::*;
use fantoccini::{Client, Locator};
use portone_sandbox::RunningSandbox;
use serde_json::{json, Value};
use support::*;

/// The version of Toss's loader the suite runs against.
const TOSS_SDK_NPM: &str = "@tosspayments/tosspayments-sdk@2.8.1";

/// The loader's ES module (`dist/index.esm.js`), installed on first use into
/// the target dir (never committed). Every test's merchant site asks for it
/// at once: the first installs it while the others wait for that install
/// (two npm runs into one directory used to race, one reading the file while
/// the other was replacing `node_modules`). The install goes into a staging
/// directory renamed into place when complete, so an interrupted run never
/// leaves a half-installed loader for the next.
fn toss_loader_module() -> String {
    static MODULE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    MODULE.get_or_init(install_toss_loader).clone()
}

fn install_toss_loader() -> String {
    const MODULE_PATH: &str = "node_modules/@tosspayments/tosspayments-sdk/dist/index.esm.js";
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = root.join("toss-sdk-npm");
    let file = dir.join(MODULE_PATH);
    if !file.exists() {
        let staging = root.join(format!("toss-sdk-npm.staging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).expect("npm staging dir");
        let status = Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--no-package-lock",
                "--prefix",
            ])
            .arg(&staging)
            .arg(TOSS_SDK_NPM)
            .status()
            .unwrap_or_else(|e| panic!("cannot run npm to install {TOSS_SDK_NPM}: {e}"));
        assert!(status.success(), "npm install {TOSS_SDK_NPM} failed: {status}");
        assert!(
            staging.join(MODULE_PATH).exists(),
            "npm install {TOSS_SDK_NPM} succeeded but {MODULE_PATH} is missing"
        );
        // A leftover without the module (an interrupted run) is replaced.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&staging, &dir)
            .unwrap_or_else(|e| panic!("moving {} to {}: {e}", staging.display(), dir.display()));
    }
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The merchant page's script: `__run(fn, req, {clientKey, customerKey})`
/// calls `TossPayments(clientKey).payment({customerKey})[fn](req)` (or the
/// instance the npm loader produced) and records what happened.
const RUNNER: &str = r#"
window.__run = function (fn, req, opts) {
  window.__done = false; window.__result = undefined; window.__error = undefined;
  function fail(e, thrown) {
    window.__error = { thrown: thrown, isError: e instanceof Error, code: e.code, message: e.message };
    window.__done = true;
  }
  try {
    var tp = opts.loaded ? window.__tp : window.TossPayments(opts.clientKey);
    var customerKey = opts.customerKey === undefined ? window.TossPayments.ANONYMOUS : opts.customerKey;
    tp.payment({ customerKey: customerKey })[fn](req).then(function (r) {
      window.__result = r === undefined ? null : r; window.__done = true;
    }, function (e) { fail(e, false); });
  } catch (e) { fail(e, true); }
};
"#;

/// A merchant site on ANOTHER origin than the sandbox: `/checkout?sdk=URL`
/// loads the SDK with a script tag, `/loader` imports Toss's npm loader
/// (`/loader.js`), `/return/...` are the success/fail pages.
async fn merchant_site() -> String {
    async fn checkout(Query(q): Query<std::collections::HashMap<String, String>>) -> Html<String> {
        let sdk = q
            .get("sdk")
            .cloned()
            .unwrap_or_default()
            .replace(['"', '<', '>', '\\'], "");
        Html(format!(
            r#"<!doctype html><html><head><meta charset="utf-8"><title>merchant</title>
<script src="{sdk}"></script><script>{RUNNER}</script></head>
<body><h1>merchant checkout</h1></body></html>"#
        ))
    }
    async fn loader_page() -> Html<String> {
        Html(format!(
            r#"<!doctype html><html><head><meta charset="utf-8"><title>merchant (npm loader)</title>
<script>{RUNNER}</script>
<script type="module">
import {{ loadTossPayments, ANONYMOUS }} from "/loader.js";
window.__anonymous = ANONYMOUS;
window.__load = function (clientKey, src) {{
  window.__loaded = undefined;
  loadTossPayments(clientKey, {{ src: src }}).then(function (tp) {{
    window.__tp = tp; window.__loaded = {{ ok: true }};
  }}, function (e) {{
    window.__loaded = {{ ok: false, name: e.name, code: e.code, message: e.message }};
  }});
}};
</script></head><body><h1>merchant checkout (npm loader)</h1></body></html>"#
        ))
    }
    async fn loader_js(State(module): State<String>) -> impl IntoResponse {
        ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], module)
    }
    let app = Router::new()
        .route("/checkout", get(checkout))
        .route("/loader", get(loader_page))
        .route("/loader.js", get(loader_js))
        .route(
            "/return/{*rest}",
            get(|| async { Html("<!doctype html><title>returned</title><p>back</p>") }),
        )
        .with_state(toss_loader_module());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

async fn wait_js(c: &Client, what: &str, script: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = c.execute(script, vec![]).await.unwrap();
        if !v.is_null() && v != false {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

async fn open_checkout(c: &Client, site: &str, sb: &RunningSandbox, sdk_query: &str) {
    let sdk = format!("{}/toss/v2/standard{sdk_query}", sb.base_url());
    c.goto(&format!("{site}/checkout?sdk={}", urlencode(&sdk)))
        .await
        .unwrap();
    wait_js(c, "the SDK stand-in", "return !!(window.TossPayments && window.__run)").await;
}

fn opts(sb: &RunningSandbox) -> Value {
    json!({ "clientKey": sb.config().toss.client_key })
}

async fn run(c: &Client, func: &str, req: Value, opts: Value) {
    c.execute(
        "window.__run(arguments[0], arguments[1], arguments[2]); return true;",
        vec![json!(func), req, opts],
    )
    .await
    .unwrap();
}

/// Waits for the call to settle: Ok(resolved value) or Err(rejection or throw).
async fn settled(c: &Client) -> Result<Value, Value> {
    let v = wait_js(
        c,
        "the SDK call to settle",
        "return window.__done ? {result: window.__result, error: window.__error} : null",
    )
    .await;
    match v.get("error").filter(|e| !e.is_null()) {
        Some(e) => Err(e.clone()),
        None => Ok(v["result"].clone()),
    }
}

async fn confirm(sb: &RunningSandbox, key: &str, order_id: &str, amount: i64) -> (u16, Value) {
    toss_api(
        sb,
        "POST",
        "/v1/payments/confirm",
        Some(json!({"paymentKey": key, "orderId": order_id, "amount": amount})),
    )
    .await
}

fn with_urls(mut req: Value, site: &str) -> Value {
    req["successUrl"] = json!(format!("{site}/return/success?cart=7"));
    req["failUrl"] = json!(format!("{site}/return/fail"));
    req
}

#[tokio::test]
async fn toss_promise_form_on_pc_resolves_the_authenticated_payment_which_the_server_confirms() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    open_checkout(&c, &site, &sb, "").await;
    run(
        &c,
        "requestPayment",
        toss_request("browser-0001", "CARD", 15000),
        opts(&sb),
    )
    .await;

    element(&c, "iframe[data-testid=sandbox-iframe]").await;
    c.enter_frame(Some(0)).await.unwrap();
    let amount = element(&c, "[data-testid=sandbox-amount]").await;
    assert_eq!(amount.text().await.unwrap(), "15,000원");
    let name = c.find(Locator::Css("[data-testid=sandbox-order-name]")).await.unwrap();
    assert_eq!(name.text().await.unwrap(), "토스 티셔츠 외 2건");
    c.find(Locator::Css("[data-testid=sandbox-approve]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.enter_parent_frame().await.unwrap();

    let r = settled(&c).await.expect("resolves");
    assert_eq!(r["orderId"], "browser-0001");
    assert_eq!(r["amount"], json!({"currency": "KRW", "value": 15000}));
    assert_eq!(r["paymentType"], "NORMAL");
    let key = r["paymentKey"].as_str().expect("paymentKey").to_owned();
    assert_eq!(overlay_count(&c).await, 0, "the overlay is removed");
    let (_, p) = toss_api(&sb, "GET", &format!("/v1/payments/{key}"), None).await;
    assert_eq!(p["status"], "IN_PROGRESS", "nothing is charged before the confirm");
    let (s, p) = confirm(&sb, &key, "browser-0001", 15000).await;
    assert_eq!((s, p["status"].as_str()), (200, Some("DONE")), "{p}");
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn toss_promise_form_rejects_cancel_decline_and_bad_input_and_bad_keys_throw() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    open_checkout(&c, &site, &sb, "").await;

    run(
        &c,
        "requestPayment",
        toss_request("browser-cancel", "CARD", 3000),
        opts(&sb),
    )
    .await;
    click_in_iframe(&c, "sandbox-cancel").await;
    let e = settled(&c).await.expect_err("a cancel rejects");
    assert_eq!(e["code"], "PAY_PROCESS_CANCELED");
    assert_eq!(e["isError"], true);
    assert_eq!(e["thrown"], false);
    assert_eq!(overlay_count(&c).await, 0);

    run(
        &c,
        "requestPayment",
        toss_request("browser-cancel", "CARD", 3000),
        opts(&sb),
    )
    .await;
    element(&c, "[data-testid=sandbox-overlay-close]")
        .await
        .click()
        .await
        .unwrap();
    let e = settled(&c).await.expect_err("closing the window rejects");
    assert_eq!(e["code"], "PAY_PROCESS_CANCELED");

    run(
        &c,
        "requestPayment",
        toss_request("browser-cancel", "CARD", 3000),
        opts(&sb),
    )
    .await;
    click_in_iframe(&c, "sandbox-decline").await;
    let e = settled(&c).await.expect_err("a decline rejects");
    assert_eq!(e["code"], "REJECT_CARD_COMPANY");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));

    let mut bad = toss_request("short", "CARD", 3000);
    bad["orderId"] = json!("short");
    run(&c, "requestPayment", bad, opts(&sb)).await;
    let e = settled(&c).await.expect_err("rejects");
    assert_eq!(e["code"], "INVALID_ORDER_ID");
    assert_eq!(overlay_count(&c).await, 0, "no window opened");
    run(&c, "requestPayment", toss_request("browser-min", "CARD", 50), opts(&sb)).await;
    assert_eq!(settled(&c).await.expect_err("rejects")["code"], "BELOW_MINIMUM_AMOUNT");

    let secret = json!({"clientKey": sb.config().toss.secret_key});
    run(&c, "requestPayment", toss_request("browser-key", "CARD", 3000), secret).await;
    let e = settled(&c).await.expect_err("throws");
    assert_eq!(
        (e["code"].as_str(), e["thrown"].as_bool()),
        (Some("INVALID_CLIENT_KEY"), Some(true))
    );
    let other = json!({"clientKey": "test_ck_not_this_sandbox"});
    run(&c, "requestPayment", toss_request("browser-key", "CARD", 3000), other).await;
    assert_eq!(settled(&c).await.expect_err("throws")["code"], "INVALID_CLIENT_KEY");
    let mut bad_customer = opts(&sb);
    bad_customer["customerKey"] = json!("a b");
    run(
        &c,
        "requestPayment",
        toss_request("browser-key", "CARD", 3000),
        bad_customer,
    )
    .await;
    let e = settled(&c).await.expect_err("throws");
    assert_eq!(
        (e["code"].as_str(), e["thrown"].as_bool()),
        (Some("INVALID_CUSTOMER_KEY"), Some(true))
    );
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn toss_redirect_form_on_pc_sends_the_merchant_page_to_the_success_or_fail_url() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    open_checkout(&c, &site, &sb, "").await;
    let req = with_urls(toss_request("browser-redirect", "CARD", 4500), &site);
    run(&c, "requestPayment", req, opts(&sb)).await;
    click_in_iframe(&c, "sandbox-approve").await;
    let u = wait_for_path(&c, "/return/success").await;
    assert_eq!(
        u.origin().ascii_serialization(),
        site,
        "the top page, not the iframe, went back"
    );
    let q = query(&u);
    assert_eq!(q["cart"], "7");
    assert_eq!(q["orderId"], "browser-redirect");
    assert_eq!(q["amount"], "4500");
    assert_eq!(q["paymentType"], "NORMAL");
    let (s, p) = confirm(&sb, &q["paymentKey"], "browser-redirect", 4500).await;
    assert_eq!((s, p["status"].as_str()), (200, Some("DONE")), "{p}");

    open_checkout(&c, &site, &sb, "").await;
    let req = with_urls(toss_request("browser-redirect-2", "CARD", 4500), &site);
    run(&c, "requestPayment", req, opts(&sb)).await;
    click_in_iframe(&c, "sandbox-decline").await;
    let q = query(&wait_for_path(&c, "/return/fail").await);
    assert_eq!(q["code"], "REJECT_CARD_COMPANY");
    assert_eq!(q["orderId"], "browser-redirect-2");
    assert!(!q["message"].is_empty());
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn toss_on_a_phone_the_promise_form_is_refused_and_the_window_takes_the_whole_page() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, true).await;
    open_checkout(&c, &site, &sb, "").await;

    run(
        &c,
        "requestPayment",
        toss_request("mobile-0001", "CARD", 8000),
        opts(&sb),
    )
    .await;
    let e = settled(&c).await.expect_err("a phone needs successUrl/failUrl");
    assert_eq!(e["code"], "NOT_SUPPORTED_PROMISE");
    let mut iframe = with_urls(toss_request("mobile-0001", "CARD", 8000), &site);
    iframe["windowTarget"] = json!("iframe");
    run(&c, "requestPayment", iframe, opts(&sb)).await;
    assert_eq!(
        settled(&c).await.expect_err("no iframe on a phone")["code"],
        "INVALID_PARAMETERS"
    );

    let req = with_urls(toss_request("mobile-0001", "CARD", 8000), &site);
    run(&c, "requestPayment", req, opts(&sb)).await;
    let approve = element(&c, "[data-testid=sandbox-approve]").await;
    assert!(
        c.current_url().await.unwrap().as_str().starts_with(&sb.base_url()),
        "left the merchant page"
    );
    approve.click().await.unwrap();
    let q = query(&wait_for_path(&c, "/return/success").await);
    assert_eq!(q["orderId"], "mobile-0001");
    assert_eq!(q["amount"], "8000");
    let (s, _) = confirm(&sb, &q["paymentKey"], "mobile-0001", 8000).await;
    assert_eq!(s, 200);
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn toss_billing_auth_redirects_with_an_auth_key_that_issues_a_billing_key() {
    let sb = start().await;
    let site = merchant_site().await;
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    // ?outcome=approve on the script URL: the window approves by itself.
    open_checkout(&c, &site, &sb, "?outcome=approve").await;
    let mut o = opts(&sb);
    o["customerKey"] = json!("customer-42");
    let req = json!({
        "method": "CARD",
        "successUrl": format!("{site}/return/billing"),
        "failUrl": format!("{site}/return/fail"),
        "customerName": "김토스",
    });
    run(&c, "requestBillingAuth", req, o).await;
    let q = query(&wait_for_path(&c, "/return/billing").await);
    assert_eq!(q["customerKey"], "customer-42");
    let (s, bk) = toss_api(
        &sb,
        "POST",
        "/v1/billing/authorizations/issue",
        Some(json!({"authKey": q["authKey"], "customerKey": "customer-42"})),
    )
    .await;
    assert_eq!(s, 200, "{bk}");
    assert!(bk["billingKey"].is_string());

    // Billing needs a real customer key and both URLs.
    open_checkout(&c, &site, &sb, "").await;
    run(
        &c,
        "requestBillingAuth",
        json!({"method": "CARD", "successUrl": format!("{site}/return/billing"), "failUrl": format!("{site}/return/fail")}),
        opts(&sb),
    )
    .await;
    assert_eq!(
        settled(&c).await.expect_err("ANONYMOUS")["code"],
        "INVALID_CUSTOMER_KEY"
    );
    let mut o = opts(&sb);
    o["customerKey"] = json!("customer-42");
    run(&c, "requestBillingAuth", json!({"method": "CARD"}), o).await;
    assert_eq!(
        settled(&c).await.expect_err("no URLs")["code"],
        "INCORRECT_SUCCESS_URL_FORMAT"
    );
    c.close().await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn toss_sdk_loaded_through_tosspayments_npm_loader_with_src_pays_through_the_sandbox() {
    let sb = start().await;
    let site = merchant_site().await;
    assert_ne!(site, sb.base_url());
    let driver = chromedriver().await;
    let c = browser(&driver, false).await;
    c.goto(&format!("{site}/loader")).await.unwrap();
    wait_js(&c, "the loader module", "return !!window.__load").await;
    let anonymous = c.execute("return window.__anonymous", vec![]).await.unwrap();
    assert_eq!(anonymous, "@@ANONYMOUS", "the loader's ANONYMOUS is the SDK's");

    let src = format!("{}/toss/v2/standard?outcome=approve", sb.base_url());
    let load = |key: String| {
        let src = src.clone();
        let c = c.clone();
        async move {
            c.execute(
                "window.__load(arguments[0], arguments[1]); return true;",
                vec![json!(key), json!(src)],
            )
            .await
            .unwrap();
            wait_js(&c, "loadTossPayments", "return window.__loaded || null").await
        }
    };
    let loaded = load(sb.config().toss.secret_key.clone()).await;
    assert_eq!(loaded["ok"], false, "{loaded}");
    assert_eq!(
        loaded["code"], "INVALID_CLIENT_KEY",
        "the loader passes on what TossPayments() throws"
    );
    let loaded = load(sb.config().toss.client_key.clone()).await;
    assert_eq!(loaded["ok"], true, "{loaded}");
    let injected = c
        .execute(
            "return Array.from(document.scripts).map(function (s) { return s.src; })",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        injected.as_array().unwrap().iter().any(|s| s == &json!(src)),
        "the loader injected the sandbox's script: {injected}"
    );

    run(
        &c,
        "requestPayment",
        toss_request("loader-0001", "CARD", 12000),
        json!({"loaded": true}),
    )
    .await;
    let r = settled(&c).await.expect("resolves");
    assert_eq!(r["orderId"], "loader-0001");
    let (s, p) = confirm(&sb, r["paymentKey"].as_str().unwrap(), "loader-0001", 12000).await;
    assert_eq!((s, p["status"].as_str()), (200, Some("DONE")), "{p}");
    c.close().await.unwrap();
    sb.shutdown().await;
}
