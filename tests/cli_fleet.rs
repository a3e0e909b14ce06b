//! `calm fleet apply --dry-run`: a manifest is validated whole, nothing is sent, a bad manifest
//! exits 2 naming the problem and where.
#![cfg(feature = "simulator")]

mod common;

use common::calm;
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

#[test]
fn dry_run_lists_every_tenant_and_credential_and_sends_nothing() {
    let (_dir, path) = folder("fleet.json", MANIFEST);
    let run = calm(&["fleet", "apply", &path, "--dry-run", "--json"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
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
    for run in [run, calm(&["fleet", "apply", &path, "--dry-run"], None)] {
        assert!(!run.stdout.contains("SM-SECRET-3333"), "{}", run.stdout);
    }
    let human = calm(&["fleet", "apply", &path, "--dry-run"], None);
    assert_eq!(human.code, 0);
    assert!(human.stdout.contains("sys-002"), "{}", human.stdout);
    assert!(
        human.stdout.contains("nothing was sent"),
        "{}",
        human.stdout
    );
}

#[test]
fn toml_manifest_gives_the_same_plan() {
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
    let (_d1, json_path) = folder("fleet.json", MANIFEST);
    let (_d2, toml_path) = folder("fleet.toml", toml);
    let strip = |path: &str| {
        let run = calm(&["fleet", "apply", path, "--dry-run", "--json"], None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let v: Value = serde_json::from_str(&run.stdout).unwrap();
        (
            v["tenants"].as_array().unwrap().len(),
            v["tenants"][1]["credentials"].clone(),
            v["limits_per_minute"].clone(),
        )
    };
    assert_eq!(strip(&json_path), strip(&toml_path));
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

#[test]
fn apply_without_dry_run_is_refused_until_the_runner_exists() {
    let (_dir, path) = folder("fleet.json", MANIFEST);
    let run = calm(&["fleet", "apply", &path], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--dry-run"), "{}", run.stderr);
}
