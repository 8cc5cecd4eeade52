//! Building the SDK's requests from what the backend prepared (pure): the
//! Toss gateway's half that needs no browser, tested natively.
//!
//! The redirect form is used on phones (Toss has no promise form there),
//! with `windowTarget: "self"`, for `FOREIGN_EASY_PAY`, and whenever
//! [`TossPaymentOptions::force_redirect`] is set; the promise form
//! otherwise. Redirect URLs are the checkout's return URL with
//! [`super::return_url::MARKER`] added, so the return parser knows a Toss
//! return (and, for billing, the issuance it belongs to).

use super::billing::{BillingAuthRequest, BillingMethod};
use super::payment::{
    Amount, CardOptions, CustomerKey, Metadata, Method, PaymentRequest, TransferOptions, VirtualAccountOptions,
    WindowTarget,
};
use super::return_url::{ISSUE_ID_KEY, MARKER, MARKER_BILLING, MARKER_PAYMENT};
use crate::model::rules::Device;
use crate::protocol::{BillingKeyPrepared, PreparedPayment};

/// How payment requests are built, besides the order. `Default`: method
/// `CARD`, the customer's own key when the backend gives one (else
/// `ANONYMOUS`), the promise form on PC and the redirect form on phones,
/// no per-method options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TossPaymentOptions {
    /// `method`. Default: `CARD`.
    pub method: Method,
    /// Always use the redirect form (`successUrl`/`failUrl`), also on PC.
    /// Default: `false` (the promise form on PC).
    pub force_redirect: bool,
    /// `windowTarget`. Default: the SDK's (`iframe` on PC, `self` on phones).
    pub window_target: Option<WindowTarget>,
    /// Pay as a guest (`TossPayments.ANONYMOUS`) even when the backend names
    /// the customer. Default: `false`.
    pub anonymous: bool,
    /// `metadata`. Default: none.
    pub metadata: Option<Metadata>,
    /// `card`. Default: none.
    pub card: Option<CardOptions>,
    /// `transfer`. Default: none.
    pub transfer: Option<TransferOptions>,
    /// `virtualAccount`. Default: none.
    pub virtual_account: Option<VirtualAccountOptions>,
}

/// How billing authorisations are built. `Default`: method `CARD`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillingAuthOptions {
    /// `method`. Default: `CARD`.
    pub method: BillingMethod,
}

/// `url` with `key=value` added to its query (before any fragment).
pub fn with_query(url: &str, key: &str, value: &str) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let sep = if base.contains('?') {
        if base.ends_with('?') || base.ends_with('&') {
            ""
        } else {
            "&"
        }
    } else {
        "?"
    };
    let mut out = format!(
        "{base}{sep}{}={}",
        crate::protocol::encode_path_segment(key),
        crate::protocol::encode_path_segment(value)
    );
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

fn customer_key(customer_id: Option<&str>, anonymous: bool) -> CustomerKey {
    match customer_id.filter(|id| !anonymous && !id.trim().is_empty()) {
        Some(id) => CustomerKey::Key(id.to_owned()),
        None => CustomerKey::Anonymous,
    }
}

/// The `customerKey` and the `requestPayment` argument for a prepared
/// order; `return_url` is the page to come back to, `device` picks the
/// form.
pub fn payment_request(
    prepared: &PreparedPayment,
    opts: &TossPaymentOptions,
    device: Device,
    return_url: Option<&str>,
) -> (CustomerKey, PaymentRequest) {
    let customer = prepared.customer.as_ref();
    let redirect = device == Device::Mobile
        || opts.force_redirect
        || opts.window_target == Some(WindowTarget::SelfPage)
        || opts.method == Method::ForeignEasyPay;
    let back = return_url
        .filter(|_| redirect)
        .map(|u| with_query(u, MARKER, MARKER_PAYMENT));
    let key = customer_key(customer.and_then(|c| c.customer_id.as_deref()), opts.anonymous);
    let req = PaymentRequest {
        success_url: back.clone(),
        fail_url: back,
        customer_email: customer.and_then(|c| c.email.clone()),
        customer_name: customer.and_then(|c| c.full_name.clone()),
        customer_mobile_phone: customer.and_then(|c| c.phone_number.clone()),
        window_target: opts.window_target,
        metadata: opts.metadata.clone(),
        card: opts.card.clone(),
        transfer: opts.transfer.clone(),
        virtual_account: opts.virtual_account.clone(),
        ..PaymentRequest::new(
            opts.method,
            Amount {
                currency: prepared.currency.clone(),
                value: prepared.total_amount,
            },
            prepared.payment_id.as_str(),
            &prepared.order_name,
        )
    };
    (key, req)
}

