//! The Toss Payments gateway (direct, without PortOne): `window.TossPayments`
//! from `https://js.tosspayments.com/v2/standard`.
//!
//! - [`TossPayments`]: the [`PaymentGateway`] the checkout drives: the
//!   **client key** (the only Toss key that is ever in the browser) and how
//!   requests are built ([`TossPaymentOptions`], [`BillingAuthOptions`]),
//!   plain values set when the gateway is built.
//! - [`request_payment`] / [`request_billing_auth`]: validate, load, call
//!   `TossPayments(clientKey).payment({customerKey}).requestPayment(..)`
//!   with the request as a plain JS object, await the promise and return
//!   the typed outcome.
//!
//! The promise form is used on PC, the redirect form on phones (where Toss
//! has no promise form) or when asked for. Either way the customer only
//! authenticates: the merchant's server confirms the payment with its
//! secret key, so every result here is a hint for the backend. No Rust
//! closure is handed to JS.

use super::{current_device, js, load_script, BillingIntent, LoaderOptions, PaymentGateway, PaymentIntent, SdkError};
#[cfg(feature = "billing")]
use crate::machine::BillingWindowResult;
use crate::machine::WindowResult;
use crate::model::rules::Device;
use crate::model::toss::response::{classify_rejection, Rejection};
use crate::model::toss::{
    build, return_url, validate_billing_auth, validate_client_key, validate_payment, BillingAuthOptions,
    BillingAuthOutcome, BillingAuthRequest, CustomerKey, PaymentOutcome, PaymentRequest, TossPaymentOptions,
    ValidationContext,
};
use crate::protocol::{CompleteRequest, PaymentId};
use crate::return_url::{ReturnError, Returned};
use futures::future::LocalBoxFuture;

/// Toss's URL of the SDK v2 script.
pub const DEFAULT_SDK_URL: &str = "https://js.tosspayments.com/v2/standard";

/// How the SDK v2 script at `url` is loaded (`window.TossPayments`).
pub fn sdk_loader(url: impl Into<String>) -> LoaderOptions {
    LoaderOptions::new(url, "TossPayments", "payment")
}

/// Toss Payments' SDK v2 as a [`PaymentGateway`].
///
/// ```
/// use portone_checkout::gateway::TossPayments;
/// use portone_checkout::model::toss::{Method, TossPaymentOptions};
///
/// // The client key only: the secret key stays on the server.
/// let gateway = TossPayments::new("test_ck_...")
///     .payment_options(TossPaymentOptions { method: Method::Card, ..Default::default() });
/// ```
#[derive(Clone, PartialEq)]
pub struct TossPayments {
    client_key: String,
    loader: LoaderOptions,
    payment: TossPaymentOptions,
    billing: BillingAuthOptions,
}

impl std::fmt::Debug for TossPayments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TossPayments")
            .field("client_key", &self.client_key)
            .field("loader", &self.loader)
            .field("payment", &self.payment)
            .field("billing", &self.billing)
            .finish()
    }
}

impl TossPayments {
    /// The gateway for a client key (`test_ck_...` / `live_ck_...`),
    /// loading the SDK from Toss, with default options. A secret key given
    /// here by mistake is refused at the first call, before anything is
    /// loaded.
    pub fn new(client_key: impl Into<String>) -> Self {
        Self {
            client_key: client_key.into(),
            loader: sdk_loader(DEFAULT_SDK_URL),
            payment: TossPaymentOptions::default(),
            billing: BillingAuthOptions::default(),
        }
    }

    /// Where the SDK script is loaded from (the sandbox, a self-hosted
    /// copy). Default: [`DEFAULT_SDK_URL`].
    pub fn sdk_url(mut self, url: impl Into<String>) -> Self {
        self.loader = sdk_loader(url);
        self
    }

    /// How payment requests are built.
    pub fn payment_options(mut self, options: TossPaymentOptions) -> Self {
        self.payment = options;
        self
    }

