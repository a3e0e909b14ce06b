//! End-to-end fault tests: every injectable fault against each environment's main journeys
//! (find existing credentials; create an instance and its credentials), through the public API
//! against the simulator.
//!
//! Each case runs on a fresh simulator. A fault is either survived, at a counted number of
//! extra HTTP requests over the fault-free journey, or reported with an error whose text names
//! the problem and whose `is_retryable()` tells the caller the truth. After a create journey the
//! resources are listed: whatever happened, nothing exists twice.
#![cfg(feature = "simulator")]

mod common;

use std::ops::RangeInclusive;
use std::time::Duration;

use calm_credentials::simulator::{AsyncMode, Fault, FaultRule, RetryAfter, Server, Simulator};
use calm_credentials::{
    CfSpace, Error, HttpClient, Provenance, Purpose, Retrieved, ServiceManager, verify,
};
use chrono::NaiveDate;

use common::sim::*;

/// The tenant every journey runs in: it has generated credentials to find, and transport
/// management makes it create an instance and credentials.
const TENANT: &str = "calm-monitoring";

/// A request timeout that a healthy request on a busy machine stays well within, and the
/// delay of a slow answer that exceeds it.
/// Slow cases run with few others at a time, so that no other case's load eats into this
/// margin.
const SHORT_TIMEOUT: Duration = Duration::from_millis(500);
const SLOW: Duration = Duration::from_millis(1200);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Env {
    Sm,
    Cf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Journey {
    /// The seeded instance and credentials, by name (warm token: SM 2 requests, CF 3).
    Find,
    /// Transport management in a monitoring-only tenant: instance and credentials created.
    Create,
}

/// Which request of the journey a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The first API request: the instance lookup by name.
    Lookup,
    /// The token request of a cold start.
    Token,
    /// The instance create.
    CreateInstance,
    /// The binding or service key create.
    CreateCredentials,
}

impl Target {
    fn rule(self, env: Env, fault: Fault) -> FaultRule {
        let (server, method, path) = match (self, env) {
            (Target::Lookup, Env::Sm) => (Server::ServiceManager, "GET", "/v1/service_instances"),
            (Target::Lookup, Env::Cf) => (Server::CloudFoundry, "GET", "/v3/service_instances"),
            (Target::Token, Env::Sm) => (Server::Token, "POST", "/auth/calm-monitoring/"),
            (Target::Token, Env::Cf) => (Server::Token, "POST", "/auth/uaa/"),
            (Target::CreateInstance, Env::Sm) => {
                (Server::ServiceManager, "POST", "/v1/service_instances")
            }
            (Target::CreateInstance, Env::Cf) => {
                (Server::CloudFoundry, "POST", "/v3/service_instances")
            }
            (Target::CreateCredentials, Env::Sm) => {
                (Server::ServiceManager, "POST", "/v1/service_bindings")
            }
            (Target::CreateCredentials, Env::Cf) => (
                Server::CloudFoundry,
                "POST",
                "/v3/service_credential_bindings",
            ),
        };
        FaultRule::new(server, method, path, fault)
    }
}

/// What a fault should come to.
#[derive(Debug, Clone)]
enum Expect {
    /// The journey succeeds with this many requests more (or fewer) than without the fault.
    Survived(RangeInclusive<i64>),
    /// The journey fails; the message contains every fragment; `is_retryable()` says so.
    Reported {
        retryable: bool,
        says: Vec<&'static str>,
    },
}

fn survived(extra: i64) -> Expect {
    Expect::Survived(extra..=extra)
}

fn reported(retryable: bool, says: &[&'static str]) -> Expect {
    Expect::Reported {
        retryable,
        says: says.to_vec(),
    }
}

/// One row of a fault table.
struct Case {
    fault: Fault,
    times: u32,
    target: Target,
    timeout: Duration,
    expect: Expect,
}

fn case(fault: Fault, target: Target, expect: Expect) -> Case {
    Case {
        fault,
        times: 1,
        target,
        timeout: Duration::from_secs(5),
        expect,
    }
}

impl Case {
    fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }

    fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }
}

/// A client for one environment: a Service Manager, or a Cloud Foundry space known by GUID.
enum Client {
    Sm(ServiceManager),
    Cf(Box<CfSpace>),
}

impl Client {
    async fn new(sim: &Simulator, env: Env, http: HttpClient) -> Client {
        match env {
            Env::Sm => Client::Sm(sm_for(sim, TENANT, http)),
            Env::Cf => {
                // The space is resolved by another client, so this one stays cold.
                let resolver = cf_for(sim, common::sim::http()).await;
                let guid = resolver.space(TENANT, "dev").guid().await.unwrap();
                Client::Cf(Box::new(cf_for(sim, http).await.space_by_id(guid)))
            }
        }
    }

