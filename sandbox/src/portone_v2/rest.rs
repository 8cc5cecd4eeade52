//! PortOne V2's REST API: `GET /payments/{id}`, `POST /payments/{id}/pre-register`,
//! `.../cancel`, `.../billing-key` (charge a billing key), `.../schedule`, and
//! `GET`/`DELETE /billing-keys/{key}`, plus the schedule timers behind
//! `.../schedule` (resumed at start, run early by `POST /__sandbox/schedules/run`).
//!
//! Every route first checks V2's `Authorization: PortOne <API secret>` (401
//! `UNAUTHORIZED`), then goes through the shared fault guard (`faults.rs`),
//! whose refusals are rendered here in V2's `{type, message}` shape.

use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{json as views, webhook};
use crate::api::{ApiError, JsonBody};
use crate::faults::{self, Refusal};
use crate::store::{
    lock, new_id, ts, AppState, CancellationRec, PaymentRec, PreRegistration, ScheduleRec, Status, Store,
};
use crate::webhook::check_target;

pub(super) fn router(st: AppState) -> Router<AppState> {
    Router::new()
        .route("/payments/{payment_id}", get(get_payment))
        .route("/payments/{payment_id}/pre-register", post(pre_register))
        .route("/payments/{payment_id}/cancel", post(cancel))
        .route("/payments/{payment_id}/billing-key", post(pay_with_billing_key))
        .route("/payments/{payment_id}/schedule", post(create_schedule))
        .route(
            "/billing-keys/{billing_key}",
            get(get_billing_key).delete(delete_billing_key),
        )
        // The last layer runs first: auth, then the faults, then the handler.
        .layer(from_fn_with_state(
            faults::Guard::new(st.clone(), render_refusal),
            faults::guard,
        ))
        .layer(from_fn_with_state(st, auth))
}

/// `Authorization: PortOne <API secret>`, else 401 `UNAUTHORIZED`.
async fn auth(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let expected = format!("PortOne {}", st.config.api_secret);
    let authorized = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    if !authorized {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "인증 정보가 올바르지 않습니다. (Authorization: PortOne <API secret>)",
        )
        .into_response();
    }
    next.run(req).await
}

/// The fault guard's refusals as V2 answers them.
fn render_refusal(r: Refusal) -> Response {
    match r {
        Refusal::ServerError => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "sandbox fault injection: simulated server error",
        ),
        Refusal::ConsecutiveRequest => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "FORBIDDEN_CONSECUTIVE_REQUEST",
            "같은 요청이 너무 빠르게 반복되었습니다. 1초 후 다시 시도하세요.",
        ),
    }
    .into_response()
}

fn check_store(st: &AppState, store_id: Option<&str>) -> Result<(), ApiError> {
    match store_id {
        Some(s) if s != st.config.store_id => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            format!("상점 아이디 {s} 에 접근할 권한이 없습니다."),
        )),
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoreQuery {
    store_id: Option<String>,
}

