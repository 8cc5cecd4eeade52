//! The PortOne V2 gateway: `window.PortOne` from
//! `https://cdn.portone.io/v2/browser-sdk.js`.
//!
//! - [`PortOneV2`]: the [`PaymentGateway`] the checkout drives: the store,
//!   the channel and how requests are built ([`PaymentOptions`],
//!   [`IssueOptions`]), all plain values set when the gateway is built.
//! - [`request_payment`] / [`request_issue_billing_key`]: validate, load,
//!   call the SDK with the request as a plain JS object, await the promise,
//!   and return the SDK's typed outcome.
//!
//! No Rust closure is handed to JS: the SDK's promise is awaited as is.

use super::{
    current_device, load_script, now_ms, BillingIntent, LoaderOptions, PaymentGateway, PaymentIntent, SdkError,
};
use crate::machine::{BillingWindowResult, WindowResult};
use crate::model::portone_v2::{
    build, return_url, validate_billing_key, validate_payment, BillingKeyOutcome, ChannelSettings, ErrorCode,
    IssueBillingKeyRequest, IssueOptions, PaymentOptions, PaymentOutcome, PaymentRequest, PgProvider,
    ValidationContext,
};
use crate::protocol::{CompleteRequest, RegisterBillingKeyRequest};
use crate::return_url::{ReturnError, Returned};
use futures::future::LocalBoxFuture;

/// PortOne's CDN URL of the V2 browser SDK.
pub const DEFAULT_SDK_URL: &str = "https://cdn.portone.io/v2/browser-sdk.js";

/// How the V2 SDK script at `url` is loaded (`window.PortOne`).
pub fn sdk_loader(url: impl Into<String>) -> LoaderOptions {
    LoaderOptions::new(url, "PortOne", "requestPayment")
}

/// PortOne's V2 browser SDK as a [`PaymentGateway`].
///
/// ```
/// use portone_checkout::gateway::PortOneV2;
/// use portone_checkout::model::portone_v2::{PaymentOptions, PgProvider};
///
/// let gateway = PortOneV2::new("store-00000000-0000-0000-0000-000000000000")
///     .channel_key("channel-key-...")
///     .pg(PgProvider::TosspayV2)
///     .payment_options(PaymentOptions { tosspay_expires_in_secs: Some(600), ..Default::default() });
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PortOneV2 {
    channel: ChannelSettings,
    loader: LoaderOptions,
    payment: PaymentOptions,
    billing: IssueOptions,
}

impl PortOneV2 {
    /// The gateway for a store, loading the SDK from PortOne's CDN, with
    /// default options (see [`PaymentOptions`] and [`IssueOptions`]).
    pub fn new(store_id: impl Into<String>) -> Self {
        Self {
            channel: ChannelSettings {
                store_id: store_id.into(),
                ..ChannelSettings::default()
            },
            loader: sdk_loader(DEFAULT_SDK_URL),
            payment: PaymentOptions::default(),
            billing: IssueOptions::default(),
        }
    }

    /// The channel key payments and billing keys use.
    pub fn channel_key(mut self, key: impl Into<String>) -> Self {
        self.channel.channel_key = Some(key.into());
        self
    }

    /// A channel group instead of a channel key (payments only).
    pub fn channel_group_id(mut self, id: impl Into<String>) -> Self {
        self.channel.channel_group_id = Some(id.into());
        self
    }

    /// The channel's PG (choosing PG-specific validation rules; read a name
    /// with [`PgProvider::parse`]). Default: generic rules only.
    pub fn pg(mut self, pg: PgProvider) -> Self {
        self.channel.pg = pg;
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
    pub fn billing_options(mut self, options: IssueOptions) -> Self {
        self.billing = options;
        self
    }

    /// The store and channel.
    pub fn channel(&self) -> &ChannelSettings {
        &self.channel
    }

    fn context(&self) -> ValidationContext {
        ValidationContext {
            pg: self.channel.pg.clone(),
            device: current_device(),
            now_unix_ms: now_ms(),
        }
    }

    /// The SDK request for `intent` (what [`PaymentGateway::request_payment`]
    /// sends).
    pub fn payment_request(&self, intent: &PaymentIntent) -> PaymentRequest {
        build::payment_request(
            &self.channel,
            &intent.prepared,
            &self.payment,
            intent.lang,
            now_ms().unwrap_or(0),
            intent.return_url.clone(),
        )
    }

    /// The SDK request for `intent` (what
    /// [`PaymentGateway::request_billing_key`] sends).
    pub fn billing_request(&self, intent: &BillingIntent) -> IssueBillingKeyRequest {
        build::billing_request(
            &self.channel,
            &intent.prepared,
            &self.billing,
            intent.lang,
            intent.return_url.clone(),
        )
    }
}

impl PaymentGateway for PortOneV2 {
    fn name(&self) -> &'static str {
        "PortOne V2"
    }

