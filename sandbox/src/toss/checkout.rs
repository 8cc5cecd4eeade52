//! Toss Payments' side of the shared PG window: what a Toss window is for
//! ([`Task`]: a `requestPayment` or a `requestBillingAuth`), opening a payment
//! window (the payment is stored `READY` with a `paymentKey` and a deadline),
//! and what each [`Outcome`] does ([`finish`]): approve authenticates the
//! payment (`IN_PROGRESS`, waiting for the merchant's confirm until the
//! confirm deadline) or issues an `authKey`; decline and cancel abort it. The
//! result is what the SDK promise resolves or rejects with, plus `redirectTo`
//! (`successUrl?paymentKey=..&orderId=..&amount=..&paymentType=NORMAL`,
//! `failUrl?code=..&message=..&orderId=..`, `successUrl?customerKey=..&authKey=..`)
//! when the merchant gave URLs. Also the deadline timers (`READY` /
//! `IN_PROGRESS` -> `EXPIRED`), re-armed after a restart by [`resume`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::json::{self as views, new_auth_key};
use super::records::{TossAuthKey, TossPayment, TossStatus};
use super::webhook;
use crate::config::SandboxConfig;
use crate::store::{lock, new_id, AppState, Store};
use crate::window::{self, Emit, Mode, Outcome, Session, View};

/// The window's brand for Toss Payments (title and badge).
pub(super) const BRAND: &str = "Toss Payments sandbox";

/// What a Toss window finishes.
#[derive(Debug, Clone)]
pub(crate) enum Task {
    /// `requestPayment`: authenticates payment `payment_key`; `urls` are
    /// `(successUrl, failUrl)` of the redirect form.
    Payment {
        payment_key: String,
        urls: Option<(String, String)>,
    },
    /// `requestBillingAuth`: issues an `authKey` on approval.
    BillingAuth(BillingAuthPlan),
}

/// What a billing-auth window will issue.
#[derive(Debug, Clone)]
pub(crate) struct BillingAuthPlan {
    pub customer_key: String,
    pub method: String,
    pub success_url: String,
    pub fail_url: String,
}

/// A validated payment request, ready to open.
pub(super) struct PaymentPlan {
    pub payment: TossPayment,
    pub mode: Mode,
    pub urls: Option<(String, String)>,
    pub preset: Option<Outcome>,
}

const CANCELED: (&str, &str) = ("PAY_PROCESS_CANCELED", "사용자에 의해 결제가 취소되었습니다.");
const REJECTED: (&str, &str) = ("REJECT_CARD_COMPANY", "결제 승인이 거절되었습니다.");
const ABORTED: (&str, &str) = (
    "PAY_PROCESS_ABORTED",
    "결제 진행 중 승인에 실패하여 결제가 중단되었습니다.",
);
const TIMED_OUT: (&str, &str) = ("PAY_PROCESS_ABORTED", "결제 시간이 만료되어 결제가 중단되었습니다.");

/// Opens a payment window: stores the payment `READY` with its session and arms the expiry.
pub(super) fn open_payment(st: &AppState, plan: PaymentPlan) -> Session {
    let p = plan.payment;
    let session = Session {
        id: new_id("session"),
        task: window::Task::Toss(Task::Payment {
            payment_key: p.payment_key.clone(),
            urls: plan.urls.clone(),
        }),
        mode: plan.mode,
        redirect_url: plan.urls.map(|(success, _)| success),
        preset: plan.preset,
        expires_at: p.deadline,
        view: View {
            brand: BRAND,
            kind: "결제",
            title: p.order_name.clone(),
            amount: Some((p.total_amount, p.currency.clone())),
            channel_name: views::method_label(&p.method).to_owned(),
        },
        result: None,
        redirect_to: None,
    };
    st.with_store(|s| {
        s.toss.insert(p);
        s.sessions.insert(session.id.clone(), session.clone());
    });
    window::arm_expiry(st, &session);
    session
}

