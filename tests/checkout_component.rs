//! `<Checkout>` in headless Chromium, with a scripted backend and a
//! recording SDK double installed as `window.PortOne`.
#![cfg(target_arch = "wasm32")]

use futures::future::LocalBoxFuture;
use leptos::prelude::*;
use portone_checkout::backend::{BackendError, CheckoutBackend, RetryPolicy};
use portone_checkout::components::{Checkout, CheckoutProvider};
use portone_checkout::i18n::Lang;
use portone_checkout::protocol::*;
use serde_json::json;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
let pending = null;
export function install_sdk(mode) {
  window.__sdkCalls = [];
  window.__sdkMode = mode;
  window.PortOne = {
    requestPayment(req) {
      window.__sdkCalls.push(req);
      const base = { transactionType: "PAYMENT", paymentId: req.paymentId, txId: "tx-" + window.__sdkCalls.length };
      switch (window.__sdkMode) {
        case "success": return Promise.resolve(base);
        case "failure": return Promise.resolve({ ...base, code: "FAILURE_TYPE_PG", message: "[INSUFFICIENT_BALANCE] x",
          pgCode: "INSUFFICIENT_BALANCE", pgMessage: "잔액이 부족합니다." });
        case "cancel": return Promise.resolve({ ...base, code: "FAILURE_TYPE_PG", message: "cancel",
          pgCode: "PAY_PROCESS_CANCELED", pgMessage: "사용자가 결제를 취소하였습니다." });
        case "reject": { const e = new Error("AmountNotEqualToPredefined: 금액 불일치 (developer detail)");
          e.code = "AmountNotEqualToPredefined"; return Promise.reject(e); }
        case "pending": return new Promise((resolve) => { pending = () => resolve(base); });
      }
    },
    requestIssueBillingKey() { return Promise.reject(new Error("not in this test")); },
  };
}
export function set_sdk_mode(mode) { window.__sdkMode = mode; }
export function resolve_pending() { if (pending) { pending(); pending = null; } }
export function sdk_calls() { return window.__sdkCalls.length; }
export function sdk_call(i) { return JSON.stringify(window.__sdkCalls[i]); }
export function set_query(q) { history.replaceState(null, "", location.pathname + q); }
export function current_query() { return location.search; }
"#)]
extern "C" {
    fn install_sdk(mode: &str);
    fn set_sdk_mode(mode: &str);
    fn resolve_pending();
    fn sdk_calls() -> u32;
    fn sdk_call(i: u32) -> String;
    fn set_query(q: &str);
    fn current_query() -> String;
}

/// A backend whose answers the test scripts, recording what it is asked.
#[derive(Default)]
struct Scripted {
    prepares: AtomicU32,
    completes: Mutex<Vec<(String, CompleteRequest)>>,
    /// Complete and status calls fail with a network error while > 0.
    down: AtomicU32,
    status: Mutex<Option<OrderStatus>>,
}

impl Scripted {
    fn new() -> Arc<Self> {
        let s = Self::default();
        *s.status.lock().unwrap_or_else(|e| e.into_inner()) = Some(OrderStatus::Paid);
        Arc::new(s)
    }

    fn answer(&self, payment_id: &str) -> Result<PaymentStatus, BackendError> {
        if self.down.load(Ordering::SeqCst) > 0 {
            return Err(BackendError::Network("connection refused".into()));
        }
        if payment_id != "order-1" {
            return Err(BackendError::Status {
                status: 404,
                error: "order_not_found".into(),
                message: "주문을 찾을 수 없습니다.".into(),
            });
        }
        let status = self
            .status
            .lock()
            .map(|s| *s)
            .ok()
            .flatten()
            .unwrap_or(OrderStatus::Pending);
        Ok(PaymentStatus {
            payment_id: payment_id.into(),
            status,
            order_name: "아메리카노 2잔".into(),
            total_amount: 9000,
            currency: "KRW".into(),
            paid_at: None,
            failure: None,
            message: None,
        })
    }

