//! End-to-end tests of the Cloud Foundry path against the simulator: every tier and purpose in a
//! space, idempotency, faults and request counts.
#![cfg(feature = "simulator")]

use std::collections::HashMap;
use std::time::Duration;

use calm_credentials::client::cloud_foundry::{retrieve, retrieve_in};
use calm_credentials::client::{Provenance, RetrieveOptions, Retrieved};
use calm_credentials::cloud_foundry::{CfLogin, CloudFoundry};
use calm_credentials::http::{HttpClient, RetryPolicy};
use calm_credentials::setup::{Environment, PlanRequest, Purpose};
use calm_credentials::simulator::{AsyncMode, Fault, FaultRule, RetryAfter, Server, Simulator};
use calm_credentials::wait::WaitOptions;
use calm_credentials::{Error, ProvisioningTier};
use chrono::NaiveDate;
use secrecy::SecretString;

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
    let l = sim.cf_login();
    let mut b = CfLogin::builder()
        .api_url(l.api_url.as_str())
        .password(l.username, SecretString::from(l.password))
        .env(HashMap::new())
        .config_file(None);
    if let Some(origin) = l.origin {
        b = b.origin(origin);
    }
    CloudFoundry::connect(b.build().unwrap(), http())
        .await
        .unwrap()
}

fn opts() -> RetrieveOptions {
    let mut o = RetrieveOptions::default().create(true);
    o.wait = WaitOptions::with_timeout(Duration::from_secs(20))
        .intervals(Duration::from_millis(10), Duration::from_millis(50));
    o
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

async fn run(cf: &CloudFoundry, tenant: &str, purpose: Purpose) -> Result<Retrieved, Error> {
    let req = PlanRequest::for_date(date(tenant), purpose, Environment::CloudFoundry);
    retrieve(cf, tenant, "dev", &req, &opts()).await
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
    let space = cf.find_space("calm-monitoring", "dev").await.unwrap();
    let req = PlanRequest::new(
        None,
        Purpose::OperationsMonitoring,
        Environment::CloudFoundry,
    )
    .instance_name("cloud-alm-api")
    .credential_name("cloud-alm-api-key");
    let before = cf.http().request_count();
    let got = retrieve_in(&cf, &space, &req, &opts()).await.unwrap();
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
    let req = PlanRequest::for_date(
        date("calm-manual"),
        Purpose::OperationsMonitoring,
        Environment::CloudFoundry,
    );
    let mut find_only = opts();
    find_only.create = false;
    sim.clear_requests();
    let err = retrieve(&cf, "CALM-MANUAL", "DEV", &req, &find_only)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { what, .. } if what.contains("space `dev`")),
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

    let got = retrieve(&cf, "calm-manual", "dev", &req, &opts())
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
    let space = cf.find_space("calm-manual", "dev").await.unwrap();
    let inventory = cf.inventory(&space).await.unwrap();
    assert_eq!(inventory.len(), 1);
    assert_eq!(inventory[0].keys.len(), 1);
}

#[tokio::test]
async fn discovery_lists_the_generated_key_and_delete_removes_a_key() {
    let sim = sim().await;
    let cf = connect(&sim).await;
    let space = cf.find_space("calm-auto", "dev").await.unwrap();
    let found = cf.discover(&space).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "cloud-alm-api-key");
    assert_eq!(found[0].instance_name.as_deref(), Some("cloud-alm-api"));
    let o = opts();
    cf.delete_key(&found[0].id, &o.wait).await.unwrap();
    assert!(cf.discover(&space).await.unwrap().is_empty());
    cf.delete_key(&found[0].id, &o.wait).await.unwrap();
}

#[tokio::test]
async fn transport_on_a_monitoring_only_tenant_planned_as_automatic_gets_the_cdm_scopes() {
    let sim = sim().await;
    let cf = connect(&sim).await;
    let space = cf.find_space("calm-monitoring", "dev").await.unwrap();
    let generated = cf.discover(&space).await.unwrap();
    assert_eq!(generated.len(), 1);
    // The tier is taken to be automatic, but the generated key only carries monitoring scopes.
    let req = PlanRequest::new(
        Some(ProvisioningTier::Automatic),
        Purpose::TransportManagement,
        Environment::CloudFoundry,
    );

    sim.clear_requests();
    let mut find_only = opts();
    find_only.create = false;
    let err = retrieve_in(&cf, &space, &req, &find_only)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { what, hint }
            if what.contains("imp-cdm-feature-display-ui") && hint.contains("--create")),
        "{err:?}"
    );
    assert_eq!(posts(&sim), 0);

    let got = retrieve_in(&cf, &space, &req, &opts()).await.unwrap();
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
    let again = retrieve_in(&cf, &space, &req, &opts()).await.unwrap();
    assert_eq!(again.credential.id, got.credential.id);
    assert_eq!(again.credential_provenance, Provenance::Found);
    assert_eq!(posts(&sim), 0);
}
