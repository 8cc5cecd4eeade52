//! Validation before the SDK is called: every violation at once, each
//! naming the field and the rule.
//!
//! Rules (`requestPayment`):
//! - `amount.currency` is `KRW` (Toss Payments takes won only; a foreign
//!   card is charged in won too); `amount.value` > 0 and at least the
//!   method's minimum (card 100, mobile phone 300, transfer 200, virtual
//!   account 1); `taxFreeAmount` in `0..=amount.value`;
//! - `orderId`: 6 to 64 characters of `A-Z a-z 0-9 - _ =`;
//! - `orderName`: 1 to 100 characters;
//! - `successUrl` and `failUrl`: both or neither, absolute `http(s)` URLs;
//!   required on a phone (the promise form is PC only), with
//!   `windowTarget: "self"` and with `FOREIGN_EASY_PAY`;
//! - `windowTarget: "iframe"` only on PC;
//! - `customerKey`: `ANONYMOUS`, or 2 to 50 characters of
//!   `A-Z a-z 0-9 - _ = . @` and never a secret key;
//! - `customerEmail` and `customerName` at most 100 characters,
//!   `customerMobilePhone` 8 to 15 digits;
//! - `metadata`: at most 5 entries, keys at most 40 and values at most 500
//!   characters;
//! - `card`, `transfer`, `virtualAccount` only with their method;
//!   `virtualAccount.validHours` 1 to 720; installment plans 2 to 12.
//!
//! `requestBillingAuth`: a real `customerKey` (not `ANONYMOUS`), both URLs
//! absolute `http(s)`. The gateway's client key is checked too: a secret
//! key (`test_sk_`/`live_sk_`) never goes to the browser's SDK.

use super::billing::BillingAuthRequest;
use super::payment::{CustomerKey, Method, PaymentRequest, WindowTarget};
use crate::model::rules::{Collector, Device, Rule, Violations};

/// What validation needs to know besides the request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValidationContext {
    /// The device kind (default: PC).
    pub device: Device,
}

/// Longest `orderName`.
pub const ORDER_NAME_MAX: usize = 100;
/// Longest `customerEmail` and `customerName`.
pub const CUSTOMER_FIELD_MAX: usize = 100;
/// Most `metadata` entries.
pub const METADATA_MAX_ENTRIES: usize = 5;
/// Longest `metadata` key.
pub const METADATA_KEY_MAX: usize = 40;
/// Longest `metadata` value.
pub const METADATA_VALUE_MAX: usize = 500;
/// Longest `virtualAccount.validHours`.
pub const VALID_HOURS_MAX: u32 = 720;

const ORDER_ID_RULE: &str = "6 to 64 characters of A-Z, a-z, 0-9, '-', '_' and '='";
const CUSTOMER_KEY_RULE: &str =
    "TossPayments.ANONYMOUS or 2 to 50 characters of A-Z, a-z, 0-9, '-', '_', '=', '.' and '@', never a secret key";
const CLIENT_KEY_RULE: &str = "a client key (test_ck_... or live_ck_...), never a secret key (the `_sk_` kind), which \
                               must stay on the server";

/// Whether `s` is a Toss `orderId`: 6 to 64 characters of `A-Z a-z 0-9 - _ =`.
pub fn is_order_id(s: &str) -> bool {
    (6..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='))
}

/// Whether `s` is a `customerKey`: 2 to 50 characters of `A-Z a-z 0-9 - _ = . @`.
pub fn is_customer_key(s: &str) -> bool {
    (2..=50).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'=' | b'.' | b'@'))
}

/// Whether `s` looks like a Toss secret key (`test_` or `live_`, then
/// `sk_` or `gsk_`).
///
/// Compared byte by byte, so the browser bundle never holds a secret-key
/// prefix as text: the build's leak check (`cargo xtask test`) fails on one.
pub fn is_secret_key(s: &str) -> bool {
    let b = s.trim().as_bytes();
    let Some((mode, rest)) = b.split_at_checked(5) else {
        return false;
    };
    (mode == b"test_" || mode == b"live_") && (rest.starts_with(b"sk_") || rest.starts_with(b"gsk_"))
}

