//! HTTP to the backend (recording each answer in the order's history and
//! every 5xx) and to the sandbox's admin routes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use crate::world::World;

/// What a backend call came back with.
#[derive(Debug, Clone)]
pub enum Answer {
    /// An HTTP answer with its JSON body (`Null` when not JSON).
    Http(u16, Value),
    /// No answer: the backend is down or the connection was cut.
    Unreachable(String),
}

impl Answer {
    /// The body of a 2xx answer.
    pub fn ok(&self) -> Option<&Value> {
        match self {
            Answer::Http(s, v) if (200..300).contains(s) => Some(v),
            _ => None,
        }
    }

    /// The `error` code of a 4xx/5xx answer.
    pub fn error(&self) -> Option<&str> {
        match self {
            Answer::Http(_, v) => v["error"].as_str(),
            Answer::Unreachable(_) => None,
        }
    }

    /// Whether a caller retries: no answer, or the documented
    /// "provider unreachable" 502.
    pub fn retryable(&self) -> bool {
        match self {
            Answer::Unreachable(_) => true,
            Answer::Http(s, _) => *s == 502 || *s == 408,
        }
    }

    fn short(&self) -> String {
        match self {
            Answer::Http(s, v) => {
                let mut body = v.to_string();
                if body.len() > 160 {
                    let mut cut = 160;
                    while !body.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    body.truncate(cut);
                    body.push('…');
                }
                format!("{s} {body}")
            }
            Answer::Unreachable(e) => format!("no answer ({e})"),
        }
    }
}

/// The clients and addresses every task shares.
pub struct Ctx {
    /// The HTTP client (pooled).
    pub http: reqwest::Client,
    /// The backend replicas' base URLs (one database behind them all).
    pub backends: Vec<String>,
    /// Round-robin position over [`Ctx::backends`].
    pub next: AtomicUsize,
    /// The sandbox's base URL.
    pub sandbox: String,
    /// The bookkeeping.
    pub world: Arc<World>,
}

impl Ctx {
    /// One backend request; `id` names the order whose history records it.
    pub async fn backend(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        id: Option<&str>,
    ) -> Answer {
        let c = &self.world.counts;
        c.backend_requests.inc();
        // What a load balancer in front of the replicas does: round robin,
        // and a replica that refuses the connection (it is down) is passed
        // over for the next one. An answer cut short is not retried here.
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let mut answer = Answer::Unreachable("no backend".into());
        for k in 0..self.backends.len() {
            let base = &self.backends[(first + k) % self.backends.len()];
            let mut req = self
                .http
                .request(method.clone(), format!("{base}{path}"))
                .timeout(Duration::from_secs(70));
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let refused = match req.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    answer = match r.bytes().await {
                        Ok(bytes) => Answer::Http(status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)),
                        Err(e) => Answer::Unreachable(format!("body: {e}")),
                    };
                    false
                }
                Err(e) => {
                    answer = Answer::Unreachable(short_error(&e));
                    e.is_connect()
                }
            };
            if !refused {
                break;
            }
        }
        match &answer {
            Answer::Unreachable(_) => c.backend_unreachable.inc(),
            Answer::Http(502, v) if v["error"] == "portone_unavailable" => c.provider_unreachable.inc(),
            Answer::Http(s, _) if *s >= 500 => self.world.bad_5xx(format!("{method} {path}"), answer.short()),
            Answer::Http(..) => {}
        }
        if let Some(id) = id {
            let sent = body.map(|b| format!(" {b}")).unwrap_or_default();
            self.world
                .note(id, format!("shop {method} {path}{sent} -> {}", answer.short()));
        }
        answer
    }

    /// [`Ctx::backend`] again (250 ms, doubling to 2 s) while there is no
    /// answer or the provider is unreachable, until `patience` has passed;
    /// answers the last attempt. What a checkout does on a network error.
    pub async fn backend_retrying(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        id: Option<&str>,
        patience: Duration,
    ) -> Answer {
        let deadline = Instant::now() + patience;
        let mut wait = Duration::from_millis(250);
        loop {
            let a = self.backend(method.clone(), path, body, headers, id).await;
            if !a.retryable() || Instant::now() + wait >= deadline {
                return a;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(2));
        }
    }

    /// The base URL of one replica, picked by `n` (a customer's number):
    /// where that customer's provider sends its notices and redirects.
    pub fn backend_for(&self, n: usize) -> &str {
        &self.backends[n % self.backends.len()]
    }

    /// A sandbox admin call (drivers, faults, read-outs): JSON in and out.
    /// `id` names the order whose history records it.
    pub async fn sandbox(&self, method: Method, path: &str, body: Option<&Value>, id: Option<&str>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.sandbox))
            .timeout(Duration::from_secs(120));
        if method != Method::GET {
            req = req
                .header("content-type", "application/json")
                .body(body.map(Value::to_string).unwrap_or_default());
        }
        let (status, value) = match req.send().await {
            Ok(r) => {
                let s = r.status().as_u16();
                (s, r.json().await.unwrap_or(Value::Null))
            }
            Err(e) => (0, Value::String(short_error(&e))),
        };
        if let Some(id) = id {
            let a = Answer::Http(status, value.clone());
            self.world.note(id, format!("sandbox {method} {path} -> {}", a.short()));
        }
        (status, value)
    }
}

fn short_error(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection refused".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            s = format!("{s}: {inner}");
            src = inner.source();
        }
        s
    }
}
