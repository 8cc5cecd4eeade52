//! `<Checkout>`: the pay button, its status region, and the effect runner
//! of the payment state machine.

use super::provider::{use_checkout, CheckoutContext, SdkStatus};
use super::view::{FlowView, TestIds};
use super::{dispatch, Runner};
use crate::backend::{with_retries, BackendError};
use crate::dom;
use crate::i18n::Lang;
use crate::machine::payment::{CheckoutState, Effect as Fx, Event, OrderRef};
use crate::machine::Failure;
use crate::model::validate::format_kst_datetime;
use crate::model::{
    Currency, Customer, EasyPayOptions, PayMethod, PaymentBypass, PaymentRequest, TosspayV2PaymentBypass, WindowTypes,
};
use crate::protocol::{PaymentStatus, PreparedPayment};
use crate::redirect::RedirectReturn;
use crate::sdk::PaymentGateway;
use leptos::prelude::*;
use std::sync::Arc;

const SAVED_PREFIX: &str = "portone-checkout:payment:";
/// How long `order` must stay unchanged before it is prepared again.
const WARM_DEBOUNCE_MS: u32 = 300;

/// How payment requests are built, besides the order itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaymentOptions {
    /// `payMethod` (default `EASY_PAY`).
    pub pay_method: Option<PayMethod>,
    /// `easyPay` options.
    pub easy_pay: Option<EasyPayOptions>,
    /// `bypass` (TossPay's `tosspay_v2` and others).
    pub bypass: Option<PaymentBypass>,
    /// `windowType`.
    pub window_type: Option<WindowTypes>,
    /// `redirectUrl` (default: the current page without its query).
    pub redirect_url: Option<String>,
    /// `forceRedirect`.
    pub force_redirect: bool,
    /// `noticeUrls`.
    pub notice_urls: Vec<String>,
    /// Sets TossPay's `expiredTime` this many seconds after the request.
    pub tosspay_expires_in_secs: Option<u32>,
}

/// Builds the SDK request for a prepared order (pure; `now_ms` and
/// `default_redirect` come from the browser).
#[allow(clippy::too_many_arguments)]
pub fn build_payment_request(
    store_id: &str,
    channel_key: Option<&str>,
    channel_group_id: Option<&str>,
    prepared: &PreparedPayment,
    opts: &PaymentOptions,
    lang: Lang,
    now_ms: i64,
    default_redirect: Option<String>,
) -> PaymentRequest {
    let mut bypass = opts.bypass.clone();
    if let Some(secs) = opts.tosspay_expires_in_secs {
        let b = bypass.get_or_insert_with(PaymentBypass::default);
        let t = b.tosspay_v2.get_or_insert_with(TosspayV2PaymentBypass::default);
        t.expired_time = Some(format_kst_datetime(now_ms.div_euclid(1000) + i64::from(secs)));
    }
    let customer = prepared.customer.as_ref().map(|c| Customer {
        customer_id: c.customer_id.clone(),
        full_name: c.full_name.clone(),
        phone_number: c.phone_number.clone(),
        email: c.email.clone(),
        ..Default::default()
    });
    PaymentRequest {
        channel_key: channel_key.map(str::to_string),
        channel_group_id: channel_group_id.map(str::to_string),
        customer,
        window_type: opts.window_type.clone(),
        redirect_url: opts.redirect_url.clone().or(default_redirect),
        force_redirect: opts.force_redirect.then_some(true),
        notice_urls: (!opts.notice_urls.is_empty()).then(|| opts.notice_urls.clone()),
        locale: Some(lang.locale()),
        bypass,
        easy_pay: opts.easy_pay.clone(),
        ..PaymentRequest::new(
            store_id,
            prepared.payment_id.as_str(),
            &prepared.order_name,
            prepared.total_amount,
            Currency::from(prepared.currency.as_str()),
            opts.pay_method.clone().unwrap_or(PayMethod::EasyPay),
        )
    }
}

/// Everything the effect runner needs (cheap to clone).
#[derive(Clone)]
struct Machine {
    state: RwSignal<CheckoutState>,
    ctx: CheckoutContext,
    order: Signal<serde_json::Value>,
    opts: Arc<PaymentOptions>,
    on_paid: Option<Callback<PaymentStatus>>,
    on_failed: Option<Callback<Failure>>,
    on_state_change: Option<Callback<CheckoutState>>,
}

impl Runner<CheckoutState> for Machine {
    fn state(&self) -> RwSignal<CheckoutState> {
        self.state
    }

