//! PortOne V1's REST API under `/iamport/` (PortOne's `https://api.iamport.kr/`):
//! the access token (`POST /users/getToken`), payments (`GET /payments/{imp_uid}`,
//! `GET /payments/find/{merchant_uid}[/{status}]`, `POST|PUT /payments/prepare`,
//! `GET /payments/prepare/{merchant_uid}`, `POST /payments/cancel`) and billing
//! (`POST /subscribe/payments/again`, `GET|DELETE /subscribe/customers/{customer_uid}`,
//! `POST|GET /subscribe/payments/schedule`, `GET /subscribe/payments/schedule/{merchant_uid}`,
//! `POST /subscribe/payments/unschedule`), plus the schedule timers.
//!
//! Every answer is V1's envelope `{code, message, response}`. Like V1:
//! a missing, unknown or expired token is HTTP 401 (`code: -1`), an unknown
//! payment, customer, pre-registration or schedule 404, a malformed request
//! 400 (`code: -1`), and a refusal of a well-formed request (nothing to
//! cancel, a `checksum` that differs, an order already paid, ...) HTTP 200
//! with `code: 1` (an unknown customer on `again`: `-1`). Bodies are JSON or
//! form-encoded. Every route but `getToken` needs the token (`Authorization:
//! <token>`, `Authorization: Bearer <token>` or `X-ImpTokenHeader: <token>`),
//! checked before the shared fault guard, whose refusals are rendered here in
//! the envelope.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::json as views;
use super::params::{self, CASH_RECEIPT_OPTIONS};
use super::records::{V1Buyer, V1Cancel, V1Payment, V1Prepared, V1Schedule, V1Status};
use super::webhook;
use crate::api::BODY_LIMIT;
use crate::faults::{self, Refusal};
use crate::store::{lock, new_id, AppState};

pub(super) fn router(st: AppState) -> Router<AppState> {
    let guard = || from_fn_with_state(faults::Guard::new(st.clone(), render_refusal), faults::guard);
    let token = Router::new()
        .route("/iamport/users/getToken", post(get_token))
        .layer(guard());
    let api = Router::new()
        .route("/iamport/payments/{imp_uid}", get(get_payment))
        .route("/iamport/payments/find/{merchant_uid}", get(find_payment))
        .route(
            "/iamport/payments/find/{merchant_uid}/{status}",
            get(find_payment_with_status),
        )
        .route("/iamport/payments/prepare", post(prepare).put(update_prepared))
        .route("/iamport/payments/prepare/{merchant_uid}", get(get_prepared))
        .route("/iamport/payments/cancel", post(cancel))
        .route("/iamport/subscribe/payments/again", post(again))
        .route(
            "/iamport/subscribe/customers/{customer_uid}",
            get(get_customer).delete(delete_customer),
        )
        .route(
            "/iamport/subscribe/payments/schedule",
            post(schedule).get(schedules_between),
        )
        .route("/iamport/subscribe/payments/schedule/{merchant_uid}", get(get_schedule))
        .route("/iamport/subscribe/payments/unschedule", post(unschedule))
        // The last layer runs first: the token, then the faults, then the handler.
        .layer(guard())
        .layer(from_fn_with_state(st.clone(), auth));
    Router::new()
        .merge(token)
        .merge(api)
        .route("/iamport/{*rest}", any(unknown_route))
}

// ---------- envelope ----------

/// A V1 error answer: `{code, message, response: null}` with an HTTP status.
#[derive(Debug, Clone)]
pub(crate) struct V1Error {
    pub status: StatusCode,
    pub code: i64,
    pub message: String,
}

impl V1Error {
    pub fn new(status: StatusCode, code: i64, message: impl Into<String>) -> Self {
        V1Error {
            status,
            code,
            message: message.into(),
        }
    }
    /// 400, `code: -1`: a missing or ill-typed parameter.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, -1, message)
    }
    /// 200, `code: 1`: V1 refused a well-formed request.
    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(StatusCode::OK, 1, message)
    }
    /// 404, `code: -1`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, -1, message)
    }
    fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, -1, "Unauthorized")
    }
    fn payment_not_found() -> Self {
        Self::not_found("존재하지 않는 결제정보입니다.")
    }
    fn customer_not_found() -> Self {
        Self::not_found("등록되지 않은 구매자입니다.")
    }
}

impl IntoResponse for V1Error {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "code": self.code, "message": self.message, "response": null })),
        )
            .into_response()
    }
}

/// `{code: 0, message: null, response}`.
fn ok(response: Value) -> Json<Value> {
    Json(json!({ "code": 0, "message": null, "response": response }))
}

