//! `use_billing_key`: one billing-key issuance, headless.

use super::context::{use_checkout, CheckoutContext, SdkStatus};
use super::runner::{refused_or, rejection_detail, Machine, Scope, Spec};
use crate::backend::{with_retries, BackendError};
use crate::dom;
use crate::gateway::BillingIntent;
use crate::machine::billing::{BillingEffect as Fx, BillingEvent as Event, BillingState, IssueRef};
use crate::protocol::Subscription;
use crate::return_url::Returned;
use futures::future::LocalBoxFuture;
use leptos::prelude::*;
use std::sync::Arc;

const SAVED_KEY: &str = "portone-checkout:billing";

/// Where an issuance stands: the public, stable view of the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BillingPhase {
    /// Nothing started.
    Idle,
    /// Asking the backend for the issuance.
    Preparing,
    /// The issuance window is open.
    AwaitingIssue,
    /// The page is leaving for the provider; it resumes on return.
    Redirecting,
    /// The backend is verifying the key with the provider.
    Verifying,
    /// Verified and stored.
    Issued,
    /// Failed; issuing again reuses the issuance.
    Failed,
    /// The customer cancelled.
    Cancelled,
    /// The outcome is not known yet.
    Unknown,
}

impl BillingPhase {
    /// The stable name used in `data-state` (`"awaiting-issue"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Preparing => "preparing",
            Self::AwaitingIssue => "awaiting-issue",
            Self::Redirecting => "redirecting",
            Self::Verifying => "verifying",
            Self::Issued => "issued",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Unknown => "unknown",
        }
    }

    /// Whether the phase is a problem to show (failed, cancelled, unknown).
    pub fn is_problem(self) -> bool {
        matches!(self, Self::Failed | Self::Cancelled | Self::Unknown)
    }
}

impl From<&BillingState> for BillingPhase {
    fn from(s: &BillingState) -> Self {
        match s {
            BillingState::Idle => Self::Idle,
            BillingState::Preparing => Self::Preparing,
            BillingState::AwaitingIssue { .. } => Self::AwaitingIssue,
            BillingState::Redirecting { .. } => Self::Redirecting,
            BillingState::Verifying { .. } => Self::Verifying,
            BillingState::Issued { .. } => Self::Issued,
            BillingState::Failed { .. } => Self::Failed,
            BillingState::Cancelled { .. } => Self::Cancelled,
            BillingState::Unknown { .. } => Self::Unknown,
        }
    }
}

/// Options of [`use_billing_key`]; `Default` documents each default:
///
/// - `return_url`: the current page without its query;
/// - `on_issued`: none.
#[derive(Clone, Default)]
pub struct UseBillingKeyOptions {
    /// Where the provider returns the page after a redirect.
    pub return_url: Option<String>,
    /// Called once the backend has verified and stored the key.
    pub on_issued: Option<Callback<Subscription>>,
}

/// What [`use_billing_key`] returns: signals to render, actions to call.
#[derive(Clone, Copy)]
pub struct UseBillingKeyReturn {
    /// Where the issuance stands.
    pub phase: Signal<BillingPhase>,
    /// The stored key, once verified.
    pub subscription: Signal<Option<Subscription>>,
    /// What to tell the customer now.
    pub message: Signal<Option<String>>,
    /// Whether [`UseBillingKeyReturn::issue`] would start (or retry).
    pub can_issue: Signal<bool>,
    /// Whether something is in flight.
    pub busy: Signal<bool>,
    /// Starts the issuance, or retries it with the same issuance.
    pub issue: Callback<()>,
    /// Asks the backend again now (in the [`BillingPhase::Unknown`] phase).
    pub check_again: Callback<()>,
    /// Whether this page loaded with a redirect return this hook resumed.
    pub resumed: bool,
}

struct BillingSpec {
    ctx: CheckoutContext,
    return_url: Option<String>,
    on_issued: Option<Callback<Subscription>>,
}

const NO_BILLING_BACKEND: &str = "<CheckoutProvider> has no billing backend: pass backend_url (the HTTP backend \
     serves billing keys too) or billing_backend=... to use use_billing_key()/<IssueBillingKey>";

