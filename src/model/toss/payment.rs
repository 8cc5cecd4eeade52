//! `TossPayments(clientKey).payment({customerKey}).requestPayment(..)`'s
//! argument.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The value of `TossPayments.ANONYMOUS` (the `customerKey` of a guest).
/// The gateway reads the SDK's own constant and uses this only when the SDK
/// does not define one.
pub const ANONYMOUS: &str = "@@ANONYMOUS";

/// The `customerKey` of `payment({customerKey})`: the merchant's own,
/// unguessable id of the customer, or a guest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CustomerKey {
    /// A guest: `TossPayments.ANONYMOUS` (not allowed for billing).
    Anonymous,
    /// The merchant's key of the customer: 2 to 50 characters of `A-Z a-z
    /// 0-9 - _ = . @` (checked by [`super::validate`]).
    Key(String),
}

impl CustomerKey {
    /// The key, or `None` for a guest.
    pub fn as_key(&self) -> Option<&str> {
        match self {
            Self::Anonymous => None,
            Self::Key(k) => Some(k),
        }
    }
}

/// `method` of `requestPayment`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Method {
    /// `"CARD"`: cards, and the easy pays inside the card window.
    #[default]
    Card,
    /// `"TRANSFER"`: account transfer.
    Transfer,
    /// `"VIRTUAL_ACCOUNT"`: a virtual account paid by deposit.
    VirtualAccount,
    /// `"MOBILE_PHONE"`: mobile-phone billing.
    MobilePhone,
    /// `"CULTURE_GIFT_CERTIFICATE"`: culture gift certificates.
    CultureGiftCertificate,
    /// `"FOREIGN_EASY_PAY"`: foreign easy pays (redirect only).
    ForeignEasyPay,
}

impl Method {
    /// The wire name (`"CARD"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Card => "CARD",
            Self::Transfer => "TRANSFER",
            Self::VirtualAccount => "VIRTUAL_ACCOUNT",
            Self::MobilePhone => "MOBILE_PHONE",
            Self::CultureGiftCertificate => "CULTURE_GIFT_CERTIFICATE",
            Self::ForeignEasyPay => "FOREIGN_EASY_PAY",
        }
    }

    /// The smallest amount in KRW Toss Payments accepts for this method, if
    /// it has one: card 100, mobile phone 300, transfer 200, virtual
    /// account 1.
    pub fn minimum_krw(self) -> Option<i64> {
        use crate::model::rules::{MIN_KRW_CARD, MIN_KRW_MOBILE, MIN_KRW_TRANSFER, MIN_KRW_VIRTUAL_ACCOUNT};
        match self {
            Self::Card => Some(MIN_KRW_CARD),
            Self::MobilePhone => Some(MIN_KRW_MOBILE),
            Self::Transfer => Some(MIN_KRW_TRANSFER),
            Self::VirtualAccount => Some(MIN_KRW_VIRTUAL_ACCOUNT),
            Self::CultureGiftCertificate | Self::ForeignEasyPay => None,
        }
    }
}

/// `amount {currency, value}` (an integer in won).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    /// ISO 4217 code; Toss Payments takes `"KRW"` only.
    pub currency: String,
    /// The amount in the currency's minor unit (KRW: 1 won).
    pub value: i64,
}

impl Amount {
    /// An amount in won.
    pub fn krw(value: i64) -> Self {
        Self {
            currency: "KRW".into(),
            value,
        }
    }
}

/// `windowTarget`: where the window opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WindowTarget {
    /// `"iframe"`: an overlay on the page (PC only).
    #[serde(rename = "iframe")]
    Iframe,
    /// `"self"`: the whole page becomes the window (redirect form only;
    /// the default on phones).
    #[serde(rename = "self")]
    SelfPage,
}

/// `cashReceipt {type}` of transfers and virtual accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashReceipt {
    /// `"소득공제"`, `"지출증빙"` or `"미발행"`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `card` options (method `CARD` only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardOptions {
    /// `useEscrow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_escrow: Option<bool>,
    /// `flowMode`: `"DEFAULT"` (Toss's card window) or `"DIRECT"` (straight
    /// to a card company's or an easy pay's window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_mode: Option<String>,
    /// `easyPay` (with `flowMode: "DIRECT"`), e.g. `"TOSSPAY"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub easy_pay: Option<String>,
    /// `cardCompanyCode` (with `flowMode: "DIRECT"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_company_code: Option<String>,
    /// `cardInstallmentPlan`: a fixed number of months.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_installment_plan: Option<u32>,
    /// `maxCardInstallmentPlan`: the most months offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_card_installment_plan: Option<u32>,
    /// `useCardPoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_card_point: Option<bool>,
    /// `useAppCardOnly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_app_card_only: Option<bool>,
    /// `useInternationalCardOnly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_international_card_only: Option<bool>,
}

/// `transfer` options (method `TRANSFER` only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferOptions {
    /// `useEscrow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_escrow: Option<bool>,
    /// `cashReceipt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_receipt: Option<CashReceipt>,
}

/// `virtualAccount` options (method `VIRTUAL_ACCOUNT` only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualAccountOptions {
    /// `useEscrow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_escrow: Option<bool>,
    /// `validHours`: how long the account takes deposits (1 to 720).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_hours: Option<u32>,
    /// `dueDate` (instead of `validHours`), as Toss takes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// `cashReceipt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_receipt: Option<CashReceipt>,
}

/// `metadata`: at most 5 string entries (keys up to 40, values up to 500
/// characters), kept with the payment.
pub type Metadata = BTreeMap<String, String>;

/// The argument of `requestPayment`.
///
/// Give `successUrl` and `failUrl` (both) for the redirect form; leave both
/// out for the promise form, which Toss supports on PC only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequest {
    /// `method`.
    pub method: Method,
    /// `amount {currency, value}`.
    pub amount: Amount,
    /// `orderId`: 6 to 64 characters of `A-Z a-z 0-9 - _ =`; the checkout's
    /// own `paymentId`.
    pub order_id: String,
    /// `orderName`: 1 to 100 characters.
    pub order_name: String,
    /// `successUrl` (redirect form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_url: Option<String>,
    /// `failUrl` (redirect form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_url: Option<String>,
    /// `customerEmail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    /// `customerName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// `customerMobilePhone`: digits only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_mobile_phone: Option<String>,
    /// `taxFreeAmount`: the tax-free part of `amount.value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_free_amount: Option<i64>,
    /// `windowTarget`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_target: Option<WindowTarget>,
    /// `metadata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// `card` (method `CARD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardOptions>,
    /// `transfer` (method `TRANSFER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferOptions>,
    /// `virtualAccount` (method `VIRTUAL_ACCOUNT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_account: Option<VirtualAccountOptions>,
}

impl PaymentRequest {
    /// A promise-form request with the required fields and nothing else.
    pub fn new(method: Method, amount: Amount, order_id: impl Into<String>, order_name: impl Into<String>) -> Self {
        Self {
            method,
            amount,
            order_id: order_id.into(),
            order_name: order_name.into(),
            success_url: None,
            fail_url: None,
            customer_email: None,
            customer_name: None,
            customer_mobile_phone: None,
            tax_free_amount: None,
            window_target: None,
            metadata: None,
            card: None,
            transfer: None,
            virtual_account: None,
        }
    }

    /// Whether this is the redirect form (URLs given): the page leaves for
    /// the window and comes back to `successUrl` / `failUrl`.
    pub fn is_redirect(&self) -> bool {
        self.success_url.is_some() || self.fail_url.is_some()
    }
}
