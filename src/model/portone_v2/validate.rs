//! Validation before the SDK is called: every violation at once, each
//! naming the field and the rule.
//!
//! Which rules apply is decided by the channel's PG ([`PgProvider`]): the
//! merchant tells the component which PG a channel key belongs to; the
//! default is the generic rules only.
//!
//! Rules:
//! - required fields are non-empty (`storeId`, `paymentId`, `orderName`,
//!   `currency`, `payMethod`; `channelKey` for billing keys);
//! - exactly one of `channelKey` and `channelGroupId`;
//! - `paymentId` / `issueId`: 1 to 64 characters, each visible ASCII
//!   (`!` to `~`, no spaces or control characters). PortOne puts the id in
//!   REST paths and redirect queries; visible ASCII survives both (percent
//!   encoded where needed) and 64 fits every PG's order-number column we know;
//! - `totalAmount` > 0; `taxFreeAmount` and `vatAmount` in `0..=totalAmount`;
//! - KRW minimum amounts per method: card 100, mobile phone 300, transfer
//!   200, virtual account 1;
//! - `redirectUrl`, `confirmUrl` and each `noticeUrls` entry: absolute
//!   `http(s)` URLs;
//! - TossPay (`tosspay_v2`) payments: `payMethod` `EASY_PAY`;
//!   `bypass.tosspay_v2.expiredTime` is `yyyy-MM-dd HH:mm:ss` (Korean time,
//!   UTC+9), later than the supplied clock and at most 60 minutes ahead of it;
//!   `cashReceiptTradeOption` is `GENERAL`, `CULTURE` or `PUBLIC_TP`;
//! - TossPay billing keys: `billingKeyMethod` `EASY_PAY`,
//!   `customer.customerId` present and at most 50 characters, `redirectUrl`
//!   present when the device is mobile.

use super::billing::IssueBillingKeyRequest;
use super::enums::{BillingKeyMethod, Currency, PayMethod, WindowType};
use super::payment::PaymentRequest;
use crate::model::rules::{
    check_tosspay_expired_time, check_tosspay_trade_option, Collector, Device, Rule, Violations, MIN_KRW_CARD,
    MIN_KRW_MOBILE, MIN_KRW_TRANSFER, MIN_KRW_VIRTUAL_ACCOUNT, TOSSPAY_CUSTOMER_ID_MAX,
};

/// Which PG a channel belongs to, for PG-specific rules.
///
/// Read with [`PgProvider::parse`], which refuses names it does not know:
/// a typo must not silently turn TossPay's rules off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PgProvider {
    /// Unspecified: only the generic rules apply.
    #[default]
    Generic,
    /// TossPay (`tosspay_v2`).
    TosspayV2,
    /// Another PG, by its PortOne identifier (generic rules apply).
    Other(String),
}

/// PortOne V2's PG module identifiers (the keys of the browser SDK's
/// `bypass` object) that [`PgProvider::parse`] accepts.
pub const KNOWN_PG_IDS: &[&str] = &[
    "eximbay_v2",
    "hyphen",
    "inicis_jp",
    "inicis_v2",
    "kakaopay",
    "kcp_v2",
    "kpn",
    "ksnet",
    "naverpay",
    "nice_v2",
    "paypal_v2",
    "smartro_v2",
    "toss_brandpay",
    "tosspay_v2",
    "tosspayments",
    "welcome",
];

/// A PG name [`PgProvider::parse`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`pg` \"{0}\" is not a PortOne V2 PG identifier this checkout knows (e.g. tosspay_v2, nice_v2, kcp_v2, inicis_v2): \
     check the spelling of your channel's PG; use PgProvider::Other to skip PG-specific rules on purpose"
)]
pub struct UnknownPg(pub String);

impl PgProvider {
    /// Reads PortOne's PG identifier (`tosspay_v2`, `nice_v2`, ...; case
    /// and surrounding spaces ignored). Unknown names are refused.
    pub fn parse(id: &str) -> Result<Self, UnknownPg> {
        let id = id.trim().to_ascii_lowercase();
        match id.as_str() {
            "tosspay_v2" => Ok(Self::TosspayV2),
            known if KNOWN_PG_IDS.contains(&known) => Ok(Self::Other(id)),
            _ => Err(UnknownPg(id)),
        }
    }

    /// PortOne's identifier (`""` for generic).
    pub fn id(&self) -> &str {
        match self {
            Self::Generic => "",
            Self::TosspayV2 => "tosspay_v2",
            Self::Other(s) => s,
        }
    }
}

