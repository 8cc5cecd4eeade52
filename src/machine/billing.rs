//! Billing-key issuance as one state machine (pure), the same shape as the
//! payment flow: prepare -> SDK -> register the key with the backend ->
//! verified.

use super::{recheck_delay_ms, Failure, FailureReason};
use crate::model::{is_user_cancel, BillingKeyOutcome, ErrorCode};
use crate::protocol::{BillingKeyPrepared, PreparedCustomer, RegisterBillingKeyRequest, Subscription};
use crate::redirect::BillingKeyReturn;
use serde::{Deserialize, Serialize};

/// The issuance the backend prepared (saved before the SDK may redirect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueRef {
    /// `issueId`.
    pub issue_id: crate::protocol::IssueId,
    /// `issueName`.
    pub issue_name: String,
    /// The customer (`customerId` set).
    pub customer: PreparedCustomer,
}

impl From<BillingKeyPrepared> for IssueRef {
    fn from(p: BillingKeyPrepared) -> Self {
        Self {
            issue_id: p.issue_id,
            issue_name: p.issue_name,
            customer: p.customer,
        }
    }
}

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
    /// The backend is verifying the key with PortOne.
    Verifying {
        /// The issuance, if known in this tab.
        issue: Option<IssueRef>,
        /// The key to verify.
        billing_key: String,
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
        /// The key.
        billing_key: String,
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
    /// The SDK promise resolved.
    Sdk(BillingKeyOutcome),
    /// The SDK promise rejected before the window opened.
    SdkRejected {
        /// The SDK's code, if any.
        code: Option<ErrorCode>,
        /// Developer detail.
        detail: String,
    },
    /// The page loaded with a billing-key result in its query.
    Returned {
        /// The query's result (a hint).
        ret: BillingKeyReturn,
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
}

/// What the component must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillingEffect {
    /// Ask the backend to prepare an issuance.
    Prepare,
    /// Save the issuance to `sessionStorage`.
    Save(IssueRef),
    /// Call `requestIssueBillingKey`.
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
        let register = |issue: Option<IssueRef>, billing_key: String, checks: u32| {
            let body = RegisterBillingKeyRequest {
                billing_key: billing_key.clone(),
                issue_id: issue.as_ref().map(|i| i.issue_id.clone()),
            };
            (
                S::Verifying {
                    issue,
                    billing_key,
                    checks,
                },
                vec![F::Register(body)],
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
            (S::Preparing, E::Prepared(p)) => request(IssueRef::from(p)),
            (S::Preparing, E::PrepareFailed(detail)) => failed(None, FailureReason::Prepare, None, detail),
            (S::Preparing, E::Refused { message, detail }) => {
                failed(None, FailureReason::Prepare, Some(message), detail)
            }
            (S::AwaitingIssue { issue }, E::Sdk(BillingKeyOutcome::Issued(k))) => {
                register(Some(issue), k.billing_key, 0)
            }
            (S::AwaitingIssue { issue }, E::Sdk(BillingKeyOutcome::Failed(f))) => {
                let reason = if f.is_user_cancel() {
                    FailureReason::CancelledByCustomer
                } else {
                    FailureReason::Pg
                };
                let msg = Some(f.customer_message().to_string()).filter(|m| !m.trim().is_empty());
                failed(Some(issue), reason, msg, format!("{}: {}", f.code, f.message))
            }
            (S::AwaitingIssue { issue }, E::Sdk(BillingKeyOutcome::Redirected)) => (S::Redirecting { issue }, vec![]),
            (S::AwaitingIssue { issue }, E::SdkRejected { code, detail }) => {
                let detail = match code {
                    Some(c) => format!("{c}: {detail}"),
                    None => detail,
                };
                failed(Some(issue), FailureReason::Rejected, None, detail)
            }
            (s, E::Returned { ret, saved }) if !s.is_busy() || matches!(s, S::Redirecting { .. }) => {
                match (ret.billing_key, ret.failure) {
                    (Some(key), None) => register(saved, key, 0),
                    (_, Some(h)) => {
                        let reason = if is_user_cancel(&h.code, h.pg_code.as_deref()) {
                            FailureReason::CancelledByCustomer
                        } else {
                            FailureReason::Pg
                        };
                        let detail = format!("redirect returned code {}", h.code);
                        failed(saved, reason, h.pg_message.or(h.message), detail)
                    }
                    (None, None) => failed(
                        saved,
                        FailureReason::Refused,
                        None,
                        "the return URL carries neither a billing key nor a failure".into(),
                    ),
                }
            }
            (S::Verifying { .. }, E::Registered(subscription)) => (S::Issued { subscription }, vec![F::Forget]),
            (S::Verifying { issue, .. }, E::Refused { message, detail }) => {
                failed(issue, FailureReason::Refused, Some(message), detail)
            }
            (
                S::Verifying {
                    issue,
                    billing_key,
                    checks,
                },
                E::RegisterFailed(_),
            ) => (
                S::Unknown {
                    issue,
                    billing_key,
                    checks: checks + 1,
                },
                vec![F::ScheduleCheck {
                    delay_ms: recheck_delay_ms(checks),
                    checks: checks + 1,
                }],
            ),
            (
                S::Unknown {
                    issue,
                    billing_key,
                    checks,
                },
                E::CheckAgain,
            ) => register(issue, billing_key, checks),
            (
                S::Unknown {
                    issue,
                    billing_key,
                    checks,
                },
                E::AutoCheck { checks: c },
            ) if c == checks => register(issue, billing_key, checks),
            (s, _) => (s, vec![]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BillingKeyIssued, SdkFailure};

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
        IssueRef::from(prepared())
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
        BillingEffect::Register(RegisterBillingKeyRequest {
            billing_key: key.into(),
            issue_id: issue_id.map(|i| crate::protocol::IssueId::parse(i).expect("id")),
        })
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
        let k = BillingKeyIssued {
            billing_key: "bk-1".into(),
            billing_issue_token: None,
        };
        let (s, fx) =
            BillingState::AwaitingIssue { issue: issue() }.on(BillingEvent::Sdk(BillingKeyOutcome::Issued(k)));
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
        let f = SdkFailure {
            code: ErrorCode::FailureTypePg,
            message: "m".into(),
            pg_code: Some("PAY_PROCESS_CANCELED".into()),
            pg_message: None,
            payment_id: None,
            tx_id: None,
        };
        let (s, _) = BillingState::AwaitingIssue { issue: issue() }.on(BillingEvent::Sdk(BillingKeyOutcome::Failed(f)));
        assert_eq!(s.name(), "cancelled");
        assert_eq!(
            s.on(BillingEvent::Issue).1,
            vec![BillingEffect::Save(issue()), BillingEffect::RequestIssue(issue())]
        );
        let (s, _) = BillingState::AwaitingIssue { issue: issue() }.on(BillingEvent::SdkRejected {
            code: None,
            detail: "x".into(),
        });
        assert_eq!(s.failure().map(|f| f.reason.clone()), Some(FailureReason::Rejected));
    }

    #[test]
    fn redirect_and_return_register_the_key_from_the_query() {
        let (s, _) =
            BillingState::AwaitingIssue { issue: issue() }.on(BillingEvent::Sdk(BillingKeyOutcome::Redirected));
        assert_eq!(s.name(), "redirecting");
        let ret = BillingKeyReturn {
            billing_key: Some("bk-9".into()),
            billing_issue_token: None,
            failure: None,
        };
        let (s, fx) = BillingState::Idle.on(BillingEvent::Returned {
            ret: ret.clone(),
            saved: None,
        });
        assert_eq!(s.name(), "verifying");
        assert_eq!(fx, vec![register("bk-9", None)]);
        let (_, fx) = BillingState::Idle.on(BillingEvent::Returned {
            ret,
            saved: Some(issue()),
        });
        assert_eq!(fx, vec![register("bk-9", Some("issue-1"))]);
    }

    #[test]
    fn a_failed_return_is_failed_and_an_empty_return_is_refused() {
        let ret = BillingKeyReturn {
            billing_key: None,
            billing_issue_token: None,
            failure: Some(crate::redirect::FailureHint {
                code: "FAILURE_TYPE_PG".into(),
                message: Some("<b>no</b>".into()),
                pg_code: None,
                pg_message: None,
            }),
        };
        let (s, _) = BillingState::Idle.on(BillingEvent::Returned { ret, saved: None });
        assert_eq!(
            s.failure().and_then(|f| f.customer_message.as_deref()),
            Some("<b>no</b>")
        );
        let empty = BillingKeyReturn {
            billing_key: None,
            billing_issue_token: None,
            failure: None,
        };
        let (s, _) = BillingState::Idle.on(BillingEvent::Returned {
            ret: empty,
            saved: None,
        });
        assert_eq!(s.failure().map(|f| f.reason.clone()), Some(FailureReason::Refused));
    }

    #[test]
    fn a_refused_key_fails_and_an_unreachable_backend_is_unknown_then_resolves() {
        let verifying = BillingState::Verifying {
            issue: Some(issue()),
            billing_key: "bk-1".into(),
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
