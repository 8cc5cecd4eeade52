//! Test drivers that run a whole PortOne V2 checkout without a browser:
//! `POST /__sandbox/pay` and `POST /__sandbox/issue-billing-key` take an SDK
//! request and an outcome, validate like the SDK routes, open the window and
//! finish it at once, answering with the SDK result. Mounted by `admin.rs`
//! (loopback peers, JSON only) through `portone_v2::admin_routes`.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::checkout;
use super::sdk::{invalid, validate_billing, validate_payment, SdkError, SdkJson};
use crate::store::AppState;
use crate::window::{self, Outcome};

/// The driver routes (without the admin guards, which `admin.rs` adds).
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/__sandbox/pay", post(drive_pay))
        .route("/__sandbox/issue-billing-key", post(drive_billing))
}

/// Driver body for `/__sandbox/pay` and `/__sandbox/issue-billing-key`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DriveBody {
    request: Value,
    outcome: String,
    #[serde(default)]
    bypass_pre_registration: bool,
    user_agent: Option<String>,
}

fn check_outcome(o: &str) -> Result<Outcome, SdkError> {
    Outcome::parse_choice(o).ok_or_else(|| {
        invalid(format!(
            "outcome `{o}` is not approve, decline, cancel, virtualAccount or payPending"
        ))
    })
}

/// `POST /__sandbox/pay`: a whole checkout without a browser.
async fn drive_pay(State(st): State<AppState>, SdkJson(body): SdkJson<DriveBody>) -> Result<Json<Value>, SdkError> {
    let outcome = check_outcome(&body.outcome)?;
    let ua = body.user_agent.unwrap_or_default();
    let plan = validate_payment(&st, &body.request, &ua, None, body.bypass_pre_registration)?;
    let session = checkout::open_payment(&st, plan);
    let (result, _) = window::complete(&st, &session.id, outcome).unwrap_or((Value::Null, None));
    Ok(Json(result))
}

/// `POST /__sandbox/issue-billing-key`: a billing-key issue without a browser.
async fn drive_billing(State(st): State<AppState>, SdkJson(body): SdkJson<DriveBody>) -> Result<Json<Value>, SdkError> {
    let outcome = check_outcome(&body.outcome)?;
    let ua = body.user_agent.unwrap_or_default();
    let session = validate_billing(&st, &body.request, &ua, None)?;
    let session = window::open(&st, session);
    let (result, _) = window::complete(&st, &session.id, outcome).unwrap_or((Value::Null, None));
    Ok(Json(result))
}