/// Finishes a Toss window (called by `window::complete` under the store lock).
pub(crate) fn finish(
    config: &SandboxConfig,
    s: &mut Store,
    task: &Task,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> (Value, Vec<Emit>) {
    match task {
        Task::Payment { payment_key, urls } => finish_payment(config, s, payment_key, urls.as_ref(), outcome, now),
        Task::BillingAuth(plan) => finish_billing_auth(s, plan, outcome, now),
    }
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let Ok(mut url) = url::Url::parse(base) else {
        return base.to_owned();
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

fn failure(code: &str, message: &str, order_id: Option<&str>, fail_url: Option<&str>) -> Value {
    let mut v = json!({ "code": code, "message": message });
    if let Some(o) = order_id {
        v["orderId"] = o.into();
    }
    if let Some(f) = fail_url {
        let mut q = vec![("code", code), ("message", message)];
        if let Some(o) = order_id {
            q.push(("orderId", o));
        }
        v["redirectTo"] = with_query(f, &q).into();
    }
    v
}

fn finish_payment(
    config: &SandboxConfig,
    s: &mut Store,
    key: &str,
    urls: Option<&(String, String)>,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> (Value, Vec<Emit>) {
    let (success_url, fail_url) = match urls {
        Some((s, f)) => (Some(s.as_str()), Some(f.as_str())),
        None => (None, None),
    };
    let Some(p) = s.toss.payments.get_mut(key) else {
        return (failure(ABORTED.0, ABORTED.1, None, fail_url), Vec::new());
    };
    let order_id = p.order_id.clone();
    let mut events: Vec<Emit> = Vec::new();
    let expired_now = p.expire_if_due(now);
    if p.status != TossStatus::Ready {
        if expired_now {
            events.push(status_changed(p, config));
        }
        return (failure(TIMED_OUT.0, TIMED_OUT.1, Some(&order_id), fail_url), events);
    }
    let result = match outcome {
        Outcome::Approve | Outcome::VirtualAccount | Outcome::PayPending => {
            p.status = TossStatus::InProgress;
            let deadline = now + chrono::Duration::from_std(config.toss.confirm_ttl).unwrap_or(chrono::Duration::MAX);
            p.deadline = Some(deadline);
            let key = p.payment_key.clone();
            events.push(Box::new(move |st: &AppState| arm_deadline(st, key, deadline)));
            let amount = p.total_amount.to_string();
            let mut r = json!({
                "paymentKey": p.payment_key,
                "orderId": p.order_id,
                "amount": {"currency": p.currency, "value": p.total_amount},
                "paymentType": "NORMAL",
            });
            if let Some(u) = success_url {
                r["redirectTo"] = with_query(
                    u,
                    &[
                        ("paymentType", "NORMAL"),
                        ("orderId", &p.order_id),
                        ("paymentKey", &p.payment_key),
                        ("amount", &amount),
                    ],
                )
                .into();
            }
            r
        }
        other => {
            let (code, message, status) = match other {
                Outcome::Decline => (REJECTED.0, REJECTED.1, TossStatus::Aborted),
                Outcome::Expire => (TIMED_OUT.0, TIMED_OUT.1, TossStatus::Expired),
                _ => (CANCELED.0, CANCELED.1, TossStatus::Aborted),
            };
            p.status = status;
            p.deadline = None;
            p.failure = Some((code.into(), message.into()));
            failure(code, message, Some(&order_id), fail_url)
        }
    };
    events.push(status_changed(p, config));
    (result, events)
}

fn finish_billing_auth(
    s: &mut Store,
    plan: &BillingAuthPlan,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> (Value, Vec<Emit>) {
    let fail = Some(plan.fail_url.as_str());
    let result = match outcome {
        Outcome::Approve | Outcome::VirtualAccount | Outcome::PayPending => {
            let auth_key = new_auth_key();
            s.toss.auth_keys.insert(
                auth_key.clone(),
                TossAuthKey {
                    customer_key: plan.customer_key.clone(),
                    method: plan.method.clone(),
                    created_at: now,
                    used: false,
                },
            );
            json!({
                "authKey": auth_key,
                "customerKey": plan.customer_key,
                "redirectTo": with_query(&plan.success_url, &[
                    ("customerKey", &plan.customer_key),
                    ("authKey", &auth_key),
                ]),
            })
        }
        Outcome::Decline => failure(REJECTED.0, REJECTED.1, None, fail),
        Outcome::Expire => failure(TIMED_OUT.0, TIMED_OUT.1, None, fail),
        Outcome::Cancel => failure(CANCELED.0, CANCELED.1, None, fail),
    };
    (result, Vec::new())
}

/// Where a full-page window sends the browser back to: the result's `redirectTo`.
pub(crate) fn redirect_target(redirect_url: &str, result: &Value) -> String {
    result
        .get("redirectTo")
        .and_then(Value::as_str)
        .unwrap_or(redirect_url)
        .to_owned()
}

/// A `PAYMENT_STATUS_CHANGED` webhook for the payment as it is now.
pub(super) fn status_changed(p: &TossPayment, config: &SandboxConfig) -> Emit {
    let body = views::payment(p, &config.toss);
    Box::new(move |st: &AppState| webhook::payment_status_changed(st, body))
}

/// Expires payment `key` at `at` if it is still `READY`/`IN_PROGRESS` by then.
pub(super) fn arm_deadline(st: &AppState, key: String, at: DateTime<Utc>) {
    let st2 = st.clone();
    st.spawn(async move {
        let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::time::sleep(wait).await;
        expire_due(&st2, &key);
    });
}

/// Expires payment `key` if its deadline has passed (and sends the webhook).
pub(super) fn expire_due(st: &AppState, key: &str) {
    let now = Utc::now();
    let emit = st.with_store(|s| {
        let p = s.toss.payments.get_mut(key)?;
        p.expire_if_due(now).then(|| status_changed(p, &st.config))
    });
    if let Some(e) = emit {
        e(st);
    }
}

/// Re-arms the deadlines of payments still `READY`/`IN_PROGRESS` (at start, from a state file).
pub(super) fn resume(st: &AppState) {
    let pending: Vec<(String, DateTime<Utc>)> = lock(&st.store)
        .toss
        .payments
        .values()
        .filter(|p| p.status.has_deadline())
        .filter_map(|p| p.deadline.map(|d| (p.payment_key.clone(), d)))
        .collect();
    for (key, at) in pending {
        arm_deadline(st, key, at);
    }
}