    fn http(&self) -> &HttpClient {
        match self {
            Client::Sm(sm) => sm.http(),
            Client::Cf(space) => space.cloud_foundry().http(),
        }
    }

    /// Gets the token now, so the journey's requests are the API's only (the requests that
    /// get it are left out of the count).
    async fn warm_up(&self) {
        match self {
            Client::Sm(sm) => {
                sm.list().await.unwrap();
            }
            Client::Cf(space) => {
                // Another handle on the same connection: this one stays known by GUID.
                let cf = space.cloud_foundry();
                cf.space(TENANT, "dev").guid().await.unwrap();
            }
        }
    }

    async fn run(&self, journey: Journey) -> Result<Retrieved, Error> {
        let (tenant, purpose) = match journey {
            Journey::Find => (
                tenant_of_unknown_tier(TENANT),
                Purpose::OperationsMonitoring,
            ),
            Journey::Create => {
                let date = NaiveDate::from_ymd_opt(2023, 8, 1).unwrap();
                (tenant_on(TENANT, date), Purpose::TransportManagement)
            }
        };
        let builder = match self {
            Client::Sm(sm) => sm.credentials(&tenant, purpose),
            Client::Cf(space) => space.credentials(&tenant, purpose),
        };
        let builder = match (journey, self) {
            (Journey::Find, Client::Sm(_)) => builder
                .instance("cloud-alm-api")
                .name("cloud-alm-api-binding"),
            (Journey::Find, Client::Cf(_)) => {
                builder.instance("cloud-alm-api").name("cloud-alm-api-key")
            }
            (Journey::Create, _) => builder,
        };
        creating(builder).await
    }

    /// `(instance name, credentials count)` of every Cloud ALM API instance, listed afresh.
    async fn inventory(&self) -> Vec<(String, usize)> {
        match self {
            Client::Sm(sm) => sm_inventory(sm).await,
            Client::Cf(space) => cf_inventory(space).await,
        }
    }
}

/// The fault-free journey's request count.
async fn baseline(env: Env, journey: Journey, cold: bool) -> u64 {
    let sim = Simulator::start().await.unwrap();
    let client = Client::new(&sim, env, http()).await;
    if !cold {
        client.warm_up().await;
    }
    let before = client.http().request_count();
    client.run(journey).await.unwrap();
    client.http().request_count() - before
}

fn inventory_after_create(created: bool) -> Vec<(String, usize)> {
    let mut all = vec![("cloud-alm-api".to_owned(), 1)];
    if created {
        all.push(("cloud-alm-api-transport".to_owned(), 1));
    }
    all
}

