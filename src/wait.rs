//! Waiting on asynchronous platform operations: deadlines, backoff between polls, and progress
//! events a caller can observe without polling itself.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::error::{Error, Result};

/// Something worth telling a user while a journey runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "event")]
#[non_exhaustive]
pub enum ProgressEvent {
    /// A resource was found.
    Found {
        /// What was found (`instance cloud-alm-api`).
        what: String,
    },
    /// A create was sent.
    Creating {
        /// What is being created.
        what: String,
    },
    /// A long operation reported a state (sent on every change of state, not on every poll).
    State {
        /// The operation (`creation of binding x`).
        operation: String,
        /// The platform's state (`in progress`, `POLLING`, …).
        state: String,
        /// Time since waiting began.
        elapsed: Duration,
    },
    /// A wait finished.
    Done {
        /// The operation.
        operation: String,
        /// Time it took.
        elapsed: Duration,
    },
    /// A step was skipped or something noteworthy happened (platform warnings included).
    Note {
        /// The text.
        message: String,
    },
}

impl fmt::Display for ProgressEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProgressEvent::Found { what } => write!(f, "found {what}"),
            ProgressEvent::Creating { what } => write!(f, "creating {what}"),
            ProgressEvent::State {
                operation,
                state,
                elapsed,
            } => {
                write!(f, "{operation}: {state} ({:.1}s)", elapsed.as_secs_f64())
            }
            ProgressEvent::Done { operation, elapsed } => {
                write!(f, "{operation}: done in {:.1}s", elapsed.as_secs_f64())
            }
            ProgressEvent::Note { message } => f.write_str(message),
        }
    }
}

/// A caller's progress callback.
type Callback = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// A callback that receives [`ProgressEvent`]s (none: events are dropped unmade where the
/// caller checks [`Progress::is_listening`]).
#[derive(Clone)]
pub struct Progress(Option<Callback>);

impl Progress {
    /// Wraps a callback.
    pub fn new(f: impl Fn(&ProgressEvent) + Send + Sync + 'static) -> Self {
        Progress(Some(Arc::new(f)))
    }

    /// A callback that ignores every event.
    pub fn none() -> Self {
        Progress(None)
    }

    /// Whether anyone listens: events cost their text only then.
    pub(crate) fn is_listening(&self) -> bool {
        self.0.is_some()
    }

    /// Sends an event.
    pub fn emit(&self, event: ProgressEvent) {
        if let Some(f) = &self.0 {
            f(&event)
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::none()
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// How long to wait and how often to look.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Give up after this long.
    pub timeout: Duration,
    /// First pause between polls.
    pub initial_interval: Duration,
    /// Longest pause between polls (the pause doubles up to this).
    pub max_interval: Duration,
    /// Receives state changes.
    pub progress: Progress,
}

impl Default for WaitOptions {
    /// Ten minutes, polling from 200 ms up to every 5 s.
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(600),
            initial_interval: Duration::from_millis(200),
            max_interval: Duration::from_secs(5),
            progress: Progress::none(),
        }
    }
}

impl WaitOptions {
    /// Default intervals with this timeout.
    #[cfg(test)]
    pub fn with_timeout(timeout: Duration) -> Self {
        WaitOptions {
            timeout,
            ..Self::default()
        }
    }

    /// Sets the progress callback.
    #[cfg(test)]
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Sets the poll intervals.
    pub fn intervals(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_interval = initial;
        self.max_interval = max.max(initial);
        self
    }
}

/// What one look at an operation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll<T> {
    /// Finished successfully.
    Ready(T),
    /// Still running, in this state; the server may ask for a pause before the next look.
    Pending {
        /// The platform's state word.
        state: String,
        /// `Retry-After` the server sent, if any.
        retry_after: Option<Duration>,
    },
}

/// Longest pause a server's `Retry-After` can impose between two polls.
pub const MAX_SERVER_PAUSE: Duration = Duration::from_secs(60);