/// The fault guard's refusals in V1's envelope.
fn render_refusal(r: Refusal) -> Response {
    match r {
        Refusal::ServerError => V1Error::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            -1,
            "sandbox fault injection: simulated server error",
        ),
        Refusal::ConsecutiveRequest => V1Error::new(
            StatusCode::TOO_MANY_REQUESTS,
            -1,
            "같은 요청이 너무 빠르게 반복되었습니다. 1초 후 다시 시도하세요.",
        ),
    }
    .into_response()
}

async fn unknown_route() -> V1Error {
    V1Error::not_found("no such PortOne V1 API route in the sandbox")
}

/// A request body as a JSON object: JSON, or form-encoded (values are strings).
pub(crate) struct V1Body(pub Value);

impl<S: Send + Sync> FromRequest<S> for V1Body {
    type Rejection = V1Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.trim_start().starts_with("application/x-www-form-urlencoded"));
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                V1Error::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    -1,
                    format!("request body is larger than {BODY_LIMIT} bytes"),
                )
            } else {
                V1Error::bad(format!("could not read the request body: {e}"))
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(V1Body(Value::Object(Map::new())));
        }
        if form {
            let map: Map<String, Value> = url::form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect();
            return Ok(V1Body(Value::Object(map)));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v @ Value::Object(_)) => Ok(V1Body(v)),
            Ok(_) => Err(V1Error::bad("the request body must be a JSON object")),
            Err(e) => Err(V1Error::bad(format!("invalid request body: {e}"))),
        }
    }
}

// ---------- token ----------

/// The access token of a request: `X-ImpTokenHeader`, else `Authorization`
/// with or without `Bearer `.
fn token_of(headers: &HeaderMap) -> Option<String> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(t) = get("x-imptokenheader").filter(|t| !t.is_empty()) {
        return Some(t.to_owned());
    }
    let auth = get(header::AUTHORIZATION.as_str())?;
    let token = match auth.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => auth,
    };
    Some(token.to_owned()).filter(|t| !t.is_empty())
}

/// A valid (issued, unexpired) access token, else 401 in V1's envelope.
async fn auth(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let now = Utc::now();
    let valid =
        token_of(req.headers()).is_some_and(|t| lock(&st.store).v1.tokens.get(&t).is_some_and(|exp| *exp > now));
    if !valid {
        return V1Error::unauthorized().into_response();
    }
    next.run(req).await
}

/// `POST /users/getToken {imp_key, imp_secret}` (JSON or form) ->
/// `{access_token, now, expired_at}`. Asking again returns the same token
/// until it is about to expire (within a minute, or half its lifetime when
/// that is shorter); then a new one is issued and the old one still works
/// until it expires.
async fn get_token(State(st): State<AppState>, V1Body(b): V1Body) -> Result<Json<Value>, V1Error> {
    let key = params::req_str(&b, "imp_key").map_err(V1Error::bad)?;
    let secret = params::req_str(&b, "imp_secret").map_err(V1Error::bad)?;
    if key != st.config.v1_imp_key || secret != st.config.v1_imp_secret {
        return Err(V1Error::new(
            StatusCode::UNAUTHORIZED,
            -1,
            "imp_key 또는 imp_secret 이 올바르지 않습니다.",
        ));
    }
    let now = Utc::now();
    let ttl = chrono::Duration::from_std(st.config.v1_token_ttl).unwrap_or(chrono::Duration::minutes(30));
    let renew = chrono::Duration::minutes(1).min(ttl / 2);
    let (token, expires) = st.with_store(|s| {
        s.v1.tokens.retain(|_, exp| *exp > now);
        if let Some((t, e)) =
            s.v1.tokens
                .iter()
                .filter(|(_, e)| **e - now > renew)
                .max_by_key(|(_, e)| **e)
        {
            return (t.clone(), *e);
        }
        let t = uuid::Uuid::new_v4().simple().to_string();
        s.v1.tokens.insert(t.clone(), now + ttl);
        (t, now + ttl)
    });
    Ok(ok(json!({
        "access_token": token,
        "now": now.timestamp(),
        "expired_at": expires.timestamp(),
    })))
}

// ---------- payments ----------

async fn get_payment(State(st): State<AppState>, Path(imp_uid): Path<String>) -> Result<Json<Value>, V1Error> {
    let s = lock(&st.store);
    let p = s.v1.payments.get(&imp_uid).ok_or_else(V1Error::payment_not_found)?;
    Ok(ok(views::payment(p)))
}

