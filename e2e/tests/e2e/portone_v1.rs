//! Scenarios V1-1 to V1-5: the same shop on PortOne V1 with TossPay at
//! `/v1/` (`IMP.request_pay`: a callback on PC, a redirect to
//! `m_redirect_url` on the phone), verified by the backend with the V1 REST
//! API: approve, decline and retry, cancel, forged returns, billing key.

use anyhow::{ensure, Context as _};
use e2e::{run, wait_for, Env, PgAction, PgWindow, Profile, DEADLINE};
use serde_json::{json, Value};

use crate::common::*;

const V1: &str = "/v1";

/// Opens the V1 shop, puts two products in the cart; the expected amount.
async fn v1_shop_with_two_products(env: &Env) -> anyhow::Result<i64> {
    env.page().open_shop_at(V1, "").await?;
    add_two_products(env).await
}

/// The V1 webhooks the sandbox sent for `merchant_uid` to the shop's V1
/// endpoint, once none is pending.
async fn v1_webhooks_settled(env: &Env, merchant_uid: &str) -> anyhow::Result<Vec<Value>> {
    let endpoint = format!("{}/v1/api/webhooks/portone-v1", env.services.shop_url());
    wait_for("the sandbox's V1 webhooks to be delivered", DEADLINE, || async {
        let hooks: Vec<Value> = env
            .services
            .webhooks()
            .await?
            .into_iter()
            .filter(|w| w["url"] == json!(endpoint))
            .filter(|w| {
                let body = match &w["body"] {
                    Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                    other => other.clone(),
                };
                body["merchant_uid"] == json!(merchant_uid)
            })
            .collect();
        Ok(hooks.iter().all(|w| w["status"] != "pending").then_some(hooks))
    })
    .await
}

/// `merchant_uid` is paid once at `amount`: in the database (PAID, one
/// fulfilment, a V1 order), through `/v1/api/payments/{id}` and at V1.
async fn assert_v1_paid_once(env: &Env, merchant_uid: &str, amount: i64) -> anyhow::Result<()> {
    ensure!(
        merchant_uid.len() <= 40,
        "a V1 merchant_uid is at most 40 characters: {merchant_uid}"
    );
    v1_webhooks_settled(env, merchant_uid).await?;
    assert_shop_paid_once(
        env,
        merchant_uid,
        amount,
        checkout_server::ProviderKind::PortOneV1,
        "/v1",
    )
    .await?;
    let at_v1 = env
        .services
        .v1_payment(merchant_uid)
        .await?
        .context("V1 knows the payment")?;
    ensure!(
        at_v1["status"] == "paid" && at_v1["amount"] == json!(amount),
        "V1 payment: {at_v1}"
    );
    Ok(())
}

// ---------- V1-1. approve ----------

async fn v1_approve(env: &mut Env) -> anyhow::Result<()> {
    let amount = v1_shop_with_two_products(env).await?;
    pay_and(env, window(env, false), PgAction::Approve).await?;
    let page = env.page();
    page.wait_state(&["paid"]).await?;
    let id = page.wait_payment_id().await?;
    assert_v1_paid_once(env, &id, amount).await?;
    // The page's notice_url is the shop's V1 webhook: V1 told it too.
    let hooks = v1_webhooks_settled(env, &id).await?;
    ensure!(
        hooks.iter().any(|w| w["status"] == "delivered"),
        "the V1 webhook reached the shop: {hooks:?}"
    );
    assert_clean_url(env).await?;
    assert_never(env, "failed").await?;
    ensure!(page.error_text().await?.is_none(), "no error text once paid");
    let url = page.url().await?;
    ensure!(url.path().starts_with("/v1"), "still the V1 shop: {url}");
    Ok(())
}

#[tokio::test]
async fn v1_buying_two_products_and_approving_in_the_iframe_shows_paid_and_fulfils_once_on_pc() {
    run("v1-01-approve", Profile::Pc, v1_approve).await;
}

#[tokio::test]
async fn v1_buying_two_products_and_approving_after_the_redirect_shows_paid_and_cleans_the_url_on_mobile() {
    run("v1-01-approve", Profile::Mobile, v1_approve).await;
}

// ---------- V1-2. decline, then retry with the same merchant_uid ----------

