//! HTTP handlers of the `/api` contract.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, get, post, MethodRouter};
use axum::Extension;
use axum::{Json, Router};
use portone_checkout::protocol::{
    check_id, routes as paths, BillingKeyPrepared, CompleteRequest, IdError, IssueId, OrderStatus, PaymentId,
    PaymentStatus, PgFailure, PreparedCustomer, PreparedPayment, RegisterBillingKeyRequest, Subscription,
    SubscriptionId, BILLING_KEYS_PATH, BILLING_KEYS_PREPARE_PATH, PAYMENTS_PATH, WEBHOOK_PATH,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::{KeyExtractor, SmartIpKeyExtractor};
use tower_governor::{GovernorError, GovernorLayer};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::timeout::TimeoutLayer;

use crate::db::{NewOrder, SubscriptionRow};
use crate::error::ApiError;
use crate::provider::{ProviderError, ProviderKind};
use crate::shop_api::{
    routes as shop_paths, ChannelConfig, ChargeResult, ClientConfig, PrepareItem, Product, CONFIG_PATH,
    IDEMPOTENCY_KEY_HEADER, PRODUCTS_PATH, V1_PREFIX, V1_WEBHOOK_PATH,
};
use crate::sync::{sync_payment, Synced};
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
/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

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

pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ApiError> {
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

/// Parses a path id into its type; the error names the field and the rule.
pub(crate) fn path_id<T>(
    path: Result<Path<String>, PathRejection>,
    code: &'static str,
    field: &'static str,
) -> Result<T, ApiError>
where
    T: TryFrom<String, Error = IdError>,
{
    let raw = path.map(|Path(id)| id).unwrap_or_default();
    T::try_from(raw).map_err(|e| {
        let message = match e {
            IdError::Empty { .. } => IdError::Empty { field }.to_string(),
            _ => format!("`{field}` must be 1 to 64 characters of A-Z, a-z, 0-9, '-' or '_'"),
        };
        ApiError::bad_request(code, message)
    })
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
        .allow_headers([header::CONTENT_TYPE, header::HeaderName::from_static("idempotency-key")])
}

/// The rate limiter's client key: the peer address, or the first
/// `X-Forwarded-For` / `Forwarded` address when configured to trust a
/// proxy. A router served without connect info puts every client in one
/// bucket rather than failing.
#[derive(Debug, Clone, Copy)]
struct ClientKey {
    trust_forwarded_for: bool,
}

impl KeyExtractor for ClientKey {
    type Key = IpAddr;

    fn extract<T>(&self, req: &http::Request<T>) -> Result<IpAddr, GovernorError> {
        if self.trust_forwarded_for {
            if let Ok(ip) = SmartIpKeyExtractor.extract(req) {
                return Ok(ip);
            }
        }
        Ok(req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()))
    }
}

fn too_many_requests(e: GovernorError) -> axum::response::Response {
    let wait = match &e {
        GovernorError::TooManyRequests { wait_time, .. } => *wait_time,
        _ => 1,
    };
    let mut res = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests from this client; retry in {wait} s"),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// The per-client rate limit for the routes that cost a PortOne call
/// (prepare, complete, charge), and the task that forgets idle clients.
type Limited = Box<dyn Fn(MethodRouter<AppState>) -> MethodRouter<AppState>>;
/// A background task to spawn.
pub(crate) type Task = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

fn rate_limit(state: &AppState) -> (Limited, Option<Task>) {
    let limits = &state.config.limits;
    let config = GovernorConfigBuilder::default()
        .period(limits.rate_refill)
        .burst_size(limits.rate_burst)
        .key_extractor(ClientKey {
            trust_forwarded_for: limits.trust_forwarded_for,
        })
        .finish();
    // A burst of 0 (or a zero period) means no limit.
    let Some(config) = config else {
        return (Box::new(|r| r), None);
    };
    let config = Arc::new(config);
    let limiter = config.limiter().clone();
    let cleanup = Box::pin(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter.retain_recent();
        }
    });
    let layer = GovernorLayer::new(config).error_handler(too_many_requests);
    (
        Box::new(move |r: MethodRouter<AppState>| r.layer(layer.clone())),
        Some(cleanup),
    )
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

/// The router and, when the rate limit is on, the task that keeps its
/// memory bounded (the caller spawns it).
pub(crate) fn router_with_cleanup(state: AppState) -> (Router, Option<Task>) {
    let (limited, cleanup) = rate_limit(&state);
    // The contract's routes for one provider: prepare, config and billing
    // keys use the mount's provider; a payment's routes use its order's.
    let mount = |kind: ProviderKind| {
        Router::new()
            .route(CONFIG_PATH, get(client_config))
            .route(PRODUCTS_PATH, get(products))
            .route(PAYMENTS_PATH, limited(post(prepare_payment)))
            .route(paths::PAYMENT, get(payment_status))
            .route(paths::COMPLETE, limited(post(complete_payment)))
            .route(BILLING_KEYS_PREPARE_PATH, post(prepare_billing_key))
            .route(BILLING_KEYS_PATH, post(register_billing_key))
            .route(shop_paths::SUBSCRIPTION, get(subscription))
            .route(shop_paths::SUBSCRIPTION_CHARGE, limited(post(charge_subscription)))
            .layer(Extension(kind))
    };
    let mut api = mount(ProviderKind::PortOneV2)
        .route(WEBHOOK_PATH, post(crate::webhook::receive))
        .route("/api", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found));
    // PortOne V1, when configured: the same contract under /v1, plus V1's
    // notice_url webhook.
    if state.config.portone_v1.is_some() {
        let v1 = mount(ProviderKind::PortOneV1)
            .route(V1_WEBHOOK_PATH, post(crate::webhook_v1::receive))
            .route("/api", any(api_not_found))
            .route("/api/{*rest}", any(api_not_found))
            .method_not_allowed_fallback(method_not_allowed);
        api = api.nest(V1_PREFIX, v1);
    }
    // Toss Payments, when configured: the same contract under /toss, plus
    // Toss's own webhook and admin routes.
    if state.config.toss.is_some() {
        let toss = crate::toss_routes::routes(mount(ProviderKind::Toss))
            .route("/api", any(api_not_found))
            .route("/api/{*rest}", any(api_not_found))
            .method_not_allowed_fallback(method_not_allowed);
        api = api.nest(crate::toss_routes::PREFIX, toss);
    }
    let api = api
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    let router = match &state.config.static_dir {
        Some(dir) => {
            // `.br`/`.gz` copies next to a file are sent to browsers that
            // accept them (a deployment's precompressed build); `.wasm`
            // goes out as `application/wasm`, so it compiles while it
            // streams in.
            let index = dir.join("index.html");
            api.fallback_service(
                ServeDir::new(dir)
                    .precompressed_br()
                    .precompressed_gzip()
                    .fallback(ServeFile::new(index).precompressed_br().precompressed_gzip()),
            )
        }
        None => api.fallback(api_not_found),
    };
    let timeout = TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.limits.request_timeout);
    // CORS outermost, so preflights (OPTIONS) are answered before routing.
    // Only loopback and configured origins get CORS headers.
    let router = router
        .layer(timeout)
        .layer(cors(state.config.cors_origins.clone()))
        .with_state(state);
    (router, cleanup)
}

