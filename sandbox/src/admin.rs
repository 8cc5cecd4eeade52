//! `/__sandbox/...` admin routes (loopback peers only) and the SDK-support routes.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::checkout;
use crate::config::Faults;
use crate::rest::{self, JsonBody};
use crate::store::{lock, ApiError, AppState, Status, Store};
use crate::webhook;

pub(crate) fn router(st: AppState) -> Router<AppState> {
    Router::new()
        .route("/__sandbox/pay", post(checkout::drive_pay))
        .route("/__sandbox/issue-billing-key", post(checkout::drive_billing))
        .route("/__sandbox/payments/{payment_id}/deposit", post(deposit))
        .route("/__sandbox/payments/{payment_id}/settle-pending", post(settle_pending))
        .route("/__sandbox/payments/{payment_id}/attempts", get(attempts))
        .route("/__sandbox/schedules", get(schedules))
        .route("/__sandbox/webhooks", get(webhooks))
        .route(
            "/__sandbox/billing-keys/{billing_key}/updated",
            post(billing_key_updated),
        )
        .route("/__sandbox/schedules/run", post(run_schedules))
        .route("/__sandbox/faults", get(get_faults).put(put_faults))
        .route("/__sandbox/webhook-targets", post(webhook_targets))
        .route("/__sandbox/reset", post(reset))
        .route("/__sandbox/info", get(info))
        .layer(axum::middleware::from_fn_with_state(st, loopback_only))
}

/// Rejects peers that are not on loopback (and requests without a known peer).
async fn loopback_only(State(_st): State<AppState>, req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    match peer {
        Some(ip) if ip.is_loopback() => next.run(req).await,
        _ => ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "sandbox admin routes are served to loopback clients only",
        )
        .into_response(),
    }
}

async fn deposit(State(st): State<AppState>, Path(payment_id): Path<String>) -> Result<Json<Value>, ApiError> {
    let now = Utc::now();
    let (tx, notice, json) = st.with_store(|s| {
        let p = s
            .payments
            .get_mut(&payment_id)
            .ok_or_else(ApiError::payment_not_found)?;
        if p.status != Status::VirtualAccountIssued {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "PAYMENT_NOT_WAITING_FOR_DEPOSIT",
                "결제 건이 입금 대기 상태가 아닙니다.",
            ));
        }
        p.set_status(Status::Paid, now);
        p.paid_at = Some(now);
        Ok((p.transaction_id.clone(), p.notice_urls.clone(), p.to_json(&st.config)))
    })?;
    webhook::emit_transaction(&st, "Transaction.Paid", &payment_id, &tx, None, &notice);
    Ok(Json(json))
}

#[derive(Deserialize)]
struct SettleBody {
    outcome: String,
}

/// `PAY_PENDING` -> `PAID` (`approve`) or `FAILED` (`decline`).
async fn settle_pending(
    State(st): State<AppState>,
    Path(payment_id): Path<String>,
    JsonBody(body): JsonBody<SettleBody>,
) -> Result<Json<Value>, ApiError> {
    let approve = match body.outcome.as_str() {
        "approve" => true,
        "decline" => false,
        _ => return Err(ApiError::invalid("outcome must be approve or decline")),
    };
    let now = Utc::now();
    let (kind, tx, notice, json) = st.with_store(|s| {
        let p = s
            .payments
            .get_mut(&payment_id)
            .ok_or_else(ApiError::payment_not_found)?;
        if p.status != Status::PayPending {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "PAYMENT_NOT_PAY_PENDING",
                "결제 건이 승인 대기(PAY_PENDING) 상태가 아닙니다.",
            ));
        }
        let kind = if approve {
            p.set_status(Status::Paid, now);
            p.paid_at = Some(now);
            "Transaction.Paid"
        } else {
            p.set_status(Status::Failed, now);
            p.failed_at = Some(now);
            p.failure = Some((
                "잔액이 부족합니다.".into(),
                "INSUFFICIENT_BALANCE".into(),
                "잔액이 부족합니다.".into(),
            ));
            "Transaction.Failed"
        };
        Ok((
            kind,
            p.transaction_id.clone(),
            p.notice_urls.clone(),
            p.to_json(&st.config),
        ))
    })?;
    webhook::emit_transaction(&st, kind, &payment_id, &tx, None, &notice);
    Ok(Json(json))
}

