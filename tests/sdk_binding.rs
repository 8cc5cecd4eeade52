//! The SDK binding in a browser (Chromium, Firefox, WebKit), against a recording double
//! installed as `window.PortOne`.
#![cfg(target_arch = "wasm32")]

use portone_checkout::gateway::portone_v2::{request_issue_billing_key, request_payment, sdk_loader};
use portone_checkout::gateway::{LoaderOptions, SdkError};
use portone_checkout::model::portone_v2::*;
use portone_checkout::model::{ByKey, Json};
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
function answer(mode, req, type) {
  switch (mode) {
    case "success":
      return Promise.resolve(type === "PAYMENT"
        ? { transactionType: "PAYMENT", txId: "tx-1", paymentId: req.paymentId }
        : { transactionType: "ISSUE_BILLING_KEY", billingKey: "billing-key-1" });
    case "failure":
      return Promise.resolve({ transactionType: type, txId: "tx-2", paymentId: req.paymentId,
        code: "FAILURE_TYPE_PG", message: "[INSUFFICIENT_BALANCE] 잔액 부족",
        pgCode: "INSUFFICIENT_BALANCE", pgMessage: "잔액이 부족합니다." });
    case "reject": {
      const e = new Error("사전 등록된 금액과 다릅니다");
      e.code = "AmountNotEqualToPredefined";
      e.__portOneErrorType = "PaymentError";
      return Promise.reject(e);
    }
    case "throw":
      throw new TypeError("synchronous failure inside the SDK");
    case "undefined":
      return Promise.resolve(undefined);
    case "garbage":
      return Promise.resolve(42);
  }
}
export function install_double(mode) {
  window.__portoneCalls = [];
  window.PortOne = {
    requestPayment(req) { window.__portoneCalls.push(req); return answer(mode, req, "PAYMENT"); },
    requestIssueBillingKey(req) { window.__portoneCalls.push(req); return answer(mode, req, "ISSUE_BILLING_KEY"); },
  };
}
export function call_count() { return (window.__portoneCalls || []).length; }
export function last_call_json() {
  const c = window.__portoneCalls;
  return JSON.stringify(c[c.length - 1]);
}
function plain(v) {
  if (Array.isArray(v)) return v.every(plain);
  if (v === null || typeof v !== "object") return v !== undefined;
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  return Object.values(v).every(plain);
}
export function last_call_is_plain() {
  const c = window.__portoneCalls;
  return plain(c[c.length - 1]);
}
"#)]
extern "C" {
    fn install_double(mode: &str);
    fn call_count() -> u32;
    fn last_call_json() -> String;
    fn last_call_is_plain() -> bool;
}

fn loader() -> LoaderOptions {
    // window.PortOne is installed by the test, so this URL is never fetched.
    sdk_loader("http://127.0.0.1:9/never-fetched.js")
}

fn toss_ctx() -> ValidationContext {
    ValidationContext {
        pg: PgProvider::TosspayV2,
        ..ValidationContext::default()
    }
}

fn tosspay_request() -> PaymentRequest {
    let mut other = ByKey::new();
    other.insert(
        "kcp_v2".into(),
        Json::new(&json!({"shop_user_id": "u-1"})).unwrap_or_else(|e| panic!("{e}")),
    );
    PaymentRequest {
        channel_key: Some("channel-key-sandbox-tosspay".into()),
        customer: Some(Customer {
            full_name: Some("홍길동".into()),
            email: Some("hong@example.com".into()),
            ..Default::default()
        }),
        window_type: Some(WindowTypes {
            pc: Some(WindowType::Popup),
            mobile: None,
        }),
        redirect_url: Some("https://shop.example/return?from=checkout".into()),
        products: Some(vec![Product {
            id: "beans".into(),
            name: "원두 1kg".into(),
            code: Some("B-1".into()),
            amount: 32000,
            quantity: 1,
            tag: None,
            link: None,
            description: None,
        }]),
        locale: Some(Locale::KoKr),
        bypass: Some(PaymentBypass {
            tosspay_v2: Some(TosspayV2PaymentBypass {
                expired_time: None,
                cash_receipt_trade_option: Some(CashReceiptTradeOption::General),
            }),
            other,
        }),
        easy_pay: Some(EasyPayOptions {
            easy_pay_provider: Some(EasyPayProvider::Tosspay),
            available_pay_methods: Some(vec!["CARD".into(), "CHARGE".into()]),
            ..Default::default()
        }),
        ..PaymentRequest::new(
            "store-sandbox",
            "order-42",
            "원두 1kg",
            32000,
            Currency::Krw,
            PayMethod::EasyPay,
        )
    }
}

#[wasm_bindgen_test]
async fn request_payment_hands_the_sdk_exactly_the_expected_plain_object() {
    install_double("success");
    let out = request_payment(&tosspay_request(), &toss_ctx(), &loader()).await;
    assert!(matches!(out, Ok(PaymentOutcome::Completed(_))), "{out:?}");
    let got: serde_json::Value = serde_json::from_str(&last_call_json()).unwrap_or_default();
    let expected = json!({
        "storeId": "store-sandbox",
        "paymentId": "order-42",
        "orderName": "원두 1kg",
        "totalAmount": 32000,
        "currency": "KRW",
        "payMethod": "EASY_PAY",
        "channelKey": "channel-key-sandbox-tosspay",
        "customer": {"fullName": "홍길동", "email": "hong@example.com"},
        "windowType": {"pc": "POPUP"},
        "redirectUrl": "https://shop.example/return?from=checkout",
        "products": [{"id": "beans", "name": "원두 1kg", "code": "B-1", "amount": 32000, "quantity": 1}],
        "locale": "KO_KR",
        "bypass": {"tosspay_v2": {"cashReceiptTradeOption": "GENERAL"}, "kcp_v2": {"shop_user_id": "u-1"}},
        "easyPay": {"easyPayProvider": "TOSSPAY", "availablePayMethods": ["CARD", "CHARGE"]}
    });
    assert_eq!(got, expected);
    assert!(
        last_call_is_plain(),
        "every nested value must be a plain object, not a Map"
    );
}

