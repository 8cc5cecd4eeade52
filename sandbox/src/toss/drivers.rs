//! Test drivers for Toss Payments without a browser, mounted by `admin.rs`
//! (loopback peers, JSON only) through `toss::admin_routes`:
//!
//! - `POST /__sandbox/toss/pay {request, clientKey?, customerKey?, outcome, userAgent?}`:
//!   validates like `requestPayment`, opens the window and finishes it with
//!   `outcome`, answering what the promise would resolve/reject with or the
//!   success/fail redirect would carry (plus `redirectTo` when URLs were given);
//! - `POST /__sandbox/toss/billing-auth {request, clientKey?, customerKey, outcome, userAgent?}`:
//!   the same for `requestBillingAuth` (`{authKey, customerKey, redirectTo}`);
//! - `POST /__sandbox/toss/payments/{paymentKey}/deposit`: the buyer pays a
//!   virtual account (`DONE`, `PAYMENT_STATUS_CHANGED`, `DEPOSIT_CALLBACK`).
//!
//! Errors are Toss's `{code, message}`: 400 where the SDK would have rejected.

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::checkout;
use super::error::{TossError, TossJson};
use super::rest;
use super::sdk::{validate_billing_auth, validate_payment, ANONYMOUS};
use crate::store::AppState;
use crate::window::{self, Outcome};

/// The driver routes (without the admin guards, which `admin.rs` adds).
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/__sandbox/toss/pay", post(drive_pay))
        .route("/__sandbox/toss/billing-auth", post(drive_billing_auth))
        .route("/__sandbox/toss/payments/{payment_key}/deposit", post(deposit))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DriveBody {
    request: Value,
    outcome: String,
    client_key: Option<String>,
    customer_key: Option<String>,
    user_agent: Option<String>,
}

fn check_outcome(o: &str) -> Result<Outcome, TossError> {
    Outcome::parse_choice(o).ok_or_else(|| {
        TossError::sdk(
            "INVALID_PARAMETERS",
            format!("outcome `{o}` is not approve, decline, cancel or virtualAccount"),
        )
    })
}

/// `POST /__sandbox/toss/pay`.
async fn drive_pay(State(st): State<AppState>, TossJson(body): TossJson<DriveBody>) -> Result<Json<Value>, TossError> {
    let outcome = check_outcome(&body.outcome)?;
    let client_key = body.client_key.unwrap_or_else(|| st.config.toss.client_key.clone());
    let customer_key = body.customer_key.unwrap_or_else(|| ANONYMOUS.to_owned());
    let ua = body.user_agent.unwrap_or_default();
    let plan = validate_payment(&st, &client_key, &customer_key, &body.request, &ua, None)?;
    let session = checkout::open_payment(&st, plan);
    let (result, _) = window::complete(&st, &session.id, outcome).unwrap_or((Value::Null, None));
    Ok(Json(result))
}

/// `POST /__sandbox/toss/billing-auth`.
async fn drive_billing_auth(
    State(st): State<AppState>,
    TossJson(body): TossJson<DriveBody>,
) -> Result<Json<Value>, TossError> {
    let outcome = check_outcome(&body.outcome)?;
    let client_key = body.client_key.unwrap_or_else(|| st.config.toss.client_key.clone());
    let customer_key = body.customer_key.unwrap_or_default();
    let ua = body.user_agent.unwrap_or_default();
    let session = validate_billing_auth(&st, &client_key, &customer_key, &body.request, &ua, None)?;
    let session = window::open(&st, session);
    let (result, _) = window::complete(&st, &session.id, outcome).unwrap_or((Value::Null, None));
    Ok(Json(result))
}

/// `POST /__sandbox/toss/payments/{paymentKey}/deposit`.
async fn deposit(State(st): State<AppState>, Path(key): Path<String>) -> Result<Json<Value>, TossError> {
    rest::deposit(&st, &key).map(Json)
}
