//! The PortOne V1 binding in headless Chromium, against a recording double
//! installed as `window.IMP`.
#![cfg(target_arch = "wasm32")]

use portone_checkout::gateway::portone_v1::{request_billing_key, request_payment, sdk_loader};
use portone_checkout::gateway::{BillingIntent, LoaderOptions, PaymentGateway, PaymentIntent, PortOneV1, SdkError};
use portone_checkout::i18n::Lang;
use portone_checkout::machine::{BillingWindowResult, WindowResult};
use portone_checkout::model::portone_v1::*;
use portone_checkout::protocol::{
    BillingKeyPrepared, CompleteRequest, IssueId, PaymentId, PreparedCustomer, PreparedPayment,
    RegisterBillingKeyRequest,
};
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
function answer(mode, params, cb) {
  switch (mode) {
    case "success":
      return cb({ success: true, imp_success: true, imp_uid: "imp_100000000001",
        merchant_uid: params.merchant_uid, error_code: null, error_msg: null,
        paid_amount: params.amount, status: "paid", pg_provider: "tosspay_v2",
        customer_uid: params.customer_uid });
    case "later":
      return setTimeout(function () { cb({ imp_uid: "imp_100000000002", merchant_uid: params.merchant_uid }); }, 30);
    case "failure":
      return cb({ success: false, imp_success: false, imp_uid: "imp_100000000003",
        merchant_uid: params.merchant_uid, error_code: "INSUFFICIENT_BALANCE", error_msg: "잔액이 부족합니다." });
    case "refused":
      return cb({ success: false, imp_success: false, imp_uid: null, merchant_uid: params.merchant_uid,
        error_code: "AMOUNT_MISMATCH", error_msg: "사전 등록된 금액과 다릅니다" });
    case "already_paid":
      return cb({ success: false, imp_uid: null, error_code: "ALREADY_PAID", error_msg: "이미 결제가 완료되었습니다" });
    case "legacy_false":
      return cb({ success: false, imp_success: false, imp_uid: "imp_100000000004", merchant_uid: params.merchant_uid });
    case "throw":
      throw new TypeError("synchronous failure inside IMP");
    case "garbage":
      return cb(42);
    case "hold":
      window.__heldCallback = function () { cb({ imp_uid: "imp_100000000005", merchant_uid: params.merchant_uid }); };
      return;
    case "leave":
      return setTimeout(function () { window.dispatchEvent(new Event("pagehide")); }, 10);
  }
}
export function install_imp(mode) {
  window.__impCalls = [];
  window.__impInits = [];
  window.IMP = {
    init: function (code) { window.__impInits.push(code); },
    request_pay: function (params, cb) { window.__impCalls.push(params); return answer(mode, params, cb); },
  };
}
export function remove_imp() { delete window.IMP; delete window.__impInits; }
export function inits() { return JSON.stringify(window.__impInits || window.__loadedInits || []); }
export function call_count() { return (window.__impCalls || []).length; }
export function last_call_json() {
  var c = window.__impCalls;
  return JSON.stringify(c[c.length - 1]);
}
function plain(v) {
  if (Array.isArray(v)) return v.every(plain);
  if (v === null || typeof v !== "object") return v !== undefined;
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  return Object.values(v).every(plain);
}
export function last_call_is_plain() {
  var c = window.__impCalls;
  return plain(c[c.length - 1]);
}
export function track_pagehide_listeners() {
  if (window.__pagehideLive) return;
  var live = new Set();
  var add = window.addEventListener, remove = window.removeEventListener;
  window.addEventListener = function (type, f, o) { if (type === "pagehide") live.add(f); return add.call(window, type, f, o); };
  window.removeEventListener = function (type, f, o) { if (type === "pagehide") live.delete(f); return remove.call(window, type, f, o); };
  window.__pagehideLive = function () { return live.size; };
}
export function pagehide_listeners() { return window.__pagehideLive(); }
export function release_held() { window.__heldCallback(); }
export function tick() { return new Promise(function (resolve) { setTimeout(resolve, 0); }); }
"#)]
extern "C" {
    fn install_imp(mode: &str);
    fn remove_imp();
    fn inits() -> String;
    fn call_count() -> u32;
    fn last_call_json() -> String;
    fn last_call_is_plain() -> bool;
    fn track_pagehide_listeners();
    fn pagehide_listeners() -> u32;
    fn release_held();
    fn tick() -> js_sys::Promise;
}