async fn get_payment(
    State(st): State<AppState>,
    Path(payment_id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<StoreQuery>,
) -> Result<Json<Value>, ApiError> {
    check_store(&st, q.store_id.as_deref())?;
    let s = lock(&st.store);
    let p = s.payments.get(&payment_id).ok_or_else(ApiError::payment_not_found)?;
    Ok(Json(views::payment(p, &st.config)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PreRegisterBody {
    store_id: Option<String>,
    total_amount: Option<i64>,
    tax_free_amount: Option<i64>,
    currency: Option<String>,
}

async fn pre_register(
    State(st): State<AppState>,
    Path(payment_id): Path<String>,
    JsonBody(body): JsonBody<PreRegisterBody>,
) -> Result<Json<Value>, ApiError> {
    check_store(&st, body.store_id.as_deref())?;
    if body.total_amount.is_some_and(|a| a < 0) || body.tax_free_amount.is_some_and(|a| a < 0) {
        return Err(ApiError::invalid("amounts must not be negative"));
    }
    st.with_store(|s| {
        if s.payments.get(&payment_id).is_some_and(|p| p.status.was_paid()) {
            return Err(ApiError::already_paid());
        }
        s.pre_registrations.insert(
            payment_id.clone(),
            PreRegistration {
                total_amount: body.total_amount,
                tax_free_amount: body.tax_free_amount,
                currency: body.currency.clone(),
            },
        );
        Ok(())
    })?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CancelBody {
    store_id: Option<String>,
    amount: Option<i64>,
    tax_free_amount: Option<i64>,
    vat_amount: Option<i64>,
    reason: String,
    current_cancellable_amount: Option<i64>,
    #[serde(default)]
    skip_webhook: bool,
}

async fn cancel(
    State(st): State<AppState>,
    Path(payment_id): Path<String>,
    JsonBody(body): JsonBody<CancelBody>,
) -> Result<Json<Value>, ApiError> {
    check_store(&st, body.store_id.as_deref())?;
    if body.amount.is_some_and(|a| a <= 0) {
        return Err(ApiError::invalid("amount must be positive"));
    }
    if body.tax_free_amount.is_some_and(|a| a < 0) {
        return Err(ApiError::invalid("taxFreeAmount must not be negative"));
    }
    let now = Utc::now();
    let (cancellation, kind, tx, notice) = st.with_store(|s| {
        let p = s
            .payments
            .get_mut(&payment_id)
            .ok_or_else(ApiError::payment_not_found)?;
        match p.status {
            Status::Paid | Status::PartialCancelled => {}
            Status::Cancelled => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "PAYMENT_ALREADY_CANCELLED",
                    "결제가 이미 취소되었습니다.",
                ))
            }
            _ => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "PAYMENT_NOT_PAID",
                    "결제가 완료되지 않았습니다.",
                ))
            }
        }
        let cancellable = p.total - p.cancelled_total();
        if let Some(expected) = body.current_cancellable_amount {
            if expected != cancellable {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN",
                    format!("취소 가능 금액이 일치하지 않습니다. (요청 {expected}, 실제 {cancellable})"),
                ));
            }
        }
        let amount = body.amount.unwrap_or(cancellable);
        if amount > cancellable {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT",
                format!("취소 금액이 취소 가능 금액을 초과합니다. (요청 {amount}, 가능 {cancellable})"),
            ));
        }
        let tax_free_left = p.tax_free - p.cancelled_tax_free();
        let tax_free = match body.tax_free_amount {
            Some(t) => t,
            None if body.amount.is_none() => tax_free_left,
            None => 0,
        };
        if tax_free > tax_free_left || tax_free > amount {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT",
                "면세 취소 금액이 취소 가능한 면세 금액을 초과합니다.",
            ));
        }
        let vat = body.vat_amount.unwrap_or((amount - tax_free) / 11);
        let c = CancellationRec {
            id: new_id("cancellation"),
            pg_cancellation_id: new_id("pgcancel"),
            total_amount: amount,
            tax_free_amount: tax_free,
            vat_amount: vat,
            reason: body.reason.clone(),
            requested_at: now,
            cancelled_at: now,
        };
        p.cancellations.push(c.clone());
        let full = p.cancelled_total() >= p.total;
        let (status, kind) = if full {
            (Status::Cancelled, "Transaction.Cancelled")
        } else {
            (Status::PartialCancelled, "Transaction.PartialCancelled")
        };
        p.set_status(status, now);
        p.cancelled_at = Some(now);
        Ok((c, kind, p.transaction_id.clone(), p.notice_urls.clone()))
    })?;
    if !body.skip_webhook {
        webhook::emit_transaction(&st, kind, &payment_id, &tx, Some(&cancellation.id), &notice);
    }
    Ok(Json(json!({ "cancellation": views::cancellation(&cancellation) })))
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct SeparatedName {
    first: String,
    last: String,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct CustomerName {
    full: Option<String>,
    separated: Option<SeparatedName>,
}

#[derive(Deserialize, Clone, Default)]
#[serde(rename_all = "camelCase")]
struct CustomerInput {
    id: Option<String>,
    name: Option<CustomerName>,
    email: Option<String>,
    phone_number: Option<String>,
    birth_year: Option<String>,
    birth_month: Option<String>,
    birth_day: Option<String>,
    gender: Option<String>,
    zipcode: Option<String>,
}

impl CustomerInput {
    fn name(&self) -> Option<String> {
        let n = self.name.as_ref()?;
        if let Some(f) = n.full.as_ref().filter(|f| !f.trim().is_empty()) {
            return Some(f.clone());
        }
        n.separated
            .as_ref()
            .filter(|s| !s.first.trim().is_empty() || !s.last.trim().is_empty())
            .map(|s| format!("{} {}", s.first, s.last).trim().to_owned())
    }

    /// The output `Customer` object.
    fn to_json(&self) -> Value {
        let mut o = serde_json::Map::new();
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                o.insert(k.into(), v.clone().into());
            }
        };
        put("id", &self.id);
        put("name", &self.name());
        put("email", &self.email);
        put("phoneNumber", &self.phone_number);
        put("birthYear", &self.birth_year);
        put("birthMonth", &self.birth_month);
        put("birthDay", &self.birth_day);
        put("gender", &self.gender);
        put("zipcode", &self.zipcode);
        Value::Object(o)
    }
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct AmountInput {
    total: i64,
    tax_free: Option<i64>,
    vat: Option<i64>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct BillingKeyPaymentInput {
    store_id: Option<String>,
    billing_key: String,
    order_name: String,
    customer: Option<CustomerInput>,
    custom_data: Option<String>,
    amount: AmountInput,
    currency: String,
    notice_urls: Option<Vec<String>>,
}

/// Checks a caller's `noticeUrls` (named `{field}[i]` in errors): http(s),
/// loopback only unless the sandbox allows external webhooks.
fn check_notice_urls(st: &AppState, field: &str, urls: Option<&[String]>) -> Result<(), ApiError> {
    for (i, u) in urls.unwrap_or_default().iter().enumerate() {
        check_target(&format!("{field}[{i}]"), u, st.config.allow_external_webhooks).map_err(ApiError::invalid)?;
    }
    Ok(())
}

/// Validates a billing-key payment input against the billing key (shared by
/// immediate charges and schedules). Returns the channel key of the billing key.
fn check_billing_input(st: &AppState, input: &BillingKeyPaymentInput) -> Result<String, ApiError> {
    check_store(st, input.store_id.as_deref())?;
    if input.order_name.trim().is_empty() {
        return Err(ApiError::invalid("orderName must not be empty"));
    }
    if input.amount.total <= 0 {
        return Err(ApiError::invalid("amount.total must be positive"));
    }
    if input.amount.tax_free.is_some_and(|t| t < 0 || t > input.amount.total) {
        return Err(ApiError::invalid("amount.taxFree must be between 0 and amount.total"));
    }
    if input.currency.trim().is_empty() {
        return Err(ApiError::invalid("currency must not be empty"));
    }
    let s = lock(&st.store);
    let bk = s
        .billing_keys
        .get(&input.billing_key)
        .ok_or_else(ApiError::billing_key_not_found)?;
    if bk.deleted_at.is_some() {
        return Err(ApiError::billing_key_deleted());
    }
    let channel = st
        .config
        .channel(&bk.channel_key)
        .ok_or_else(|| ApiError::invalid("the billing key's channel no longer exists"))?;
    if channel.is_tosspay() && input.customer.as_ref().and_then(|c| c.name()).is_none() {
        return Err(ApiError::invalid(
            "토스페이 빌링키 결제에는 customer.name (full 또는 separated) 이 필요합니다.",
        ));
    }
    Ok(bk.channel_key.clone())
}

/// Charges a billing key: creates the payment PAID (or FAILED on the
/// `pgFailNext` fault) and emits the webhook.
fn charge(
    st: &AppState,
    payment_id: &str,
    input: &BillingKeyPaymentInput,
    channel_key: String,
    schedule_id: Option<String>,
) -> Result<(String, DateTime<Utc>), ApiError> {
    let now = Utc::now();
    let decline = faults::take_pg_failure(st);
    let customer = input.customer.clone().unwrap_or_default().to_json();
    let mut notice = input.notice_urls.clone().unwrap_or_default();
    let (tx, pg_tx) = st.with_store(|s| {
        if s.payments.get(payment_id).is_some_and(|p| p.status.was_paid()) {
            return Err(ApiError::already_paid());
        }
        if let Some(bk) = s.billing_keys.get(&input.billing_key) {
            for u in &bk.notice_urls {
                if !notice.contains(u) {
                    notice.push(u.clone());
                }
            }
        }
        let tx = new_id("tx");
        let pg_tx = new_id("pgtx");
        let mut p = PaymentRec {
            id: payment_id.to_owned(),
            transaction_id: tx.clone(),
            store_id: st.config.store_id.clone(),
            channel_key,
            status: Status::Paid,
            pay_method: lock_method(s, &input.billing_key),
            order_name: input.order_name.clone(),
            currency: input.currency.clone(),
            total: input.amount.total,
            tax_free: input.amount.tax_free.unwrap_or(0),
            vat: input.amount.vat,
            customer,
            custom_data: input.custom_data.clone(),
            billing_key: Some(input.billing_key.clone()),
            schedule_id: schedule_id.clone(),
            notice_urls: notice.clone(),
            requested_at: now,
            updated_at: now,
            status_changed_at: now,
            paid_at: Some(now),
            failed_at: None,
            failure: None,
            pg_tx_id: Some(pg_tx.clone()),
            cancellations: Vec::new(),
            cancelled_at: None,
            virtual_account: None,
        };
        if decline {
            p.status = Status::Failed;
            p.paid_at = None;
            p.failed_at = Some(now);
            p.failure = Some((
                "PG사에서 결제를 거절했습니다.".into(),
                "INSUFFICIENT_BALANCE".into(),
                "잔액이 부족합니다.".into(),
            ));
        }
        s.payments.insert(payment_id.to_owned(), p);
        Ok((tx, pg_tx))
    })?;
    if decline {
        webhook::emit_transaction(st, "Transaction.Failed", payment_id, &tx, None, &notice);
        let mut e = ApiError::new(StatusCode::BAD_GATEWAY, "PG_PROVIDER", "PG사에서 오류가 발생했습니다.");
        e.pg = Some(("INSUFFICIENT_BALANCE".into(), "잔액이 부족합니다.".into()));
        return Err(e);
    }
    webhook::emit_transaction(st, "Transaction.Paid", payment_id, &tx, None, &notice);
    Ok((pg_tx, now))
}

fn lock_method(s: &Store, billing_key: &str) -> String {
    s.billing_keys
        .get(billing_key)
        .map(|b| b.method.clone())
        .unwrap_or_else(|| "CARD".into())
}

async fn pay_with_billing_key(
    State(st): State<AppState>,
    Path(payment_id): Path<String>,
    JsonBody(input): JsonBody<BillingKeyPaymentInput>,
) -> Result<Json<Value>, ApiError> {
    check_notice_urls(&st, "noticeUrls", input.notice_urls.as_deref())?;
    let channel_key = check_billing_input(&st, &input)?;
    let (pg_tx, paid_at) = charge(&st, &payment_id, &input, channel_key, None)?;
    Ok(Json(json!({ "payment": { "pgTxId": pg_tx, "paidAt": ts(paid_at) } })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScheduleBody {
    payment: BillingKeyPaymentInput,
    time_to_pay: String,
}

async fn create_schedule(
    State(st): State<AppState>,
    Path(payment_id): Path<String>,
    JsonBody(body): JsonBody<ScheduleBody>,
) -> Result<Json<Value>, ApiError> {
    check_notice_urls(&st, "payment.noticeUrls", body.payment.notice_urls.as_deref())?;
    check_billing_input(&st, &body.payment)?;
    let time_to_pay = DateTime::parse_from_rfc3339(&body.time_to_pay)
        .map_err(|e| ApiError::invalid(format!("timeToPay is not RFC 3339: {e}")))?
        .with_timezone(&Utc);
    let input = body.payment;
    let sched = st.with_store(|s| {
        if s.payments.get(&payment_id).is_some_and(|p| p.status.was_paid()) {
            return Err(ApiError::already_paid());
        }
        if s.schedules
            .values()
            .any(|x| x.payment_id == payment_id && x.status == "SCHEDULED")
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "PAYMENT_SCHEDULE_ALREADY_EXISTS",
                "결제 예약건이 이미 존재합니다.",
            ));
        }
        let rec = ScheduleRec {
            id: new_id("schedule"),
            payment_id: payment_id.clone(),
            billing_key: input.billing_key.clone(),
            order_name: input.order_name.clone(),
            customer: serde_json::to_value(RawCustomer::from(&input.customer)).unwrap_or(Value::Null),
            custom_data: input.custom_data.clone(),
            total: input.amount.total,
            tax_free: input.amount.tax_free.unwrap_or(0),
            currency: input.currency.clone(),
            notice_urls: input.notice_urls.clone().unwrap_or_default(),
            time_to_pay,
            status: "SCHEDULED".into(),
        };
        s.schedules.insert(rec.id.clone(), rec.clone());
        Ok(rec)
    })?;
    spawn_schedule_timer(&st, sched.id.clone(), time_to_pay);
    Ok(Json(json!({ "schedule": { "id": sched.id } })))
}

/// The input customer, kept raw so a schedule can rebuild its payment input.
#[derive(serde::Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawCustomer {
    id: Option<String>,
    name: Option<String>,
    email: Option<String>,
    phone_number: Option<String>,
}

