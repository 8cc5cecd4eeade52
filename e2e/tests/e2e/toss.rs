//! Scenarios 16-21: the shop on Toss Payments used directly (`/toss/`):
//! approve (promise form on PC, redirect form on the phone), the fail URL
//! with Toss's code, a cancel, a lost confirm answer, forged success URLs,
//! and a billing key from an `authKey`.

use anyhow::{ensure, Context as _};
use e2e::{run, wait_for, Env, PgAction, PgWindow, Profile, DEADLINE};
use serde_json::{json, Value};

use crate::common::*;

/// The Toss shop's path.
const TOSS: &str = "/toss/";

/// Opens the Toss shop with `query`, the sandbox's webhooks going to the
/// Toss endpoint, and puts two products in the cart; returns the amount.
async fn toss_shop_with_two_products(env: &Env, query: &str) -> anyhow::Result<i64> {
    env.services.use_toss_webhooks().await?;
    env.page().open_shop_at(TOSS, query).await?;
    add_two_products(env).await
}

/// The window kind: the iframe overlay on PC (the redirect form on PC too
/// navigates the top page once the window is done), the whole tab on a
/// phone.
fn toss_window(env: &Env) -> PgWindow {
    window(env, false)
}

/// Clicks pay, does `action` in Toss's window and, when the page leaves for
/// the window or comes back through a success/fail URL, waits until it is
/// back on the shop.
async fn toss_pay_and(env: &Env, action: PgAction, redirect: bool) -> anyhow::Result<()> {
    let page = env.page();
    page.pay().await?;
    let kind = toss_window(env);
    let done = page.pg(kind, action).await;
    if kind == PgWindow::Iframe && redirect {
        // The top page left while WebDriver was in the window's iframe, which
        // no longer exists: go back to the top document.
        if done.is_err() {
            env.browser.client().enter_frame(None).await?;
        }
    } else {
        done?;
    }
    if kind == PgWindow::Redirect || redirect {
        page.wait_back_on_shop().await?;
    }
    Ok(())
}

/// Waits until every Toss webhook about `order_id` has been delivered.
async fn toss_webhooks_settled(env: &Env, order_id: &str) -> anyhow::Result<()> {
    wait_for("the sandbox's Toss webhooks to be delivered", DEADLINE, || async {
        let hooks = env.services.webhooks().await?;
        let settled = hooks
            .iter()
            .filter(|w| {
                let data = body_data(w);
                data["orderId"] == json!(order_id)
            })
            .all(|w| w["status"] != "pending");
        Ok(settled.then_some(()))
    })
    .await
}

/// `order_id` is paid and fulfilled exactly once at `amount`: in the
/// backend (database and API) and at Toss (`DONE`, confirmed at `amount`).
async fn assert_toss_paid_once(env: &Env, order_id: &str, amount: i64) -> anyhow::Result<()> {
    toss_webhooks_settled(env, order_id).await?;
    assert_shop_paid_once(env, order_id, amount, checkout_server::ProviderKind::Toss, "/toss").await?;
    let toss = env
        .services
        .toss_payment(order_id)
        .await?
        .context("Toss knows the payment")?;
    ensure!(toss["status"] == "DONE", "Toss's payment: {toss}");
    ensure!(toss["totalAmount"] == json!(amount), "Toss's amount: {toss}");
    Ok(())
}

/// On the phone, the address bar no longer carries Toss's result keys.
async fn assert_toss_clean_url(env: &Env) -> anyhow::Result<()> {
    let url = env.page().url().await?;
    let leftover: Vec<String> = url
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .filter(|k| {
            [
                "tossReturn",
                "paymentKey",
                "orderId",
                "amount",
                "paymentType",
                "code",
                "message",
                "authKey",
                "customerKey",
            ]
            .contains(&k.as_str())
        })
        .collect();
    ensure!(leftover.is_empty(), "the address bar still carries {leftover:?}: {url}");
    ensure!(
        url.path() == TOSS || url.path().starts_with("/toss/"),
        "still on the Toss shop: {url}"
    );
    Ok(())
}

// ---------- 16. approve ----------

async fn toss_approve(env: &mut Env) -> anyhow::Result<()> {
    let amount = toss_shop_with_two_products(env, "").await?;
    toss_pay_and(env, PgAction::Approve, false).await?;
    let page = env.page();
    page.wait_state(&["paid"]).await?;
    let id = page.wait_payment_id().await?;
    assert_toss_paid_once(env, &id, amount).await?;
    assert_toss_clean_url(env).await?;
    assert_never(env, "failed").await?;
    ensure!(page.error_text().await?.is_none(), "no error text once paid");
    Ok(())
}

#[tokio::test]
async fn toss_payments_approved_in_the_promise_form_is_confirmed_by_the_server_and_shown_paid_on_pc() {
    run("16-toss-approve", Profile::Pc, toss_approve).await;
}

#[tokio::test]
async fn toss_payments_approved_in_the_redirect_form_is_confirmed_by_the_server_and_shown_paid_on_mobile() {
    run("16-toss-approve", Profile::Mobile, toss_approve).await;
}

