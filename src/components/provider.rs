//! `<CheckoutProvider>`: the gateway, the backends and the language for
//! the hooks and components below it.

use crate::backend::{BillingBackend, HttpBackend, PaymentBackend, RetryPolicy};
use crate::gateway::Gateway;
use crate::hooks::{BillingSource, CheckoutContext, Inner, SdkStatus};
use crate::i18n::Lang;
use crate::return_url::{strip_keys, ReturnError, Returned};
use leptos::prelude::*;
use std::sync::{Arc, Mutex};

/// Reads (and removes from the address bar) a redirect result, on the
/// client; nothing off the browser.
fn read_return(gateway: &Gateway) -> Option<Result<Returned, ReturnError>> {
    let query = crate::dom::location_search();
    let parsed = gateway.0.parse_return(&query).transpose()?;
    crate::dom::replace_query(&strip_keys(&query, gateway.0.return_keys()));
    Some(parsed)
}

/// Provides the gateway (its SDK preloaded at mount), the merchant backend
/// and the language to [`use_payment`](crate::hooks::use_payment),
/// [`use_billing_key`](crate::hooks::use_billing_key), `<Checkout>` and
/// `<IssueBillingKey>` below it.
#[component]
pub fn CheckoutProvider(
    /// The provider's SDK: e.g.
    /// `PortOneV2::new(store_id).channel_key(key).pg(PgProvider::TosspayV2)`,
    /// or any [`PaymentGateway`](crate::gateway::PaymentGateway).
    #[prop(into)]
    gateway: Gateway,
    /// The merchant backend's origin (paths are those of
    /// [`crate::protocol`]). Default: the page's own origin.
    #[prop(optional, into)]
    backend_url: Option<String>,
    /// A payments backend replacing the HTTP one (custom paths or
    /// transport, tests).
    #[prop(optional)]
    backend: Option<Arc<dyn PaymentBackend>>,
    /// A billing-key backend replacing the HTTP one. Default: the HTTP
    /// backend, unless `backend` is given (a custom payments backend then
    /// needs its billing half here to use billing keys).
    #[prop(optional)]
    billing_backend: Option<Arc<dyn BillingBackend>>,
    /// The language of the text (reactive). Default: Korean.
    #[prop(optional, into)]
    lang: MaybeProp<Lang>,
    /// Timeouts and retries of backend calls. Default: [`RetryPolicy::default`].
    #[prop(optional)]
    retry: Option<RetryPolicy>,
    /// The checkout UI.
    children: Children,
) -> impl IntoView {
    let http = Arc::new(HttpBackend::new(backend_url.unwrap_or_default()));
    let billing = match (&backend, billing_backend) {
        (_, Some(b)) => BillingSource::Custom(b),
        (None, None) => BillingSource::Http(http.clone()),
        (Some(_), None) => BillingSource::None,
    };
    let payments = backend.unwrap_or(http as Arc<dyn PaymentBackend>);
    let pending = read_return(&gateway);
    let gw = gateway.0.clone();
    let ctx = CheckoutContext {
        inner: Arc::new(Inner {
            gateway: gateway.0,
            payments,
            billing,
            retry: retry.unwrap_or_default(),
            pending_return: Mutex::new(pending),
        }),
        sdk: RwSignal::new(SdkStatus::Loading),
        lang: Signal::derive(move || lang.get().unwrap_or_default()),
    };
    let sdk = ctx.sdk;
    // Preload at mount (client only: effects do not run on the server).
    Effect::new(move |_| {
        let gw = gw.clone();
        leptos::task::spawn_local(async move {
            let status = match gw.preload().await {
                Ok(()) => SdkStatus::Ready,
                Err(e) => {
                    crate::dom::console_error(&format!("portone-checkout: preloading the SDK failed: {e}"), None);
                    SdkStatus::Failed(e.to_string())
                }
            };
            sdk.try_set(status);
        });
    });
    provide_context(ctx);
    children()
}
