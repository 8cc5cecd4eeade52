//! PortOne V1's browser SDK stand-in: `GET /v1/iamport.js` (which defines
//! `window.IMP` with `init`, `agency` and `request_pay`), the route it calls
//! to open a window (`POST /__sandbox/v1/sdk/request-pay`, CORS-enabled since
//! merchant pages are on other origins), and the checks V1 makes before a
//! window opens. A refused request answers 400 with the callback object
//! (`success: false`, `imp_uid: null`, `error_code`, `error_msg`), which the
//! script hands to the merchant's callback as is. The driver
//! (`drivers.rs`) validates through [`validate`] too.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone as _, Utc};
use serde::Deserialize;
use serde_json::Value;
use tower_http::cors::CorsLayer;

use super::checkout::{self, Plan};
use super::json;
use super::params::{self, CASH_RECEIPT_OPTIONS};
use super::records::{V1Customer, V1Payment, V1Status};
use crate::api::read_json;
use crate::config::Channel;
use crate::store::{lock, AppState};
use crate::window::{self, Mode, Outcome};

/// The script: the stand-ins' shared window machinery (`sdk-window.js`,
/// defining `window.__portoneSandboxWindow` once per page), then `iamport.js`.
const IAMPORT_JS: &str = concat!(
    include_str!("../assets/sdk-window.js"),
    include_str!("../assets/iamport.js")
);

/// TossPay's V1 pay methods: every means, card only, account/points only.
const TOSSPAY_METHODS: &[&str] = &["tosspay", "tosspay_card", "tosspay_money"];

/// The SDK routes, with permissive CORS.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/iamport.js", get(iamport_js))
        .route("/__sandbox/v1/sdk/request-pay", post(request_pay))
        .layer(CorsLayer::permissive())
}

/// A `request_pay` refused before any window: answered 400 with the callback object.
#[derive(Debug, Clone)]
pub(super) struct SdkRefusal {
    pub code: &'static str,
    pub message: String,
    pub merchant_uid: Option<String>,
}

impl IntoResponse for SdkRefusal {
    fn into_response(self) -> Response {
        (
            StatusCode::BAD_REQUEST,
            Json(json::refused(self.merchant_uid.as_deref(), self.code, &self.message)),
        )
            .into_response()
    }
}

/// A JSON body whose rejections answer as a refused callback.
pub(super) struct SdkJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for SdkJson<T> {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match read_json::<T, S>(req, state).await {
            Ok(v) => Ok(SdkJson(v)),
            Err(e) => Err((e.status, Json(json::refused(None, "INVALID_PARAMETER", &e.message))).into_response()),
        }
    }
}

/// Everything `validate` needs besides the params.
pub(super) struct Request<'a> {
    /// The code given to `IMP.init` (none: `init` was not called).
    pub user_code: Option<&'a str>,
    pub params: &'a Value,
    pub user_agent: &'a str,
    /// The script's `?outcome=` (a request's `bypass.sandbox.outcome` wins).
    pub sdk_outcome: Option<&'a str>,
    /// Skip the pre-registered amount check (driver tampering tests).
    pub bypass_prepare: bool,
}

/// `channelKey`, else the deprecated `pg` (`tosspay_v2` or
/// `tosspay_v2.{pg merchant id}`), else the first TossPay channel (the
/// console's default PG). V1 here is TossPay only.
fn channel<'a>(st: &'a AppState, p: &Value) -> Result<&'a Channel, String> {
    let tosspay = |c: &&Channel| c.pg_provider == "tosspay_v2";
    let ch = if let Some(key) = params::opt_str(p, "channelKey")? {
        st.config
            .channel(&key)
            .ok_or_else(|| format!("채널 키 {key} 에 해당하는 채널을 찾을 수 없습니다."))?
    } else if let Some(pg) = params::opt_str(p, "pg")? {
        let (provider, mid) = pg.split_once('.').map_or((pg.as_str(), None), |(a, b)| (a, Some(b)));
        st.config
            .channels
            .iter()
            .filter(tosspay)
            .find(|c| provider == c.pg_provider && mid.is_none_or(|m| m == c.pg_merchant_id))
            .ok_or_else(|| format!("pg {pg} 에 해당하는 채널을 찾을 수 없습니다."))?
    } else {
        st.config
            .channels
            .iter()
            .find(tosspay)
            .ok_or_else(|| "기본 PG(tosspay_v2) 채널이 설정되어 있지 않습니다.".to_owned())?
    };
    if !tosspay(&ch) {
        return Err(format!(
            "the sandbox's V1 stand-in supports TossPay (tosspay_v2) channels only, not {}",
            ch.pg_provider
        ));
    }
    Ok(ch)
}

