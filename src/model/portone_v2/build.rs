//! Building the SDK's requests from what the backend prepared (pure): the
//! PortOne V2 gateway's half that needs no browser, tested natively.

use super::billing::IssueBillingKeyRequest;
use super::enums::{BillingKeyMethod, Currency, PayMethod};
use super::payment::{Customer, EasyPayOptions, PaymentBypass, PaymentRequest, TosspayV2PaymentBypass, WindowTypes};
use super::validate::PgProvider;
use crate::i18n::Lang;
use crate::model::rules::format_kst_datetime;
use crate::protocol::{BillingKeyPrepared, PreparedCustomer, PreparedPayment};

/// The store and channel payments and billing keys go to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelSettings {
    /// The PortOne store id (`store-...`).
    pub store_id: String,
    /// The channel key (give this or `channel_group_id`; billing keys need
    /// a channel key).
    pub channel_key: Option<String>,
    /// The channel group id.
    pub channel_group_id: Option<String>,
    /// The channel's PG, choosing the PG-specific validation rules.
    pub pg: PgProvider,
}

/// How payment requests are built, besides the order. `Default` leaves
/// every option to the SDK except `payMethod`, which is `EASY_PAY`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaymentOptions {
    /// `payMethod`. Default: `EASY_PAY` (TossPay's only method).
    pub pay_method: Option<PayMethod>,
    /// `easyPay` options. Default: none.
    pub easy_pay: Option<EasyPayOptions>,
    /// `bypass` (TossPay's `tosspay_v2` and other PGs'). Default: none.
    pub bypass: Option<PaymentBypass>,
    /// `windowType`. Default: the SDK's.
    pub window_type: Option<WindowTypes>,
    /// `forceRedirect`: always leave the page for the PG. Default: `false`.
    pub force_redirect: bool,
    /// `noticeUrls`: per-payment webhook URLs. Default: none.
    pub notice_urls: Vec<String>,
    /// Sets TossPay's `bypass.tosspay_v2.expiredTime` this many seconds
    /// after each request. Default: none (TossPay's own 15 minutes).
    pub tosspay_expires_in_secs: Option<u32>,
}

/// How billing-key requests are built, besides the issuance. `Default`:
/// `billingKeyMethod` `EASY_PAY`, everything else the SDK's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IssueOptions {
    /// `billingKeyMethod`. Default: `EASY_PAY`.
    pub billing_key_method: Option<BillingKeyMethod>,
    /// `windowType`. Default: the SDK's.
    pub window_type: Option<WindowTypes>,
    /// `forceRedirect`. Default: `false`.
    pub force_redirect: bool,
    /// `noticeUrls`. Default: none.
    pub notice_urls: Vec<String>,
}

fn customer(c: &PreparedCustomer) -> Customer {
    Customer {
        customer_id: c.customer_id.clone(),
        full_name: c.full_name.clone(),
        phone_number: c.phone_number.clone(),
        email: c.email.clone(),
        ..Default::default()
    }
}

/// `bypass` with TossPay's `expiredTime` set `expires_in_secs` after
/// `now_ms`, when given (PortOne V2's and V1's requests alike).
pub fn with_tosspay_expiry(
    mut bypass: Option<PaymentBypass>,
    expires_in_secs: Option<u32>,
    now_ms: i64,
) -> Option<PaymentBypass> {
    if let Some(secs) = expires_in_secs {
        let b = bypass.get_or_insert_with(PaymentBypass::default);
        let t = b.tosspay_v2.get_or_insert_with(TosspayV2PaymentBypass::default);
        t.expired_time = Some(format_kst_datetime(now_ms.div_euclid(1000) + i64::from(secs)));
    }
    bypass
}

/// The `requestPayment` argument for a prepared order; `now_ms` (for
/// `expiredTime`) and `return_url` (the `redirectUrl`) come from the
/// browser.
pub fn payment_request(
    channel: &ChannelSettings,
    prepared: &PreparedPayment,
    opts: &PaymentOptions,
    lang: Lang,
    now_ms: i64,
    return_url: Option<String>,
) -> PaymentRequest {
    let bypass = with_tosspay_expiry(opts.bypass.clone(), opts.tosspay_expires_in_secs, now_ms);
    PaymentRequest {
        channel_key: channel.channel_key.clone(),
        channel_group_id: channel.channel_group_id.clone(),
        customer: prepared.customer.as_ref().map(customer),
        window_type: opts.window_type.clone(),
        redirect_url: return_url,
        force_redirect: opts.force_redirect.then_some(true),
        notice_urls: (!opts.notice_urls.is_empty()).then(|| opts.notice_urls.clone()),
        locale: Some(lang.locale()),
        bypass,
        easy_pay: opts.easy_pay.clone(),
        ..PaymentRequest::new(
            &channel.store_id,
            prepared.payment_id.as_str(),
            &prepared.order_name,
            prepared.total_amount,
            Currency::from(prepared.currency.as_str()),
            opts.pay_method.clone().unwrap_or(PayMethod::EasyPay),
        )
    }
}

