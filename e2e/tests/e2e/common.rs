//! Flows and checks shared by the scenarios.

use anyhow::{ensure, Context as _};
use checkout_server::ProviderKind;
use e2e::{wait_for, Env, PgAction, PgWindow, Profile, DEADLINE};
use serde_json::{json, Value};

/// The first two products the shop shows, and their total (from `/api/products`).
pub async fn two_products(env: &Env) -> anyhow::Result<(Vec<String>, i64)> {
    let ids = env.page().product_ids().await?;
    ensure!(ids.len() >= 2, "the shop shows at least two products: {ids:?}");
    let chosen: Vec<String> = ids.into_iter().take(2).collect();
    let (status, products) = env.services.api("GET", "/api/products", None).await?;
    ensure!(status == 200, "/api/products: {status} {products}");
    let mut total = 0;
    for id in &chosen {
        let price = products
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["id"] == json!(id))
            .and_then(|p| p["price"].as_i64())
            .with_context(|| format!("price of {id} in {products}"))?;
        total += price;
    }
    Ok((chosen, total))
}

/// Opens the shop with `query`, puts two products in the cart and checks the
/// displayed total; returns the expected amount.
pub async fn shop_with_two_products(env: &Env, query: &str) -> anyhow::Result<i64> {
    env.page().open_shop(query).await?;
    add_two_products(env).await
}

/// Puts the first two products in the cart of the open shop and checks the
/// displayed total; returns the expected amount.
pub async fn add_two_products(env: &Env) -> anyhow::Result<i64> {
    let page = env.page();
    ensure!(
        !page.pay_enabled().await?,
        "the pay button is disabled while the cart is empty"
    );
    let (ids, total) = two_products(env).await?;
    for id in &ids {
        page.add_to_cart(id).await?;
    }
    let shown = page.cart_amount().await?;
    ensure!(
        shown == Some(total),
        "cart-total data-amount {shown:?}, expected {total}"
    );
    Ok(total)
}

/// The PG window kind for this profile (`popup`: `?window=popup` on PC).
pub fn window(env: &Env, popup: bool) -> PgWindow {
    env.page().pg_window(popup)
}

/// Clicks pay and does `action` in the PG window; on mobile with a button
/// action, waits until the tab is back on the shop.
pub async fn pay_and(env: &Env, kind: PgWindow, action: PgAction) -> anyhow::Result<()> {
    let page = env.page();
    page.pay().await?;
    page.pg(kind, action).await?;
    if kind == PgWindow::Redirect && action != PgAction::Wait {
        page.wait_back_on_shop().await?;
    }
    Ok(())
}

/// Waits until every webhook the sandbox created for `payment_id` has been
/// delivered (or given up), so later checks see their effect.
pub async fn webhooks_settled(env: &Env, payment_id: &str) -> anyhow::Result<Vec<Value>> {
    wait_for("the sandbox's webhooks to be delivered", DEADLINE, || async {
        let hooks: Vec<Value> = env
            .services
            .webhooks()
            .await?
            .into_iter()
            .filter(|w| webhook_payment_id(w).as_deref() == Some(payment_id))
            .collect();
        let settled = hooks.iter().all(|w| w["status"] != "pending");
        Ok(settled.then_some(hooks))
    })
    .await
}

/// `data.paymentId` of a webhook delivery's body (the body may be a string).
pub fn webhook_payment_id(delivery: &Value) -> Option<String> {
    body_data(delivery)["paymentId"].as_str().map(str::to_owned)
}

/// The `data` object of a webhook delivery's body.
pub fn body_data(delivery: &Value) -> Value {
    let body = match &delivery["body"] {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        other => other.clone(),
    };
    body["data"].clone()
}

