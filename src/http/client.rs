//! The shared HTTP client: timeouts, retries, correlation ids, redirect rules, error parsing.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, LOCATION, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use tracing::Instrument;
use url::Url;

use crate::auth::TokenSource;
use crate::error::{Error, Result};
use crate::fleet::{ClientLimiter, RateLimiters, Scopes};

use super::request::{Method, Request};
use super::response::Response;
use super::retry::{AttemptOutcome, RetryDecision, RetryPolicy};
use super::retry_after::parse_retry_after;
use super::url_policy::{check_url, sanitize_url};
use super::wire_error::{ErrorContext, api_error};

/// The header that carries the correlation id of a logical request.
pub const CORRELATION_HEADER: &str = "X-CorrelationID";

/// The `User-Agent` every request carries (a suffix may be added with
/// [`HttpClientBuilder::user_agent_suffix`]).
pub const USER_AGENT_BASE: &str = concat!("calm-credentials/", env!("CARGO_PKG_VERSION"));

/// The largest response body read by default; larger answers fail with
/// [`Error::AnswerTooLarge`] rather than exhaust memory.
pub const DEFAULT_MAX_ANSWER: usize = 32 * 1024 * 1024;

/// The most same-host redirects followed for one API request.
const MAX_REDIRECTS: usize = 10;

/// The HTTP client every backend and token source shares.
///
/// Cheap to clone (the connection pools and the request counter are shared). Every request gets
/// `User-Agent: calm-credentials/<version>`, `Accept: application/json` and a fresh
/// `X-CorrelationID` (kept across the retries of one logical request); URLs are checked by
/// the URL policy (https only, except to loopback addresses) before anything is sent; transient failures are retried per the
/// [`RetryPolicy`]; redirects to another host are never followed, so credentials stay with the
/// host they were meant for. Token endpoints get no redirects at all.
///
/// ```
/// use calm_credentials::{HttpClient, RetryPolicy, ServiceKey, ServiceManager};
/// use std::time::Duration;
/// let http = HttpClient::builder()
///     .request_timeout(Duration::from_secs(30))
///     .retry_policy(RetryPolicy { max_attempts: 2, ..RetryPolicy::default() })
///     .build()?;
/// # let key = ServiceKey::from_json(r#"{"clientid":"c","clientsecret":"s","url":"https://a.authentication.eu10.hana.ondemand.com","sm_url":"https://service-manager.cfapps.eu10.hana.ondemand.com"}"#)?;
/// let sm = ServiceManager::from_key(&key)?.with_http(http.clone());
/// // … journeys on `sm` …
/// println!("{} requests sent", http.request_count());
/// # Ok::<(), calm_credentials::Error>(())
/// ```
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    /// For API calls: follows same-host redirects only.
    api: reqwest::Client,
    /// For token requests: follows no redirect.
    token: reqwest::Client,
    settings: Settings,
    sent: Arc<AtomicU64>,
    limiters: Option<RateLimiters>,
}

#[derive(Debug, Clone)]
struct Settings {
    connect_timeout: Duration,
    request_timeout: Duration,
    retry: RetryPolicy,
    user_agent: String,
    max_answer: usize,
}

/// Builds an [`HttpClient`] with non-default settings.
///
/// Defaults: connect timeout 10 s, request timeout 60 s (whole request, body included),
/// [`RetryPolicy::default`] (4 attempts), no `User-Agent` suffix, answers up to
/// 32 MiB.
#[derive(Debug, Clone)]
pub struct HttpClientBuilder {
    connect_timeout: Duration,
    request_timeout: Duration,
    retry: RetryPolicy,
    user_agent_suffix: Option<String>,
    max_answer: usize,
    limiters: Option<RateLimiters>,
}

impl Default for HttpClientBuilder {
    fn default() -> Self {
        HttpClientBuilder {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            user_agent_suffix: None,
            max_answer: DEFAULT_MAX_ANSWER,
            limiters: None,
        }
    }
}

impl HttpClientBuilder {
    /// How long establishing a connection (TCP and TLS) may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one attempt may take in all, from sending to the last byte of the body.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The largest answer body read, in bytes; a larger one fails with
    /// [`Error::AnswerTooLarge`] without being used.
    pub fn max_answer_size(mut self, bytes: usize) -> Self {
        self.max_answer = bytes;
        self
    }

