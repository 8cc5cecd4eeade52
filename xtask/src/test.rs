//! `cargo xtask test`: setup, then every suite, with pass/fail counts and
//! the time each took.
//!
//! The browser suites run once per engine (Chromium, Firefox, WebKit), each
//! engine as a suite of its own with its own minimum, so an engine that ran
//! no test fails the run:
//! - the end-to-end scenarios: the same `cargo test -p e2e` with
//!   `E2E_ENGINE=chromium|firefox|webkit` (the harness reads it), so every
//!   scenario, a new one included, runs in every engine;
//! - the wasm-bindgen-test suites ([`BROWSER_TEST_TARGETS`]): the same
//!   `cargo test --target wasm32-unknown-unknown` with only that engine's
//!   driver variable set (`CHROMEDRIVER`, `GECKODRIVER` with `--binary`,
//!   `SAFARIDRIVER` = WebKitWebDriver: wasm-bindgen-test-runner speaks W3C
//!   WebDriver to it and WebKitWebDriver starts its default browser,
//!   WebKitGTK's MiniBrowser). The runner picks the first driver variable it
//!   finds, so the others are removed.
//!
//! WebKitGTK's MiniBrowser has no headless mode: one Xvfb, started here on a
//! free display and stopped at the end, serves the WebKit suites.

use crate::pg::{Cluster, Durability};
use crate::setup::{setup, Tools};
use crate::util::{cmd, root, run_capture};
use std::io::Read as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The wasm-bindgen-test targets (`tests/*.rs`) that run in the browsers.
pub const BROWSER_TEST_TARGETS: &[&str] = &[
    "checkout_component",
    "sdk_binding",
    "sdk_loader",
    "toss_binding",
    "sdk_binding_v1",
];

/// The browser engines every browser suite runs in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Engine {
    Chromium,
    Firefox,
    Webkit,
}

impl Engine {
    const ALL: [Engine; 3] = [Engine::Chromium, Engine::Firefox, Engine::Webkit];

    /// The `E2E_ENGINE` value.
    fn id(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
            Engine::Webkit => "webkit",
        }
    }
}

/// Every WebDriver variable wasm-bindgen-test-runner looks at: it takes the
/// first it finds, so a suite sets exactly one.
const RUNNER_DRIVER_VARS: &[&str] = &[
    "GECKODRIVER",
    "GECKODRIVER_REMOTE",
    "GECKODRIVER_ARGS",
    "SAFARIDRIVER",
    "SAFARIDRIVER_REMOTE",
    "SAFARIDRIVER_ARGS",
    "CHROMEDRIVER",
    "CHROMEDRIVER_REMOTE",
    "CHROMEDRIVER_ARGS",
    "MSEDGEDRIVER",
    "MSEDGEDRIVER_REMOTE",
    "MSEDGEDRIVER_ARGS",
];

