//! The PortOne V1 (I'mport) gateway: `window.IMP` from
//! `https://cdn.iamport.kr/v1/iamport.js`, for TossPay.
//!
//! - [`PortOneV1`]: the [`PaymentGateway`] the checkout drives: the merchant's
//!   user code (`IMP.init`), the channel and how requests are built
//!   ([`PaymentOptions`], [`BillingOptions`]), all plain values set when the
//!   gateway is built.
//! - [`request_payment`] / [`request_billing_key`]: validate, load the SDK
//!   (the shared [`load_script`]: one load, tag reuse, typed errors, retry,
//!   nothing off the browser), call `IMP.init` once per `IMP` object, call
//!   `IMP.request_pay` with the request as a plain JS object and wait for
//!   its callback, or for the page to leave (a phone's window is a
//!   redirect, and the callback then never runs).
//!
//! No Rust closure is handed to JS: the callback is the `resolve` function
//! of a JS promise, and the page's `pagehide` listener is another one,
//! removed again once either settles.

use super::{
    current_device, js, load_script, now_ms, BillingIntent, LoaderOptions, PaymentGateway, PaymentIntent, SdkError,
};
use crate::machine::{BillingWindowResult, WindowResult};
use crate::model::portone_v1::{
    build, callback, return_url, validate_billing_key, validate_payment, BillingKeyRequest, BillingOptions, Callback,
    PaymentOptions, PaymentRequest, ValidationContext,
};
use crate::protocol::IssueId;
use crate::return_url::{ReturnError, Returned};
use futures::future::LocalBoxFuture;

/// PortOne's CDN URL of the V1 SDK.
pub const DEFAULT_SDK_URL: &str = "https://cdn.iamport.kr/v1/iamport.js";

/// The `error_code` of a refusal meaning "this order is already paid" (the
/// checkout then verifies instead of failing).
pub const ALREADY_PAID_CODE: &str = "ALREADY_PAID";

/// How the V1 SDK script at `url` is loaded (`window.IMP`).
pub fn sdk_loader(url: impl Into<String>) -> LoaderOptions {
    LoaderOptions::new(url, "IMP", "request_pay")
}

/// PortOne's V1 SDK (`IMP.request_pay`) with TossPay as a [`PaymentGateway`].
///
/// ```
/// use portone_checkout::gateway::PortOneV1;
/// use portone_checkout::model::portone_v1::PaymentOptions;
///
/// let gateway = PortOneV1::new("imp00000000")
///     .channel_key("channel-key-...")
///     .payment_options(PaymentOptions { tosspay_expires_in_secs: Some(600), ..Default::default() });
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PortOneV1 {
    user_code: String,
    channel_key: Option<String>,
    loader: LoaderOptions,
    payment: PaymentOptions,
    billing: BillingOptions,
}

impl PortOneV1 {
    /// The gateway for a merchant's user code (`imp...`, `IMP.init`'s
    /// argument), loading the SDK from PortOne's CDN, with default options.
    pub fn new(user_code: impl Into<String>) -> Self {
        Self {
            user_code: user_code.into(),
            channel_key: None,
            loader: sdk_loader(DEFAULT_SDK_URL),
            payment: PaymentOptions::default(),
            billing: BillingOptions::default(),
        }
    }

    /// The TossPay channel key (`channelKey`). Default: none (the console's
    /// default PG).
    pub fn channel_key(mut self, key: impl Into<String>) -> Self {
        self.channel_key = Some(key.into());
        self
    }

    /// Where the SDK script is loaded from (the sandbox, a self-hosted
    /// copy). Default: [`DEFAULT_SDK_URL`].
    pub fn sdk_url(mut self, url: impl Into<String>) -> Self {
        self.loader = sdk_loader(url);
        self
    }

    /// How payment requests are built.
    pub fn payment_options(mut self, options: PaymentOptions) -> Self {
        self.payment = options;
        self
    }

    /// How billing-key requests are built.
    pub fn billing_options(mut self, options: BillingOptions) -> Self {
        self.billing = options;
        self
    }