/// The pre-selected outcome: `bypass.sandbox.outcome`, else the script's `?outcome=`.
fn preset(p: &Value, sdk_outcome: Option<&str>) -> Result<Option<Outcome>, String> {
    let from_req = p
        .get("bypass")
        .and_then(|b| b.get("sandbox"))
        .and_then(|s| s.get("outcome"))
        .and_then(Value::as_str);
    match from_req.or(sdk_outcome) {
        None | Some("") => Ok(None),
        Some(o @ ("approve" | "decline" | "cancel")) => Ok(Outcome::parse_choice(o)),
        Some(o) => Err(format!("sandbox outcome `{o}` is not approve, decline or cancel")),
    }
}

/// A TossPay `bypass` option, under `bypass.tosspay_v2` or directly under `bypass`.
fn tosspay_bypass<'a>(p: &'a Value, name: &str) -> Option<&'a Value> {
    let b = p.get("bypass")?;
    b.get("tosspay_v2")
        .and_then(|t| t.get(name))
        .or_else(|| b.get(name))
        .filter(|v| !v.is_null())
}

/// TossPay `bypass.expiredTime` (`yyyy-MM-dd HH:mm:ss`, KST, at most 60 min
/// ahead) and `cashReceiptTradeOption`.
fn tosspay_options(p: &Value) -> Result<Option<DateTime<Utc>>, String> {
    if let Some(b) = p.get("bypass").filter(|b| !b.is_null()) {
        if !b.is_object() {
            return Err("bypass must be an object".into());
        }
    }
    if let Some(o) = tosspay_bypass(p, "cashReceiptTradeOption") {
        if !o.as_str().is_some_and(|o| CASH_RECEIPT_OPTIONS.contains(&o)) {
            return Err("bypass.tosspay_v2.cashReceiptTradeOption must be GENERAL, CULTURE or PUBLIC_TP".into());
        }
    }
    let Some(raw) = tosspay_bypass(p, "expiredTime") else {
        return Ok(None);
    };
    let s = raw.as_str().ok_or("bypass.tosspay_v2.expiredTime must be a string")?;
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .map_err(|_| "bypass.tosspay_v2.expiredTime must be yyyy-MM-dd HH:mm:ss")?;
    let kst = FixedOffset::east_opt(9 * 3600).ok_or("time zone")?;
    let at = kst
        .from_local_datetime(&naive)
        .single()
        .ok_or("bypass.tosspay_v2.expiredTime is not a valid time")?
        .with_timezone(&Utc);
    if at > Utc::now() + chrono::Duration::minutes(60) {
        return Err("bypass.tosspay_v2.expiredTime must be at most 60 minutes ahead".into());
    }
    Ok(Some(at))
}

