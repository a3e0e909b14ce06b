//! The `calm` example binary as a user runs it: exit codes, JSON shapes, no secret in any output.
#![cfg(feature = "simulator")]

mod common;

use common::calm;
use serde_json::Value;

const SECRETS: [&str; 4] = [
    "EXAMPLE-NOT-A-REAL-SECRET-0000",
    "WRAPPED-SECRET-1111",
    "PRIVATEKEYMATERIAL2222",
    "SM-SECRET-3333",
];

#[test]
fn tier_json_on_every_boundary_day() {
    let cases = [
        ("2023-06-10", "manual"),
        ("2023-06-11", "manual"),
        ("2023-06-12", "monitoring-only"),
        ("2023-06-13", "monitoring-only"),
        ("2023-06-14", "monitoring-only"),
        ("2023-06-15", "monitoring-only"),
        ("2023-10-15", "monitoring-only"),
        ("2023-10-16", "automatic"),
        ("2023-10-17", "automatic"),
        ("2023-10-16T00:30:00+01:00", "monitoring-only"),
    ];
    for (date, tier) in cases {
        let out = calm(&["tier", date, "--json"], None);
        assert_eq!(out.code, 0, "{date}: {}", out.stderr);
        let v: Value = serde_json::from_str(&out.stdout).expect("one JSON object");
        assert_eq!(v["tier"], tier, "{date}");
        assert!(v["date"].as_str().unwrap().len() == 10, "{date}");
        assert!(v["steps"].is_array() && !v["steps"].as_array().unwrap().is_empty());
    }
}

#[test]
fn tier_plans_follow_purpose_and_environment() {
    let out = calm(
        &[
            "tier",
            "2023-08-01",
            "--purpose",
            "transport",
            "--environment",
            "cf",
            "--json",
        ],
        None,
    );
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let actions: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create-instance", "create-credentials"]);
    assert!(
        v["steps"][0]["parameters"]["xs-security"]
            .get("oauth2-configuration")
            .is_none()
    );

    let out = calm(&["tier", "2023-01-01", "--json"], None);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["steps"][0]["action"], "configure-entitlement");
    assert_eq!(v["steps"][0]["manual"], true);
}

#[test]
fn tier_refuses_bad_input_with_code_2() {
    for args in [
        vec!["tier", "16.10.2023"],
        vec!["tier", "2023-02-30"],
        vec!["tier", ""],
        vec!["tier", "2023-10-16", "--purpose", "api"],
        vec![
            "tier",
            "2023-10-16",
            "--purpose",
            "api",
            "--scope",
            "bad scope",
        ],
        vec!["tier"],
    ] {
        let out = calm(&args, None);
        assert_eq!(out.code, 2, "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?} says nothing");
    }
}

#[test]
fn check_key_exit_codes_and_redaction() {
    let cases = [
        (
            "tests/fixtures/keys/binding-secret.json",
            Some("example-calm"),
            0,
        ),
        (
            "tests/fixtures/keys/instance-secret-wrapped.json",
            Some("example-calm"),
            0,
        ),
        (
            "tests/fixtures/keys/binding-secret.json",
            Some("someone-else"),
            1,
        ),
        ("tests/fixtures/keys/x509.json", Some("example-calm"), 1),
        ("tests/fixtures/keys/service-manager.json", None, 1),
        ("tests/fixtures/keys/does-not-exist.json", None, 2),
    ];
    for (file, zone, want) in cases {
        for json in [false, true] {
            let mut args = vec!["check-key", file];
            if let Some(z) = zone {
                args.extend(["--tenant-zone", z]);
            }
            if json {
                args.push("--json");
            }
            let out = calm(&args, None);
            assert_eq!(out.code, want, "{args:?}: {}{}", out.stdout, out.stderr);
            for s in SECRETS {
                assert!(
                    !out.stdout.contains(s) && !out.stderr.contains(s),
                    "{s} leaked by {args:?}"
                );
            }
            if json && want != 2 {
                let v: Value = serde_json::from_str(&out.stdout).unwrap();
                assert_eq!(v["passed"], want == 0);
                assert_eq!(v["checks"].as_array().unwrap().len(), 4);
            }
        }
    }
}

#[test]
fn check_key_reads_stdin_and_names_the_broken_path() {
    let cases = [
        ("not json at all", "$"),
        ("[]", "$"),
        (
            r#"{"uaa": {"clientid": "c", "clientsecret": 5, "url": "https://x.example"}}"#,
            "uaa.clientsecret",
        ),
        (
            r#"{"uaa": {"clientid": "c", "clientsecret": "SM-SECRET-3333", "url": "nope"}}"#,
            "uaa.url",
        ),
        (
            r#"{"credentials": {"uaa": {"clientsecret": "SM-SECRET-3333"}}}"#,
            "credentials.uaa.clientid",
        ),
    ];
    for (input, path) in cases {
        let out = calm(&["check-key", "-"], Some(input));
        assert_eq!(out.code, 2, "{input}");
        assert!(out.stderr.contains(path), "{input}: {}", out.stderr);
        assert!(!out.stderr.contains("SM-SECRET-3333") && !out.stdout.contains("SM-SECRET-3333"));
    }
}
