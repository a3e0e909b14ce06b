//! The Service Manager's rate limits (service-manager-api.md §9), enforced per OAuth client id
//! or user when switched on ([`ServerLimits`]), with a configurable length of a minute so that
//! tests run in seconds.
//!
//! Restated here rather than shared with the client's limiter, so that the simulator checks the
//! client instead of agreeing with it. Counting is a sliding window over the requests that were
//! let through (a client that keeps under a sliding window keeps under fixed windows too); a
//! request over a limit gets upstream's 429 (`error: BadRequest`, "The allowed request limit of
//! N requests has been reached please try again later") with a `Retry-After` in the form chosen
//! (SAP documents an HTTP-date), naming the moment the request would be let through, rounded
//! up to a whole second. Refused requests do not count.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use serde_json::json;

use super::faults::json_response;
use super::state::Shared;
use super::token::bearer;

/// How a simulated rate-limit 429 gives its `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LimitRetryAfter {
    /// An HTTP-date, as SAP's rate-limiting page documents (default).
    #[default]
    HttpDate,
    /// Go's `time.String` form, `2024-11-11 14:59:33 +0000 UTC`, as the service operator reads it.
    GoTime,
    /// Delta-seconds.
    Seconds,
    /// No header, as reported in crossplane-provider-btp issue 644.
    Absent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    All,
    Bindings,
    Offerings,
    Plans,
    InstanceCreates,
    InstanceUpdates,
    InstanceDeletes,
}

/// Kinds a request counts against (restated from SAP's table).
fn kinds(method: &str, path: &str) -> Vec<Kind> {
    let Some(rest) = path.strip_prefix("/v1/") else {
        return Vec::new();
    };
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let mut out = vec![Kind::All];
    match (parts.first().copied(), parts.len(), method) {
        (Some("service_bindings"), _, _) => out.push(Kind::Bindings),
        (Some("service_offerings"), _, _) => out.push(Kind::Offerings),
        (Some("service_plans"), _, _) => out.push(Kind::Plans),
        (Some("service_instances"), 1, "POST") => out.push(Kind::InstanceCreates),
        (Some("service_instances"), 2, "PATCH") => out.push(Kind::InstanceUpdates),
        (Some("service_instances"), 2, "DELETE") => out.push(Kind::InstanceDeletes),
        _ => {}
    }
    out
}

/// The limits a simulated Service Manager enforces per client id (or user).
///
/// [`ServerLimits::documented`] are SAP's published limits; lower one to play a server whose
/// real limits are lower than documented, and shorten the minute so tests take seconds:
///
/// ```
/// use calm_credentials::simulator::ServerLimits;
/// use std::time::Duration;
/// let limits = ServerLimits::documented()
///     .minute(Duration::from_secs(2))   // an hour lasts 120 s
///     .bindings_per_minute(20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    minute: Duration,
    rules: Vec<(Kind, u32, u32)>,
    retry_after: LimitRetryAfter,
}

impl ServerLimits {
    /// SAP's documented limits (per minute: 1,000 in all, 600 bindings, 100 offerings, 100
    /// plans, 50 instance creates, 600 instance updates, 600 instance deletes; per hour: 10,000,
    /// 6,000, 1,000, 1,000, –, 6,000, 6,000), a 60-second minute, `Retry-After` as an HTTP-date.
    pub fn documented() -> Self {
        use Kind::*;
        ServerLimits {
            minute: Duration::from_secs(60),
            rules: vec![
                (All, 1000, 1),
                (Bindings, 600, 1),
                (Offerings, 100, 1),
                (Plans, 100, 1),
                (InstanceCreates, 50, 1),
                (InstanceUpdates, 600, 1),
                (InstanceDeletes, 600, 1),
                (All, 10_000, 60),
                (Bindings, 6000, 60),
                (Offerings, 1000, 60),
                (Plans, 1000, 60),
                (InstanceUpdates, 6000, 60),
                (InstanceDeletes, 6000, 60),
            ],
            retry_after: LimitRetryAfter::HttpDate,
        }
    }

    /// How long a simulated minute lasts (an hour is 60 of them); default 60 s.
    pub fn minute(mut self, minute: Duration) -> Self {
        self.minute = minute.max(Duration::from_millis(1));
        self
    }

    fn set_per_minute(mut self, kind: Kind, max: u32) -> Self {
        for rule in &mut self.rules {
            if rule.0 == kind && rule.2 == 1 {
                rule.1 = max;
            }
        }
        self
    }

    /// Requests per minute in all.
    pub fn all_per_minute(self, max: u32) -> Self {
        self.set_per_minute(Kind::All, max)
    }

    /// Requests per minute on `/v1/service_bindings`.
    pub fn bindings_per_minute(self, max: u32) -> Self {
        self.set_per_minute(Kind::Bindings, max)
    }

    /// Requests per minute on `/v1/service_offerings`.
    pub fn offerings_per_minute(self, max: u32) -> Self {
        self.set_per_minute(Kind::Offerings, max)
    }

    /// Requests per minute on `/v1/service_plans`.
    pub fn plans_per_minute(self, max: u32) -> Self {
        self.set_per_minute(Kind::Plans, max)
    }

    /// Instance creates per minute.
    pub fn instance_creates_per_minute(self, max: u32) -> Self {
        self.set_per_minute(Kind::InstanceCreates, max)
    }

    /// The form of `Retry-After` on a 429.
    pub fn retry_after(mut self, form: LimitRetryAfter) -> Self {
        self.retry_after = form;
        self
    }
}

/// The counters of every caller.
#[derive(Debug)]
pub(crate) struct Enforcer {
    limits: ServerLimits,
    /// Per caller, per rule: times of the requests let through, oldest first.
    callers: HashMap<String, Vec<VecDeque<Instant>>>,
}