/// The pause before the next poll: the server's wish if it gave one (capped by
/// [`MAX_SERVER_PAUSE`]), else
/// doubling from `initial`; never past the deadline.
pub fn next_interval(
    attempt: u32,
    opts: &WaitOptions,
    retry_after: Option<Duration>,
    remaining: Duration,
) -> Duration {
    let backoff = opts
        .initial_interval
        .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(opts.max_interval);
    // The server's own wish wins over our backoff, within reason.
    let wanted = retry_after.map_or(backoff, |r| r.min(MAX_SERVER_PAUSE));
    wanted.min(remaining)
}

/// Calls `probe` until it returns [`Poll::Ready`], an error, or the deadline passes. Emits a
/// [`ProgressEvent::State`] on each change of state and [`ProgressEvent::Done`] at the end.
pub async fn poll_until<T, F, Fut>(operation: &str, opts: &WaitOptions, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>>>,
{
    let start = Instant::now();
    let mut last_state: Option<String> = None;
    for attempt in 0u32.. {
        match probe().await? {
            Poll::Ready(value) => {
                opts.progress.emit(ProgressEvent::Done {
                    operation: operation.to_owned(),
                    elapsed: start.elapsed(),
                });
                return Ok(value);
            }
            Poll::Pending { state, retry_after } => {
                if last_state.as_deref() != Some(state.as_str()) {
                    opts.progress.emit(ProgressEvent::State {
                        operation: operation.to_owned(),
                        state: state.clone(),
                        elapsed: start.elapsed(),
                    });
                }
                let remaining = opts.timeout.saturating_sub(start.elapsed());
                if remaining.is_zero() {
                    return Err(Error::Timeout {
                        operation: operation.to_owned(),
                        waited: start.elapsed(),
                        last_state: state,
                    });
                }
                last_state = Some(state);
                tokio::time::sleep(next_interval(attempt, opts, retry_after, remaining)).await;
            }
        }
    }
    unreachable!("the loop only ends by returning")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn intervals_double_cap_and_respect_the_deadline() {
        let opts =
            WaitOptions::default().intervals(Duration::from_millis(100), Duration::from_secs(1));
        let big = Duration::from_secs(100);
        let cases = [
            (0, None, big, 100),
            (1, None, big, 200),
            (3, None, big, 800),
            (4, None, big, 1000),
            (40, None, big, 1000),
            (0, Some(Duration::from_secs(3)), big, 3000),
            (0, Some(Duration::from_secs(600)), big, 60_000),
            (2, None, Duration::from_millis(50), 50),
        ];
        for (attempt, retry_after, remaining, want_ms) in cases {
            let got = next_interval(attempt, &opts, retry_after, remaining);
            assert_eq!(
                got,
                Duration::from_millis(want_ms),
                "{attempt} {retry_after:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn reports_each_state_once_and_finishes() {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let opts = WaitOptions::with_timeout(Duration::from_secs(60))
            .progress(Progress::new(move |e| sink.lock().unwrap().push(e.clone())));
        let states = ["in progress", "in progress", "POLLING", "done"];
        let mut i = 0;
        let got = poll_until("op", &opts, || {
            let s = states[i];
            i += 1;
            async move {
                Ok(if s == "done" {
                    Poll::Ready(42)
                } else {
                    Poll::Pending {
                        state: s.into(),
                        retry_after: None,
                    }
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(got, 42);
        let events = events.lock().unwrap();
        let states: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                ProgressEvent::State { state, .. } => Some(state.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(states, ["in progress", "POLLING"]);
        assert!(matches!(events.last(), Some(ProgressEvent::Done { .. })));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_deadline_with_the_last_state() {
        let opts = WaitOptions::with_timeout(Duration::from_secs(5));
        let err = poll_until::<(), _, _>("creation of binding b", &opts, || async {
            Ok(Poll::Pending {
                state: "in progress".into(),
                retry_after: None,
            })
        })
        .await
        .unwrap_err();
        match err {
            Error::Timeout {
                last_state, waited, ..
            } => {
                assert_eq!(last_state, "in progress");
                assert!(waited >= Duration::from_secs(5));
            }
            other => panic!("{other:?}"),
        }
    }
}
