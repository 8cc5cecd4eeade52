//! PortOne V2's side of the shared PG window: what a V2 window is for
//! ([`Task`]: a payment attempt or a billing-key issue), opening a payment
//! window (the attempt is stored `READY` and `Transaction.Ready` is sent), and
//! what each [`Outcome`] does when the window finishes ([`finish`]): the
//! payment or billing-key state change, the SDK result
//! (`{transactionType, txId, paymentId}`, `{transactionType, billingKey}` or
//! `{code: "FAILURE_TYPE_PG", pgCode, pgMessage, ...}`), the webhooks, and the
//! `redirectUrl` query a redirect window returns with ([`redirect_target`]).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::webhook;
use crate::config::SandboxConfig;
use crate::store::{new_id, AppState, BillingKeyRec, PaymentRec, Status, Store};
use crate::window::{self, Emit, Mode, Outcome, Session, View};

/// The window's brand for PortOne V2 (title and badge).
pub(super) const BRAND: &str = "PortOne sandbox";

/// What a PortOne V2 window finishes.
#[derive(Debug, Clone)]
pub(crate) enum Task {
    /// One attempt of `requestPayment` (`transactionId` `tx_id`).
    Payment { payment_id: String, tx_id: String },
    /// `requestIssueBillingKey`: the key issued on approval.
    IssueBillingKey(BillingPlan),
}

/// What a billing-key session will issue.
#[derive(Debug, Clone)]
pub(crate) struct BillingPlan {
    pub channel_key: String,
    pub method: String,
    pub customer: Value,
    pub custom_data: Option<String>,
    pub issue_id: Option<String>,
    pub issue_name: Option<String>,
    pub notice_urls: Vec<String>,
}

/// A validated payment request, ready to open.
pub(super) struct PaymentPlan {
    pub payment: PaymentRec,
    pub mode: Mode,
    pub redirect_url: Option<String>,
    pub preset: Option<Outcome>,
    pub expires_at: Option<DateTime<Utc>>,
    pub channel_name: String,
}

/// Opens a payment window: stores the attempt (`READY`, counted in
/// `attempts`) with its session, sends `Transaction.Ready`, arms the expiry.
pub(super) fn open_payment(st: &AppState, plan: PaymentPlan) -> Session {
    let p = plan.payment;
    let session = Session {
        id: new_id("session"),
        task: window::Task::PortOneV2(Task::Payment {
            payment_id: p.id.clone(),
            tx_id: p.transaction_id.clone(),
        }),
        mode: plan.mode,
        redirect_url: plan.redirect_url,
        preset: plan.preset,
        expires_at: plan.expires_at,
        view: View {
            brand: BRAND,
            kind: "결제",
            title: p.order_name.clone(),
            amount: Some((p.total, p.currency.clone())),
            channel_name: plan.channel_name,
        },
        result: None,
        redirect_to: None,
    };
    let (id, tx, notice) = (p.id.clone(), p.transaction_id.clone(), p.notice_urls.clone());
    st.with_store(|s| {
        *s.attempts.entry(p.id.clone()).or_insert(0) += 1;
        s.payments.insert(p.id.clone(), p);
        s.sessions.insert(session.id.clone(), session.clone());
    });
    webhook::emit_transaction(st, "Transaction.Ready", &id, &tx, None, &notice);
    window::arm_expiry(st, &session);
    session
}