    fn completes(&self) -> Vec<(String, CompleteRequest)> {
        self.completes.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl CheckoutBackend for Scripted {
    fn prepare_payment<'a>(
        &'a self,
        _: &'a serde_json::Value,
    ) -> LocalBoxFuture<'a, Result<PreparedPayment, BackendError>> {
        self.prepares.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {
            Ok(PreparedPayment {
                payment_id: "order-1".into(),
                order_name: "아메리카노 2잔".into(),
                total_amount: 9000,
                currency: "KRW".into(),
                customer: None,
            })
        })
    }
    fn complete_payment<'a>(
        &'a self,
        payment_id: &'a str,
        body: &'a CompleteRequest,
    ) -> LocalBoxFuture<'a, Result<PaymentStatus, BackendError>> {
        if let Ok(mut c) = self.completes.lock() {
            c.push((payment_id.to_string(), body.clone()));
        }
        Box::pin(async move { self.answer(payment_id) })
    }
    fn payment_status<'a>(&'a self, payment_id: &'a str) -> LocalBoxFuture<'a, Result<PaymentStatus, BackendError>> {
        Box::pin(async move { self.answer(payment_id) })
    }
    fn prepare_billing_key(&self) -> LocalBoxFuture<'_, Result<BillingKeyPrepared, BackendError>> {
        Box::pin(async { Err(BackendError::Network("not in this test".into())) })
    }
    fn register_billing_key<'a>(
        &'a self,
        _: &'a RegisterBillingKeyRequest,
    ) -> LocalBoxFuture<'a, Result<Subscription, BackendError>> {
        Box::pin(async { Err(BackendError::Network("not in this test".into())) })
    }
}

struct Page {
    root: HtmlElement,
    _handle: Box<dyn std::any::Any>,
}

impl Drop for Page {
    fn drop(&mut self) {
        self.root.remove();
    }
}

fn mount(backend: Arc<Scripted>, lang: Lang) -> Page {
    let document = web_sys::window().and_then(|w| w.document()).expect("a document");
    let root: HtmlElement = document.create_element("div").expect("a div").unchecked_into();
    document.body().expect("a body").append_child(&root).expect("appended");
    let backend: Arc<dyn CheckoutBackend> = backend;
    let handle = leptos::mount::mount_to(root.clone(), move || {
        view! {
            <CheckoutProvider
                store_id="store-test"
                channel_key="channel-key-test"
                pg="tosspay_v2"
                sdk_url="http://127.0.0.1:9/never-fetched.js"
                backend=backend.clone()
                lang=lang
                retry=RetryPolicy { attempts: 2, base_delay_ms: 5, timeout_ms: 2_000 }
            >
                <Checkout order=Signal::derive(|| json!({"items": [{"productId": "americano", "quantity": 2}]})) />
            </CheckoutProvider>
        }
        .into_any()
    });
    Page {
        root,
        _handle: Box::new(handle),
    }
}

impl Page {
    fn find(&self, testid: &str) -> Option<HtmlElement> {
        self.root
            .query_selector(&format!("[data-testid=\"{testid}\"]"))
            .ok()
            .flatten()
            .map(JsCast::unchecked_into)
    }

    fn el(&self, testid: &str) -> HtmlElement {
        self.find(testid)
            .unwrap_or_else(|| panic!("no element with data-testid={testid}"))
    }

    fn state(&self) -> String {
        self.el("checkout-status")
            .get_attribute("data-state")
            .unwrap_or_default()
    }

    fn pay_button_enabled(&self) -> bool {
        !self.el("checkout-pay").has_attribute("disabled")
    }

    async fn wait_state(&self, want: &str) {
        wait_for(
            || self.state() == want,
            &format!("data-state={want} (now {})", self.state()),
        )
        .await;
    }
}

/// Waits for a condition, polling between renders, failing after 5 s.
async fn wait_for(mut cond: impl FnMut() -> bool, what: &str) {
    for _ in 0..250 {
        if cond() {
            return;
        }
        leptos::task::tick().await;
        gloo_timers::future::TimeoutFuture::new(20).await;
    }
    panic!("timed out waiting for {what}");
}

fn reset() {
    set_query("");
    if let Some(s) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) {
        let _ = s.clear();
    }
}

#[wasm_bindgen_test]
async fn pays_on_pc_and_the_backend_verifies_the_payment() {
    reset();
    install_sdk("success");
    let backend = Scripted::new();
    let page = mount(backend.clone(), Lang::Ko);
    wait_for(|| page.pay_button_enabled(), "an enabled pay button").await;
    page.el("checkout-pay").click();
    page.wait_state("paid").await;
    assert_eq!(
        page.el("checkout-status").get_attribute("data-payment-id").as_deref(),
        Some("order-1")
    );
    let sent: serde_json::Value = serde_json::from_str(&sdk_call(0)).unwrap_or_default();
    assert_eq!(sent["totalAmount"], json!(9000), "the server's amount goes to the SDK");
    assert_eq!(sent["paymentId"], json!("order-1"));
    assert_eq!(sent["locale"], json!("KO_KR"));
    assert_eq!(
        backend.completes(),
        vec![(
            "order-1".to_string(),
            CompleteRequest {
                tx_id: Some("tx-1".into()),
                ..Default::default()
            }
        )]
    );
    assert!(page.find("checkout-error").is_none());
}

