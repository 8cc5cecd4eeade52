//! `<Checkout>`, `use_payment` with a button of the merchant's own, and
//! `<IssueBillingKey>` in a browser (`cargo xtask test` runs them in
//! Chromium, Firefox and WebKit), with a scripted backend and a recording
//! SDK double installed as `window.PortOne`.
#![cfg(target_arch = "wasm32")]

use futures::future::LocalBoxFuture;
use leptos::prelude::*;
use portone_checkout::backend::{BackendError, BillingBackend, PaymentBackend, RetryPolicy};
use portone_checkout::components::{Checkout, CheckoutProvider, IssueBillingKey};
use portone_checkout::gateway::PortOneV2;
use portone_checkout::hooks::{use_payment, UsePaymentOptions};
use portone_checkout::i18n::Lang;
use portone_checkout::model::portone_v2::PgProvider;
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
    requestIssueBillingKey(req) {
      window.__sdkCalls.push(req);
      if (window.__sdkMode === "cancel") {
        return Promise.resolve({ transactionType: "ISSUE_BILLING_KEY", code: "FAILURE_TYPE_PG", message: "cancel",
          pgCode: "PAY_PROCESS_CANCELED", pgMessage: "사용자가 취소하였습니다." });
      }
      return Promise.resolve({ transactionType: "ISSUE_BILLING_KEY", billingKey: "billing-key-1" });
    },
  };
}
export function set_sdk_mode(mode) { window.__sdkMode = mode; }
export function resolve_pending() { if (pending) { pending(); pending = null; } }
export function sdk_calls() { return window.__sdkCalls.length; }
export function sdk_call(i) { return JSON.stringify(window.__sdkCalls[i]); }
export function set_query(q) { history.replaceState(null, "", location.pathname + q); }
export function current_query() { return location.search; }
export function track_timers() {
  if (window.__timersTracked) return;
  window.__timersTracked = true;
  window.__pending = new Map();
  const set = window.setTimeout.bind(window), clear = window.clearTimeout.bind(window);
  window.setTimeout = function (f, ms, ...args) {
    const id = set(function () { window.__pending.delete(id); if (typeof f === "function") f(...args); }, ms);
    window.__pending.set(id, ms || 0);
    return id;
  };
  window.__cleared = new Map();
  window.clearTimeout = function (id) {
    if (window.__pending.has(id)) {
      const ms = window.__pending.get(id);
      window.__cleared.set(ms, (window.__cleared.get(ms) || 0) + 1);
      window.__pending.delete(id);
    }
    return clear(id);
  };
}
export function pending_timers_of(ms) { return Array.from(window.__pending.values()).filter(d => d === ms).length; }
export function cleared_timers_of(ms) { return window.__cleared.get(ms) || 0; }
export function gate() { return new Promise((resolve) => { window.__openGate = resolve; }); }
export function open_gate() { if (window.__openGate) { window.__openGate(); window.__openGate = null; } }
export function active_testid() { return document.activeElement && document.activeElement.getAttribute("data-testid"); }
"#)]
extern "C" {
    fn install_sdk(mode: &str);
    fn set_sdk_mode(mode: &str);
    fn resolve_pending();
    fn sdk_calls() -> u32;
    fn sdk_call(i: u32) -> String;
    fn set_query(q: &str);
    fn current_query() -> String;
    fn active_testid() -> Option<String>;
    fn gate() -> js_sys::Promise;
    fn open_gate();
    fn track_timers();
    fn pending_timers_of(ms: u32) -> u32;
    fn cleared_timers_of(ms: u32) -> u32;
}

/// A backend whose answers the test scripts, recording what it is asked.
#[derive(Default)]
struct Scripted {
    prepares: AtomicU32,
    registers: AtomicU32,
    completes: Mutex<Vec<(String, CompleteRequest)>>,
    statuses: AtomicU32,
    /// Complete and status calls fail with a network error while > 0.
    down: AtomicU32,
    status: Mutex<Option<OrderStatus>>,
    /// The failure a `FAILED` answer carries.
    failure: Mutex<Option<PgFailure>>,
    /// Whether answers say PortOne confirmed them.
    unverified: AtomicU32,
}

