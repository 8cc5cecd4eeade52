//! Scenarios 8 and 9: a tampered amount and forged return URLs.

use anyhow::{ensure, Context as _};
use e2e::{run, wait_for, Env, Profile, DEADLINE};
use serde_json::json;

use crate::common::*;

/// Rewrites the `totalAmount` of the shop's `POST /api/payments` answer to
/// `amount` before the app reads it (`window.__e2eTampered` counts rewrites).
fn tamper_prepare_js(shop: &str, amount: i64) -> String {
    format!(
        r#"(function () {{
  if (location.origin !== {shop:?} || window.__e2eTamperInstalled) return;
  window.__e2eTamperInstalled = true;
  window.__e2eTampered = 0;
  var orig = window.fetch;
  window.fetch = function (input, init) {{
    var url = typeof input === "string" ? input : (input && input.url) || String(input);
    var method = ((init && init.method) || (input && input.method) || "GET").toUpperCase();
    var path = new URL(url, location.href).pathname;
    var p = orig.apply(this, arguments);
    if (method !== "POST" || path !== "/api/payments") return p;
    return p.then(function (r) {{
      if (!r.ok) return r;
      return r.json().then(function (j) {{
        j.totalAmount = {amount};
        window.__e2eTampered++;
        var headers = new Headers(r.headers);
        headers.delete("content-length");
        return new Response(JSON.stringify(j), {{ status: r.status, statusText: r.statusText, headers: headers }});
      }});
    }});
  }};
}})();"#
    )
}

const TAMPERED_AMOUNT: i64 = 1000;

// ---------- 8. tampering ----------

async fn tampered_amount_is_refused(env: &mut Env) -> anyhow::Result<()> {
    // (a) The page hands a lower amount to the SDK: the pre-registered amount
    // makes the SDK refuse it before any window opens.
    // The wrapper goes in before the cart fills: the page may prepare the
    // order in the background as soon as the cart settles.
    let page = env.page();
    page.open_shop("").await?;
    env.browser
        .inject(&tamper_prepare_js(&env.services.shop_url(), TAMPERED_AMOUNT))
        .await?;
    let amount = add_two_products(env).await?;
    ensure!(
        amount != TAMPERED_AMOUNT,
        "the tampered amount differs from the real one"
    );
    page.pay().await?;
    let state = page.wait_state(&["failed", "cancelled", "paid"]).await?;
    let tampered = page.js("return window.__e2eTampered;", vec![]).await?;
    ensure!(
        tampered.as_u64().is_some_and(|n| n >= 1),
        "the prepare answer was rewritten: {tampered}"
    );
    ensure!(state != "paid", "a tampered amount must never end paid");
    let id = page.wait_payment_id().await?;
    let error = page.error_text().await?.unwrap_or_default();
    ensure!(!error.trim().is_empty(), "the refusal is explained");
    assert_not_fulfilled(env, &id).await?;
    let attempts = env.services.attempts(&id).await?;
    ensure!(
        attempts == 0,
        "the SDK refused before opening a window; attempts {attempts}"
    );
    if let Some(p) = env.services.portone_payment(&id).await? {
        ensure!(p["status"] != "PAID", "nothing was paid at the sandbox: {p}");
    }
    assert_never(env, "paid").await?;

    // (b) A payment made at another amount (the sandbox skips its
    // pre-registration check, as if the SDK had been bypassed) is refused by
    // the backend's verification when the shopper's browser reports it.
    let prepared = prepare_order(env).await?;
    let id = prepared["paymentId"].as_str().context("paymentId")?.to_owned();
    let result = sandbox_pay(env, &prepared, TAMPERED_AMOUNT, "approve").await?;
    ensure!(
        result.get("code").is_none(),
        "the sandbox approved the tampered payment: {result}"
    );
    let tx = result["txId"].as_str().unwrap_or_default();
    page.goto(&format!("/?paymentId={id}&transactionType=PAYMENT&txId={tx}"))
        .await?;
    let state = page.wait_state(&["failed", "cancelled", "paid"]).await?;
    ensure!(state != "paid", "a payment at the wrong amount must never show paid");
    webhooks_settled(env, &id).await?;
    assert_not_fulfilled(env, &id).await?;
    let status = env.services.payment_status(&id).await?;
    ensure!(status["status"] == "CANCELLED", "the backend cancels it: {status}");
    let p = env.services.portone_payment(&id).await?.context("sandbox payment")?;
    ensure!(p["status"] == "CANCELLED", "the payment is cancelled at PortOne: {p}");
    assert_never(env, "paid").await?;
    Ok(())
}

