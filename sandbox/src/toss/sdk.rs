//! Toss Payments' browser SDK v2 stand-in: `GET /toss/v2/standard` (defines
//! `window.TossPayments`, with the configured client key baked in so
//! `TossPayments(clientKey)` can throw synchronously like the real SDK), the
//! routes it calls to open a window (`POST /__sandbox/sdk/toss/payment` and
//! `.../billing-auth`, CORS-enabled since merchant pages are on other
//! origins), and the request validation the SDK does before a window opens,
//! answered as `{code, message}` (the script rejects its promise with it).
//! The test drivers (`drivers.rs`) validate through the same functions.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;
use tower_http::cors::CorsLayer;

use super::checkout::{self, BillingAuthPlan, PaymentPlan};
use super::error::{TossError, TossJson};
use super::json::new_payment_key;
use super::records::{TossPayment, TossStatus};
use crate::store::{lock, new_id, AppState};
use crate::window::{self, Mode, Outcome, Session, View};

/// The script: the stand-ins' shared window machinery (`sdk-window.js`,
/// defining `window.__portoneSandboxWindow` once per page), then `toss-sdk.js`.
const SDK_JS: &str = concat!(
    include_str!("../assets/sdk-window.js"),
    include_str!("../assets/toss-sdk.js")
);

/// `TossPayments.ANONYMOUS`: the customer key of a guest checkout.
pub(crate) const ANONYMOUS: &str = "@@ANONYMOUS";

/// The SDK routes, with permissive CORS.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/toss/v2/standard", get(sdk_js))
        .route("/__sandbox/sdk/toss/payment", post(sdk_payment))
        .route("/__sandbox/sdk/toss/billing-auth", post(sdk_billing_auth))
        .layer(CorsLayer::permissive())
}

/// Methods of `requestPayment` and their minimum amounts (KRW).
const METHODS: &[(&str, i64)] = &[
    ("CARD", 100),
    ("TRANSFER", 200),
    ("VIRTUAL_ACCOUNT", 1),
    ("MOBILE_PHONE", 300),
    ("CULTURE_GIFT_CERTIFICATE", 1),
    ("FOREIGN_EASY_PAY", 1),
];

fn field<'a>(req: &'a Value, name: &str) -> Option<&'a Value> {
    req.get(name).filter(|v| !v.is_null())
}

fn opt_str(req: &Value, name: &str, max: usize) -> Result<Option<String>, TossError> {
    match field(req, name) {
        None => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(TossError::sdk(
            "INVALID_PARAMETERS",
            format!("`{name}` 은(는) 최대 {max}자입니다."),
        )),
        Some(_) => Err(TossError::sdk(
            "INVALID_PARAMETERS",
            format!("`{name}` 은(는) 문자열이어야 합니다."),
        )),
    }
}

/// The client key check `TossPayments(clientKey)` does (the script does it too, synchronously).
pub(super) fn check_client_key(st: &AppState, client_key: &str) -> Result<(), TossError> {
    if client_key.starts_with("test_sk_") || client_key.starts_with("live_sk_") {
        return Err(TossError::sdk(
            "INVALID_CLIENT_KEY",
            "시크릿 키는 클라이언트 키로 사용할 수 없습니다. (a secret key is not a client key)",
        ));
    }
    if client_key != st.config.toss.client_key {
        return Err(TossError::sdk(
            "INVALID_CLIENT_KEY",
            format!("클라이언트 키가 올바르지 않습니다. ({client_key})"),
        ));
    }
    Ok(())
}

/// Whether a customer key is 2-50 characters of letters, digits, `- _ = . @`.
pub(crate) fn is_customer_key(key: &str) -> bool {
    (2..=50).contains(&key.chars().count())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '=' | '.' | '@'))
}

