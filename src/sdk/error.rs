//! The typed errors of the browser layer.

use crate::model::{ResponseError, SdkRejection, Violations};
use wasm_bindgen::JsValue;

/// Why an SDK call did not produce an outcome. Variants that come from the
/// browser keep the raw `JsValue` for the developer console.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SdkError {
    /// No browser here (server-side rendering): nothing was attempted.
    #[error("the PortOne SDK is not available outside a browser (server-side rendering?); call it from an event handler or effect")]
    NotAvailable,
    /// The script tag fired `error` (network, 404, blocked by CSP).
    #[error("the PortOne SDK script at {url} failed to load: check the URL, the network, and that the page's Content-Security-Policy allows it in script-src")]
    LoadFailed {
        /// The script URL.
        url: String,
        /// The `error` event.
        raw: JsValue,
    },
    /// The script neither loaded nor failed in time.
    #[error("the PortOne SDK script at {url} did not load within {timeout_ms} ms; the next call tries again")]
    LoadTimeout {
        /// The script URL.
        url: String,
        /// The timeout that passed.
        timeout_ms: u32,
    },
    /// The script loaded but `window.PortOne.<method>` is not a function.
    #[error(
        "the script at {url} loaded but window.PortOne.{method} is not a function: is this the PortOne V2 browser SDK?"
    )]
    NotDefined {
        /// The script URL.
        url: String,
        /// The missing method.
        method: &'static str,
    },
    /// Validation failed: nothing was sent to the SDK.
    #[error("the request was not sent: {0}")]
    Invalid(#[from] Violations),
    /// The request could not be converted to a JS object.
    #[error("the request could not be converted for the SDK: {0}")]
    Serialize(String),
    /// The SDK rejected the request before opening the window.
    #[error("the PortOne SDK refused the request before opening the payment window ({}): {}", .rejection.code.as_ref().map(|c| c.as_str()).unwrap_or("no code"), .rejection.message)]
    Rejected {
        /// `code` and `message` of the thrown error.
        rejection: SdkRejection,
        /// What was thrown.
        raw: JsValue,
    },
    /// The SDK resolved to something that is not a response.
    #[error("{source}")]
    BadResponse {
        /// What is wrong with it.
        source: ResponseError,
        /// What the SDK resolved to.
        raw: JsValue,
    },
}
