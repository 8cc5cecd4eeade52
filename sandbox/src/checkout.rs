//! The browser-SDK side: request validation, checkout sessions, the PG window,
//! the SDK stand-in script and the admin drivers that skip the browser.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone as _, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::Channel;
use crate::rest::JsonBody;
use crate::store::{lock, new_id, AppState, BillingKeyRec, PaymentRec, Status, Store};
use crate::webhook;

const SDK_JS: &str = include_str!("assets/browser-sdk.js");
const WINDOW_JS: &str = include_str!("assets/window.js");

const PAY_METHODS: &[&str] = &[
    "CARD",
    "VIRTUAL_ACCOUNT",
    "TRANSFER",
    "MOBILE",
    "GIFT_CERTIFICATE",
    "EASY_PAY",
    "PAYPAL",
    "ALIPAY",
    "CONVENIENCE_STORE",
    "ALIPAY_PLUS",
];
const BILLING_METHODS: &[&str] = &["CARD", "MOBILE", "EASY_PAY", "PAYPAL"];

/// An error the real SDK raises before opening a window (the promise rejects).
#[derive(Debug, Clone)]
pub(crate) struct SdkError {
    pub code: &'static str,
    pub message: String,
}

fn invalid(message: impl Into<String>) -> SdkError {
    SdkError {
        code: "InvalidArgument",
        message: message.into(),
    }
}

impl IntoResponse for SdkError {
    fn into_response(self) -> Response {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({ "code": self.code, "message": self.message })),
        )
            .into_response()
    }
}

/// A JSON body whose rejections answer in the SDK's `{code, message}` shape.
pub(crate) struct SdkJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for SdkJson<T> {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match JsonBody::<T>::from_request(req, state).await {
            Ok(JsonBody(v)) => Ok(SdkJson(v)),
            Err(e) => Err((
                e.status,
                Json(json!({ "code": "InvalidArgument", "message": e.message })),
            )
                .into_response()),
        }
    }
}

/// How the PG window is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Iframe,
    Popup,
    Redirect,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Iframe => "IFRAME",
            Mode::Popup => "POPUP",
            Mode::Redirect => "REDIRECTION",
        }
    }
}

/// What a billing-key session will issue.
#[derive(Debug, Clone)]
pub(crate) struct BillingPlan {
    channel_key: String,
    method: String,
    customer: Value,
    custom_data: Option<String>,
    issue_id: Option<String>,
    issue_name: Option<String>,
    notice_urls: Vec<String>,
}

/// One opened PG window.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    id: String,
    payment_id: Option<String>,
    tx_id: String,
    mode: Mode,
    redirect_url: Option<String>,
    preset: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    title: String,
    amount: Option<(i64, String)>,
    channel_name: String,
    billing: Option<BillingPlan>,
    result: Option<Value>,
    redirect_to: Option<String>,
}

/// A validated payment request, ready to open.
struct PaymentPlan {
    payment: PaymentRec,
    mode: Mode,
    redirect_url: Option<String>,
    preset: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    channel_name: String,
}

// ---------- field helpers ----------

fn field<'a>(req: &'a Value, name: &str) -> Option<&'a Value> {
    req.get(name).filter(|v| !v.is_null())
}

fn opt_str(req: &Value, name: &str) -> Result<Option<String>, SdkError> {
    match field(req, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("`{name}` must be a string"))),
    }
}

fn req_str(req: &Value, name: &str) -> Result<String, SdkError> {
    match opt_str(req, name)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(invalid(format!("`{name}` is required"))),
    }
}

fn opt_int(req: &Value, name: &str) -> Result<Option<i64>, SdkError> {
    match field(req, name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| invalid(format!("`{name}` must be an integer"))),
    }
}

fn opt_bool(req: &Value, name: &str) -> Result<bool, SdkError> {
    match field(req, name) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid(format!("`{name}` must be a boolean"))),
    }
}

fn http_url(s: &str, name: &str) -> Result<String, SdkError> {
    match reqwest::Url::parse(s) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Ok(s.to_owned()),
        _ => Err(invalid(format!("`{name}` must be an http(s) URL"))),
    }
}