fn find(st: &AppState, merchant_uid: &str, status: Option<&str>) -> Result<Json<Value>, V1Error> {
    let status = match status {
        None => None,
        Some(x) => {
            Some(V1Status::parse(x).ok_or_else(|| V1Error::bad("status must be ready, paid, cancelled or failed"))?)
        }
    };
    let s = lock(&st.store);
    let p =
        s.v1.newest(merchant_uid, status)
            .ok_or_else(V1Error::payment_not_found)?;
    Ok(ok(views::payment(p)))
}

async fn find_payment(State(st): State<AppState>, Path(merchant_uid): Path<String>) -> Result<Json<Value>, V1Error> {
    find(&st, &merchant_uid, None)
}

async fn find_payment_with_status(
    State(st): State<AppState>,
    Path((merchant_uid, status)): Path<(String, String)>,
) -> Result<Json<Value>, V1Error> {
    find(&st, &merchant_uid, Some(&status))
}

fn merchant_uid_of(b: &Value) -> Result<String, V1Error> {
    let m = params::req_str(b, "merchant_uid").map_err(V1Error::bad)?;
    params::max_chars(Some(m.clone()), "merchant_uid", 40).map_err(V1Error::bad)?;
    Ok(m)
}

fn positive_amount(b: &Value, name: &str) -> Result<i64, V1Error> {
    match params::opt_amount(b, name, true).map_err(V1Error::bad)? {
        Some(a) if a > 0 => Ok(a),
        Some(_) => Err(V1Error::bad(format!("{name} must be positive"))),
        None => Err(V1Error::bad(format!("{name} is required"))),
    }
}

/// `POST /payments/prepare {merchant_uid, amount}`: pre-registers the amount
/// a window must ask for. An order already pre-registered is refused (change
/// it with `PUT`).
async fn prepare(State(st): State<AppState>, V1Body(b): V1Body) -> Result<Json<Value>, V1Error> {
    let merchant_uid = merchant_uid_of(&b)?;
    let amount = positive_amount(&b, "amount")?;
    st.with_store(|s| {
        if s.v1.order_paid(&merchant_uid) {
            return Err(V1Error::refused("이미 결제가 완료된 merchant_uid 입니다."));
        }
        if s.v1.prepared.contains_key(&merchant_uid) {
            return Err(V1Error::refused(
                "이미 사전등록된 merchant_uid 입니다. 금액을 바꾸려면 PUT /payments/prepare 를 사용하세요.",
            ));
        }
        s.v1.prepared.insert(
            merchant_uid.clone(),
            V1Prepared {
                amount,
                created_at: Utc::now(),
            },
        );
        Ok(())
    })?;
    Ok(ok(json!({ "merchant_uid": merchant_uid, "amount": amount })))
}

/// `PUT /payments/prepare {merchant_uid, amount}`: changes a pre-registered amount.
async fn update_prepared(State(st): State<AppState>, V1Body(b): V1Body) -> Result<Json<Value>, V1Error> {
    let merchant_uid = merchant_uid_of(&b)?;
    let amount = positive_amount(&b, "amount")?;
    st.with_store(|s| {
        if s.v1.order_paid(&merchant_uid) {
            return Err(V1Error::refused("이미 결제가 완료된 merchant_uid 입니다."));
        }
        match s.v1.prepared.get_mut(&merchant_uid) {
            Some(p) => {
                p.amount = amount;
                Ok(())
            }
            None => Err(V1Error::refused("사전등록된 결제정보가 존재하지 않습니다.")),
        }
    })?;
    Ok(ok(json!({ "merchant_uid": merchant_uid, "amount": amount })))
}

async fn get_prepared(State(st): State<AppState>, Path(merchant_uid): Path<String>) -> Result<Json<Value>, V1Error> {
    let s = lock(&st.store);
    let p =
        s.v1.prepared
            .get(&merchant_uid)
            .ok_or_else(|| V1Error::not_found("사전등록된 결제정보가 존재하지 않습니다."))?;
    Ok(ok(json!({ "merchant_uid": merchant_uid, "amount": p.amount })))
}

