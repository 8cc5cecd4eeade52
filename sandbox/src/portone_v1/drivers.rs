//! Test drivers for PortOne V1 without a browser, mounted by `admin.rs`
//! (loopback peers, JSON only) through `portone_v1::admin_routes`:
//! `POST /__sandbox/v1/pay` runs a whole `IMP.request_pay` (payment or, with
//! `customer_uid`, billing key) and answers the callback object;
//! `POST /__sandbox/v1/schedules/run` charges due (or all) V1 schedules now.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::checkout;
use super::rest::run_schedule;
use super::sdk::{validate, Request, SdkJson, SdkRefusal};
use crate::store::{lock, AppState};
use crate::window::{self, Outcome};

/// The driver routes (without the admin guards, which `admin.rs` adds).
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/__sandbox/v1/pay", post(drive_pay))
        .route("/__sandbox/v1/schedules/run", post(run_schedules))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DriveBody {
    params: Value,
    outcome: String,
    /// Defaults to the configured user code (as if `IMP.init` was called with it).
    user_code: Option<String>,
    user_agent: Option<String>,
    #[serde(default)]
    bypass_prepare: bool,
}

/// `POST /__sandbox/v1/pay`: validates like `request_pay`, opens the window
/// and finishes it with `outcome` at once. 200 with the callback object
/// (plus `redirectTo` when a mobile user agent made it a redirect window),
/// or 400 with the refused callback object (`imp_uid: null`).
async fn drive_pay(State(st): State<AppState>, SdkJson(body): SdkJson<DriveBody>) -> Result<Json<Value>, SdkRefusal> {
    let merchant_uid = body
        .params
        .get("merchant_uid")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let outcome = match body.outcome.as_str() {
        o @ ("approve" | "decline" | "cancel") => Outcome::parse_choice(o),
        _ => None,
    }
    .ok_or_else(|| SdkRefusal {
        code: "INVALID_PARAMETER",
        message: format!("outcome `{}` is not approve, decline or cancel", body.outcome),
        merchant_uid,
    })?;
    let user_code = body.user_code.unwrap_or_else(|| st.config.v1_user_code.clone());
    let ua = body.user_agent.unwrap_or_default();
    let plan = validate(
        &st,
        &Request {
            user_code: Some(&user_code),
            params: &body.params,
            user_agent: &ua,
            sdk_outcome: None,
            bypass_prepare: body.bypass_prepare,
        },
    )?;
    let session = checkout::open(&st, plan);
    let (mut result, redirect_to) = window::complete(&st, &session.id, outcome).unwrap_or((Value::Null, None));
    if let Some(to) = redirect_to {
        result["redirectTo"] = to.into();
    }
    Ok(Json(result))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RunSchedules {
    all: bool,
}

/// `POST /__sandbox/v1/schedules/run` (`{"all": true}` also runs future ones)
/// -> `{ran: [merchant_uid, ...]}`.
async fn run_schedules(State(st): State<AppState>, body: axum::body::Bytes) -> Result<Json<Value>, SdkRefusal> {
    let opts: RunSchedules = if body.is_empty() {
        RunSchedules::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| SdkRefusal {
            code: "INVALID_PARAMETER",
            message: format!("invalid body: {e}"),
            merchant_uid: None,
        })?
    };
    let now = Utc::now();
    let mut due: Vec<(chrono::DateTime<Utc>, String)> = lock(&st.store)
        .v1
        .schedules
        .values()
        .filter(|x| x.status == "scheduled" && (opts.all || x.schedule_at <= now))
        .map(|x| (x.schedule_at, x.merchant_uid.clone()))
        .collect();
    due.sort();
    let ran: Vec<String> = due
        .into_iter()
        .filter(|(_, m)| run_schedule(&st, m))
        .map(|(_, m)| m)
        .collect();
    Ok(Json(json!({ "ran": ran })))
}
