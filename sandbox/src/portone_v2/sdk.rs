//! PortOne V2's browser SDK stand-in: `GET /v2/browser-sdk.js` (which
//! defines `window.PortOne`), the routes it calls to open a window
//! (`POST /__sandbox/sdk/payment`, `POST /__sandbox/sdk/issue-billing-key`,
//! CORS-enabled since merchant pages are on other origins), and the request
//! validation the real SDK does before a window opens, answered as
//! [`SdkError`] `{code, message}` (the script rejects its promise with it).
//! The test drivers (`drivers.rs`) validate through the same functions.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone as _, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::cors::CorsLayer;

use super::checkout::{self, BillingPlan, PaymentPlan};
use crate::api::read_json;
use crate::config::Channel;
use crate::store::{lock, new_id, AppState, PaymentRec, Status};
use crate::webhook;
use crate::window::{self, Mode, Outcome, Session, View};

/// The script: the stand-ins' shared window machinery (`sdk-window.js`,
/// defining `window.__portoneSandboxWindow` once per page), then `browser-sdk.js`.
const SDK_JS: &str = concat!(
    include_str!("../assets/sdk-window.js"),
    include_str!("../assets/browser-sdk.js")
);

/// The SDK routes, with permissive CORS.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/browser-sdk.js", get(sdk_js))
        .route("/__sandbox/sdk/payment", post(sdk_payment))
        .route("/__sandbox/sdk/issue-billing-key", post(sdk_billing))
        .layer(CorsLayer::permissive())
}

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
pub(super) struct SdkError {
    pub code: &'static str,
    pub message: String,
}

pub(super) fn invalid(message: impl Into<String>) -> SdkError {
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
pub(super) struct SdkJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for SdkJson<T> {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match read_json::<T, S>(req, state).await {
            Ok(v) => Ok(SdkJson(v)),
            Err(e) => Err((
                e.status,
                Json(json!({ "code": "InvalidArgument", "message": e.message })),
            )
                .into_response()),
        }
    }
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
    } else if window::is_mobile(ua) {
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

/// The pre-selected outcome: `bypass.sandbox.outcome`, else the script's `?outcome=`.
fn preset_outcome(req: &Value, sdk_outcome: Option<&str>) -> Result<Option<Outcome>, SdkError> {
    let from_req = req
        .get("bypass")
        .and_then(|b| b.get("sandbox"))
        .and_then(|s| s.get("outcome"))
        .and_then(Value::as_str);
    match from_req.or(sdk_outcome) {
        None | Some("") => Ok(None),
        Some(o) => Outcome::parse_choice(o).map(Some).ok_or_else(|| {
            invalid(format!(
                "sandbox outcome `{o}` is not approve, decline, cancel, virtualAccount or payPending"
            ))
        }),
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

/// Validates a `requestPayment` request into a payment ready to open.
pub(super) fn validate_payment(
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

// ---------- billing keys ----------

/// Validates a `requestIssueBillingKey` request into its (not yet opened) window.
pub(super) fn validate_billing(
    st: &AppState,
    req: &Value,
    ua: &str,
    sdk_outcome: Option<&str>,
) -> Result<Session, SdkError> {
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
    let preset = preset_outcome(req, sdk_outcome)?;
    let expires_at = tosspay_expiry(req, ch)?;
    let amount = opt_int(req, "displayAmount")?.map(|a| {
        (
            a,
            opt_str(req, "currency").ok().flatten().unwrap_or_else(|| "KRW".into()),
        )
    });
    let plan = BillingPlan {
        channel_key: ch.key.clone(),
        method,
        customer,
        custom_data: custom_data(req),
        issue_id: opt_str(req, "issueId")?,
        issue_name: issue_name.clone(),
        notice_urls: notice_urls(st, req)?,
    };
    Ok(Session {
        id: new_id("session"),
        task: window::Task::PortOneV2(checkout::Task::IssueBillingKey(plan)),
        mode,
        redirect_url,
        preset,
        expires_at,
        view: View {
            brand: checkout::BRAND,
            kind: "빌링키 발급",
            title: issue_name.unwrap_or_else(|| "빌링키 발급".into()),
            amount,
            channel_name: ch.name.clone(),
        },
        result: None,
        redirect_to: None,
    })
}

// ---------- HTTP handlers ----------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SdkStart {
    request: Value,
    #[serde(default)]
    user_agent: String,
    outcome: Option<String>,
}

/// `POST /__sandbox/sdk/payment`: what `requestPayment` calls.
async fn sdk_payment(State(st): State<AppState>, SdkJson(body): SdkJson<SdkStart>) -> Result<Json<Value>, SdkError> {
    let plan = validate_payment(&st, &body.request, &body.user_agent, body.outcome.as_deref(), false)?;
    let session = checkout::open_payment(&st, plan);
    Ok(Json(window::session_json(&session)))
}

/// `POST /__sandbox/sdk/issue-billing-key`: what `requestIssueBillingKey` calls.
async fn sdk_billing(State(st): State<AppState>, SdkJson(body): SdkJson<SdkStart>) -> Result<Json<Value>, SdkError> {
    let session = validate_billing(&st, &body.request, &body.user_agent, body.outcome.as_deref())?;
    let session = window::open(&st, session);
    Ok(Json(window::session_json(&session)))
}

/// `GET /v2/browser-sdk.js`.
async fn sdk_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        SDK_JS,
    )
        .into_response()
}