/// `POST /payments/cancel {imp_uid | merchant_uid, reason?, amount?, tax_free?, checksum?}`.
/// `amount` omitted or 0 cancels what is left; `checksum` is the cancellable
/// amount the caller believes in (refused when it differs). A partial cancel
/// leaves the payment `paid` with `cancel_amount`; the last one makes it `cancelled`.
async fn cancel(State(st): State<AppState>, V1Body(b): V1Body) -> Result<Json<Value>, V1Error> {
    let imp_uid = params::opt_str(&b, "imp_uid")
        .map_err(V1Error::bad)?
        .filter(|s| !s.is_empty());
    let merchant_uid = params::opt_str(&b, "merchant_uid")
        .map_err(V1Error::bad)?
        .filter(|s| !s.is_empty());
    if imp_uid.is_none() && merchant_uid.is_none() {
        return Err(V1Error::bad("imp_uid 또는 merchant_uid 가 필요합니다."));
    }
    let reason = params::opt_str(&b, "reason").map_err(V1Error::bad)?.unwrap_or_default();
    let amount = params::opt_amount(&b, "amount", true)
        .map_err(V1Error::bad)?
        .unwrap_or(0);
    let tax_free = params::opt_amount(&b, "tax_free", true).map_err(V1Error::bad)?;
    let checksum = params::opt_amount(&b, "checksum", true).map_err(V1Error::bad)?;
    if amount < 0 || tax_free.is_some_and(|t| t < 0) {
        return Err(V1Error::bad("amount and tax_free must not be negative"));
    }
    let now = Utc::now();
    let (json, notice) = st.with_store(|s| {
        let id = match (&imp_uid, &merchant_uid) {
            (Some(i), _) => s.v1.payments.get(i).map(|p| p.imp_uid.clone()),
            (None, Some(m)) => {
                s.v1.newest(m, Some(V1Status::Paid))
                    .or_else(|| s.v1.newest(m, None))
                    .map(|p| p.imp_uid.clone())
            }
            (None, None) => None,
        };
        let p = id
            .and_then(|id| s.v1.payments.get_mut(&id))
            .ok_or_else(|| V1Error::refused("취소할 결제건이 존재하지 않습니다."))?;
        match p.status {
            V1Status::Paid => {}
            V1Status::Cancelled => return Err(V1Error::refused("이미 전액취소된 주문입니다.")),
            _ => return Err(V1Error::refused("결제가 완료되지 않은 결제건은 취소할 수 없습니다.")),
        }
        let cancellable = p.amount - p.cancel_amount();
        if let Some(c) = checksum {
            if c != cancellable {
                return Err(V1Error::refused(format!(
                    "checksum 이 일치하지 않습니다. (요청 {c}, 취소 가능 금액 {cancellable})"
                )));
            }
        }
        if cancellable <= 0 {
            return Err(V1Error::refused("취소할 수 있는 금액이 없습니다."));
        }
        let amount = if amount == 0 { cancellable } else { amount };
        if amount > cancellable {
            return Err(V1Error::refused(format!(
                "취소 요청 금액({amount})이 취소 가능 금액({cancellable})을 초과합니다."
            )));
        }
        let tax_free_left = p.tax_free - p.cancelled_tax_free();
        let tax_free = match tax_free {
            Some(t) => t,
            None if amount == cancellable => tax_free_left,
            None => 0,
        };
        if tax_free > tax_free_left || tax_free > amount {
            return Err(V1Error::refused("면세 취소 금액이 취소 가능한 면세 금액을 초과합니다."));
        }
        p.cancellations.push(V1Cancel {
            pg_tid: p.pg_tid.clone().unwrap_or_default(),
            cancellation_id: new_id("cancel"),
            amount,
            tax_free,
            reason: reason.clone(),
            cancelled_at: now,
        });
        if p.cancel_amount() >= p.amount {
            p.status = V1Status::Cancelled;
        }
        p.cancelled_at = Some(now);
        p.cancel_reason = Some(reason.clone());
        Ok((views::payment(p), p.notice_urls.clone()))
    })?;
    webhook::notify(
        &st,
        json["imp_uid"].as_str().unwrap_or_default(),
        json["merchant_uid"].as_str().unwrap_or_default(),
        json["status"].as_str().unwrap_or_default(),
        &notice,
    );
    Ok(ok(json))
}

// ---------- billing ----------

/// What one billing-key charge needs (`again` or a schedule).
struct Charge {
    customer_uid: String,
    merchant_uid: String,
    amount: i64,
    tax_free: i64,
    vat_amount: Option<i64>,
    currency: String,
    name: Option<String>,
    buyer: V1Buyer,
    custom_data: Option<String>,
    notice_urls: Vec<String>,
    /// `payment` or `payment.scheduled`.
    usage: &'static str,
}