/// `noticeUrls`: http(s) URLs, loopback only unless the sandbox allows external webhooks.
fn notice_urls(st: &AppState, req: &Value) -> Result<Vec<String>, SdkError> {
    match field(req, "noticeUrls") {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => {
                    webhook::check_target(&format!("noticeUrls[{i}]"), s, st.config.allow_external_webhooks)
                        .map_err(invalid)?;
                    Ok(s.clone())
                }
                _ => Err(invalid("`noticeUrls` must be an array of strings")),
            })
            .collect(),
        Some(_) => Err(invalid("`noticeUrls` must be an array of strings")),
    }
}

fn is_mobile(ua: &str) -> bool {
    ["Mobi", "Android", "iPhone", "iPad"].iter().any(|m| ua.contains(m))
}

/// Decides how the window opens; redirects need `redirectUrl`.
fn window_mode(req: &Value, ua: &str) -> Result<(Mode, Option<String>), SdkError> {
    let redirect_url = opt_str(req, "redirectUrl")?
        .map(|u| http_url(&u, "redirectUrl"))
        .transpose()?;
    let force = opt_bool(req, "forceRedirect")?;
    let wt = field(req, "windowType");
    if wt.is_some_and(|w| !w.is_object()) {
        return Err(invalid("`windowType` must be an object"));
    }
    let pick = |k: &str| -> Result<Option<String>, SdkError> {
        match wt {
            Some(w) => opt_str(w, k).map_err(|_| invalid(format!("`windowType.{k}` must be a string"))),
            None => Ok(None),
        }
    };
    let (pc, mobile) = (pick("pc")?, pick("mobile")?);
    let mode = if force {
        Mode::Redirect
    } else if is_mobile(ua) {
        match mobile.as_deref() {
            Some("IFRAME") => Mode::Iframe,
            Some("POPUP") => Mode::Popup,
            _ => Mode::Redirect,
        }
    } else {
        match pc.as_deref() {
            Some("POPUP") => Mode::Popup,
            Some("REDIRECTION") => Mode::Redirect,
            _ => Mode::Iframe,
        }
    };
    if mode == Mode::Redirect && redirect_url.is_none() {
        return Err(invalid(
            "리디렉션 방식의 결제창에는 `redirectUrl` 이 필요합니다. (redirectUrl is required for the redirection window)",
        ));
    }
    Ok((mode, redirect_url))
}

fn channel<'a>(st: &'a AppState, req: &Value) -> Result<&'a Channel, SdkError> {
    let store_id = req_str(req, "storeId")?;
    if store_id != st.config.store_id {
        return Err(SdkError {
            code: "StoreNotFound",
            message: format!("상점 아이디 {store_id} 에 해당하는 상점을 찾을 수 없습니다."),
        });
    }
    let key = match opt_str(req, "channelKey")? {
        Some(k) => k,
        None if field(req, "channelGroupId").is_some() => {
            return Err(SdkError {
                code: "ChannelNotFound",
                message: "the sandbox has no channel groups; pass `channelKey`".into(),
            })
        }
        None => return Err(invalid("`channelKey` or `channelGroupId` is required")),
    };
    st.config.channel(&key).ok_or_else(|| SdkError {
        code: "ChannelNotFound",
        message: format!("채널 키 {key} 에 해당하는 채널을 찾을 수 없습니다."),
    })
}

fn preset_outcome(req: &Value, sdk_outcome: Option<&str>) -> Result<Option<String>, SdkError> {
    let from_req = req
        .get("bypass")
        .and_then(|b| b.get("sandbox"))
        .and_then(|s| s.get("outcome"))
        .and_then(Value::as_str);
    match from_req.or(sdk_outcome) {
        None | Some("") => Ok(None),
        Some(o @ ("approve" | "decline" | "cancel" | "virtualAccount" | "payPending")) => Ok(Some(o.to_owned())),
        Some(o) => Err(invalid(format!(
            "sandbox outcome `{o}` is not approve, decline, cancel, virtualAccount or payPending"
        ))),
    }
}

