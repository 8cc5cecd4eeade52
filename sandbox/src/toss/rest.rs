//! Toss Payments' REST API under `/toss` (so `POST /toss/v1/payments/confirm`, ...):
//! confirm, query by `paymentKey` or `orderId`, cancel, billing-key issue and
//! charge.
//!
//! Layers, outermost first: `Authorization: Basic base64("<secretKey>:")` (401
//! `UNAUTHORIZED_KEY`), the shared fault guard (`faults.rs`, refusals rendered
//! as Toss errors: 500 `FAILED_INTERNAL_SYSTEM_PROCESSING`, 403
//! `FORBIDDEN_CONSECUTIVE_REQUEST`), then `Idempotency-Key` (a POST's answer
//! is kept per key for 15 days and replayed; inside the fault guard, so an
//! answer lost by `loseResponses` is still kept and a retry with the same key
//! gets it).

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::Utc;
use serde_json::Value;

use super::checkout::status_changed;
use super::error::{TossError, TossJson};
use super::json::{self as views, new_billing_key, new_payment_key, new_secret, new_transaction_key};
use super::records::{TossBillingKey, TossCancel, TossIdempotentAnswer, TossPayment, TossStatus, TossVirtualAccount};
use super::sdk::{is_customer_key, is_order_id};
use super::webhook;
use crate::faults::{self, Refusal};
use crate::store::{lock, AppState};
use crate::window::Emit;

/// How long an `Idempotency-Key`'s answer is kept.
const IDEMPOTENCY_DAYS: i64 = 15;
/// Longest accepted `Idempotency-Key`.
const IDEMPOTENCY_KEY_MAX: usize = 300;

pub(super) fn router(st: AppState) -> Router<AppState> {
    Router::new()
        .route("/toss/v1/payments/confirm", post(confirm))
        .route("/toss/v1/payments/orders/{order_id}", get(get_by_order))
        .route("/toss/v1/payments/{payment_key}", get(get_payment))
        .route("/toss/v1/payments/{payment_key}/cancel", post(cancel))
        .route("/toss/v1/billing/authorizations/issue", post(issue_billing_key))
        .route("/toss/v1/billing/{billing_key}", post(charge_billing_key))
        // The last layer runs first: auth, then the faults, then idempotency, then the handler.
        .layer(from_fn_with_state(st.clone(), idempotency))
        .layer(from_fn_with_state(
            faults::Guard::new(st.clone(), render_refusal),
            faults::guard,
        ))
        .layer(from_fn_with_state(st, auth))
}

/// `Authorization: Basic base64("<secretKey>:")` (the colon: an empty password), else 401 `UNAUTHORIZED_KEY`.
async fn auth(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let expected = format!("{}:", st.config.toss.secret_key);
    let authorized = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| B64.decode(b64.trim()).ok())
        .is_some_and(|decoded| decoded == expected.as_bytes());
    if !authorized {
        return TossError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED_KEY",
            "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다. (Authorization: Basic base64(\"<secretKey>:\"))",
        )
        .into_response();
    }
    next.run(req).await
}

/// The fault guard's refusals as Toss answers them.
fn render_refusal(r: Refusal) -> Response {
    match r {
        Refusal::ServerError => TossError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "FAILED_INTERNAL_SYSTEM_PROCESSING",
            "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요. (sandbox fault injection)",
        ),
        Refusal::ConsecutiveRequest => TossError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN_CONSECUTIVE_REQUEST",
            "반복적인 요청은 허용되지 않습니다. 잠시 후 다시 시도해주세요.",
        ),
    }
    .into_response()
}