/// The router (see [`router_with_cleanup`]; the rate limiter's memory is
/// then never trimmed, which suits tests and short-lived embeddings).
pub(crate) fn router(state: AppState) -> Router {
    router_with_cleanup(state).0
}

fn channel_label(pg: &str) -> String {
    if pg.starts_with("tosspay") {
        "토스페이".into()
    } else {
        pg.to_owned()
    }
}

async fn client_config(
    State(state): State<AppState>,
    Extension(kind): Extension<ProviderKind>,
) -> Result<Json<ClientConfig>, ApiError> {
    let mode = state.mode.as_str().to_owned();
    let provider = kind.as_str().to_owned();
    let no_provider = || ApiError::from(crate::sync::SyncError::NoProvider(kind.as_str()));
    let config = match kind {
        ProviderKind::PortOneV1 => {
            let (Some(v1), Some(sdk_url)) = (&state.config.portone_v1, state.config.v1_sdk_url()) else {
                return Err(no_provider());
            };
            ClientConfig {
                // V1 has no store id: the user code identifies the merchant.
                store_id: String::new(),
                channels: vec![ChannelConfig {
                    key: v1.channel_key.clone(),
                    pg: v1.pg_provider.clone(),
                    pay_method: "tosspay".into(),
                    label: channel_label(&v1.pg_provider),
                }],
                sdk_url,
                mode,
                provider,
                user_code: Some(v1.user_code.clone()),
                toss_client_key: None,
            }
        }
        ProviderKind::Toss => {
            let (Some(toss), Some(sdk_url)) = (&state.config.toss, state.config.toss_sdk_url()) else {
                return Err(no_provider());
            };
            // The client key only: the secret key never leaves the server.
            ClientConfig {
                store_id: String::new(),
                channels: Vec::new(),
                sdk_url,
                mode,
                provider,
                user_code: None,
                toss_client_key: Some(toss.client_key.clone()),
            }
        }
        _ => {
            let p = &state.config.portone;
            ClientConfig {
                store_id: p.store_id.clone(),
                channels: vec![ChannelConfig {
                    key: p.channel_key.clone(),
                    pg: p.channel_pg.clone(),
                    pay_method: "EASY_PAY".into(),
                    label: channel_label(&p.channel_pg),
                }],
                sdk_url: state.config.sdk_url(),
                mode,
                provider,
                user_code: None,
                toss_client_key: None,
            }
        }
    };
    Ok(Json(config))
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
        if check_id("productId", product_id).is_err() {
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
    Extension(kind): Extension<ProviderKind>,
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
    let payment_id = new_id_for::<PaymentId>(kind, "order")?;
    state
        .db
        .insert_order(&NewOrder {
            payment_id: payment_id.as_str(),
            kind: "checkout",
            order_name: &order_name,
            total_amount: total,
            currency: &currency,
            customer_id: DEMO_CUSTOMER_ID,
            subscription_id: None,
            items: &lines,
            due_at: None,
            schedule_state: None,
            provider: kind,
        })
        .await?;
    let provider = state.provider(kind)?;
    if let Err(e) = provider.pre_register(payment_id.as_str(), total, &currency).await {
        state.db.delete_pending_order(payment_id.as_str()).await?;
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

/// A fresh id `{prefix}-{32 hex digits}`.
fn new_id<T: TryFrom<String, Error = IdError>>(prefix: &str) -> Result<T, ApiError> {
    T::try_from(format!("{prefix}-{}", uuid::Uuid::new_v4().simple())).map_err(|e| {
        tracing::error!(error = %e, "generated an invalid id");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "retry later")
    })
}

/// A fresh id `{prefix}-{32 hex digits}` that `kind` accepts as an order's
/// id (at most 40 characters for PortOne V1's `merchant_uid`, which a V1
/// issuance's id becomes too).
fn new_id_for<T>(kind: ProviderKind, prefix: &str) -> Result<T, ApiError>
where
    T: TryFrom<String, Error = IdError> + AsRef<str>,
{
    let id = new_id::<T>(prefix)?;
    if !kind.accepts_payment_id(id.as_ref()) {
        tracing::error!(
            provider = kind.as_str(),
            id = id.as_ref(),
            "generated an id the provider does not accept"
        );
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "retry later",
        ));
    }
    Ok(id)
}

