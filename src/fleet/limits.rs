//! The Service Manager's rate limits as data: which requests count against which limit, and how
//! many of them a sliding window may hold (pure).

use std::fmt;
use std::time::Duration;

use crate::http::Method;

/// One minute, the window of SAP's per-minute limits.
pub const MINUTE: Duration = Duration::from_secs(60);

/// One hour, the window of SAP's per-hour limits.
pub const HOUR: Duration = Duration::from_secs(3600);

/// What a limit counts: SAP counts every Service Manager request against [`Scope::All`] and,
/// at the same time, against the scope of its path and method.
///
/// Source: SAP's "Rate Limiting" page (`rate-limiting-97be679.md`), restated in
/// `service-manager-api.md` section 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Scope {
    /// Every Service Manager API request (`/v1/...`).
    All,
    /// `/v1/service_bindings` and everything under it, any method.
    Bindings,
    /// `/v1/service_offerings` and everything under it.
    Offerings,
    /// `/v1/service_plans` and everything under it.
    Plans,
    /// `POST /v1/service_instances` (instance creates).
    InstanceCreates,
    /// `PATCH /v1/service_instances/{id}` (instance updates).
    InstanceUpdates,
    /// `DELETE /v1/service_instances/{id}` (instance deletes).
    InstanceDeletes,
}

impl Scope {
    const ALL_SCOPES: [Scope; 7] = [
        Scope::All,
        Scope::Bindings,
        Scope::Offerings,
        Scope::Plans,
        Scope::InstanceCreates,
        Scope::InstanceUpdates,
        Scope::InstanceDeletes,
    ];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// A short name for messages (`all`, `bindings`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::All => "all requests",
            Scope::Bindings => "bindings",
            Scope::Offerings => "offerings",
            Scope::Plans => "plans",
            Scope::InstanceCreates => "instance creates",
            Scope::InstanceUpdates => "instance updates",
            Scope::InstanceDeletes => "instance deletes",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The set of scopes one request counts against (see [`Scopes::of`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// The scopes a Service Manager request counts against, from its method and URL path.
    ///
    /// Paths outside `/v1/` (the Cloud Foundry API, token endpoints, Cloud ALM APIs) count
    /// against nothing: SAP's limits are the Service Manager's.
    ///
    /// ```
    /// use calm_credentials::fleet::{Scope, Scopes};
    /// use calm_credentials::api::Method;
    /// let s = Scopes::of(Method::Post, "/v1/service_bindings");
    /// assert!(s.contains(Scope::All) && s.contains(Scope::Bindings));
    /// assert!(Scopes::of(Method::Post, "/v1/service_instances").contains(Scope::InstanceCreates));
    /// assert!(!Scopes::of(Method::Get, "/v1/service_instances").contains(Scope::InstanceCreates));
    /// assert!(Scopes::of(Method::Get, "/v3/service_credential_bindings").is_empty());
    /// ```
    pub fn of(method: Method, path: &str) -> Scopes {
        let Some(rest) = path.strip_prefix("/v1/") else {
            return Scopes::default();
        };
        let mut set = Scopes::default().with(Scope::All);
        let mut segments = rest.split('/').filter(|s| !s.is_empty());
        let collection = segments.next().unwrap_or("");
        let has_id = segments.next().is_some();
        match collection {
            "service_bindings" => set = set.with(Scope::Bindings),
            "service_offerings" => set = set.with(Scope::Offerings),
            "service_plans" => set = set.with(Scope::Plans),
            "service_instances" => {
                // Only the instance itself: reading its operations or parameters is neither.
                let extra = rest.split('/').filter(|s| !s.is_empty()).count() > 2;
                match (method, has_id, extra) {
                    (Method::Post, false, _) => set = set.with(Scope::InstanceCreates),
                    (Method::Patch, true, false) => set = set.with(Scope::InstanceUpdates),
                    (Method::Delete, true, false) => set = set.with(Scope::InstanceDeletes),
                    _ => {}
                }
            }
            _ => {}
        }
        set
    }

    /// This set with `scope` added.
    pub fn with(self, scope: Scope) -> Scopes {
        Scopes(self.0 | scope.bit())
    }

    /// Whether `scope` is in the set.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether the set is empty (the request is not rate limited).
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes in the set.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL_SCOPES
            .into_iter()
            .filter(move |s| self.contains(*s))
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// One limit: at most `max` requests of `scope` in any sliding window of length `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// What it counts.
    pub scope: Scope,
    /// The most requests any window of length `per` may hold (at least 1).
    pub max: u32,
    /// The window length.
    pub per: Duration,
}

/// The limits a client keeps to, and how it reacts to a 429.
///
/// [`RateLimits::documented`] are SAP's published limits (the defaults); change one with
/// [`RateLimits::set`] or [`RateLimits::per_minute`], and shrink every window at once with
/// [`RateLimits::scaled_to`] for tests against a simulator whose minute is shorter.
///
/// ```
/// use calm_credentials::fleet::{RateLimits, Scope};
/// use std::time::Duration;
/// let limits = RateLimits::documented().per_minute(Scope::Bindings, 300);
/// assert_eq!(limits.max_per(Scope::Bindings, Duration::from_secs(60)), Some(300));
/// assert_eq!(limits.max_per(Scope::All, Duration::from_secs(60)), Some(1000));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    pub(crate) rules: Vec<RateLimit>,
    pub(crate) margin: Duration,
    pub(crate) default_pause: Duration,
    pub(crate) max_pause: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::documented()
    }
}

