//! The reference shop's own API: its catalogue, cart, public config and
//! subscription charge. Not part of the checkout library (a merchant has
//! their own); one definition shared by the demo (this crate's binary) and
//! the reference backend, which includes this very file
//! (`#[path = "../../src/demo/api.rs"]` in `server/src/shop_api.rs`).
//!
//! | Method | Path | Request | Response |
//! |---|---|---|---|
//! | GET  | [`CONFIG_PATH`] | - | [`ClientConfig`] |
//! | POST | `/v1` + [`V1_WEBHOOK_PATH`] | PortOne V1's `{imp_uid, merchant_uid, status}` | 200 (a trigger only) |
//!
//! Every path is also served under a provider's prefix (`/v1/api/...` for
//! PortOne V1: [`V1_PREFIX`]; `/toss/api/...` for Toss Payments:
//! [`TOSS_PREFIX`]).
//! | GET  | [`PRODUCTS_PATH`] | - | `Vec<`[`Product`]`>` |
//! | POST | `/api/payments` | [`PreparePaymentRequest`] (the demo's order) | `PreparedPayment` |
//! | GET  | [`routes::SUBSCRIPTION`] ([`subscription_path`]) | - | `Subscription` |
//! | POST | [`routes::SUBSCRIPTION_CHARGE`] ([`subscription_charge_path`]) with [`IDEMPOTENCY_KEY_HEADER`] | - | [`ChargeResult`] |
#![allow(dead_code)]

use portone_checkout::protocol::{encode_path_segment, OrderStatus, PaymentId, SubscriptionId};
use serde::{Deserialize, Serialize};

/// The prefix under which the backend serves the same API for Toss
/// Payments (`/toss/api/config`, ...); the demo's Toss shop lives at
/// `/toss/`.
pub const TOSS_PREFIX: &str = "/toss";

/// `GET`: the public client configuration ([`ClientConfig`]).
pub const CONFIG_PATH: &str = "/api/config";
/// `GET`: the product catalogue (`Vec<Product>`).
pub const PRODUCTS_PATH: &str = "/api/products";
/// Prefix of the subscription routes (`/{id}` and `/{id}/charge`).
pub const SUBSCRIPTIONS_PATH: &str = "/api/subscriptions";

/// Route templates (axum syntax) of the subscription routes.
pub mod routes {
    /// `GET`: [`super::subscription_path`].
    pub const SUBSCRIPTION: &str = "/api/subscriptions/{subscription_id}";
    /// `POST`: [`super::subscription_charge_path`].
    pub const SUBSCRIPTION_CHARGE: &str = "/api/subscriptions/{subscription_id}/charge";
}

/// Header carrying the client's idempotency key on a subscription charge:
/// a retry with the same key returns the first charge's result instead of
/// charging again.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// `GET /api/subscriptions/{id}` for `subscription_id`.
pub fn subscription_path(subscription_id: &SubscriptionId) -> String {
    format!("{SUBSCRIPTIONS_PATH}/{}", encode_path_segment(subscription_id.as_str()))
}

/// `POST /api/subscriptions/{id}/charge` for `subscription_id`.
pub fn subscription_charge_path(subscription_id: &SubscriptionId) -> String {
    format!(
        "{SUBSCRIPTIONS_PATH}/{}/charge",
        encode_path_segment(subscription_id.as_str())
    )
}

/// One catalogue entry, as listed by `GET /api/products`.
///
/// Prices are the server's: the browser shows them but never sends an
/// amount the server trusts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// Stable product id (used in [`PrepareItem::product_id`]).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Unit price in the currency's minor unit.
    pub price: i64,
    /// ISO 4217 currency code, e.g. `"KRW"`.
    pub currency: String,
}

/// One line of a cart sent to `POST /api/payments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepareItem {
    /// A [`Product::id`] from the catalogue.
    pub product_id: String,
    /// How many units (the reference server accepts 1..=99).
    pub quantity: u32,
}

/// The customer as the browser describes it (optional hints; a backend with
/// its own signed-in user ignores or overrides them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerInput {
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// Phone number (digits, e.g. `"01012345678"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Body of `POST /api/payments`: the cart. The server computes the amount
/// from its own catalogue, creates the order, assigns one `paymentId` for
/// the order's whole life and pre-registers the amount with PortOne.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreparePaymentRequest {
    /// Cart lines (at least one; product ids unique).
    pub items: Vec<PrepareItem>,
    /// Optional customer hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerInput>,
}

/// One PortOne channel the browser may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelConfig {
    /// PortOne channel key (public).
    pub key: String,
    /// PG of the channel, e.g. `"tosspay_v2"`.
    pub pg: String,
    /// Pay method to request with it, e.g. `"EASY_PAY"`.
    pub pay_method: String,
    /// Label for a pay button.
    pub label: String,
}