/// `Idempotency-Key` on a POST: the first answer for a key is kept (15 days)
/// and replayed, status and body, for every later request with that key. A
/// request arriving while the first is still being handled gets 409
/// `IDEMPOTENT_REQUEST_PROCESSING`.
async fn idempotency(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get("idempotency-key") else {
        return next.run(req).await;
    };
    let key = match raw.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= IDEMPOTENCY_KEY_MAX => k.to_owned(),
        _ => {
            return TossError::invalid(format!(
                "Idempotency-Key 는 1자 이상 {IDEMPOTENCY_KEY_MAX}자 이하여야 합니다."
            ))
            .into_response()
        }
    };
    let now = Utc::now();
    let kept = st.with_store(|s| {
        s.toss
            .idempotency
            .retain(|_, a| now - a.created_at < chrono::Duration::days(IDEMPOTENCY_DAYS));
        s.toss.idempotency.get(&key).cloned()
    });
    if let Some(a) = kept {
        tracing::info!(%key, status = a.status, "toss: replaying the answer kept for an Idempotency-Key");
        return replay(&a);
    }
    if !lock(&st.toss.idempotency_in_flight).insert(key.clone()) {
        return TossError::new(
            StatusCode::CONFLICT,
            "IDEMPOTENT_REQUEST_PROCESSING",
            "이전 멱등 요청이 처리 중입니다. 잠시 후 다시 시도해주세요.",
        )
        .into_response();
    }
    let res = next.run(req).await;
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let answer = TossIdempotentAnswer {
        status: parts.status.as_u16(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        created_at: now,
    };
    st.with_store(|s| s.toss.idempotency.insert(key.clone(), answer));
    lock(&st.toss.idempotency_in_flight).remove(&key);
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(a: &TossIdempotentAnswer) -> Response {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
    let mut res = (status, a.body.clone()).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

// ---------- body fields ----------

fn req_str(body: &Value, name: &str) -> Result<String, TossError> {
    match body.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        _ => Err(TossError::invalid(format!("`{name}` 은(는) 필수 문자열입니다."))),
    }
}

fn opt_str(body: &Value, name: &str) -> Result<Option<String>, TossError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(TossError::invalid(format!("`{name}` 은(는) 문자열이어야 합니다."))),
    }
}

fn opt_int(body: &Value, name: &str) -> Result<Option<i64>, TossError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| TossError::invalid(format!("`{name}` 은(는) 정수여야 합니다."))),
    }
}

fn req_int(body: &Value, name: &str) -> Result<i64, TossError> {
    opt_int(body, name)?.ok_or_else(|| TossError::invalid(format!("`{name}` 은(는) 필수입니다.")))
}

/// Runs the side effects collected under the store lock.
fn run(st: &AppState, events: Vec<Emit>) {
    for e in events {
        e(st);
    }
}

// ---------- payments ----------

/// `POST /v1/payments/confirm {paymentKey, orderId, amount}`: an authenticated
/// (`IN_PROGRESS`) payment becomes `DONE` (a virtual account `WAITING_FOR_DEPOSIT`).
async fn confirm(State(st): State<AppState>, TossJson(body): TossJson<Value>) -> Result<Json<Value>, TossError> {
    let key = req_str(&body, "paymentKey")?;
    let order_id = req_str(&body, "orderId")?;
    let amount = req_int(&body, "amount")?;
    let now = Utc::now();
    let (result, events) = st.with_store(|s| {
        let mut events: Vec<Emit> = Vec::new();
        let Some(order) = s.toss.payments.get(&key).map(|p| p.order_id.clone()) else {
            return (Err(TossError::not_found_payment()), events);
        };
        let order_taken = s.toss.order_confirmed(&order, Some(&key));
        let Some(p) = s.toss.payments.get_mut(&key) else {
            return (Err(TossError::not_found_payment()), events);
        };
        if p.expire_if_due(now) {
            events.push(status_changed(p, &st.config));
        }
        match p.status {
            TossStatus::InProgress => {}
            s if s.was_confirmed() => {
                return (
                    Err(TossError::new(
                        StatusCode::BAD_REQUEST,
                        "ALREADY_PROCESSED_PAYMENT",
                        "이미 처리된 결제 입니다.",
                    )),
                    events,
                )
            }
            // READY (never authenticated), EXPIRED, ABORTED: nothing to confirm.
            _ => return (Err(TossError::not_found_session()), events),
        }
        if p.order_id != order_id {
            return (
                Err(TossError::invalid(format!(
                    "orderId {order_id} 가 인증된 결제의 주문번호와 다릅니다."
                ))),
                events,
            );
        }
        if p.total_amount != amount {
            return (
                Err(TossError::invalid(format!(
                    "요청한 결제 금액 {amount} 이(가) 인증된 결제 금액 {} 과(와) 다릅니다.",
                    p.total_amount
                ))),
                events,
            );
        }
        if order_taken {
            return (Err(TossError::duplicated_order_id()), events);
        }
        if faults::take_pg_failure(&st) {
            p.status = TossStatus::Aborted;
            p.deadline = None;
            p.failure = Some(("REJECT_CARD_COMPANY".into(), "결제 승인이 거절되었습니다.".into()));
            events.push(status_changed(p, &st.config));
            return (Err(TossError::rejected_by_card_company()), events);
        }
        p.deadline = None;
        p.last_transaction_key = Some(new_transaction_key());
        if p.method == "VIRTUAL_ACCOUNT" {
            p.status = TossStatus::WaitingForDeposit;
            let hours = p.valid_hours.unwrap_or(168);
            p.virtual_account = Some(TossVirtualAccount {
                account_number: format!("X{:013}", rand::random::<u64>() % 10_000_000_000_000),
                bank_code: "88".into(),
                customer_name: p.customer_name.clone().unwrap_or_else(|| "구매자".into()),
                due_date: now + chrono::Duration::hours(hours),
                refund_status: "NONE".into(),
                settlement_status: "INCOMPLETED".into(),
                refund_receive_account: None,
            });
            p.secret = Some(new_secret());
        } else {
            p.status = TossStatus::Done;
            p.approved_at = Some(now);
        }
        events.push(status_changed(p, &st.config));
        (Ok(views::payment(p, &st.config.toss)), events)
    });
    run(&st, events);
    result.map(Json)
}