/// `bypass.tosspay_v2.expiredTime` (`yyyy-MM-dd HH:mm:ss`, KST).
fn tosspay_expiry(req: &Value, ch: &Channel) -> Result<Option<DateTime<Utc>>, SdkError> {
    if !ch.is_tosspay() {
        return Ok(None);
    }
    let Some(raw) = req
        .get("bypass")
        .and_then(|b| b.get("tosspay_v2"))
        .and_then(|t| t.get("expiredTime"))
    else {
        return Ok(None);
    };
    let s = raw
        .as_str()
        .ok_or_else(|| invalid("`bypass.tosspay_v2.expiredTime` must be a string"))?;
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .map_err(|_| invalid("`bypass.tosspay_v2.expiredTime` must be yyyy-MM-dd HH:mm:ss"))?;
    let kst = FixedOffset::east_opt(9 * 3600).ok_or_else(|| invalid("time zone"))?;
    let at = kst
        .from_local_datetime(&naive)
        .single()
        .ok_or_else(|| invalid("`bypass.tosspay_v2.expiredTime` is not a valid time"))?
        .with_timezone(&Utc);
    if at > Utc::now() + chrono::Duration::minutes(60) {
        return Err(invalid(
            "`bypass.tosspay_v2.expiredTime` must be at most 60 minutes ahead",
        ));
    }
    Ok(Some(at))
}

/// SDK-request `customer` -> REST `Customer`.
fn sdk_customer(req: &Value) -> Result<Value, SdkError> {
    let Some(c) = field(req, "customer") else {
        return Ok(json!({}));
    };
    if !c.is_object() {
        return Err(invalid("`customer` must be an object"));
    }
    let mut o = serde_json::Map::new();
    let s = |k: &str| opt_str(c, k).map_err(|_| invalid(format!("`customer.{k}` must be a string")));
    if let Some(v) = s("customerId")? {
        o.insert("id".into(), v.into());
    }
    let name = match (s("fullName")?, s("firstName")?, s("lastName")?) {
        (Some(f), _, _) => Some(f),
        (None, Some(f), Some(l)) => Some(format!("{l}{f}")),
        (None, Some(f), None) => Some(f),
        (None, None, Some(l)) => Some(l),
        _ => None,
    };
    if let Some(n) = name {
        o.insert("name".into(), n.into());
    }
    for (from, to) in [
        ("phoneNumber", "phoneNumber"),
        ("email", "email"),
        ("zipcode", "zipcode"),
        ("gender", "gender"),
        ("birthYear", "birthYear"),
        ("birthMonth", "birthMonth"),
        ("birthDay", "birthDay"),
    ] {
        if let Some(v) = c.get(from).filter(|v| !v.is_null()) {
            o.insert(to.into(), v.clone());
        }
    }
    Ok(Value::Object(o))
}

fn custom_data(req: &Value) -> Option<String> {
    field(req, "customData").map(|v| v.to_string())
}

// ---------- payments ----------

