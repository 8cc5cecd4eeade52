//! Loads a provider's browser SDK script once (any gateway: the script and
//! the global it defines are options).
//!
//! - An existing `window[global]` is used as is.
//! - Otherwise the script is injected once: concurrent callers share one
//!   future, and an existing `<script src>` tag with the same URL is reused.
//! - A load error, a timeout, or a script that does not define
//!   `window[global]` is a typed [`SdkError`]; the failed tag is removed and
//!   the next call tries again.
//! - Off the browser (SSR) it reports [`SdkError::NotAvailable`].
//!
//! No Rust closure is handed to JS: the script's `load`/`error` listeners
//! and the timeout are the `resolve`/`reject` functions of one JS promise,
//! removed again when it settles.

use super::SdkError;

/// How an SDK script is loaded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoaderOptions {
    /// Script URL (the provider's CDN, the sandbox, or a self-hosted copy).
    pub url: String,
    /// The global the script defines (`PortOne`, `IMP`, `TossPayments`).
    pub global: &'static str,
    /// A method of that global that must be a function once loaded.
    pub entry: &'static str,
    /// How long to wait for the script, in milliseconds. Default: 10 000.
    pub timeout_ms: u32,
}

impl LoaderOptions {
    /// Options for a script URL defining `global` (with `entry`), with the
    /// default timeout.
    pub fn new(url: impl Into<String>, global: &'static str, entry: &'static str) -> Self {
        Self {
            url: url.into(),
            global,
            entry,
            timeout_ms: 10_000,
        }
    }
}

/// Makes sure `window[global]` is defined, loading the script if needed.
#[cfg(not(target_arch = "wasm32"))]
pub async fn load_script(_options: &LoaderOptions) -> Result<(), SdkError> {
    Err(SdkError::NotAvailable)
}

/// Makes sure `window[global]` is defined, loading the script if needed.
#[cfg(target_arch = "wasm32")]
pub async fn load_script(options: &LoaderOptions) -> Result<(), SdkError> {
    browser::load(options).await
}

#[cfg(target_arch = "wasm32")]
pub(crate) use browser::global;