/// Expires the payment if due, then shows it.
fn show(st: &AppState, find: impl FnOnce(&crate::store::Store) -> Option<String>) -> Result<Json<Value>, TossError> {
    let now = Utc::now();
    let (result, events) = st.with_store(|s| {
        let mut events: Vec<Emit> = Vec::new();
        let Some(key) = find(s) else {
            return (Err(TossError::not_found_payment()), events);
        };
        let Some(p) = s.toss.payments.get_mut(&key) else {
            return (Err(TossError::not_found_payment()), events);
        };
        if p.expire_if_due(now) {
            events.push(status_changed(p, &st.config));
        }
        (Ok(views::payment(p, &st.config.toss)), events)
    });
    run(st, events);
    result.map(Json)
}

/// `GET /v1/payments/{paymentKey}`.
async fn get_payment(State(st): State<AppState>, Path(key): Path<String>) -> Result<Json<Value>, TossError> {
    show(&st, |s| s.toss.payments.contains_key(&key).then_some(key.clone()))
}

/// `GET /v1/payments/orders/{orderId}`: the confirmed payment of the order, else its latest.
async fn get_by_order(State(st): State<AppState>, Path(order_id): Path<String>) -> Result<Json<Value>, TossError> {
    show(&st, |s| s.toss.by_order(&order_id).map(|p| p.payment_key.clone()))
}

fn not_cancelable_payment(why: &str) -> TossError {
    TossError::new(
        StatusCode::FORBIDDEN,
        "NOT_CANCELABLE_PAYMENT",
        format!("취소 할 수 없는 결제 입니다. ({why})"),
    )
}

fn not_cancelable_amount(why: String) -> TossError {
    TossError::new(
        StatusCode::FORBIDDEN,
        "NOT_CANCELABLE_AMOUNT",
        format!("취소 할 수 없는 금액 입니다. ({why})"),
    )
}

