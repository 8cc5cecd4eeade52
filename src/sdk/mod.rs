//! The thin browser layer over `window.PortOne` (feature `browser`).
//!
//! - [`loader`]: loads the SDK script once ([`load_sdk`]).
//! - [`request_payment`] / [`request_issue_billing_key`]: validate, load,
//!   call the SDK with the request as a plain JS object, await the promise,
//!   and return the typed outcome.
//! - [`PaymentGateway`]: the seam the checkout drives. [`PortOneV2`] is the
//!   implementation for PortOne's V2 SDK; other SDKs (PortOne V1, Toss
//!   Payments) can implement it beside it without touching the checkout.

mod error;
pub mod loader;

pub use error::SdkError;
pub use loader::{load_sdk, LoaderOptions, DEFAULT_SDK_URL};

use crate::model::{
    validate_billing_key, validate_payment, BillingKeyOutcome, Device, IssueBillingKeyRequest, PaymentOutcome,
    PaymentRequest, PgProvider, ValidationContext,
};

/// A payment SDK the checkout can drive.
#[allow(async_fn_in_trait)]
pub trait PaymentGateway {
    /// Makes the SDK ready so that a click never waits for the network.
    async fn preload(&self) -> Result<(), SdkError>;
    /// Validates and sends a payment request.
    async fn request_payment(&self, req: &PaymentRequest, pg: &PgProvider) -> Result<PaymentOutcome, SdkError>;
    /// Validates and sends a billing-key request.
    async fn request_issue_billing_key(
        &self,
        req: &IssueBillingKeyRequest,
        pg: &PgProvider,
    ) -> Result<BillingKeyOutcome, SdkError>;
}

/// PortOne's V2 browser SDK (`window.PortOne`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortOneV2 {
    /// Where and how the script is loaded.
    pub loader: LoaderOptions,
}

impl PortOneV2 {
    /// The SDK loaded from `url`.
    pub fn with_url(url: impl Into<String>) -> Self {
        Self {
            loader: LoaderOptions::with_url(url),
        }
    }
}

impl PaymentGateway for PortOneV2 {
    async fn preload(&self) -> Result<(), SdkError> {
        load_sdk(&self.loader).await
    }

    async fn request_payment(&self, req: &PaymentRequest, pg: &PgProvider) -> Result<PaymentOutcome, SdkError> {
        request_payment(req, &browser_context(pg), &self.loader).await
    }

    async fn request_issue_billing_key(
        &self,
        req: &IssueBillingKeyRequest,
        pg: &PgProvider,
    ) -> Result<BillingKeyOutcome, SdkError> {
        request_issue_billing_key(req, &browser_context(pg), &self.loader).await
    }
}

/// Whether a user agent belongs to a phone or tablet.
pub fn is_mobile_user_agent(ua: &str) -> bool {
    ["Mobi", "Android", "iPhone", "iPad", "iPod"]
        .iter()
        .any(|k| ua.contains(k))
}

/// The validation context of this browser: the device kind from the user
/// agent and the clock from `Date.now()` (PC and no clock off the browser).
pub fn browser_context(pg: &PgProvider) -> ValidationContext {
    ValidationContext {
        pg: pg.clone(),
        device: current_device(),
        now_unix_ms: now_ms(),
    }
}

