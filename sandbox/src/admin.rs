//! `/__sandbox/...` admin routes: loopback peers only, and every POST, PUT,
//! DELETE or PATCH must be `Content-Type: application/json` (so a web page
//! cannot drive the sandbox with a cross-site "simple" request: a JSON request
//! needs a CORS preflight, which these routes never answer positively).
//!
//! Owns the guards and the provider-neutral admin routes: reset, faults,
//! webhook log and targets, info, schedules, attempts, the ledger of every
//! provider's records (`ledger.rs`), and the state nudges
//! (virtual-account deposit, settling `PAY_PENDING`, "billing key updated").
//! These nudges act on V2's records and answer and notify in V2's shapes.
//! Provider test drivers and nudges (V2's `/__sandbox/pay`, V1's
//! `/__sandbox/v1/pay`, Toss's `/__sandbox/toss/...` with its own deposit)
//! come from the providers (`portone_v2::admin_routes`,
//! `portone_v1::admin_routes`, `toss::admin_routes`) and are mounted here
//! under the same guards. The SDK-support routes (`/__sandbox/sdk/...`, the window page) are
//! not admin routes: see `window/` and `portone_v2/sdk.rs`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::{ApiError, JsonBody};
use crate::config::Faults;
use crate::portone_v2::{self, json as v2_json, webhook as v2_webhook};
use crate::store::{lock, AppState, Status, Store};
use crate::webhook;

/// The admin routes plus `provider_routes` (providers' test drivers), all
/// behind the loopback and JSON-only guards.
pub(crate) fn router(st: AppState, provider_routes: Router<AppState>) -> Router<AppState> {
    Router::new()
        .merge(provider_routes)
        .route("/__sandbox/payments/{payment_id}/deposit", post(deposit))
        .route("/__sandbox/payments/{payment_id}/settle-pending", post(settle_pending))
        .route("/__sandbox/payments/{payment_id}/attempts", get(attempts))
        .route("/__sandbox/schedules", get(schedules))
        .route("/__sandbox/webhooks", get(webhooks))
        .route("/__sandbox/ledger", get(crate::ledger::ledger))
        .route(
            "/__sandbox/billing-keys/{billing_key}/updated",
            post(billing_key_updated),
        )
        .route("/__sandbox/schedules/run", post(run_schedules))
        .route("/__sandbox/faults", get(get_faults).put(put_faults))
        .route("/__sandbox/requests", get(requests))
        .route("/__sandbox/webhook-targets", post(webhook_targets))
        .route("/__sandbox/reset", post(reset))
        .route("/__sandbox/info", get(info))
        // The last layer runs first: loopback check, then the content type.
        .layer(axum::middleware::from_fn(json_only))
        .layer(axum::middleware::from_fn_with_state(st, loopback_only))
}

/// Refuses a state-changing request (POST, PUT, DELETE, PATCH) unless its one
/// `Content-Type` is `application/json` (parameters such as `charset` allowed;
/// the body may be empty) with 415 `UNSUPPORTED_MEDIA_TYPE`. A browser sends
/// such a request cross-origin only after a CORS preflight, and admin routes
/// send no CORS headers, so other web pages cannot reach them.
async fn json_only(req: Request, next: Next) -> Response {
    let changes_state = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::DELETE | Method::PATCH
    );
    if changes_state && !is_json(req.headers()) {
        tracing::info!(method = %req.method(), path = %req.uri().path(), "admin request refused: not JSON");
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "sandbox admin routes accept JSON only: send Content-Type: application/json \
             (an empty body is fine); this keeps other web pages from driving the sandbox",
        )
        .into_response();
    }
    next.run(req).await
}

/// Exactly one `Content-Type` header whose media type is `application/json`.
fn is_json(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    match (values.next(), values.next()) {
        (Some(v), None) => v.to_str().is_ok_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
        }),
        _ => false,
    }
}

