//! The typed errors of the browser layer, the same for every gateway.

use crate::model::Violations;
use wasm_bindgen::JsValue;

/// What the browser gave (an error event, a thrown value, an answer), kept
/// for the developer console; opaque so no `JsValue` leaks into the API.
#[derive(Clone)]
pub struct RawJs(pub(crate) JsValue);

impl RawJs {
    /// A short description (`JSON.stringify`, or the string itself).
    pub fn describe(&self) -> String {
        if let Some(s) = self.0.as_string() {
            return s;
        }
        #[cfg(target_arch = "wasm32")]
        if let Some(s) = js_sys::JSON::stringify(&self.0).ok().and_then(|s| s.as_string()) {
            return s;
        }
        format!("{:?}", self.0)
    }

    /// Whether the value is a JS object (an `Error`, an event, ...).
    pub fn is_object(&self) -> bool {
        self.0.is_object()
    }
}

impl std::fmt::Debug for RawJs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RawJs(..)")
    }
}

/// Why a gateway call did not produce a result. Variants that come from the
/// browser keep the raw `JsValue` for the developer console.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SdkError {
    /// No browser here (server-side rendering): nothing was attempted.
    #[error("the payment SDK is not available outside a browser (server-side rendering?); call it from an event handler or effect")]
    NotAvailable,
    /// The script tag fired `error` (network, 404, blocked by CSP).
    #[error("the payment SDK script at {url} failed to load: check the URL, the network, and that the page's Content-Security-Policy allows it in script-src")]
    LoadFailed {
        /// The script URL.
        url: String,
        /// The `error` event.
        raw: RawJs,
    },
    /// The script neither loaded nor failed in time.
    #[error("the payment SDK script at {url} did not load within {timeout_ms} ms; the next call tries again")]
    LoadTimeout {
        /// The script URL.
        url: String,
        /// The timeout that passed.
        timeout_ms: u32,
    },
    /// The script loaded but the SDK's entry point is not there.
    #[error(
        "the script at {url} loaded but window.{global}.{method} is not a function: is this the right SDK for the gateway?"
    )]
    NotDefined {
        /// The script URL.
        url: String,
        /// The global the script should define (`PortOne`, `IMP`, ...).
        global: &'static str,
        /// The missing method.
        method: &'static str,
    },
    /// Validation failed: nothing was sent to the SDK.
    #[error("the request was not sent: {0}")]
    Invalid(#[from] Violations),
    /// The gateway does not offer this (billing keys from a provider
    /// without them, or with the crate's `billing` feature off).
    #[error("the payment gateway does not offer {0} (billing keys need the crate's `billing` feature)")]
    Unsupported(&'static str),
    /// The request could not be converted to a JS object.
    #[error("the request could not be converted for the SDK: {0}")]
    Serialize(String),
    /// The SDK rejected the request before opening the window.
    #[error("the payment SDK refused the request before opening the window ({}): {message}", .code.as_deref().unwrap_or("no code"))]
    Rejected {
        /// The SDK's error code, when the error carried one.
        code: Option<String>,
        /// The SDK's message (developer-facing).
        message: String,
        /// The provider says the order is already paid (the checkout then
        /// verifies instead of failing).
        already_paid: bool,
        /// What was thrown.
        raw: RawJs,
    },
    /// The SDK resolved to something that is not a response.
    #[error("the payment SDK answered something unreadable: {message}")]
    BadResponse {
        /// What is wrong with it.
        message: String,
        /// What the SDK resolved to.
        raw: RawJs,
    },
}

impl SdkError {
    /// The raw value the browser gave, for the developer console.
    pub fn raw(&self) -> Option<&RawJs> {
        match self {
            Self::LoadFailed { raw, .. } | Self::Rejected { raw, .. } | Self::BadResponse { raw, .. } => Some(raw),
            _ => None,
        }
    }

    /// Whether the provider refused because the order is already paid.
    pub fn is_already_paid(&self) -> bool {
        matches!(self, Self::Rejected { already_paid: true, .. })
    }
}
