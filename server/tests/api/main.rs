//! Integration tests of `checkout-server` against a real `portone-sandbox`
//! and a real database: an SQLite file, or PostgreSQL when
//! `CHECKOUT_TEST_DATABASE_URL` is set (see `common.rs`).

mod common;

mod billing;
mod inputs;
mod money_safety;
mod payments;
mod reliability;
mod replicas;
mod toss;
mod v1;
mod webhooks;
