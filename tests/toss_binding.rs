//! The Toss Payments binding in headless Chromium, through the
//! `PaymentGateway` seam, against a recording double installed as
//! `window.TossPayments` (and the shared loader with a `data:` script).
#![cfg(target_arch = "wasm32")]

use portone_checkout::gateway::toss::sdk_loader;
use portone_checkout::gateway::{load_script, BillingIntent, PaymentGateway, PaymentIntent, SdkError, TossPayments};
use portone_checkout::i18n::Lang;
use portone_checkout::machine::{BillingWindowResult, WindowResult};
use portone_checkout::model::toss::TossPaymentOptions;
use portone_checkout::protocol::{
    BillingKeyPrepared, CompleteRequest, IssueId, PaymentId, PreparedCustomer, PreparedPayment,
};
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
function answer(mode, req) {
  const fail = (code, message) => { const e = new Error(message); e.code = code; return Promise.reject(e); };
  switch (mode) {
    case "success":
      return Promise.resolve({ paymentKey: "tgen_double", orderId: req.orderId,
        amount: { currency: "KRW", value: req.amount.value }, paymentType: "NORMAL" });
    case "other-order":
      return Promise.resolve({ paymentKey: "tgen_double", orderId: "order-someone-else",
        amount: { currency: "KRW", value: 1 } });
    case "cancel": return fail("PAY_PROCESS_CANCELED", "사용자가 결제를 취소하였습니다");
    case "decline": return fail("REJECT_CARD_COMPANY", "카드사에서 거절했습니다");
    case "refuse": return fail("INVALID_ORDER_ID", "orderId 형식이 올바르지 않습니다");
    case "duplicated": return fail("DUPLICATED_ORDER_ID", "이미 승인된 주문번호입니다");
    case "undefined": return Promise.resolve(undefined);
  }
}
export function install_double(mode) {
  window.__tossCalls = [];
  window.__tossConstructed = [];
  const TossPayments = function (clientKey) {
    window.__tossConstructed.push(clientKey);
    if (mode === "bad-key") {
      const e = new Error("클라이언트 키가 올바르지 않습니다."); e.code = "INVALID_CLIENT_KEY"; throw e;
    }
    return {
      payment(params) {
        const record = (method, req) => window.__tossCalls.push({ method, clientKey, customerKey: params.customerKey, req });
        return {
          requestPayment(req) { record("requestPayment", req); return answer(mode, req); },
          requestBillingAuth(req) { record("requestBillingAuth", req); return Promise.resolve(undefined); },
        };
      },
    };
  };
  TossPayments.ANONYMOUS = "@@DOUBLE_ANONYMOUS";
  window.TossPayments = TossPayments;
}
export function remove_double() { delete window.TossPayments; }
export function constructed() { return (window.__tossConstructed || []).length; }
export function call_count() { return (window.__tossCalls || []).length; }
export function last_call_json() {
  const c = window.__tossCalls;
  return JSON.stringify(c[c.length - 1]);
}
function plain(v) {
  if (Array.isArray(v)) return v.every(plain);
  if (v === null || typeof v !== "object") return v !== undefined;
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  return Object.values(v).every(plain);
}
export function last_request_is_plain() {
  const c = window.__tossCalls;
  return plain(c[c.length - 1].req);
}
export function tags(url) {
  return Array.from(document.getElementsByTagName("script")).filter(s => s.getAttribute("src") === url).length;
}
export function loads() { return window.__tossLoads || 0; }
"#)]
extern "C" {
    fn install_double(mode: &str);
    fn remove_double();
    fn constructed() -> u32;
    fn call_count() -> u32;
    fn last_call_json() -> String;
    fn last_request_is_plain() -> bool;
    fn tags(url: &str) -> u32;
    fn loads() -> u32;
}

/// `window.TossPayments` is the test's double, so this URL is never fetched.
const NEVER_FETCHED: &str = "http://127.0.0.1:9/never-fetched/toss/v2/standard";
const CLIENT_KEY: &str = "test_ck_recordingDouble";

fn gateway() -> TossPayments {
    TossPayments::new(CLIENT_KEY).sdk_url(NEVER_FETCHED)
}

