//! `<IssueBillingKey>`: a billing-key button and its status, wired to
//! [`use_billing_key`].

use super::view::{FlowView, TestIds};
use crate::hooks::{use_billing_key, use_checkout, BillingPhase, UseBillingKeyOptions};
use crate::protocol::Subscription;
use leptos::prelude::*;

/// A button that issues a billing key with the provider and has the
/// merchant backend verify and store it. Must be inside a
/// [`CheckoutProvider`](super::CheckoutProvider) with a billing backend.
/// Stable hooks: `data-testid` `billing-issue`, `billing-status` (with
/// `data-state` and `data-billing-key`), `billing-error`, `billing-check`.
#[component]
pub fn IssueBillingKey(
    /// Where the provider returns the page after a redirect. Default: the
    /// current page without its query.
    #[prop(optional, into)]
    return_url: Option<String>,
    /// The button's label (reactive). Default: "결제수단 등록하기" /
    /// "Register payment method".
    #[prop(optional, into)]
    label: MaybeProp<String>,
    /// Called once the backend has verified and stored the key.
    #[prop(optional, into)]
    on_issued: Option<Callback<Subscription>>,
    /// Extra classes on the root element (reactive).
    #[prop(optional, into)]
    class: MaybeProp<String>,
) -> impl IntoView {
    let lang = use_checkout().lang();
    let billing = use_billing_key(UseBillingKeyOptions { return_url, on_issued });
    let phase = billing.phase;
    let label_text = move || {
        label.get().unwrap_or_else(|| {
            let t = lang.get().texts();
            let again = matches!(phase.get(), BillingPhase::Failed | BillingPhase::Cancelled);
            if again { t.issue_again } else { t.issue }.to_string()
        })
    };
    view! {
        <FlowView
            ids=TestIds {
                button: "billing-issue",
                status: "billing-status",
                error: "billing-error",
                check: "billing-check",
            }
            name=Signal::derive(move || phase.get().name())
            class=class
            enabled=billing.can_issue
            busy=billing.busy
            label=Signal::derive(label_text)
            message=billing.message
            problem=Signal::derive(move || phase.get().is_problem())
            unknown=Signal::derive(move || phase.get() == BillingPhase::Unknown)
            check_label=Signal::derive(move || lang.get().texts().check_again)
            billing_key=Signal::derive(move || billing.subscription.get().map(|s| s.billing_key))
            reveal=billing.resumed
            on_action=billing.issue
            on_check=billing.check_again
        />
    }
}
