//! User-facing text, Korean by default, English available. Developer detail
//! never appears here: it goes to the console.

use crate::machine::billing::BillingState;
use crate::machine::payment::CheckoutState;
use crate::machine::{Failure, FailureReason};
use crate::model::portone_v2::Locale;

/// The language of the checkout's text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    /// 한국어 (default).
    #[default]
    Ko,
    /// English.
    En,
}

impl Lang {
    /// Reads a language tag (`ko`, `ko-KR`, `en`, `en-US`, ...); others are
    /// Korean.
    pub fn from_tag(tag: &str) -> Self {
        if tag.trim().to_ascii_lowercase().starts_with("en") {
            Self::En
        } else {
            Self::Ko
        }
    }

    /// The matching PortOne window locale.
    pub fn locale(self) -> Locale {
        match self {
            Self::Ko => Locale::KoKr,
            Self::En => Locale::EnUs,
        }
    }

    /// The table of texts.
    pub fn texts(self) -> &'static Texts {
        match self {
            Self::Ko => &KO,
            Self::En => &EN,
        }
    }
}

/// Every sentence the components show.
#[derive(Debug)]
pub struct Texts {
    /// Pay button.
    pub pay: &'static str,
    /// Pay button after a failure or cancel.
    pub pay_again: &'static str,
    /// Button in the unknown state.
    pub check_again: &'static str,
    /// Billing-key button.
    pub issue: &'static str,
    /// Billing-key button after a failure or cancel.
    pub issue_again: &'static str,
    /// Preparing the order.
    pub preparing: &'static str,
    /// The payment window is open.
    pub awaiting_payment: &'static str,
    /// Leaving for the PG.
    pub redirecting: &'static str,
    /// Verifying with the backend.
    pub verifying: &'static str,
    /// Paid.
    pub paid: &'static str,
    /// Virtual account issued.
    pub virtual_account_issued: &'static str,
    /// Outcome not known yet.
    pub unknown: &'static str,
    /// The backend could not prepare the order.
    pub failed_prepare: &'static str,
    /// The SDK refused before the window.
    pub failed_rejected: &'static str,
    /// The PG declined.
    pub failed_pg: &'static str,
    /// The backend refused (unknown order, invalid key or return URL).
    pub failed_refused: &'static str,
    /// The customer cancelled.
    pub cancelled_by_customer: &'static str,
    /// The merchant cancelled after payment.
    pub cancelled_by_merchant: &'static str,
    /// The merchant is cancelling after payment; not confirmed yet.
    pub cancelling: &'static str,
    /// The order expired before it was paid.
    pub expired: &'static str,
    /// A return link that cannot be read.
    pub invalid_return: &'static str,
    /// The issuance window is open.
    pub awaiting_issue: &'static str,
    /// Billing key verified and stored.
    pub issued: &'static str,
    /// Billing key outcome not known yet.
    pub billing_unknown: &'static str,
}

static KO: Texts = Texts {
    pay: "결제하기",
    pay_again: "다시 결제하기",
    check_again: "다시 확인",
    issue: "결제수단 등록하기",
    issue_again: "다시 등록하기",
    preparing: "주문을 준비하고 있습니다…",
    awaiting_payment: "결제창에서 결제를 진행해 주세요.",
    redirecting: "결제 페이지로 이동합니다…",
    verifying: "결제를 확인하고 있습니다…",
    paid: "결제가 완료되었습니다.",
    virtual_account_issued: "가상계좌가 발급되었습니다. 입금하시면 결제가 완료됩니다.",
    unknown: "결제 결과를 확인 중입니다. 결제가 이미 완료되었을 수 있으니 다시 결제하지 마세요.",
    failed_prepare: "주문을 준비하지 못했습니다. 잠시 후 다시 시도해 주세요.",
    failed_rejected: "결제창을 열지 못했습니다. 잠시 후 다시 시도해 주세요.",
    failed_pg: "결제에 실패했습니다.",
    failed_refused: "결제 정보를 확인할 수 없습니다.",
    cancelled_by_customer: "결제를 취소했습니다.",
    cancelled_by_merchant: "결제가 취소되었습니다.",
    cancelling: "결제를 취소하고 있습니다. 취소가 확인되면 알려 드립니다.",
    expired: "주문이 만료되었습니다. 다시 주문해 주세요.",
    invalid_return: "결제 결과 링크를 확인할 수 없습니다. 결제 내역을 확인하신 뒤 다시 시도해 주세요.",
    awaiting_issue: "등록 창에서 결제수단 등록을 진행해 주세요.",
    issued: "결제수단이 등록되었습니다.",
    billing_unknown: "등록 결과를 확인 중입니다.",
};

