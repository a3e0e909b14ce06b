//! The token cache: hands out a live token, and lets exactly one caller fetch a new one.

use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result, TokenError};

use super::token::AccessToken;

/// The default refresh slack: a token with less life left than this is renewed first.
pub const DEFAULT_REFRESH_SLACK: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Slot {
    /// The last token obtained; kept after invalidation for its refresh token.
    token: Option<AccessToken>,
    /// Whether `token` may still be handed out.
    valid: bool,
}

/// What the last fetch ended with, so that callers who waited for it share its failure
/// instead of each sending another request.
#[derive(Default)]
struct FetchState {
    generation: u64,
    last_error: Option<(u64, Error)>,
    /// The token the last successful fetch brought, for the callers that waited on it: they
    /// take it even when it is already stale (a server issuing tokens with `expires_in: 0`
    /// would otherwise get one request per waiting caller).
    last_token: Option<(u64, AccessToken)>,
}

/// A cache for one token source.
///
/// Readers take a short synchronous lock; a fetch happens under an async mutex, so however many
/// callers find the token stale at once, one request goes out and the rest wait for its result
/// (the pattern of google-cloud-rust's token cache, with a mutex instead of a watch channel).
pub(crate) struct TokenCache {
    slot: StdMutex<Slot>,
    fetch: tokio::sync::Mutex<FetchState>,
    generation: AtomicU64,
    slack_ms: AtomicU64,
}

impl TokenCache {
    pub(crate) fn new() -> Self {
        TokenCache {
            slot: StdMutex::new(Slot::default()),
            fetch: tokio::sync::Mutex::new(FetchState::default()),
            generation: AtomicU64::new(0),
            slack_ms: AtomicU64::new(millis(DEFAULT_REFRESH_SLACK)),
        }
    }

    pub(crate) fn set_slack(&self, slack: Duration) {
        self.slack_ms.store(millis(slack), Ordering::Relaxed);
    }

    pub(crate) fn slack(&self) -> Duration {
        Duration::from_millis(self.slack_ms.load(Ordering::Relaxed))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        // A panic while holding this lock cannot leave the slot inconsistent (plain stores).
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached token if it has more than the slack left (the slack is at most half the
    /// token's lifetime, so short-lived tokens are still reused).
    pub(crate) fn fresh(&self, now: DateTime<Utc>) -> Option<AccessToken> {
        let slot = self.lock();
        let token = slot.token.as_ref().filter(|_| slot.valid)?;
        let slack = chrono::Duration::from_std(self.slack()).unwrap_or(chrono::Duration::MAX);
        let slack = slack.min(token.lifetime() / 2);
        now.checked_add_signed(slack)
            .is_some_and(|t| t < token.usable_until())
            .then(|| token.clone())
    }

    /// The last token obtained, fresh or not (for its refresh token).
    pub(crate) fn last(&self) -> Option<AccessToken> {
        self.lock().token.clone()
    }

    /// Drops the cached token if it is still `token`.
    pub(crate) fn invalidate(&self, token: &AccessToken) {
        let mut slot = self.lock();
        if slot.token.as_ref().is_some_and(|t| t.same_as(token)) {
            slot.valid = false;
        }
    }

    /// A live token, fetching one with `fetch` (given the last token) when needed.
    pub(crate) async fn get<F, Fut>(&self, fetch: F) -> Result<AccessToken>
    where
        F: FnOnce(Option<AccessToken>) -> Fut,
        Fut: std::future::Future<Output = Result<AccessToken>>,
    {
        if let Some(token) = self.fresh(Utc::now()) {
            return Ok(token);
        }
        let waited_from = self.generation.load(Ordering::SeqCst);
        let mut state = self.fetch.lock().await;
        if let Some(token) = self.fresh(Utc::now()) {
            return Ok(token);
        }
        if let Some((generation, error)) = &state.last_error
            && *generation > waited_from
        {
            // A fetch finished while we waited and failed: share its answer.
            return Err(clone_error(error));
        }
        if let Some((generation, token)) = &state.last_token
            && *generation > waited_from
            && self.lock().valid
        {
            // A fetch finished while we waited: its token is as new as any we could get.
            return Ok(token.clone());
        }
        let result = fetch(self.last()).await;
        state.generation += 1;
        self.generation.store(state.generation, Ordering::SeqCst);
        match result {
            Ok(token) => {
                state.last_error = None;
                state.last_token = Some((state.generation, token.clone()));
                let mut slot = self.lock();
                slot.token = Some(token.clone());
                slot.valid = true;
                Ok(token)
            }
            Err(error) => {
                state.last_error = Some((state.generation, clone_error(&error)));
                Err(error)
            }
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A copy of an error for the callers that waited on the same failed fetch.
pub(crate) fn clone_error(error: &Error) -> Error {
    match error {
        Error::Token(e) => Error::Token(Box::new(TokenError::clone(e))),
        Error::Api(e) => Error::Api(e.clone()),
        Error::Transport {
            method,
            url,
            attempts,
            kind,
            correlation_id,
            source,
        } => Error::Transport {
            method: method.clone(),
            url: url.clone(),
            attempts: *attempts,
            kind: kind.clone(),
            correlation_id: correlation_id.clone(),
            source: source.to_string().into(),
        },
        Error::InvalidUrl { field, reason } => Error::InvalidUrl {
            field: field.clone(),
            reason: reason.clone(),
        },
        Error::Config { setting, reason } => Error::config(setting.clone(), reason.clone()),
        other => Error::config("the token request", other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_waiting_on_a_fetch_share_its_token_even_when_it_is_stale() {
        let cache = Arc::new(TokenCache::new());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let cache = Arc::clone(&cache);
            let fetches = Arc::clone(&fetches);
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|_| async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        // Already expired when it arrives (`expires_in: 0` without a floor).
                        let past = Utc::now() - chrono::Duration::seconds(1);
                        Ok(AccessToken::new(
                            secrecy::SecretString::from("t"),
                            Some(past),
                        ))
                    })
                    .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        // Callers that arrive after a fetch ended start a new one; those that waited share it.
        let n = fetches.load(Ordering::SeqCst);
        assert!(n <= 2, "{n} token requests for 64 concurrent callers");
    }
}
