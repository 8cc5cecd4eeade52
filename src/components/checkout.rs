//! `<Checkout>` and `<PaymentView>`: a pay button and its status, wired to
//! [`use_payment`].

use super::view::{FlowView, TestIds};
use crate::hooks::{use_checkout, use_payment, PaymentPhase, UsePaymentOptions, UsePaymentReturn};
use crate::protocol::PaymentStatus;
use leptos::prelude::*;
use serde::Serialize;

/// Renders a payment: the pay button and an accessible status region.
/// Stable hooks: `data-testid` `checkout-pay`, `checkout-status` (with
/// `data-state` and `data-payment-id`), `checkout-error`,
/// `checkout-check`.
#[component]
pub fn PaymentView(
    /// The payment to render (from [`use_payment`]).
    payment: UsePaymentReturn,
    /// The pay button's label (reactive). Default: "결제하기" / "Pay", and
    /// "다시 결제하기" / "Pay again" after a failure.
    #[prop(optional, into)]
    label: MaybeProp<String>,
    /// Extra classes on the root element (reactive).
    #[prop(optional, into)]
    class: MaybeProp<String>,
) -> impl IntoView {
    let lang = use_checkout().lang();
    let phase = payment.phase;
    let label_text = move || {
        label.get().unwrap_or_else(|| {
            let t = lang.get().texts();
            let again = matches!(phase.get(), PaymentPhase::Failed | PaymentPhase::Cancelled);
            if again { t.pay_again } else { t.pay }.to_string()
        })
    };
    view! {
        <FlowView
            ids=TestIds {
                button: "checkout-pay",
                status: "checkout-status",
                error: "checkout-error",
                check: "checkout-check",
            }
            name=Signal::derive(move || phase.get().name())
            class=class
            enabled=payment.can_pay
            busy=payment.busy
            label=Signal::derive(label_text)
            message=payment.message
            problem=Signal::derive(move || phase.get().is_problem())
            unknown=Signal::derive(move || phase.get() == PaymentPhase::Unknown)
            check_label=Signal::derive(move || lang.get().texts().check_again)
            payment_id=Signal::derive(move || payment.payment_id.get().map(|id| id.to_string()))
            reveal=payment.resumed
            on_action=payment.pay
            on_check=payment.check_again
        />
    }
}

/// The pay button with an accessible status region for the merchant's
/// order: [`use_payment`] plus [`PaymentView`]. Must be inside a
/// [`CheckoutProvider`](super::CheckoutProvider).
///
/// For a button of your own, or an order prepared by your own function,
/// call [`use_payment`] and render what it returns.
#[component]
pub fn Checkout<O>(
    /// What to buy: the merchant's own order (any `Serialize` value),
    /// posted as JSON to the backend's prepare route, which computes the
    /// amount. Read whenever an order is prepared; a change drops an
    /// unpaid order. (A fixed order: `Signal::stored(order)`.)
    order: Signal<O>,
    /// Prepares the order in the background as soon as `order` settles
    /// (and again when it changes), so a click opens the payment window
    /// without waiting for the network. Default: `true`.
    #[prop(default = true)]
    prepare_early: bool,
    /// Nothing to buy (e.g. an empty cart, reactive): the button is off and
    /// nothing is prepared. Default: never.
    #[prop(optional, into)]
    disabled: Signal<bool>,
    /// Where the provider returns the page after a redirect. Default: the
    /// current page without its query.
    #[prop(optional, into)]
    return_url: Option<String>,
    /// The pay button's label (reactive). Default: "결제하기" / "Pay".
    #[prop(optional, into)]
    label: MaybeProp<String>,
    /// Called once the backend has verified the payment as paid.
    #[prop(optional, into)]
    on_paid: Option<Callback<PaymentStatus>>,
    /// Called on every phase change.
    #[prop(optional, into)]
    on_phase: Option<Callback<PaymentPhase>>,
    /// Extra classes on the root element (reactive).
    #[prop(optional, into)]
    class: MaybeProp<String>,
) -> impl IntoView
where
    O: Serialize + Clone + Send + Sync + 'static,
{
    let mut options = UsePaymentOptions::order::<O>(order)
        .prepare_early(prepare_early)
        .disabled(disabled);
    if let Some(url) = return_url {
        options = options.return_url(url);
    }
    if let Some(cb) = on_paid {
        options = options.on_paid(cb);
    }
    if let Some(cb) = on_phase {
        options = options.on_phase(cb);
    }
    let payment = use_payment(options);
    view! { <PaymentView payment label class /> }
}
