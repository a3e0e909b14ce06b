//! End-to-end: the Service Manager journeys against the simulator (feature `simulator`).
#![cfg(feature = "simulator")]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use calm_credentials::simulator::{
    AsyncMode, Fault, FaultRule, PendingVisibility, RetryAfter, Server, Simulator,
};
use calm_credentials::{
    CredentialsBuilder, Error, HttpClient, ProgressEvent, Provenance, ProvisioningTier, Purpose,
    Retirement, RetryPolicy, ServiceManager, Tenant, verify,
};

fn fast_http() -> HttpClient {
    HttpClient::builder()
        .retry_policy(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_millis(1500),
        })
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn sm_for(sim: &Simulator, subdomain: &str) -> ServiceManager {
    sim.service_manager(subdomain)
        .unwrap()
        .with_http(fast_http())
}

/// A seeded tenant, checked to be of the tier the test is about.
fn tenant(sim: &Simulator, subdomain: &str, tier: ProvisioningTier) -> Tenant {
    let tenant = sim.tenant(subdomain).unwrap();
    assert_eq!(tenant.tier(), Some(tier), "{subdomain}");
    tenant
}

type Events = Arc<Mutex<Vec<ProgressEvent>>>;

/// Short waits, creating when `create`, recording progress events.
fn opts(journey: CredentialsBuilder<'_>, create: bool) -> (CredentialsBuilder<'_>, Events) {
    let events = Events::default();
    let sink = events.clone();
    let journey = journey
        .create_missing_if(create)
        .deadline(Duration::from_secs(5))
        .poll_intervals(Duration::from_millis(5), Duration::from_millis(20))
        .on_progress(move |e| sink.lock().unwrap().push(e.clone()));
    (journey, events)
}

/// `opts` without the events.
fn with(journey: CredentialsBuilder<'_>, create: bool) -> CredentialsBuilder<'_> {
    opts(journey, create).0
}

/// The names of the bindings of the instance named `instance`, listed afresh.
async fn bindings_of(sm: &ServiceManager, instance: &str) -> Vec<String> {
    sm.list()
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.instance.name == instance)
        .unwrap_or_else(|| panic!("instance `{instance}` not listed"))
        .credentials
        .into_iter()
        .map(|c| c.name)
        .collect()
}

fn api() -> Purpose {
    Purpose::ApiAccess {
        scopes: vec!["calm-api.tasks.read".into()],
    }
}

fn sm_posts(sim: &Simulator) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.server == Server::ServiceManager && r.method == "POST")
        .count()
}

fn sm_requests(sim: &Simulator) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.server == Server::ServiceManager)
        .count()
}

#[tokio::test]
async fn every_tier_and_purpose_then_a_second_run_creates_nothing() {
    let sim = Simulator::start().await.unwrap();
    sim.configure_entitlement("calm-manual");
    let cases = [
        ("calm-auto", ProvisioningTier::Automatic),
        ("calm-monitoring", ProvisioningTier::MonitoringOnly),
        ("calm-manual", ProvisioningTier::Manual),
    ];
    for (subdomain, tier) in cases {
        for purpose in [
            Purpose::OperationsMonitoring,
            Purpose::TransportManagement,
            api(),
        ] {
            let sm = sm_for(&sim, subdomain);
            let tenant = tenant(&sim, subdomain, tier);
            let label = format!("{subdomain} {}", purpose.as_str());

            let got = with(sm.credentials(&tenant, purpose.clone()), true)
                .await
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            let check = verify(&got.key, sm.http()).await.unwrap();
            assert!(check.works, "{label}: {:?}", check.problem);
            if purpose == Purpose::TransportManagement {
                assert!(
                    check
                        .scopes
                        .iter()
                        .any(|s| s.ends_with(".imp-cdm-feature-manage-ui")),
                    "{label}: {:?}",
                    check.scopes
                );
            }

            sim.clear_requests();
            let again = with(sm.credentials(&tenant, purpose.clone()), true)
                .await
                .unwrap();
            assert_eq!(sm_posts(&sim), 0, "{label}: second run created something");
            assert_eq!(again.credential.id, got.credential.id, "{label}");
            assert_eq!(again.credential_provenance, Provenance::Found, "{label}");
        }
    }
}

#[tokio::test]
async fn manual_tier_without_entitlement_says_so() {
    let sim = Simulator::start().await.unwrap();
    let sm = sm_for(&sim, "calm-manual");
    let tenant = tenant(&sim, "calm-manual", ProvisioningTier::Manual);
    let err = with(sm.credentials(&tenant, Purpose::OperationsMonitoring), true)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EntitlementMissing { .. }), "{err:?}");
    assert_eq!(sm_posts(&sim), 0);
}

#[tokio::test]
async fn asynchronous_creates_with_pending_resources_404_or_not_ready() {
    for pending in [PendingVisibility::NotFound, PendingVisibility::NotReady] {
        let sim = Simulator::start().await.unwrap();
        sim.set_async_mode(AsyncMode::Async);
        sim.set_operation_duration(Duration::from_millis(150));
        sim.set_pending_visibility(pending);
        let sm = sm_for(&sim, "calm-monitoring");
        let tenant = tenant(&sim, "calm-monitoring", ProvisioningTier::MonitoringOnly);
        let (journey, events) = opts(sm.credentials(&tenant, api()), true);
        let got = journey.await.unwrap();
        assert_eq!(got.instance_provenance, Provenance::Created);
        assert_eq!(got.credential_provenance, Provenance::Created);
        assert!(verify(&got.key, sm.http()).await.unwrap().works);
        let events = events.lock().unwrap();
        assert!(
            events.iter().any(|e| e.to_string().contains("done in")),
            "{events:?}"
        );
    }
}

