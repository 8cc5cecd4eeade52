//! PortOne V2's JSON views of the shared store records: the bodies of
//! `GET /payments/{id}`, `GET /billing-keys/{key}` and a cancellation, with
//! their `channel`, `method` and `card` objects. The admin routes that answer
//! with a payment or billing key use these views too.

use serde_json::{json, Map, Value};

use crate::config::{Channel, SandboxConfig};
use crate::store::{ts, BillingKeyRec, CancellationRec, PaymentRec, Status};

/// One cancellation (`cancellations[]`, and the `POST .../cancel` answer).
pub(crate) fn cancellation(c: &CancellationRec) -> Value {
    json!({
        "status": "SUCCEEDED",
        "id": c.id,
        "pgCancellationId": c.pg_cancellation_id,
        "totalAmount": c.total_amount,
        "taxFreeAmount": c.tax_free_amount,
        "vatAmount": c.vat_amount,
        "reason": c.reason,
        "cancelledAt": ts(c.cancelled_at),
        "requestedAt": ts(c.requested_at),
        "trigger": "API",
    })
}

/// The payment as `GET /payments/{id}` returns it.
pub(crate) fn payment(p: &PaymentRec, config: &SandboxConfig) -> Value {
    let channel = config.channel(&p.channel_key);
    let mut o = Map::new();
    o.insert("status".into(), p.status.as_str().into());
    o.insert("id".into(), p.id.clone().into());
    o.insert("transactionId".into(), p.transaction_id.clone().into());
    o.insert("merchantId".into(), config.merchant_id.clone().into());
    o.insert("storeId".into(), p.store_id.clone().into());
    if p.status != Status::Ready {
        o.insert("method".into(), payment_method(p, channel));
    }
    if let Some(ch) = channel {
        o.insert("channel".into(), channel_json(ch));
    }
    o.insert("version".into(), "V2".into());
    if let Some(s) = &p.schedule_id {
        o.insert("scheduleId".into(), s.clone().into());
    }
    if let Some(b) = &p.billing_key {
        o.insert("billingKey".into(), b.clone().into());
    }
    o.insert("requestedAt".into(), ts(p.requested_at).into());
    o.insert("updatedAt".into(), ts(p.updated_at).into());
    o.insert("statusChangedAt".into(), ts(p.status_changed_at).into());
    o.insert("orderName".into(), p.order_name.clone().into());
    let supply = p.vat.map(|v| p.total - p.tax_free - v);
    let paid = if p.status.was_paid() { p.total } else { 0 };
    let mut amount = json!({
        "total": p.total,
        "taxFree": p.tax_free,
        "discount": 0,
        "paid": paid,
        "cancelled": p.cancelled_total(),
        "cancelledTaxFree": p.cancelled_tax_free(),
    });
    if let (Some(v), Some(s)) = (p.vat, supply) {
        amount["vat"] = v.into();
        amount["supply"] = s.into();
    }
    o.insert("amount".into(), amount);
    o.insert("currency".into(), p.currency.clone().into());
    o.insert("customer".into(), p.customer.clone());
    if let Some(c) = &p.custom_data {
        o.insert("customData".into(), c.clone().into());
    }
    if p.status == Status::Paid {
        o.insert("disputes".into(), json!([]));
    }
    if let Some(t) = p.paid_at {
        o.insert("paidAt".into(), ts(t).into());
    }
    if let Some(t) = &p.pg_tx_id {
        o.insert("pgTxId".into(), t.clone().into());
    }
    if p.status.was_paid() {
        o.insert(
            "receiptUrl".into(),
            format!("https://sandbox.invalid/receipts/{}", p.transaction_id).into(),
        );
        o.insert(
            "cancellations".into(),
            Value::Array(p.cancellations.iter().map(cancellation).collect()),
        );
    }
    if let Some(c) = p.cancelled_at {
        o.insert("cancelledAt".into(), ts(c).into());
    }
    if p.status == Status::Failed {
        if let Some(f) = p.failed_at {
            o.insert("failedAt".into(), ts(f).into());
        }
        if let Some((reason, code, msg)) = &p.failure {
            o.insert(
                "failure".into(),
                json!({"reason": reason, "pgCode": code, "pgMessage": msg}),
            );
        }
    }
    Value::Object(o)
}