static EN: Texts = Texts {
    pay: "Pay",
    pay_again: "Pay again",
    check_again: "Check again",
    issue: "Register payment method",
    issue_again: "Register again",
    preparing: "Preparing your order…",
    awaiting_payment: "Please complete the payment in the payment window.",
    redirecting: "Taking you to the payment page…",
    verifying: "Confirming your payment…",
    paid: "Payment complete.",
    virtual_account_issued: "A virtual account was issued. The payment completes when you deposit.",
    unknown: "We are still confirming your payment. It may already have gone through, so please do not pay again.",
    failed_prepare: "We could not prepare your order. Please try again shortly.",
    failed_rejected: "The payment window could not be opened. Please try again shortly.",
    failed_pg: "The payment failed.",
    failed_refused: "We could not confirm this payment.",
    cancelled_by_customer: "You cancelled the payment.",
    cancelled_by_merchant: "The payment was cancelled.",
    cancelling: "The payment is being cancelled. We will confirm once it is done.",
    expired: "This order has expired. Please order again.",
    invalid_return: "This payment result link cannot be read. Please check your payments before trying again.",
    awaiting_issue: "Please complete the registration in the window.",
    issued: "Your payment method is registered.",
    billing_unknown: "We are still confirming the registration.",
};

impl Texts {
    /// The sentence for a failure reason.
    pub fn failure(&self, reason: &FailureReason) -> &'static str {
        match reason {
            FailureReason::Prepare => self.failed_prepare,
            FailureReason::Rejected => self.failed_rejected,
            FailureReason::Pg | FailureReason::Declined => self.failed_pg,
            FailureReason::Refused => self.failed_refused,
            FailureReason::CancelledByCustomer => self.cancelled_by_customer,
            FailureReason::CancelledByMerchant => self.cancelled_by_merchant,
            FailureReason::Expired => self.expired,
            FailureReason::InvalidReturn => self.invalid_return,
        }
    }

    /// The status line of a checkout state (`""` when idle).
    pub fn checkout_status(&self, s: &CheckoutState) -> &'static str {
        match s {
            CheckoutState::Idle | CheckoutState::Warming { .. } | CheckoutState::Ready { .. } => "",
            CheckoutState::Preparing | CheckoutState::PreparingWarm { .. } => self.preparing,
            CheckoutState::AwaitingPayment { .. } => self.awaiting_payment,
            CheckoutState::Redirecting { .. } => self.redirecting,
            CheckoutState::Verifying { .. } => self.verifying,
            CheckoutState::Paid { .. } => self.paid,
            CheckoutState::VirtualAccountIssued { .. } => self.virtual_account_issued,
            CheckoutState::Failed { failure, .. } | CheckoutState::Cancelled { failure, .. } => {
                self.failure(&failure.reason)
            }
            CheckoutState::Unknown { .. } => self.unknown,
            CheckoutState::Cancelling { .. } => self.cancelling,
        }
    }

    /// The status line of a billing-key state (`""` when idle).
    pub fn billing_status(&self, s: &BillingState) -> &'static str {
        match s {
            BillingState::Idle => "",
            BillingState::Preparing => self.preparing,
            BillingState::AwaitingIssue { .. } => self.awaiting_issue,
            BillingState::Redirecting { .. } => self.redirecting,
            BillingState::Verifying { .. } => self.verifying,
            BillingState::Issued { .. } => self.issued,
            BillingState::Failed { failure, .. } | BillingState::Cancelled { failure, .. } => {
                self.failure(&failure.reason)
            }
            BillingState::Unknown { .. } => self.billing_unknown,
        }
    }
}

/// What the customer reads: the state's `sentence`, followed by the
/// provider's or the backend's words after a failure (`None` when there is
/// nothing to say).
pub fn compose(sentence: &str, failure: Option<&Failure>) -> Option<String> {
    match failure.and_then(|f| f.customer_message.as_deref()) {
        Some(d) if !sentence.is_empty() => Some(format!("{sentence} {d}")),
        Some(d) => Some(d.to_owned()),
        None if sentence.is_empty() => None,
        None => Some(sentence.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_pick_english_or_korean() {
        assert_eq!(Lang::from_tag("en-US"), Lang::En);
        assert_eq!(Lang::from_tag("EN"), Lang::En);
        assert_eq!(Lang::from_tag("ko"), Lang::Ko);
        assert_eq!(Lang::from_tag("fr"), Lang::Ko);
        assert_eq!(Lang::En.locale(), Locale::EnUs);
    }

    #[test]
    fn an_unknown_outcome_never_reads_as_a_failure() {
        for t in [Lang::Ko.texts(), Lang::En.texts()] {
            let s = t.checkout_status(&CheckoutState::Unknown {
                order: crate::machine::payment::OrderRef::Bare(crate::protocol::PaymentId::parse("p").expect("id")),
                checks: 0,
            });
            assert!(!s.contains("실패") && !s.to_lowercase().contains("fail"), "{s}");
        }
    }
}
