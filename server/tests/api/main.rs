//! Integration tests of `checkout-server` against a real `portone-sandbox`
//! and a real SQLite file.

mod common;

mod billing;
mod inputs;
mod money_safety;
mod payments;
mod reliability;
mod toss;
mod v1;
mod webhooks;
