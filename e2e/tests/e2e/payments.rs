//! Scenarios 1-7, 10 and 12: paying, declining, cancelling, double clicks,
//! lost state, a backend restart, PortOne faults, webhook-only settlement and
//! an expiring TossPay window.

use anyhow::ensure;
use e2e::{run, wait_for, Env, PgAction, PgWindow, Profile, DEADLINE};
use serde_json::json;

use crate::common::*;

// ---------- 1. buy two products ----------

async fn buy_two_products_and_approve(env: &mut Env) -> anyhow::Result<()> {
    let amount = shop_with_two_products(env, "").await?;
    pay_and(env, window(env, false), PgAction::Approve).await?;
    let page = env.page();
    page.wait_state(&["paid"]).await?;
    let id = page.wait_payment_id().await?;
    assert_paid_once(env, &id, amount).await?;
    assert_clean_url(env).await?;
    assert_never(env, "failed").await?;
    ensure!(page.error_text().await?.is_none(), "no error text once paid");
    if env.profile() == Profile::Mobile {
        // The returned page moves focus to the outcome (screen readers
        // announce it), in every engine.
        wait_for("the outcome to be focused after the return", DEADLINE, || async {
            let focused = page
                .js(
                    "var a = document.activeElement; return a ? a.getAttribute('data-testid') : null;",
                    vec![],
                )
                .await?;
            Ok((focused == json!("checkout-status")).then_some(()))
        })
        .await?;
    }
    Ok(())
}

#[tokio::test]
async fn buying_two_products_and_approving_shows_paid_and_fulfils_once_on_pc() {
    run("01-buy-two", Profile::Pc, buy_two_products_and_approve).await;
}

#[tokio::test]
async fn buying_two_products_and_approving_shows_paid_fulfils_once_and_cleans_the_url_on_mobile() {
    run("01-buy-two", Profile::Mobile, buy_two_products_and_approve).await;
}

// ---------- 2. decline, then retry with the same paymentId ----------

async fn decline_then_retry(env: &mut Env) -> anyhow::Result<()> {
    let amount = shop_with_two_products(env, "").await?;
    let kind = window(env, false);
    pay_and(env, kind, PgAction::Decline).await?;
    let page = env.page();
    page.wait_state(&["failed"]).await?;
    let error = page.error_text().await?.unwrap_or_default();
    ensure!(
        error.contains("잔액이 부족합니다"),
        "the PG's pgMessage is shown; error text: {error:?}"
    );
    let first = page.wait_payment_id().await?;
    assert_not_fulfilled(env, &first).await?;
    ensure!(
        page.pay_enabled().await?,
        "the pay button is usable again after a decline"
    );

    pay_and(env, kind, PgAction::Approve).await?;
    page.wait_state(&["paid"]).await?;
    let second = page.wait_payment_id().await?;
    ensure!(first == second, "the retry reuses the order: {first} then {second}");
    assert_paid_once(env, &second, amount).await?;
    let attempts = env.services.attempts(&second).await?;
    ensure!(attempts == 2, "two attempts at the sandbox, got {attempts}");
    assert_clean_url(env).await?;
    Ok(())
}

#[tokio::test]
async fn a_declined_payment_shows_the_pg_message_and_a_retry_with_the_same_payment_id_pays_on_pc() {
    run("02-decline-retry", Profile::Pc, decline_then_retry).await;
}

#[tokio::test]
async fn a_declined_payment_shows_the_pg_message_and_a_retry_with_the_same_payment_id_pays_on_mobile() {
    run("02-decline-retry", Profile::Mobile, decline_then_retry).await;
}

// ---------- 3. cancel in the PG window ----------

async fn expect_cancelled(env: &Env) -> anyhow::Result<String> {
    let page = env.page();
    page.wait_state(&["cancelled"]).await?;
    let id = page.wait_payment_id().await?;
    wait_for("the pay button to be usable again", DEADLINE, || async {
        Ok(page.pay_enabled().await?.then_some(()))
    })
    .await?;
    let error = page.error_text().await?.unwrap_or_default();
    ensure!(!error.trim().is_empty(), "a cancel notice is shown");
    assert_not_fulfilled(env, &id).await?;
    Ok(id)
}