/// Runs every case, each on a fresh simulator, and fails with every mismatch; `parallel` runs
/// them concurrently. The observed outcome of each case is printed (see it with
/// `--nocapture`).
async fn run_table(env: Env, journey: Journey, cases: Vec<Case>, parallel: bool) {
    let cold = cases.iter().any(|c| c.target == Target::Token);
    assert!(
        cases.iter().all(|c| (c.target == Target::Token) == cold),
        "token cases go in their own table"
    );
    let base = baseline(env, journey, cold).await;
    let mut failures = Vec::new();
    if parallel {
        let mut tasks = tokio::task::JoinSet::new();
        for c in cases {
            tasks.spawn(run_case(env, journey, cold, base, c));
        }
        while let Some(result) = tasks.join_next().await {
            failures.extend(result.unwrap());
        }
    } else {
        for c in cases {
            failures.extend(run_case(env, journey, cold, base, c).await);
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// One case; returns its mismatches.
async fn run_case(env: Env, journey: Journey, cold: bool, base: u64, c: Case) -> Vec<String> {
    let label = format!(
        "{env:?} {journey:?} {:?}×{} on {:?}",
        c.fault, c.times, c.target
    );
    let mut failures = Vec::new();
    let sim = Simulator::start().await.unwrap();
    let client = Client::new(&sim, env, http_with_timeout(c.timeout)).await;
    if !cold {
        client.warm_up().await;
    }
    sim.inject(c.target.rule(env, c.fault).times(c.times));
    let before = client.http().request_count();
    let started = tokio::time::Instant::now();
    let outcome = client.run(journey).await;
    let spent = client.http().request_count() - before;
    let extra = i64::try_from(spent).unwrap() - i64::try_from(base).unwrap();
    match (&c.expect, &outcome) {
        (Expect::Survived(range), Ok(got)) => {
            println!("{label}: survived, {extra:+} requests");
            if !range.contains(&extra) {
                failures.push(format!("{label}: {extra:+} requests, expected {range:?}"));
            }
            if journey == Journey::Create && got.credential_provenance != Provenance::Created {
                failures.push(format!("{label}: credentials not reported as created"));
            }
            let check = verify(&got.key, &common::sim::http()).await.unwrap();
            if !check.works {
                failures.push(format!("{label}: key does not work: {:?}", check.problem));
            }
        }
        (Expect::Reported { retryable, says }, Err(e)) => {
            let text = e.to_string();
            println!("{label}: reported (retryable {}): {text}", e.is_retryable());
            if e.is_retryable() != *retryable {
                failures.push(format!(
                    "{label}: is_retryable() = {}, expected {retryable}: {text}",
                    e.is_retryable()
                ));
            }
            for fragment in says {
                if !text.contains(fragment) {
                    failures.push(format!("{label}: `{fragment}` missing from: {text}"));
                }
            }
        }
        (Expect::Survived(_), Err(e)) => {
            failures.push(format!("{label}: expected to survive, failed: {e}"))
        }
        (Expect::Reported { .. }, Ok(_)) => {
            failures.push(format!("{label}: expected an error, succeeded ({extra:+})"))
        }
    }
    if journey == Journey::Create {
        if matches!(c.fault, Fault::Slow(_)) {
            // A slow create the client gave up on may still be carried out: give it time to
            // land before counting what exists.
            tokio::time::sleep_until(started + SLOW + Duration::from_millis(300)).await;
        }
        let have = client.inventory().await;
        let ok = match &outcome {
            Ok(_) => have == inventory_after_create(true),
            // A failed journey leaves at most one of each: nothing, the instance alone (its
            // credentials refused), or both.
            Err(_) => {
                let instance_alone = vec![
                    ("cloud-alm-api".to_owned(), 1),
                    ("cloud-alm-api-transport".to_owned(), 0),
                ];
                [
                    inventory_after_create(true),
                    inventory_after_create(false),
                    instance_alone,
                ]
                .contains(&have)
            }
        };
        if !ok {
            failures.push(format!("{label}: resources afterwards: {have:?}"));
        }
    }
    failures
}

/// Faults on the first lookup of a journey: both journeys start with it.
fn lookup_faults(env: Env) -> Vec<Case> {
    let l = Target::Lookup;
    let server_error: &[&str] = match env {
        Env::Sm => &[
            "answered 500",
            "InternalError",
            "Internal server error (simulated)",
        ],
        Env::Cf => &[
            "answered 500",
            "CF-ServerError",
            "An unknown error occurred",
        ],
    };
    vec![
        case(Fault::RateLimited(RetryAfter::Seconds(1)), l, survived(1)),
        case(Fault::RateLimited(RetryAfter::HttpDate), l, survived(1)),
        case(Fault::RateLimited(RetryAfter::GoTime), l, survived(1)),
        case(Fault::RateLimited(RetryAfter::Absent), l, survived(1)),
        case(Fault::ServerError(502), l, survived(1)),
        case(Fault::ServerError(503), l, survived(1)),
        case(Fault::ServerError(504), l, survived(1)),
        // A refused token is renewed once and the request sent again.
        case(Fault::ServerError(401), l, survived(2)),
        case(Fault::DropConnection, l, survived(1)),
        case(Fault::Slow(Duration::from_millis(50)), l, survived(0)),
        // 500 is not transient: reported at once.
        case(Fault::ServerError(500), l, reported(false, server_error)),
        // Transient faults that outlast the retry policy.
        case(
            Fault::RateLimited(RetryAfter::Absent),
            l,
            reported(true, &["answered 429", "rate limited"]),
        )
        .times(ATTEMPTS),
        case(
            Fault::ServerError(503),
            l,
            reported(true, &["answered 503", "retry later"]),
        )
        .times(ATTEMPTS),
        case(
            Fault::DropConnection,
            l,
            reported(true, &["after 4 attempt(s)", "closed"]),
        )
        .times(ATTEMPTS),
    ]
}

/// Faults on the token request of a cold start.
fn token_faults() -> Vec<Case> {
    let t = Target::Token;
    vec![
        case(Fault::RateLimited(RetryAfter::Absent), t, survived(1)),
        case(Fault::RateLimited(RetryAfter::HttpDate), t, survived(1)),
        case(Fault::ServerError(503), t, survived(1)),
        case(Fault::DropConnection, t, survived(1)),
        case(
            Fault::ServerError(500),
            t,
            reported(true, &["token request", "(500)", "token server is failing"]),
        ),
        case(
            Fault::ServerError(401),
            t,
            reported(false, &["token request", "(401)", "client id or secret"]),
        ),
        case(
            Fault::DropConnection,
            t,
            reported(true, &["after 4 attempt(s)", "closed"]),
        )
        .times(ATTEMPTS),
    ]
}

/// Extra requests after a lost create answer: the Service Manager looks the resource up
/// (+1); Cloud Foundry looks it up instead of polling the create's job (-1 or 0).
fn lost_answer(env: Env) -> Expect {
    match env {
        Env::Sm => survived(1),
        Env::Cf => Expect::Survived(-1..=0),
    }
}

/// Faults on the creates: nothing is ever made twice.
fn create_faults(env: Env) -> Vec<Case> {
    let mut cases = Vec::new();
    for target in [Target::CreateInstance, Target::CreateCredentials] {
        cases.extend([
            // The platform refuses before doing anything: sent again at once.
            case(Fault::RateLimited(RetryAfter::GoTime), target, survived(1)),
            // Created, answer lost: looked up by name and adopted; Cloud Foundry then has no
            // job to poll, so it may even spend fewer requests than without the fault.
            case(Fault::LoseResponse, target, lost_answer(env)),
            // Not created, connection dropped: looked up, then sent once more.
            case(Fault::DropConnection, target, survived(2)),
            case(Fault::ServerError(503), target, survived(2)),
            // The one get-or-create rule of both platforms: a lookup before each resend, at
            // most three sends in all.
            case(Fault::ServerError(503), target, survived(4)).times(2),
            case(Fault::ServerError(503), target, reported(true, &["503"])).times(3),
        ]);
    }
    // A 500 on a create leaves the outcome unknown on both platforms: looked up, then resent.
    cases.push(case(
        Fault::ServerError(500),
        Target::CreateInstance,
        survived(2),
    ));
    cases
}

/// Answers slower than the request timeout, one journey at a time.
async fn slow_answers(env: Env) {
    let slow = |target| case(Fault::Slow(SLOW), target, survived(1)).timeout(SHORT_TIMEOUT);
    let find = vec![
        // Timed out, sent again.
        slow(Target::Lookup),
        case(
            Fault::Slow(SLOW),
            Target::Lookup,
            reported(true, &["after 4 attempt(s)", "timed out"]),
        )
        .times(ATTEMPTS)
        .timeout(SHORT_TIMEOUT),
    ];
    // A create held until the client gave up: looked up, sent once more, and never a second
    // resource.
    let create = [Target::CreateInstance, Target::CreateCredentials]
        .map(|t| case(Fault::Slow(SLOW), t, survived(2)).timeout(SHORT_TIMEOUT));
    // Three journeys at a time at most: light enough for healthy requests to stay quick.
    tokio::join!(
        run_table(env, Journey::Find, find, false),
        run_table(env, Journey::Find, vec![slow(Target::Token)], false),
        run_table(env, Journey::Create, create.into(), false),
    );
}

#[tokio::test]
async fn service_manager_survives_or_reports_slow_answers() {
    slow_answers(Env::Sm).await;
}

#[tokio::test]
async fn cloud_foundry_survives_or_reports_slow_answers() {
    slow_answers(Env::Cf).await;
}

#[tokio::test]
async fn service_manager_find_survives_or_reports_every_fault() {
    run_table(Env::Sm, Journey::Find, lookup_faults(Env::Sm), true).await;
}

#[tokio::test]
async fn cloud_foundry_find_survives_or_reports_every_fault() {
    run_table(Env::Cf, Journey::Find, lookup_faults(Env::Cf), true).await;
}

#[tokio::test]
async fn service_manager_cold_start_survives_or_reports_token_faults() {
    run_table(Env::Sm, Journey::Find, token_faults(), true).await;
}

#[tokio::test]
async fn cloud_foundry_cold_start_survives_or_reports_token_faults() {
    run_table(Env::Cf, Journey::Find, token_faults(), true).await;
}

#[tokio::test]
async fn service_manager_create_never_duplicates() {
    run_table(Env::Sm, Journey::Create, create_faults(Env::Sm), true).await;
}

#[tokio::test]
async fn cloud_foundry_create_never_duplicates() {
    run_table(Env::Cf, Journey::Create, create_faults(Env::Cf), true).await;
}

/// Tokens that expire while the journey waits on the platform are renewed, without an error.
#[tokio::test]
async fn tokens_expiring_mid_journey_are_renewed() {
    tokio::join!(token_expiry(Env::Sm), token_expiry(Env::Cf));
}

async fn token_expiry(env: Env) {
    {
        let sim = Simulator::start().await.unwrap();
        sim.set_token_lifetime(Duration::from_secs(1));
        sim.set_async_mode(AsyncMode::Async);
        // Each create outlives a token.
        sim.set_operation_duration(Duration::from_millis(1300));
        let client = Client::new(&sim, env, http()).await;
        sim.clear_requests();
        let got = client
            .run(Journey::Create)
            .await
            .unwrap_or_else(|e| panic!("{env:?}: {e}"));
        assert_eq!(got.credential_provenance, Provenance::Created, "{env:?}");
        let tokens = sim
            .requests()
            .iter()
            .filter(|r| r.server == Server::Token)
            .count();
        assert!(tokens >= 3, "{env:?}: {tokens} token requests");
        assert_eq!(client.inventory().await, inventory_after_create(true));
    }
}
