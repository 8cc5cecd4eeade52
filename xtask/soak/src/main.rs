//! The chaos soak: `cargo xtask soak [--customers N] [--seconds S] [--seed X]`
//! (xtask builds the binaries and runs this one).
//!
//! Starts `portone-sandbox` and `checkout-server` (its own SQLite file in the
//! run directory), runs N simulated customers over S seconds while a fault
//! schedule switches the sandbox's faults and SIGKILLs the backend a few
//! times (restarting it on the same database), then turns the faults off,
//! waits (bounded) for the reconciler to settle, and checks five invariants
//! against the sandbox's own records. Everything the customers and the fault
//! schedule do is drawn from the seed, so `--seed X` replays a run (timing
//! still varies). A broken invariant prints the seed and each order's
//! history; the exit code is 1.
//!
//! Options: `--customers N` (200), `--seconds S` (60), `--seed X` (random,
//! printed), `--crashes C` (S/20, at least 2), `--settle-secs T` (bounded
//! wait for the reconciler, default max(120, S/2)), `--sandbox-bin`,
//! `--server-bin` (required), `--dir D` (logs and database; removed after a
//! passing run unless `--keep`), `--report F` (write the figures as a
//! Markdown table to F), `--postgres URL` (the backend on PostgreSQL: a
//! database of its own is created on that server for the run, and dropped
//! after a passing run unless `--keep`; default: a SQLite file in the run
//! directory), `--replicas R` (1: R backend processes on the one database,
//! customers spread over them as by a load balancer that passes over a
//! replica refusing connections, every webhook sent to each, the crashes
//! taking the replicas in turn).

mod chaos;
mod check;
mod client;
mod customer;
mod pg;
mod procs;
mod shopdb;
mod world;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use crate::check::{Ledger, Verdict};
use crate::client::Ctx;
use crate::customer::Catalogue;
use crate::procs::{Procs, Setup};
use crate::world::World;

/// The command line.
#[derive(Debug)]
struct Args {
    customers: usize,
    seconds: f64,
    seed: u64,
    crashes: u32,
    settle: Duration,
    setup: Setup,
    report: Option<PathBuf>,
    keep: bool,
    /// A PostgreSQL server to create the run's database in.
    postgres: Option<String>,
}

impl Args {
    /// The command that replays this run (same seed, so the same customers
    /// and fault plan; timing still varies).
    fn replay(&self) -> String {
        let mut r = format!(
            "cargo xtask soak --customers {} --seconds {} --crashes {} --seed {}",
            self.customers, self.seconds, self.crashes, self.seed
        );
        if self.postgres.is_some() {
            r.push_str(" --postgres");
        }
        if self.setup.replicas > 1 {
            r.push_str(&format!(" --replicas {}", self.setup.replicas));
        }
        r
    }
}

fn parse_args() -> anyhow::Result<Args> {
    let mut customers = 200usize;
    let mut seconds = 60.0f64;
    let mut seed = None;
    let mut crashes = None;
    let mut settle = None;
    let mut sandbox_bin = None;
    let mut server_bin = None;
    let mut dir = None;
    let mut report = None;
    let mut keep = false;
    let mut postgres = None;
    let mut replicas = 1usize;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--customers" => customers = val()?.parse()?,
            "--seconds" => seconds = val()?.parse()?,
            "--seed" => seed = Some(val()?.parse()?),
            "--crashes" => crashes = Some(val()?.parse()?),
            "--settle-secs" => settle = Some(Duration::from_secs(val()?.parse()?)),
            "--sandbox-bin" => sandbox_bin = Some(PathBuf::from(val()?)),
            "--server-bin" => server_bin = Some(PathBuf::from(val()?)),
            "--dir" => dir = Some(PathBuf::from(val()?)),
            "--report" => report = Some(PathBuf::from(val()?)),
            "--keep" => keep = true,
            "--postgres" => postgres = Some(val()?),
            "--replicas" => replicas = val()?.parse()?,
            other => bail!("unknown argument {other}"),
        }
    }
    let seed = seed.unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        (t.as_nanos() as u64 ^ u64::from(std::process::id())) % 1_000_000_000
    });
    let dir = dir.unwrap_or_else(|| std::env::temp_dir().join(format!("portone-soak-{seed}")));
    anyhow::ensure!(replicas >= 1, "--replicas must be at least 1");
    Ok(Args {
        customers,
        seconds,
        seed,
        crashes: crashes.unwrap_or(((seconds / 20.0) as u32).max(2)),
        settle: settle.unwrap_or(Duration::from_secs_f64((seconds / 2.0).max(120.0))),
        setup: Setup {
            sandbox_bin: sandbox_bin.context("--sandbox-bin is required")?,
            server_bin: server_bin.context("--server-bin is required")?,
            dir,
            database_url: None,
            replicas,
        },
        report,
        keep,
        postgres,
    })
}

