//! The HTTP transport every backend shares.
//!
//! - [`HttpClient`]: timeouts, retries, correlation ids, `User-Agent`, redirect rules, typed
//!   errors ([`crate::Error::Api`] carries the platform's own code and message).
//! - [`Request`] / [`Response`]: one logical request and its successful answer.
//! - [`RetryPolicy`]: a pure decision over each attempt's outcome, with [`parse_retry_after`]
//!   for every `Retry-After` form the platform sends.
//! - [`within_deadline`]: a deadline for a whole call: every attempt made inside it is cut to
//!   the time left, and no retry waits past it.
//! - [`check_url`] / [`sanitize_url`]: https only (plain http only to loopback), and URLs shown
//!   without query or user info.

mod client;
mod deadline;
mod request;
mod response;
mod retry;
mod retry_after;
mod url_policy;
pub(crate) mod wire_error;

pub(crate) use client::{Call, Credentials, Exchange, correlation_id};
pub use client::{HttpClient, HttpClientBuilder};
pub(crate) use deadline::within_deadline;
pub use request::{Method, Request};
pub use response::Response;
pub use retry::RetryPolicy;
pub(crate) use retry::{AttemptOutcome, RetryDecision};
pub(crate) use retry_after::parse_retry_after;
pub(crate) use url_policy::{check_url, sanitize_url};