/// Validates `request_pay` params the way V1 does before a window opens.
pub(super) fn validate(st: &AppState, r: &Request<'_>) -> Result<Plan, SdkRefusal> {
    let p = r.params;
    let merchant_uid = p.get("merchant_uid").and_then(Value::as_str).map(str::to_owned);
    let refuse = |code: &'static str, message: String| SdkRefusal {
        code,
        message,
        merchant_uid: merchant_uid.clone(),
    };
    let invalid = |message: String| refuse("INVALID_PARAMETER", message);
    match r.user_code {
        None | Some("") => {
            return Err(refuse(
                "NOT_INITIALIZED",
                "IMP.init(가맹점 식별코드) 를 먼저 호출해야 합니다.".into(),
            ))
        }
        Some(code) if code != st.config.v1_user_code => {
            return Err(refuse(
                "INVALID_USER_CODE",
                format!("가맹점 식별코드 {code} 에 해당하는 가맹점을 찾을 수 없습니다."),
            ))
        }
        Some(_) => {}
    }
    if !p.is_object() {
        return Err(invalid("request_pay params must be an object".into()));
    }
    let ch = channel(st, p).map_err(|m| refuse("CHANNEL_NOT_FOUND", m))?;
    let pay_method = params::req_str(p, "pay_method").map_err(invalid)?;
    if !TOSSPAY_METHODS.contains(&pay_method.as_str()) {
        return Err(invalid(format!(
            "pay_method {pay_method} is not a TossPay method (tosspay, tosspay_card, tosspay_money)"
        )));
    }
    let merchant = params::req_str(p, "merchant_uid").map_err(invalid)?;
    params::max_chars(Some(merchant.clone()), "merchant_uid", 40).map_err(invalid)?;
    let name = params::max_chars(params::opt_str(p, "name").map_err(invalid)?, "name", 40).map_err(invalid)?;
    let customer_uid = params::opt_str(p, "customer_uid").map_err(invalid)?;
    let billing = customer_uid.is_some();
    let amount = params::opt_amount(p, "amount", false)
        .map_err(invalid)?
        .ok_or_else(|| invalid("amount is required".into()))?;
    if billing && amount < 0 {
        return Err(invalid("amount must not be negative".into()));
    }
    if !billing && amount <= 0 {
        return Err(invalid("amount must be a positive integer".into()));
    }
    let tax_free = params::opt_amount(p, "tax_free", false).map_err(invalid)?.unwrap_or(0);
    if tax_free < 0 || tax_free > amount {
        return Err(invalid("tax_free must be between 0 and amount".into()));
    }
    let vat_amount = params::opt_amount(p, "vat_amount", false).map_err(invalid)?;
    let currency = params::opt_str(p, "currency")
        .map_err(invalid)?
        .unwrap_or_else(|| "KRW".into());
    if currency != "KRW" {
        return Err(invalid("토스페이는 KRW 결제만 지원합니다.".into()));
    }
    let buyer = params::buyer(p).map_err(invalid)?;
    let notice = params::notice_urls(p, st.config.allow_external_webhooks).map_err(invalid)?;
    let redirect_url = match params::opt_str(p, "m_redirect_url").map_err(invalid)? {
        Some(u) => match reqwest::Url::parse(&u) {
            Ok(x) if matches!(x.scheme(), "http" | "https") => Some(u),
            _ => return Err(invalid("m_redirect_url must be an absolute http(s) URL".into())),
        },
        None => None,
    };
    let mobile = window::is_mobile(r.user_agent);
    let popup = match p.get("popup") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("popup must be a boolean".into())),
    };
    let mode = match (mobile, popup) {
        (true, _) => Mode::Redirect,
        (false, true) => Mode::Popup,
        (false, false) => Mode::Iframe,
    };
    if mode == Mode::Redirect && redirect_url.is_none() {
        return Err(invalid(
            "모바일 환경에서는 m_redirect_url 이 필요합니다. (m_redirect_url is required on mobile)".into(),
        ));
    }
    let preset = preset(p, r.sdk_outcome).map_err(invalid)?;
    let expires_at = tosspay_options(p).map_err(invalid)?;
    let customer = match customer_uid {
        Some(customer_uid) => {
            if customer_uid.trim().is_empty() {
                return Err(invalid("customer_uid must not be empty".into()));
            }
            if pay_method != "tosspay" {
                return Err(invalid(
                    "토스페이 빌링키 발급은 pay_method: \"tosspay\" 로만 가능합니다.".into(),
                ));
            }
            let customer_id = params::opt_str(p, "customer_id").map_err(invalid)?;
            match &customer_id {
                Some(id) if !id.trim().is_empty() && id.chars().count() <= 50 => {}
                Some(_) => {
                    return Err(invalid(
                        "토스페이 빌링키 발급의 customer_id 는 1~50자여야 합니다.".into(),
                    ))
                }
                None => return Err(invalid("토스페이 빌링키 발급에는 customer_id 가 필요합니다.".into())),
            }
            let now = Utc::now();
            Some(V1Customer {
                customer_uid,
                customer_id,
                channel_key: ch.key.clone(),
                pg_provider: ch.pg_provider.clone(),
                pg_id: ch.pg_merchant_id.clone(),
                pay_method: pay_method.clone(),
                buyer: buyer.clone(),
                notice_urls: notice.clone(),
                billing_key: String::new(),
                inserted: now,
                updated: now,
            })
        }
        None => None,
    };
    {
        let s = lock(&st.store);
        if s.v1.order_paid(&merchant) {
            return Err(refuse(
                "ALREADY_PAID",
                "이미 결제가 완료된 주문번호(merchant_uid)입니다.".into(),
            ));
        }
        if let Some(pre) = s.v1.prepared.get(&merchant) {
            if !billing && !r.bypass_prepare && pre.amount != amount {
                return Err(refuse(
                    "AMOUNT_MISMATCH",
                    format!(
                        "사전 등록된 결제 금액({}원)과 요청 금액({amount}원)이 다릅니다.",
                        pre.amount
                    ),
                ));
            }
        }
    }
    let now = Utc::now();
    let payment = V1Payment {
        imp_uid: String::new(),
        merchant_uid: merchant,
        channel_key: ch.key.clone(),
        pg_provider: ch.pg_provider.clone(),
        pg_id: ch.pg_merchant_id.clone(),
        pay_method,
        channel: if mobile { "mobile" } else { "pc" }.into(),
        status: V1Status::Ready,
        amount: if billing { 0 } else { amount },
        tax_free: if billing { 0 } else { tax_free },
        vat_amount: if billing { None } else { vat_amount },
        currency,
        name,
        buyer,
        custom_data: params::custom_data(p),
        notice_urls: notice,
        user_agent: Some(r.user_agent.to_owned()).filter(|u| !u.is_empty()),
        pg_tid: None,
        started_at: now,
        paid_at: None,
        failed_at: None,
        cancelled_at: None,
        fail_reason: None,
        cancel_reason: None,
        cancellations: Vec::new(),
        customer_uid: customer.as_ref().map(|c| c.customer_uid.clone()),
        customer_uid_usage: customer.as_ref().map(|_| "issue".to_owned()),
        seq: 0,
    };
    Ok(Plan {
        payment,
        customer,
        mode,
        redirect_url,
        preset,
        expires_at,
        channel_name: ch.name.clone(),
        display_amount: amount,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SdkStart {
    user_code: Option<String>,
    params: Value,
    #[serde(default)]
    user_agent: String,
    outcome: Option<String>,
}

/// `POST /__sandbox/v1/sdk/request-pay`: what `IMP.request_pay` calls.
async fn request_pay(State(st): State<AppState>, SdkJson(body): SdkJson<SdkStart>) -> Result<Json<Value>, SdkRefusal> {
    let plan = validate(
        &st,
        &Request {
            user_code: body.user_code.as_deref(),
            params: &body.params,
            user_agent: &body.user_agent,
            sdk_outcome: body.outcome.as_deref(),
            bypass_prepare: false,
        },
    )?;
    let session = checkout::open(&st, plan);
    Ok(Json(window::session_json(&session)))
}

/// `GET /v1/iamport.js`.
async fn iamport_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        IAMPORT_JS,
    )
        .into_response()
}
