//! The merchant-backend contract (checkout <-> backend).
//!
//! One definition shared by the checkout (which sends and reads these
//! shapes) and any backend that serves them, such as the reference backend
//! `checkout-server`. Every body is JSON with camelCase keys; `Option`
//! fields are omitted when `None`. Money is always an integer in the
//! currency's minor unit (KRW: 1 won). Ids are typed ([`PaymentId`],
//! [`IssueId`], [`SubscriptionId`]) and can only be built by parsing.
//!
//! Routes (relative to the backend's origin):
//!
//! | Method | Path | Request | Response |
//! |---|---|---|---|
//! | POST | [`PAYMENTS_PATH`] | the merchant's order ([`OrderJson`]) | [`PreparedPayment`] |
//! | POST | [`routes::COMPLETE`] ([`complete_path`]) | [`CompleteRequest`] | [`PaymentStatus`] |
//! | GET  | [`routes::PAYMENT`] ([`payment_path`]) | - | [`PaymentStatus`] |
//! | POST | [`BILLING_KEYS_PREPARE_PATH`] | [`PrepareBillingKeyRequest`] | [`BillingKeyPrepared`] |
//! | POST | [`BILLING_KEYS_PATH`] | [`RegisterBillingKeyRequest`] | [`Subscription`] |
//!
//! Every 4xx/5xx response carries an [`ErrorBody`]. What the order body
//! holds is the merchant's business (a cart, a plan, a booking): the
//! backend computes the amount from it; the browser never sends an amount
//! the backend trusts.

use serde::{Deserialize, Serialize};

mod ids;

pub use ids::{check_id, encode_path_segment, IdError, IssueId, PaymentId, SubscriptionId, MAX_ID_LEN};

/// `POST`: create an order and its payment id (the merchant's order ->
/// [`PreparedPayment`]). Also the prefix of the per-payment routes.
pub const PAYMENTS_PATH: &str = "/api/payments";
/// `POST`: prepare a billing-key issue ([`PrepareBillingKeyRequest`] ->
/// [`BillingKeyPrepared`]).
pub const BILLING_KEYS_PREPARE_PATH: &str = "/api/billing-keys/prepare";
/// `POST`: register an issued billing key ([`RegisterBillingKeyRequest`] ->
/// [`Subscription`]).
pub const BILLING_KEYS_PATH: &str = "/api/billing-keys";
/// `POST`: PortOne's webhook endpoint of the reference backend (signed with
/// Standard Webhooks). Not called by the checkout.
pub const WEBHOOK_PATH: &str = "/api/webhooks/portone";

/// Route templates (axum syntax) of the per-payment routes, for servers:
/// the same table the path builders below follow.
pub mod routes {
    /// `GET`: [`super::payment_path`].
    pub const PAYMENT: &str = "/api/payments/{payment_id}";
    /// `POST`: [`super::complete_path`].
    pub const COMPLETE: &str = "/api/payments/{payment_id}/complete";
}

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

/// The merchant's order as the JSON text posted to [`PAYMENTS_PATH`]: any
/// `Serialize` value of the merchant's own type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderJson(String);

impl OrderJson {
    /// Serializes the merchant's order.
    pub fn new<O: Serialize + ?Sized>(order: &O) -> Result<Self, serde_json::Error> {
        serde_json::to_string(order).map(Self)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A failure as the payment window, a return URL or the backend reports it.
///
/// The same four fields everywhere: PortOne's `code`/`message`, the PG's
/// `pgCode`/`pgMessage`. From the browser it is only a hint; in a
/// [`PaymentStatus`] it is the backend's record, confirmed with the
/// provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PgFailure {
    /// The provider's error code (`FAILURE_TYPE_PG`, `PAY_PROCESS_CANCELED`,
    /// ...), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The provider's message (developer-facing from the SDK; the sentence
    /// for the customer in a backend answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The PG's code, when the PG gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_code: Option<String>,
    /// The PG's message, when the PG gave one (some PGs require that it is
    /// shown to the customer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_message: Option<String>,
}

/// Codes that mean "the customer cancelled in the payment window": PortOne
/// V2's `Cancelled`, and the PG codes TossPay and Toss Payments use.
///
/// A cancel is recognised by code, never by message text.
pub const USER_CANCEL_CODES: &[&str] = &["Cancelled", "PAY_PROCESS_CANCELED", "USER_CANCEL", "USER_CANCELED"];

impl PgFailure {
    /// Whether the customer cancelled: `code` or `pgCode` in
    /// [`USER_CANCEL_CODES`].
    pub fn is_user_cancel(&self) -> bool {
        [self.code.as_deref(), self.pg_code.as_deref()]
            .into_iter()
            .flatten()
            .any(|c| USER_CANCEL_CODES.contains(&c))
    }

