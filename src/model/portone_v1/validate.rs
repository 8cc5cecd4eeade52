//! Validation before `IMP.request_pay` is called: every violation at once,
//! each naming the field and the rule.
//!
//! Rules (the V1 request for TossPay):
//! - `pay_method` is `tosspay`, `tosspay_card` or `tosspay_money`;
//! - `merchant_uid` is present, visible ASCII (no spaces) and at most 40
//!   characters;
//! - `name`, when given, is at most 40 characters;
//! - `amount` is greater than 0 (a billing-key window: at least 0, it is
//!   only shown); `tax_free` and `vat_amount` lie in `0..=amount`;
//! - `currency`, when given, is `KRW` (TossPay takes nothing else);
//! - `language`, when given, is `ko`, `en` or `zh`;
//! - `m_redirect_url` and each `notice_url` are absolute `http(s)` URLs;
//!   `m_redirect_url` is required on mobile (the window returns by
//!   redirect there and the callback never runs);
//! - TossPay's `bypass.tosspay_v2`: the same `expiredTime` and
//!   `cashReceiptTradeOption` rules as PortOne V2 ([`crate::model::rules`]);
//! - billing keys: `customer_uid` present and visible ASCII, `customer_id`
//!   present and at most 50 characters, `pay_method` `tosspay`.

use super::request::{BillingKeyRequest, Language, PayMethod, PaymentRequest};
use super::MAX_MERCHANT_UID_LEN;
use crate::model::portone_v2::Currency;
use crate::model::rules::{
    check_tosspay_expired_time, check_tosspay_trade_option, Collector, Device, Rule, Violations,
    TOSSPAY_CUSTOMER_ID_MAX,
};

/// Longest `name` V1 accepts, in characters.
pub const MAX_NAME_CHARS: usize = 40;

/// TossPay's V1 pay methods.
pub const TOSSPAY_PAY_METHODS: &[&str] = &["tosspay", "tosspay_card", "tosspay_money"];

/// What validation needs to know besides the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationContext {
    /// The device kind (default: PC).
    pub device: Device,
    /// The clock, in Unix milliseconds, for `expiredTime`. `None` (the
    /// default) checks the format only.
    pub now_unix_ms: Option<i64>,
}

fn visible_ascii(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic())
}

fn max_chars(c: &mut Collector, field: &str, value: &str, max: usize) {
    let len = value.chars().count();
    if len > max {
        c.push(
            field,
            Rule::MaxLength { max },
            format!("must be at most {max} characters, got {len}"),
        );
    }
}

fn check_uid(c: &mut Collector, field: &str, value: &str) {
    c.required(field, Some(value));
    if !value.is_empty() && !visible_ascii(value) {
        c.push(
            field,
            Rule::IdFormat,
            "must be visible ASCII characters (no spaces or control characters)".into(),
        );
    }
}