fn customer_key(c: &mut Collector, key: &CustomerKey, allow_anonymous: bool) {
    match key {
        CustomerKey::Anonymous if allow_anonymous => {}
        CustomerKey::Anonymous => c.push(
            "customerKey",
            Rule::Required,
            "must be the customer's own key: a billing authorisation cannot be anonymous".into(),
        ),
        CustomerKey::Key(k) if is_customer_key(k) && !is_secret_key(k) => {}
        CustomerKey::Key(k) => c.push(
            "customerKey",
            Rule::Format {
                expected: CUSTOMER_KEY_RULE,
            },
            format!("must be {CUSTOMER_KEY_RULE} (got {} character(s))", k.chars().count()),
        ),
    }
}

fn url_pair(c: &mut Collector, success: Option<&str>, fail: Option<&str>) {
    for (field, value) in [("successUrl", success), ("failUrl", fail)] {
        if let Some(v) = value {
            c.url(field, v);
        }
    }
    match (success, fail) {
        (Some(_), None) => c.push(
            "failUrl",
            Rule::Together { with: "successUrl" },
            "must be given with successUrl (both for the redirect form, neither for the promise form)".into(),
        ),
        (None, Some(_)) => c.push(
            "successUrl",
            Rule::Together { with: "failUrl" },
            "must be given with failUrl (both for the redirect form, neither for the promise form)".into(),
        ),
        _ => {}
    }
}

fn max_chars(c: &mut Collector, field: &str, value: Option<&str>, max: usize) {
    if let Some(v) = value {
        let n = v.chars().count();
        if n > max {
            c.push(
                field,
                Rule::MaxLength { max },
                format!("must be at most {max} characters, got {n}"),
            );
        }
    }
}

fn other_method(c: &mut Collector, field: &str, given: bool, method: Method, owner: Method) {
    if given && method != owner {
        c.push(
            field,
            Rule::OtherMethod { method: owner.as_str() },
            format!(
                "applies only to method {}, but the method is {}",
                owner.as_str(),
                method.as_str()
            ),
        );
    }
}

/// Checks the gateway's client key: present, and never a secret key.
pub fn validate_client_key(client_key: &str) -> Result<(), Violations> {
    let mut c = Collector::default();
    c.required("clientKey", Some(client_key));
    if is_secret_key(client_key) {
        c.push(
            "clientKey",
            Rule::Format {
                expected: CLIENT_KEY_RULE,
            },
            format!("must be {CLIENT_KEY_RULE}"),
        );
    }
    c.finish()
}

