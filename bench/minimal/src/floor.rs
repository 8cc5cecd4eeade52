//! For scale in `BENCHMARKS.md`: a Leptos page with one plain button, built
//! exactly like the minimal checkout page, without the checkout.

use leptos::prelude::*;

fn main() {
    leptos::mount::mount_to_body(|| {
        let clicks = RwSignal::new(0u32);
        view! {
            <button type="button" data-testid="checkout-pay" on:click=move |_| clicks.update(|n| *n += 1)>
                "결제하기"
            </button>
        }
    });
}
