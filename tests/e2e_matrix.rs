//! End-to-end matrix through the public API against the simulator: every provisioning tier ×
//! purpose × environment (dates through `PlanRequest::for_date`), what is found versus created,
//! the credential type, that the credentials work and carry the scopes the purpose needs, that
//! a second run creates nothing, the request budgets, and rotation.
#![cfg(feature = "simulator")]

mod common;

use std::time::Duration;

use calm_credentials::client::service_manager::{
    Retirement, RotationRequest, retire_stale, retrieve_by_instance_id, rotate,
};
use calm_credentials::client::{Provenance, Retrieved, cloud_foundry, service_manager};
use calm_credentials::simulator::{Server, Simulator};
use calm_credentials::{Environment, Error, PlanRequest, Purpose, ServiceKey, verify};

use common::sim::*;

/// Checks one first journey: provenance, credential type, and a working token with the
/// purpose's scopes.
async fn check_first(
    label: &str,
    got: &Retrieved,
    subdomain: &str,
    purpose: &Purpose,
    http: &calm_credentials::HttpClient,
) {
    let want = expected_provenance(subdomain, purpose);
    assert_eq!(got.instance_provenance, want, "{label}: instance");
    assert_eq!(got.credential_provenance, want, "{label}: credentials");
    if generated_for(subdomain, purpose) {
        assert_eq!(got.instance.name, "cloud-alm-api", "{label}");
    } else {
        assert_eq!(
            got.instance.name,
            purpose.default_instance_name(),
            "{label}"
        );
    }
    let credential_type = match got.credential.environment {
        Environment::ServiceManager => "binding-secret",
        _ => "instance-secret",
    };
    assert_eq!(
        got.key.credential_type().map(|c| c.as_str()),
        Some(credential_type),
        "{label}: key"
    );
    assert_eq!(
        got.credential.credential_type.as_ref().map(|c| c.as_str()),
        Some(credential_type),
        "{label}: summary"
    );
    let check = verify(&got.key, http).await.unwrap();
    assert!(check.works, "{label}: {:?}", check.problem);
    for scope in needed_scopes(purpose) {
        assert!(
            check.scopes.iter().any(|s| s.ends_with(&scope)),
            "{label}: {scope} missing from {:?}",
            check.scopes
        );
    }
}

#[tokio::test]
async fn service_manager_every_tier_and_purpose_by_date() {
    let sim = Simulator::start().await.unwrap();
    sim.configure_entitlement("calm-manual");
    let o = create_opts();
    for (subdomain, date) in tenants() {
        let sm = sm_for(&sim, subdomain, http());
        for purpose in purposes() {
            let label = format!("sm {subdomain} {}", purpose.as_str());
            let req = PlanRequest::for_date(date, purpose.clone(), Environment::ServiceManager);
            let first = service_manager::retrieve(&sm, &req, &o)
                .await
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            check_first(&label, &first, subdomain, &purpose, sm.http()).await;

            sim.clear_requests();
            let second = service_manager::retrieve(&sm, &req, &o).await.unwrap();
            assert_eq!(platform_posts(&sim), 0, "{label}: second run created");
            assert_eq!(second.instance.id, first.instance.id, "{label}");
            assert_eq!(second.credential.id, first.credential.id, "{label}");
            assert_eq!(second.instance_provenance, Provenance::Found, "{label}");
            assert_eq!(second.credential_provenance, Provenance::Found, "{label}");
            if !generated_for(subdomain, &purpose) {
                // Instance by name, binding by instance and name: nothing else.
                assert_eq!(
                    served(&sim, Server::ServiceManager),
                    2,
                    "{label}: {:?}",
                    sim.requests()
                );
            }
        }
        let expected: Vec<(String, usize)> = match subdomain {
            "calm-auto" => vec![("cloud-alm-api", 1), ("cloud-alm-api-access", 1)],
            "calm-monitoring" => vec![
                ("cloud-alm-api", 1),
                ("cloud-alm-api-access", 1),
                ("cloud-alm-api-transport", 1),
            ],
            _ => vec![
                ("cloud-alm-api-access", 1),
                ("cloud-alm-api-monitoring", 1),
                ("cloud-alm-api-transport", 1),
            ],
        }
        .into_iter()
        .map(|(n, c)| (n.to_owned(), c))
        .collect();
        assert_eq!(sm_inventory(&sm).await, expected, "sm {subdomain}");
    }
}

