//! `POST /v1/api/webhooks/portone-v1` (`shop_api::V1_PREFIX` +
//! `shop_api::V1_WEBHOOK_PATH`): PortOne V1's `notice_url` webhook,
//! `{imp_uid, merchant_uid, status}` as JSON or form-encoded.
//!
//! V1 webhooks are **unsigned**: anyone can post one. So the body is only a
//! trigger: its `merchant_uid` names what to re-read, and the same sync as
//! the browser's `complete` reads the payment from PortOne V1 and decides.
//! `status` and `imp_uid` are logged and never trusted; a forged webhook
//! changes nothing. A TossPay billing-key issue is notified as the
//! issuance's 0-won payment: its `merchant_uid` is the issuance id the
//! checkout used as `customer_uid`, so the key is read by that.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use portone_checkout::protocol::PaymentId;
use portone_checkout::return_url::Query;
use serde_json::Value;

use crate::db::STATUS_CANCELLING;
use crate::error::ApiError;
use crate::provider::ProviderKind;
use crate::routes::RawBody;
use crate::sync::{sync_billing_key, sync_payment};
use crate::AppState;

/// The fields of a V1 webhook, read at the edge.
#[derive(Debug, PartialEq, Eq)]
struct Notice {
    merchant_uid: PaymentId,
    imp_uid: Option<String>,
    status: Option<String>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_webhook", message)
}

/// Reads `{imp_uid, merchant_uid, status}` from a JSON object or a form
/// body; `merchant_uid` must be an order id of this shop's shape.
fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Notice, ApiError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().starts_with("application/x-www-form-urlencoded"));
    let field: Box<dyn Fn(&'static str) -> Result<Option<String>, ApiError>> = if form {
        let text = std::str::from_utf8(body).map_err(|_| invalid("the form body is not UTF-8"))?;
        let q = Query::parse(text);
        Box::new(move |k| Ok(q.raw(&[k]).map(str::to_owned)))
    } else {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| invalid(format!("the body is not a V1 webhook JSON object: {e}")))?;
        let Value::Object(o) = v else {
            return Err(invalid(
                "the body must be a JSON object {imp_uid, merchant_uid, status}",
            ));
        };
        Box::new(move |k| match o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(format!("`{k}` must be a string"))),
        })
    };
    let merchant_uid = field("merchant_uid")?.ok_or_else(|| invalid("`merchant_uid` is required"))?;
    let merchant_uid = PaymentId::parse(&merchant_uid).map_err(|_| {
        invalid("`merchant_uid` must be 1 to 64 characters of A-Z, a-z, 0-9, '-' or '_' (an order id of this shop)")
    })?;
    let short = |s: String| s.chars().take(128).collect::<String>();
    Ok(Notice {
        merchant_uid,
        imp_uid: field("imp_uid")?.map(short),
        status: field("status")?.map(short),
    })
}

pub(crate) async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<StatusCode, ApiError> {
    let notice = parse(&headers, &body)?;
    let id = notice.merchant_uid.as_str();
    // Only a hint: logged, never trusted.
    tracing::info!(merchant_uid = id, imp_uid = ?notice.imp_uid, status = ?notice.status, "PortOne V1 webhook");
    match state.db.order(id).await? {
        Some(order) if order.provider == ProviderKind::PortOneV1 => match sync_payment(&state, id, true).await? {
            // A cancel this server started is not confirmed yet: answer
            // non-2xx so that a retrying sender delivers again (the
            // reconciler retries the cancel meanwhile).
            Some(synced) if synced.order.status == STATUS_CANCELLING => {
                tracing::warn!(
                    merchant_uid = id,
                    "cancel not confirmed yet; asking PortOne V1 to redeliver"
                );
                Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "cancel_pending",
                    "a cancel of this payment is not confirmed by PortOne yet; deliver again later",
                ))
            }
            _ => Ok(StatusCode::OK),
        },
        Some(_) => {
            tracing::info!(merchant_uid = id, "V1 webhook for an order of another provider ignored");
            Ok(StatusCode::OK)
        }
        None if state.db.billing_issue_customer(id).await?.is_some() => {
            // A TossPay billing-key issue: the issuance id is the customer_uid.
            sync_billing_key(&state, ProviderKind::PortOneV1, id).await?;
            Ok(StatusCode::OK)
        }
        None => {
            tracing::info!(merchant_uid = id, "V1 webhook for an unknown order ignored");
            Ok(StatusCode::OK)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, ct.parse().expect("header"));
        h
    }

    #[test]
    fn a_json_webhook_is_read_into_its_typed_fields() {
        let n = parse(
            &headers("application/json"),
            br#"{"imp_uid":"imp_1","merchant_uid":"order-1","status":"paid"}"#,
        )
        .expect("a notice");
        assert_eq!(n.merchant_uid, "order-1");
        assert_eq!(
            (n.imp_uid.as_deref(), n.status.as_deref()),
            (Some("imp_1"), Some("paid"))
        );
    }

    #[test]
    fn a_form_webhook_is_read_too() {
        let n = parse(
            &headers("application/x-www-form-urlencoded; charset=utf-8"),
            b"imp_uid=imp_1&merchant_uid=order-2&status=cancelled",
        )
        .expect("a notice");
        assert_eq!(n.merchant_uid, "order-2");
        assert_eq!(n.status.as_deref(), Some("cancelled"));
    }

    #[test]
    fn a_webhook_without_a_valid_merchant_uid_is_refused_naming_the_field() {
        for body in [
            &br#"{"imp_uid":"imp_1","status":"paid"}"#[..],
            br#"{"merchant_uid":"../charge","status":"paid"}"#,
            br#"{"merchant_uid":7}"#,
            br#"[1]"#,
            b"not json",
        ] {
            let e = parse(&headers("application/json"), body).expect_err("refused");
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert_eq!(e.code, "invalid_webhook");
        }
        let e = parse(&headers("application/json"), br#"{"status":"paid"}"#).expect_err("refused");
        assert!(e.message.contains("merchant_uid"), "{e}");
    }
}
