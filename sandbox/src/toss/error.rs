//! Toss Payments' error envelope `{code, message}` with an HTTP status, used
//! by its REST API, its SDK-support routes (the SDK rejects with the same
//! `{code, message}`) and its admin drivers; and [`TossJson`], the body
//! extractor that answers unreadable bodies as 400 `INVALID_REQUEST` (413 for
//! bodies over the shared limit).

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::api::read_json;

/// A Toss error: `{code, message}` with an HTTP status.
#[derive(Debug, Clone)]
pub(crate) struct TossError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl TossError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        TossError {
            status,
            code,
            message: message.into(),
        }
    }
    /// 400 `INVALID_REQUEST` with a reason.
    pub fn invalid(reason: impl AsRef<str>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            format!("잘못된 요청입니다. ({})", reason.as_ref()),
        )
    }
    /// An SDK-side rejection (400, the SDK rejects its promise with `{code, message}`).
    pub fn sdk(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found_payment() -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 입니다.")
    }
    pub fn not_found_session() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND_PAYMENT_SESSION",
            "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.",
        )
    }
    pub fn duplicated_order_id() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "DUPLICATED_ORDER_ID",
            "이미 승인 및 취소가 진행된 중복된 주문번호 입니다. 다른 주문번호로 진행해주세요.",
        )
    }
    pub fn rejected_by_card_company() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "REJECT_CARD_COMPANY",
            "결제 승인이 거절되었습니다.",
        )
    }
}

impl IntoResponse for TossError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "code": self.code, "message": self.message }))).into_response()
    }
}

/// A JSON body whose rejections answer as Toss errors.
pub(crate) struct TossJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for TossJson<T> {
    type Rejection = TossError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(req, state).await.map(TossJson).map_err(|e| TossError {
            status: e.status,
            code: "INVALID_REQUEST",
            message: format!("잘못된 요청입니다. ({})", e.message),
        })
    }
}
