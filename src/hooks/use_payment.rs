//! `use_payment`: one payment, headless.

use super::context::{use_checkout, CheckoutContext, SdkStatus};
use super::runner::{refused_or, rejection_detail, Machine, Scope, Spec};
use crate::backend::{with_retries, BackendError};
use crate::dom;
use crate::gateway::PaymentIntent;
use crate::i18n::Texts;
use crate::machine::payment::{CheckoutState, Effect as Fx, Event};
use crate::protocol::{OrderJson, PaymentId, PaymentStatus, PreparedPayment};
use crate::return_url::Returned;
use futures::future::LocalBoxFuture;
use leptos::prelude::*;
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;

const SAVED_PREFIX: &str = "portone-checkout:payment:";
/// How long the order must stay unchanged before it is prepared again.
const WARM_DEBOUNCE_MS: u32 = 300;

type PrepareFn = Arc<dyn Fn() -> LocalBoxFuture<'static, Result<PreparedPayment, BackendError>> + Send + Sync>;

#[derive(Clone)]
enum PrepareSource {
    /// The merchant's order, serialized and posted to the backend's
    /// prepare route (re-read each time an order is prepared).
    Order(Signal<Result<OrderJson, String>>),
    /// The merchant's own function.
    Custom(PrepareFn),
}

/// Where a payment stands: the public, stable view of the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PaymentPhase {
    /// Nothing started (an order may be prepared in the background).
    Idle,
    /// Asking the backend for the order.
    Preparing,
    /// The payment window is open.
    AwaitingPayment,
    /// The page is leaving for the provider; it resumes on return.
    Redirecting,
    /// The backend is verifying the payment with the provider.
    Verifying,
    /// Verified paid: fulfil the order.
    Paid,
    /// A virtual account was issued; the payment completes on deposit.
    VirtualAccountIssued,
    /// Failed; paying again reuses the order.
    Failed,
    /// Cancelled (by the customer, or by the merchant after payment).
    Cancelled,
    /// The merchant is cancelling a paid payment; not confirmed yet.
    Cancelling,
    /// The outcome is not known yet: show "checking", never "failed", and
    /// do not let the customer pay again.
    Unknown,
}

impl PaymentPhase {
    /// The stable name used in `data-state` (`"awaiting-payment"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Preparing => "preparing",
            Self::AwaitingPayment => "awaiting-payment",
            Self::Redirecting => "redirecting",
            Self::Verifying => "verifying",
            Self::Paid => "paid",
            Self::VirtualAccountIssued => "virtual-account-issued",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Cancelling => "cancelling",
            Self::Unknown => "unknown",
        }
    }

    /// Whether the phase is a problem to show (failed, cancelled, unknown).
    pub fn is_problem(self) -> bool {
        matches!(self, Self::Failed | Self::Cancelled | Self::Unknown)
    }
}

impl From<&CheckoutState> for PaymentPhase {
    fn from(s: &CheckoutState) -> Self {
        match s {
            CheckoutState::Idle | CheckoutState::Warming { .. } | CheckoutState::Ready { .. } => Self::Idle,
            CheckoutState::Preparing | CheckoutState::PreparingWarm { .. } => Self::Preparing,
            CheckoutState::AwaitingPayment { .. } => Self::AwaitingPayment,
            CheckoutState::Redirecting { .. } => Self::Redirecting,
            CheckoutState::Verifying { .. } => Self::Verifying,
            CheckoutState::Paid { .. } => Self::Paid,
            CheckoutState::VirtualAccountIssued { .. } => Self::VirtualAccountIssued,
            CheckoutState::Failed { .. } => Self::Failed,
            CheckoutState::Cancelled { .. } => Self::Cancelled,
            CheckoutState::Cancelling { .. } => Self::Cancelling,
            CheckoutState::Unknown { .. } => Self::Unknown,
        }
    }
}

/// Options of [`use_payment`]. Build with [`UsePaymentOptions::order`] or
/// [`UsePaymentOptions::prepare`]; the setters' defaults:
///
/// - `prepare_early`: `true` (the order is prepared in the background once
///   it settles, so a click opens the window without a network wait);
/// - `disabled`: never (set it to "the cart is empty");
/// - `return_url`: the current page without its query;
/// - `on_paid`, `on_phase`: none.
#[derive(Clone)]
pub struct UsePaymentOptions {
    prepare: PrepareSource,
    prepare_early: bool,
    disabled: Signal<bool>,
    return_url: Option<String>,
    on_paid: Option<Callback<PaymentStatus>>,
    on_phase: Option<Callback<PaymentPhase>>,
}

