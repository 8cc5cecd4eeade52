//! Toss Payments' JSON views of its records: the `Payment` object (REST
//! answers and `PAYMENT_STATUS_CHANGED` webhooks), the billing-key issue
//! answer, the time formats and the shapes of Toss's keys.

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{json, Map, Value};

use super::records::{TossBillingKey, TossPayment, TossStatus};
use crate::config::TossConfig;

/// The API version the bodies follow (Toss's `version` field).
pub(crate) const API_VERSION: &str = "2022-11-16";

fn kst() -> FixedOffset {
    // 9 hours is always a valid offset.
    FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"))
}

/// `2024-02-13T12:18:14+09:00`: how Toss prints a Payment's times (KST, seconds).
pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.with_timezone(&kst()).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// `2024-02-13T12:18:14.123456`: how Toss prints a webhook's `createdAt` (KST, no offset).
pub(crate) fn webhook_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&kst()).format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// The calendar month (KST) of a time, for the mobile-phone cancel rule.
pub(crate) fn kst_month(t: DateTime<Utc>) -> String {
    t.with_timezone(&kst()).format("%Y-%m").to_string()
}

fn hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A new `paymentKey` (50 characters, `tsbx` + random).
pub(crate) fn new_payment_key() -> String {
    format!("tsbx{}{}", hex(), &hex()[..14])
}

/// A new transaction key (32 upper-case hex digits, like Toss's).
pub(crate) fn new_transaction_key() -> String {
    hex().to_ascii_uppercase()
}

/// A new `authKey` (billing auth).
pub(crate) fn new_auth_key() -> String {
    format!("bln_{}", hex())
}

/// A new billing key.
pub(crate) fn new_billing_key() -> String {
    format!("tsbxbk{}", hex())
}

/// A new virtual-account `secret`.
pub(crate) fn new_secret() -> String {
    format!("ps_{}", hex())
}

/// Toss's `method` value for an SDK method name (Toss answers in Korean).
pub(crate) fn method_label(method: &str) -> &'static str {
    match method {
        "CARD" => "카드",
        "TRANSFER" => "계좌이체",
        "VIRTUAL_ACCOUNT" => "가상계좌",
        "MOBILE_PHONE" => "휴대폰",
        "CULTURE_GIFT_CERTIFICATE" => "문화상품권",
        "FOREIGN_EASY_PAY" => "해외간편결제",
        _ => "카드",
    }
}

/// `(suppliedAmount, vat)` of an amount with `tax_free` of it tax-free: VAT is
/// 1/11 of the taxable part, rounded.
fn supply_and_vat(amount: i64, tax_free: i64) -> (i64, i64) {
    let taxable = (amount - tax_free).max(0);
    let vat = (taxable as f64 / 11.0).round() as i64;
    (taxable - vat, vat)
}

/// The sandbox's card (every card payment and card billing key).
fn card(p: Option<&TossPayment>) -> Value {
    let mut c = json!({
        "issuerCode": "61",
        "acquirerCode": "31",
        "number": "43301234****123*",
        "installmentPlanMonths": 0,
        "isInterestFree": false,
        "interestPayer": null,
        "approveNo": "00000000",
        "useCardPoint": false,
        "cardType": "신용",
        "ownerType": "개인",
        "acquireStatus": "READY",
    });
    if let Some(p) = p {
        c["amount"] = p.total_amount.into();
        if p.status == TossStatus::Canceled {
            c["acquireStatus"] = "CANCELED".into();
        }
    }
    c
}