/// The order's status after a sync; when PortOne cannot be read, the
/// stored record, marked unverified (the checkout then shows "checking").
async fn synced_status(state: &AppState, payment_id: &PaymentId, force: bool) -> Result<PaymentStatus, ApiError> {
    match sync_payment(state, payment_id.as_str(), force).await {
        Ok(Some(synced)) => Ok(synced.to_status()),
        Ok(None) => Err(payment_not_found(payment_id)),
        Err(crate::sync::SyncError::Provider(e)) => {
            tracing::warn!(%payment_id, error = %e, "PortOne unreadable: answering the stored record, unverified");
            let order = state
                .db
                .order(payment_id.as_str())
                .await?
                .ok_or_else(|| payment_not_found(payment_id))?;
            Ok(Synced { order, verified: false }.to_status())
        }
        Err(e) => Err(e.into()),
    }
}

async fn complete_payment(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawBody(body): RawBody,
) -> Result<Json<PaymentStatus>, ApiError> {
    let payment_id: PaymentId = path_id(path, "invalid_payment_id", "paymentId")?;
    let hint: CompleteRequest = parse_optional_json(&body, "CompleteRequest")?;
    // Only a hint: logged, never trusted (the sync reads PortOne).
    let (code, pg_code) = hint
        .failure
        .as_ref()
        .map_or((None, None), |f| (f.code.as_deref(), f.pg_code.as_deref()));
    tracing::info!(%payment_id, tx_id = ?hint.tx_id, amount = ?hint.amount, ?code, ?pg_code, "complete requested");
    let status = synced_status(&state, &payment_id, false).await?;
    // The window's or the URL's amount is only compared, never used: the
    // provider's own amount is what the sync verified.
    if let Some(amount) = hint.amount.filter(|a| *a != status.total_amount) {
        tracing::warn!(%payment_id, hinted = amount, order = status.total_amount, "the reported amount differs from the order's; ignored");
    }
    Ok(Json(status))
}