fn validate_payment(
    st: &AppState,
    req: &Value,
    ua: &str,
    sdk_outcome: Option<&str>,
    bypass_pre_registration: bool,
) -> Result<PaymentPlan, SdkError> {
    if !req.is_object() {
        return Err(invalid("the payment request must be an object"));
    }
    let ch = channel(st, req)?;
    let payment_id = req_str(req, "paymentId")?;
    let order_name = req_str(req, "orderName")?;
    let total = opt_int(req, "totalAmount")?.ok_or_else(|| invalid("`totalAmount` is required"))?;
    if total <= 0 {
        return Err(invalid("`totalAmount` must be positive"));
    }
    let tax_free = opt_int(req, "taxFreeAmount")?.unwrap_or(0);
    if tax_free < 0 || tax_free > total {
        return Err(invalid("`taxFreeAmount` must be between 0 and totalAmount"));
    }
    let vat = opt_int(req, "vatAmount")?;
    let currency = req_str(req, "currency")?;
    let currency = currency.strip_prefix("CURRENCY_").unwrap_or(&currency).to_owned();
    let pay_method = req_str(req, "payMethod")?;
    if !PAY_METHODS.contains(&pay_method.as_str()) {
        return Err(invalid(format!("`payMethod` {pay_method} is not a PortOne pay method")));
    }
    if !ch.pay_methods.contains(&pay_method) {
        return Err(SdkError {
            code: "FailedPrecondition",
            message: format!("{} 채널은 {pay_method} 결제수단을 지원하지 않습니다.", ch.pg_provider),
        });
    }
    if ch.is_tosspay() && currency != "KRW" {
        return Err(invalid("토스페이는 KRW 결제만 지원합니다."));
    }
    let (mode, redirect_url) = window_mode(req, ua)?;
    let notice = notice_urls(st, req)?;
    let customer = sdk_customer(req)?;
    let preset = preset_outcome(req, sdk_outcome)?;
    let expires_at = tosspay_expiry(req, ch)?;
    let now = Utc::now();
    {
        let s = lock(&st.store);
        if let Some(p) = s.payments.get(&payment_id) {
            if p.status.was_paid() || matches!(p.status, Status::VirtualAccountIssued | Status::PayPending) {
                return Err(SdkError {
                    code: "PaymentAlreadyPaid",
                    message: format!("이미 결제가 완료된 결제 건입니다. (paymentId {payment_id})"),
                });
            }
        }
        if let (Some(pre), false) = (s.pre_registrations.get(&payment_id), bypass_pre_registration) {
            let amount_differs = pre.total_amount.is_some_and(|a| a != total)
                || pre.tax_free_amount.is_some_and(|a| a != tax_free)
                || pre
                    .currency
                    .as_deref()
                    .is_some_and(|c| c.strip_prefix("CURRENCY_").unwrap_or(c) != currency);
            if amount_differs {
                return Err(SdkError {
                    code: "AmountNotEqualToPredefined",
                    message: format!(
                        "사전 등록된 결제 정보와 일치하지 않습니다. (사전 등록 {:?} {:?}, 요청 {total} {currency})",
                        pre.total_amount, pre.currency
                    ),
                });
            }
        }
    }
    let payment = PaymentRec {
        id: payment_id,
        transaction_id: new_id("tx"),
        store_id: st.config.store_id.clone(),
        channel_key: ch.key.clone(),
        status: Status::Ready,
        pay_method,
        order_name,
        currency,
        total,
        tax_free,
        vat,
        customer,
        custom_data: custom_data(req),
        billing_key: None,
        schedule_id: None,
        notice_urls: notice,
        requested_at: now,
        updated_at: now,
        status_changed_at: now,
        paid_at: None,
        failed_at: None,
        failure: None,
        pg_tx_id: None,
        cancellations: Vec::new(),
        cancelled_at: None,
        virtual_account: None,
    };
    Ok(PaymentPlan {
        payment,
        mode,
        redirect_url,
        preset,
        expires_at,
        channel_name: ch.name.clone(),
    })
}

fn open_payment(st: &AppState, plan: PaymentPlan) -> Session {
    let p = plan.payment;
    let session = Session {
        id: new_id("session"),
        payment_id: Some(p.id.clone()),
        tx_id: p.transaction_id.clone(),
        mode: plan.mode,
        redirect_url: plan.redirect_url,
        preset: plan.preset,
        expires_at: plan.expires_at,
        title: p.order_name.clone(),
        amount: Some((p.total, p.currency.clone())),
        channel_name: plan.channel_name,
        billing: None,
        result: None,
        redirect_to: None,
    };
    let (id, tx, notice) = (p.id.clone(), p.transaction_id.clone(), p.notice_urls.clone());
    st.with_store(|s| {
        *s.attempts.entry(p.id.clone()).or_insert(0) += 1;
        s.payments.insert(p.id.clone(), p);
        s.sessions.insert(session.id.clone(), session.clone());
    });
    webhook::emit_transaction(st, "Transaction.Ready", &id, &tx, None, &notice);
    spawn_expiry(st, &session);
    session
}

fn spawn_expiry(st: &AppState, session: &Session) {
    if let Some(at) = session.expires_at {
        let st2 = st.clone();
        let id = session.id.clone();
        st.spawn(async move {
            let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            tokio::time::sleep(wait).await;
            // A window still open at expiry fails the payment.
            let _ = complete(&st2, &id, "expire");
        });
    }
}

fn pg_failure(tt: &str, session: &Session, pg_code: &str, pg_message: &str) -> Value {
    let mut v = json!({
        "transactionType": tt,
        "code": "FAILURE_TYPE_PG",
        "message": format!("[{pg_code}] {pg_message}"),
        "pgCode": pg_code,
        "pgMessage": pg_message,
    });
    if let Some(pid) = &session.payment_id {
        v["txId"] = session.tx_id.clone().into();
        v["paymentId"] = pid.clone().into();
    }
    v
}