/// The `Payment` object.
pub(crate) fn payment(p: &TossPayment, config: &TossConfig) -> Value {
    let balance = p.balance_amount();
    let tax_free_left = p.tax_free_amount - p.canceled_tax_free();
    let (supplied, vat) = supply_and_vat(balance, tax_free_left);
    let confirmed = p.status.was_confirmed();
    let mut o = Map::new();
    o.insert("mId".into(), config.mid().into());
    o.insert("version".into(), API_VERSION.into());
    o.insert("paymentKey".into(), p.payment_key.clone().into());
    o.insert("type".into(), if p.billing { "BILLING" } else { "NORMAL" }.into());
    o.insert("orderId".into(), p.order_id.clone().into());
    o.insert("orderName".into(), p.order_name.clone().into());
    o.insert("currency".into(), p.currency.clone().into());
    o.insert("method".into(), method_label(&p.method).into());
    o.insert("status".into(), p.status.as_str().into());
    o.insert("requestedAt".into(), time(p.requested_at).into());
    o.insert("approvedAt".into(), p.approved_at.map(time).into());
    o.insert("useEscrow".into(), false.into());
    o.insert("cultureExpense".into(), false.into());
    o.insert("lastTransactionKey".into(), p.last_transaction_key.clone().into());
    o.insert("totalAmount".into(), p.total_amount.into());
    o.insert("balanceAmount".into(), balance.into());
    o.insert("suppliedAmount".into(), supplied.into());
    o.insert("vat".into(), vat.into());
    o.insert("taxFreeAmount".into(), tax_free_left.into());
    o.insert("taxExemptionAmount".into(), 0.into());
    o.insert("isPartialCancelable".into(), p.is_partial_cancelable().into());
    let cancels = if p.cancels.is_empty() {
        Value::Null
    } else {
        Value::Array(
            p.cancels
                .iter()
                .map(|c| {
                    json!({
                        "cancelAmount": c.cancel_amount,
                        "cancelReason": c.cancel_reason,
                        "taxFreeAmount": c.tax_free_amount,
                        "taxExemptionAmount": 0,
                        "refundableAmount": c.refundable_amount,
                        "easyPayDiscountAmount": 0,
                        "canceledAt": time(c.canceled_at),
                        "transactionKey": c.transaction_key,
                        "receiptKey": null,
                        "cancelStatus": "DONE",
                        "cancelRequestId": null,
                    })
                })
                .collect(),
        )
    };
    o.insert("cancels".into(), cancels);
    let settled = if p.status.was_confirmed() {
        "COMPLETED"
    } else {
        "INCOMPLETED"
    };
    let shows_method = p.status != TossStatus::Ready;
    o.insert(
        "card".into(),
        if shows_method && p.method == "CARD" {
            card(Some(p))
        } else {
            Value::Null
        },
    );
    o.insert(
        "virtualAccount".into(),
        match &p.virtual_account {
            Some(va) => json!({
                "accountType": "일반",
                "accountNumber": va.account_number,
                "bankCode": va.bank_code,
                "customerName": va.customer_name,
                "dueDate": time(va.due_date),
                "refundStatus": va.refund_status,
                "expired": false,
                "settlementStatus": va.settlement_status,
                "refundReceiveAccount": va.refund_receive_account,
            }),
            None => Value::Null,
        },
    );
    o.insert(
        "transfer".into(),
        if shows_method && p.method == "TRANSFER" {
            json!({"bankCode": "88", "settlementStatus": settled})
        } else {
            Value::Null
        },
    );
    o.insert(
        "mobilePhone".into(),
        if shows_method && p.method == "MOBILE_PHONE" {
            json!({
                "customerMobilePhone": p.customer_mobile_phone.clone().unwrap_or_else(|| "01000000000".into()),
                "settlementStatus": settled,
                "receiptUrl": format!("https://sandbox.invalid/toss/receipts/{}", p.payment_key),
            })
        } else {
            Value::Null
        },
    );
    o.insert(
        "giftCertificate".into(),
        if shows_method && p.method == "CULTURE_GIFT_CERTIFICATE" {
            json!({"approveNo": "00000000", "settlementStatus": settled})
        } else {
            Value::Null
        },
    );
    o.insert("easyPay".into(), Value::Null);
    o.insert("secret".into(), p.secret.clone().into());
    o.insert(
        "receipt".into(),
        if confirmed {
            json!({"url": format!("https://sandbox.invalid/toss/receipts/{}", p.payment_key)})
        } else {
            Value::Null
        },
    );
    o.insert(
        "checkout".into(),
        json!({"url": format!("https://sandbox.invalid/toss/checkout/{}", p.payment_key)}),
    );
    o.insert(
        "failure".into(),
        match &p.failure {
            Some((code, message)) => json!({"code": code, "message": message}),
            None => Value::Null,
        },
    );
    o.insert("cashReceipt".into(), Value::Null);
    o.insert("cashReceipts".into(), Value::Null);
    o.insert("discount".into(), Value::Null);
    o.insert("country".into(), "KR".into());
    o.insert("metadata".into(), p.metadata.clone().unwrap_or(Value::Null));
    Value::Object(o)
}

/// The answer of `POST /v1/billing/authorizations/issue`.
pub(crate) fn billing_key(bk: &TossBillingKey, config: &TossConfig) -> Value {
    let mut o = json!({
        "mId": config.mid(),
        "customerKey": bk.customer_key,
        "authenticatedAt": time(bk.authenticated_at),
        "method": method_label(&bk.method),
        "billingKey": bk.billing_key,
    });
    if bk.method == "CARD" {
        o["card"] = json!({
            "issuerCode": "61",
            "acquirerCode": "31",
            "number": "43301234****123*",
            "cardType": "신용",
            "ownerType": "개인",
        });
        o["cardCompany"] = "현대".into();
        o["cardNumber"] = "43301234****123*".into();
    } else {
        o["transfer"] = json!({"bankCode": "88"});
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toss_times_are_kst_and_vat_is_a_rounded_eleventh_of_the_taxable_part() {
        let t = DateTime::parse_from_rfc3339("2024-02-13T03:18:14.5Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(time(t), "2024-02-13T12:18:14+09:00");
        assert_eq!(webhook_time(t), "2024-02-13T12:18:14.500000");
        assert_eq!(supply_and_vat(15000, 0), (13636, 1364));
        assert_eq!(supply_and_vat(15000, 4000), (10000, 1000));
        assert_eq!(new_payment_key().len(), 50);
        assert_eq!(new_transaction_key().len(), 32);
    }
}
