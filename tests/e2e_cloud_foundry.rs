//! End-to-end tests of the Cloud Foundry path against the simulator: every tier and purpose in a
//! space, idempotency, faults and request counts.
#![cfg(feature = "simulator")]

mod common;

use std::time::Duration;

use calm_credentials::simulator::{AsyncMode, Fault, FaultRule, RetryAfter, Server, Simulator};
use calm_credentials::{
    CloudFoundry, CredentialsBuilder, Error, HttpClient, Provenance, ProvisioningTier, Purpose,
    Retrieved, RetryPolicy, Tenant,
};
use chrono::NaiveDate;

fn http() -> HttpClient {
    HttpClient::builder()
        .retry_policy(RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(2),
        })
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn sim() -> Simulator {
    let sim = Simulator::start().await.unwrap();
    sim.set_async_mode(AsyncMode::Async);
    sim.set_operation_duration(Duration::from_millis(60));
    sim
}

async fn connect(sim: &Simulator) -> CloudFoundry {
    CloudFoundry::connect_with(sim.cf_login(), http())
        .await
        .unwrap()
}

/// Short waits; finds only.
fn find_only(journey: CredentialsBuilder<'_>) -> CredentialsBuilder<'_> {
    journey
        .deadline(Duration::from_secs(20))
        .poll_intervals(Duration::from_millis(10), Duration::from_millis(50))
}

/// Short waits; creates what is missing.
fn opts(journey: CredentialsBuilder<'_>) -> CredentialsBuilder<'_> {
    find_only(journey).create_missing()
}

fn date(tenant: &str) -> NaiveDate {
    let (y, m, d) = match tenant {
        "calm-auto" => (2024, 3, 1),
        "calm-monitoring" => (2023, 8, 1),
        _ => (2023, 1, 15),
    };
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn purposes() -> [Purpose; 3] {
    [
        Purpose::OperationsMonitoring,
        Purpose::TransportManagement,
        Purpose::ApiAccess {
            scopes: vec!["calm-api.projects.read".into()],
        },
    ]
}

fn posts(sim: &Simulator) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.server == Server::CloudFoundry && r.method == "POST")
        .count()
}

/// The journey in space `dev` of the tenant's org, the space looked up by name each time.
async fn run(cf: &CloudFoundry, tenant: &str, purpose: Purpose) -> Result<Retrieved, Error> {
    let day = Tenant::new(tenant, "eu10").provisioned_on(date(tenant));
    opts(cf.space(tenant, "dev").credentials(&day, purpose)).await
}

#[tokio::test]
async fn every_tier_and_purpose_then_nothing_more_on_a_second_run() {
    let sim = sim().await;
    sim.configure_entitlement("calm-manual");
    let cf = connect(&sim).await;
    for tenant in ["calm-auto", "calm-monitoring", "calm-manual"] {
        for purpose in purposes() {
            let label = format!("{tenant} {}", purpose.as_str());
            let first = run(&cf, tenant, purpose.clone())
                .await
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            let tier = first.plan.tier.unwrap();
            let generated = matches!(
                (tier, &purpose),
                (
                    ProvisioningTier::Automatic,
                    Purpose::OperationsMonitoring | Purpose::TransportManagement
                ) | (
                    ProvisioningTier::MonitoringOnly,
                    Purpose::OperationsMonitoring
                )
            );
            let want = if generated {
                Provenance::Found
            } else {
                Provenance::Created
            };
            assert_eq!(first.credential_provenance, want, "{label}");
            if generated {
                assert_eq!(first.credential.name, "cloud-alm-api-key", "{label}");
            }
            assert_eq!(
                first.key.credential_type().map(|c| c.as_str()),
                Some("instance-secret"),
                "{label}"
            );
            let secret = first.key.expose_json()["uaa"]["clientsecret"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(
                !format!("{first:?}").contains(&secret),
                "{label}: secret in Debug"
            );

            sim.clear_requests();
            let second = run(&cf, tenant, purpose).await.unwrap();
            assert_eq!(posts(&sim), 0, "{label}: the second run created something");
            assert_eq!(second.credential.id, first.credential.id, "{label}");
            assert_eq!(second.credential_provenance, Provenance::Found, "{label}");
        }
    }
}

#[tokio::test]
async fn manual_tier_without_entitlement_says_so() {
    let sim = sim().await;
    let cf = connect(&sim).await;
    let err = run(&cf, "calm-manual", Purpose::OperationsMonitoring)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EntitlementMissing { .. }), "{err}");
    assert_eq!(posts(&sim), 0);
}

#[tokio::test]
async fn existing_key_in_a_known_space_costs_three_requests_with_a_warm_token() {
    let sim = sim().await;
    let cf = connect(&sim).await;
    let space = cf.space("calm-monitoring", "dev");
    space.guid().await.unwrap();
    let tenant = Tenant::new("calm-monitoring", "eu10");
    let before = cf.http().request_count();
    let got = opts(
        space
            .credentials(&tenant, Purpose::OperationsMonitoring)
            .instance("cloud-alm-api")
            .name("cloud-alm-api-key"),
    )
    .await
    .unwrap();
    assert_eq!(cf.http().request_count() - before, 3);
    assert_eq!(got.credential_provenance, Provenance::Found);
    let verification = calm_credentials::verify(&got.key, cf.http()).await.unwrap();
    assert!(verification.works, "{:?}", verification.problem);
}

