//! The networked `calm` commands against the simulator, as a user runs them: exit codes,
//! output shapes, and no secret unless `--show-secrets`.
#![cfg(feature = "simulator")]

mod common;

use calm_credentials::simulator::Simulator;
use common::Run;
use serde_json::Value;

/// Runs `calm` off the async runtime, so the in-process simulator keeps serving.
async fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    common::calm_async(args, env).await
}

fn write_temp(dir: &tempfile::TempDir, name: &str, value: &Value) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, value.to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

fn json(out: &Run) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", out.stdout, out.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn sm_retrieve_redacts_unless_asked_and_verify_accepts_the_key() {
    let sim = Simulator::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sm_key = write_temp(
        &dir,
        "sm.json",
        &sim.sm_key("calm-auto").unwrap().expose_json(),
    );
    let base = [
        "sm",
        "retrieve",
        "--sm-key",
        &sm_key,
        "--instance",
        "cloud-alm-api",
        "--binding",
        "cloud-alm-api-binding",
        "--json",
    ];

    let shown = run(&[&base[..], &["--show-secrets"]].concat(), &[]).await;
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let secret = json(&shown)["uaa"]["clientsecret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(secret, "[REDACTED]");

    let redacted = run(&base, &[]).await;
    assert_eq!(redacted.code, 0, "{}", redacted.stderr);
    let v = json(&redacted);
    assert_eq!(v["uaa"]["clientsecret"], "[REDACTED]");
    assert!(v["uaa"]["clientid"].is_string() && v["endpoints"]["Api"].is_string());
    assert!(!redacted.stdout.contains(&secret) && !redacted.stderr.contains(&secret));

    let human = run(&base[..base.len() - 1], &[]).await;
    assert_eq!(human.code, 0);
    assert!(!human.stdout.contains(&secret) && !human.stderr.contains(&secret));
    assert!(human.stderr.contains("requests"), "{}", human.stderr);

    let key_file = write_temp(&dir, "key.json", &json(&shown));
    let verified = run(&["verify", &key_file, "--json"], &[]).await;
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);
    let v = json(&verified);
    assert_eq!(v["works"], true);
    assert!(!verified.stdout.contains(&secret));

    let mut wrong = json(&shown);
    wrong["uaa"]["clientsecret"] = Value::from("not-the-secret");
    let wrong_file = write_temp(&dir, "wrong.json", &wrong);
    let refused = run(&["verify", &wrong_file], &[]).await;
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        !refused.stdout.contains("not-the-secret") && !refused.stderr.contains("not-the-secret")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sm_exit_codes_say_what_went_wrong() {
    let sim = Simulator::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let auto = write_temp(
        &dir,
        "auto.json",
        &sim.sm_key("calm-auto").unwrap().expose_json(),
    );
    let manual = write_temp(
        &dir,
        "manual.json",
        &sim.sm_key("calm-manual").unwrap().expose_json(),
    );

    let missing = run(
        &[
            "sm",
            "retrieve",
            "--sm-key",
            &auto,
            "--instance",
            "nope",
            "--binding",
            "nope-key",
        ],
        &[],
    )
    .await;
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(missing.stderr.contains("--create"), "{}", missing.stderr);

    let entitlement = run(
        &[
            "sm",
            "retrieve",
            "--sm-key",
            &manual,
            "--instance",
            "calm-x",
            "--binding",
            "calm-x-key",
            "--provisioned-on",
            "2023-01-15",
            "--create",
        ],
        &[],
    )
    .await;
    assert_eq!(entitlement.code, 1);
    assert!(
        entitlement.stderr.contains("Entitlements"),
        "{}",
        entitlement.stderr
    );

    let created = run(
        &[
            "sm",
            "retrieve",
            "--sm-key",
            &manual,
            "--instance",
            "calm-x",
            "--binding",
            "calm-x-key",
            "--create",
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(created.code, 1, "still not entitled: {}", created.stderr);
    sim.configure_entitlement("calm-manual");
    let created = run(
        &[
            "sm",
            "retrieve",
            "--sm-key",
            &manual,
            "--instance",
            "calm-x",
            "--binding",
            "calm-x-key",
            "--create",
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert_eq!(json(&created)["uaa"]["credential-type"], "binding-secret");

    for bad in [
        vec![
            "sm",
            "retrieve",
            "--sm-key",
            "/nonexistent.json",
            "--instance",
            "a",
            "--binding",
            "b",
        ],
        vec![
            "sm",
            "retrieve",
            "--sm-key",
            &auto,
            "--instance",
            "has space",
            "--binding",
            "b",
        ],
        vec![
            "sm",
            "retrieve",
            "--sm-key",
            &auto,
            "--instance",
            "a",
            "--binding",
            "ABC_100_00",
        ],
        vec![
            "sm",
            "retrieve",
            "--sm-key",
            &auto,
            "--instance",
            "a",
            "--binding",
            "b",
            "--provisioned-on",
            "yesterday",
        ],
    ] {
        let out = run(&bad, &[]).await;
        assert_eq!(out.code, 2, "{bad:?}: {}", out.stderr);
    }

    let list = run(&["sm", "list", "--sm-key", &auto, "--json"], &[]).await;
    assert_eq!(list.code, 0);
    assert_eq!(
        json(&list)[0]["bindings"][0]["name"],
        "cloud-alm-api-binding"
    );

    let rotated = run(
        &[
            "sm",
            "rotate",
            "--sm-key",
            &auto,
            "--instance",
            "cloud-alm-api",
            "--binding",
            "cloud-alm-api-binding",
            "--new-binding",
            "cloud-alm-api-binding-2",
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(rotated.code, 0, "{}", rotated.stderr);
    assert_eq!(json(&rotated)["uaa"]["clientsecret"], "[REDACTED]");
}

#[tokio::test(flavor = "multi_thread")]
async fn cf_key_uses_the_login_from_the_environment() {
    let sim = Simulator::start().await.unwrap();
    let login = common::sim::cf_user(&sim);
    let home = tempfile::tempdir().unwrap();
    let api = sim.cf_api_url().to_string();
    let home_path = home.path().to_string_lossy().into_owned();
    let env = [
        ("CF_HOME", home_path.as_str()),
        ("CF_API_URL", api.as_str()),
        ("CF_USERNAME", login.username.as_str()),
        ("CF_PASSWORD", login.password.as_str()),
    ];
    let args = [
        "cf",
        "key",
        "--org",
        "calm-auto",
        "--space",
        "dev",
        "--instance",
        "cloud-alm-api",
        "--key",
        "cloud-alm-api-key",
        "--json",
    ];
    let out = run(&args, &env).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = json(&out);
    assert_eq!(v["uaa"]["credential-type"], "instance-secret");
    assert_eq!(v["uaa"]["clientsecret"], "[REDACTED]");
    assert!(!out.stderr.contains(&login.password));

    let list = run(
        &[
            "cf",
            "list",
            "--org",
            "calm-auto",
            "--space",
            "dev",
            "--json",
        ],
        &env,
    )
    .await;
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert_eq!(json(&list)[0]["keys"][0]["name"], "cloud-alm-api-key");

    let wrong = [
        env[0],
        env[1],
        env[2],
        ("CF_PASSWORD", "wrong-password-xyz"),
    ];
    let refused = run(&args, &wrong).await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(!refused.stderr.contains("wrong-password-xyz"));

    let no_api = run(&args, &[("CF_HOME", home_path.as_str())]).await;
    assert_eq!(no_api.code, 2, "{}", no_api.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn env_reads_vcap_services() {
    let vcap = r#"{"SAPCloudALMAPIs": [{"name": "calm", "label": "SAPCloudALMAPIs", "plan": "standard", "tags": [],
        "credentials": {"endpoints": {"Api": "https://eu10.alm.cloud.sap/api"},
                        "uaa": {"clientid": "c", "clientsecret": "VCAP-SECRET-42", "url": "https://x.authentication.eu10.hana.ondemand.com"}}}]}"#;
    let out = run(&["env", "--json"], &[("VCAP_SERVICES", vcap)]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("VCAP-SECRET-42"));
    let shown = run(
        &["env", "--json", "--show-secrets"],
        &[("VCAP_SERVICES", vcap)],
    )
    .await;
    assert!(shown.stdout.contains("VCAP-SECRET-42"));
    let none = run(&["env", "--name", "other"], &[("VCAP_SERVICES", vcap)]).await;
    assert_eq!(none.code, 1, "{}", none.stderr);
    assert!(none.stderr.contains("VCAP_SERVICES"), "{}", none.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_runs_the_whole_journey() {
    let out = run(&["demo"], &[]).await;
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for tier in ["automatic", "monitoring-only", "manual"] {
        assert!(out.stdout.contains(tier), "{tier} missing");
    }
    assert!(out.stdout.contains("requests") && out.stdout.contains("created"));
    assert!(!out.stdout.contains("works  no"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sm_rotation_with_a_grace_period_then_retirement() {
    let sim = Simulator::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sm_key = write_temp(
        &dir,
        "sm.json",
        &sim.sm_key("calm-auto").unwrap().expose_json(),
    );
    let conn = ["--sm-key", sm_key.as_str(), "--instance", "cloud-alm-api"];

    let kept = run(
        &[
            &["sm", "rotate"][..],
            &conn,
            &[
                "--binding",
                "cloud-alm-api-binding",
                "--new-binding",
                "calm-2026",
                "--keep-old-for",
                "0",
            ],
        ]
        .concat(),
        &[],
    )
    .await;
    assert_eq!(kept.code, 0, "{}", kept.stderr);
    assert!(kept.stdout.contains("kept_until"), "{}", kept.stdout);

    let retired = run(
        &[&["sm", "retire-stale"][..], &conn, &["--json"]].concat(),
        &[],
    )
    .await;
    assert_eq!(retired.code, 0, "{}", retired.stderr);
    assert_eq!(json(&retired)[0]["name"], "cloud-alm-api-binding");

    let list = run(&["sm", "list", "--sm-key", &sm_key, "--json"], &[]).await;
    let names: Vec<String> = json(&list)[0]["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["calm-2026"]);

    let again = run(&[&["sm", "retire-stale"][..], &conn].concat(), &[]).await;
    assert_eq!(again.code, 0);
    assert!(
        again.stdout.contains("no stale binding"),
        "{}",
        again.stdout
    );
}

/// `calm cf key` by org and space name with a password login, as a user types it.
fn cf_key_args<'a>(api: &'a str, user: &'a str, org: &'a str) -> Vec<&'a str> {
    vec![
        "cf",
        "key",
        "--api",
        api,
        "--user",
        user,
        "--org",
        org,
        "--space",
        "dev",
        "--instance",
        "cloud-alm-api",
        "--key",
        "cloud-alm-api-key",
        "--json",
    ]
}

fn paths(sim: &Simulator) -> Vec<String> {
    sim.requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn cf_key_by_names_costs_five_requests_cold() {
    let sim = Simulator::start().await.unwrap();
    let login = common::sim::cf_user(&sim);
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_string_lossy().into_owned();
    let api = sim.cf_api_url().to_string();
    let env = [
        ("CF_HOME", home_path.as_str()),
        ("CF_PASSWORD", login.password.as_str()),
    ];
    sim.clear_requests();
    // Org and space names match case-insensitively.
    let out = run(&cf_key_args(&api, &login.username, "CALM-AUTO"), &env).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(json(&out)["uaa"]["credential-type"], "instance-secret");
    let sent = paths(&sim);
    assert_eq!(
        sent.len(),
        5,
        "root, token, instance, key, details: {sent:#?}"
    );
    assert_eq!(sent[0], "GET /");
    assert_eq!(
        sent[1],
        "POST /uaa/oauth/token".replace("/uaa", &token_prefix(&sim))
    );
    assert_eq!(sent[2], "GET /v3/service_instances");
    assert_eq!(sent[3], "GET /v3/service_credential_bindings");
    assert!(sent[4].ends_with("/details"), "{sent:#?}");
    let query = sim.requests()[2].query.clone().unwrap_or_default();
    assert!(
        query.contains("fields%5Bspace.organization%5D=name,guid"),
        "{query}"
    );
}

/// The path prefix of the CF token endpoint on the simulator.
fn token_prefix(sim: &Simulator) -> String {
    sim.token_url("uaa").path().trim_end_matches('/').to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn cf_key_by_names_finds_an_instance_shared_into_the_space() {
    let sim = Simulator::start().await.unwrap();
    sim.set_cf_shareable("SAPCloudALMAPIs", true);
    sim.configure_entitlement("calm-manual");
    let login = common::sim::cf_user(&sim);
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{}/oauth/token", sim.token_url("uaa")))
        .basic_auth("cf", Some(""))
        .form(&[
            ("grant_type", "password"),
            ("username", login.username.as_str()),
            ("password", login.password.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();
    let get = |path: String| {
        let http = http.clone();
        let url = sim.cf_api_url().join(&path).unwrap();
        async move {
            let v: Value = http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v
        }
    };
    let listed = get(
        "/v3/service_instances?names=cloud-alm-api&fields%5Bspace.organization%5D=name,guid".into(),
    )
    .await;
    let org_guid = |name: &str| {
        listed["included"]["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == name)
            .map(|o| o["guid"].as_str().unwrap().to_owned())
    };
    assert!(org_guid("calm-manual").is_none(), "no instance of its own");
    let manual_org = get("/v3/organizations?names=calm-manual".into()).await;
    let manual_org = manual_org["resources"][0]["guid"].as_str().unwrap();
    let manual_space = get(format!(
        "/v3/spaces?names=dev&organization_guids={manual_org}"
    ))
    .await;
    let manual_space = manual_space["resources"][0]["guid"].as_str().unwrap();
    let auto_org = org_guid("calm-auto").unwrap();
    let auto = get(format!(
        "/v3/service_instances?names=cloud-alm-api&organization_guids={auto_org}"
    ))
    .await;
    let instance = auto["resources"][0]["guid"].as_str().unwrap();
    let shared = http
        .post(
            sim.cf_api_url()
                .join(&format!(
                    "/v3/service_instances/{instance}/relationships/shared_spaces"
                ))
                .unwrap(),
        )
        .bearer_auth(token)
        .json(&serde_json::json!({"data": [{"guid": manual_space}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(shared.status(), 200);

    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_string_lossy().into_owned();
    let api = sim.cf_api_url().to_string();
    let env = [
        ("CF_HOME", home_path.as_str()),
        ("CF_PASSWORD", login.password.as_str()),
    ];
    sim.clear_requests();
    let out = run(&cf_key_args(&api, &login.username, "calm-manual"), &env).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = json(&out);
    assert_eq!(v["uaa"]["credential-type"], "instance-secret");
    // The listing names the instance's own space, so org, space and the lookup in the space
    // (which lists shared instances) follow: three requests more than for an own instance.
    let sent = paths(&sim);
    assert_eq!(sent.len(), 8, "{sent:#?}");
    assert_eq!(
        sent[2..6],
        [
            "GET /v3/service_instances",
            "GET /v3/organizations",
            "GET /v3/spaces",
            "GET /v3/service_instances"
        ]
    );
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.method == "GET" || r.path.ends_with("/oauth/token")),
        "nothing created"
    );
}
