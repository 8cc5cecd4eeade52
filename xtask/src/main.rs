//! `cargo xtask <command>`: set-up, demo, tests and benchmarks.
//!
//! Commands:
//! - `setup`: install what is missing (wasm target, trunk, wasm-bindgen-cli,
//!   wasm-opt; PostgreSQL; Chromium, Firefox ESR, geckodriver, WebKitWebDriver +
//!   MiniBrowser, Xvfb, a Korean font) and print what was found and done.
//! - `test`: setup, then every suite (the browser suites once per engine:
//!   Chromium, Firefox, WebKit), with counts and times; non-zero exit on
//!   failure.
//!   The server's suite runs twice: on SQLite and on a throwaway PostgreSQL
//!   cluster it starts and stops itself (`pg.rs`).
//! - `demo`: setup, build and serve the demo shop.
//! - `bench`: build release artefacts, measure size, load time, click to
//!   SDK, redirect return, memory and backend throughput; write
//!   `BENCHMARKS.md` (reports only; not part of `test`).
//! - `soak [--customers N] [--seconds S] [--seed X] [--crashes C]
//!   [--postgres] [--replicas R]`: the chaos soak (simulated customers,
//!   provider faults, backend crashes, then the money invariants checked
//!   against the sandbox's records), on SQLite or on a throwaway PostgreSQL
//!   cluster with R replicas; part of `test` in a small size.
//! - `scan-secrets [dir...]`: fail if a Toss secret key or the secret-key
//!   setting is in the browser bundle (`dist/`, `bench/dist/minimal`); part
//!   of `test`.

mod bench;
mod demo;
mod pg;
mod secrets;
mod setup;
mod soak;
mod test;
mod util;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("setup") => match setup::setup() {
            Ok(_) => 0,
            Err(missing) => {
                eprintln!("setup could not provide every tool:\n{missing}");
                1
            }
        },
        Some("test") => test::test(),
        Some("demo") => demo::demo(&args[1..]),
        Some("bench") => bench::bench(&args[1..]),
        Some("scan-secrets") => secrets::scan(&args[1..]),
        Some("soak") => soak::soak(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <setup|test|demo|bench|soak|scan-secrets>");
            2
        }
    };
    std::process::exit(code);
}