async fn v1_decline_then_retry(env: &mut Env) -> anyhow::Result<()> {
    let amount = v1_shop_with_two_products(env).await?;
    let kind = window(env, false);
    pay_and(env, kind, PgAction::Decline).await?;
    let page = env.page();
    page.wait_state(&["failed"]).await?;
    let error = page.error_text().await?.unwrap_or_default();
    ensure!(
        error.contains("잔액이 부족합니다"),
        "V1's fail_reason, confirmed by the backend, is shown; error text: {error:?}"
    );
    let first = page.wait_payment_id().await?;
    assert_not_fulfilled(env, &first).await?;
    let failed = env.services.v1_payment(&first).await?.context("V1 payment")?;
    ensure!(failed["status"] == "failed", "V1 recorded the decline: {failed}");
    ensure!(page.pay_enabled().await?, "the pay button is usable again");

    pay_and(env, kind, PgAction::Approve).await?;
    page.wait_state(&["paid"]).await?;
    let second = page.wait_payment_id().await?;
    ensure!(first == second, "the retry reuses the order: {first} then {second}");
    assert_v1_paid_once(env, &second, amount).await?;
    let paid = env.services.v1_payment(&second).await?.context("V1 payment")?;
    ensure!(
        paid["imp_uid"] != failed["imp_uid"],
        "the retry is a new V1 payment of the same order: {paid}"
    );
    assert_clean_url(env).await?;
    Ok(())
}

#[tokio::test]
async fn v1_a_declined_payment_shows_the_pgs_reason_and_a_retry_with_the_same_merchant_uid_pays_on_pc() {
    run("v1-02-decline-retry", Profile::Pc, v1_decline_then_retry).await;
}

#[tokio::test]
async fn v1_a_declined_payment_shows_the_pgs_reason_and_a_retry_with_the_same_merchant_uid_pays_on_mobile() {
    run("v1-02-decline-retry", Profile::Mobile, v1_decline_then_retry).await;
}

// ---------- V1-3. cancel in the window ----------

/// After a cancel in the window: not paid, explained in V1's words, payable
/// again; the merchant_uid.
async fn v1_expect_cancelled(env: &Env) -> anyhow::Result<String> {
    let page = env.page();
    // V1's REST API reports a failed payment's reason but no code, so the
    // backend cannot tell a cancel from a decline (never by its text): the
    // page shows the confirmed failure in V1's words.
    page.wait_state(&["failed", "cancelled"]).await?;
    let error = page.error_text().await?.unwrap_or_default();
    ensure!(
        error.contains("취소"),
        "the cancel is explained in V1's words: {error:?}"
    );
    let id = page.wait_payment_id().await?;
    assert_not_fulfilled(env, &id).await?;
    let at_v1 = env.services.v1_payment(&id).await?.context("V1 payment")?;
    ensure!(at_v1["status"] == "failed", "nothing was paid at V1: {at_v1}");
    wait_for("the pay button to be usable again", DEADLINE, || async {
        Ok(page.pay_enabled().await?.then_some(()))
    })
    .await?;
    assert_never(env, "paid").await?;
    Ok(id)
}

