//! `PaymentRequest`: the argument of `PortOne.requestPayment`.
//!
//! Field names and types mirror `PaymentRequestBase & PaymentRequestUnion` of
//! `@portone/browser-sdk@0.1.11`. Optional fields are `Option`s that are
//! omitted from the serialized object when `None` (never `null`). Amounts
//! are integers in the currency's minor unit (KRW x1, USD x100).

use super::enums::{
    CashReceiptTradeOption, CashReceiptType, Currency, EasyPayProvider, Gender, Locale, PayMethod, ProductType,
    WindowType,
};
use crate::model::json::{ByKey, Json, JsonObject};
use serde::{Deserialize, Serialize};

/// The argument of `PortOne.requestPayment`.
///
/// Build it with [`PaymentRequest::new`] and struct update syntax:
///
/// ```
/// use portone_checkout::model::portone_v2::*;
/// let req = PaymentRequest {
///     channel_key: Some("channel-key-...".into()),
///     ..PaymentRequest::new("store-...", "order-1", "커피 2잔", 9000, Currency::Krw, PayMethod::EasyPay)
/// };
/// assert_eq!(req.total_amount, 9000);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequest {
    /// `storeId`: the merchant's PortOne store id.
    pub store_id: String,
    /// `paymentId`: merchant-chosen, one per order, reused for retries.
    pub payment_id: String,
    /// `orderName`: shown in the payment window.
    pub order_name: String,
    /// `orderDetail`: an order description some PGs show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_detail: Option<String>,
    /// `totalAmount`: integer, in the currency's minor unit.
    pub total_amount: i64,
    /// `currency`.
    pub currency: Currency,
    /// `payMethod`.
    pub pay_method: PayMethod,
    /// `channelKey` (exactly one of this and `channelGroupId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_key: Option<String>,
    /// `channelGroupId` (exactly one of this and `channelKey`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_group_id: Option<String>,
    /// `taxFreeAmount`: the tax-free part of `totalAmount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_free_amount: Option<i64>,
    /// `vatAmount`: the VAT part of `totalAmount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_amount: Option<i64>,
    /// `customer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// `windowType`: how the PG window opens on PC and on mobile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_type: Option<WindowTypes>,
    /// `redirectUrl`: where a redirect flow returns (absolute http(s)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// `forceRedirect`: always use the redirect flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_redirect: Option<bool>,
    /// `noticeUrls`: per-payment webhook URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_urls: Option<Vec<String>>,
    /// `confirmUrl`: merchant confirmation endpoint (manual-confirm channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_url: Option<String>,
    /// `appScheme`: the app's URL scheme, needed inside app WebViews.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_scheme: Option<String>,
    /// `isEscrow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_escrow: Option<bool>,
    /// `products`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub products: Option<Vec<Product>>,
    /// `isCulturalExpense`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_cultural_expense: Option<bool>,
    /// `locale` of the payment window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
    /// `customData`: an object; PortOne's REST API returns it as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<JsonObject>,
    /// `country` (ISO 3166-1 alpha-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// `productType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<ProductType>,
    /// `offerPeriod` (`{range: {from?, to?}}` or `{interval}`), passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_period: Option<Json>,
    /// `storeDetails`, passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_details: Option<Json>,
    /// `shippingAddress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    /// `promotionId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_id: Option<String>,
    /// `merpayCategoryId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merpay_category_id: Option<String>,
    /// `popup` window options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub popup: Option<Popup>,
    /// `iframe` window options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iframe: Option<Iframe>,
    /// `bypass`: PG-specific parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypass: Option<PaymentBypass>,
    /// `card` method options, passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Json>,
    /// `virtualAccount` method options, passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_account: Option<Json>,
    /// `transfer` method options, passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<Json>,
    /// `mobile` method options, passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<Json>,
    /// `giftCertificate` method options, passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_certificate: Option<Json>,
    /// `easyPay` method options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub easy_pay: Option<EasyPayOptions>,
    /// `paypal` method options, passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paypal: Option<Json>,
    /// `alipay` method options, passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay: Option<Json>,
    /// `convenienceStore` method options, passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convenience_store: Option<Json>,
    /// `alipayPlus` method options, passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay_plus: Option<Json>,
}

