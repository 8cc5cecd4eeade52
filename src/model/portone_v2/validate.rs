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
use std::fmt;

/// Which PG a channel belongs to, for PG-specific rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum PgProvider {
    /// Unknown or unspecified: only the generic rules apply.
    #[default]
    Generic,
    /// TossPay (`tosspay_v2`).
    TosspayV2,
    /// Another PG, by its PortOne identifier (generic rules apply).
    Other(String),
}

impl PgProvider {
    /// Reads PortOne's PG identifier (`tosspay_v2`, `nice_v2`, ...).
    pub fn from_id(id: &str) -> Self {
        match id.trim() {
            "" => Self::Generic,
            s if s.eq_ignore_ascii_case("tosspay_v2") => Self::TosspayV2,
            s => Self::Other(s.to_string()),
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

/// The kind of device the checkout runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Device {
    /// Desktop: the promise flow by default.
    #[default]
    Pc,
    /// Phone or tablet: the redirect flow is likely.
    Mobile,
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

/// A broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// The field must be present and non-empty.
    Required,
    /// Exactly one of `channelKey` and `channelGroupId` must be given.
    ExactlyOneChannel,
    /// 1 to 64 visible ASCII characters.
    IdFormat,
    /// The amount must be greater than zero.
    Positive,
    /// The amount must lie in `0..=totalAmount`.
    WithinTotal,
    /// The amount is below the method's minimum.
    MinimumAmount {
        /// The minimum, in KRW.
        minimum: i64,
    },
    /// Must be an absolute `http://` or `https://` URL.
    AbsoluteHttpUrl,
    /// The PG only supports this method.
    MethodForPg {
        /// The method the PG requires.
        expected: &'static str,
    },
    /// Must match `yyyy-MM-dd HH:mm:ss`.
    DateTimeFormat,
    /// Must be later than now.
    InFuture,
    /// Must be at most this many minutes ahead of now.
    AtMostMinutesAhead {
        /// The limit.
        minutes: i64,
    },
    /// Must be one of the listed values.
    OneOf {
        /// The allowed values.
        allowed: &'static [&'static str],
    },
    /// Must be at most this many characters long.
    MaxLength {
        /// The limit.
        max: usize,
    },
    /// Required on mobile devices for this PG.
    RequiredOnMobile,
}

/// One violation: the field (camelCase path) and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field, as a camelCase path (`bypass.tosspay_v2.expiredTime`).
    pub field: String,
    /// The rule.
    pub rule: Rule,
    /// A developer-facing sentence naming the field and the rule.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Every violation of a request (never empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Violations(pub Vec<Violation>);

impl Violations {
    /// Whether a violation names this field.
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|v| v.field == field)
    }

    /// The violations of one field.
    pub fn of<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a Violation> + 'a {
        self.0.iter().filter(move |v| v.field == field)
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} invalid field(s): ", self.0.len())?;
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Collector(Vec<Violation>);

impl Collector {
    fn push(&mut self, field: &str, rule: Rule, message: String) {
        self.0.push(Violation {
            field: field.to_string(),
            rule,
            message: format!("`{field}` {message}"),
        });
    }

    fn required(&mut self, field: &str, value: Option<&str>) {
        if value.is_none_or(|v| v.trim().is_empty()) {
            self.push(field, Rule::Required, "is required and must not be empty".into());
        }
    }

    fn id(&mut self, field: &str, value: &str) {
        if value.is_empty() {
            return; // reported as Required
        }
        if !is_valid_id(value) {
            let len = value.chars().count();
            self.push(
                field,
                Rule::IdFormat,
                format!("must be 1 to 64 visible ASCII characters (no spaces), got {len} character(s)"),
            );
        }
    }

    fn url(&mut self, field: &str, value: &str) {
        if !is_absolute_http_url(value) {
            self.push(
                field,
                Rule::AbsoluteHttpUrl,
                "must be an absolute http:// or https:// URL".into(),
            );
        }
    }

    fn finish(self) -> Result<(), Violations> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Violations(self.0))
        }
    }
}

/// The id rule of `paymentId` / `issueId`: 1 to 64 characters, each
/// visible ASCII (`!` to `~`).
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_graphic())
}

/// Whether `s` is an absolute `http(s)` URL with a host and no whitespace.
pub fn is_absolute_http_url(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &s[8..]
    } else if lower.starts_with("http://") {
        &s[7..]
    } else {
        return false;
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..host_end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    !host.is_empty() && !host.starts_with(':') && s.bytes().all(|b| b.is_ascii_graphic() || b >= 0x80)
}

/// The KRW minimum for a method, where PortOne's PGs set one.
pub fn minimum_krw(method: &PayMethod) -> Option<i64> {
    match method {
        PayMethod::Card => Some(100),
        PayMethod::Mobile => Some(300),
        PayMethod::Transfer => Some(200),
        PayMethod::VirtualAccount => Some(1),
        _ => None,
    }
}

const TRADE_OPTIONS: &[&str] = &["GENERAL", "CULTURE", "PUBLIC_TP"];
const TOSSPAY_MAX_MINUTES: i64 = 60;
const TOSSPAY_CUSTOMER_ID_MAX: usize = 50;

/// Parses `yyyy-MM-dd HH:mm:ss` as Korean time (UTC+9) into Unix seconds.
pub fn parse_kst_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d < 1 || d > days_in_month || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se - 9 * 3600)
}

/// Formats Unix seconds as `yyyy-MM-dd HH:mm:ss` in Korean time (UTC+9),
/// the inverse of [`parse_kst_datetime`].
pub fn format_kst_datetime(unix_secs: i64) -> String {
    let t = unix_secs + 9 * 3600;
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
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
                check_expired_time(&mut c, t, ctx.now_unix_ms);
            }
            if let Some(opt) = &bypass.cash_receipt_trade_option {
                if !TRADE_OPTIONS.contains(&opt.as_str()) {
                    c.push(
                        "bypass.tosspay_v2.cashReceiptTradeOption",
                        Rule::OneOf { allowed: TRADE_OPTIONS },
                        format!("must be GENERAL, CULTURE or PUBLIC_TP, got {opt}"),
                    );
                }
            }
        }
    }
    c.finish()
}

fn check_expired_time(c: &mut Collector, value: &str, now_ms: Option<i64>) {
    const FIELD: &str = "bypass.tosspay_v2.expiredTime";
    let Some(at) = parse_kst_datetime(value) else {
        c.push(
            FIELD,
            Rule::DateTimeFormat,
            format!("must be a real date-time written yyyy-MM-dd HH:mm:ss (Korean time), got {value:?}"),
        );
        return;
    };
    let Some(now_ms) = now_ms else { return };
    let now = now_ms.div_euclid(1000);
    if at <= now {
        c.push(FIELD, Rule::InFuture, "must be later than now".into());
    } else if at - now > TOSSPAY_MAX_MINUTES * 60 {
        c.push(
            FIELD,
            Rule::AtMostMinutesAhead {
                minutes: TOSSPAY_MAX_MINUTES,
            },
            format!("must be at most {TOSSPAY_MAX_MINUTES} minutes ahead of now"),
        );
    }
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
            Rule::OneOf { allowed: TRADE_OPTIONS },
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
        assert_eq!(PgProvider::from_id("TOSSPAY_V2"), PgProvider::TosspayV2);
        assert_eq!(PgProvider::from_id(""), PgProvider::Generic);
        assert_eq!(PgProvider::from_id("nice_v2").id(), "nice_v2");
    }
}