/// The rules a payment and a billing-key window share; `min_amount` is 1
/// for a payment, 0 for a billing key.
fn check_request(c: &mut Collector, req: &PaymentRequest, ctx: &ValidationContext, min_amount: i64) {
    check_uid(c, "merchant_uid", &req.merchant_uid);
    max_chars(c, "merchant_uid", &req.merchant_uid, MAX_MERCHANT_UID_LEN);
    if let Some(name) = &req.name {
        max_chars(c, "name", name, MAX_NAME_CHARS);
    }
    if req.amount < min_amount {
        let rule = if min_amount > 0 { "greater than 0" } else { "0 or more" };
        c.push("amount", Rule::Positive, format!("must be {rule}, got {}", req.amount));
    }
    for (field, value) in [("tax_free", req.tax_free), ("vat_amount", req.vat_amount)] {
        if let Some(v) = value {
            if v < 0 || v > req.amount {
                c.push(
                    field,
                    Rule::WithinTotal,
                    format!("must be between 0 and amount ({}), got {v}", req.amount),
                );
            }
        }
    }
    if let Some(currency) = &req.currency {
        if *currency != Currency::Krw {
            c.push(
                "currency",
                Rule::OneOf { allowed: &["KRW"] },
                format!("must be KRW for TossPay, got {currency}"),
            );
        }
    }
    if let Some(lang) = &req.language {
        if !lang.is_known() {
            c.push(
                "language",
                Rule::OneOf {
                    allowed: &["ko", "en", "zh"],
                },
                format!("must be ko, en or zh, got {lang}"),
            );
        }
    }
    match req.m_redirect_url.as_deref() {
        Some(u) => c.url("m_redirect_url", u),
        None if ctx.device == Device::Mobile => c.push(
            "m_redirect_url",
            Rule::RequiredOnMobile,
            "is required on mobile (the window returns by redirect and the callback never runs)".into(),
        ),
        None => {}
    }
    if let Some(notice) = &req.notice_url {
        let urls = notice.urls();
        if urls.is_empty() {
            c.push(
                "notice_url",
                Rule::Required,
                "must hold at least one URL when given".into(),
            );
        }
        for (i, u) in urls.iter().enumerate() {
            let field = match notice {
                super::NoticeUrl::One(_) => "notice_url".to_owned(),
                super::NoticeUrl::Many(_) => format!("notice_url[{i}]"),
            };
            c.url(&field, u);
        }
    }
    if let Some(bypass) = req.tosspay_bypass() {
        if let Some(t) = &bypass.expired_time {
            check_tosspay_expired_time(c, "bypass.tosspay_v2.expiredTime", t, ctx.now_unix_ms);
        }
        if let Some(opt) = &bypass.cash_receipt_trade_option {
            check_tosspay_trade_option(c, "bypass.tosspay_v2.cashReceiptTradeOption", opt.as_str());
        }
    }
}

/// Validates a TossPay payment request; `Err` lists every violation.
pub fn validate_payment(req: &PaymentRequest, ctx: &ValidationContext) -> Result<(), Violations> {
    let mut c = Collector::default();
    if !TOSSPAY_PAY_METHODS.contains(&req.pay_method.as_str()) {
        c.push(
            "pay_method",
            Rule::OneOf {
                allowed: TOSSPAY_PAY_METHODS,
            },
            format!(
                "must be tosspay, tosspay_card or tosspay_money for TossPay, got {:?}",
                req.pay_method.as_str()
            ),
        );
    }
    check_request(&mut c, req, ctx, 1);
    c.finish()
}

/// Validates a TossPay billing-key request; `Err` lists every violation.
pub fn validate_billing_key(req: &BillingKeyRequest, ctx: &ValidationContext) -> Result<(), Violations> {
    let mut c = Collector::default();
    if req.request.pay_method != PayMethod::Tosspay {
        c.push(
            "pay_method",
            Rule::MethodForPg { expected: "tosspay" },
            format!(
                "must be tosspay for TossPay billing keys, got {:?}",
                req.request.pay_method.as_str()
            ),
        );
    }
    check_uid(&mut c, "customer_uid", &req.customer_uid);
    match req.customer_id.as_deref() {
        None | Some("") => c.push(
            "customer_id",
            Rule::Required,
            "is required for TossPay billing keys".into(),
        ),
        Some(id) => max_chars(&mut c, "customer_id", id, TOSSPAY_CUSTOMER_ID_MAX),
    }
    check_request(&mut c, &req.request, ctx, 0);
    c.finish()
}

