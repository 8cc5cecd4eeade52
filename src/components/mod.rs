//! The Leptos components (feature `components`): thin views over the
//! [hooks](crate::hooks).
//!
//! - [`CheckoutProvider`]: the gateway, the backends, the language.
//! - [`Checkout`]: a pay button and its status for the merchant's order;
//!   [`PaymentView`] renders any [`use_payment`](crate::hooks::use_payment)
//!   the same way.
//! - [`IssueBillingKey`]: a billing-key button and its status.
//!
//! Styles live next to the components (`checkout.css`): BEM with the
//! `pc-checkout` prefix, every colour, radius and spacing a `--pc-*`
//! custom property.

#[cfg(feature = "billing")]
mod billing;
mod checkout;
mod provider;
mod view;

#[cfg(feature = "billing")]
pub use billing::IssueBillingKey;
pub use checkout::{Checkout, PaymentView};
pub use provider::CheckoutProvider;
