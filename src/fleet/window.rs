//! The limiter's state machine, pure: a sliding-window log per limit, a shared pause, and the
//! adaptive rule. Time comes in as an argument, so it is tested over simulated time.
//!
//! # Why a log, not a GCRA
//! A request counts against several limits at once (a binding request against "all" and
//! "bindings"), and must be admitted by all of them or by none: a GCRA (`governor`) has no
//! look-ahead, so taking a cell from one limiter and then waiting on another sends the request
//! later than it was counted, which breaks the sliding-window bound. A GCRA with a burst of `N`
//! per minute also lets about `2N` through in some 60-second window; and its quota cannot be
//! lowered at run time, which the adaptive rule needs. A log of the admission times of the
//! last `max` requests per limit is exact, atomic across limits, and costs
//! `O(max)` memory per limit and client (about 25,000 instants for SAP's limits).
//!
//! # Guarantee
//! Admissions are counted over `per + margin`. At every admission the log of each limit the
//! request counts against holds fewer than `effective <= max` entries younger than that; so any
//! half-open window `[s, s + per)` holds at most `max` admissions (the last one in it saw all
//! the others in its log).
//!
//! # Adaptive rule
//! - On a 429 for a request sent after the last decrease, each limit with the shortest
//!   window (the per-minute ones) that the request counts against remembers the count its window held (capped at its current maximum) as a
//!   *ceiling* the server refused, and drops to half of it (at least 1). 429s for requests
//!   sent before that decrease were sent at the old rate and lower nothing more.
//! - Each full window without a 429 raises a lowered limit by a tenth of its configured value
//!   (at least 1), but only up to its *plateau*, nine tenths of the ceiling: a server whose
//!   real limit is lower than documented is then met just under that limit, without further
//!   429s.
//! - After 10 quiet windows at the plateau the ceiling is forgotten and the limit climbs on by
//!   a tenth per quiet window up to its configured value (so a server that was only busy for a
//!   while, or another program using the same client for a while, costs one probe 429 now
//!   and then).
//! - Every 429 pauses all requests of the client until its `Retry-After` (or the default pause
//!   when there is none), capped at the longest allowed pause.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::limits::{RateLimit, RateLimits, Scopes};

/// Quiet windows a lowered limit stays at its plateau before it probes above it again.
const PROBE_AFTER: u32 = 10;

#[derive(Debug)]
struct Rule {
    limit: RateLimit,
    /// The most admissions the window may hold now (`1..=limit.max`).
    effective: u32,
    /// The lowest count at which the server refused this limit, until the next probe.
    ceiling: Option<u32>,
    /// Start of the current quiet window, while `effective` is below `limit.max`.
    changed: Option<Instant>,
    /// Quiet windows spent at the plateau.
    quiet: u32,
    log: VecDeque<Instant>,
}

impl Rule {
    fn expire(&mut self, now: Instant, span: Duration) {
        while self.log.front().is_some_and(|t| *t + span <= now) {
            self.log.pop_front();
        }
    }

    /// Applies the quiet windows that passed since the last change.
    fn recover(&mut self, now: Instant) {
        let Some(changed) = self.changed else { return };
        let per = self.limit.per.max(Duration::from_nanos(1));
        let windows = now.saturating_duration_since(changed).as_nanos() / per.as_nanos();
        if windows == 0 {
            return;
        }
        let step = (self.limit.max / 10).max(1);
        for _ in 0..windows.min(10_000) {
            match self.ceiling {
                Some(ceiling) => {
                    let plateau = (ceiling.saturating_mul(9) / 10).max(1);
                    if self.effective < plateau {
                        self.effective = (self.effective.saturating_add(step)).min(plateau);
                    } else {
                        self.quiet += 1;
                        if self.quiet >= PROBE_AFTER {
                            self.ceiling = None;
                            self.quiet = 0;
                        }
                    }
                }
                None => {
                    self.effective = self.effective.saturating_add(step).min(self.limit.max);
                    if self.effective >= self.limit.max {
                        break;
                    }
                }
            }
        }
        let windows = u32::try_from(windows).unwrap_or(u32::MAX);
        self.changed = if self.ceiling.is_none() && self.effective >= self.limit.max {
            None
        } else {
            Some(changed + per.saturating_mul(windows))
        };
    }
}

