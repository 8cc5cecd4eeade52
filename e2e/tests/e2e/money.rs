//! Scenarios 13-15 (money safety): a crafted return link reaches no other
//! route and charges nothing; a paid payment whose failure link arrives while
//! PortOne is unreadable is never shown as failed; a net cancel PortOne has
//! not confirmed is never shown as cancelled.

use anyhow::{ensure, Context as _};
use e2e::{run, wait_for, Env, Profile, DEADLINE};
use serde_json::{json, Value};

use crate::common::*;

/// Registers a billing key for the demo customer through the API (as the
/// subscription page would); returns the subscription id.
async fn subscribe(env: &Env) -> anyhow::Result<String> {
    let (status, prepared) = env
        .services
        .api("POST", "/api/billing-keys/prepare", Some(json!({})))
        .await?;
    ensure!(status == 200, "prepare billing key: {status} {prepared}");
    let (_, config) = env.services.api("GET", "/api/config", None).await?;
    let request = json!({
        "storeId": config["storeId"],
        "channelKey": config["channels"][0]["key"],
        "billingKeyMethod": "EASY_PAY",
        "issueId": prepared["issueId"],
        "issueName": prepared["issueName"],
        "customer": prepared["customer"],
    });
    let issued = env
        .services
        .sandbox_send(
            "POST",
            "/__sandbox/issue-billing-key",
            Some(json!({"request": request, "outcome": "approve"})),
        )
        .await?;
    let key = issued["billingKey"].as_str().context("billingKey")?;
    let (status, sub) = env
        .services
        .api(
            "POST",
            "/api/billing-keys",
            Some(json!({"billingKey": key, "issueId": prepared["issueId"]})),
        )
        .await?;
    ensure!(status == 200, "register billing key: {status} {sub}");
    Ok(sub["subscriptionId"].as_str().context("subscriptionId")?.to_owned())
}

/// Every URL the current document fetched.
async fn fetched_urls(env: &Env) -> anyhow::Result<Vec<String>> {
    let v = env
        .page()
        .js(
            "return performance.getEntriesByType('resource').map(function (e) { return e.name; });",
            vec![],
        )
        .await?;
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str().map(str::to_owned))
        .collect())
}

// ---------- 13. a crafted return link ----------

async fn crafted_link(env: &mut Env) -> anyhow::Result<()> {
    let sub = subscribe(env).await?;
    let page = env.page();
    page.goto(&format!(
        "/?paymentId=../subscriptions/{sub}/charge%3F&transactionType=PAYMENT&txId=x"
    ))
    .await?;
    let state = page.wait_state(&["failed", "unknown", "paid", "cancelled"]).await?;
    ensure!(state == "failed", "the link is refused (state {state})");
    let error = page.error_text().await?.unwrap_or_default();
    ensure!(!error.trim().is_empty(), "the refusal is explained");
    let urls = fetched_urls(env).await?;
    let api: Vec<&String> = urls.iter().filter(|u| u.contains("/api/")).collect();
    ensure!(
        api.iter()
            .all(|u| !u.contains("/subscriptions/") && !u.contains("/complete")),
        "no request left the payments routes: {api:?}"
    );
    ensure!(
        env.services.next_charge(&sub).await?.is_none(),
        "nothing was charged or scheduled"
    );
    let charges: Vec<_> = env
        .services
        .open_orders()
        .await?
        .into_iter()
        .filter(|o| o.kind == "charge")
        .collect();
    ensure!(charges.is_empty(), "no charge order was made: {charges:?}");
    assert_never(env, "paid").await?;
    assert_clean_url(env).await?;
    Ok(())
}

#[tokio::test]
async fn a_crafted_return_link_reaches_no_other_route_and_charges_nothing_on_pc() {
    run("13-crafted-link", Profile::Pc, crafted_link).await;
}

#[tokio::test]
async fn a_crafted_return_link_reaches_no_other_route_and_charges_nothing_on_mobile() {
    run("13-crafted-link", Profile::Mobile, crafted_link).await;
}

// ---------- 14. a failure link while PortOne is unreadable ----------