async fn cancel_in_the_pg_window(env: &mut Env) -> anyhow::Result<()> {
    shop_with_two_products(env, "").await?;
    pay_and(env, window(env, false), PgAction::Cancel).await?;
    expect_cancelled(env).await?;
    assert_clean_url(env).await?;
    if env.profile() == Profile::Pc {
        // The popup window type: the cancel button, then closing the popup.
        shop_with_two_products(env, "?window=popup").await?;
        // The shopper clicks once the order is prepared in the background
        // (as it is a moment after the cart settles): WebKit lets a page
        // open a popup only in the click's own task, so the checkout must
        // reach the SDK without a network wait (e2e/README.md, engine
        // differences). A click before that gets the SDK's overlay in WebKit.
        env.page().wait_payment_id().await?;
        pay_and(env, PgWindow::Popup, PgAction::Cancel).await?;
        let first = expect_cancelled(env).await?;
        pay_and(env, PgWindow::Popup, PgAction::ClosePopup).await?;
        let second = expect_cancelled(env).await?;
        ensure!(first == second, "the retry reuses the order: {first} then {second}");
    }
    Ok(())
}

#[tokio::test]
async fn cancelling_in_the_iframe_or_the_popup_and_closing_the_popup_show_cancelled_and_allow_a_retry_on_pc() {
    run("03-cancel", Profile::Pc, cancel_in_the_pg_window).await;
}

#[tokio::test]
async fn cancelling_in_the_pg_page_shows_cancelled_and_allows_a_retry_on_mobile() {
    run("03-cancel", Profile::Mobile, cancel_in_the_pg_window).await;
}

// ---------- 4. double click / double tap ----------

async fn double_click_pays_once(env: &mut Env) -> anyhow::Result<()> {
    let amount = shop_with_two_products(env, "").await?;
    let page = env.page();
    // Two clicks in the same task: no render can happen in between.
    page.js(
        "var b = document.querySelector('[data-testid=\"checkout-pay\"]'); b.click(); b.click(); return true;",
        vec![],
    )
    .await?;
    let kind = window(env, false);
    if env.profile() == Profile::Pc {
        // A third, real click while the window is open; the button is busy.
        page.pg(kind, PgAction::Wait).await?;
        let disabled = page.js(
            "var b = document.querySelector('[data-testid=\"checkout-pay\"]'); \
             return [b.disabled, b.getAttribute('aria-busy')];",
            vec![],
        );
        let v = disabled.await?;
        ensure!(
            v == json!([true, "true"]),
            "while the window is open the pay button is disabled and aria-busy: {v}"
        );
        let _ = page.click("[data-testid=\"checkout-pay\"]").await;
    }
    page.pg(kind, PgAction::Approve).await?;
    if kind == PgWindow::Redirect {
        page.wait_back_on_shop().await?;
    }
    page.wait_state(&["paid"]).await?;
    let id = page.wait_payment_id().await?;
    assert_paid_once(env, &id, amount).await?;
    let attempts = env.services.attempts(&id).await?;
    ensure!(
        attempts == 1,
        "exactly one payment attempt at the sandbox, got {attempts}"
    );
    let windows_opened = env
        .services
        .webhooks()
        .await?
        .iter()
        .filter(|w| body_type(w) == "Transaction.Ready")
        .count();
    ensure!(
        windows_opened == 1,
        "exactly one PG window opened in total (Transaction.Ready), got {windows_opened}"
    );
    Ok(())
}

#[tokio::test]
async fn a_double_click_on_pay_makes_exactly_one_payment_attempt_on_pc() {
    run("04-double-click", Profile::Pc, double_click_pays_once).await;
}

#[tokio::test]
async fn a_double_tap_on_pay_makes_exactly_one_payment_attempt_on_mobile() {
    run("04-double-click", Profile::Mobile, double_click_pays_once).await;
}

// ---------- 5. mobile return without sessionStorage ----------

async fn return_without_session_storage(env: &mut Env) -> anyhow::Result<()> {
    let amount = shop_with_two_products(env, "").await?;
    let shop = env.services.shop_url();
    // Runs in the returning document before the app: the tab "lost" its
    // sessionStorage (e.g. the browser dropped it while the PG app was open).
    env.browser
        .add_init_script(&format!(
            "if (location.origin === {shop:?} && /[?&]paymentId=/.test(location.search)) {{ \
             window.__e2eStorageKeys = sessionStorage.length; sessionStorage.clear(); }}"
        ))
        .await?;
    pay_and(env, PgWindow::Redirect, PgAction::Approve).await?;
    let page = env.page();
    page.wait_state(&["paid"]).await?;
    let cleared = page.js("return window.__e2eStorageKeys;", vec![]).await?;
    ensure!(cleared.is_number(), "sessionStorage was cleared on return: {cleared}");
    let id = page.wait_payment_id().await?;
    assert_paid_once(env, &id, amount).await?;
    assert_clean_url(env).await?;
    Ok(())
}