/// The webhook type of a delivery.
pub fn body_type(delivery: &Value) -> String {
    let body = match &delivery["body"] {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        other => other.clone(),
    };
    body["type"]
        .as_str()
        .or_else(|| delivery["type"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Checks that `payment_id` is paid and fulfilled exactly once at `amount`,
/// in the backend (database and API) and at the sandbox.
pub async fn assert_paid_once(env: &Env, payment_id: &str, amount: i64) -> anyhow::Result<()> {
    webhooks_settled(env, payment_id).await?;
    assert_shop_paid_once(env, payment_id, amount, ProviderKind::PortOneV2, "").await?;
    let portone = env
        .services
        .portone_payment(payment_id)
        .await?
        .context("the sandbox knows the payment")?;
    ensure!(portone["status"] == "PAID", "sandbox payment: {portone}");
    ensure!(portone["amount"]["total"] == json!(amount), "sandbox amount: {portone}");
    Ok(())
}

/// The shop's side of a payment paid once, for every provider: the order
/// `PAID` at `amount` and recorded with `provider`, fulfilled exactly once,
/// and `GET {prefix}/api/payments/{payment_id}` (`prefix`: the provider's
/// contract root, `""`, `/v1` or `/toss`) answering `PAID` at `amount`.
pub async fn assert_shop_paid_once(
    env: &Env,
    payment_id: &str,
    amount: i64,
    provider: ProviderKind,
    prefix: &str,
) -> anyhow::Result<()> {
    let order = env
        .services
        .order(payment_id)
        .await?
        .with_context(|| format!("the backend has no order {payment_id}"))?;
    ensure!(
        order.status == "PAID",
        "backend order status {:?}: {order:?}",
        order.status
    );
    ensure!(
        order.total_amount == amount,
        "order amount {} != {amount}",
        order.total_amount
    );
    ensure!(
        order.provider == provider,
        "the order records its provider ({}): {order:?}",
        provider.as_str()
    );
    let fulfilled = env.services.fulfilment_count(payment_id).await?;
    ensure!(fulfilled == 1, "fulfilled {fulfilled} times, expected exactly once");
    let path = format!("{prefix}/api/payments/{payment_id}");
    let (status, api) = env.services.api("GET", &path, None).await?;
    ensure!(status == 200 && api["status"] == "PAID", "GET {path}: {status} {api}");
    ensure!(api["totalAmount"] == json!(amount), "GET {path}: {api}");
    Ok(())
}

/// Checks that `payment_id` is not paid and nothing was fulfilled (reads the
/// database only, so it does not trigger a sync).
pub async fn assert_not_fulfilled(env: &Env, payment_id: &str) -> anyhow::Result<()> {
    if let Some(order) = env.services.order(payment_id).await? {
        ensure!(order.status != "PAID", "the order must not be paid: {order:?}");
    }
    let fulfilled = env.services.fulfilment_count(payment_id).await?;
    ensure!(fulfilled == 0, "fulfilled {fulfilled} times, expected never");
    Ok(())
}

/// Fails if the checkout went through `forbidden` in the current document.
pub async fn assert_never(env: &Env, forbidden: &str) -> anyhow::Result<()> {
    let seen = env.page().states_seen().await?;
    ensure!(
        !seen.iter().any(|s| s == forbidden),
        "the checkout must never show {forbidden}; states seen: {seen:?}"
    );
    Ok(())
}

/// On mobile, checks the address bar no longer carries the result query.
pub async fn assert_clean_url(env: &Env) -> anyhow::Result<()> {
    if env.profile() != Profile::Mobile {
        return Ok(());
    }
    let url = env.page().url().await?;
    let leftover: Vec<String> = url
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .filter(|k| {
            [
                "paymentId",
                "payment_id",
                "txId",
                "tx_id",
                "transactionType",
                "code",
                "message",
                "pgCode",
                "pgMessage",
                "billingKey",
                // PortOne V1's return.
                "imp_uid",
                "merchant_uid",
                "imp_success",
                "error_code",
                "error_msg",
                "customer_uid",
            ]
            .contains(&k.as_str())
        })
        .collect();
    ensure!(leftover.is_empty(), "the address bar still carries {leftover:?}: {url}");
    Ok(())
}

/// Creates an order through the backend's API (as the page would); returns
/// the `PreparedPayment`.
pub async fn prepare_order(env: &Env) -> anyhow::Result<Value> {
    let (status, products) = env.services.api("GET", "/api/products", None).await?;
    ensure!(status == 200, "/api/products: {status}");
    let id = products[0]["id"].as_str().context("a product id")?.to_owned();
    let (status, prepared) = env
        .services
        .api(
            "POST",
            "/api/payments",
            Some(json!({"items": [{"productId": id, "quantity": 1}]})),
        )
        .await?;
    ensure!(status == 200, "POST /api/payments: {status} {prepared}");
    Ok(prepared)
}

/// Drives the sandbox's checkout without a browser (`POST /__sandbox/pay`)
/// for a prepared order, at `amount`.
pub async fn sandbox_pay(env: &Env, prepared: &Value, amount: i64, outcome: &str) -> anyhow::Result<Value> {
    let (_, config) = env.services.api("GET", "/api/config", None).await?;
    let request = json!({
        "storeId": config["storeId"],
        "channelKey": config["channels"][0]["key"],
        "paymentId": prepared["paymentId"],
        "orderName": prepared["orderName"],
        "totalAmount": amount,
        "currency": prepared["currency"],
        "payMethod": "EASY_PAY",
        "customer": prepared["customer"],
    });
    env.services
        .sandbox_send(
            "POST",
            "/__sandbox/pay",
            Some(json!({"request": request, "outcome": outcome, "bypassPreRegistration": amount != prepared["totalAmount"]})),
        )
        .await
}

/// A fetch wrapper for the shop's origin: requests whose path matches the
/// regular expression `path_re` (and method `method`) are counted in
/// `window[counter]` and never answered (the page never hears back).
pub fn block_fetch_js(shop: &str, method: &str, path_re: &str, counter: &str) -> String {
    format!(
        r#"(function () {{
  if (location.origin !== {shop:?} || window[{counter:?} + "Installed"]) return;
  window[{counter:?} + "Installed"] = true;
  window[{counter:?}] = 0;
  var orig = window.fetch;
  var re = new RegExp({path_re:?});
  window.fetch = function (input, init) {{
    var url = typeof input === "string" ? input : (input && input.url) || String(input);
    var method = ((init && init.method) || (input && input.method) || "GET").toUpperCase();
    var path = new URL(url, location.href).pathname;
    if (method === {method:?} && re.test(path)) {{
      window[{counter:?}]++;
      return new Promise(function () {{}});
    }}
    return orig.apply(this, arguments);
  }};
}})();"#
    )
}

