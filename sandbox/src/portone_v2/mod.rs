//! PortOne V2: everything that is V2's and no other provider's.
//!
//! | file | owns |
//! |---|---|
//! | `sdk.rs` | `GET /v2/browser-sdk.js`, `POST /__sandbox/sdk/payment` and `.../issue-billing-key` (CORS), the SDK's request validation and `{code, message}` rejections |
//! | `checkout.rs` | V2's [`window::Task`](crate::window::Task): opening a payment window, what each outcome does, SDK results, the `redirectUrl` query |
//! | `drivers.rs` | `POST /__sandbox/pay`, `POST /__sandbox/issue-billing-key` (mounted under the admin guards) |
//! | `rest.rs` | the REST API (`/payments/...`, `/billing-keys/...`), its auth, its rendering of fault refusals, schedule timers |
//! | `json.rs` | the REST bodies of payments, billing keys and cancellations |
//! | `webhook.rs` | 2024-04-25 webhook bodies, Standard Webhooks signing |
//!
//! It uses the shared pieces: the store, the window, the fault guard and
//! webhook delivery. `lib.rs` mounts [`router`] and [`admin_routes`], builds
//! [`V2State`] and calls [`resume`] at start.

pub(crate) mod checkout;
mod drivers;
pub(crate) mod json;
pub(crate) mod rest;
mod sdk;
pub(crate) mod webhook;

use axum::Router;

use crate::config::SandboxConfig;
use crate::store::AppState;

/// V2's runtime state beyond the store.
pub(crate) struct V2State {
    /// The decoded Standard Webhooks key (`webhook_secret` without `whsec_`).
    pub webhook_key: Vec<u8>,
}

impl V2State {
    /// Fails if `webhook_secret` is not `whsec_<base64>`.
    pub fn new(config: &SandboxConfig) -> anyhow::Result<Self> {
        Ok(V2State {
            webhook_key: webhook::decode_secret(&config.webhook_secret)?,
        })
    }
}

/// The public V2 routes: the SDK stand-in (with CORS) and the REST API (auth + faults).
pub(crate) fn router(st: AppState) -> Router<AppState> {
    Router::new().merge(sdk::router()).merge(rest::router(st))
}

/// V2's test drivers, for `admin.rs` to mount under its guards.
pub(crate) fn admin_routes() -> Router<AppState> {
    drivers::router()
}

/// Restarts V2's background work after a restart from a state file (schedule timers).
pub(crate) fn resume(st: &AppState) {
    rest::resume_schedules(st);
}