#[wasm_bindgen_test]
async fn shows_the_pg_message_when_the_pg_declines() {
    reset();
    install_sdk("failure");
    let page = mount(Scripted::new(), Lang::Ko);
    wait_for(|| page.pay_button_enabled(), "an enabled pay button").await;
    page.el("checkout-pay").click();
    page.wait_state("failed").await;
    let text = page.el("checkout-error").text_content().unwrap_or_default();
    assert!(text.contains("잔액이 부족합니다."), "{text}");
    assert!(page.pay_button_enabled(), "the customer can try again");
}

#[wasm_bindgen_test]
async fn a_user_cancel_then_retry_reuses_the_same_payment_id() {
    reset();
    install_sdk("cancel");
    let backend = Scripted::new();
    let page = mount(backend.clone(), Lang::Ko);
    wait_for(|| page.pay_button_enabled(), "an enabled pay button").await;
    page.el("checkout-pay").click();
    page.wait_state("cancelled").await;
    assert!(page.pay_button_enabled());
    set_sdk_mode("success");
    page.el("checkout-pay").click();
    page.wait_state("paid").await;
    assert_eq!(sdk_calls(), 2);
    let first: serde_json::Value = serde_json::from_str(&sdk_call(0)).unwrap_or_default();
    let second: serde_json::Value = serde_json::from_str(&sdk_call(1)).unwrap_or_default();
    assert_eq!(first["paymentId"], second["paymentId"]);
    assert_eq!(backend.prepares.load(Ordering::SeqCst), 1, "the order is prepared once");
}

#[wasm_bindgen_test]
async fn a_rejection_before_the_window_shows_a_plain_message() {
    reset();
    install_sdk("reject");
    let page = mount(Scripted::new(), Lang::Ko);
    wait_for(|| page.pay_button_enabled(), "an enabled pay button").await;
    page.el("checkout-pay").click();
    page.wait_state("failed").await;
    let text = page.el("checkout-error").text_content().unwrap_or_default();
    assert!(text.contains("결제창을 열지 못했습니다"), "{text}");
    assert!(
        !text.contains("developer detail") && !text.contains("AmountNotEqualToPredefined"),
        "{text}"
    );
}

#[wasm_bindgen_test]
async fn does_not_pay_twice_when_the_button_is_double_clicked() {
    reset();
    install_sdk("pending");
    let backend = Scripted::new();
    let page = mount(backend.clone(), Lang::Ko);
    wait_for(|| page.pay_button_enabled(), "an enabled pay button").await;
    let button = page.el("checkout-pay");
    button.click();
    button.click();
    page.wait_state("awaiting-payment").await;
    button.click();
    leptos::task::tick().await;
    assert_eq!(sdk_calls(), 1);
    assert_eq!(backend.prepares.load(Ordering::SeqCst), 1);
    resolve_pending();
    page.wait_state("paid").await;
    assert_eq!(sdk_calls(), 1);
}

#[wasm_bindgen_test]
async fn the_button_is_disabled_and_busy_while_in_flight_and_the_status_is_announced() {
    reset();
    install_sdk("pending");
    let page = mount(Scripted::new(), Lang::Ko);
    wait_for(|| page.pay_button_enabled(), "an enabled pay button").await;
    let button = page.el("checkout-pay");
    assert_eq!(button.get_attribute("aria-busy").as_deref(), Some("false"));
    let status = page.el("checkout-status");
    assert_eq!(status.get_attribute("role").as_deref(), Some("status"));
    assert_eq!(status.get_attribute("aria-live").as_deref(), Some("polite"));
    button.click();
    page.wait_state("awaiting-payment").await;
    assert!(button.has_attribute("disabled"));
    assert_eq!(button.get_attribute("aria-busy").as_deref(), Some("true"));
    assert!(status.text_content().unwrap_or_default().contains("결제창에서"));
    resolve_pending();
    page.wait_state("paid").await;
    assert_eq!(button.get_attribute("aria-busy").as_deref(), Some("false"));
    assert!(button.has_attribute("disabled"), "a paid order cannot be paid again");
}

#[wasm_bindgen_test]
async fn resumes_a_redirect_return_from_saved_storage_and_cleans_the_address_bar() {
    reset();
    install_sdk("success");
    if let Some(s) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) {
        let _ = s.set_item(
            "portone-checkout:payment:order-1",
            r#"{"paymentId":"order-1","orderName":"아메리카노 2잔","totalAmount":9000,"currency":"KRW"}"#,
        );
    }
    set_query("?keep=1&paymentId=order-1&transactionType=PAYMENT&txId=tx-9");
    let backend = Scripted::new();
    let page = mount(backend.clone(), Lang::Ko);
    page.wait_state("paid").await;
    assert_eq!(current_query(), "?keep=1", "the result is removed from the address bar");
    assert_eq!(backend.completes()[0].1.tx_id.as_deref(), Some("tx-9"));
    assert_eq!(sdk_calls(), 0, "a return does not call the SDK again");
    let saved = web_sys::window()
        .and_then(|w| w.session_storage().ok().flatten())
        .and_then(|s| s.get_item("portone-checkout:payment:order-1").ok().flatten());
    assert_eq!(saved, None, "the saved order is forgotten once paid");
}

