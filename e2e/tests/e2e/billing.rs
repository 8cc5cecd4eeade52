//! Scenario 11: billing keys on `/subscribe`.

use anyhow::{ensure, Context as _};
use e2e::{run, wait_for, Env, PgAction, PgWindow, Profile, DEADLINE};
use serde_json::json;

use crate::common::*;

async fn open_subscribe(env: &Env) -> anyhow::Result<()> {
    let page = env.page();
    page.goto("/subscribe").await?;
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
    .await
}

async fn issue_and_charge(env: &mut Env) -> anyhow::Result<()> {
    open_subscribe(env).await?;
    let page = env.page();
    page.click("[data-testid=\"billing-issue\"]").await?;
    let kind = window(env, false);
    page.pg(kind, PgAction::Approve).await?;
    if kind == PgWindow::Redirect {
        page.wait_back_on_shop().await?;
    }
    page.wait_testid_state("billing-status", &["issued"], DEADLINE).await?;
    let key = page
        .attr("[data-testid=\"billing-status\"]", "data-billing-key")
        .await?
        .context("data-billing-key once issued")?;
    let stored = env.services.subscription_by_key(&key).await?;
    let stored = stored.with_context(|| format!("the backend stored billing key {key}"))?;
    let portone = env
        .services
        .sandbox_send("GET", &format!("/billing-keys/{key}"), None)
        .await?;
    ensure!(
        portone["status"] == "ISSUED",
        "the key is issued at the sandbox: {portone}"
    );
    assert_clean_url(env).await?;

    page.click("[data-testid=\"billing-charge\"]").await?;
    let charge = page
        .wait_testid_state("billing-charge-status", &["paid", "failed", "cancelled"], DEADLINE)
        .await?;
    ensure!(charge == "paid", "the charge succeeds (got {charge})");
    let subscription = env
        .services
        .api("GET", &format!("/api/subscriptions/{}", stored_id(&stored)), None)
        .await?;
    ensure!(subscription.0 == 200, "the subscription exists: {subscription:?}");
    ensure!(subscription.1["status"] == "ACTIVE", "{subscription:?}");
    Ok(())
}

fn stored_id(row: &checkout_server::db::SubscriptionRow) -> String {
    row.subscription_id.clone()
}

#[tokio::test]
async fn a_billing_key_issued_in_the_iframe_is_stored_and_a_charge_succeeds_on_pc() {
    run("11-billing-key", Profile::Pc, issue_and_charge).await;
}

#[tokio::test]
async fn a_billing_key_issued_by_redirect_is_stored_and_a_charge_succeeds_on_mobile() {
    run("11-billing-key", Profile::Mobile, issue_and_charge).await;
}

async fn issued_key_from_webhook(env: &Env) -> anyhow::Result<String> {
    wait_for("a BillingKey.Issued webhook", DEADLINE, || async {
        let hooks = env.services.webhooks().await?;
        Ok(hooks
            .iter()
            .find(|w| body_type(w) == "BillingKey.Issued")
            .and_then(|w| body_data(w)["billingKey"].as_str().map(str::to_owned)))
    })
    .await
}

async fn issued_but_never_reported(env: &mut Env) -> anyhow::Result<()> {
    open_subscribe(env).await?;
    let page = env.page();
    let kind = window(env, false);
    if kind == PgWindow::Redirect {
        page.click("[data-testid=\"billing-issue\"]").await?;
        page.pg(kind, PgAction::Wait).await?;
        env.browser
            .inject(&swallow_pg_result_js(&env.services.sandbox_url()))
            .await?;
        page.pg(kind, PgAction::Approve).await?;
        wait_flag(env, "__e2eDecided", "the issuance to reach the sandbox").await?;
    } else {
        env.browser
            .inject(&block_fetch_js(
                &env.services.shop_url(),
                "POST",
                "^/api/billing-keys$",
                "__e2eBlocked",
            ))
            .await?;
        page.click("[data-testid=\"billing-issue\"]").await?;
        page.pg(kind, PgAction::Approve).await?;
        wait_flag(env, "__e2eBlocked", "the page to try to register the key").await?;
    }
    leave_page(env).await?;
    let key = issued_key_from_webhook(env).await?;
    let row = wait_for("the backend to store the key from the webhook", DEADLINE, || async {
        env.services.subscription_by_key(&key).await
    })
    .await?;
    let (status, sub) = env
        .services
        .api("GET", &format!("/api/subscriptions/{}", stored_id(&row)), None)
        .await?;
    ensure!(status == 200 && sub["billingKey"] == json!(key), "{status} {sub}");
    // The stored key works: a charge through the API succeeds.
    let (status, charge) = env.services.charge(&stored_id(&row), "e2e-charge-1").await?;
    ensure!(status == 200 && charge["status"] == "PAID", "charge: {status} {charge}");
    Ok(())
}

#[tokio::test]
async fn a_billing_key_the_browser_never_reports_is_stored_from_the_webhook_on_pc() {
    run("11-billing-webhook-only", Profile::Pc, issued_but_never_reported).await;
}

#[tokio::test]
async fn a_billing_key_the_browser_never_reports_is_stored_from_the_webhook_on_mobile() {
    run("11-billing-webhook-only", Profile::Mobile, issued_but_never_reported).await;
}