/// Charges the customer's billing key: a new `api` payment, `paid`, or
/// `failed` when the PG declines (`pgFailNext`). The caller sends webhooks.
fn charge(st: &AppState, c: Charge) -> Result<V1Payment, V1Error> {
    let decline = faults::take_pg_failure(st);
    let now = Utc::now();
    st.with_store(|s| {
        let customer =
            s.v1.customers
                .get(&c.customer_uid)
                .cloned()
                .ok_or_else(|| V1Error::new(StatusCode::OK, -1, "등록되지 않은 구매자입니다."))?;
        if s.v1.order_paid(&c.merchant_uid) {
            return Err(V1Error::refused("이미 결제가 완료된 merchant_uid 입니다."));
        }
        let mut notice = customer.notice_urls.clone();
        for u in c.notice_urls {
            if !notice.contains(&u) {
                notice.push(u);
            }
        }
        let p = V1Payment {
            imp_uid: s.v1.new_imp_uid(),
            merchant_uid: c.merchant_uid,
            channel_key: customer.channel_key.clone(),
            pg_provider: customer.pg_provider.clone(),
            pg_id: customer.pg_id.clone(),
            pay_method: customer.pay_method.clone(),
            channel: "api".into(),
            status: if decline { V1Status::Failed } else { V1Status::Paid },
            amount: c.amount,
            tax_free: c.tax_free,
            vat_amount: c.vat_amount,
            currency: c.currency,
            name: c.name,
            buyer: c.buyer.or(&customer.buyer),
            custom_data: c.custom_data,
            notice_urls: notice,
            user_agent: None,
            pg_tid: Some(new_id("tosspay-tid")),
            started_at: now,
            paid_at: (!decline).then_some(now),
            failed_at: decline.then_some(now),
            cancelled_at: None,
            fail_reason: decline.then(|| "[INSUFFICIENT_BALANCE] 잔액이 부족합니다.".to_owned()),
            cancel_reason: None,
            cancellations: Vec::new(),
            customer_uid: Some(customer.customer_uid.clone()),
            customer_uid_usage: Some(c.usage.to_owned()),
            seq: 0,
        };
        Ok(s.v1.insert(p))
    })
}

/// TossPay's `bypass` on a billing charge: a JSON **string** holding
/// `{"tosspay_v2": {"cashReceiptTradeOption": ..., "sendFailPush": bool}}`.
fn check_bypass(b: &Value) -> Result<(), V1Error> {
    let raw = match b.get("bypass") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(V1Error::bad(
                "bypass must be a JSON string, e.g. \"{\\\"tosspay_v2\\\": {\\\"sendFailPush\\\": false}}\"",
            ))
        }
    };
    let v: Value = serde_json::from_str(raw).map_err(|e| V1Error::bad(format!("bypass is not JSON: {e}")))?;
    let Some(o) = v.as_object() else {
        return Err(V1Error::bad("bypass must hold a JSON object"));
    };
    let Some(t) = o.get("tosspay_v2") else {
        return Ok(());
    };
    let Some(t) = t.as_object() else {
        return Err(V1Error::bad("bypass.tosspay_v2 must be an object"));
    };
    if let Some(opt) = t.get("cashReceiptTradeOption") {
        if !opt.as_str().is_some_and(|o| CASH_RECEIPT_OPTIONS.contains(&o)) {
            return Err(V1Error::bad(
                "bypass.tosspay_v2.cashReceiptTradeOption must be GENERAL, CULTURE or PUBLIC_TP",
            ));
        }
    }
    if t.get("sendFailPush").is_some_and(|x| !x.is_boolean()) {
        return Err(V1Error::bad("bypass.tosspay_v2.sendFailPush must be a boolean"));
    }
    Ok(())
}

fn currency_of(b: &Value) -> Result<String, V1Error> {
    let c = params::opt_str(b, "currency")
        .map_err(V1Error::bad)?
        .unwrap_or_else(|| "KRW".into());
    if c != "KRW" {
        return Err(V1Error::bad("토스페이는 KRW 결제만 지원합니다."));
    }
    Ok(c)
}

fn tax_free_of(b: &Value, amount: i64) -> Result<i64, V1Error> {
    let t = params::opt_amount(b, "tax_free", true)
        .map_err(V1Error::bad)?
        .unwrap_or(0);
    if t < 0 || t > amount {
        return Err(V1Error::bad("tax_free must be between 0 and amount"));
    }
    Ok(t)
}