#[tokio::test]
async fn cloud_foundry_every_tier_and_purpose_by_date() {
    let sim = Simulator::start().await.unwrap();
    sim.configure_entitlement("calm-manual");
    let cf = cf_for(&sim, http()).await;
    let o = create_opts();
    for (subdomain, date) in tenants() {
        let space = cf.find_space(subdomain, "dev").await.unwrap();
        for purpose in purposes() {
            let label = format!("cf {subdomain} {}", purpose.as_str());
            let req = PlanRequest::for_date(date, purpose.clone(), Environment::CloudFoundry);
            let first = cloud_foundry::retrieve_in(&cf, &space, &req, &o)
                .await
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            check_first(&label, &first, subdomain, &purpose, cf.http()).await;

            sim.clear_requests();
            let before = cf.http().request_count();
            let second = cloud_foundry::retrieve_in(&cf, &space, &req, &o)
                .await
                .unwrap();
            let spent = cf.http().request_count() - before;
            assert_eq!(platform_posts(&sim), 0, "{label}: second run created");
            assert_eq!(second.instance.id, first.instance.id, "{label}");
            assert_eq!(second.credential.id, first.credential.id, "{label}");
            assert_eq!(second.credential_provenance, Provenance::Found, "{label}");
            assert_eq!(second.instance_provenance, Provenance::Found, "{label}");
            // Created: instance by name, key by name, credentials. Generated: the named
            // instance is missing, then the space's inventory (offering's plans, instances,
            // keys), then the credentials, and for transport a token to check the scopes.
            let budget = match (generated_for(subdomain, &purpose), &purpose) {
                (true, Purpose::TransportManagement) => 6,
                (true, _) => 5,
                (false, _) => 3,
            };
            assert_eq!(spent, budget, "{label}: {:?}", sim.requests());
        }
        let expected: Vec<(String, usize)> = match subdomain {
            "calm-auto" => vec![("cloud-alm-api", 1), ("cloud-alm-api-access", 1)],
            "calm-monitoring" => vec![
                ("cloud-alm-api", 1),
                ("cloud-alm-api-access", 1),
                ("cloud-alm-api-transport", 1),
            ],
            _ => vec![
                ("cloud-alm-api-access", 1),
                ("cloud-alm-api-monitoring", 1),
                ("cloud-alm-api-transport", 1),
            ],
        }
        .into_iter()
        .map(|(n, c)| (n.to_owned(), c))
        .collect();
        assert_eq!(cf_inventory(&cf, &space).await, expected, "cf {subdomain}");
    }
}