const USER_CODE: &str = "imp00000000";

fn loader() -> LoaderOptions {
    // window.IMP is installed by the test, so this URL is never fetched.
    sdk_loader("http://127.0.0.1:9/never-fetched-iamport.js")
}

fn pc() -> ValidationContext {
    ValidationContext::default()
}

fn request() -> PaymentRequest {
    PaymentRequest {
        channel_key: Some("channel-key-sandbox-tosspay".into()),
        name: Some("원두 1kg".into()),
        currency: Some(portone_checkout::model::portone_v2::Currency::Krw),
        buyer_name: Some("홍길동".into()),
        notice_url: Some(NoticeUrl::Many(vec![
            "https://shop.example/v1/api/webhooks/portone-v1".into()
        ])),
        m_redirect_url: Some("https://shop.example/v1/?from=checkout".into()),
        card: Some(CardOptions {
            use_installment: Some(false),
        }),
        bypass: Some(PaymentBypass {
            tosspay_v2: Some(TosspayV2PaymentBypass {
                expired_time: None,
                cash_receipt_trade_option: Some("GENERAL".into()),
            }),
            other: Default::default(),
        }),
        ..PaymentRequest::new(PayMethod::Tosspay, "order-42", 32000)
    }
}

async fn pay(mode: &str) -> Result<WindowResult, SdkError> {
    install_imp(mode);
    request_payment(&request(), &pc(), &loader(), USER_CODE).await
}

fn finished(tx: &str, failure: Option<portone_checkout::protocol::PgFailure>) -> WindowResult {
    WindowResult::Finished(CompleteRequest {
        tx_id: Some(tx.into()),
        failure,
        amount: None,
    })
}

#[wasm_bindgen_test]
async fn request_pay_gets_exactly_the_expected_plain_snake_case_object() {
    let out = pay("success").await;
    assert_eq!(out.ok(), Some(finished("imp_100000000001", None)));
    let got: serde_json::Value = serde_json::from_str(&last_call_json()).unwrap_or_default();
    assert_eq!(
        got,
        json!({
            "channelKey": "channel-key-sandbox-tosspay", "pay_method": "tosspay", "merchant_uid": "order-42",
            "name": "원두 1kg", "amount": 32000, "currency": "KRW", "buyer_name": "홍길동",
            "notice_url": ["https://shop.example/v1/api/webhooks/portone-v1"],
            "m_redirect_url": "https://shop.example/v1/?from=checkout",
            "card": {"useInstallment": false},
            "bypass": {"tosspay_v2": {"cashReceiptTradeOption": "GENERAL"}}
        })
    );
    assert!(
        last_call_is_plain(),
        "every nested value must be a plain object, not a Map"
    );
}

