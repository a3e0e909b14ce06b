//! The pieces the transport uses: one limiter per OAuth client, a registry that shares them, and
//! the admission a request holds while it is out.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::limits::{RateLimits, Scopes};
use super::window::{LimiterStats, Window};
use crate::auth::{AccessToken, TokenSource};
use crate::http::sanitize_url;

/// The rate limiters of every OAuth client a program talks to the Service Manager as, keyed by
/// client id, all with the same [`RateLimits`].
///
/// Cheap to clone; clones share the limiters. Give it to
/// [`HttpClientBuilder::rate_limiters`](crate::http::HttpClientBuilder::rate_limiters) and every
/// Service Manager request sent through that client (and its clones, and every handle built on
/// it) waits for its client's limiter first, and reports a 429 to it. SAP counts per user or
/// OAuth client id, so the key is the token's `client_id` claim (or `user:<user_name>` for a
/// user's token), which for a Service Manager key is [`ServiceKey::client_id`].
///
/// [`ServiceKey::client_id`]: crate::ServiceKey::client_id
///
/// ```
/// use calm_credentials::fleet::{RateLimiters, RateLimits, Scope};
/// let limiters = RateLimiters::new(RateLimits::documented().per_minute(Scope::Bindings, 300));
/// let http = calm_credentials::HttpClient::builder().rate_limiters(limiters.clone()).build()?;
/// let acme = limiters.for_client("sb-acme!b1|service-manager!b1");
/// assert_eq!(acme.stats().admitted, 0);
/// # Ok::<(), calm_credentials::Error>(())
/// ```
#[derive(Clone)]
pub struct RateLimiters {
    inner: Arc<Registry>,
}

struct Registry {
    limits: RateLimits,
    clients: Mutex<HashMap<String, ClientLimiter>>,
}

impl RateLimiters {
    /// A registry whose limiters keep to `limits`.
    pub fn new(limits: RateLimits) -> Self {
        RateLimiters {
            inner: Arc::new(Registry {
                limits,
                clients: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A registry with SAP's documented limits ([`RateLimits::documented`]).
    pub fn documented() -> Self {
        Self::new(RateLimits::documented())
    }

    /// The limits every limiter of this registry keeps to.
    pub fn limits(&self) -> &RateLimits {
        &self.inner.limits
    }

    /// The limiter of `client_id`, created on first use.
    pub fn for_client(&self, client_id: &str) -> ClientLimiter {
        let mut clients = lock(&self.inner.clients);
        clients
            .entry(client_id.to_owned())
            .or_insert_with(|| ClientLimiter::new(client_id, &self.inner.limits))
            .clone()
    }

    /// The limiter of `client_id`, if any request of that client went through this registry
    /// (or [`RateLimiters::for_client`] made it).
    pub fn get(&self, client_id: &str) -> Option<ClientLimiter> {
        lock(&self.inner.clients).get(client_id).cloned()
    }

    /// The client ids with a limiter, sorted.
    pub fn clients(&self) -> Vec<String> {
        let mut ids: Vec<String> = lock(&self.inner.clients).keys().cloned().collect();
        ids.sort();
        ids
    }

    /// 429 answers reported to all limiters together.
    pub fn rate_limited(&self) -> u64 {
        lock(&self.inner.clients)
            .values()
            .map(|c| c.stats().rate_limited)
            .sum()
    }

    /// The limiter a request authenticated with `token` from `source` goes through.
    pub(crate) fn for_token(&self, token: &AccessToken, source: &TokenSource) -> ClientLimiter {
        self.for_client(&client_key(token, source))
    }
}

impl fmt::Debug for RateLimiters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiters")
            .field("limits", &self.inner.limits)
            .field("clients", &self.clients())
            .finish()
    }
}

/// Who the Service Manager counts a request against: the token's user (`user:<name>`) or
/// client id; for a token that is not a JWT, the token endpoint it came from.
fn client_key(token: &AccessToken, source: &TokenSource) -> String {
    let claim = |name: &str| {
        token
            .claims()
            .and_then(|c| c.get(name))
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some(user) = claim("user_name") {
        return format!("user:{user}");
    }
    if let Some(client) = claim("client_id").or_else(|| claim("cid")) {
        return client;
    }
    match source.token_url() {
        Some(url) => format!("token endpoint {}", sanitize_url(url)),
        None => "(token given from outside)".to_owned(),
    }
}

/// The limiter of one OAuth client: a sliding-window log per limit, a pause after a 429, and
/// the adaptive rule (see the [module docs](super)).
///
/// Cheap to clone; clones share the state.
#[derive(Clone)]
pub struct ClientLimiter {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    client_id: String,
    window: Mutex<Window>,
}

impl ClientLimiter {
    fn new(client_id: &str, limits: &RateLimits) -> Self {
        ClientLimiter {
            inner: Arc::new(ClientInner {
                client_id: client_id.to_owned(),
                window: Mutex::new(Window::new(limits)),
            }),
        }
    }

    /// The client id (or user) this limiter counts for.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// Waits until a request counting against `scopes` may be sent (at once when `scopes` is
    /// empty and the client is not paused), and counts it.
    pub async fn admit(&self, scopes: Scopes) -> Admission {
        loop {
            let now = Instant::now();
            let verdict = lock(&self.inner.window).try_admit(scopes, now);
            match verdict {
                Ok(()) => {
                    return Admission {
                        limiter: self.clone(),
                        scopes,
                        at: now,
                    };
                }
                Err(at) => {
                    tracing::debug!(
                        client = %self.inner.client_id,
                        wait_ms = u64::try_from(at.saturating_duration_since(now).as_millis()).unwrap_or(u64::MAX),
                        "rate limit: waiting"
                    );
                    tokio::time::sleep_until(at).await;
                }
            }
        }
    }

    /// What the limiter has done so far.
    pub fn stats(&self) -> LimiterStats {
        lock(&self.inner.window).stats()
    }
}

impl fmt::Debug for ClientLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientLimiter")
            .field("client_id", &self.inner.client_id)
            .field("stats", &self.stats())
            .finish()
    }
}

/// A request's admission: report its 429 through it.
#[derive(Debug)]
pub struct Admission {
    limiter: ClientLimiter,
    scopes: Scopes,
    at: Instant,
}

impl Admission {
    /// When the request was admitted.
    pub fn admitted_at(&self) -> Instant {
        self.at
    }