#[cfg(target_arch = "wasm32")]
fn current_device() -> Device {
    let ua = web_sys::window().and_then(|w| w.navigator().user_agent().ok());
    let touch_mac = web_sys::window()
        .map(|w| w.navigator().max_touch_points() > 1)
        .unwrap_or(false)
        && ua.as_deref().is_some_and(|u| u.contains("Macintosh"));
    if touch_mac || ua.as_deref().is_some_and(is_mobile_user_agent) {
        Device::Mobile
    } else {
        Device::Pc
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn current_device() -> Device {
    Device::Pc
}

#[cfg(target_arch = "wasm32")]
fn now_ms() -> Option<i64> {
    // Date.now() is an integral number of milliseconds.
    Some(js_sys::Date::now() as i64)
}

#[cfg(not(target_arch = "wasm32"))]
fn now_ms() -> Option<i64> {
    None
}

/// Validates `req`, loads the SDK, calls `PortOne.requestPayment` and
/// returns the typed outcome.
pub async fn request_payment(
    req: &PaymentRequest,
    ctx: &ValidationContext,
    loader: &LoaderOptions,
) -> Result<PaymentOutcome, SdkError> {
    validate_payment(req, ctx)?;
    let resolved = call::call(loader, "requestPayment", req).await?;
    PaymentOutcome::from_json(resolved.json.as_ref()).map_err(|source| SdkError::BadResponse {
        source,
        raw: resolved.raw,
    })
}

/// Validates `req`, loads the SDK, calls `PortOne.requestIssueBillingKey`
/// and returns the typed outcome.
pub async fn request_issue_billing_key(
    req: &IssueBillingKeyRequest,
    ctx: &ValidationContext,
    loader: &LoaderOptions,
) -> Result<BillingKeyOutcome, SdkError> {
    validate_billing_key(req, ctx)?;
    let resolved = call::call(loader, "requestIssueBillingKey", req).await?;
    BillingKeyOutcome::from_json(resolved.json.as_ref()).map_err(|source| SdkError::BadResponse {
        source,
        raw: resolved.raw,
    })
}

mod call {
    use super::{load_sdk, LoaderOptions, SdkError};
    use serde::Serialize;
    use wasm_bindgen::JsValue;

    /// What the SDK promise resolved to: JSON (`None` for `undefined`/`null`)
    /// and the raw value.
    pub(super) struct Resolved {
        pub json: Option<serde_json::Value>,
        pub raw: JsValue,
    }

    /// Serializes `req` as a plain object (not an ES `Map`) and calls
    /// `window.PortOne[method](req)`.
    #[cfg(target_arch = "wasm32")]
    pub(super) async fn call<T: Serialize>(
        loader: &LoaderOptions,
        method: &'static str,
        req: &T,
    ) -> Result<Resolved, SdkError> {
        use crate::model::SdkRejection;
        use js_sys::{Function, Promise, Reflect};
        use wasm_bindgen::JsCast;
        use wasm_bindgen_futures::JsFuture;

        load_sdk(loader).await?;
        let window = web_sys::window().ok_or(SdkError::NotAvailable)?;
        let not_defined = || SdkError::NotDefined {
            url: loader.url.clone(),
            method,
        };
        let portone = super::loader::portone(&window).ok_or_else(not_defined)?;
        let function = Reflect::get(&portone, &JsValue::from_str(method))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(not_defined)?;
        let arg = req
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .map_err(|e| SdkError::Serialize(e.to_string()))?;
        let rejected = |raw: JsValue| {
            let field = |k: &str| {
                Reflect::get(&raw, &JsValue::from_str(k))
                    .ok()
                    .and_then(|v| v.as_string())
            };
            let json = if let Some(s) = raw.as_string() {
                serde_json::Value::String(s)
            } else {
                // `message` of an Error is not enumerable: read both by name.
                let mut o = serde_json::Map::new();
                if let Some(code) = field("code") {
                    o.insert("code".into(), code.into());
                }
                let message = field("message")
                    .or_else(|| js_sys::JSON::stringify(&raw).ok().and_then(|s| s.as_string()))
                    .unwrap_or_else(|| "unknown error".into());
                o.insert("message".into(), message.into());
                serde_json::Value::Object(o)
            };
            SdkError::Rejected {
                rejection: SdkRejection::from_json(&json),
                raw,
            }
        };
        let returned = function.call1(&portone, &arg).map_err(rejected)?;
        let raw = JsFuture::from(Promise::resolve(&returned)).await.map_err(rejected)?;
        let json = if raw.is_undefined() || raw.is_null() {
            None
        } else {
            Some(
                serde_wasm_bindgen::from_value::<serde_json::Value>(raw.clone()).map_err(|e| {
                    SdkError::BadResponse {
                        source: crate::model::ResponseError::NotAnObject { found: e.to_string() },
                        raw: raw.clone(),
                    }
                })?,
            )
        };
        Ok(Resolved { json, raw })
    }

    /// Off the browser there is no SDK to call.
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) async fn call<T: Serialize>(
        loader: &LoaderOptions,
        _method: &'static str,
        _req: &T,
    ) -> Result<Resolved, SdkError> {
        load_sdk(loader).await?;
        Err(SdkError::NotAvailable)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::model::{Currency, PayMethod};

    #[test]
    fn off_the_browser_the_loader_reports_not_available() {
        let r = futures::executor::block_on(load_sdk(&LoaderOptions::default()));
        assert!(matches!(r, Err(SdkError::NotAvailable)), "{r:?}");
    }

    #[test]
    fn an_invalid_request_is_refused_before_anything_is_loaded() {
        let req = PaymentRequest::new("", "p", "o", 0, Currency::Krw, PayMethod::Card);
        let r = futures::executor::block_on(request_payment(
            &req,
            &ValidationContext::default(),
            &LoaderOptions::default(),
        ));
        assert!(
            matches!(&r, Err(SdkError::Invalid(v)) if v.has("storeId") && v.has("totalAmount")),
            "{r:?}"
        );
    }

    #[test]
    fn mobile_user_agents_are_recognised() {
        assert!(is_mobile_user_agent(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
        ));
        assert!(is_mobile_user_agent(
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/120 Mobile Safari/537.36"
        ));
        assert!(!is_mobile_user_agent(
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/156 Safari/537.36"
        ));
    }
}