    fn preload(&self) -> LocalBoxFuture<'_, Result<(), SdkError>> {
        Box::pin(load_script(&self.loader))
    }

    fn request_payment<'a>(&'a self, intent: &'a PaymentIntent) -> LocalBoxFuture<'a, Result<WindowResult, SdkError>> {
        Box::pin(async move {
            let req = self.payment_request(intent);
            Ok(match request_payment(&req, &self.context(), &self.loader).await? {
                PaymentOutcome::Completed(done) => WindowResult::Finished(CompleteRequest {
                    tx_id: Some(done.tx_id),
                    failure: None,
                }),
                PaymentOutcome::Failed(f) => WindowResult::Finished(CompleteRequest {
                    tx_id: f.tx_id,
                    failure: Some(f.failure),
                }),
                PaymentOutcome::Redirected => WindowResult::Redirected,
            })
        })
    }

    fn request_billing_key<'a>(
        &'a self,
        intent: &'a BillingIntent,
    ) -> LocalBoxFuture<'a, Result<BillingWindowResult, SdkError>> {
        Box::pin(async move {
            let req = self.billing_request(intent);
            Ok(
                match request_issue_billing_key(&req, &self.context(), &self.loader).await? {
                    BillingKeyOutcome::Issued(k) => BillingWindowResult::Issued(RegisterBillingKeyRequest {
                        billing_key: k.billing_key,
                        issue_id: Some(intent.prepared.issue_id.clone()),
                    }),
                    BillingKeyOutcome::Failed(f) => BillingWindowResult::Failed(f.failure),
                    BillingKeyOutcome::Redirected => BillingWindowResult::Redirected,
                },
            )
        })
    }

    fn parse_return(&self, query: &str) -> Result<Option<Returned>, ReturnError> {
        return_url::parse_return(query)
    }

    fn return_keys(&self) -> &'static [&'static str] {
        return_url::RESULT_KEYS
    }
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
        message: source.to_string(),
        raw: super::RawJs(resolved.raw),
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
        message: source.to_string(),
        raw: super::RawJs(resolved.raw),
    })
}

/// Whether a rejection's code means "this order is already paid".
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn already_paid(code: Option<&str>) -> bool {
    code == Some(ErrorCode::PaymentAlreadyPaid.as_str())
}

mod call {
    use super::{load_script, LoaderOptions, SdkError};
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
        use js_sys::{Function, Promise, Reflect};
        use wasm_bindgen::JsCast;
        use wasm_bindgen_futures::JsFuture;

        load_script(loader).await?;
        let window = web_sys::window().ok_or(SdkError::NotAvailable)?;
        let not_defined = || SdkError::NotDefined {
            url: loader.url.clone(),
            global: loader.global,
            method,
        };
        let portone = super::super::script::global(&window, loader.global).ok_or_else(not_defined)?;
        let function = Reflect::get(&portone, &JsValue::from_str(method))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(not_defined)?;
        let arg = req
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .map_err(|e| SdkError::Serialize(e.to_string()))?;
        let rejected = |raw: JsValue| SdkError::thrown(raw, super::already_paid);
        let returned = function.call1(&portone, &arg).map_err(rejected)?;
        let raw = JsFuture::from(Promise::resolve(&returned)).await.map_err(rejected)?;
        let json = if raw.is_undefined() || raw.is_null() {
            None
        } else {
            Some(
                serde_wasm_bindgen::from_value::<serde_json::Value>(raw.clone()).map_err(|e| {
                    SdkError::BadResponse {
                        message: format!("not a response object: {e}"),
                        raw: super::super::RawJs(raw.clone()),
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
        load_script(loader).await?;
        Err(SdkError::NotAvailable)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::model::portone_v2::{Currency, PayMethod};

    #[test]
    fn off_the_browser_the_loader_reports_not_available() {
        let r = futures::executor::block_on(load_script(&sdk_loader(DEFAULT_SDK_URL)));
        assert!(matches!(r, Err(SdkError::NotAvailable)), "{r:?}");
    }

    #[test]
    fn an_invalid_request_is_refused_before_anything_is_loaded() {
        let req = PaymentRequest::new("", "p", "o", 0, Currency::Krw, PayMethod::Card);
        let r = futures::executor::block_on(request_payment(
            &req,
            &ValidationContext::default(),
            &sdk_loader(DEFAULT_SDK_URL),
        ));
        assert!(
            matches!(&r, Err(SdkError::Invalid(v)) if v.has("storeId") && v.has("totalAmount")),
            "{r:?}"
        );
    }

    #[test]
    fn an_already_paid_rejection_is_recognised_by_code() {
        assert!(already_paid(Some("PaymentAlreadyPaid")));
        assert!(!already_paid(Some("InvalidArgument")));
        assert!(!already_paid(None));
    }
}