/// Checks `refundReceiveAccount {bank, accountNumber, holderName}`.
fn refund_account(body: &Value) -> Result<Option<Value>, TossError> {
    let Some(a) = body.get("refundReceiveAccount").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let bad = |why: &str| TossError::invalid(format!("refundReceiveAccount: {why}"));
    if !a.is_object() {
        return Err(bad("{bank, accountNumber, holderName} 객체여야 합니다."));
    }
    let bank = req_str(a, "bank").map_err(|_| bad("bank (은행 코드) 가 필요합니다."))?;
    let number = req_str(a, "accountNumber").map_err(|_| bad("accountNumber 가 필요합니다."))?;
    let holder = req_str(a, "holderName").map_err(|_| bad("holderName 이 필요합니다."))?;
    if number.len() > 20 || !number.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad("accountNumber 는 - 없이 숫자 20자 이하입니다."));
    }
    if holder.chars().count() > 60 {
        return Err(bad("holderName 은 60자 이하입니다."));
    }
    Ok(Some(
        serde_json::json!({"bankCode": bank, "accountNumber": number, "holderName": holder}),
    ))
}

/// `POST /v1/payments/{paymentKey}/cancel {cancelReason, cancelAmount?, refundReceiveAccount?, taxFreeAmount?}`.
async fn cancel(
    State(st): State<AppState>,
    Path(key): Path<String>,
    TossJson(body): TossJson<Value>,
) -> Result<Json<Value>, TossError> {
    let reason = req_str(&body, "cancelReason")?;
    if reason.chars().count() > 200 {
        return Err(TossError::invalid("cancelReason 은 200자 이하입니다."));
    }
    let cancel_amount = opt_int(&body, "cancelAmount")?;
    if cancel_amount.is_some_and(|a| a <= 0) {
        return Err(TossError::invalid("cancelAmount 는 0보다 커야 합니다."));
    }
    let tax_free = opt_int(&body, "taxFreeAmount")?;
    if tax_free.is_some_and(|t| t < 0) {
        return Err(TossError::invalid("taxFreeAmount 는 0 이상이어야 합니다."));
    }
    let account = refund_account(&body)?;
    let now = Utc::now();
    let (result, events) = st.with_store(|s| {
        let mut events: Vec<Emit> = Vec::new();
        let Some(p) = s.toss.payments.get_mut(&key) else {
            return (Err(TossError::not_found_payment()), events);
        };
        if p.expire_if_due(now) {
            events.push(status_changed(p, &st.config));
        }
        let paid_va = p.method == "VIRTUAL_ACCOUNT";
        match p.status {
            TossStatus::Done | TossStatus::PartialCanceled => {}
            // An unpaid virtual account can be cancelled whole (nothing to refund).
            TossStatus::WaitingForDeposit if cancel_amount.is_none_or(|a| a == p.total_amount) => {}
            TossStatus::WaitingForDeposit => {
                return (
                    Err(not_cancelable_amount(
                        "입금 전 가상계좌는 전액만 취소할 수 있습니다.".into(),
                    )),
                    events,
                )
            }
            TossStatus::Canceled => {
                return (
                    Err(TossError::new(
                        StatusCode::BAD_REQUEST,
                        "ALREADY_CANCELED_PAYMENT",
                        "이미 취소된 결제 입니다.",
                    )),
                    events,
                )
            }
            other => return (Err(not_cancelable_payment(other.as_str())), events),
        }
        let deposited = p.status != TossStatus::WaitingForDeposit;
        let balance = p.balance_amount();
        let amount = cancel_amount.unwrap_or(balance);
        if amount > balance {
            return (
                Err(not_cancelable_amount(format!("요청 {amount}, 취소 가능 {balance}"))),
                events,
            );
        }
        if amount < balance && !p.is_partial_cancelable() {
            return (
                Err(not_cancelable_payment("휴대폰 결제는 부분 취소할 수 없습니다.")),
                events,
            );
        }
        if p.method == "MOBILE_PHONE" && p.approved_at.map(views::kst_month) != Some(views::kst_month(now)) {
            return (
                Err(not_cancelable_payment(
                    "휴대폰 결제는 결제한 달에만 취소할 수 있습니다.",
                )),
                events,
            );
        }
        if paid_va && deposited && account.is_none() {
            return (
                Err(TossError::invalid(
                    "가상계좌 결제의 환불에는 refundReceiveAccount {bank, accountNumber, holderName} 가 필요합니다.",
                )),
                events,
            );
        }
        let tax_free_left = p.tax_free_amount - p.canceled_tax_free();
        let tax_free = match tax_free {
            Some(t) => t,
            None if amount == balance => tax_free_left,
            None => 0,
        };
        if tax_free > tax_free_left || tax_free > amount {
            return (
                Err(not_cancelable_amount(format!(
                    "면세 취소 금액 {tax_free}, 취소 가능 면세 금액 {tax_free_left}"
                ))),
                events,
            );
        }
        let tx = new_transaction_key();
        p.cancels.push(TossCancel {
            cancel_amount: amount,
            cancel_reason: reason.clone(),
            tax_free_amount: tax_free,
            refundable_amount: balance - amount,
            canceled_at: now,
            transaction_key: tx.clone(),
        });
        p.last_transaction_key = Some(tx);
        p.status = if p.balance_amount() == 0 {
            TossStatus::Canceled
        } else {
            TossStatus::PartialCanceled
        };
        if let (Some(va), true) = (p.virtual_account.as_mut(), deposited) {
            va.refund_status = "PENDING".into();
            va.refund_receive_account = account.clone();
        }
        events.push(status_changed(p, &st.config));
        (Ok(views::payment(p, &st.config.toss)), events)
    });
    run(&st, events);
    result.map(Json)
}