/// The payment's `method` object.
fn payment_method(p: &PaymentRec, channel: Option<&Channel>) -> Value {
    match p.pay_method.as_str() {
        "EASY_PAY" => {
            let provider = match channel {
                Some(c) if c.is_tosspay() => "TOSSPAY",
                _ => "KAKAOPAY",
            };
            json!({"type": "PaymentMethodEasyPay", "provider": provider,
                   "easyPayMethod": {"type": "PaymentMethodEasyPayMethodCharge"}})
        }
        "VIRTUAL_ACCOUNT" => {
            let mut m = json!({"type": "PaymentMethodVirtualAccount", "bank": "SHINHAN",
                               "accountType": "NORMAL", "remitteeName": "포트원 샌드박스"});
            if let Some((number, issued, expires)) = p.virtual_account.as_ref().map(|(n, _, e)| (n, p.requested_at, e))
            {
                m["accountNumber"] = number.clone().into();
                m["issuedAt"] = ts(issued).into();
                m["expiredAt"] = ts(*expires).into();
            }
            m
        }
        "TRANSFER" => json!({"type": "PaymentMethodTransfer", "bank": "SHINHAN"}),
        "MOBILE" => json!({"type": "PaymentMethodMobile", "phoneNumber": "01000000000"}),
        _ => json!({
            "type": "PaymentMethodCard",
            "card": sandbox_card(),
            "approvalNumber": "00000000",
            "installment": {"month": 0, "isInterestFree": false},
            "pointUsed": false
        }),
    }
}

/// The `Card` object the sandbox reports for every card.
fn sandbox_card() -> Value {
    json!({"publisher": "SANDBOX", "issuer": "SANDBOX", "brand": "LOCAL", "type": "CREDIT",
           "ownerType": "PERSONAL", "bin": "123456", "name": "샌드박스카드", "number": "12345600****000*"})
}

/// `channel` object of REST responses.
fn channel_json(ch: &Channel) -> Value {
    json!({
        "type": "TEST",
        "id": ch.id,
        "key": ch.key,
        "name": ch.name,
        "pgProvider": ch.rest_pg_provider(),
        "pgMerchantId": ch.pg_merchant_id,
    })
}

/// The billing key as `GET /billing-keys/{key}` returns it.
pub(crate) fn billing_key(bk: &BillingKeyRec, config: &SandboxConfig) -> Value {
    let mut o = Map::new();
    o.insert(
        "status".into(),
        if bk.deleted_at.is_some() { "DELETED" } else { "ISSUED" }.into(),
    );
    o.insert("billingKey".into(), bk.billing_key.clone().into());
    o.insert("merchantId".into(), config.merchant_id.clone().into());
    o.insert("storeId".into(), bk.store_id.clone().into());
    let method = match bk.method.as_str() {
        "EASY_PAY" => json!({"type": "BillingKeyPaymentMethodEasyPay", "provider": "TOSSPAY",
        "method": if bk.revision.is_multiple_of(2) {
            json!({"type": "BillingKeyPaymentMethodEasyPayCharge"})
        } else {
            json!({"type": "BillingKeyPaymentMethodCard", "card": sandbox_card()})
        }}),
        "MOBILE" => {
            json!({"type": "BillingKeyPaymentMethodMobile", "phoneNumber": "01000000000"})
        }
        _ => json!({"type": "BillingKeyPaymentMethodCard", "card": sandbox_card()}),
    };
    o.insert("methods".into(), json!([method]));
    let channels: Vec<Value> = config.channel(&bk.channel_key).map(channel_json).into_iter().collect();
    o.insert("channels".into(), Value::Array(channels));
    o.insert("customer".into(), bk.customer.clone());
    if let Some(c) = &bk.custom_data {
        o.insert("customData".into(), c.clone().into());
    }
    if let Some(c) = &bk.issue_id {
        o.insert("issueId".into(), c.clone().into());
    }
    if let Some(c) = &bk.issue_name {
        o.insert("issueName".into(), c.clone().into());
    }
    o.insert("requestedAt".into(), ts(bk.requested_at).into());
    o.insert("issuedAt".into(), ts(bk.issued_at).into());
    if let Some(d) = bk.deleted_at {
        o.insert("deletedAt".into(), ts(d).into());
    }
    Value::Object(o)
}
