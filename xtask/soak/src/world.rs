//! What the soak remembers while it runs: each order's history (the
//! customer's requests and their answers), the fault timeline, the charges'
//! idempotency keys and the backend's 5xx answers. Only the soak's own
//! bookkeeping: the invariants are checked against the sandbox's records.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// A shared counter.
#[derive(Default)]
pub struct Count(AtomicU64);

impl Count {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counters printed in the report.
#[derive(Default)]
pub struct Counters {
    /// Customers that started.
    pub customers_started: Count,
    /// Customers that finished their plan (whatever its outcome).
    pub customers_finished: Count,
    /// Requests sent to the backend.
    pub backend_requests: Count,
    /// Backend requests that got no answer (backend down, connection cut).
    pub backend_unreachable: Count,
    /// `502 portone_unavailable` answers (the documented 5xx).
    pub provider_unreachable: Count,
    /// Orders prepared.
    pub orders: Count,
    /// `complete` reports sent.
    pub completes: Count,
    /// `complete` reports that carried a forged failure hint.
    pub forged_hints: Count,
    /// Checkouts driven through the sandbox's windows (pay drivers).
    pub pays: Count,
    /// Payments made at another amount than the order's (tampering).
    pub tampered: Count,
    /// Virtual-account deposits and pay-pending settlements.
    pub deposits: Count,
    /// Subscriptions registered.
    pub subscriptions: Count,
    /// Charge requests sent (retries included).
    pub charge_requests: Count,
    /// Runs of the sandbox's schedule runners.
    pub schedule_runs: Count,
    /// Scheduled charges the runners made.
    pub scheduled_charges: Count,
    /// Fault settings switched on (a window with at least one fault).
    pub fault_windows: Count,
    /// Backend SIGKILLs followed by a restart on the same database.
    pub crashes: Count,
}

/// One entry of an order's history.
#[derive(Clone, Debug)]
pub struct Event {
    /// Seconds since the soak started.
    pub at: f64,
    /// What happened (request and answer).
    pub what: String,
}

/// A backend answer in the 5xx range that is not the documented one.
#[derive(Clone, Debug)]
pub struct Bad5xx {
    /// Seconds since the start.
    pub at: f64,
    /// `METHOD path`.
    pub request: String,
    /// Status and body.
    pub answer: String,
}

/// One idempotency key a customer charged a subscription with.
#[derive(Clone, Debug, Default)]
pub struct ChargeKey {
    /// The subscription charged.
    pub subscription: String,
    /// `portone_v2`, `portone_v1` or `toss`.
    pub provider: String,
    /// The payment id of every answer that named one (all must be equal).
    pub answers: Vec<String>,
}

/// The soak's shared bookkeeping.
pub struct World {
    /// When the soak started.
    pub start: Instant,
    /// The seed everything derives from.
    pub seed: u64,
    /// Counters for the report.
    pub counts: Counters,
    history: Mutex<HashMap<String, Vec<Event>>>,
    timeline: Mutex<Vec<Event>>,
    bad_5xx: Mutex<Vec<Bad5xx>>,
    keys: Mutex<BTreeMap<String, ChargeKey>>,
    faults_now: Mutex<String>,
}

impl World {
    /// A fresh world for `seed`.
    pub fn new(seed: u64) -> World {
        World {
            start: Instant::now(),
            seed,
            counts: Counters::default(),
            history: Mutex::new(HashMap::new()),
            timeline: Mutex::new(Vec::new()),
            bad_5xx: Mutex::new(Vec::new()),
            keys: Mutex::new(BTreeMap::new()),
            faults_now: Mutex::new("none".into()),
        }
    }

    /// Seconds since the start.
    pub fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// Adds `what` to the history of order `id`, with the faults in force.
    pub fn note(&self, id: &str, what: String) {
        let faults = lock(&self.faults_now).clone();
        let at = self.now();
        lock(&self.history).entry(id.to_owned()).or_default().push(Event {
            at,
            what: format!("{what}  [faults: {faults}]"),
        });
    }

    /// The history of order `id`.
    pub fn history(&self, id: &str) -> Vec<Event> {
        lock(&self.history).get(id).cloned().unwrap_or_default()
    }

    /// Records a fault switch or a crash on the timeline; `faults` (when
    /// given) becomes the setting in force.
    pub fn timeline(&self, what: String, faults: Option<String>) {
        if let Some(f) = faults {
            *lock(&self.faults_now) = f;
        }
        let at = self.now();
        lock(&self.timeline).push(Event { at, what });
    }

    /// The fault and crash timeline.
    pub fn timeline_events(&self) -> Vec<Event> {
        lock(&self.timeline).clone()
    }

    /// Records a 5xx the contract does not document.
    pub fn bad_5xx(&self, request: String, answer: String) {
        let at = self.now();
        lock(&self.bad_5xx).push(Bad5xx { at, request, answer });
    }

    /// Every undocumented 5xx seen.
    pub fn bad_5xx_list(&self) -> Vec<Bad5xx> {
        lock(&self.bad_5xx).clone()
    }

    /// Records the answer to a charge with idempotency key `key`.
    pub fn charge_answer(&self, key: &str, subscription: &str, provider: &str, payment_id: Option<&str>) {
        let mut keys = lock(&self.keys);
        let k = keys.entry(key.to_owned()).or_default();
        k.subscription = subscription.to_owned();
        k.provider = provider.to_owned();
        if let Some(p) = payment_id {
            k.answers.push(p.to_owned());
        }
    }

    /// Every idempotency key used.
    pub fn charge_keys(&self) -> BTreeMap<String, ChargeKey> {
        lock(&self.keys).clone()
    }
}

/// Locks, ignoring poisoning (plain data).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