/// The `requestIssueBillingKey` argument for a prepared issuance.
pub fn billing_request(
    channel: &ChannelSettings,
    issue: &BillingKeyPrepared,
    opts: &IssueOptions,
    lang: Lang,
    return_url: Option<String>,
) -> IssueBillingKeyRequest {
    IssueBillingKeyRequest {
        issue_id: Some(issue.issue_id.to_string()),
        issue_name: Some(issue.issue_name.clone()),
        customer: Some(customer(&issue.customer)),
        window_type: opts.window_type.clone(),
        redirect_url: return_url,
        force_redirect: opts.force_redirect.then_some(true),
        notice_urls: (!opts.notice_urls.is_empty()).then(|| opts.notice_urls.clone()),
        locale: Some(lang.locale()),
        ..IssueBillingKeyRequest::new(
            &channel.store_id,
            channel.channel_key.as_deref().unwrap_or_default(),
            opts.billing_key_method.clone().unwrap_or(BillingKeyMethod::EasyPay),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::portone_v2::{EasyPayProvider, Locale};
    use crate::protocol::{IssueId, PaymentId};
    use serde_json::json;

    fn channel() -> ChannelSettings {
        ChannelSettings {
            store_id: "store-1".into(),
            channel_key: Some("ck".into()),
            channel_group_id: None,
            pg: PgProvider::TosspayV2,
        }
    }

    fn prepared() -> PreparedPayment {
        PreparedPayment {
            payment_id: PaymentId::parse("order-1").expect("id"),
            order_name: "커피".into(),
            total_amount: 4500,
            currency: "KRW".into(),
            customer: Some(PreparedCustomer {
                customer_id: Some("c-1".into()),
                full_name: Some("홍길동".into()),
                phone_number: None,
                email: None,
            }),
        }
    }

    #[test]
    fn the_request_carries_the_server_amount_and_the_options() {
        let opts = PaymentOptions {
            easy_pay: Some(EasyPayOptions {
                easy_pay_provider: Some(EasyPayProvider::Tosspay),
                ..Default::default()
            }),
            notice_urls: vec!["https://shop.example/hook".into()],
            tosspay_expires_in_secs: Some(600),
            ..Default::default()
        };
        // 2026-11-22 12:00:00 KST.
        let req = payment_request(
            &channel(),
            &prepared(),
            &opts,
            Lang::En,
            1_795_316_400_000,
            Some("https://shop.example/cart".into()),
        );
        let v = serde_json::to_value(&req).unwrap_or_default();
        assert_eq!(
            v,
            json!({
                "storeId": "store-1", "paymentId": "order-1", "orderName": "커피", "totalAmount": 4500,
                "currency": "KRW", "payMethod": "EASY_PAY", "channelKey": "ck",
                "customer": {"customerId": "c-1", "fullName": "홍길동"},
                "redirectUrl": "https://shop.example/cart",
                "noticeUrls": ["https://shop.example/hook"],
                "locale": "EN_US",
                "bypass": {"tosspay_v2": {"expiredTime": "2026-11-22 12:10:00"}},
                "easyPay": {"easyPayProvider": "TOSSPAY"}
            })
        );
        assert_eq!(req.locale, Some(Locale::EnUs));
    }

    #[test]
    fn force_redirect_and_a_channel_group_pass_through() {
        let opts = PaymentOptions {
            force_redirect: true,
            ..Default::default()
        };
        let group = ChannelSettings {
            channel_key: None,
            channel_group_id: Some("g".into()),
            ..channel()
        };
        let req = payment_request(
            &group,
            &prepared(),
            &opts,
            Lang::Ko,
            0,
            Some("https://shop.example/r".into()),
        );
        assert_eq!(req.redirect_url.as_deref(), Some("https://shop.example/r"));
        assert_eq!(req.force_redirect, Some(true));
        assert_eq!(req.channel_group_id.as_deref(), Some("g"));
        assert_eq!(req.bypass, None);
    }

    #[test]
    fn the_billing_request_carries_the_prepared_customer() {
        let issue = BillingKeyPrepared {
            issue_id: IssueId::parse("issue-1").expect("id"),
            issue_name: "구독".into(),
            customer: PreparedCustomer {
                customer_id: Some("demo-customer-1".into()),
                full_name: Some("홍길동".into()),
                phone_number: None,
                email: None,
            },
        };
        let req = billing_request(
            &channel(),
            &issue,
            &IssueOptions::default(),
            Lang::Ko,
            Some("https://shop.example/subscribe".into()),
        );
        assert_eq!(
            serde_json::to_value(&req).unwrap_or_default(),
            json!({"storeId": "store-1", "channelKey": "ck", "billingKeyMethod": "EASY_PAY", "issueId": "issue-1",
                   "issueName": "구독", "customer": {"customerId": "demo-customer-1", "fullName": "홍길동"},
                   "redirectUrl": "https://shop.example/subscribe", "locale": "KO_KR"})
        );
    }
}