    /// The text to show the customer: `pgMessage` when given, else
    /// `message`.
    pub fn customer_text(&self) -> Option<&str> {
        [self.pg_message.as_deref(), self.message.as_deref()]
            .into_iter()
            .flatten()
            .find(|m| !m.trim().is_empty())
    }
}

/// Body of `POST /api/payments/{paymentId}/complete`: what the payment
/// window or the return URL reported. Only a hint: the backend re-reads the
/// payment from the provider and decides from that.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompleteRequest {
    /// The provider's reference of the attempt: PortOne V2's `txId`, PortOne
    /// V1's `imp_uid`, Toss Payments' `paymentKey` (sent as `txId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<String>,
    /// The failure the window or the URL reported, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<PgFailure>,
    /// The amount the window or the return URL reported (Toss Payments'
    /// `amount`): a hint the backend checks, never trusts. The backend
    /// confirms with its own order's amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
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
    pub failure: Option<PgFailure>,
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

/// Body of `POST /api/billing-keys`: what the billing-key window gave the
/// browser, exactly one of
///
/// - `billingKey`: the issued key (PortOne V2). The server verifies it with
///   the provider (exists, `ISSUED`, same customer) before storing;
/// - `authKey`: an authorisation to exchange for a key (Toss Payments'
///   `requestBillingAuth`). The server issues the key itself, with its
///   secret key and its own customer's `customerKey`, and stores it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterBillingKeyRequest {
    /// The issued billing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_key: Option<String>,
    /// The `issueId` from [`BillingKeyPrepared`], when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_id: Option<IssueId>,
    /// Toss Payments' `authKey`, for the backend to issue the key with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_key: Option<String>,
}

impl RegisterBillingKeyRequest {
    /// A request carrying an issued billing key.
    pub fn key(billing_key: impl Into<String>, issue_id: Option<IssueId>) -> Self {
        Self {
            billing_key: Some(billing_key.into()),
            issue_id,
            auth_key: None,
        }
    }

    /// A request carrying an authorisation the backend exchanges for a key.
    pub fn auth(auth_key: impl Into<String>, issue_id: Option<IssueId>) -> Self {
        Self {
            billing_key: None,
            issue_id,
            auth_key: Some(auth_key.into()),
        }
    }
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
    fn the_merchants_order_is_posted_as_its_own_json() {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Cart {
            items: Vec<(String, u32)>,
            coupon_code: Option<String>,
        }
        let order = OrderJson::new(&Cart {
            items: vec![("americano".into(), 2)],
            coupon_code: None,
        })
        .expect("serializes");
        assert_eq!(order.as_str(), r#"{"items":[["americano",2]],"couponCode":null}"#);
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
            failure: Some(PgFailure {
                code: Some("PG_PROVIDER".into()),
                message: Some("declined".into()),
                ..PgFailure::default()
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
    fn complete_request_accepts_an_empty_object_and_nests_the_failure() {
        let req: CompleteRequest = serde_json::from_str("{}").expect("deserialize");
        assert_eq!(req, CompleteRequest::default());
        assert_eq!(req.failure, None);
        round_trip(
            &CompleteRequest {
                tx_id: Some("tx-1".into()),
                failure: Some(PgFailure {
                    code: Some("FAILURE_TYPE_PG".into()),
                    pg_message: Some("x".into()),
                    ..PgFailure::default()
                }),
                amount: None,
            },
            json!({"txId": "tx-1", "failure": {"code": "FAILURE_TYPE_PG", "pgMessage": "x"}}),
        );
        // Toss Payments: the paymentKey travels as txId, the URL's amount as a hint.
        round_trip(
            &CompleteRequest {
                tx_id: Some("tgen_20261130abc".into()),
                amount: Some(4500),
                ..CompleteRequest::default()
            },
            json!({"txId": "tgen_20261130abc", "amount": 4500}),
        );
    }

    #[test]
    fn a_cancel_is_recognised_by_code_never_by_text() {
        let by_code = |code: Option<&str>, pg: Option<&str>| PgFailure {
            code: code.map(str::to_owned),
            pg_code: pg.map(str::to_owned),
            message: Some("취소".into()),
            pg_message: None,
        };
        assert!(by_code(Some("Cancelled"), None).is_user_cancel());
        assert!(by_code(Some("FAILURE_TYPE_PG"), Some("PAY_PROCESS_CANCELED")).is_user_cancel());
        assert!(by_code(Some("PAY_PROCESS_CANCELED"), None).is_user_cancel());
        assert!(!by_code(Some("FAILURE_TYPE_PG"), Some("INSUFFICIENT_BALANCE")).is_user_cancel());
        assert!(
            !by_code(None, None).is_user_cancel(),
            "the message text decides nothing"
        );
        let f = PgFailure {
            message: Some("[X] 거절".into()),
            pg_message: Some(" ".into()),
            ..PgFailure::default()
        };
        assert_eq!(f.customer_text(), Some("[X] 거절"));
    }

    #[test]
    fn error_and_billing_shapes_round_trip() {
        round_trip(
            &ErrorBody {
                error: "unknown_product".into(),
                message: "items[0].productId: no such product".into(),
            },
            json!({"error": "unknown_product", "message": "items[0].productId: no such product"}),
        );
        round_trip(&PrepareBillingKeyRequest {}, json!({}));
        round_trip(
            &RegisterBillingKeyRequest::key("bk-1", None),
            json!({"billingKey": "bk-1"}),
        );
        round_trip(
            &RegisterBillingKeyRequest::auth("auth-1", Some(IssueId::parse("issue-1").expect("id"))),
            json!({"authKey": "auth-1", "issueId": "issue-1"}),
        );
        // The older body (a key only) still reads.
        let old: RegisterBillingKeyRequest =
            serde_json::from_value(json!({"billingKey": "bk-2"})).expect("deserialize");
        assert_eq!(old.billing_key.as_deref(), Some("bk-2"));
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
        assert_eq!(complete_path(&p), "/api/payments/p1/complete");
        assert_eq!(payment_path(&p), "/api/payments/p1");
        // The route templates servers mount are the same paths.
        for (template, built) in [
            (routes::PAYMENT, payment_path(&p)),
            (routes::COMPLETE, complete_path(&p)),
        ] {
            assert_eq!(template.replace("{payment_id}", "p1"), built);
        }
    }
}