const CANCEL: (&str, &str) = ("PAY_PROCESS_CANCELED", "사용자가 결제를 취소하였습니다.");
const DECLINE: (&str, &str) = ("INSUFFICIENT_BALANCE", "잔액이 부족합니다.");
const STALE: (&str, &str) = (
    "TRANSACTION_SUPERSEDED",
    "같은 paymentId의 다른 결제 시도가 진행되어 이 결제창은 더 이상 유효하지 않습니다.",
);
const EXPIRED: (&str, &str) = ("PAY_TIME_EXPIRED", "결제 유효 시간이 만료되었습니다.");

/// Finishes a session with an outcome (`approve`, `decline`, `cancel`,
/// `virtualAccount`, `expire`). Idempotent: a finished session returns its result.
pub(crate) fn complete(st: &AppState, session_id: &str, outcome: &str) -> Option<(Value, Option<String>)> {
    let now = Utc::now();
    // One lock for the state change and the session result, so two racing
    // completions (e.g. a popup's choice and its closing) cannot disagree.
    let (result, redirect_to, events) = st.with_store(|s| {
        let session = s.sessions.get(session_id)?.clone();
        if let Some(r) = &session.result {
            return Some((r.clone(), session.redirect_to.clone(), Vec::new()));
        }
        let outcome = if session.expires_at.is_some_and(|at| at <= now) {
            "expire"
        } else {
            outcome
        };
        let (result, events) = if session.billing.is_some() {
            complete_billing(s, &st.config.store_id, &session, outcome, now)
        } else {
            complete_payment(s, &session, outcome, now)
        };
        let redirect_to = match (session.mode, &session.redirect_url) {
            (Mode::Redirect, Some(u)) => Some(redirect_target(u, &result)),
            _ => None,
        };
        if let Some(x) = s.sessions.get_mut(session_id) {
            x.result = Some(result.clone());
            x.redirect_to = redirect_to.clone();
        }
        Some((result, redirect_to, events))
    })?;
    for e in events {
        e(st);
    }
    Some((result, redirect_to))
}

type Emit = Box<dyn FnOnce(&AppState)>;

fn complete_payment(s: &mut Store, session: &Session, outcome: &str, now: DateTime<Utc>) -> (Value, Vec<Emit>) {
    let pid = session.payment_id.clone().unwrap_or_default();
    let tx = session.tx_id.clone();
    let applied = (|| {
        let p = s
            .payments
            .get_mut(&pid)
            .filter(|p| p.transaction_id == tx && p.status == Status::Ready)?;
        let kind = match outcome {
            "payPending" => {
                p.set_status(Status::PayPending, now);
                p.pg_tx_id = Some(new_id("pgtx"));
                "Transaction.PayPending"
            }
            "approve" if p.pay_method != "VIRTUAL_ACCOUNT" => {
                p.set_status(Status::Paid, now);
                p.paid_at = Some(now);
                p.pg_tx_id = Some(new_id("pgtx"));
                "Transaction.Paid"
            }
            "approve" | "virtualAccount" => {
                p.pay_method = "VIRTUAL_ACCOUNT".into();
                p.set_status(Status::VirtualAccountIssued, now);
                p.pg_tx_id = Some(new_id("pgtx"));
                p.virtual_account = Some((
                    format!("5621{:08}", rand::random::<u32>() % 100_000_000),
                    "SHINHAN".into(),
                    now + chrono::Duration::days(3),
                ));
                "Transaction.VirtualAccountIssued"
            }
            other => {
                let (code, msg) = match other {
                    "decline" => DECLINE,
                    "expire" => EXPIRED,
                    _ => CANCEL,
                };
                p.set_status(Status::Failed, now);
                p.failed_at = Some(now);
                p.failure = Some((msg.into(), code.into(), msg.into()));
                "Transaction.Failed"
            }
        };
        Some((kind, p.notice_urls.clone()))
    })();
    let result = match outcome {
        // Another attempt with the same paymentId replaced or finished this one.
        "approve" | "virtualAccount" | "payPending" if applied.is_none() => {
            pg_failure("PAYMENT", session, STALE.0, STALE.1)
        }
        "approve" | "virtualAccount" | "payPending" => {
            json!({"transactionType": "PAYMENT", "txId": tx, "paymentId": pid})
        }
        "decline" => pg_failure("PAYMENT", session, DECLINE.0, DECLINE.1),
        "expire" => pg_failure("PAYMENT", session, EXPIRED.0, EXPIRED.1),
        _ => pg_failure("PAYMENT", session, CANCEL.0, CANCEL.1),
    };
    let mut events: Vec<Emit> = Vec::new();
    if let Some((kind, notice)) = applied {
        events.push(Box::new(move |st: &AppState| {
            webhook::emit_transaction(st, kind, &pid, &tx, None, &notice)
        }));
    }
    (result, events)
}

