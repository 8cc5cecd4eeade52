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
    current_device, js, load_script, now_ms, BillingIntent, LoaderOptions, PaymentGateway, PaymentIntent, SdkError,
};
#[cfg(feature = "billing")]
use crate::machine::BillingWindowResult;
use crate::machine::WindowResult;
use crate::model::portone_v2::{
    build, return_url, validate_billing_key, validate_payment, BillingKeyOutcome, ChannelSettings, ErrorCode,
    IssueBillingKeyRequest, IssueOptions, PaymentOptions, PaymentOutcome, PaymentRequest, PgProvider,
    ValidationContext,
};
use crate::protocol::CompleteRequest;
#[cfg(feature = "billing")]
use crate::protocol::RegisterBillingKeyRequest;
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

    /// The SDK request for `intent`, validated, as the JS object the SDK
    /// takes.
    #[inline(never)]
    fn js_payment_request(&self, intent: &PaymentIntent) -> Result<wasm_bindgen::JsValue, SdkError> {
        let req = self.payment_request(intent);
        validate_payment(&req, &self.context())?;
        js::to_js(&req)
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
        // Small on purpose: the browser compiles wasm functions on first
        // use, and this one first runs inside the click. The heavy parts
        // already ran in `get_ready`.
        Box::pin(async move {
            let arg = self.js_payment_request(intent)?;
            let raw = js::call(&self.loader, "requestPayment", &arg, already_paid).await?;
            window_result(raw)
        })
    }

    fn get_ready(&self, intent: &PaymentIntent) -> Result<(), SdkError> {
        // Reads the device (the user agent, once per page), builds,
        // validates and converts the request now: the click then runs code
        // that is already compiled and warm, and a request the SDK would
        // refuse shows in the console before anyone clicks.
        self.js_payment_request(intent).map(drop)
    }

    #[cfg(feature = "billing")]
    fn request_billing_key<'a>(
        &'a self,
        intent: &'a BillingIntent,
    ) -> LocalBoxFuture<'a, Result<BillingWindowResult, SdkError>> {
        Box::pin(async move {
            let req = self.billing_request(intent);
            Ok(
                match request_issue_billing_key(&req, &self.context(), &self.loader).await? {
                    BillingKeyOutcome::Issued(k) => BillingWindowResult::Issued(RegisterBillingKeyRequest::key(
                        k.billing_key,
                        Some(intent.prepared.issue_id.clone()),
                    )),
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
    let raw = js::call(loader, "requestPayment", &js::to_js(req)?, already_paid).await?;
    payment_outcome(raw)
}

/// Reads what `requestPayment` resolved to.
#[inline(never)]
fn payment_outcome(raw: wasm_bindgen::JsValue) -> Result<PaymentOutcome, SdkError> {
    PaymentOutcome::read(js::answer(&raw)).map_err(|source| SdkError::BadResponse {
        message: source.to_string(),
        raw: super::RawJs(raw),
    })
}

/// What the checkout's machine is told about the window.
fn window_result(raw: wasm_bindgen::JsValue) -> Result<WindowResult, SdkError> {
    Ok(match payment_outcome(raw)? {
        PaymentOutcome::Completed(done) => WindowResult::Finished(CompleteRequest {
            tx_id: Some(done.tx_id),
            ..CompleteRequest::default()
        }),
        PaymentOutcome::Failed(f) => WindowResult::Finished(CompleteRequest {
            tx_id: f.tx_id,
            failure: Some(f.failure),
            amount: None,
        }),
        PaymentOutcome::Redirected => WindowResult::Redirected,
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
    let raw = js::call(loader, "requestIssueBillingKey", &js::to_js(req)?, already_paid).await?;
    BillingKeyOutcome::read(js::answer(&raw)).map_err(|source| SdkError::BadResponse {
        message: source.to_string(),
        raw: super::RawJs(raw),
    })
}

/// Whether a rejection's code means "this order is already paid".
fn already_paid(code: Option<&str>) -> bool {
    code == Some(ErrorCode::PaymentAlreadyPaid.as_str())
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
