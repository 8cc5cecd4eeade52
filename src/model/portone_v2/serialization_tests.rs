//! The serialized requests equal the SDK's expected objects exactly.

use super::*;
use crate::model::JsonObject;
use serde_json::json;

/// A TossPay payment with every field this crate types filled in.
pub(crate) fn full_tosspay_payment() -> PaymentRequest {
    let custom = JsonObject::new(&json!({"cartId": "cart-9"})).unwrap_or_else(|e| panic!("{e}"));
    PaymentRequest {
        order_detail: Some("아메리카노 외 1건".into()),
        channel_key: Some("channel-key-sandbox-tosspay".into()),
        tax_free_amount: Some(0),
        vat_amount: Some(1227),
        customer: Some(Customer {
            customer_id: Some("customer-1".into()),
            full_name: Some("홍길동".into()),
            phone_number: Some("010-0000-0000".into()),
            email: Some("hong@example.com".into()),
            ..Default::default()
        }),
        window_type: Some(WindowTypes {
            pc: Some(WindowType::Iframe),
            mobile: Some(WindowType::Redirection),
        }),
        redirect_url: Some("https://shop.example/checkout".into()),
        force_redirect: Some(false),
        notice_urls: Some(vec!["https://shop.example/api/webhooks/portone".into()]),
        products: Some(vec![Product {
            id: "americano".into(),
            name: "아메리카노".into(),
            code: None,
            amount: 4500,
            quantity: 2,
            tag: None,
            link: None,
            description: None,
        }]),
        locale: Some(Locale::KoKr),
        custom_data: Some(custom),
        product_type: Some(ProductType::Real),
        bypass: Some(PaymentBypass {
            tosspay_v2: Some(TosspayV2PaymentBypass {
                expired_time: Some("2026-11-22 12:15:00".into()),
                cash_receipt_trade_option: Some(CashReceiptTradeOption::Culture),
            }),
            other: Default::default(),
        }),
        easy_pay: Some(EasyPayOptions {
            easy_pay_provider: Some(EasyPayProvider::Tosspay),
            use_installment: Some(false),
            ..Default::default()
        }),
        ..PaymentRequest::new(
            "store-sandbox",
            "order-20261122-0001",
            "아메리카노 2잔",
            13500,
            Currency::Krw,
            PayMethod::EasyPay,
        )
    }
}

/// The object `requestPayment` must receive for [`full_tosspay_payment`].
pub(crate) fn full_tosspay_payment_json() -> serde_json::Value {
    json!({
        "storeId": "store-sandbox",
        "paymentId": "order-20261122-0001",
        "orderName": "아메리카노 2잔",
        "orderDetail": "아메리카노 외 1건",
        "totalAmount": 13500,
        "currency": "KRW",
        "payMethod": "EASY_PAY",
        "channelKey": "channel-key-sandbox-tosspay",
        "taxFreeAmount": 0,
        "vatAmount": 1227,
        "customer": {
            "customerId": "customer-1",
            "fullName": "홍길동",
            "phoneNumber": "010-0000-0000",
            "email": "hong@example.com"
        },
        "windowType": {"pc": "IFRAME", "mobile": "REDIRECTION"},
        "redirectUrl": "https://shop.example/checkout",
        "forceRedirect": false,
        "noticeUrls": ["https://shop.example/api/webhooks/portone"],
        "products": [{"id": "americano", "name": "아메리카노", "amount": 4500, "quantity": 2}],
        "locale": "KO_KR",
        "customData": {"cartId": "cart-9"},
        "productType": "REAL",
        "bypass": {"tosspay_v2": {"expiredTime": "2026-11-22 12:15:00", "cashReceiptTradeOption": "CULTURE"}},
        "easyPay": {"easyPayProvider": "TOSSPAY", "useInstallment": false}
    })
}

#[test]
fn a_full_tosspay_payment_serializes_to_exactly_the_sdk_object() {
    let v = serde_json::to_value(full_tosspay_payment()).unwrap_or_default();
    assert_eq!(v, full_tosspay_payment_json());
}