fn complete_billing(
    s: &mut Store,
    store_id: &str,
    session: &Session,
    outcome: &str,
    now: DateTime<Utc>,
) -> (Value, Vec<Emit>) {
    let Some(plan) = session.billing.clone() else {
        return (Value::Null, Vec::new());
    };
    let mut events: Vec<Emit> = Vec::new();
    let notice = plan.notice_urls.clone();
    match outcome {
        "approve" | "virtualAccount" => {
            let key = new_id("billing-key");
            let rec = BillingKeyRec {
                billing_key: key.clone(),
                store_id: store_id.to_owned(),
                channel_key: plan.channel_key,
                method: plan.method,
                customer: plan.customer,
                custom_data: plan.custom_data,
                issue_id: plan.issue_id,
                issue_name: plan.issue_name,
                notice_urls: plan.notice_urls,
                requested_at: now,
                issued_at: now,
                deleted_at: None,
                revision: 0,
            };
            s.billing_keys.insert(key.clone(), rec);
            let k2 = key.clone();
            events.push(Box::new(move |st: &AppState| {
                webhook::emit_billing_key(st, "BillingKey.Issued", &k2, &notice)
            }));
            (
                json!({"transactionType": "ISSUE_BILLING_KEY", "billingKey": key}),
                events,
            )
        }
        "decline" | "expire" => {
            let (code, msg) = if outcome == "decline" { DECLINE } else { EXPIRED };
            (pg_failure("ISSUE_BILLING_KEY", session, code, msg), events)
        }
        _ => (pg_failure("ISSUE_BILLING_KEY", session, CANCEL.0, CANCEL.1), events),
    }
}

/// `redirectUrl` plus the result as query parameters (existing query kept).
fn redirect_target(redirect_url: &str, result: &Value) -> String {
    let Ok(mut url) = reqwest::Url::parse(redirect_url) else {
        return redirect_url.to_owned();
    };
    {
        let mut q = url.query_pairs_mut();
        for k in [
            "paymentId",
            "transactionType",
            "txId",
            "billingKey",
            "billingIssueToken",
            "code",
            "message",
            "pgCode",
            "pgMessage",
        ] {
            if let Some(v) = result.get(k).and_then(Value::as_str) {
                q.append_pair(k, v);
            }
        }
    }
    url.to_string()
}

// ---------- billing keys ----------

fn validate_billing(st: &AppState, req: &Value, ua: &str, sdk_outcome: Option<&str>) -> Result<Session, SdkError> {
    if !req.is_object() {
        return Err(invalid("the billing key request must be an object"));
    }
    let ch = channel(st, req)?;
    let method = req_str(req, "billingKeyMethod")?;
    if !BILLING_METHODS.contains(&method.as_str()) {
        return Err(invalid(format!(
            "`billingKeyMethod` {method} is not a PortOne billing key method"
        )));
    }
    if !ch.billing_key_methods.contains(&method) {
        return Err(SdkError {
            code: "FailedPrecondition",
            message: format!("{} 채널은 {method} 빌링키 발급을 지원하지 않습니다.", ch.pg_provider),
        });
    }
    let customer = sdk_customer(req)?;
    if ch.is_tosspay() {
        match customer.get("id").and_then(Value::as_str) {
            Some(id) if !id.trim().is_empty() && id.chars().count() <= 50 => {}
            Some(_) => {
                return Err(invalid(
                    "토스페이 빌링키 발급의 `customer.customerId` 는 1~50자여야 합니다.",
                ))
            }
            None => return Err(invalid("토스페이 빌링키 발급에는 `customer.customerId` 가 필요합니다.")),
        }
    }
    let (mode, redirect_url) = window_mode(req, ua)?;
    let issue_name = opt_str(req, "issueName")?;
    Ok(Session {
        id: new_id("session"),
        payment_id: None,
        tx_id: new_id("tx"),
        mode,
        redirect_url,
        preset: preset_outcome(req, sdk_outcome)?,
        expires_at: tosspay_expiry(req, ch)?,
        title: issue_name.clone().unwrap_or_else(|| "빌링키 발급".into()),
        amount: opt_int(req, "displayAmount")?.map(|a| {
            (
                a,
                opt_str(req, "currency").ok().flatten().unwrap_or_else(|| "KRW".into()),
            )
        }),
        channel_name: ch.name.clone(),
        billing: Some(BillingPlan {
            channel_key: ch.key.clone(),
            method,
            customer,
            custom_data: custom_data(req),
            issue_id: opt_str(req, "issueId")?,
            issue_name,
            notice_urls: notice_urls(st, req)?,
        }),
        result: None,
        redirect_to: None,
    })
}

