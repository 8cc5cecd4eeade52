//! One simulated customer: what the checkout component and a person do,
//! without a browser. Every choice comes from the customer's own seeded RNG,
//! so a seed replays the same plan (the interleavings vary with timing).
//!
//! A customer picks a provider (PortOne V2, PortOne V1 with TossPay, Toss
//! Payments), then either buys (prepare an order, sometimes of the scarce
//! product; pay through the sandbox's driver with a random outcome, retry
//! after a decline, tamper with the amount now and then; report `complete`
//! zero, one or several times, concurrently or after a pause, sometimes with
//! a forged failure hint; deposit to a virtual account or settle a pending
//! payment later) or subscribes (issue a billing key, register it, charge it
//! with idempotency keys, retrying with the same key).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::seq::SliceRandom as _;
use rand::Rng as _;
use rand_chacha::ChaCha8Rng;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::client::{Answer, Ctx};

/// The sandbox's store and channels (its defaults).
const STORE_ID: &str = "store-sandbox";
const TOSSPAY_CHANNEL: &str = "channel-key-sandbox-tosspay";
const CARD_CHANNEL: &str = "channel-key-sandbox-card";

/// How long a customer keeps retrying one request while the backend is down.
const PATIENCE: Duration = Duration::from_secs(45);

/// The provider a customer pays with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// PortOne V2 (mounted at `/`).
    V2,
    /// PortOne V1 with TossPay (`/v1`).
    V1,
    /// Toss Payments used directly (`/toss`).
    Toss,
}

impl Provider {
    /// The backend mount.
    pub fn prefix(self) -> &'static str {
        match self {
            Provider::V2 => "",
            Provider::V1 => "/v1",
            Provider::Toss => "/toss",
        }
    }

    /// The backend's name for it (`orders.provider`).
    pub fn name(self) -> &'static str {
        match self {
            Provider::V2 => "portone_v2",
            Provider::V1 => "portone_v1",
            Provider::Toss => "toss",
        }
    }
}

/// What the catalogue looks like to customers.
#[derive(Clone, Debug)]
pub struct Catalogue {
    /// Products with plenty of stock.
    pub plenty: Vec<String>,
    /// The product about to run out.
    pub scarce: String,
}

/// The checkout's answer to the driver, as the customer holds it.
struct Paid {
    /// V2's `txId`, V1's `imp_uid`, Toss's `paymentKey`.
    tx: Option<String>,
    /// The driver's outcome.
    outcome: &'static str,
}

/// Runs customer `idx` to the end of its plan.
pub async fn run(ctx: Arc<Ctx>, catalogue: Arc<Catalogue>, idx: usize, mut rng: ChaCha8Rng) {
    ctx.world.counts.customers_started.inc();
    let provider = match rng.gen_range(0..100) {
        0..=44 => Provider::V2,
        45..=69 => Provider::V1,
        _ => Provider::Toss,
    };
    if rng.gen_bool(0.12) {
        subscribe(&ctx, provider, idx, &mut rng).await;
    } else {
        buy(&ctx, &catalogue, provider, idx, &mut rng).await;
    }
    ctx.world.counts.customers_finished.inc();
}

