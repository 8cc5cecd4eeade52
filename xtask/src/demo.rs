//! `cargo xtask demo`: setup, then serve the demo shop.

use crate::setup::setup;
use crate::util::{cmd, run};

/// Builds and serves the demo; returns the exit code.
pub fn demo(_args: &[String]) -> i32 {
    if let Err(missing) = setup() {
        eprintln!("setup could not provide every tool:\n{missing}");
        return 1;
    }
    println!("== demo: open http://127.0.0.1:8081/ once trunk says it is serving");
    i32::from(!run(cmd("trunk").args(["serve", "--release"])))
}