impl From<&Option<CustomerInput>> for RawCustomer {
    fn from(c: &Option<CustomerInput>) -> Self {
        match c {
            Some(c) => RawCustomer {
                id: c.id.clone(),
                name: c.name(),
                email: c.email.clone(),
                phone_number: c.phone_number.clone(),
            },
            None => RawCustomer::default(),
        }
    }
}

/// Re-arms the timers of the schedules still `SCHEDULED` (at start, from a state file).
pub(super) fn resume_schedules(st: &AppState) {
    let pending: Vec<_> = lock(&st.store)
        .schedules
        .values()
        .filter(|s| s.status == "SCHEDULED")
        .map(|s| (s.id.clone(), s.time_to_pay))
        .collect();
    for (id, at) in pending {
        spawn_schedule_timer(st, id, at);
    }
}

/// Runs the schedule when its time comes (unless it was run or removed before).
fn spawn_schedule_timer(st: &AppState, id: String, at: DateTime<Utc>) {
    let st2 = st.clone();
    st.spawn(async move {
        let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::time::sleep(wait).await;
        run_schedule(&st2, &id);
    });
}

/// Executes one schedule if it is still `SCHEDULED`. Returns whether it ran.
pub(crate) fn run_schedule(st: &AppState, id: &str) -> bool {
    let sched = {
        let mut s = lock(&st.store);
        match s.schedules.get_mut(id) {
            Some(x) if x.status == "SCHEDULED" => {
                x.status = "STARTED".into();
                x.clone()
            }
            _ => return false,
        }
    };
    let raw: RawCustomer = serde_json::from_value(sched.customer.clone()).unwrap_or_default();
    let input = BillingKeyPaymentInput {
        store_id: None,
        billing_key: sched.billing_key.clone(),
        order_name: sched.order_name.clone(),
        customer: Some(CustomerInput {
            id: raw.id,
            name: raw.name.map(|n| CustomerName {
                full: Some(n),
                separated: None,
            }),
            email: raw.email,
            phone_number: raw.phone_number,
            ..CustomerInput::default()
        }),
        custom_data: sched.custom_data.clone(),
        amount: AmountInput {
            total: sched.total,
            tax_free: Some(sched.tax_free),
            vat: None,
        },
        currency: sched.currency.clone(),
        notice_urls: Some(sched.notice_urls.clone()),
    };
    let result = check_billing_input(st, &input)
        .and_then(|ch| charge(st, &sched.payment_id, &input, ch, Some(sched.id.clone())));
    let status = if result.is_ok() { "SUCCEEDED" } else { "FAILED" };
    if let Err(e) = &result {
        tracing::info!(schedule = %sched.id, error = %e.message, "scheduled payment failed");
    }
    st.with_store(|s| {
        if let Some(x) = s.schedules.get_mut(id) {
            x.status = status.into();
        }
    });
    true
}