/// Response of `GET /api/config` (and `GET /toss/api/config`): public
/// settings only (never a secret), so the same demo build works against the
/// sandbox and the real providers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientConfig {
    /// The provider of this mount: [`PROVIDER_PORTONE_V2`] (the default when
    /// absent, as older servers answer), [`PROVIDER_PORTONE_V1`] or
    /// [`PROVIDER_TOSS`].
    #[serde(default = "default_provider")]
    pub provider: String,
    /// PortOne store id (empty for PortOne V1, which has none, and for Toss
    /// Payments).
    pub store_id: String,
    /// PortOne channels, first is the default (none for Toss Payments).
    pub channels: Vec<ChannelConfig>,
    /// URL of the browser SDK script to load.
    pub sdk_url: String,
    /// `"sandbox"` or `"live"`.
    pub mode: String,
    /// PortOne V1: the merchant's user code for `IMP.init`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_code: Option<String>,
    /// Toss Payments' client key (`test_ck_`/`live_ck_`, public): the only
    /// Toss key the browser ever gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toss_client_key: Option<String>,
}

/// [`ClientConfig::provider`] of PortOne V2.
pub const PROVIDER_PORTONE_V2: &str = "portone_v2";
/// [`ClientConfig::provider`] of PortOne V1.
pub const PROVIDER_PORTONE_V1: &str = "portone_v1";
/// [`ClientConfig::provider`] of Toss Payments (direct).
pub const PROVIDER_TOSS: &str = "toss";

fn default_provider() -> String {
    PROVIDER_PORTONE_V2.into()
}

/// Where the reference backend serves the same routes for PortOne V1
/// (`/v1/api/payments`, `/v1/api/config`, ...), and the demo its V1 shop.
pub const V1_PREFIX: &str = "/v1";
/// PortOne V1's `notice_url` webhook under [`V1_PREFIX`].
pub const V1_WEBHOOK_PATH: &str = "/api/webhooks/portone-v1";

/// Response of `POST /api/subscriptions/{id}/charge`: the charge made with
/// the stored key, and the next charge scheduled with PortOne.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeResult {
    /// Payment id of this charge.
    pub payment_id: PaymentId,
    /// Its state after verification.
    pub status: OrderStatus,
    /// Amount charged.
    pub total_amount: i64,
    /// ISO 4217 currency code.
    pub currency: String,
    /// PortOne schedule id of the next charge, when one was scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_charge_schedule_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_demo_order_uses_camel_case_and_omits_a_missing_customer() {
        let req = PreparePaymentRequest {
            items: vec![PrepareItem {
                product_id: "americano".into(),
                quantity: 2,
            }],
            customer: None,
        };
        assert_eq!(
            serde_json::to_value(&req).expect("serialize"),
            json!({"items": [{"productId": "americano", "quantity": 2}]})
        );
    }

    #[test]
    fn a_config_without_a_provider_is_portone_v2_and_each_provider_carries_its_own_keys() {
        let v2: ClientConfig = serde_json::from_value(json!({
            "storeId": "store-sandbox", "channels": [], "sdkUrl": "x", "mode": "sandbox"
        }))
        .expect("deserialize");
        assert_eq!(
            (v2.provider.as_str(), v2.toss_client_key, v2.user_code),
            (PROVIDER_PORTONE_V2, None, None)
        );
        let toss = ClientConfig {
            provider: PROVIDER_TOSS.into(),
            store_id: String::new(),
            channels: Vec::new(),
            sdk_url: "http://127.0.0.1:8787/toss/v2/standard".into(),
            mode: "sandbox".into(),
            user_code: None,
            toss_client_key: Some("test_ck_x".into()),
        };
        let v = serde_json::to_value(&toss).expect("serialize");
        assert_eq!(v["tossClientKey"], "test_ck_x");
        assert_eq!(v["provider"], "toss");
        assert!(v.get("userCode").is_none());
        let v1 = ClientConfig {
            store_id: String::new(),
            channels: Vec::new(),
            sdk_url: "https://cdn.iamport.kr/v1/iamport.js".into(),
            mode: "live".into(),
            provider: PROVIDER_PORTONE_V1.into(),
            user_code: Some("imp12345678".into()),
            toss_client_key: None,
        };
        let v = serde_json::to_value(&v1).expect("serialize");
        assert_eq!(v["provider"], "portone_v1");
        assert_eq!(v["userCode"], "imp12345678");
        assert!(v.get("tossClientKey").is_none());
    }

    #[test]
    fn subscription_paths_follow_the_route_table() {
        let s = SubscriptionId::parse("s1").expect("id");
        assert_eq!(
            subscription_path(&s),
            routes::SUBSCRIPTION.replace("{subscription_id}", "s1")
        );
        assert_eq!(
            subscription_charge_path(&s),
            routes::SUBSCRIPTION_CHARGE.replace("{subscription_id}", "s1")
        );
    }
}