impl std::str::FromStr for PgProvider {
    type Err = UnknownPg;
    fn from_str(s: &str) -> Result<Self, UnknownPg> {
        Self::parse(s)
    }
}

/// What validation needs to know besides the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationContext {
    /// The channel's PG (default: generic rules only).
    pub pg: PgProvider,
    /// The device kind (default: PC).
    pub device: Device,
    /// The clock, in Unix milliseconds, for time rules (`expiredTime`).
    /// `None` (the default) checks the format only.
    pub now_unix_ms: Option<i64>,
}

/// The id rule of `paymentId` / `issueId` in SDK requests: 1 to 64
/// characters, each visible ASCII (`!` to `~`). (The checkout's own ids are
/// stricter: see [`crate::protocol::PaymentId`].)
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_graphic())
}

/// The KRW minimum for a method, where PortOne's PGs set one.
pub fn minimum_krw(method: &PayMethod) -> Option<i64> {
    match method {
        PayMethod::Card => Some(MIN_KRW_CARD),
        PayMethod::Mobile => Some(MIN_KRW_MOBILE),
        PayMethod::Transfer => Some(MIN_KRW_TRANSFER),
        PayMethod::VirtualAccount => Some(MIN_KRW_VIRTUAL_ACCOUNT),
        _ => None,
    }
}

/// Validates a payment request; `Err` lists every violation.
pub fn validate_payment(req: &PaymentRequest, ctx: &ValidationContext) -> Result<(), Violations> {
    let mut c = Collector::default();
    c.required("storeId", Some(&req.store_id));
    c.required("paymentId", Some(&req.payment_id));
    c.id("paymentId", &req.payment_id);
    c.required("orderName", Some(&req.order_name));
    c.required("currency", Some(req.currency.as_str()));
    c.required("payMethod", Some(req.pay_method.as_str()));

    let has = |o: &Option<String>| o.as_deref().is_some_and(|s| !s.trim().is_empty());
    if has(&req.channel_key) == has(&req.channel_group_id) {
        c.push(
            "channelKey",
            Rule::ExactlyOneChannel,
            "and `channelGroupId`: give exactly one of the two".into(),
        );
    }

    if req.total_amount <= 0 {
        c.push(
            "totalAmount",
            Rule::Positive,
            format!("must be greater than 0, got {}", req.total_amount),
        );
    }
    for (field, value) in [("taxFreeAmount", req.tax_free_amount), ("vatAmount", req.vat_amount)] {
        if let Some(v) = value {
            if v < 0 || v > req.total_amount {
                c.push(
                    field,
                    Rule::WithinTotal,
                    format!("must be between 0 and totalAmount ({}), got {v}", req.total_amount),
                );
            }
        }
    }
    if req.currency == Currency::Krw && req.total_amount > 0 {
        if let Some(min) = minimum_krw(&req.pay_method) {
            if req.total_amount < min {
                c.push(
                    "totalAmount",
                    Rule::MinimumAmount { minimum: min },
                    format!(
                        "must be at least {min} KRW for payMethod {}, got {}",
                        req.pay_method, req.total_amount
                    ),
                );
            }
        }
    }

    if let Some(u) = &req.redirect_url {
        c.url("redirectUrl", u);
    }
    if let Some(u) = &req.confirm_url {
        c.url("confirmUrl", u);
    }
    for (i, u) in req.notice_urls.iter().flatten().enumerate() {
        c.url(&format!("noticeUrls[{i}]"), u);
    }

    if ctx.pg == PgProvider::TosspayV2 {
        if req.pay_method != PayMethod::EasyPay {
            c.push(
                "payMethod",
                Rule::MethodForPg { expected: "EASY_PAY" },
                format!("must be EASY_PAY for TossPay (tosspay_v2), got {}", req.pay_method),
            );
        }
        if let Some(bypass) = req.tosspay_bypass() {
            if let Some(t) = &bypass.expired_time {
                check_tosspay_expired_time(&mut c, "bypass.tosspay_v2.expiredTime", t, ctx.now_unix_ms);
            }
            if let Some(opt) = &bypass.cash_receipt_trade_option {
                check_tosspay_trade_option(&mut c, "bypass.tosspay_v2.cashReceiptTradeOption", opt.as_str());
            }
        }
    }
    c.finish()
}