#[tokio::test]
async fn request_budgets_by_instance_id_and_from_a_cold_start() {
    let sim = Simulator::start().await.unwrap();

    // Service Manager, binding by instance id: one request warm, plus the token request cold.
    let sm = sm_for(&sim, "calm-monitoring", http());
    let req = PlanRequest::new(
        None,
        Purpose::OperationsMonitoring,
        Environment::ServiceManager,
    )
    .instance_name("cloud-alm-api")
    .credential_name("cloud-alm-api-binding");
    let instance = sm.find_instance("cloud-alm-api").await.unwrap().unwrap();
    let cold = sm_for(&sim, "calm-monitoring", http());
    for (label, client, budget) in [("cold", &cold, 2), ("warm", &cold, 1), ("warm", &sm, 1)] {
        let before = client.http().request_count();
        let got = retrieve_by_instance_id(client, &req, &instance.id, &create_opts())
            .await
            .unwrap();
        assert_eq!(
            client.http().request_count() - before,
            budget,
            "sm by id {label}"
        );
        assert_eq!(got.credential.name, "cloud-alm-api-binding");
        assert_eq!(got.credential_provenance, Provenance::Found);
    }

    // Cloud Foundry, key in a known space: three requests warm, plus the token request cold.
    let resolver = cf_for(&sim, http()).await;
    let space = resolver.find_space("calm-auto", "dev").await.unwrap();
    let req = req
        .clone()
        .credential_name("cloud-alm-api-key")
        .instance_name("cloud-alm-api");
    let cf = cf_for(&sim, http()).await;
    for (label, budget) in [("cold", 4), ("warm", 3)] {
        sim.clear_requests();
        let before = cf.http().request_count();
        cloud_foundry::retrieve_in(&cf, &space, &req, &create_opts())
            .await
            .unwrap();
        assert_eq!(
            cf.http().request_count() - before,
            budget,
            "cf {label}: {:?}",
            sim.requests()
        );
        let tokens = usize::from(label == "cold");
        assert_eq!(served(&sim, Server::Token), tokens, "cf {label}");
    }
}

#[tokio::test]
async fn rotation_keeps_the_old_binding_for_a_grace_period_and_reruns_create_nothing() {
    let sim = Simulator::start().await.unwrap();
    sim.configure_entitlement("calm-manual");
    let o = create_opts();
    for (subdomain, date) in [tenants()[1], tenants()[2]] {
        let sm = sm_for(&sim, subdomain, http());
        let req = PlanRequest::for_date(
            date,
            Purpose::OperationsMonitoring,
            Environment::ServiceManager,
        );
        let old = service_manager::retrieve(&sm, &req, &o).await.unwrap();
        let rotation = RotationRequest::new(
            &old.instance.name,
            &old.credential.name,
            "cloud-alm-api-rotated",
        )
        .keep_old_for(Duration::ZERO);

        let first = rotate(&sm, &rotation, &o).await.unwrap();
        assert!(first.verification.works, "{subdomain}");
        assert!(
            matches!(first.old_retired, Retirement::Kept { .. }),
            "{subdomain}"
        );
        assert_eq!(first.old.id, old.credential.id, "{subdomain}");
        assert_ne!(first.new.id, old.credential.id, "{subdomain}");
        assert!(verify(&old.key, sm.http()).await.unwrap().works, "kept");

        // An interrupted or repeated rotation picks up the new binding: nothing is created.
        sim.clear_requests();
        let again = rotate(&sm, &rotation, &o).await.unwrap();
        assert_eq!(platform_posts(&sim), 0, "{subdomain}: {:?}", sim.requests());
        assert_eq!(again.new.id, first.new.id, "{subdomain}");

        let retired = retire_stale(&sm, &old.instance.name, &o).await.unwrap();
        let ids: Vec<_> = retired.iter().map(|c| c.id.clone()).collect();
        assert_eq!(ids, std::slice::from_ref(&old.credential.id), "{subdomain}");
        let after = verify(&old.key, sm.http()).await.unwrap();
        assert!(!after.works, "{subdomain}: the retired binding still works");
        let bindings = sm.bindings_of(&old.instance.id).await.unwrap();
        let names: Vec<&str> = bindings.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["cloud-alm-api-rotated"], "{subdomain}");

        // The rotated binding now serves the journey by name.
        let by_name = req
            .clone()
            .instance_name(&old.instance.name)
            .credential_name("cloud-alm-api-rotated");
        let now = service_manager::retrieve(&sm, &by_name, &o).await.unwrap();
        assert_eq!(now.credential.id, first.new.id, "{subdomain}");
        let key: &ServiceKey = &now.key;
        assert!(verify(key, sm.http()).await.unwrap().works, "{subdomain}");

        // Rotating away from a binding that no longer exists says which one is missing.
        let err = rotate(&sm, &rotation, &o).await.unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        assert!(err.to_string().contains(&old.credential.name), "{err}");
        assert!(!err.is_retryable());
    }
}
