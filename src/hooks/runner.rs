//! The one effect runner both flows run on: a small spec per flow says how
//! to execute an effect and what to tell the merchant on a state change;
//! everything else (applying events, spawning effects, stopping at
//! cleanup) is shared.

use crate::machine::billing::{BillingEffect, BillingEvent, BillingState};
use crate::machine::payment::{CheckoutState, Effect, Event};
use crate::machine::Failure;
use futures::future::{AbortHandle, Abortable, LocalBoxFuture};
use leptos::prelude::*;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// A flow's state machine as the runner sees it.
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

/// What one flow does with its effects.
pub(crate) trait Spec<S: Flow>: Send + Sync + 'static {
    /// Executes an effect; its result, if any, is the next event.
    fn run(&self, effect: S::Effect) -> LocalBoxFuture<'static, Option<S::Event>>;
    /// Called after each state change.
    fn changed(&self, next: &S);
}

#[derive(Default)]
struct Tasks {
    closed: bool,
    next: u64,
    /// A handful at most (a flow runs one or two effects at a time).
    running: Vec<(u64, AbortHandle)>,
}

/// The work a hook started; aborted all at once at cleanup.
#[derive(Clone, Default)]
pub(crate) struct Scope(Arc<Mutex<Tasks>>);

impl Scope {
    /// A scope closed when the current owner is cleaned up.
    pub(crate) fn new() -> Self {
        let scope = Scope::default();
        let on_close = scope.clone();
        on_cleanup(move || on_close.close());
        scope
    }

    /// Runs `work` in the background until it ends or the scope closes.
    /// Nothing starts once the scope is closed.
    pub(crate) fn spawn(&self, work: impl Future<Output = ()> + 'static) {
        let (handle, registration) = AbortHandle::new_pair();
        let id = {
            let Ok(mut t) = self.0.lock() else { return };
            if t.closed {
                return;
            }
            t.next += 1;
            let id = t.next;
            t.running.push((id, handle));
            id
        };
        let tasks = self.0.clone();
        leptos::task::spawn_local(async move {
            let _ = Abortable::new(work, registration).await;
            if let Ok(mut t) = tasks.lock() {
                t.running.retain(|(i, _)| *i != id);
            }
        });
    }

    /// Aborts everything running and refuses new work.
    pub(crate) fn close(&self) {
        let handles: Vec<AbortHandle> = match self.0.lock() {
            Ok(mut t) => {
                t.closed = true;
                t.running.drain(..).map(|(_, h)| h).collect()
            }
            Err(_) => return,
        };
        for h in handles {
            h.abort();
        }
    }

    /// Whether the scope was closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.0.lock().map(|t| t.closed).unwrap_or(true)
    }
}

/// One running flow: its state, its spec and the scope of its work.
pub(crate) struct Machine<S: Flow> {
    pub state: RwSignal<S>,
    pub scope: Scope,
    pub spec: Arc<dyn Spec<S>>,
}

impl<S: Flow> Clone for Machine<S> {
    fn clone(&self) -> Self {
        Self {
            state: self.state,
            scope: self.scope.clone(),
            spec: self.spec.clone(),
        }
    }
}

impl<S: Flow> Machine<S> {
    /// Applies `event`, starts the resulting effects, and notifies. Events
    /// after cleanup are dropped.
    pub(crate) fn dispatch(&self, event: S::Event) {
        if self.scope.is_closed() {
            return;
        }
        let Some(current) = self.state.try_get_untracked() else {
            return;
        };
        let (next, effects) = current.clone().step(event);
        let changed = next != current;
        if changed {
            // Re-rendering is scheduled, not done, here: the effects below
            // still run first.
            self.state.try_set(next.clone());
        }
        for effect in effects {
            self.start(effect);
        }
        if changed {
            if let Some(f) = next.failure() {
                crate::dom::console_error(&format!("portone-checkout: {} ({:?})", f.detail, f.reason), None);
            }
            self.spec.changed(&next);
        }
    }

    /// Runs an effect up to its first wait now, in the caller's task: a
    /// click reaches the SDK inside its own event handler (popup blockers
    /// need that; so does a fast click-to-window), and an effect that needs
    /// no waiting finishes at once. The rest runs in the scope.
    fn start(&self, effect: S::Effect) {
        use std::task::{Context, Poll};
        let mut work = self.spec.run(effect);
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        match work.as_mut().poll(&mut cx) {
            Poll::Ready(Some(event)) => self.dispatch(event),
            Poll::Ready(None) => {}
            // The spawned task polls again at once with its own waker, so
            // nothing the first poll registered is lost.
            Poll::Pending => {
                let machine = self.clone();
                self.scope.spawn(async move {
                    if let Some(event) = work.await {
                        machine.dispatch(event);
                    }
                });
            }
        }
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

/// Developer detail of a gateway error; its raw value goes to the console.
pub(crate) fn rejection_detail(e: &crate::gateway::SdkError) -> String {
    if let Some(raw) = e.raw() {
        crate::dom::console_error("portone-checkout: the payment SDK refused or failed", Some(&raw.0));
    }
    e.to_string()
}