#[cfg(target_arch = "wasm32")]
mod browser {
    use super::{LoaderOptions, SdkError};
    use futures::future::{FutureExt, LocalBoxFuture, Shared};
    use js_sys::{Function, Promise, Reflect};
    use std::cell::RefCell;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Document, HtmlScriptElement, Window};

    type Pending = Shared<LocalBoxFuture<'static, Result<(), SdkError>>>;

    thread_local! {
        /// Loads in flight, by URL (one or two SDKs per page).
        static PENDING: RefCell<Vec<(String, Pending)>> = const { RefCell::new(Vec::new()) };
    }

    /// `window[name]`, when it is an object or a function.
    pub(crate) fn global(window: &Window, name: &str) -> Option<JsValue> {
        Reflect::get(window, &JsValue::from_str(name))
            .ok()
            .filter(|v| v.is_object() || v.is_function())
    }

    pub(super) async fn load(options: &LoaderOptions) -> Result<(), SdkError> {
        let window = web_sys::window().ok_or(SdkError::NotAvailable)?;
        if global(&window, options.global).is_some() {
            return Ok(());
        }
        let pending = PENDING.with(|p| {
            let mut p = p.borrow_mut();
            if let Some((_, running)) = p.iter().find(|(url, _)| *url == options.url) {
                return running.clone();
            }
            let started = inject(options.clone()).boxed_local().shared();
            p.push((options.url.clone(), started.clone()));
            started
        });
        let result = pending.clone().await;
        // Settled: forget it (success leaves the global defined; a failure
        // must let the next call try again), unless a newer attempt replaced it.
        PENDING.with(|p| {
            p.borrow_mut()
                .retain(|(url, cur)| !(*url == options.url && cur.ptr_eq(&pending)));
        });
        result
    }

    fn find_tag(document: &Document, url: &str) -> Option<HtmlScriptElement> {
        let scripts = document.get_elements_by_tag_name("script");
        (0..scripts.length())
            .filter_map(|i| scripts.item(i))
            .filter_map(|e| e.dyn_into::<HtmlScriptElement>().ok())
            .find(|s| s.get_attribute("src").as_deref() == Some(url) || s.src() == url)
    }

    enum Settled {
        Loaded,
        Failed(JsValue),
        TimedOut,
    }

    const TIMEOUT: &str = "portone-checkout:timeout";

    /// The script's `load`/`error` listeners and a timeout, attached at once
    /// (synchronously), as the `resolve`/`reject` of one JS promise.
    struct Armed {
        settled: JsFuture,
        handlers: Option<(Function, Function)>,
        timer: Option<i32>,
    }

    fn arm(window: &Window, script: &HtmlScriptElement, timeout_ms: u32) -> Armed {
        let mut handlers = None;
        let mut timer = None;
        let promise = Promise::new(&mut |resolve: Function, reject: Function| {
            let _ = script.add_event_listener_with_callback("load", &resolve);
            let _ = script.add_event_listener_with_callback("error", &reject);
            timer = window
                .set_timeout_with_callback_and_timeout_and_arguments_1(
                    &resolve,
                    i32::try_from(timeout_ms).unwrap_or(i32::MAX),
                    &JsValue::from_str(TIMEOUT),
                )
                .ok();
            handlers = Some((resolve, reject));
        });
        Armed {
            settled: JsFuture::from(promise),
            handlers,
            timer,
        }
    }

    impl Armed {
        async fn wait(self, window: &Window, script: &HtmlScriptElement) -> Settled {
            let settled = match self.settled.await {
                Ok(v) if v.as_string().as_deref() == Some(TIMEOUT) => Settled::TimedOut,
                Ok(_) => Settled::Loaded,
                Err(e) => Settled::Failed(e),
            };
            if let Some((resolve, reject)) = self.handlers {
                let _ = script.remove_event_listener_with_callback("load", &resolve);
                let _ = script.remove_event_listener_with_callback("error", &reject);
            }
            if let Some(t) = self.timer {
                window.clear_timeout_with_handle(t);
            }
            settled
        }
    }

    async fn inject(options: LoaderOptions) -> Result<(), SdkError> {
        let window = web_sys::window().ok_or(SdkError::NotAvailable)?;
        let document = window.document().ok_or(SdkError::NotAvailable)?;
        let script = match find_tag(&document, &options.url) {
            Some(existing) => {
                let armed = arm(&window, &existing, options.timeout_ms);
                let settled = armed.wait(&window, &existing).await;
                return finish(&window, &existing, settled, options);
            }
            None => document
                .create_element("script")
                .ok()
                .and_then(|e| e.dyn_into::<HtmlScriptElement>().ok())
                .ok_or(SdkError::NotAvailable)?,
        };
        script.set_src(&options.url);
        script.set_async(true);
        let parent = document
            .head()
            .map(web_sys::Node::from)
            .or_else(|| document.document_element().map(web_sys::Node::from))
            .ok_or(SdkError::NotAvailable)?;
        let armed = arm(&window, &script, options.timeout_ms);
        let settled = match parent.append_child(&script) {
            Ok(_) => armed.wait(&window, &script).await,
            Err(e) => Settled::Failed(e),
        };
        finish(&window, &script, settled, options)
    }

    fn finish(
        window: &Window,
        script: &HtmlScriptElement,
        settled: Settled,
        options: LoaderOptions,
    ) -> Result<(), SdkError> {
        let url = options.url;
        let result = match settled {
            Settled::Loaded if global(window, options.global).is_some() => return Ok(()),
            Settled::Loaded => Err(SdkError::NotDefined {
                url,
                global: options.global,
                method: options.entry,
            }),
            Settled::Failed(raw) => Err(SdkError::LoadFailed {
                url,
                raw: crate::gateway::RawJs(raw),
            }),
            Settled::TimedOut => Err(SdkError::LoadTimeout {
                url,
                timeout_ms: options.timeout_ms,
            }),
        };
        // A failed tag would be "reused" by the next call and never load.
        script.remove();
        result
    }
}
