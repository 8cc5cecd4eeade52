//! The markup shared by every flow: an action button and an accessible
//! status region with the problem text and a "check again" button.

use leptos::html::Div;
use leptos::prelude::*;

/// The stable `data-testid`s of one flow's elements.
pub(crate) struct TestIds {
    pub button: &'static str,
    pub status: &'static str,
    pub error: &'static str,
    pub check: &'static str,
}

/// How many animation frames the reveal waits for the status region to be
/// attached (about 30 s at 60 frames a second; frames do not run while the
/// tab is hidden).
const REVEAL_FRAMES: u32 = 1800;

/// Frames the focus must hold before the reveal stops watching.
const REVEAL_STABLE_FRAMES: u32 = 10;

/// Scrolls the status region into view and focuses it, and keeps it
/// focused until it has held for a few frames. A view inside `<Suspense>`
/// can be built, shown, set aside while the rest loads and shown again:
/// focusing it while detached does nothing, and moving it drops the focus
/// (Firefox showed it, verifying a redirect return before the shop's other
/// resources had loaded). So this tries frame by frame: while detached it
/// waits; attached with nothing focused, it focuses; once something else
/// has the focus (the shopper moved it) or the focus held, it stops. It
/// gives up when the component is gone (`alive` disposed) or the frames run
/// out.
fn reveal_when_attached(el: web_sys::HtmlDivElement, alive: StoredValue<bool>, frames_left: u32, held: u32) {
    if alive.try_get_value().is_none() || held >= REVEAL_STABLE_FRAMES {
        return;
    }
    let mut held = held;
    if el.is_connected() {
        let active = el.owner_document().and_then(|d| d.active_element());
        let body = el.owner_document().and_then(|d| d.body());
        match active {
            Some(a) if a == *el.as_ref() => held += 1,
            // Something else has the focus on purpose: leave it there.
            Some(a) if body.as_ref().is_none_or(|b| a != *b.as_ref()) => return,
            _ => {
                el.scroll_into_view();
                let _ = el.focus();
                held = 0;
            }
        }
    } else {
        held = 0;
    }
    if frames_left > 0 {
        request_animation_frame(move || reveal_when_attached(el, alive, frames_left - 1, held));
    }
}

/// Renders a flow; everything it shows comes in as signals, so the parent
/// only wires a hook to these. After a redirect return (`reveal`), the
/// status region is scrolled into view and focused once the flow settles,
/// so a phone shopper sees the outcome rather than an empty page top.
#[component]
pub(crate) fn FlowView(
    ids: TestIds,
    #[prop(into)] name: Signal<&'static str>,
    class: MaybeProp<String>,
    #[prop(into)] enabled: Signal<bool>,
    #[prop(into)] busy: Signal<bool>,
    #[prop(into)] label: Signal<String>,
    #[prop(into)] message: Signal<Option<String>>,
    #[prop(into)] problem: Signal<bool>,
    #[prop(into)] unknown: Signal<bool>,
    #[prop(into)] check_label: Signal<&'static str>,
    #[prop(optional, into)] payment_id: MaybeProp<String>,
    #[prop(optional, into)] billing_key: MaybeProp<String>,
    reveal: bool,
    on_action: Callback<()>,
    on_check: Callback<()>,
) -> impl IntoView {
    let error_id = ids.error;
    let status_ref = NodeRef::<Div>::new();
    if reveal {
        let revealed = StoredValue::new(false);
        Effect::new(move |_| {
            let settled = !busy.get() && name.get() != "idle";
            if settled && !revealed.get_value() {
                if let Some(el) = status_ref.get() {
                    revealed.set_value(true);
                    reveal_when_attached(el, revealed, REVEAL_FRAMES, 0);
                }
            }
        });
    }
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
                tabindex="-1"
                node_ref=status_ref
                data-testid=ids.status
                data-state=name
                data-payment-id=move || payment_id.get()
                data-billing-key=move || billing_key.get()
            >
                <span class="pc-checkout__message">
                    {move || if problem.get() { None } else { message.get() }}
                </span>
                {move || {
                    problem
                        .get()
                        .then(|| message.get())
                        .flatten()
                        .map(|text| {
                            view! {
                                <p class="pc-checkout__error" data-testid=error_id>
                                    {text}
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