/// `POST /subscribe/payments/again`: charges the billing key now. A PG
/// decline is still `code: 0`, with the payment `failed` and its `fail_reason`.
async fn again(State(st): State<AppState>, V1Body(b): V1Body) -> Result<Json<Value>, V1Error> {
    let customer_uid = params::req_str(&b, "customer_uid").map_err(V1Error::bad)?;
    let merchant_uid = merchant_uid_of(&b)?;
    let amount = positive_amount(&b, "amount")?;
    let name = params::req_str(&b, "name").map_err(V1Error::bad)?;
    let tax_free = tax_free_of(&b, amount)?;
    let vat_amount = params::opt_amount(&b, "vat_amount", true).map_err(V1Error::bad)?;
    let currency = currency_of(&b)?;
    let buyer = params::buyer(&b).map_err(V1Error::bad)?;
    let notice = params::notice_urls(&b, st.config.allow_external_webhooks).map_err(V1Error::bad)?;
    check_bypass(&b)?;
    let p = charge(
        &st,
        Charge {
            customer_uid,
            merchant_uid,
            amount,
            tax_free,
            vat_amount,
            currency,
            name: Some(name),
            buyer,
            custom_data: params::custom_data(&b),
            notice_urls: notice,
            usage: "payment",
        },
    )?;
    if p.status == V1Status::Paid {
        webhook::notify(&st, &p.imp_uid, &p.merchant_uid, "paid", &p.notice_urls);
    }
    Ok(ok(views::payment(&p)))
}

async fn get_customer(State(st): State<AppState>, Path(customer_uid): Path<String>) -> Result<Json<Value>, V1Error> {
    let s = lock(&st.store);
    let c =
        s.v1.customers
            .get(&customer_uid)
            .ok_or_else(V1Error::customer_not_found)?;
    Ok(ok(views::customer(c)))
}

/// `DELETE /subscribe/customers/{customer_uid}`: deletes the billing key and
/// revokes its pending schedules; answers the deleted customer.
async fn delete_customer(State(st): State<AppState>, Path(customer_uid): Path<String>) -> Result<Json<Value>, V1Error> {
    let now = Utc::now();
    let c = st.with_store(|s| {
        let c =
            s.v1.customers
                .remove(&customer_uid)
                .ok_or_else(V1Error::customer_not_found)?;
        for x in s.v1.schedules.values_mut() {
            if x.customer_uid == customer_uid && x.status == "scheduled" {
                x.status = "revoked".into();
                x.revoked_at = Some(now);
            }
        }
        Ok(c)
    })?;
    Ok(ok(views::customer(&c)))
}

/// `POST /subscribe/payments/schedule {customer_uid, schedules: [...]}`:
/// all or nothing; each runs at `schedule_at` (unix s, not in the past).
async fn schedule(State(st): State<AppState>, V1Body(b): V1Body) -> Result<Json<Value>, V1Error> {
    let customer_uid = params::req_str(&b, "customer_uid").map_err(V1Error::bad)?;
    let list = match b.get("schedules") {
        Some(Value::Array(a)) if !a.is_empty() => a.clone(),
        _ => return Err(V1Error::bad("schedules must be a non-empty array")),
    };
    let now = Utc::now();
    let mut recs = Vec::new();
    for (i, x) in list.iter().enumerate() {
        let at = |e: String| V1Error::bad(format!("schedules[{i}].{e}"));
        if !x.is_object() {
            return Err(V1Error::bad(format!("schedules[{i}] must be an object")));
        }
        let merchant_uid = merchant_uid_of(x).map_err(|e| at(e.message))?;
        let amount = positive_amount(x, "amount").map_err(|e| at(e.message))?;
        let schedule_at = params::opt_amount(x, "schedule_at", true)
            .map_err(at)?
            .ok_or_else(|| at("schedule_at is required".into()))?;
        if schedule_at < now.timestamp() {
            return Err(at("schedule_at must not be in the past".into()));
        }
        let schedule_at =
            DateTime::from_timestamp(schedule_at, 0).ok_or_else(|| at("schedule_at is out of range".into()))?;
        let name = params::max_chars(params::opt_str(x, "name").map_err(at)?, "name", 40).map_err(at)?;
        if recs.iter().any(|r: &V1Schedule| r.merchant_uid == merchant_uid) {
            return Err(at(format!("merchant_uid {merchant_uid} appears twice")));
        }
        recs.push(V1Schedule {
            customer_uid: customer_uid.clone(),
            merchant_uid,
            schedule_at,
            amount,
            tax_free: tax_free_of(x, amount).map_err(|e| at(e.message))?,
            currency: currency_of(x).map_err(|e| at(e.message))?,
            name,
            buyer: params::buyer(x).map_err(at)?,
            custom_data: params::custom_data(x),
            notice_urls: params::notice_urls(x, st.config.allow_external_webhooks).map_err(at)?,
            status: "scheduled".into(),
            imp_uid: None,
            payment_status: None,
            fail_reason: None,
            executed_at: None,
            revoked_at: None,
            created_at: now,
        });
    }
    st.with_store(|s| {
        if !s.v1.customers.contains_key(&customer_uid) {
            return Err(V1Error::refused("등록되지 않은 구매자입니다."));
        }
        for r in &recs {
            if s.v1.order_paid(&r.merchant_uid) {
                return Err(V1Error::refused(format!(
                    "이미 결제가 완료된 merchant_uid 입니다: {}",
                    r.merchant_uid
                )));
            }
            if s.v1
                .schedules
                .get(&r.merchant_uid)
                .is_some_and(|x| x.status != "revoked")
            {
                return Err(V1Error::refused(format!(
                    "이미 예약된 merchant_uid 입니다: {}",
                    r.merchant_uid
                )));
            }
        }
        for r in &recs {
            s.v1.schedules.insert(r.merchant_uid.clone(), r.clone());
        }
        Ok(())
    })?;
    for r in &recs {
        spawn_schedule_timer(&st, r.merchant_uid.clone(), r.schedule_at);
    }
    Ok(ok(Value::Array(recs.iter().map(views::schedule).collect())))
}