/// The customer key check `payment({customerKey})` does.
pub(super) fn check_customer_key(key: &str, allow_anonymous: bool) -> Result<(), TossError> {
    if key == ANONYMOUS {
        return if allow_anonymous {
            Ok(())
        } else {
            Err(TossError::sdk(
                "INVALID_CUSTOMER_KEY",
                "자동결제(빌링)에는 TossPayments.ANONYMOUS 를 쓸 수 없습니다. 구매자별 customerKey 를 넘겨주세요.",
            ))
        };
    }
    if key.starts_with("test_sk_") || key.starts_with("live_sk_") {
        return Err(TossError::sdk(
            "INSECURE_KEY_USAGE",
            "customerKey 에 시크릿 키를 사용할 수 없습니다.",
        ));
    }
    if !is_customer_key(key) {
        return Err(TossError::sdk(
            "INVALID_CUSTOMER_KEY",
            "customerKey 는 영문 대소문자, 숫자, 특수문자 -, _, =, ., @ 로 이루어진 2자 이상 50자 이하의 문자열이어야 합니다.",
        ));
    }
    Ok(())
}

/// Whether an order id is 6-64 characters of letters, digits, `-`, `_`, `=`.
pub(crate) fn is_order_id(id: &str) -> bool {
    (6..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '='))
}

/// An absolute http(s) URL, else `code`.
fn url_field(req: &Value, name: &str, code: &'static str) -> Result<Option<String>, TossError> {
    let bad = || {
        TossError::sdk(
            code,
            format!(
                "`{name}` 은(는) 오리진을 포함한 http(s) URL 이어야 합니다. (e.g. https://www.example.com/success)"
            ),
        )
    };
    match field(req, name) {
        None => Ok(None),
        Some(Value::String(s)) => match url::Url::parse(s) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(Some(s.clone())),
            _ => Err(bad()),
        },
        Some(_) => Err(bad()),
    }
}