#[tokio::test]
async fn names_without_an_instance_still_resolve_the_space_for_the_create() {
    let sim = sim().await;
    sim.configure_entitlement("calm-manual");
    let cf = connect(&sim).await;
    let tenant = Tenant::new("calm-manual", "eu10").provisioned_on(date("calm-manual"));
    sim.clear_requests();
    let err = find_only(
        cf.space("CALM-MANUAL", "DEV")
            .credentials(&tenant, Purpose::OperationsMonitoring),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { name, .. } if name.contains("space `dev`")),
        "{err:?}"
    );
    let gets: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| r.server == Server::CloudFoundry)
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        gets[..3],
        ["/v3/service_instances", "/v3/organizations", "/v3/spaces"],
        "no instance of that name anywhere: no second instance lookup ({gets:?})"
    );
    assert_eq!(
        gets.iter()
            .filter(|p| *p == "/v3/service_instances")
            .count(),
        1
    );

    let got = opts(
        cf.space("calm-manual", "dev")
            .credentials(&tenant, Purpose::OperationsMonitoring),
    )
    .await
    .unwrap();
    assert_eq!(got.instance_provenance, Provenance::Created);
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried() {
    let sim = sim().await;
    let cf = connect(&sim).await;
    for fault in [
        Fault::RateLimited(RetryAfter::Seconds(1)),
        Fault::RateLimited(RetryAfter::HttpDate),
        Fault::ServerError(503),
        Fault::ServerError(502),
    ] {
        sim.inject(FaultRule::new(
            Server::CloudFoundry,
            "GET",
            "/v3/service_instances",
            fault,
        ));
        let got = run(&cf, "calm-auto", Purpose::OperationsMonitoring).await;
        assert!(got.is_ok(), "{fault:?}: {got:?}");
    }
}

#[tokio::test]
async fn lost_answers_on_creates_make_no_duplicate() {
    let sim = sim().await;
    sim.configure_entitlement("calm-manual");
    let cf = connect(&sim).await;
    for path in ["/v3/service_instances", "/v3/service_credential_bindings"] {
        sim.inject(FaultRule::new(
            Server::CloudFoundry,
            "POST",
            path,
            Fault::LoseResponse,
        ));
    }
    sim.clear_requests();
    let got = run(&cf, "calm-manual", Purpose::TransportManagement)
        .await
        .unwrap();
    assert_eq!(got.instance_provenance, Provenance::Created);
    assert_eq!(got.credential_provenance, Provenance::Created);
    assert_eq!(posts(&sim), 2, "one create each, recovered by lookups");
    let inventory = cf.space("calm-manual", "dev").list().await.unwrap();
    assert_eq!(inventory.len(), 1);
    assert_eq!(inventory[0].credentials.len(), 1);
}

#[tokio::test]
async fn discovery_lists_the_generated_key() {
    let sim = sim().await;
    let cf = connect(&sim).await;
    let space = cf.space("calm-auto", "dev");
    let found = space.discover().await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "cloud-alm-api-key");
    assert_eq!(found[0].instance_name.as_deref(), Some("cloud-alm-api"));
    let none = cf.space("calm-manual", "dev").discover().await.unwrap();
    assert!(none.is_empty(), "{none:?}");
}

#[tokio::test]
async fn transport_on_a_monitoring_only_tenant_planned_as_automatic_gets_the_cdm_scopes() {
    let sim = sim().await;
    let cf = connect(&sim).await;
    let space = cf.space("calm-monitoring", "dev");
    let generated = space.discover().await.unwrap();
    assert_eq!(generated.len(), 1);
    // The tier is taken to be automatic (a provisioning day of that tier), but the generated
    // key only carries monitoring scopes.
    let tenant = Tenant::new("calm-monitoring", "eu10").provisioned_on(date("calm-auto"));
    assert_eq!(tenant.tier(), Some(ProvisioningTier::Automatic));
    let journey = || space.credentials(&tenant, Purpose::TransportManagement);

    sim.clear_requests();
    let err = find_only(journey()).await.unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { name, creatable: true, .. }
            if name.contains("imp-cdm-feature-display-ui")),
        "{err:?}"
    );
    assert_eq!(posts(&sim), 0);

    let got = opts(journey()).await.unwrap();
    assert_ne!(
        got.credential.id, generated[0].id,
        "the monitoring-only key"
    );
    assert_eq!(got.instance.name, "cloud-alm-api-transport");
    assert_eq!(got.instance_provenance, Provenance::Created);
    assert_eq!(got.credential_provenance, Provenance::Created);
    let check = calm_credentials::verify(&got.key, cf.http()).await.unwrap();
    assert!(check.works, "{:?}", check.problem);
    for scope in ["imp-cdm-feature-display-ui", "imp-cdm-feature-manage-ui"] {
        assert!(
            check
                .scopes
                .iter()
                .any(|s| s.ends_with(&format!(".{scope}"))),
            "{scope} missing from {:?}",
            check.scopes
        );
    }

    // A second run finds the created key by name and creates nothing.
    sim.clear_requests();
    let again = opts(journey()).await.unwrap();
    assert_eq!(again.credential.id, got.credential.id);
    assert_eq!(again.credential_provenance, Provenance::Found);
    assert_eq!(posts(&sim), 0);
}