/// Rejects peers that are not on loopback (and requests without a known peer).
/// Also refuses a `Host` that is not a loopback name: a page on a domain
/// that re-resolves to 127.0.0.1 (DNS rebinding) is same-origin for the
/// browser, but its requests carry the attacker's host name.
async fn loopback_only(State(_st): State<AppState>, req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let host_ok = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_none_or(is_loopback_host);
    match peer {
        Some(ip) if ip.is_loopback() && host_ok => next.run(req).await,
        _ => ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "sandbox admin routes are served to loopback clients, addressed by a loopback host name, only",
        )
        .into_response(),
    }
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
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
        Ok((
            p.transaction_id.clone(),
            p.notice_urls.clone(),
            v2_json::payment(p, &st.config),
        ))
    })?;
    v2_webhook::emit_transaction(&st, "Transaction.Paid", &payment_id, &tx, None, &notice);
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
            v2_json::payment(p, &st.config),
        ))
    })?;
    v2_webhook::emit_transaction(&st, kind, &payment_id, &tx, None, &notice);
    Ok(Json(json))
}

/// A V2 schedule as the admin routes show it (`GET /__sandbox/schedules`,
/// the ledger).
pub(crate) fn schedule_json(x: &crate::store::ScheduleRec) -> Value {
    json!({
        "id": x.id,
        "paymentId": x.payment_id,
        "billingKey": x.billing_key,
        "timeToPay": crate::store::ts(x.time_to_pay),
        "status": x.status,
        "totalAmount": x.total,
        "currency": x.currency,
    })
}

async fn schedules(State(st): State<AppState>) -> Json<Value> {
    let mut list: Vec<Value> = lock(&st.store).schedules.values().map(schedule_json).collect();
    list.sort_by(|a, b| a["timeToPay"].as_str().cmp(&b["timeToPay"].as_str()));
    Json(Value::Array(list))
}

async fn attempts(State(st): State<AppState>, Path(payment_id): Path<String>) -> Json<Value> {
    let attempts = lock(&st.store).attempts.get(&payment_id).copied().unwrap_or(0);
    Json(json!({ "attempts": attempts }))
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
        Ok((bk.notice_urls.clone(), v2_json::billing_key(bk, &st.config)))
    })?;
    v2_webhook::emit_billing_key(&st, "BillingKey.Updated", &billing_key, &notice);
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
        if portone_v2::rest::run_schedule(&st, &id) {
            ran.push(id);
        }
    }
    Ok(Json(json!({ "ran": ran })))
}

async fn get_faults(State(st): State<AppState>) -> Json<Faults> {
    Json(lock(&st.faults).faults.clone())
}

/// `GET /__sandbox/requests`: how many REST requests each
/// `"{METHOD} {path}"` got (e.g. `"POST /payments/p-1/cancel": 1`).
async fn requests(State(st): State<AppState>) -> Json<std::collections::BTreeMap<String, u64>> {
    Json(lock(&st.faults).requests.iter().map(|(k, v)| (k.clone(), *v)).collect())
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

/// Replaces the configured webhook URLs; each must pass the same check as
/// `noticeUrls` (loopback unless `allow_external_webhooks`).
async fn webhook_targets(State(st): State<AppState>, JsonBody(t): JsonBody<Targets>) -> Result<Json<Value>, ApiError> {
    for (i, u) in t.urls.iter().enumerate() {
        webhook::check_target(&format!("urls[{i}]"), u, st.config.allow_external_webhooks)
            .map_err(ApiError::invalid)?;
    }
    *lock(&st.webhooks.extra_urls) = Some(t.urls.clone());
    Ok(Json(json!({ "urls": t.urls })))
}

async fn reset(State(st): State<AppState>) -> Json<Value> {
    st.with_store(|s| *s = Store::default());
    *lock(&st.faults) = Default::default();
    st.webhooks.reset();
    lock(&st.toss.idempotency_in_flight).clear();
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
        "allowExternalWebhooks": c.allow_external_webhooks,
        "toss": crate::toss::info(&st),
        "v1": {
            "userCode": c.v1_user_code,
            "impKey": c.v1_imp_key,
            "impSecret": c.v1_imp_secret,
            "tokenTtlSecs": c.v1_token_ttl.as_secs(),
            "sdkUrl": "/v1/iamport.js",
            "restBase": "/iamport/",
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn only_loopback_host_names_pass() {
        for ok in ["127.0.0.1:8787", "localhost", "LOCALHOST:1", "[::1]:8787", "127.5.6.7"] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example:8787",
            "127.0.0.1.evil.example",
            "[::2]:1",
            "0.0.0.0:8787",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