/// A pause as a person makes one: mostly short, sometimes long.
async fn pause(rng: &mut ChaCha8Rng) {
    let ms = match rng.gen_range(0..100) {
        0..=69 => rng.gen_range(0..300),
        70..=94 => rng.gen_range(500..3000),
        _ => rng.gen_range(5000..15000),
    };
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

fn pick_items(catalogue: &Catalogue, rng: &mut ChaCha8Rng) -> Vec<Value> {
    if rng.gen_bool(0.15) {
        return vec![json!({"productId": catalogue.scarce, "quantity": 1})];
    }
    let lines = rng.gen_range(1..=catalogue.plenty.len().min(3));
    catalogue
        .plenty
        .choose_multiple(rng, lines)
        .map(|p| json!({"productId": p, "quantity": rng.gen_range(1..=3)}))
        .collect()
}

async fn buy(ctx: &Ctx, catalogue: &Catalogue, provider: Provider, idx: usize, rng: &mut ChaCha8Rng) {
    let p = provider.prefix();
    let mut items = pick_items(catalogue, rng);
    let mut tries = 0;
    let prepared = loop {
        tries += 1;
        let a = ctx
            .backend_retrying(
                Method::POST,
                &format!("{p}/api/payments"),
                Some(&json!({ "items": items })),
                &[],
                None,
                PATIENCE,
            )
            .await;
        match a {
            Answer::Http(200, v) => break v,
            // Sold out: pick something else once, as a person would.
            Answer::Http(409, _) if tries == 1 => {
                items = vec![json!({"productId": catalogue.plenty[0], "quantity": 1})];
            }
            _ => return,
        }
    };
    let Some(id) = prepared["paymentId"].as_str().map(str::to_owned) else {
        return;
    };
    ctx.world.counts.orders.inc();
    ctx.world.note(
        &id,
        format!(
            "customer {idx} prepared with {} for {}: {prepared}",
            provider.name(),
            json!(items)
        ),
    );
    pause(rng).await;
    // No pay at all (the customer leaves): 6 %.
    if rng.gen_bool(0.06) {
        ctx.world.note(&id, "customer leaves without paying".into());
        if rng.gen_bool(0.3) {
            report(ctx, provider, &id, None, rng).await;
        }
        return;
    }
    let mut attempts = 0;
    loop {
        attempts += 1;
        let outcome = pick_outcome(provider, rng);
        let tamper = rng.gen_bool(0.03);
        let Some(paid) = pay(ctx, idx, provider, &prepared, outcome, tamper, rng).await else {
            return;
        };
        report(ctx, provider, &id, paid.tx.as_deref(), rng).await;
        match paid.outcome {
            "virtualAccount" => {
                pause(rng).await;
                deposit(ctx, provider, &id, paid.tx.as_deref(), rng).await;
            }
            "payPending" => {
                pause(rng).await;
                settle(ctx, &id, rng).await;
            }
            "decline" | "cancel" if attempts < 3 && rng.gen_bool(0.5) => {
                pause(rng).await;
                continue;
            }
            _ => {}
        }
        return;
    }
}

fn pick_outcome(provider: Provider, rng: &mut ChaCha8Rng) -> &'static str {
    let n = rng.gen_range(0..100);
    match provider {
        Provider::V2 => match n {
            0..=49 => "approve",
            50..=64 => "decline",
            65..=74 => "cancel",
            75..=86 => "virtualAccount",
            _ => "payPending",
        },
        Provider::V1 => match n {
            0..=64 => "approve",
            65..=84 => "decline",
            _ => "cancel",
        },
        Provider::Toss => match n {
            0..=59 => "approve",
            60..=74 => "decline",
            75..=84 => "cancel",
            _ => "virtualAccount",
        },
    }
}

/// Pays the prepared order through the sandbox's driver, as the provider's
/// window would; `tamper`: at another amount (skipping the pre-registration).
async fn pay(
    ctx: &Ctx,
    idx: usize,
    provider: Provider,
    prepared: &Value,
    outcome: &'static str,
    tamper: bool,
    rng: &mut ChaCha8Rng,
) -> Option<Paid> {
    let id = prepared["paymentId"].as_str()?;
    let total = prepared["totalAmount"].as_i64()?;
    let amount = if tamper { total + 1000 } else { total };
    ctx.world.counts.pays.inc();
    if tamper {
        ctx.world.counts.tampered.inc();
    }
    let (path, body) = match provider {
        Provider::V2 => {
            let card = rng.gen_bool(0.2);
            let request = json!({
                "storeId": STORE_ID,
                "channelKey": if card { CARD_CHANNEL } else { TOSSPAY_CHANNEL },
                "paymentId": id,
                "orderName": prepared["orderName"],
                "totalAmount": amount,
                "currency": prepared["currency"],
                "payMethod": if card { "CARD" } else { "EASY_PAY" },
                "customer": prepared["customer"],
            });
            (
                "/__sandbox/pay",
                json!({ "request": request, "outcome": outcome, "bypassPreRegistration": tamper }),
            )
        }
        Provider::V1 => {
            let params = json!({
                "channelKey": TOSSPAY_CHANNEL,
                "pay_method": "tosspay",
                "merchant_uid": id,
                "name": prepared["orderName"],
                "amount": amount,
                "currency": prepared["currency"],
                "buyer_name": "홍길동",
                "notice_url": format!("{}/v1/api/webhooks/portone-v1", ctx.backend_for(idx)),
            });
            (
                "/__sandbox/v1/pay",
                json!({ "params": params, "outcome": outcome, "bypassPrepare": tamper }),
            )
        }
        Provider::Toss => {
            let method = if outcome == "virtualAccount" {
                "VIRTUAL_ACCOUNT"
            } else {
                "CARD"
            };
            let request = json!({
                "method": method,
                "amount": {"currency": "KRW", "value": amount},
                "orderId": id,
                "orderName": prepared["orderName"],
                "customerName": "홍길동",
            });
            (
                "/__sandbox/toss/pay",
                json!({ "request": request, "outcome": outcome, "customerKey": prepared["customer"]["customerId"] }),
            )
        }
    };
    let (status, r) = ctx.sandbox(Method::POST, path, Some(&body), Some(id)).await;
    if status != 200 {
        // Refused before any window (e.g. already paid): nothing to report.
        return None;
    }
    let tx = match provider {
        Provider::V2 => r["txId"].as_str(),
        Provider::V1 => r["imp_uid"].as_str(),
        Provider::Toss => r["paymentKey"].as_str(),
    };
    Some(Paid {
        tx: tx.map(str::to_owned),
        outcome,
    })
}