async fn get_schedule(State(st): State<AppState>, Path(merchant_uid): Path<String>) -> Result<Json<Value>, V1Error> {
    let s = lock(&st.store);
    let x =
        s.v1.schedules
            .get(&merchant_uid)
            .ok_or_else(|| V1Error::not_found("예약결제 정보가 존재하지 않습니다."))?;
    Ok(ok(views::schedule(x)))
}

#[derive(Deserialize)]
struct Between {
    schedule_from: Option<String>,
    schedule_to: Option<String>,
    schedule_status: Option<String>,
    page: Option<String>,
}

/// Schedules per page of `GET /subscribe/payments/schedule`.
const PAGE_SIZE: usize = 20;

/// `GET /subscribe/payments/schedule?schedule_from&schedule_to[&schedule_status][&page]`
/// -> `{total, previous, next, list}` (20 a page, by `schedule_at`).
async fn schedules_between(State(st): State<AppState>, Query(q): Query<Between>) -> Result<Json<Value>, V1Error> {
    let int = |name: &str, v: &Option<String>| -> Result<i64, V1Error> {
        v.as_deref()
            .ok_or_else(|| V1Error::bad(format!("{name} is required")))?
            .trim()
            .parse::<i64>()
            .map_err(|_| V1Error::bad(format!("{name} must be a unix timestamp")))
    };
    let from = int("schedule_from", &q.schedule_from)?;
    let to = int("schedule_to", &q.schedule_to)?;
    if let Some(s) = &q.schedule_status {
        if !matches!(s.as_str(), "scheduled" | "executed" | "revoked") {
            return Err(V1Error::bad("schedule_status must be scheduled, executed or revoked"));
        }
    }
    let page = match &q.page {
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| V1Error::bad("page must be 1 or more"))?,
        None => 1,
    };
    let s = lock(&st.store);
    let mut list: Vec<&V1Schedule> =
        s.v1.schedules
            .values()
            .filter(|x| (from..=to).contains(&x.schedule_at.timestamp()))
            .filter(|x| {
                q.schedule_status
                    .as_deref()
                    .is_none_or(|want| views::schedule(x)["schedule_status"] == want)
            })
            .collect();
    list.sort_by_key(|x| (x.schedule_at, x.merchant_uid.clone()));
    let total = list.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let items: Vec<Value> = list
        .iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|x| views::schedule(x))
        .collect();
    Ok(ok(json!({
        "total": total,
        "previous": page.saturating_sub(1),
        "next": if page < pages { page + 1 } else { 0 },
        "list": items,
    })))
}

/// `POST /subscribe/payments/unschedule {customer_uid, merchant_uid?}`
/// (`merchant_uid` a string or an array; omitted: all of the customer's):
/// revokes pending schedules and answers them.
async fn unschedule(State(st): State<AppState>, V1Body(b): V1Body) -> Result<Json<Value>, V1Error> {
    let customer_uid = params::req_str(&b, "customer_uid").map_err(V1Error::bad)?;
    let only: Option<Vec<String>> = match b.get("merchant_uid") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(vec![s.clone()]),
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|x| x.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| V1Error::bad("merchant_uid must be a string or an array of strings"))?,
        ),
        Some(_) => return Err(V1Error::bad("merchant_uid must be a string or an array of strings")),
    };
    let now = Utc::now();
    let revoked = st.with_store(|s| {
        let mut revoked = Vec::new();
        for x in s.v1.schedules.values_mut() {
            let wanted = only.as_ref().is_none_or(|m| m.contains(&x.merchant_uid));
            if x.customer_uid == customer_uid && x.status == "scheduled" && wanted {
                x.status = "revoked".into();
                x.revoked_at = Some(now);
                revoked.push(views::schedule(x));
            }
        }
        revoked
    });
    if revoked.is_empty() {
        return Err(V1Error::refused("취소할 예약결제 기록이 존재하지 않습니다."));
    }
    Ok(ok(Value::Array(revoked)))
}