/// The RNG of stream `stream` of the seed (0: the fault plan; 1 + i: customer i).
fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("soak: {e:#}");
            std::process::exit(2);
        }
    };
    let code = match soak(&args).await {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("soak: could not run: {e:#}");
            eprintln!("soak: seed {} (replay with --seed {})", args.seed, args.seed);
            1
        }
    };
    std::process::exit(code);
}

/// How many more seconds customers may take to finish after the last arrives.
const TAIL: f64 = 90.0;

async fn soak(args: &Args) -> anyhow::Result<bool> {
    println!(
        "soak: seed {} — {} customers over {} s, {} backend crashes (replay: {})",
        args.seed,
        args.customers,
        args.seconds,
        args.crashes,
        args.replay()
    );
    if args.setup.dir.exists() {
        std::fs::remove_dir_all(&args.setup.dir)?;
    }
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(64)
        .build()?;
    // Subscriptions come due a few times during the run.
    let charge_interval = (args.seconds / 4.0).max(20.0) as u64;
    let mut setup = args.setup.clone();
    let pg_database = match &args.postgres {
        Some(server) => {
            let (name, url) = pg::create_database(server, args.seed).await?;
            setup.database_url = Some(url);
            Some((server.clone(), name))
        }
        None => None,
    };
    let procs = Procs::start(setup, &http, 30_000, charge_interval).await?;
    println!(
        "soak: logs in {}; {} backend replica(s) on {}",
        procs.dir().display(),
        procs.replica_count(),
        pg_database.as_ref().map_or_else(
            || "SQLite".to_owned(),
            |(_, name)| format!("PostgreSQL (database {name})")
        )
    );
    let world = Arc::new(World::new(args.seed));
    let ctx = Arc::new(Ctx {
        http: http.clone(),
        backends: procs.backend_urls(),
        next: AtomicUsize::new(0),
        sandbox: procs.sandbox_url.clone(),
        world: world.clone(),
    });
    let db = shopdb::open(&procs.database()).await?;
    // Plenty of everything but one product, which runs out during the run.
    let catalogue = Catalogue {
        plenty: vec!["americano".into(), "cafe-latte".into(), "croissant".into()],
        scarce: "beans-1kg".into(),
    };
    let n = args.customers as i64;
    let mut stock: Vec<(String, i64)> = catalogue.plenty.iter().map(|p| (p.clone(), 2 * n + 100)).collect();
    stock.push((catalogue.scarce.clone(), (n / 40).max(3)));
    shopdb::set_stock(&db, &stock).await?;
    let initial_stock: BTreeMap<String, i64> = shopdb::read(&db).await?.stock;

    let procs = Arc::new(Mutex::new(procs));
    let plan = Arc::new(chaos::Plan::new(
        &mut rng(args.seed, 0),
        args.seconds,
        TAIL,
        args.crashes,
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let faults = tokio::spawn(chaos::run_faults(ctx.clone(), plan.clone(), stop.clone()));
    let crashes = tokio::spawn(chaos::run_crashes(
        ctx.clone(),
        plan.clone(),
        procs.clone(),
        stop.clone(),
    ));
    let runner = tokio::spawn(chaos::run_schedules(ctx.clone(), plan.clone(), stop.clone()));

    // Customers arrive evenly over 90 % of the run.
    let started = Instant::now();
    let mut customers = JoinSet::new();
    let catalogue = Arc::new(catalogue);
    for i in 0..args.customers {
        let at = args.seconds * 0.9 * i as f64 / args.customers as f64;
        let wait = Duration::from_secs_f64(at).saturating_sub(started.elapsed());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        customers.spawn(customer::run(
            ctx.clone(),
            catalogue.clone(),
            i,
            rng(args.seed, 1 + i as u64),
        ));
    }
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds * 0.1 + TAIL);
    while !customers.is_empty() {
        match tokio::time::timeout_at(deadline.into(), customers.join_next()).await {
            Ok(Some(Err(e))) => bail!("a customer task failed: {e}"),
            Ok(_) => {}
            Err(_) => {
                eprintln!(
                    "soak: {} customers did not finish in time; stopping them",
                    customers.len()
                );
                customers.abort_all();
                while customers.join_next().await.is_some() {}
            }
        }
    }
    let customers_secs = started.elapsed().as_secs_f64();
    // Let the planned crashes before the end happen.
    while !crashes.is_finished() && world.now() < args.seconds + 10.0 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::Relaxed);
    faults.await??;
    crashes.await??;
    runner.await?;
    chaos::set_faults(&ctx, &json!({})).await?;
    procs.lock().await.start_backends(&http).await?;
    println!(
        "soak: {} customers done in {customers_secs:.0} s; settling (at most {} s)",
        world.counts.customers_finished.get(),
        args.settle.as_secs()
    );

    // Settle: faults off, the backend up; the reconciler and webhook retries
    // bring every order to the provider's state. Then the check, against the
    // sandbox's records, again until it holds or the bound is reached
    // (subscription charges keep coming due meanwhile).
    let settle_start = Instant::now();
    let mut last_shown = Instant::now();
    let (ledger, shop, reported, checked) = loop {
        let before = Ledger::parse(&ledger(&ctx).await?);
        let shop = shopdb::read(&db).await?;
        let over = settle_start.elapsed() >= args.settle;
        let unsettled = check::unsettled(&before, &shop);
        if !unsettled.is_empty() && !over {
            if last_shown.elapsed() >= Duration::from_secs(10) {
                last_shown = Instant::now();
                println!(
                    "soak: settling, {} still disagree, e.g. {}",
                    unsettled.len(),
                    first_three(&unsettled)
                );
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        let reported = reports(&ctx, &shop).await;
        let after = Ledger::parse(&ledger(&ctx).await?);
        let checked = vec![
            check::paid_payments(&before, &shop),
            check::fulfilments(&before, &shop, &initial_stock),
            check::states(&before, &after, &shop, &reported),
            check::subscriptions(&before, &shop, &world.charge_keys()),
        ];
        if over || checked.iter().all(Verdict::holds) {
            break (before, shop, reported, checked);
        }
        println!("soak: a check failed while charges came due; checking again");
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let settle_secs = settle_start.elapsed().as_secs_f64();
    println!("soak: settled and checked in {settle_secs:.0} s");

    let (webhook_list, webhook_counts, webhook_5xx) = webhooks(&ctx).await?;
    let webhooks_total = webhook_list.len() as u64;
    let mut p = procs.lock().await;
    let sandbox_alive = p.sandbox_alive();
    p.stop().await;
    let log_paths = p.logs();
    let dir = p.dir().to_path_buf();
    drop(p);
    let (panics, injected) = scan_logs(&log_paths);
    let bad_5xx: Vec<(String, String)> = world
        .bad_5xx_list()
        .into_iter()
        .map(|b| (b.request, format!("at {:.1} s: {}", b.at, b.answer)))
        .collect();
    let mut verdicts = checked;
    verdicts.push(check::logs(&panics, &bad_5xx, &webhook_5xx));

    // The run itself must have done what it claims.
    let c = &world.counts;
    let mut run_problems = Vec::new();
    if c.customers_finished.get() != args.customers as u64 {
        run_problems.push(format!(
            "{} of {} customers finished",
            c.customers_finished.get(),
            args.customers
        ));
    }
    if c.crashes.get() != u64::from(args.crashes) {
        run_problems.push(format!(
            "{} of {} planned crashes happened",
            c.crashes.get(),
            args.crashes
        ));
    }
    if c.fault_windows.get() == 0 || injected.values().sum::<u64>() == 0 {
        run_problems.push("no fault was injected".into());
    }
    if !sandbox_alive {
        run_problems.push("the sandbox died during the run".into());
    }
    // The loop ends with disagreement left only when its bound ran out.
    let unsettled_at_end = check::unsettled(&ledger, &shop);
    if !unsettled_at_end.is_empty() {
        run_problems.push(format!(
            "not settled within {} s: {} still disagree with the provider, e.g. {}",
            args.settle.as_secs(),
            unsettled_at_end.len(),
            first_three(&unsettled_at_end)
        ));
    }

    let figures = Figures {
        args,
        customers_secs,
        settle_secs,
        world: &world,
        injected: &injected,
        webhooks_total,
        webhook_counts: &webhook_counts,
        orders: shop.orders.len(),
        schedules_run: ledger.schedules_run(),
    };
    println!("\n{}", figures.text());
    println!("\n== invariants (checked against the sandbox's records)");
    for v in &verdicts {
        println!("  {}", v.line());
    }
    let ok = verdicts.iter().all(Verdict::holds) && run_problems.is_empty();
    for p in &run_problems {
        println!("  RUN PROBLEM: {p}");
    }
    if let Some(path) = &args.report {
        std::fs::write(path, figures.markdown(&verdicts))?;
        println!("soak: figures written to {}", path.display());
    }
    if !ok {
        explain(&world, &verdicts, &ledger, &reported, &webhook_list);
        println!(
            "\nsoak: FAILED — seed {} (replay: {}); logs in {}",
            args.seed,
            args.replay(),
            dir.display()
        );
    } else {
        println!("\nsoak: all invariants hold (seed {})", args.seed);
        if !args.keep {
            let _ = std::fs::remove_dir_all(&dir);
            if let Some((server, name)) = &pg_database {
                drop(db);
                if let Err(e) = pg::drop_database(server, name).await {
                    eprintln!("soak: could not drop the database {name}: {e:#}");
                }
            }
        }
    }
    Ok(ok)
}

/// The first three of what still disagrees, for a one-line message.
fn first_three(unsettled: &[String]) -> String {
    unsettled.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
}

async fn ledger(ctx: &Ctx) -> anyhow::Result<Value> {
    let (status, v) = ctx.sandbox(Method::GET, "/__sandbox/ledger", None, None).await;
    anyhow::ensure!(status == 200, "GET /__sandbox/ledger: {status} {v}");
    Ok(v)
}

/// What the backend reports for each order (`GET {prefix}/api/payments/{id}`),
/// eight at a time.
async fn reports(ctx: &Arc<Ctx>, shop: &shopdb::Shop) -> HashMap<String, String> {
    let ids: Vec<(String, String)> = shop
        .orders
        .values()
        .map(|o| (o.payment_id.clone(), o.provider.clone()))
        .collect();
    let mut out = HashMap::new();
    for chunk in ids.chunks(8) {
        let mut set = JoinSet::new();
        for (id, provider) in chunk.iter().cloned() {
            let ctx = ctx.clone();
            set.spawn(async move {
                let prefix = match provider.as_str() {
                    "portone_v1" => "/v1",
                    "toss" => "/toss",
                    _ => "",
                };
                let a = ctx
                    .backend(Method::GET, &format!("{prefix}/api/payments/{id}"), None, &[], None)
                    .await;
                (id, a.ok().and_then(|v| v["status"].as_str()).map(str::to_owned))
            });
        }
        while let Some(r) = set.join_next().await {
            if let Ok((id, Some(status))) = r {
                out.insert(id, status);
            }
        }
    }
    out
}

/// The sandbox's webhook log: the total, counts per delivery status, and
/// deliveries whose last answer was a 5xx other than 502 (provider
/// unreachable) or 503 (a cancel not yet confirmed).
type Webhooks = (Vec<Value>, BTreeMap<String, u64>, Vec<(String, String)>);

async fn webhooks(ctx: &Ctx) -> anyhow::Result<Webhooks> {
    let (status, v) = ctx.sandbox(Method::GET, "/__sandbox/webhooks", None, None).await;
    anyhow::ensure!(status == 200, "GET /__sandbox/webhooks: {status}");
    let mut counts = BTreeMap::new();
    let mut bad = Vec::new();
    let list = v.as_array().cloned().unwrap_or_default();
    for d in &list {
        *counts
            .entry(d["status"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
        if let Some(code) = d["lastStatusCode"].as_u64() {
            if code >= 500 && code != 502 && code != 503 {
                bad.push((
                    format!("webhook {} to {}", d["webhookId"], d["url"]),
                    format!("last answered {code}: {}", d["body"]),
                ));
            }
        }
    }
    Ok((list, counts, bad))
}

/// Panics in the logs, and the faults the sandbox says it injected.
fn scan_logs(paths: &[PathBuf]) -> (Vec<(String, String)>, BTreeMap<String, u64>) {
    let mut panics = Vec::new();
    let mut injected = BTreeMap::new();
    for p in paths {
        let Ok(text) = std::fs::read_to_string(p) else {
            continue;
        };
        let name = p
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        for line in text.lines() {
            if line.contains("panicked") {
                panics.push((name.clone(), line.to_owned()));
            }
            for (needle, what) in [
                ("fault: answering 500", "REST 5xx"),
                ("fault: consecutive request refused", "consecutive-request refusals"),
                ("fault: dropping the connection", "lost responses"),
            ] {
                if line.contains(needle) {
                    *injected.entry(what.to_owned()).or_default() += 1;
                }
            }
        }
    }
    (panics, injected)
}

/// The run's figures.
struct Figures<'a> {
    args: &'a Args,
    customers_secs: f64,
    settle_secs: f64,
    world: &'a World,
    injected: &'a BTreeMap<String, u64>,
    webhooks_total: u64,
    webhook_counts: &'a BTreeMap<String, u64>,
    orders: usize,
    schedules_run: usize,
}

impl Figures<'_> {
    fn rows(&self) -> Vec<(String, String)> {
        let c = &self.world.counts;
        let injected: Vec<String> = self.injected.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let hooks: Vec<String> = self.webhook_counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        vec![
            ("seed".into(), self.args.seed.to_string()),
            (
                "backend (database, replicas)".into(),
                format!(
                    "{}, {}",
                    if self.args.postgres.is_some() {
                        "PostgreSQL"
                    } else {
                        "SQLite"
                    },
                    self.args.setup.replicas
                ),
            ),
            (
                "customers (finished / planned)".into(),
                format!("{} / {}", c.customers_finished.get(), self.args.customers),
            ),
            (
                "customers per second".into(),
                format!(
                    "{:.1} (all customers done in {:.0} s; settling {:.0} s)",
                    c.customers_finished.get() as f64 / self.customers_secs.max(0.001),
                    self.customers_secs,
                    self.settle_secs
                ),
            ),
            (
                "orders (prepared by customers / in the shop)".into(),
                format!("{} / {}", c.orders.get(), self.orders),
            ),
            (
                "checkouts at the sandbox (tampered)".into(),
                format!("{} ({})", c.pays.get(), c.tampered.get()),
            ),
            (
                "complete reports (forged failure hints)".into(),
                format!("{} ({})", c.completes.get(), c.forged_hints.get()),
            ),
            (
                "deposits and pay-pending settlements".into(),
                c.deposits.get().to_string(),
            ),
            (
                "subscriptions / charge requests / scheduled charges run at the provider".into(),
                format!(
                    "{} / {} / {}",
                    c.subscriptions.get(),
                    c.charge_requests.get(),
                    self.schedules_run
                ),
            ),
            (
                "backend requests (no answer / 502 provider unreachable)".into(),
                format!(
                    "{} ({} / {})",
                    c.backend_requests.get(),
                    c.backend_unreachable.get(),
                    c.provider_unreachable.get()
                ),
            ),
            ("fault windows switched on".into(), c.fault_windows.get().to_string()),
            (
                "faults injected by the sandbox".into(),
                format!("{} ({})", self.injected.values().sum::<u64>(), injected.join(", ")),
            ),
            (
                "webhook deliveries".into(),
                format!("{} ({})", self.webhooks_total, hooks.join(", ")),
            ),
            (
                "backend crashes survived (SIGKILL + restart)".into(),
                c.crashes.get().to_string(),
            ),
        ]
    }

    fn text(&self) -> String {
        let mut s = String::from("== figures\n");
        for (k, v) in self.rows() {
            s.push_str(&format!("  {k:<56} {v}\n"));
        }
        s
    }

    /// The report's heading (BENCHMARKS.md's section 7 has one per backend).
    fn heading(&self) -> String {
        if self.args.postgres.is_some() || self.args.setup.replicas > 1 {
            "### 7.2 On PostgreSQL with replicas".to_owned()
        } else {
            "## 7. Chaos soak: the money invariants under faults and crashes".to_owned()
        }
    }

    fn markdown(&self, verdicts: &[Verdict]) -> String {
        let a = self.args;
        let date = std::process::Command::new("date")
            .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        let load = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_owned))
            .unwrap_or_default();
        let backend = match (a.postgres.is_some(), a.setup.replicas) {
            (false, 1) => "one process on SQLite in a temp dir".to_owned(),
            (false, n) => format!("{n} processes on one SQLite file in a temp dir"),
            (true, 1) => "one process on PostgreSQL (a throwaway cluster, a database of its own)".to_owned(),
            (true, n) => format!(
                "{n} replicas on one PostgreSQL database (a throwaway cluster), customers spread over them as by a \
                 load balancer, every webhook sent to each, the crashes taking them in turn"
            ),
        };
        let mut s = format!("{}\n\n", self.heading());
        s.push_str(&format!(
            "`cargo xtask soak` (`xtask/soak`): debug builds of `portone-sandbox` and `checkout-server` ({backend}; \
             reconciler every 2 s, subscriptions on a short period), simulated customers on PortOne V2, \
             PortOne V1 (TossPay) and Toss Payments without a browser, a seeded schedule of sandbox faults and \
             backend SIGKILLs (each followed by a restart on the same database), then the invariants checked against \
             the sandbox's own records (`GET /__sandbox/ledger`) once the reconciler has settled. Customers, the \
             sandbox{} and the backend share the 2 cores.\n\n",
            if a.postgres.is_some() { ", PostgreSQL" } else { "" }
        ));
        s.push_str(&format!(
            "- Command: `{}`\n- Date: {date}; \
             1-minute load average at the end: {load} (2 cores, shared with other work on this machine)\n\n",
            a.replay()
        ));
        s.push_str("| | |\n|---|---|\n");
        for (k, v) in self.rows() {
            s.push_str(&format!("| {k} | {v} |\n"));
        }
        for v in verdicts {
            let counts: Vec<String> = v.counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
            s.push_str(&format!(
                "| {} | **{}**: {} |\n",
                v.name.replace('|', "/"),
                if v.holds() { "holds" } else { "BROKEN" },
                counts.join(", ")
            ));
        }
        s
    }
}

/// Prints each violation with the order's history: the customer's requests
/// and answers (with the faults in force), the provider's records, the
/// webhooks that mention it, and the crash timeline.
fn explain(
    world: &World,
    verdicts: &[Verdict],
    ledger: &Ledger,
    reported: &HashMap<String, String>,
    webhooks: &[Value],
) {
    println!("\n== violations (seed {})", world.seed);
    let mut shown = 0;
    for v in verdicts.iter().filter(|v| !v.holds()) {
        println!("\n-- {}", v.name);
        for (id, what) in &v.violations {
            println!("  VIOLATION {id}: {what}");
            if shown < 12 {
                shown += 1;
                println!("    provider: {}", ledger.describe(id));
                if let Some(r) = reported.get(id) {
                    println!("    backend reports: {r}");
                }
                for e in world.history(id) {
                    println!("    {:>8.2}s {}", e.at, e.what);
                }
                for d in webhooks
                    .iter()
                    .filter(|d| d["body"].as_str().is_some_and(|b| b.contains(id.as_str())))
                {
                    println!(
                        "    webhook {} {} to {}: {} after {} attempts (last {})",
                        d["webhookId"], d["type"], d["url"], d["status"], d["attempts"], d["lastStatusCode"]
                    );
                }
            }
        }
    }
    println!("\n-- crash and fault timeline");
    for e in world.timeline_events() {
        println!("  {:>8.2}s {}", e.at, e.what);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_the_seeds() {
        let a = chaos::Plan::new(&mut rng(7, 0), 60.0, 30.0, 3);
        let b = chaos::Plan::new(&mut rng(7, 0), 60.0, 30.0, 3);
        let c = chaos::Plan::new(&mut rng(8, 0), 60.0, 30.0, 3);
        let show = |p: &chaos::Plan| format!("{:?}", (&p.windows, &p.crashes));
        assert_eq!(show(&a), show(&b));
        assert_ne!(show(&a), show(&c));
        assert_eq!(a.crashes.len(), 3);
        assert!(a.crashes.iter().all(|c| c.at > 0.0 && c.at < 60.0));
    }
}
