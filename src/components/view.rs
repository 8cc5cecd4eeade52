//! The markup shared by `<Checkout>` and `<IssueBillingKey>`: an action
//! button and an accessible status region with the problem text and a
//! "check again" button.

use leptos::prelude::*;

/// The stable `data-testid`s of one flow's elements.
pub(crate) struct TestIds {
    pub button: &'static str,
    pub status: &'static str,
    pub error: &'static str,
    pub check: &'static str,
}

/// Renders a flow; everything it shows comes in as signals, so the parent
/// only wires its state machine to these.
#[component]
pub(crate) fn FlowView(
    ids: TestIds,
    #[prop(into)] name: Signal<&'static str>,
    class: MaybeProp<String>,
    #[prop(into)] enabled: Signal<bool>,
    #[prop(into)] busy: Signal<bool>,
    #[prop(into)] label: Signal<String>,
    #[prop(into)] progress: Signal<&'static str>,
    #[prop(into)] problem: Signal<Option<(&'static str, Option<String>)>>,
    #[prop(into)] unknown: Signal<bool>,
    #[prop(into)] check_label: Signal<&'static str>,
    #[prop(optional, into)] payment_id: MaybeProp<String>,
    #[prop(optional, into)] billing_key: MaybeProp<String>,
    on_action: Callback<()>,
    on_check: Callback<()>,
) -> impl IntoView {
    let error_id = ids.error;
    view! {
        <div
            class=move || format!("pc-checkout pc-checkout--{} {}", name.get(), class.get().unwrap_or_default())
            data-state=name
        >
            <button
                type="button"
                class="pc-checkout__pay"
                data-testid=ids.button
                disabled=move || !enabled.get()
                aria-busy=move || busy.get().to_string()
                on:click=move |_| on_action.run(())
            >
                {label}
            </button>
            <div
                class="pc-checkout__status"
                role="status"
                aria-live="polite"
                data-testid=ids.status
                data-state=name
                data-payment-id=move || payment_id.get()
                data-billing-key=move || billing_key.get()
            >
                <span class="pc-checkout__message">{progress}</span>
                {move || {
                    problem
                        .get()
                        .map(|(sentence, detail)| {
                            view! {
                                <p class="pc-checkout__error" data-testid=error_id>
                                    <span class="pc-checkout__error-text">{sentence}</span>
                                    {detail
                                        .map(|d| {
                                            view! {
                                                " "
                                                <span class="pc-checkout__error-detail">{d}</span>
                                            }
                                        })}
                                </p>
                            }
                        })
                }}
                <Show when=move || unknown.get()>
                    <button
                        type="button"
                        class="pc-checkout__check"
                        data-testid=ids.check
                        on:click=move |_| on_check.run(())
                    >
                        {check_label}
                    </button>
                </Show>
            </div>
        </div>
    }
}