#[tokio::test]
async fn a_tampered_amount_is_refused_by_the_sdk_or_the_backend_and_never_paid_on_pc() {
    run("08-tampering", Profile::Pc, tampered_amount_is_refused).await;
}

#[tokio::test]
async fn a_tampered_amount_is_refused_by_the_sdk_or_the_backend_and_never_paid_on_mobile() {
    run("08-tampering", Profile::Mobile, tampered_amount_is_refused).await;
}

// ---------- 9. forged return URLs ----------

const XSS: &str = "<img src=x onerror=window.__pwned=1><script>window.__pwned=2</script>";

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn assert_nothing_executed(env: &Env) -> anyhow::Result<()> {
    let v = env
        .page()
        .js(
            "return { pwned: typeof window.__pwned, \
             imgs: document.querySelectorAll('img[src=\"x\"]').length, \
             scripts: Array.from(document.scripts).filter(function (s) { return s.text.indexOf('__pwned') >= 0; }).length };",
            vec![],
        )
        .await?;
    ensure!(
        v == json!({"pwned": "undefined", "imgs": 0, "scripts": 0}),
        "no HTML from the URL was interpreted: {v}"
    );
    Ok(())
}

async fn forged_redirects(env: &mut Env) -> anyhow::Result<()> {
    let page = env.page();
    // (a) A made-up paymentId claiming success, with markup in the message.
    let forged = "order-forged-0000";
    page.goto(&format!(
        "/?paymentId={forged}&transactionType=PAYMENT&txId=tx-forged&message={}&pgMessage={}",
        enc(XSS),
        enc(XSS)
    ))
    .await?;
    let error = wait_for("a clear message for the unknown payment", DEADLINE, || async {
        Ok(page.error_text().await?.filter(|t| !t.trim().is_empty()))
    })
    .await?;
    let state = page.state().await?.unwrap_or_default();
    ensure!(
        state != "paid",
        "a made-up paymentId must not show paid (state {state}, message {error:?})"
    );
    assert_never(env, "paid").await?;
    assert_nothing_executed(env).await?;
    ensure!(env.services.order(forged).await?.is_none(), "no order was invented");

    // (b) `code` set on a payment that really is paid: the backend's answer wins.
    let prepared = prepare_order(env).await?;
    let paid_id = prepared["paymentId"].as_str().context("paymentId")?.to_owned();
    let amount = prepared["totalAmount"].as_i64().context("totalAmount")?;
    let result = sandbox_pay(env, &prepared, amount, "approve").await?;
    let tx = result["txId"].as_str().unwrap_or_default();
    page.goto(&format!(
        "/?paymentId={paid_id}&transactionType=PAYMENT&txId={tx}&code=FAILURE_TYPE_PG&message={}&pgCode=X&pgMessage={}",
        enc(XSS),
        enc(XSS)
    ))
    .await?;
    let state = page.wait_state(&["paid", "failed", "cancelled"]).await?;
    ensure!(
        state == "paid",
        "the backend says PAID, the page must agree (got {state})"
    );
    assert_nothing_executed(env).await?;
    assert_paid_once(env, &paid_id, amount).await?;
    assert_clean_url(env).await?;

    // (c) A really declined payment, with markup in the PG message: shown as text.
    let prepared = prepare_order(env).await?;
    let failed_id = prepared["paymentId"].as_str().context("paymentId")?.to_owned();
    let amount = prepared["totalAmount"].as_i64().context("totalAmount")?;
    sandbox_pay(env, &prepared, amount, "decline").await?;
    page.goto(&format!(
        "/?paymentId={failed_id}&transactionType=PAYMENT&txId=tx&code=FAILURE_TYPE_PG&message={}&pgCode=INSUFFICIENT_BALANCE&pgMessage={}",
        enc(XSS),
        enc(XSS)
    ))
    .await?;
    page.wait_state(&["failed"]).await?;
    assert_nothing_executed(env).await?;
    let error = page.error_text().await?.unwrap_or_default();
    ensure!(!error.trim().is_empty(), "the failure is explained");
    assert_never(env, "paid").await?;
    assert_not_fulfilled(env, &failed_id).await?;
    Ok(())
}

#[tokio::test]
async fn forged_return_urls_never_show_success_never_run_markup_and_explain_themselves_on_pc() {
    run("09-forged-redirect", Profile::Pc, forged_redirects).await;
}

#[tokio::test]
async fn forged_return_urls_never_show_success_never_run_markup_and_explain_themselves_on_mobile() {
    run("09-forged-redirect", Profile::Mobile, forged_redirects).await;
}
