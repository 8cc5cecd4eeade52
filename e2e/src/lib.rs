//! # e2e: the demo shop in Chromium, Firefox and WebKit
//!
//! The harness the end-to-end scenarios in `tests/` run on:
//!
//! - [`Engine`]: the browser engine, chosen once per test process by
//!   `E2E_ENGINE=chromium|firefox|webkit` (default `chromium`). Every
//!   scenario runs in it, so a new scenario runs in every engine with no
//!   work of its own: `cargo xtask test` runs `cargo test -p e2e` once per
//!   engine.
//! - [`Services`]: a `portone-sandbox` and a `checkout-server` in this process,
//!   on free loopback ports, the server serving the trunk-built demo from
//!   `DEMO_DIST` (default `<workspace>/dist`) and the sandbox delivering its
//!   webhooks to the server. The backend can be stopped and started again on
//!   the same address with the same SQLite file ([`Services::stop_backend`],
//!   [`Services::start_backend`]). The browser reaches both through
//!   [`inject::InjectingProxy`]s, which put the [`inject::InitScripts`] first
//!   into every HTML document: that is how the instrumentation and the
//!   scenarios' test-only `fetch` wrappers run before the app in every
//!   engine (no DevTools Protocol).
//! - [`Browser`]: the engine's WebDriver server on a free port (killed on
//!   drop) and a session with the PC or the mobile (iPhone) profile, with an
//!   instrumentation script in every page (console log, checkout state
//!   history).
//! - [`run`]: one scenario = fresh services + fresh browser, serialised by a
//!   global lock (one browser at a time), with evidence (screenshot, console
//!   log) saved to `e2e/artifacts/<scenario>-<profile>-<engine>/` when the
//!   scenario fails.
//! - [`wait_for`]: the only way the scenarios wait: poll a condition every
//!   50 ms until a deadline. There are no fixed sleeps.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod browser;
pub mod inject;
mod page;
mod services;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::FutureExt as _;

pub use browser::{Browser, Engine, Profile, IPHONE_UA};
pub use page::{Page, PgAction, PgWindow};
pub use services::{Services, BACKEND_RESTART_DEADLINE};

/// How long a scenario waits for anything the user would wait for.
pub const DEADLINE: Duration = Duration::from_secs(20);
/// The polling interval of [`wait_for`].
pub const POLL: Duration = Duration::from_millis(50);

/// Polls `check` every [`POLL`] until it yields `Some`, or fails after
/// `deadline` naming `what` and the last error `check` returned (errors are
/// treated as "not yet": a page in the middle of a navigation cannot answer).
pub async fn wait_for<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let start = Instant::now();
    let mut last_error = None;
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_error = Some(format!("{e:#}")),
        }
        if start.elapsed() >= deadline {
            let detail = last_error.map(|e| format!(" (last error: {e})")).unwrap_or_default();
            anyhow::bail!("timed out after {:?} waiting for {what}{detail}", deadline);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// Where the evidence of a failed scenario goes: `e2e/artifacts/<scenario>/`
/// (`scenario` is `<name>-<profile>-<engine>`).
pub fn artifacts_dir(scenario: &str) -> PathBuf {
    let safe: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("artifacts").join(safe)
}

/// Everything one scenario works with: the services, the browser and helpers
/// for the demo's DOM contract.
pub struct Env {
    /// The sandbox and the backend.
    pub services: Services,
    /// The browser session.
    pub browser: Browser,
    /// The scenario's name (used for the evidence folder).
    pub name: String,
}

impl Env {
    /// The page helpers bound to this environment.
    pub fn page(&self) -> Page<'_> {
        Page::new(&self.browser, &self.services)
    }

    /// The profile the browser runs with.
    pub fn profile(&self) -> Profile {
        self.browser.profile()
    }

    /// The engine the browser is.
    pub fn engine(&self) -> Engine {
        self.browser.engine()
    }
}

static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs one scenario: takes the global lock (one browser at a time), starts
/// fresh services and a fresh browser of the engine `E2E_ENGINE` names with
/// `profile`, runs `body`, and on failure (an `Err` or a panic) saves a
/// screenshot and the console log to
/// [`artifacts_dir`]`(name-profile-engine)`, prints their paths and fails the
/// test.
///
/// A missing browser, WebDriver server or demo build, or an unknown
/// `E2E_ENGINE`, fails the test with a message saying what to install or
/// build: nothing is ever skipped.
pub async fn run<F>(name: &str, profile: Profile, body: F)
where
    F: AsyncFnOnce(&mut Env) -> anyhow::Result<()>,
{
    let _serial = LOCK.lock().await;
    let engine = match Engine::from_env() {
        Ok(e) => e,
        Err(e) => panic!("{name}-{}: {e:#}", profile.as_str()),
    };
    let full_name = format!("{name}-{}-{}", profile.as_str(), engine.as_str());
    let started = Instant::now();
    let scripts = inject::InitScripts::default();
    scripts.add(browser::INSTRUMENTATION);
    let services = match Services::start(&scripts).await {
        Ok(s) => s,
        Err(e) => panic!("{full_name}: cannot start the services: {e:#}"),
    };
    let browser = match Browser::start(engine, profile, scripts).await {
        Ok(b) => b,
        Err(e) => {
            services.shutdown().await;
            panic!("{full_name}: cannot start the browser: {e:#}");
        }
    };
    let mut env = Env {
        services,
        browser,
        name: full_name.clone(),
    };
    let outcome = AssertUnwindSafe(body(&mut env)).catch_unwind().await;
    let failure = match &outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("{e:#}")),
        Err(panic) => Some(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "panic".to_owned()),
        ),
    };
    let evidence = match &failure {
        Some(_) => Some(env.browser.save_evidence(&artifacts_dir(&full_name)).await),
        None => None,
    };
    let Env { services, browser, .. } = env;
    browser.close().await;
    services.shutdown().await;
    match (failure, evidence) {
        (Some(reason), Some(evidence)) => {
            let evidence = match evidence {
                Ok(paths) => paths
                    .iter()
                    .map(|p| format!("  {}", p.display()))
                    .collect::<Vec<_>>()
                    .join("\n"),
                Err(e) => format!("  (could not save evidence: {e:#})"),
            };
            eprintln!(
                "{full_name} FAILED after {:?}: {reason}\nevidence:\n{evidence}",
                started.elapsed()
            );
            match outcome {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(_) => panic!("{full_name}: {reason}\nevidence:\n{evidence}"),
            }
        }
        _ => eprintln!("{full_name} passed in {:?}", started.elapsed()),
    }
}
