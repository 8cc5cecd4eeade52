//! The five invariants, checked against the sandbox's own records (the
//! ledger, `GET /__sandbox/ledger`): the provider is the source of truth for
//! what was paid, cancelled and scheduled; the shop's database and answers
//! are what is being checked.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use serde_json::Value;

use crate::shopdb::Shop;
use crate::world::ChargeKey;

/// One invariant's verdict.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Its number and statement.
    pub name: &'static str,
    /// Counts of what was checked (printed whether it holds or not).
    pub counts: BTreeMap<String, u64>,
    /// Each violation: the order (or subscription, key, log) and what is wrong.
    pub violations: Vec<(String, String)>,
}

impl Verdict {
    fn new(name: &'static str) -> Verdict {
        Verdict {
            name,
            ..Verdict::default()
        }
    }
    fn count(&mut self, what: &str) {
        *self.counts.entry(what.to_owned()).or_default() += 1;
    }
    fn add(&mut self, what: &str, n: u64) {
        *self.counts.entry(what.to_owned()).or_default() += n;
    }
    fn violate(&mut self, id: &str, what: String) {
        self.violations.push((id.to_owned(), what));
    }
    /// Whether it holds.
    pub fn holds(&self) -> bool {
        self.violations.is_empty()
    }
    /// One line: verdict, name and counts.
    pub fn line(&self) -> String {
        let mut s = format!("{} {}", if self.holds() { "HOLDS " } else { "BROKEN" }, self.name);
        let counts: Vec<String> = self.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = write!(s, "\n         {}", counts.join(", "));
        if !self.holds() {
            let _ = write!(s, "\n         {} violation(s)", self.violations.len());
        }
        s
    }
}

/// How a provider payment stands, in provider-neutral terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    /// Paid and not cancelled.
    Paid,
    /// Paid, then cancelled in full.
    Cancelled,
    /// Paid, then cancelled in part.
    PartCancelled,
    /// Waiting for a virtual-account deposit.
    Waiting,
    /// Not decided yet at the provider (pay-pending, authenticated and not
    /// confirmed).
    InFlight,
    /// Declined, cancelled in the window, expired.
    Failed,
    /// A window opened, nothing else.
    Ready,
}

/// One payment at the provider.
#[derive(Clone, Debug)]
struct Payment {
    provider: &'static str,
    /// V2's payment id, V1's `imp_uid`, Toss's `paymentKey`.
    key: String,
    state: State,
    raw_status: String,
    amount: i64,
    cancel_reasons: Vec<String>,
}

/// The ledger, by order id (V2 payment id, V1 `merchant_uid`, Toss `orderId`).
pub struct Ledger {
    by_order: BTreeMap<String, Vec<Payment>>,
    /// V2 schedules `(billing key, payment id, status)`.
    v2_schedules: Vec<(String, String, String)>,
    /// V1 schedules `(customer_uid, merchant_uid, status)`.
    v1_schedules: Vec<(String, String, String)>,
    /// V1's 0-won billing-key issue payments (not orders).
    pub v1_issue_payments: u64,
}