    /// How billing authorisations are built.
    pub fn billing_options(mut self, options: BillingAuthOptions) -> Self {
        self.billing = options;
        self
    }

    /// The client key.
    pub fn client_key(&self) -> &str {
        &self.client_key
    }

    /// The `customerKey` and the SDK request for `intent` on `device` (what
    /// [`PaymentGateway::request_payment`] sends).
    pub fn payment_request(&self, intent: &PaymentIntent, device: Device) -> (CustomerKey, PaymentRequest) {
        build::payment_request(&intent.prepared, &self.payment, device, intent.return_url.as_deref())
    }

    /// The `customerKey` and the SDK request for `intent` (what
    /// [`PaymentGateway::request_billing_key`] sends).
    pub fn billing_request(&self, intent: &BillingIntent) -> (CustomerKey, BillingAuthRequest) {
        build::billing_request(&intent.prepared, &self.billing, intent.return_url.as_deref())
    }
}

impl PaymentGateway for TossPayments {
    fn name(&self) -> &'static str {
        "Toss Payments"
    }

    fn preload(&self) -> LocalBoxFuture<'_, Result<(), SdkError>> {
        Box::pin(load_script(&self.loader))
    }

    fn request_payment<'a>(&'a self, intent: &'a PaymentIntent) -> LocalBoxFuture<'a, Result<WindowResult, SdkError>> {
        Box::pin(async move {
            let device = current_device();
            let (customer, req) = self.payment_request(intent, device);
            let ctx = ValidationContext { device };
            let expected = &intent.prepared.payment_id;
            match request_payment(&self.client_key, &customer, &req, &ctx, &self.loader, expected).await {
                Ok(PaymentOutcome::Authenticated(done)) => Ok(WindowResult::Finished(done.report())),
                Ok(PaymentOutcome::Redirected) => Ok(WindowResult::Redirected),
                Err(SdkError::Rejected { code, message, raw, .. }) => {
                    match classify_rejection(code.as_deref(), &message) {
                        // The window ended with a cancel or a decline: a hint
                        // the backend confirms with Toss.
                        Rejection::Window(failure) => Ok(WindowResult::Finished(CompleteRequest {
                            failure: Some(failure),
                            ..CompleteRequest::default()
                        })),
                        Rejection::Refused { already_paid } => Err(SdkError::Rejected {
                            code,
                            message,
                            already_paid,
                            raw,
                        }),
                    }
                }
                Err(e) => Err(e),
            }
        })
    }

    #[cfg(feature = "billing")]
    fn request_billing_key<'a>(
        &'a self,
        intent: &'a BillingIntent,
    ) -> LocalBoxFuture<'a, Result<BillingWindowResult, SdkError>> {
        Box::pin(async move {
            let (customer, req) = self.billing_request(intent);
            match request_billing_auth(&self.client_key, &customer, &req, &self.loader).await {
                Ok(BillingAuthOutcome::Redirected) => Ok(BillingWindowResult::Redirected),
                Err(SdkError::Rejected { code, message, raw, .. }) => {
                    match classify_rejection(code.as_deref(), &message) {
                        Rejection::Window(failure) => Ok(BillingWindowResult::Failed(failure)),
                        Rejection::Refused { already_paid } => Err(SdkError::Rejected {
                            code,
                            message,
                            already_paid,
                            raw,
                        }),
                    }
                }
                Err(e) => Err(e),
            }
        })
    }

    fn parse_return(&self, query: &str) -> Result<Option<Returned>, ReturnError> {
        return_url::parse_return(query)
    }

    fn return_keys(&self) -> &'static [&'static str] {
        return_url::RESULT_KEYS
    }
}