fn intent() -> PaymentIntent {
    PaymentIntent {
        prepared: PreparedPayment {
            payment_id: PaymentId::parse("order-0123456789").expect("id"),
            order_name: "아메리카노 외 1건".into(),
            total_amount: 9500,
            currency: "KRW".into(),
            customer: Some(PreparedCustomer {
                customer_id: Some("demo-customer-1".into()),
                full_name: Some("홍길동".into()),
                phone_number: Some("01012345678".into()),
                email: Some("hong@example.com".into()),
            }),
        },
        return_url: Some("https://shop.example/toss/".into()),
        lang: Lang::Ko,
    }
}

fn last_call() -> serde_json::Value {
    serde_json::from_str(&last_call_json()).unwrap_or_default()
}

#[wasm_bindgen_test]
async fn on_pc_the_sdk_gets_the_client_key_the_customers_key_and_exactly_the_promise_form_request() {
    install_double("success");
    let out = gateway().request_payment(&intent()).await;
    assert_eq!(
        out.ok(),
        Some(WindowResult::Finished(CompleteRequest {
            tx_id: Some("tgen_double".into()),
            failure: None,
            amount: Some(9500),
        })),
        "the paymentKey and the amount go to the backend as hints"
    );
    assert_eq!(
        last_call(),
        json!({
            "method": "requestPayment",
            "clientKey": CLIENT_KEY,
            "customerKey": "demo-customer-1",
            "req": {
                "method": "CARD",
                "amount": {"currency": "KRW", "value": 9500},
                "orderId": "order-0123456789",
                "orderName": "아메리카노 외 1건",
                "customerEmail": "hong@example.com",
                "customerName": "홍길동",
                "customerMobilePhone": "01012345678"
            }
        })
    );
    assert!(
        last_request_is_plain(),
        "every nested value must be a plain object, not a Map"
    );
}

#[wasm_bindgen_test]
async fn the_redirect_form_passes_return_urls_back_to_the_page_and_leaves_it() {
    install_double("undefined");
    let gw = gateway().payment_options(TossPaymentOptions {
        force_redirect: true,
        ..TossPaymentOptions::default()
    });
    let out = gw.request_payment(&intent()).await;
    assert_eq!(out.ok(), Some(WindowResult::Redirected));
    let req = &last_call()["req"];
    assert_eq!(req["successUrl"], "https://shop.example/toss/?tossReturn=payment");
    assert_eq!(req["failUrl"], "https://shop.example/toss/?tossReturn=payment");
}

#[wasm_bindgen_test]
async fn a_guest_pays_with_the_sdks_own_anonymous_constant() {
    install_double("success");
    let gw = gateway().payment_options(TossPaymentOptions {
        anonymous: true,
        ..TossPaymentOptions::default()
    });
    assert!(gw.request_payment(&intent()).await.is_ok());
    assert_eq!(last_call()["customerKey"], "@@DOUBLE_ANONYMOUS");
}

#[wasm_bindgen_test]
async fn a_cancel_or_a_decline_in_the_window_comes_back_as_a_hint_for_the_backend() {
    install_double("cancel");
    let out = gateway().request_payment(&intent()).await;
    let Ok(WindowResult::Finished(report)) = out else {
        panic!("expected a finished window, got {out:?}");
    };
    let failure = report.failure.expect("a failure");
    assert!(failure.is_user_cancel(), "{failure:?}");
    assert_eq!(report.tx_id, None);
    install_double("decline");
    let out = gateway().request_payment(&intent()).await;
    assert!(
        matches!(&out, Ok(WindowResult::Finished(r)) if r.failure.as_ref().and_then(|f| f.code.as_deref()) == Some("REJECT_CARD_COMPANY")),
        "{out:?}"
    );
}

