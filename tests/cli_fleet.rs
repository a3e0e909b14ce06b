//! `calm fleet apply --dry-run`: a manifest is validated whole, only lookups are sent, a bad
//! manifest exits 2 naming the problem and where (before any request).
#![cfg(feature = "simulator")]

mod common;

use calm_credentials::simulator::Simulator;
use common::sim::{cf_user, platform_posts};
use common::{Run, calm};
use serde_json::Value;

const SM_KEY: &str = include_str!("fixtures/keys/service-manager.json");

fn folder(manifest_name: &str, manifest: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("keys")).expect("keys");
    std::fs::write(dir.path().join("keys/acme-sm.json"), SM_KEY).expect("key");
    let path = dir.path().join(manifest_name);
    std::fs::write(&path, manifest).expect("manifest");
    let path = path.display().to_string();
    (dir, path)
}

/// The manifest's folder with the simulator's key of `calm-manual` and its Cloud Foundry API;
/// the environment logs `cf` in as the simulator's user.
fn sim_folder(
    sim: &Simulator,
    manifest_name: &str,
    manifest: &str,
) -> (tempfile::TempDir, String, Vec<(String, String)>) {
    let manifest = manifest
        .replace(
            "https://api.cf.eu10.hana.ondemand.com",
            sim.cf_api_url().as_str(),
        )
        .replace("\"Beta\"", "\"calm-monitoring\"");
    let (dir, path) = folder(manifest_name, &manifest);
    let key = sim.sm_key("calm-manual").unwrap().expose_json();
    std::fs::write(dir.path().join("keys/acme-sm.json"), key.to_string()).unwrap();
    let user = cf_user(sim);
    let env = vec![
        ("CF_HOME".to_owned(), dir.path().display().to_string()),
        ("CF_USERNAME".to_owned(), user.username),
        ("CF_PASSWORD".to_owned(), user.password),
    ];
    (dir, path, env)
}

/// Runs `calm` off the async runtime, so the in-process simulator keeps serving.
async fn run_with(args: &[&str], env: &[(String, String)]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    common::calm_async(args, &env).await
}

