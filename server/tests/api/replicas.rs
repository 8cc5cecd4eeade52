//! Several server *processes* on one database (the deployment of
//! `server/README.md`: replicas behind a load balancer): exactly one
//! fulfilment under concurrent completes and webhooks spread over them,
//! stock taken once, and reconcilers racing over the same stuck orders
//! syncing and cancelling each exactly once.
//!
//! The processes are the `checkout-server` binary, started here with
//! `DATABASE_URL` pointing at the harness's database: PostgreSQL in the
//! suite's PostgreSQL run, the SQLite file otherwise (SQLite serves several
//! processes on one machine too).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use checkout_server::Backend;
use futures::future::join_all;
use portone_checkout::protocol::PreparedPayment;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{eventually, now_unix, Harness, TEST_DATABASE_URL};

/// One `checkout-server` process; killed when dropped.
struct Replica {
    child: Child,
    base: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Replica {
    /// Starts the binary on the harness's database and sandbox; a sweep of
    /// its reconciler runs at start and then every `reconcile_secs`. Its
    /// log goes to `replica-{n}.log` in the harness's temp dir.
    fn start(h: &Harness, n: usize, reconcile_secs: u64) -> Replica {
        let log = std::fs::File::create(h.dir.path().join(format!("replica-{n}.log"))).expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_checkout-server"))
            .env_clear()
            .env("CHECKOUT_ADDR", "127.0.0.1:0")
            .env("DATABASE_URL", &h.database_url)
            .env("PORTONE_API_BASE", h.sandbox.base_url())
            .env("PORTONE_WEBHOOK_SECRET", portone_sandbox::DEFAULT_WEBHOOK_SECRET)
            .env("CHECKOUT_RECONCILE_SECS", reconcile_secs.to_string())
            .env("CHECKOUT_RATE_BURST", "0")
            .env("RUST_LOG", "info,sqlx=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start checkout-server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(base) = line.strip_prefix("checkout-server listening on ") {
                    let _ = tx.send(base.trim().to_owned());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("replica {n} did not start; see replica-{n}.log"));
        Replica { child, base }
    }

    /// Starts `count` replicas at once.
    fn start_many(h: &Harness, count: usize, reconcile_secs: u64) -> Vec<Replica> {
        std::thread::scope(|s| {
            let started: Vec<_> = (0..count)
                .map(|n| s.spawn(move || Replica::start(h, n, reconcile_secs)))
                .collect();
            started.into_iter().map(|t| t.join().expect("replica thread")).collect()
        })
    }
}

/// No sweep but the one at start during a test (an hour between sweeps).
const HOURLY: u64 = 3600;

fn paid_webhook(payment_id: &str, kind: &str, timestamp: &str) -> String {
    json!({
        "type": kind,
        "timestamp": timestamp,
        "data": {"storeId": portone_sandbox::DEFAULT_STORE_ID, "paymentId": payment_id, "transactionId": "tx"}
    })
    .to_string()
}

async fn complete_at(h: &Harness, base: &str, payment_id: &str) -> (StatusCode, Value) {
    let resp = h
        .http
        .post(format!("{base}/api/payments/{payment_id}/complete"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("complete");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// `count` completes of `payment_id`, spread over the replicas in turn.
fn completes<'a>(
    h: &'a Harness,
    replicas: &'a [Replica],
    payment_id: &'a str,
    count: usize,
) -> impl Iterator<Item = impl std::future::Future<Output = (StatusCode, Value)> + 'a> + 'a {
    (0..count).map(move |i| complete_at(h, &replicas[i % replicas.len()].base, payment_id))
}

fn count(requests: &std::collections::HashMap<String, u64>, key: &str) -> u64 {
    requests.get(key).copied().unwrap_or(0)
}

async fn prepare_paid(h: &Harness, product: &str) -> PreparedPayment {
    let prepared = h.prepare(json!([{"productId": product, "quantity": 1}])).await;
    h.pay(&prepared, "approve", None).await;
    prepared
}

#[tokio::test]
async fn the_suite_runs_on_the_database_it_was_asked_for() {
    let h = Harness::start_with(false, None).await;
    let expected = match std::env::var(TEST_DATABASE_URL) {
        Ok(url) if !url.trim().is_empty() => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    assert_eq!(h.db().backend(), expected, "{TEST_DATABASE_URL} decides the backend");
    // The whole schema was applied.
    assert_eq!(h.db().schema_version().await.expect("version"), 5);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_fulfil_once_under_60_concurrent_completes_and_duplicated_reordered_webhooks() {
    let h = Harness::start_with(false, None).await;
    let replicas = Replica::start_many(&h, 3, HOURLY);
    let stock_before = h.db().stock("americano").await.expect("db").expect("stock");
    let prepared = h.prepare(json!([{"productId": "americano", "quantity": 2}])).await;
    h.pay(&prepared, "approve", None).await;
    let id = prepared.payment_id.to_string();

    // Three webhook ids, each delivered to every replica (duplicates), and
    // an older `Transaction.Ready` arriving after them (reordered).
    let secret = portone_sandbox::DEFAULT_WEBHOOK_SECRET;
    let paid = paid_webhook(&id, "Transaction.Paid", "2026-11-30T00:00:02Z");
    let ready = paid_webhook(&id, "Transaction.Ready", "2026-11-30T00:00:01Z");
    let mut webhooks = Vec::new();
    for copy in 0..3 {
        for k in 0..3 {
            let base = replicas[(k + copy) % 3].base.clone();
            webhooks.push((base, format!("wh-paid-{k}"), paid.clone()));
        }
    }
    for r in &replicas {
        webhooks.push((r.base.clone(), "wh-ready".to_owned(), ready.clone()));
    }
    let webhook_calls = webhooks
        .iter()
        .map(|(base, wid, body)| h.send_webhook_to(base, secret, wid, now_unix(), body));
    let (answers, hooks) = tokio::join!(join_all(completes(&h, &replicas, &id, 60)), join_all(webhook_calls));

    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "PAID", "{body}");
    }
    for (status, body) in &hooks {
        assert!(status.is_success(), "webhook answered {status}: {body}");
    }
    assert_eq!(
        h.db().fulfilment_count(&id).await.expect("db"),
        1,
        "fulfilled exactly once"
    );
    assert_eq!(
        h.db().stock("americano").await.expect("db"),
        Some(stock_before - 2),
        "stock taken once"
    );
    assert_eq!(h.stored_status(&id).await, "PAID");
    let requests = h.sandbox_requests().await;
    assert_eq!(
        count(&requests, &format!("POST /payments/{id}/cancel")),
        0,
        "nothing cancelled"
    );
    drop(replicas);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_orders_racing_for_the_last_unit_over_three_replicas_one_is_fulfilled_the_other_cancelled_once() {
    let h = Harness::start_with(false, None).await;
    let replicas = Replica::start_many(&h, 3, HOURLY);
    h.db().set_stock("beans-1kg", 1).await.expect("stock");
    let a = prepare_paid(&h, "beans-1kg").await.payment_id.to_string();
    let b = prepare_paid(&h, "beans-1kg").await.payment_id.to_string();
    let calls = completes(&h, &replicas, &a, 30).chain(completes(&h, &replicas, &b, 30));
    for (status, body) in join_all(calls).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // The loser's cancel is made by the one sync that moved it to CANCELLING.
    let statuses = eventually("both orders final", Duration::from_secs(30), || async {
        let (sa, sb) = (h.stored_status(&a).await, h.stored_status(&b).await);
        let done = ["PAID", "CANCELLED"];
        (done.contains(&sa.as_str()) && done.contains(&sb.as_str())).then_some((sa, sb))
    })
    .await;
    let (winner, loser) = match statuses {
        (sa, sb) if sa == "PAID" && sb == "CANCELLED" => (&a, &b),
        (sa, sb) if sa == "CANCELLED" && sb == "PAID" => (&b, &a),
        other => panic!("one order is paid and the other cancelled, got {other:?}"),
    };
    assert_eq!(h.db().fulfilment_count(winner).await.expect("db"), 1);
    assert_eq!(h.db().fulfilment_count(loser).await.expect("db"), 0);
    assert_eq!(
        h.db().stock("beans-1kg").await.expect("db"),
        Some(0),
        "the one unit, taken once"
    );
    let requests = h.sandbox_requests().await;
    assert_eq!(
        count(&requests, &format!("POST /payments/{loser}/cancel")),
        1,
        "cancelled exactly once"
    );
    assert_eq!(count(&requests, &format!("POST /payments/{winner}/cancel")), 0);
    assert_eq!(h.portone_payment(loser).await["status"], "CANCELLED");
    drop(replicas);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_reconcilers_racing_over_stuck_orders_sync_and_cancel_each_exactly_once() {
    let h = Harness::start_with(false, None).await;
    // Paid at PortOne, reported by nobody: 8 orders to fulfil, and 3
    // orders of a product with one unit left (1 fulfilled, 2 to cancel).
    h.db().set_stock("beans-1kg", 1).await.expect("stock");
    let americano_before = h.db().stock("americano").await.expect("db").expect("stock");
    let mut stuck = Vec::new();
    for _ in 0..8 {
        stuck.push(prepare_paid(&h, "americano").await.payment_id.to_string());
    }
    for _ in 0..3 {
        stuck.push(prepare_paid(&h, "beans-1kg").await.payment_id.to_string());
    }
    // Slow reads keep both sweeps in flight at once.
    h.set_faults(json!({"latencyMs": 150, "only": "GET /payments/"})).await;
    let replicas = Replica::start_many(&h, 2, HOURLY);

    eventually("every stuck order final", Duration::from_secs(60), || async {
        for id in &stuck {
            if !["PAID", "CANCELLED"].contains(&h.stored_status(id).await.as_str()) {
                return None;
            }
        }
        Some(())
    })
    .await;
    drop(replicas);

    let requests = h.sandbox_requests().await;
    let mut paid = 0;
    for id in &stuck {
        let order = h.db().order(id).await.expect("db").expect("order");
        let reads = count(&requests, &format!("GET /payments/{id}"));
        let cancels = count(&requests, &format!("POST /payments/{id}/cancel"));
        match order.status.as_str() {
            "PAID" => {
                paid += 1;
                assert_eq!(h.db().fulfilment_count(id).await.expect("db"), 1, "{id}");
                assert_eq!((reads, cancels), (1, 0), "{id}: synced once, not cancelled");
            }
            _ => {
                assert_eq!(h.db().fulfilment_count(id).await.expect("db"), 0, "{id}");
                // Synced once: one read, one cancel, one read confirming it.
                assert_eq!((reads, cancels), (2, 1), "{id}: synced and cancelled once");
                assert_eq!(h.portone_payment(id).await["status"], "CANCELLED");
            }
        }
    }
    assert_eq!(paid, 9, "8 americano and the one unit of beans");
    assert_eq!(h.db().stock("americano").await.expect("db"), Some(americano_before - 8));
    assert_eq!(h.db().stock("beans-1kg").await.expect("db"), Some(0));
    h.shutdown().await;
}
