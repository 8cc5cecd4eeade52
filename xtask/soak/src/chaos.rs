//! The fault schedule: windows of sandbox faults (REST latency, 5xx,
//! lost responses, consecutive-request refusals, PG declines; webhooks
//! dropped, duplicated, reordered, delayed) and backend crashes (SIGKILL,
//! then a restart on the same database), all drawn from the seed up front;
//! and the sandbox's schedule runners, run every few seconds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::seq::SliceRandom as _;
use rand::Rng as _;
use rand_chacha::ChaCha8Rng;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::client::Ctx;
use crate::procs::Procs;

/// One window of faults.
#[derive(Clone, Debug)]
pub struct Window {
    /// Seconds from the start.
    pub at: f64,
    /// The `PUT /__sandbox/faults` body (`{}`: none).
    pub faults: Value,
}

/// One backend crash.
#[derive(Clone, Debug)]
pub struct Crash {
    /// Seconds from the start.
    pub at: f64,
    /// How long the backend stays down.
    pub down: Duration,
}

/// Everything the chaos task will do, decided from the seed before it starts.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Fault windows in time order.
    pub windows: Vec<Window>,
    /// Crashes in time order.
    pub crashes: Vec<Crash>,
    /// Seconds between schedule-runner calls.
    pub runner_every: Vec<f64>,
}

/// Scopes for `only` (substrings of `"{METHOD} {path}"`).
const SCOPES: &[&str] = &[
    "/cancel",
    "GET /payments/",
    "/pre-register",
    "/billing-key",
    "/schedule",
    "/iamport/",
    "/iamport/payments/find",
    "/iamport/subscribe/",
    "/toss/v1/payments/confirm",
    "GET /toss/",
    "/toss/v1/billing/",
];

fn one_fault(rng: &mut ChaCha8Rng) -> Value {
    let mut f = json!({});
    let rest = |f: &mut Value, rng: &mut ChaCha8Rng| {
        if rng.gen_bool(0.35) {
            f["only"] = json!(SCOPES.choose(rng).copied().unwrap_or("/cancel"));
        }
    };
    match rng.gen_range(0..100) {
        0..=11 => {
            f["latencyMs"] = json!(rng.gen_range(100..1500));
            rest(&mut f, rng);
        }
        12..=25 => {
            f["errorRate"] = json!(rng.gen_range(0.1..0.5));
            rest(&mut f, rng);
        }
        26..=37 => {
            f["loseResponses"] = json!(rng.gen_range(1..8));
            rest(&mut f, rng);
        }
        38..=45 => {
            f["failNext"] = json!(rng.gen_range(1..10));
            rest(&mut f, rng);
        }
        46..=54 => f["consecutiveRequestGuard"] = json!(true),
        55..=60 => f["pgFailNext"] = json!(rng.gen_range(1..4)),
        61..=68 => f["webhook"] = json!({"drop": true}),
        69..=76 => f["webhook"] = json!({"duplicate": true}),
        77..=83 => f["webhook"] = json!({"reorder": true}),
        84..=91 => f["webhook"] = json!({"delayMs": rng.gen_range(500..5000)}),
        _ => {
            // A storm: several at once.
            f["latencyMs"] = json!(rng.gen_range(50..400));
            f["errorRate"] = json!(rng.gen_range(0.05..0.25));
            f["loseResponses"] = json!(rng.gen_range(1..4));
            f["consecutiveRequestGuard"] = json!(rng.gen_bool(0.5));
            f["webhook"] =
                json!({"drop": rng.gen_bool(0.3), "duplicate": rng.gen_bool(0.5), "reorder": rng.gen_bool(0.5)});
        }
    }
    f
}

