//! The sandbox's own HTTP conventions, shared by every router.
//!
//! - [`ApiError`]: the `{type, message}` error body (plus `pgCode`/`pgMessage`)
//!   of PortOne V2's REST API, which the admin routes and the not-found
//!   fallback reuse. A provider with another error envelope (PortOne V1's
//!   `{code, message, response}`, Toss Payments' `{code, message}`) renders
//!   its own and only shares [`read_json`].
//! - [`read_json`]: the JSON body reader (bodies over [`BODY_LIMIT`] are
//!   refused with 413, anything unreadable with 400) that reports a neutral
//!   [`BodyRejection`]; [`JsonBody`] is the extractor that answers it as an
//!   [`ApiError`] `INVALID_REQUEST`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// Largest accepted request body (every route; `DefaultBodyLimit` in `lib.rs`).
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// A PortOne-V2-shaped error: `{type, message}` with an HTTP status.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    pub pg: Option<(String, String)>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
            pg: None,
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }
    pub fn payment_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "PAYMENT_NOT_FOUND",
            "결제 건이 존재하지 않습니다.",
        )
    }
    pub fn billing_key_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "BILLING_KEY_NOT_FOUND",
            "빌링키가 존재하지 않습니다.",
        )
    }
    pub fn billing_key_deleted() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "BILLING_KEY_ALREADY_DELETED",
            "빌링키가 이미 삭제되었습니다.",
        )
    }
    pub fn already_paid() -> Self {
        Self::new(StatusCode::CONFLICT, "ALREADY_PAID", "결제가 이미 완료되었습니다.")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "type": self.kind, "message": self.message });
        if let Some((code, msg)) = self.pg {
            body["pgCode"] = Value::String(code);
            body["pgMessage"] = Value::String(msg);
        }
        (self.status, axum::Json(body)).into_response()
    }
}

/// Why a JSON body was refused: 413 (over [`BODY_LIMIT`]) or 400, and why.
/// Each provider renders it in its own error shape.
#[derive(Debug, Clone)]
pub(crate) struct BodyRejection {
    pub status: StatusCode,
    pub message: String,
}

/// Reads and parses a JSON request body (any `Content-Type`).
pub(crate) async fn read_json<T: DeserializeOwned, S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<T, BodyRejection> {
    let bytes = Bytes::from_request(req, state).await.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            BodyRejection {
                status,
                message: format!("request body is larger than {BODY_LIMIT} bytes"),
            }
        } else {
            BodyRejection {
                status: StatusCode::BAD_REQUEST,
                message: format!("could not read the request body: {e}"),
            }
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| BodyRejection {
        status: StatusCode::BAD_REQUEST,
        message: format!("invalid request body: {e}"),
    })
}

/// A JSON body parsed with PortOne-shaped errors (400/413 `INVALID_REQUEST`).
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(req, state)
            .await
            .map(JsonBody)
            .map_err(|e| ApiError::new(e.status, "INVALID_REQUEST", e.message))
    }
}