impl PaymentRequest {
    /// A request with the required fields set and every optional one absent.
    pub fn new(
        store_id: impl Into<String>,
        payment_id: impl Into<String>,
        order_name: impl Into<String>,
        total_amount: i64,
        currency: Currency,
        pay_method: PayMethod,
    ) -> Self {
        Self {
            store_id: store_id.into(),
            payment_id: payment_id.into(),
            order_name: order_name.into(),
            order_detail: None,
            total_amount,
            currency,
            pay_method,
            channel_key: None,
            channel_group_id: None,
            tax_free_amount: None,
            vat_amount: None,
            customer: None,
            window_type: None,
            redirect_url: None,
            force_redirect: None,
            notice_urls: None,
            confirm_url: None,
            app_scheme: None,
            is_escrow: None,
            products: None,
            is_cultural_expense: None,
            locale: None,
            custom_data: None,
            country: None,
            product_type: None,
            offer_period: None,
            store_details: None,
            shipping_address: None,
            promotion_id: None,
            merpay_category_id: None,
            popup: None,
            iframe: None,
            bypass: None,
            card: None,
            virtual_account: None,
            transfer: None,
            mobile: None,
            gift_certificate: None,
            easy_pay: None,
            paypal: None,
            alipay: None,
            convenience_store: None,
            alipay_plus: None,
        }
    }

    /// The TossPay bypass options, if any.
    pub fn tosspay_bypass(&self) -> Option<&TosspayV2PaymentBypass> {
        self.bypass.as_ref().and_then(|b| b.tosspay_v2.as_ref())
    }
}

/// `customer` (`Customer`): every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// `customerId`: the merchant's id for the customer (TossPay billing:
    /// required, at most 50 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// `fullName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// `firstName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// `lastName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// `phoneNumber`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `address`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// `zipcode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipcode: Option<String>,
    /// `gender`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    /// `birthYear` (`"1990"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_year: Option<String>,
    /// `birthMonth` (`"01"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_month: Option<String>,
    /// `birthDay` (`"31"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_day: Option<String>,
}

/// `address` / `shippingAddress` (`Address`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// `country` (ISO 3166-1 alpha-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// `addressLine1`.
    pub address_line1: String,
    /// `addressLine2`.
    pub address_line2: String,
    /// `city`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// `province`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
}

/// `windowType` (`WindowTypes`): per device kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowTypes {
    /// `pc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pc: Option<WindowType>,
    /// `mobile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<WindowType>,
}

/// One entry of `products` (`Product`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// `id`.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `amount`: unit price, integer minor unit.
    pub amount: i64,
    /// `quantity`.
    pub quantity: i64,
    /// `tag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// `link`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `popup` (`Popup`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Popup {
    /// `center`: centre the popup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub center: Option<bool>,
}

/// `iframe` (`Iframe`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Iframe {
    /// `dim`: dim the page behind the iframe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dim: Option<bool>,
}

/// `bypass` (`PaymentBypass`): TossPay's part is typed, other PGs' parts
/// pass through as JSON under their own keys (`nice_v2`, `kcp_v2`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PaymentBypass {
    /// `tosspay_v2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tosspay_v2: Option<TosspayV2PaymentBypass>,
    /// Every other PG's object, by its key.
    #[serde(flatten)]
    pub other: ByKey,
}

/// `bypass.tosspay_v2` (`TosspayV2PaymentBypass`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TosspayV2PaymentBypass {
    /// `expiredTime`: `yyyy-MM-dd HH:mm:ss`, Korean time; default 15
    /// minutes, at most 60 minutes ahead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_time: Option<String>,
    /// `cashReceiptTradeOption` (default `GENERAL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_receipt_trade_option: Option<CashReceiptTradeOption>,
}

/// `easyPay` (`PaymentRequestUnionEasyPay`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EasyPayOptions {
    /// `easyPayProvider`: open this provider directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub easy_pay_provider: Option<EasyPayProvider>,
    /// `useFreeInterestFromMall`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_free_interest_from_mall: Option<bool>,
    /// `availableCards` (`CardCompany` strings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_cards: Option<Vec<String>>,
    /// `installment`, passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installment: Option<Json>,
    /// `cashReceiptType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_receipt_type: Option<CashReceiptType>,
    /// `customerIdentifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_identifier: Option<String>,
    /// `useCardPoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_card_point: Option<bool>,
    /// `availablePayMethods` (`EasyPayPaymentMethod` strings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_pay_methods: Option<Vec<String>>,
    /// `useInstallment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_installment: Option<bool>,
}