    fn changed(&self, next: &CheckoutState) {
        if let Some(cb) = self.on_state_change {
            cb.run(next.clone());
        }
        match next {
            CheckoutState::Paid { status, .. } => {
                if let Some(cb) = self.on_paid {
                    cb.run(status.clone());
                }
            }
            CheckoutState::Failed { failure, .. } => {
                if let Some(cb) = self.on_failed {
                    cb.run(failure.clone());
                }
            }
            _ => {}
        }
    }

    fn run(&self, effect: Fx) -> impl std::future::Future<Output = Option<Event>> + 'static {
        let m = self.clone();
        async move { run(&m, effect).await }
    }
}

fn refused_or(e: BackendError, otherwise: impl FnOnce(String) -> Event) -> Event {
    super::refused_or(e, |message, detail| Event::Refused { message, detail }, otherwise)
}

async fn run(m: &Machine, effect: Fx) -> Option<Event> {
    let ctx = &m.ctx.inner;
    let backend = ctx.backend.clone();
    match effect {
        Fx::Prepare => {
            let order = m.order.get_untracked();
            let r = with_retries(&ctx.retry, || backend.prepare_payment(&order), dom::sleep_ms).await;
            Some(match r {
                Ok(p) => Event::Prepared(p),
                Err(e) => refused_or(e, Event::PrepareFailed),
            })
        }
        Fx::PrepareEarly { generation } => {
            let order = m.order.get_untracked();
            let prepared = backend.prepare_payment(&order).await.map_err(|e| e.to_string());
            Some(Event::Warmed { generation, prepared })
        }
        Fx::Save(order) => {
            if let Ok(json) = serde_json::to_string(&order) {
                dom::session_set(&format!("{SAVED_PREFIX}{}", order.payment_id), &json);
            }
            None
        }
        Fx::Forget { payment_id } => {
            dom::session_remove(&format!("{SAVED_PREFIX}{payment_id}"));
            None
        }
        Fx::RequestPayment(prepared) => {
            let req = build_payment_request(
                &ctx.store_id,
                ctx.channel_key.as_deref(),
                ctx.channel_group_id.as_deref(),
                &prepared,
                &m.opts,
                m.ctx.lang().get_untracked(),
                dom::now_ms(),
                dom::current_url_without_query(),
            );
            Some(match ctx.gateway.request_payment(&req, &ctx.pg).await {
                Ok(outcome) => Event::Sdk(outcome),
                Err(e) => {
                    let (code, detail) = super::rejection(e);
                    Event::SdkRejected { code, detail }
                }
            })
        }
        Fx::Complete { payment_id, body } => {
            let r = with_retries(
                &ctx.retry,
                || backend.complete_payment(&payment_id, &body),
                dom::sleep_ms,
            )
            .await;
            Some(match r {
                Ok(s) => Event::Confirmed(s),
                Err(e) => refused_or(e, Event::CompleteFailed),
            })
        }
        Fx::FetchStatus { payment_id } => {
            let r = with_retries(&ctx.retry, || backend.payment_status(&payment_id), dom::sleep_ms).await;
            Some(match r {
                Ok(s) => Event::Confirmed(s),
                Err(e) => refused_or(e, Event::StatusFailed),
            })
        }
        Fx::ScheduleCheck { delay_ms, checks } => {
            dom::sleep_ms(delay_ms).await;
            Some(Event::AutoCheck { checks })
        }
    }
}

