//! The caller's deadline for a whole call: every request made inside
//! [`within_deadline`] is capped to the time left, and no retry waits past it.
//!
//! The deadline travels in a task-local, so the layers between the caller and the transport
//! (journeys, backends, token sources) need not pass it along. A deadline set inside another
//! keeps the earlier of the two.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, Result};

/// When the outermost bounded call started, and when it must end.
#[derive(Clone, Copy)]
struct Scope {
    start: Instant,
    deadline: Instant,
}

tokio::task_local! {
    static DEADLINE: Scope;
}

/// The deadline of the current call, if one was set with [`within_deadline`].
pub(crate) fn current() -> Option<Instant> {
    DEADLINE.try_with(|d| d.deadline).ok()
}

/// How long the current bounded call has been running (zero outside one).
pub(crate) fn elapsed() -> std::time::Duration {
    DEADLINE.try_with(|d| d.start.elapsed()).unwrap_or_default()
}

/// The time left before the current deadline (`None`: no deadline; zero: passed).
pub(crate) fn time_left() -> Option<Duration> {
    current().map(|d| d.saturating_duration_since(Instant::now()))
}

/// Runs `fut` with at most `timeout` for all of it: HTTP attempts made inside are cut to the
/// time left, retries do not sleep past it, and when it passes the future is dropped and
/// [`Error::Timeout`] returned, naming `what`.
pub(crate) async fn within_deadline<T>(
    timeout: Duration,
    what: &str,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    let start = Instant::now();
    let Some(mut deadline) = start.checked_add(timeout) else {
        return fut.await;
    };
    let mut scope_start = start;
    if let Ok(outer) = DEADLINE.try_with(|d| *d) {
        deadline = deadline.min(outer.deadline);
        scope_start = outer.start;
    }
    let scope = Scope {
        start: scope_start,
        deadline,
    };
    match tokio::time::timeout_at(deadline, DEADLINE.scope(scope, fut)).await {
        Ok(result) => result,
        Err(_) => Err(passed(what, start.elapsed(), "no answer yet")),
    }
}

/// The error for a deadline that passed while `what` was under way.
pub(crate) fn passed(what: &str, waited: Duration, last_state: &str) -> Error {
    Error::Timeout {
        operation: what.to_owned(),
        waited,
        last_state: last_state.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_earlier_deadline_wins_and_passing_it_is_a_timeout() {
        assert!(current().is_none());
        let inner = within_deadline(Duration::from_secs(100), "outer", async {
            let outer = current().unwrap();
            within_deadline(Duration::from_secs(1000), "inner", async {
                assert_eq!(current(), Some(outer));
                tokio::time::sleep(Duration::from_secs(500)).await;
                Ok(())
            })
            .await
        })
        .await;
        let err = inner.unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
        assert!(err.is_retryable());
        let fine = within_deadline(Duration::from_secs(5), "quick", async { Ok(7) }).await;
        assert_eq!(fine.unwrap(), 7);
        let unbounded = within_deadline(Duration::MAX, "forever", async { Ok(current()) }).await;
        assert_eq!(unbounded.unwrap(), None);
    }
}