#[tokio::test]
async fn existing_binding_by_names_costs_two_service_manager_requests() {
    let sim = Simulator::start().await.unwrap();
    let sm = sm_for(&sim, "calm-auto");
    // No provisioning day: the tier is unknown, so nothing but the names guides the journey.
    let tenant = Tenant::new("calm-auto", "eu10");
    let journey = || {
        with(
            sm.credentials(&tenant, Purpose::OperationsMonitoring)
                .instance("cloud-alm-api")
                .name("cloud-alm-api-binding"),
            false,
        )
    };
    journey().await.unwrap();
    let requests = sim.requests();
    assert_eq!(sm_requests(&sim), 2, "{requests:?}");
    let tokens = requests
        .iter()
        .filter(|r| r.server == Server::Token)
        .count();
    assert_eq!(tokens, 1, "cold start adds exactly the token request");
    sim.clear_requests();
    journey().await.unwrap();
    assert_eq!(sim.requests().len(), 2, "warm token: two requests in all");
}

#[tokio::test]
async fn discovery_finds_the_generated_binding() {
    let sim = Simulator::start().await.unwrap();
    let found = sm_for(&sim, "calm-auto").discover().await.unwrap();
    assert!(
        found.iter().any(|c| c.name == "cloud-alm-api-binding"),
        "{found:?}"
    );
    let none = sm_for(&sim, "calm-manual").discover().await.unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_ridden_out() {
    let sim = Simulator::start().await.unwrap();
    let sm = sm_for(&sim, "calm-auto");
    let tenant = tenant(&sim, "calm-auto", ProvisioningTier::Automatic);
    for fault in [
        Fault::RateLimited(RetryAfter::Seconds(0)),
        Fault::RateLimited(RetryAfter::HttpDate),
        Fault::RateLimited(RetryAfter::GoTime),
        Fault::RateLimited(RetryAfter::Absent),
        Fault::ServerError(503),
        Fault::ServerError(502),
    ] {
        sim.inject(FaultRule::new(
            Server::ServiceManager,
            "GET",
            "/v1/service_instances",
            fault,
        ));
        with(
            sm.credentials(&tenant, Purpose::OperationsMonitoring),
            false,
        )
        .await
        .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
    }
}

#[tokio::test]
async fn lost_answer_on_binding_create_makes_no_duplicate() {
    let sim = Simulator::start().await.unwrap();
    let sm = sm_for(&sim, "calm-monitoring");
    sim.inject(FaultRule::new(
        Server::ServiceManager,
        "POST",
        "/v1/service_bindings",
        Fault::LoseResponse,
    ));
    let tenant = tenant(&sim, "calm-monitoring", ProvisioningTier::MonitoringOnly);
    let (journey, events) = opts(sm.credentials(&tenant, api()), true);
    let got = journey.await.unwrap();
    assert_eq!(got.credential_provenance, Provenance::Created);
    let binding_posts = sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/service_bindings")
        .count();
    assert_eq!(binding_posts, 1);
    let bindings = bindings_of(&sm, &got.instance.name).await;
    assert_eq!(bindings.len(), 1, "{bindings:?}");
    assert!(
        events
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.to_string().contains("was lost"))
    );
}

#[tokio::test]
async fn lost_answer_on_instance_create_makes_no_duplicate() {
    let sim = Simulator::start().await.unwrap();
    let sm = sm_for(&sim, "calm-monitoring");
    sim.inject(FaultRule::new(
        Server::ServiceManager,
        "POST",
        "/v1/service_instances",
        Fault::LoseResponse,
    ));
    let tenant = tenant(&sim, "calm-monitoring", ProvisioningTier::MonitoringOnly);
    let got = with(sm.credentials(&tenant, api()), true).await.unwrap();
    assert_eq!(got.instance_provenance, Provenance::Created);
    let instance_posts = sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/service_instances")
        .count();
    assert_eq!(instance_posts, 1);
}

#[tokio::test]
async fn rotation_replaces_the_binding_and_the_old_one_stops_working() {
    let sim = Simulator::start().await.unwrap();
    let sm = sm_for(&sim, "calm-auto");
    let tenant = tenant(&sim, "calm-auto", ProvisioningTier::Automatic);
    let old = with(sm.credentials(&tenant, Purpose::OperationsMonitoring), true)
        .await
        .unwrap();
    let rot = sm
        .rotate(
            &old.instance.name,
            &old.credential.name,
            "cloud-alm-api-2026",
        )
        .deadline(Duration::from_secs(5))
        .poll_intervals(Duration::from_millis(5), Duration::from_millis(20))
        .await
        .unwrap();
    assert_eq!(rot.old_retired, Retirement::Deleted);
    assert!(rot.verification.works);
    assert!(verify(&rot.key, sm.http()).await.unwrap().works);
    let after = bindings_of(&sm, &old.instance.name).await;
    assert!(after.iter().all(|b| *b != old.credential.name), "{after:?}");
    assert!(
        after.contains(&"cloud-alm-api-2026".to_owned()),
        "{after:?}"
    );
}