fn open_billing(st: &AppState, session: Session) -> Session {
    st.with_store(|s| s.sessions.insert(session.id.clone(), session.clone()));
    spawn_expiry(st, &session);
    session
}

// ---------- HTTP handlers ----------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SdkStart {
    request: Value,
    #[serde(default)]
    user_agent: String,
    outcome: Option<String>,
}

fn session_json(session: &Session) -> Value {
    json!({
        "sessionId": session.id,
        "windowUrl": format!("/__sandbox/window/{}", session.id),
        "mode": session.mode.as_str(),
    })
}

/// `POST /__sandbox/sdk/payment`: what `requestPayment` calls.
pub(crate) async fn sdk_payment(
    State(st): State<AppState>,
    SdkJson(body): SdkJson<SdkStart>,
) -> Result<Json<Value>, SdkError> {
    let plan = validate_payment(&st, &body.request, &body.user_agent, body.outcome.as_deref(), false)?;
    let session = open_payment(&st, plan);
    Ok(Json(session_json(&session)))
}

/// `POST /__sandbox/sdk/issue-billing-key`: what `requestIssueBillingKey` calls.
pub(crate) async fn sdk_billing(
    State(st): State<AppState>,
    SdkJson(body): SdkJson<SdkStart>,
) -> Result<Json<Value>, SdkError> {
    let session = validate_billing(&st, &body.request, &body.user_agent, body.outcome.as_deref())?;
    let session = open_billing(&st, session);
    Ok(Json(session_json(&session)))
}

#[derive(Deserialize)]
pub(crate) struct CompleteBody {
    outcome: String,
}

/// `POST /__sandbox/sdk/sessions/{id}/complete`: the window's buttons.
pub(crate) async fn sdk_complete(
    State(st): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CompleteBody>,
) -> Response {
    if !matches!(
        body.outcome.as_str(),
        "approve" | "decline" | "cancel" | "virtualAccount" | "payPending" | "expire"
    ) {
        return invalid("unknown outcome").into_response();
    }
    match complete(&st, &id, &body.outcome) {
        Some((result, redirect_to)) => Json(json!({ "result": result, "redirectTo": redirect_to })).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"code": "NotFound", "message": "unknown session"})),
        )
            .into_response(),
    }
}

/// Admin driver body for `/__sandbox/pay` and `/__sandbox/issue-billing-key`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DriveBody {
    request: Value,
    outcome: String,
    #[serde(default)]
    bypass_pre_registration: bool,
    user_agent: Option<String>,
}

fn check_outcome(o: &str) -> Result<(), SdkError> {
    if matches!(o, "approve" | "decline" | "cancel" | "virtualAccount" | "payPending") {
        Ok(())
    } else {
        Err(invalid(format!(
            "outcome `{o}` is not approve, decline, cancel, virtualAccount or payPending"
        )))
    }
}

/// `POST /__sandbox/pay`: a whole checkout without a browser.
pub(crate) async fn drive_pay(
    State(st): State<AppState>,
    SdkJson(body): SdkJson<DriveBody>,
) -> Result<Json<Value>, SdkError> {
    check_outcome(&body.outcome)?;
    let ua = body.user_agent.unwrap_or_default();
    let plan = validate_payment(&st, &body.request, &ua, None, body.bypass_pre_registration)?;
    let session = open_payment(&st, plan);
    let (result, _) = complete(&st, &session.id, &body.outcome).unwrap_or((Value::Null, None));
    Ok(Json(result))
}

