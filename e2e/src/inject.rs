//! Scripts that run before the app in every document, in every engine.
//!
//! Chromium could do this through the DevTools Protocol
//! (`Page.addScriptToEvaluateOnNewDocument`); Firefox and WebKit cannot. So
//! the browser never talks to the shop or the sandbox directly: it talks to
//! a small reverse proxy in front of each ([`InjectingProxy`]), which passes
//! every request through unchanged and puts the registered scripts
//! ([`InitScripts`]) as the first `<script>` into every HTML document it
//! returns. A script added mid-scenario applies to every document loaded
//! after it, exactly like the CDP call did. HTML answers are marked
//! `no-store`, so a cached copy cannot skip the scripts.
//!
//! When the upstream cannot be reached (the backend is stopped on purpose),
//! the proxy drops the browser's connection without an answer, so the page
//! sees the same network error it would see without the proxy.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The scripts every document gets before its own, in the order added
/// (shared by the [`crate::Browser`] that adds them and the proxies that
/// inject them). Each must be idempotent and check `location.origin` itself
/// when it is meant for one origin only.
#[derive(Clone, Default)]
pub struct InitScripts(Arc<Mutex<Vec<String>>>);

impl InitScripts {
    /// Adds `source` for every document loaded from now on.
    pub fn add(&self, source: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(source.to_owned());
    }

    fn snapshot(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The `<script>` element carrying `scripts` (each in its own `try`, so one
/// failing script does not stop the next).
fn script_tag(scripts: &[String]) -> String {
    let mut body = String::new();
    for s in scripts {
        body.push_str("try {\n");
        body.push_str(s);
        body.push_str("\n} catch (e) { try { console.error('e2e init script: ' + e); } catch (_) {} }\n");
    }
    // Nothing in a script may close the element early.
    let body = body.replace("</", "<\\/");
    format!("<script data-e2e-init>\n{body}</script>")
}

/// `html` with `tag` as the first element of `<head>` (or of the document if
/// it has no `<head>`), never before the doctype.
pub fn inject_into_html(html: &str, tag: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let after_open = |name: &str| -> Option<usize> {
        let mut from = 0;
        while let Some(i) = lower[from..].find(name) {
            let start = from + i;
            let next = lower.as_bytes().get(start + name.len()).copied();
            if matches!(next, Some(b'>' | b' ' | b'\t' | b'\n' | b'\r' | b'/')) {
                return lower[start..].find('>').map(|j| start + j + 1);
            }
            from = start + name.len();
        }
        None
    };
    let at = after_open("<head")
        .or_else(|| after_open("<html"))
        .or_else(|| {
            lower
                .trim_start()
                .starts_with("<!doctype")
                .then(|| lower.find('>').map(|i| i + 1))
                .flatten()
        })
        .unwrap_or(0);
    let mut out = String::with_capacity(html.len() + tag.len());
    out.push_str(&html[..at]);
    out.push_str(tag);
    out.push_str(&html[at..]);
    out
}

/// Headers that belong to one connection, not to the message.
fn hop_by_hop(name: &header::HeaderName) -> bool {
    [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::TE,
        header::TRAILER,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
}

/// A reverse proxy on a free loopback port in front of `upstream`, injecting
/// the [`InitScripts`] into every HTML document; stopped on drop.
pub struct InjectingProxy {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for InjectingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Upstream {
    base: String,
    scripts: InitScripts,
    http: reqwest::Client,
}

impl InjectingProxy {
    /// Starts a proxy for `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str, scripts: InitScripts) -> anyhow::Result<InjectingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the e2e proxy")?;
        let addr = listener.local_addr()?;
        let up = Upstream {
            base: upstream.trim_end_matches('/').to_owned(),
            scripts,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .timeout(Duration::from_secs(120))
                .build()
                .context("the e2e proxy's HTTP client")?,
        };
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let up = up.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let up = up.clone();
                        async move { up.forward(req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(InjectingProxy { addr, task })
    }

    /// `http://127.0.0.1:PORT`: the origin the browser sees.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Upstream {
    /// Forwards one request. An `Err` makes hyper drop the connection without
    /// an answer (the upstream is down: the page must see a network error).
    async fn forward(&self, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, anyhow::Error> {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let url = format!("{}{path}", self.base);
        let body = body.collect().await.context("reading the request body")?.to_bytes();
        let mut headers = HeaderMap::new();
        for (name, value) in &parts.headers {
            // Identity encoding, so the HTML can be edited; the browser's
            // Host is kept, so the upstream sees the origin the page has.
            if !hop_by_hop(name) && *name != header::ACCEPT_ENCODING && *name != header::CONTENT_LENGTH {
                headers.append(name.clone(), value.clone());
            }
        }
        let resp = self
            .http
            .request(parts.method.clone(), &url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .with_context(|| format!("{} {url}", parts.method))?;
        let status = resp.status();
        let mut out_headers = HeaderMap::new();
        for (name, value) in resp.headers() {
            if !hop_by_hop(name) && *name != header::CONTENT_LENGTH {
                out_headers.append(name.clone(), value.clone());
            }
        }
        let html = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("text/html"));
        let bytes = resp.bytes().await.with_context(|| format!("body of {url}"))?;
        let bytes = if html {
            let scripts = self.scripts.snapshot();
            out_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            out_headers.remove(header::ETAG);
            out_headers.remove(header::LAST_MODIFIED);
            match std::str::from_utf8(&bytes) {
                Ok(text) if !scripts.is_empty() => Bytes::from(inject_into_html(text, &script_tag(&scripts))),
                _ => bytes,
            }
        } else {
            bytes
        };
        let mut response = Response::new(Full::new(bytes));
        *response.status_mut() = status;
        *response.headers_mut() = out_headers;
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_goes_first_into_head() {
        let html =
            "<!DOCTYPE html><html lang=\"ko\"><head><meta charset=\"utf-8\"><script src=a.js></script></head></html>";
        let out = inject_into_html(html, "<script>X</script>");
        assert_eq!(
            out,
            "<!DOCTYPE html><html lang=\"ko\"><head><script>X</script><meta charset=\"utf-8\"><script src=a.js></script></head></html>"
        );
    }

    #[test]
    fn without_head_after_html_or_the_doctype_never_before_it() {
        assert_eq!(inject_into_html("<HTML><body>", "T"), "<HTML>T<body>");
        assert_eq!(inject_into_html("<!doctype html><p>x", "T"), "<!doctype html>T<p>x");
        assert_eq!(inject_into_html("<p>x", "T"), "T<p>x");
        // `<header>` is not `<head>`.
        assert_eq!(
            inject_into_html("<html><body><header>h</header>", "T"),
            "<html>T<body><header>h</header>"
        );
    }

    #[test]
    fn a_script_cannot_close_the_element_early() {
        let tag = script_tag(&["var s = '</script><b>';".to_owned()]);
        assert_eq!(tag.matches("</script>").count(), 1, "{tag}");
        assert!(tag.ends_with("</script>"));
    }
}