/// Validates the key and `req`, loads the SDK, calls
/// `TossPayments(clientKey).payment({customerKey}).requestPayment(req)` and
/// returns the typed outcome for the order `expected`. A rejection is
/// [`SdkError::Rejected`] with Toss's `code` (see
/// [`crate::model::toss::response::classify_rejection`]).
pub async fn request_payment(
    client_key: &str,
    customer: &CustomerKey,
    req: &PaymentRequest,
    ctx: &ValidationContext,
    loader: &LoaderOptions,
    expected: &PaymentId,
) -> Result<PaymentOutcome, SdkError> {
    let mut violations = validate_client_key(client_key).err().map(|v| v.0).unwrap_or_default();
    if let Err(v) = validate_payment(req, customer, ctx) {
        violations.extend(v.0);
    }
    if !violations.is_empty() {
        return Err(SdkError::Invalid(crate::model::Violations(violations)));
    }
    let raw = call::call(loader, client_key, customer, "requestPayment", &js::to_js(req)?).await?;
    PaymentOutcome::read(js::answer(&raw), expected).map_err(|e| SdkError::BadResponse {
        message: e.to_string(),
        raw: super::RawJs(raw),
    })
}

/// Validates the key and `req`, loads the SDK and calls
/// `TossPayments(clientKey).payment({customerKey}).requestBillingAuth(req)`:
/// the page leaves for the window and comes back to `successUrl` with an
/// `authKey` (or to `failUrl`).
pub async fn request_billing_auth(
    client_key: &str,
    customer: &CustomerKey,
    req: &BillingAuthRequest,
    loader: &LoaderOptions,
) -> Result<BillingAuthOutcome, SdkError> {
    let mut violations = validate_client_key(client_key).err().map(|v| v.0).unwrap_or_default();
    if let Err(v) = validate_billing_auth(req, customer) {
        violations.extend(v.0);
    }
    if !violations.is_empty() {
        return Err(SdkError::Invalid(crate::model::Violations(violations)));
    }
    call::call(loader, client_key, customer, "requestBillingAuth", &js::to_js(req)?).await?;
    Ok(BillingAuthOutcome::Redirected)
}

mod call {
    use super::{load_script, LoaderOptions, SdkError};
    use crate::model::toss::CustomerKey;
    use wasm_bindgen::JsValue;

    /// Whether a refusal's code means "this order is already paid".
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    fn already_paid(code: Option<&str>) -> bool {
        code == Some("DUPLICATED_ORDER_ID")
    }