async fn get_billing_key(
    State(st): State<AppState>,
    Path(billing_key): Path<String>,
    axum::extract::Query(q): axum::extract::Query<StoreQuery>,
) -> Result<Json<Value>, ApiError> {
    check_store(&st, q.store_id.as_deref())?;
    let s = lock(&st.store);
    let bk = s
        .billing_keys
        .get(&billing_key)
        .ok_or_else(ApiError::billing_key_not_found)?;
    Ok(Json(views::billing_key(bk, &st.config)))
}

async fn delete_billing_key(
    State(st): State<AppState>,
    Path(billing_key): Path<String>,
    axum::extract::Query(q): axum::extract::Query<StoreQuery>,
) -> Result<Json<Value>, ApiError> {
    check_store(&st, q.store_id.as_deref())?;
    let now = Utc::now();
    let notice = st.with_store(|s| {
        let bk = s
            .billing_keys
            .get_mut(&billing_key)
            .ok_or_else(ApiError::billing_key_not_found)?;
        if bk.deleted_at.is_some() {
            return Err(ApiError::billing_key_deleted());
        }
        bk.deleted_at = Some(now);
        let notice = bk.notice_urls.clone();
        for x in s.schedules.values_mut() {
            if x.billing_key == billing_key && x.status == "SCHEDULED" {
                x.status = "REVOKED".into();
            }
        }
        Ok(notice)
    })?;
    webhook::emit_billing_key(&st, "BillingKey.Deleted", &billing_key, &notice);
    Ok(Json(json!({ "deletedAt": ts(now) })))
}
