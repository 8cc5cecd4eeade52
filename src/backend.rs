//! The merchant backend as the checkout sees it (feature `components`).
//!
//! Two seams, so a shop that only takes payments implements only payments:
//! [`PaymentBackend`] (prepare, complete, status) and [`BillingBackend`]
//! (billing keys). [`HttpBackend`] implements both over `fetch` for any
//! backend serving the contract in [`crate::protocol`]; tests script their
//! own. [`with_retries`] adds a timeout per call and bounded retries with
//! backoff on network errors, timeouts, 408, 429 and 5xx.

use crate::protocol::{
    complete_path, payment_path, BillingKeyPrepared, CompleteRequest, ErrorBody, OrderJson, PaymentId, PaymentStatus,
    PreparedPayment, RegisterBillingKeyRequest, Subscription, BILLING_KEYS_PATH, BILLING_KEYS_PREPARE_PATH,
    PAYMENTS_PATH,
};
use futures::future::{select, Either, LocalBoxFuture};
use std::future::Future;

/// Why a backend call did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The request did not reach the backend (offline, refused, CORS).
    #[error("could not reach the merchant backend: {0}")]
    Network(String),
    /// No answer in time.
    #[error("the merchant backend did not answer within {0} ms")]
    Timeout(u32),
    /// An HTTP error status, with the backend's `{error, message}` if any.
    #[error("the merchant backend answered HTTP {status} ({error}): {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The `error` code of the body (`""` if none).
        error: String,
        /// The `message` of the body, or the raw text.
        message: String,
    },
    /// A success status whose body is not the expected JSON.
    #[error("the merchant backend's answer could not be read: {0}")]
    Decode(String),
}

impl BackendError {
    /// Whether trying again may help: network errors, timeouts, 408, 429
    /// and 5xx. An answer that could not be read is not retried: the request
    /// reached a server that answered something else than the contract (a
    /// wrong route, a proxy), and repeating a POST there could repeat its
    /// effect.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Network(_) | Self::Timeout(_) => true,
            Self::Decode(_) => false,
            Self::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
        }
    }

    /// The backend's message for a definitive refusal (4xx), for the customer.
    pub fn refusal_message(&self) -> Option<&str> {
        match self {
            Self::Status { message, .. } if !self.is_transient() => Some(message),
            _ => None,
        }
    }
}

/// The payments half of the merchant backend, as the hooks use it. Futures
/// are local (`JsValue`s are not `Send`); the backend object itself is
/// shareable.
pub trait PaymentBackend: Send + Sync {
    /// `POST /api/payments` with the merchant's order.
    fn prepare_payment<'a>(&'a self, order: &'a OrderJson)
        -> LocalBoxFuture<'a, Result<PreparedPayment, BackendError>>;
    /// `POST /api/payments/{paymentId}/complete`.
    fn complete_payment<'a>(
        &'a self,
        payment_id: &'a PaymentId,
        body: &'a CompleteRequest,
    ) -> LocalBoxFuture<'a, Result<PaymentStatus, BackendError>>;
    /// `GET /api/payments/{paymentId}`.
    fn payment_status<'a>(
        &'a self,
        payment_id: &'a PaymentId,
    ) -> LocalBoxFuture<'a, Result<PaymentStatus, BackendError>>;
}

/// The billing-key half of the merchant backend.
pub trait BillingBackend: Send + Sync {
    /// `POST /api/billing-keys/prepare`.
    fn prepare_billing_key(&self) -> LocalBoxFuture<'_, Result<BillingKeyPrepared, BackendError>>;
    /// `POST /api/billing-keys`.
    fn register_billing_key<'a>(
        &'a self,
        body: &'a RegisterBillingKeyRequest,
    ) -> LocalBoxFuture<'a, Result<Subscription, BackendError>>;
}

/// Timeouts and retries of backend calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included. Default: 3.
    pub attempts: u32,
    /// The first backoff delay, doubled after each retry. Default: 500 ms.
    pub base_delay_ms: u32,
    /// The timeout of each attempt. Default: 10 000 ms.
    pub timeout_ms: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            base_delay_ms: 500,
            timeout_ms: 10_000,
        }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt number `attempt` (0-based), at most 8 s.
    pub fn delay_ms(&self, attempt: u32) -> u32 {
        self.base_delay_ms.saturating_mul(1 << attempt.min(10)).min(8_000)
    }
}