impl UsePaymentOptions {
    /// Pays for the merchant's own order: any `Serialize` value, posted as
    /// JSON to the backend's prepare route, which computes the amount.
    /// Read when an order is prepared; a change drops an unpaid order.
    pub fn order<O>(order: Signal<O>) -> Self
    where
        O: Serialize + Clone + Send + Sync + 'static,
    {
        let json = Signal::derive(move || order.with(|o| OrderJson::new(o).map_err(|e| e.to_string())));
        Self::with(PrepareSource::Order(json))
    }

    /// Pays for an order the merchant prepares with their own function
    /// (their own route, their own client): like Stripe's
    /// `fetchClientSecret`.
    pub fn prepare<F, Fut>(prepare: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<PreparedPayment, BackendError>> + 'static,
    {
        let f: PrepareFn = Arc::new(move || Box::pin(prepare()));
        Self::with(PrepareSource::Custom(f))
    }

    fn with(prepare: PrepareSource) -> Self {
        Self {
            prepare,
            prepare_early: true,
            disabled: Signal::stored(false),
            return_url: None,
            on_paid: None,
            on_phase: None,
        }
    }

    /// Whether to prepare the order in the background. Default: `true`.
    pub fn prepare_early(mut self, yes: bool) -> Self {
        self.prepare_early = yes;
        self
    }

    /// Nothing to buy (e.g. an empty cart): no payment starts, nothing is
    /// prepared. Default: never.
    pub fn disabled(mut self, disabled: impl Into<Signal<bool>>) -> Self {
        self.disabled = disabled.into();
        self
    }

    /// Where the provider returns the page after a redirect. Default: the
    /// current page without its query.
    pub fn return_url(mut self, url: impl Into<String>) -> Self {
        self.return_url = Some(url.into());
        self
    }

    /// Called once the backend has verified the payment as paid.
    pub fn on_paid(mut self, f: impl Into<Callback<PaymentStatus>>) -> Self {
        self.on_paid = Some(f.into());
        self
    }

    /// Called on every phase change.
    pub fn on_phase(mut self, f: impl Into<Callback<PaymentPhase>>) -> Self {
        self.on_phase = Some(f.into());
        self
    }
}

/// What [`use_payment`] returns: signals to render, actions to call.
#[derive(Clone, Copy)]
pub struct UsePaymentReturn {
    /// Where the payment stands.
    pub phase: Signal<PaymentPhase>,
    /// The order's payment id, once prepared (or known from a return URL).
    pub payment_id: Signal<Option<PaymentId>>,
    /// What to tell the customer now (in the provider's language): the
    /// phase's sentence, with the backend's or the PG's words after a
    /// failure. Never developer detail (that goes to the console).
    pub message: Signal<Option<String>>,
    /// The backend's verified answer, once paid or a virtual account issued.
    pub status: Signal<Option<PaymentStatus>>,
    /// Whether [`UsePaymentReturn::pay`] would start (or retry) a payment.
    pub can_pay: Signal<bool>,
    /// Whether something is in flight (show progress, keep buttons off).
    pub busy: Signal<bool>,
    /// Starts the payment, or retries it with the same `paymentId`.
    pub pay: Callback<()>,
    /// Asks the backend again now (in the [`PaymentPhase::Unknown`] phase).
    pub check_again: Callback<()>,
    /// Whether this page loaded with a redirect return this hook resumed.
    pub resumed: bool,
}

struct PaymentSpec {
    ctx: CheckoutContext,
    prepare: PrepareSource,
    return_url: Option<String>,
    on_paid: Option<Callback<PaymentStatus>>,
    on_phase: Option<Callback<PaymentPhase>>,
}

fn saved_key(id: &PaymentId) -> String {
    format!("{SAVED_PREFIX}{id}")
}

async fn prepare_once(ctx: &CheckoutContext, source: &PrepareSource) -> Result<PreparedPayment, BackendError> {
    match source {
        PrepareSource::Order(json) => match json.get_untracked() {
            Ok(order) => ctx.inner.payments.prepare_payment(&order).await,
            Err(e) => Err(BackendError::Decode(format!("the order could not be serialized: {e}"))),
        },
        PrepareSource::Custom(f) => f().await,
    }
}

/// What the gateway is asked to open for `prepared`.
fn intent(prepared: PreparedPayment, return_url: Option<String>, ctx: &CheckoutContext) -> PaymentIntent {
    PaymentIntent {
        prepared,
        return_url: return_url.or_else(dom::current_url_without_query),
        lang: ctx.lang.get_untracked(),
    }
}

impl Spec<CheckoutState> for PaymentSpec {
    fn run(&self, effect: Fx) -> LocalBoxFuture<'static, Option<Event>> {
        let ctx = self.ctx.clone();
        let source = self.prepare.clone();
        let return_url = self.return_url.clone();
        Box::pin(async move {
            let inner = &ctx.inner;
            match effect {
                Fx::Prepare => {
                    let r = with_retries(&inner.retry, || prepare_once(&ctx, &source), dom::sleep_ms).await;
                    Some(match r {
                        Ok(p) => Event::Prepared(p),
                        Err(e) => refused_or(
                            e,
                            |message, detail| Event::Refused { message, detail },
                            Event::PrepareFailed,
                        ),
                    })
                }
                Fx::PrepareEarly { generation } => {
                    let prepared = prepare_once(&ctx, &source).await.map_err(|e| e.to_string());
                    Some(Event::Warmed { generation, prepared })
                }
                Fx::Save(prepared) => {
                    if let Ok(json) = serde_json::to_string(&prepared) {
                        dom::session_set(&saved_key(&prepared.payment_id), &json);
                    }
                    None
                }
                Fx::Forget { payment_id } => {
                    dom::session_remove(&saved_key(&payment_id));
                    None
                }
                Fx::GetReady(prepared) => {
                    let intent = intent(prepared, return_url, &ctx);
                    // A problem found now is found again, and reported, on
                    // the click.
                    let _ = inner.gateway.get_ready(&intent);
                    None
                }
                Fx::RequestPayment(prepared) => {
                    let intent = intent(prepared, return_url, &ctx);
                    Some(match inner.gateway.request_payment(&intent).await {
                        Ok(result) => Event::Window(result),
                        Err(e) => Event::Rejected {
                            already_paid: e.is_already_paid(),
                            detail: rejection_detail(&e),
                        },
                    })
                }
                Fx::Complete { payment_id, body } => {
                    let backend = &inner.payments;
                    let r = with_retries(
                        &inner.retry,
                        || backend.complete_payment(&payment_id, &body),
                        dom::sleep_ms,
                    )
                    .await;
                    Some(match r {
                        Ok(s) => Event::Confirmed(s),
                        Err(e) => refused_or(
                            e,
                            |message, detail| Event::Refused { message, detail },
                            Event::CompleteFailed,
                        ),
                    })
                }
                Fx::FetchStatus { payment_id } => {
                    let backend = &inner.payments;
                    let r = with_retries(&inner.retry, || backend.payment_status(&payment_id), dom::sleep_ms).await;
                    Some(match r {
                        Ok(s) => Event::Confirmed(s),
                        Err(e) => refused_or(
                            e,
                            |message, detail| Event::Refused { message, detail },
                            Event::StatusFailed,
                        ),
                    })
                }
                Fx::ScheduleCheck { delay_ms, checks } => {
                    dom::sleep_ms(delay_ms).await;
                    Some(Event::AutoCheck { checks })
                }
            }
        })
    }

