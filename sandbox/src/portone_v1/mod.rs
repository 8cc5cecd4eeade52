//! PortOne V1 (I'mport) with TossPay (`tosspay_v2`): everything that is V1's
//! and no other provider's.
//!
//! | file | owns |
//! |---|---|
//! | `sdk.rs` | `GET /v1/iamport.js` (`window.IMP`), `POST /__sandbox/v1/sdk/request-pay` (CORS), the checks before a window opens |
//! | `checkout.rs` | V1's [`window::Task`](crate::window::Task): opening a window (a new `imp_uid`), what each outcome does, billing keys by `customer_uid`, the `m_redirect_url` query |
//! | `drivers.rs` | `POST /__sandbox/v1/pay`, `POST /__sandbox/v1/schedules/run` (mounted under the admin guards) |
//! | `rest.rs` | the REST API under `/iamport/`: tokens, payments, cancels, billing charges, schedules and their timers; the `{code, message, response}` envelope, fault refusals in it |
//! | `json.rs` | the REST `Payment`, `Customer` and schedule bodies, the SDK callback object |
//! | `params.rs` | reading request fields (SDK params and REST bodies) |
//! | `records.rs` | V1's records, kept in their own maps (`Store::v1`) |
//! | `webhook.rs` | the unsigned `{imp_uid, merchant_uid, status}` notification |
//!
//! It uses the shared pieces: the store, the window, the fault guard and
//! webhook delivery. `lib.rs` mounts [`router`] and [`admin_routes`] and
//! calls [`resume`] at start.

pub(crate) mod checkout;
mod drivers;
mod json;
mod params;
pub(crate) mod records;
mod rest;
mod sdk;
mod webhook;

use axum::Router;

use crate::store::AppState;

/// The public V1 routes: the SDK stand-in (with CORS) and the REST API under `/iamport/`.
pub(crate) fn router(st: AppState) -> Router<AppState> {
    Router::new().merge(sdk::router()).merge(rest::router(st))
}

/// V1's test drivers, for `admin.rs` to mount under its guards.
pub(crate) fn admin_routes() -> Router<AppState> {
    drivers::router()
}

/// Restarts V1's background work after a restart from a state file (schedule timers).
pub(crate) fn resume(st: &AppState) {
    rest::resume_schedules(st);
}
