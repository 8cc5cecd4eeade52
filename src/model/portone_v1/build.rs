//! Building `IMP.request_pay`'s arguments from what the backend prepared
//! (pure): the PortOne V1 gateway's half that needs no browser, tested
//! natively.

use super::request::{BillingKeyRequest, CardOptions, Language, NoticeUrl, PayMethod, PaymentRequest};
use super::return_url::{with_query_param, CUSTOMER_UID_KEY};
use super::validate::MAX_NAME_CHARS;
use crate::i18n::Lang;
use crate::model::portone_v2::build::with_tosspay_expiry;
use crate::model::portone_v2::{Currency, PaymentBypass};
use crate::protocol::{BillingKeyPrepared, PreparedCustomer, PreparedPayment};

/// How payment requests are built, besides the order. `Default`:
/// `pay_method` `tosspay` and every other option V1's own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaymentOptions {
    /// `pay_method`. Default: `tosspay` (every TossPay means).
    pub pay_method: Option<PayMethod>,
    /// `popup`: a popup instead of the overlay on PC. Default: `false`.
    pub popup: bool,
    /// `notice_url`: webhook URL(s) for each payment. Default: none (the
    /// console's).
    pub notice_urls: Vec<String>,
    /// `app_scheme`, inside an app's WebView. Default: none.
    pub app_scheme: Option<String>,
    /// `card` options. Default: none.
    pub card: Option<CardOptions>,
    /// `bypass` (TossPay's `tosspay_v2` and others'). Default: none.
    pub bypass: Option<PaymentBypass>,
    /// Sets TossPay's `bypass.tosspay_v2.expiredTime` this many seconds
    /// after each request. Default: none (TossPay's own 15 minutes).
    pub tosspay_expires_in_secs: Option<u32>,
}

/// How billing-key requests are built. `Default`: every option V1's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillingOptions {
    /// `popup` on PC. Default: `false`.
    pub popup: bool,
    /// `notice_url`: webhook URL(s) of the issuance (a closed window loses
    /// the callback, so V1 advises one). Default: none.
    pub notice_urls: Vec<String>,
    /// `app_scheme`. Default: none.
    pub app_scheme: Option<String>,
}

/// `text` cut to V1's 40-character `name`, marked with `…` when cut.
pub fn clip_name(text: &str) -> String {
    if text.chars().count() <= MAX_NAME_CHARS {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(MAX_NAME_CHARS - 1).collect();
        s.push('…');
        s
    }
}

fn buyer(req: &mut PaymentRequest, customer: Option<&PreparedCustomer>) {
    if let Some(c) = customer {
        req.buyer_name = c.full_name.clone();
        req.buyer_tel = c.phone_number.clone();
        req.buyer_email = c.email.clone();
    }
}

/// The `request_pay` argument for a prepared order; `now_ms` (for
/// `expiredTime`) and `return_url` (the `m_redirect_url`) come from the
/// browser.
pub fn payment_request(
    channel_key: Option<&str>,
    prepared: &PreparedPayment,
    opts: &PaymentOptions,
    lang: Lang,
    now_ms: i64,
    return_url: Option<String>,
) -> PaymentRequest {
    let bypass = with_tosspay_expiry(opts.bypass.clone(), opts.tosspay_expires_in_secs, now_ms);
    let mut req = PaymentRequest {
        channel_key: channel_key.map(str::to_owned),
        name: Some(clip_name(&prepared.order_name)),
        currency: Some(Currency::from(prepared.currency.as_str())),
        language: Some(Language::of(lang)),
        notice_url: NoticeUrl::from_urls(&opts.notice_urls),
        m_redirect_url: return_url,
        app_scheme: opts.app_scheme.clone(),
        popup: opts.popup.then_some(true),
        card: opts.card.clone(),
        bypass,
        ..PaymentRequest::new(
            opts.pay_method.clone().unwrap_or(PayMethod::Tosspay),
            prepared.payment_id.as_str(),
            prepared.total_amount,
        )
    };
    buyer(&mut req, prepared.customer.as_ref());
    req
}