impl Ledger {
    /// Scheduled charges the provider ran (V2 and V1 schedules no longer
    /// waiting; Toss has none: its due charges are made by the shop).
    pub fn schedules_run(&self) -> usize {
        self.v2_schedules
            .iter()
            .filter(|(_, _, st)| st != "SCHEDULED" && st != "REVOKED")
            .count()
            + self
                .v1_schedules
                .iter()
                .filter(|(_, _, st)| st != "scheduled" && st != "revoked")
                .count()
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn reasons(p: &Value) -> Vec<String> {
    p["cancellations"]
        .as_array()
        .map(|l| l.iter().map(|c| s(&c["reason"])).collect())
        .unwrap_or_default()
}

impl Ledger {
    /// Reads `GET /__sandbox/ledger`'s answer.
    pub fn parse(v: &Value) -> Ledger {
        let mut by_order: BTreeMap<String, Vec<Payment>> = BTreeMap::new();
        let empty = Vec::new();
        for p in v["portoneV2"]["payments"].as_array().unwrap_or(&empty) {
            let state = match p["status"].as_str() {
                Some("PAID") => State::Paid,
                Some("CANCELLED") => State::Cancelled,
                Some("PARTIAL_CANCELLED") => State::PartCancelled,
                Some("VIRTUAL_ACCOUNT_ISSUED") => State::Waiting,
                Some("PAY_PENDING") => State::InFlight,
                Some("FAILED") => State::Failed,
                _ => State::Ready,
            };
            by_order.entry(s(&p["paymentId"])).or_default().push(Payment {
                provider: "portone_v2",
                key: s(&p["paymentId"]),
                state,
                raw_status: s(&p["status"]),
                amount: p["totalAmount"].as_i64().unwrap_or(0),
                cancel_reasons: reasons(p),
            });
        }
        let mut v1_issue_payments = 0;
        for p in v["portoneV1"]["payments"].as_array().unwrap_or(&empty) {
            if p["customerUidUsage"] == "issue" {
                v1_issue_payments += 1;
                continue;
            }
            let cancelled: i64 = p["cancellations"]
                .as_array()
                .map(|l| l.iter().filter_map(|c| c["amount"].as_i64()).sum())
                .unwrap_or(0);
            let state = match p["status"].as_str() {
                Some("paid") if cancelled > 0 => State::PartCancelled,
                Some("paid") => State::Paid,
                Some("cancelled") => State::Cancelled,
                Some("failed") => State::Failed,
                _ => State::Ready,
            };
            by_order.entry(s(&p["merchantUid"])).or_default().push(Payment {
                provider: "portone_v1",
                key: s(&p["impUid"]),
                state,
                raw_status: s(&p["status"]),
                amount: p["amount"].as_i64().unwrap_or(0),
                cancel_reasons: reasons(p),
            });
        }
        for p in v["toss"]["payments"].as_array().unwrap_or(&empty) {
            let state = match p["status"].as_str() {
                Some("DONE") => State::Paid,
                Some("CANCELED") => State::Cancelled,
                Some("PARTIAL_CANCELED") => State::PartCancelled,
                Some("WAITING_FOR_DEPOSIT") => State::Waiting,
                Some("IN_PROGRESS") => State::InFlight,
                Some("ABORTED") | Some("EXPIRED") => State::Failed,
                _ => State::Ready,
            };
            by_order.entry(s(&p["orderId"])).or_default().push(Payment {
                provider: "toss",
                key: s(&p["paymentKey"]),
                state,
                raw_status: s(&p["status"]),
                amount: p["totalAmount"].as_i64().unwrap_or(0),
                cancel_reasons: reasons(p),
            });
        }
        let sched = |list: &Value, a: &str, b: &str| -> Vec<(String, String, String)> {
            list.as_array()
                .unwrap_or(&Vec::new())
                .iter()
                .map(|x| (s(&x[a]), s(&x[b]), s(&x["status"])))
                .collect()
        };
        Ledger {
            by_order,
            v2_schedules: sched(&v["portoneV2"]["schedules"], "billingKey", "paymentId"),
            v1_schedules: sched(&v["portoneV1"]["schedules"], "customerUid", "merchantUid"),
            v1_issue_payments,
        }
    }

    /// The order's state at the provider, as the shop should report it:
    /// paid wins, then cancelled, waiting, in flight, failed; nothing (or a
    /// bare window) is `PENDING`.
    fn expected(&self, id: &str) -> &'static str {
        let states: BTreeSet<State> = self
            .by_order
            .get(id)
            .map(|l| l.iter().map(|p| p.state).collect())
            .unwrap_or_default();
        match states.first() {
            Some(State::Paid) => "PAID",
            Some(State::Cancelled) => "CANCELLED",
            Some(State::PartCancelled) => "PARTIAL_CANCELLED",
            Some(State::Waiting) => "VIRTUAL_ACCOUNT_ISSUED",
            Some(State::InFlight) => "IN_FLIGHT",
            Some(State::Failed) => "FAILED",
            Some(State::Ready) | None => "PENDING",
        }
    }

    /// The provider's records of an order, for a failure report.
    pub fn describe(&self, id: &str) -> String {
        match self.by_order.get(id) {
            None => "no payment at the provider".into(),
            Some(l) => l
                .iter()
                .map(|p| {
                    format!(
                        "{} {} {} {} won{}",
                        p.provider,
                        p.key,
                        p.raw_status,
                        p.amount,
                        if p.cancel_reasons.is_empty() {
                            String::new()
                        } else {
                            format!(", cancelled: {:?}", p.cancel_reasons)
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

/// Whether the backend's status `got` is right for the provider's `expected`.
fn agrees(expected: &str, got: &str) -> bool {
    match expected {
        "PENDING" => got == "PENDING" || got == "EXPIRED",
        "FAILED" => got == "FAILED" || got == "EXPIRED",
        _ => expected == got,
    }
}

/// The reasons the shop gives when it cancels a paid payment itself.
fn shop_cancel(reason: &str) -> Option<&'static str> {
    if reason.starts_with("net cancel") {
        Some("net cancel")
    } else if reason.starts_with("suspected tampering") {
        Some("tampering")
    } else {
        None
    }
}

/// Orders whose stored state does not (yet) agree with the provider, or is
/// left non-final (what the settling phase waits on).
pub fn unsettled(ledger: &Ledger, shop: &Shop) -> Vec<String> {
    let mut out = Vec::new();
    for (id, o) in &shop.orders {
        let e = ledger.expected(id);
        if !agrees(e, &o.status) || o.status == "CANCELLING" || e == "IN_FLIGHT" {
            out.push(format!("{id} ({} {}, provider {e})", o.provider, o.status));
        }
    }
    out.extend(
        subscription_problems(ledger, shop)
            .into_iter()
            .map(|(id, why)| format!("{id}: {why}")),
    );
    out
}

/// Invariant 1: every payment paid at the provider belongs to an order
/// fulfilled exactly once, or cancelled by the shop at the provider.
pub fn paid_payments(ledger: &Ledger, shop: &Shop) -> Verdict {
    let mut v = Verdict::new(
        "1. every payment PAID at the provider belongs to an order fulfilled exactly once, \
         or that the shop cancelled at the provider (net cancel or tampering)",
    );
    v.add(
        "V1 billing-key issue payments (0 won, not orders)",
        ledger.v1_issue_payments,
    );
    for (id, payments) in &ledger.by_order {
        let ever_paid: Vec<&Payment> = payments
            .iter()
            .filter(|p| matches!(p.state, State::Paid | State::Cancelled | State::PartCancelled))
            .collect();
        if ever_paid.is_empty() {
            continue;
        }
        v.count("payments paid at the provider");
        if ever_paid.len() > 1 {
            v.violate(id, format!("{} payments paid for one order", ever_paid.len()));
        }
        let Some(order) = shop.orders.get(id) else {
            v.violate(id, "a paid payment that belongs to no order of the shop".into());
            continue;
        };
        let fulfilled = shop.fulfilments.get(id).copied().unwrap_or(0);
        for p in ever_paid {
            match p.state {
                State::Paid if fulfilled == 1 => v.count(&format!("paid and fulfilled once ({})", p.provider)),
                State::Paid => v.violate(id, format!("paid at the provider, fulfilled {fulfilled} times")),
                State::Cancelled => {
                    let by_shop: Vec<Option<&str>> = p.cancel_reasons.iter().map(|r| shop_cancel(r)).collect();
                    match by_shop.as_slice() {
                        [Some(why)] if fulfilled == 0 => v.count(&format!("cancelled by the shop: {why}")),
                        _ => v.violate(
                            id,
                            format!(
                                "cancelled at the provider ({:?}), fulfilled {fulfilled} times, order {}",
                                p.cancel_reasons, order.status
                            ),
                        ),
                    }
                }
                _ => v.violate(id, format!("partly cancelled at the provider: {:?}", p.cancel_reasons)),
            }
        }
    }
    v
}

/// Invariant 2: no fulfilment without a PAID payment, none twice; stock
/// taken equals what was fulfilled, never negative.
pub fn fulfilments(ledger: &Ledger, shop: &Shop, initial_stock: &BTreeMap<String, i64>) -> Verdict {
    let mut v = Verdict::new(
        "2. no order fulfilled without a PAID payment, none twice; stock taken equals what was fulfilled \
         (plus what waiting virtual accounts hold), never negative",
    );
    for (id, n) in &shop.fulfilments {
        v.count("orders fulfilled");
        if *n != 1 {
            v.violate(id, format!("fulfilled {n} times"));
        }
        let amount = shop.orders.get(id).map(|o| o.total_amount);
        let paid = ledger
            .by_order
            .get(id)
            .map(|l| {
                l.iter()
                    .filter(|p| p.state == State::Paid && Some(p.amount) == amount)
                    .count()
            })
            .unwrap_or(0);
        if paid != 1 {
            v.violate(
                id,
                format!("fulfilled, but {paid} payments PAID at the order's amount at the provider"),
            );
        }
    }
    for (product, start) in initial_stock {
        let now = shop.stock.get(product).copied().unwrap_or(0);
        let fulfilled = shop.fulfilled_qty.get(product).copied().unwrap_or(0);
        let held = shop.held_qty.get(product).copied().unwrap_or(0);
        v.add(&format!("{product} taken"), (start - now).max(0) as u64);
        if held > 0 {
            v.add(&format!("{product} held for waiting virtual accounts"), held as u64);
        }
        if now < 0 {
            v.violate(product, format!("stock is negative: {now}"));
        }
        if start - now != fulfilled + held {
            v.violate(
                product,
                format!("stock went from {start} to {now}, but {fulfilled} were fulfilled and {held} are held"),
            );
        }
    }
    v
}

/// Invariant 3: what the backend stores and reports for each order equals
/// the provider's state; nothing non-final is left. The stored state is
/// compared with `ledger` (read just before the shop); each report with the
/// provider's state at some moment while the reports were taken: `ledger`
/// or `after` (read once they were all in), as charges come due meanwhile.
pub fn states(ledger: &Ledger, after: &Ledger, shop: &Shop, reported: &HashMap<String, String>) -> Verdict {
    let mut v =
        Verdict::new("3. what the backend reports for each order equals the provider's state; nothing non-final left");
    for (id, o) in &shop.orders {
        let e = ledger.expected(id);
        v.count(&format!("{} ({})", e, o.provider));
        if e == "IN_FLIGHT" {
            v.violate(id, "still undecided at the provider after settling".into());
        }
        if o.status == "CANCELLING" {
            v.violate(id, "left CANCELLING (a cancel nobody confirmed)".into());
        }
        if !agrees(e, &o.status) {
            v.violate(id, format!("stored {}, the provider says {e}", o.status));
        }
        match reported.get(id) {
            Some(r) if agrees(e, r) || agrees(after.expected(id), r) => {}
            Some(r) => v.violate(id, format!("reported {r}, the provider says {e}")),
            None => v.violate(id, "no status answer from the backend".into()),
        }
    }
    v
}

fn subscription_problems(ledger: &Ledger, shop: &Shop) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for sub in &shop.subscriptions {
        let charges: Vec<_> = shop
            .orders
            .values()
            .filter(|o| o.subscription_id.as_deref() == Some(sub.id.as_str()))
            .collect();
        let pending: Vec<_> = charges
            .iter()
            .filter(|o| o.schedule_state.is_some() && o.status == "PENDING")
            .collect();
        let ever_paid = charges.iter().any(|o| o.status == "PAID");
        let at_provider: Vec<&String> = match sub.provider.as_str() {
            "portone_v2" => ledger
                .v2_schedules
                .iter()
                .filter(|(k, _, st)| k == &sub.billing_key && st == "SCHEDULED")
                .map(|(_, p, _)| p)
                .collect(),
            "portone_v1" => ledger
                .v1_schedules
                .iter()
                .filter(|(k, _, st)| k == &sub.billing_key && st == "scheduled")
                .map(|(_, p, _)| p)
                .collect(),
            // Toss has no server-side schedules: the shop's record is all.
            _ => pending
                .iter()
                .filter(|o| o.schedule_state.as_deref() == Some("SCHEDULED"))
                .map(|o| &o.payment_id)
                .collect(),
        };
        let want = usize::from(sub.status == "ACTIVE" && ever_paid);
        if pending.len() != want {
            out.push((
                sub.id.clone(),
                format!(
                    "{} {} (paid before: {ever_paid}) has {} pending next charges",
                    sub.status,
                    sub.provider,
                    pending.len()
                ),
            ));
        } else if at_provider.len() != want || pending.iter().zip(&at_provider).any(|(o, p)| &o.payment_id != *p) {
            out.push((
                sub.id.clone(),
                format!(
                    "the shop's pending next charge {:?} is not the provider's one schedule {:?}",
                    pending.iter().map(|o| &o.payment_id).collect::<Vec<_>>(),
                    at_provider
                ),
            ));
        }
    }
    out
}

/// Invariant 4: every subscription has exactly one pending next charge (at
/// the provider too), or is inactive; no charge made twice for one key.
pub fn subscriptions(ledger: &Ledger, shop: &Shop, keys: &BTreeMap<String, ChargeKey>) -> Verdict {
    let mut v = Verdict::new(
        "4. every subscription has exactly one pending next charge, or is inactive; \
         no charge made twice for one idempotency key",
    );
    for sub in &shop.subscriptions {
        v.count(&format!("subscriptions {}", sub.status));
    }
    for (id, why) in subscription_problems(ledger, shop) {
        v.violate(&id, why);
    }
    let mut seen_payment: HashMap<&str, &str> = HashMap::new();
    for (key, k) in keys {
        v.count("idempotency keys");
        v.add("charge answers", k.answers.len() as u64);
        let distinct: BTreeSet<&String> = k.answers.iter().collect();
        if distinct.len() > 1 {
            v.violate(key, format!("one key, several charges: {distinct:?}"));
        }
        if let Some(stored) = shop.charge_keys.get(&(k.subscription.clone(), key.clone())) {
            if distinct.iter().any(|p| *p != stored) {
                v.violate(key, format!("answered {distinct:?}, stored {stored}"));
            }
            if let Some(other) = seen_payment.insert(stored, key) {
                v.violate(key, format!("the same charge {stored} as key {other}"));
            }
            let paid = ledger
                .by_order
                .get(stored)
                .map(|l| {
                    l.iter()
                        .filter(|p| p.state != State::Failed && p.state != State::Ready)
                        .count()
                })
                .unwrap_or(0);
            if paid > 1 {
                v.violate(key, format!("{paid} payments at the provider for the charge {stored}"));
            }
        }
    }
    v
}

/// Invariant 5: no panic in any log; no 5xx from the backend other than the
/// documented "provider unreachable" (502; webhooks also 503 while a cancel
/// is unconfirmed).
pub fn logs(panics: &[(String, String)], bad_5xx: &[(String, String)], webhook_5xx: &[(String, String)]) -> Verdict {
    let mut v = Verdict::new(
        "5. no panic in any log; no 5xx from the backend other than the documented \"provider unreachable\"",
    );
    v.add("panics", panics.len() as u64);
    v.add("undocumented 5xx answers", bad_5xx.len() as u64);
    v.add(
        "webhook deliveries last answered with an undocumented 5xx",
        webhook_5xx.len() as u64,
    );
    for (where_, line) in panics.iter().chain(bad_5xx).chain(webhook_5xx) {
        v.violate(where_, line.clone());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shopdb::Order;
    use serde_json::json;

    fn order(id: &str, status: &str) -> Order {
        Order {
            payment_id: id.into(),
            provider: "portone_v2".into(),
            status: status.into(),
            total_amount: 1000,
            subscription_id: None,
            schedule_state: None,
        }
    }

    fn v2(id: &str, status: &str, reasons: &[&str]) -> Value {
        let cancellations: Vec<Value> = reasons.iter().map(|r| json!({"amount": 1000, "reason": r})).collect();
        json!({"paymentId": id, "status": status, "totalAmount": 1000, "cancellations": cancellations})
    }

    fn ledger(payments: Vec<Value>) -> Ledger {
        Ledger::parse(&json!({"portoneV2": {"payments": payments, "schedules": []}}))
    }

    #[test]
    fn a_paid_payment_must_be_fulfilled_once_or_cancelled_by_the_shop() {
        let l = ledger(vec![
            v2("ok", "PAID", &[]),
            v2("net", "CANCELLED", &["net cancel: out of stock"]),
            v2("lost", "PAID", &[]),
            v2("user", "CANCELLED", &["the customer asked"]),
            v2("orphan", "PAID", &[]),
        ]);
        let mut shop = Shop::default();
        for (id, st) in [
            ("ok", "PAID"),
            ("net", "CANCELLED"),
            ("lost", "PENDING"),
            ("user", "CANCELLED"),
        ] {
            shop.orders.insert(id.into(), order(id, st));
        }
        shop.fulfilments.insert("ok".into(), 1);
        let v = paid_payments(&l, &shop);
        let broken: Vec<&str> = v.violations.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(broken, ["lost", "orphan", "user"], "{v:?}");
        assert_eq!(v.counts["cancelled by the shop: net cancel"], 1);
    }

    #[test]
    fn states_stock_and_fulfilments_are_checked_against_the_ledger() {
        let l = ledger(vec![v2("a", "PAID", &[]), v2("b", "FAILED", &[])]);
        let mut shop = Shop::default();
        shop.orders.insert("a".into(), order("a", "CANCELLING"));
        shop.orders.insert("b".into(), order("b", "FAILED"));
        shop.orders.insert("c".into(), order("c", "PENDING"));
        shop.fulfilments.insert("b".into(), 1);
        shop.fulfilled_qty.insert("americano".into(), 2);
        shop.stock.insert("americano".into(), 7);
        let initial = BTreeMap::from([("americano".to_owned(), 10)]);
        let f = fulfilments(&l, &shop, &initial);
        assert_eq!(f.violations.len(), 2, "{f:?}"); // b unpaid, 3 taken for 2
        let reported = HashMap::from([
            ("a".to_owned(), "CANCELLING".to_owned()),
            ("b".to_owned(), "FAILED".to_owned()),
            ("c".to_owned(), "PENDING".to_owned()),
        ]);
        let s = states(&l, &l, &shop, &reported);
        let broken: BTreeSet<&str> = s.violations.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(broken, BTreeSet::from(["a"]), "{s:?}");
        assert_eq!(unsettled(&l, &shop).len(), 1);
    }
}
