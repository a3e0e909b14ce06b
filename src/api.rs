//! An authenticated client of the SAP Cloud ALM API, built from a [`ServiceKey`].
//!
//! [`CalmApi`] takes the base URL from the key's `endpoints.Api` (used exactly as given, service
//! paths appended: `reference/cloud-alm.md` §8), gets tokens from the key with a
//! [`TokenSource`] (client secret or X.509; cached, renewed before expiry, one fresh token and
//! one more try when the API answers 401), and sends through the crate's [`HttpClient`] with its
//! retry policy. A program can push monitoring data or call any Cloud ALM API without handling
//! OAuth itself.
//!
//! Paths are joined to the base safely: `//` collapses, and a path that is an absolute URL,
//! starts with `//`, holds a `..` or `.` segment (also percent-encoded), a backslash or a
//! fragment is refused before anything is sent, so the token never leaves `endpoints.Api`.
//!
//! ```
//! use calm_credentials::ServiceKey;
//! let key = ServiceKey::from_json(r#"{
//!   "endpoints": {"Api": "https://eu10.alm.cloud.sap/api"},
//!   "uaa": {"clientid": "sb-x!b1|sapcloudalm!b2", "clientsecret": "s3cr3t",
//!           "url": "https://acme.authentication.eu10.hana.ondemand.com"}}"#)?;
//! let api = key.api_client()?;
//! assert_eq!(api.url("calm-tasks/v1/tasks?projectId=p1")?.as_str(),
//!            "https://eu10.alm.cloud.sap/api/calm-tasks/v1/tasks?projectId=p1");
//! assert_eq!(api.url("/calm-projects//v1/projects")?.as_str(),
//!            "https://eu10.alm.cloud.sap/api/calm-projects/v1/projects");
//! assert!(api.url("../oauth/token").is_err());
//! assert!(api.url("https://elsewhere.example/api").is_err());
//!
//! # async fn call(api: calm_credentials::api::CalmApi) -> calm_credentials::Result<()> {
//! // One token request, then the call; later calls reuse the token.
//! let tasks: serde_json::Value = api.get("/calm-tasks/v1/tasks?projectId=p1").await?.json()?;
//! let created = api
//!     .post_json("/calm-tasks/v1/tasks", &serde_json::json!({"projectId": "p1", "title": "Check"}))
//!     .await?;
//! # Ok(()) }
//! # Ok::<(), calm_credentials::Error>(())
//! ```

use std::fmt;
use std::time::Duration;

use chrono::Utc;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::ExposeSecret;
use url::Url;

use crate::auth::TokenSource;
use crate::credentials::ServiceKey;
use crate::error::{Error, Result};
use crate::http::{AttemptOutcome, HttpClient, RetryDecision, check_url, sanitize_url};

pub use crate::http::{Method, Request, Response};

/// An authenticated client of the Cloud ALM API behind one key's `endpoints.Api`.
///
/// Cheap to clone (clones share the token cache and connection pool). `Debug` shows the base
/// URL and the token source, never a secret.
#[derive(Clone)]
pub struct CalmApi {
    base: Url,
    http: HttpClient,
    tokens: TokenSource,
}

impl ServiceKey {
    /// A [`CalmApi`] client for these credentials, with a default [`HttpClient`].
    pub fn api_client(&self) -> Result<CalmApi> {
        CalmApi::new(self)
    }
}

impl CalmApi {
    /// A client for `key`, with a default [`HttpClient`].
    ///
    /// Fails before anything is sent when the key has no `endpoints.Api`, or its API or token
    /// URL is not allowed (https only, except to loopback addresses), or its certificate cannot be read.
    pub fn new(key: &ServiceKey) -> Result<Self> {
        Self::with_http(key, HttpClient::new()?)
    }

    /// A client for `key` sending through `http` (its timeouts, retry policy and request
    /// counter).
    pub fn with_http(key: &ServiceKey, http: HttpClient) -> Result<Self> {
        let Some(base) = key.api_url().cloned() else {
            return Err(Error::invalid_json(
                "service key",
                "endpoints.Api",
                "the Cloud ALM API base URL (https://<region>.alm.cloud.sap/api)",
                "nothing",
                "use the key of an SAP Cloud ALM API instance; a Service Manager or plain XSUAA key has no API endpoint",
            ));
        };
        check_url(&base, "endpoints.Api")?;
        let tokens = TokenSource::from_service_key(key, &http)?;
        Ok(CalmApi { base, http, tokens })
    }

