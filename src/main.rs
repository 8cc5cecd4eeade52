//! The demo shop's entry point (built by trunk with the `demo` feature):
//! see [`demo`] for the shop itself.

mod demo;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(demo::App);
}
