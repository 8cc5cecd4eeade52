//! The payment checkout as one state machine (pure: no DOM, no network).
//!
//! [`CheckoutState::on`] takes an [`Event`] and returns the next state and
//! the [`Effect`]s to run; the component runs them and feeds their results
//! back as events. Every transition is tested natively.
//!
//! ```text
//! Idle ─Pay→ Preparing ─Prepared→ AwaitingPayment ─Window(Finished)→ Verifying ─Confirmed(PAID)→ Paid
//!                │                   │  ├─Window(Redirected)→ Redirecting ··(page returns)··→ Verifying
//!                │                   │  └─Rejected→ Failed
//!                └─PrepareFailed→ Failed            Verifying ─Confirmed(FAILED, verified)→ Failed | Cancelled
//!                                                   Verifying ─CompleteFailed→ (GET status) ─StatusFailed→ Unknown
//!                                                   Verifying ─Confirmed(CANCELLING)→ Cancelling ─(re-check)→ Verifying
//!                                                   Unknown ─CheckAgain→ Verifying
//! ```
//!
//! A failure the window or a return URL reports is a hint like a success:
//! the backend confirms it with the provider before the page shows it, in
//! the backend's words.
//!
//! ```text
//! ```

use super::{recheck_delay_ms, Failure, FailureReason, WindowResult};
use crate::protocol::{CompleteRequest, OrderStatus, PaymentId, PaymentStatus, PgFailure, PreparedPayment};

/// What the checkout knows of the order it is paying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    /// Prepared by the backend in this tab (or saved in `sessionStorage`
    /// before the page left for the provider): everything a payment needs.
    Prepared(PreparedPayment),
    /// Known only by its id (a return URL in a tab without saved state).
    Bare(PaymentId),
}

impl From<PreparedPayment> for OrderRef {
    fn from(p: PreparedPayment) -> Self {
        Self::Prepared(p)
    }
}

impl OrderRef {
    /// The order's one `paymentId`, reused for every retry.
    pub fn payment_id(&self) -> &PaymentId {
        match self {
            Self::Prepared(p) => &p.payment_id,
            Self::Bare(id) => id,
        }
    }

    /// The prepared payment, if everything a payment needs is known.
    pub fn prepared(&self) -> Option<&PreparedPayment> {
        match self {
            Self::Prepared(p) => Some(p),
            Self::Bare(_) => None,
        }
    }

    /// Fills what a bare order lacks from the backend's status.
    fn with_status(self, s: &PaymentStatus) -> Self {
        match self {
            Self::Bare(payment_id) => Self::Prepared(PreparedPayment {
                payment_id,
                order_name: s.order_name.clone(),
                total_amount: s.total_amount,
                currency: s.currency.clone(),
                customer: None,
            }),
            prepared => prepared,
        }
    }
}

/// The checkout's state: one tagged enum.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CheckoutState {
    /// Nothing started.
    #[default]
    Idle,
    /// Idle, while the order is prepared in the background (so that a
    /// click goes straight to the SDK).
    Warming {
        /// Which background prepare this is.
        generation: u32,
    },
    /// Idle, with the order prepared in the background.
    Ready {
        /// The prepared order.
        order: OrderRef,
    },
    /// Asking the backend for the order (`paymentId`, amount).
    Preparing,
    /// The customer clicked while a background prepare was in flight: its
    /// answer continues the payment.
    PreparingWarm {
        /// The background prepare awaited.
        generation: u32,
    },
    /// The payment window is open.
    AwaitingPayment {
        /// The order.
        order: OrderRef,
    },
    /// The page is leaving for the PG; it resumes on return.
    Redirecting {
        /// The order.
        order: OrderRef,
    },
    /// The backend is verifying the payment with the provider.
    Verifying {
        /// The order.
        order: OrderRef,
        /// A failure the window or the return URL reported (only a hint).
        hint: Option<PgFailure>,
        /// How many automatic re-checks came before.
        checks: u32,
    },
    /// Verified paid.
    Paid {
        /// The order.
        order: OrderRef,
        /// The backend's answer.
        status: PaymentStatus,
    },
    /// A virtual account was issued; the payment completes on deposit.
    VirtualAccountIssued {
        /// The order.
        order: OrderRef,
        /// The backend's answer.
        status: PaymentStatus,
    },
    /// Failed; paying again reuses the order.
    Failed {
        /// The order, if one was prepared.
        order: Option<OrderRef>,
        /// Why.
        failure: Failure,
    },
    /// Cancelled (by the customer, or by the merchant after payment);
    /// paying again reuses the order.
    Cancelled {
        /// The order, if one was prepared.
        order: Option<OrderRef>,
        /// Why.
        failure: Failure,
    },
    /// The outcome is not known yet (a lost answer, or an answer the
    /// backend could not confirm with PortOne): never shown as failed.
    Unknown {
        /// The order.
        order: OrderRef,
        /// How many automatic re-checks came before.
        checks: u32,
    },
    /// The merchant is cancelling a paid payment (amount mismatch, out of
    /// stock) and PortOne has not confirmed it yet: not final, re-checked.
    Cancelling {
        /// The order.
        order: OrderRef,
        /// The backend's reason.
        message: Option<String>,
        /// How many automatic re-checks came before.
        checks: u32,
    },
}

