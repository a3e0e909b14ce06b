//! Fixtures for end-to-end tests against the simulator: clients for both environments with a
//! fast retry policy, the default tenants' dates, the three purposes, and request-log counts.

#![allow(dead_code)]

use std::time::Duration;

use calm_credentials::simulator::{Server, Simulator};
use calm_credentials::{
    CfCredentials, CfSpace, CloudFoundry, CredentialsBuilder, HttpClient, Provenance, Purpose,
    RetireStaleBuilder, RetryPolicy, RotateBuilder, ServiceManager, Tenant,
};
use chrono::NaiveDate;

/// Attempts in total of the fast policy (the first included).
pub const ATTEMPTS: u32 = 4;

/// Retries within milliseconds: server-requested waits are capped at 50 ms, so every
/// `Retry-After` form costs the same and the suites stay quick.
pub fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: ATTEMPTS,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_millis(50),
    }
}

/// An HTTP client with [`fast_policy`] and the given request timeout.
pub fn http_with_timeout(timeout: Duration) -> HttpClient {
    HttpClient::builder()
        .retry_policy(fast_policy())
        .request_timeout(timeout)
        .build()
        .unwrap()
}

/// An HTTP client with [`fast_policy`] and a 5 s request timeout.
pub fn http() -> HttpClient {
    http_with_timeout(Duration::from_secs(5))
}

/// A Service Manager client for a tenant, from the simulator's SM key (cold token).
pub fn sm_for(sim: &Simulator, subdomain: &str, http: HttpClient) -> ServiceManager {
    sim.service_manager(subdomain).unwrap().with_http(http)
}

/// The simulator's Cloud Foundry user: name, password and origin, in plain text (for tests
/// that send raw requests).
pub struct CfUser {
    pub username: String,
    pub password: String,
    pub origin: Option<String>,
}

pub fn cf_user(sim: &Simulator) -> CfUser {
    use secrecy::ExposeSecret;
    match sim.cf_login().credentials {
        CfCredentials::Password {
            username,
            password,
            origin,
        } => CfUser {
            username,
            password: password.expose_secret().to_owned(),
            origin,
        },
        other => panic!("the simulator logs in with a password, not {other:?}"),
    }
}

/// A Cloud Foundry client logged in as the simulator's user (cold token; discovery done).
pub async fn cf_for(sim: &Simulator, http: HttpClient) -> CloudFoundry {
    CloudFoundry::connect_with(sim.cf_login(), http)
        .await
        .unwrap()
}

/// The deadline of every wait in these tests.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A journey that creates what is missing, with short waits.
pub fn creating(journey: CredentialsBuilder<'_>) -> CredentialsBuilder<'_> {
    finding(journey).create_missing()
}

/// A journey that only finds, with short waits.
pub fn finding(journey: CredentialsBuilder<'_>) -> CredentialsBuilder<'_> {
    journey
        .deadline(DEADLINE)
        .poll_intervals(Duration::from_millis(5), Duration::from_millis(25))
}

/// A rotation with short waits.
pub fn rotating(rotation: RotateBuilder<'_>) -> RotateBuilder<'_> {
    rotation
        .deadline(DEADLINE)
        .poll_intervals(Duration::from_millis(5), Duration::from_millis(25))
}

/// A retirement of stale bindings with short waits.
pub fn retiring(retirement: RetireStaleBuilder<'_>) -> RetireStaleBuilder<'_> {
    retirement
        .deadline(DEADLINE)
        .poll_intervals(Duration::from_millis(5), Duration::from_millis(25))
}

/// A tenant of the simulator's region provisioned on `day`.
pub fn tenant_on(subdomain: &str, day: NaiveDate) -> Tenant {
    Tenant::new(subdomain, "eu10").provisioned_on(day)
}

/// A tenant whose provisioning day is unknown (so is its tier).
pub fn tenant_of_unknown_tier(subdomain: &str) -> Tenant {
    Tenant::new(subdomain, "eu10")
}

/// The default tenants with their provisioning dates.
pub fn tenants() -> [(&'static str, NaiveDate); 3] {
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    [
        ("calm-auto", d(2024, 3, 1)),
        ("calm-monitoring", d(2023, 8, 1)),
        ("calm-manual", d(2023, 1, 15)),
    ]
}

/// The scope own API access asks for in these tests.
pub const API_SCOPE: &str = "calm-api.tasks.read";

/// The three purposes (API access with [`API_SCOPE`]).
pub fn purposes() -> [Purpose; 3] {
    [
        Purpose::OperationsMonitoring,
        Purpose::TransportManagement,
        Purpose::ApiAccess {
            scopes: vec![API_SCOPE.into()],
        },
    ]
}

/// Whether a tenant's generated credentials serve `purpose` (automatic: monitoring and
/// transport; monitoring-only: monitoring), i.e. whether a journey finds rather than creates.
pub fn generated_for(subdomain: &str, purpose: &Purpose) -> bool {
    matches!(
        (subdomain, purpose),
        (
            "calm-auto",
            Purpose::OperationsMonitoring | Purpose::TransportManagement
        ) | ("calm-monitoring", Purpose::OperationsMonitoring)
    )
}

/// What a first journey should report for both the instance and the credentials.
pub fn expected_provenance(subdomain: &str, purpose: &Purpose) -> Provenance {
    if generated_for(subdomain, purpose) {
        Provenance::Found
    } else {
        Provenance::Created
    }
}

/// Scope suffixes the token must carry for `purpose` (scopes come prefixed with the
/// `xsappname`, e.g. `sapcloudalm!b1.`).
pub fn needed_scopes(purpose: &Purpose) -> Vec<String> {
    match purpose {
        Purpose::TransportManagement => vec![
            ".imp-cdm-feature-display-ui".into(),
            ".imp-cdm-feature-manage-ui".into(),
        ],
        Purpose::ApiAccess { scopes } => scopes.iter().map(|s| format!(".{s}")).collect(),
        _ => Vec::new(),
    }
}

/// Requests the simulator served with `method` on `server`.
pub fn count(sim: &Simulator, server: Server, method: &str) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.server == server && r.method == method)
        .count()
}

/// Requests the simulator served on `server`.
pub fn served(sim: &Simulator, server: Server) -> usize {
    sim.requests().iter().filter(|r| r.server == server).count()
}

/// POSTs to the platform APIs (token requests left out: they create nothing).
pub fn platform_posts(sim: &Simulator) -> usize {
    count(sim, Server::ServiceManager, "POST") + count(sim, Server::CloudFoundry, "POST")
}

/// Instances of the Cloud ALM API offering in the tenant's subaccount and their bindings, as
/// `(instance name, binding count)`, listed afresh.
pub async fn sm_inventory(sm: &ServiceManager) -> Vec<(String, usize)> {
    let mut all: Vec<(String, usize)> = sm
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.instance.name, l.credentials.len()))
        .collect();
    all.sort();
    all
}

/// Instances of the Cloud ALM API offering in the space and their keys, as
/// `(instance name, key count)`, listed afresh.
pub async fn cf_inventory(space: &CfSpace) -> Vec<(String, usize)> {
    let mut all: Vec<(String, usize)> = space
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.instance.name, l.credentials.len()))
        .collect();
    all.sort();
    all
}