impl Scripted {
    fn new() -> Arc<Self> {
        let s = Self::default();
        *s.status.lock().unwrap_or_else(|e| e.into_inner()) = Some(OrderStatus::Paid);
        Arc::new(s)
    }

    /// Answers as a backend that found the payment FAILED at PortOne.
    fn failed_at_portone(&self, pg_code: &str, message: &str) {
        self.set_status(OrderStatus::Failed);
        if let Ok(mut f) = self.failure.lock() {
            *f = Some(PgFailure {
                pg_code: Some(pg_code.into()),
                message: Some(message.into()),
                ..PgFailure::default()
            });
        }
    }

    fn set_status(&self, status: OrderStatus) {
        if let Ok(mut s) = self.status.lock() {
            *s = Some(status);
        }
    }

    fn answer(&self, payment_id: &PaymentId) -> Result<PaymentStatus, BackendError> {
        if self.down.load(Ordering::SeqCst) > 0 {
            return Err(BackendError::Network("connection refused".into()));
        }
        if *payment_id != "order-1" {
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
            payment_id: payment_id.clone(),
            status,
            order_name: "아메리카노 2잔".into(),
            total_amount: 9000,
            currency: "KRW".into(),
            paid_at: None,
            failure: self.failure.lock().ok().and_then(|f| f.clone()),
            message: None,
            verified: self.unverified.load(Ordering::SeqCst) == 0,
        })
    }

    fn completes(&self) -> Vec<(String, CompleteRequest)> {
        self.completes.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl PaymentBackend for Scripted {
    fn prepare_payment<'a>(&'a self, _: &'a OrderJson) -> LocalBoxFuture<'a, Result<PreparedPayment, BackendError>> {
        self.prepares.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(prepared()) })
    }
    fn complete_payment<'a>(
        &'a self,
        payment_id: &'a PaymentId,
        body: &'a CompleteRequest,
    ) -> LocalBoxFuture<'a, Result<PaymentStatus, BackendError>> {
        if let Ok(mut c) = self.completes.lock() {
            c.push((payment_id.to_string(), body.clone()));
        }
        Box::pin(async move { self.answer(payment_id) })
    }
    fn payment_status<'a>(
        &'a self,
        payment_id: &'a PaymentId,
    ) -> LocalBoxFuture<'a, Result<PaymentStatus, BackendError>> {
        self.statuses.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { self.answer(payment_id) })
    }
}

impl BillingBackend for Scripted {
    fn prepare_billing_key(&self) -> LocalBoxFuture<'_, Result<BillingKeyPrepared, BackendError>> {
        self.prepares.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {
            Ok(BillingKeyPrepared {
                issue_id: IssueId::parse("issue-1").expect("id"),
                issue_name: "정기 구독".into(),
                customer: PreparedCustomer {
                    customer_id: Some("customer-1".into()),
                    ..PreparedCustomer::default()
                },
            })
        })
    }
    fn register_billing_key<'a>(
        &'a self,
        body: &'a RegisterBillingKeyRequest,
    ) -> LocalBoxFuture<'a, Result<Subscription, BackendError>> {
        self.registers.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            Ok(Subscription {
                subscription_id: SubscriptionId::parse("sub-1").expect("id"),
                billing_key: body.billing_key.clone().unwrap_or_default(),
                status: "ACTIVE".into(),
                customer_id: "customer-1".into(),
            })
        })
    }
}

fn prepared() -> PreparedPayment {
    PreparedPayment {
        payment_id: PaymentId::parse("order-1").expect("id"),
        order_name: "아메리카노 2잔".into(),
        total_amount: 9000,
        currency: "KRW".into(),
        customer: None,
    }
}

struct Page {
    root: HtmlElement,
    handle: Option<Box<dyn std::any::Any>>,
}

impl Page {
    /// Unmounts the app (its owner is cleaned up), keeping the test going.
    fn unmount(&mut self) {
        self.handle = None;
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        self.handle = None;
        self.root.remove();
    }
}

