//! Typed errors and their `{error, message}` JSON responses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use portone_checkout::protocol::ErrorBody;

use crate::provider::ProviderError;

/// An error a handler returns: an HTTP status, a stable snake_case code and a
/// sentence for the developer. Rendered as [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code (`ErrorBody::error`).
    pub code: &'static str,
    /// Sentence naming the field and the rule (`ErrorBody::message`).
    pub message: String,
}

impl ApiError {
    /// Builds an error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 with `code`.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 409 with `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_owned(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        tracing::error!(error = %err, "database error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "database_error",
            "the order database could not be read or written; retry later",
        )
    }
}

impl From<ProviderError> for ApiError {
    fn from(err: ProviderError) -> Self {
        tracing::warn!(error = %err, "PortOne call failed");
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "portone_unavailable",
            "the payment provider could not be reached or refused the request; the order is unchanged, retry later",
        )
    }
}

impl From<crate::sync::SyncError> for ApiError {
    fn from(err: crate::sync::SyncError) -> Self {
        match err {
            crate::sync::SyncError::Db(e) => e.into(),
            crate::sync::SyncError::Provider(e) => e.into(),
            crate::sync::SyncError::NoProvider(kind) => {
                tracing::error!(provider = kind, "an order's provider is not configured");
                ApiError::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "provider_not_configured",
                    "this order's payment provider is not configured on the server",
                )
            }
        }
    }
}
