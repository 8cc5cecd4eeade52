//! Webhook events (version 2024-04-25), Standard Webhooks signing, delivery with retries.

use std::sync::Mutex;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::store::{lock, new_id, ts, AppState};

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

/// An emitted event, before it is fanned out to URLs.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub webhook_id: String,
    pub kind: String,
    pub body: String,
    pub urls: Vec<String>,
}

/// Webhook bookkeeping.
pub(crate) struct Webhooks {
    key: Vec<u8>,
    client: reqwest::Client,
    pub deliveries: Mutex<Vec<Delivery>>,
    /// Event held back by the `reorder` fault.
    held: Mutex<Option<Event>>,
    pub extra_urls: Mutex<Option<Vec<String>>>,
}

/// Decodes a `whsec_` secret to its key bytes.
pub(crate) fn decode_secret(secret: &str) -> anyhow::Result<Vec<u8>> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    B64.decode(b64)
        .map_err(|e| anyhow::anyhow!("webhook secret is not whsec_<base64>: {e}"))
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

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
pub(crate) fn sign(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

impl Webhooks {
    pub fn new(secret: &str, timeout: Duration) -> anyhow::Result<Self> {
        Ok(Webhooks {
            key: decode_secret(secret)?,
            client: reqwest::Client::builder().timeout(timeout).no_proxy().build()?,
            deliveries: Mutex::new(Vec::new()),
            held: Mutex::new(None),
            extra_urls: Mutex::new(None),
        })
    }

    pub fn reset(&self) {
        lock(&self.deliveries).clear();
        *lock(&self.held) = None;
        *lock(&self.extra_urls) = None;
    }
}

/// Emits a transaction event for a payment.
pub(crate) fn emit_transaction(
    st: &AppState,
    kind: &str,
    payment_id: &str,
    transaction_id: &str,
    cancellation_id: Option<&str>,
    notice_urls: &[String],
) {
    let mut data = json!({
        "storeId": st.config.store_id,
        "paymentId": payment_id,
        "transactionId": transaction_id,
    });
    if let Some(c) = cancellation_id {
        data["cancellationId"] = c.into();
    }
    emit(st, kind, data, notice_urls);
}

/// Emits a billing-key event.
pub(crate) fn emit_billing_key(st: &AppState, kind: &str, billing_key: &str, notice_urls: &[String]) {
    let data = json!({ "storeId": st.config.store_id, "billingKey": billing_key });
    emit(st, kind, data, notice_urls);
}

fn emit(st: &AppState, kind: &str, data: Value, notice_urls: &[String]) {
    let body = json!({ "type": kind, "timestamp": ts(Utc::now()), "data": data }).to_string();
    let mut urls: Vec<String> = lock(&st.webhooks.extra_urls)
        .clone()
        .unwrap_or_else(|| st.config.webhook_urls.clone());
    for u in notice_urls {
        if !urls.contains(u) {
            urls.push(u.clone());
        }
    }
    let event = Event {
        webhook_id: new_id("msg"),
        kind: kind.to_owned(),
        body,
        urls,
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
        let signature = sign(&st.webhooks.key, &event.webhook_id, now, &event.body);
        let res = st
            .webhooks
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &event.webhook_id)
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", signature)
            .body(event.body.clone())
            .send()
            .await;
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