/// Mounts `ui` inside a provider wired to `backend` and the SDK double.
fn mount_with(backend: Arc<Scripted>, lang: Lang, ui: fn() -> AnyView) -> Page {
    let document = web_sys::window().and_then(|w| w.document()).expect("a document");
    let root: HtmlElement = document.create_element("div").expect("a div").unchecked_into();
    document.body().expect("a body").append_child(&root).expect("appended");
    let payments: Arc<dyn PaymentBackend> = backend.clone();
    let billing: Arc<dyn BillingBackend> = backend;
    let handle = leptos::mount::mount_to(root.clone(), move || {
        let gateway = PortOneV2::new("store-test")
            .channel_key("channel-key-test")
            .pg(PgProvider::TosspayV2)
            .sdk_url("http://127.0.0.1:9/never-fetched.js");
        view! {
            <CheckoutProvider
                gateway
                backend=payments.clone()
                billing_backend=billing.clone()
                lang=lang
                retry=RetryPolicy { attempts: 2, base_delay_ms: 5, timeout_ms: 2_000 }
            >
                {ui()}
            </CheckoutProvider>
        }
        .into_any()
    });
    Page {
        root,
        handle: Some(Box::new(handle)),
    }
}

fn mount(backend: Arc<Scripted>, lang: Lang) -> Page {
    mount_with(backend, lang, || {
        view! {
            <Checkout order=Signal::derive(|| json!({"items": [{"productId": "americano", "quantity": 2}]})) />
        }
        .into_any()
    })
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
        self.state_of("checkout-status")
    }

    fn state_of(&self, testid: &str) -> String {
        self.find(testid)
            .and_then(|e| e.get_attribute("data-state"))
            .unwrap_or_default()
    }

    fn pay_button_enabled(&self) -> bool {
        !self.el("checkout-pay").has_attribute("disabled")
    }

    async fn wait_state(&self, want: &str) {
        self.wait_state_of("checkout-status", want).await;
    }

    async fn wait_state_of(&self, testid: &str, want: &str) {
        wait_for(
            || self.state_of(testid) == want,
            &format!("{testid} data-state={want} (now {})", self.state_of(testid)),
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
async fn a_decline_is_shown_once_the_backend_confirms_it_with_its_words() {
    reset();
    install_sdk("failure");
    let backend = Scripted::new();
    backend.failed_at_portone("INSUFFICIENT_BALANCE", "잔액이 부족합니다 (PG).");
    let page = mount(backend.clone(), Lang::Ko);
    wait_for(|| page.pay_button_enabled(), "an enabled pay button").await;
    page.el("checkout-pay").click();
    page.wait_state("failed").await;
    let text = page.el("checkout-error").text_content().unwrap_or_default();
    assert!(text.contains("잔액이 부족합니다 (PG)."), "the backend's text: {text}");
    let completes = backend.completes();
    assert_eq!(completes.len(), 1, "the window's failure is confirmed by the backend");
    assert_eq!(
        completes[0].1.failure.as_ref().and_then(|f| f.pg_code.as_deref()),
        Some("INSUFFICIENT_BALANCE")
    );
    assert!(page.pay_button_enabled(), "the customer can try again");
}

#[wasm_bindgen_test]
async fn a_decline_the_backend_cannot_confirm_shows_checking_never_failed() {
    reset();
    install_sdk("failure");
    let backend = Scripted::new();
    backend.set_status(OrderStatus::Pending);
    backend.unverified.store(1, Ordering::SeqCst);
    let page = mount(backend.clone(), Lang::Ko);
    wait_for(|| page.pay_button_enabled(), "an enabled pay button").await;
    page.el("checkout-pay").click();
    page.wait_state("unknown").await;
    let text = page.el("checkout-error").text_content().unwrap_or_default();
    assert!(text.contains("확인 중") && !text.contains("잔액"), "{text}");
    assert!(!page.pay_button_enabled());
    // PortOne is readable again and the payment was in fact made.
    backend.unverified.store(0, Ordering::SeqCst);
    backend.set_status(OrderStatus::Paid);
    page.el("checkout-check").click();
    page.wait_state("paid").await;
}

#[wasm_bindgen_test]
async fn a_user_cancel_then_retry_reuses_the_same_payment_id() {
    reset();
    install_sdk("cancel");
    let backend = Scripted::new();
    backend.failed_at_portone("PAY_PROCESS_CANCELED", "사용자가 결제를 취소하였습니다.");
    let page = mount(backend.clone(), Lang::Ko);
    wait_for(|| page.pay_button_enabled(), "an enabled pay button").await;
    page.el("checkout-pay").click();
    page.wait_state("cancelled").await;
    assert!(page.pay_button_enabled());
    set_sdk_mode("success");
    backend.set_status(OrderStatus::Paid);
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
    wait_for(
        || active_testid().as_deref() == Some("checkout-status"),
        "the outcome to be focused (and scrolled into view)",
    )
    .await;
    assert_eq!(backend.completes()[0].1.tx_id.as_deref(), Some("tx-9"));
    assert_eq!(sdk_calls(), 0, "a return does not call the SDK again");
    let saved = web_sys::window()
        .and_then(|w| w.session_storage().ok().flatten())
        .and_then(|s| s.get_item("portone-checkout:payment:order-1").ok().flatten());
    assert_eq!(saved, None, "the saved order is forgotten once paid");
}

/// The checkout inside a `<Suspense>` that waits for the shop's own data
/// (a resource the test releases with `open_gate`): the checkout is built,
/// and resumes a return, before it is attached to the document.
#[component]
fn BehindSuspense() -> impl IntoView {
    let shop_data = LocalResource::new(|| async {
        let _ = wasm_bindgen_futures::JsFuture::from(gate()).await;
    });
    view! {
        <Suspense fallback=|| view! { <p data-testid="shop-loading">"…"</p> }>
            {move || shop_data.get().map(|_| view! { <p data-testid="shop-data">"ok"</p> })}
            <Checkout order=Signal::derive(|| json!({"items": [{"productId": "americano", "quantity": 2}]})) />
        </Suspense>
    }
}

#[wasm_bindgen_test]
async fn a_return_verified_before_the_checkout_is_attached_still_focuses_the_outcome() {
    // Seen in Firefox: the return was verified while the shop's other data
    // was still loading, and focusing the detached status region did nothing.
    reset();
    install_sdk("success");
    set_query("?paymentId=order-1&transactionType=PAYMENT&txId=tx-9");
    let backend = Scripted::new();
    let page = mount_with(backend.clone(), Lang::Ko, || view! { <BehindSuspense /> }.into_any());
    wait_for(
        || !backend.completes().is_empty() && current_query().is_empty(),
        "the return to be verified while the shop still loads",
    )
    .await;
    for _ in 0..5 {
        leptos::task::tick().await;
    }
    assert!(page.find("shop-loading").is_some(), "the shop is still loading");
    assert!(
        page.find("checkout-status").is_none(),
        "the checkout is not attached yet"
    );
    open_gate();
    page.wait_state("paid").await;
    wait_for(
        || active_testid().as_deref() == Some("checkout-status"),
        "the outcome to be focused once the checkout is shown",
    )
    .await;
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
async fn a_forged_failure_return_puts_none_of_its_text_on_the_page() {
    reset();
    install_sdk("success");
    set_query(
        "?paymentId=order-1&code=FAILURE_TYPE_PG&message=%3Cimg%20src%3Dx%20onerror%3D%22window.__pwned%3D1%22%3E&pgMessage=Call%20010-0000-0000",
    );
    let backend = Scripted::new();
    backend.set_status(OrderStatus::Pending);
    let page = mount(backend, Lang::Ko);
    page.wait_state("failed").await;
    let error = page.el("checkout-error");
    let text = error.text_content().unwrap_or_default();
    assert!(!text.contains("<img") && !text.contains("010-0000"), "{text}");
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
async fn a_crafted_return_link_is_refused_without_any_request() {
    reset();
    install_sdk("success");
    set_query("?paymentId=../subscriptions/sub-1/charge%3F&transactionType=PAYMENT&txId=x");
    let backend = Scripted::new();
    let page = mount(backend.clone(), Lang::Ko);
    page.wait_state("failed").await;
    assert!(backend.completes().is_empty(), "no complete was posted");
    assert_eq!(backend.statuses.load(Ordering::SeqCst), 0, "no status was asked");
    assert_eq!(current_query(), "", "the link is removed from the address bar");
    assert_eq!(sdk_calls(), 0);
}

#[wasm_bindgen_test]
async fn a_cancel_in_progress_is_shown_as_such_never_as_cancelled() {
    reset();
    install_sdk("success");
    let backend = Scripted::new();
    backend.set_status(OrderStatus::Cancelling);
    let page = mount(backend.clone(), Lang::Ko);
    wait_for(|| page.pay_button_enabled(), "an enabled pay button").await;
    page.el("checkout-pay").click();
    page.wait_state("cancelling").await;
    let text = page.el("checkout-status").text_content().unwrap_or_default();
    assert!(text.contains("취소하고 있습니다"), "{text}");
    assert!(!page.pay_button_enabled());
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
    let backend = Scripted::new();
    backend.failed_at_portone("INSUFFICIENT_BALANCE", "Insufficient balance.");
    let page = mount(backend, Lang::En);
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
    // Saved for a redirect return while nobody waited.
    let saved = web_sys::window()
        .and_then(|w| w.session_storage().ok().flatten())
        .and_then(|s| s.get_item("portone-checkout:payment:order-1").ok().flatten());
    assert!(saved.is_some(), "the ready order is saved before the click");
    // `click()` dispatches synchronously: the SDK has been called by the time
    // it returns, inside the click's own handler (no task, no tick between).
    page.el("checkout-pay").click();
    assert_eq!(sdk_calls(), 1, "the SDK is called inside the click handler");
    page.wait_state("awaiting-payment").await;
    assert_eq!(
        backend.prepares.load(Ordering::SeqCst),
        1,
        "no prepare between click and SDK"
    );
    resolve_pending();
    page.wait_state("paid").await;
    assert_eq!(backend.prepares.load(Ordering::SeqCst), 1);
}

/// A shop's own button and status line, driven by `use_payment`.
#[component]
fn OwnButton() -> impl IntoView {
    let payment = use_payment(UsePaymentOptions::order(Signal::derive(
        || json!({"items": [{"productId": "americano", "quantity": 2}]}),
    )));
    view! {
        <button data-testid="own-pay" disabled=move || !payment.can_pay.get() on:click=move |_| payment.pay.run(())>
            "Buy now"
        </button>
        <p data-testid="own-phase" data-state=move || payment.phase.get().name()>{move || payment.message.get()}</p>
        <p data-testid="own-id">{move || payment.payment_id.get().map(|id| id.to_string())}</p>
    }
}

#[wasm_bindgen_test]
async fn a_button_of_the_shops_own_pays_through_the_hook() {
    reset();
    install_sdk("success");
    let backend = Scripted::new();
    let page = mount_with(backend.clone(), Lang::En, || view! { <OwnButton /> }.into_any());
    assert!(page.find("checkout-pay").is_none(), "no built-in button");
    wait_for(
        || !page.el("own-pay").has_attribute("disabled"),
        "the own button enabled",
    )
    .await;
    page.el("own-pay").click();
    page.wait_state_of("own-phase", "paid").await;
    assert_eq!(page.el("own-id").text_content().as_deref(), Some("order-1"));
    assert!(
        page.el("own-phase")
            .text_content()
            .unwrap_or_default()
            .contains("Payment complete"),
        "the hook's message"
    );
    assert_eq!(sdk_calls(), 1);
    assert_eq!(backend.completes().len(), 1);
}

/// An order prepared by the shop's own function (no prepare route).
#[component]
fn OwnPrepare() -> impl IntoView {
    let payment = use_payment(UsePaymentOptions::prepare(|| async { Ok(prepared()) }).prepare_early(false));
    view! { <portone_checkout::components::PaymentView payment /> }
}

#[wasm_bindgen_test]
async fn an_order_prepared_by_the_shops_own_function_pays_without_the_prepare_route() {
    reset();
    install_sdk("success");
    let backend = Scripted::new();
    let page = mount_with(backend.clone(), Lang::Ko, || view! { <OwnPrepare /> }.into_any());
    wait_for(|| page.pay_button_enabled(), "an enabled pay button").await;
    page.el("checkout-pay").click();
    page.wait_state("paid").await;
    assert_eq!(
        backend.prepares.load(Ordering::SeqCst),
        0,
        "the backend's prepare route is not used"
    );
    let sent: serde_json::Value = serde_json::from_str(&sdk_call(0)).unwrap_or_default();
    assert_eq!(sent["paymentId"], json!("order-1"));
}

#[wasm_bindgen_test]
async fn unmounting_while_checking_again_sends_no_further_request() {
    reset();
    track_timers();
    install_sdk("success");
    let backend = Scripted::new();
    backend.down.store(1, Ordering::SeqCst);
    let mut page = mount(backend.clone(), Lang::Ko);
    wait_for(|| page.pay_button_enabled(), "an enabled pay button").await;
    page.el("checkout-pay").click();
    page.wait_state("unknown").await;
    // An automatic re-check is now scheduled (2 s after entering unknown).
    wait_for(|| pending_timers_of(2_000) == 1, "the re-check timer").await;
    let asked = backend.completes().len() as u32 + backend.statuses.load(Ordering::SeqCst);
    page.unmount();
    // The aborted task drops its timer, clearing it, when next polled (a
    // microtask): before it could fire.
    wait_for(
        || cleared_timers_of(2_000) == 1,
        "unmounting to clear the re-check timer",
    )
    .await;
    assert_eq!(pending_timers_of(2_000), 0);
    // Proving an absence: wait past the scheduled re-check, then count.
    gloo_timers::future::TimeoutFuture::new(2_600).await;
    let after = backend.completes().len() as u32 + backend.statuses.load(Ordering::SeqCst);
    assert_eq!(after, asked, "no request after unmount");
}

#[wasm_bindgen_test]
async fn a_billing_key_is_issued_registered_and_shown() {
    reset();
    install_sdk("success");
    let backend = Scripted::new();
    let page = mount_with(backend.clone(), Lang::Ko, || view! { <IssueBillingKey /> }.into_any());
    wait_for(
        || !page.el("billing-issue").has_attribute("disabled"),
        "an enabled issue button",
    )
    .await;
    page.el("billing-issue").click();
    page.wait_state_of("billing-status", "issued").await;
    assert_eq!(
        page.el("billing-status").get_attribute("data-billing-key").as_deref(),
        Some("billing-key-1")
    );
    assert_eq!(backend.registers.load(Ordering::SeqCst), 1);
    let sent: serde_json::Value = serde_json::from_str(&sdk_call(0)).unwrap_or_default();
    assert_eq!(sent["issueId"], json!("issue-1"));
    assert_eq!(sent["customer"]["customerId"], json!("customer-1"));
}

#[wasm_bindgen_test]
async fn a_cancelled_billing_window_can_be_retried() {
    reset();
    install_sdk("cancel");
    let backend = Scripted::new();
    let page = mount_with(backend.clone(), Lang::Ko, || view! { <IssueBillingKey /> }.into_any());
    wait_for(
        || !page.el("billing-issue").has_attribute("disabled"),
        "an enabled issue button",
    )
    .await;
    page.el("billing-issue").click();
    page.wait_state_of("billing-status", "cancelled").await;
    set_sdk_mode("success");
    page.el("billing-issue").click();
    page.wait_state_of("billing-status", "issued").await;
    assert_eq!(
        backend.prepares.load(Ordering::SeqCst),
        1,
        "the issuance is prepared once"
    );
}

#[wasm_bindgen_test]
async fn an_unreadable_billing_return_is_refused_without_any_request() {
    reset();
    install_sdk("success");
    set_query("?transactionType=ISSUE_BILLING_KEY");
    let backend = Scripted::new();
    let page = mount_with(backend.clone(), Lang::Ko, || view! { <IssueBillingKey /> }.into_any());
    page.wait_state_of("billing-status", "failed").await;
    assert_eq!(backend.registers.load(Ordering::SeqCst), 0);
    assert_eq!(current_query(), "");
}
