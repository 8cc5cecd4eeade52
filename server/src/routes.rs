//! HTTP handlers of the `/api` contract.

use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use portone_checkout::protocol::{
    BillingKeyPrepared, ChannelConfig, ChargeResult, ClientConfig, CompleteRequest, OrderStatus, PaymentFailure,
    PaymentStatus, PrepareItem, PreparedCustomer, PreparedPayment, Product, RegisterBillingKeyRequest, Subscription,
    BILLING_KEYS_PATH, BILLING_KEYS_PREPARE_PATH, CONFIG_PATH, PAYMENTS_PATH, PRODUCTS_PATH, WEBHOOK_PATH,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};

use crate::db::{NewOrder, SubscriptionRow};
use crate::error::ApiError;
use crate::portone::{BillingKeyCharge, ChargeCustomer};
use crate::sync::sync_payment;
use crate::{
    AppState, DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_ID, DEMO_CUSTOMER_NAME, DEMO_CUSTOMER_PHONE, SUBSCRIPTION_ORDER_NAME,
    SUBSCRIPTION_PRICE,
};

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 16 * 1024;
/// Most lines in one cart.
pub const MAX_ITEMS: usize = 20;
/// Largest quantity of one line.
pub const MAX_QUANTITY: u64 = 99;
/// Days between subscription charges.
const CHARGE_INTERVAL_DAYS: i64 = 30;

/// The raw body, with size errors mapped to [`ApiError`].
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(RawBody(b)),
            Err(rejection) => Err(body_rejection(rejection)),
        }
    }
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body must be at most {BODY_LIMIT} bytes"),
        )
    } else {
        ApiError::bad_request("invalid_body", "the request body could not be read")
    }
}

fn parse_json<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("the request body is not a valid {what} JSON object: {e}"),
        )
    })
}

fn parse_optional_json<T: DeserializeOwned + Default>(body: &[u8], what: &str) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        parse_json(body, what)
    }
}

/// `true` for ids made of `[A-Za-z0-9_-]`, 1 to 64 characters.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn path_id(path: Result<Path<String>, PathRejection>, code: &'static str, field: &str) -> Result<String, ApiError> {
    match path {
        Ok(Path(id)) if is_valid_id(&id) => Ok(id),
        _ => Err(ApiError::bad_request(
            code,
            format!("{field} must be 1 to 64 characters of A-Z, a-z, 0-9, '-' or '_'"),
        )),
    }
}

fn is_loopback_origin(origin: &str) -> bool {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    let Some(rest) = rest else { return false };
    let host = if let Some(v6) = rest.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, port)) if port.is_empty() || port.starts_with(':') => h,
            _ => return false,
        }
    } else {
        match rest.split_once(':') {
            Some((h, _)) => h,
            None => rest,
        }
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

fn cors(extra: Vec<String>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin
                .to_str()
                .map(|o| is_loopback_origin(o) || extra.iter().any(|e| e == o))
                .unwrap_or(false)
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE])
}

async fn api_not_found() -> ApiError {
    ApiError::not_found("not_found", "no such API route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that HTTP method",
    )
}