#[wasm_bindgen_test]
async fn resumes_a_redirect_return_without_saved_storage() {
    reset();
    install_sdk("success");
    set_query("?payment_id=order-1&tx_id=tx-9");
    let backend = Scripted::new();
    let page = mount(backend.clone(), Lang::Ko);
    page.wait_state("paid").await;
    assert_eq!(current_query(), "");
    assert_eq!(backend.completes().len(), 1);
}

#[wasm_bindgen_test]
async fn a_forged_return_with_html_in_the_message_is_shown_as_text_and_not_as_success() {
    reset();
    install_sdk("success");
    set_query(
        "?paymentId=order-1&code=FAILURE_TYPE_PG&message=%3Cimg%20src%3Dx%20onerror%3D%22window.__pwned%3D1%22%3E",
    );
    let backend = Scripted::new();
    if let Ok(mut s) = backend.status.lock() {
        *s = Some(OrderStatus::Pending);
    }
    let page = mount(backend, Lang::Ko);
    page.wait_state("failed").await;
    let error = page.el("checkout-error");
    assert!(
        error.text_content().unwrap_or_default().contains("<img src=x"),
        "rendered as text"
    );
    assert!(
        error.query_selector("img").ok().flatten().is_none(),
        "no element was created from the query"
    );
    let pwned = js_sys::Reflect::get(&js_sys::global(), &"__pwned".into()).unwrap_or(JsValue::UNDEFINED);
    assert!(pwned.is_undefined());
}

#[wasm_bindgen_test]
async fn a_made_up_payment_id_is_refused_with_the_backends_message() {
    reset();
    install_sdk("success");
    set_query("?paymentId=made-up-123&txId=tx-1");
    let page = mount(Scripted::new(), Lang::Ko);
    page.wait_state("failed").await;
    let text = page.el("checkout-error").text_content().unwrap_or_default();
    assert!(text.contains("주문을 찾을 수 없습니다."), "{text}");
}

#[wasm_bindgen_test]
async fn an_unreachable_backend_shows_checking_never_failed_then_resolves() {
    reset();
    install_sdk("success");
    let backend = Scripted::new();
    backend.down.store(1, Ordering::SeqCst);
    let page = mount(backend.clone(), Lang::Ko);
    wait_for(|| page.pay_button_enabled(), "an enabled pay button").await;
    page.el("checkout-pay").click();
    page.wait_state("unknown").await;
    let text = page.el("checkout-error").text_content().unwrap_or_default();
    assert!(text.contains("확인 중") && !text.contains("실패"), "{text}");
    assert!(!page.pay_button_enabled(), "an unknown payment must not be paid again");
    backend.down.store(0, Ordering::SeqCst);
    page.el("checkout-check").click();
    page.wait_state("paid").await;
}

#[wasm_bindgen_test]
async fn speaks_english_when_asked() {
    reset();
    install_sdk("failure");
    let page = mount(Scripted::new(), Lang::En);
    wait_for(|| page.pay_button_enabled(), "an enabled pay button").await;
    assert_eq!(page.el("checkout-pay").text_content().as_deref(), Some("Pay"));
    page.el("checkout-pay").click();
    page.wait_state("failed").await;
    assert!(page
        .el("checkout-error")
        .text_content()
        .unwrap_or_default()
        .contains("The payment failed."));
    assert_eq!(page.el("checkout-pay").text_content().as_deref(), Some("Pay again"));
    let sent: serde_json::Value = serde_json::from_str(&sdk_call(0)).unwrap_or_default();
    assert_eq!(sent["locale"], json!("EN_US"));
}

#[wasm_bindgen_test]
async fn the_order_is_prepared_before_the_click_so_the_click_goes_straight_to_the_sdk() {
    reset();
    install_sdk("pending");
    let backend = Scripted::new();
    let page = mount(backend.clone(), Lang::Ko);
    wait_for(
        || page.el("checkout-status").get_attribute("data-payment-id").as_deref() == Some("order-1"),
        "the order prepared in the background",
    )
    .await;
    assert_eq!(page.state(), "idle");
    assert_eq!(backend.prepares.load(Ordering::SeqCst), 1);
    page.el("checkout-pay").click();
    page.wait_state("awaiting-payment").await;
    wait_for(|| sdk_calls() == 1, "the SDK call").await;
    assert_eq!(
        backend.prepares.load(Ordering::SeqCst),
        1,
        "no prepare between click and SDK"
    );
    resolve_pending();
    page.wait_state("paid").await;
    assert_eq!(backend.prepares.load(Ordering::SeqCst), 1);
}
