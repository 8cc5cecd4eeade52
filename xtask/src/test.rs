//! `cargo xtask test`: setup, then every suite, with pass/fail counts.

use crate::setup::{setup, Tools};
use crate::util::{cmd, root, run_capture};
use std::process::Command;

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
}

struct Suite {
    name: &'static str,
    kind: Kind,
    command: Command,
}

fn cargo(args: &[&str]) -> Command {
    let mut c = cmd("cargo");
    c.args(args);
    c
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

fn suites(tools: &Tools) -> Vec<Suite> {
    let seed = random_seed();
    let driver = tools.chromedriver.to_string_lossy().into_owned();
    let chromium = tools.chromium.to_string_lossy().into_owned();
    // Native runs compile the library with its components (csr), so the
    // hooks' and gateways' native tests run too.
    let mut native = cargo(&[
        "test",
        "--workspace",
        "--exclude",
        "e2e",
        "--features",
        "portone-checkout/csr",
    ]);
    native.env("CHROMEDRIVER", &driver).env("CHROMIUM", &chromium);
    let mut e2e = cargo(&["test", "-p", "e2e"]);
    e2e.env("CHROMEDRIVER", &driver)
        .env("CHROMIUM", &chromium)
        .env("DEMO_DIST", root().join("dist"));
    let mut browser = cargo(&[
        "test",
        "-p",
        "portone-checkout",
        "--features",
        "csr",
        "--target",
        "wasm32-unknown-unknown",
        "--test",
        "checkout_component",
        "--test",
        "sdk_binding",
        "--test",
        "sdk_loader",
        "--test",
        "toss_binding",
        "--test",
        "sdk_binding_v1",
    ]);
    browser
        .env("CHROMEDRIVER", &driver)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "60");
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
    vec![
        Suite {
            name: "rustfmt",
            kind: Kind::Check,
            command: cargo(&["fmt", "--all", "--", "--check"]),
        },
        Suite {
            name: "npm lock in sync (npm ci --dry-run, bench)",
            kind: Kind::Check,
            command: npm_lock("bench"),
        },
        Suite {
            name: "npm lock in sync (npm ci --dry-run, bench/react-baseline)",
            kind: Kind::Check,
            command: npm_lock("bench/react-baseline"),
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
        },
        Suite {
            name: "clippy (native, server rendering: --features ssr)",
            kind: Kind::Check,
            command: cargo(&[
                "clippy",
                "-p",
                "portone-checkout",
                "--features",
                "ssr",
                "--lib",
                "--tests",
                "--",
                "-D",
                "warnings",
            ]),
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
        },
        Suite {
            name: "server rendering to HTML (cargo test --features ssr --test ssr)",
            kind: Kind::Tests { min: 2 },
            command: cargo(&["test", "-p", "portone-checkout", "--features", "ssr", "--test", "ssr"]),
        },
        Suite {
            name: "demo release build (trunk)",
            kind: Kind::Check,
            command: demo,
        },
        Suite {
            name: "no Toss secret key in the browser bundle (dist/, bench/dist/minimal)",
            kind: Kind::Check,
            command: cargo(&["xtask", "scan-secrets"]),
        },
        Suite {
            name: "native tests (cargo test --workspace --exclude e2e)",
            kind: Kind::Tests { min: 400 },
            command: native,
        },
        Suite {
            name: "chaos soak binaries (debug, the native suite's features)",
            kind: Kind::Check,
            command: cargo(crate::soak::BUILD_ARGS),
        },
        Suite {
            name: "chaos soak, fixed seed (200 customers, 60 s, 3 backend crashes)",
            kind: Kind::CheckPresent { need: SOAK_PASSED },
            command: crate::soak::command(&soak_small(SOAK_FIXED_SEED)),
        },
        Suite {
            name: "chaos soak, random seed (200 customers, 60 s, 3 backend crashes; the seed is printed)",
            kind: Kind::CheckPresent { need: SOAK_PASSED },
            command: crate::soak::command(&soak_small(&seed)),
        },
        Suite {
            name: "end-to-end tests (headless Chromium: demo + backend + sandbox)",
            kind: Kind::Tests { min: 50 },
            command: e2e,
        },
        Suite {
            name: "browser tests (wasm-bindgen-test, headless Chromium)",
            kind: Kind::Tests { min: 60 },
            command: browser,
        },
    ]
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
    let mut report = Vec::new();
    let mut total = Counts::default();
    let mut all_ok = true;
    for mut s in suites(&tools) {
        println!("\n== suite: {}", s.name);
        let (ok, lines) = run_capture(&mut s.command);
        let c = count(&lines);
        let verdict = match s.kind {
            Kind::Check if ok => "ok".to_string(),
            Kind::Check => "FAILED".to_string(),
            Kind::CheckAbsent { bad } if ok && !lines.iter().any(|l| l.contains(bad)) => "ok".to_string(),
            Kind::CheckAbsent { bad } => format!("FAILED: the output contains {bad}"),
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
        all_ok &= verdict.starts_with("ok");
        report.push((s.name, verdict));
    }
    println!("\n== summary");
    for (name, verdict) in &report {
        println!("  {verdict:<40} {name}");
    }
    println!("{} passed, {} failed", total.passed, total.failed);
    i32::from(!all_ok)
}