const MANIFEST: &str = r#"{"limits": {"requests_per_minute": 800, "binding_requests_per_minute": 400},
 "tenants": [
   {"name": "acme-prod", "provisioned_on": "2023-01-15",
    "service_manager_key": "keys/acme-sm.json",
    "purpose": "transport", "instance": "calm-transport",
    "credentials": ["sys-001", "sys-002"]},
   {"name": "beta", "provisioned_on": "2023-08-01",
    "cloud_foundry": {"api": "https://api.cf.eu10.hana.ondemand.com", "org": "Beta", "space": "dev"},
    "purpose": "api", "scopes": ["calm-api.tasks.read"], "instance": "calm-api",
    "credentials": ["beta-api"]}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_lists_every_tenant_and_credential_and_creates_nothing() {
    let sim = Simulator::start().await.unwrap();
    let (_dir, path, env) = sim_folder(&sim, "fleet.json", MANIFEST);
    let run = run_with(&["fleet", "apply", &path, "--dry-run", "--json"], &env).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).expect("one JSON object");
    assert_eq!(out["dry_run"], true);
    assert_eq!(out["credentials"], 3);
    assert_eq!(out["limits_per_minute"]["requests"], 800);
    assert_eq!(out["limits_per_minute"]["bindings"], 400);
    assert_eq!(out["limits_per_minute"]["plans"], 100);
    let tenants = out["tenants"].as_array().expect("tenants");
    let names: Vec<&str> = tenants
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme-prod", "beta"]);
    assert_eq!(tenants[0]["tier"], "manual");
    assert_eq!(tenants[1]["tier"], "monitoring-only");
    let acme_steps: Vec<&str> = tenants[0]["credentials"][1]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert!(acme_steps.contains(&"create-instance"), "{acme_steps:?}");
    assert_eq!(tenants[0]["credentials"][1]["outcome"], "missing");
    let key = sim.sm_key("calm-manual").unwrap().expose_json();
    let secret = key["clientsecret"].as_str().unwrap().to_owned();
    let human = run_with(&["fleet", "apply", &path, "--dry-run"], &env).await;
    for run in [&run, &human] {
        assert!(!run.stdout.contains(&secret), "{}", run.stdout);
    }
    assert_eq!(human.code, 0, "{}{}", human.stdout, human.stderr);
    assert!(
        human.stdout.contains("sys-002: missing, would be created"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("nothing was created"),
        "{}",
        human.stdout
    );
    assert_eq!(platform_posts(&sim), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toml_manifest_gives_the_same_plan() {
    let toml = r#"
[limits]
requests_per_minute = 800
binding_requests_per_minute = 400

[[tenants]]
name = "acme-prod"
provisioned_on = "2023-01-15"
service_manager_key = "keys/acme-sm.json"
purpose = "transport"
instance = "calm-transport"
credentials = ["sys-001", "sys-002"]

[[tenants]]
name = "beta"
provisioned_on = "2023-08-01"
cloud_foundry = { api = "https://api.cf.eu10.hana.ondemand.com", org = "Beta", space = "dev" }
purpose = "api"
scopes = ["calm-api.tasks.read"]
instance = "calm-api"
credentials = ["beta-api"]
"#;
    let sim = Simulator::start().await.unwrap();
    let (_d1, json_path, env) = sim_folder(&sim, "fleet.json", MANIFEST);
    let (_d2, toml_path, _) = sim_folder(&sim, "fleet.toml", toml);
    let mut seen = Vec::new();
    for path in [json_path, toml_path] {
        let run = run_with(&["fleet", "apply", &path, "--dry-run", "--json"], &env).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let v: Value = serde_json::from_str(&run.stdout).unwrap();
        seen.push((
            v["tenants"].as_array().unwrap().len(),
            v["tenants"][1]["credentials"].clone(),
            v["limits_per_minute"].clone(),
        ));
    }
    assert_eq!(seen[0], seen[1]);
}

#[test]
fn bad_manifests_exit_2_naming_the_problem() {
    let cases: [(&str, String, &str); 6] = [
        (
            "fleet.json",
            MANIFEST.replace("provisioned_on\": \"2023-01", "provisoned_on\": \"2023-01"),
            "tenants[0].provisoned_on: unknown field `provisoned_on`",
        ),
        (
            "fleet.json",
            MANIFEST.replace("\"tenants\": [", "\"tenants\": [,"),
            ":2:14: ",
        ),
        (
            "fleet.json",
            MANIFEST.replace("2023-08-01", "2023-02-29"),
            "tenants[1] (\"beta\").provisioned_on: \"2023-02-29\" is not a date that exists",
        ),
        (
            "fleet.json",
            MANIFEST.replace("keys/acme-sm.json", "keys/gone.json"),
            "gone.json does not exist",
        ),
        (
            "fleet.json",
            MANIFEST.replace("\"beta\"", "\"acme-prod\""),
            "tenant \"acme-prod\" is listed twice",
        ),
        (
            "fleet.yaml",
            MANIFEST.to_owned(),
            "must end in .json or .toml",
        ),
    ];
    for (name, text, expected) in cases {
        let (_dir, path) = folder(name, &text);
        let run = calm(&["fleet", "apply", &path, "--dry-run"], None);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains(expected),
            "{:?} lacks {expected:?}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&path),
            "{:?} names the file",
            run.stderr
        );
        assert!(run.stdout.is_empty());
    }
    let missing = calm(
        &[
            "fleet",
            "apply",
            "/nonexistent/fleet.json",
            "--dry-run",
            "--json",
        ],
        None,
    );
    assert_eq!(missing.code, 2);
    let out: Value = serde_json::from_str(&missing.stdout).expect("JSON error");
    assert_eq!(
        out["error"],
        "/nonexistent/fleet.json: the file does not exist"
    );
}