impl CheckoutState {
    /// The stable name used in `data-state`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Idle | Self::Warming { .. } | Self::Ready { .. } => "idle",
            Self::Preparing | Self::PreparingWarm { .. } => "preparing",
            Self::AwaitingPayment { .. } => "awaiting-payment",
            Self::Redirecting { .. } => "redirecting",
            Self::Verifying { .. } => "verifying",
            Self::Paid { .. } => "paid",
            Self::VirtualAccountIssued { .. } => "virtual-account-issued",
            Self::Failed { .. } => "failed",
            Self::Cancelled { .. } => "cancelled",
            Self::Unknown { .. } => "unknown",
            Self::Cancelling { .. } => "cancelling",
        }
    }

    /// Whether something is in flight (the pay button is disabled).
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            Self::Preparing
                | Self::PreparingWarm { .. }
                | Self::AwaitingPayment { .. }
                | Self::Redirecting { .. }
                | Self::Verifying { .. }
        )
    }

    /// Whether the pay button may start (or retry) a payment.
    pub fn can_pay(&self) -> bool {
        matches!(
            self,
            Self::Idle | Self::Warming { .. } | Self::Ready { .. } | Self::Failed { .. } | Self::Cancelled { .. }
        )
    }

    /// The order, once one exists.
    pub fn order(&self) -> Option<&OrderRef> {
        match self {
            Self::Idle | Self::Warming { .. } | Self::Preparing | Self::PreparingWarm { .. } => None,
            Self::Ready { order }
            | Self::AwaitingPayment { order }
            | Self::Redirecting { order }
            | Self::Verifying { order, .. }
            | Self::Paid { order, .. }
            | Self::VirtualAccountIssued { order, .. }
            | Self::Unknown { order, .. }
            | Self::Cancelling { order, .. } => Some(order),
            Self::Failed { order, .. } | Self::Cancelled { order, .. } => order.as_ref(),
        }
    }

    /// The failure, in failed and cancelled states.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Self::Failed { failure, .. } | Self::Cancelled { failure, .. } => Some(failure),
            _ => None,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The pay button was pressed.
    Pay,
    /// Prepare the order in the background now (the component sends this
    /// when what to buy has settled).
    Warm {
        /// A number identifying this order's contents.
        generation: u32,
    },
    /// The background prepare answered (an error is developer detail).
    Warmed {
        /// The `generation` of the `Warm` that started it.
        generation: u32,
        /// The prepared order, or why not.
        prepared: Result<PreparedPayment, String>,
    },
    /// The backend prepared the order.
    Prepared(PreparedPayment),
    /// Preparing failed (developer detail).
    PrepareFailed(String),
    /// The payment window gave its result.
    Window(WindowResult),
    /// The SDK refused before opening the window.
    Rejected {
        /// The provider says this order is already paid: verify, do not fail.
        already_paid: bool,
        /// Developer detail.
        detail: String,
    },
    /// The page loaded with a payment result in its query.
    Returned {
        /// The order's id from the query (parsed).
        payment_id: PaymentId,
        /// What the query reported (a hint for the backend).
        report: CompleteRequest,
        /// What was saved before leaving, if this tab still has it.
        saved: Option<PreparedPayment>,
    },
    /// The backend answered `complete` or `status`.
    Confirmed(PaymentStatus),
    /// The backend refused the request definitively (4xx): message for
    /// the customer and developer detail.
    Refused {
        /// The backend's message.
        message: String,
        /// Developer detail.
        detail: String,
    },
    /// `complete` could not reach the backend after its retries.
    CompleteFailed(String),
    /// `status` could not reach the backend either.
    StatusFailed(String),
    /// The customer asked to check again.
    CheckAgain,
    /// An automatic re-check scheduled in the `Unknown` state with `checks`.
    AutoCheck {
        /// The `checks` of the state that scheduled it.
        checks: u32,
    },
    /// What to buy changed: a prepared order no longer applies.
    OrderChanged,
    /// The page loaded with a result query that cannot be read (developer
    /// detail): nothing is known of any payment.
    ReturnInvalid(String),
}

/// What the component must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Ask the backend to prepare an order.
    Prepare,
    /// Ask the backend to prepare an order in the background, answering
    /// `Warmed { generation, .. }`.
    PrepareEarly {
        /// The `generation` to echo.
        generation: u32,
    },
    /// Save the order to `sessionStorage` (before the SDK may redirect).
    Save(PreparedPayment),
    /// Get the window's request ready for this order ahead of the click
    /// (built, validated, converted), so the click only calls the SDK.
    GetReady(PreparedPayment),
    /// Open the provider's payment window for this order.
    RequestPayment(PreparedPayment),
    /// Post `complete` (with retries), answering `Confirmed`, `Refused` or
    /// `CompleteFailed`.
    Complete {
        /// The order's id.
        payment_id: PaymentId,
        /// The hint for the backend.
        body: CompleteRequest,
    },
    /// `GET` the order's status, answering `Confirmed`, `Refused` or
    /// `StatusFailed`.
    FetchStatus {
        /// The order's id.
        payment_id: PaymentId,
    },
    /// Remove the saved order.
    Forget {
        /// The order's id.
        payment_id: PaymentId,
    },
    /// Send `AutoCheck { checks }` after `delay_ms`.
    ScheduleCheck {
        /// The delay.
        delay_ms: u32,
        /// The `checks` to echo.
        checks: u32,
    },
}

/// A final failed or cancelled state keeping `order` for a retry; the saved
/// order is forgotten.
fn ended(order: OrderRef, failure: Failure, cancelled: bool) -> (CheckoutState, Vec<Effect>) {
    let forget = Effect::Forget {
        payment_id: order.payment_id().clone(),
    };
    let order = Some(order);
    if cancelled {
        (CheckoutState::Cancelled { order, failure }, vec![forget])
    } else {
        (CheckoutState::Failed { order, failure }, vec![forget])
    }
}

/// Opens the window for `order`. An order made ready in the background was
/// saved then, so a click goes straight to the SDK; any other is saved
/// first (before the SDK may redirect).
fn pay_order(order: OrderRef, saved: bool) -> (CheckoutState, Vec<Effect>) {
    match order {
        OrderRef::Prepared(p) => (
            CheckoutState::AwaitingPayment {
                order: OrderRef::Prepared(p.clone()),
            },
            if saved {
                vec![Effect::RequestPayment(p)]
            } else {
                vec![Effect::Save(p.clone()), Effect::RequestPayment(p)]
            },
        ),
        // Only a bare return lacks the amount; a fresh order is prepared.
        OrderRef::Bare(_) => (CheckoutState::Preparing, vec![Effect::Prepare]),
    }
}

fn complete(order: &OrderRef, body: CompleteRequest) -> Effect {
    Effect::Complete {
        payment_id: order.payment_id().clone(),
        body,
    }
}

