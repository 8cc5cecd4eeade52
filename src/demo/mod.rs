//! The demo shop that `trunk` builds (feature `demo`; not part of the
//! library): a product list, a cart, the checkout, a receipt, and a
//! subscription page that issues a billing key and charges it. It reads
//! `GET /api/config`, so the same build runs against the sandbox and
//! against real PortOne keys.
//!
//! The same shop runs on three providers, picked by the path: PortOne V2 at
//! `/` (and `/subscribe`), PortOne V1 with TossPay at `/v1/` (and
//! `/v1/subscribe`), Toss Payments used directly at `/toss/` (and
//! `/toss/subscribe`). Under a prefix the shop talks to the backend's
//! routes under the same prefix (`/v1/api/...`, `/toss/api/...`) and builds
//! its gateway from that prefix's `/api/config`, which names the provider
//! (Toss: the client key only). The DOM contract is the same on all three.
//!
//! Test flags in the query: `lang=en`, `window=popup` (PC window type),
//! `expires_in=<seconds>` (TossPay `expiredTime`), `redirect=1` (Toss: the
//! redirect form on PC too).

pub mod api;
mod client;

use api::{
    ChargeResult, ClientConfig, PrepareItem, PreparePaymentRequest, Product, CONFIG_PATH, PRODUCTS_PATH,
    PROVIDER_PORTONE_V1, PROVIDER_TOSS, TOSS_PREFIX, V1_PREFIX, V1_WEBHOOK_PATH,
};
use leptos::prelude::*;
use portone_checkout::components::{Checkout, CheckoutProvider, IssueBillingKey};
use portone_checkout::gateway::{Gateway, PortOneV1, PortOneV2, TossPayments};
use portone_checkout::i18n::Lang;
use portone_checkout::model::portone_v1;
use portone_checkout::model::portone_v2::{PaymentOptions, PgProvider, WindowType, WindowTypes};
use portone_checkout::model::toss::TossPaymentOptions;
use portone_checkout::protocol::{PaymentStatus, Subscription};
use std::collections::BTreeMap;

/// The query flags, read once at start.
#[derive(Clone, Default)]
struct Flags {
    lang: Lang,
    popup: bool,
    expires_in: Option<u32>,
    redirect: bool,
}

fn flags() -> Flags {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let query = portone_checkout::return_url::Query::parse(&search);
    Flags {
        lang: query.get(&["lang"]).map(|l| Lang::from_tag(&l)).unwrap_or_default(),
        popup: query.get(&["window"]).as_deref() == Some("popup"),
        expires_in: query.get(&["expires_in"]).and_then(|v| v.parse().ok()),
        redirect: query.get(&["redirect"]).as_deref() == Some("1"),
    }
}

fn path() -> String {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default()
}

/// The provider's path prefix of this page (`""` for PortOne V2, `/v1`
/// for PortOne V1, `/toss` for Toss Payments) and the rest of the path.
fn split_prefix(path: &str) -> (&'static str, &str) {
    for prefix in [V1_PREFIX, TOSS_PREFIX] {
        match path.strip_prefix(prefix) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => return (prefix, rest),
            _ => {}
        }
    }
    ("", path)
}

/// The page's origin (`http://127.0.0.1:8080`).
fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

fn won(amount: i64) -> String {
    let digits = amount.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}{out}원", if amount < 0 { "-" } else { "" })
}

/// The shop.
#[component]
pub fn App() -> impl IntoView {
    let flags = flags();
    let en = flags.lang == Lang::En;
    let path = path();
    let (prefix, rest) = split_prefix(&path);
    let subscribe = rest.starts_with("/subscribe");
    let config =
        LocalResource::new(move || async move { client::get::<ClientConfig>(&format!("{prefix}{CONFIG_PATH}")).await });
    view! {
        <div class="demo">
            <header class="demo__header">
                <a class="demo__brand" href=format!("{prefix}/")>{if en { "Rust Coffee" } else { "러스트 커피" }}</a>
                <nav class="demo__nav">
                    <a href=format!("{prefix}/")>{if en { "Shop" } else { "상점" }}</a>
                    <a href=format!("{prefix}/subscribe")>{if en { "Subscription" } else { "정기 구독" }}</a>
                    <a href="/" data-testid="provider-portone" aria-current=(prefix.is_empty()).then_some("page")>"PortOne V2"</a>
                    <a href=format!("{V1_PREFIX}/") data-testid="provider-portone-v1" aria-current=(prefix == V1_PREFIX).then_some("page")>"PortOne V1"</a>
                    <a href=format!("{TOSS_PREFIX}/") data-testid="provider-toss" aria-current=(prefix == TOSS_PREFIX).then_some("page")>"Toss Payments"</a>
                </nav>
            </header>
            <main class="demo__main">
                <Suspense fallback=|| view! { <p class="demo__loading">"…"</p> }>
                    {move || {
                        let flags = flags.clone();
                        config
                            .get()
                            .map(move |c| match c {
                                Ok(cfg) => view! { <Shop cfg flags subscribe prefix /> }.into_any(),
                                Err(e) => {
                                    view! {
                                        <p class="demo__error" data-testid="config-error">
                                            {format!("Could not load {prefix}{CONFIG_PATH}: {e}")}
                                        </p>
                                    }
                                        .into_any()
                                }
                            })
                    }}
                </Suspense>
            </main>
        </div>
    }
}

