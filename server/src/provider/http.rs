//! What the providers' REST clients share: the API base as a base URL, an
//! HTTP client with the retry policy's timeouts, paths built from
//! percent-encoded segments, one exchange and the retry loop. Each client
//! keeps what is its own: authentication, its error envelope and which of
//! its errors are worth another try.

use std::future::Future;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::ProviderError;
use crate::config::RetryPolicy;

/// One try of a request, as the retry loop sees it.
pub(crate) enum Attempt {
    /// The provider's answer.
    Done(Value),
    /// A failure another try would not change.
    Fail(ProviderError),
    /// A failure worth another try, after at least this wait.
    Retry(ProviderError, Duration),
}

/// Sends `req` and reads the whole body: the status and the body, or a
/// transport failure (no answer, or a cut-off one) as a retry.
pub(crate) async fn exchange(req: reqwest::RequestBuilder) -> Result<(StatusCode, bytes::Bytes), Attempt> {
    let transport = |e: reqwest::Error| Attempt::Retry(ProviderError::Transport(e.to_string()), Duration::ZERO);
    let resp = req.send().await.map_err(transport)?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(transport)?;
    Ok((status, body))
}

/// A REST client's HTTP endpoint: its base URL and its HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// The API base, ending in `/`.
    base: Url,
    /// The client, with the policy's per-request timeouts.
    pub http: reqwest::Client,
    /// The provider's name, for errors (`PortOne`, `PortOne V1`).
    name: &'static str,
}

impl Endpoint {
    /// The endpoint at `api_base` (trailing `/` optional).
    pub fn new(api_base: &str, retry: &RetryPolicy, name: &'static str) -> Result<Self, ProviderError> {
        let mut base = Url::parse(api_base.trim_end_matches('/'))
            .map_err(|e| ProviderError::Decode(format!("invalid {name} API base: {e}")))?;
        if base.cannot_be_a_base() {
            return Err(ProviderError::Decode(format!("{name} API base is not a base URL")));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(retry.request_timeout)
            .connect_timeout(retry.request_timeout)
            .build()
            .map_err(|e| ProviderError::Transport(e.to_string()))?;
        Ok(Endpoint { base, http, name })
    }

    /// The base.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// Runs `attempt` until it is done or fails for good, at most
    /// `policy.max_attempts` times (at least once), waiting between tries the
    /// longer of the attempt's own wait and a backoff that doubles from
    /// `policy.base_backoff`. Every try is the same request (the callers'
    /// requests carry their idempotency keys), so repeating is safe.
    pub async fn with_retries<F, Fut>(
        &self,
        policy: &RetryPolicy,
        method: &Method,
        url: &Url,
        mut attempt: F,
    ) -> Result<Value, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Attempt>,
    {
        let attempts = policy.max_attempts.max(1);
        let mut backoff = policy.base_backoff;
        let mut n = 0;
        loop {
            n += 1;
            let (e, wait) = match attempt().await {
                Attempt::Done(v) => return Ok(v),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(e, wait) => (e, wait),
            };
            tracing::warn!(provider = self.name, %method, path = url.path(), attempt = n, error = %e, "provider call failed; will retry");
            if n >= attempts {
                return Err(e);
            }
            tokio::time::sleep(wait.max(backoff)).await;
            backoff = backoff.saturating_mul(2);
        }
    }

    /// The URL of `segments` under the base, each segment percent-encoded.
    pub fn url(&self, segments: &[&str]) -> Result<Url, ProviderError> {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| ProviderError::Decode(format!("{} API base is not a base URL", self.name)))?;
            path.pop_if_empty();
            for s in segments {
                path.push(s);
            }
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_joined_under_the_base_and_encoded() {
        let e = Endpoint::new("http://127.0.0.1:8787/iamport/", &RetryPolicy::default(), "PortOne V1").expect("base");
        let url = e.url(&["payments", "find", "a/b?c"]).expect("url");
        assert_eq!(url.as_str(), "http://127.0.0.1:8787/iamport/payments/find/a%2Fb%3Fc");
        let root = Endpoint::new("http://127.0.0.1:8787", &RetryPolicy::default(), "PortOne").expect("base");
        assert_eq!(
            root.url(&["payments", "p1"]).expect("url").as_str(),
            "http://127.0.0.1:8787/payments/p1"
        );
    }

    #[test]
    fn an_api_base_that_is_not_a_url_is_refused_naming_the_provider() {
        let e = Endpoint::new("not a url", &RetryPolicy::default(), "PortOne V1").expect_err("refused");
        assert!(e.to_string().contains("PortOne V1"), "{e}");
    }
}