    /// A client for the API at `base` with tokens from `tokens` (for tokens obtained another
    /// way).
    pub fn with_token_source(base: Url, tokens: TokenSource, http: HttpClient) -> Result<Self> {
        check_url(&base, "API base URL")?;
        Ok(CalmApi { base, http, tokens })
    }

    /// `endpoints.Api`: the base every path is appended to.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The token source (to read the token's scopes or expiry).
    pub fn token_source(&self) -> &TokenSource {
        &self.tokens
    }

    /// The HTTP client (its request counter counts token and API requests).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The URL of `path` (with an optional `?query`) under the base URL.
    ///
    /// Empty segments (`//`) collapse; an absolute URL, a leading `//`, a `.` or `..` segment
    /// (also as `%2e`), an encoded slash or backslash in a segment, a backslash or a `#fragment`
    /// is refused with [`Error::InvalidUrl`].
    pub fn url(&self, path: &str) -> Result<Url> {
        let refuse = |reason: &str| Error::InvalidUrl {
            field: "API path".into(),
            reason: format!(
                "`{}` {reason}; pass a path under endpoints.Api such as /calm-tasks/v1/tasks",
                shorten(path)
            ),
        };
        if path.contains('#') {
            return Err(refuse("has a fragment"));
        }
        let (p, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        if p.starts_with("//") {
            return Err(refuse("names another host"));
        }
        let first = p.trim_start_matches('/').split('/').next().unwrap_or("");
        if first.contains(':') {
            return Err(refuse("is an absolute URL"));
        }
        if p.contains('\\') {
            return Err(refuse("holds a backslash"));
        }
        let mut segments = Vec::new();
        for seg in p.split('/').filter(|s| !s.is_empty()) {
            let lower = seg.to_ascii_lowercase();
            let dots = lower.replace("%2e", ".");
            if dots == "." || dots == ".." {
                return Err(refuse("leaves the API base (dot segment)"));
            }
            if lower.contains("%2f") || lower.contains("%5c") {
                return Err(refuse("holds an encoded slash or backslash"));
            }
            segments.push(seg);
        }
        let base_path = self.base.path().trim_end_matches('/');
        let mut joined = format!("{base_path}/{}", segments.join("/"));
        if p.ends_with('/') && !segments.is_empty() {
            joined.push('/');
        }
        let mut url = self.base.clone();
        url.set_path(&joined);
        url.set_query(query.filter(|q| !q.is_empty()));
        url.set_fragment(None);
        if !self.within_base(&url) {
            return Err(refuse("leaves the API base"));
        }
        Ok(url)
    }

    /// Whether `url` is the base URL or below it (same scheme, host and port; path under it).
    fn within_base(&self, url: &Url) -> bool {
        let base_path = self.base.path().trim_end_matches('/');
        url.origin() == self.base.origin()
            && url.username().is_empty()
            && url.password().is_none()
            && (url.path() == base_path
                || url.path() == format!("{base_path}/")
                || url.path().starts_with(&format!("{base_path}/")))
    }

    fn check_within(&self, url: &Url) -> Result<()> {
        if self.within_base(url) {
            Ok(())
        } else {
            Err(Error::InvalidUrl {
                field: "request URL".into(),
                reason: format!(
                    "{} is not under the API base {}; the token is only sent there",
                    sanitize_url(url),
                    sanitize_url(&self.base)
                ),
            })
        }
    }

    /// A [`Request`] with `method` to `path` under the base URL, to add a body, headers or
    /// query parameters before [`CalmApi::send`].
    pub fn request(&self, method: Method, path: &str) -> Result<Request> {
        Ok(Request::new(method, self.url(path)?))
    }

    /// `GET path`; a 2xx answer whole, anything else [`Error::Api`] with the status and the
    /// platform's error text.
    pub async fn get(&self, path: &str) -> Result<Response> {
        self.send(self.request(Method::Get, path)?).await
    }

    /// `POST path` with `body` as JSON. Not repeated after a 5xx or a lost answer (it may have
    /// taken effect); repeated once with a fresh token after a 401.
    pub async fn post_json<T: serde::Serialize + ?Sized>(
        &self,
        path: &str,
        body: &T,
    ) -> Result<Response> {
        let body = serde_json::to_value(body)
            .map_err(|e| Error::config("the request body", format!("it is not JSON: {e}")))?;
        self.send(self.request(Method::Post, path)?.json(body))
            .await
    }

    /// Sends a [`Request`] built for a URL under the base, with the bearer token, the retry
    /// policy and one renewal on 401 (as every request of the crate).
    pub async fn send(&self, request: Request) -> Result<Response> {
        self.check_within(request.url())?;
        self.http.send(request, Some(&self.tokens)).await
    }

    /// A `reqwest` request builder for `method` and `path` on the crate's API client, for
    /// [`CalmApi::execute`] (any body, headers or streaming the crate's [`Request`] lacks).
    pub fn reqwest_builder(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder> {
        Ok(self.http.api_reqwest().request(method, self.url(path)?))
    }

    /// Sends any `reqwest` request to a URL under the base with `Authorization: Bearer …`
    /// attached, and returns the answer whatever its status.
    ///
    /// When the body can be cloned (not a stream), a 401 is answered once with a fresh token
    /// and 429, 502–504 and lost answers are retried per the client's [`RetryPolicy`]
    /// (5xx and lost answers only for GET, PUT and DELETE). A URL outside the base is refused
    /// before any token is fetched.
    ///
    /// [`RetryPolicy`]: crate::http::RetryPolicy
    pub async fn execute(&self, request: reqwest::Request) -> Result<reqwest::Response> {
        self.check_within(request.url())?;
        check_url(request.url(), "request URL")?;
        let retry_safe = matches!(
            *request.method(),
            reqwest::Method::GET
                | reqwest::Method::HEAD
                | reqwest::Method::PUT
                | reqwest::Method::DELETE
        );
        let method = request.method().as_str().to_owned();
        let url = sanitize_url(request.url());
        let policy = self.http.retry_policy().clone();
        let mut attempt: u32 = 0;
        let mut renewed = false;
        let mut current = request;
        loop {
            attempt += 1;
            let spare = current.try_clone();
            let token = self.tokens.token().await?;
            let mut value =
                HeaderValue::from_str(&format!("Bearer {}", token.secret().expose_secret()))
                    .map_err(|_| {
                        Error::config("the access token", "it cannot be sent as a header")
                    })?;
            value.set_sensitive(true);
            current.headers_mut().insert(AUTHORIZATION, value);
            self.http.count_sent();
            let outcome = match self.http.api_reqwest().execute(current).await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if status == 401
                        && !renewed
                        && self.tokens.can_refresh()
                        && let Some(again) = spare
                    {
                        self.tokens.invalidate(&token);
                        renewed = true;
                        current = again;
                        continue;
                    }
                    if !matches!(status, 429 | 502..=504) {
                        return Ok(resp);
                    }
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    (
                        AttemptOutcome::Status {
                            status,
                            retry_after,
                        },
                        Ok(resp),
                    )
                }
                Err(e) => {
                    let outcome = if e.is_timeout() {
                        AttemptOutcome::Timeout
                    } else {
                        AttemptOutcome::ConnectionError
                    };
                    (outcome, Err(e))
                }
            };
            let decision = policy.decide(
                attempt,
                &outcome.0,
                retry_safe,
                Utc::now(),
                rand::random::<f64>(),
            );
            match (decision, spare) {
                (RetryDecision::RetryAfter(wait), Some(again)) => {
                    tokio::time::sleep(wait.min(Duration::from_secs(300))).await;
                    current = again;
                }
                _ => {
                    return outcome.1.map_err(|e| Error::Transport {
                        method: method.clone(),
                        url: url.clone(),
                        attempts: attempt,
                        kind: if e.is_timeout() {
                            "timed out".into()
                        } else if e.is_connect() {
                            "could not connect".into()
                        } else {
                            "the connection failed or was closed".into()
                        },
                        correlation_id: String::new(),
                        source: Box::new(e.without_url()),
                    });
                }
            }
        }
    }
}

