//! The merchant-backend contract (component <-> backend).
//!
//! One definition shared by the checkout component (which sends and reads
//! these shapes) and the reference backend `checkout-server` (which serves
//! them). Every body is JSON with camelCase keys; `Option` fields are
//! omitted when `None`. Money is always an integer in the currency's minor
//! unit (KRW: 1 won).
//!
//! Routes (relative to the backend's origin):
//!
//! | Method | Path | Request | Response |
//! |---|---|---|---|
//! | GET  | [`CONFIG_PATH`] | - | [`ClientConfig`] |
//! | GET  | [`PRODUCTS_PATH`] | - | `Vec<`[`Product`]`>` |
//! | POST | [`PAYMENTS_PATH`] | [`PreparePaymentRequest`] | [`PreparedPayment`] |
//! | POST | `/api/payments/{paymentId}/complete` ([`complete_path`]) | [`CompleteRequest`] | [`PaymentStatus`] |
//! | GET  | `/api/payments/{paymentId}` ([`payment_path`]) | - | [`PaymentStatus`] |
//! | POST | [`BILLING_KEYS_PREPARE_PATH`] | [`PrepareBillingKeyRequest`] | [`BillingKeyPrepared`] |
//! | POST | [`BILLING_KEYS_PATH`] | [`RegisterBillingKeyRequest`] | [`Subscription`] |
//! | GET  | `/api/subscriptions/{id}` ([`subscription_path`]) | - | [`Subscription`] |
//! | POST | `/api/subscriptions/{id}/charge` ([`subscription_charge_path`]) | - | [`ChargeResult`] |
//! | POST | [`WEBHOOK_PATH`] | PortOne webhook (Standard Webhooks) | empty |
//!
//! Every 4xx/5xx response carries an [`ErrorBody`].

use serde::{Deserialize, Serialize};

mod ids;

pub use ids::{check_id, encode_path_segment, IdError, IssueId, PaymentId, SubscriptionId, MAX_ID_LEN};

/// `GET`: the public client configuration ([`ClientConfig`]).
pub const CONFIG_PATH: &str = "/api/config";
/// `GET`: the product catalogue (`Vec<Product>`).
pub const PRODUCTS_PATH: &str = "/api/products";
/// `POST`: create an order and its payment id ([`PreparePaymentRequest`] ->
/// [`PreparedPayment`]). Also the prefix of the per-payment routes.
pub const PAYMENTS_PATH: &str = "/api/payments";
/// `POST`: prepare a billing-key issue ([`PrepareBillingKeyRequest`] ->
/// [`BillingKeyPrepared`]).
pub const BILLING_KEYS_PREPARE_PATH: &str = "/api/billing-keys/prepare";
/// `POST`: register an issued billing key ([`RegisterBillingKeyRequest`] ->
/// [`Subscription`]).
pub const BILLING_KEYS_PATH: &str = "/api/billing-keys";
/// Prefix of the subscription routes (`/{id}` and `/{id}/charge`).
pub const SUBSCRIPTIONS_PATH: &str = "/api/subscriptions";
/// `POST`: PortOne's webhook endpoint (signed with Standard Webhooks).
pub const WEBHOOK_PATH: &str = "/api/webhooks/portone";

/// Route templates (axum syntax) of the per-id routes, for servers: the
/// same table the path builders below follow.
pub mod routes {
    /// `GET`: [`super::payment_path`].
    pub const PAYMENT: &str = "/api/payments/{payment_id}";
    /// `POST`: [`super::complete_path`].
    pub const COMPLETE: &str = "/api/payments/{payment_id}/complete";
    /// `GET`: [`super::subscription_path`].
    pub const SUBSCRIPTION: &str = "/api/subscriptions/{subscription_id}";
    /// `POST`: [`super::subscription_charge_path`].
    pub const SUBSCRIPTION_CHARGE: &str = "/api/subscriptions/{subscription_id}/charge";
}