    /// When to retry.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Text appended to the `User-Agent` (`calm-credentials/0.1.0 <suffix>`), e.g. the calling
    /// tool's name and version.
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        let suffix = suffix.into();
        self.user_agent_suffix = (!suffix.trim().is_empty()).then(|| suffix.trim().to_owned());
        self
    }

    /// Keeps every Service Manager request to the limits of its OAuth client: before each
    /// attempt it waits for that client's limiter in `limiters`, and a 429 pauses all of that
    /// client's requests (see [`crate::fleet`]). Off by default.
    pub fn rate_limiters(mut self, limiters: RateLimiters) -> Self {
        self.limiters = Some(limiters);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<HttpClient> {
        if self.retry.max_attempts == 0 {
            return Err(Error::config(
                "the retry policy",
                "max_attempts must be at least 1 (1 = no retries)",
            ));
        }
        if self.request_timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(Error::config(
                "the timeouts",
                "they must be longer than zero",
            ));
        }
        let user_agent = match &self.user_agent_suffix {
            Some(s) => format!("{USER_AGENT_BASE} {s}"),
            None => USER_AGENT_BASE.to_owned(),
        };
        if reqwest::header::HeaderValue::from_str(&user_agent).is_err() {
            return Err(Error::config(
                "the User-Agent suffix",
                "it must be visible ASCII text",
            ));
        }
        let settings = Settings {
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            retry: self.retry,
            user_agent,
            max_answer: self.max_answer,
        };
        let sent = Arc::new(AtomicU64::new(0));
        let redirects = Arc::clone(&sent);
        let api_policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            let same_origin = attempt
                .previous()
                .first()
                .is_some_and(|first| may_follow(first, attempt.url()));
            if same_origin {
                redirects.fetch_add(1, Ordering::Relaxed);
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let api = base_builder(&settings)
            .redirect(api_policy)
            .build()
            .map_err(|e| client_build_error("HTTP client", &e))?;
        let token = base_builder(&settings)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| client_build_error("token HTTP client", &e))?;
        Ok(HttpClient {
            inner: Arc::new(Inner {
                api,
                token,
                settings,
                sent,
                limiters: self.limiters,
            }),
        })
    }
}

/// A redirect may be followed only to the same host and port, never from https to http.
fn may_follow(from: &Url, to: &Url) -> bool {
    from.host_str() == to.host_str()
        && from.port_or_known_default() == to.port_or_known_default()
        && (from.scheme() == to.scheme() || to.scheme() == "https")
        && to.username().is_empty()
        && to.password().is_none()
}

fn base_builder(settings: &Settings) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        .user_agent(settings.user_agent.clone())
        .pool_idle_timeout(Duration::from_secs(60))
}

fn client_build_error(what: &str, e: &reqwest::Error) -> Error {
    Error::config(
        format!("the {what}"),
        format!("cannot set it up: {}", e.without_url_ref()),
    )
}

/// `reqwest::Error::without_url` on a borrowed error, for messages.
trait WithoutUrlRef {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrlRef for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), &sanitize_url(url));
        }
        text
    }
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("connect_timeout", &self.inner.settings.connect_timeout)
            .field("request_timeout", &self.inner.settings.request_timeout)
            .field("retry", &self.inner.settings.retry)
            .field("user_agent", &self.inner.settings.user_agent)
            .field("max_answer", &self.inner.settings.max_answer)
            .field("requests_sent", &self.request_count())
            .finish()
    }
}

/// How a request authenticates (internal: token requests use Basic, API requests Bearer).
pub(crate) enum Credentials<'a> {
    None,
    Bearer(&'a SecretString),
    Basic(&'a str, &'a SecretString),
}

/// One logical call for [`HttpClient::exchange`].
pub(crate) struct Call<'a> {
    pub method: Method,
    pub url: &'a Url,
    pub retry_safe: bool,
    pub correlation_id: &'a str,
    pub credentials: Credentials<'a>,
    pub form: Option<&'a [(&'a str, &'a str)]>,
    pub json: Option<&'a serde_json::Value>,
    pub headers: &'a [(String, String)],
}

/// The final answer of a call (any status), read whole.
pub(crate) struct Exchange {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub url: Url,
}

