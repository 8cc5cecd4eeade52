//! `<CheckoutProvider>` and `use_checkout()`.

use crate::backend::{CheckoutBackend, HttpBackend, RetryPolicy};
use crate::i18n::Lang;
use crate::model::PgProvider;
use crate::redirect::{parse_redirect_query, strip_result_keys, RedirectError, RedirectReturn};
use crate::sdk::{PaymentGateway, PortOneV2, DEFAULT_SDK_URL};
use leptos::prelude::*;
use std::sync::{Arc, Mutex};

/// Whether the SDK script is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkStatus {
    /// Loading (preload started at mount).
    Loading,
    /// `window.PortOne` is defined.
    Ready,
    /// Preloading failed (the message is developer detail); a click tries
    /// again.
    Failed(String),
}

pub(crate) struct Inner {
    pub store_id: String,
    pub channel_key: Option<String>,
    pub channel_group_id: Option<String>,
    pub pg: PgProvider,
    pub gateway: PortOneV2,
    pub backend: Arc<dyn CheckoutBackend>,
    pub retry: RetryPolicy,
    pending_return: Mutex<Option<Result<RedirectReturn, RedirectError>>>,
}

/// What `<CheckoutProvider>` gives its descendants.
#[derive(Clone)]
pub struct CheckoutContext {
    pub(crate) inner: Arc<Inner>,
    sdk: RwSignal<SdkStatus>,
    lang: Signal<Lang>,
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

    /// The merchant backend.
    pub fn backend(&self) -> Arc<dyn CheckoutBackend> {
        self.inner.backend.clone()
    }

    /// The store id.
    pub fn store_id(&self) -> &str {
        &self.inner.store_id
    }

    /// Takes the redirect return this page loaded with, if it is of the kind
    /// `want` accepts (each return is handled by one component).
    pub(crate) fn take_return<T>(
        &self,
        want: impl Fn(&RedirectReturn) -> bool,
        map: impl Fn(Result<RedirectReturn, RedirectError>) -> T,
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
/// component in `<CheckoutProvider store_id=... channel_key=...>`.
pub fn use_checkout() -> CheckoutContext {
    match try_use_checkout() {
        Some(ctx) => ctx,
        None => panic!(
            "portone-checkout: use_checkout() (and <Checkout>/<IssueBillingKey>) must be used inside a \
             <CheckoutProvider store_id=\"...\" channel_key=\"...\">; wrap your checkout in one"
        ),
    }
}

/// Reads (and removes from the address bar) a redirect result, on the client.
fn read_return() -> Option<Result<RedirectReturn, RedirectError>> {
    let query = crate::dom::location_search();
    let parsed = parse_redirect_query(&query).transpose()?;
    crate::dom::replace_query(&strip_result_keys(&query));
    Some(parsed)
}

/// Provides the checkout configuration, the SDK (preloaded at mount) and the
/// backend to `<Checkout>` and `<IssueBillingKey>` below it.
#[component]
pub fn CheckoutProvider(
    /// The PortOne store id (`store-...`).
    #[prop(into)]
    store_id: String,
    /// The channel key payments use (give this or `channel_group_id`).
    #[prop(optional, into)]
    channel_key: Option<String>,
    /// The channel group id payments use (give this or `channel_key`).
    #[prop(optional, into)]
    channel_group_id: Option<String>,
    /// The channel's PG as PortOne names it (`"tosspay_v2"`), choosing the
    /// validation rules. Default: generic rules only.
    #[prop(optional, into)]
    pg: Option<String>,
    /// The SDK script URL. Default: PortOne's CDN
    /// (`https://cdn.portone.io/v2/browser-sdk.js`).
    #[prop(optional, into)]
    sdk_url: Option<String>,
    /// The merchant backend's origin (paths are those of
    /// [`crate::protocol`]). Default: the page's own origin.
    #[prop(optional, into)]
    backend_url: Option<String>,
    /// A backend replacing the HTTP one (custom paths or transport, tests).
    #[prop(optional)]
    backend: Option<Arc<dyn CheckoutBackend>>,
    /// The language of the text. Default: Korean.
    #[prop(optional, into)]
    lang: MaybeProp<Lang>,
    /// Timeouts and retries of backend calls. Default: [`RetryPolicy::default`].
    #[prop(optional)]
    retry: Option<RetryPolicy>,
    /// The checkout UI.
    children: Children,
) -> impl IntoView {
    let backend = backend
        .unwrap_or_else(|| Arc::new(HttpBackend::new(backend_url.unwrap_or_default())) as Arc<dyn CheckoutBackend>);
    let gateway = PortOneV2::with_url(sdk_url.unwrap_or_else(|| DEFAULT_SDK_URL.to_string()));
    let ctx = CheckoutContext {
        inner: Arc::new(Inner {
            store_id,
            channel_key,
            channel_group_id,
            pg: PgProvider::from_id(pg.as_deref().unwrap_or_default()),
            gateway: gateway.clone(),
            backend,
            retry: retry.unwrap_or_default(),
            pending_return: Mutex::new(read_return()),
        }),
        sdk: RwSignal::new(SdkStatus::Loading),
        lang: Signal::derive(move || lang.get().unwrap_or_default()),
    };
    let sdk = ctx.sdk;
    // Preload at mount (client only: effects do not run on the server).
    Effect::new(move |_| {
        let gateway = gateway.clone();
        leptos::task::spawn_local(async move {
            let status = match gateway.preload().await {
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