// ---------- billing ----------

fn not_found(what: &str) -> TossError {
    TossError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("존재하지 않는 정보 입니다. ({what})"),
    )
}

fn customer_key_mismatch() -> TossError {
    TossError::new(
        StatusCode::BAD_REQUEST,
        "NOT_MATCHES_CUSTOMER_KEY",
        "빌링 인증 고객키와 결제 요청 고객키가 일치하지 않습니다.",
    )
}

/// `POST /v1/billing/authorizations/issue {authKey, customerKey}`: a billing key
/// from the `authKey` of an approved billing-auth window (each `authKey` works once).
async fn issue_billing_key(
    State(st): State<AppState>,
    TossJson(body): TossJson<Value>,
) -> Result<Json<Value>, TossError> {
    let auth_key = req_str(&body, "authKey")?;
    let customer_key = req_str(&body, "customerKey")?;
    let now = Utc::now();
    st.with_store(|s| {
        let a = s
            .toss
            .auth_keys
            .get_mut(&auth_key)
            .filter(|a| !a.used)
            .ok_or_else(|| not_found("authKey 가 없거나 이미 사용되었습니다."))?;
        if a.customer_key != customer_key {
            return Err(customer_key_mismatch());
        }
        a.used = true;
        let bk = TossBillingKey {
            billing_key: new_billing_key(),
            customer_key,
            method: a.method.clone(),
            authenticated_at: now,
        };
        let json = views::billing_key(&bk, &st.config.toss);
        s.toss.billing_keys.insert(bk.billing_key.clone(), bk);
        Ok(Json(json))
    })
}