/// Header carrying the client's idempotency key on
/// `POST /api/subscriptions/{id}/charge`: a retry with the same key returns
/// the first charge's result instead of charging again.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// `POST /api/payments/{paymentId}/complete` for `payment_id` (the segment
/// is percent-encoded, though a [`PaymentId`] only holds URL-safe
/// characters).
pub fn complete_path(payment_id: &PaymentId) -> String {
    format!("{PAYMENTS_PATH}/{}/complete", encode_path_segment(payment_id.as_str()))
}

/// `GET /api/payments/{paymentId}` for `payment_id`.
pub fn payment_path(payment_id: &PaymentId) -> String {
    format!("{PAYMENTS_PATH}/{}", encode_path_segment(payment_id.as_str()))
}

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

/// The customer the server attaches to a payment or billing key; passed to
/// the SDK request's `customer` as is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreparedCustomer {
    /// The merchant's customer id (at most 50 characters; required by
    /// TossPay billing keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Response of `POST /api/payments`: everything the browser needs for
/// `PortOne.requestPayment` besides store id and channel key (from
/// [`ClientConfig`]). Retries of the same order reuse `payment_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreparedPayment {
    /// The order's PortOne payment id (URL-safe, unique per order).
    pub payment_id: PaymentId,
    /// Order name shown in the payment window.
    pub order_name: String,
    /// Server-computed total in the minor unit.
    pub total_amount: i64,
    /// ISO 4217 currency code.
    pub currency: String,
    /// The customer to send with the payment request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<PreparedCustomer>,
}

/// Body of `POST /api/payments/{paymentId}/complete`: what the SDK promise
/// (or redirect query) reported. Only a hint: the server always re-reads the
/// payment from PortOne and decides from that.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompleteRequest {
    /// PortOne transaction id of the attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<String>,
    /// SDK error code when the attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// SDK error message when the attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// PG error code, when the PG gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_code: Option<String>,
    /// PG error message, when the PG gave one (must be shown for Naver Pay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_message: Option<String>,
}

/// The server's view of an order, serialized `SCREAMING_SNAKE_CASE`.
///
/// Only [`OrderStatus::Paid`], [`OrderStatus::Cancelled`] and
/// [`OrderStatus::Expired`] are final. A non-final status is a customer
/// fact only when [`PaymentStatus::verified`] is `true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum OrderStatus {
    /// Not paid yet (PortOne `READY` / `PAY_PENDING`, or never attempted).
    /// The same `paymentId` may be attempted again.
    Pending,
    /// Paid, verified and fulfilled (exactly once). Final.
    Paid,
    /// A virtual account was issued; waiting for the deposit (the webhook
    /// moves it to [`OrderStatus::Paid`]).
    VirtualAccountIssued,
    /// The last attempt failed; `failure` says why. The order may be retried
    /// with the same `paymentId`.
    Failed,
    /// The server decided to cancel a paid payment (suspected tampering, or
    /// the order could not be fulfilled: net cancel) and PortOne has not
    /// confirmed the cancel yet. Not final: the backend retries until PortOne
    /// confirms, and the page keeps checking. `message` gives the reason.
    Cancelling,
    /// Cancelled, as PortOne confirms: by the user/PG, or by the server (see
    /// [`OrderStatus::Cancelling`]). `message` gives the reason. Final.
    Cancelled,
    /// The order was never paid and is no longer payable (the backend's
    /// pending-order lifetime ran out). Prepare a new order. Final.
    Expired,
}

impl OrderStatus {
    /// `true` for states that no later sync changes
    /// ([`OrderStatus::Paid`], [`OrderStatus::Cancelled`],
    /// [`OrderStatus::Expired`]).
    pub fn is_final(self) -> bool {
        matches!(self, OrderStatus::Paid | OrderStatus::Cancelled | OrderStatus::Expired)
    }

