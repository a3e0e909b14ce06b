//! Many credentials at once: a fleet manifest, and keeping within SAP's rate limits.
//!
//! The Service Manager counts requests per OAuth client id (or user), at several levels at once
//! (`service-manager-api.md` section 9): per minute 1,000 in all, 600 on bindings, 100 each on
//! offerings and plans, 50 instance creates. A batch over many tenants must stay under them
//! without being told how close it is (the server sends no rate-limit headers).
//!
//! - [`RateLimits`] / [`Scope`] / [`Scopes`]: the limits as data (SAP's by default) and which
//!   requests count against which.
//! - [`RateLimiters`]: one [`ClientLimiter`] per client id, shared; attach it to an
//!   [`HttpClient`](crate::HttpClient) with
//!   [`HttpClientBuilder::rate_limiters`](crate::http::HttpClientBuilder::rate_limiters) and every
//!   Service Manager request through that client waits for its client's limiter.
//! - [`Manifest`]: the fleet manifest (JSON or TOML), validated whole before any request.
//! - [`Fleet`]: the runner: every credential of a manifest ensured, tenants side by side,
//!   a [`FleetRun`] stream of [`CredentialOutcome`]s as they finish and a [`FleetSummary`].
//!
//! # How the limiter behaves
//! - **No sliding window exceeds a limit.** Each limit keeps the send times of its last
//!   requests; a request is sent only when every limit it counts against has room in the
//!   window ending now (plus a margin for the time the request takes to arrive). This is a
//!   sliding-window log rather than `governor`'s GCRA: a request must be admitted by several
//!   limits atomically, the limits change at run time, and a GCRA with a burst of `N` per
//!   minute admits up to about `2N` in some 60-second window.
//! - **A 429 pauses the whole client** until its `Retry-After` (delta-seconds, HTTP-date or
//!   Go's `2024-11-11 14:59:33 +0000 UTC`; without one, a default pause of 5 s), capped at an
//!   hour; every task using the client waits, not just the refused request.
//! - **Servers with lower limits than documented** are survived with few 429s: a 429 lowers
//!   each per-minute limit the refused request counted against to half of what that limit's window held
//!   (at least 1; only once for the requests that were already out). Each full window without
//!   a 429 raises it by a tenth of its configured value, up to nine tenths of the count the
//!   server refused; after ten quiet windows there it probes upwards again, a tenth per window,
//!   up to the configured value.

#[cfg(all(test, feature = "simulator"))]
mod e2e_tests;
mod limiter;
mod limits;
mod manifest;
mod runner;
mod window;

pub use limiter::{Admission, ClientLimiter, RateLimiters};
pub use limits::{HOUR, MINUTE, RateLimit, RateLimits, Scope, Scopes};
pub use manifest::{Manifest, ManifestError, ManifestErrorKind, Platform, TenantEntry};
pub use runner::{CredentialOutcome, DEFAULT_CONCURRENCY, Fleet, FleetRun, FleetSummary, Outcome};
pub use window::LimiterStats;
