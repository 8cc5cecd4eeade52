//! The context `<CheckoutProvider>` gives the hooks: the gateway, the
//! backends, the language, the SDK's readiness and the page's redirect
//! return (read once, handed to the one hook that wants it).

use crate::backend::{BillingBackend, HttpBackend, PaymentBackend, RetryPolicy};
use crate::gateway::PaymentGateway;
use crate::i18n::Lang;
use crate::return_url::{ReturnError, Returned};
use leptos::prelude::*;
use std::sync::{Arc, Mutex};

/// Whether the gateway's SDK is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SdkStatus {
    /// Loading (preload started at mount; also the state before hydration).
    Loading,
    /// The SDK is loaded.
    Ready,
    /// Preloading failed (the message is developer detail); a click tries
    /// again.
    Failed(String),
}

pub(crate) struct Inner {
    pub gateway: Arc<dyn PaymentGateway>,
    pub payments: Arc<dyn PaymentBackend>,
    /// The billing-key backend: the merchant's own, else the HTTP backend
    /// (turned into one only where billing keys are used, so a page that
    /// only takes payments does not carry that code), else none.
    #[cfg_attr(not(feature = "billing"), allow(dead_code))]
    pub billing: BillingSource,
    pub retry: RetryPolicy,
    pub pending_return: Mutex<Option<Result<Returned, ReturnError>>>,
}

/// Where the billing-key calls go.
#[cfg_attr(not(feature = "billing"), allow(dead_code))]
pub(crate) enum BillingSource {
    /// The merchant's own backend.
    Custom(Arc<dyn BillingBackend>),
    /// The contract over HTTP.
    Http(Arc<HttpBackend>),
    /// A custom payments backend without a billing half.
    None,
}

#[cfg(feature = "billing")]
impl Inner {
    /// The billing-key backend, if any.
    pub(crate) fn billing(&self) -> Option<Arc<dyn BillingBackend>> {
        match &self.billing {
            BillingSource::Custom(b) => Some(b.clone()),
            BillingSource::Http(h) => Some(h.clone()),
            BillingSource::None => None,
        }
    }
}

/// What `<CheckoutProvider>` gives its descendants.
#[derive(Clone)]
pub struct CheckoutContext {
    pub(crate) inner: Arc<Inner>,
    pub(crate) sdk: RwSignal<SdkStatus>,
    pub(crate) lang: Signal<Lang>,
}

impl CheckoutContext {
    /// The SDK's readiness.
    pub fn sdk_status(&self) -> Signal<SdkStatus> {
        self.sdk.into()
    }

    /// The language of the text.
    pub fn lang(&self) -> Signal<Lang> {
        self.lang
    }

    /// The gateway's name (`"PortOne V2"`).
    pub fn gateway_name(&self) -> &'static str {
        self.inner.gateway.name()
    }

    /// Takes the redirect return this page loaded with, if `want` accepts
    /// it; an unreadable return goes to the first taker. Each return is
    /// handled by one hook.
    pub(crate) fn take_return<T>(
        &self,
        want: impl Fn(&Returned) -> bool,
        map: impl Fn(Result<Returned, ReturnError>) -> T,
    ) -> Option<T> {
        let mut slot = self.inner.pending_return.lock().ok()?;
        let take = match slot.as_ref()? {
            Ok(r) => want(r),
            Err(_) => true,
        };
        if take {
            slot.take().map(map)
        } else {
            None
        }
    }
}

/// The checkout context, or `None` outside a `<CheckoutProvider>`.
pub fn try_use_checkout() -> Option<CheckoutContext> {
    use_context::<CheckoutContext>()
}

/// The checkout context.
///
/// # Panics
/// Outside a `<CheckoutProvider>`, with a message saying so: wrap the
/// component in `<CheckoutProvider gateway=...>`.
pub fn use_checkout() -> CheckoutContext {
    match try_use_checkout() {
        Some(ctx) => ctx,
        None => panic!(
            "portone-checkout: use_payment()/use_billing_key() (and <Checkout>/<IssueBillingKey>) must be used \
             inside a <CheckoutProvider gateway=...>; wrap your checkout in one"
        ),
    }
}