async fn stale_failure_link(env: &mut Env) -> anyhow::Result<()> {
    // Nobody but the page will report this payment.
    env.services.set_faults(json!({"webhook": {"drop": true}})).await?;
    let prepared = prepare_order(env).await?;
    let id = prepared["paymentId"].as_str().context("paymentId")?.to_owned();
    let amount = prepared["totalAmount"].as_i64().context("totalAmount")?;
    let result = sandbox_pay(env, &prepared, amount, "approve").await?;
    let tx = result["txId"].as_str().unwrap_or_default().to_owned();
    // PortOne becomes unreadable for the backend.
    env.services
        .set_faults(json!({"failNext": 1_000_000, "webhook": {"drop": true}}))
        .await?;
    let page = env.page();
    page.goto(&format!(
        "/?paymentId={id}&transactionType=PAYMENT&txId={tx}&code=FAILURE_TYPE_PG&pgCode=X&pgMessage=%EC%B9%B4%EB%93%9C%EA%B0%80+%EA%B1%B0%EC%A0%88%EB%90%98%EC%97%88%EC%8A%B5%EB%8B%88%EB%8B%A4"
    ))
    .await?;
    page.wait_state(&["unknown"]).await?;
    let error = page.error_text().await?.unwrap_or_default();
    ensure!(!error.contains("거절"), "the link's text is not shown: {error:?}");
    ensure!(!page.pay_enabled().await?, "an unknown payment cannot be paid again");
    // PortOne is back: the page's next automatic check finds the truth.
    env.services.set_faults(json!({})).await?;
    page.wait_state(&["paid"]).await?;
    assert_never(env, "failed").await?;
    assert_never(env, "cancelled").await?;
    assert_paid_once(env, &id, amount).await?;
    Ok(())
}

#[tokio::test]
async fn a_failure_link_for_a_paid_payment_while_portone_is_unreadable_shows_checking_never_failed_on_pc() {
    run("14-stale-read", Profile::Pc, stale_failure_link).await;
}

#[tokio::test]
async fn a_failure_link_for_a_paid_payment_while_portone_is_unreadable_shows_checking_never_failed_on_mobile() {
    run("14-stale-read", Profile::Mobile, stale_failure_link).await;
}

// ---------- 15. a net cancel PortOne has not confirmed ----------

async fn unconfirmed_net_cancel(env: &mut Env) -> anyhow::Result<()> {
    let page = env.page();
    page.open_shop("").await?;
    page.add_to_cart("beans-1kg").await?;
    // The page's order is prepared (in the background) while a unit is left.
    page.wait_payment_id().await?;
    // Someone else buys the last unit first.
    let (status, other) = env
        .services
        .api(
            "POST",
            "/api/payments",
            Some(json!({"items": [{"productId": "beans-1kg", "quantity": 1}]})),
        )
        .await?;
    ensure!(status == 200, "{status} {other}");
    let other_id = other["paymentId"].as_str().context("paymentId")?.to_owned();
    sandbox_pay(env, &other, other["totalAmount"].as_i64().unwrap_or(0), "approve").await?;
    let done = env.services.payment_status(&other_id).await?;
    ensure!(done["status"] == "PAID", "{done}");
    // Cancels cannot reach PortOne.
    env.services
        .set_faults(json!({"failNext": 1_000_000, "only": "/cancel"}))
        .await?;
    pay_and(env, window(env, false), e2e::PgAction::Approve).await?;
    let state = page.wait_state(&["cancelling", "cancelled", "paid", "failed"]).await?;
    ensure!(
        state == "cancelling",
        "the cancel is in progress, not done (state {state})"
    );
    let id = page.wait_payment_id().await?;
    let at_portone = env.services.portone_payment(&id).await?.context("payment")?;
    ensure!(at_portone["status"] == "PAID", "{at_portone}");
    assert_never(env, "cancelled").await?;
    // PortOne answers cancels again: the next check finishes it.
    env.services.set_faults(json!({})).await?;
    page.wait_state(&["cancelled"]).await?;
    let at_portone: Value = wait_for("PortOne to report the cancel", DEADLINE, || async {
        let p = env.services.portone_payment(&id).await?;
        Ok(p.filter(|p| p["status"] == "CANCELLED"))
    })
    .await?;
    ensure!(at_portone["status"] == "CANCELLED");
    assert_not_fulfilled(env, &id).await?;
    assert_never(env, "paid").await?;
    Ok(())
}

#[tokio::test]
async fn a_net_cancel_portone_has_not_confirmed_is_never_shown_as_cancelled_on_pc() {
    run("15-unconfirmed-cancel", Profile::Pc, unconfirmed_net_cancel).await;
}

#[tokio::test]
async fn a_net_cancel_portone_has_not_confirmed_is_never_shown_as_cancelled_on_mobile() {
    run("15-unconfirmed-cancel", Profile::Mobile, unconfirmed_net_cancel).await;
}