pub(crate) fn router(state: AppState) -> Router {
    let api = Router::new()
        .route(CONFIG_PATH, get(client_config))
        .route(PRODUCTS_PATH, get(products))
        .route(PAYMENTS_PATH, post(prepare_payment))
        .route("/api/payments/{payment_id}", get(payment_status))
        .route("/api/payments/{payment_id}/complete", post(complete_payment))
        .route(BILLING_KEYS_PREPARE_PATH, post(prepare_billing_key))
        .route(BILLING_KEYS_PATH, post(register_billing_key))
        .route("/api/subscriptions/{subscription_id}", get(subscription))
        .route("/api/subscriptions/{subscription_id}/charge", post(charge_subscription))
        .route(WEBHOOK_PATH, post(crate::webhook::receive))
        .route("/api", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    let router = match &state.config.static_dir {
        Some(dir) => {
            let index = dir.join("index.html");
            api.fallback_service(ServeDir::new(dir).fallback(ServeFile::new(index)))
        }
        None => api.fallback(api_not_found),
    };
    // Outermost, so preflights (OPTIONS) are answered before routing. Only
    // loopback and configured origins get CORS headers.
    router.layer(cors(state.config.cors_origins.clone())).with_state(state)
}

async fn client_config(State(state): State<AppState>) -> Json<ClientConfig> {
    let p = &state.config.portone;
    Json(ClientConfig {
        store_id: p.store_id.clone(),
        channels: vec![ChannelConfig {
            key: p.channel_key.clone(),
            pg: p.channel_pg.clone(),
            pay_method: "EASY_PAY".into(),
            label: if p.channel_pg.starts_with("tosspay") {
                "토스페이".into()
            } else {
                p.channel_pg.clone()
            },
        }],
        sdk_url: state.config.sdk_url(),
        mode: state.mode.as_str().into(),
    })
}

async fn products(State(state): State<AppState>) -> Result<Json<Vec<Product>>, ApiError> {
    Ok(Json(state.db.products().await?))
}

fn demo_customer() -> PreparedCustomer {
    PreparedCustomer {
        customer_id: Some(DEMO_CUSTOMER_ID.into()),
        full_name: Some(DEMO_CUSTOMER_NAME.into()),
        phone_number: Some(DEMO_CUSTOMER_PHONE.into()),
        email: Some(DEMO_CUSTOMER_EMAIL.into()),
    }
}

/// Validates the cart field by field (so each error names its field).
fn parse_items(body: &Value) -> Result<Vec<PrepareItem>, ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(ApiError::bad_request(
            "invalid_json",
            "the request body must be a JSON object with an `items` array",
        ));
    };
    let Some(items) = obj.get("items").and_then(Value::as_array) else {
        return Err(ApiError::bad_request(
            "invalid_items",
            "items must be an array of {productId, quantity}",
        ));
    };
    if items.is_empty() {
        return Err(ApiError::bad_request(
            "empty_cart",
            "items must contain at least one line",
        ));
    }
    if items.len() > MAX_ITEMS {
        return Err(ApiError::bad_request(
            "too_many_items",
            format!("items may contain at most {MAX_ITEMS} lines"),
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(product_id) = item.get("productId").and_then(Value::as_str) else {
            return Err(ApiError::bad_request(
                "invalid_product_id",
                format!("items[{i}].productId must be a string"),
            ));
        };
        if !is_valid_id(product_id) {
            return Err(ApiError::bad_request(
                "invalid_product_id",
                format!("items[{i}].productId must be 1 to 64 characters of A-Z, a-z, 0-9, '-' or '_'"),
            ));
        }
        let quantity = item.get("quantity").and_then(Value::as_u64);
        let Some(quantity) = quantity.filter(|q| (1..=MAX_QUANTITY).contains(q)) else {
            return Err(ApiError::bad_request(
                "invalid_quantity",
                format!("items[{i}].quantity must be an integer from 1 to {MAX_QUANTITY}"),
            ));
        };
        if !seen.insert(product_id.to_owned()) {
            return Err(ApiError::bad_request(
                "duplicate_product",
                format!("items[{i}].productId {product_id:?} appears more than once; combine the lines"),
            ));
        }
        out.push(PrepareItem {
            product_id: product_id.to_owned(),
            quantity: u32::try_from(quantity).unwrap_or(1),
        });
    }
    Ok(out)
}

async fn prepare_payment(
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> Result<Json<PreparedPayment>, ApiError> {
    let value: Value = parse_json(&body, "PreparePaymentRequest")?;
    let items = parse_items(&value)?;
    let catalogue: HashMap<String, Product> = state
        .db
        .products()
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    let mut total: i64 = 0;
    let mut currency: Option<String> = None;
    let mut lines = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(product) = catalogue.get(&item.product_id) else {
            return Err(ApiError::bad_request(
                "unknown_product",
                format!("items[{i}].productId {:?} is not in the catalogue", item.product_id),
            ));
        };
        let stock = state.db.stock(&product.id).await?.unwrap_or(0);
        if i64::from(item.quantity) > stock {
            return Err(ApiError::conflict(
                "out_of_stock",
                format!(
                    "items[{i}].quantity {} exceeds the {stock} unit(s) of {:?} in stock",
                    item.quantity, product.id
                ),
            ));
        }
        match &currency {
            None => currency = Some(product.currency.clone()),
            Some(c) if *c != product.currency => {
                return Err(ApiError::bad_request(
                    "mixed_currency",
                    format!("items[{i}] is priced in another currency than items[0]"),
                ));
            }
            Some(_) => {}
        }
        total = product
            .price
            .checked_mul(i64::from(item.quantity))
            .and_then(|line| total.checked_add(line))
            .ok_or_else(|| ApiError::bad_request("amount_too_large", "the cart total is too large"))?;
        lines.push((product.id.clone(), item.quantity, product.price));
    }
    let currency = currency.unwrap_or_else(|| "KRW".into());
    let first = catalogue
        .get(&items[0].product_id)
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let order_name = if items.len() > 1 {
        format!("{first} 외 {}건", items.len() - 1)
    } else {
        first
    };
    let payment_id = format!("order-{}", uuid::Uuid::new_v4().simple());
    state
        .db
        .insert_order(&NewOrder {
            payment_id: &payment_id,
            kind: "checkout",
            order_name: &order_name,
            total_amount: total,
            currency: &currency,
            customer_id: DEMO_CUSTOMER_ID,
            subscription_id: None,
            items: &lines,
        })
        .await?;
    if let Err(e) = state.portone.pre_register(&payment_id, total, &currency).await {
        state.db.delete_pending_order(&payment_id).await?;
        return Err(e.into());
    }
    Ok(Json(PreparedPayment {
        payment_id,
        order_name,
        total_amount: total,
        currency,
        customer: Some(demo_customer()),
    }))
}

async fn complete_payment(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawBody(body): RawBody,
) -> Result<Json<PaymentStatus>, ApiError> {
    let payment_id = path_id(path, "invalid_payment_id", "paymentId")?;
    let hint: CompleteRequest = parse_optional_json(&body, "CompleteRequest")?;
    tracing::info!(%payment_id, tx_id = ?hint.tx_id, code = ?hint.code, "complete requested");
    let Some(order) = sync_payment(&state, &payment_id, false).await? else {
        return Err(payment_not_found(&payment_id));
    };
    let mut status = order.to_status();
    if status.status == OrderStatus::Pending {
        if let Some(code) = &hint.code {
            status.message = Some(format!(
                "the payment was not completed ({code}: {})",
                hint.pg_message
                    .as_deref()
                    .or(hint.message.as_deref())
                    .unwrap_or("no message")
            ));
        }
    }
    Ok(Json(status))
}

fn payment_not_found(payment_id: &str) -> ApiError {
    ApiError::not_found(
        "payment_not_found",
        format!("paymentId {payment_id:?} is not an order of this shop"),
    )
}

async fn payment_status(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<PaymentStatus>, ApiError> {
    let payment_id = path_id(path, "invalid_payment_id", "paymentId")?;
    let Some(order) = state.db.order(&payment_id).await? else {
        return Err(payment_not_found(&payment_id));
    };
    if order.status == "PAID" || order.status == "CANCELLED" {
        return Ok(Json(order.to_status()));
    }
    // Not final: try to catch up with PortOne, but answer from the database
    // if PortOne is unreachable.
    match sync_payment(&state, &payment_id, false).await {
        Ok(Some(synced)) => Ok(Json(synced.to_status())),
        Ok(None) => Err(payment_not_found(&payment_id)),
        Err(e) => {
            tracing::warn!(%payment_id, error = %e, "status: sync failed, answering from the database");
            Ok(Json(order.to_status()))
        }
    }
}

async fn prepare_billing_key(
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> Result<Json<BillingKeyPrepared>, ApiError> {
    let _req: portone_checkout::protocol::PrepareBillingKeyRequest =
        parse_optional_json(&body, "PrepareBillingKeyRequest")?;
    let issue_id = format!("issue-{}", uuid::Uuid::new_v4().simple());
    let issue_name = format!("정기구독 (월 {SUBSCRIPTION_PRICE}원)");
    state
        .db
        .insert_billing_issue(&issue_id, DEMO_CUSTOMER_ID, &issue_name)
        .await?;
    Ok(Json(BillingKeyPrepared {
        issue_id,
        issue_name,
        customer: demo_customer(),
    }))
}

fn subscription_json(row: SubscriptionRow) -> Subscription {
    Subscription {
        subscription_id: row.subscription_id,
        billing_key: row.billing_key,
        status: row.status,
        customer_id: row.customer_id,
    }
}

async fn register_billing_key(
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> Result<Json<Subscription>, ApiError> {
    let req: RegisterBillingKeyRequest = parse_json(&body, "RegisterBillingKeyRequest")?;
    let key = req.billing_key.as_str();
    if key.is_empty() || key.len() > 256 || key.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_billing_key",
            "billingKey must be 1 to 256 printable characters",
        ));
    }
    if key == "NEEDS_CONFIRMATION" {
        return Err(ApiError::bad_request(
            "billing_key_needs_confirmation",
            "billingKey NEEDS_CONFIRMATION is for manual-confirm channels, which this shop does not use",
        ));
    }
    if let Some(issue_id) = &req.issue_id {
        if !crate::routes::is_valid_id(issue_id) {
            return Err(ApiError::bad_request(
                "invalid_issue_id",
                "issueId must be 1 to 64 characters of A-Z, a-z, 0-9, '-' or '_'",
            ));
        }
        if state.db.billing_issue_customer(issue_id).await?.as_deref() != Some(DEMO_CUSTOMER_ID) {
            return Err(ApiError::bad_request(
                "unknown_issue_id",
                format!("issueId {issue_id:?} was not prepared for the signed-in customer"),
            ));
        }
    }
    let info = match state.portone.get_billing_key(key).await {
        Ok(info) => info,
        Err(e) if e.is_not_found() => {
            return Err(ApiError::not_found(
                "billing_key_not_found",
                "billingKey is not known to PortOne",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if info.status != "ISSUED" {
        return Err(ApiError::conflict(
            "billing_key_not_issued",
            format!("billingKey has status {} at PortOne, expected ISSUED", info.status),
        ));
    }
    if info.customer.id.as_deref() != Some(DEMO_CUSTOMER_ID) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "billing_key_customer_mismatch",
            "billingKey belongs to another customer than the signed-in one",
        ));
    }
    if let (Some(theirs), Some(ours)) = (&info.issue_id, &req.issue_id) {
        if theirs != ours {
            return Err(ApiError::bad_request(
                "issue_id_mismatch",
                "issueId does not match the issue the billing key was created for",
            ));
        }
    }
    let issue_id = req.issue_id.as_deref().or(info.issue_id.as_deref());
    let row = state.db.upsert_subscription(key, DEMO_CUSTOMER_ID, issue_id).await?;
    Ok(Json(subscription_json(row)))
}

async fn load_subscription(
    state: &AppState,
    path: Result<Path<String>, PathRejection>,
) -> Result<SubscriptionRow, ApiError> {
    let id = path_id(path, "invalid_subscription_id", "subscriptionId")?;
    state.db.subscription(&id).await?.ok_or_else(|| {
        ApiError::not_found(
            "subscription_not_found",
            format!("subscriptionId {id:?} is not a subscription of this shop"),
        )
    })
}

async fn subscription(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Subscription>, ApiError> {
    Ok(Json(subscription_json(load_subscription(&state, path).await?)))
}

async fn charge_subscription(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ChargeResult>, ApiError> {
    let sub = load_subscription(&state, path).await?;
    if sub.status != "ACTIVE" {
        return Err(ApiError::conflict(
            "subscription_inactive",
            "the subscription's billing key was deleted; register a new one",
        ));
    }
    let charge = BillingKeyCharge {
        billing_key: sub.billing_key.clone(),
        order_name: SUBSCRIPTION_ORDER_NAME.into(),
        customer: ChargeCustomer {
            id: sub.customer_id.clone(),
            full_name: DEMO_CUSTOMER_NAME.into(),
            phone_number: Some(DEMO_CUSTOMER_PHONE.into()),
            email: Some(DEMO_CUSTOMER_EMAIL.into()),
        },
        total_amount: SUBSCRIPTION_PRICE,
        currency: "KRW".into(),
    };
    let payment_id = format!("charge-{}", uuid::Uuid::new_v4().simple());
    state
        .db
        .insert_order(&NewOrder {
            payment_id: &payment_id,
            kind: "charge",
            order_name: &charge.order_name,
            total_amount: charge.total_amount,
            currency: &charge.currency,
            customer_id: &sub.customer_id,
            subscription_id: Some(&sub.subscription_id),
            items: &[],
        })
        .await?;
    let call = state.portone.pay_with_billing_key(&payment_id, &charge).await;
    // Whatever the call returned (even nothing), the payment's real state
    // is what PortOne reports now.
    let order = sync_payment(&state, &payment_id, true)
        .await?
        .ok_or_else(|| payment_not_found(&payment_id))?;
    let mut status = order.to_status().status;
    if status == OrderStatus::Pending {
        if let Err(e) = call {
            let failure = PaymentFailure {
                code: e.kind().map(str::to_owned),
                pg_code: None,
                message: e.to_string(),
            };
            state
                .db
                .transition(&payment_id, &["PENDING"], "FAILED", Some(&failure), None)
                .await?;
            status = OrderStatus::Failed;
        }
    }
    let next_charge_schedule_id = if status == OrderStatus::Paid {
        schedule_next(&state, &sub, &charge).await
    } else {
        None
    };
    Ok(Json(ChargeResult {
        payment_id,
        status,
        total_amount: charge.total_amount,
        currency: charge.currency,
        next_charge_schedule_id,
    }))
}

/// Schedules the next charge with PortOne; the scheduled payment is a
/// `PENDING` order whose webhook runs the usual sync.
async fn schedule_next(state: &AppState, sub: &SubscriptionRow, charge: &BillingKeyCharge) -> Option<String> {
    let next_id = format!("charge-{}", uuid::Uuid::new_v4().simple());
    let insert = state
        .db
        .insert_order(&NewOrder {
            payment_id: &next_id,
            kind: "charge",
            order_name: &charge.order_name,
            total_amount: charge.total_amount,
            currency: &charge.currency,
            customer_id: &sub.customer_id,
            subscription_id: Some(&sub.subscription_id),
            items: &[],
        })
        .await;
    if let Err(e) = insert {
        tracing::error!(error = %e, "could not store the next charge");
        return None;
    }
    let time_to_pay = (chrono::Utc::now() + chrono::Duration::days(CHARGE_INTERVAL_DAYS))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match state.portone.schedule_payment(&next_id, charge, &time_to_pay).await {
        Ok(schedule_id) => {
            if let Err(e) = state.db.set_schedule_id(&next_id, &schedule_id).await {
                tracing::error!(error = %e, "could not store the schedule id");
            }
            Some(schedule_id)
        }
        Err(e) => {
            tracing::warn!(error = %e, "scheduling the next charge failed");
            let _ = state.db.delete_pending_order(&next_id).await;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_origins_pass_the_default_cors_check() {
        assert!(is_loopback_origin("http://localhost:8081"));
        assert!(is_loopback_origin("http://127.0.0.1:8080"));
        assert!(is_loopback_origin("http://[::1]:3000"));
        assert!(is_loopback_origin("https://localhost"));
        assert!(!is_loopback_origin("http://localhost.evil.com"));
        assert!(!is_loopback_origin("http://127.0.0.1.evil.com:80"));
        assert!(!is_loopback_origin("https://shop.example.com"));
        assert!(!is_loopback_origin("null"));
    }

    #[test]
    fn ids_are_url_safe_and_bounded() {
        assert!(is_valid_id("order-0af3_x"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("../etc"));
        assert!(!is_valid_id("a b"));
        assert!(!is_valid_id(&"a".repeat(65)));
    }
}