#[wasm_bindgen_test]
async fn a_refusal_before_the_window_is_a_rejection_with_tosss_code() {
    install_double("refuse");
    let out = gateway().request_payment(&intent()).await;
    assert!(
        matches!(&out, Err(SdkError::Rejected { code, already_paid: false, raw, .. })
            if code.as_deref() == Some("INVALID_ORDER_ID") && raw.is_object()),
        "{out:?}"
    );
    install_double("duplicated");
    let out = gateway().request_payment(&intent()).await;
    assert!(
        out.as_ref().err().is_some_and(SdkError::is_already_paid),
        "an order id Toss already confirmed is verified, not failed: {out:?}"
    );
}

#[wasm_bindgen_test]
async fn a_constructor_that_throws_is_a_rejection_not_a_panic() {
    install_double("bad-key");
    let out = gateway().request_payment(&intent()).await;
    assert!(
        matches!(&out, Err(SdkError::Rejected { code, .. }) if code.as_deref() == Some("INVALID_CLIENT_KEY")),
        "{out:?}"
    );
    assert_eq!(call_count(), 0);
}

#[wasm_bindgen_test]
async fn an_answer_for_another_order_is_a_typed_bad_response() {
    install_double("other-order");
    let out = gateway().request_payment(&intent()).await;
    assert!(matches!(out, Err(SdkError::BadResponse { .. })), "{out:?}");
}

#[wasm_bindgen_test]
async fn a_secret_key_or_an_invalid_request_never_reaches_the_sdk() {
    install_double("success");
    let out = TossPayments::new("test_sk_sandboxTossPaymentsSecretKey")
        .sdk_url(NEVER_FETCHED)
        .request_payment(&intent())
        .await;
    assert!(
        matches!(&out, Err(SdkError::Invalid(v)) if v.has("clientKey")),
        "{out:?}"
    );
    let mut cheap = intent();
    cheap.prepared.total_amount = 50;
    let out = gateway().request_payment(&cheap).await;
    assert!(
        matches!(&out, Err(SdkError::Invalid(v)) if v.has("amount.value")),
        "{out:?}"
    );
    assert_eq!((constructed(), call_count()), (0, 0), "the SDK was never called");
}

#[wasm_bindgen_test]
async fn the_billing_authorisation_leaves_the_page_with_the_customers_key_and_the_issue() {
    install_double("success");
    let intent = BillingIntent {
        prepared: BillingKeyPrepared {
            issue_id: IssueId::parse("issue-1").expect("id"),
            issue_name: "정기구독".into(),
            customer: PreparedCustomer {
                customer_id: Some("demo-customer-1".into()),
                full_name: Some("홍길동".into()),
                ..PreparedCustomer::default()
            },
        },
        return_url: Some("https://shop.example/toss/subscribe".into()),
        lang: Lang::Ko,
    };
    let out = gateway().request_billing_key(&intent).await;
    assert_eq!(out.ok(), Some(BillingWindowResult::Redirected));
    let back = "https://shop.example/toss/subscribe?tossReturn=billing&issueId=issue-1";
    assert_eq!(
        last_call(),
        json!({"method": "requestBillingAuth", "clientKey": CLIENT_KEY, "customerKey": "demo-customer-1",
               "req": {"method": "CARD", "successUrl": back, "failUrl": back, "customerName": "홍길동"}})
    );
}

#[wasm_bindgen_test]
async fn the_toss_loader_injects_the_sdk_once_for_concurrent_callers() {
    remove_double();
    let url = "data:text/javascript,window.__tossLoads=(window.__tossLoads||0)%2B1;window.TossPayments=function(){return{}};//toss-once";
    let opts = sdk_loader(url);
    let (a, b) = futures::join!(load_script(&opts), load_script(&opts));
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    assert_eq!((tags(url), loads()), (1, 1));
    assert!(TossPayments::new(CLIENT_KEY).sdk_url(url).preload().await.is_ok());
    assert_eq!(tags(url), 1);
}

#[wasm_bindgen_test]
async fn a_script_that_does_not_define_toss_payments_is_reported_as_such() {
    remove_double();
    let url = "data:text/javascript,window.__notToss=1;//not-toss";
    let out = load_script(&sdk_loader(url)).await;
    assert!(
        matches!(
            &out,
            Err(SdkError::NotDefined {
                global: "TossPayments",
                ..
            })
        ),
        "{out:?}"
    );
}