/// Checks a `requestPayment` argument and its `customerKey`, reporting
/// every violation.
pub fn validate_payment(
    req: &PaymentRequest,
    customer: &CustomerKey,
    ctx: &ValidationContext,
) -> Result<(), Violations> {
    let mut c = Collector::default();
    let value = req.amount.value;
    if req.amount.currency != "KRW" {
        c.push(
            "amount.currency",
            Rule::OneOf { allowed: &["KRW"] },
            format!(
                "must be KRW: Toss Payments charges in won only, got {:?}",
                req.amount.currency
            ),
        );
    }
    if value <= 0 {
        c.push(
            "amount.value",
            Rule::Positive,
            format!("must be greater than 0, got {value}"),
        );
    } else if let Some(minimum) = req.method.minimum_krw().filter(|m| value < *m) {
        c.push(
            "amount.value",
            Rule::MinimumAmount { minimum },
            format!(
                "must be at least {minimum} KRW for method {}, got {value}",
                req.method.as_str()
            ),
        );
    }
    if let Some(t) = req.tax_free_amount {
        if !(0..=value.max(0)).contains(&t) {
            c.push(
                "taxFreeAmount",
                Rule::WithinTotal,
                format!("must be between 0 and amount.value ({value}), got {t}"),
            );
        }
    }
    if req.order_id.is_empty() {
        c.required("orderId", None);
    } else if !is_order_id(&req.order_id) {
        c.push(
            "orderId",
            Rule::Format {
                expected: ORDER_ID_RULE,
            },
            format!(
                "must be {ORDER_ID_RULE}, got {} character(s)",
                req.order_id.chars().count()
            ),
        );
    }
    c.required("orderName", Some(&req.order_name));
    max_chars(&mut c, "orderName", Some(&req.order_name), ORDER_NAME_MAX);
    url_pair(&mut c, req.success_url.as_deref(), req.fail_url.as_deref());
    if !req.is_redirect() {
        let why = if ctx.device == Device::Mobile {
            Some("on a phone (Toss supports the promise form on PC only)")
        } else if req.window_target == Some(WindowTarget::SelfPage) {
            Some("with windowTarget \"self\"")
        } else if req.method == Method::ForeignEasyPay {
            Some("for FOREIGN_EASY_PAY")
        } else {
            None
        };
        if let Some(why) = why {
            c.push(
                "successUrl",
                Rule::RequiredOnMobile,
                format!("is required {why}: give successUrl and failUrl (the redirect form)"),
            );
        }
    }
    if ctx.device == Device::Mobile && req.window_target == Some(WindowTarget::Iframe) {
        c.push(
            "windowTarget",
            Rule::OneOf { allowed: &["self"] },
            "must be \"self\" (or left out) on a phone: the iframe window is PC only".into(),
        );
    }
    customer_key(&mut c, customer, true);
    max_chars(
        &mut c,
        "customerEmail",
        req.customer_email.as_deref(),
        CUSTOMER_FIELD_MAX,
    );
    max_chars(&mut c, "customerName", req.customer_name.as_deref(), CUSTOMER_FIELD_MAX);
    if let Some(phone) = &req.customer_mobile_phone {
        if !(8..=15).contains(&phone.len()) || !phone.bytes().all(|b| b.is_ascii_digit()) {
            c.push(
                "customerMobilePhone",
                Rule::Format {
                    expected: "8 to 15 digits, no '-'",
                },
                "must be 8 to 15 digits, no '-' or spaces".into(),
            );
        }
    }
    if let Some(meta) = &req.metadata {
        if meta.len() > METADATA_MAX_ENTRIES {
            c.push(
                "metadata",
                Rule::MaxItems {
                    max: METADATA_MAX_ENTRIES,
                },
                format!("must hold at most {METADATA_MAX_ENTRIES} entries, got {}", meta.len()),
            );
        }
        for (k, v) in meta {
            max_chars(&mut c, &format!("metadata.{k}"), Some(k), METADATA_KEY_MAX);
            max_chars(&mut c, &format!("metadata.{k}"), Some(v), METADATA_VALUE_MAX);
        }
    }
    other_method(&mut c, "card", req.card.is_some(), req.method, Method::Card);
    other_method(&mut c, "transfer", req.transfer.is_some(), req.method, Method::Transfer);
    other_method(
        &mut c,
        "virtualAccount",
        req.virtual_account.is_some(),
        req.method,
        Method::VirtualAccount,
    );
    if let Some(card) = &req.card {
        for (field, plan) in [
            ("card.cardInstallmentPlan", card.card_installment_plan),
            ("card.maxCardInstallmentPlan", card.max_card_installment_plan),
        ] {
            if plan.is_some_and(|p| !(2..=12).contains(&p)) {
                c.push(
                    field,
                    Rule::Format {
                        expected: "2 to 12 months",
                    },
                    "must be 2 to 12 months (leave it out for a single payment)".into(),
                );
            }
        }
    }
    if let Some(h) = req.virtual_account.as_ref().and_then(|v| v.valid_hours) {
        if !(1..=VALID_HOURS_MAX).contains(&h) {
            c.push(
                "virtualAccount.validHours",
                Rule::Format {
                    expected: "1 to 720 hours",
                },
                format!("must be 1 to {VALID_HOURS_MAX} hours, got {h}"),
            );
        }
    }
    c.finish()
}

