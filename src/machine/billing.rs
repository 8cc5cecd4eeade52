//! Billing-key issuance as one state machine (pure), the same shape as the
//! payment flow: prepare -> SDK -> register the key with the backend ->
//! verified.

use super::{recheck_delay_ms, BillingWindowResult, Failure, FailureReason};
use crate::protocol::{BillingKeyPrepared, RegisterBillingKeyRequest, Subscription};

/// The issuance the backend prepared (saved before the SDK may redirect).
pub type IssueRef = BillingKeyPrepared;

/// The billing-key flow's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BillingState {
    /// Nothing started.
    #[default]
    Idle,
    /// Asking the backend for `issueId` and the customer.
    Preparing,
    /// The issuance window is open.
    AwaitingIssue {
        /// The issuance.
        issue: IssueRef,
    },
    /// The page is leaving for the PG; it resumes on return.
    Redirecting {
        /// The issuance.
        issue: IssueRef,
    },
    /// The backend is verifying the key with the provider.
    Verifying {
        /// The issuance, if known in this tab.
        issue: Option<IssueRef>,
        /// What to register.
        key: RegisterBillingKeyRequest,
        /// Automatic re-checks so far.
        checks: u32,
    },
    /// Verified and stored.
    Issued {
        /// The backend's record.
        subscription: Subscription,
    },
    /// Failed; issuing again reuses the prepared issuance.
    Failed {
        /// The issuance, if prepared.
        issue: Option<IssueRef>,
        /// Why.
        failure: Failure,
    },
    /// The customer cancelled.
    Cancelled {
        /// The issuance, if prepared.
        issue: Option<IssueRef>,
        /// Why.
        failure: Failure,
    },
    /// The backend could not be reached to verify the key: checked again.
    Unknown {
        /// The issuance, if known.
        issue: Option<IssueRef>,
        /// What to register.
        key: RegisterBillingKeyRequest,
        /// Automatic re-checks so far.
        checks: u32,
    },
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillingEvent {
    /// The issue button was pressed.
    Issue,
    /// The backend prepared the issuance.
    Prepared(BillingKeyPrepared),
    /// Preparing failed (developer detail).
    PrepareFailed(String),
    /// The issuance window gave its result.
    Window(BillingWindowResult),
    /// The SDK refused before opening the window (developer detail).
    Rejected(String),
    /// The page loaded with a billing-key result in its query.
    Returned {
        /// The query's result (a hint).
        result: BillingWindowResult,
        /// What was saved before leaving.
        saved: Option<IssueRef>,
    },
    /// The backend verified and stored the key.
    Registered(Subscription),
    /// The backend refused (4xx): customer message and detail.
    Refused {
        /// The backend's message.
        message: String,
        /// Developer detail.
        detail: String,
    },
    /// The backend could not be reached after retries.
    RegisterFailed(String),
    /// The customer asked to check again.
    CheckAgain,
    /// An automatic re-check with the `checks` of the state that set it.
    AutoCheck {
        /// The `checks` to match.
        checks: u32,
    },
    /// The page loaded with a billing-key result query that cannot be read
    /// (developer detail): nothing is known of any key.
    ReturnInvalid(String),
}

/// What the component must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillingEffect {
    /// Ask the backend to prepare an issuance.
    Prepare,
    /// Save the issuance to `sessionStorage`.
    Save(IssueRef),
    /// Open the provider's billing-key window.
    RequestIssue(IssueRef),
    /// Post the key to the backend (with retries).
    Register(RegisterBillingKeyRequest),
    /// Remove the saved issuance.
    Forget,
    /// Send `AutoCheck { checks }` after `delay_ms`.
    ScheduleCheck {
        /// The delay.
        delay_ms: u32,
        /// The `checks` to echo.
        checks: u32,
    },
}

