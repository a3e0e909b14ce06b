//! The retry policy: a pure decision over what the last attempt produced.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::retry_after::parse_retry_after;

/// When and how often a request is repeated.
///
/// Only transient failures are retried: 429, 502, 503, 504, connection failures and timeouts.
/// Requests that are not retry-safe (POST and PATCH unless marked otherwise) are retried only on
/// 429, which the platform sends before it does any work. Waits grow exponentially from
/// `base_delay` up to `max_delay`, with jitter; a readable `Retry-After` replaces the backoff,
/// capped at `max_retry_after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The wait before the first retry when the server gives no `Retry-After`.
    pub base_delay: Duration,
    /// The longest backoff wait.
    pub max_delay: Duration,
    /// The longest wait a server's `Retry-After` can impose.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, 200 ms base delay, 10 s backoff cap, 60 s cap on `Retry-After`.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// What one attempt produced, as far as the retry decision is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// The server answered with a status that is not a success.
    Status {
        /// HTTP status code.
        status: u16,
        /// The raw `Retry-After` header, if any.
        retry_after: Option<String>,
    },
    /// The connection failed or was dropped.
    ConnectionError,
    /// No complete answer within the request timeout.
    Timeout,
}

/// Whether to try again, and after how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryDecision {
    /// Give up and report the last outcome.
    Stop,
    /// Wait this long, then send the request again.
    RetryAfter(Duration),
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Decides after attempt number `attempt` (1 = the first) produced `outcome`.
    ///
    /// Pure: `now` is used to read an HTTP-date `Retry-After`, `jitter` (0.0..=1.0, clamped) spreads
    /// the backoff between half and all of the exponential delay.
    pub fn decide(
        &self,
        attempt: u32,
        outcome: &AttemptOutcome,
        retry_safe: bool,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> RetryDecision {
        if attempt >= self.max_attempts {
            return RetryDecision::Stop;
        }
        let server_hint = match outcome {
            AttemptOutcome::Status {
                status: 429,
                retry_after,
            } => retry_after.as_deref(),
            AttemptOutcome::Status {
                status: 502..=504,
                retry_after,
            } if retry_safe => retry_after.as_deref(),
            AttemptOutcome::ConnectionError | AttemptOutcome::Timeout if retry_safe => None,
            _ => return RetryDecision::Stop,
        };
        if let Some(wait) = server_hint.and_then(|v| parse_retry_after(v, now)) {
            return RetryDecision::RetryAfter(wait.min(self.max_retry_after));
        }
        RetryDecision::RetryAfter(self.backoff(attempt, jitter))
    }

    /// The exponential backoff before retry number `attempt`, with jitter in 0.0..=1.0.
    fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let exponent = attempt.saturating_sub(1).min(30);
        let full = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        full.mul_f64(0.5 + 0.5 * jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn status(status: u16, retry_after: Option<&str>) -> AttemptOutcome {
        AttemptOutcome::Status {
            status,
            retry_after: retry_after.map(str::to_owned),
        }
    }

    #[test]
    fn table() {
        let now = Utc.with_ymd_and_hms(2024, 11, 11, 14, 59, 0).unwrap();
        let policy = RetryPolicy::default();
        let ms = |n: u64| RetryDecision::RetryAfter(Duration::from_millis(n));
        use RetryDecision::Stop;
        let cases: Vec<(u32, AttemptOutcome, bool, f64, RetryDecision)> = vec![
            // Not transient: never retried.
            (1, status(400, None), true, 1.0, Stop),
            (1, status(401, None), true, 1.0, Stop),
            (1, status(404, None), true, 1.0, Stop),
            (1, status(409, None), true, 1.0, Stop),
            (1, status(500, None), true, 1.0, Stop),
            (1, status(501, None), true, 1.0, Stop),
            // Transient, retry-safe: exponential backoff with jitter.
            (1, status(503, None), true, 1.0, ms(200)),
            (1, status(503, None), true, 0.0, ms(100)),
            (2, status(502, None), true, 1.0, ms(400)),
            (3, status(504, None), true, 1.0, ms(800)),
            (4, status(503, None), true, 1.0, Stop),
            (1, AttemptOutcome::ConnectionError, true, 1.0, ms(200)),
            (1, AttemptOutcome::Timeout, true, 1.0, ms(200)),
            // Not retry-safe: only 429.
            (1, status(503, None), false, 1.0, Stop),
            (1, AttemptOutcome::ConnectionError, false, 1.0, Stop),
            (1, AttemptOutcome::Timeout, false, 1.0, Stop),
            (1, status(429, None), false, 1.0, ms(200)),
            // Retry-After in each form, capped at 60 s.
            (1, status(429, Some("2")), true, 1.0, ms(2000)),
            (1, status(429, Some("3600")), true, 1.0, ms(60_000)),
            (
                1,
                status(429, Some("Mon, 11 Nov 2024 14:59:05 GMT")),
                true,
                1.0,
                ms(5000),
            ),
            (
                1,
                status(429, Some("2024-11-11 14:59:07 +0000 UTC")),
                true,
                1.0,
                ms(7000),
            ),
            (
                1,
                status(429, Some("2024-11-11 14:00:00 +0000 UTC")),
                true,
                1.0,
                ms(0),
            ),
            (1, status(429, Some("garbage")), true, 1.0, ms(200)),
            (1, status(503, Some("1")), true, 1.0, ms(1000)),
            (4, status(429, Some("1")), true, 1.0, Stop),
            // Jitter out of range is clamped; NaN is treated as the middle.
            (1, status(503, None), true, 7.0, ms(200)),
            (1, status(503, None), true, f64::NAN, ms(150)),
        ];
        for (attempt, outcome, safe, jitter, expected) in cases {
            assert_eq!(
                policy.decide(attempt, &outcome, safe, now, jitter),
                expected,
                "attempt {attempt} {outcome:?} safe={safe} jitter={jitter}"
            );
        }
    }

    #[test]
    fn backoff_is_capped_and_never_overflows() {
        let policy = RetryPolicy {
            max_attempts: u32::MAX,
            ..RetryPolicy::default()
        };
        let now = Utc::now();
        for attempt in [10, 31, 32, 1000, u32::MAX - 1] {
            assert_eq!(
                policy.decide(attempt, &AttemptOutcome::Timeout, true, now, 1.0),
                RetryDecision::RetryAfter(Duration::from_secs(10))
            );
        }
    }

    #[test]
    fn never_means_one_attempt() {
        let outcome = status(503, None);
        assert_eq!(
            RetryPolicy::never().decide(1, &outcome, true, Utc::now(), 0.5),
            RetryDecision::Stop
        );
    }
}

#[cfg(test)]
mod examples {
    use super::*;

    #[test]
    fn policy_decides_on_status_and_retry_after() {
        use std::time::Duration;
        let policy = RetryPolicy::default();
        let outcome = AttemptOutcome::Status {
            status: 429,
            retry_after: Some("3".into()),
        };
        assert_eq!(
            policy.decide(1, &outcome, false, chrono::Utc::now(), 0.5),
            RetryDecision::RetryAfter(Duration::from_secs(3))
        );
        let outcome = AttemptOutcome::Status {
            status: 404,
            retry_after: None,
        };
        assert_eq!(
            policy.decide(1, &outcome, true, chrono::Utc::now(), 0.5),
            RetryDecision::Stop
        );
    }
}