#[tokio::test]
async fn a_mobile_return_with_session_storage_cleared_still_resolves_to_paid() {
    run("05-no-session-storage", Profile::Mobile, return_without_session_storage).await;
}

// ---------- 6. backend down while completing ----------

/// Holds the page's `complete` and status requests until the test releases
/// them (`window.__e2eHold.released = true`), so the backend can be stopped
/// exactly while the page completes.
fn hold_completion_js(shop: &str) -> String {
    format!(
        r#"(function () {{
  if (location.origin !== {shop:?} || window.__e2eHold) return;
  window.__e2eHold = {{ held: 0, released: false }};
  var orig = window.fetch;
  window.fetch = function (input, init) {{
    var self = this, args = arguments;
    var url = typeof input === "string" ? input : (input && input.url) || String(input);
    var path = new URL(url, location.href).pathname;
    if (/^\/api\/payments\/[^/]+(\/complete)?$/.test(path) && !window.__e2eHold.released) {{
      window.__e2eHold.held++;
      return new Promise(function (resolve) {{
        (function check() {{ if (window.__e2eHold.released) resolve(); else setTimeout(check, 20); }})();
      }}).then(function () {{ return orig.apply(self, args); }});
    }}
    return orig.apply(this, arguments);
  }};
}})();"#
    )
}

async fn backend_down_while_completing(env: &mut Env) -> anyhow::Result<()> {
    let amount = shop_with_two_products(env, "").await?;
    let kind = window(env, false);
    if kind == PgWindow::Redirect {
        // The shop page must load on return (the backend serves it), so the
        // backend stops once the returned page starts completing.
        env.browser
            .add_init_script(&hold_completion_js(&env.services.shop_url()))
            .await?;
        pay_and(env, kind, PgAction::Approve).await?;
        wait_for("the returned page to start completing", DEADLINE, || async {
            let v = env
                .page()
                .js("return window.__e2eHold ? window.__e2eHold.held : 0;", vec![])
                .await?;
            Ok((v.as_u64().unwrap_or(0) > 0).then_some(()))
        })
        .await?;
        env.services.stop_backend().await;
        env.page()
            .js("window.__e2eHold.released = true; return true;", vec![])
            .await?;
    } else {
        env.page().pay().await?;
        env.page().pg(kind, PgAction::Wait).await?;
        env.services.stop_backend().await;
        env.page().pg(kind, PgAction::Approve).await?;
    }
    let page = env.page();
    page.wait_state(&["unknown"]).await?;
    let notice = page.error_text().await?.unwrap_or_default();
    ensure!(!notice.trim().is_empty(), "the checking state explains itself");
    let check = page.attr("[data-testid=\"checkout-check\"]", "data-testid").await?;
    ensure!(check.is_some(), "a 다시 확인 button is offered while unknown");
    assert_never(env, "failed").await?;

    env.services.start_backend().await?;
    let page = env.page();
    page.wait_testid_state("checkout-status", &["paid"], std::time::Duration::from_secs(40))
        .await?;
    assert_never(env, "failed").await?;
    let id = page.wait_payment_id().await?;
    assert_paid_once(env, &id, amount).await?;
    assert_clean_url(env).await?;
    Ok(())
}

#[tokio::test]
async fn with_the_backend_down_while_completing_the_page_shows_checking_never_failed_then_paid_on_pc() {
    run("06-backend-restart", Profile::Pc, backend_down_while_completing).await;
}

#[tokio::test]
async fn with_the_backend_down_while_completing_the_page_shows_checking_never_failed_then_paid_on_mobile() {
    run("06-backend-restart", Profile::Mobile, backend_down_while_completing).await;
}

// ---------- 7. PortOne faults ----------

async fn portone_faults(env: &mut Env) -> anyhow::Result<()> {
    let amount = shop_with_two_products(env, "").await?;
    let kind = window(env, false);
    // A 5xx burst during prepare (pre-registration is retried).
    env.services.set_faults(json!({"failNext": 2})).await?;
    env.page().pay().await?;
    env.page().pg(kind, PgAction::Wait).await?;
    // While the window is open: a lost response and a 5xx burst for the
    // backend's verification reads.
    env.services
        .set_faults(json!({"loseResponses": 1, "failNext": 3}))
        .await?;
    env.page().pg(kind, PgAction::Approve).await?;
    let page = env.page();
    if kind == PgWindow::Redirect {
        page.wait_back_on_shop().await?;
    }
    page.wait_testid_state("checkout-status", &["paid"], std::time::Duration::from_secs(40))
        .await?;
    assert_never(env, "failed").await?;
    let id = page.wait_payment_id().await?;
    assert_paid_once(env, &id, amount).await?;
    let faults = env.services.sandbox_send("GET", "/__sandbox/faults", None).await?;
    ensure!(
        faults["failNext"] == 0 && faults["loseResponses"] == 0,
        "every injected fault was hit: {faults}"
    );
    Ok(())
}