    /// The user code `IMP.init` gets.
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// How the SDK is loaded.
    pub fn loader(&self) -> &LoaderOptions {
        &self.loader
    }

    fn context() -> ValidationContext {
        ValidationContext {
            device: current_device(),
            now_unix_ms: now_ms(),
        }
    }

    /// The `request_pay` argument for `intent` (what
    /// [`PaymentGateway::request_payment`] sends).
    pub fn payment_request(&self, intent: &PaymentIntent) -> PaymentRequest {
        build::payment_request(
            self.channel_key.as_deref(),
            &intent.prepared,
            &self.payment,
            intent.lang,
            now_ms().unwrap_or(0),
            intent.return_url.clone(),
        )
    }

    /// The billing-key `request_pay` argument for `intent` (what
    /// [`PaymentGateway::request_billing_key`] sends).
    pub fn billing_request(&self, intent: &BillingIntent) -> BillingKeyRequest {
        build::billing_request(
            self.channel_key.as_deref(),
            &intent.prepared,
            &self.billing,
            intent.lang,
            intent.return_url.clone(),
        )
    }
}

impl PaymentGateway for PortOneV1 {
    fn name(&self) -> &'static str {
        "PortOne V1"
    }

    fn preload(&self) -> LocalBoxFuture<'_, Result<(), SdkError>> {
        Box::pin(async move { call::ready(&self.loader, &self.user_code).await.map(|_| ()) })
    }

    fn request_payment<'a>(&'a self, intent: &'a PaymentIntent) -> LocalBoxFuture<'a, Result<WindowResult, SdkError>> {
        Box::pin(async move {
            let req = self.payment_request(intent);
            request_payment(&req, &Self::context(), &self.loader, &self.user_code).await
        })
    }

    #[cfg(feature = "billing")]
    fn request_billing_key<'a>(
        &'a self,
        intent: &'a BillingIntent,
    ) -> LocalBoxFuture<'a, Result<BillingWindowResult, SdkError>> {
        Box::pin(async move {
            let req = self.billing_request(intent);
            let issue = Some(intent.prepared.issue_id.clone());
            request_billing_key(&req, issue, &Self::context(), &self.loader, &self.user_code).await
        })
    }

    fn parse_return(&self, query: &str) -> Result<Option<Returned>, ReturnError> {
        return_url::parse_return(query)
    }

    fn return_keys(&self) -> &'static [&'static str] {
        return_url::RESULT_KEYS
    }
}

/// What the call gave: the callback object, or the page leaving first.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
enum Answer {
    Called(call::Called),
    Leaving,
}

/// Whether a refusal's code means "this order is already paid".
fn already_paid(code: Option<&str>) -> bool {
    code == Some(ALREADY_PAID_CODE)
}

fn refused<T>(code: Option<String>, message: String, raw: super::RawJs) -> Result<T, SdkError> {
    Err(SdkError::Rejected {
        already_paid: already_paid(code.as_deref()),
        code,
        message,
        raw,
    })
}

/// Validates `req`, loads the SDK, initialises it with `user_code` (once
/// per `IMP` object), calls `IMP.request_pay` and returns the window's
/// result: finished (a hint for the backend), or redirected. A refusal
/// before the window is [`SdkError::Rejected`].
pub async fn request_payment(
    req: &PaymentRequest,
    ctx: &ValidationContext,
    loader: &LoaderOptions,
    user_code: &str,
) -> Result<WindowResult, SdkError> {
    validate_payment(req, ctx)?;
    let called = match call::request_pay(loader, user_code, req).await? {
        Answer::Leaving => return Ok(WindowResult::Redirected),
        Answer::Called(c) => c,
    };
    match callback::payment_result(js::answer(&called.raw)) {
        Ok(Callback::Finished(result)) => Ok(result),
        Ok(Callback::Refused { code, message }) => refused(code, message, super::RawJs(called.raw)),
        Err(e) => Err(SdkError::BadResponse {
            message: e.to_string(),
            raw: super::RawJs(called.raw),
        }),
    }
}