/// Validates a billing-key request; `Err` lists every violation.
pub fn validate_billing_key(req: &IssueBillingKeyRequest, ctx: &ValidationContext) -> Result<(), Violations> {
    let mut c = Collector::default();
    c.required("storeId", Some(&req.store_id));
    c.required("channelKey", req.channel_key.as_deref());
    c.required("billingKeyMethod", Some(req.billing_key_method.as_str()));
    if let Some(id) = &req.issue_id {
        c.id("issueId", id);
    }
    if let Some(a) = req.display_amount {
        if a < 0 {
            c.push(
                "displayAmount",
                Rule::Positive,
                format!("must not be negative, got {a}"),
            );
        }
    }
    if let Some(u) = &req.redirect_url {
        c.url("redirectUrl", u);
    }
    for (i, u) in req.notice_urls.iter().flatten().enumerate() {
        c.url(&format!("noticeUrls[{i}]"), u);
    }
    if ctx.pg == PgProvider::TosspayV2 {
        if req.billing_key_method != BillingKeyMethod::EasyPay {
            c.push(
                "billingKeyMethod",
                Rule::MethodForPg { expected: "EASY_PAY" },
                format!(
                    "must be EASY_PAY for TossPay (tosspay_v2), got {}",
                    req.billing_key_method
                ),
            );
        }
        let id = req.customer.as_ref().and_then(|cu| cu.customer_id.as_deref());
        match id {
            None | Some("") => c.push(
                "customer.customerId",
                Rule::Required,
                "is required for TossPay billing keys".into(),
            ),
            Some(id) if id.chars().count() > TOSSPAY_CUSTOMER_ID_MAX => c.push(
                "customer.customerId",
                Rule::MaxLength {
                    max: TOSSPAY_CUSTOMER_ID_MAX,
                },
                format!(
                    "must be at most {TOSSPAY_CUSTOMER_ID_MAX} characters for TossPay, got {}",
                    id.chars().count()
                ),
            ),
            Some(_) => {}
        }
        let redirects = ctx.device == Device::Mobile
            && req
                .window_type
                .as_ref()
                .and_then(|w| w.mobile.as_ref())
                .is_none_or(|w| *w == WindowType::Redirection);
        if redirects && req.redirect_url.as_deref().is_none_or(str::is_empty) {
            c.push(
                "redirectUrl",
                Rule::RequiredOnMobile,
                "is required on mobile for TossPay billing keys (the window returns by redirect)".into(),
            );
        }
    }
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::super::enums::CashReceiptTradeOption;
    use super::super::payment::{Customer, PaymentBypass, TosspayV2PaymentBypass};
    use super::*;
    use crate::model::rules::{format_kst_datetime, parse_kst_datetime, Device};

    /// 2026-11-22 12:00:00 KST in Unix milliseconds.
    const NOW_MS: i64 = 1_795_316_400_000;

    fn base() -> PaymentRequest {
        PaymentRequest {
            channel_key: Some("channel-key-1".into()),
            ..PaymentRequest::new("store-1", "order-1", "주문", 1000, Currency::Krw, PayMethod::EasyPay)
        }
    }

    fn toss() -> ValidationContext {
        ValidationContext {
            pg: PgProvider::TosspayV2,
            device: Device::Pc,
            now_unix_ms: Some(NOW_MS),
        }
    }

    fn generic() -> ValidationContext {
        ValidationContext::default()
    }

    fn with_expiry(t: &str) -> PaymentRequest {
        PaymentRequest {
            bypass: Some(PaymentBypass {
                tosspay_v2: Some(TosspayV2PaymentBypass {
                    expired_time: Some(t.into()),
                    cash_receipt_trade_option: None,
                }),
                other: Default::default(),
            }),
            ..base()
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
        assert!(v
            .of(field)
            .all(|x| x.message.contains(field.split('[').next().unwrap_or(field))));
    }

    #[test]
    fn the_clock_constant_is_noon_in_seoul() {
        assert_eq!(parse_kst_datetime("2026-11-22 12:00:00"), Some(NOW_MS / 1000));
    }

    #[test]
    fn a_complete_request_passes_generic_and_tosspay_rules() {
        assert_eq!(validate_payment(&base(), &generic()), Ok(()));
        assert_eq!(validate_payment(&base(), &toss()), Ok(()));
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let req = PaymentRequest {
            channel_key: None,
            ..PaymentRequest::new("", "", "", 0, Currency::Other(String::new()), PayMethod::Card)
        };
        let Err(v) = validate_payment(&req, &generic()) else {
            panic!("an empty request must fail");
        };
        for f in [
            "storeId",
            "paymentId",
            "orderName",
            "currency",
            "channelKey",
            "totalAmount",
        ] {
            assert!(v.has(f), "missing violation for {f}: {v}");
        }
        assert!(v.to_string().starts_with("6 invalid field(s)"), "{v}");
    }

    #[test]
    fn required_fields_must_be_non_empty() {
        for (field, req) in [
            (
                "storeId",
                PaymentRequest {
                    store_id: " ".into(),
                    ..base()
                },
            ),
            (
                "orderName",
                PaymentRequest {
                    order_name: "".into(),
                    ..base()
                },
            ),
            (
                "paymentId",
                PaymentRequest {
                    payment_id: "".into(),
                    ..base()
                },
            ),
            (
                "payMethod",
                PaymentRequest {
                    pay_method: PayMethod::Other("".into()),
                    ..base()
                },
            ),
        ] {
            fails(&req, &generic(), field, Rule::Required);
        }
    }

    #[test]
    fn exactly_one_of_channel_key_and_group_id() {
        let neither = PaymentRequest {
            channel_key: None,
            ..base()
        };
        fails(&neither, &generic(), "channelKey", Rule::ExactlyOneChannel);
        let both = PaymentRequest {
            channel_group_id: Some("g".into()),
            ..base()
        };
        fails(&both, &generic(), "channelKey", Rule::ExactlyOneChannel);
        let group = PaymentRequest {
            channel_key: None,
            channel_group_id: Some("g".into()),
            ..base()
        };
        assert_eq!(validate_payment(&group, &generic()), Ok(()));
    }

    #[test]
    fn payment_id_is_visible_ascii_up_to_64_characters() {
        let ok = PaymentRequest {
            payment_id: "a".repeat(64),
            ..base()
        };
        assert_eq!(validate_payment(&ok, &generic()), Ok(()));
        for bad in ["a".repeat(65), "order 1".into(), "주문-1".into(), "tab\t".into()] {
            fails(
                &PaymentRequest {
                    payment_id: bad,
                    ..base()
                },
                &generic(),
                "paymentId",
                Rule::IdFormat,
            );
        }
    }

    #[test]
    fn amounts_are_positive_and_parts_lie_within_the_total() {
        fails(
            &PaymentRequest {
                total_amount: -5,
                ..base()
            },
            &generic(),
            "totalAmount",
            Rule::Positive,
        );
        let ok = PaymentRequest {
            tax_free_amount: Some(1000),
            vat_amount: Some(0),
            ..base()
        };
        assert_eq!(validate_payment(&ok, &generic()), Ok(()));
        fails(
            &PaymentRequest {
                tax_free_amount: Some(1001),
                ..base()
            },
            &generic(),
            "taxFreeAmount",
            Rule::WithinTotal,
        );
        fails(
            &PaymentRequest {
                vat_amount: Some(-1),
                ..base()
            },
            &generic(),
            "vatAmount",
            Rule::WithinTotal,
        );
    }

    #[test]
    fn krw_minimums_apply_per_method() {
        for (method, min) in [
            (PayMethod::Card, 100),
            (PayMethod::Mobile, 300),
            (PayMethod::Transfer, 200),
            (PayMethod::VirtualAccount, 1),
        ] {
            let at = PaymentRequest {
                pay_method: method.clone(),
                total_amount: min,
                ..base()
            };
            assert_eq!(validate_payment(&at, &generic()), Ok(()), "{method} at {min}");
            if min > 1 {
                let below = PaymentRequest {
                    pay_method: method,
                    total_amount: min - 1,
                    ..base()
                };
                fails(&below, &generic(), "totalAmount", Rule::MinimumAmount { minimum: min });
            }
        }
        let usd = PaymentRequest {
            pay_method: PayMethod::Card,
            total_amount: 50,
            currency: Currency::Usd,
            ..base()
        };
        assert_eq!(validate_payment(&usd, &generic()), Ok(()));
    }

    #[test]
    fn urls_must_be_absolute_http() {
        let ok = PaymentRequest {
            redirect_url: Some("https://shop.example/checkout?x=1".into()),
            notice_urls: Some(vec!["http://127.0.0.1:8080/hook".into()]),
            confirm_url: Some("https://shop.example/confirm".into()),
            ..base()
        };
        assert_eq!(validate_payment(&ok, &generic()), Ok(()));
        for bad in [
            "/relative",
            "javascript:alert(1)",
            "ftp://x",
            "https://",
            "https://a b",
            "http://:80/",
        ] {
            fails(
                &PaymentRequest {
                    redirect_url: Some(bad.into()),
                    ..base()
                },
                &generic(),
                "redirectUrl",
                Rule::AbsoluteHttpUrl,
            );
        }
        fails(
            &PaymentRequest {
                notice_urls: Some(vec!["https://ok.example".into(), "nope".into()]),
                ..base()
            },
            &generic(),
            "noticeUrls[1]",
            Rule::AbsoluteHttpUrl,
        );
        fails(
            &PaymentRequest {
                confirm_url: Some("x".into()),
                ..base()
            },
            &generic(),
            "confirmUrl",
            Rule::AbsoluteHttpUrl,
        );
    }

    #[test]
    fn tosspay_requires_easy_pay_but_generic_rules_do_not() {
        let card = PaymentRequest {
            pay_method: PayMethod::Card,
            ..base()
        };
        assert_eq!(validate_payment(&card, &generic()), Ok(()));
        fails(&card, &toss(), "payMethod", Rule::MethodForPg { expected: "EASY_PAY" });
    }

    #[test]
    fn tosspay_expired_time_must_be_well_formed_future_and_within_an_hour() {
        assert_eq!(validate_payment(&with_expiry("2026-11-22 12:15:00"), &toss()), Ok(()));
        assert_eq!(validate_payment(&with_expiry("2026-11-22 13:00:00"), &toss()), Ok(()));
        let f = "bypass.tosspay_v2.expiredTime";
        for bad in [
            "2026-11-22T12:15:00",
            "2026-02-30 12:00:00",
            "2026-11-22 24:00:00",
            "22-11-2026 12:00:00",
            "",
        ] {
            fails(&with_expiry(bad), &toss(), f, Rule::DateTimeFormat);
        }
        fails(&with_expiry("2026-11-22 12:00:00"), &toss(), f, Rule::InFuture);
        fails(
            &with_expiry("2026-11-22 13:00:01"),
            &toss(),
            f,
            Rule::AtMostMinutesAhead { minutes: 60 },
        );
        // Without a clock only the format is checked.
        let no_clock = ValidationContext {
            now_unix_ms: None,
            ..toss()
        };
        assert_eq!(validate_payment(&with_expiry("2020-01-01 00:00:00"), &no_clock), Ok(()));
    }

    #[test]
    fn tosspay_cash_receipt_trade_option_is_one_of_three() {
        let with = |o: CashReceiptTradeOption| PaymentRequest {
            bypass: Some(PaymentBypass {
                tosspay_v2: Some(TosspayV2PaymentBypass {
                    expired_time: None,
                    cash_receipt_trade_option: Some(o),
                }),
                other: Default::default(),
            }),
            ..base()
        };
        for ok in ["GENERAL", "CULTURE", "PUBLIC_TP"] {
            assert_eq!(validate_payment(&with(ok.into()), &toss()), Ok(()));
        }
        fails(
            &with("SPECIAL".into()),
            &toss(),
            "bypass.tosspay_v2.cashReceiptTradeOption",
            Rule::OneOf {
                allowed: crate::model::rules::TOSSPAY_TRADE_OPTIONS,
            },
        );
    }

    fn billing() -> IssueBillingKeyRequest {
        IssueBillingKeyRequest {
            customer: Some(Customer {
                customer_id: Some("customer-1".into()),
                ..Default::default()
            }),
            issue_id: Some("issue-1".into()),
            ..IssueBillingKeyRequest::new("store-1", "channel-key-1", BillingKeyMethod::EasyPay)
        }
    }

    fn billing_fails(req: &IssueBillingKeyRequest, ctx: &ValidationContext, field: &str, rule: Rule) {
        let Err(v) = validate_billing_key(req, ctx) else {
            panic!("expected `{field}` to break {rule:?}");
        };
        assert!(v.of(field).any(|x| x.rule == rule), "{v}");
    }

    #[test]
    fn a_complete_billing_request_passes() {
        assert_eq!(validate_billing_key(&billing(), &toss()), Ok(()));
        assert_eq!(validate_billing_key(&billing(), &generic()), Ok(()));
    }

    #[test]
    fn billing_requires_store_and_channel_key() {
        let req = IssueBillingKeyRequest {
            store_id: "".into(),
            channel_key: None,
            ..billing()
        };
        billing_fails(&req, &generic(), "storeId", Rule::Required);
        billing_fails(&req, &generic(), "channelKey", Rule::Required);
        let bad_id = IssueBillingKeyRequest {
            issue_id: Some("a b".into()),
            ..billing()
        };
        billing_fails(&bad_id, &generic(), "issueId", Rule::IdFormat);
        let neg = IssueBillingKeyRequest {
            display_amount: Some(-1),
            ..billing()
        };
        billing_fails(&neg, &generic(), "displayAmount", Rule::Positive);
        let url = IssueBillingKeyRequest {
            redirect_url: Some("/back".into()),
            ..billing()
        };
        billing_fails(&url, &generic(), "redirectUrl", Rule::AbsoluteHttpUrl);
    }

    #[test]
    fn tosspay_billing_keys_need_easy_pay_and_a_short_customer_id() {
        let card = IssueBillingKeyRequest {
            billing_key_method: BillingKeyMethod::Card,
            ..billing()
        };
        billing_fails(
            &card,
            &toss(),
            "billingKeyMethod",
            Rule::MethodForPg { expected: "EASY_PAY" },
        );
        assert_eq!(validate_billing_key(&card, &generic()), Ok(()));
        let none = IssueBillingKeyRequest {
            customer: None,
            ..billing()
        };
        billing_fails(&none, &toss(), "customer.customerId", Rule::Required);
        let long = IssueBillingKeyRequest {
            customer: Some(Customer {
                customer_id: Some("c".repeat(51)),
                ..Default::default()
            }),
            ..billing()
        };
        billing_fails(&long, &toss(), "customer.customerId", Rule::MaxLength { max: 50 });
        let fifty = IssueBillingKeyRequest {
            customer: Some(Customer {
                customer_id: Some("c".repeat(50)),
                ..Default::default()
            }),
            ..billing()
        };
        assert_eq!(validate_billing_key(&fifty, &toss()), Ok(()));
    }

    #[test]
    fn tosspay_billing_keys_need_a_redirect_url_on_mobile_only() {
        let mobile = ValidationContext {
            device: Device::Mobile,
            ..toss()
        };
        billing_fails(&billing(), &mobile, "redirectUrl", Rule::RequiredOnMobile);
        let with_url = IssueBillingKeyRequest {
            redirect_url: Some("https://shop.example/billing".into()),
            ..billing()
        };
        assert_eq!(validate_billing_key(&with_url, &mobile), Ok(()));
        assert_eq!(validate_billing_key(&billing(), &toss()), Ok(()));
    }

    #[test]
    fn kst_parsing_handles_leap_years_and_rejects_nonsense() {
        assert!(parse_kst_datetime("2024-02-29 00:00:00").is_some());
        assert!(parse_kst_datetime("2026-02-29 00:00:00").is_none());
        assert!(parse_kst_datetime("2026-13-01 00:00:00").is_none());
        assert!(parse_kst_datetime("+026-01-01 00:00:00").is_none());
        assert!(parse_kst_datetime("２０２６-01-01 00:00:00").is_none());
        assert_eq!(parse_kst_datetime("1970-01-01 09:00:00"), Some(0));
    }

    #[test]
    fn kst_formatting_is_the_inverse_of_parsing() {
        for t in [0, NOW_MS / 1000, 951_782_400, 4_102_444_799] {
            let text = format_kst_datetime(t);
            assert_eq!(parse_kst_datetime(&text), Some(t), "{text}");
        }
        assert_eq!(format_kst_datetime(NOW_MS / 1000 + 15 * 60), "2026-11-22 12:15:00");
    }

    #[test]
    fn pg_ids_are_read_case_insensitively() {
        assert_eq!(PgProvider::parse(" TOSSPAY_V2 "), Ok(PgProvider::TosspayV2));
        assert_eq!(
            PgProvider::parse("nice_v2").map(|p| p.id().to_owned()),
            Ok("nice_v2".into())
        );
    }

    #[test]
    fn a_misspelt_pg_is_refused_with_a_message_that_says_what_to_check() {
        for typo in ["tosspay-v2", "toss_pay_v2", "tosspay", ""] {
            let err = PgProvider::parse(typo).expect_err(typo);
            let text = err.to_string();
            assert!(text.contains("`pg`") && text.contains("tosspay_v2"), "{text}");
        }
    }
}
