//! The Leptos components (feature `components`): a provider plus the
//! payment and billing-key checkouts.
//!
//! Components only wire state to view: the flows are the pure state
//! machines of [`crate::machine`]; the effect runners here execute their
//! effects (backend calls, SDK calls, storage) and feed the results back.

mod billing;
mod checkout;
mod provider;
mod view;

pub use billing::{build_billing_request, IssueBillingKey, IssueOptions};
pub use checkout::{build_payment_request, Checkout, PaymentOptions};
pub use provider::{try_use_checkout, use_checkout, CheckoutContext, CheckoutProvider, SdkStatus};

use crate::machine::billing::{BillingEffect, BillingEvent, BillingState};
use crate::machine::payment::{CheckoutState, Effect, Event};
use crate::machine::Failure;
use leptos::prelude::*;
use std::future::Future;

/// A flow state machine as the effect runner sees it.
pub(crate) trait Flow: Clone + PartialEq + Send + Sync + 'static {
    type Event: 'static;
    type Effect: 'static;
    fn step(self, event: Self::Event) -> (Self, Vec<Self::Effect>);
    fn failure(&self) -> Option<&Failure>;
}

impl Flow for CheckoutState {
    type Event = Event;
    type Effect = Effect;
    fn step(self, event: Event) -> (Self, Vec<Effect>) {
        self.on(event)
    }
    fn failure(&self) -> Option<&Failure> {
        CheckoutState::failure(self)
    }
}

impl Flow for BillingState {
    type Event = BillingEvent;
    type Effect = BillingEffect;
    fn step(self, event: BillingEvent) -> (Self, Vec<BillingEffect>) {
        self.on(event)
    }
    fn failure(&self) -> Option<&Failure> {
        BillingState::failure(self)
    }
}

/// Runs the effects of one component's flow.
pub(crate) trait Runner<S: Flow>: Clone + 'static {
    /// The state signal.
    fn state(&self) -> RwSignal<S>;
    /// Called after each state change (callbacks).
    fn changed(&self, next: &S);
    /// Executes an effect; its result, if any, is the next event.
    fn run(&self, effect: S::Effect) -> impl Future<Output = Option<S::Event>> + 'static;
}

/// Applies `event`, notifies, and spawns the resulting effects. Events for
/// an unmounted component are dropped.
pub(crate) fn dispatch<S: Flow, R: Runner<S>>(runner: &R, event: S::Event) {
    let state = runner.state();
    let Some(current) = state.try_get_untracked() else {
        return;
    };
    let (next, effects) = current.clone().step(event);
    // Effects are queued before the state change so that they run ahead of
    // the re-render it schedules: a click reaches the SDK first.
    for effect in effects {
        let r = runner.clone();
        let work = r.run(effect);
        leptos::task::spawn_local(async move {
            if let Some(event) = work.await {
                dispatch(&r, event);
            }
        });
    }
    if next != current {
        state.try_set(next.clone());
        if let Some(f) = next.failure() {
            crate::dom::console_error(&format!("portone-checkout: {} ({:?})", f.detail, f.reason), None);
        }
        runner.changed(&next);
    }
}

/// The event for a backend error: a definitive refusal (4xx, with the
/// backend's message for the customer) or `otherwise` (transient).
pub(crate) fn refused_or<E>(
    e: crate::backend::BackendError,
    refused: impl FnOnce(String, String) -> E,
    otherwise: impl FnOnce(String) -> E,
) -> E {
    match e.refusal_message() {
        Some(message) => refused(message.to_string(), e.to_string()),
        None => otherwise(e.to_string()),
    }
}

/// The SDK's code and developer detail of an SDK error; the raw value of a
/// rejection goes to the console.
pub(crate) fn rejection(e: crate::sdk::SdkError) -> (Option<crate::model::ErrorCode>, String) {
    match e {
        crate::sdk::SdkError::Rejected { rejection, raw } => {
            crate::dom::console_error("portone-checkout: the PortOne SDK rejected the request", Some(&raw));
            (rejection.code, rejection.message)
        }
        other => (None, other.to_string()),
    }
}