// ---------- 17. fail URL with Toss's code ----------

async fn toss_fail_url(env: &mut Env) -> anyhow::Result<()> {
    // The redirect form on PC too, so both profiles come back through failUrl.
    let amount = toss_shop_with_two_products(env, "?redirect=1").await?;
    let shop = env.services.shop_url();
    env.browser
        .add_init_script(&format!(
            "if (location.origin === {shop:?} && /[?&]code=/.test(location.search)) \
             {{ window.__e2eFailUrl = location.search; }}"
        ))
        .await?;
    toss_pay_and(env, PgAction::Decline, true).await?;
    let page = env.page();
    page.wait_state(&["failed"]).await?;
    let seen = page.js("return window.__e2eFailUrl || null;", vec![]).await?;
    ensure!(
        seen.as_str()
            .is_some_and(|q| q.contains("code=REJECT_CARD_COMPANY") && q.contains("orderId=")),
        "the page came back through failUrl with Toss's code: {seen}"
    );
    let error = page.error_text().await?.unwrap_or_default();
    ensure!(
        error.contains("결제 승인이 거절되었습니다"),
        "Toss's message, as the backend recorded it, is shown: {error:?}"
    );
    let id = page.wait_payment_id().await?;
    assert_not_fulfilled(env, &id).await?;
    assert_toss_clean_url(env).await?;
    // A retry with the same order pays.
    toss_pay_and(env, PgAction::Approve, true).await?;
    page.wait_state(&["paid"]).await?;
    let again = page.wait_payment_id().await?;
    ensure!(id == again, "the retry reuses the order: {id} then {again}");
    assert_toss_paid_once(env, &again, amount).await?;
    Ok(())
}

#[tokio::test]
async fn a_toss_fail_url_with_a_code_shows_tosss_message_and_a_retry_pays_on_pc() {
    run("17-toss-fail-url", Profile::Pc, toss_fail_url).await;
}

#[tokio::test]
async fn a_toss_fail_url_with_a_code_shows_tosss_message_and_a_retry_pays_on_mobile() {
    run("17-toss-fail-url", Profile::Mobile, toss_fail_url).await;
}

// ---------- 18. cancel in Toss's window ----------

async fn toss_cancel(env: &mut Env) -> anyhow::Result<()> {
    toss_shop_with_two_products(env, "").await?;
    toss_pay_and(env, PgAction::Cancel, false).await?;
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
    let toss = env
        .services
        .toss_payment(&id)
        .await?
        .context("Toss knows the attempt")?;
    ensure!(toss["status"] == "ABORTED", "Toss's payment: {toss}");
    assert_toss_clean_url(env).await?;
    Ok(())
}

#[tokio::test]
async fn cancelling_in_tosss_window_shows_cancelled_and_allows_a_retry_on_pc() {
    run("18-toss-cancel", Profile::Pc, toss_cancel).await;
}

#[tokio::test]
async fn cancelling_in_tosss_window_shows_cancelled_and_allows_a_retry_on_mobile() {
    run("18-toss-cancel", Profile::Mobile, toss_cancel).await;
}

// ---------- 19. the confirm's answer is lost ----------

async fn toss_lost_confirm(env: &mut Env) -> anyhow::Result<()> {
    let amount = toss_shop_with_two_products(env, "").await?;
    // The confirm reaches Toss and is applied, but its answer never comes back.
    env.services
        .set_faults(json!({"loseResponses": 1, "only": "/confirm"}))
        .await?;
    toss_pay_and(env, PgAction::Approve, false).await?;
    let page = env.page();
    page.wait_state(&["paid"]).await?;
    let id = page.wait_payment_id().await?;
    assert_toss_paid_once(env, &id, amount).await?;
    assert_never(env, "failed").await?;
    Ok(())
}

#[tokio::test]
async fn a_lost_confirm_answer_is_recovered_and_the_page_shows_paid_never_failed_on_pc() {
    run("19-toss-lost-confirm", Profile::Pc, toss_lost_confirm).await;
}

#[tokio::test]
async fn a_lost_confirm_answer_is_recovered_and_the_page_shows_paid_never_failed_on_mobile() {
    run("19-toss-lost-confirm", Profile::Mobile, toss_lost_confirm).await;
}

// ---------- 20. forged success URLs ----------

async fn toss_prepare(env: &Env) -> anyhow::Result<Value> {
    let (status, products) = env.services.api("GET", "/toss/api/products", None).await?;
    ensure!(status == 200, "/toss/api/products: {status}");
    let id = products[0]["id"].as_str().context("a product id")?.to_owned();
    let (status, prepared) = env
        .services
        .api(
            "POST",
            "/toss/api/payments",
            Some(json!({"items": [{"productId": id, "quantity": 2}]})),
        )
        .await?;
    ensure!(status == 200, "POST /toss/api/payments: {status} {prepared}");
    Ok(prepared)
}

