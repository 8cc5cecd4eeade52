//! The browser layer (feature `browser`): one adapter per provider SDK
//! behind one seam, [`PaymentGateway`].
//!
//! The checkout's state machines know no provider. A gateway opens its
//! provider's window for a [`PaymentIntent`] / [`BillingIntent`], turns the
//! SDK's answer into the machines' [`WindowResult`] / [`BillingWindowResult`],
//! and reads its provider's redirect-return query. Adding a provider is a new
//! gateway here (and its pure model in [`crate::model`]); nothing else moves.
//!
//! - [`script`]: loads an SDK script once (shared by every gateway).
//! - [`PortOneV2`]: `window.PortOne` (`requestPayment`,
//!   `requestIssueBillingKey`).
//! - [`PortOneV1`]: `window.IMP` (`IMP.init`, `IMP.request_pay` with its
//!   callback) for TossPay.
//! - [`TossPayments`]: `window.TossPayments` (Toss Payments' SDK v2, used
//!   directly: `requestPayment`, `requestBillingAuth`), with the client key
//!   only.

mod error;
pub(crate) mod js;
pub mod portone_v1;
pub mod portone_v2;
pub mod script;
pub mod toss;

pub use error::{RawJs, SdkError};
pub use portone_v1::PortOneV1;
pub use portone_v2::{PortOneV2, DEFAULT_SDK_URL};
pub use script::{load_script, LoaderOptions};
pub use toss::TossPayments;

use crate::i18n::Lang;
use crate::machine::{BillingWindowResult, WindowResult};
use crate::model::Device;
use crate::protocol::{BillingKeyPrepared, PreparedPayment};
use crate::return_url::{ReturnError, Returned};
use futures::future::LocalBoxFuture;
use std::sync::Arc;

/// What the checkout asks a gateway to open a payment window for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentIntent {
    /// The order as the backend prepared it (server-computed amount).
    pub prepared: PreparedPayment,
    /// Where the provider sends the page back after a redirect (absolute).
    pub return_url: Option<String>,
    /// The language of the window.
    pub lang: Lang,
}

/// What the checkout asks a gateway to open a billing-key window for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingIntent {
    /// The issuance as the backend prepared it.
    pub prepared: BillingKeyPrepared,
    /// Where the provider sends the page back after a redirect (absolute).
    pub return_url: Option<String>,
    /// The language of the window.
    pub lang: Lang,
}

/// A provider's browser SDK, as the checkout drives it.
///
/// Futures are local (`JsValue`s are not `Send`); the gateway itself is
/// plain configuration, shareable across the app.
pub trait PaymentGateway: Send + Sync + 'static {
    /// A short name for messages (`"PortOne V2"`).
    fn name(&self) -> &'static str;
    /// Makes the SDK ready so that a click never waits for the network.
    fn preload(&self) -> LocalBoxFuture<'_, Result<(), SdkError>>;
    /// Validates and opens the payment window. When the SDK is loaded, the
    /// SDK must be called on the future's first poll (the checkout polls it
    /// inside the click that asked for it).
    fn request_payment<'a>(&'a self, intent: &'a PaymentIntent) -> LocalBoxFuture<'a, Result<WindowResult, SdkError>>;
    /// Gets everything [`PaymentGateway::request_payment`] would do for
    /// `intent` before the call done ahead (building, validating, converting
    /// the request), so a later click on the same intent only calls the
    /// SDK. Called when an order is ready in the background. Default:
    /// nothing ahead.
    fn get_ready(&self, intent: &PaymentIntent) -> Result<(), SdkError> {
        let _ = intent;
        Ok(())
    }
    /// Validates and opens the billing-key window. Default (a provider
    /// without billing keys, or the crate without its `billing` feature):
    /// [`SdkError::Unsupported`].
    fn request_billing_key<'a>(
        &'a self,
        intent: &'a BillingIntent,
    ) -> LocalBoxFuture<'a, Result<BillingWindowResult, SdkError>> {
        let _ = intent;
        Box::pin(std::future::ready(Err(SdkError::Unsupported("billing keys"))))
    }
    /// Reads this provider's redirect-return query (`Ok(None)`: an ordinary
    /// page load).
    fn parse_return(&self, query: &str) -> Result<Option<Returned>, ReturnError>;
    /// The query keys a return carries, removed from the address bar once
    /// read.
    fn return_keys(&self) -> &'static [&'static str];
}

/// Any [`PaymentGateway`], shared: what `<CheckoutProvider gateway=...>`
/// takes (every gateway converts into it).
#[derive(Clone)]
pub struct Gateway(pub Arc<dyn PaymentGateway>);

impl<G: PaymentGateway> From<G> for Gateway {
    fn from(g: G) -> Self {
        Gateway(Arc::new(g))
    }
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Gateway").field(&self.0.name()).finish()
    }
}

/// Whether a user agent belongs to a phone or tablet.
pub fn is_mobile_user_agent(ua: &str) -> bool {
    ["Mobi", "Android", "iPhone", "iPad", "iPod"]
        .iter()
        .any(|k| ua.contains(k))
}

/// The device kind of this browser (from the user agent, read once; PC off
/// the browser).
#[cfg(target_arch = "wasm32")]
pub fn current_device() -> Device {
    thread_local! {
        static DEVICE: Device = read_device();
    }
    DEVICE.with(|d| *d)
}

#[cfg(target_arch = "wasm32")]
fn read_device() -> Device {
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

/// The device kind of this browser (from the user agent; PC off the
/// browser).
#[cfg(not(target_arch = "wasm32"))]
pub fn current_device() -> Device {
    Device::Pc
}

/// `Date.now()` in milliseconds, `None` off the browser.
#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> Option<i64> {
    // Date.now() is an integral number of milliseconds.
    Some(js_sys::Date::now() as i64)
}

/// `Date.now()` in milliseconds, `None` off the browser.
#[cfg(not(target_arch = "wasm32"))]
pub fn now_ms() -> Option<i64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gateway that takes payments only.
    struct PaymentsOnly;

    impl PaymentGateway for PaymentsOnly {
        fn name(&self) -> &'static str {
            "payments only"
        }
        fn preload(&self) -> LocalBoxFuture<'_, Result<(), SdkError>> {
            Box::pin(std::future::ready(Ok(())))
        }
        fn request_payment<'a>(
            &'a self,
            _intent: &'a PaymentIntent,
        ) -> LocalBoxFuture<'a, Result<WindowResult, SdkError>> {
            Box::pin(std::future::ready(Ok(WindowResult::Redirected)))
        }
        fn parse_return(&self, _query: &str) -> Result<Option<Returned>, ReturnError> {
            Ok(None)
        }
        fn return_keys(&self) -> &'static [&'static str] {
            &[]
        }
    }

    #[test]
    fn a_gateway_without_billing_keys_says_so_instead_of_opening_anything() {
        let intent = BillingIntent {
            prepared: BillingKeyPrepared {
                issue_id: crate::protocol::IssueId::parse("issue-1").unwrap_or_else(|e| panic!("{e}")),
                issue_name: "정기 결제".into(),
                customer: Default::default(),
            },
            return_url: None,
            lang: Lang::Ko,
        };
        let r = futures::executor::block_on(PaymentsOnly.request_billing_key(&intent));
        assert!(matches!(r, Err(SdkError::Unsupported("billing keys"))), "{r:?}");
        let shown = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(shown.contains("`billing` feature"), "{shown}");
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