    /// The wire name (`"PAID"`, ...), as stored by the reference server.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Paid => "PAID",
            OrderStatus::VirtualAccountIssued => "VIRTUAL_ACCOUNT_ISSUED",
            OrderStatus::Failed => "FAILED",
            OrderStatus::Cancelling => "CANCELLING",
            OrderStatus::Cancelled => "CANCELLED",
            OrderStatus::Expired => "EXPIRED",
        }
    }

    /// Every status, in declaration order.
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::VirtualAccountIssued,
        OrderStatus::Failed,
        OrderStatus::Cancelling,
        OrderStatus::Cancelled,
        OrderStatus::Expired,
    ];

    /// Parses a wire name produced by [`OrderStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// Why a payment attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFailure {
    /// PortOne/SDK error code, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// PG error code, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_code: Option<String>,
    /// Human-readable reason.
    pub message: String,
}

/// An order's current state: the response of
/// `POST /api/payments/{paymentId}/complete` and of
/// `GET /api/payments/{paymentId}` (for a browser that lost a response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentStatus {
    /// The order's payment id.
    pub payment_id: PaymentId,
    /// Current state.
    pub status: OrderStatus,
    /// Order name.
    pub order_name: String,
    /// Server-computed total.
    pub total_amount: i64,
    /// ISO 4217 currency code.
    pub currency: String,
    /// When PortOne reports it paid (RFC 3339), once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<String>,
    /// Why the last attempt failed, for [`OrderStatus::Failed`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<PaymentFailure>,
    /// A sentence for the user, e.g. the cancel reason for
    /// [`OrderStatus::Cancelled`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Whether `status` is confirmed by PortOne: the backend read the
    /// payment from PortOne while answering this request, or the status is
    /// final (recorded after such a read). `false` means the backend could
    /// not reach PortOne and answers from its records: a non-final status is
    /// then only the last known one, and the checkout shows "checking",
    /// never "failed". Missing means `false`.
    #[serde(default)]
    pub verified: bool,
}

/// Body of every 4xx/5xx response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Stable snake_case code, e.g. `unknown_product`, `payment_not_found`.
    pub error: String,
    /// A sentence naming the field and the rule that was broken.
    pub message: String,
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

/// Response of `GET /api/config`: public settings only (never a secret), so
/// the same demo build works against the sandbox and the real PortOne.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientConfig {
    /// PortOne store id.
    pub store_id: String,
    /// Channels, first is the default.
    pub channels: Vec<ChannelConfig>,
    /// URL of the browser SDK script to load.
    pub sdk_url: String,
    /// `"sandbox"` or `"live"`.
    pub mode: String,
}

/// Body of `POST /api/billing-keys/prepare` (empty today; extendable).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepareBillingKeyRequest {}

/// Response of `POST /api/billing-keys/prepare`: what
/// `PortOne.requestIssueBillingKey` needs besides store id and channel key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingKeyPrepared {
    /// Issue id to pass as `issueId`.
    pub issue_id: IssueId,
    /// Issue name to pass as `issueName`.
    pub issue_name: String,
    /// The signed-in customer (`customer_id` always set).
    pub customer: PreparedCustomer,
}

/// Body of `POST /api/billing-keys`: the key the SDK returned. The server
/// verifies it with PortOne (exists, `ISSUED`, same customer) before storing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterBillingKeyRequest {
    /// The issued billing key.
    pub billing_key: String,
    /// The `issueId` from [`BillingKeyPrepared`], when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_id: Option<IssueId>,
}