/// The gateway `{prefix}/api/config` describes (its `provider`): PortOne V1
/// with its user code, Toss Payments with its client key, or PortOne V2
/// with its first channel.
fn gateway(cfg: ClientConfig, flags: &Flags, prefix: &str) -> Result<Gateway, String> {
    if cfg.provider == PROVIDER_TOSS {
        let client_key = cfg
            .toss_client_key
            .ok_or_else(|| format!("{prefix}{CONFIG_PATH} has no tossClientKey"))?;
        return Ok(TossPayments::new(client_key)
            .sdk_url(cfg.sdk_url)
            .payment_options(TossPaymentOptions {
                force_redirect: flags.redirect,
                ..TossPaymentOptions::default()
            })
            .into());
    }
    let channel = cfg
        .channels
        .first()
        .cloned()
        .ok_or_else(|| format!("{prefix}{CONFIG_PATH} lists no channel"))?;
    if cfg.provider == PROVIDER_PORTONE_V1 {
        let user_code = cfg
            .user_code
            .ok_or_else(|| format!("{prefix}{CONFIG_PATH} names PortOne V1 without a user code"))?;
        // V1's notice_url: this shop's own V1 webhook.
        let notice_urls = vec![format!("{}{prefix}{V1_WEBHOOK_PATH}", origin())];
        return Ok(PortOneV1::new(user_code)
            .channel_key(channel.key)
            .sdk_url(cfg.sdk_url)
            .payment_options(portone_v1::PaymentOptions {
                popup: flags.popup,
                notice_urls: notice_urls.clone(),
                tosspay_expires_in_secs: flags.expires_in,
                ..portone_v1::PaymentOptions::default()
            })
            .billing_options(portone_v1::BillingOptions {
                popup: flags.popup,
                notice_urls,
                ..portone_v1::BillingOptions::default()
            })
            .into());
    }
    let pg = PgProvider::parse(&channel.pg).map_err(|e| e.to_string())?;
    let window_type = flags.popup.then_some(WindowTypes {
        pc: Some(WindowType::Popup),
        mobile: None,
    });
    Ok(PortOneV2::new(cfg.store_id)
        .channel_key(channel.key)
        .pg(pg)
        .sdk_url(cfg.sdk_url)
        .payment_options(PaymentOptions {
            window_type,
            tosspay_expires_in_secs: flags.expires_in,
            ..PaymentOptions::default()
        })
        .into())
}

#[component]
fn Shop(cfg: ClientConfig, flags: Flags, subscribe: bool, prefix: &'static str) -> impl IntoView {
    let toss = cfg.provider == PROVIDER_TOSS;
    let gateway = match gateway(cfg, &flags, prefix) {
        Ok(g) => g,
        Err(e) => return view! { <p class="demo__error" data-testid="config-error">{e}</p> }.into_any(),
    };
    let lang = flags.lang;
    view! {
        <CheckoutProvider gateway lang backend_url=prefix>
            {if subscribe {
                view! { <SubscribePage lang prefix toss /> }.into_any()
            } else {
                view! { <ShopPage lang prefix /> }.into_any()
            }}
        </CheckoutProvider>
    }
    .into_any()
}