/// An Xvfb this run started; stopped (by its own handle) on drop.
struct Xvfb {
    child: Child,
    display: String,
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts Xvfb on the first free display; `-displayfd` makes it print the
/// display number it took once it is ready for clients.
fn start_xvfb(tools: &Tools) -> Result<Xvfb, String> {
    let (mut reader, writer) = std::io::pipe().map_err(|e| format!("a pipe for Xvfb: {e}"))?;
    let child = Command::new(&tools.xvfb)
        .args(["-displayfd", "1", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"])
        .stdout(writer)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", tools.xvfb.display()))?;
    let mut xvfb = Xvfb {
        child,
        display: String::new(),
    };
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while matches!(reader.read(&mut byte), Ok(1)) && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    let n = String::from_utf8_lossy(&line).trim().to_owned();
    if n.is_empty() {
        return Err(format!("{} exited without a display", tools.xvfb.display()));
    }
    xvfb.display = format!(":{n}");
    Ok(xvfb)
}

/// Markers of the lines that say why a suite failed: libtest's failures and
/// panics, compiler errors, the soak's broken invariants and run problems.
const FAILURE_MARKERS: &[&str] = &[
    "panicked at",
    "... FAILED",
    "error:",
    "error[",
    "BROKEN",
    "RUN PROBLEM",
    "VIOLATION",
    "soak: FAILED",
    "soak: could not run",
    "did not finish in time",
];

/// At most this many lines of each failed suite's output in the summary.
const EXCERPT_LINES: usize = 10;

/// The lines of a failed suite's output that say why (each marker line, and
/// for a panic the message line after it), first ones first, at most
/// [`EXCERPT_LINES`], each cut to 240 characters; the last lines of the
/// output when no line is marked.
pub fn failure_excerpt(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut take_next = false;
    for l in lines {
        let marked = FAILURE_MARKERS.iter().any(|m| l.contains(m));
        if (marked || take_next) && !out.iter().any(|o| o == l.trim_end()) {
            out.push(l.trim_end().to_owned());
        }
        take_next = marked && l.contains("panicked at");
        if out.len() >= EXCERPT_LINES {
            break;
        }
    }
    if out.is_empty() {
        let from = lines.len().saturating_sub(EXCERPT_LINES);
        out = lines[from..].iter().map(|l| l.trim_end().to_owned()).collect();
    }
    out.iter()
        .map(|l| match l.char_indices().nth(240) {
            Some((i, _)) => format!("{}…", &l[..i]),
            None => l.clone(),
        })
        .collect()
}

/// Counts read off `test result:` lines.
#[derive(Default, Clone, Copy)]
pub struct Counts {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
}

/// Parses libtest / wasm-bindgen-test-runner summary lines.
pub fn count(lines: &[String]) -> Counts {
    let mut c = Counts::default();
    for l in lines {
        let Some(rest) = l.trim().strip_prefix("test result: ") else {
            continue;
        };
        for part in rest.split([';', '.']) {
            let mut w = part.split_whitespace();
            if let (Some(n), Some(what)) = (w.next(), w.next()) {
                let n: u64 = n.parse().unwrap_or(0);
                match what {
                    "passed" => c.passed += n,
                    "failed" => c.failed += n,
                    _ => {}
                }
            }
        }
    }
    c
}

enum Kind {
    /// A check (fmt, clippy): pass/fail only.
    Check,
    /// A check that also fails when the command's output contains `bad`.
    CheckAbsent { bad: &'static str },
    /// A check that also fails unless the command's output has a line
    /// starting with `need` (a run that stopped early cannot pass).
    CheckPresent { need: &'static str },
    /// A test suite; `min` is the least number of tests that must have run,
    /// so a suite that silently runs fewer (a feature or a cfg turned off)
    /// fails.
    Tests { min: u64 },
    /// A suite that cannot run (what it needs could not be started): a
    /// failure, never a skip.
    Unavailable { why: String },
}

struct Suite {
    name: &'static str,
    kind: Kind,
    command: Command,
    /// The browser engine the suite runs in, if any.
    engine: Option<Engine>,
}

fn cargo(args: &[&str]) -> Command {
    let mut c = cmd("cargo");
    c.args(args);
    c
}

/// `cargo test -p e2e` in `engine`: every scenario, PC and mobile profiles.
fn e2e_suite(tools: &Tools, engine: Engine, display: &str) -> Suite {
    let mut c = cargo(&["test", "-p", "e2e"]);
    c.env("E2E_ENGINE", engine.id())
        .env("DEMO_DIST", root().join("dist"))
        .env("CHROMIUM", &tools.chromium)
        .env("CHROMEDRIVER", &tools.chromedriver)
        .env("FIREFOX", &tools.firefox)
        .env("GECKODRIVER", &tools.geckodriver)
        .env("WEBKIT_WEBDRIVER", &tools.webkit_driver)
        .env("MINIBROWSER", &tools.minibrowser)
        .env("XVFB", &tools.xvfb);
    if engine == Engine::Webkit {
        c.env("DISPLAY", display);
    }
    let name: &'static str = match engine {
        Engine::Chromium => "end-to-end tests in Chromium (headless; PC, phone emulation: demo + backend + sandbox)",
        Engine::Firefox => "end-to-end tests in Firefox (ESR, headless; PC, iPhone user agent)",
        Engine::Webkit => "end-to-end tests in WebKit (MiniBrowser on Xvfb; PC, iPhone user agent)",
    };
    Suite {
        name,
        // 3 harness unit tests + 55 scenarios (PC and mobile; PortOne V2,
        // PortOne V1, Toss Payments).
        kind: Kind::Tests { min: 58 },
        command: c,
        engine: Some(engine),
    }
}

/// The wasm-bindgen-test suites in `engine`.
fn browser_suite(tools: &Tools, engine: Engine, display: &str) -> Suite {
    let mut args = vec![
        "test",
        "-p",
        "portone-checkout",
        "--features",
        "csr,billing",
        "--target",
        "wasm32-unknown-unknown",
    ];
    for t in BROWSER_TEST_TARGETS {
        args.extend(["--test", t]);
    }
    let mut c = cargo(&args);
    for v in RUNNER_DRIVER_VARS {
        c.env_remove(v);
    }
    c.env("WASM_BINDGEN_TEST_TIMEOUT", "60");
    match engine {
        Engine::Chromium => {
            c.env("CHROMEDRIVER", &tools.chromedriver);
        }
        Engine::Firefox => {
            // Debian's binary is `firefox-esr`; geckodriver looks for `firefox`.
            c.env("GECKODRIVER", &tools.geckodriver)
                .env("GECKODRIVER_ARGS", format!("--binary {}", tools.firefox.display()));
        }
        Engine::Webkit => {
            c.env("SAFARIDRIVER", &tools.webkit_driver).env("DISPLAY", display);
        }
    }
    let name: &'static str = match engine {
        Engine::Chromium => "browser tests (wasm-bindgen-test) in Chromium (headless)",
        Engine::Firefox => "browser tests (wasm-bindgen-test) in Firefox (ESR, headless)",
        Engine::Webkit => "browser tests (wasm-bindgen-test) in WebKit (MiniBrowser on Xvfb)",
    };
    Suite {
        name,
        kind: Kind::Tests { min: 62 },
        command: c,
        engine: Some(engine),
    }
}

/// The server's integration suite against the throwaway PostgreSQL
/// cluster: every test gets a schema of its own there
/// (`server/tests/api/common.rs`), and one test checks it really ran on
/// PostgreSQL.
fn postgres_suite(cluster: &Result<Cluster, String>) -> Suite {
    on_postgres(
        cluster,
        "server tests on PostgreSQL (cargo test -p checkout-server --test api)",
        |cluster| {
            let mut c = cargo(&["test", "-p", "checkout-server", "--test", "api"]);
            c.env("CHECKOUT_TEST_DATABASE_URL", cluster.url());
            (Kind::Tests { min: 93 }, c)
        },
    )
}

/// The small soak again with the backend as several replicas run it: two
/// processes on one PostgreSQL database (a database of its own on the
/// throwaway cluster), customers spread over them, each webhook sent to
/// both, the crashes taking them in turn.
fn postgres_soak(cluster: &Result<Cluster, String>, seed: &str) -> Suite {
    on_postgres(
        cluster,
        "chaos soak on PostgreSQL, two replicas (200 customers, 60 s, 3 crashes; random seed, printed)",
        |cluster| {
            let url = cluster.url();
            let mut args: Vec<&str> = soak_small(seed).to_vec();
            args.extend(["--replicas", "2", "--postgres", &url]);
            (Kind::CheckPresent { need: SOAK_PASSED }, crate::soak::command(&args))
        },
    )
}

/// A suite that needs the throwaway cluster: what `make` builds from it,
/// or, when it could not start, a suite that fails saying why (never a
/// skip).
fn on_postgres(
    cluster: &Result<Cluster, String>,
    name: &'static str,
    make: impl FnOnce(&Cluster) -> (Kind, Command),
) -> Suite {
    let (kind, command) = match cluster {
        Ok(cluster) => make(cluster),
        Err(e) => (
            Kind::Unavailable {
                why: format!("PostgreSQL could not start: {e}"),
            },
            cmd("false"),
        ),
    };
    Suite {
        name,
        kind,
        command,
        engine: None,
    }
}

/// The line the soak prints when every invariant holds.
const SOAK_PASSED: &str = "soak: all invariants hold";

/// The small soak's fixed seed.
const SOAK_FIXED_SEED: &str = "20261130";

/// The small soak's arguments with `seed`.
fn soak_small(seed: &str) -> [&str; 8] {
    [
        "--customers",
        "200",
        "--seconds",
        "60",
        "--crashes",
        "3",
        "--seed",
        seed,
    ]
}

/// A seed that changes from run to run (printed by the soak).
fn random_seed() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ((t.as_nanos() as u64 ^ u64::from(std::process::id())) % 1_000_000_000).to_string()
}

fn suites(tools: &Tools, display: &str, postgres: &Result<Cluster, String>) -> Vec<Suite> {
    let seed = random_seed();
    let driver = tools.chromedriver.to_string_lossy().into_owned();
    let chromium = tools.chromium.to_string_lossy().into_owned();
    // Native runs compile the library with its components (csr), so the
    // hooks' and gateways' native tests run too. `--no-fail-fast`: one
    // failing test binary does not hide the results of the others.
    let mut native = cargo(&[
        "test",
        "--no-fail-fast",
        "--workspace",
        "--exclude",
        "e2e",
        "--features",
        "portone-checkout/csr,portone-checkout/billing",
    ]);
    native.env("CHROMEDRIVER", &driver).env("CHROMIUM", &chromium);
    // `npm ci` refuses a lock out of step with its package.json: check each
    // lock without installing anything, so drift shows here and not in the
    // bench on a fresh machine.
    let npm_lock = |dir: &str| {
        let mut c = cmd("npm");
        c.args(["ci", "--dry-run", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(root().join(dir));
        c
    };
    let mut demo = cmd("trunk");
    demo.args(["build", "--release"]);
    let mut suites = vec![
        Suite {
            name: "rustfmt",
            kind: Kind::Check,
            command: cargo(&["fmt", "--all", "--", "--check"]),
            engine: None,
        },
        Suite {
            name: "npm lock in sync (npm ci --dry-run, bench)",
            kind: Kind::Check,
            command: npm_lock("bench"),
            engine: None,
        },
        Suite {
            name: "npm lock in sync (npm ci --dry-run, bench/react-baseline)",
            kind: Kind::Check,
            command: npm_lock("bench/react-baseline"),
            engine: None,
        },
        Suite {
            name: "clippy (native, with the demo and components)",
            kind: Kind::Check,
            command: cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--features",
                "portone-checkout/demo",
                "--",
                "-D",
                "warnings",
            ]),
            engine: None,
        },
        Suite {
            name: "clippy (native, server rendering: --features ssr,billing)",
            kind: Kind::Check,
            command: cargo(&[
                "clippy",
                "-p",
                "portone-checkout",
                "--features",
                "ssr,billing",
                "--lib",
                "--tests",
                "--",
                "-D",
                "warnings",
            ]),
            engine: None,
        },
        Suite {
            name: "clippy (wasm32)",
            kind: Kind::Check,
            command: cargo(&[
                "clippy",
                "-p",
                "portone-checkout",
                "--features",
                "demo",
                "--target",
                "wasm32-unknown-unknown",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
            engine: None,
        },
        Suite {
            name: "clippy (wasm32, payments only: --features csr, no billing)",
            kind: Kind::Check,
            command: cargo(&[
                "clippy",
                "-p",
                "portone-checkout",
                "--features",
                "csr",
                "--target",
                "wasm32-unknown-unknown",
                "--lib",
                "--",
                "-D",
                "warnings",
            ]),
            engine: None,
        },
        Suite {
            name: "the library builds for hydration (wasm32, --features hydrate)",
            kind: Kind::Check,
            command: cargo(&[
                "check",
                "-p",
                "portone-checkout",
                "--lib",
                "--features",
                "hydrate",
                "--target",
                "wasm32-unknown-unknown",
            ]),
            engine: None,
        },
        Suite {
            name: "an SSR consumer gets no csr (cargo tree -e features, --features ssr)",
            kind: Kind::CheckAbsent { bad: "feature \"csr\"" },
            command: cargo(&[
                "tree",
                "-p",
                "portone-checkout",
                "--features",
                "ssr",
                "-e",
                "features",
                "-i",
                "leptos",
            ]),
            engine: None,
        },
        Suite {
            name: "server rendering to HTML (cargo test --features ssr,billing --test ssr)",
            kind: Kind::Tests { min: 2 },
            command: cargo(&[
                "test",
                "-p",
                "portone-checkout",
                "--features",
                "ssr,billing",
                "--test",
                "ssr",
            ]),
            engine: None,
        },
        Suite {
            name: "demo release build (trunk)",
            kind: Kind::Check,
            command: demo,
            engine: None,
        },
        Suite {
            name: "no Toss secret key in the browser bundle (dist/, bench/dist/minimal)",
            kind: Kind::Check,
            command: cargo(&["xtask", "scan-secrets"]),
            engine: None,
        },
        Suite {
            name: "native tests (cargo test --workspace --exclude e2e)",
            kind: Kind::Tests { min: 501 },
            command: native,
            engine: None,
        },
        postgres_suite(postgres),
        Suite {
            name: "chaos soak binaries (debug, the native suite's features)",
            kind: Kind::Check,
            command: cargo(crate::soak::BUILD_ARGS),
            engine: None,
        },
        Suite {
            name: "chaos soak, fixed seed (200 customers, 60 s, 3 backend crashes)",
            kind: Kind::CheckPresent { need: SOAK_PASSED },
            command: crate::soak::command(&soak_small(SOAK_FIXED_SEED)),
            engine: None,
        },
        Suite {
            name: "chaos soak, random seed (200 customers, 60 s, 3 backend crashes; the seed is printed)",
            kind: Kind::CheckPresent { need: SOAK_PASSED },
            command: crate::soak::command(&soak_small(&seed)),
            engine: None,
        },
        postgres_soak(postgres, &seed),
    ];
    suites.extend(Engine::ALL.iter().map(|&e| e2e_suite(tools, e, display)));
    suites.extend(Engine::ALL.iter().map(|&e| browser_suite(tools, e, display)));
    suites
}

/// `1m05s`.
fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}m{:02}s", s / 60, s % 60)
}

/// Runs everything; returns the process exit code.
pub fn test() -> i32 {
    let tools = match setup() {
        Ok(t) => t,
        Err(missing) => {
            eprintln!("setup could not provide every tool:\n{missing}");
            return 1;
        }
    };
    // One X display for every WebKit suite; without it they fail (below),
    // they are never skipped.
    let xvfb = start_xvfb(&tools);
    let display = match &xvfb {
        Ok(x) => {
            println!("== Xvfb on display {} for the WebKit suites", x.display);
            x.display.clone()
        }
        Err(e) => {
            eprintln!("could not start Xvfb for the WebKit suites: {e}");
            String::new()
        }
    };
    println!("== starting a throwaway PostgreSQL cluster for the server's PostgreSQL suite");
    let postgres = Cluster::start(Durability::Throwaway);
    if let Err(e) = &postgres {
        println!("  FAILED PostgreSQL: {e}");
    }
    let mut report = Vec::new();
    let mut total = Counts::default();
    let mut all_ok = true;
    let mut why: Vec<(&'static str, Vec<String>)> = Vec::new();
    for mut s in suites(&tools, &display, &postgres) {
        println!("\n== suite: {}", s.name);
        let started = Instant::now();
        if let Kind::Unavailable { why } = &s.kind {
            println!("{why}");
            report.push((s.name, format!("FAILED: {why}"), started.elapsed()));
            all_ok = false;
            continue;
        }
        if let (Some(Engine::Webkit), Err(e)) = (s.engine, &xvfb) {
            report.push((
                s.name,
                format!("FAILED: no X display for WebKit ({e})"),
                started.elapsed(),
            ));
            all_ok = false;
            continue;
        }
        let (ok, lines) = run_capture(&mut s.command);
        let c = count(&lines);
        let verdict = match s.kind {
            Kind::Check if ok => "ok".to_string(),
            Kind::Check => "FAILED".to_string(),
            Kind::CheckAbsent { bad } if ok && !lines.iter().any(|l| l.contains(bad)) => "ok".to_string(),
            Kind::CheckAbsent { bad } => format!("FAILED: the output contains {bad}"),
            Kind::Unavailable { why } => format!("FAILED: {why}"),
            Kind::CheckPresent { need } if ok && lines.iter().any(|l| l.starts_with(need)) => "ok".to_string(),
            Kind::CheckPresent { need } => format!("FAILED (or no line starting with {need:?})"),
            Kind::Tests { min } => {
                total.passed += c.passed;
                total.failed += c.failed;
                if !ok || c.failed > 0 {
                    format!("FAILED ({} passed, {} failed)", c.passed, c.failed)
                } else if c.passed < min {
                    format!("FAILED: ran {} tests, expected at least {min}", c.passed)
                } else {
                    format!("ok ({} passed, {} failed)", c.passed, c.failed)
                }
            }
        };
        if !verdict.starts_with("ok") {
            why.push((s.name, failure_excerpt(&lines)));
        }
        all_ok &= verdict.starts_with("ok");
        report.push((s.name, verdict, started.elapsed()));
    }
    drop(xvfb);
    println!("\n== summary");
    for (name, verdict, took) in &report {
        println!("  {verdict:<40} {:>6}  {name}", minutes(*took));
    }
    // Last, so that a log cut to its tail still says why.
    if !why.is_empty() {
        println!("\n== why each failed suite failed (the first telling lines of its output)");
        for (name, lines) in &why {
            println!("-- {name}");
            for l in lines {
                println!("   {l}");
            }
        }
    }
    println!("{} passed, {} failed", total.passed, total.failed);
    drop(postgres); // stops the cluster and removes its files
    i32::from(!all_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn a_failed_suite_is_explained_by_its_panics_and_failed_tests() {
        let out = lines(
            "running 2 tests\n\
             test a ... ok\n\
             test b ... FAILED\n\
             thread 'b' panicked at src/x.rs:3:5:\n\
             assertion failed: left == right\n\
             note: run with RUST_BACKTRACE=1\n",
        );
        assert_eq!(
            failure_excerpt(&out),
            [
                "test b ... FAILED",
                "thread 'b' panicked at src/x.rs:3:5:",
                "assertion failed: left == right"
            ]
        );
    }

    #[test]
    fn a_failed_soak_is_explained_by_its_broken_invariants() {
        let out = lines(
            "soak: settling, 2 still disagree, e.g. o-1 (toss PENDING, provider PAID)\n\
             \x20 HOLDS  2. stock\n\
             \x20 BROKEN 3. states\n\
             \x20 RUN PROBLEM: 2 of 3 planned crashes happened\n\
             \x20 RUN PROBLEM: not settled within 120 s: 1 still disagree\n",
        );
        let got = failure_excerpt(&out);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].contains("BROKEN 3."), "{got:?}");
        assert!(got[2].contains("not settled"), "{got:?}");
    }

    #[test]
    fn output_without_a_telling_line_is_shown_by_its_tail() {
        let out: Vec<String> = (0..30).map(|i| format!("line {i}")).collect();
        let got = failure_excerpt(&out);
        assert_eq!(got.len(), EXCERPT_LINES);
        assert_eq!(got[EXCERPT_LINES - 1], "line 29");
    }
}