    fn changed(&self, next: &CheckoutState) {
        let phase = PaymentPhase::from(next);
        if let Some(cb) = self.on_phase {
            cb.run(phase);
        }
        if let (CheckoutState::Paid { status, .. }, Some(cb)) = (next, self.on_paid) {
            cb.run(status.clone());
        }
    }
}

/// The customer's sentence for a state.
fn payment_message(s: &CheckoutState, t: &Texts) -> Option<String> {
    crate::i18n::compose(t.checkout_status(s), s.failure())
}

/// One payment, headless: prepares the order (in the background by
/// default), opens the provider's window on [`UsePaymentReturn::pay`],
/// resumes a redirect return, and asks the backend (which asks the
/// provider) before showing any result. Must be called inside a
/// `<CheckoutProvider>`.
///
/// ```no_run
/// use leptos::prelude::*;
/// use portone_checkout::prelude::*;
///
/// #[derive(Clone, serde::Serialize)]
/// struct Cart {
///     items: Vec<(String, u32)>,
/// }
///
/// /// The merchant's own button, inside a `<CheckoutProvider>`.
/// #[component]
/// fn PayButton(cart: Signal<Cart>) -> impl IntoView {
///     let cart_is_empty = Signal::derive(move || cart.with(|c| c.items.is_empty()));
///     let payment = use_payment(UsePaymentOptions::order(cart).disabled(cart_is_empty));
///     view! {
///         <button on:click=move |_| payment.pay.run(()) disabled=move || !payment.can_pay.get()>"Pay"</button>
///         <p>{move || payment.message.get()}</p>
///     }
/// }
/// ```
pub fn use_payment(options: UsePaymentOptions) -> UsePaymentReturn {
    let ctx = use_checkout();
    let state = RwSignal::new(CheckoutState::Idle);
    let scope = Scope::new();
    let UsePaymentOptions {
        prepare,
        prepare_early,
        disabled,
        return_url,
        on_paid,
        on_phase,
    } = options;
    let m = Machine {
        state,
        scope: scope.clone(),
        spec: Arc::new(PaymentSpec {
            ctx: ctx.clone(),
            prepare: prepare.clone(),
            return_url,
            on_paid,
            on_phase,
        }),
    };

    // A redirect return this page loaded with.
    let resumed = ctx.take_return(
        |r| matches!(r, Returned::Payment { .. }),
        |r| match r {
            Ok(Returned::Payment { payment_id, report }) => {
                let saved = dom::session_get(&saved_key(&payment_id))
                    .and_then(|json| serde_json::from_str::<PreparedPayment>(&json).ok());
                Event::Returned {
                    payment_id,
                    report,
                    saved,
                }
            }
            Ok(Returned::BillingKey(_)) => Event::ReturnInvalid("a billing-key return reached use_payment".into()),
            Err(e) => Event::ReturnInvalid(e.to_string()),
        },
    );
    let was_resumed = resumed.is_some();

    // The order is prepared again once it settles (and at mount), unless a
    // return is being resumed.
    let generation = StoredValue::new(0u32);
    let warm_after = {
        let m = m.clone();
        move |delay_ms: u32| {
            if !prepare_early {
                return;
            }
            let Some(g) = generation.try_update_value(|g| {
                *g += 1;
                *g
            }) else {
                return;
            };
            let m2 = m.clone();
            m.scope.spawn(async move {
                dom::sleep_ms(delay_ms).await;
                if generation.try_get_value() == Some(g) && !disabled.try_get_untracked().unwrap_or(true) {
                    m2.dispatch(Event::Warm { generation: g });
                }
            });
        }
    };
    // Client only: effects do not run on the server.
    let pending = StoredValue::new(resumed);
    let start = {
        let m = m.clone();
        let warm = warm_after.clone();
        move |_: Option<()>| match pending.try_update_value(Option::take).flatten() {
            Some(event) => m.dispatch(event),
            None => warm(0),
        }
    };
    Effect::new(start);
    let watched = prepare.clone();
    let watcher = m.clone();
    Effect::watch(
        move || {
            let order = match &watched {
                PrepareSource::Order(json) => json.with(|j| j.as_ref().ok().map(|o| o.as_str().to_owned())),
                PrepareSource::Custom(_) => None,
            };
            (order, disabled.get())
        },
        move |_, _, _| {
            watcher.dispatch(Event::OrderChanged);
            warm_after(WARM_DEBOUNCE_MS);
        },
        false,
    );

    let sdk = ctx.sdk;
    let lang = ctx.lang;
    let pay = m.clone();
    let check = m;
    UsePaymentReturn {
        phase: Signal::derive(move || state.with(|s| PaymentPhase::from(s))),
        payment_id: Signal::derive(move || state.with(|s| s.order().map(|o| o.payment_id().clone()))),
        message: Signal::derive(move || {
            let texts = lang.get().texts();
            state.with(|s| payment_message(s, texts))
        }),
        status: Signal::derive(move || {
            state.with(|s| match s {
                CheckoutState::Paid { status, .. } | CheckoutState::VirtualAccountIssued { status, .. } => {
                    Some(status.clone())
                }
                _ => None,
            })
        }),
        can_pay: Signal::derive(move || {
            // `disabled` means "nothing to buy": retrying an existing order
            // (e.g. after a redirect return) needs no cart.
            let has_order = state.with(|s| s.order().is_some());
            state.with(CheckoutState::can_pay)
                && (has_order || !disabled.get())
                && sdk.with(|s| *s != SdkStatus::Loading)
        }),
        busy: Signal::derive(move || state.with(CheckoutState::is_busy)),
        pay: Callback::new(move |()| pay.dispatch(Event::Pay)),
        check_again: Callback::new(move |()| check.dispatch(Event::CheckAgain)),
        resumed: was_resumed,
    }
}
