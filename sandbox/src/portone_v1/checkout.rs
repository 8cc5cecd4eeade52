//! PortOne V1's side of the shared PG window: what a V1 window is for
//! ([`Task`]: one `request_pay` payment attempt, or a TossPay billing-key
//! window bound to a `customer_uid`), opening it (every `request_pay` that
//! reaches the window is a new `imp_uid`, stored `ready`), what each outcome
//! does ([`finish`]: `paid` or `failed`, the billing key, the
//! `{imp_uid, merchant_uid, status}` webhook for a paid one only), the
//! callback object, and the `m_redirect_url` query of a redirect window
//! ([`redirect_target`]).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::json;
use super::records::{V1Customer, V1Payment, V1Status};
use super::webhook;
use crate::store::{new_id, AppState, Store};
use crate::window::{self, Emit, Mode, Outcome, Session, View};

/// The window's brand for PortOne V1 (title and badge).
pub(super) const BRAND: &str = "PortOne V1 sandbox";

/// What a PortOne V1 window finishes.
#[derive(Debug, Clone)]
pub(crate) enum Task {
    /// One `request_pay` payment attempt.
    Payment { imp_uid: String },
    /// `request_pay` with `customer_uid`: issues (or replaces) the billing key
    /// on approval; `imp_uid` is the 0-won `issue` payment.
    IssueBillingKey { imp_uid: String, customer: Box<V1Customer> },
}

/// A validated `request_pay`, ready to open.
pub(super) struct Plan {
    /// The payment to store `ready` (its `imp_uid` is assigned when opened).
    pub payment: V1Payment,
    /// For a billing-key window: the customer to store on approval.
    pub customer: Option<V1Customer>,
    pub mode: Mode,
    pub redirect_url: Option<String>,
    pub preset: Option<Outcome>,
    pub expires_at: Option<DateTime<Utc>>,
    pub channel_name: String,
    /// The amount the window shows (a billing-key window's payment is 0 won).
    pub display_amount: i64,
}

/// Opens the window: stores the `ready` payment with a new `imp_uid` and the
/// session in one lock, then arms the expiry.
pub(super) fn open(st: &AppState, plan: Plan) -> Session {
    let session = st.with_store(|s| {
        let mut p = plan.payment;
        p.imp_uid = s.v1.new_imp_uid();
        let p = s.v1.insert(p);
        let (task, kind) = match plan.customer {
            Some(customer) => (
                Task::IssueBillingKey {
                    imp_uid: p.imp_uid.clone(),
                    customer: Box::new(customer),
                },
                "빌링키 발급",
            ),
            None => (
                Task::Payment {
                    imp_uid: p.imp_uid.clone(),
                },
                "결제",
            ),
        };
        let session = Session {
            id: new_id("session"),
            task: window::Task::PortOneV1(task),
            mode: plan.mode,
            redirect_url: plan.redirect_url,
            preset: plan.preset,
            expires_at: plan.expires_at,
            view: View {
                brand: BRAND,
                kind,
                title: p.name.clone().unwrap_or_else(|| p.merchant_uid.clone()),
                amount: Some((plan.display_amount, p.currency.clone())),
                channel_name: plan.channel_name,
            },
            result: None,
            redirect_to: None,
        };
        s.sessions.insert(session.id.clone(), session.clone());
        session
    });
    window::arm_expiry(st, &session);
    session
}

const DECLINE: (&str, &str) = ("INSUFFICIENT_BALANCE", "잔액이 부족합니다.");
const CANCEL: (&str, &str) = ("PAY_PROCESS_CANCELED", "사용자가 결제를 취소하였습니다.");
const EXPIRED: (&str, &str) = ("PAY_TIME_EXPIRED", "결제 유효 시간이 만료되었습니다.");
const ALREADY_PAID: (&str, &str) = ("ALREADY_PAID", "이미 결제가 완료된 주문번호(merchant_uid)입니다.");

/// Finishes a V1 window (called by `window::complete` under the store lock):
/// the store change, the callback object and the webhook to send after the lock.
pub(crate) fn finish(s: &mut Store, task: &Task, outcome: Outcome, now: DateTime<Utc>) -> (Value, Vec<Emit>) {
    let (imp_uid, customer) = match task {
        Task::Payment { imp_uid } => (imp_uid, None),
        Task::IssueBillingKey { imp_uid, customer } => (imp_uid, Some(customer)),
    };
    let Some(p) = s.v1.payments.get(imp_uid).cloned() else {
        return (
            json::refused(None, "PAYMENT_NOT_FOUND", "결제 정보를 찾을 수 없습니다."),
            Vec::new(),
        );
    };
    if p.status != V1Status::Ready {
        // Already finished (e.g. by a reset-and-reuse race): report what it is.
        return (json::callback(&p, None), Vec::new());
    }
    let failure = match outcome {
        Outcome::Approve | Outcome::VirtualAccount | Outcome::PayPending if s.v1.order_paid(&p.merchant_uid) => {
            Some(ALREADY_PAID)
        }
        Outcome::Approve | Outcome::VirtualAccount | Outcome::PayPending => None,
        Outcome::Decline => Some(DECLINE),
        Outcome::Cancel => Some(CANCEL),
        Outcome::Expire => Some(EXPIRED),
    };
    let Some(rec) = s.v1.payments.get_mut(imp_uid) else {
        return (json::callback(&p, None), Vec::new());
    };
    let mut events: Vec<Emit> = Vec::new();
    match failure {
        Some((code, msg)) => {
            rec.status = V1Status::Failed;
            rec.failed_at = Some(now);
            rec.fail_reason = Some(msg.to_owned());
            // V1 sends no webhook for a failed window payment.
            (json::callback(rec, Some((code, msg))), events)
        }
        None => {
            rec.status = V1Status::Paid;
            rec.paid_at = Some(now);
            rec.pg_tid = Some(new_id("tosspay-tid"));
            let result = json::callback(rec, None);
            let (imp, merchant, notice) = (rec.imp_uid.clone(), rec.merchant_uid.clone(), rec.notice_urls.clone());
            if let Some(c) = customer {
                // Re-using a customer_uid replaces its billing key.
                let mut c = V1Customer::clone(c);
                if let Some(old) = s.v1.customers.get(&c.customer_uid) {
                    c.inserted = old.inserted;
                }
                c.updated = now;
                c.billing_key = new_id("billing-key");
                s.v1.customers.insert(c.customer_uid.clone(), c);
            }
            events.push(Box::new(move |st: &AppState| {
                webhook::notify(st, &imp, &merchant, "paid", &notice)
            }));
            (result, events)
        }
    }
}

/// `m_redirect_url` plus `imp_uid`, `merchant_uid`, `imp_success` and, on
/// failure, `error_code` and `error_msg` (the URL's own query is kept).
pub(crate) fn redirect_target(m_redirect_url: &str, result: &Value) -> String {
    let Ok(mut url) = reqwest::Url::parse(m_redirect_url) else {
        return m_redirect_url.to_owned();
    };
    {
        let mut q = url.query_pairs_mut();
        for k in ["imp_uid", "merchant_uid"] {
            if let Some(v) = result.get(k).and_then(Value::as_str) {
                q.append_pair(k, v);
            }
        }
        let ok = result.get("imp_success").and_then(Value::as_bool).unwrap_or(false);
        q.append_pair("imp_success", if ok { "true" } else { "false" });
        if !ok {
            for k in ["error_code", "error_msg"] {
                if let Some(v) = result.get(k).and_then(Value::as_str) {
                    q.append_pair(k, v);
                }
            }
        }
    }
    url.to_string()
}