fn payment_not_found(payment_id: &PaymentId) -> ApiError {
    ApiError::not_found(
        "payment_not_found",
        format!("paymentId {payment_id} is not an order of this shop"),
    )
}

async fn payment_status(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<PaymentStatus>, ApiError> {
    let payment_id: PaymentId = path_id(path, "invalid_payment_id", "paymentId")?;
    Ok(Json(synced_status(&state, &payment_id, false).await?))
}

async fn prepare_billing_key(
    State(state): State<AppState>,
    Extension(kind): Extension<ProviderKind>,
    RawBody(body): RawBody,
) -> Result<Json<BillingKeyPrepared>, ApiError> {
    let _req: portone_checkout::protocol::PrepareBillingKeyRequest =
        parse_optional_json(&body, "PrepareBillingKeyRequest")?;
    // PortOne V1 issues the key under the issuance id (its `customer_uid`
    // and the `merchant_uid` of the issue), so it must fit V1's ids too.
    let issue_id = new_id_for::<IssueId>(kind, "issue")?;
    let issue_name = format!("정기구독 (월 {SUBSCRIPTION_PRICE}원)");
    state
        .db
        .insert_billing_issue(issue_id.as_str(), DEMO_CUSTOMER_ID, &issue_name)
        .await?;
    Ok(Json(BillingKeyPrepared {
        issue_id,
        issue_name,
        customer: demo_customer(),
    }))
}

fn subscription_json(row: SubscriptionRow) -> Result<Subscription, ApiError> {
    Ok(Subscription {
        subscription_id: SubscriptionId::try_from(row.subscription_id).map_err(|e| {
            tracing::error!(error = %e, "a stored subscription id is invalid");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "retry later")
        })?,
        billing_key: row.billing_key,
        status: row.status,
        customer_id: row.customer_id,
    })
}