/// A stored billing key (one subscription per key): the response of
/// `POST /api/billing-keys` and `GET /api/subscriptions/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Subscription id (URL-safe).
    pub subscription_id: SubscriptionId,
    /// The billing key.
    pub billing_key: String,
    /// `"ACTIVE"` or `"DELETED"` (a deleted key cannot be charged).
    pub status: String,
    /// Owner.
    pub customer_id: String,
}

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

    fn round_trip<T>(value: &T, expected: serde_json::Value)
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    {
        let encoded = serde_json::to_value(value).expect("serialize");
        assert_eq!(encoded, expected);
        let decoded: T = serde_json::from_value(encoded).expect("deserialize");
        assert_eq!(&decoded, value);
    }

    #[test]
    fn prepare_request_uses_camel_case_and_omits_missing_customer() {
        let req = PreparePaymentRequest {
            items: vec![PrepareItem {
                product_id: "americano".into(),
                quantity: 2,
            }],
            customer: None,
        };
        round_trip(&req, json!({"items": [{"productId": "americano", "quantity": 2}]}));
    }

    #[test]
    fn prepared_payment_round_trips_with_customer() {
        let prepared = PreparedPayment {
            payment_id: PaymentId::parse("order-1").expect("id"),
            order_name: "아메리카노 외 1건".into(),
            total_amount: 9500,
            currency: "KRW".into(),
            customer: Some(PreparedCustomer {
                customer_id: Some("demo-customer-1".into()),
                full_name: Some("홍길동".into()),
                phone_number: None,
                email: None,
            }),
        };
        round_trip(
            &prepared,
            json!({
                "paymentId": "order-1",
                "orderName": "아메리카노 외 1건",
                "totalAmount": 9500,
                "currency": "KRW",
                "customer": {"customerId": "demo-customer-1", "fullName": "홍길동"}
            }),
        );
    }

    #[test]
    fn order_status_is_screaming_snake_case_and_matches_as_str() {
        for status in OrderStatus::ALL {
            let v = serde_json::to_value(status).expect("serialize");
            assert_eq!(v, json!(status.as_str()));
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(
            serde_json::to_value(OrderStatus::VirtualAccountIssued).expect("serialize"),
            json!("VIRTUAL_ACCOUNT_ISSUED")
        );
        assert_eq!(OrderStatus::parse("paid"), None);
        assert!(OrderStatus::Paid.is_final());
        assert!(OrderStatus::Expired.is_final());
        assert!(!OrderStatus::Failed.is_final());
        assert!(!OrderStatus::Cancelling.is_final());
    }

    #[test]
    fn payment_status_with_failure_round_trips() {
        let status = PaymentStatus {
            payment_id: PaymentId::parse("order-2").expect("id"),
            status: OrderStatus::Failed,
            order_name: "카페라떼".into(),
            total_amount: 5000,
            currency: "KRW".into(),
            paid_at: None,
            failure: Some(PaymentFailure {
                code: Some("PG_PROVIDER".into()),
                pg_code: None,
                message: "declined".into(),
            }),
            message: None,
            verified: true,
        };
        round_trip(
            &status,
            json!({
                "paymentId": "order-2",
                "status": "FAILED",
                "orderName": "카페라떼",
                "totalAmount": 5000,
                "currency": "KRW",
                "failure": {"code": "PG_PROVIDER", "message": "declined"},
                "verified": true
            }),
        );
        // An answer without `verified` is unverified.
        let old: PaymentStatus = serde_json::from_value(json!({
            "paymentId": "order-2", "status": "PENDING", "orderName": "x", "totalAmount": 1, "currency": "KRW"
        }))
        .expect("deserialize");
        assert!(!old.verified);
        // An answer whose id breaks the rule is refused, naming the field.
        let bad = serde_json::from_value::<PaymentStatus>(json!({
            "paymentId": "../x", "status": "PAID", "orderName": "x", "totalAmount": 1, "currency": "KRW"
        }))
        .expect_err("invalid id");
        assert!(bad.to_string().contains("paymentId"), "{bad}");
    }

    #[test]
    fn complete_request_accepts_an_empty_object() {
        let req: CompleteRequest = serde_json::from_str("{}").expect("deserialize");
        assert_eq!(req, CompleteRequest::default());
        round_trip(
            &CompleteRequest {
                tx_id: Some("tx-1".into()),
                pg_message: Some("x".into()),
                ..CompleteRequest::default()
            },
            json!({"txId": "tx-1", "pgMessage": "x"}),
        );
    }

    #[test]
    fn config_error_and_billing_shapes_round_trip() {
        round_trip(
            &ClientConfig {
                store_id: "store-sandbox".into(),
                channels: vec![ChannelConfig {
                    key: "channel-key-sandbox-tosspay".into(),
                    pg: "tosspay_v2".into(),
                    pay_method: "EASY_PAY".into(),
                    label: "토스페이".into(),
                }],
                sdk_url: "http://127.0.0.1:8787/v2/browser-sdk.js".into(),
                mode: "sandbox".into(),
            },
            json!({
                "storeId": "store-sandbox",
                "channels": [{"key": "channel-key-sandbox-tosspay", "pg": "tosspay_v2",
                              "payMethod": "EASY_PAY", "label": "토스페이"}],
                "sdkUrl": "http://127.0.0.1:8787/v2/browser-sdk.js",
                "mode": "sandbox"
            }),
        );
        round_trip(
            &ErrorBody {
                error: "unknown_product".into(),
                message: "items[0].productId: no such product".into(),
            },
            json!({"error": "unknown_product", "message": "items[0].productId: no such product"}),
        );
        round_trip(&PrepareBillingKeyRequest {}, json!({}));
        round_trip(
            &RegisterBillingKeyRequest {
                billing_key: "bk-1".into(),
                issue_id: None,
            },
            json!({"billingKey": "bk-1"}),
        );
        round_trip(
            &Subscription {
                subscription_id: SubscriptionId::parse("sub-1").expect("id"),
                billing_key: "bk-1".into(),
                status: "ACTIVE".into(),
                customer_id: "demo-customer-1".into(),
            },
            json!({"subscriptionId": "sub-1", "billingKey": "bk-1", "status": "ACTIVE",
                   "customerId": "demo-customer-1"}),
        );
        round_trip(
            &ChargeResult {
                payment_id: PaymentId::parse("charge-1").expect("id"),
                status: OrderStatus::Paid,
                total_amount: 9900,
                currency: "KRW".into(),
                next_charge_schedule_id: Some("sch-1".into()),
            },
            json!({"paymentId": "charge-1", "status": "PAID", "totalAmount": 9900,
                   "currency": "KRW", "nextChargeScheduleId": "sch-1"}),
        );
        round_trip(
            &BillingKeyPrepared {
                issue_id: IssueId::parse("issue-1").expect("id"),
                issue_name: "정기결제".into(),
                customer: PreparedCustomer {
                    customer_id: Some("demo-customer-1".into()),
                    ..PreparedCustomer::default()
                },
            },
            json!({"issueId": "issue-1", "issueName": "정기결제",
                   "customer": {"customerId": "demo-customer-1"}}),
        );
    }

    #[test]
    fn path_helpers_build_the_documented_routes() {
        let p = PaymentId::parse("p1").expect("id");
        let s = SubscriptionId::parse("s1").expect("id");
        assert_eq!(complete_path(&p), "/api/payments/p1/complete");
        assert_eq!(payment_path(&p), "/api/payments/p1");
        assert_eq!(subscription_path(&s), "/api/subscriptions/s1");
        assert_eq!(subscription_charge_path(&s), "/api/subscriptions/s1/charge");
        // The route templates servers mount are the same paths.
        for (template, built) in [
            (routes::PAYMENT, payment_path(&p)),
            (routes::COMPLETE, complete_path(&p)),
            (routes::SUBSCRIPTION, subscription_path(&s)),
            (routes::SUBSCRIPTION_CHARGE, subscription_charge_path(&s)),
        ] {
            let filled = template
                .replace("{payment_id}", "p1")
                .replace("{subscription_id}", "s1");
            assert_eq!(filled, built);
        }
    }
}
