//! The caller's deadline for a whole call: every request made inside
//! [`within_deadline`] is capped to the time left, and no retry waits past it.
//!
//! The deadline travels in a task-local, so the layers between the caller and the transport
//! (journeys, backends, token sources) need not pass it along. A deadline set inside another
//! keeps the earlier of the two.

use std::future::Future;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::Either;
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

/// Runs `fut` with at most `timeout` for all of it: every request this crate sends inside it
/// (through any [`HttpClient`](super::HttpClient), token requests included) is cut to the time
/// left, no retry sleeps past it, and when it passes the future is dropped and
/// [`Error::Timeout`] returned, naming `what`. Nested calls keep the earlier deadline.
///
/// The journey builders bound themselves with it (their `deadline`). A plain function (the
/// deadline counts from the call) rather than an `async fn`: an `async fn` would hold `fut`
/// twice in its state, once as its argument and once inside the timer, and journey futures
/// are large.
pub(crate) fn within_deadline<T, F>(
    timeout: Duration,
    what: &'static str,
    fut: F,
) -> impl Future<Output = Result<T>>
where
    F: Future<Output = Result<T>>,
{
    let start = Instant::now();
    let Some(mut deadline) = start.checked_add(timeout) else {
        return Either::Left(fut);
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
    let bounded = tokio::time::timeout_at(deadline, DEADLINE.scope(scope, fut));
    Either::Right(bounded.map(move |result| {
        result.unwrap_or_else(|_| Err(passed(what, start.elapsed(), "no answer yet")))
    }))
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

    #[tokio::test]
    async fn no_retry_waits_past_the_deadline_and_attempts_are_cut_to_the_time_left() {
        use wiremock::matchers::path;
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(path("/busy"))
            .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "30"))
            .mount(&server)
            .await;
        Mock::given(path("/slow"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
            .mount(&server)
            .await;
        let http = crate::http::HttpClient::new().unwrap();
        let url = |p: &str| url::Url::parse(&format!("{}{p}", server.uri())).unwrap();

        // The server asks for 30 s; 5 s are left: the 503 is the answer, after one attempt.
        let busy = within_deadline(Duration::from_secs(5), "busy call", async {
            http.send(crate::http::Request::get(url("/busy")), None)
                .await
        })
        .await
        .unwrap_err();
        assert_eq!(busy.status(), Some(503), "{busy}");
        assert_eq!(http.request_count(), 1);

        // A 30 s answer with 1 s left: cut after one attempt, as a timeout.
        let slow = within_deadline(Duration::from_secs(1), "slow call", async {
            http.send(crate::http::Request::get(url("/slow")), None)
                .await
        })
        .await
        .unwrap_err();
        assert!(matches!(slow, Error::Timeout { .. }), "{slow}");
        assert_eq!(http.request_count(), 2);
    }
}
