//! Many journeys at once on one handle: the offering and plan are looked up once, one token
//! serves everyone, and an instance a journey just created is not searched for bindings.

use std::collections::HashMap;

use calm_credentials::simulator::{AsyncMode, Server, Simulator};
use calm_credentials::{Provenance, Purpose, Region, Tenant};

const JOURNEYS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_creations_cost_three_requests_each() {
    let sim = Simulator::builder()
        .async_mode(AsyncMode::Sync)
        .start()
        .await
        .unwrap();
    // No provisioning day: the journey looks for the named instance and creates what is missing.
    let tenant = Tenant::new("calm-auto", Region::Eu10);
    let sm = sim.service_manager("calm-auto").unwrap();
    sim.clear_requests();

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..JOURNEYS {
        let (sm, tenant) = (sm.clone(), tenant.clone());
        tasks.spawn(async move {
            sm.credentials(&tenant, Purpose::TransportManagement)
                .instance(format!("calm-{i:03}"))
                .name(format!("key-{i:03}"))
                .create_missing()
                .await
        });
    }
    while let Some(done) = tasks.join_next().await {
        let got = done.unwrap().unwrap();
        assert_eq!(got.instance_provenance, Provenance::Created);
        assert_eq!(got.credential_provenance, Provenance::Created);
    }

    let mut by_route: HashMap<(String, String), usize> = HashMap::new();
    for r in sim.requests() {
        let route = r.path.split('?').next().unwrap_or_default().to_owned();
        let route = match r.server {
            Server::Token => "token".to_owned(),
            _ => route,
        };
        *by_route.entry((r.method.clone(), route)).or_default() += 1;
    }
    let count = |m: &str, p: &str| {
        by_route
            .get(&(m.to_owned(), p.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(count("GET", "/v1/service_offerings"), 1, "{by_route:?}");
    assert_eq!(count("GET", "/v1/service_plans"), 1, "{by_route:?}");
    assert_eq!(count("POST", "token"), 1, "{by_route:?}");
    assert_eq!(
        count("GET", "/v1/service_instances"),
        JOURNEYS,
        "{by_route:?}"
    );
    assert_eq!(count("POST", "/v1/service_instances"), JOURNEYS);
    assert_eq!(count("POST", "/v1/service_bindings"), JOURNEYS);
    assert_eq!(count("GET", "/v1/service_bindings"), 0, "{by_route:?}");
    let total: usize = by_route.values().sum();
    assert!(total <= 3 * JOURNEYS + 3, "{total} requests: {by_route:?}");
}
