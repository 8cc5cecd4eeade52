//! What the providers' REST clients share: the API base as a base URL, an
//! HTTP client with the retry policy's timeouts, and paths built from
//! percent-encoded segments.

use reqwest::Url;

use super::ProviderError;
use crate::config::RetryPolicy;

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