/// A fetch wrapper for the sandbox's PG page: the window's result POST
/// reaches the sandbox (the payment is decided), but the page never hears
/// back, so it never navigates to the return URL. Sets `window.__e2eDecided`.
pub fn swallow_pg_result_js(sandbox: &str) -> String {
    format!(
        r#"(function () {{
  if (location.origin !== {sandbox:?} || window.__e2eSwallow) return;
  window.__e2eSwallow = true;
  var orig = window.fetch;
  window.fetch = function (input, init) {{
    var url = typeof input === "string" ? input : (input && input.url) || String(input);
    if (/\/complete$/.test(new URL(url, location.href).pathname)) {{
      return orig.apply(this, arguments).then(function (r) {{
        return r.text().then(function () {{ window.__e2eDecided = true; return new Promise(function () {{}}); }});
      }});
    }}
    return orig.apply(this, arguments);
  }};
}})();"#
    )
}

/// Waits until `window[var]` is truthy (a number > 0 or `true`) in the current document.
pub async fn wait_flag(env: &Env, var: &str, what: &str) -> anyhow::Result<()> {
    let page = env.page();
    wait_for(what, DEADLINE, || async {
        let v = page.js("return !!window[arguments[0]];", vec![json!(var)]).await?;
        Ok((v == true).then_some(()))
    })
    .await
}

/// Navigates the tab away from the shop (the shopper closed the page).
pub async fn leave_page(env: &Env) -> anyhow::Result<()> {
    env.browser.client().goto("about:blank").await?;
    Ok(())
}

/// Waits until the backend's database (not the API, which would sync) shows
/// `payment_id` with `status`.
pub async fn wait_db_status(env: &Env, payment_id: &str, status: &str) -> anyhow::Result<()> {
    wait_for(
        &format!("order {payment_id} to become {status} in the database"),
        DEADLINE,
        || async {
            let order = env.services.order(payment_id).await?;
            Ok(order.filter(|o| o.status == status).map(|_| ()))
        },
    )
    .await
}