/// Finishes a V2 window (called by `window::complete` under the store lock).
pub(crate) fn finish(
    config: &SandboxConfig,
    s: &mut Store,
    task: &Task,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> (Value, Vec<Emit>) {
    match task {
        Task::Payment { payment_id, tx_id } => finish_payment(s, payment_id, tx_id, outcome, now),
        Task::IssueBillingKey(plan) => finish_billing(s, &config.store_id, plan, outcome, now),
    }
}

/// A failed SDK result; a payment attempt `(paymentId, txId)` adds both.
fn pg_failure(tt: &str, attempt: Option<(&str, &str)>, (pg_code, pg_message): (&str, &str)) -> Value {
    let mut v = json!({
        "transactionType": tt,
        "code": "FAILURE_TYPE_PG",
        "message": format!("[{pg_code}] {pg_message}"),
        "pgCode": pg_code,
        "pgMessage": pg_message,
    });
    if let Some((pid, tx)) = attempt {
        v["txId"] = tx.into();
        v["paymentId"] = pid.into();
    }
    v
}

const CANCEL: (&str, &str) = ("PAY_PROCESS_CANCELED", "사용자가 결제를 취소하였습니다.");
const DECLINE: (&str, &str) = ("INSUFFICIENT_BALANCE", "잔액이 부족합니다.");
const STALE: (&str, &str) = (
    "TRANSACTION_SUPERSEDED",
    "같은 paymentId의 다른 결제 시도가 진행되어 이 결제창은 더 이상 유효하지 않습니다.",
);
const EXPIRED: (&str, &str) = ("PAY_TIME_EXPIRED", "결제 유효 시간이 만료되었습니다.");

fn finish_payment(s: &mut Store, pid: &str, tx: &str, outcome: Outcome, now: DateTime<Utc>) -> (Value, Vec<Emit>) {
    let attempt = Some((pid, tx));
    let applied = (|| {
        let p = s
            .payments
            .get_mut(pid)
            .filter(|p| p.transaction_id == tx && p.status == Status::Ready)?;
        let kind = match outcome {
            Outcome::PayPending => {
                p.set_status(Status::PayPending, now);
                p.pg_tx_id = Some(new_id("pgtx"));
                "Transaction.PayPending"
            }
            Outcome::Approve if p.pay_method != "VIRTUAL_ACCOUNT" => {
                p.set_status(Status::Paid, now);
                p.paid_at = Some(now);
                p.pg_tx_id = Some(new_id("pgtx"));
                "Transaction.Paid"
            }
            Outcome::Approve | Outcome::VirtualAccount => {
                p.pay_method = "VIRTUAL_ACCOUNT".into();
                p.set_status(Status::VirtualAccountIssued, now);
                p.pg_tx_id = Some(new_id("pgtx"));
                p.virtual_account = Some((
                    format!("5621{:08}", rand::random::<u32>() % 100_000_000),
                    "SHINHAN".into(),
                    now + chrono::Duration::days(3),
                ));
                "Transaction.VirtualAccountIssued"
            }
            other => {
                let (code, msg) = match other {
                    Outcome::Decline => DECLINE,
                    Outcome::Expire => EXPIRED,
                    _ => CANCEL,
                };
                p.set_status(Status::Failed, now);
                p.failed_at = Some(now);
                p.failure = Some((msg.into(), code.into(), msg.into()));
                "Transaction.Failed"
            }
        };
        Some((kind, p.notice_urls.clone()))
    })();
    let result = match outcome {
        // Another attempt with the same paymentId replaced or finished this one.
        Outcome::Approve | Outcome::VirtualAccount | Outcome::PayPending if applied.is_none() => {
            pg_failure("PAYMENT", attempt, STALE)
        }
        Outcome::Approve | Outcome::VirtualAccount | Outcome::PayPending => {
            json!({"transactionType": "PAYMENT", "txId": tx, "paymentId": pid})
        }
        Outcome::Decline => pg_failure("PAYMENT", attempt, DECLINE),
        Outcome::Expire => pg_failure("PAYMENT", attempt, EXPIRED),
        Outcome::Cancel => pg_failure("PAYMENT", attempt, CANCEL),
    };
    let mut events: Vec<Emit> = Vec::new();
    if let Some((kind, notice)) = applied {
        let (pid, tx) = (pid.to_owned(), tx.to_owned());
        events.push(Box::new(move |st: &AppState| {
            webhook::emit_transaction(st, kind, &pid, &tx, None, &notice)
        }));
    }
    (result, events)
}

fn finish_billing(
    s: &mut Store,
    store_id: &str,
    plan: &BillingPlan,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> (Value, Vec<Emit>) {
    let plan = plan.clone();
    let mut events: Vec<Emit> = Vec::new();
    let notice = plan.notice_urls.clone();
    match outcome {
        Outcome::Approve | Outcome::VirtualAccount => {
            let key = new_id("billing-key");
            let rec = BillingKeyRec {
                billing_key: key.clone(),
                store_id: store_id.to_owned(),
                channel_key: plan.channel_key,
                method: plan.method,
                customer: plan.customer,
                custom_data: plan.custom_data,
                issue_id: plan.issue_id,
                issue_name: plan.issue_name,
                notice_urls: plan.notice_urls,
                requested_at: now,
                issued_at: now,
                deleted_at: None,
                revision: 0,
            };
            s.billing_keys.insert(key.clone(), rec);
            let k2 = key.clone();
            events.push(Box::new(move |st: &AppState| {
                webhook::emit_billing_key(st, "BillingKey.Issued", &k2, &notice)
            }));
            (
                json!({"transactionType": "ISSUE_BILLING_KEY", "billingKey": key}),
                events,
            )
        }
        Outcome::Decline => (pg_failure("ISSUE_BILLING_KEY", None, DECLINE), events),
        Outcome::Expire => (pg_failure("ISSUE_BILLING_KEY", None, EXPIRED), events),
        // A billing-key window has nothing pending: `payPending` counts as a cancel.
        Outcome::Cancel | Outcome::PayPending => (pg_failure("ISSUE_BILLING_KEY", None, CANCEL), events),
    }
}

/// `redirectUrl` plus the SDK result as query parameters (existing query kept).
pub(crate) fn redirect_target(redirect_url: &str, result: &Value) -> String {
    let Ok(mut url) = reqwest::Url::parse(redirect_url) else {
        return redirect_url.to_owned();
    };
    {
        let mut q = url.query_pairs_mut();
        for k in [
            "paymentId",
            "transactionType",
            "txId",
            "billingKey",
            "billingIssueToken",
            "code",
            "message",
            "pgCode",
            "pgMessage",
        ] {
            if let Some(v) = result.get(k).and_then(Value::as_str) {
                q.append_pair(k, v);
            }
        }
    }
    url.to_string()
}