#[tokio::test]
async fn lost_portone_responses_and_5xx_bursts_still_end_paid_and_fulfilled_once_on_pc() {
    run("07-portone-faults", Profile::Pc, portone_faults).await;
}

#[tokio::test]
async fn lost_portone_responses_and_5xx_bursts_still_end_paid_and_fulfilled_once_on_mobile() {
    run("07-portone-faults", Profile::Mobile, portone_faults).await;
}

// ---------- 10. the page never reports: the webhook alone pays ----------

async fn webhook_alone_pays(env: &mut Env) -> anyhow::Result<()> {
    let amount = shop_with_two_products(env, "").await?;
    let kind = window(env, false);
    let page = env.page();
    if kind == PgWindow::Redirect {
        page.pay().await?;
        page.pg(kind, PgAction::Wait).await?;
        let id = wait_for("the PG page to name the payment", DEADLINE, || async {
            Ok(env.services.webhooks().await?.iter().find_map(webhook_payment_id))
        })
        .await?;
        // The approval reaches the sandbox, but the return never lands.
        env.browser
            .inject(&swallow_pg_result_js(&env.services.sandbox_url()))
            .await?;
        page.pg(kind, PgAction::Approve).await?;
        wait_flag(env, "__e2eDecided", "the approval to reach the sandbox").await?;
        leave_page(env).await?;
        return webhook_settles(env, &id, amount).await;
    }
    let shop = env.services.shop_url();
    env.browser
        .inject(&block_fetch_js(
            &shop,
            "POST",
            r"^/api/payments/[^/]+/complete$",
            "__e2eBlocked",
        ))
        .await?;
    env.browser
        .inject(&block_fetch_js(
            &shop,
            "GET",
            r"^/api/payments/[^/]+$",
            "__e2eBlockedGet",
        ))
        .await?;
    page.pay().await?;
    page.pg(kind, PgAction::Approve).await?;
    wait_flag(env, "__e2eBlocked", "the page to try to report the result").await?;
    let id = page.wait_payment_id().await?;
    leave_page(env).await?;
    webhook_settles(env, &id, amount).await
}

async fn webhook_settles(env: &Env, id: &str, amount: i64) -> anyhow::Result<()> {
    wait_db_status(env, id, "PAID").await?;
    let hooks = webhooks_settled(env, id).await?;
    ensure!(
        hooks
            .iter()
            .any(|w| body_type(w) == "Transaction.Paid" && w["status"] == "delivered"),
        "the Transaction.Paid webhook was delivered: {hooks:?}"
    );
    assert_paid_once(env, id, amount).await
}

#[tokio::test]
async fn when_the_page_closes_before_reporting_the_webhook_alone_pays_and_fulfils_once_on_pc() {
    run("10-webhook-only", Profile::Pc, webhook_alone_pays).await;
}

#[tokio::test]
async fn when_the_page_closes_before_the_return_lands_the_webhook_alone_pays_and_fulfils_once_on_mobile() {
    run("10-webhook-only", Profile::Mobile, webhook_alone_pays).await;
}

// ---------- 12. TossPay expiredTime passes while the window is open ----------

async fn window_expires(env: &mut Env) -> anyhow::Result<()> {
    shop_with_two_products(env, "?expires_in=2").await?;
    let kind = window(env, false);
    pay_and(env, kind, PgAction::Wait).await?;
    let page = env.page();
    if kind == PgWindow::Redirect {
        page.wait_back_on_shop().await?;
    }
    page.wait_state(&["failed"]).await?;
    let error = page.error_text().await?.unwrap_or_default();
    ensure!(
        error.contains("만료"),
        "a clear expiry message (the PG's 결제 유효 시간이 만료되었습니다.); error text: {error:?}"
    );
    let id = page.wait_payment_id().await?;
    assert_not_fulfilled(env, &id).await?;
    ensure!(page.pay_enabled().await?, "the pay button is usable again");
    Ok(())
}

#[tokio::test]
async fn a_tosspay_window_left_open_past_expired_time_fails_with_a_clear_message_on_pc() {
    run("12-expired", Profile::Pc, window_expires).await;
}

#[tokio::test]
async fn a_tosspay_window_left_open_past_expired_time_fails_with_a_clear_message_on_mobile() {
    run("12-expired", Profile::Mobile, window_expires).await;
}