impl Plan {
    /// The plan for a soak of `seconds` with `crashes` backend crashes
    /// (spread over the run, each down for 0.2 to 4 s). Fault windows
    /// (2 to 8 s each, about a third without faults) continue past
    /// `seconds` for `tail` more, while customers finish.
    pub fn new(rng: &mut ChaCha8Rng, seconds: f64, tail: f64, crashes: u32) -> Plan {
        let mut windows = Vec::new();
        let mut t = rng.gen_range(0.5..2.0);
        while t < seconds + tail {
            let faults = if rng.gen_bool(0.3) { json!({}) } else { one_fault(rng) };
            windows.push(Window { at: t, faults });
            t += rng.gen_range(2.0..8.0);
        }
        let slot = seconds * 0.9 / f64::from(crashes.max(1));
        let crashes = (0..crashes)
            .map(|k| Crash {
                at: seconds * 0.05 + slot * (f64::from(k) + rng.gen_range(0.1..0.9)),
                down: Duration::from_millis(rng.gen_range(200..4000)),
            })
            .collect();
        let runner_every = (0..((seconds + tail) as usize))
            .map(|_| rng.gen_range(3.0..10.0))
            .collect();
        Plan {
            windows,
            crashes,
            runner_every,
        }
    }
}

/// Sets the sandbox's faults (`{}`: none) and notes it on the timeline.
pub async fn set_faults(ctx: &Ctx, faults: &Value) -> anyhow::Result<()> {
    let (status, body) = ctx.sandbox(Method::PUT, "/__sandbox/faults", Some(faults), None).await;
    anyhow::ensure!(status == 200, "PUT /__sandbox/faults {faults}: {status} {body}");
    let shown = if faults == &json!({}) {
        "none".to_owned()
    } else {
        faults.to_string()
    };
    if shown != "none" {
        ctx.world.counts.fault_windows.inc();
    }
    ctx.world.timeline(format!("faults: {shown}"), Some(shown));
    Ok(())
}

/// Switches the plan's fault windows until `stop`.
pub async fn run_faults(ctx: Arc<Ctx>, plan: Arc<Plan>, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    for w in &plan.windows {
        sleep_until(&ctx, w.at, &stop).await;
        if stop.load(Ordering::Relaxed) {
            break;
        }
        set_faults(&ctx, &w.faults).await?;
    }
    Ok(())
}

/// Carries out the plan's crashes.
pub async fn run_crashes(
    ctx: Arc<Ctx>,
    plan: Arc<Plan>,
    procs: Arc<Mutex<Procs>>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    for (k, c) in plan.crashes.iter().enumerate() {
        sleep_until(&ctx, c.at, &stop).await;
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let mut p = procs.lock().await;
        // With several replicas, they take turns to die; the others serve.
        let i = k % p.replica_count();
        p.kill_backend(i).await?;
        ctx.world
            .timeline(format!("backend replica {i} SIGKILLed (down {:?})", c.down), None);
        tokio::time::sleep(c.down).await;
        p.start_backend(&ctx.http, i).await?;
        ctx.world.counts.crashes.inc();
        ctx.world
            .timeline(format!("backend replica {i} restarted (start {})", p.generation), None);
    }
    Ok(())
}

/// Runs the sandbox's schedule runners (V2's and V1's: the schedules that
/// are due, as PortOne does at their time) every few seconds until `stop`.
/// The backend runs on a short subscription period, so charges come due
/// during the soak; a lost webhook of one is the reconciler's to find once
/// it is due, as in production.
pub async fn run_schedules(ctx: Arc<Ctx>, plan: Arc<Plan>, stop: Arc<AtomicBool>) {
    let mut t = 0.0;
    for every in &plan.runner_every {
        t += every;
        sleep_until(&ctx, t, &stop).await;
        if stop.load(Ordering::Relaxed) {
            return;
        }
        for path in ["/__sandbox/schedules/run", "/__sandbox/v1/schedules/run"] {
            let (status, r) = ctx.sandbox(Method::POST, path, Some(&json!({})), None).await;
            ctx.world.counts.schedule_runs.inc();
            if status == 200 {
                let ran = r["ran"].as_array().map_or(0, Vec::len);
                for _ in 0..ran {
                    ctx.world.counts.scheduled_charges.inc();
                }
                if ran > 0 {
                    ctx.world.timeline(format!("{path}: ran {ran} scheduled charges"), None);
                }
            }
        }
    }
}

/// Sleeps until `at` seconds from the start, waking early on `stop`.
async fn sleep_until(ctx: &Ctx, at: f64, stop: &AtomicBool) {
    loop {
        let left = at - ctx.world.now();
        if left <= 0.0 || stop.load(Ordering::Relaxed) {
            return;
        }
        tokio::time::sleep(Duration::from_secs_f64(left.min(0.5))).await;
    }
}