/// `successUrl` and `failUrl`: both or neither.
fn return_urls(req: &Value) -> Result<Option<(String, String)>, TossError> {
    let success = url_field(req, "successUrl", "INCORRECT_SUCCESS_URL_FORMAT")?;
    let fail = url_field(req, "failUrl", "INCORRECT_FAIL_URL_FORMAT")?;
    match (success, fail) {
        (Some(s), Some(f)) => Ok(Some((s, f))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(TossError::sdk(
            "INCORRECT_FAIL_URL_FORMAT",
            "`successUrl` 을 넘겼다면 `failUrl` 도 넘겨주세요. (successUrl and failUrl go together)",
        )),
        (None, Some(_)) => Err(TossError::sdk(
            "INCORRECT_SUCCESS_URL_FORMAT",
            "`failUrl` 을 넘겼다면 `successUrl` 도 넘겨주세요. (successUrl and failUrl go together)",
        )),
    }
}

/// How the window opens: `windowTarget` (`iframe` default on PC, `self`; a
/// phone always gets the full page and may not ask for `iframe`).
fn window_mode(req: &Value, ua: &str) -> Result<Mode, TossError> {
    let target = opt_str(req, "windowTarget", 10)?;
    let mobile = window::is_mobile(ua);
    match target.as_deref() {
        None | Some("iframe") if !mobile => Ok(Mode::Iframe),
        Some("iframe") => Err(TossError::sdk(
            "INVALID_PARAMETERS",
            "모바일 환경에서는 windowTarget 으로 iframe 을 사용할 수 없습니다.",
        )),
        None | Some("self") => Ok(Mode::Redirect),
        Some(other) => Err(TossError::sdk(
            "INVALID_PARAMETERS",
            format!("windowTarget 은 iframe 또는 self 여야 합니다. ({other})"),
        )),
    }
}

/// The pre-selected outcome (the script's `?outcome=`).
fn preset_outcome(sdk_outcome: Option<&str>) -> Result<Option<Outcome>, TossError> {
    match sdk_outcome {
        None | Some("") => Ok(None),
        Some(o) => Outcome::parse_choice(o).map(Some).ok_or_else(|| {
            TossError::sdk(
                "INVALID_PARAMETERS",
                format!("sandbox outcome `{o}` is not approve, decline, cancel or virtualAccount"),
            )
        }),
    }
}

fn check_object(req: &Value, name: &str) -> Result<(), TossError> {
    match field(req, name) {
        None | Some(Value::Object(_)) => Ok(()),
        Some(_) => Err(TossError::sdk(
            "INVALID_PARAMETERS",
            format!("`{name}` 은(는) 객체여야 합니다."),
        )),
    }
}

/// `metadata`: an object of at most 5 entries, keys up to 40 and values up to 500 characters.
fn metadata(req: &Value) -> Result<Option<Value>, TossError> {
    let bad = |why: &str| TossError::sdk("INVALID_METADATA", format!("metadata 가 올바르지 않습니다. ({why})"));
    match field(req, "metadata") {
        None => Ok(None),
        Some(Value::Object(m)) => {
            if m.len() > 5 {
                return Err(bad("at most 5 keys"));
            }
            for (k, v) in m {
                if k.chars().count() > 40 {
                    return Err(bad("keys are at most 40 characters"));
                }
                let len = match v {
                    Value::String(s) => s.chars().count(),
                    Value::Object(_) | Value::Array(_) => return Err(bad("values are strings or numbers")),
                    other => other.to_string().len(),
                };
                if len > 500 {
                    return Err(bad("values are at most 500 characters"));
                }
            }
            Ok(Some(Value::Object(m.clone())))
        }
        Some(_) => Err(bad("an object")),
    }
}

// ---------- payments ----------

/// Validates `payment({customerKey}).requestPayment(req)` into a payment ready to open.
pub(super) fn validate_payment(
    st: &AppState,
    client_key: &str,
    customer_key: &str,
    req: &Value,
    ua: &str,
    sdk_outcome: Option<&str>,
) -> Result<PaymentPlan, TossError> {
    check_client_key(st, client_key)?;
    check_customer_key(customer_key, true)?;
    if !req.is_object() {
        return Err(TossError::sdk(
            "INVALID_PARAMETERS",
            "결제 요청 정보는 객체여야 합니다.",
        ));
    }
    let method = match field(req, "method") {
        Some(Value::String(m)) => m.clone(),
        _ => {
            return Err(TossError::sdk(
                "NOT_SUPPORTED_METHOD",
                "`method` 는 CARD, TRANSFER, VIRTUAL_ACCOUNT, MOBILE_PHONE, CULTURE_GIFT_CERTIFICATE, FOREIGN_EASY_PAY 중 하나입니다.",
            ))
        }
    };
    let Some(&(_, minimum)) = METHODS.iter().find(|(m, _)| *m == method) else {
        return Err(TossError::sdk(
            "NOT_SUPPORTED_METHOD",
            format!("지원하지 않는 결제수단입니다. ({method})"),
        ));
    };
    let amount = field(req, "amount").filter(|a| a.is_object()).ok_or_else(|| {
        TossError::sdk(
            "INVALID_AMOUNT_VALUE",
            "`amount` 는 { currency, value } 객체여야 합니다.",
        )
    })?;
    if amount.get("currency").and_then(Value::as_str) != Some("KRW") {
        return Err(TossError::sdk(
            "INVALID_AMOUNT_CURRENCY",
            "결제 통화가 올바르지 않습니다. 샌드박스의 결제창은 KRW 만 지원합니다.",
        ));
    }
    let value = match amount.get("value") {
        Some(v) if v.as_i64().is_some() => v.as_i64().unwrap_or_default(),
        Some(v) if v.as_f64().is_some_and(|f| f < 0.0) => {
            return Err(TossError::sdk("BELOW_ZERO_AMOUNT", "결제 금액이 0원 미만입니다."))
        }
        _ => {
            return Err(TossError::sdk(
                "INVALID_AMOUNT_VALUE",
                "결제 금액(amount.value)은 정수여야 합니다.",
            ))
        }
    };
    if value < 0 {
        return Err(TossError::sdk("BELOW_ZERO_AMOUNT", "결제 금액이 0원 미만입니다."));
    }
    if value < minimum {
        return Err(TossError::sdk(
            "BELOW_MINIMUM_AMOUNT",
            format!("{method} 결제는 {minimum}원 이상부터 가능합니다. (요청 {value}원)"),
        ));
    }
    let order_id = match field(req, "orderId") {
        Some(Value::String(id)) if is_order_id(id) => id.clone(),
        _ => return Err(TossError::sdk(
            "INVALID_ORDER_ID",
            "orderId 는 영문 대소문자, 숫자, 특수문자 -, _, = 로 이루어진 6자 이상 64자 이하의 문자열이어야 합니다.",
        )),
    };
    let order_name = match field(req, "orderName") {
        Some(Value::String(n)) if !n.trim().is_empty() && n.chars().count() <= 100 => n.clone(),
        _ => {
            return Err(TossError::sdk(
                "INVALID_ORDER_NAME",
                "orderName 은 1자 이상 100자 이하의 문자열이어야 합니다.",
            ))
        }
    };
    let urls = return_urls(req)?;
    let mode = window_mode(req, ua)?;
    if urls.is_none() {
        if window::is_mobile(ua) {
            return Err(TossError::sdk(
                "NOT_SUPPORTED_PROMISE",
                "모바일 환경에서는 Promise 방식을 지원하지 않습니다. successUrl 과 failUrl 을 넘겨주세요.",
            ));
        }
        if mode == Mode::Redirect || method == "FOREIGN_EASY_PAY" {
            return Err(TossError::sdk(
                "NOT_SUPPORTED_PROMISE",
                "이 결제 방식은 Promise 방식을 지원하지 않습니다. successUrl 과 failUrl 을 넘겨주세요.",
            ));
        }
    }
    let tax_free = match field(req, "taxFreeAmount") {
        None => 0,
        Some(v) => match v.as_i64() {
            Some(t) if (0..=value).contains(&t) => t,
            _ => {
                return Err(TossError::sdk(
                    "INVALID_PARAMETERS",
                    "taxFreeAmount 는 0 이상 결제 금액 이하의 정수여야 합니다.",
                ))
            }
        },
    };
    let customer_email = opt_str(req, "customerEmail", 100)?;
    let customer_name = opt_str(req, "customerName", 100)?;
    let customer_mobile_phone = opt_str(req, "customerMobilePhone", 15)?;
    if customer_mobile_phone
        .as_deref()
        .is_some_and(|p| p.len() < 8 || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(TossError::sdk(
            "INVALID_PARAMETERS",
            "customerMobilePhone 은 숫자만 8자 이상 15자 이하입니다.",
        ));
    }
    for o in ["card", "transfer", "virtualAccount", "easyPay"] {
        check_object(req, o)?;
    }
    let valid_hours = match field(req, "virtualAccount").and_then(|v| field(v, "validHours")) {
        None => None,
        Some(h) => match h.as_i64() {
            Some(h) if (1..=720).contains(&h) => Some(h),
            _ => {
                return Err(TossError::sdk(
                    "INVALID_PARAMETERS",
                    "virtualAccount.validHours 는 1 이상 720 이하의 정수입니다.",
                ))
            }
        },
    };
    let metadata = metadata(req)?;
    let preset = preset_outcome(sdk_outcome)?;
    if lock(&st.store).toss.order_confirmed(&order_id, None) {
        return Err(TossError::duplicated_order_id());
    }
    let now = Utc::now();
    let deadline = now + chrono::Duration::from_std(st.config.toss.ready_ttl).unwrap_or(chrono::Duration::MAX);
    let payment = TossPayment {
        payment_key: new_payment_key(),
        order_id,
        order_name,
        billing: false,
        method,
        status: TossStatus::Ready,
        total_amount: value,
        tax_free_amount: tax_free,
        currency: "KRW".into(),
        customer_key: (customer_key != ANONYMOUS).then(|| customer_key.to_owned()),
        customer_name,
        customer_email,
        customer_mobile_phone,
        metadata,
        requested_at: now,
        approved_at: None,
        deadline: Some(deadline),
        last_transaction_key: None,
        cancels: Vec::new(),
        virtual_account: None,
        valid_hours,
        secret: None,
        failure: None,
        billing_key: None,
    };
    Ok(PaymentPlan {
        payment,
        mode,
        urls,
        preset,
    })
}

// ---------- billing auth ----------

/// Validates `payment({customerKey}).requestBillingAuth(req)` into its (not yet opened) window.
pub(super) fn validate_billing_auth(
    st: &AppState,
    client_key: &str,
    customer_key: &str,
    req: &Value,
    ua: &str,
    sdk_outcome: Option<&str>,
) -> Result<Session, TossError> {
    check_client_key(st, client_key)?;
    check_customer_key(customer_key, false)?;
    if !req.is_object() {
        return Err(TossError::sdk(
            "INVALID_PARAMETERS",
            "자동결제 등록 요청 정보는 객체여야 합니다.",
        ));
    }
    let method = match field(req, "method").and_then(Value::as_str) {
        Some(m @ ("CARD" | "TRANSFER")) => m.to_owned(),
        _ => {
            return Err(TossError::sdk(
                "NOT_SUPPORTED_METHOD",
                "자동결제(빌링) 등록의 `method` 는 CARD 또는 TRANSFER 입니다.",
            ))
        }
    };
    let (success_url, fail_url) = match return_urls(req)? {
        Some(u) => u,
        None => {
            return Err(TossError::sdk(
                "INCORRECT_SUCCESS_URL_FORMAT",
                "자동결제(빌링) 등록에는 successUrl 과 failUrl 이 필요합니다.",
            ))
        }
    };
    let mode = window_mode(req, ua)?;
    opt_str(req, "customerEmail", 100)?;
    let customer_name = opt_str(req, "customerName", 100)?;
    let preset = preset_outcome(sdk_outcome)?;
    let plan = BillingAuthPlan {
        customer_key: customer_key.to_owned(),
        method: method.clone(),
        success_url: success_url.clone(),
        fail_url,
    };
    let now = Utc::now();
    Ok(Session {
        id: new_id("session"),
        task: window::Task::Toss(checkout::Task::BillingAuth(plan)),
        mode,
        redirect_url: Some(success_url),
        preset,
        expires_at: Some(now + chrono::Duration::from_std(st.config.toss.ready_ttl).unwrap_or(chrono::Duration::MAX)),
        view: View {
            brand: checkout::BRAND,
            kind: "자동결제 등록",
            title: customer_name.unwrap_or_else(|| "자동결제(빌링) 등록".into()),
            amount: None,
            channel_name: super::json::method_label(&method).to_owned(),
        },
        result: None,
        redirect_to: None,
    })
}

// ---------- HTTP handlers ----------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SdkStart {
    client_key: String,
    customer_key: String,
    request: Value,
    #[serde(default)]
    user_agent: String,
    outcome: Option<String>,
}

