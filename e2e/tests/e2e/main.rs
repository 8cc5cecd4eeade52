//! End-to-end scenarios (issue 6; PortOne V1: issue 13; Toss Payments:
//! issue 14): the demo shop against `checkout-server` and `portone-sandbox`,
//! PC and mobile profiles, in the engine `E2E_ENGINE` names (Chromium,
//! Firefox or WebKit; `cargo xtask test` runs all three). Every test takes
//! the harness's global lock, so one browser runs at a time.

mod attacks;
mod billing;
mod common;
mod harness;
mod money;
mod payments;
mod portone_v1;
mod toss;