impl Exchange {
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        let value = self.headers.get("retry-after")?.to_str().ok()?;
        parse_retry_after(value, Utc::now())
    }

    pub(crate) fn location_host(&self) -> Option<String> {
        let value = self.headers.get(LOCATION)?.to_str().ok()?;
        let target = self.url.join(value).ok()?;
        Some(match target.port() {
            Some(p) => format!("{}:{p}", target.host_str()?),
            None => target.host_str()?.to_owned(),
        })
    }
}

impl HttpClient {
    /// A client with the default settings (see [`HttpClientBuilder`]).
    pub fn new() -> Result<Self> {
        Self::builder().build()
    }

    /// A builder for non-default timeouts, retry policy or `User-Agent`.
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder::default()
    }

    /// How many HTTP requests this client and its clones have actually sent: every attempt,
    /// every followed redirect, and the token requests of token sources built on it.
    pub fn request_count(&self) -> u64 {
        self.inner.sent.load(Ordering::Relaxed)
    }

    /// The retry policy in use.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.settings.retry
    }

    /// Sends `request`, with a bearer token from `auth` when given.
    ///
    /// Checks the URL first (https only, except to loopback addresses); retries transient failures per the policy; on a 401
    /// with a token source, drops that token, gets a fresh one and tries once more (never more).
    /// A 2xx answer is returned whole; anything else becomes [`Error::Api`] with the platform's
    /// own code and message (or an excerpt of the body), or [`Error::Transport`] when no answer
    /// came.
    pub(crate) async fn send(
        &self,
        request: Request,
        auth: Option<&TokenSource>,
    ) -> Result<Response> {
        check_url(&request.url, "request URL")?;
        let correlation_id = correlation_id();
        let mut renewed = false;
        loop {
            let token = match auth {
                Some(source) => Some(source.token().await?),
                None => None,
            };
            let credentials = match &token {
                Some(t) => Credentials::Bearer(t.secret()),
                None => Credentials::None,
            };
            let gate = self.gate(&request, auth, token.as_ref());
            let exchange = self
                .exchange_gated(
                    &self.inner.api,
                    Call {
                        method: request.method,
                        url: &request.url,
                        retry_safe: request.retry_safe,
                        correlation_id: &correlation_id,
                        credentials,
                        form: None,
                        json: request.body.as_ref(),
                        headers: &request.headers,
                    },
                    gate.as_ref(),
                )
                .await?;
            if exchange.status == 401
                && let (Some(source), Some(token)) = (auth, &token)
            {
                if !source.can_refresh() {
                    return Err(source.refused_static_token());
                }
                if !renewed {
                    tracing::debug!(
                        correlation_id = %correlation_id,
                        "token refused (401): getting a fresh one and retrying once"
                    );
                    source.invalidate(token);
                    renewed = true;
                    continue;
                }
            }
            if (200..300).contains(&exchange.status) {
                return Ok(Response {
                    status: exchange.status,
                    headers: exchange.headers,
                    body: exchange.body,
                    url: exchange.url,
                    correlation_id,
                });
            }
            let router_error = if exchange.status == 404 {
                exchange
                    .headers
                    .get("x-cf-routererror")
                    .and_then(|v| v.to_str().ok())
            } else {
                None
            };
            let mut error = api_error(ErrorContext {
                method: request.method.as_str(),
                url: sanitize_url(&request.url),
                status: exchange.status,
                body: &exchange.body,
                retry_after: exchange.retry_after(),
                location_host: exchange.location_host(),
                router_error,
                correlation_id: &correlation_id,
                warnings: super::response::cf_warnings(&exchange.headers),
            });
            if let Some(token) = &token {
                // A server that echoes the request must not put the bearer token in the error.
                let secrets = [token.secret().expose_secret()];
                for text in [&mut error.code, &mut error.message, &mut error.body_excerpt]
                    .into_iter()
                    .flatten()
                {
                    *text = super::wire_error::scrub(text, &secrets);
                }
            }
            return Err(Error::from(error));
        }
    }

    /// The client for API requests (same-host redirects only), for callers that send their own
    /// `reqwest` requests; each send must be counted with [`HttpClient::count_sent`].
    pub(crate) fn api_reqwest(&self) -> &reqwest::Client {
        &self.inner.api
    }

    /// Counts one request sent outside [`HttpClient::exchange`].
    pub(crate) fn count_sent(&self) {
        self.inner.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// The client for token requests (no redirects).
    pub(crate) fn token_client(&self) -> &reqwest::Client {
        &self.inner.token
    }

    /// A client for mutual TLS token requests with `identity`, with the same timeouts and
    /// `User-Agent` as this one and no redirects.
    pub(crate) fn mtls_token_client(&self, identity: reqwest::Identity) -> Result<reqwest::Client> {
        base_builder(&self.inner.settings)
            .identity(identity)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| client_build_error("mutual TLS client", &e))
    }

    /// The rate limiter an API request waits for: its client's, when limiters are attached and
    /// the request counts against a Service Manager limit.
    fn gate(
        &self,
        request: &Request,
        auth: Option<&TokenSource>,
        token: Option<&crate::auth::AccessToken>,
    ) -> Option<(ClientLimiter, Scopes)> {
        let limiters = self.inner.limiters.as_ref()?;
        let scopes = Scopes::of(request.method, request.url.path());
        if scopes.is_empty() {
            return None;
        }
        Some((limiters.for_token(token?, auth?), scopes))
    }

    /// Carries out one logical call with `client`, retrying per the policy, and returns the
    /// final answer whatever its status. Fails only when no answer came.
    pub(crate) async fn exchange(
        &self,
        client: &reqwest::Client,
        call: Call<'_>,
    ) -> Result<Exchange> {
        self.exchange_gated(client, call, None).await
    }

    /// [`HttpClient::exchange`], each attempt first admitted by `gate` (and its 429s reported
    /// to it).
    async fn exchange_gated(
        &self,
        client: &reqwest::Client,
        call: Call<'_>,
        gate: Option<&(ClientLimiter, Scopes)>,
    ) -> Result<Exchange> {
        let policy = &self.inner.settings.retry;
        let host = call.url.host_str().unwrap_or("").to_owned();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let time_left = super::deadline::time_left();
            if time_left.is_some_and(|left| left.is_zero()) {
                return Err(deadline_passed(&call, attempt - 1));
            }
            let span = tracing::debug_span!(
                "http",
                method = call.method.as_str(),
                host = %host,
                path = call.url.path(),
                attempt,
                correlation_id = call.correlation_id,
                status = tracing::field::Empty,
            );
            let admission = match gate {
                Some((limiter, scopes)) => Some(limiter.admit(*scopes).await),
                None => None,
            };
            let builder = self.prepare(client, &call);
            self.inner.sent.fetch_add(1, Ordering::Relaxed);
            let read = read_whole(builder, self.inner.settings.max_answer).instrument(span.clone());
            let result = match time_left {
                // The caller's deadline cuts this attempt short; no retry after it. With at
                // least the request timeout left, the client's own timeout ends the attempt
                // first, so no second timer is needed.
                Some(left) if left < self.inner.settings.request_timeout => {
                    match tokio::time::timeout(left, read).await {
                        Ok(result) => result,
                        Err(_) => return Err(deadline_passed(&call, attempt)),
                    }
                }
                _ => read.await,
            };
            let result = match result {
                Ok(exchange) => Ok(exchange),
                Err(AttemptError::Http(e)) => Err(e),
                Err(AttemptError::TooLarge) => {
                    tracing::debug!(parent: &span, limit = self.inner.settings.max_answer, "answer too large");
                    return Err(Error::AnswerTooLarge {
                        method: call.method.as_str().to_owned(),
                        url: sanitize_url(call.url),
                        limit: self.inner.settings.max_answer as u64,
                        correlation_id: call.correlation_id.to_owned(),
                    });
                }
            };
            let (outcome, failure) = match result {
                Ok(exchange) => {
                    span.record("status", exchange.status);
                    tracing::debug!(parent: &span, status = exchange.status, bytes = exchange.body.len(), "answered");
                    if (200..400).contains(&exchange.status) {
                        return Ok(exchange);
                    }
                    if let (429, Some(admission)) = (exchange.status, &admission) {
                        admission.rate_limited(exchange.retry_after());
                    }
                    let retry_after = exchange
                        .headers
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let outcome = AttemptOutcome::Status {
                        status: exchange.status,
                        retry_after,
                    };
                    (outcome, Ok(exchange))
                }
                Err(e) => {
                    let outcome = if e.is_timeout() {
                        AttemptOutcome::Timeout
                    } else {
                        AttemptOutcome::ConnectionError
                    };
                    tracing::debug!(parent: &span, kind = transport_kind(&e), "no answer");
                    (outcome, Err(e))
                }
            };
            // A request that cannot be built, or a redirect loop, fails the same way every time.
            let permanent = matches!(&failure, Err(e) if e.is_builder() || e.is_redirect());
            let decision = if permanent {
                RetryDecision::Stop
            } else {
                policy.decide(
                    attempt,
                    &outcome,
                    call.retry_safe,
                    Utc::now(),
                    rand::random::<f64>(),
                )
            };
            // A retry whose wait would end past the caller's deadline is not made.
            let decision = match (decision, super::deadline::time_left()) {
                (RetryDecision::RetryAfter(wait), Some(left)) if wait >= left => {
                    tracing::debug!(parent: &span, "the next attempt would start past the deadline");
                    RetryDecision::Stop
                }
                (decision, _) => decision,
            };
            match decision {
                RetryDecision::RetryAfter(wait) => {
                    tracing::info!(
                        parent: &span,
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "transient failure; retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    return match failure {
                        Ok(exchange) => Ok(exchange),
                        Err(e) => Err(Error::Transport {
                            method: call.method.as_str().to_owned(),
                            url: sanitize_url(call.url),
                            attempts: attempt,
                            kind: transport_kind(&e),
                            correlation_id: call.correlation_id.to_owned(),
                            source: Box::new(e.without_url()),
                        }),
                    };
                }
            }
        }
    }

    fn prepare(&self, client: &reqwest::Client, call: &Call<'_>) -> reqwest::RequestBuilder {
        let mut builder = client
            .request(call.method.to_reqwest(), call.url.clone())
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, self.inner.settings.user_agent.as_str())
            .header(CORRELATION_HEADER, call.correlation_id);
        for (name, value) in call.headers {
            let reserved = [AUTHORIZATION.as_str(), USER_AGENT.as_str(), ACCEPT.as_str()];
            if reserved.contains(&name.to_ascii_lowercase().as_str())
                || name.eq_ignore_ascii_case(CORRELATION_HEADER)
            {
                continue;
            }
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder = match call.credentials {
            Credentials::None => builder,
            Credentials::Bearer(token) => builder.bearer_auth(token.expose_secret()),
            Credentials::Basic(user, password) => {
                builder.basic_auth(user, Some(password.expose_secret()))
            }
        };
        if let Some(form) = call.form {
            builder = builder.form(form);
        } else if let Some(json) = call.json {
            builder = builder.json(json);
        }
        builder
    }
}

