//! Faults injected on demand: what they are, which requests they hit, and the answers they give.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::types::Server;

/// The `Retry-After` header a simulated 429 carries. Times are about one second ahead so tests
/// stay quick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryAfter {
    /// Delta-seconds, e.g. `1`.
    Seconds(u64),
    /// An HTTP-date one second ahead, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    HttpDate,
    /// Go's `time.String` form one second ahead, e.g. `2024-11-11 14:59:33 +0000 UTC`.
    GoTime,
    /// No `Retry-After` header at all.
    Absent,
}

/// What happens to a request a [`FaultRule`] matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// 429 with the platform's rate-limit body and the given `Retry-After`; nothing is done.
    RateLimited(RetryAfter),
    /// This status (e.g. 500, 502, 503) with the platform's error body; nothing is done.
    ServerError(u16),
    /// The TCP connection is closed without any answer; nothing is done.
    DropConnection,
    /// Wait this long, then handle the request normally.
    Slow(Duration),
    /// Handle the request (state changes happen: a create creates), then close the connection
    /// without answering.
    LoseResponse,
    /// Handle the create normally, but the asynchronous work it starts (a Service Manager
    /// operation, a Cloud Foundry job) ends `failed` for this reason, with the platform's
    /// errors and, on Cloud Foundry, a job warning. The Service Manager answers such a create
    /// 202 even when it would otherwise answer synchronously.
    FailOperation(super::types::OperationFailure),
    /// Another client sends the same request just before this one: it is handled twice and
    /// the first answer is thrown away (a concurrent creator).
    Concurrent,
}

/// A fault that hits the next `times` requests matching server, method and path prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultRule {
    /// Method to match (case-insensitive); `None` matches any.
    pub method: Option<String>,
    /// Prefix the request path must start with (`""` matches all).
    pub path_prefix: String,
    /// Server to match; `None` matches any.
    pub server: Option<Server>,
    /// What to do.
    pub fault: Fault,
    /// How many matching requests it still hits.
    pub times: u32,
}

impl FaultRule {
    /// A rule for one request to `server` with `method` (`"*"` for any) under `path_prefix`.
    pub fn new(server: Server, method: &str, path_prefix: &str, fault: Fault) -> Self {
        FaultRule {
            method: (method != "*").then(|| method.to_ascii_uppercase()),
            path_prefix: path_prefix.to_owned(),
            server: Some(server),
            fault,
            times: 1,
        }
    }

    /// A rule for one request to any server, any method, under `path_prefix`.
    pub fn any(path_prefix: &str, fault: Fault) -> Self {
        FaultRule {
            method: None,
            path_prefix: path_prefix.to_owned(),
            server: None,
            fault,
            times: 1,
        }
    }

    /// Hit the next `n` matching requests instead of one.
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }

    fn matches(&self, server: Server, method: &str, path: &str) -> bool {
        self.times > 0
            && self.server.is_none_or(|s| s == server)
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.starts_with(&self.path_prefix)
    }
}

/// Takes the first live rule matching the request, counting one use.
pub(crate) fn take_match(
    rules: &mut Vec<FaultRule>,
    server: Server,
    method: &str,
    path: &str,
) -> Option<Fault> {
    let rule = rules.iter_mut().find(|r| r.matches(server, method, path))?;
    rule.times -= 1;
    let fault = rule.fault;
    rules.retain(|r| r.times > 0);
    Some(fault)
}

/// The 429 answer of `server`.
pub(crate) fn rate_limited(server: Server, retry_after: RetryAfter) -> Response {
    let mut response = match server {
        Server::CloudFoundry => {
            let body = json!({"errors": [{"code": 10013, "title": "CF-RateLimitExceeded",
                "detail": "Rate Limit Exceeded"}]});
            // Cloud Controller sends JSON labelled text/plain.
            let mut r = (StatusCode::TOO_MANY_REQUESTS, body.to_string()).into_response();
            let headers = r.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            headers.insert("x-ratelimit-limit", HeaderValue::from_static("20000"));
            headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            r
        }
        Server::Token => json_response(
            429,
            json!({"error": "too_many_requests", "error_description": "Too many requests, retry later"}),
        ),
        _ => json_response(
            429,
            json!({"error": "BadRequest", "description":
                "The allowed request limit of 1000 requests has been reached please try again later"}),
        ),
    };
    if let Some(value) = retry_after_value(retry_after)
        && let Ok(v) = HeaderValue::from_str(&value)
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

fn retry_after_value(retry_after: RetryAfter) -> Option<String> {
    let soon = chrono::Utc::now() + chrono::Duration::seconds(1);
    match retry_after {
        RetryAfter::Seconds(n) => Some(n.to_string()),
        RetryAfter::HttpDate => Some(soon.format("%a, %d %b %Y %H:%M:%S GMT").to_string()),
        RetryAfter::GoTime => Some(soon.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string()),
        RetryAfter::Absent => None,
    }
}

/// The error answer of `server` for a 5xx (or any) status.
pub(crate) fn server_error(server: Server, status: u16) -> Response {
    let body = match server {
        Server::CloudFoundry if status == 503 => json!({"errors": [{"code": 10015,
            "title": "CF-ServiceUnavailable", "detail": "Service unavailable (simulated)"}]}),
        Server::CloudFoundry => json!({"errors": [{"code": 10001, "title": "CF-ServerError",
            "detail": "An unknown error occurred."}]}),
        Server::Token => {
            json!({"error": "server_error", "error_description": "Internal server error (simulated)"})
        }
        _ => json!({"error": "InternalError", "description": "Internal server error (simulated)"}),
    };
    json_response(status, body)
}

/// A response whose body fails at once, so the server closes the connection before anything
/// (not even the status line) is flushed: the client sees a connection error.
pub(crate) fn dropped_connection() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<axum::body::Bytes, _>(std::io::Error::other("connection dropped by simulator"))
    });
    Response::new(Body::from_stream(stream))
}

/// A JSON response with any status (invalid statuses become 500).
pub(crate) fn json_response(status: u16, body: serde_json::Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}
