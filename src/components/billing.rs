//! `<IssueBillingKey>`: requestIssueBillingKey, then the backend verifies
//! and stores the key.

use super::provider::{use_checkout, CheckoutContext, SdkStatus};
use super::view::{FlowView, TestIds};
use super::{dispatch, refused_or, Runner};
use crate::backend::with_retries;
use crate::dom;
use crate::i18n::Lang;
use crate::machine::billing::{BillingEffect as Fx, BillingEvent as Event, BillingState, IssueRef};
use crate::machine::Failure;
use crate::model::{BillingKeyMethod, Customer, IssueBillingKeyRequest, WindowTypes};
use crate::protocol::Subscription;
use crate::redirect::RedirectReturn;
use crate::sdk::PaymentGateway;
use leptos::prelude::*;
use std::sync::Arc;

const SAVED_KEY: &str = "portone-checkout:billing";

/// How billing-key requests are built, besides the prepared issuance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IssueOptions {
    /// `billingKeyMethod` (default `EASY_PAY`).
    pub billing_key_method: Option<BillingKeyMethod>,
    /// `windowType`.
    pub window_type: Option<WindowTypes>,
    /// `redirectUrl` (default: the current page without its query).
    pub redirect_url: Option<String>,
    /// `forceRedirect`.
    pub force_redirect: bool,
    /// `noticeUrls`.
    pub notice_urls: Vec<String>,
}

/// Builds the SDK request for a prepared issuance (pure).
pub fn build_billing_request(
    store_id: &str,
    channel_key: &str,
    issue: &IssueRef,
    opts: &IssueOptions,
    lang: Lang,
    default_redirect: Option<String>,
) -> IssueBillingKeyRequest {
    IssueBillingKeyRequest {
        issue_id: Some(issue.issue_id.to_string()),
        issue_name: Some(issue.issue_name.clone()),
        customer: Some(Customer {
            customer_id: issue.customer.customer_id.clone(),
            full_name: issue.customer.full_name.clone(),
            phone_number: issue.customer.phone_number.clone(),
            email: issue.customer.email.clone(),
            ..Default::default()
        }),
        window_type: opts.window_type.clone(),
        redirect_url: opts.redirect_url.clone().or(default_redirect),
        force_redirect: opts.force_redirect.then_some(true),
        notice_urls: (!opts.notice_urls.is_empty()).then(|| opts.notice_urls.clone()),
        locale: Some(lang.locale()),
        ..IssueBillingKeyRequest::new(
            store_id,
            channel_key,
            opts.billing_key_method.clone().unwrap_or(BillingKeyMethod::EasyPay),
        )
    }
}

#[derive(Clone)]
struct Machine {
    state: RwSignal<BillingState>,
    ctx: CheckoutContext,
    opts: Arc<IssueOptions>,
    on_issued: Option<Callback<Subscription>>,
    on_failed: Option<Callback<Failure>>,
    on_state_change: Option<Callback<BillingState>>,
}

impl Runner<BillingState> for Machine {
    fn state(&self) -> RwSignal<BillingState> {
        self.state
    }