/// A snapshot of one client's limiter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LimiterStats {
    /// Requests admitted so far.
    pub admitted: u64,
    /// 429 answers reported so far.
    pub rate_limited: u64,
    /// Pauses started by 429s, oldest first (the last 32): when the 429 was reported and until
    /// when the client was paused.
    pub pauses: Vec<(Instant, Instant)>,
    /// The limits in force now: `(limit, effective maximum)`; below the configured maximum
    /// after a 429.
    pub effective: Vec<(RateLimit, u32)>,
}

const PAUSE_HISTORY: usize = 32;

/// The state of one client.
#[derive(Debug)]
pub(crate) struct Window {
    rules: Vec<Rule>,
    margin: Duration,
    default_pause: Duration,
    max_pause: Duration,
    paused_until: Option<Instant>,
    last_decrease: Option<Instant>,
    admitted: u64,
    rate_limited: u64,
    pauses: VecDeque<(Instant, Instant)>,
}

impl Window {
    pub(crate) fn new(limits: &RateLimits) -> Self {
        Window {
            rules: limits
                .rules
                .iter()
                .map(|limit| Rule {
                    limit: *limit,
                    effective: limit.max.max(1),
                    ceiling: None,
                    changed: None,
                    quiet: 0,
                    log: VecDeque::new(),
                })
                .collect(),
            margin: limits.margin,
            default_pause: limits.default_pause,
            max_pause: limits.max_pause,
            paused_until: None,
            last_decrease: None,
            admitted: 0,
            rate_limited: 0,
            pauses: VecDeque::new(),
        }
    }