/// The `customerKey` and the `requestBillingAuth` argument for a prepared
/// issuance (always the redirect form; the return URL carries the
/// `issueId`).
pub fn billing_request(
    prepared: &BillingKeyPrepared,
    opts: &BillingAuthOptions,
    return_url: Option<&str>,
) -> (CustomerKey, BillingAuthRequest) {
    let back = return_url
        .map(|u| {
            with_query(
                &with_query(u, MARKER, MARKER_BILLING),
                ISSUE_ID_KEY,
                prepared.issue_id.as_str(),
            )
        })
        .unwrap_or_default();
    let key = customer_key(prepared.customer.customer_id.as_deref(), false);
    let req = BillingAuthRequest {
        method: opts.method,
        success_url: back.clone(),
        fail_url: back,
        customer_email: prepared.customer.email.clone(),
        customer_name: prepared.customer.full_name.clone(),
    };
    (key, req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{IssueId, PaymentId, PreparedCustomer};
    use serde_json::json;

    fn prepared() -> PreparedPayment {
        PreparedPayment {
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
        }
    }

    #[test]
    fn on_pc_the_request_is_the_promise_form_with_the_servers_amount() {
        let (key, req) = payment_request(
            &prepared(),
            &TossPaymentOptions::default(),
            Device::Pc,
            Some("https://shop.example/toss/"),
        );
        assert_eq!(key, CustomerKey::Key("demo-customer-1".into()));
        assert_eq!(
            serde_json::to_value(&req).unwrap_or_default(),
            json!({
                "method": "CARD",
                "amount": {"currency": "KRW", "value": 9500},
                "orderId": "order-0123456789",
                "orderName": "아메리카노 외 1건",
                "customerEmail": "hong@example.com",
                "customerName": "홍길동",
                "customerMobilePhone": "01012345678"
            })
        );
    }

    #[test]
    fn on_a_phone_the_request_is_the_redirect_form_back_to_the_page() {
        let (_, req) = payment_request(
            &prepared(),
            &TossPaymentOptions::default(),
            Device::Mobile,
            Some("https://shop.example/toss/"),
        );
        let back = "https://shop.example/toss/?tossReturn=payment";
        assert_eq!(req.success_url.as_deref(), Some(back));
        assert_eq!(req.fail_url.as_deref(), Some(back));
        let forced = TossPaymentOptions {
            force_redirect: true,
            anonymous: true,
            ..Default::default()
        };
        let (key, req) = payment_request(
            &prepared(),
            &forced,
            Device::Pc,
            Some("https://shop.example/toss/?lang=en"),
        );
        assert_eq!(key, CustomerKey::Anonymous);
        assert_eq!(
            req.success_url.as_deref(),
            Some("https://shop.example/toss/?lang=en&tossReturn=payment")
        );
    }

    #[test]
    fn the_billing_authorisation_returns_with_its_issue_id() {
        let issue = BillingKeyPrepared {
            issue_id: IssueId::parse("issue-1").expect("id"),
            issue_name: "정기구독".into(),
            customer: PreparedCustomer {
                customer_id: Some("demo-customer-1".into()),
                full_name: Some("홍길동".into()),
                ..Default::default()
            },
        };
        let (key, req) = billing_request(
            &issue,
            &BillingAuthOptions::default(),
            Some("https://shop.example/toss/subscribe"),
        );
        assert_eq!(key, CustomerKey::Key("demo-customer-1".into()));
        assert_eq!(
            serde_json::to_value(&req).unwrap_or_default(),
            json!({
                "method": "CARD",
                "successUrl": "https://shop.example/toss/subscribe?tossReturn=billing&issueId=issue-1",
                "failUrl": "https://shop.example/toss/subscribe?tossReturn=billing&issueId=issue-1",
                "customerName": "홍길동"
            })
        );
    }

    #[test]
    fn query_keys_are_added_before_the_fragment_and_encoded() {
        assert_eq!(
            with_query("https://a.example/p#top", "k", "v w"),
            "https://a.example/p?k=v%20w#top"
        );
        assert_eq!(with_query("https://a.example/p?", "k", "v"), "https://a.example/p?k=v");
    }
}