impl RateLimits {
    /// SAP's documented Service Manager limits per OAuth client: per minute 1,000 in all, 600
    /// on bindings, 100 each on offerings and plans, 50 instance creates, 600 each instance
    /// updates and deletes; per hour 10,000 in all, 6,000 on bindings, 1,000 each on offerings
    /// and plans, 6,000 each instance updates and deletes.
    ///
    /// A margin of 1 s is added to every window (requests are counted where they are sent,
    /// the server counts where they arrive); a 429 without a readable `Retry-After` pauses the
    /// client 5 s; no pause lasts longer than 1 hour.
    pub fn documented() -> Self {
        use Scope::*;
        let m = |scope, max| RateLimit {
            scope,
            max,
            per: MINUTE,
        };
        let h = |scope, max| RateLimit {
            scope,
            max,
            per: HOUR,
        };
        RateLimits {
            rules: vec![
                m(All, 1000),
                m(Bindings, 600),
                m(Offerings, 100),
                m(Plans, 100),
                m(InstanceCreates, 50),
                m(InstanceUpdates, 600),
                m(InstanceDeletes, 600),
                h(All, 10_000),
                h(Bindings, 6000),
                h(Offerings, 1000),
                h(Plans, 1000),
                h(InstanceUpdates, 6000),
                h(InstanceDeletes, 6000),
            ],
            margin: Duration::from_secs(1),
            default_pause: Duration::from_secs(5),
            max_pause: HOUR,
        }
    }

    /// No limits at all (a 429 still pauses the client).
    pub fn none() -> Self {
        RateLimits {
            rules: Vec::new(),
            ..Self::documented()
        }
    }

    /// Sets the limit of `scope` over windows of length `per` to `max` (0 is taken as 1),
    /// replacing the one with the same scope and window, or adding it.
    pub fn set(mut self, scope: Scope, max: u32, per: Duration) -> Self {
        let max = max.max(1);
        match self
            .rules
            .iter_mut()
            .find(|r| r.scope == scope && r.per == per)
        {
            Some(rule) => rule.max = max,
            None => self.rules.push(RateLimit { scope, max, per }),
        }
        self
    }

    /// Sets the per-minute limit of `scope` (see [`RateLimits::set`]).
    pub fn per_minute(self, scope: Scope, max: u32) -> Self {
        self.set(scope, max, MINUTE)
    }

    /// Every window, the margin and the pauses scaled so that a minute lasts `minute`: for
    /// tests against a simulator with a shorter minute. An hour becomes 60 × `minute`.
    pub fn scaled_to(mut self, minute: Duration) -> Self {
        let scale = |d: Duration| d.mul_f64(minute.as_secs_f64() / MINUTE.as_secs_f64());
        for rule in &mut self.rules {
            rule.per = scale(rule.per);
        }
        self.margin = scale(self.margin);
        self.default_pause = scale(self.default_pause);
        self.max_pause = scale(self.max_pause);
        self
    }

    /// Time added to every window (default 1 s): a request sent just under the limit may
    /// reach the server later, so the client counts it a little longer.
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// How long a 429 without a readable `Retry-After` pauses the client (default 5 s).
    pub fn default_pause(mut self, pause: Duration) -> Self {
        self.default_pause = pause;
        self
    }

    /// The longest pause a server's `Retry-After` can impose (default 1 hour).
    pub fn max_pause(mut self, pause: Duration) -> Self {
        self.max_pause = pause;
        self
    }

    /// The limits, in no particular order.
    pub fn rules(&self) -> &[RateLimit] {
        &self.rules
    }

    /// The limit of `scope` over windows of length `per`, if one is set.
    pub fn max_per(&self, scope: Scope, per: Duration) -> Option<u32> {
        self.rules
            .iter()
            .find(|r| r.scope == scope && r.per == per)
            .map(|r| r.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        use Method::*;
        use Scope::*;
        let cases: &[(Method, &str, &[Scope])] = &[
            (Get, "/v1/service_offerings", &[All, Offerings]),
            (Get, "/v1/service_offerings/abc", &[All, Offerings]),
            (Get, "/v1/service_plans", &[All, Plans]),
            (Get, "/v1/service_bindings", &[All, Bindings]),
            (Post, "/v1/service_bindings", &[All, Bindings]),
            (Get, "/v1/service_bindings/b/operations/o", &[All, Bindings]),
            (Delete, "/v1/service_bindings/b", &[All, Bindings]),
            (Post, "/v1/service_instances", &[All, InstanceCreates]),
            (Post, "/v1/service_instances/", &[All, InstanceCreates]),
            (Get, "/v1/service_instances", &[All]),
            (Get, "/v1/service_instances/i", &[All]),
            (Patch, "/v1/service_instances/i", &[All, InstanceUpdates]),
            (Delete, "/v1/service_instances/i", &[All, InstanceDeletes]),
            (Get, "/v1/service_instances/i/operations/o", &[All]),
            (Get, "/v1/info", &[All]),
            (Get, "/v3/service_instances", &[]),
            (Post, "/oauth/token", &[]),
            (Get, "/", &[]),
            (Get, "/api/calm-tasks/v1/tasks", &[]),
        ];
        for (method, path, expected) in cases {
            let got: Vec<Scope> = Scopes::of(*method, path).iter().collect();
            assert_eq!(&got, expected, "{method} {path}");
        }
    }

    #[test]
    fn scaling_and_overrides() {
        let limits = RateLimits::documented()
            .per_minute(Scope::All, 0)
            .scaled_to(Duration::from_secs(2));
        assert_eq!(limits.max_per(Scope::All, Duration::from_secs(2)), Some(1));
        assert_eq!(
            limits.max_per(Scope::Bindings, Duration::from_secs(120)),
            Some(6000)
        );
        assert_eq!(limits.margin, Duration::from_secs(1).mul_f64(2.0 / 60.0));
        assert_eq!(limits.max_pause, Duration::from_secs(120));
    }
}
