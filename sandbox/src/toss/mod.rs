//! Toss Payments (direct): everything that is Toss's and no other provider's.
//!
//! | file | owns |
//! |---|---|
//! | `sdk.rs` | `GET /toss/v2/standard` (the SDK v2 stand-in), `POST /__sandbox/sdk/toss/payment` and `.../billing-auth` (CORS), the SDK's validation and `{code, message}` rejections |
//! | `checkout.rs` | Toss's [`window::Task`](crate::window::Task): opening a payment window (`READY`), outcomes (`IN_PROGRESS` / `ABORTED` / `EXPIRED`, `authKey`s), results and `redirectTo`, the deadline timers |
//! | `rest.rs` | the REST API under `/toss/v1/...`, Basic auth, fault refusals as `{code, message}`, `Idempotency-Key`, the deposit nudge |
//! | `drivers.rs` | `POST /__sandbox/toss/pay`, `.../billing-auth`, `.../payments/{paymentKey}/deposit` (mounted under the admin guards) |
//! | `json.rs` | the `Payment` object, the billing-key answer, Toss's time formats and key shapes |
//! | `webhook.rs` | unsigned `PAYMENT_STATUS_CHANGED` and `DEPOSIT_CALLBACK` bodies |
//! | `records.rs` | [`TossStore`](records::TossStore), Toss's maps in the shared store |
//! | `error.rs` | the `{code, message}` error and the body extractor |
//!
//! It uses the shared pieces: the store, the window, the fault guard and
//! webhook delivery. `lib.rs` mounts [`router`] and [`admin_routes`], builds
//! [`TossState`] and calls [`resume`] at start.

pub(crate) mod checkout;
mod drivers;
mod error;
mod json;
pub(crate) mod records;
mod rest;
mod sdk;
mod webhook;

use std::collections::HashSet;
use std::sync::Mutex;

use axum::Router;

use crate::store::AppState;

/// Toss's runtime state beyond the store.
#[derive(Default)]
pub(crate) struct TossState {
    /// `Idempotency-Key`s whose first request is still being handled.
    pub idempotency_in_flight: Mutex<HashSet<String>>,
}

/// The public Toss routes: the SDK stand-in (with CORS) and the REST API (auth + faults).
pub(crate) fn router(st: AppState) -> Router<AppState> {
    Router::new().merge(sdk::router()).merge(rest::router(st))
}

/// Toss's test drivers, for `admin.rs` to mount under its guards.
pub(crate) fn admin_routes() -> Router<AppState> {
    drivers::router()
}

/// Restarts Toss's background work after a restart from a state file (payment deadlines).
pub(crate) fn resume(st: &AppState) {
    checkout::resume(st);
}

/// The `toss` object of `GET /__sandbox/info`.
pub(crate) fn info(st: &AppState) -> serde_json::Value {
    let t = &st.config.toss;
    serde_json::json!({
        "clientKey": t.client_key,
        "secretKey": t.secret_key,
        "mId": t.mid(),
        "sdkUrl": "/toss/v2/standard",
        "apiBase": "/toss",
        "confirmTtlMs": t.confirm_ttl.as_millis() as u64,
        "readyTtlMs": t.ready_ttl.as_millis() as u64,
    })
}
