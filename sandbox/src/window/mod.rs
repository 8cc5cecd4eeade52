//! The PG payment window every provider shares: the session model
//! ([`Session`], opened by a provider's SDK route or test driver), the
//! outcomes a window can end with ([`Outcome`]), how it is shown ([`Mode`]:
//! iframe overlay, popup or full-page redirect), its expiry timer, the page
//! itself (`page.rs`, buttons `sandbox-approve` / `sandbox-decline` /
//! `sandbox-cancel`, script `assets/window.js`) and the completion route
//! `POST /__sandbox/sdk/sessions/{id}/complete` that the page's buttons, a
//! pre-selected outcome and the SDK scripts (closing the overlay or popup) call.
//!
//! What a finished window *does* belongs to the provider that opened it: a
//! session carries a [`Task`], one variant per provider, and [`complete`]
//! dispatches to that provider to change the store, build the result the SDK
//! resolves with, the webhooks to send and, for redirects, the URL to return to.
//! The page posts `{tag: "portone-sandbox-result", sessionId, result}` to its
//! opener or parent, so any provider's SDK script can listen for it.

mod page;

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::cors::CorsLayer;

use crate::api::JsonBody;
use crate::config::SandboxConfig;
use crate::store::{AppState, Store};
use crate::{portone_v1, portone_v2, toss};

/// The window routes: the page (no CORS) and the completion route (CORS: the
/// SDK script on the merchant's origin calls it when the overlay or popup closes).
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/__sandbox/sdk/sessions/{session_id}/complete", post(complete_route))
        .layer(CorsLayer::permissive())
        .route("/__sandbox/window/{session_id}", get(page::window_page))
}

/// How the PG window is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Iframe,
    Popup,
    Redirect,
}

impl Mode {
    /// `IFRAME`, `POPUP` or `REDIRECTION` (the page's `data-mode`, the SDK's `mode`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Iframe => "IFRAME",
            Mode::Popup => "POPUP",
            Mode::Redirect => "REDIRECTION",
        }
    }
}

/// Whether a user agent is a mobile browser (the window then redirects unless told otherwise).
pub(crate) fn is_mobile(ua: &str) -> bool {
    ["Mobi", "Android", "iPhone", "iPad"].iter().any(|m| ua.contains(m))
}

/// How a window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The approve button (a virtual-account payment is then issued, not paid).
    Approve,
    /// The decline button (the PG declines: insufficient balance).
    Decline,
    /// The cancel button, closing the overlay or popup.
    Cancel,
    /// Issue a virtual account.
    VirtualAccount,
    /// Approved, but the PG confirms later (`PAY_PENDING`).
    PayPending,
    /// The window stayed open past its expiry (the page's timer or the server's);
    /// cannot be pre-selected or driven.
    Expire,
}

impl Outcome {
    /// The wire name (`approve`, `virtualAccount`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Approve => "approve",
            Outcome::Decline => "decline",
            Outcome::Cancel => "cancel",
            Outcome::VirtualAccount => "virtualAccount",
            Outcome::PayPending => "payPending",
            Outcome::Expire => "expire",
        }
    }

    /// Any outcome by wire name, `expire` included (the completion route).
    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "expire" => Some(Outcome::Expire),
            other => Outcome::parse_choice(other),
        }
    }

    /// An outcome a test may pre-select or drive: all but `expire`.
    pub fn parse_choice(s: &str) -> Option<Outcome> {
        match s {
            "approve" => Some(Outcome::Approve),
            "decline" => Some(Outcome::Decline),
            "cancel" => Some(Outcome::Cancel),
            "virtualAccount" => Some(Outcome::VirtualAccount),
            "payPending" => Some(Outcome::PayPending),
            _ => None,
        }
    }
}

/// What the window page shows.
#[derive(Debug, Clone)]
pub(crate) struct View {
    /// Who the window pretends to be, e.g. `PortOne sandbox` (title and badge).
    pub brand: &'static str,
    /// The heading: `결제`, `빌링키 발급`, ...
    pub kind: &'static str,
    /// The order name (`data-testid="sandbox-order-name"`).
    pub title: String,
    /// Amount and currency, if any (`data-testid="sandbox-amount"`, e.g. `15,000원`).
    pub amount: Option<(i64, String)>,
    /// The channel's display name (badge).
    pub channel_name: String,
}

/// The provider that opened a window and what it needs to finish it.
#[derive(Debug, Clone)]
pub(crate) enum Task {
    /// PortOne V2 `requestPayment` / `requestIssueBillingKey` (or their drivers).
    PortOneV2(portone_v2::checkout::Task),
    /// PortOne V1 `IMP.request_pay` (payment or billing key), or its driver.
    PortOneV1(portone_v1::checkout::Task),
    /// Toss Payments `requestPayment` / `requestBillingAuth` (or their drivers).
    Toss(toss::checkout::Task),
}