#[component]
fn ShopPage(lang: Lang, prefix: &'static str) -> impl IntoView {
    let en = lang == Lang::En;
    let products =
        LocalResource::new(
            move || async move { client::get::<Vec<Product>>(&format!("{prefix}{PRODUCTS_PATH}")).await },
        );
    let cart = RwSignal::new(BTreeMap::<String, u32>::new());
    let catalogue = move || products.get().and_then(Result::ok).unwrap_or_default();
    let total = Signal::derive(move || {
        let list = catalogue();
        cart.with(|c| {
            c.iter()
                .filter_map(|(id, q)| list.iter().find(|p| &p.id == id).map(|p| p.price * i64::from(*q)))
                .sum::<i64>()
        })
    });
    // The shop's own order type: the backend computes the amount from it.
    let order = Signal::derive(move || PreparePaymentRequest {
        items: cart.with(|c| {
            c.iter()
                .map(|(id, q)| PrepareItem {
                    product_id: id.clone(),
                    quantity: *q,
                })
                .collect()
        }),
        customer: None,
    });
    let paid = RwSignal::new(None::<PaymentStatus>);
    view! {
        // The receipt comes first: after a redirect the shopper lands on it.
        {move || {
            paid.get()
                .map(|s| {
                    view! {
                        <section class="demo__result" data-testid="order-result">
                            <h2>{if en { "Thank you" } else { "주문이 완료되었습니다" }}</h2>
                            <p>{s.order_name.clone()} " · " {won(s.total_amount)}</p>
                            <a href=format!("{prefix}/")>{if en { "New order" } else { "새 주문" }}</a>
                        </section>
                    }
                })
        }}
        <section class="demo__products" aria-label=if en { "Products" } else { "상품" }>
            <ul class="demo__list">
                <For
                    each=catalogue
                    key=|p| p.id.clone()
                    children=move |p| {
                        let id = p.id.clone();
                        let qty_id = p.id.clone();
                        let quantity = move || cart.with(|c| c.get(&qty_id).copied().unwrap_or(0));
                        view! {
                            <li class="demo__product" data-testid="product" data-product-id=p.id.clone()>
                                <span class="demo__product-name">{p.name.clone()}</span>
                                <span class="demo__product-price">{won(p.price)}</span>
                                <span class="demo__product-qty" data-testid="product-quantity">{quantity}</span>
                                <button
                                    type="button"
                                    class="demo__add"
                                    data-testid="product-add"
                                    on:click=move |_| cart.update(|c| *c.entry(id.clone()).or_insert(0) += 1)
                                >
                                    {if en { "Add" } else { "담기" }}
                                </button>
                            </li>
                        }
                    }
                />
            </ul>
            <p class="demo__cart">
                {if en { "Total " } else { "합계 " }}
                <strong data-testid="cart-total" data-amount=move || total.get().to_string()>{move || won(total.get())}</strong>
            </p>
        </section>
        <Checkout
            order=order
            disabled=Signal::derive(move || cart.with(BTreeMap::is_empty))
            on_paid=move |s: PaymentStatus| paid.set(Some(s))
        />
    }
}

/// A random idempotency key (`charge-` + 26 hex digits).
fn new_idempotency_key() -> String {
    let a = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
    let b = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
    format!("charge-{a:013x}{b:013x}")
}

#[component]
fn SubscribePage(lang: Lang, prefix: &'static str, toss: bool) -> impl IntoView {
    let en = lang == Lang::En;
    let subscription = RwSignal::new(None::<Subscription>);
    let charge = RwSignal::new(None::<Result<ChargeResult, String>>);
    let charging = RwSignal::new(false);
    // One idempotency key per intended charge: a retry after an error reuses
    // it (the backend then returns the first charge instead of charging
    // again); a definitive answer starts a new one.
    let charge_key = StoredValue::new(new_idempotency_key());
    let charge_now = move |_| {
        let Some(sub) = subscription.get_untracked() else {
            return;
        };
        charging.set(true);
        let key = charge_key.get_value();
        leptos::task::spawn_local(async move {
            let r = client::charge(prefix, &sub.subscription_id, &key).await;
            if r.is_ok() {
                charge_key.set_value(new_idempotency_key());
            }
            charge.set(Some(r.map_err(|e| e.to_string())));
            charging.set(false);
        });
    };
    let charge_state = move || {
        charge.with(|c| match c {
            None => "idle".to_string(),
            Some(Ok(r)) => r.status.as_str().to_ascii_lowercase(),
            Some(Err(_)) => "error".to_string(),
        })
    };
    view! {
        <section class="demo__subscription">
            <h2>{if en { "Monthly beans" } else { "월간 원두 구독" }}</h2>
            <p>
                {match (en, toss) {
                    (true, false) => "9,900 KRW a month, charged to a registered TossPay method.",
                    (false, false) => "매월 9,900원, 등록한 토스페이 결제수단으로 결제됩니다.",
                    (true, true) => "9,900 KRW a month, charged to a card registered with Toss Payments.",
                    (false, true) => "매월 9,900원, 토스페이먼츠에 등록한 카드로 결제됩니다.",
                }}
            </p>
            <IssueBillingKey on_issued=move |s: Subscription| subscription.set(Some(s)) />
            <Show when=move || subscription.with(Option::is_some)>
                <button
                    type="button"
                    class="pc-checkout__pay demo__charge"
                    data-testid="billing-charge"
                    disabled=move || charging.get()
                    aria-busy=move || charging.get().to_string()
                    on:click=charge_now
                >
                    {if en { "Charge now" } else { "지금 결제하기" }}
                </button>
                <p class="demo__charge-status" role="status" aria-live="polite" data-testid="billing-charge-status" data-state=charge_state>
                    {move || {
                        charge.with(|c| match c {
                            None => String::new(),
                            Some(Ok(r)) => format!("{} · {}", r.status.as_str(), won(r.total_amount)),
                            Some(Err(e)) => e.clone(),
                        })
                    }}
                </p>
            </Show>
        </section>
    }
}