    /// `TossPayments(clientKey).payment({customerKey})[method](arg)`, awaited
    /// (`undefined` for a flow that left the page); every throw or
    /// rejection is [`SdkError::Rejected`].
    #[cfg(target_arch = "wasm32")]
    pub(super) async fn call(
        loader: &LoaderOptions,
        client_key: &str,
        customer: &CustomerKey,
        method: &'static str,
        arg: &JsValue,
    ) -> Result<JsValue, SdkError> {
        use super::super::js::rejected;
        use js_sys::{Function, Object, Promise, Reflect};
        use wasm_bindgen::JsCast;
        use wasm_bindgen_futures::JsFuture;

        load_script(loader).await?;
        let window = web_sys::window().ok_or(SdkError::NotAvailable)?;
        let not_defined = |what: &'static str| SdkError::NotDefined {
            url: loader.url.clone(),
            global: loader.global,
            method: what,
        };
        let toss = super::super::script::global(&window, loader.global)
            .and_then(|v| v.dyn_into::<Function>().ok())
            .ok_or_else(|| not_defined("payment"))?;
        let method_of = |target: &JsValue, name: &'static str| {
            Reflect::get(target, &JsValue::from_str(name))
                .ok()
                .and_then(|f| f.dyn_into::<Function>().ok())
                .ok_or_else(|| not_defined(name))
        };
        let instance = toss
            .call1(&JsValue::UNDEFINED, &JsValue::from_str(client_key))
            .map_err(|raw| rejected(raw, already_paid))?;
        let customer_key = match customer {
            CustomerKey::Key(k) => JsValue::from_str(k),
            // The SDK's own constant, so a future SDK's value is used as is.
            CustomerKey::Anonymous => Reflect::get(&toss, &JsValue::from_str("ANONYMOUS"))
                .ok()
                .filter(|v| !v.is_undefined() && !v.is_null())
                .unwrap_or_else(|| JsValue::from_str(crate::model::toss::ANONYMOUS)),
        };
        let params = Object::new();
        Reflect::set(&params, &JsValue::from_str("customerKey"), &customer_key)
            .map_err(|e| SdkError::Serialize(format!("customerKey: {}", super::super::RawJs(e).describe())))?;
        let payment = method_of(&instance, "payment")?
            .call1(&instance, &params)
            .map_err(|raw| rejected(raw, already_paid))?;
        let returned = method_of(&payment, method)?
            .call1(&payment, arg)
            .map_err(|raw| rejected(raw, already_paid))?;
        JsFuture::from(Promise::resolve(&returned))
            .await
            .map_err(|raw| rejected(raw, already_paid))
    }

    /// Off the browser there is no SDK to call.
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) async fn call(
        loader: &LoaderOptions,
        _client_key: &str,
        _customer: &CustomerKey,
        _method: &'static str,
        _arg: &JsValue,
    ) -> Result<JsValue, SdkError> {
        load_script(loader).await?;
        Err(SdkError::NotAvailable)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use crate::model::toss::Method;
    use crate::protocol::{PreparedCustomer, PreparedPayment};

    fn intent() -> PaymentIntent {
        PaymentIntent {
            prepared: PreparedPayment {
                payment_id: PaymentId::parse("order-0123456789").expect("id"),
                order_name: "아메리카노".into(),
                total_amount: 4500,
                currency: "KRW".into(),
                customer: Some(PreparedCustomer {
                    customer_id: Some("demo-customer-1".into()),
                    ..Default::default()
                }),
            },
            return_url: Some("https://shop.example/toss/".into()),
            lang: Lang::Ko,
        }
    }

    #[test]
    fn a_secret_key_as_client_key_is_refused_before_anything_is_loaded() {
        let gw = TossPayments::new("test_sk_sandboxTossPaymentsSecretKey");
        let r = futures::executor::block_on(gw.request_payment(&intent()));
        assert!(matches!(&r, Err(SdkError::Invalid(v)) if v.has("clientKey")), "{r:?}");
    }

    #[test]
    fn an_invalid_request_is_refused_with_every_violation_before_anything_is_loaded() {
        let (customer, mut req) = TossPayments::new("test_ck_x").payment_request(&intent(), Device::Pc);
        req.amount.value = 50;
        req.order_id = "x".into();
        let r = futures::executor::block_on(request_payment(
            "test_ck_x",
            &customer,
            &req,
            &ValidationContext::default(),
            &sdk_loader(DEFAULT_SDK_URL),
            &intent().prepared.payment_id,
        ));
        assert!(
            matches!(&r, Err(SdkError::Invalid(v)) if v.has("amount.value") && v.has("orderId")),
            "{r:?}"
        );
    }

    #[test]
    fn off_the_browser_a_valid_request_reports_not_available() {
        let gw = TossPayments::new("test_ck_x").payment_options(TossPaymentOptions {
            method: Method::Transfer,
            ..Default::default()
        });
        let r = futures::executor::block_on(gw.request_payment(&intent()));
        assert!(matches!(r, Err(SdkError::NotAvailable)), "{r:?}");
    }

    #[test]
    fn the_gateway_reads_tosss_returns() {
        let gw = TossPayments::new("test_ck_x");
        let r = gw.parse_return("?tossReturn=payment&orderId=order-0123456789&paymentKey=k&amount=4500");
        assert!(matches!(r, Ok(Some(Returned::Payment { .. }))), "{r:?}");
        assert!(gw.return_keys().contains(&"paymentKey"));
    }
}