/// Asks the backend about a report (the window's, a return URL's, or none).
fn verify(order: OrderRef, report: CompleteRequest, checks: u32) -> (CheckoutState, Vec<Effect>) {
    let effect = complete(&order, report.clone());
    (
        CheckoutState::Verifying {
            order,
            hint: report.failure,
            checks,
        },
        vec![effect],
    )
}

fn unknown(order: OrderRef, checks: u32) -> (CheckoutState, Vec<Effect>) {
    (
        CheckoutState::Unknown {
            order,
            checks: checks + 1,
        },
        vec![Effect::ScheduleCheck {
            delay_ms: recheck_delay_ms(checks),
            checks: checks + 1,
        }],
    )
}

fn confirmed(
    order: OrderRef,
    hint: Option<PgFailure>,
    checks: u32,
    status: PaymentStatus,
) -> (CheckoutState, Vec<Effect>) {
    let order = order.with_status(&status);
    // A non-final status the backend could not confirm with PortOne is only
    // its last record: the outcome is not known yet.
    if !status.verified && !status.status.is_final() {
        return unknown(order, checks);
    }
    let forget = Effect::Forget {
        payment_id: order.payment_id().clone(),
    };
    match status.status {
        OrderStatus::Paid => (CheckoutState::Paid { order, status }, vec![forget]),
        OrderStatus::VirtualAccountIssued => (CheckoutState::VirtualAccountIssued { order, status }, vec![forget]),
        OrderStatus::Failed => {
            // Confirmed with PortOne: the backend's words, never the URL's.
            let failure = Failure {
                reason: FailureReason::Declined,
                customer_message: status
                    .failure
                    .as_ref()
                    .and_then(|f| f.customer_text().map(str::to_owned)),
                detail: format!("the backend reports the payment {} as FAILED", status.payment_id),
            };
            let cancel = status.failure.as_ref().is_some_and(PgFailure::is_user_cancel);
            ended(order, failure, cancel)
        }
        OrderStatus::Cancelling => (
            CheckoutState::Cancelling {
                order,
                message: status.message,
                checks: checks + 1,
            },
            vec![Effect::ScheduleCheck {
                delay_ms: recheck_delay_ms(checks),
                checks: checks + 1,
            }],
        ),
        OrderStatus::Cancelled => {
            let failure = Failure {
                reason: FailureReason::CancelledByMerchant,
                customer_message: status.message.clone().or_else(|| {
                    status
                        .failure
                        .as_ref()
                        .and_then(|f| f.customer_text().map(str::to_owned))
                }),
                detail: format!("the backend reports the payment {} as CANCELLED", status.payment_id),
            };
            (
                CheckoutState::Cancelled {
                    order: Some(order),
                    failure,
                },
                vec![forget],
            )
        }
        // The order can no longer be paid: a new one is prepared on click.
        OrderStatus::Expired => (
            CheckoutState::Failed {
                order: None,
                failure: Failure {
                    reason: FailureReason::Expired,
                    customer_message: None,
                    detail: format!("the backend reports the order {} as EXPIRED", status.payment_id),
                },
            },
            vec![forget],
        ),
        OrderStatus::Pending => match hint {
            // The page was told the attempt failed and PortOne confirms that
            // nothing was paid: the attempt ended. The hint only picks which
            // of the checkout's own sentences is shown; its text is not.
            Some(h) => {
                let cancel = h.is_user_cancel();
                let failure = Failure {
                    reason: if cancel {
                        FailureReason::CancelledByCustomer
                    } else {
                        FailureReason::Pg
                    },
                    customer_message: None,
                    detail: format!(
                        "the attempt reported code {} and the provider confirms nothing was paid",
                        h.code.as_deref().unwrap_or("(none)")
                    ),
                };
                ended(order, failure, cancel)
            }
            None => unknown(order, checks),
        },
    }
}

