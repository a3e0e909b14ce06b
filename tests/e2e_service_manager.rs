//! End-to-end: the Service Manager journeys against the simulator (feature `simulator`).
#![cfg(feature = "simulator")]

mod common;

use std::time::Duration;

use calm_credentials::client::Provenance;
use calm_credentials::client::service_manager::{
    Retirement, RotationRequest, discover, retrieve, rotate,
};
use calm_credentials::service_manager::ServiceManager;
use calm_credentials::simulator::{
    AsyncMode, Fault, FaultRule, PendingVisibility, RetryAfter, Server, Simulator,
};
use calm_credentials::{Environment, Error, PlanRequest, ProvisioningTier, Purpose, verify};

use common::sm::{fast_http, opts};

fn sm_for(sim: &Simulator, subdomain: &str) -> ServiceManager {
    sim.service_manager(subdomain)
        .unwrap()
        .with_http(fast_http())
}

fn request(tier: ProvisioningTier, purpose: Purpose) -> PlanRequest {
    PlanRequest::new(Some(tier), purpose, Environment::ServiceManager)
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
            let req = request(tier, purpose.clone());
            let (o, _) = opts(true);
            let label = format!("{subdomain} {}", purpose.as_str());

            let got = retrieve(&sm, &req, &o)
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
            let again = retrieve(&sm, &req, &o).await.unwrap();
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
    let (o, _) = opts(true);
    let err = retrieve(
        &sm,
        &request(ProvisioningTier::Manual, Purpose::OperationsMonitoring),
        &o,
    )
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
        let (o, events) = opts(true);
        let got = retrieve(&sm, &request(ProvisioningTier::MonitoringOnly, api()), &o)
            .await
            .unwrap();
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
    let req = PlanRequest::new(
        None,
        Purpose::OperationsMonitoring,
        Environment::ServiceManager,
    )
    .instance_name("cloud-alm-api")
    .credential_name("cloud-alm-api-binding");
    let (o, _) = opts(false);
    retrieve(&sm, &req, &o).await.unwrap();
    let requests = sim.requests();
    assert_eq!(sm_requests(&sim), 2, "{requests:?}");
    let tokens = requests
        .iter()
        .filter(|r| r.server == Server::Token)
        .count();
    assert_eq!(tokens, 1, "cold start adds exactly the token request");
    sim.clear_requests();
    retrieve(&sm, &req, &o).await.unwrap();
    assert_eq!(sim.requests().len(), 2, "warm token: two requests in all");
}

#[tokio::test]
async fn discovery_finds_the_generated_binding() {
    let sim = Simulator::start().await.unwrap();
    let found = discover(&sm_for(&sim, "calm-auto")).await.unwrap();
    assert!(
        found.iter().any(|c| c.name == "cloud-alm-api-binding"),
        "{found:?}"
    );
    let none = discover(&sm_for(&sim, "calm-manual")).await.unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_ridden_out() {
    let sim = Simulator::start().await.unwrap();
    let sm = sm_for(&sim, "calm-auto");
    let req = request(ProvisioningTier::Automatic, Purpose::OperationsMonitoring);
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
        let (o, _) = opts(false);
        retrieve(&sm, &req, &o)
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
    let (o, events) = opts(true);
    let req = request(ProvisioningTier::MonitoringOnly, api());
    let got = retrieve(&sm, &req, &o).await.unwrap();
    assert_eq!(got.credential_provenance, Provenance::Created);
    let binding_posts = sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/service_bindings")
        .count();
    assert_eq!(binding_posts, 1);
    let instance = sm.find_instance(&req.instance_name).await.unwrap().unwrap();
    let bindings = sm.bindings_of(&instance.id).await.unwrap();
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
    let (o, _) = opts(true);
    let req = request(ProvisioningTier::MonitoringOnly, api());
    retrieve(&sm, &req, &o).await.unwrap();
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
    let (o, _) = opts(true);
    let old = retrieve(
        &sm,
        &request(ProvisioningTier::Automatic, Purpose::OperationsMonitoring),
        &o,
    )
    .await
    .unwrap();
    let rot = rotate(
        &sm,
        &RotationRequest::new(
            &old.instance.name,
            &old.credential.name,
            "cloud-alm-api-2026",
        ),
        &o,
    )
    .await
    .unwrap();
    assert_eq!(rot.old_retired, Retirement::Deleted);
    assert!(rot.verification.works);
    assert!(verify(&rot.key, sm.http()).await.unwrap().works);
    let after = sm.bindings_of(&old.instance.id).await.unwrap();
    assert!(
        after.iter().all(|b| b.name != old.credential.name),
        "{after:?}"
    );
}