impl Spec<BillingState> for BillingSpec {
    fn run(&self, effect: Fx) -> LocalBoxFuture<'static, Option<Event>> {
        let ctx = self.ctx.clone();
        let return_url = self.return_url.clone();
        Box::pin(async move {
            let inner = &ctx.inner;
            let refused = |message: String, detail: String| Event::Refused { message, detail };
            match effect {
                Fx::Prepare => {
                    let Some(backend) = inner.billing() else {
                        return Some(Event::PrepareFailed(NO_BILLING_BACKEND.into()));
                    };
                    let r = with_retries(&inner.retry, || backend.prepare_billing_key(), dom::sleep_ms).await;
                    Some(match r {
                        Ok(p) => Event::Prepared(p),
                        Err(e) => refused_or(e, refused, Event::PrepareFailed),
                    })
                }
                Fx::Save(issue) => {
                    if let Ok(json) = serde_json::to_string(&issue) {
                        dom::session_set(SAVED_KEY, &json);
                    }
                    None
                }
                Fx::Forget => {
                    dom::session_remove(SAVED_KEY);
                    None
                }
                Fx::RequestIssue(prepared) => {
                    let intent = BillingIntent {
                        prepared,
                        return_url: return_url.or_else(dom::current_url_without_query),
                        lang: ctx.lang.get_untracked(),
                    };
                    Some(match inner.gateway.request_billing_key(&intent).await {
                        Ok(result) => Event::Window(result),
                        Err(e) => Event::Rejected(rejection_detail(&e)),
                    })
                }
                Fx::Register(body) => {
                    let Some(backend) = inner.billing() else {
                        return Some(Event::RegisterFailed(NO_BILLING_BACKEND.into()));
                    };
                    let r: Result<Subscription, BackendError> =
                        with_retries(&inner.retry, || backend.register_billing_key(&body), dom::sleep_ms).await;
                    Some(match r {
                        Ok(s) => Event::Registered(s),
                        Err(e) => refused_or(e, refused, Event::RegisterFailed),
                    })
                }
                Fx::ScheduleCheck { delay_ms, checks } => {
                    dom::sleep_ms(delay_ms).await;
                    Some(Event::AutoCheck { checks })
                }
            }
        })
    }

    fn changed(&self, next: &BillingState) {
        if let (BillingState::Issued { subscription }, Some(cb)) = (next, self.on_issued) {
            cb.run(subscription.clone());
        }
    }
}

/// The customer's sentence for a state.
fn billing_message(s: &BillingState, t: &crate::i18n::Texts) -> Option<String> {
    crate::i18n::compose(t.billing_status(s), s.failure())
}

/// One billing-key issuance, headless: prepares it with the backend, opens
/// the provider's window on [`UseBillingKeyReturn::issue`], resumes a
/// redirect return, and has the backend verify and store the key. Must be
/// called inside a `<CheckoutProvider>` with a billing backend.
pub fn use_billing_key(options: UseBillingKeyOptions) -> UseBillingKeyReturn {
    let ctx = use_checkout();
    let state = RwSignal::new(BillingState::Idle);
    let m = Machine {
        state,
        scope: Scope::new(),
        spec: Arc::new(BillingSpec {
            ctx: ctx.clone(),
            return_url: options.return_url,
            on_issued: options.on_issued,
        }),
    };
    let resumed = ctx.take_return(
        |r| matches!(r, Returned::BillingKey(_)),
        |r| match r {
            Ok(Returned::BillingKey(result)) => Event::Returned {
                result,
                saved: dom::session_get(SAVED_KEY).and_then(|json| serde_json::from_str::<IssueRef>(&json).ok()),
            },
            Ok(Returned::Payment { .. }) => Event::ReturnInvalid("a payment return reached use_billing_key".into()),
            Err(e) => Event::ReturnInvalid(e.to_string()),
        },
    );
    let was_resumed = resumed.is_some();
    // Client only: effects do not run on the server.
    let pending = StoredValue::new(resumed);
    let resume = m.clone();
    Effect::new(move |_| {
        if let Some(event) = pending.try_update_value(Option::take).flatten() {
            resume.dispatch(event);
        }
    });

    let sdk = ctx.sdk;
    let lang = ctx.lang;
    let issue = m.clone();
    let check = m;
    UseBillingKeyReturn {
        phase: Signal::derive(move || state.with(|s| BillingPhase::from(s))),
        subscription: Signal::derive(move || {
            state.with(|s| match s {
                BillingState::Issued { subscription } => Some(subscription.clone()),
                _ => None,
            })
        }),
        message: Signal::derive(move || {
            let texts = lang.get().texts();
            state.with(|s| billing_message(s, texts))
        }),
        can_issue: Signal::derive(move || {
            state.with(BillingState::can_issue) && sdk.with(|s| *s != SdkStatus::Loading)
        }),
        busy: Signal::derive(move || state.with(BillingState::is_busy)),
        issue: Callback::new(move |()| issue.dispatch(Event::Issue)),
        check_again: Callback::new(move |()| check.dispatch(Event::CheckAgain)),
        resumed: was_resumed,
    }
}