/// The pay button with an accessible status region, driving one payment
/// through the PortOne SDK and the merchant backend.
///
/// Must be inside a [`CheckoutProvider`](super::CheckoutProvider). Stable
/// hooks: `data-testid` `checkout-pay`, `checkout-status` (with `data-state`
/// and `data-payment-id`), `checkout-error`, `checkout-check`.
#[component]
pub fn Checkout(
    /// What to buy: the merchant's JSON, posted as is to the backend's
    /// prepare call (`POST /api/payments`). The backend computes the amount.
    #[prop(into)]
    order: Signal<serde_json::Value>,
    /// `payMethod`. Default: `EASY_PAY`.
    #[prop(optional, into)]
    pay_method: MaybeProp<PayMethod>,
    /// `easyPay` method options.
    #[prop(optional, into)]
    easy_pay: MaybeProp<EasyPayOptions>,
    /// `bypass` options (TossPay's `tosspay_v2`, other PGs as JSON).
    #[prop(optional, into)]
    bypass: MaybeProp<PaymentBypass>,
    /// `windowType` (e.g. `pc: POPUP`). Default: the SDK's.
    #[prop(optional, into)]
    window_type: MaybeProp<WindowTypes>,
    /// `redirectUrl`. Default: the current page without its query.
    #[prop(optional, into)]
    redirect_url: Option<String>,
    /// `forceRedirect`: always leave the page for the PG.
    #[prop(optional)]
    force_redirect: bool,
    /// `noticeUrls`: per-payment webhook URLs.
    #[prop(optional)]
    notice_urls: Vec<String>,
    /// Sets TossPay's `expiredTime` this many seconds after each request.
    #[prop(optional, into)]
    tosspay_expires_in_secs: MaybeProp<u32>,
    /// Prepares the order with the backend as soon as `order` settles (and
    /// again when it changes), so that a click opens the payment window
    /// without waiting for the network. Default: `true`. With `false` the
    /// order is prepared on click.
    #[prop(default = true)]
    prepare_early: bool,
    /// Disables the pay button (e.g. an empty cart); nothing is prepared
    /// while disabled.
    #[prop(optional, into)]
    disabled: Signal<bool>,
    /// The pay button's label. Default: "결제하기" / "Pay".
    #[prop(optional, into)]
    label: MaybeProp<String>,
    /// Called once the backend has verified the payment as paid.
    #[prop(optional, into)]
    on_paid: Option<Callback<PaymentStatus>>,
    /// Called when the flow ends failed.
    #[prop(optional, into)]
    on_failed: Option<Callback<Failure>>,
    /// Called on every state change.
    #[prop(optional, into)]
    on_state_change: Option<Callback<CheckoutState>>,
    /// Extra classes on the root element.
    #[prop(optional, into)]
    class: MaybeProp<String>,
) -> impl IntoView {
    let ctx = use_checkout();
    let state = RwSignal::new(CheckoutState::Idle);
    let m = Machine {
        state,
        ctx: ctx.clone(),
        order,
        opts: Arc::new(PaymentOptions {
            pay_method: pay_method.get_untracked(),
            easy_pay: easy_pay.get_untracked(),
            bypass: bypass.get_untracked(),
            window_type: window_type.get_untracked(),
            redirect_url,
            force_redirect,
            notice_urls,
            tosspay_expires_in_secs: tosspay_expires_in_secs.get_untracked(),
        }),
        on_paid,
        on_failed,
        on_state_change,
    };

    // Resume a redirect return.
    let resumed = ctx.take_return(
        |r| matches!(r, RedirectReturn::Payment(_)),
        |r| match r {
            Ok(RedirectReturn::Payment(ret)) => {
                let saved = dom::session_get(&format!("{SAVED_PREFIX}{}", ret.payment_id))
                    .and_then(|json| serde_json::from_str::<OrderRef>(&json).ok());
                Event::Returned { ret, saved }
            }
            Ok(other) => Event::ReturnInvalid(format!("unexpected return {other:?}")),
            Err(e) => Event::ReturnInvalid(e.to_string()),
        },
    );
    let resumed_nothing = resumed.is_none();
    if let Some(event) = resumed {
        dispatch(&m, event);
    }

    // A different cart drops an unpaid order; once it settles (and at
    // mount), the new one is prepared in the background.
    let generation = StoredValue::new(0u32);
    let warm_after = {
        let m = m.clone();
        move |delay_ms: u32| {
            if !prepare_early {
                return;
            }
            let g = generation.try_update_value(|g| {
                *g += 1;
                *g
            });
            let Some(g) = g else { return };
            let m = m.clone();
            leptos::task::spawn_local(async move {
                dom::sleep_ms(delay_ms).await;
                let current = generation.try_get_value() == Some(g);
                if current && !disabled.try_get_untracked().unwrap_or(true) {
                    dispatch(&m, Event::Warm { generation: g });
                }
            });
        }
    };
    let watcher = m.clone();
    let rewarm = warm_after.clone();
    Effect::watch(
        move || (order.get(), disabled.get()),
        move |_, _, _| {
            dispatch(&watcher, Event::OrderChanged);
            rewarm(WARM_DEBOUNCE_MS);
        },
        false,
    );
    if resumed_nothing {
        warm_after(0);
    }

    let lang = ctx.lang();
    let sdk = ctx.sdk_status();
    let texts = move || lang.get().texts();
    let enabled = move || {
        // `disabled` means "nothing to buy": retrying an existing order
        // (e.g. after a redirect return) needs no cart.
        let has_order = state.with(|s| s.order().is_some());
        state.with(CheckoutState::can_pay) && (has_order || !disabled.get()) && sdk.with(|s| *s != SdkStatus::Loading)
    };
    let label_text = move || {
        label.get().unwrap_or_else(|| {
            let t = texts();
            if state.with(|s| s.failure().is_some()) {
                t.pay_again.to_string()
            } else {
                t.pay.to_string()
            }
        })
    };
    let unsettled = |s: &CheckoutState| {
        matches!(
            s,
            CheckoutState::Failed { .. } | CheckoutState::Cancelled { .. } | CheckoutState::Unknown { .. }
        )
    };
    let pay = m.clone();
    let check = m;
    view! {
        <FlowView
            ids=TestIds {
                button: "checkout-pay",
                status: "checkout-status",
                error: "checkout-error",
                check: "checkout-check",
            }
            name=move || state.with(CheckoutState::name)
            class=class
            enabled=enabled
            busy=move || state.with(CheckoutState::is_busy)
            label=label_text
            progress=move || state.with(|s| if unsettled(s) { "" } else { texts().checkout_status(s) })
            problem=move || {
                state
                    .with(|s| {
                        unsettled(s)
                            .then(|| (texts().checkout_status(s), s.failure().and_then(|f| f.customer_message.clone())))
                    })
            }
            unknown=move || state.with(|s| matches!(s, CheckoutState::Unknown { .. }))
            check_label=move || texts().check_again
            payment_id=Signal::derive(move || state.with(|s| s.order().map(|o| o.payment_id.to_string())))
            on_action=Callback::new(move |()| dispatch(&pay, Event::Pay))
            on_check=Callback::new(move |()| dispatch(&check, Event::CheckAgain))
        />
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EasyPayProvider, Locale};
    use crate::protocol::PreparedCustomer;
    use serde_json::json;

    fn prepared() -> PreparedPayment {
        PreparedPayment {
            payment_id: crate::protocol::PaymentId::parse("order-1").expect("id"),
            order_name: "커피".into(),
            total_amount: 4500,
            currency: "KRW".into(),
            customer: Some(PreparedCustomer {
                customer_id: Some("c-1".into()),
                full_name: Some("홍길동".into()),
                phone_number: None,
                email: None,
            }),
        }
    }

    #[test]
    fn the_request_carries_the_server_amount_and_the_options() {
        let opts = PaymentOptions {
            easy_pay: Some(EasyPayOptions {
                easy_pay_provider: Some(EasyPayProvider::Tosspay),
                ..Default::default()
            }),
            notice_urls: vec!["https://shop.example/hook".into()],
            tosspay_expires_in_secs: Some(600),
            ..Default::default()
        };
        // 2026-11-22 12:00:00 KST.
        let req = build_payment_request(
            "store-1",
            Some("ck"),
            None,
            &prepared(),
            &opts,
            Lang::En,
            1_795_316_400_000,
            Some("https://shop.example/cart".into()),
        );
        let v = serde_json::to_value(&req).unwrap_or_default();
        assert_eq!(
            v,
            json!({
                "storeId": "store-1", "paymentId": "order-1", "orderName": "커피", "totalAmount": 4500,
                "currency": "KRW", "payMethod": "EASY_PAY", "channelKey": "ck",
                "customer": {"customerId": "c-1", "fullName": "홍길동"},
                "redirectUrl": "https://shop.example/cart",
                "noticeUrls": ["https://shop.example/hook"],
                "locale": "EN_US",
                "bypass": {"tosspay_v2": {"expiredTime": "2026-11-22 12:10:00"}},
                "easyPay": {"easyPayProvider": "TOSSPAY"}
            })
        );
        assert_eq!(req.locale, Some(Locale::EnUs));
    }

    #[test]
    fn an_explicit_redirect_url_and_force_redirect_win() {
        let opts = PaymentOptions {
            redirect_url: Some("https://shop.example/return".into()),
            force_redirect: true,
            ..Default::default()
        };
        let req = build_payment_request("s", None, Some("g"), &prepared(), &opts, Lang::Ko, 0, Some("x".into()));
        assert_eq!(req.redirect_url.as_deref(), Some("https://shop.example/return"));
        assert_eq!(req.force_redirect, Some(true));
        assert_eq!(req.channel_group_id.as_deref(), Some("g"));
        assert_eq!(req.bypass, None);
    }
}
