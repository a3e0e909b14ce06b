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
        let result = fetch(self.last()).await;
        state.generation += 1;
        self.generation.store(state.generation, Ordering::SeqCst);
        match result {
            Ok(token) => {
                state.last_error = None;
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
