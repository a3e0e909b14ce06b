//! `calm sm retrieve` and `calm cf key` against servers that behave as their sources say
//! (issue 11): instances of other platforms, refusals inside asynchronous operations, Cloud
//! Controller's double-decoded filters and `CGI.escape`d warnings. Each run must succeed
//! without making a duplicate.
#![cfg(feature = "simulator")]

mod common;

use std::time::Duration;

use calm_credentials::simulator::{
    AsyncMode, Fault, FaultRule, OperationErrors, OperationFailure, PendingVisibility, Refusals,
    Server, Simulator,
};
use common::Run;
use serde_json::Value;

/// Runs `calm` off the async runtime, so the in-process simulator keeps serving.
async fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    common::calm_async(args, env).await
}

fn json(out: &Run) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", out.stdout, out.stderr))
}

/// A tenant without credentials yet (the seeded manual-tier one), entitled here, so every run
/// creates what it needs instead of reusing the seeded credentials.
const TENANT: &str = "calm-manual";

/// A simulator from `builder` whose [`TENANT`] is entitled.
async fn start(builder: calm_credentials::simulator::SimulatorBuilder) -> Simulator {
    let sim = builder.start().await.unwrap();
    sim.configure_entitlement(TENANT);
    sim
}

/// Writes the tenant's SM key to a file in `dir` and gives its path.
fn sm_key_file(sim: &Simulator, dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("sm.json");
    std::fs::write(&path, sim.sm_key(TENANT).unwrap().expose_json().to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

/// `calm sm retrieve --create` of `instance`/`binding` in [`TENANT`].
async fn sm_retrieve(sim: &Simulator, instance: &str, binding: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let key = sm_key_file(sim, &dir);
    run(
        &[
            "sm",
            "retrieve",
            "--sm-key",
            &key,
            "--instance",
            instance,
            "--binding",
            binding,
            "--create",
            "--provisioned-on",
            "2024-03-01",
            "--timeout",
            "30",
            "--json",
        ],
        &[],
    )
    .await
}

/// The SAP Cloud ALM API instances of [`TENANT`] named `name`, as `(platform, ready)`, listed
/// through the public API (other platforms' instances are marked there).
async fn instances_named(sim: &Simulator, name: &str) -> Vec<(String, Option<bool>)> {
    let sm = common::sim::sm_for(sim, TENANT, common::sim::http());
    sm.list()
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.instance.name == name)
        .map(|l| {
            let platform = l.other_platform.unwrap_or_else(|| "service-manager".into());
            (platform, Some(l.state == "ready"))
        })
        .collect()
}

/// How many bindings named `name` the tenant's SAP Cloud ALM API instances have.
async fn bindings_named(sim: &Simulator, name: &str) -> usize {
    let sm = common::sim::sm_for(sim, TENANT, common::sim::http());
    sm.list()
        .await
        .unwrap()
        .iter()
        .flat_map(|l| &l.credentials)
        .filter(|b| b.name == name)
        .count()
}

fn posts(sim: &Simulator, server: Server, path: &str) -> Vec<u16> {
    sim.requests()
        .into_iter()
        .filter(|r| r.server == server && r.method == "POST" && r.path == path)
        .map(|r| r.status)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sm_retrieve_skips_a_same_named_instance_of_another_platform() {
    let sim = start(Simulator::builder()).await;
    // A legacy Cloud Foundry instance of the subaccount already has the name.
    sim.add_other_platform_instance(TENANT, "cloud-alm-api")
        .unwrap();

    let created = sm_retrieve(&sim, "cloud-alm-api", "calm-binding").await;
    assert_eq!(created.code, 0, "{}{}", created.stdout, created.stderr);
    assert!(json(&created)["uaa"]["clientid"].is_string());
    let again = sm_retrieve(&sim, "cloud-alm-api", "calm-binding").await;
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert_eq!(
        json(&again)["uaa"]["clientid"],
        json(&created)["uaa"]["clientid"]
    );

    let mut platforms: Vec<String> = instances_named(&sim, "cloud-alm-api")
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    platforms.sort();
    assert_eq!(platforms.len(), 2, "{platforms:?}");
    assert!(platforms[0].starts_with("cf-"), "{platforms:?}");
    assert_eq!(platforms[1], "service-manager");
    // One instance and one binding created, none refused (no bind on the other platform's
    // instance, which answers 404).
    assert_eq!(
        posts(&sim, Server::ServiceManager, "/v1/service_instances"),
        [201]
    );
    assert_eq!(
        posts(&sim, Server::ServiceManager, "/v1/service_bindings"),
        [201]
    );
    assert_eq!(bindings_named(&sim, "calm-binding").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn sm_retrieve_adopts_after_a_lost_answer_and_a_refusal_inside_the_operation() {
    let sim = start(
        Simulator::builder()
            .async_mode(AsyncMode::Async)
            .refusals(Refusals::InOperation)
            .operation_duration(Duration::from_millis(400))
            .pending_visibility(PendingVisibility::NotFound),
    )
    .await;
    // The first create happens but its answer is lost; the instance is not visible while it is
    // being created, so the create is sent again and refused inside its operation.
    sim.inject(FaultRule::new(
        Server::ServiceManager,
        "POST",
        "/v1/service_instances",
        Fault::LoseResponse,
    ));
    let out = sm_retrieve(&sim, "calm-lost", "calm-lost-binding").await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        posts(&sim, Server::ServiceManager, "/v1/service_instances"),
        [0, 202]
    );
    assert_eq!(
        instances_named(&sim, "calm-lost").await,
        [("service-manager".to_owned(), Some(true))]
    );
    assert_eq!(bindings_named(&sim, "calm-lost-binding").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn sm_retrieve_adopts_what_a_concurrent_creator_made() {
    let sim = start(
        Simulator::builder()
            .async_mode(AsyncMode::Async)
            .refusals(Refusals::InOperation)
            .operation_duration(Duration::from_millis(200)),
    )
    .await;
    sim.set_operation_errors(OperationErrors::List);
    // Another client creates the same instance and binding just before each of our creates.
    for path in ["/v1/service_instances", "/v1/service_bindings"] {
        sim.inject(FaultRule::new(
            Server::ServiceManager,
            "POST",
            path,
            Fault::Concurrent,
        ));
    }
    let out = sm_retrieve(&sim, "calm-race", "calm-race-binding").await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(instances_named(&sim, "calm-race").await.len(), 1);
    assert_eq!(bindings_named(&sim, "calm-race-binding").await, 1);
    // Ours were accepted (202) and refused inside their operations; one of each exists.
    assert_eq!(
        posts(&sim, Server::ServiceManager, "/v1/service_instances"),
        [202]
    );
    assert_eq!(
        posts(&sim, Server::ServiceManager, "/v1/service_bindings"),
        [202]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sm_retrieve_retries_a_bind_refused_inside_its_operation_as_busy() {
    let sim = start(Simulator::builder().async_mode(AsyncMode::Async)).await;
    sim.inject(
        FaultRule::new(
            Server::ServiceManager,
            "POST",
            "/v1/service_bindings",
            Fault::FailOperation(OperationFailure::Busy),
        )
        .times(2),
    );
    let out = sm_retrieve(&sim, "calm-busy", "calm-busy-binding").await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        posts(&sim, Server::ServiceManager, "/v1/service_bindings"),
        [202, 202, 202]
    );
    assert_eq!(bindings_named(&sim, "calm-busy-binding").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn sm_retrieve_refuses_a_name_the_server_cannot_match_before_sending_anything() {
    let sim = start(Simulator::builder()).await;
    for name in ["'quoted'", "ends-with\\"] {
        let out = sm_retrieve(&sim, name, "b").await;
        assert_ne!(out.code, 0, "{name}: {}", out.stdout);
        let shown = format!("{}{}", out.stdout, out.stderr);
        assert!(shown.contains("is not allowed"), "{shown}");
    }
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.server != Server::ServiceManager || !r.path.contains("service_instances")),
        "{:?}",
        sim.requests()
    );
}

/// `calm cf key` in org `org`, space `dev`, instance `cloud-alm-api`.
async fn cf_key(sim: &Simulator, org: &str, key: &str, create: bool) -> Run {
    let login = common::sim::cf_user(sim);
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_string_lossy().into_owned();
    let api = sim.cf_api_url().to_string();
    let env = [
        ("CF_HOME", home_path.as_str()),
        ("CF_API_URL", api.as_str()),
        ("CF_USERNAME", login.username.as_str()),
        ("CF_PASSWORD", login.password.as_str()),
    ];
    let mut args = vec![
        "cf",
        "key",
        "--org",
        org,
        "--space",
        "dev",
        "--instance",
        "cloud-alm-api",
        "--key",
        key,
        "--provisioned-on",
        "2024-03-01",
        "--json",
    ];
    if create {
        args.push("--create");
    }
    run(&args, &env).await
}

#[tokio::test(flavor = "multi_thread")]
async fn cf_key_finds_an_org_and_a_key_with_commas_and_prints_warnings_decoded() {
    let sim = start(Simulator::builder()).await;
    assert!(sim.rename_cf_org(TENANT, "ACME, Inc."));
    let warning = "Plan 'calm-api' is deprecated, use it + a newer plan: 100% supported";
    sim.add_cf_warning("/v3/service_credential_bindings", warning);

    let created = cf_key(&sim, "ACME, Inc.", "calm,key", true).await;
    assert_eq!(created.code, 0, "{}", created.stderr);
    // Sent with every answer about keys, printed once, as sent.
    assert_eq!(
        created
            .stderr
            .matches(&format!("warning: {warning}\n"))
            .count(),
        1,
        "{}",
        created.stderr
    );
    let secret = json(&created)["uaa"]["clientid"].clone();
    assert!(secret.is_string());

    let again = cf_key(&sim, "ACME, Inc.", "calm,key", false).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(json(&again)["uaa"]["clientid"], secret);
    // One instance and one key over both runs: the second run found both by name.
    assert_eq!(
        posts(&sim, Server::CloudFoundry, "/v3/service_instances"),
        [202]
    );
    assert_eq!(
        posts(
            &sim,
            Server::CloudFoundry,
            "/v3/service_credential_bindings"
        ),
        [202]
    );
}