/// Reports `complete` zero, one or several times (several: sometimes all at
/// once), with the SDK's answer as the hint, or a forged failure hint; then
/// sometimes checks the status again, as the checkout does while an answer
/// is not final.
async fn report(ctx: &Ctx, provider: Provider, id: &str, tx: Option<&str>, rng: &mut ChaCha8Rng) {
    let times = match rng.gen_range(0..100) {
        0..=17 => 0,
        18..=67 => 1,
        _ => rng.gen_range(2..=4),
    };
    let concurrent = times > 1 && rng.gen_bool(0.5);
    let path = format!("{}/api/payments/{id}/complete", provider.prefix());
    let mut bodies = Vec::new();
    for _ in 0..times {
        let forged = rng.gen_bool(0.1);
        let mut body = json!({});
        if let Some(tx) = tx {
            body["txId"] = json!(tx);
        }
        if forged {
            ctx.world.counts.forged_hints.inc();
            body["code"] = json!("FAILURE_TYPE_PG");
            body["message"] = json!("forged: the customer says the payment failed");
            body["pgCode"] = json!("FORGED");
        }
        bodies.push(body);
    }
    if rng.gen_bool(0.1) {
        // A long pause: the tab was in the background.
        tokio::time::sleep(Duration::from_millis(rng.gen_range(3000..12000))).await;
    }
    if concurrent {
        let mut set = JoinSet::new();
        for body in bodies {
            let ctx = ctx.clone_shallow();
            let path = path.clone();
            let id = id.to_owned();
            set.spawn(async move {
                ctx.world.counts.completes.inc();
                ctx.backend_retrying(Method::POST, &path, Some(&body), &[], Some(&id), PATIENCE)
                    .await
            });
        }
        while set.join_next().await.is_some() {}
    } else {
        for body in bodies {
            ctx.world.counts.completes.inc();
            ctx.backend_retrying(Method::POST, &path, Some(&body), &[], Some(id), PATIENCE)
                .await;
            if rng.gen_bool(0.3) {
                pause(rng).await;
            }
        }
    }
    if rng.gen_bool(0.3) {
        let get = format!("{}/api/payments/{id}", provider.prefix());
        ctx.backend_retrying(Method::GET, &get, None, &[], Some(id), PATIENCE)
            .await;
    }
}

