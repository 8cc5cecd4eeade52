//! `cargo xtask bench`: build release artefacts, measure, write `BENCHMARKS.md`.
//!
//! Builds the minimal checkout page (`bench/minimal`), the demo shop and the
//! React baseline (`bench/react-baseline`), the sandbox and the backend in
//! release mode, installs what only the bench needs (npm packages under
//! `bench/`, Debian's `wrk`, `twiggy`), then runs `node bench/run.mjs`, which
//! measures in headless Chromium and with wrk, prints each metric against its
//! target and writes `BENCHMARKS.md`. Missed targets do not fail the command:
//! it reports. It is not part of `cargo xtask test`.
//!
//! Options: `--loads N` (page loads per measurement, default 20),
//! `--seconds N` (wrk duration per level, default 10), `--pool N` (paid
//! payments prepared per load level, default 3000; the seed stock allows 3000),
//! `--pages-only` (skip the backend load test, for quick runs),
//! `--backend-only` (only the backend load test: no page builds nor browser;
//! its report goes to `bench/out/backend.md`, `BENCHMARKS.md` is left as it
//! is).
//!
//! The backend load runs on SQLite and on PostgreSQL with one and with two
//! replicas: a throwaway cluster (`pg.rs`, PostgreSQL's default durability)
//! with a fresh database per scenario and concurrency level.

use crate::pg::{Cluster, Durability};
use crate::setup::setup;
use crate::util::{cmd, output, root, run, which};
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// The sandbox port the pages are built for (the SDK URL is compiled in).
const SANDBOX_PORT: u16 = 18787;
const TWIGGY_VERSION: &str = "0.8.0";

struct Options {
    loads: u32,
    seconds: u32,
    pool: u32,
    pages_only: bool,
    backend_only: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        loads: 20,
        seconds: 10,
        pool: 3000,
        pages_only: false,
        backend_only: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--pages-only" {
            o.pages_only = true;
            continue;
        }
        if a == "--backend-only" {
            o.backend_only = true;
            continue;
        }
        let slot = match a.as_str() {
            "--loads" => &mut o.loads,
            "--seconds" => &mut o.seconds,
            "--pool" => &mut o.pool,
            other => return Err(format!("unknown option {other:?}")),
        };
        *slot = it
            .next()
            .and_then(|v| v.parse().ok())
            .filter(|v| *v > 0)
            .ok_or_else(|| format!("{a} needs a positive number"))?;
    }
    if o.pages_only && o.backend_only {
        return Err("--pages-only and --backend-only exclude each other".into());
    }
    Ok(o)
}

/// Runs the bench. Exit code 0 once it has measured (targets missed or not);
/// non-zero only when it could not build or run.
pub fn bench(args: &[String]) -> i32 {
    let opts = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!(
                "{e}\nusage: cargo xtask bench [--loads N] [--seconds N] [--pool N] [--pages-only | --backend-only]"
            );
            return 2;
        }
    };
    match run_bench(&opts, args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("bench: {e}");
            1
        }
    }
}

fn step(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("{what} failed"))
    }
}