async fn v1_cancel(env: &mut Env) -> anyhow::Result<()> {
    v1_shop_with_two_products(env).await?;
    pay_and(env, window(env, false), PgAction::Cancel).await?;
    v1_expect_cancelled(env).await?;
    assert_clean_url(env).await?;
    if env.profile() == Profile::Pc {
        // `popup: true`: the cancel button, then closing the popup. As in
        // scenario 3, the click follows the background prepare; the V1
        // stand-in opens the popup in the click's own task (WebKit refuses
        // one after a network round trip: e2e/README.md, E2).
        env.page().open_shop_at(V1, "?window=popup").await?;
        add_two_products(env).await?;
        env.page().wait_payment_id().await?;
        pay_and(env, PgWindow::Popup, PgAction::Cancel).await?;
        let first = v1_expect_cancelled(env).await?;
        pay_and(env, PgWindow::Popup, PgAction::ClosePopup).await?;
        let second = v1_expect_cancelled(env).await?;
        ensure!(
            first == second,
            "the retry reuses the merchant_uid: {first} then {second}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn v1_cancelling_in_the_iframe_or_the_popup_is_not_paid_explained_and_payable_again_on_pc() {
    run("v1-03-cancel", Profile::Pc, v1_cancel).await;
}

#[tokio::test]
async fn v1_cancelling_in_the_pg_page_is_not_paid_explained_and_payable_again_on_mobile() {
    run("v1-03-cancel", Profile::Mobile, v1_cancel).await;
}

// ---------- V1-4. forged returns ----------

const XSS: &str = "<img src=x onerror=window.__pwned=1><script>window.__pwned=2</script>";

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn assert_nothing_executed(env: &Env) -> anyhow::Result<()> {
    let v = env
        .page()
        .js(
            "return { pwned: typeof window.__pwned, imgs: document.querySelectorAll('img[src=\"x\"]').length };",
            vec![],
        )
        .await?;
    ensure!(
        v == json!({"pwned": "undefined", "imgs": 0}),
        "no HTML from the URL ran: {v}"
    );
    Ok(())
}

/// Creates a V1 order through the API and pays it at the sandbox (`outcome`)
/// as `IMP.request_pay` would; `(merchant_uid, amount, imp_uid)`.
async fn v1_paid_elsewhere(env: &Env, outcome: &str) -> anyhow::Result<(String, i64, String)> {
    let (status, products) = env.services.api("GET", "/v1/api/products", None).await?;
    ensure!(status == 200, "/v1/api/products: {status}");
    let product = products[0]["id"].as_str().context("a product id")?.to_owned();
    let (status, prepared) = env
        .services
        .api(
            "POST",
            "/v1/api/payments",
            Some(json!({"items": [{"productId": product, "quantity": 1}]})),
        )
        .await?;
    ensure!(status == 200, "POST /v1/api/payments: {status} {prepared}");
    let id = prepared["paymentId"].as_str().context("paymentId")?.to_owned();
    let amount = prepared["totalAmount"].as_i64().context("totalAmount")?;
    let rsp = env
        .services
        .sandbox_send(
            "POST",
            "/__sandbox/v1/pay",
            Some(json!({
                "params": {
                    "channelKey": portone_sandbox::TOSSPAY_CHANNEL_KEY, "pay_method": "tosspay",
                    "merchant_uid": id, "name": prepared["orderName"], "amount": amount,
                },
                "outcome": outcome,
            })),
        )
        .await?;
    let imp_uid = rsp["imp_uid"].as_str().context("imp_uid")?.to_owned();
    Ok((id, amount, imp_uid))
}

async fn v1_forged_returns(env: &mut Env) -> anyhow::Result<()> {
    let page = env.page();
    // (a) A made-up order claiming success, markup in the message.
    let forged = "order-forged-0000";
    page.goto(&format!(
        "{V1}/?imp_uid=imp_000000000000&merchant_uid={forged}&imp_success=true&error_msg={}",
        enc(XSS)
    ))
    .await?;
    let error = wait_for("a clear message for the unknown order", DEADLINE, || async {
        Ok(page.error_text().await?.filter(|t| !t.trim().is_empty()))
    })
    .await?;
    ensure!(
        page.state().await?.as_deref() != Some("paid"),
        "a made-up merchant_uid must not show paid ({error:?})"
    );
    assert_never(env, "paid").await?;
    assert_nothing_executed(env).await?;
    ensure!(env.services.order(forged).await?.is_none(), "no order was invented");

    // (b) A failure claimed (`imp_success=false`, `error_code`) for a payment
    // V1 holds as paid: the backend's answer wins.
    let (paid_id, amount, imp_uid) = v1_paid_elsewhere(env, "approve").await?;
    page.goto(&format!(
        "{V1}/?imp_uid={imp_uid}&merchant_uid={paid_id}&imp_success=false&error_code=PAY_PROCESS_CANCELED&error_msg={}",
        enc(XSS)
    ))
    .await?;
    let state = page.wait_state(&["paid", "failed", "cancelled"]).await?;
    ensure!(state == "paid", "V1 says paid, the page must agree (got {state})");
    assert_nothing_executed(env).await?;
    assert_v1_paid_once(env, &paid_id, amount).await?;
    assert_clean_url(env).await?;

    // (c) Success claimed (`imp_success=true`) for a payment V1 declined.
    let (declined_id, _, imp_uid) = v1_paid_elsewhere(env, "decline").await?;
    page.goto(&format!(
        "{V1}/?imp_uid={imp_uid}&merchant_uid={declined_id}&imp_success=true"
    ))
    .await?;
    page.wait_state(&["failed"]).await?;
    assert_never(env, "paid").await?;
    assert_not_fulfilled(env, &declined_id).await?;

    // (d) A crafted merchant_uid: refused before any request, explained.
    page.goto(&format!(
        "{V1}/?imp_uid=imp_1&merchant_uid=..%2Fsubscriptions%2Fsub-1%2Fcharge&imp_success=true"
    ))
    .await?;
    let error = wait_for("the crafted link to be refused", DEADLINE, || async {
        Ok(page.error_text().await?.filter(|t| !t.trim().is_empty()))
    })
    .await?;
    ensure!(page.state().await?.as_deref() == Some("failed"), "refused: {error:?}");
    assert_never(env, "paid").await?;
    Ok(())
}

#[tokio::test]
async fn v1_forged_returns_never_show_success_never_run_markup_and_explain_themselves_on_pc() {
    run("v1-04-forged-return", Profile::Pc, v1_forged_returns).await;
}

#[tokio::test]
async fn v1_forged_returns_never_show_success_never_run_markup_and_explain_themselves_on_mobile() {
    run("v1-04-forged-return", Profile::Mobile, v1_forged_returns).await;
}

// ---------- V1-5. billing key ----------

async fn v1_issue_and_charge(env: &mut Env) -> anyhow::Result<()> {
    let page = env.page();
    page.goto(&format!("{V1}/subscribe")).await?;
    wait_for("the V1 subscription page to render", DEADLINE, || async {
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
    let kind = window(env, false);
    page.pg(kind, PgAction::Approve).await?;
    if kind == PgWindow::Redirect {
        page.wait_back_on_shop().await?;
    }
    page.wait_testid_state("billing-status", &["issued"], DEADLINE).await?;
    let customer_uid = page
        .attr("[data-testid=\"billing-status\"]", "data-billing-key")
        .await?
        .context("data-billing-key once issued")?;
    ensure!(customer_uid.len() <= 40, "a V1 customer_uid: {customer_uid}");
    let stored = env
        .services
        .subscription_by_key(&customer_uid)
        .await?
        .with_context(|| format!("the backend stored customer_uid {customer_uid}"))?;
    ensure!(
        stored.provider == checkout_server::ProviderKind::PortOneV1,
        "a V1 subscription: {stored:?}"
    );
    let (status, customer) = env
        .services
        .v1_rest("GET", &format!("/subscribe/customers/{customer_uid}"), None)
        .await?;
    ensure!(status == 200, "V1 holds the billing key: {status} {customer}");
    assert_clean_url(env).await?;
    let url = page.url().await?;
    ensure!(url.path().starts_with("/v1/subscribe"), "still the V1 page: {url}");

    page.click("[data-testid=\"billing-charge\"]").await?;
    let charge = page
        .wait_testid_state("billing-charge-status", &["paid", "failed", "cancelled"], DEADLINE)
        .await?;
    ensure!(charge == "paid", "the charge succeeds (got {charge})");
    let next = env
        .services
        .next_charge(&stored.subscription_id)
        .await?
        .context("the next charge is written")?;
    ensure!(
        next.schedule_state.as_deref() == Some("SCHEDULED"),
        "the next charge is scheduled with V1: {next:?}"
    );
    let (status, schedule) = env
        .services
        .v1_rest(
            "GET",
            &format!("/subscribe/payments/schedule/{}", next.payment_id),
            None,
        )
        .await?;
    ensure!(
        status == 200 && schedule["response"]["schedule_status"] == "scheduled",
        "V1 holds the schedule: {status} {schedule}"
    );
    Ok(())
}

#[tokio::test]
async fn v1_a_billing_key_issued_in_the_iframe_is_stored_charged_and_its_next_charge_scheduled_on_pc() {
    run("v1-05-billing-key", Profile::Pc, v1_issue_and_charge).await;
}

#[tokio::test]
async fn v1_a_billing_key_issued_by_redirect_is_stored_charged_and_its_next_charge_scheduled_on_mobile() {
    run("v1-05-billing-key", Profile::Mobile, v1_issue_and_charge).await;
}