async fn schedules(State(st): State<AppState>) -> Json<Value> {
    let mut list: Vec<Value> = lock(&st.store)
        .schedules
        .values()
        .map(|x| {
            json!({
                "id": x.id,
                "paymentId": x.payment_id,
                "billingKey": x.billing_key,
                "timeToPay": crate::store::ts(x.time_to_pay),
                "status": x.status,
                "totalAmount": x.total,
                "currency": x.currency,
            })
        })
        .collect();
    list.sort_by(|a, b| a["timeToPay"].as_str().cmp(&b["timeToPay"].as_str()));
    Json(Value::Array(list))
}

async fn attempts(State(st): State<AppState>, Path(payment_id): Path<String>) -> Json<Value> {
    Json(json!({ "attempts": checkout::attempts(&st, &payment_id) }))
}

async fn webhooks(State(st): State<AppState>) -> Json<Value> {
    let d = lock(&st.webhooks.deliveries).clone();
    Json(serde_json::to_value(d).unwrap_or(Value::Null))
}

async fn billing_key_updated(
    State(st): State<AppState>,
    Path(billing_key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (notice, json) = st.with_store(|s| {
        let bk = s
            .billing_keys
            .get_mut(&billing_key)
            .ok_or_else(ApiError::billing_key_not_found)?;
        if bk.deleted_at.is_some() {
            return Err(ApiError::billing_key_deleted());
        }
        bk.revision += 1;
        Ok((bk.notice_urls.clone(), bk.to_json(&st.config)))
    })?;
    webhook::emit_billing_key(&st, "BillingKey.Updated", &billing_key, &notice);
    Ok(Json(json))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RunSchedules {
    all: bool,
}

async fn run_schedules(State(st): State<AppState>, body: axum::body::Bytes) -> Result<Json<Value>, ApiError> {
    let opts: RunSchedules = if body.is_empty() {
        RunSchedules::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid(format!("invalid body: {e}")))?
    };
    let now = Utc::now();
    let due: Vec<String> = lock(&st.store)
        .schedules
        .values()
        .filter(|x| x.status == "SCHEDULED" && (opts.all || x.time_to_pay <= now))
        .map(|x| x.id.clone())
        .collect();
    let mut ran = Vec::new();
    for id in due {
        if rest::run_schedule(&st, &id) {
            ran.push(id);
        }
    }
    Ok(Json(json!({ "ran": ran })))
}

async fn get_faults(State(st): State<AppState>) -> Json<Faults> {
    Json(lock(&st.faults).faults.clone())
}

async fn put_faults(State(st): State<AppState>, JsonBody(faults): JsonBody<Faults>) -> Result<Json<Faults>, ApiError> {
    if !(0.0..=1.0).contains(&faults.error_rate) {
        return Err(ApiError::invalid("errorRate must be between 0 and 1"));
    }
    let mut f = lock(&st.faults);
    f.faults = faults.clone();
    f.last_seen.clear();
    tracing::info!(?faults, "faults replaced");
    Ok(Json(faults))
}

#[derive(Deserialize)]
struct Targets {
    urls: Vec<String>,
}

async fn webhook_targets(State(st): State<AppState>, JsonBody(t): JsonBody<Targets>) -> Json<Value> {
    *lock(&st.webhooks.extra_urls) = Some(t.urls.clone());
    Json(json!({ "urls": t.urls }))
}

async fn reset(State(st): State<AppState>) -> Json<Value> {
    st.with_store(|s| *s = Store::default());
    *lock(&st.faults) = Default::default();
    st.webhooks.reset();
    tracing::info!("sandbox state and faults reset");
    Json(json!({}))
}

async fn info(State(st): State<AppState>) -> Json<Value> {
    let c = &st.config;
    Json(json!({
        "storeId": c.store_id,
        "merchantId": c.merchant_id,
        "apiSecret": c.api_secret,
        "webhookSecret": c.webhook_secret,
        "channels": c.channels,
        "webhookUrls": c.webhook_urls,
    }))
}