fn run_bench(opts: &Options, args: &[String]) -> Result<(), String> {
    let root = root();
    setup().map_err(|missing| format!("setup could not provide every tool:\n{missing}"))?;
    bench_tools()?;

    let sandbox_port = if TcpListener::bind(("127.0.0.1", SANDBOX_PORT)).is_ok() {
        SANDBOX_PORT
    } else {
        // Taken: use a free one (the pages are rebuilt for it).
        TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("no free loopback port: {e}"))?
    };
    let sdk_url = format!("http://127.0.0.1:{sandbox_port}/v2/browser-sdk.js");
    let dist = root.join("bench").join("dist");
    let named = dist.join("named");
    fs::create_dir_all(&named).map_err(|e| format!("{}: {e}", named.display()))?;

    println!("== bench: release builds");
    step(
        run(cmd("cargo").args(["build", "--release", "-p", "portone-sandbox", "-p", "checkout-server"])),
        "cargo build --release (sandbox, server)",
    )?;
    if !opts.backend_only {
        build_pages(&root, &dist, &named, &sdk_url)?;
    }
    npm_install(&root.join("bench"))?;

    let out = root.join("bench").join("out");
    let tmp = out.join("run");
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let release = root.join("target").join("release");
    let postgres = if opts.pages_only {
        Err("skipped (--pages-only)".to_string())
    } else {
        bench_postgres()
    };
    let (postgres_json, postgres_error) = match &postgres {
        Ok((_, json)) => (json.clone(), "null".to_string()),
        Err(e) => ("null".to_string(), json_str(e)),
    };
    let mut command = String::from("cargo xtask bench");
    for a in args {
        command.push(' ');
        command.push_str(a);
    }
    let config = format!(
        "{{\"root\":{},\"loads\":{},\"levelSeconds\":{},\"poolSize\":{},\"pagesOnly\":{},\"sandboxBin\":{},\"serverBin\":{},\
         \"sandboxPort\":{sandbox_port},\"sandboxUrl\":{},\"dists\":{{\"minimal\":{},\"floor\":{},\"demo\":{},\"react\":{}}},\
         \"trunkDists\":[\"minimal\",\"floor\",\"demo\"],\"namedWasm\":{{\"minimal\":{},\"demo\":{}}},\"command\":{},\"out\":{},\"tmp\":{},\
         \"backendOnly\":{},\"backendOut\":{},\"postgres\":{postgres_json},\"postgresError\":{postgres_error}}}",
        json_path(&root),
        opts.loads,
        opts.seconds,
        opts.pool,
        opts.pages_only,
        json_path(&release.join("portone-sandbox")),
        json_path(&release.join("checkout-server")),
        json_str(&format!("http://127.0.0.1:{sandbox_port}")),
        json_path(&dist.join("minimal")),
        json_path(&dist.join("floor")),
        json_path(&dist.join("demo")),
        json_path(&dist.join("react")),
        json_path(&named.join("checkout-bench-minimal_bg.wasm")),
        json_path(&named.join("portone-checkout-demo_bg.wasm")),
        json_str(&command),
        json_path(&root.join("BENCHMARKS.md")),
        json_path(&tmp),
        opts.backend_only,
        json_path(&out.join("backend.md")),
    );
    let config_file = out.join("config.json");
    fs::write(&config_file, config).map_err(|e| format!("{}: {e}", config_file.display()))?;

    println!("== bench: measuring (node bench/run.mjs)");
    // The cores are shared with whatever else runs (builds, other tests):
    // measure at a higher priority when allowed (root); GNU nice still runs
    // the command, at the normal priority, when it is not. The report
    // states the priority it ran at.
    let mut node = if which("nice").is_some() {
        let mut c = cmd("nice");
        c.args(["-n", "-10", "node"]);
        c
    } else {
        cmd("node")
    };
    let measured = step(
        run(node.arg(root.join("bench").join("run.mjs")).arg(&config_file)),
        "node bench/run.mjs",
    );
    drop(postgres); // stops the cluster and removes its files
    measured
}

/// Concurrency levels of the backend load (as in `bench/run.mjs`).
const LEVELS: [u32; 3] = [1, 16, 64];

/// A throwaway PostgreSQL cluster at its default durability, with a fresh
/// database per replica count and level; also the `postgres` entry of
/// `run.mjs`'s config (`{"base": URL, "databases": {"<replicas>-<c>": name}}`).
fn bench_postgres() -> Result<(Cluster, String), String> {
    println!("== bench: a throwaway PostgreSQL cluster for the backend load");
    let cluster = Cluster::start(Durability::Full)?;
    let mut databases = Vec::new();
    for replicas in [1, 2] {
        for c in LEVELS {
            let name = format!("load_r{replicas}_c{c}");
            cluster.create_database(&name)?;
            databases.push(format!("{}:{}", json_str(&format!("{replicas}-{c}")), json_str(&name)));
        }
    }
    let json = format!(
        "{{\"base\":{},\"databases\":{{{}}}}}",
        json_str(&cluster.base_url()),
        databases.join(",")
    );
    Ok((cluster, json))
}