impl fmt::Debug for CalmApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CalmApi")
            .field("base", &sanitize_url(&self.base))
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

/// At most 80 characters of a path, for messages.
fn shorten(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(80).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(base: &str) -> CalmApi {
        let key = ServiceKey::from_json(&format!(
            r#"{{"endpoints": {{"Api": "{base}"}},
                "uaa": {{"clientid": "c|sapcloudalm!b1", "clientsecret": "s3cr3t-value",
                        "url": "https://z.authentication.eu10.hana.ondemand.com"}}}}"#
        ))
        .unwrap();
        key.api_client().unwrap()
    }

    #[test]
    fn paths_join_under_the_base() {
        let a = api("https://eu10.alm.cloud.sap/api");
        let cases = [
            (
                "calm-tasks/v1/tasks",
                "https://eu10.alm.cloud.sap/api/calm-tasks/v1/tasks",
            ),
            (
                "/calm-tasks/v1/tasks/",
                "https://eu10.alm.cloud.sap/api/calm-tasks/v1/tasks/",
            ),
            ("a//b///c", "https://eu10.alm.cloud.sap/api/a/b/c"),
            (
                "x?a=1&b=c%20d",
                "https://eu10.alm.cloud.sap/api/x?a=1&b=c%20d",
            ),
            ("with space", "https://eu10.alm.cloud.sap/api/with%20space"),
            ("", "https://eu10.alm.cloud.sap/api/"),
            (
                "v1/ab..cd/x.y",
                "https://eu10.alm.cloud.sap/api/v1/ab..cd/x.y",
            ),
        ];
        for (path, want) in cases {
            assert_eq!(a.url(path).unwrap().as_str(), want, "{path}");
        }
        let slash = api("https://t.eu10.alm.cloud.sap/api/");
        assert_eq!(
            slash.url("/x").unwrap().as_str(),
            "https://t.eu10.alm.cloud.sap/api/x"
        );
    }

    #[test]
    fn paths_that_leave_the_base_are_refused() {
        let a = api("https://eu10.alm.cloud.sap/api");
        for bad in [
            "..",
            "/../oauth/token",
            "a/./b",
            "a/%2e%2E/b",
            "a/.%2e",
            "a%2fb",
            "a%5Cb",
            "a\\b",
            "//evil.example/x",
            "https://evil.example/api/x",
            "javascript:alert(1)",
            "mailto:x@y",
            "x#frag",
        ] {
            let e = a.url(bad).unwrap_err();
            assert!(matches!(e, Error::InvalidUrl { .. }), "{bad}: {e}");
        }
    }

    #[test]
    fn other_urls_are_not_under_the_base() {
        let a = api("https://eu10.alm.cloud.sap/api");
        for (url, inside) in [
            ("https://eu10.alm.cloud.sap/api/x", true),
            ("https://eu10.alm.cloud.sap/api", true),
            ("https://eu10.alm.cloud.sap/apix", false),
            ("https://eu10.alm.cloud.sap/other", false),
            ("http://eu10.alm.cloud.sap/api/x", false),
            ("https://eu10.alm.cloud.sap:8443/api/x", false),
            ("https://u:p@eu10.alm.cloud.sap/api/x", false),
        ] {
            assert_eq!(a.within_base(&Url::parse(url).unwrap()), inside, "{url}");
        }
    }

    #[test]
    fn a_key_without_an_api_endpoint_gives_no_client() {
        let key = ServiceKey::from_json(
            r#"{"clientid": "c", "clientsecret": "s", "url": "https://z.authentication.eu10.hana.ondemand.com"}"#,
        )
        .unwrap();
        let e = key.api_client().unwrap_err();
        assert!(e.to_string().contains("endpoints.Api"), "{e}");
    }

    #[test]
    fn debug_shows_no_secret() {
        let a = api("https://eu10.alm.cloud.sap/api");
        let text = format!("{a:?}");
        assert!(
            text.contains("eu10.alm.cloud.sap") && !text.contains("s3cr3t-value"),
            "{text}"
        );
    }
}