#[test]
fn absent_optional_fields_are_omitted_not_null() {
    let req = PaymentRequest::new("s", "p", "o", 100, Currency::Krw, PayMethod::Card);
    let v = serde_json::to_value(req).unwrap_or_default();
    assert_eq!(
        v,
        json!({"storeId": "s", "paymentId": "p", "orderName": "o", "totalAmount": 100, "currency": "KRW", "payMethod": "CARD"})
    );
}

#[test]
fn other_pgs_bypass_objects_pass_through_as_json() {
    let mut other = crate::model::ByKey::new();
    other.insert(
        "nice_v2".into(),
        crate::model::Json::new(&json!({"logo_url": "https://x.example/logo.png"})).unwrap_or_else(|e| panic!("{e}")),
    );
    let req = PaymentRequest {
        bypass: Some(PaymentBypass {
            tosspay_v2: None,
            other,
        }),
        ..PaymentRequest::new("s", "p", "o", 100, Currency::Krw, PayMethod::Card)
    };
    let v = serde_json::to_value(&req).unwrap_or_default();
    assert_eq!(
        v["bypass"],
        json!({"nice_v2": {"logo_url": "https://x.example/logo.png"}})
    );
    let back: PaymentRequest = serde_json::from_value(v).unwrap_or_else(|e| panic!("round trip: {e}"));
    assert_eq!(back, req);
}

#[test]
fn a_full_tosspay_payment_round_trips() {
    let back: PaymentRequest =
        serde_json::from_value(full_tosspay_payment_json()).unwrap_or_else(|e| panic!("parse: {e}"));
    assert_eq!(back, full_tosspay_payment());
}

/// A TossPay billing-key request with every typed field filled in.
pub(crate) fn full_tosspay_billing() -> IssueBillingKeyRequest {
    IssueBillingKeyRequest {
        issue_id: Some("issue-20261122-0001".into()),
        issue_name: Some("월간 원두 구독".into()),
        display_amount: Some(32000),
        currency: Some(Currency::Krw),
        customer: Some(Customer {
            customer_id: Some("demo-customer-1".into()),
            full_name: Some("홍길동".into()),
            ..Default::default()
        }),
        window_type: Some(WindowTypes {
            pc: Some(WindowType::Iframe),
            mobile: Some(WindowType::Redirection),
        }),
        redirect_url: Some("https://shop.example/subscribe".into()),
        notice_urls: Some(vec!["https://shop.example/api/webhooks/portone".into()]),
        locale: Some(Locale::EnUs),
        bypass: Some(IssueBillingKeyBypass {
            tosspay_v2: Some(TosspayV2IssueBillingKeyBypass {
                encrypted_user_ci: Some("ci".into()),
            }),
            other: Default::default(),
        }),
        ..IssueBillingKeyRequest::new(
            "store-sandbox",
            "channel-key-sandbox-tosspay",
            BillingKeyMethod::EasyPay,
        )
    }
}

/// The object `requestIssueBillingKey` must receive for [`full_tosspay_billing`].
pub(crate) fn full_tosspay_billing_json() -> serde_json::Value {
    json!({
        "storeId": "store-sandbox",
        "channelKey": "channel-key-sandbox-tosspay",
        "billingKeyMethod": "EASY_PAY",
        "issueId": "issue-20261122-0001",
        "issueName": "월간 원두 구독",
        "displayAmount": 32000,
        "currency": "KRW",
        "customer": {"customerId": "demo-customer-1", "fullName": "홍길동"},
        "windowType": {"pc": "IFRAME", "mobile": "REDIRECTION"},
        "redirectUrl": "https://shop.example/subscribe",
        "noticeUrls": ["https://shop.example/api/webhooks/portone"],
        "locale": "EN_US",
        "bypass": {"tosspay_v2": {"encryptedUserCi": "ci"}}
    })
}

#[test]
fn a_full_tosspay_billing_request_serializes_to_exactly_the_sdk_object() {
    let v = serde_json::to_value(full_tosspay_billing()).unwrap_or_default();
    assert_eq!(v, full_tosspay_billing_json());
}