// ---------- schedule execution ----------

/// Re-arms the timers of pending schedules (at start, from a state file).
pub(super) fn resume_schedules(st: &AppState) {
    let pending: Vec<_> = st.with_store(|s| {
        s.v1.schedules
            .values_mut()
            .filter(|x| matches!(x.status.as_str(), "scheduled" | "executing"))
            .map(|x| {
                // A charge cut off by a stop did not happen: run it again.
                x.status = "scheduled".into();
                (x.merchant_uid.clone(), x.schedule_at)
            })
            .collect()
    });
    for (m, at) in pending {
        spawn_schedule_timer(st, m, at);
    }
}

fn spawn_schedule_timer(st: &AppState, merchant_uid: String, at: DateTime<Utc>) {
    let st2 = st.clone();
    st.spawn(async move {
        let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::time::sleep(wait).await;
        run_schedule(&st2, &merchant_uid);
    });
}

/// Charges one schedule if it is still pending; sends the webhook (`paid` or
/// `failed`). Returns whether it ran.
pub(crate) fn run_schedule(st: &AppState, merchant_uid: &str) -> bool {
    let Some(x) = st.with_store(|s| match s.v1.schedules.get_mut(merchant_uid) {
        Some(x) if x.status == "scheduled" => {
            x.status = "executing".into();
            Some(x.clone())
        }
        _ => None,
    }) else {
        return false;
    };
    let result = charge(
        st,
        Charge {
            customer_uid: x.customer_uid.clone(),
            merchant_uid: x.merchant_uid.clone(),
            amount: x.amount,
            tax_free: x.tax_free,
            vat_amount: None,
            currency: x.currency.clone(),
            name: x.name.clone(),
            buyer: x.buyer.clone(),
            custom_data: x.custom_data.clone(),
            notice_urls: x.notice_urls.clone(),
            usage: "payment.scheduled",
        },
    );
    let now = Utc::now();
    st.with_store(|s| {
        if let Some(rec) = s.v1.schedules.get_mut(merchant_uid) {
            rec.status = "executed".into();
            rec.executed_at = Some(now);
            match &result {
                Ok(p) => {
                    rec.imp_uid = Some(p.imp_uid.clone());
                    rec.payment_status = Some(p.status.as_str().to_owned());
                    rec.fail_reason = p.fail_reason.clone();
                }
                Err(e) => {
                    rec.payment_status = Some("failed".into());
                    rec.fail_reason = Some(e.message.clone());
                }
            }
        }
    });
    match result {
        Ok(p) => webhook::notify(st, &p.imp_uid, &p.merchant_uid, p.status.as_str(), &p.notice_urls),
        Err(e) => tracing::info!(merchant_uid, error = %e.message, "V1 scheduled charge not made"),
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_any_of_the_three_header_forms() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "tok-1".parse().unwrap());
        assert_eq!(token_of(&h).as_deref(), Some("tok-1"));
        h.insert("authorization", "Bearer tok-2".parse().unwrap());
        assert_eq!(token_of(&h).as_deref(), Some("tok-2"));
        h.insert("x-imptokenheader", "tok-3".parse().unwrap());
        assert_eq!(token_of(&h).as_deref(), Some("tok-3"));
        assert_eq!(token_of(&HeaderMap::new()), None);
    }

    #[test]
    fn tosspay_bypass_must_be_a_json_string_with_known_options() {
        let good =
            json!({"bypass": "{\"tosspay_v2\": {\"cashReceiptTradeOption\": \"GENERAL\", \"sendFailPush\": false}}"});
        assert!(check_bypass(&good).is_ok());
        assert!(check_bypass(&json!({})).is_ok());
        for bad in [
            json!({"bypass": {"tosspay_v2": {}}}),
            json!({"bypass": "{not json"}),
            json!({"bypass": "[1]"}),
            json!({"bypass": "{\"tosspay_v2\": {\"cashReceiptTradeOption\": \"NOPE\"}}"}),
            json!({"bypass": "{\"tosspay_v2\": {\"sendFailPush\": \"no\"}}"}),
        ] {
            let e = check_bypass(&bad).expect_err(&bad.to_string());
            assert_eq!((e.status, e.code), (StatusCode::BAD_REQUEST, -1));
        }
    }
}