/// Pays into the virtual account (V2: by payment id; Toss: by paymentKey,
/// once the shop has confirmed it, so tried again for a while).
async fn deposit(ctx: &Ctx, provider: Provider, id: &str, tx: Option<&str>, rng: &mut ChaCha8Rng) {
    ctx.world.counts.deposits.inc();
    let path = match (provider, tx) {
        (Provider::V2, _) => format!("/__sandbox/payments/{id}/deposit"),
        (Provider::Toss, Some(key)) => format!("/__sandbox/toss/payments/{key}/deposit"),
        _ => return,
    };
    for _ in 0..60 {
        let (status, _) = ctx.sandbox(Method::POST, &path, Some(&json!({})), Some(id)).await;
        if status != 409 {
            break;
        }
        // Toss: not confirmed yet (the shop confirms on complete or in its
        // reconciler).
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    if rng.gen_bool(0.5) {
        report(ctx, provider, id, tx, rng).await;
    }
}

/// Settles a `PAY_PENDING` V2 payment (mostly approved).
async fn settle(ctx: &Ctx, id: &str, rng: &mut ChaCha8Rng) {
    ctx.world.counts.deposits.inc();
    let outcome = if rng.gen_bool(0.8) { "approve" } else { "decline" };
    ctx.sandbox(
        Method::POST,
        &format!("/__sandbox/payments/{id}/settle-pending"),
        Some(&json!({ "outcome": outcome })),
        Some(id),
    )
    .await;
    if rng.gen_bool(0.5) {
        report(ctx, Provider::V2, id, None, rng).await;
    }
}

/// Issues a billing key at the provider, registers it, charges it.
async fn subscribe(ctx: &Ctx, provider: Provider, idx: usize, rng: &mut ChaCha8Rng) {
    let p = provider.prefix();
    let a = ctx
        .backend_retrying(
            Method::POST,
            &format!("{p}/api/billing-keys/prepare"),
            Some(&json!({})),
            &[],
            None,
            PATIENCE,
        )
        .await;
    let Some(issue) = a.ok().cloned() else {
        return;
    };
    let Some(issue_id) = issue["issueId"].as_str().map(str::to_owned) else {
        return;
    };
    let customer = issue["customer"].clone();
    let approve = rng.gen_bool(0.9);
    let outcome = if approve { "approve" } else { "decline" };
    let register = match provider {
        Provider::V2 => {
            let request = json!({
                "storeId": STORE_ID,
                "channelKey": TOSSPAY_CHANNEL,
                "billingKeyMethod": "EASY_PAY",
                "issueId": issue_id,
                "issueName": issue["issueName"],
                "customer": customer,
            });
            let (_, r) = ctx
                .sandbox(
                    Method::POST,
                    "/__sandbox/issue-billing-key",
                    Some(&json!({ "request": request, "outcome": outcome })),
                    Some(&issue_id),
                )
                .await;
            r["billingKey"]
                .as_str()
                .map(|k| json!({ "billingKey": k, "issueId": issue_id }))
        }
        Provider::V1 => {
            let params = json!({
                "channelKey": TOSSPAY_CHANNEL,
                "pay_method": "tosspay",
                "merchant_uid": issue_id,
                "customer_uid": issue_id,
                "customer_id": customer["customerId"],
                "name": issue["issueName"],
                "amount": 0,
                "buyer_name": "홍길동",
                "notice_url": format!("{}/v1/api/webhooks/portone-v1", ctx.backend_for(idx)),
            });
            let (_, r) = ctx
                .sandbox(
                    Method::POST,
                    "/__sandbox/v1/pay",
                    Some(&json!({ "params": params, "outcome": outcome })),
                    Some(&issue_id),
                )
                .await;
            (r["success"] == true).then(|| json!({ "billingKey": issue_id, "issueId": issue_id }))
        }
        Provider::Toss => {
            let url = format!("{}/toss/subscribe?issueId={issue_id}", ctx.backend_for(idx));
            let (_, r) = ctx
                .sandbox(
                    Method::POST,
                    "/__sandbox/toss/billing-auth",
                    Some(&json!({
                        "request": {"method": "CARD", "successUrl": url, "failUrl": url, "customerName": "홍길동"},
                        "customerKey": customer["customerId"],
                        "outcome": outcome,
                    })),
                    Some(&issue_id),
                )
                .await;
            r["authKey"]
                .as_str()
                .map(|k| json!({ "authKey": k, "issueId": issue_id }))
        }
    };
    let Some(register) = register else {
        return;
    };
    pause(rng).await;
    let a = ctx
        .backend_retrying(
            Method::POST,
            &format!("{p}/api/billing-keys"),
            Some(&register),
            &[],
            Some(&issue_id),
            PATIENCE,
        )
        .await;
    let Some(sub) = a.ok().and_then(|v| v["subscriptionId"].as_str()).map(str::to_owned) else {
        return;
    };
    ctx.world.counts.subscriptions.inc();
    let charges = rng.gen_range(1..=3);
    for n in 0..charges {
        pause(rng).await;
        let key = format!("soak-{}-{idx}-{n}", ctx.world.seed);
        let tries = rng.gen_range(1..=3);
        let together = tries > 1 && rng.gen_bool(0.4);
        let path = format!("{p}/api/subscriptions/{sub}/charge");
        let mut set = JoinSet::new();
        for t in 0..tries {
            let ctx2 = ctx.clone_shallow();
            let (key, sub, path) = (key.clone(), sub.clone(), path.clone());
            let provider_name = provider.name();
            let job = async move {
                ctx2.world.counts.charge_requests.inc();
                let a = ctx2
                    .backend_retrying(
                        Method::POST,
                        &path,
                        Some(&json!({})),
                        &[("idempotency-key", key.as_str())],
                        Some(&sub),
                        PATIENCE,
                    )
                    .await;
                let pid = a.ok().and_then(|v| v["paymentId"].as_str()).map(str::to_owned);
                ctx2.world.charge_answer(&key, &sub, provider_name, pid.as_deref());
                if let Some(pid) = &pid {
                    ctx2.world
                        .note(pid, format!("charge of {sub} with key {key} (try {t}) answered"));
                }
                a
            };
            if together {
                set.spawn(job);
            } else {
                let a = job.await;
                if a.error() == Some("subscription_inactive") {
                    return;
                }
            }
        }
        while set.join_next().await.is_some() {}
    }
}

impl Ctx {
    /// A copy sharing the client and the bookkeeping (for spawned requests).
    pub fn clone_shallow(&self) -> Arc<Ctx> {
        Arc::new(Ctx {
            http: self.http.clone(),
            backends: self.backends.clone(),
            next: AtomicUsize::new(self.next.load(Ordering::Relaxed)),
            sandbox: self.sandbox.clone(),
            world: self.world.clone(),
        })
    }
}
