//! The arguments of `IMP.request_pay`: a payment ([`PaymentRequest`]) and
//! the TossPay billing-key form ([`BillingKeyRequest`], the same call with
//! `customer_uid`).
//!
//! Field names are V1's own (snake_case, with `channelKey` and
//! `card.useInstallment` in camelCase as V1 writes them). Optional fields
//! are omitted when `None` (never `null`). Amounts are integers (KRW x1).
//! TossPay's `bypass` is PortOne V2's type ([`PaymentBypass`]): the same
//! object and rules.

use crate::model::portone_v2::enums::string_enum;
use crate::model::portone_v2::{Currency, PaymentBypass, TosspayV2PaymentBypass};
use crate::model::JsonObject;
use serde::{Deserialize, Serialize};

string_enum! {
    /// `pay_method` of a TossPay request.
    PayMethod {
        Tosspay = "tosspay",
        TosspayCard = "tosspay_card",
        TosspayMoney = "tosspay_money",
    }
}

string_enum! {
    /// `language` of the payment window.
    Language {
        Ko = "ko",
        En = "en",
        Zh = "zh",
    }
}

/// `notice_url`: one webhook URL or several (both forms are V1's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NoticeUrl {
    /// `"https://..."`.
    One(String),
    /// `["https://...", ...]`.
    Many(Vec<String>),
}

impl NoticeUrl {
    /// The URLs, in order.
    pub fn urls(&self) -> &[String] {
        match self {
            Self::One(u) => std::slice::from_ref(u),
            Self::Many(v) => v,
        }
    }

    /// `None` for no URL, one string for one, an array for more.
    pub fn from_urls(urls: &[String]) -> Option<Self> {
        match urls {
            [] => None,
            [one] => Some(Self::One(one.clone())),
            many => Some(Self::Many(many.to_vec())),
        }
    }
}

/// `card`: card options of the window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardOptions {
    /// `useInstallment`: offer instalments.
    #[serde(rename = "useInstallment", default, skip_serializing_if = "Option::is_none")]
    pub use_installment: Option<bool>,
}

/// The argument of `IMP.request_pay` for a TossPay payment.
///
/// ```
/// use portone_checkout::model::portone_v1::*;
/// let req = PaymentRequest {
///     channel_key: Some("channel-key-...".into()),
///     ..PaymentRequest::new(PayMethod::Tosspay, "order-1", 9000)
/// };
/// assert_eq!(req.amount, 9000);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentRequest {
    /// `channelKey`: the PortOne channel (V1's replacement of `pg`).
    #[serde(rename = "channelKey", default, skip_serializing_if = "Option::is_none")]
    pub channel_key: Option<String>,
    /// `pay_method`: `tosspay` (every means), `tosspay_card`, `tosspay_money`.
    pub pay_method: PayMethod,
    /// `merchant_uid`: the merchant's order id, at most 40 characters, one
    /// per order (V1 refuses a paid one before the window).
    pub merchant_uid: String,
    /// `name`: the order name, at most 40 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `amount`: integer KRW.
    pub amount: i64,
    /// `tax_free`: the tax-free part of `amount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_free: Option<i64>,
    /// `vat_amount`: the VAT part of `amount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_amount: Option<i64>,
    /// `currency` (V1's default: KRW; TossPay takes KRW only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// `language` of the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// `buyer_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_name: Option<String>,
    /// `buyer_tel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_tel: Option<String>,
    /// `buyer_email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<String>,
    /// `buyer_addr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_addr: Option<String>,
    /// `buyer_postcode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_postcode: Option<String>,
    /// `custom_data`: an object (the REST API returns it as a string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<JsonObject>,
    /// `notice_url`: webhook URL(s) for this payment (overrides the
    /// console's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_url: Option<NoticeUrl>,
    /// `m_redirect_url`: where a phone's window returns (absolute http(s));
    /// required on mobile, where the callback never runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m_redirect_url: Option<String>,
    /// `app_scheme`: the app's URL scheme, inside app WebViews.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_scheme: Option<String>,
    /// `popup`: open the PC window as a popup instead of an overlay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub popup: Option<bool>,
    /// `card` options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardOptions>,
    /// `bypass`: PG-specific options; TossPay's `tosspay_v2` is the same
    /// object, with the same rules, as PortOne V2's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypass: Option<PaymentBypass>,
}

impl PaymentRequest {
    /// A request with the required fields set and every optional one absent.
    pub fn new(pay_method: PayMethod, merchant_uid: impl Into<String>, amount: i64) -> Self {
        Self {
            channel_key: None,
            pay_method,
            merchant_uid: merchant_uid.into(),
            name: None,
            amount,
            tax_free: None,
            vat_amount: None,
            currency: None,
            language: None,
            buyer_name: None,
            buyer_tel: None,
            buyer_email: None,
            buyer_addr: None,
            buyer_postcode: None,
            custom_data: None,
            notice_url: None,
            m_redirect_url: None,
            app_scheme: None,
            popup: None,
            card: None,
            bypass: None,
        }
    }

    /// The TossPay bypass options, if any.
    pub fn tosspay_bypass(&self) -> Option<&TosspayV2PaymentBypass> {
        self.bypass.as_ref().and_then(|b| b.tosspay_v2.as_ref())
    }
}

/// The TossPay billing-key form of `IMP.request_pay` (V1's
/// "non-authenticated window"): a [`PaymentRequest`] plus `customer_uid`
/// (one billing key per `customer_uid`; re-using one replaces its key) and
/// TossPay's `customer_id`. `amount` may be 0: it is only shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BillingKeyRequest {
    /// `customer_uid`: the merchant's handle of the billing key.
    pub customer_uid: String,
    /// `customer_id`: the merchant's customer (TossPay: required, at most
    /// 50 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The rest of the call (`pay_method` must be `tosspay`).
    #[serde(flatten)]
    pub request: PaymentRequest,
}