/// `POST /__sandbox/sdk/toss/payment`: what `requestPayment` calls.
async fn sdk_payment(State(st): State<AppState>, TossJson(body): TossJson<SdkStart>) -> Result<Json<Value>, TossError> {
    let plan = validate_payment(
        &st,
        &body.client_key,
        &body.customer_key,
        &body.request,
        &body.user_agent,
        body.outcome.as_deref(),
    )?;
    let session = checkout::open_payment(&st, plan);
    Ok(Json(window::session_json(&session)))
}

/// `POST /__sandbox/sdk/toss/billing-auth`: what `requestBillingAuth` calls.
async fn sdk_billing_auth(
    State(st): State<AppState>,
    TossJson(body): TossJson<SdkStart>,
) -> Result<Json<Value>, TossError> {
    let session = validate_billing_auth(
        &st,
        &body.client_key,
        &body.customer_key,
        &body.request,
        &body.user_agent,
        body.outcome.as_deref(),
    )?;
    let session = window::open(&st, session);
    Ok(Json(window::session_json(&session)))
}

/// `GET /toss/v2/standard`: the script, with the sandbox's client key filled in.
async fn sdk_js(State(st): State<AppState>) -> Response {
    let key = serde_json::to_string(&st.config.toss.client_key).unwrap_or_else(|_| "\"\"".into());
    // `<` is escaped so a key can never close a script element.
    let key = key.replace('<', "\\u003c");
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        SDK_JS.replace("__SANDBOX_CLIENT_KEY__", &key),
    )
        .into_response()
}