    /// The request was answered 429: pause every request of the client until `retry_after`
    /// (the server's, already read; `None` = the default pause) and lower its limits.
    pub fn rate_limited(&self, retry_after: Option<Duration>) {
        let now = Instant::now();
        lock(&self.limiter.inner.window).rate_limited(self.scopes, self.at, retry_after, now);
        tracing::info!(
            client = %self.limiter.inner.client_id,
            wait_ms = retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            "rate limited (429): pausing every request of this client"
        );
    }
}

/// The limiter state is plain data that stays consistent even if a holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::limits::Scope;
    use crate::http::Method;

    #[tokio::test(start_paused = true)]
    async fn tasks_sharing_a_client_share_its_limit_and_its_pause() {
        let per = Duration::from_secs(60);
        let limiters = RateLimiters::new(
            RateLimits::none()
                .set(Scope::Bindings, 4, per)
                .margin(Duration::ZERO),
        );
        let scopes = Scopes::of(Method::Post, "/v1/service_bindings");
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let limiter = limiters.for_client("sb-a");
            tasks.push(tokio::spawn(async move {
                let mut at = Vec::new();
                for _ in 0..4 {
                    at.push(limiter.admit(scopes).await.admitted_at() - start);
                }
                at
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        all.sort();
        let secs: Vec<u64> = all.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [0, 0, 0, 0, 60, 60, 60, 60, 120, 120, 120, 120]);
        // Another client is not held back by the first one.
        let other = limiters.for_client("sb-b").admit(scopes).await;
        assert_eq!(other.admitted_at(), Instant::now());
        // A 429 on one request pauses the whole client.
        let a = limiters.for_client("sb-a");
        tokio::time::advance(per * 3).await;
        let first = a.admit(scopes).await;
        first.rate_limited(Some(Duration::from_secs(7)));
        let paused_at = Instant::now();
        let next = a.admit(Scopes::default()).await;
        assert_eq!(next.admitted_at() - paused_at, Duration::from_secs(7));
        assert_eq!(limiters.rate_limited(), 1);
        assert_eq!(limiters.clients(), ["sb-a", "sb-b"]);
    }
}