/// Runs `call` with a timeout per attempt and retries transient errors with
/// backoff; `sleep(ms)` waits (a timer in the browser, instant in tests).
pub async fn with_retries<T, C, CF, S, SF>(policy: &RetryPolicy, mut call: C, sleep: S) -> Result<T, BackendError>
where
    C: FnMut() -> CF,
    CF: Future<Output = Result<T, BackendError>>,
    S: Fn(u32) -> SF,
    SF: Future<Output = ()>,
{
    let attempts = policy.attempts.max(1);
    let mut attempt = 0;
    loop {
        let answer = match select(Box::pin(call()), Box::pin(sleep(policy.timeout_ms))).await {
            Either::Left((answer, _)) => answer,
            Either::Right(_) => Err(BackendError::Timeout(policy.timeout_ms)),
        };
        match answer {
            Err(e) if e.is_transient() && attempt + 1 < attempts => {
                sleep(policy.delay_ms(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// The default backend: JSON over `fetch` ([`fetch_text`]) at `base_url` (empty:
/// the page's own origin).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpBackend {
    /// The backend's origin, e.g. `https://shop.example` (no trailing `/`).
    pub base_url: String,
}

impl HttpBackend {
    /// A backend at `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_string(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }
}

impl PaymentBackend for HttpBackend {
    fn prepare_payment<'a>(
        &'a self,
        order: &'a OrderJson,
    ) -> LocalBoxFuture<'a, Result<PreparedPayment, BackendError>> {
        Box::pin(async move { decode(&fetch_text("POST", &self.url(PAYMENTS_PATH), &[], Some(order.as_str())).await?) })
    }

    fn complete_payment<'a>(
        &'a self,
        payment_id: &'a PaymentId,
        body: &'a CompleteRequest,
    ) -> LocalBoxFuture<'a, Result<PaymentStatus, BackendError>> {
        Box::pin(async move { post_json(&self.url(&complete_path(payment_id)), body).await })
    }

    fn payment_status<'a>(
        &'a self,
        payment_id: &'a PaymentId,
    ) -> LocalBoxFuture<'a, Result<PaymentStatus, BackendError>> {
        Box::pin(async move { get_json(&self.url(&payment_path(payment_id))).await })
    }
}

impl BillingBackend for HttpBackend {
    fn prepare_billing_key(&self) -> LocalBoxFuture<'_, Result<BillingKeyPrepared, BackendError>> {
        Box::pin(async move {
            post_json(
                &self.url(BILLING_KEYS_PREPARE_PATH),
                &crate::protocol::PrepareBillingKeyRequest {},
            )
            .await
        })
    }

    fn register_billing_key<'a>(
        &'a self,
        body: &'a RegisterBillingKeyRequest,
    ) -> LocalBoxFuture<'a, Result<Subscription, BackendError>> {
        Box::pin(async move { post_json(&self.url(BILLING_KEYS_PATH), body).await })
    }
}

/// Reads an error answer: the contract's `{error, message}` or raw text.
pub fn status_error(status: u16, text: &str) -> BackendError {
    match serde_json::from_str::<ErrorBody>(text) {
        Ok(b) => BackendError::Status {
            status,
            error: b.error,
            message: b.message,
        },
        Err(_) => BackendError::Status {
            status,
            error: String::new(),
            message: text.chars().take(200).collect(),
        },
    }
}