/// The billing-key `request_pay` argument for a prepared issuance: its
/// `issueId` is both the `customer_uid` (the handle of the key) and the
/// `merchant_uid` of the issuance's 0-won payment, and the `m_redirect_url`
/// carries the `customer_uid` so that the return can be told apart.
pub fn billing_request(
    channel_key: Option<&str>,
    issue: &BillingKeyPrepared,
    opts: &BillingOptions,
    lang: Lang,
    return_url: Option<String>,
) -> BillingKeyRequest {
    let uid = issue.issue_id.as_str();
    let mut req = PaymentRequest {
        channel_key: channel_key.map(str::to_owned),
        name: Some(clip_name(&issue.issue_name)),
        language: Some(Language::of(lang)),
        notice_url: NoticeUrl::from_urls(&opts.notice_urls),
        m_redirect_url: return_url.map(|u| with_query_param(&u, CUSTOMER_UID_KEY, uid)),
        app_scheme: opts.app_scheme.clone(),
        popup: opts.popup.then_some(true),
        ..PaymentRequest::new(PayMethod::Tosspay, uid, 0)
    };
    buyer(&mut req, Some(&issue.customer));
    BillingKeyRequest {
        customer_uid: uid.to_owned(),
        customer_id: issue.customer.customer_id.clone(),
        request: req,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{IssueId, PaymentId};
    use serde_json::json;

    fn prepared() -> PreparedPayment {
        PreparedPayment {
            payment_id: PaymentId::parse("order-1").expect("id"),
            order_name: "아메리카노 외 1건".into(),
            total_amount: 9500,
            currency: "KRW".into(),
            customer: Some(PreparedCustomer {
                customer_id: Some("demo-customer-1".into()),
                full_name: Some("홍길동".into()),
                phone_number: Some("01012345678".into()),
                email: None,
            }),
        }
    }

    #[test]
    fn the_payment_request_carries_the_server_amount_and_the_options_in_v1_names() {
        let opts = PaymentOptions {
            notice_urls: vec!["https://shop.example/v1/api/webhooks/portone-v1".into()],
            tosspay_expires_in_secs: Some(600),
            card: Some(CardOptions {
                use_installment: Some(false),
            }),
            ..PaymentOptions::default()
        };
        // 2026-11-22 12:00:00 KST.
        let req = payment_request(
            Some("ck"),
            &prepared(),
            &opts,
            Lang::En,
            1_795_316_400_000,
            Some("https://shop.example/v1/".into()),
        );
        assert_eq!(
            serde_json::to_value(&req).unwrap_or_default(),
            json!({
                "channelKey": "ck", "pay_method": "tosspay", "merchant_uid": "order-1",
                "name": "아메리카노 외 1건", "amount": 9500, "currency": "KRW", "language": "en",
                "buyer_name": "홍길동", "buyer_tel": "01012345678",
                "notice_url": "https://shop.example/v1/api/webhooks/portone-v1",
                "m_redirect_url": "https://shop.example/v1/",
                "card": {"useInstallment": false},
                "bypass": {"tosspay_v2": {"expiredTime": "2026-11-22 12:10:00"}}
            })
        );
    }

    #[test]
    fn several_notice_urls_and_the_popup_pass_through() {
        let opts = PaymentOptions {
            popup: true,
            notice_urls: vec!["https://a.example/h".into(), "https://b.example/h".into()],
            pay_method: Some(PayMethod::TosspayCard),
            ..PaymentOptions::default()
        };
        let req = payment_request(None, &prepared(), &opts, Lang::Ko, 0, None);
        let v = serde_json::to_value(&req).unwrap_or_default();
        assert_eq!(v["notice_url"], json!(["https://a.example/h", "https://b.example/h"]));
        assert_eq!(v["popup"], json!(true));
        assert_eq!(v["pay_method"], json!("tosspay_card"));
        assert_eq!(v.get("channelKey"), None);
        assert_eq!(v.get("m_redirect_url"), None);
    }

    #[test]
    fn a_long_order_name_is_cut_to_40_characters() {
        let long = PreparedPayment {
            order_name: "가".repeat(45),
            ..prepared()
        };
        let req = payment_request(None, &long, &PaymentOptions::default(), Lang::Ko, 0, None);
        let n = req.name.unwrap_or_default();
        assert_eq!(n.chars().count(), 40);
        assert!(n.ends_with('…'));
    }

    #[test]
    fn the_billing_request_uses_the_issue_id_as_customer_uid_and_marks_the_return_url() {
        let issue = BillingKeyPrepared {
            issue_id: IssueId::parse("issue-1").expect("id"),
            issue_name: "정기구독".into(),
            customer: PreparedCustomer {
                customer_id: Some("demo-customer-1".into()),
                full_name: Some("홍길동".into()),
                phone_number: None,
                email: Some("hong@example.com".into()),
            },
        };
        let req = billing_request(
            Some("ck"),
            &issue,
            &BillingOptions::default(),
            Lang::Ko,
            Some("https://shop.example/v1/subscribe".into()),
        );
        assert_eq!(
            serde_json::to_value(&req).unwrap_or_default(),
            json!({
                "customer_uid": "issue-1", "customer_id": "demo-customer-1",
                "channelKey": "ck", "pay_method": "tosspay", "merchant_uid": "issue-1", "name": "정기구독",
                "amount": 0, "language": "ko", "buyer_name": "홍길동", "buyer_email": "hong@example.com",
                "m_redirect_url": "https://shop.example/v1/subscribe?customer_uid=issue-1"
            })
        );
    }
}
