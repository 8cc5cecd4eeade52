//! Rules shared by every provider's model: the violation types, URL and
//! Korean-time checks, KRW minimums and TossPay's own rules (the same in
//! PortOne V2 and V1).

use std::fmt;

/// The kind of device the checkout runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Device {
    /// Desktop: the promise flow by default.
    #[default]
    Pc,
    /// Phone or tablet: the redirect flow is likely.
    Mobile,
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

/// Collects violations; a validator reports them all at once.
#[derive(Default)]
pub(crate) struct Collector(Vec<Violation>);

impl Collector {
    pub(crate) fn push(&mut self, field: &str, rule: Rule, message: String) {
        self.0.push(Violation {
            field: field.to_string(),
            rule,
            message: format!("`{field}` {message}"),
        });
    }

    pub(crate) fn required(&mut self, field: &str, value: Option<&str>) {
        if value.is_none_or(|v| v.trim().is_empty()) {
            self.push(field, Rule::Required, "is required and must not be empty".into());
        }
    }

    pub(crate) fn id(&mut self, field: &str, value: &str) {
        if value.is_empty() {
            return; // reported as Required
        }
        if !super::portone_v2::validate::is_valid_id(value) {
            let len = value.chars().count();
            self.push(
                field,
                Rule::IdFormat,
                format!("must be 1 to 64 visible ASCII characters (no spaces), got {len} character(s)"),
            );
        }
    }

    pub(crate) fn url(&mut self, field: &str, value: &str) {
        if !is_absolute_http_url(value) {
            self.push(
                field,
                Rule::AbsoluteHttpUrl,
                "must be an absolute http:// or https:// URL".into(),
            );
        }
    }

    pub(crate) fn finish(self) -> Result<(), Violations> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Violations(self.0))
        }
    }
}

/// A JSON value rendered for an error message, cut to 80 characters.
pub(crate) fn short_json(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        let mut t: String = s.chars().take(80).collect();
        t.push('…');
        t
    } else {
        s
    }
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

/// KRW minimum of a card payment.
pub const MIN_KRW_CARD: i64 = 100;
/// KRW minimum of a mobile-phone payment.
pub const MIN_KRW_MOBILE: i64 = 300;
/// KRW minimum of an account transfer.
pub const MIN_KRW_TRANSFER: i64 = 200;
/// KRW minimum of a virtual-account payment.
pub const MIN_KRW_VIRTUAL_ACCOUNT: i64 = 1;

/// TossPay's `cashReceiptTradeOption` values.
pub const TOSSPAY_TRADE_OPTIONS: &[&str] = &["GENERAL", "CULTURE", "PUBLIC_TP"];
/// How far ahead TossPay's `expiredTime` may be, in minutes.
pub const TOSSPAY_MAX_MINUTES: i64 = 60;
/// Longest TossPay `customerId` (billing keys).
pub const TOSSPAY_CUSTOMER_ID_MAX: usize = 50;

/// TossPay's `cashReceiptTradeOption` rule.
pub(crate) fn check_tosspay_trade_option(c: &mut Collector, field: &str, value: &str) {
    if !TOSSPAY_TRADE_OPTIONS.contains(&value) {
        c.push(
            field,
            Rule::OneOf {
                allowed: TOSSPAY_TRADE_OPTIONS,
            },
            format!("must be GENERAL, CULTURE or PUBLIC_TP, got {value}"),
        );
    }
}

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

/// TossPay's `expiredTime` rule (PortOne V2 and V1 alike): a real
/// `yyyy-MM-dd HH:mm:ss` Korean time, later than `now_ms` and at most 60
/// minutes ahead (time checks only when a clock is given).
pub(crate) fn check_tosspay_expired_time(c: &mut Collector, field: &str, value: &str, now_ms: Option<i64>) {
    let Some(at) = parse_kst_datetime(value) else {
        c.push(
            field,
            Rule::DateTimeFormat,
            format!("must be a real date-time written yyyy-MM-dd HH:mm:ss (Korean time), got {value:?}"),
        );
        return;
    };
    let Some(now_ms) = now_ms else { return };
    let now = now_ms.div_euclid(1000);
    if at <= now {
        c.push(field, Rule::InFuture, "must be later than now".into());
    } else if at - now > TOSSPAY_MAX_MINUTES * 60 {
        c.push(
            field,
            Rule::AtMostMinutesAhead {
                minutes: TOSSPAY_MAX_MINUTES,
            },
            format!("must be at most {TOSSPAY_MAX_MINUTES} minutes ahead of now"),
        );
    }
}