/// Validates `req`, loads and initialises the SDK, calls `IMP.request_pay`
/// with the billing-key form and returns the window's result (an issued
/// key is reported by the `customer_uid` asked for, with `issue_id`).
pub async fn request_billing_key(
    req: &BillingKeyRequest,
    issue_id: Option<IssueId>,
    ctx: &ValidationContext,
    loader: &LoaderOptions,
    user_code: &str,
) -> Result<BillingWindowResult, SdkError> {
    validate_billing_key(req, ctx)?;
    let called = match call::request_pay(loader, user_code, req).await? {
        Answer::Leaving => return Ok(BillingWindowResult::Redirected),
        Answer::Called(c) => c,
    };
    match callback::billing_result(js::answer(&called.raw), &req.customer_uid, issue_id) {
        Ok(Callback::Finished(result)) => Ok(result),
        Ok(Callback::Refused { code, message }) => refused(code, message, super::RawJs(called.raw)),
        Err(e) => Err(SdkError::BadResponse {
            message: e.to_string(),
            raw: super::RawJs(called.raw),
        }),
    }
}

mod call {
    use super::{load_script, Answer, LoaderOptions, SdkError};
    use serde::Serialize;
    use wasm_bindgen::JsValue;

    /// What the callback got.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(super) struct Called {
        pub raw: JsValue,
    }

    #[cfg(target_arch = "wasm32")]
    mod browser {
        use super::{Answer, Called, LoaderOptions, SdkError};
        use futures::future::{select, Either};
        use js_sys::{Function, Object, Promise, Reflect};
        use std::cell::RefCell;
        use wasm_bindgen::{JsCast, JsValue};
        use wasm_bindgen_futures::JsFuture;

        thread_local! {
            /// The `IMP` object `init` was called on, and with which code.
            static INITIALISED: RefCell<Option<(JsValue, String)>> = const { RefCell::new(None) };
        }

        fn not_defined(loader: &LoaderOptions, method: &'static str) -> SdkError {
            SdkError::NotDefined {
                url: loader.url.clone(),
                global: loader.global,
                method,
            }
        }

        fn method(imp: &JsValue, loader: &LoaderOptions, name: &'static str) -> Result<Function, SdkError> {
            Reflect::get(imp, &JsValue::from_str(name))
                .ok()
                .and_then(|f| f.dyn_into::<Function>().ok())
                .ok_or_else(|| not_defined(loader, name))
        }

        /// A thrown value as a rejection (the SDK refused synchronously).
        fn thrown(raw: JsValue) -> SdkError {
            crate::gateway::js::rejected(raw, super::super::already_paid)
        }

        /// Loads the SDK and calls `IMP.init(user_code)` unless this very
        /// `IMP` object was initialised with it already.
        pub(super) async fn ready(loader: &LoaderOptions, user_code: &str) -> Result<JsValue, SdkError> {
            super::load_script(loader).await?;
            let window = web_sys::window().ok_or(SdkError::NotAvailable)?;
            let imp = crate::gateway::script::global(&window, loader.global)
                .ok_or_else(|| not_defined(loader, loader.entry))?;
            let done = INITIALISED.with(|i| {
                i.borrow()
                    .as_ref()
                    .is_some_and(|(obj, code)| Object::is(obj, &imp) && code == user_code)
            });
            if !done {
                let init = method(&imp, loader, "init")?;
                init.call1(&imp, &JsValue::from_str(user_code)).map_err(thrown)?;
                INITIALISED.with(|i| *i.borrow_mut() = Some((imp.clone(), user_code.to_owned())));
            }
            Ok(imp)
        }

        /// A JS promise and its `resolve` function.
        fn deferred(window: &web_sys::Window, leave_events: &[&str]) -> (JsFuture, Option<Function>) {
            let mut resolve = None;
            let promise = Promise::new(&mut |res: Function, _reject: Function| {
                for event in leave_events {
                    let _ = window.add_event_listener_with_callback(event, &res);
                }
                resolve = Some(res);
            });
            (JsFuture::from(promise), resolve)
        }

        const LEAVE_EVENTS: &[&str] = &["pagehide"];

        pub(super) async fn request_pay(
            loader: &LoaderOptions,
            user_code: &str,
            arg: JsValue,
        ) -> Result<Answer, SdkError> {
            let imp = ready(loader, user_code).await?;
            let request_pay = method(&imp, loader, "request_pay")?;
            let window = web_sys::window().ok_or(SdkError::NotAvailable)?;
            let (answered, callback) = deferred(&window, &[]);
            let callback = callback.ok_or(SdkError::NotAvailable)?;
            let (leaving, on_leave) = deferred(&window, LEAVE_EVENTS);
            let forget_leave = || {
                if let Some(f) = &on_leave {
                    for event in LEAVE_EVENTS {
                        let _ = window.remove_event_listener_with_callback(event, f);
                    }
                }
            };
            if let Err(e) = request_pay.call2(&imp, &arg, &callback) {
                forget_leave();
                return Err(thrown(e));
            }
            let answer = select(answered, leaving).await;
            forget_leave();
            match answer {
                Either::Left((Ok(raw), _)) => Ok(Answer::Called(Called { raw })),
                // The callback is `resolve`: its promise never rejects.
                Either::Left((Err(raw), _)) => Err(thrown(raw)),
                Either::Right(_) => Ok(Answer::Leaving),
            }
        }
    }

    /// Loads the SDK and initialises it once; the `IMP` object.
    #[cfg(target_arch = "wasm32")]
    pub(super) async fn ready(loader: &LoaderOptions, user_code: &str) -> Result<JsValue, SdkError> {
        browser::ready(loader, user_code).await
    }

    /// Off the browser there is no SDK to load.
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) async fn ready(loader: &LoaderOptions, _user_code: &str) -> Result<JsValue, SdkError> {
        load_script(loader).await?;
        Err(SdkError::NotAvailable)
    }

    /// Serializes `req` as a plain object (not an ES `Map`) and calls
    /// `IMP.request_pay(req, callback)`.
    pub(super) async fn request_pay<T: Serialize>(
        loader: &LoaderOptions,
        user_code: &str,
        req: &T,
    ) -> Result<Answer, SdkError> {
        #[cfg(target_arch = "wasm32")]
        {
            let arg = crate::gateway::js::to_js(req)?;
            browser::request_pay(loader, user_code, arg).await
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = req;
            ready(loader, user_code).await?;
            Err(SdkError::NotAvailable)
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::model::portone_v1::PayMethod;

    #[test]
    fn off_the_browser_preloading_reports_not_available() {
        let g = PortOneV1::new("imp00000000");
        let r = futures::executor::block_on(g.preload());
        assert!(matches!(r, Err(SdkError::NotAvailable)), "{r:?}");
    }

    #[test]
    fn an_invalid_request_is_refused_before_anything_is_loaded() {
        let req = PaymentRequest::new(PayMethod::Other("card".into()), "o".repeat(41), 0);
        let r = futures::executor::block_on(request_payment(
            &req,
            &ValidationContext::default(),
            &sdk_loader(DEFAULT_SDK_URL),
            "imp00000000",
        ));
        assert!(
            matches!(&r, Err(SdkError::Invalid(v)) if v.has("pay_method") && v.has("merchant_uid") && v.has("amount")),
            "{r:?}"
        );
    }

    #[test]
    fn an_already_paid_refusal_is_recognised_by_code() {
        assert!(already_paid(Some("ALREADY_PAID")));
        assert!(!already_paid(Some("AMOUNT_MISMATCH")));
        assert!(!already_paid(None));
    }

    #[test]
    fn the_gateway_loads_window_imp_from_the_cdn_by_default_and_the_sandbox_when_told() {
        let g = PortOneV1::new("imp00000000");
        assert_eq!(
            (g.loader().url.as_str(), g.loader().global, g.loader().entry),
            (DEFAULT_SDK_URL, "IMP", "request_pay")
        );
        let g = g.sdk_url("http://127.0.0.1:8787/v1/iamport.js");
        assert_eq!(g.loader().url, "http://127.0.0.1:8787/v1/iamport.js");
        assert_eq!(g.user_code(), "imp00000000");
    }
}