impl Enforcer {
    pub(crate) fn new(limits: ServerLimits) -> Self {
        Enforcer {
            limits,
            callers: HashMap::new(),
        }
    }

    /// Lets a request through (and counts it), or says which limit it breaks and when it
    /// would be let through.
    fn check(
        &mut self,
        caller: &str,
        method: &str,
        path: &str,
        now: Instant,
    ) -> Result<(), (u32, Instant)> {
        let kinds = kinds(method, path);
        if kinds.is_empty() {
            return Ok(());
        }
        let rules = &self.limits.rules;
        let minute = self.limits.minute;
        let logs = self
            .callers
            .entry(caller.to_owned())
            .or_insert_with(|| vec![VecDeque::new(); rules.len()]);
        let mut refused: Option<(u32, Instant)> = None;
        for (index, (kind, max, minutes)) in rules.iter().enumerate() {
            if !kinds.contains(kind) {
                continue;
            }
            let window = minute * *minutes;
            let log = &mut logs[index];
            while log.front().is_some_and(|t| *t + window <= now) {
                log.pop_front();
            }
            let max = (*max).max(1) as usize;
            if log.len() >= max {
                let free_at = log[log.len() - max] + window;
                if refused.is_none_or(|(_, at)| free_at > at) {
                    refused = Some((u32::try_from(max).unwrap_or(u32::MAX), free_at));
                }
            }
        }
        if let Some(refusal) = refused {
            return Err(refusal);
        }
        for (index, (kind, _, _)) in rules.iter().enumerate() {
            if kinds.contains(kind) {
                logs[index].push_back(now);
            }
        }
        Ok(())
    }
}

/// Who SAP counts a request against: the user of a user token, else the OAuth client id. Read
/// from the bearer token's claims without checking it (the handlers check it).
pub(crate) fn caller(headers: &HeaderMap) -> Option<String> {
    let token = bearer(headers)?;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    text("user_name")
        .map(|u| format!("user:{u}"))
        .or_else(|| text("client_id"))
}

/// Middleware on the Service Manager routes: 429 when the caller is over a limit.
pub(crate) async fn layer(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let now = Instant::now();
    let refusal = {
        let mut enforcer = shared.limits.lock().expect("limits lock");
        match (enforcer.as_mut(), caller(request.headers())) {
            (Some(enforcer), Some(caller)) => enforcer
                .check(
                    &caller,
                    request.method().as_str(),
                    request.uri().path(),
                    now,
                )
                .err()
                .map(|refusal| (refusal, enforcer.limits.retry_after)),
            _ => None,
        }
    };
    match refusal {
        None => next.run(request).await,
        Some(((max, free_at), form)) => too_many(max, free_at.saturating_duration_since(now), form),
    }
}

fn too_many(max: u32, wait: Duration, form: LimitRetryAfter) -> Response {
    let mut response = json_response(
        429,
        json!({"error": "BadRequest", "description": format!(
            "The allowed request limit of {max} requests has been reached please try again later")}),
    );
    // Whole seconds, rounded up: a client that waits as told is let through.
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let at = || {
        // An absolute time names a whole second: the first one at or after `now + wait`.
        let target = chrono::Utc::now()
            + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(24));
        let second = target.timestamp() + i64::from(target.timestamp_subsec_nanos() > 0);
        chrono::DateTime::from_timestamp(second, 0).unwrap_or(target)
    };
    let value = match form {
        LimitRetryAfter::HttpDate => Some(at().format("%a, %d %b %Y %H:%M:%S GMT").to_string()),
        LimitRetryAfter::GoTime => Some(at().format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string()),
        LimitRetryAfter::Seconds => Some(secs.to_string()),
        LimitRetryAfter::Absent => None,
    };
    if let Some(value) = value
        && let Ok(v) = HeaderValue::from_str(&value)
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_caller_per_kind_in_a_sliding_window() {
        let limits = ServerLimits::documented()
            .minute(Duration::from_secs(2))
            .bindings_per_minute(2)
            .all_per_minute(3);
        let mut e = Enforcer::new(limits);
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        assert!(e.check("a", "POST", "/v1/service_bindings", ms(0)).is_ok());
        assert!(e.check("a", "GET", "/v1/service_bindings", ms(100)).is_ok());
        assert_eq!(
            e.check("a", "GET", "/v1/service_bindings/x", ms(200)),
            Err((2, ms(2000)))
        );
        // Another caller has its own counters; paths outside /v1 are not limited.
        assert!(e.check("b", "GET", "/v1/service_bindings", ms(200)).is_ok());
        assert!(e.check("a", "GET", "/v3/apps", ms(200)).is_ok());
        // A refused request did not count: "all" still has one left.
        assert!(
            e.check("a", "GET", "/v1/service_instances", ms(300))
                .is_ok()
        );
        assert_eq!(
            e.check("a", "GET", "/v1/service_instances", ms(400)),
            Err((3, ms(2000)))
        );
        // The window slides.
        assert!(
            e.check("a", "GET", "/v1/service_bindings", ms(2000))
                .is_ok()
        );
    }

    #[test]
    fn instance_kinds_follow_sap_table() {
        assert_eq!(
            kinds("POST", "/v1/service_instances"),
            [Kind::All, Kind::InstanceCreates]
        );
        assert_eq!(kinds("GET", "/v1/service_instances/x"), [Kind::All]);
        assert_eq!(
            kinds("DELETE", "/v1/service_instances/x"),
            [Kind::All, Kind::InstanceDeletes]
        );
        assert!(kinds("POST", "/auth/z/oauth/token").is_empty());
    }
}
