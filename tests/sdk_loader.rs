//! The SDK script loader in a browser (Chromium, Firefox, WebKit).
#![cfg(target_arch = "wasm32")]

use portone_checkout::gateway::portone_v2::sdk_loader;
use portone_checkout::gateway::{load_script as load_sdk, SdkError};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function reset() {
  delete window.PortOne;
  window.__sdkLoads = 0;
  window.__sdkReachable = false;
}
export function tags(url) {
  return Array.from(document.getElementsByTagName("script")).filter(s => s.getAttribute("src") === url).length;
}
export function loads() { return window.__sdkLoads; }
export function set_reachable() { window.__sdkReachable = true; }
export function add_tag(url) {
  const s = document.createElement("script");
  s.src = url;
  const loaded = new Promise((resolve) => s.addEventListener("load", resolve));
  document.head.appendChild(s);
  return loaded;
}
"#)]
extern "C" {
    fn reset();
    fn tags(url: &str) -> u32;
    fn loads() -> u32;
    fn set_reachable();
    fn add_tag(url: &str) -> js_sys::Promise;
}

/// A script that counts its runs and defines `window.PortOne`; `tag` keeps
/// URLs distinct between tests.
fn sdk_url(tag: &str) -> String {
    format!(
        "data:text/javascript,window.__sdkLoads%2B%2B;window.PortOne={{requestPayment(){{}},requestIssueBillingKey(){{}}}};//{tag}"
    )
}

#[wasm_bindgen_test]
async fn concurrent_callers_inject_the_script_exactly_once() {
    reset();
    let opts = sdk_loader(sdk_url("concurrent"));
    let (a, b, c) = futures::join!(load_sdk(&opts), load_sdk(&opts), load_sdk(&opts));
    assert!(a.is_ok() && b.is_ok() && c.is_ok(), "{a:?} {b:?} {c:?}");
    assert_eq!(tags(&opts.url), 1);
    assert_eq!(loads(), 1);
    // Once loaded, later calls inject nothing.
    assert!(load_sdk(&opts).await.is_ok());
    assert_eq!(tags(&opts.url), 1);
}

#[wasm_bindgen_test]
async fn an_existing_script_tag_is_reused() {
    reset();
    let opts = sdk_loader(sdk_url("existing"));
    // Still loading when the loader finds it.
    let _loading = add_tag(&opts.url);
    let r = load_sdk(&opts).await;
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(tags(&opts.url), 1);
    assert_eq!(loads(), 1);
}

#[wasm_bindgen_test]
async fn a_load_failure_is_a_typed_error_and_the_tag_is_removed() {
    reset();
    // Port 9 (discard) on loopback: connection refused, the tag fires `error`.
    let opts = sdk_loader("http://127.0.0.1:9/browser-sdk.js");
    let r = load_sdk(&opts).await;
    assert!(
        matches!(&r, Err(SdkError::LoadFailed { url, .. }) if url == &opts.url),
        "{r:?}"
    );
    assert_eq!(tags(&opts.url), 0);
}

#[wasm_bindgen_test]
async fn the_next_call_succeeds_once_the_script_is_reachable() {
    reset();
    // Defines window.PortOne only once the "network" is back.
    let opts = sdk_loader(
        "data:text/javascript,window.__sdkLoads%2B%2B;if(window.__sdkReachable){window.PortOne={requestPayment(){}}}",
    );
    let first = load_sdk(&opts).await;
    assert!(matches!(first, Err(SdkError::NotDefined { .. })), "{first:?}");
    assert_eq!(tags(&opts.url), 0, "the failed tag must not be reused");
    set_reachable();
    let second = load_sdk(&opts).await;
    assert!(second.is_ok(), "{second:?}");
    assert_eq!(loads(), 2);
    assert_eq!(tags(&opts.url), 1);
}

#[wasm_bindgen_test]
async fn a_script_that_never_settles_times_out_with_a_typed_error() {
    reset();
    // An existing tag whose script already ran without defining PortOne
    // never fires `load` again: only the timeout can end the wait.
    let url = "data:text/javascript,window.__sdkLoads%2B%2B;//stale";
    let ran = add_tag(url);
    let _ = wasm_bindgen_futures::JsFuture::from(ran).await;
    assert_eq!(loads(), 1);
    let opts = portone_checkout::gateway::LoaderOptions {
        timeout_ms: 200,
        ..sdk_loader(url)
    };
    let r = load_sdk(&opts).await;
    assert!(matches!(r, Err(SdkError::LoadTimeout { timeout_ms: 200, .. })), "{r:?}");
    assert_eq!(tags(url), 0);
}
