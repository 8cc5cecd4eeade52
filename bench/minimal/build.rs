//! Links the page's wasm with a 256 KiB stack instead of rustc's 1 MiB
//! default. The stack is part of the initial linear memory, so the default
//! alone costs 1 MiB of the page's memory; this page needs far less (Leptos
//! mounting a button and the checkout's futures). rustc places the stack
//! first (`--stack-first`), so an overflow traps instead of corrupting data.
//! Only this crate's binary is affected: no RUSTFLAGS, no rebuild of the
//! dependencies.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-bins=-zstack-size=262144");
    }
}
