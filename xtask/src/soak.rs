//! `cargo xtask soak [--customers N] [--seconds S] [--seed X] [--crashes C]
//! [--settle-secs T] [--report FILE] [--postgres] [--replicas R]`: the
//! chaos soak. `--postgres` runs the backend on a throwaway PostgreSQL
//! cluster this command starts (and stops); `--replicas R` runs R backend
//! processes on the one database.
//!
//! Builds the sandbox, the backend and the soak (`xtask/soak`) in debug mode
//! with the native test suite's features (so `cargo xtask test` reuses what
//! its native suite built), then runs the soak: simulated customers against
//! the sandbox and the backend while faults switch and the backend is
//! SIGKILLed and restarted, then the money invariants checked against the
//! sandbox's records. Exit code 0 only when every invariant holds. See
//! `xtask/soak/src/main.rs`.

use crate::pg::{Cluster, Durability};
use crate::util::{cmd, root, run};
use std::path::PathBuf;

/// The cargo arguments that build the soak's binaries: the same features as
/// the native test suite, so the artefacts are shared.
pub const BUILD_ARGS: &[&str] = &[
    "build",
    "--workspace",
    "--exclude",
    "e2e",
    "--features",
    "portone-checkout/csr",
    "--bins",
];

/// Where cargo puts the debug binaries.
pub fn debug_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
        .join("debug")
}

/// The soak run with `args` (after the build), as a command.
pub fn command(args: &[&str]) -> std::process::Command {
    let bin = debug_dir();
    let mut c = cmd(&bin.join("soak").to_string_lossy());
    c.arg("--sandbox-bin")
        .arg(bin.join("portone-sandbox"))
        .arg("--server-bin")
        .arg(bin.join("checkout-server"))
        .args(args);
    c
}

/// Builds and runs the soak; returns the exit code.
pub fn soak(args: &[String]) -> i32 {
    if !run(cmd("cargo").args(BUILD_ARGS)) {
        eprintln!("soak: the build failed");
        return 1;
    }
    let postgres = args.iter().any(|a| a == "--postgres");
    let mut args: Vec<String> = args.iter().filter(|a| *a != "--postgres").cloned().collect();
    // Kept until the soak ends: dropping it stops the cluster.
    let _cluster = if postgres {
        match Cluster::start(Durability::Throwaway) {
            Ok(c) => {
                args.extend(["--postgres".to_owned(), c.url()]);
                Some(c)
            }
            Err(e) => {
                eprintln!("soak: PostgreSQL could not start: {e}");
                return 1;
            }
        }
    } else {
        None
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    i32::from(!run(&mut command(&args)))
}
