//! End-to-end matrix through the public API against the simulator: every provisioning tier ×
//! purpose × environment (tiers through the tenant's provisioning day), what is found versus created,
//! the credential type, that the credentials work and carry the scopes the purpose needs, that
//! a second run creates nothing, the request budgets, and rotation.
#![cfg(feature = "simulator")]

mod common;

use std::time::Duration;

use calm_credentials::simulator::{Server, Simulator};
use calm_credentials::{
    Environment, Error, Provenance, Purpose, Retirement, Retrieved, ServiceKey, verify,
};

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
    for (subdomain, date) in tenants() {
        let sm = sm_for(&sim, subdomain, http());
        let tenant = tenant_on(subdomain, date);
        for purpose in purposes() {
            let label = format!("sm {subdomain} {}", purpose.as_str());
            let first = creating(sm.credentials(&tenant, purpose.clone()))
                .await
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            check_first(&label, &first, subdomain, &purpose, sm.http()).await;

            sim.clear_requests();
            let second = creating(sm.credentials(&tenant, purpose.clone()))
                .await
                .unwrap();
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
    for (subdomain, date) in tenants() {
        let space = cf.space(subdomain, "dev");
        space.guid().await.unwrap();
        let tenant = tenant_on(subdomain, date);
        for purpose in purposes() {
            let label = format!("cf {subdomain} {}", purpose.as_str());
            let first = creating(space.credentials(&tenant, purpose.clone()))
                .await
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            check_first(&label, &first, subdomain, &purpose, cf.http()).await;

            sim.clear_requests();
            let before = cf.http().request_count();
            let second = creating(space.credentials(&tenant, purpose.clone()))
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
        assert_eq!(cf_inventory(&space).await, expected, "cf {subdomain}");
    }
}

#[tokio::test]
async fn request_budgets_by_instance_id_and_from_a_cold_start() {
    let sim = Simulator::start().await.unwrap();

    // Service Manager, binding by instance id: one request warm, plus the token request cold.
    let sm = sm_for(&sim, "calm-monitoring", http());
    let tenant = tenant_of_unknown_tier("calm-monitoring");
    let instance = sm
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.instance.name == "cloud-alm-api")
        .expect("the generated instance")
        .instance;
    let cold = sm_for(&sim, "calm-monitoring", http());
    for (label, client, budget) in [("cold", &cold, 2), ("warm", &cold, 1), ("warm", &sm, 1)] {
        let before = client.http().request_count();
        let got = creating(
            client
                .credentials(&tenant, Purpose::OperationsMonitoring)
                .instance("cloud-alm-api")
                .name("cloud-alm-api-binding")
                .instance_id(instance.id.clone()),
        )
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
    let guid = resolver.space("calm-auto", "dev").guid().await.unwrap();
    let tenant = tenant_of_unknown_tier("calm-auto");
    let cf = cf_for(&sim, http()).await;
    let space = cf.space_by_id(guid);
    for (label, budget) in [("cold", 4), ("warm", 3)] {
        sim.clear_requests();
        let before = cf.http().request_count();
        creating(
            space
                .credentials(&tenant, Purpose::OperationsMonitoring)
                .instance("cloud-alm-api")
                .name("cloud-alm-api-key"),
        )
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
    for (subdomain, date) in [tenants()[1], tenants()[2]] {
        let sm = sm_for(&sim, subdomain, http());
        let tenant = tenant_on(subdomain, date);
        let old = creating(sm.credentials(&tenant, Purpose::OperationsMonitoring))
            .await
            .unwrap();
        let rotation = || {
            rotating(sm.rotate(
                &old.instance.name,
                &old.credential.name,
                "cloud-alm-api-rotated",
            ))
            .keep_old_for(Duration::ZERO)
        };

        let first = rotation().await.unwrap();
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
        let again = rotation().await.unwrap();
        assert_eq!(platform_posts(&sim), 0, "{subdomain}: {:?}", sim.requests());
        assert_eq!(again.new.id, first.new.id, "{subdomain}");

        let retired = retiring(sm.retire_stale(&old.instance.name)).await.unwrap();
        let ids: Vec<_> = retired.iter().map(|c| c.id.clone()).collect();
        assert_eq!(ids, std::slice::from_ref(&old.credential.id), "{subdomain}");
        let after = verify(&old.key, sm.http()).await.unwrap();
        assert!(!after.works, "{subdomain}: the retired binding still works");
        let listing = sm
            .list()
            .await
            .unwrap()
            .into_iter()
            .find(|l| l.instance.id == old.instance.id)
            .expect("the instance is still listed");
        let names: Vec<&str> = listing
            .credentials
            .iter()
            .map(|b| b.name.as_str())
            .collect();
        assert_eq!(names, ["cloud-alm-api-rotated"], "{subdomain}");

        // The rotated binding now serves the journey by name.
        let now = creating(
            sm.credentials(&tenant, Purpose::OperationsMonitoring)
                .instance(&old.instance.name)
                .name("cloud-alm-api-rotated"),
        )
        .await
        .unwrap();
        assert_eq!(now.credential.id, first.new.id, "{subdomain}");
        let key: &ServiceKey = &now.key;
        assert!(verify(key, sm.http()).await.unwrap().works, "{subdomain}");

        // Rotating away from a binding that no longer exists says which one is missing.
        let err = rotation().await.unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        assert!(err.to_string().contains(&old.credential.name), "{err}");
        assert!(!err.is_retryable());
    }
}
