//! End-to-end scenarios (issue 6; PortOne V1: issue 13): the demo shop in
//! headless Chromium against `checkout-server` and `portone-sandbox`, PC and
//! mobile profiles. Every test takes the harness's global lock, so one
//! browser runs at a time.

mod attacks;
mod billing;
mod common;
mod harness;
mod money;
mod payments;
mod portone_v1;
mod toss;