impl BillingState {
    /// The stable name used in `data-state`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Preparing => "preparing",
            Self::AwaitingIssue { .. } => "awaiting-issue",
            Self::Redirecting { .. } => "redirecting",
            Self::Verifying { .. } => "verifying",
            Self::Issued { .. } => "issued",
            Self::Failed { .. } => "failed",
            Self::Cancelled { .. } => "cancelled",
            Self::Unknown { .. } => "unknown",
        }
    }

    /// Whether something is in flight.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            Self::Preparing | Self::AwaitingIssue { .. } | Self::Redirecting { .. } | Self::Verifying { .. }
        )
    }

    /// Whether the issue button may start (or retry) an issuance.
    pub fn can_issue(&self) -> bool {
        matches!(self, Self::Idle | Self::Failed { .. } | Self::Cancelled { .. })
    }

    /// The failure, in failed and cancelled states.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Self::Failed { failure, .. } | Self::Cancelled { failure, .. } => Some(failure),
            _ => None,
        }
    }

    /// The next state and the effects to run; events that do not apply are
    /// ignored.
    pub fn on(self, event: BillingEvent) -> (BillingState, Vec<BillingEffect>) {
        use BillingEffect as F;
        use BillingEvent as E;
        use BillingState as S;
        let request = |issue: IssueRef| {
            (
                S::AwaitingIssue { issue: issue.clone() },
                vec![F::Save(issue.clone()), F::RequestIssue(issue)],
            )
        };
        let register = |issue: Option<IssueRef>, mut key: RegisterBillingKeyRequest, checks: u32| {
            if key.issue_id.is_none() {
                key.issue_id = issue.as_ref().map(|i| i.issue_id.clone());
            }
            (
                S::Verifying {
                    issue,
                    key: key.clone(),
                    checks,
                },
                vec![F::Register(key)],
            )
        };
        let failed = |issue: Option<IssueRef>, reason: FailureReason, customer_message: Option<String>, detail| {
            let failure = Failure {
                reason: reason.clone(),
                customer_message,
                detail,
            };
            if reason == FailureReason::CancelledByCustomer {
                (S::Cancelled { issue, failure }, vec![F::Forget])
            } else {
                (S::Failed { issue, failure }, vec![F::Forget])
            }
        };
        match (self, event) {
            (S::Idle, E::Issue) => (S::Preparing, vec![F::Prepare]),
            (S::Failed { issue: Some(i), .. } | S::Cancelled { issue: Some(i), .. }, E::Issue) => request(i),
            (S::Failed { issue: None, .. } | S::Cancelled { issue: None, .. }, E::Issue) => {
                (S::Preparing, vec![F::Prepare])
            }
            (S::Preparing, E::Prepared(p)) => request(p),
            (S::Preparing, E::PrepareFailed(detail)) => failed(None, FailureReason::Prepare, None, detail),
            (S::Preparing, E::Refused { message, detail }) => {
                failed(None, FailureReason::Prepare, Some(message), detail)
            }
            (S::AwaitingIssue { issue }, E::Window(BillingWindowResult::Issued(key))) => register(Some(issue), key, 0),
            (S::AwaitingIssue { issue }, E::Window(BillingWindowResult::Failed(f))) => {
                let reason = if f.is_user_cancel() {
                    FailureReason::CancelledByCustomer
                } else {
                    FailureReason::Pg
                };
                let detail = format!(
                    "{}: {}",
                    f.code.as_deref().unwrap_or("(no code)"),
                    f.message.as_deref().unwrap_or("")
                );
                failed(Some(issue), reason, f.customer_text().map(str::to_owned), detail)
            }
            (S::AwaitingIssue { issue }, E::Window(BillingWindowResult::Redirected)) => {
                (S::Redirecting { issue }, vec![])
            }
            (S::AwaitingIssue { issue }, E::Rejected(detail)) => {
                failed(Some(issue), FailureReason::Rejected, None, detail)
            }
            (s, E::Returned { result, saved }) if !s.is_busy() || matches!(s, S::Redirecting { .. }) => match result {
                BillingWindowResult::Issued(key) => register(saved, key, 0),
                BillingWindowResult::Failed(f) => {
                    let reason = if f.is_user_cancel() {
                        FailureReason::CancelledByCustomer
                    } else {
                        FailureReason::Pg
                    };
                    let detail = format!("redirect returned code {}", f.code.as_deref().unwrap_or("(none)"));
                    failed(saved, reason, f.customer_text().map(str::to_owned), detail)
                }
                BillingWindowResult::Redirected => (s, vec![]),
            },
            (s, E::ReturnInvalid(detail)) if !s.is_busy() => failed(None, FailureReason::InvalidReturn, None, detail),
            (S::Verifying { .. }, E::Registered(subscription)) => (S::Issued { subscription }, vec![F::Forget]),
            (S::Verifying { issue, .. }, E::Refused { message, detail }) => {
                failed(issue, FailureReason::Refused, Some(message), detail)
            }
            (S::Verifying { issue, key, checks }, E::RegisterFailed(_)) => (
                S::Unknown {
                    issue,
                    key,
                    checks: checks + 1,
                },
                vec![F::ScheduleCheck {
                    delay_ms: recheck_delay_ms(checks),
                    checks: checks + 1,
                }],
            ),
            (S::Unknown { issue, key, checks }, E::CheckAgain) => register(issue, key, checks),
            (S::Unknown { issue, key, checks }, E::AutoCheck { checks: c }) if c == checks => {
                register(issue, key, checks)
            }
            (s, _) => (s, vec![]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{PgFailure, PreparedCustomer};

    fn prepared() -> BillingKeyPrepared {
        BillingKeyPrepared {
            issue_id: crate::protocol::IssueId::parse("issue-1").expect("id"),
            issue_name: "정기 구독".into(),
            customer: PreparedCustomer {
                customer_id: Some("demo-customer-1".into()),
                full_name: None,
                phone_number: None,
                email: None,
            },
        }
    }

    fn issue() -> IssueRef {
        prepared()
    }

    fn key(billing_key: &str) -> RegisterBillingKeyRequest {
        RegisterBillingKeyRequest::key(billing_key, None)
    }

    fn sub() -> Subscription {
        Subscription {
            subscription_id: crate::protocol::SubscriptionId::parse("sub-1").expect("id"),
            billing_key: "bk-1".into(),
            status: "ACTIVE".into(),
            customer_id: "demo-customer-1".into(),
        }
    }

    fn register(key: &str, issue_id: Option<&str>) -> BillingEffect {
        BillingEffect::Register(RegisterBillingKeyRequest::key(
            key,
            issue_id.map(|i| crate::protocol::IssueId::parse(i).expect("id")),
        ))
    }

    #[test]
    fn issuing_prepares_saves_and_calls_the_sdk() {
        let (s, fx) = BillingState::Idle.on(BillingEvent::Issue);
        assert_eq!((s.name(), fx), ("preparing", vec![BillingEffect::Prepare]));
        let (s, fx) = BillingState::Preparing.on(BillingEvent::Prepared(prepared()));
        assert_eq!(s, BillingState::AwaitingIssue { issue: issue() });
        assert_eq!(
            fx,
            vec![BillingEffect::Save(issue()), BillingEffect::RequestIssue(issue())]
        );
    }

    #[test]
    fn an_issued_key_is_registered_then_issued() {
        let (s, fx) = BillingState::AwaitingIssue { issue: issue() }
            .on(BillingEvent::Window(BillingWindowResult::Issued(key("bk-1"))));
        assert_eq!(s.name(), "verifying");
        assert_eq!(fx, vec![register("bk-1", Some("issue-1"))]);
        let (s, fx) = s.on(BillingEvent::Registered(sub()));
        assert_eq!(s, BillingState::Issued { subscription: sub() });
        assert_eq!(fx, vec![BillingEffect::Forget]);
    }

    #[test]
    fn does_not_issue_twice_when_the_button_is_double_clicked() {
        let s = BillingState::AwaitingIssue { issue: issue() };
        assert_eq!(s.clone().on(BillingEvent::Issue), (s, vec![]));
        assert_eq!(BillingState::Preparing.on(BillingEvent::Issue).1, vec![]);
    }

    #[test]
    fn a_cancel_or_decline_can_be_retried_with_the_same_issue() {
        let f = PgFailure {
            code: Some("FAILURE_TYPE_PG".into()),
            message: Some("m".into()),
            pg_code: Some("PAY_PROCESS_CANCELED".into()),
            pg_message: None,
        };
        let (s, _) =
            BillingState::AwaitingIssue { issue: issue() }.on(BillingEvent::Window(BillingWindowResult::Failed(f)));
        assert_eq!(s.name(), "cancelled");
        assert_eq!(
            s.on(BillingEvent::Issue).1,
            vec![BillingEffect::Save(issue()), BillingEffect::RequestIssue(issue())]
        );
        let (s, _) = BillingState::AwaitingIssue { issue: issue() }.on(BillingEvent::Rejected("x".into()));
        assert_eq!(s.failure().map(|f| f.reason.clone()), Some(FailureReason::Rejected));
    }

    #[test]
    fn redirect_and_return_register_the_key_from_the_query() {
        let (s, _) =
            BillingState::AwaitingIssue { issue: issue() }.on(BillingEvent::Window(BillingWindowResult::Redirected));
        assert_eq!(s.name(), "redirecting");
        let ret = BillingWindowResult::Issued(key("bk-9"));
        let (s, fx) = BillingState::Idle.on(BillingEvent::Returned {
            result: ret.clone(),
            saved: None,
        });
        assert_eq!(s.name(), "verifying");
        assert_eq!(fx, vec![register("bk-9", None)]);
        let (_, fx) = BillingState::Idle.on(BillingEvent::Returned {
            result: ret,
            saved: Some(issue()),
        });
        assert_eq!(fx, vec![register("bk-9", Some("issue-1"))]);
    }

    #[test]
    fn a_failed_return_is_failed_and_an_unreadable_return_is_refused_without_a_request() {
        let failed = BillingWindowResult::Failed(PgFailure {
            code: Some("FAILURE_TYPE_PG".into()),
            message: Some("<b>no</b>".into()),
            ..PgFailure::default()
        });
        let (s, _) = BillingState::Idle.on(BillingEvent::Returned {
            result: failed,
            saved: None,
        });
        assert_eq!(
            s.failure().and_then(|f| f.customer_message.as_deref()),
            Some("<b>no</b>")
        );
        let (s, fx) = BillingState::Idle.on(BillingEvent::ReturnInvalid("no billingKey".into()));
        assert_eq!(
            s.failure().map(|f| f.reason.clone()),
            Some(FailureReason::InvalidReturn)
        );
        assert_eq!(fx, vec![BillingEffect::Forget]);
        // Retrying after that prepares a new issuance.
        assert_eq!(s.on(BillingEvent::Issue).1, vec![BillingEffect::Prepare]);
    }

    #[test]
    fn a_refused_key_fails_and_an_unreachable_backend_is_unknown_then_resolves() {
        let verifying = BillingState::Verifying {
            issue: Some(issue()),
            key: RegisterBillingKeyRequest::key("bk-1", Some(issue().issue_id)),
            checks: 0,
        };
        let (s, _) = verifying.clone().on(BillingEvent::Refused {
            message: "다른 고객의 키".into(),
            detail: "403".into(),
        });
        assert_eq!(s.name(), "failed");
        let (s, fx) = verifying.on(BillingEvent::RegisterFailed("network".into()));
        assert_eq!(s.name(), "unknown");
        assert_eq!(
            fx,
            vec![BillingEffect::ScheduleCheck {
                delay_ms: 2_000,
                checks: 1
            }]
        );
        assert!(!s.can_issue());
        assert_eq!(s.clone().on(BillingEvent::AutoCheck { checks: 0 }).1, vec![]);
        let (s, fx) = s.on(BillingEvent::AutoCheck { checks: 1 });
        assert_eq!(fx, vec![register("bk-1", Some("issue-1"))]);
        assert_eq!(s.on(BillingEvent::Registered(sub())).0.name(), "issued");
    }
}