/// `POST /v1/billing/{billingKey} {customerKey, amount, orderId, orderName, ...}`:
/// an immediate charge, a `DONE` payment of `type: BILLING` (or, on the
/// `pgFailNext` fault, `ABORTED` and 403 `REJECT_CARD_COMPANY`).
async fn charge_billing_key(
    State(st): State<AppState>,
    Path(billing_key): Path<String>,
    TossJson(body): TossJson<Value>,
) -> Result<Json<Value>, TossError> {
    let customer_key = req_str(&body, "customerKey")?;
    if !is_customer_key(&customer_key) {
        return Err(TossError::invalid("customerKey 형식이 올바르지 않습니다."));
    }
    let amount = req_int(&body, "amount")?;
    let order_id = req_str(&body, "orderId")?;
    if !is_order_id(&order_id) {
        return Err(TossError::invalid(
            "orderId 는 영문 대소문자, 숫자, -, _, = 로 이루어진 6자 이상 64자 이하입니다.",
        ));
    }
    let order_name = req_str(&body, "orderName")?;
    if order_name.chars().count() > 100 {
        return Err(TossError::invalid("orderName 은 100자 이하입니다."));
    }
    let tax_free = opt_int(&body, "taxFreeAmount")?.unwrap_or(0);
    if !(0..=amount).contains(&tax_free) {
        return Err(TossError::invalid("taxFreeAmount 는 0 이상 amount 이하입니다."));
    }
    let customer_name = opt_str(&body, "customerName")?;
    let customer_email = opt_str(&body, "customerEmail")?;
    let now = Utc::now();
    let (result, events) = st.with_store(|s| {
        let mut events: Vec<Emit> = Vec::new();
        let Some(bk) = s.toss.billing_keys.get(&billing_key) else {
            return (Err(not_found("billingKey")), events);
        };
        if bk.customer_key != customer_key {
            return (Err(customer_key_mismatch()), events);
        }
        let minimum = if bk.method == "TRANSFER" { 200 } else { 100 };
        if amount < minimum {
            return (
                Err(TossError::new(
                    StatusCode::BAD_REQUEST,
                    "BELOW_MINIMUM_AMOUNT",
                    format!(
                        "신용카드는 결제금액이 100원 이상, 계좌는 200원이상부터 결제가 가능합니다. (요청 {amount}원)"
                    ),
                )),
                events,
            );
        }
        if s.toss.order_confirmed(&order_id, None) {
            return (Err(TossError::duplicated_order_id()), events);
        }
        let declined = faults::take_pg_failure(&st);
        let mut p = TossPayment {
            payment_key: new_payment_key(),
            order_id: order_id.clone(),
            order_name: order_name.clone(),
            billing: true,
            method: bk.method.clone(),
            status: TossStatus::Done,
            total_amount: amount,
            tax_free_amount: tax_free,
            currency: "KRW".into(),
            customer_key: Some(customer_key.clone()),
            customer_name: customer_name.clone(),
            customer_email: customer_email.clone(),
            customer_mobile_phone: None,
            metadata: None,
            requested_at: now,
            approved_at: Some(now),
            deadline: None,
            last_transaction_key: Some(new_transaction_key()),
            cancels: Vec::new(),
            virtual_account: None,
            valid_hours: None,
            secret: None,
            failure: None,
            billing_key: Some(billing_key.clone()),
        };
        if declined {
            p.status = TossStatus::Aborted;
            p.approved_at = None;
            p.failure = Some(("REJECT_CARD_COMPANY".into(), "결제 승인이 거절되었습니다.".into()));
        }
        events.push(status_changed(&p, &st.config));
        let json = views::payment(&p, &st.config.toss);
        s.toss.insert(p);
        if declined {
            (Err(TossError::rejected_by_card_company()), events)
        } else {
            (Ok(json), events)
        }
    });
    run(&st, events);
    result.map(Json)
}

/// Makes the deposit of a `WAITING_FOR_DEPOSIT` virtual account (admin nudge):
/// `DONE`, then `PAYMENT_STATUS_CHANGED` and `DEPOSIT_CALLBACK`.
pub(super) fn deposit(st: &AppState, key: &str) -> Result<Value, TossError> {
    let now = Utc::now();
    let (json, callback, events) = st.with_store(|s| {
        let p = s.toss.payments.get_mut(key).ok_or_else(TossError::not_found_payment)?;
        if p.status != TossStatus::WaitingForDeposit {
            return Err(TossError::new(
                StatusCode::CONFLICT,
                "PAYMENT_NOT_WAITING_FOR_DEPOSIT",
                format!(
                    "입금 대기(WAITING_FOR_DEPOSIT) 상태가 아닙니다. ({})",
                    p.status.as_str()
                ),
            ));
        }
        p.status = TossStatus::Done;
        p.approved_at = Some(now);
        let tx = new_transaction_key();
        p.last_transaction_key = Some(tx.clone());
        if let Some(va) = p.virtual_account.as_mut() {
            va.settlement_status = "COMPLETED".into();
        }
        let callback = (p.secret.clone().unwrap_or_default(), p.order_id.clone(), tx);
        let events: Vec<Emit> = vec![status_changed(p, &st.config)];
        Ok((views::payment(p, &st.config.toss), callback, events))
    })?;
    run(st, events);
    let (secret, order_id, tx) = callback;
    webhook::deposit_callback(st, &secret, "DONE", &order_id, &tx);
    Ok(json)
}