/// Checks a `requestBillingAuth` argument and its `customerKey`.
pub fn validate_billing_auth(req: &BillingAuthRequest, customer: &CustomerKey) -> Result<(), Violations> {
    let mut c = Collector::default();
    c.required("successUrl", Some(&req.success_url));
    c.required("failUrl", Some(&req.fail_url));
    if !req.success_url.trim().is_empty() {
        c.url("successUrl", &req.success_url);
    }
    if !req.fail_url.trim().is_empty() {
        c.url("failUrl", &req.fail_url);
    }
    customer_key(&mut c, customer, false);
    max_chars(
        &mut c,
        "customerEmail",
        req.customer_email.as_deref(),
        CUSTOMER_FIELD_MAX,
    );
    max_chars(&mut c, "customerName", req.customer_name.as_deref(), CUSTOMER_FIELD_MAX);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::toss::{Amount, BillingMethod, CardOptions, VirtualAccountOptions};

    fn pc() -> ValidationContext {
        ValidationContext { device: Device::Pc }
    }

    fn phone() -> ValidationContext {
        ValidationContext { device: Device::Mobile }
    }

    fn key() -> CustomerKey {
        CustomerKey::Key("demo-customer-1".into())
    }

    fn card(value: i64) -> PaymentRequest {
        PaymentRequest::new(Method::Card, Amount::krw(value), "order-123456", "아메리카노")
    }

    fn redirect(mut r: PaymentRequest) -> PaymentRequest {
        r.success_url = Some("https://shop.example/toss/?tossReturn=payment".into());
        r.fail_url = Some("https://shop.example/toss/?tossReturn=payment".into());
        r
    }

    #[test]
    fn a_card_payment_in_won_on_pc_passes_as_a_promise() {
        assert_eq!(validate_payment(&card(4500), &key(), &pc()), Ok(()));
        assert_eq!(validate_payment(&card(4500), &CustomerKey::Anonymous, &pc()), Ok(()));
    }

    #[test]
    fn every_violation_is_reported_at_once_naming_its_field() {
        let mut r = PaymentRequest::new(Method::Card, Amount::krw(0), "a/b", "");
        r.amount.currency = "USD".into();
        r.tax_free_amount = Some(-1);
        r.success_url = Some("/relative".into());
        r.customer_mobile_phone = Some("010-1234-5678".into());
        let v = validate_payment(&r, &CustomerKey::Key("x".into()), &pc()).expect_err("invalid");
        for field in [
            "amount.currency",
            "amount.value",
            "taxFreeAmount",
            "orderId",
            "orderName",
            "successUrl",
            "failUrl",
            "customerKey",
            "customerMobilePhone",
        ] {
            assert!(v.has(field), "{field} missing from {v}");
        }
        assert!(
            v.0.iter().all(|x| x.message.starts_with(&format!("`{}`", x.field))),
            "{v}"
        );
    }

    #[test]
    fn each_method_has_its_krw_minimum() {
        for (method, minimum) in [
            (Method::Card, 100),
            (Method::MobilePhone, 300),
            (Method::Transfer, 200),
            (Method::VirtualAccount, 1),
        ] {
            let below = PaymentRequest::new(method, Amount::krw(minimum - 1), "order-123456", "x");
            let at = PaymentRequest::new(method, Amount::krw(minimum), "order-123456", "x");
            if minimum > 1 {
                let v = validate_payment(&below, &key(), &pc()).expect_err("below the minimum");
                assert!(
                    v.of("amount.value").any(|x| x.rule == Rule::MinimumAmount { minimum }),
                    "{method:?}: {v}"
                );
            }
            assert_eq!(validate_payment(&at, &key(), &pc()), Ok(()), "{method:?}");
        }
    }

    #[test]
    fn order_ids_follow_tosss_rule() {
        assert!(is_order_id("order-0123456789abcdef"));
        assert!(is_order_id("a_b=c-d"));
        assert!(!is_order_id("short"));
        assert!(!is_order_id(&"a".repeat(65)));
        assert!(!is_order_id("order.123456"));
        assert!(!is_order_id("주문-123456"));
        let mut r = card(4500);
        r.order_id = "order 1234".into();
        assert!(validate_payment(&r, &key(), &pc()).expect_err("space").has("orderId"));
    }

    #[test]
    fn an_order_name_longer_than_100_characters_is_refused() {
        let mut r = card(4500);
        r.order_name = "가".repeat(101);
        let v = validate_payment(&r, &key(), &pc()).expect_err("too long");
        assert!(v.of("orderName").any(|x| x.rule == Rule::MaxLength { max: 100 }), "{v}");
        r.order_name = "가".repeat(100);
        assert_eq!(validate_payment(&r, &key(), &pc()), Ok(()));
    }

    #[test]
    fn the_promise_form_is_refused_on_a_phone_and_the_redirect_form_passes() {
        let v = validate_payment(&card(4500), &key(), &phone()).expect_err("promise on a phone");
        assert!(v.has("successUrl"), "{v}");
        assert_eq!(validate_payment(&redirect(card(4500)), &key(), &phone()), Ok(()));
        let mut iframe = redirect(card(4500));
        iframe.window_target = Some(WindowTarget::Iframe);
        assert!(validate_payment(&iframe, &key(), &phone())
            .expect_err("iframe on a phone")
            .has("windowTarget"));
        assert_eq!(validate_payment(&iframe, &key(), &pc()), Ok(()));
        let mut self_page = card(4500);
        self_page.window_target = Some(WindowTarget::SelfPage);
        assert!(validate_payment(&self_page, &key(), &pc())
            .expect_err("self without URLs")
            .has("successUrl"));
    }

    #[test]
    fn urls_must_be_absolute_and_come_in_pairs() {
        let mut r = card(4500);
        r.success_url = Some("https://shop.example/ok".into());
        let v = validate_payment(&r, &key(), &pc()).expect_err("fail URL missing");
        assert!(
            v.of("failUrl").any(|x| x.rule == Rule::Together { with: "successUrl" }),
            "{v}"
        );
        r.fail_url = Some("javascript:alert(1)".into());
        let v = validate_payment(&r, &key(), &pc()).expect_err("not http");
        assert!(v.of("failUrl").any(|x| x.rule == Rule::AbsoluteHttpUrl), "{v}");
    }

    #[test]
    fn a_secret_key_is_never_a_customer_key_nor_a_client_key() {
        let v = validate_payment(
            &card(4500),
            &CustomerKey::Key("test_sk_sandboxTossPaymentsSecretKey".into()),
            &pc(),
        )
        .expect_err("secret key");
        assert!(v.has("customerKey"), "{v}");
        assert_eq!(validate_client_key("test_ck_sandboxTossPaymentsClientKey"), Ok(()));
        assert!(validate_client_key("test_sk_abc").expect_err("secret").has("clientKey"));
        assert!(validate_client_key("live_sk_abc").expect_err("secret").has("clientKey"));
        assert!(validate_client_key(" ").expect_err("empty").has("clientKey"));
    }

    #[test]
    fn per_method_options_belong_to_their_method() {
        let mut r = card(4500);
        r.virtual_account = Some(VirtualAccountOptions {
            valid_hours: Some(1000),
            ..Default::default()
        });
        r.card = Some(CardOptions {
            max_card_installment_plan: Some(24),
            ..Default::default()
        });
        let v = validate_payment(&r, &key(), &pc()).expect_err("options");
        assert!(v.has("virtualAccount"), "{v}");
        assert!(v.has("virtualAccount.validHours"), "{v}");
        assert!(v.has("card.maxCardInstallmentPlan"), "{v}");
        assert!(!v.has("card"), "{v}");
    }

    #[test]
    fn metadata_is_limited_to_five_short_entries() {
        let mut r = card(4500);
        r.metadata = Some((0..6).map(|i| (format!("k{i}"), "v".to_string())).collect());
        assert!(validate_payment(&r, &key(), &pc()).expect_err("6 keys").has("metadata"));
        r.metadata = Some([("k".repeat(41), "x".repeat(501))].into_iter().collect());
        let v = validate_payment(&r, &key(), &pc()).expect_err("long");
        assert_eq!(v.0.len(), 2, "{v}");
    }

    #[test]
    fn a_billing_authorisation_needs_a_real_customer_key_and_both_urls() {
        let ok = BillingAuthRequest {
            method: BillingMethod::Card,
            success_url: "https://shop.example/toss/subscribe?tossReturn=billing".into(),
            fail_url: "https://shop.example/toss/subscribe?tossReturn=billing".into(),
            customer_email: None,
            customer_name: Some("홍길동".into()),
        };
        assert_eq!(validate_billing_auth(&ok, &key()), Ok(()));
        let v = validate_billing_auth(&ok, &CustomerKey::Anonymous).expect_err("anonymous");
        assert!(v.has("customerKey"), "{v}");
        let bad = BillingAuthRequest {
            success_url: String::new(),
            fail_url: "ftp://x".into(),
            ..ok
        };
        let v = validate_billing_auth(&bad, &key()).expect_err("urls");
        assert!(v.has("successUrl") && v.has("failUrl"), "{v}");
    }
}