#[wasm_bindgen_test]
async fn a_successful_payment_comes_back_as_completed() {
    install_double("success");
    let out = request_payment(&tosspay_request(), &toss_ctx(), &loader()).await;
    let Ok(PaymentOutcome::Completed(done)) = out else {
        panic!("expected Completed, got {out:?}");
    };
    assert_eq!((done.payment_id.as_str(), done.tx_id.as_str()), ("order-42", "tx-1"));
}

#[wasm_bindgen_test]
async fn a_resolved_failure_comes_back_as_failed_with_the_pg_message() {
    install_double("failure");
    let out = request_payment(&tosspay_request(), &toss_ctx(), &loader()).await;
    let Ok(PaymentOutcome::Failed(f)) = out else {
        panic!("expected Failed, got {out:?}");
    };
    assert_eq!(f.code(), ErrorCode::FailureTypePg);
    assert_eq!(f.failure.pg_code.as_deref(), Some("INSUFFICIENT_BALANCE"));
    assert_eq!(f.customer_message(), "잔액이 부족합니다.");
}

#[wasm_bindgen_test]
async fn a_rejection_comes_back_as_rejected_with_code_and_message() {
    install_double("reject");
    let out = request_payment(&tosspay_request(), &toss_ctx(), &loader()).await;
    let Err(SdkError::Rejected {
        code,
        message,
        already_paid,
        raw,
    }) = out
    else {
        panic!("expected Rejected, got {out:?}");
    };
    assert_eq!(code.as_deref(), Some("AmountNotEqualToPredefined"));
    assert_eq!(message, "사전 등록된 금액과 다릅니다");
    assert!(!already_paid);
    assert!(raw.is_object(), "the raw error is kept for the console");
}

#[wasm_bindgen_test]
async fn a_synchronous_throw_inside_the_sdk_is_a_rejection_not_a_panic() {
    install_double("throw");
    let out = request_payment(&tosspay_request(), &toss_ctx(), &loader()).await;
    assert!(
        matches!(&out, Err(SdkError::Rejected { code, message, .. }) if code.is_none() && message.contains("synchronous failure")),
        "{out:?}"
    );
}

#[wasm_bindgen_test]
async fn undefined_comes_back_as_redirected() {
    install_double("undefined");
    let out = request_payment(&tosspay_request(), &toss_ctx(), &loader()).await;
    assert_eq!(out.ok(), Some(PaymentOutcome::Redirected));
}

#[wasm_bindgen_test]
async fn a_non_object_answer_is_a_typed_bad_response() {
    install_double("garbage");
    let out = request_payment(&tosspay_request(), &toss_ctx(), &loader()).await;
    assert!(matches!(out, Err(SdkError::BadResponse { .. })), "{out:?}");
}

#[wasm_bindgen_test]
async fn an_invalid_request_never_reaches_the_sdk() {
    install_double("success");
    let before = call_count();
    let bad = PaymentRequest {
        pay_method: PayMethod::Card,
        total_amount: 0,
        ..tosspay_request()
    };
    let out = request_payment(&bad, &toss_ctx(), &loader()).await;
    let Err(SdkError::Invalid(v)) = out else {
        panic!("expected Invalid, got {out:?}");
    };
    assert!(v.has("payMethod") && v.has("totalAmount"), "{v}");
    assert_eq!(call_count(), before);
}

#[wasm_bindgen_test]
async fn billing_keys_come_back_typed() {
    let req = IssueBillingKeyRequest {
        issue_id: Some("issue-1".into()),
        customer: Some(Customer {
            customer_id: Some("demo-customer-1".into()),
            ..Default::default()
        }),
        ..IssueBillingKeyRequest::new(
            "store-sandbox",
            "channel-key-sandbox-tosspay",
            BillingKeyMethod::EasyPay,
        )
    };
    install_double("success");
    let out = request_issue_billing_key(&req, &toss_ctx(), &loader()).await;
    assert!(
        matches!(&out, Ok(BillingKeyOutcome::Issued(k)) if k.billing_key == "billing-key-1"),
        "{out:?}"
    );
    let got: serde_json::Value = serde_json::from_str(&last_call_json()).unwrap_or_default();
    assert_eq!(
        got,
        json!({"storeId": "store-sandbox", "channelKey": "channel-key-sandbox-tosspay", "billingKeyMethod": "EASY_PAY",
               "issueId": "issue-1", "customer": {"customerId": "demo-customer-1"}})
    );
    install_double("failure");
    let out = request_issue_billing_key(&req, &toss_ctx(), &loader()).await;
    assert!(
        matches!(&out, Ok(BillingKeyOutcome::Failed(f)) if f.failure.pg_code.as_deref() == Some("INSUFFICIENT_BALANCE")),
        "{out:?}"
    );
    install_double("undefined");
    let out = request_issue_billing_key(&req, &toss_ctx(), &loader()).await;
    assert_eq!(out.ok(), Some(BillingKeyOutcome::Redirected));
}
