//! PortOne V1's JSON views of its records: the REST `Payment` (snake_case,
//! unix-second timestamps, `0` when a time is not set, `custom_data` as a
//! JSON string), `cancel_history[]` entries, the billing-key `Customer`, the
//! scheduled charge, and the browser SDK's callback object.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::records::{V1Cancel, V1Customer, V1Payment, V1Schedule, V1Status};

/// Unix seconds, `0` for none (V1's convention).
pub(crate) fn unix(t: Option<DateTime<Utc>>) -> i64 {
    t.map_or(0, |t| t.timestamp())
}

/// The sandbox's receipt URL for a payment (never a real page).
pub(crate) fn receipt_url(imp_uid: &str) -> String {
    format!("https://sandbox.invalid/v1/receipts/{imp_uid}")
}

fn cancel(c: &V1Cancel) -> Value {
    json!({
        "pg_tid": c.pg_tid,
        "amount": c.amount,
        "cancelled_at": c.cancelled_at.timestamp(),
        "reason": c.reason,
        "cancellation_id": c.cancellation_id,
        "receipt_url": format!("https://sandbox.invalid/v1/receipts/{}/cancel/{}", c.pg_tid, c.cancellation_id),
    })
}

/// `Payment` as `GET /payments/{imp_uid}` returns it.
pub(crate) fn payment(p: &V1Payment) -> Value {
    let paid_once = p.status.was_paid();
    json!({
        "imp_uid": p.imp_uid,
        "merchant_uid": p.merchant_uid,
        "pay_method": p.pay_method,
        "channel": p.channel,
        "pg_provider": p.pg_provider,
        "emb_pg_provider": null,
        "pg_tid": p.pg_tid,
        "pg_id": p.pg_id,
        "escrow": false,
        "apply_num": if paid_once { Some(format!("{:08}", p.seq)) } else { None },
        "bank_code": null,
        "bank_name": null,
        "card_code": null,
        "card_name": null,
        "card_quota": 0,
        "card_number": null,
        "card_type": null,
        "vbank_code": null,
        "vbank_name": null,
        "vbank_num": null,
        "vbank_holder": null,
        "vbank_date": 0,
        "vbank_issued_at": 0,
        "name": p.name,
        "amount": p.amount,
        "cancel_amount": p.cancel_amount(),
        "currency": p.currency,
        "buyer_name": p.buyer.name,
        "buyer_email": p.buyer.email,
        "buyer_tel": p.buyer.tel,
        "buyer_addr": p.buyer.addr,
        "buyer_postcode": p.buyer.postcode,
        "custom_data": p.custom_data,
        "user_agent": p.user_agent.clone().unwrap_or_else(|| "sorry_not_supported_anymore".into()),
        "status": p.status.as_str(),
        "started_at": p.started_at.timestamp(),
        "paid_at": unix(p.paid_at),
        "failed_at": unix(p.failed_at),
        "cancelled_at": unix(p.cancelled_at),
        "fail_reason": p.fail_reason,
        "cancel_reason": p.cancel_reason,
        "receipt_url": if paid_once { Some(receipt_url(&p.imp_uid)) } else { None },
        "cancel_history": p.cancellations.iter().map(cancel).collect::<Vec<_>>(),
        "cancel_receipt_urls": p.cancellations.iter().map(|c| cancel(c)["receipt_url"].clone()).collect::<Vec<_>>(),
        "cash_receipt_issued": false,
        "customer_uid": p.customer_uid,
        "customer_uid_usage": p.customer_uid_usage,
    })
}

/// The billing-key holder as `GET /subscribe/customers/{customer_uid}` returns it.
pub(crate) fn customer(c: &V1Customer) -> Value {
    json!({
        "customer_uid": c.customer_uid,
        "pg_provider": c.pg_provider,
        "pg_id": c.pg_id,
        "pay_method": c.pay_method,
        "customer_id": c.customer_id,
        "card_name": null,
        "card_code": null,
        "card_number": null,
        "card_type": null,
        "customer_name": c.buyer.name,
        "customer_tel": c.buyer.tel,
        "customer_email": c.buyer.email,
        "customer_addr": c.buyer.addr,
        "customer_postcode": c.buyer.postcode,
        "inserted": c.inserted.timestamp(),
        "updated": c.updated.timestamp(),
    })
}

/// A scheduled charge (`POST|GET /subscribe/payments/schedule...`, `unschedule`).
pub(crate) fn schedule(x: &V1Schedule) -> Value {
    let status = match x.status.as_str() {
        // Being charged right now still reads `scheduled`.
        "executing" => "scheduled",
        other => other,
    };
    json!({
        "customer_uid": x.customer_uid,
        "merchant_uid": x.merchant_uid,
        "imp_uid": x.imp_uid,
        "schedule_at": x.schedule_at.timestamp(),
        "executed_at": unix(x.executed_at),
        "revoked_at": unix(x.revoked_at),
        "amount": x.amount,
        "name": x.name,
        "buyer_name": x.buyer.name,
        "buyer_email": x.buyer.email,
        "buyer_tel": x.buyer.tel,
        "buyer_addr": x.buyer.addr,
        "buyer_postcode": x.buyer.postcode,
        "custom_data": x.custom_data,
        "schedule_status": status,
        "payment_status": x.payment_status,
        "fail_reason": x.fail_reason,
    })
}

/// The object `IMP.request_pay` passes to its callback for a payment that
/// reached the window. `error` is `(error_code, error_msg)` for a failure.
pub(crate) fn callback(p: &V1Payment, error: Option<(&str, &str)>) -> Value {
    let ok = error.is_none() && p.status == V1Status::Paid;
    let mut v = json!({
        "success": ok,
        "imp_success": ok,
        "imp_uid": p.imp_uid,
        "merchant_uid": p.merchant_uid,
        "pay_method": p.pay_method,
        "paid_amount": if p.status == V1Status::Paid { p.amount } else { 0 },
        "status": p.status.as_str(),
        "name": p.name,
        "pg_provider": p.pg_provider,
        "pg_type": "payment",
        "pg_tid": p.pg_tid,
        "currency": p.currency,
        "buyer_name": p.buyer.name,
        "buyer_email": p.buyer.email,
        "buyer_tel": p.buyer.tel,
        "buyer_addr": p.buyer.addr,
        "buyer_postcode": p.buyer.postcode,
        "custom_data": p.custom_data.as_deref().map(|c| serde_json::from_str::<Value>(c).unwrap_or(Value::String(c.to_owned()))),
        "paid_at": unix(p.paid_at),
        "receipt_url": if p.status == V1Status::Paid { Some(receipt_url(&p.imp_uid)) } else { None },
        "apply_num": null,
        "card_name": null,
        "card_number": null,
        "card_quota": 0,
        "error_code": null,
        "error_msg": null,
    });
    if let Some(c) = &p.customer_uid {
        v["customer_uid"] = c.clone().into();
        v["pg_type"] = "billing".into();
    }
    if let Some((code, msg)) = error {
        v["error_code"] = code.into();
        v["error_msg"] = msg.into();
    }
    v
}

/// The callback object for a request refused before any window opened
/// (`imp_uid: null`).
pub(crate) fn refused(merchant_uid: Option<&str>, code: &str, msg: &str) -> Value {
    json!({
        "success": false,
        "imp_success": false,
        "imp_uid": null,
        "merchant_uid": merchant_uid,
        "error_code": code,
        "error_msg": msg,
    })
}