    /// Admits a request counting against `scopes` at `now`, or says when to ask again.
    pub(crate) fn try_admit(&mut self, scopes: Scopes, now: Instant) -> Result<(), Instant> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(until);
            }
            self.paused_until = None;
        }
        let margin = self.margin;
        let mut wait: Option<Instant> = None;
        for rule in self
            .rules
            .iter_mut()
            .filter(|r| scopes.contains(r.limit.scope))
        {
            rule.recover(now);
            let span = rule.limit.per + margin;
            rule.expire(now, span);
            let allowed = rule.effective as usize;
            if rule.log.len() >= allowed {
                let free_at = rule.log[rule.log.len() - allowed] + span;
                wait = Some(wait.map_or(free_at, |w| w.max(free_at)));
            }
        }
        if let Some(at) = wait {
            return Err(at);
        }
        for rule in self
            .rules
            .iter_mut()
            .filter(|r| scopes.contains(r.limit.scope))
        {
            rule.log.push_back(now);
        }
        self.admitted += 1;
        Ok(())
    }

    /// A request counting against `scopes`, admitted at `admitted_at`, was answered 429 at
    /// `now`; `retry_after` is the server's wait, if it gave a readable one.
    pub(crate) fn rate_limited(
        &mut self,
        scopes: Scopes,
        admitted_at: Instant,
        retry_after: Option<Duration>,
        now: Instant,
    ) {
        self.rate_limited += 1;
        let wait = retry_after
            .unwrap_or(self.default_pause)
            .min(self.max_pause);
        let until = now + wait;
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
        if self.pauses.len() == PAUSE_HISTORY {
            self.pauses.pop_front();
        }
        self.pauses.push_back((now, until));
        let stale = self.last_decrease.is_some_and(|d| admitted_at < d);
        if stale {
            return;
        }
        // Only the shortest windows are lowered: a per-hour limit is not learnt from a count
        // that a per-minute refusal gives (the pause covers an hourly refusal).
        let margin = self.margin;
        let Some(shortest) = self
            .rules
            .iter()
            .filter(|r| scopes.contains(r.limit.scope))
            .map(|r| r.limit.per)
            .min()
        else {
            return;
        };
        for rule in self
            .rules
            .iter_mut()
            .filter(|r| scopes.contains(r.limit.scope) && r.limit.per == shortest)
        {
            rule.expire(now, rule.limit.per + margin);
            let seen = u32::try_from(rule.log.len())
                .unwrap_or(u32::MAX)
                .min(rule.effective)
                .max(1);
            rule.ceiling = Some(rule.ceiling.map_or(seen, |c| c.min(seen)));
            rule.effective = (seen / 2).max(1);
            rule.changed = Some(now);
            rule.quiet = 0;
        }
        self.last_decrease = Some(now);
    }

    pub(crate) fn stats(&self) -> LimiterStats {
        LimiterStats {
            admitted: self.admitted,
            rate_limited: self.rate_limited,
            pauses: self.pauses.iter().copied().collect(),
            effective: self.rules.iter().map(|r| (r.limit, r.effective)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::limits::Scope;
    use crate::http::Method;
    use proptest::prelude::*;

    fn bindings() -> Scopes {
        Scopes::of(Method::Post, "/v1/service_bindings")
    }

    fn offerings() -> Scopes {
        Scopes::of(Method::Get, "/v1/service_offerings")
    }

    fn instances() -> Scopes {
        Scopes::of(Method::Get, "/v1/service_instances")
    }

    /// Drives the window like the async limiter does: every request is retried at the time it
    /// is told until admitted. Returns admission times and which scopes they counted against.
    fn run(
        limits: &RateLimits,
        arrivals: &[(Duration, Scopes)],
        start: Instant,
    ) -> Vec<(Instant, Scopes)> {
        let mut window = Window::new(limits);
        let mut pending: Vec<(Instant, Scopes)> = arrivals
            .iter()
            .map(|(offset, scopes)| (start + *offset, *scopes))
            .collect();
        let mut admitted = Vec::new();
        while !pending.is_empty() {
            // The earliest ready request goes next (ties: in order of arrival).
            let (index, _) = pending
                .iter()
                .enumerate()
                .min_by_key(|(i, (at, _))| (*at, *i))
                .expect("not empty");
            let (at, scopes) = pending[index];
            match window.try_admit(scopes, at) {
                Ok(()) => {
                    admitted.push((at, scopes));
                    pending.remove(index);
                }
                Err(later) => {
                    assert!(later > at, "a refusal always names a later time");
                    pending[index].0 = later;
                }
            }
        }
        admitted
    }

    /// The largest number of admissions of `scope` in any half-open window of length `per`.
    fn busiest(admitted: &[(Instant, Scopes)], scope: Scope, per: Duration) -> usize {
        let times: Vec<Instant> = admitted
            .iter()
            .filter(|(_, s)| s.contains(scope))
            .map(|(t, _)| *t)
            .collect();
        let mut sorted = times.clone();
        sorted.sort();
        // The busiest window can be taken to start at an admission.
        sorted
            .iter()
            .map(|start| {
                sorted
                    .iter()
                    .filter(|t| **t >= *start && **t < *start + per)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    fn small_limits() -> RateLimits {
        RateLimits::none()
            .set(Scope::All, 20, Duration::from_secs(60))
            .set(Scope::Bindings, 12, Duration::from_secs(60))
            .set(Scope::Offerings, 3, Duration::from_secs(60))
            .set(Scope::All, 50, Duration::from_secs(600))
            .margin(Duration::ZERO)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// No sliding window of any limit ever holds more than its maximum, whatever the
        /// arrival pattern, and every request is eventually admitted.
        #[test]
        fn no_sliding_window_exceeds_a_limit(
            arrivals in proptest::collection::vec((0u64..900_000, 0u8..3), 1..120),
        ) {
            let limits = small_limits();
            let arrivals: Vec<(Duration, Scopes)> = arrivals
                .into_iter()
                .map(|(ms, kind)| {
                    let scopes = match kind { 0 => bindings(), 1 => offerings(), _ => instances() };
                    (Duration::from_millis(ms), scopes)
                })
                .collect();
            let admitted = run(&limits, &arrivals, Instant::now());
            prop_assert_eq!(admitted.len(), arrivals.len());
            for rule in limits.rules() {
                let busiest = busiest(&admitted, rule.scope, rule.per);
                prop_assert!(busiest <= rule.max as usize,
                    "{} admissions of {:?} within {:?} (max {})", busiest, rule.scope, rule.per, rule.max);
            }
        }
    }

    #[test]
    fn a_burst_uses_the_whole_limit_then_waits_exactly_one_window() {
        let limits = RateLimits::none()
            .set(Scope::All, 5, Duration::from_secs(60))
            .margin(Duration::ZERO);
        let start = Instant::now();
        let arrivals: Vec<(Duration, Scopes)> =
            (0..11).map(|_| (Duration::ZERO, instances())).collect();
        let admitted = run(&limits, &arrivals, start);
        let offsets: Vec<u64> = admitted
            .iter()
            .map(|(t, _)| (*t - start).as_secs())
            .collect();
        assert_eq!(offsets, [0, 0, 0, 0, 0, 60, 60, 60, 60, 60, 120]);
    }

    #[test]
    fn the_margin_lengthens_the_window() {
        let limits = RateLimits::none()
            .set(Scope::All, 1, Duration::from_secs(60))
            .margin(Duration::from_secs(2));
        let start = Instant::now();
        let admitted = run(
            &limits,
            &[(Duration::ZERO, instances()), (Duration::ZERO, instances())],
            start,
        );
        assert_eq!(admitted[1].0 - start, Duration::from_secs(62));
    }

    #[test]
    fn a_request_counts_against_all_its_limits_or_none() {
        // Bindings are full: an offerings request must still pass, and must not be counted
        // against bindings; a binding request must wait without using up "all".
        let limits = RateLimits::none()
            .set(Scope::All, 10, Duration::from_secs(60))
            .set(Scope::Bindings, 2, Duration::from_secs(60))
            .margin(Duration::ZERO);
        let mut w = Window::new(&limits);
        let t0 = Instant::now();
        assert!(w.try_admit(bindings(), t0).is_ok());
        assert!(w.try_admit(bindings(), t0).is_ok());
        assert_eq!(
            w.try_admit(bindings(), t0),
            Err(t0 + Duration::from_secs(60))
        );
        for _ in 0..8 {
            assert!(w.try_admit(offerings(), t0).is_ok());
        }
        assert!(w.try_admit(offerings(), t0).is_err(), "all: 10 used");
        assert_eq!(w.stats().admitted, 10);
    }

    #[test]
    fn a_429_pauses_every_request_until_retry_after() {
        let limits = RateLimits::none().default_pause(Duration::from_secs(5));
        let mut w = Window::new(&limits);
        let t0 = Instant::now();
        assert!(w.try_admit(bindings(), t0).is_ok());
        w.rate_limited(bindings(), t0, Some(Duration::from_secs(30)), t0);
        let until = t0 + Duration::from_secs(30);
        for scopes in [bindings(), offerings(), instances()] {
            assert_eq!(
                w.try_admit(scopes, t0 + Duration::from_secs(29)),
                Err(until)
            );
        }
        assert!(w.try_admit(offerings(), until).is_ok());
        // No readable Retry-After: the default pause.
        w.rate_limited(offerings(), until, None, until);
        assert_eq!(
            w.try_admit(instances(), until),
            Err(until + Duration::from_secs(5))
        );
        // A server asking for longer than the cap is capped.
        let capped = RateLimits::documented().max_pause(Duration::from_secs(60));
        let mut w = Window::new(&capped);
        w.rate_limited(instances(), t0, Some(Duration::from_secs(86_400)), t0);
        assert_eq!(
            w.try_admit(instances(), t0),
            Err(t0 + Duration::from_secs(60))
        );
        let stats = w.stats();
        assert_eq!(stats.rate_limited, 1);
        assert_eq!(stats.pauses, [(t0, t0 + Duration::from_secs(60))]);
    }

    #[test]
    fn a_429_halves_the_observed_rate_once_then_recovers_to_a_plateau_then_probes() {
        let per = Duration::from_secs(60);
        let limits = RateLimits::none()
            .set(Scope::All, 100, per)
            .set(Scope::Bindings, 40, per)
            .margin(Duration::ZERO);
        let mut w = Window::new(&limits);
        let t0 = Instant::now();
        let mut sent = Vec::new();
        for i in 0..30 {
            let at = t0 + Duration::from_millis(i * 10);
            w.try_admit(bindings(), at).expect("under the limit");
            sent.push(at);
        }
        let now = t0 + Duration::from_secs(1);
        // The 30th binding request was refused: the server allows fewer than 30.
        w.rate_limited(bindings(), sent[29], Some(Duration::ZERO), now);
        let effective =
            |w: &Window| -> Vec<u32> { w.stats().effective.iter().map(|e| e.1).collect() };
        assert_eq!(effective(&w), [15, 15]);
        // Requests sent before the decrease that come back 429 lower nothing more.
        w.rate_limited(bindings(), sent[28], Some(Duration::ZERO), now);
        assert_eq!(effective(&w), [15, 15]);
        // Recovery: +10 (all) and +4 (bindings) per quiet window, up to the plateau 27
        // (nine tenths of the 30 the server refused).
        assert!(w.try_admit(instances(), now + per).is_ok());
        assert_eq!(effective(&w), [25, 15]);
        assert!(w.try_admit(bindings(), now + per * 3).is_ok());
        assert_eq!(effective(&w), [27, 27]);
        assert!(w.try_admit(bindings(), now + per * 12).is_ok());
        assert_eq!(effective(&w), [27, 27], "still at the plateau");
        // Ten quiet windows at the plateau (all: windows 3 to 12, bindings: 4 to 13): the
        // ceiling is forgotten and the limits climb again by a tenth per window.
        assert!(w.try_admit(bindings(), now + per * 14).is_ok());
        assert_eq!(effective(&w), [47, 31]);
        assert!(w.try_admit(bindings(), now + per * 40).is_ok());
        assert_eq!(effective(&w), [100, 40]);
    }

    #[test]
    fn a_429_lowers_only_the_per_minute_limits() {
        let limits = RateLimits::documented().margin(Duration::ZERO);
        let mut w = Window::new(&limits);
        let t0 = Instant::now();
        for _ in 0..10 {
            w.try_admit(bindings(), t0).expect("room");
        }
        w.rate_limited(bindings(), t0, None, t0);
        let lowered: Vec<(Scope, Duration, u32)> = w
            .stats()
            .effective
            .iter()
            .filter(|(limit, n)| *n < limit.max)
            .map(|(limit, n)| (limit.scope, limit.per, *n))
            .collect();
        assert_eq!(
            lowered,
            [
                (Scope::All, Duration::from_secs(60), 5),
                (Scope::Bindings, Duration::from_secs(60), 5)
            ]
        );
    }

    #[test]
    fn repeated_429s_lower_the_ceiling() {
        let per = Duration::from_secs(60);
        let limits = RateLimits::none()
            .set(Scope::Bindings, 600, per)
            .margin(Duration::ZERO);
        let mut w = Window::new(&limits);
        let mut now = Instant::now();
        // The server's real limit is 10; the client learns it from two 429s: refused at 14
        // in the window (plateau 12), then at 12 (plateau 10).
        for (burst, plateau) in [(14, 12), (12, 10)] {
            for _ in 0..burst {
                w.try_admit(bindings(), now).expect("room");
                now += Duration::from_millis(1);
            }
            w.rate_limited(bindings(), now, None, now);
            now += per * 5;
            assert!(w.try_admit(bindings(), now).is_ok());
            assert_eq!(w.stats().effective[0].1, plateau);
            now += per * 2;
        }
    }

    #[test]
    fn an_adapted_client_stays_under_a_lower_real_limit() {
        // The server allows 10 per minute, the client was told 40: after one 429 the client
        // sends at most 5 per window until it recovers a window later.
        let per = Duration::from_secs(60);
        let limits = RateLimits::none()
            .set(Scope::Bindings, 40, per)
            .margin(Duration::ZERO);
        let mut w = Window::new(&limits);
        let t0 = Instant::now();
        for i in 0..11 {
            w.try_admit(bindings(), t0 + Duration::from_millis(i))
                .expect("under the configured limit");
        }
        let now = t0 + Duration::from_millis(20);
        w.rate_limited(bindings(), t0 + Duration::from_millis(10), None, now);
        assert_eq!(w.stats().effective[0].1, 5);
        let mut admitted = 0;
        let mut at = now + Duration::from_secs(5);
        while at < now + per {
            if w.try_admit(bindings(), at).is_ok() {
                admitted += 1;
            }
            at += Duration::from_millis(100);
        }
        assert_eq!(admitted, 0, "the 11 in the window must first age out");
    }
}
