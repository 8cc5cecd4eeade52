//! `IssueBillingKeyRequest`: the argument of `PortOne.requestIssueBillingKey`.
//!
//! Mirrors `IssueBillingKeyRequestBase & IssueBillingKeyRequestUnion` of
//! `@portone/browser-sdk@0.1.11`; optional fields are omitted when `None`.

use super::enums::{BillingKeyMethod, Currency, Locale, ProductType};
use super::payment::{Customer, Iframe, Popup, WindowTypes};
use crate::model::json::{ByKey, Json, JsonObject};
use serde::{Deserialize, Serialize};

/// The argument of `PortOne.requestIssueBillingKey`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueBillingKeyRequest {
    /// `storeId`.
    pub store_id: String,
    /// `channelKey` (required for billing keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_key: Option<String>,
    /// `billingKeyMethod` (TossPay: `EASY_PAY`).
    pub billing_key_method: BillingKeyMethod,
    /// `issueId`: merchant-chosen id of this issuance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_id: Option<String>,
    /// `issueName`: shown in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_name: Option<String>,
    /// `displayAmount`: an amount to show (nothing is charged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_amount: Option<i64>,
    /// `currency` of `displayAmount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// `customer` (TossPay: `customerId` required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// `windowType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_type: Option<WindowTypes>,
    /// `redirectUrl` (TossPay: required on mobile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// `forceRedirect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_redirect: Option<bool>,
    /// `noticeUrls`: per-issuance webhook URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_urls: Option<Vec<String>>,
    /// `locale`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
    /// `customData`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<JsonObject>,
    /// `offerPeriod`, passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_period: Option<Json>,
    /// `appScheme`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_scheme: Option<String>,
    /// `productType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<ProductType>,
    /// `bypass`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypass: Option<IssueBillingKeyBypass>,
    /// `popup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub popup: Option<Popup>,
    /// `iframe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iframe: Option<Iframe>,
    /// `card` method options, passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Json>,
    /// `mobile` method options, passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<Json>,
    /// `easyPay` method options (`availableCards`, `easyPayProvider`,
    /// `availablePayMethods`), passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub easy_pay: Option<Json>,
    /// `paypal` method options, passed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paypal: Option<Json>,
}

impl IssueBillingKeyRequest {
    /// A request with the required fields set and every optional one absent.
    pub fn new(
        store_id: impl Into<String>,
        channel_key: impl Into<String>,
        billing_key_method: BillingKeyMethod,
    ) -> Self {
        Self {
            store_id: store_id.into(),
            channel_key: Some(channel_key.into()),
            billing_key_method,
            issue_id: None,
            issue_name: None,
            display_amount: None,
            currency: None,
            customer: None,
            window_type: None,
            redirect_url: None,
            force_redirect: None,
            notice_urls: None,
            locale: None,
            custom_data: None,
            offer_period: None,
            app_scheme: None,
            product_type: None,
            bypass: None,
            popup: None,
            iframe: None,
            card: None,
            mobile: None,
            easy_pay: None,
            paypal: None,
        }
    }
}

/// `bypass` of a billing-key request (`IssueBillingKeyBypass`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IssueBillingKeyBypass {
    /// `tosspay_v2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tosspay_v2: Option<TosspayV2IssueBillingKeyBypass>,
    /// Every other PG's object, by its key.
    #[serde(flatten)]
    pub other: ByKey,
}

/// `bypass.tosspay_v2` of a billing-key request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TosspayV2IssueBillingKeyBypass {
    /// `encryptedUserCi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_user_ci: Option<String>,
}
