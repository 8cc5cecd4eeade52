//! Webhook delivery, shared by every provider: fan-out of an event to the
//! configured URLs (or the `webhook-targets` override) plus the caller's
//! `noticeUrls`, retries with exponential backoff, the webhook faults (`delay`,
//! `duplicate`, `reorder`, `drop`), the delivery log behind
//! `GET /__sandbox/webhooks`, and the loopback check on caller-supplied URLs
//! ([`check_target`]).
//!
//! A provider builds the body and decides how each attempt is authenticated:
//! [`emit`] takes the finished body and an optional [`Signer`] that adds
//! headers per attempt. PortOne V2's bodies and Standard Webhooks signature are
//! in `portone_v2/webhook.rs`; a provider whose notifications are unsigned
//! passes `None` and gets only `Content-Type: application/json`.

use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;

use crate::store::{lock, new_id, AppState};

/// Number of retries after the first attempt.
pub(crate) const MAX_RETRIES: u32 = 5;

/// One event to deliver to one URL, as the admin API lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Delivery {
    pub webhook_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    pub attempts: u32,
    /// `pending`, `delivered`, `failed` or `dropped`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub body: String,
}

/// Headers that authenticate one delivery attempt, computed per attempt from
/// `(state, webhook id, unix timestamp of the attempt, body)`.
pub(crate) type Signer = fn(&AppState, &str, i64, &str) -> Vec<(&'static str, String)>;

/// An emitted event, before it is fanned out to URLs.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// Stays the same across retries and duplicates.
    pub webhook_id: String,
    /// The event type, for the delivery log (`Transaction.Paid`, ...).
    pub kind: String,
    pub body: String,
    pub urls: Vec<String>,
    pub signer: Option<Signer>,
}

/// Webhook bookkeeping.
pub(crate) struct Webhooks {
    client: reqwest::Client,
    pub deliveries: Mutex<Vec<Delivery>>,
    /// Event held back by the `reorder` fault.
    held: Mutex<Option<Event>>,
    pub extra_urls: Mutex<Option<Vec<String>>>,
}

/// Checks one caller-supplied webhook URL (a `noticeUrls` entry or a
/// `webhook-targets` URL): it must be an absolute http(s) URL and, unless
/// `allow_external`, its host must be loopback (`127.0.0.0/8`, `::1` or
/// `localhost`). The URL is parsed (so `http://127.0.0.1@evil.example/` is
/// `evil.example`, and `http://127.1/` is `127.0.0.1`). On refusal returns a
/// message naming `field`.
pub(crate) fn check_target(field: &str, raw: &str, allow_external: bool) -> Result<(), String> {
    let url = match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        _ => return Err(format!("{field} must be an absolute http(s) URL")),
    };
    if allow_external {
        return Ok(());
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "{field} must be a loopback URL (127.0.0.0/8, ::1 or localhost); \
             start the sandbox with --allow-external-webhooks to allow others"
        ))
    }
}

impl Webhooks {
    /// Delivery with a per-attempt `timeout`.
    pub fn new(timeout: Duration) -> anyhow::Result<Self> {
        Ok(Webhooks {
            client: reqwest::Client::builder().timeout(timeout).no_proxy().build()?,
            deliveries: Mutex::new(Vec::new()),
            held: Mutex::new(None),
            extra_urls: Mutex::new(None),
        })
    }

    /// Forgets the delivery log, a held event and the `webhook-targets` override.
    pub fn reset(&self) {
        lock(&self.deliveries).clear();
        *lock(&self.held) = None;
        *lock(&self.extra_urls) = None;
    }
}

/// Who hears an event besides the configured URLs (or the
/// `webhook-targets` override).
pub(crate) enum Notice<'a> {
    /// These URLs as well (PortOne V2's `noticeUrls`).
    Also(&'a [String]),
    /// These URLs instead, when any (PortOne V1's `notice_url` overrides
    /// the console's webhook URL).
    Instead(&'a [String]),
}

/// Sends the event `kind` with `body` to the configured URLs (or the
/// `webhook-targets` override) and `notice_urls`, applying the webhook faults;
/// delivery and retries run in the background. `signer` adds each attempt's
/// authentication headers (`None`: unsigned).
pub(crate) fn emit(st: &AppState, kind: &str, body: String, notice_urls: &[String], signer: Option<Signer>) {
    emit_to(st, kind, body, Notice::Also(notice_urls), signer);
}

/// [`emit`] with the per-request URLs' rule spelled out.
pub(crate) fn emit_to(st: &AppState, kind: &str, body: String, notice: Notice<'_>, signer: Option<Signer>) {
    let configured = || {
        lock(&st.webhooks.extra_urls)
            .clone()
            .unwrap_or_else(|| st.config.webhook_urls.clone())
    };
    let urls: Vec<String> = match notice {
        Notice::Instead(notice_urls) if !notice_urls.is_empty() => notice_urls.to_vec(),
        Notice::Instead(_) => configured(),
        Notice::Also(notice_urls) => {
            let mut urls = configured();
            for u in notice_urls {
                if !urls.contains(u) {
                    urls.push(u.clone());
                }
            }
            urls
        }
    };
    let event = Event {
        webhook_id: new_id("msg"),
        kind: kind.to_owned(),
        body,
        urls,
        signer,
    };
    let faults = lock(&st.faults).faults.webhook.clone();
    tracing::info!(webhook_id = %event.webhook_id, kind, targets = event.urls.len(), "webhook event");
    if faults.drop {
        let mut d = lock(&st.webhooks.deliveries);
        for url in &event.urls {
            d.push(Delivery {
                webhook_id: event.webhook_id.clone(),
                kind: event.kind.clone(),
                url: url.clone(),
                attempts: 0,
                status: "dropped".into(),
                last_status_code: None,
                last_error: None,
                body: event.body.clone(),
            });
        }
        tracing::info!(webhook_id = %event.webhook_id, "webhook dropped (fault)");
        return;
    }
    let copies = if faults.duplicate { 2 } else { 1 };
    let delay = Duration::from_millis(faults.delay_ms);
    if faults.reorder {
        let prev = lock(&st.webhooks.held).replace(event.clone());
        match prev {
            Some(prev) => {
                // Release both: the newer event first, the older one after it.
                *lock(&st.webhooks.held) = None;
                let st2 = st.clone();
                st.spawn(async move {
                    tokio::time::sleep(delay).await;
                    send_event(&st2, &event, copies).await;
                    send_event(&st2, &prev, copies).await;
                });
            }
            None => {
                let st2 = st.clone();
                let id = event.webhook_id.clone();
                st.spawn(async move {
                    tokio::time::sleep(Duration::from_secs(1).max(delay)).await;
                    let still_held = {
                        let mut h = lock(&st2.webhooks.held);
                        match h.as_ref() {
                            Some(e) if e.webhook_id == id => h.take(),
                            _ => None,
                        }
                    };
                    if let Some(e) = still_held {
                        send_event(&st2, &e, copies).await;
                    }
                });
            }
        }
        return;
    }
    let st2 = st.clone();
    st.spawn(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        send_event(&st2, &event, copies).await;
    });
}