async fn register_billing_key(
    State(state): State<AppState>,
    Extension(kind): Extension<ProviderKind>,
    RawBody(body): RawBody,
) -> Result<Json<Subscription>, ApiError> {
    let req: RegisterBillingKeyRequest = parse_json(&body, "RegisterBillingKeyRequest")?;
    let key = match (req.billing_key.as_deref(), req.auth_key.as_deref()) {
        (Some(key), None) => key,
        (None, Some(auth_key)) => return issue_billing_key(&state, kind, auth_key, req.issue_id.as_ref()).await,
        (None, None) => {
            return Err(ApiError::bad_request(
                "invalid_json",
                "the RegisterBillingKeyRequest body needs billingKey (or authKey, for Toss Payments)",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_billing_key",
                "give either billingKey (PortOne) or authKey (Toss Payments), not both",
            ))
        }
    };
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
    check_issue(&state, req.issue_id.as_ref()).await?;
    let info = match state.provider(kind)?.read_billing_key(key).await {
        Ok(info) => info,
        Err(e) if e.is_not_supported() => {
            return Err(ApiError::bad_request(
                "billing_key_not_verifiable",
                "billingKey cannot be verified with this provider: send the authKey the billing window returned",
            ));
        }
        Err(e) if e.is_not_found() => {
            return Err(ApiError::not_found(
                "billing_key_not_found",
                "billingKey is not known to the payment provider",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if !info.issued {
        return Err(ApiError::conflict(
            "billing_key_not_issued",
            "billingKey is not usable at the payment provider (deleted or not issued)",
        ));
    }
    // A provider that does not report the key's customer (PortOne V1 keeps
    // TossPay's customer id PG-side) is answered by the issuance this shop
    // prepared for it.
    let owner = match info.customer_id.clone() {
        Some(c) => Some(c),
        None => match info.issue_id.as_deref() {
            Some(issue) => state.db.billing_issue_customer(issue).await?,
            None => None,
        },
    };
    if owner.as_deref() != Some(DEMO_CUSTOMER_ID) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "billing_key_customer_mismatch",
            "billingKey belongs to another customer than the signed-in one",
        ));
    }
    if let (Some(theirs), Some(ours)) = (&info.issue_id, &req.issue_id) {
        if theirs != ours.as_str() {
            return Err(ApiError::bad_request(
                "issue_id_mismatch",
                "issueId does not match the issue the billing key was created for",
            ));
        }
    }
    let issue_id = req.issue_id.as_ref().map(IssueId::as_str).or(info.issue_id.as_deref());
    let row = state
        .db
        .upsert_subscription(key, DEMO_CUSTOMER_ID, issue_id, kind)
        .await?;
    Ok(Json(subscription_json(row)?))
}

/// Checks that `issue_id` (when given) was prepared for the signed-in
/// customer.
async fn check_issue(state: &AppState, issue_id: Option<&IssueId>) -> Result<(), ApiError> {
    if let Some(issue_id) = issue_id {
        if state.db.billing_issue_customer(issue_id.as_str()).await?.as_deref() != Some(DEMO_CUSTOMER_ID) {
            return Err(ApiError::bad_request(
                "unknown_issue_id",
                format!("issueId {issue_id:?} was not prepared for the signed-in customer"),
            ));
        }
    }
    Ok(())
}

/// `POST /api/billing-keys {authKey}` (Toss Payments): the server exchanges
/// the authorisation for a billing key of its own signed-in customer (the
/// browser's `customerKey` is never used) and stores it. A retry with the
/// same `authKey` gets the same key (the issue is keyed by it).
async fn issue_billing_key(
    state: &AppState,
    kind: ProviderKind,
    auth_key: &str,
    issue_id: Option<&IssueId>,
) -> Result<Json<Subscription>, ApiError> {
    if auth_key.is_empty() || auth_key.len() > 256 || !auth_key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "invalid_auth_key",
            "authKey must be 1 to 256 visible ASCII characters",
        ));
    }
    check_issue(state, issue_id).await?;
    let issued = match state
        .provider(kind)?
        .issue_billing_key(auth_key, DEMO_CUSTOMER_ID)
        .await
    {
        Ok(issued) => issued,
        Err(e) if e.is_not_supported() => {
            return Err(ApiError::bad_request(
                "auth_key_not_supported",
                "authKey is not used by this provider: send the billingKey the billing window returned",
            ));
        }
        Err(e) if e.is_not_found() => {
            return Err(ApiError::not_found(
                "auth_key_not_found",
                "authKey is unknown to the payment provider or was already used",
            ));
        }
        Err(e) if e.kind() == Some("NOT_MATCHES_CUSTOMER_KEY") => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "billing_key_customer_mismatch",
                "authKey was given for another customer than the signed-in one",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if issued.customer_id != DEMO_CUSTOMER_ID {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "billing_key_customer_mismatch",
            "the billing key belongs to another customer than the signed-in one",
        ));
    }
    let row = state
        .db
        .upsert_subscription(
            &issued.billing_key,
            DEMO_CUSTOMER_ID,
            issue_id.map(IssueId::as_str),
            kind,
        )
        .await?;
    Ok(Json(subscription_json(row)?))
}