/// The pages the browser measurements load: the minimal page (and its
/// floor), the demo shop, the React baseline.
fn build_pages(root: &Path, dist: &Path, named: &Path, sdk_url: &str) -> Result<(), String> {
    step(
        run(cmd("trunk")
            .args(["build", "--release"])
            .current_dir(root.join("bench").join("minimal"))
            .env("BENCH_SDK_URL", sdk_url)),
        "trunk build --release (bench/minimal)",
    )?;
    keep_named(root, "checkout-bench-minimal", named)?;
    // The page's HTML loads the SDK itself (before the wasm runs).
    let index = dist.join("minimal").join("index.html");
    let html = fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
    if !html.contains("%BENCH_SDK_URL%") {
        return Err(format!("{} has no %BENCH_SDK_URL% to fill in", index.display()));
    }
    fs::write(&index, html.replace("%BENCH_SDK_URL%", sdk_url)).map_err(|e| format!("{}: {e}", index.display()))?;
    step(
        run(cmd("trunk")
            .args(["build", "--release", "--dist"])
            .arg(dist.join("floor"))
            .arg("floor.html")
            .current_dir(root.join("bench").join("minimal"))),
        "trunk build --release (bench/minimal/floor.html)",
    )?;
    step(
        run(cmd("trunk")
            .args(["build", "--release", "--dist"])
            .arg(dist.join("demo"))),
        "trunk build --release (demo shop)",
    )?;
    keep_named(root, "portone-checkout-demo", named)?;
    let react = root.join("bench").join("react-baseline");
    npm_install(&react)?;
    step(
        run(cmd("npx")
            .args(["vite", "build", "--logLevel", "warn"])
            .current_dir(&react)
            .env("BENCH_SDK_URL", sdk_url)
            .env("BENCH_REACT_OUT", dist.join("react"))),
        "vite build (bench/react-baseline)",
    )?;
    Ok(())
}

/// Installs `wrk` (Debian) and `twiggy` (crates.io) when missing.
fn bench_tools() -> Result<(), String> {
    if which("node").is_none() || which("npm").is_none() {
        return Err("node and npm are needed (Debian: apt-get install nodejs npm)".into());
    }
    if which("wrk").is_none() {
        println!("  installing wrk (Debian) for the backend load test");
        let _ = run(cmd("apt-get").args(["install", "-y", "wrk"]));
        if which("wrk").is_none() {
            let _ = run(cmd("apt-get").arg("update"));
            step(
                run(cmd("apt-get").args(["install", "-y", "wrk"])),
                "apt-get install wrk",
            )?;
        }
    }
    let twiggy_ok = output(cmd("twiggy").arg("--version")).is_some_and(|v| v.contains(TWIGGY_VERSION));
    if !twiggy_ok {
        println!("  installing twiggy {TWIGGY_VERSION} (crates.io; compiles for a few minutes)");
        step(
            run(cmd("cargo").args(["install", "twiggy", "--version", TWIGGY_VERSION])),
            "cargo install twiggy",
        )?;
    }
    println!("  ok    node, npm, wrk, twiggy");
    Ok(())
}

/// `npm ci` when a lock file exists (exact versions), else `npm install`;
/// skipped when `node_modules` is newer than both manifests.
fn npm_install(dir: &Path) -> Result<(), String> {
    let modified = |p: PathBuf| fs::metadata(p).and_then(|m| m.modified()).ok();
    let lock = dir.join("package-lock.json");
    let installed = modified(dir.join("node_modules").join(".package-lock.json"));
    let fresh = installed.is_some_and(|i| {
        [dir.join("package.json"), lock.clone()]
            .into_iter()
            .all(|p| modified(p).is_none_or(|m| m <= i))
    });
    if fresh {
        return Ok(());
    }
    let verb = if lock.is_file() { "ci" } else { "install" };
    step(
        run(cmd("npm")
            .args([verb, "--no-audit", "--no-fund", "--loglevel", "error"])
            .current_dir(dir)),
        &format!("npm {verb} in {}", dir.display()),
    )
}

/// Copies trunk's wasm-bindgen output (names kept, before wasm-opt) aside
/// for the per-crate size breakdown.
fn keep_named(root: &Path, name: &str, named: &Path) -> Result<(), String> {
    let file = format!("{name}_bg.wasm");
    let from: PathBuf = root.join("target").join("wasm-bindgen").join("release").join(&file);
    fs::copy(&from, named.join(&file))
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", from.display()))
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_path(p: &Path) -> String {
    json_str(&p.to_string_lossy())
}