/// Sends `copies` deliveries of the event to each URL, in parallel per URL,
/// returning after every first attempt is done (retries continue in the background).
async fn send_event(st: &AppState, event: &Event, copies: u32) {
    let mut firsts = Vec::new();
    for url in &event.urls {
        for _ in 0..copies {
            let idx = {
                let mut d = lock(&st.webhooks.deliveries);
                d.push(Delivery {
                    webhook_id: event.webhook_id.clone(),
                    kind: event.kind.clone(),
                    url: url.clone(),
                    attempts: 0,
                    status: "pending".into(),
                    last_status_code: None,
                    last_error: None,
                    body: event.body.clone(),
                });
                d.len() - 1
            };
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            firsts.push(rx);
            let st2 = st.clone();
            let url = url.clone();
            let event = event.clone();
            st.spawn(async move {
                deliver(&st2, &event, &url, idx, Some(tx)).await;
            });
        }
    }
    for rx in firsts {
        let _ = rx.await;
    }
}

async fn deliver(
    st: &AppState,
    event: &Event,
    url: &str,
    idx: usize,
    mut first_done: Option<tokio::sync::oneshot::Sender<()>>,
) {
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let now = Utc::now().timestamp();
        let mut req = st.webhooks.client.post(url).header("content-type", "application/json");
        if let Some(signer) = event.signer {
            for (name, value) in signer(st, &event.webhook_id, now, &event.body) {
                req = req.header(name, value);
            }
        }
        let res = req.body(event.body.clone()).send().await;
        let (ok, code, err) = match res {
            Ok(r) => (r.status().is_success(), Some(r.status().as_u16()), None),
            Err(e) => (false, None, Some(e.to_string())),
        };
        tracing::info!(webhook_id = %event.webhook_id, kind = %event.kind, url, attempt,
                       status = ?code, error = ?err, delivered = ok, "webhook delivery");
        let give_up = !ok && attempt > MAX_RETRIES;
        {
            let mut d = lock(&st.webhooks.deliveries);
            if let Some(rec) = d.get_mut(idx) {
                if rec.webhook_id == event.webhook_id {
                    rec.attempts = attempt;
                    rec.last_status_code = code;
                    rec.last_error = err;
                    if ok {
                        rec.status = "delivered".into();
                    } else if give_up {
                        rec.status = "failed".into();
                    }
                }
            }
        }
        if let Some(tx) = first_done.take() {
            let _ = tx.send(());
        }
        if ok || give_up {
            return;
        }
        let delay = st
            .config
            .webhook_retry_base
            .saturating_mul(2u32.saturating_pow(attempt - 1));
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::check_target;

    #[test]
    fn caller_webhook_urls_must_be_loopback_http_unless_external_ones_are_allowed() {
        for ok in [
            "http://127.0.0.1:3000/hook",
            "http://127.255.0.9/hook",
            "http://127.1/hook",
            "https://localhost/hook",
            "http://LOCALHOST:8080/",
            "http://[::1]:9/hook",
        ] {
            assert_eq!(check_target("noticeUrls[0]", ok, false), Ok(()), "{ok}");
        }
        for external in [
            "http://example.com/hook",
            "http://127.0.0.1@example.com/hook",
            "http://127.0.0.1.nip.io/hook",
            "http://localhost.example.com/hook",
            "http://10.0.0.1/hook",
            "http://0.0.0.0:3000/hook",
            "http://[::ffff:7f00:1]/hook",
            "http://128.0.0.1/hook",
        ] {
            let e = check_target("noticeUrls[2]", external, false).expect_err(external);
            assert!(
                e.starts_with("noticeUrls[2] must be a loopback URL") && e.contains("--allow-external-webhooks"),
                "{external}: {e}"
            );
            assert_eq!(check_target("noticeUrls[2]", external, true), Ok(()), "{external}");
        }
        for bad in [
            "ftp://127.0.0.1/x",
            "file:///etc/passwd",
            "/relative/hook",
            "127.0.0.1:3000/hook",
            "",
        ] {
            for allow in [false, true] {
                let e = check_target("urls[0]", bad, allow).expect_err(bad);
                assert_eq!(e, "urls[0] must be an absolute http(s) URL", "{bad}");
            }
        }
    }
}