impl Language {
    /// The window language for the checkout's language.
    pub fn of(lang: crate::i18n::Lang) -> Self {
        match lang {
            crate::i18n::Lang::Ko => Self::Ko,
            crate::i18n::Lang::En => Self::En,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::request::NoticeUrl;
    use super::*;
    use crate::model::portone_v2::CashReceiptTradeOption;
    use crate::model::portone_v2::{PaymentBypass, TosspayV2PaymentBypass};
    use crate::model::rules::TOSSPAY_TRADE_OPTIONS;

    /// 2026-11-22 12:00:00 KST in Unix milliseconds.
    const NOW_MS: i64 = 1_795_316_400_000;

    fn base() -> PaymentRequest {
        PaymentRequest {
            channel_key: Some("channel-key-1".into()),
            name: Some("아메리카노".into()),
            ..PaymentRequest::new(PayMethod::Tosspay, "order-1", 4500)
        }
    }

    fn pc() -> ValidationContext {
        ValidationContext {
            device: Device::Pc,
            now_unix_ms: Some(NOW_MS),
        }
    }

    fn mobile() -> ValidationContext {
        ValidationContext {
            device: Device::Mobile,
            ..pc()
        }
    }

    fn fails(req: &PaymentRequest, ctx: &ValidationContext, field: &str, rule: Rule) {
        let Err(v) = validate_payment(req, ctx) else {
            panic!("expected `{field}` to break {rule:?}, but the request passed");
        };
        assert!(
            v.of(field).any(|x| x.rule == rule),
            "expected `{field}` to break {rule:?}, got {v}"
        );
        assert!(v.of(field).all(|x| x.message.contains(field)), "{v}");
    }

    fn billing() -> BillingKeyRequest {
        BillingKeyRequest {
            customer_uid: "issue-1".into(),
            customer_id: Some("demo-customer-1".into()),
            request: PaymentRequest { amount: 0, ..base() },
        }
    }

    fn billing_fails(req: &BillingKeyRequest, ctx: &ValidationContext, field: &str, rule: Rule) {
        let Err(v) = validate_billing_key(req, ctx) else {
            panic!("expected `{field}` to break {rule:?}, but the request passed");
        };
        assert!(v.of(field).any(|x| x.rule == rule), "{v}");
    }

    fn with_bypass(expired_time: Option<&str>, option: Option<&str>) -> PaymentRequest {
        PaymentRequest {
            bypass: Some(PaymentBypass {
                tosspay_v2: Some(TosspayV2PaymentBypass {
                    expired_time: expired_time.map(str::to_owned),
                    cash_receipt_trade_option: option.map(CashReceiptTradeOption::from),
                }),
                other: Default::default(),
            }),
            ..base()
        }
    }

    #[test]
    fn a_complete_tosspay_request_passes_on_pc_and_with_a_return_url_on_mobile() {
        assert_eq!(validate_payment(&base(), &pc()), Ok(()));
        let back = PaymentRequest {
            m_redirect_url: Some("https://shop.example/v1/".into()),
            ..base()
        };
        assert_eq!(validate_payment(&back, &mobile()), Ok(()));
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let req = PaymentRequest {
            name: Some("가".repeat(41)),
            tax_free: Some(-1),
            currency: Some(Currency::Usd),
            ..PaymentRequest::new(PayMethod::Other("card".into()), "", 0)
        };
        let Err(v) = validate_payment(&req, &mobile()) else {
            panic!("an empty request must fail");
        };
        for f in [
            "pay_method",
            "merchant_uid",
            "name",
            "amount",
            "tax_free",
            "currency",
            "m_redirect_url",
        ] {
            assert!(v.has(f), "missing violation for {f}: {v}");
        }
        assert!(v.to_string().starts_with("7 invalid field(s)"), "{v}");
    }

    #[test]
    fn each_of_the_three_tosspay_pay_methods_passes_and_others_fail() {
        for m in TOSSPAY_PAY_METHODS {
            let req = PaymentRequest {
                pay_method: PayMethod::from(*m),
                ..base()
            };
            assert_eq!(validate_payment(&req, &pc()), Ok(()), "{m}");
        }
        for bad in ["card", "kakaopay", "TOSSPAY", ""] {
            let req = PaymentRequest {
                pay_method: PayMethod::from(bad),
                ..base()
            };
            fails(
                &req,
                &pc(),
                "pay_method",
                Rule::OneOf {
                    allowed: TOSSPAY_PAY_METHODS,
                },
            );
        }
    }

    #[test]
    fn merchant_uid_is_required_visible_ascii_and_at_most_40_characters() {
        let forty = PaymentRequest {
            merchant_uid: "o".repeat(40),
            ..base()
        };
        assert_eq!(validate_payment(&forty, &pc()), Ok(()));
        let long = PaymentRequest {
            merchant_uid: "o".repeat(41),
            ..base()
        };
        fails(&long, &pc(), "merchant_uid", Rule::MaxLength { max: 40 });
        let empty = PaymentRequest {
            merchant_uid: String::new(),
            ..base()
        };
        fails(&empty, &pc(), "merchant_uid", Rule::Required);
        for bad in ["order 1", "주문-1", "tab\t"] {
            let req = PaymentRequest {
                merchant_uid: bad.into(),
                ..base()
            };
            fails(&req, &pc(), "merchant_uid", Rule::IdFormat);
        }
    }

    #[test]
    fn name_is_at_most_40_characters_counted_as_characters_not_bytes() {
        let forty = PaymentRequest {
            name: Some("가".repeat(40)),
            ..base()
        };
        assert_eq!(validate_payment(&forty, &pc()), Ok(()));
        let long = PaymentRequest {
            name: Some("가".repeat(41)),
            ..base()
        };
        fails(&long, &pc(), "name", Rule::MaxLength { max: 40 });
        let none = PaymentRequest { name: None, ..base() };
        assert_eq!(validate_payment(&none, &pc()), Ok(()));
    }

    #[test]
    fn the_amount_is_positive_and_its_parts_lie_within_it() {
        for bad in [0, -100] {
            let req = PaymentRequest { amount: bad, ..base() };
            fails(&req, &pc(), "amount", Rule::Positive);
        }
        let parts = PaymentRequest {
            tax_free: Some(4500),
            vat_amount: Some(0),
            ..base()
        };
        assert_eq!(validate_payment(&parts, &pc()), Ok(()));
        for (field, req) in [
            (
                "tax_free",
                PaymentRequest {
                    tax_free: Some(4501),
                    ..base()
                },
            ),
            (
                "vat_amount",
                PaymentRequest {
                    vat_amount: Some(-1),
                    ..base()
                },
            ),
        ] {
            fails(&req, &pc(), field, Rule::WithinTotal);
        }
    }

    #[test]
    fn tosspay_takes_krw_only() {
        let krw = PaymentRequest {
            currency: Some(Currency::Krw),
            ..base()
        };
        assert_eq!(validate_payment(&krw, &pc()), Ok(()));
        let usd = PaymentRequest {
            currency: Some(Currency::Usd),
            ..base()
        };
        fails(&usd, &pc(), "currency", Rule::OneOf { allowed: &["KRW"] });
    }

    #[test]
    fn the_window_language_is_ko_en_or_zh() {
        for ok in ["ko", "en", "zh"] {
            let req = PaymentRequest {
                language: Some(Language::from(ok)),
                ..base()
            };
            assert_eq!(validate_payment(&req, &pc()), Ok(()), "{ok}");
        }
        let ja = PaymentRequest {
            language: Some(Language::from("ja")),
            ..base()
        };
        fails(
            &ja,
            &pc(),
            "language",
            Rule::OneOf {
                allowed: &["ko", "en", "zh"],
            },
        );
    }

    #[test]
    fn return_and_notice_urls_must_be_absolute_http_and_one_or_several_notice_urls_are_checked() {
        let ok = PaymentRequest {
            m_redirect_url: Some("https://shop.example/v1/?x=1".into()),
            notice_url: Some(NoticeUrl::Many(vec![
                "https://shop.example/hook".into(),
                "http://127.0.0.1:8080/v1/api/webhooks/portone-v1".into(),
            ])),
            ..base()
        };
        assert_eq!(validate_payment(&ok, &pc()), Ok(()));
        let one = PaymentRequest {
            notice_url: Some(NoticeUrl::One("https://shop.example/hook".into())),
            ..base()
        };
        assert_eq!(validate_payment(&one, &pc()), Ok(()));
        fails(
            &PaymentRequest {
                m_redirect_url: Some("/relative".into()),
                ..base()
            },
            &pc(),
            "m_redirect_url",
            Rule::AbsoluteHttpUrl,
        );
        fails(
            &PaymentRequest {
                notice_url: Some(NoticeUrl::One("javascript:alert(1)".into())),
                ..base()
            },
            &pc(),
            "notice_url",
            Rule::AbsoluteHttpUrl,
        );
        fails(
            &PaymentRequest {
                notice_url: Some(NoticeUrl::Many(vec!["https://ok.example".into(), "nope".into()])),
                ..base()
            },
            &pc(),
            "notice_url[1]",
            Rule::AbsoluteHttpUrl,
        );
        fails(
            &PaymentRequest {
                notice_url: Some(NoticeUrl::Many(vec![])),
                ..base()
            },
            &pc(),
            "notice_url",
            Rule::Required,
        );
    }

    #[test]
    fn m_redirect_url_is_required_on_mobile_only() {
        assert_eq!(validate_payment(&base(), &pc()), Ok(()));
        fails(&base(), &mobile(), "m_redirect_url", Rule::RequiredOnMobile);
    }

    #[test]
    fn tosspay_expired_time_follows_the_same_rules_as_v2() {
        let f = "bypass.tosspay_v2.expiredTime";
        assert_eq!(
            validate_payment(&with_bypass(Some("2026-11-22 12:15:00"), None), &pc()),
            Ok(())
        );
        assert_eq!(
            validate_payment(&with_bypass(Some("2026-11-22 13:00:00"), None), &pc()),
            Ok(())
        );
        fails(
            &with_bypass(Some("2026-11-22T12:15:00"), None),
            &pc(),
            f,
            Rule::DateTimeFormat,
        );
        fails(
            &with_bypass(Some("2026-11-22 12:00:00"), None),
            &pc(),
            f,
            Rule::InFuture,
        );
        fails(
            &with_bypass(Some("2026-11-22 13:00:01"), None),
            &pc(),
            f,
            Rule::AtMostMinutesAhead { minutes: 60 },
        );
    }

    #[test]
    fn tosspay_cash_receipt_trade_option_is_one_of_three() {
        for ok in TOSSPAY_TRADE_OPTIONS {
            assert_eq!(validate_payment(&with_bypass(None, Some(ok)), &pc()), Ok(()), "{ok}");
        }
        fails(
            &with_bypass(None, Some("SPECIAL")),
            &pc(),
            "bypass.tosspay_v2.cashReceiptTradeOption",
            Rule::OneOf {
                allowed: TOSSPAY_TRADE_OPTIONS,
            },
        );
    }

    #[test]
    fn a_complete_billing_key_request_passes_with_amount_zero() {
        assert_eq!(validate_billing_key(&billing(), &pc()), Ok(()));
        let negative = BillingKeyRequest {
            request: PaymentRequest {
                amount: -1,
                ..billing().request
            },
            ..billing()
        };
        billing_fails(&negative, &pc(), "amount", Rule::Positive);
    }

    #[test]
    fn billing_keys_take_pay_method_tosspay_only() {
        for other in [PayMethod::TosspayCard, PayMethod::TosspayMoney] {
            let req = BillingKeyRequest {
                request: PaymentRequest {
                    pay_method: other,
                    ..billing().request
                },
                ..billing()
            };
            billing_fails(&req, &pc(), "pay_method", Rule::MethodForPg { expected: "tosspay" });
        }
    }

    #[test]
    fn billing_keys_need_a_customer_uid_and_a_customer_id_of_at_most_50_characters() {
        let no_uid = BillingKeyRequest {
            customer_uid: String::new(),
            ..billing()
        };
        billing_fails(&no_uid, &pc(), "customer_uid", Rule::Required);
        let spaced = BillingKeyRequest {
            customer_uid: "uid 1".into(),
            ..billing()
        };
        billing_fails(&spaced, &pc(), "customer_uid", Rule::IdFormat);
        for missing in [None, Some(String::new())] {
            let req = BillingKeyRequest {
                customer_id: missing,
                ..billing()
            };
            billing_fails(&req, &pc(), "customer_id", Rule::Required);
        }
        let fifty = BillingKeyRequest {
            customer_id: Some("c".repeat(50)),
            ..billing()
        };
        assert_eq!(validate_billing_key(&fifty, &pc()), Ok(()));
        let long = BillingKeyRequest {
            customer_id: Some("c".repeat(51)),
            ..billing()
        };
        billing_fails(&long, &pc(), "customer_id", Rule::MaxLength { max: 50 });
    }

    #[test]
    fn billing_keys_need_m_redirect_url_on_mobile() {
        billing_fails(&billing(), &mobile(), "m_redirect_url", Rule::RequiredOnMobile);
        let back = BillingKeyRequest {
            request: PaymentRequest {
                m_redirect_url: Some("https://shop.example/v1/subscribe".into()),
                ..billing().request
            },
            ..billing()
        };
        assert_eq!(validate_billing_key(&back, &mobile()), Ok(()));
    }

    #[test]
    fn the_checkout_language_picks_the_window_language() {
        assert_eq!(Language::of(crate::i18n::Lang::Ko), Language::Ko);
        assert_eq!(Language::of(crate::i18n::Lang::En), Language::En);
    }
}