/// Why an attempt brought no usable answer.
enum AttemptError {
    Http(reqwest::Error),
    /// The body is longer than the limit (by `Content-Length` or by what arrived).
    TooLarge,
}

impl From<reqwest::Error> for AttemptError {
    fn from(e: reqwest::Error) -> Self {
        AttemptError::Http(e)
    }
}

/// The error for a deadline that passed before or during attempt `attempt`.
fn deadline_passed(call: &Call<'_>, attempts: u32) -> Error {
    super::deadline::passed(
        &format!("{} {}", call.method.as_str(), sanitize_url(call.url)),
        super::deadline::elapsed(),
        &format!("the caller's deadline passed during or after attempt {attempts}"),
    )
}

/// Sends and reads the whole body, refusing one longer than `limit` bytes without reading on.
async fn read_whole(
    builder: reqwest::RequestBuilder,
    limit: usize,
) -> std::result::Result<Exchange, AttemptError> {
    let mut response = builder.send().await?;
    let status = response.status().as_u16();
    let length = response.content_length();
    if length.is_some_and(|n| n > limit as u64) {
        return Err(AttemptError::TooLarge);
    }
    // Taken, not cloned: the response is only read for its body from here on.
    let headers = std::mem::take(response.headers_mut());
    let url = response.url().clone();
    // Within the limit (checked above), so the announced length is safe to reserve.
    let mut body = Vec::with_capacity(length.map_or(0, |n| n as usize));
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(AttemptError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Exchange {
        status,
        headers,
        body,
        url,
    })
}

/// A fresh random (version 4) UUID for `X-CorrelationID`, from the thread's user-space random
/// generator rather than a `getrandom` system call per request.
pub(crate) fn correlation_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// A short, secret-free classification of a transport error.
fn transport_kind(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else if e.is_redirect() {
        "too many redirects".into()
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off".into()
    } else if e.is_builder() {
        "the request could not be built (invalid header or URL)".into()
    } else {
        "the connection failed or was closed".into()
    }
}
