//! Fault injection for REST APIs, shared by every provider.
//!
//! Owns the runtime fault state ([`FaultState`]: the [`Faults`] settings with
//! their counters, and the consecutive-request clock) and [`guard`], the
//! middleware any provider's REST router layers to get `latencyMs`,
//! `errorRate`, `failNext`, `loseResponses` (all scoped by `only`) and
//! `consecutiveRequestGuard`. A refused request never reaches the handler; how
//! the refusal looks is the provider's business ([`RenderRefusal`]). Layer the
//! provider's own authentication *outside* the guard, so unauthenticated
//! requests use up no counters.
//!
//! The guard also counts requests by method and path (`GET
//! /__sandbox/requests`), so a test can tell how often a payment was read
//! or cancelled.
//!
//! Also the PG-side fault `pgFailNext` ([`take_pg_failure`]). Webhook faults
//! live with the delivery in `webhook.rs`; the settings themselves are
//! `config::Faults`, replaced through `PUT /__sandbox/faults` (`admin.rs`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use rand::Rng as _;

use crate::config::Faults;
use crate::store::{lock, AppState};

/// Runtime fault state (counters and the consecutive-request clock).
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    pub faults: Faults,
    pub last_seen: HashMap<String, Instant>,
    /// Requests that reached the guard, by `"{METHOD} {path}"` (refused
    /// ones included): what `GET /__sandbox/requests` answers.
    pub requests: HashMap<String, u64>,
}

/// Why [`guard`] answered a request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `failNext` or `errorRate`: a simulated server error.
    ServerError,
    /// `consecutiveRequestGuard`: the same method and path again within 1 s.
    ConsecutiveRequest,
}

/// Renders a [`Refusal`] in a provider's error shape and status.
pub(crate) type RenderRefusal = fn(Refusal) -> Response;

/// The state [`guard`] runs with: the app state and the provider's renderer.
#[derive(Clone)]
pub(crate) struct Guard {
    st: AppState,
    render: RenderRefusal,
}

impl Guard {
    /// A guard whose refusals `render` answers.
    pub fn new(st: AppState, render: RenderRefusal) -> Self {
        Guard { st, render }
    }
}

/// Middleware: applies the REST faults to one request, keyed
/// `"{METHOD} {path}"` (what `only` matches and the consecutive-request guard
/// compares). Use with `axum::middleware::from_fn_with_state(Guard::new(..), guard)`.
pub(crate) async fn guard(State(g): State<Guard>, req: Request, next: Next) -> Response {
    let key = format!("{} {}", req.method(), req.uri().path());
    let (latency, fail, guard_hit, lose) = {
        let mut f = lock(&g.st.faults);
        *f.requests.entry(key.clone()).or_default() += 1;
        // `only` scopes latency, 5xx and lost responses; out-of-scope requests use up no counts.
        let scoped = f.faults.applies_to(&key);
        let latency = if scoped { f.faults.latency_ms } else { 0 };
        let mut fail = false;
        if scoped && f.faults.fail_next > 0 {
            f.faults.fail_next -= 1;
            fail = true;
        } else if scoped && f.faults.error_rate > 0.0 && rand::thread_rng().gen::<f64>() < f.faults.error_rate {
            fail = true;
        }
        let mut guard_hit = false;
        if !fail && f.faults.consecutive_request_guard {
            let now = Instant::now();
            f.last_seen
                .retain(|_, t| now.duration_since(*t) < Duration::from_secs(1));
            if f.last_seen.contains_key(&key) {
                guard_hit = true;
            } else {
                f.last_seen.insert(key.clone(), now);
            }
        }
        let mut lose = false;
        if scoped && !fail && !guard_hit && f.faults.lose_responses > 0 {
            f.faults.lose_responses -= 1;
            lose = true;
        }
        (latency, fail, guard_hit, lose)
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    if fail {
        tracing::info!(%key, "fault: answering 500");
        return (g.render)(Refusal::ServerError);
    }
    if guard_hit {
        tracing::info!(%key, "fault: consecutive request refused");
        return (g.render)(Refusal::ConsecutiveRequest);
    }
    let res = next.run(req).await;
    if lose {
        tracing::info!(%key, status = %res.status(), "fault: dropping the connection after applying the request");
        return lose_body(res);
    }
    res
}

/// Keeps the handler's effect but loses the answer: the body stream fails at
/// once, so the connection is closed without a response reaching the client.
fn lose_body(res: Response) -> Response {
    let (mut parts, _) = res.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("sandbox fault: lost response"))
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// `pgFailNext`: whether the PG declines this charge (uses up one count).
pub(crate) fn take_pg_failure(st: &AppState) -> bool {
    let mut f = lock(&st.faults);
    if f.faults.pg_fail_next > 0 {
        f.faults.pg_fail_next -= 1;
        true
    } else {
        false
    }
}