/// `POST /__sandbox/issue-billing-key`: a billing-key issue without a browser.
pub(crate) async fn drive_billing(
    State(st): State<AppState>,
    SdkJson(body): SdkJson<DriveBody>,
) -> Result<Json<Value>, SdkError> {
    check_outcome(&body.outcome)?;
    let ua = body.user_agent.unwrap_or_default();
    let session = validate_billing(&st, &body.request, &ua, None)?;
    let session = open_billing(&st, session);
    let (result, _) = complete(&st, &session.id, &body.outcome).unwrap_or((Value::Null, None));
    Ok(Json(result))
}

/// `GET /v2/browser-sdk.js`.
pub(crate) async fn sdk_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        SDK_JS,
    )
        .into_response()
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `12345, KRW` -> `12,345원`; other currencies in major units.
pub(crate) fn format_amount(amount: i64, currency: &str) -> String {
    let group = |n: i64| {
        let digits = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(ch);
        }
        if n < 0 {
            format!("-{out}")
        } else {
            out
        }
    };
    match currency {
        "KRW" => format!("{}원", group(amount)),
        "JPY" => format!("{} JPY", group(amount)),
        other => format!("{}.{:02} {other}", group(amount / 100), (amount % 100).abs()),
    }
}

/// `GET /__sandbox/window/{id}`: the PG window.
pub(crate) async fn window_page(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(session) = lock(&st.store).sessions.get(&id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Html("<!doctype html><meta charset=utf-8><title>PortOne sandbox</title><p>결제창 세션을 찾을 수 없습니다.</p>".to_owned()),
        )
            .into_response();
    };
    let amount = session
        .amount
        .as_ref()
        .map(|(a, c)| format_amount(*a, c))
        .unwrap_or_default();
    let expires_in = session
        .expires_at
        .map(|at| (at - Utc::now()).num_milliseconds().max(0).to_string())
        .unwrap_or_default();
    let kind = if session.billing.is_some() {
        "빌링키 발급"
    } else {
        "결제"
    };
    let html = format!(
        r#"<!doctype html>
<html lang="ko"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PortOne sandbox {kind}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#191f28}}
main{{max-width:420px;margin:24px auto;background:#fff;border-radius:12px;padding:24px;box-shadow:0 2px 12px #0002}}
.badge{{display:inline-block;background:#ffe08a;border-radius:6px;padding:2px 8px;font-size:12px}}
dl{{display:grid;grid-template-columns:auto 1fr;gap:6px 12px}} dt{{color:#6b7684}} dd{{margin:0;font-weight:600;word-break:break-all}}
button{{display:block;width:100%;margin-top:10px;padding:12px;font-size:16px;border-radius:8px;border:1px solid #d1d6db;background:#fff;cursor:pointer}}
button.primary{{background:#3182f6;color:#fff;border-color:#3182f6}}
#status{{margin-top:12px;color:#6b7684;min-height:1.2em}}
</style></head>
<body data-session="{sid}" data-mode="{mode}" data-preset="{preset}" data-expires-in="{expires_in}">
<main>
<p class="badge">PortOne sandbox · TEST · {channel}</p>
<h1 style="font-size:20px">{kind}</h1>
<dl>
<dt>상점</dt><dd data-testid="sandbox-store">{store}</dd>
<dt>주문명</dt><dd data-testid="sandbox-order-name">{title}</dd>
<dt>금액</dt><dd data-testid="sandbox-amount">{amount}</dd>
</dl>
<button class="primary" data-testid="sandbox-approve" data-outcome="approve">승인 (approve)</button>
<button data-testid="sandbox-decline" data-outcome="decline">거절 (decline: 잔액 부족)</button>
<button data-testid="sandbox-cancel" data-outcome="cancel">취소 (cancel)</button>
<p id="status" data-testid="sandbox-status"></p>
</main>
<script>{script}</script>
</body></html>"#,
        sid = escape_html(&session.id),
        mode = session.mode.as_str(),
        preset = escape_html(session.preset.as_deref().unwrap_or("")),
        expires_in = expires_in,
        channel = escape_html(&session.channel_name),
        store = escape_html(&st.config.store_id),
        title = escape_html(&session.title),
        amount = escape_html(&amount),
        script = WINDOW_JS,
    );
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// `GET /__sandbox/payments/{id}/attempts` support.
pub(crate) fn attempts(st: &AppState, payment_id: &str) -> u32 {
    lock(&st.store).attempts.get(payment_id).copied().unwrap_or(0)
}