async fn toss_forged_success_url(env: &mut Env) -> anyhow::Result<()> {
    env.services.use_toss_webhooks().await?;
    let page = env.page();
    // (a) A success URL for an order nobody paid, with a made-up paymentKey.
    let unpaid = toss_prepare(env).await?;
    let id = unpaid["paymentId"].as_str().context("paymentId")?.to_owned();
    page.goto(&format!(
        "{TOSS}?tossReturn=payment&paymentType=NORMAL&orderId={id}&paymentKey=tgen_forged&amount=100"
    ))
    .await?;
    page.wait_state(&["unknown"]).await?;
    assert_never(env, "paid").await?;
    assert_not_fulfilled(env, &id).await?;
    ensure!(
        env.services.toss_payment(&id).await?.is_none(),
        "nothing exists at Toss for the forged link"
    );
    assert_toss_clean_url(env).await?;
    // (b) A real authenticated payment whose success URL says 100 won: the
    // server confirms the order's own amount.
    let prepared = toss_prepare(env).await?;
    let id = prepared["paymentId"].as_str().context("paymentId")?.to_owned();
    let amount = prepared["totalAmount"].as_i64().context("totalAmount")?;
    let request = json!({
        "method": "CARD",
        "amount": {"currency": "KRW", "value": amount},
        "orderId": id,
        "orderName": prepared["orderName"],
    });
    let result = env
        .services
        .sandbox_send(
            "POST",
            "/__sandbox/toss/pay",
            Some(json!({"request": request, "outcome": "approve", "customerKey": "demo-customer-1"})),
        )
        .await?;
    let key = result["paymentKey"].as_str().context("paymentKey")?.to_owned();
    page.goto(&format!(
        "{TOSS}?tossReturn=payment&paymentType=NORMAL&orderId={id}&paymentKey={key}&amount=100"
    ))
    .await?;
    page.wait_state(&["paid"]).await?;
    assert_toss_paid_once(env, &id, amount).await?;
    // (c) An amount that is not a number: refused, nothing requested.
    page.goto(&format!(
        "{TOSS}?tossReturn=payment&orderId={id}&paymentKey={key}&amount=1e9%3Cscript%3E"
    ))
    .await?;
    page.wait_state(&["failed"]).await?;
    assert_never(env, "paid").await?;
    Ok(())
}

#[tokio::test]
async fn forged_toss_success_urls_never_pay_and_a_rewritten_amount_is_ignored_on_pc() {
    run("20-toss-forged-success-url", Profile::Pc, toss_forged_success_url).await;
}

#[tokio::test]
async fn forged_toss_success_urls_never_pay_and_a_rewritten_amount_is_ignored_on_mobile() {
    run("20-toss-forged-success-url", Profile::Mobile, toss_forged_success_url).await;
}

// ---------- 21. a billing key from an authKey ----------

async fn toss_billing(env: &mut Env) -> anyhow::Result<()> {
    env.services.use_toss_webhooks().await?;
    let page = env.page();
    page.goto("/toss/subscribe").await?;
    wait_for("the subscription page to render", DEADLINE, || async {
        let v = page
            .js(
                "var b = document.querySelector('[data-testid=\"billing-issue\"]'); \
                 return !!b && !b.disabled && !!document.querySelector('[data-testid=\"billing-status\"]');",
                vec![],
            )
            .await?;
        Ok((v == true).then_some(()))
    })
    .await?;
    page.click("[data-testid=\"billing-issue\"]").await?;
    // requestBillingAuth always comes back through successUrl (on PC the
    // top page leaves the iframe overlay behind).
    let kind = toss_window(env);
    let done = page.pg(kind, PgAction::Approve).await;
    match (kind, done) {
        (PgWindow::Iframe, Err(_)) => env.browser.client().enter_frame(None).await?,
        (_, done) => done?,
    }
    page.wait_back_on_shop().await?;
    page.wait_testid_state("billing-status", &["issued"], DEADLINE).await?;
    let key = page
        .attr("[data-testid=\"billing-status\"]", "data-billing-key")
        .await?
        .context("data-billing-key once issued")?;
    let stored = env
        .services
        .subscription_by_key(&key)
        .await?
        .with_context(|| format!("the backend issued and stored billing key {key}"))?;
    ensure!(stored.provider.as_str() == "toss", "{stored:?}");
    assert_toss_clean_url(env).await?;
    page.click("[data-testid=\"billing-charge\"]").await?;
    let charge = page
        .wait_testid_state("billing-charge-status", &["paid", "failed", "cancelled"], DEADLINE)
        .await?;
    ensure!(charge == "paid", "the charge succeeds (got {charge})");
    Ok(())
}

#[tokio::test]
async fn a_toss_billing_key_is_issued_by_the_server_from_the_auth_key_and_charged_on_pc() {
    run("21-toss-billing", Profile::Pc, toss_billing).await;
}

#[tokio::test]
async fn a_toss_billing_key_is_issued_by_the_server_from_the_auth_key_and_charged_on_mobile() {
    run("21-toss-billing", Profile::Mobile, toss_billing).await;
}