impl Task {
    /// Applies `outcome` to the store (under the store lock) and returns the
    /// result the SDK resolves with plus the side effects to run after the lock.
    fn finish(
        &self,
        config: &SandboxConfig,
        s: &mut Store,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> (Value, Vec<Emit>) {
        match self {
            Task::PortOneV2(t) => portone_v2::checkout::finish(config, s, t, outcome, now),
            Task::PortOneV1(t) => portone_v1::checkout::finish(s, t, outcome, now),
            Task::Toss(t) => toss::checkout::finish(config, s, t, outcome, now),
        }
    }

    /// Where a redirect-mode window sends the browser back to, given the result.
    fn redirect_target(&self, redirect_url: &str, result: &Value) -> String {
        match self {
            Task::PortOneV2(_) => portone_v2::checkout::redirect_target(redirect_url, result),
            Task::PortOneV1(_) => portone_v1::checkout::redirect_target(redirect_url, result),
            Task::Toss(_) => toss::checkout::redirect_target(redirect_url, result),
        }
    }
}

/// A side effect (usually a webhook) run after the store lock is released.
pub(crate) type Emit = Box<dyn FnOnce(&AppState)>;

/// One opened PG window.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub id: String,
    pub task: Task,
    pub mode: Mode,
    /// Where a redirect-mode window returns to (the provider adds the result).
    pub redirect_url: Option<String>,
    /// An outcome chosen in advance: the page completes itself with it.
    pub preset: Option<Outcome>,
    /// After this the window can only end with [`Outcome::Expire`].
    pub expires_at: Option<DateTime<Utc>>,
    pub view: View,
    /// Set once finished; later completions return it unchanged.
    pub result: Option<Value>,
    pub redirect_to: Option<String>,
}

/// `{sessionId, windowUrl, mode}`: what an SDK script needs to show the window.
pub(crate) fn session_json(session: &Session) -> Value {
    json!({
        "sessionId": session.id,
        "windowUrl": format!("/__sandbox/window/{}", session.id),
        "mode": session.mode.as_str(),
    })
}

/// Stores a session and arms its expiry. A provider that changes more of the
/// store in the same lock inserts into `Store::sessions` itself and calls [`arm_expiry`].
pub(crate) fn open(st: &AppState, session: Session) -> Session {
    st.with_store(|s| s.sessions.insert(session.id.clone(), session.clone()));
    arm_expiry(st, &session);
    session
}

/// A window still open at `expires_at` ends with [`Outcome::Expire`].
pub(crate) fn arm_expiry(st: &AppState, session: &Session) {
    if let Some(at) = session.expires_at {
        let st2 = st.clone();
        let id = session.id.clone();
        st.spawn(async move {
            let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            tokio::time::sleep(wait).await;
            let _ = complete(&st2, &id, Outcome::Expire);
        });
    }
}

/// Finishes a session with an outcome; returns the result and, for a redirect
/// window, the URL to go back to. Idempotent: a finished session returns its
/// result. `None`: no such session.
pub(crate) fn complete(st: &AppState, session_id: &str, outcome: Outcome) -> Option<(Value, Option<String>)> {
    let now = Utc::now();
    // One lock for the state change and the session result, so two racing
    // completions (e.g. a popup's choice and its closing) cannot disagree.
    let (result, redirect_to, events) = st.with_store(|s| {
        let session = s.sessions.get(session_id)?.clone();
        if let Some(r) = &session.result {
            return Some((r.clone(), session.redirect_to.clone(), Vec::new()));
        }
        let outcome = if session.expires_at.is_some_and(|at| at <= now) {
            Outcome::Expire
        } else {
            outcome
        };
        let (result, events) = session.task.finish(&st.config, s, outcome, now);
        let redirect_to = match (session.mode, &session.redirect_url) {
            (Mode::Redirect, Some(u)) => Some(session.task.redirect_target(u, &result)),
            _ => None,
        };
        if let Some(x) = s.sessions.get_mut(session_id) {
            x.result = Some(result.clone());
            x.redirect_to = redirect_to.clone();
        }
        Some((result, redirect_to, events))
    })?;
    for e in events {
        e(st);
    }
    Some((result, redirect_to))
}

#[derive(Deserialize)]
struct CompleteBody {
    outcome: String,
}

/// `POST /__sandbox/sdk/sessions/{id}/complete`: the window's buttons.
async fn complete_route(
    State(st): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CompleteBody>,
) -> Response {
    let Some(outcome) = Outcome::parse(&body.outcome) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"code": "InvalidArgument", "message": "unknown outcome"})),
        )
            .into_response();
    };
    match complete(&st, &id, outcome) {
        Some((result, redirect_to)) => Json(json!({ "result": result, "redirectTo": redirect_to })).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"code": "NotFound", "message": "unknown session"})),
        )
            .into_response(),
    }
}