async fn load_subscription(
    state: &AppState,
    path: Result<Path<String>, PathRejection>,
) -> Result<SubscriptionRow, ApiError> {
    let id: SubscriptionId = path_id(path, "invalid_subscription_id", "subscriptionId")?;
    state.db.subscription(id.as_str()).await?.ok_or_else(|| {
        ApiError::not_found(
            "subscription_not_found",
            format!("subscriptionId {id} is not a subscription of this shop"),
        )
    })
}

async fn subscription(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Subscription>, ApiError> {
    Ok(Json(subscription_json(load_subscription(&state, path).await?)?))
}

/// The `Idempotency-Key` header: required, 1 to 255 visible ASCII
/// characters.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let key = headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    if key.is_empty() {
        return Err(ApiError::bad_request(
            "idempotency_key_required",
            format!(
                "the {IDEMPOTENCY_KEY_HEADER} header is required: send a new random key for each charge you mean to \
                 make, and the same key when you retry it"
            ),
        ));
    }
    if key.len() > MAX_IDEMPOTENCY_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            format!("{IDEMPOTENCY_KEY_HEADER} must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
        ));
    }
    Ok(key.to_owned())
}

/// What a charge call's own error means once PortOne was read again and
/// still shows no paid payment.
fn charge_refusal(e: &ProviderError) -> Option<PgFailure> {
    match e {
        // A definitive refusal before any payment (unknown or deleted key,
        // invalid request; a 4xx, or V1's refusal inside a 200): the charge
        // failed. PortOne's text is logged, never shown.
        ProviderError::Api { kind, .. } if e.is_refusal() => Some(PgFailure {
            code: Some(kind.clone()),
            message: Some("the charge could not be made with the registered payment method".into()),
            ..PgFailure::default()
        }),
        // No answer, a 5xx or an unreadable answer: unknown, retry with the
        // same key.
        _ => None,
    }
}