/// Sends one request to `url` with JSON `body` (if any) and `headers`,
/// and returns the body of a 2xx answer as text; anything else is the typed
/// [`BackendError`] (a 4xx/5xx read as the contract's `{error, message}`).
/// What [`HttpBackend`] uses for every call; a shop's own routes can use it
/// too (with [`decode`]).
pub async fn fetch_text(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<String, BackendError> {
    let mut all = vec![("Accept", "application/json")];
    if body.is_some() {
        all.push(("Content-Type", "application/json"));
    }
    all.extend_from_slice(headers);
    let answer = crate::dom::fetch(method, url, &all, body)
        .await
        .map_err(BackendError::Network)?;
    if (200..300).contains(&answer.status) {
        Ok(answer.text)
    } else {
        Err(status_error(answer.status, &answer.text))
    }
}

/// Reads a 2xx answer's JSON as `T` ([`BackendError::Decode`] otherwise).
pub fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, BackendError> {
    serde_json::from_str(text).map_err(|e| BackendError::Decode(e.to_string()))
}

/// `GET url`, read as `T`.
pub async fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T, BackendError> {
    decode(&fetch_text("GET", url, &[], None).await?)
}

/// `POST url` with `body` as JSON, read as `T`.
pub async fn post_json<T: serde::de::DeserializeOwned>(
    url: &str,
    body: &(impl serde::Serialize + ?Sized),
) -> Result<T, BackendError> {
    let json = serde_json::to_string(body).map_err(|e| BackendError::Decode(format!("request body: {e}")))?;
    decode(&fetch_text("POST", url, &[], Some(&json)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use std::cell::Cell;

    fn no_wait(_: u32) -> futures::future::Ready<()> {
        futures::future::ready(())
    }

    /// A sleeper for tests: backoff waits are instant, the timeout timer
    /// (`RetryPolicy::default().timeout_ms`) never fires.
    fn never(ms: u32) -> futures::future::Either<futures::future::Ready<()>, futures::future::Pending<()>> {
        if ms == RetryPolicy::default().timeout_ms {
            futures::future::Either::Right(futures::future::pending())
        } else {
            futures::future::Either::Left(futures::future::ready(()))
        }
    }

    #[test]
    fn transient_errors_are_retried_then_succeed() {
        let calls = Cell::new(0);
        let r = block_on(with_retries(
            &RetryPolicy::default(),
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n < 3 {
                        Err(BackendError::Status {
                            status: 503,
                            error: String::new(),
                            message: "busy".into(),
                        })
                    } else {
                        Ok(n)
                    }
                }
            },
            never,
        ));
        assert_eq!(r, Ok(3));
    }

    #[test]
    fn retries_are_bounded() {
        let calls = Cell::new(0);
        let policy = RetryPolicy {
            attempts: 4,
            ..RetryPolicy::default()
        };
        let r: Result<(), _> = block_on(with_retries(
            &policy,
            || {
                calls.set(calls.get() + 1);
                async { Err(BackendError::Network("refused".into())) }
            },
            never,
        ));
        assert_eq!(r, Err(BackendError::Network("refused".into())));
        assert_eq!(calls.get(), 4);
    }

    #[test]
    fn definitive_refusals_are_not_retried() {
        let calls = Cell::new(0);
        let r: Result<(), _> = block_on(with_retries(
            &RetryPolicy::default(),
            || {
                calls.set(calls.get() + 1);
                async {
                    Err(status_error(
                        404,
                        r#"{"error":"order_not_found","message":"주문이 없습니다"}"#,
                    ))
                }
            },
            never,
        ));
        assert_eq!(calls.get(), 1);
        let e = r.err().unwrap_or(BackendError::Timeout(0));
        assert_eq!(e.refusal_message(), Some("주문이 없습니다"));
        assert!(!e.is_transient());
    }

    #[test]
    fn an_unreadable_answer_to_a_post_is_not_retried() {
        let calls = Cell::new(0);
        let r: Result<(), _> = block_on(with_retries(
            &RetryPolicy::default(),
            || {
                calls.set(calls.get() + 1);
                async { Err(BackendError::Decode("expected PaymentStatus".into())) }
            },
            never,
        ));
        assert_eq!(calls.get(), 1);
        assert!(matches!(r, Err(BackendError::Decode(_))));
    }

    #[test]
    fn a_call_that_never_answers_times_out() {
        let policy = RetryPolicy {
            attempts: 2,
            ..RetryPolicy::default()
        };
        let r: Result<(), _> = block_on(with_retries(&policy, futures::future::pending, no_wait));
        assert_eq!(r, Err(BackendError::Timeout(10_000)));
    }

    #[test]
    fn errors_are_classified() {
        for (s, transient) in [
            (500, true),
            (502, true),
            (429, true),
            (408, true),
            (400, false),
            (404, false),
            (409, false),
        ] {
            assert_eq!(status_error(s, "").is_transient(), transient, "{s}");
        }
        // An unreadable answer is not retried: repeating a POST that reached
        // something else than the contract could repeat its effect.
        assert!(!BackendError::Decode("x".into()).is_transient());
        let raw = status_error(502, "<html>Bad Gateway</html>");
        assert!(matches!(raw, BackendError::Status { message, .. } if message.contains("Bad Gateway")));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(
            (0..6).map(|a| p.delay_ms(a)).collect::<Vec<_>>(),
            [500, 1000, 2000, 4000, 8000, 8000]
        );
    }

    #[test]
    fn urls_join_without_double_slashes() {
        let b = HttpBackend::new("http://127.0.0.1:8080/");
        assert_eq!(b.url(PAYMENTS_PATH), "http://127.0.0.1:8080/api/payments");
        assert_eq!(HttpBackend::default().url(PAYMENTS_PATH), "/api/payments");
    }
}