    fn changed(&self, next: &BillingState) {
        if let Some(cb) = self.on_state_change {
            cb.run(next.clone());
        }
        match next {
            BillingState::Issued { subscription } => {
                if let Some(cb) = self.on_issued {
                    cb.run(subscription.clone());
                }
            }
            BillingState::Failed { failure, .. } => {
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

fn refused(message: String, detail: String) -> Event {
    Event::Refused { message, detail }
}

async fn run(m: &Machine, effect: Fx) -> Option<Event> {
    let ctx = &m.ctx.inner;
    let backend = ctx.backend.clone();
    match effect {
        Fx::Prepare => {
            let r = with_retries(&ctx.retry, || backend.prepare_billing_key(), dom::sleep_ms).await;
            Some(match r {
                Ok(p) => Event::Prepared(p),
                Err(e) => refused_or(e, refused, Event::PrepareFailed),
            })
        }
        Fx::Save(issue) => {
            if let Ok(json) = serde_json::to_string(&issue) {
                dom::session_set(SAVED_KEY, &json);
            }
            None
        }
        Fx::Forget => {
            dom::session_remove(SAVED_KEY);
            None
        }
        Fx::RequestIssue(issue) => {
            let Some(channel_key) = ctx.channel_key.as_deref() else {
                return Some(Event::SdkRejected {
                    code: None,
                    detail: "<IssueBillingKey> needs a channel_key on <CheckoutProvider>".into(),
                });
            };
            let req = build_billing_request(
                &ctx.store_id,
                channel_key,
                &issue,
                &m.opts,
                m.ctx.lang().get_untracked(),
                dom::current_url_without_query(),
            );
            Some(match ctx.gateway.request_issue_billing_key(&req, &ctx.pg).await {
                Ok(outcome) => Event::Sdk(outcome),
                Err(e) => {
                    let (code, detail) = super::rejection(e);
                    Event::SdkRejected { code, detail }
                }
            })
        }
        Fx::Register(body) => {
            let r = with_retries(&ctx.retry, || backend.register_billing_key(&body), dom::sleep_ms).await;
            Some(match r {
                Ok(s) => Event::Registered(s),
                Err(e) => refused_or(e, refused, Event::RegisterFailed),
            })
        }
        Fx::ScheduleCheck { delay_ms, checks } => {
            dom::sleep_ms(delay_ms).await;
            Some(Event::AutoCheck { checks })
        }
    }
}

/// A button that issues a billing key (`requestIssueBillingKey`) and has
/// the merchant backend verify and store it.
///
/// Must be inside a [`CheckoutProvider`](super::CheckoutProvider) with a
/// `channel_key`. Stable hooks: `data-testid` `billing-issue`,
/// `billing-status` (with `data-state` and `data-billing-key`),
/// `billing-error`, `billing-check`.
#[component]
pub fn IssueBillingKey(
    /// `billingKeyMethod`. Default: `EASY_PAY` (TossPay's only method).
    #[prop(optional, into)]
    billing_key_method: MaybeProp<BillingKeyMethod>,
    /// `windowType`.
    #[prop(optional, into)]
    window_type: MaybeProp<WindowTypes>,
    /// `redirectUrl`. Default: the current page without its query.
    #[prop(optional, into)]
    redirect_url: Option<String>,
    /// `forceRedirect`.
    #[prop(optional)]
    force_redirect: bool,
    /// `noticeUrls`.
    #[prop(optional)]
    notice_urls: Vec<String>,
    /// The button's label. Default: "결제수단 등록하기" / "Register payment method".
    #[prop(optional, into)]
    label: MaybeProp<String>,
    /// Called once the backend has verified and stored the key.
    #[prop(optional, into)]
    on_issued: Option<Callback<Subscription>>,
    /// Called when the flow ends failed.
    #[prop(optional, into)]
    on_failed: Option<Callback<Failure>>,
    /// Called on every state change.
    #[prop(optional, into)]
    on_state_change: Option<Callback<BillingState>>,
    /// Extra classes on the root element.
    #[prop(optional, into)]
    class: MaybeProp<String>,
) -> impl IntoView {
    let ctx = use_checkout();
    let state = RwSignal::new(BillingState::Idle);
    let m = Machine {
        state,
        ctx: ctx.clone(),
        opts: Arc::new(IssueOptions {
            billing_key_method: billing_key_method.get_untracked(),
            window_type: window_type.get_untracked(),
            redirect_url,
            force_redirect,
            notice_urls,
        }),
        on_issued,
        on_failed,
        on_state_change,
    };
    let resumed = ctx.take_return(
        |r| matches!(r, RedirectReturn::BillingKey(_)),
        |r| match r {
            Ok(RedirectReturn::BillingKey(ret)) => Event::Returned {
                ret,
                saved: dom::session_get(SAVED_KEY).and_then(|json| serde_json::from_str::<IssueRef>(&json).ok()),
            },
            other => Event::PrepareFailed(format!("unreadable return URL: {other:?}")),
        },
    );
    if let Some(event) = resumed {
        dispatch(&m, event);
    }

    let lang = ctx.lang();
    let sdk = ctx.sdk_status();
    let texts = move || lang.get().texts();
    let label_text = move || {
        label.get().unwrap_or_else(|| {
            if state.with(|s| s.failure().is_some()) {
                texts().issue_again.to_string()
            } else {
                texts().issue.to_string()
            }
        })
    };
    let unsettled = |s: &BillingState| {
        matches!(
            s,
            BillingState::Failed { .. } | BillingState::Cancelled { .. } | BillingState::Unknown { .. }
        )
    };
    let issue = m.clone();
    let check = m;
    view! {
        <FlowView
            ids=TestIds {
                button: "billing-issue",
                status: "billing-status",
                error: "billing-error",
                check: "billing-check",
            }
            name=move || state.with(BillingState::name)
            class=class
            enabled=move || state.with(BillingState::can_issue) && sdk.with(|s| *s != SdkStatus::Loading)
            busy=move || state.with(BillingState::is_busy)
            label=label_text
            progress=move || state.with(|s| if unsettled(s) { "" } else { texts().billing_status(s) })
            problem=move || {
                state
                    .with(|s| {
                        unsettled(s)
                            .then(|| (texts().billing_status(s), s.failure().and_then(|f| f.customer_message.clone())))
                    })
            }
            unknown=move || state.with(|s| matches!(s, BillingState::Unknown { .. }))
            check_label=move || texts().check_again
            billing_key=Signal::derive(move || {
                state
                    .with(|s| match s {
                        BillingState::Issued { subscription } => Some(subscription.billing_key.clone()),
                        _ => None,
                    })
            })
            on_action=Callback::new(move |()| dispatch(&issue, Event::Issue))
            on_check=Callback::new(move |()| dispatch(&check, Event::CheckAgain))
        />
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PreparedCustomer;
    use serde_json::json;

    #[test]
    fn the_billing_request_carries_the_prepared_customer() {
        let issue = IssueRef {
            issue_id: crate::protocol::IssueId::parse("issue-1").expect("id"),
            issue_name: "구독".into(),
            customer: PreparedCustomer {
                customer_id: Some("demo-customer-1".into()),
                full_name: Some("홍길동".into()),
                phone_number: None,
                email: None,
            },
        };
        let req = build_billing_request(
            "store-1",
            "ck",
            &issue,
            &IssueOptions::default(),
            Lang::Ko,
            Some("https://shop.example/subscribe".into()),
        );
        assert_eq!(
            serde_json::to_value(&req).unwrap_or_default(),
            json!({"storeId": "store-1", "channelKey": "ck", "billingKeyMethod": "EASY_PAY", "issueId": "issue-1",
                   "issueName": "구독", "customer": {"customerId": "demo-customer-1", "fullName": "홍길동"},
                   "redirectUrl": "https://shop.example/subscribe", "locale": "KO_KR"})
        );
    }
}