async fn charge_subscription(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ChargeResult>, ApiError> {
    let sub = load_subscription(&state, path).await?;
    let key = idempotency_key(&headers)?;
    if sub.status != "ACTIVE" {
        return Err(ApiError::conflict(
            "subscription_inactive",
            "the subscription's billing key was deleted or its last charge failed; register a payment method again",
        ));
    }
    let payment_id = new_id_for::<PaymentId>(sub.provider, "charge")?;
    let (payment_id, created) = state
        .db
        .claim_charge(
            &sub.subscription_id,
            &key,
            &NewOrder {
                payment_id: payment_id.as_str(),
                kind: "charge",
                order_name: SUBSCRIPTION_ORDER_NAME,
                total_amount: SUBSCRIPTION_PRICE,
                currency: "KRW",
                customer_id: &sub.customer_id,
                subscription_id: Some(&sub.subscription_id),
                items: &[],
                due_at: None,
                schedule_state: None,
                provider: sub.provider,
            },
        )
        .await?;
    let order = state
        .db
        .order(&payment_id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "retry later"))?;
    if !created {
        tracing::info!(%payment_id, "charge retried with the same idempotency key");
    }
    // A new key, or a retry whose first attempt left nothing decided: (re)send
    // the charge. Same paymentId, so PortOne pays it at most once.
    let mut call = Ok(());
    if order.status == "PENDING" {
        let charge = crate::subscription_charge(
            &sub,
            order.order_name.clone(),
            order.total_amount,
            order.currency.clone(),
        );
        call = state.provider(sub.provider)?.charge(&payment_id, &charge).await;
        if let Err(e) = &call {
            tracing::warn!(%payment_id, error = %e, "billing-key charge call failed; re-reading the payment");
        }
    }
    // Whatever the call returned (even nothing), the payment's real state is
    // what PortOne reports now.
    let synced = match sync_payment(&state, &payment_id, true).await {
        Ok(Some(s)) => s.order,
        Ok(None) => {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "retry later",
            ))
        }
        Err(e) => {
            tracing::warn!(%payment_id, error = %e, "the charge's outcome is unknown");
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "portone_unavailable",
                format!(
                    "the charge's outcome is not known yet; retry with the same {IDEMPOTENCY_KEY_HEADER} (it will not \
                     charge twice)"
                ),
            ));
        }
    };
    let mut status = OrderStatus::parse(&synced.status).unwrap_or(OrderStatus::Pending);
    if status == OrderStatus::Pending {
        if let Some(failure) = call.as_ref().err().and_then(charge_refusal) {
            state
                .db
                .transition(&payment_id, &["PENDING"], "FAILED", Some(&failure), None)
                .await?;
            status = OrderStatus::Failed;
        }
    }
    let next_charge_schedule_id = state
        .db
        .next_charge(&sub.subscription_id)
        .await?
        .and_then(|o| o.schedule_id);
    let payment_id = PaymentId::try_from(payment_id).map_err(|e| {
        tracing::error!(error = %e, "a stored payment id is invalid");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "retry later")
    })?;
    Ok(Json(ChargeResult {
        payment_id,
        status,
        total_amount: synced.total_amount,
        currency: synced.currency,
        next_charge_schedule_id,
    }))
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

    /// Found by the chaos soak (seed 16016): two retries of one V1 charge,
    /// both refused as "too fast" (429), marked the charge `FAILED` though
    /// nothing was charged or refused; every later retry with that key
    /// answered `FAILED` and the charge was never made. A refusal about
    /// timing leaves the outcome unknown (502, retry with the same key).
    #[test]
    fn only_a_definitive_refusal_fails_a_charge() {
        let api = |status, kind: &str| ProviderError::Api {
            status,
            kind: kind.into(),
            message: String::new(),
        };
        assert!(charge_refusal(&api(400, "BILLING_KEY_NOT_FOUND")).is_some());
        assert!(charge_refusal(&api(200, "V1_CODE_1")).is_some());
        assert!(charge_refusal(&api(429, "V1_CODE_-1")).is_none());
        assert!(charge_refusal(&api(403, "FORBIDDEN_CONSECUTIVE_REQUEST")).is_none());
        assert!(charge_refusal(&api(409, "IDEMPOTENT_REQUEST_PROCESSING")).is_none());
        assert!(charge_refusal(&api(500, "INTERNAL")).is_none());
    }

    #[test]
    fn idempotency_keys_are_required_and_bounded() {
        let mut h = HeaderMap::new();
        assert_eq!(idempotency_key(&h).map_err(|e| e.code), Err("idempotency_key_required"));
        h.insert("idempotency-key", HeaderValue::from_static("charge-1"));
        assert_eq!(idempotency_key(&h), Ok("charge-1".to_owned()));
        h.insert("idempotency-key", HeaderValue::from_static("a b"));
        assert_eq!(idempotency_key(&h).map_err(|e| e.code), Err("invalid_idempotency_key"));
    }
}