#[wasm_bindgen_test]
async fn imp_init_runs_once_per_imp_object_with_the_user_code() {
    install_imp("success");
    for _ in 0..2 {
        let out = request_payment(&request(), &pc(), &loader(), USER_CODE).await;
        assert!(out.is_ok(), "{out:?}");
    }
    assert_eq!(inits(), r#"["imp00000000"]"#);
    assert_eq!(call_count(), 2);
    // A new IMP (a reloaded script) is initialised again, once.
    install_imp("success");
    let _ = request_payment(&request(), &pc(), &loader(), USER_CODE).await;
    assert_eq!(inits(), r#"["imp00000000"]"#);
}

#[wasm_bindgen_test]
async fn a_callback_that_comes_later_still_resolves_the_call() {
    assert_eq!(pay("later").await.ok(), Some(finished("imp_100000000002", None)));
}

#[wasm_bindgen_test]
async fn a_window_failure_comes_back_as_a_finished_window_with_the_failure_as_a_hint() {
    let Ok(WindowResult::Finished(report)) = pay("failure").await else {
        panic!("expected a finished window");
    };
    assert_eq!(report.tx_id.as_deref(), Some("imp_100000000003"));
    let failure = report.failure.unwrap_or_default();
    assert_eq!(failure.code.as_deref(), Some("INSUFFICIENT_BALANCE"));
    assert_eq!(failure.customer_text(), Some("잔액이 부족합니다."));
}

#[wasm_bindgen_test]
async fn imp_success_false_with_an_imp_uid_is_still_a_window_for_the_backend_to_verify() {
    assert_eq!(pay("legacy_false").await.ok(), Some(finished("imp_100000000004", None)));
}

#[wasm_bindgen_test]
async fn a_refusal_before_the_window_is_rejected_with_its_code_and_already_paid_is_recognised() {
    let out = pay("refused").await;
    let Err(SdkError::Rejected {
        code,
        message,
        already_paid,
        raw,
    }) = out
    else {
        panic!("expected Rejected, got {out:?}");
    };
    assert_eq!(code.as_deref(), Some("AMOUNT_MISMATCH"));
    assert_eq!(message, "사전 등록된 금액과 다릅니다");
    assert!(!already_paid);
    assert!(raw.is_object(), "the raw callback object is kept for the console");
    let paid = pay("already_paid").await;
    assert!(paid.as_ref().is_err_and(SdkError::is_already_paid), "{paid:?}");
}

#[wasm_bindgen_test]
async fn a_synchronous_throw_inside_imp_is_a_rejection_not_a_panic() {
    let out = pay("throw").await;
    assert!(
        matches!(&out, Err(SdkError::Rejected { code, message, .. }) if code.is_none() && message.contains("synchronous failure")),
        "{out:?}"
    );
}

#[wasm_bindgen_test]
async fn a_non_object_callback_is_a_typed_bad_response() {
    let out = pay("garbage").await;
    assert!(matches!(out, Err(SdkError::BadResponse { .. })), "{out:?}");
}

#[wasm_bindgen_test]
async fn the_page_leaving_before_the_callback_is_a_redirect_and_no_listener_is_left_behind() {
    track_pagehide_listeners();
    // While the window is open, exactly one listener waits for the page to
    // leave; the callback removes it.
    let (out, seen) = futures::join!(pay("hold"), async {
        let _ = wasm_bindgen_futures::JsFuture::from(tick()).await;
        let seen = pagehide_listeners();
        release_held();
        seen
    });
    assert_eq!(seen, 1);
    assert_eq!(out.ok(), Some(finished("imp_100000000005", None)));
    assert_eq!(pagehide_listeners(), 0);
    assert_eq!(pay("leave").await.ok(), Some(WindowResult::Redirected));
    assert_eq!(pagehide_listeners(), 0);
    assert!(pay("success").await.is_ok());
    assert_eq!(
        pagehide_listeners(),
        0,
        "a call that got its callback leaves no listener either"
    );
    let _ = pay("throw").await;
    assert_eq!(pagehide_listeners(), 0);
}

#[wasm_bindgen_test]
async fn an_invalid_request_never_reaches_imp() {
    install_imp("success");
    let before = call_count();
    let bad = PaymentRequest {
        pay_method: PayMethod::Other("card".into()),
        merchant_uid: "o".repeat(41),
        amount: 0,
        ..request()
    };
    let out = request_payment(&bad, &pc(), &loader(), USER_CODE).await;
    let Err(SdkError::Invalid(v)) = out else {
        panic!("expected Invalid, got {out:?}");
    };
    assert!(v.has("pay_method") && v.has("merchant_uid") && v.has("amount"), "{v}");
    assert_eq!(call_count(), before);
}

fn issue() -> BillingKeyPrepared {
    BillingKeyPrepared {
        issue_id: IssueId::parse("issue-1").expect("id"),
        issue_name: "정기구독".into(),
        customer: PreparedCustomer {
            customer_id: Some("demo-customer-1".into()),
            full_name: Some("홍길동".into()),
            phone_number: None,
            email: None,
        },
    }
}

#[wasm_bindgen_test]
async fn billing_keys_come_back_as_the_customer_uid_asked_for() {
    let req = build::billing_request(
        Some("channel-key-sandbox-tosspay"),
        &issue(),
        &BillingOptions::default(),
        Lang::Ko,
        Some("https://shop.example/v1/subscribe".into()),
    );
    let issue_id = IssueId::parse("issue-1").ok();
    install_imp("success");
    let out = request_billing_key(&req, issue_id.clone(), &pc(), &loader(), USER_CODE).await;
    assert_eq!(
        out.ok(),
        Some(BillingWindowResult::Issued(RegisterBillingKeyRequest::key(
            "issue-1",
            issue_id.clone()
        )))
    );
    let got: serde_json::Value = serde_json::from_str(&last_call_json()).unwrap_or_default();
    assert_eq!(
        got,
        json!({
            "customer_uid": "issue-1", "customer_id": "demo-customer-1", "channelKey": "channel-key-sandbox-tosspay",
            "pay_method": "tosspay", "merchant_uid": "issue-1", "name": "정기구독", "amount": 0, "language": "ko",
            "buyer_name": "홍길동", "m_redirect_url": "https://shop.example/v1/subscribe?customer_uid=issue-1"
        })
    );
    install_imp("failure");
    let out = request_billing_key(&req, issue_id.clone(), &pc(), &loader(), USER_CODE).await;
    assert!(
        matches!(&out, Ok(BillingWindowResult::Failed(f)) if f.code.as_deref() == Some("INSUFFICIENT_BALANCE")),
        "{out:?}"
    );
    install_imp("leave");
    let out = request_billing_key(&req, issue_id, &pc(), &loader(), USER_CODE).await;
    assert_eq!(out.ok(), Some(BillingWindowResult::Redirected));
}

fn prepared() -> PreparedPayment {
    PreparedPayment {
        payment_id: PaymentId::parse("order-7").expect("id"),
        order_name: "아메리카노".into(),
        total_amount: 4500,
        currency: "KRW".into(),
        customer: None,
    }
}

#[wasm_bindgen_test]
async fn the_gateway_builds_the_request_from_the_intent_and_answers_the_machines_result() {
    install_imp("success");
    let gateway = PortOneV1::new(USER_CODE)
        .channel_key("channel-key-sandbox-tosspay")
        .sdk_url("http://127.0.0.1:9/never-fetched-iamport.js");
    let intent = PaymentIntent {
        prepared: prepared(),
        return_url: Some("https://shop.example/v1/".into()),
        lang: Lang::En,
    };
    let out = gateway.request_payment(&intent).await;
    assert_eq!(out.ok(), Some(finished("imp_100000000001", None)));
    let got: serde_json::Value = serde_json::from_str(&last_call_json()).unwrap_or_default();
    assert_eq!(got["merchant_uid"], "order-7");
    assert_eq!(got["amount"], 4500);
    assert_eq!(got["language"], "en");
    assert_eq!(got["m_redirect_url"], "https://shop.example/v1/");
    let billing = BillingIntent {
        prepared: issue(),
        return_url: Some("https://shop.example/v1/subscribe".into()),
        lang: Lang::Ko,
    };
    assert!(matches!(
        gateway.request_billing_key(&billing).await,
        Ok(BillingWindowResult::Issued(r)) if r.billing_key.as_deref() == Some("issue-1")
    ));
    assert_eq!(gateway.name(), "PortOne V1");
}

#[wasm_bindgen_test]
async fn preloading_loads_a_script_that_defines_imp_and_initialises_it() {
    remove_imp();
    let url = "data:text/javascript,window.__loadedInits=[];window.IMP={init:function(c){window.__loadedInits.push(c)},request_pay:function(){}};//preload";
    let gateway = PortOneV1::new("imp12345678").sdk_url(url);
    let r = gateway.preload().await;
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(inits(), r#"["imp12345678"]"#);
    let again = gateway.preload().await;
    assert!(again.is_ok(), "{again:?}");
    assert_eq!(inits(), r#"["imp12345678"]"#, "init once per IMP object");
}

#[wasm_bindgen_test]
async fn a_script_that_does_not_load_is_a_typed_error() {
    remove_imp();
    let gateway = PortOneV1::new(USER_CODE).sdk_url("http://127.0.0.1:9/iamport.js");
    let r = gateway.preload().await;
    assert!(
        matches!(&r, Err(SdkError::LoadFailed { url, .. }) if url.ends_with("/iamport.js")),
        "{r:?}"
    );
}