impl CheckoutState {
    /// The next state and the effects to run. Events that do not apply to
    /// the current state are ignored (no effects): a double click, a late
    /// answer, a stale timer.
    pub fn on(self, event: Event) -> (CheckoutState, Vec<Effect>) {
        use CheckoutState as S;
        use Event as E;
        match (self, event) {
            // Preparing in the background, so a click needs no network.
            (S::Idle, E::Warm { generation }) => (S::Warming { generation }, vec![Effect::PrepareEarly { generation }]),
            (
                S::Warming { generation },
                E::Warmed {
                    generation: g,
                    prepared,
                },
            ) if g == generation => match prepared {
                // Saved now, so the click only calls the SDK.
                Ok(p) => (
                    S::Ready {
                        order: p.clone().into(),
                    },
                    vec![Effect::Save(p.clone()), Effect::GetReady(p)],
                ),
                // A click will prepare again, with retries.
                Err(_) => (S::Idle, vec![]),
            },
            (
                S::PreparingWarm { generation },
                E::Warmed {
                    generation: g,
                    prepared,
                },
            ) if g == generation => match prepared {
                Ok(p) => pay_order(p.into(), false),
                Err(_) => (S::Preparing, vec![Effect::Prepare]),
            },
            (S::Warming { generation }, E::Pay) => (S::PreparingWarm { generation }, vec![]),
            (S::Ready { order }, E::Pay) => pay_order(order, true),
            (S::Warming { .. }, E::OrderChanged) => (S::Idle, vec![]),
            // The order made ready for the old cart is dropped.
            (S::Ready { order }, E::OrderChanged) => (
                S::Idle,
                vec![Effect::Forget {
                    payment_id: order.payment_id().clone(),
                }],
            ),

            // Starting or retrying.
            (S::Idle, E::Pay) => (S::Preparing, vec![Effect::Prepare]),
            (S::Failed { order: Some(o), .. } | S::Cancelled { order: Some(o), .. }, E::Pay) => pay_order(o, false),
            (S::Failed { order: None, .. } | S::Cancelled { order: None, .. }, E::Pay) => {
                (S::Preparing, vec![Effect::Prepare])
            }
            (S::Preparing, E::Prepared(p)) => pay_order(OrderRef::from(p), false),
            (S::Preparing, E::PrepareFailed(detail)) => (
                S::Failed {
                    order: None,
                    failure: Failure {
                        reason: FailureReason::Prepare,
                        customer_message: None,
                        detail,
                    },
                },
                vec![],
            ),
            (S::Preparing, E::Refused { message, detail }) => (
                S::Failed {
                    order: None,
                    failure: Failure {
                        reason: FailureReason::Prepare,
                        customer_message: Some(message),
                        detail,
                    },
                },
                vec![],
            ),

            // The window's answers: a success and a failure alike are only
            // hints the backend confirms with the provider.
            (S::AwaitingPayment { order }, E::Window(WindowResult::Finished(report))) => verify(order, report, 0),
            (S::AwaitingPayment { order }, E::Window(WindowResult::Redirected)) => (S::Redirecting { order }, vec![]),
            // The provider says this order is already paid: ask the backend.
            (S::AwaitingPayment { order }, E::Rejected { already_paid: true, .. }) => {
                verify(order, CompleteRequest::default(), 0)
            }
            (S::AwaitingPayment { order }, E::Rejected { detail, .. }) => {
                let forget = Effect::Forget {
                    payment_id: order.payment_id().clone(),
                };
                (
                    S::Failed {
                        order: Some(order),
                        failure: Failure {
                            reason: FailureReason::Rejected,
                            customer_message: None,
                            detail,
                        },
                    },
                    vec![forget],
                )
            }

            // A redirect return: only the backend decides.
            (
                s,
                E::Returned {
                    payment_id,
                    report,
                    saved,
                },
            ) if !s.is_busy() || matches!(s, S::Redirecting { .. }) => {
                let order = match saved.filter(|p| p.payment_id == payment_id) {
                    Some(p) => OrderRef::Prepared(p),
                    None => OrderRef::Bare(payment_id),
                };
                verify(order, report, 0)
            }

            (s, E::ReturnInvalid(detail)) if !s.is_busy() => (
                S::Failed {
                    order: None,
                    failure: Failure {
                        reason: FailureReason::InvalidReturn,
                        customer_message: None,
                        detail,
                    },
                },
                vec![],
            ),

            // The backend's answers.
            (S::Verifying { order, hint, checks }, E::Confirmed(status))
                if status.payment_id == *order.payment_id() =>
            {
                confirmed(order, hint, checks, status)
            }
            (S::Verifying { order, .. }, E::Refused { message, detail }) => {
                let forget = Effect::Forget {
                    payment_id: order.payment_id().clone(),
                };
                (
                    S::Failed {
                        order: Some(order),
                        failure: Failure {
                            reason: FailureReason::Refused,
                            customer_message: Some(message),
                            detail,
                        },
                    },
                    vec![forget],
                )
            }
            (S::Verifying { order, hint, checks }, E::CompleteFailed(_)) => {
                let effect = Effect::FetchStatus {
                    payment_id: order.payment_id().clone(),
                };
                (S::Verifying { order, hint, checks }, vec![effect])
            }
            (S::Verifying { order, checks, .. }, E::StatusFailed(_)) => unknown(order, checks),

            // Unknown: ask again, by hand or on a timer.
            (S::Unknown { order, checks }, E::CheckAgain) => verify(order, CompleteRequest::default(), checks),
            (S::Unknown { order, checks }, E::AutoCheck { checks: c }) if c == checks => {
                S::Unknown { order, checks }.on(E::CheckAgain)
            }
            // A cancel in progress: ask again until PortOne confirms it.
            (S::Cancelling { order, checks, .. }, E::AutoCheck { checks: c }) if c == checks => {
                S::Unknown { order, checks }.on(E::CheckAgain)
            }

            // A new cart drops an order that was not paid.
            (S::Failed { .. } | S::Cancelled { .. }, E::OrderChanged) => (S::Idle, vec![]),

            // Anything else does not apply here.
            (s, _) => (s, vec![]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::return_url::Returned;

    fn pid(s: &str) -> PaymentId {
        PaymentId::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn prepared() -> PreparedPayment {
        PreparedPayment {
            payment_id: pid("order-1"),
            order_name: "아메리카노 2잔".into(),
            total_amount: 9000,
            currency: "KRW".into(),
            customer: None,
        }
    }

    fn order() -> OrderRef {
        OrderRef::from(prepared())
    }

    fn status(s: OrderStatus) -> PaymentStatus {
        PaymentStatus {
            payment_id: pid("order-1"),
            status: s,
            order_name: "아메리카노 2잔".into(),
            total_amount: 9000,
            currency: "KRW".into(),
            paid_at: None,
            failure: None,
            message: None,
            verified: true,
        }
    }

    fn unverified(s: OrderStatus) -> PaymentStatus {
        PaymentStatus {
            verified: false,
            ..status(s)
        }
    }

    /// The backend's answer for a payment PortOne reports FAILED.
    fn failed_at_portone(pg_code: &str, message: &str) -> PaymentStatus {
        let mut st = status(OrderStatus::Failed);
        st.failure = Some(PgFailure {
            pg_code: Some(pg_code.into()),
            message: Some(message.into()),
            ..PgFailure::default()
        });
        st
    }

    fn awaiting() -> CheckoutState {
        CheckoutState::AwaitingPayment { order: order() }
    }

    fn verifying() -> CheckoutState {
        CheckoutState::Verifying {
            order: order(),
            hint: None,
            checks: 0,
        }
    }

    /// What a window reports for a failure with `pg_code`.
    fn failure(pg_code: Option<&str>) -> WindowResult {
        WindowResult::Finished(CompleteRequest {
            tx_id: Some("tx-1".into()),
            failure: Some(PgFailure {
                code: Some("FAILURE_TYPE_PG".into()),
                message: Some("[X] 거절".into()),
                pg_code: pg_code.map(str::to_string),
                pg_message: Some("잔액이 부족합니다.".into()),
            }),
            amount: None,
        })
    }

    /// The page loaded with query `q` (PortOne V2's return shape).
    fn returned(q: &str, saved: Option<PreparedPayment>) -> Event {
        match crate::model::portone_v2::return_url::parse_return(q) {
            Ok(Some(Returned::Payment { payment_id, report })) => Event::Returned {
                payment_id,
                report,
                saved,
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pay_from_idle_prepares_an_order() {
        assert_eq!(
            CheckoutState::Idle.on(Event::Pay),
            (CheckoutState::Preparing, vec![Effect::Prepare])
        );
    }

    #[test]
    fn a_prepared_order_is_saved_then_sent_to_the_sdk() {
        let (s, fx) = CheckoutState::Preparing.on(Event::Prepared(prepared()));
        assert_eq!(s, awaiting());
        assert_eq!(fx, vec![Effect::Save(prepared()), Effect::RequestPayment(prepared())]);
    }

    #[test]
    fn a_failed_prepare_is_failed_without_an_order() {
        let (s, fx) = CheckoutState::Preparing.on(Event::PrepareFailed("network".into()));
        assert!(
            matches!(&s, CheckoutState::Failed { order: None, failure } if failure.reason == FailureReason::Prepare)
        );
        assert!(fx.is_empty());
        let (s, _) = CheckoutState::Preparing.on(Event::Refused {
            message: "품절".into(),
            detail: "409".into(),
        });
        assert_eq!(s.failure().and_then(|f| f.customer_message.as_deref()), Some("품절"));
        // And paying again prepares again.
        assert_eq!(s.on(Event::Pay).1, vec![Effect::Prepare]);
    }

    #[test]
    fn does_not_pay_twice_when_the_button_is_double_clicked() {
        for busy in [
            CheckoutState::Preparing,
            awaiting(),
            verifying(),
            CheckoutState::Redirecting { order: order() },
        ] {
            let (s, fx) = busy.clone().on(Event::Pay);
            assert_eq!((s, fx), (busy, vec![]));
        }
    }

    #[test]
    fn a_completed_payment_is_verified_by_the_backend() {
        let done = CompleteRequest {
            tx_id: Some("tx-1".into()),
            ..CompleteRequest::default()
        };
        let (s, fx) = awaiting().on(Event::Window(WindowResult::Finished(done)));
        assert_eq!(s, verifying());
        assert_eq!(
            fx,
            vec![Effect::Complete {
                payment_id: pid("order-1"),
                body: CompleteRequest {
                    tx_id: Some("tx-1".into()),
                    ..Default::default()
                }
            }]
        );
    }

    #[test]
    fn a_failure_the_window_reports_is_confirmed_by_the_backend_before_it_shows() {
        let (s, fx) = awaiting().on(Event::Window(failure(Some("INSUFFICIENT_BALANCE"))));
        assert_eq!(s.name(), "verifying");
        assert!(!s.can_pay());
        assert!(
            matches!(&fx[..], [Effect::Complete { payment_id, body }]
                if *payment_id == "order-1" && body.failure.as_ref().and_then(|f| f.code.as_deref()) == Some("FAILURE_TYPE_PG")
                    && body.tx_id.as_deref() == Some("tx-1")),
            "{fx:?}"
        );
        // PortOne confirms the decline: the backend's text is shown.
        let (s, fx) = s.on(Event::Confirmed(failed_at_portone(
            "INSUFFICIENT_BALANCE",
            "잔액이 부족합니다.",
        )));
        let CheckoutState::Failed {
            order: Some(o),
            failure,
        } = &s
        else {
            panic!("expected Failed, got {s:?}");
        };
        assert_eq!(*o.payment_id(), "order-1");
        assert_eq!(failure.customer_message.as_deref(), Some("잔액이 부족합니다."));
        assert_eq!(
            fx,
            vec![Effect::Forget {
                payment_id: pid("order-1")
            }]
        );
        // Retrying reuses the order.
        let (s, fx) = s.on(Event::Pay);
        assert_eq!(s, awaiting());
        assert_eq!(fx, vec![Effect::Save(prepared()), Effect::RequestPayment(prepared())]);
    }

    #[test]
    fn a_window_failure_the_backend_cannot_confirm_is_unknown_never_failed() {
        let (s, _) = awaiting().on(Event::Window(failure(None)));
        // PortOne unreachable: the backend answers from its records.
        let (s, fx) = s.on(Event::Confirmed(unverified(OrderStatus::Pending)));
        assert_eq!(s.name(), "unknown");
        assert!(matches!(&fx[..], [Effect::ScheduleCheck { .. }]));
        // Or the backend cannot be reached at all.
        let (s, _) = awaiting().on(Event::Window(failure(None)));
        let (s, _) = s.on(Event::CompleteFailed("offline".into()));
        assert_eq!(s.on(Event::StatusFailed("offline".into())).0.name(), "unknown");
    }

    #[test]
    fn a_user_cancel_is_cancelled_and_retry_reuses_the_order() {
        let (s, _) = awaiting().on(Event::Window(failure(Some("PAY_PROCESS_CANCELED"))));
        let (s, _) = s.on(Event::Confirmed(failed_at_portone(
            "PAY_PROCESS_CANCELED",
            "사용자가 결제를 취소하였습니다.",
        )));
        assert_eq!(s.name(), "cancelled");
        assert!(s.can_pay());
        let (s, fx) = s.on(Event::Pay);
        assert_eq!(s, awaiting());
        assert!(matches!(&fx[1], Effect::RequestPayment(p) if p.payment_id == "order-1"));
    }

    #[test]
    fn undefined_from_the_sdk_means_redirecting() {
        let (s, fx) = awaiting().on(Event::Window(WindowResult::Redirected));
        assert_eq!(s, CheckoutState::Redirecting { order: order() });
        assert!(fx.is_empty());
    }

    #[test]
    fn a_rejection_before_the_window_is_failed_with_detail_kept_for_developers() {
        let (s, _) = awaiting().on(Event::Rejected {
            already_paid: false,
            detail: "InvalidArgument: bad field".into(),
        });
        let f = s.failure().cloned().unwrap_or_else(|| panic!("failure expected"));
        assert_eq!(f.reason, FailureReason::Rejected);
        assert_eq!(f.customer_message, None);
        assert_eq!(f.detail, "InvalidArgument: bad field");
    }

    #[test]
    fn already_paid_at_portone_is_verified_not_failed() {
        let (s, fx) = awaiting().on(Event::Rejected {
            already_paid: true,
            detail: "PaymentAlreadyPaid: paid".into(),
        });
        assert_eq!(s, verifying());
        assert!(matches!(&fx[..], [Effect::Complete { .. }]));
    }

    #[test]
    fn the_backend_decides_paid_and_virtual_account() {
        let (s, fx) = verifying().on(Event::Confirmed(status(OrderStatus::Paid)));
        assert_eq!(s.name(), "paid");
        assert_eq!(
            fx,
            vec![Effect::Forget {
                payment_id: pid("order-1")
            }]
        );
        let (s, _) = verifying().on(Event::Confirmed(status(OrderStatus::VirtualAccountIssued)));
        assert_eq!(s.name(), "virtual-account-issued");
    }

    #[test]
    fn a_backend_failure_or_merchant_cancel_is_final_with_its_message() {
        let mut st = status(OrderStatus::Failed);
        st.failure = Some(PgFailure {
            code: Some("FAILURE_TYPE_PG".into()),
            pg_code: Some("X".into()),
            message: Some("카드 한도 초과".into()),
            pg_message: None,
        });
        let (s, _) = verifying().on(Event::Confirmed(st));
        assert_eq!(s.name(), "failed");
        assert_eq!(
            s.failure().and_then(|f| f.customer_message.as_deref()),
            Some("카드 한도 초과")
        );
        let mut st = status(OrderStatus::Cancelled);
        st.message = Some("결제 금액이 주문과 달라 취소되었습니다".into());
        let (s, _) = verifying().on(Event::Confirmed(st));
        assert_eq!(s.name(), "cancelled");
        assert_eq!(
            s.failure().map(|f| f.reason.clone()),
            Some(FailureReason::CancelledByMerchant)
        );
    }

    #[test]
    fn a_lost_complete_falls_back_to_asking_the_status() {
        let (s, fx) = verifying().on(Event::CompleteFailed("timeout".into()));
        assert_eq!(s, verifying());
        assert_eq!(
            fx,
            vec![Effect::FetchStatus {
                payment_id: pid("order-1")
            }]
        );
        let (s, _) = s.on(Event::Confirmed(status(OrderStatus::Paid)));
        assert_eq!(s.name(), "paid");
    }

    #[test]
    fn retries_exhausted_is_unknown_never_failed_then_resolves() {
        let (s, fx) = verifying().on(Event::CompleteFailed("network".into()));
        let (s, fx2) = s.on(Event::StatusFailed("network".into()));
        assert_eq!(fx.len(), 1);
        assert_eq!(
            s,
            CheckoutState::Unknown {
                order: order(),
                checks: 1
            }
        );
        assert_eq!(
            fx2,
            vec![Effect::ScheduleCheck {
                delay_ms: recheck_delay_ms(0),
                checks: 1
            }]
        );
        assert!(!s.can_pay(), "an unknown payment must not be paid again");
        let (s, fx) = s.on(Event::CheckAgain);
        assert!(matches!(&s, CheckoutState::Verifying { checks: 1, .. }));
        assert!(matches!(&fx[..], [Effect::Complete { .. }]));
        let (s, fx) = s.on(Event::CompleteFailed("x".into()));
        let (s, fx2) = s.on(Event::StatusFailed("x".into()));
        assert_eq!(fx.len(), 1);
        assert_eq!(
            s,
            CheckoutState::Unknown {
                order: order(),
                checks: 2
            }
        );
        assert_eq!(
            fx2,
            vec![Effect::ScheduleCheck {
                delay_ms: recheck_delay_ms(1),
                checks: 2
            }]
        );
        let (s, _) = s.on(Event::AutoCheck { checks: 2 });
        let (s, _) = s.on(Event::Confirmed(status(OrderStatus::Paid)));
        assert_eq!(s.name(), "paid");
    }

    #[test]
    fn a_pending_answer_without_a_failure_hint_is_unknown() {
        let (s, fx) = verifying().on(Event::Confirmed(status(OrderStatus::Pending)));
        assert_eq!(s.name(), "unknown");
        assert!(matches!(&fx[..], [Effect::ScheduleCheck { .. }]));
    }

    #[test]
    fn a_stale_timer_does_nothing() {
        let s = CheckoutState::Unknown {
            order: order(),
            checks: 3,
        };
        assert_eq!(s.clone().on(Event::AutoCheck { checks: 2 }), (s, vec![]));
        assert_eq!(
            CheckoutState::Idle.on(Event::AutoCheck { checks: 0 }),
            (CheckoutState::Idle, vec![])
        );
    }

    #[test]
    fn late_or_foreign_answers_are_ignored() {
        let (s, fx) = CheckoutState::Idle.on(Event::Confirmed(status(OrderStatus::Paid)));
        assert_eq!((s, fx), (CheckoutState::Idle, vec![]));
        let mut other = status(OrderStatus::Paid);
        other.payment_id = pid("someone-else");
        let (s, _) = verifying().on(Event::Confirmed(other));
        assert_eq!(s, verifying());
        let paid = verifying().on(Event::Confirmed(status(OrderStatus::Paid))).0;
        assert_eq!(paid.clone().on(Event::Pay).0, paid);
    }

    #[test]
    fn a_redirect_return_with_saved_state_posts_complete() {
        let (s, fx) = CheckoutState::Idle.on(returned(
            "paymentId=order-1&txId=tx-9&transactionType=PAYMENT",
            Some(prepared()),
        ));
        assert_eq!(s, verifying());
        assert_eq!(
            fx,
            vec![Effect::Complete {
                payment_id: pid("order-1"),
                body: CompleteRequest {
                    tx_id: Some("tx-9".into()),
                    ..Default::default()
                }
            }]
        );
    }

    #[test]
    fn a_redirect_return_without_storage_still_resolves_through_the_backend() {
        let (s, _) = CheckoutState::Idle.on(returned("paymentId=order-1&txId=tx-9", None));
        assert_eq!(s.order(), Some(&OrderRef::Bare(pid("order-1"))));
        let (s, _) = s.on(Event::Confirmed(status(OrderStatus::Paid)));
        assert_eq!(
            s.order().and_then(OrderRef::prepared).map(|p| p.total_amount),
            Some(9000)
        );
        assert_eq!(s.name(), "paid");
        // Saved state of another order is not mixed in.
        let mut other = prepared();
        other.payment_id = pid("order-2");
        let (s, _) = CheckoutState::Idle.on(returned("paymentId=order-1", Some(other)));
        assert_eq!(s.order(), Some(&OrderRef::Bare(pid("order-1"))));
    }

    #[test]
    fn a_forged_failure_query_on_a_paid_payment_shows_paid() {
        let (s, fx) = CheckoutState::Idle.on(returned(
            "paymentId=order-1&code=FAILURE_TYPE_PG&message=%3Cb%3Ex%3C%2Fb%3E",
            None,
        ));
        assert!(matches!(&fx[..], [Effect::Complete { body, .. }]
            if body.failure.as_ref().and_then(|f| f.code.as_deref()) == Some("FAILURE_TYPE_PG")));
        let (s, _) = s.on(Event::Confirmed(status(OrderStatus::Paid)));
        assert_eq!(s.name(), "paid");
    }

    #[test]
    fn a_failure_query_with_nothing_paid_at_portone_ends_without_the_query_text() {
        let (s, _) = CheckoutState::Idle.on(returned(
            "paymentId=order-1&code=FAILURE_TYPE_PG&pgCode=X&pgMessage=%EA%B1%B0%EC%A0%88",
            None,
        ));
        let (s, _) = s.on(Event::Confirmed(status(OrderStatus::Pending)));
        assert_eq!(s.name(), "failed");
        // The URL's words never reach the page: only the checkout's own.
        assert_eq!(s.failure().and_then(|f| f.customer_message.as_deref()), None);
        let (s, _) = CheckoutState::Idle.on(returned(
            "paymentId=order-1&code=FAILURE_TYPE_PG&pgCode=PAY_PROCESS_CANCELED",
            None,
        ));
        assert_eq!(
            s.on(Event::Confirmed(status(OrderStatus::Pending))).0.name(),
            "cancelled"
        );
    }

    #[test]
    fn a_failure_query_while_portone_is_unreadable_is_unknown_never_failed() {
        // The payment is PAID at PortOne; the link says it failed; the
        // backend cannot reach PortOne and answers its stale record.
        let (s, _) = CheckoutState::Idle.on(returned(
            "paymentId=order-1&code=FAILURE_TYPE_PG&pgMessage=%EC%8B%A4%ED%8C%A8",
            None,
        ));
        let mut history = vec![s.name()];
        let (s, fx) = s.on(Event::Confirmed(unverified(OrderStatus::Pending)));
        history.push(s.name());
        assert!(matches!(&fx[..], [Effect::ScheduleCheck { .. }]));
        let (s, _) = s.on(Event::Confirmed(unverified(OrderStatus::Failed)));
        history.push(s.name());
        // A stale FAILED record is not shown either.
        let (s, _) = CheckoutState::Unknown {
            order: order(),
            checks: 1,
        }
        .on(Event::CheckAgain);
        let (s, _) = s.on(Event::Confirmed(unverified(OrderStatus::Failed)));
        history.push(s.name());
        // PortOne is back: the truth is PAID.
        let (s, _) = s.on(Event::AutoCheck { checks: 2 });
        let (s, _) = s.on(Event::Confirmed(status(OrderStatus::Paid)));
        history.push(s.name());
        assert!(
            !history.contains(&"failed") && !history.contains(&"cancelled"),
            "{history:?}"
        );
        assert_eq!(s.name(), "paid");
    }

    #[test]
    fn a_cancel_in_progress_is_its_own_state_and_is_checked_until_portone_confirms() {
        let mut st = status(OrderStatus::Cancelling);
        st.message = Some("재고가 없어 결제를 취소합니다".into());
        let (s, fx) = verifying().on(Event::Confirmed(st.clone()));
        assert_eq!(s.name(), "cancelling");
        assert!(!s.can_pay() && s.failure().is_none());
        assert!(matches!(&fx[..], [Effect::ScheduleCheck { checks: 1, .. }]), "{fx:?}");
        // The re-check asks the backend again; still cancelling.
        let (s, fx) = s.on(Event::AutoCheck { checks: 1 });
        assert!(matches!(&fx[..], [Effect::Complete { .. }]));
        let (s, _) = s.on(Event::Confirmed(st));
        assert_eq!(s.name(), "cancelling");
        // PortOne confirms: cancelled, with the backend's reason.
        let (s, _) = s.on(Event::AutoCheck { checks: 2 });
        let mut done = status(OrderStatus::Cancelled);
        done.message = Some("재고가 없어 결제를 취소했습니다".into());
        let (s, _) = s.on(Event::Confirmed(done));
        assert_eq!(s.name(), "cancelled");
        assert_eq!(
            s.failure().and_then(|f| f.customer_message.as_deref()),
            Some("재고가 없어 결제를 취소했습니다")
        );
    }

    #[test]
    fn an_expired_order_asks_for_a_new_one() {
        let (s, fx) = verifying().on(Event::Confirmed(unverified(OrderStatus::Expired)));
        assert_eq!(s.failure().map(|f| f.reason.clone()), Some(FailureReason::Expired));
        assert_eq!(s.order(), None);
        assert!(matches!(&fx[..], [Effect::Forget { .. }]));
        assert_eq!(s.on(Event::Pay).1, vec![Effect::Prepare]);
    }

    #[test]
    fn a_made_up_payment_id_is_refused_by_the_backend() {
        let (s, _) = CheckoutState::Idle.on(returned("paymentId=made-up&txId=t", None));
        let (s, _) = s.on(Event::Refused {
            message: "주문을 찾을 수 없습니다".into(),
            detail: "404".into(),
        });
        assert_eq!(s.name(), "failed");
        assert_eq!(s.failure().map(|f| f.reason.clone()), Some(FailureReason::Refused));
    }

    #[test]
    fn a_return_while_busy_is_ignored_except_when_redirecting() {
        let r = returned("paymentId=order-1", None);
        assert_eq!(verifying().on(r.clone()).1, vec![]);
        let (s, _) = CheckoutState::Redirecting { order: order() }.on(r);
        assert_eq!(s.name(), "verifying");
    }

    #[test]
    fn a_new_cart_drops_an_unpaid_order() {
        let verifying_failure = awaiting().on(Event::Window(failure(None))).0;
        let failed = verifying_failure.on(Event::Confirmed(failed_at_portone("X", "거절"))).0;
        assert_eq!(failed.name(), "failed");
        assert_eq!(failed.on(Event::OrderChanged).0, CheckoutState::Idle);
        assert_eq!(verifying().on(Event::OrderChanged).0, verifying());
    }

    #[test]
    fn a_bare_order_cannot_be_retried_without_preparing_again() {
        let s = CheckoutState::Failed {
            order: Some(OrderRef::Bare(pid("order-1"))),
            failure: Failure {
                reason: FailureReason::Refused,
                customer_message: None,
                detail: String::new(),
            },
        };
        assert_eq!(s.on(Event::Pay), (CheckoutState::Preparing, vec![Effect::Prepare]));
    }

    #[test]
    fn an_unreadable_return_query_is_refused_without_an_order() {
        let (s, fx) = CheckoutState::Idle.on(Event::ReturnInvalid("bad paymentId".into()));
        assert_eq!(
            s.failure().map(|f| f.reason.clone()),
            Some(FailureReason::InvalidReturn)
        );
        assert_eq!((s.order(), fx), (None, vec![]));
    }

    #[test]
    fn an_order_prepared_in_the_background_lets_a_click_go_straight_to_the_sdk() {
        let (s, fx) = CheckoutState::Idle.on(Event::Warm { generation: 1 });
        assert_eq!(s, CheckoutState::Warming { generation: 1 });
        assert_eq!(fx, vec![Effect::PrepareEarly { generation: 1 }]);
        assert!(s.can_pay() && !s.is_busy());
        let (s, fx) = s.on(Event::Warmed {
            generation: 1,
            prepared: Ok(prepared()),
        });
        assert_eq!(s, CheckoutState::Ready { order: order() });
        // Saved and made ready while nobody waits, so the click only calls
        // the SDK.
        assert_eq!(fx, vec![Effect::Save(prepared()), Effect::GetReady(prepared())]);
        assert_eq!(s.name(), "idle");
        let (s, fx) = s.on(Event::Pay);
        assert_eq!(s, awaiting());
        assert_eq!(fx, vec![Effect::RequestPayment(prepared())]);
    }

    #[test]
    fn a_click_during_the_background_prepare_waits_for_it() {
        let warming = CheckoutState::Warming { generation: 2 };
        let (s, fx) = warming.on(Event::Pay);
        assert_eq!((s.name(), fx.len()), ("preparing", 0));
        assert!(s.is_busy());
        assert_eq!(s.clone().on(Event::Pay).1, vec![], "a second click does nothing");
        let (s2, fx) = s.clone().on(Event::Warmed {
            generation: 2,
            prepared: Ok(prepared()),
        });
        assert_eq!(s2, awaiting());
        assert!(matches!(&fx[..], [Effect::Save(_), Effect::RequestPayment(_)]));
        // If the background prepare failed, the click prepares again.
        let (s3, fx) = s.on(Event::Warmed {
            generation: 2,
            prepared: Err("503".into()),
        });
        assert_eq!((s3, fx), (CheckoutState::Preparing, vec![Effect::Prepare]));
    }

    #[test]
    fn a_failed_or_stale_background_prepare_changes_nothing_visible() {
        let (s, fx) = CheckoutState::Warming { generation: 3 }.on(Event::Warmed {
            generation: 3,
            prepared: Err("x".into()),
        });
        assert_eq!((s, fx), (CheckoutState::Idle, vec![]));
        let warming = CheckoutState::Warming { generation: 4 };
        let stale = warming.clone().on(Event::Warmed {
            generation: 3,
            prepared: Ok(prepared()),
        });
        assert_eq!(stale, (warming, vec![]));
        let after_change = CheckoutState::Idle.on(Event::Warmed {
            generation: 4,
            prepared: Ok(prepared()),
        });
        assert_eq!(after_change, (CheckoutState::Idle, vec![]));
    }

    #[test]
    fn a_new_cart_drops_a_background_order() {
        assert_eq!(
            CheckoutState::Ready { order: order() }.on(Event::OrderChanged),
            (
                CheckoutState::Idle,
                vec![Effect::Forget {
                    payment_id: order().payment_id().clone()
                }]
            ),
            "the order saved for the old cart is forgotten"
        );
        assert_eq!(
            CheckoutState::Warming { generation: 1 }.on(Event::OrderChanged).0,
            CheckoutState::Idle
        );
        let clicked = CheckoutState::PreparingWarm { generation: 1 };
        assert_eq!(
            clicked.clone().on(Event::OrderChanged).0,
            clicked,
            "a committed click is not undone"
        );
    }

    #[test]
    fn state_names_are_stable() {
        let names: Vec<_> = [
            CheckoutState::Idle,
            CheckoutState::Preparing,
            awaiting(),
            CheckoutState::Redirecting { order: order() },
            verifying(),
            CheckoutState::Unknown {
                order: order(),
                checks: 0,
            },
            CheckoutState::Cancelling {
                order: order(),
                message: None,
                checks: 0,
            },
        ]
        .iter()
        .map(CheckoutState::name)
        .collect();
        assert_eq!(
            names,
            [
                "idle",
                "preparing",
                "awaiting-payment",
                "redirecting",
                "verifying",
                "unknown",
                "cancelling"
            ]
        );
    }
}
