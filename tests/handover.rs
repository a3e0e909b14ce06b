//! Handing credentials over and using them: the sinks (file, Kubernetes Secret, dotenv), the
//! Secret read back as a mounted binding by the crate's runtime reader and by `@sap/xsenv`, the
//! Cloud ALM API client, and `calm … --output` / `calm api` against the simulator.
#![cfg(feature = "simulator")]

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use calm_credentials::runtime::{self, ProcessEnv, Query};
use calm_credentials::simulator::{Fault, FaultRule, Server, Simulator};
use calm_credentials::{Error, HttpClient, ServiceKey};
use calm_credentials::{Sink, SinkContext};
use common::Run;
use serde_json::{Value, json};

fn fixture(name: &str) -> ServiceKey {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(name);
    ServiceKey::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A key whose secret and client id hold everything a shell could misread.
const NASTY_SECRET: &str = "a'b\"c$HOME`id`\\n\\\nline2 $(echo pwned) ' \\' ; # *?[x] ~ \t end\n";

fn nasty_key() -> ServiceKey {
    ServiceKey::from_value(json!({
        "endpoints": {"Api": "https://eu10.alm.cloud.sap/api?x=$y"},
        "uaa": {"clientid": "sb-x!b1|sapcloudalm!b2 'q' $(id)", "clientsecret": NASTY_SECRET,
                "url": "https://acme.authentication.eu10.hana.ondemand.com",
                "credential-type": "binding-secret"}
    }))
    .unwrap()
}

fn context() -> SinkContext {
    SinkContext::new()
        .credential_name("calm-binding")
        .instance("calm-api", "00000000-0000-4000-8000-0000000000a1")
        .plan("standard")
        .tags(["calm", "monitoring", "calm"])
}

// ---------------------------------------------------------------------------------------------
// Files

#[test]
fn file_sink_writes_0600_and_replaces_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.json");
    std::fs::write(&path, "old").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let old_inode = std::fs::metadata(&path).unwrap().ino();

    let key = fixture("binding-secret.json");
    let written = key.write_to(&Sink::File(path.clone()), &context()).unwrap();

    assert_eq!(mode(&path), 0o600);
    // Replaced by rename: a new file, never the old one rewritten in place.
    assert_ne!(std::fs::metadata(&path).unwrap().ino(), old_inode);
    let back = ServiceKey::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(back.expose_json(), key.expose_json());
    assert_eq!(
        written.bytes as u64,
        std::fs::metadata(&path).unwrap().len()
    );
    assert_eq!(written.entries, vec!["endpoints", "uaa"]);
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("key.json")]);
}

#[test]
fn a_symlink_or_a_missing_folder_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere.txt");
    std::fs::write(&target, "keep me").unwrap();
    let link = dir.path().join("key.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let key = fixture("binding-secret.json");

    for sink in [
        Sink::File(link.clone()),
        Sink::Dotenv(link.clone()),
        format!("k8s-secret:{}", dir.path().join("link.yaml").display())
            .parse()
            .unwrap(),
    ] {
        if let Sink::KubernetesSecret { path, .. } = &sink {
            std::os::unix::fs::symlink(&target, path).unwrap();
        }
        let e = key.write_to(&sink, &context()).unwrap_err();
        assert!(matches!(e, Error::InvalidSink { .. }), "{sink}: {e}");
        assert!(e.to_string().contains("symbolic link"), "{e}");
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );

    let missing = dir.path().join("no-such-folder/key.json");
    let e = key
        .write_to(&Sink::File(missing.clone()), &context())
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidSink { .. }) && e.to_string().contains("does not exist"),
        "{e}"
    );
    assert!(!missing.parent().unwrap().exists());
    // Errors never carry the secret.
    assert!(!e.to_string().contains("EXAMPLE-NOT-A-REAL-SECRET"));
}

// ---------------------------------------------------------------------------------------------
// Dotenv

/// Sources `path` with `/bin/sh` (`set -a; . PATH`) and returns the variables' exact values.
fn source_with_sh(path: &Path, names: &[&str]) -> Vec<String> {
    let script = format!(
        "set -a; . \"$1\"; printf '%s\\0' {}",
        names
            .iter()
            .map(|n| format!("\"${n}\""))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(path)
        .env_clear()
        .env("HOME", "/home/nobody")
        .output()
        .expect("/bin/sh runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut values: Vec<String> = text.split('\0').map(str::to_owned).collect();
    assert_eq!(values.pop().as_deref(), Some(""));
    values
}

#[test]
fn dotenv_gives_the_exact_values_through_sh() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calm.env");
    let key = nasty_key();
    let written = key
        .write_to(&Sink::Dotenv(path.clone()), &SinkContext::new())
        .unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(
        written.entries,
        [
            "CALM_CLIENT_ID",
            "CALM_CLIENT_SECRET",
            "CALM_TOKEN_URL",
            "CALM_API_URL"
        ]
    );
    let values = source_with_sh(
        &path,
        &written
            .entries
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        values,
        [
            "sb-x!b1|sapcloudalm!b2 'q' $(id)",
            NASTY_SECRET,
            "https://acme.authentication.eu10.hana.ondemand.com/oauth/token",
            "https://eu10.alm.cloud.sap/api?x=$y",
        ]
    );
}

#[test]
fn dotenv_of_an_x509_key_has_certificate_and_key_instead_of_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x509.env");
    let key = fixture("x509.json");
    let written = key
        .write_to(&Sink::Dotenv(path.clone()), &SinkContext::new())
        .unwrap();
    assert_eq!(
        written.entries,
        [
            "CALM_CLIENT_ID",
            "CALM_CERTIFICATE",
            "CALM_KEY",
            "CALM_TOKEN_URL",
            "CALM_API_URL"
        ]
    );
    let values = source_with_sh(
        &path,
        &[
            "CALM_CERTIFICATE",
            "CALM_KEY",
            "CALM_TOKEN_URL",
            "CALM_CLIENT_SECRET",
        ],
    );
    let doc = key.expose_json();
    assert_eq!(values[0], doc["uaa"]["certificate"].as_str().unwrap());
    assert_eq!(values[1], doc["uaa"]["key"].as_str().unwrap());
    assert!(values[1].contains('\n'));
    assert_eq!(
        values[2],
        "https://example-calm.authentication.cert.eu10.hana.ondemand.com/oauth/token"
    );
    assert_eq!(values[3], "", "no CALM_CLIENT_SECRET for an X.509 key");
}

// ---------------------------------------------------------------------------------------------
// The Kubernetes Secret

/// Lays the Secret's `data` out as the kubelet mounts a Secret volume: real files in a
/// timestamped folder, `..data` linking to it, and one link per key.
fn mount_secret(manifest: &Value, root: &Path, binding: &str) -> PathBuf {
    let dir = root.join(binding);
    let stamp = dir.join("..2026_01_01_00_00_00.000000001");
    std::fs::create_dir_all(&stamp).unwrap();
    std::os::unix::fs::symlink("..2026_01_01_00_00_00.000000001", dir.join("..data")).unwrap();
    for (k, v) in manifest["data"].as_object().unwrap() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        std::fs::write(stamp.join(k), bytes).unwrap();
        std::os::unix::fs::symlink(format!("..data/{k}"), dir.join(k)).unwrap();
    }
    dir
}

fn read_manifest(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).unwrap()
    } else {
        serde_saphyr::from_str(&text).unwrap()
    }
}

fn xsenv_available() -> bool {
    let module = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/differential/node_modules/@sap/xsenv/package.json");
    (module.exists() || std::env::var_os("XSENV_MODULE").is_some())
        && Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
}

/// What `@sap/xsenv` selects under `root` for `filter`.
fn xsenv_select(root: &Path, filter: &Value) -> Value {
    let out = Command::new("node")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential"))
        .arg("xsenv_select.js")
        .arg(filter.to_string())
        .env_remove("VCAP_SERVICES")
        .env_remove("VCAP_SERVICES_FILE_PATH")
        .env_remove("XSENV_PARSE_ALL_JSON")
        .env("SERVICE_BINDING_ROOT", root)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_secret_mounted_as_a_binding_reads_back_as_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let live = xsenv_available();
    for (file, key) in [
        ("secret.yaml", fixture("binding-secret.json")),
        ("secret.json", fixture("x509.json")),
        ("nasty.yml", nasty_key()),
    ] {
        let path = dir.path().join(file);
        let sink: Sink = format!("k8s-secret:{}", path.display()).parse().unwrap();
        let written = key.write_to(&sink, &context()).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(written.secret_name.as_deref(), Some("calm-binding"));

        let manifest = read_manifest(&path);
        assert_eq!(manifest["apiVersion"], "v1");
        assert_eq!(manifest["kind"], "Secret");
        assert_eq!(manifest["type"], "Opaque");
        assert_eq!(manifest["metadata"]["name"], "calm-binding");
        let data = manifest["data"].as_object().unwrap();
        let mut names: Vec<&str> = data.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                ".metadata",
                "endpoints",
                "instance_guid",
                "instance_name",
                "label",
                "plan",
                "tags",
                "type",
                "uaa"
            ]
        );
        let decode = |k: &str| {
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(data[k].as_str().unwrap())
                    .unwrap(),
            )
            .unwrap()
        };
        let metadata: Value = serde_json::from_str(&decode(".metadata")).unwrap();
        assert_eq!(
            metadata["credentialProperties"],
            json!([{"name": "endpoints", "format": "json"}, {"name": "uaa", "format": "json"}])
        );
        assert_eq!(metadata["metaDataProperties"].as_array().unwrap().len(), 6);
        assert_eq!(decode("tags"), r#"["calm","monitoring"]"#);
        assert_eq!(decode("type"), "SAPCloudALMAPIs");

        // The crate's own runtime reader.
        let root = dir.path().join(format!("bindings-{file}"));
        mount_secret(&manifest, &root, "calm-binding");
        let env = ProcessEnv::new().with_var("SERVICE_BINDING_ROOT", root.to_str().unwrap());
        let found = runtime::find(&env, &Query::default()).unwrap();
        assert_eq!(found.service.name(), "calm-binding");
        assert_eq!(found.service.plan(), Some("standard"));
        assert_eq!(found.service.instance_name(), Some("calm-api"));
        assert_eq!(
            found.service.instance_guid(),
            Some("00000000-0000-4000-8000-0000000000a1")
        );
        assert_eq!(
            found.service_key().unwrap().expose_json(),
            key.expose_json(),
            "{file}"
        );

        // SAP's @sap/xsenv, where Node and the module are installed (CI: `npm ci`).
        if live {
            let by_label = xsenv_select(&root, &json!({"label": "SAPCloudALMAPIs"}));
            assert_eq!(by_label["name"], "calm-binding", "{by_label}");
            assert_eq!(by_label["credentials"], key.expose_json(), "{file}");
            let by_plan = xsenv_select(&root, &json!({"plan": "standard"}));
            assert_eq!(by_plan["credentials"], key.expose_json());
            let by_tag = xsenv_select(&root, &json!({"tag": "monitoring"}));
            assert_eq!(by_tag["credentials"], key.expose_json());
        }
    }
}

#[test]
fn secret_names_come_from_the_credential_or_the_override() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    let key = fixture("binding-secret.json");
    let sink: Sink = format!("k8s-secret:{}", path.display()).parse().unwrap();

    let named = key
        .write_to(&sink, &SinkContext::new().credential_name("Calm_Binding"))
        .unwrap();
    assert_eq!(named.secret_name.as_deref(), Some("calm-binding"));

    let overridden = sink.clone().with_secret_name("prod.calm-key");
    let w = key.write_to(&overridden, &context()).unwrap();
    assert_eq!(read_manifest(&path)["metadata"]["name"], "prod.calm-key");
    assert_eq!(w.secret_name.as_deref(), Some("prod.calm-key"));

    let bad = sink.clone().with_secret_name("Not Valid");
    assert!(matches!(
        key.write_to(&bad, &context()),
        Err(Error::InvalidName { .. })
    ));
    let unnamed = key.write_to(&sink, &SinkContext::new()).unwrap_err();
    assert!(matches!(unnamed, Error::InvalidSink { .. }), "{unnamed}");
}

// ---------------------------------------------------------------------------------------------
// The Cloud ALM API client against the simulator

fn requests_to(sim: &Simulator, server: Server) -> usize {
    sim.requests().iter().filter(|r| r.server == server).count()
}

async fn seeded_key(sim: &Simulator) -> ServiceKey {
    // The seeded binding of the automatic tier, read through the crate's own SM journey is not
    // needed here: the simulator's CLI path below covers it. Take it via `calm`'s file sink.
    let dir = tempfile::tempdir().unwrap();
    let sm_key = dir.path().join("sm.json");
    std::fs::write(
        &sm_key,
        sim.sm_key("calm-auto").unwrap().expose_json().to_string(),
    )
    .unwrap();
    let out = dir.path().join("key.json");
    let run = calm(
        &[
            "sm",
            "retrieve",
            "--sm-key",
            sm_key.to_str().unwrap(),
            "--instance",
            "cloud-alm-api",
            "--binding",
            "cloud-alm-api-binding",
            "--output",
            &format!("file:{}", out.display()),
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    ServiceKey::from_json(&std::fs::read_to_string(out).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn calm_api_client_reuses_its_token_and_enforces_scopes() {
    let sim = Simulator::start().await.unwrap();
    let key = seeded_key(&sim).await;
    let http = HttpClient::new().unwrap();
    let api = calm_credentials::api::CalmApi::with_http(&key, http.clone()).unwrap();
    sim.clear_requests();

    let projects: Value = api
        .get("/calm-projects/v1/projects")
        .await
        .unwrap()
        .json()
        .unwrap();
    let project = projects[0]["id"].as_str().unwrap().to_owned();
    let created = api
        .post_json(
            "calm-tasks/v1/tasks",
            &json!({"projectId": project, "title": "Check the connection"}),
        )
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let tasks: Value = api
        .get(&format!("/calm-tasks/v1/tasks?projectId={project}"))
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(tasks[0]["title"], "Check the connection");
    // One token for three calls.
    assert_eq!(requests_to(&sim, Server::Token), 1);
    assert_eq!(requests_to(&sim, Server::CloudAlm), 3);
    assert_eq!(http.request_count(), 4);

    // Any reqwest request, token attached.
    let request = api
        .reqwest_builder(reqwest::Method::GET, "/calm-projects/v1/projects")
        .unwrap()
        .build()
        .unwrap();
    let answer = api.execute(request).await.unwrap();
    assert_eq!(answer.status(), 200);
    let outside =
        reqwest::Request::new(reqwest::Method::GET, sim.sm_url().join("v1/info").unwrap());
    assert!(matches!(
        api.execute(outside).await,
        Err(Error::InvalidUrl { .. })
    ));

    // A scope the key lacks: 403 with the gateway's text, and no second try.
    sim.require_scope("/calm-tasks", "calm-api.tasks.write");
    sim.clear_requests();
    let e = api
        .post_json(
            "/calm-tasks/v1/tasks",
            &json!({"projectId": project, "title": "x"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403));
    assert!(
        e.to_string()
            .contains("Token scope `calm-api.tasks.write` missing"),
        "{e}"
    );
    assert_eq!(requests_to(&sim, Server::CloudAlm), 1);
    // A scope the key has (monitoring keys carry calm-api.monitoring.read in the simulator).
    sim.require_scope("/calm-projects", "calm-api.monitoring.read");
    assert_eq!(
        api.get("/calm-projects/v1/projects")
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_is_renewed_once_on_401() {
    let sim = Simulator::start().await.unwrap();
    let key = seeded_key(&sim).await;
    let api = key.api_client().unwrap();
    api.get("/calm-projects/v1/projects").await.unwrap();
    sim.clear_requests();

    // The gateway refuses the cached token once: a fresh token and one more try.
    sim.inject(FaultRule::new(
        Server::CloudAlm,
        "GET",
        "/calm/",
        Fault::ServerError(401),
    ));
    api.get("/calm-projects/v1/projects").await.unwrap();
    assert_eq!(requests_to(&sim, Server::Token), 1);
    assert_eq!(requests_to(&sim, Server::CloudAlm), 2);

    // The same through `execute` with a plain reqwest request.
    sim.clear_requests();
    sim.inject(FaultRule::new(
        Server::CloudAlm,
        "GET",
        "/calm/",
        Fault::ServerError(401),
    ));
    let request = api
        .reqwest_builder(reqwest::Method::GET, "/calm-projects/v1/projects")
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(api.execute(request).await.unwrap().status(), 200);
    assert_eq!(requests_to(&sim, Server::Token), 1);
    assert_eq!(requests_to(&sim, Server::CloudAlm), 2);

    // Refused twice: one renewal only, then the 401 is the answer.
    sim.clear_requests();
    sim.inject(FaultRule::new(Server::CloudAlm, "GET", "/calm/", Fault::ServerError(401)).times(2));
    let e = api.get("/calm-projects/v1/projects").await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert_eq!(requests_to(&sim, Server::Token), 1);
    assert_eq!(requests_to(&sim, Server::CloudAlm), 2);

    // 503 on a GET is retried per the policy, with the same token.
    sim.clear_requests();
    sim.inject(FaultRule::new(
        Server::CloudAlm,
        "GET",
        "/calm/",
        Fault::ServerError(503),
    ));
    api.get("/calm-projects/v1/projects").await.unwrap();
    assert_eq!(requests_to(&sim, Server::Token), 0);
    assert_eq!(requests_to(&sim, Server::CloudAlm), 2);
}

// ---------------------------------------------------------------------------------------------
// `calm` with --output, `calm env`, `calm api`

async fn calm(args: &[&str], env: &[(&str, &str)]) -> Run {
    common::calm_async(args, env).await
}

fn assert_no_secret(run: &Run, secret: &str) {
    assert!(
        !run.stdout.contains(secret),
        "secret on stdout: {}",
        run.stdout
    );
    assert!(
        !run.stderr.contains(secret),
        "secret on stderr: {}",
        run.stderr
    );
    // Nor an access token (every simulated token is a JWT starting `eyJ`).
    assert!(!run.stdout.contains("eyJ") && !run.stderr.contains("eyJ"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sm_retrieve_writes_every_sink_and_says_where() {
    let sim = Simulator::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sm_key = dir.path().join("sm.json");
    std::fs::write(
        &sm_key,
        sim.sm_key("calm-auto").unwrap().expose_json().to_string(),
    )
    .unwrap();
    let file = dir.path().join("key.json");
    let secret_yaml = dir.path().join("secret.yaml");
    let dotenv = dir.path().join("calm.env");
    let run = calm(
        &[
            "sm",
            "retrieve",
            "--sm-key",
            sm_key.to_str().unwrap(),
            "--instance",
            "cloud-alm-api",
            "--binding",
            "cloud-alm-api-binding",
            "--json",
            "--output",
            &format!("file:{}", file.display()),
            "--output",
            &format!("k8s-secret:{}", secret_yaml.display()),
            "--output",
            &format!("env:{}", dotenv.display()),
            "--secret-name",
            "calm-prod",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["credentials"]["uaa"]["clientsecret"], "[REDACTED]");
    let written = out["written"].as_array().unwrap();
    assert_eq!(written.len(), 3);
    assert_eq!(written[0]["sink"], "file");
    assert_eq!(written[0]["path"], file.to_str().unwrap());
    assert_eq!(written[1]["sink"], "k8s-secret");
    assert_eq!(written[1]["format"], "yaml");
    assert_eq!(written[1]["secret_name"], "calm-prod");
    assert_eq!(written[2]["sink"], "env");
    for p in [&file, &secret_yaml, &dotenv] {
        assert_eq!(mode(p), 0o600, "{}", p.display());
    }
    let key = ServiceKey::from_json(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let secret = key.expose_json()["uaa"]["clientsecret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_no_secret(&run, &secret);
    assert_eq!(
        source_with_sh(&dotenv, &["CALM_CLIENT_SECRET"]),
        [secret.as_str()]
    );

    // The Secret, mounted, is what `calm env` finds; it hands it on to another sink.
    let manifest = read_manifest(&secret_yaml);
    assert_eq!(
        manifest["metadata"]["annotations"]["binding"],
        "cloud-alm-api-binding"
    );
    let root = dir.path().join("bindings");
    mount_secret(&manifest, &root, "calm-prod");
    let again = dir.path().join("again.json");
    let env_run = calm(
        &[
            "env",
            "--json",
            "--output",
            &format!("file:{}", again.display()),
        ],
        &[
            ("SERVICE_BINDING_ROOT", root.to_str().unwrap()),
            ("VCAP_SERVICES", ""),
        ],
    )
    .await;
    assert_eq!(env_run.code, 0, "{}", env_run.stderr);
    let shown: Value = serde_json::from_str(&env_run.stdout).unwrap();
    assert_eq!(shown["service"]["name"], "calm-prod");
    assert_eq!(shown["service"]["plan"], "standard");
    assert_eq!(shown["written"][0]["sink"], "file");
    assert_no_secret(&env_run, &secret);
    let round = ServiceKey::from_json(&std::fs::read_to_string(&again).unwrap()).unwrap();
    assert_eq!(round.expose_json(), key.expose_json());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_sink_exits_2_before_anything_is_sent() {
    let sim = Simulator::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sm_key = dir.path().join("sm.json");
    std::fs::write(
        &sm_key,
        sim.sm_key("calm-auto").unwrap().expose_json().to_string(),
    )
    .unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(dir.path().join("target.json"), &link).unwrap();
    let base = [
        "sm",
        "retrieve",
        "--sm-key",
        sm_key.to_str().unwrap(),
        "--instance",
        "cloud-alm-api",
        "--binding",
        "cloud-alm-api-binding",
        "--output",
    ];
    let cases = [
        format!("file:{}", dir.path().join("missing/key.json").display()),
        format!("file:{}", link.display()),
        format!("k8s-secret:{}", dir.path().join("secret.txt").display()),
        "s3:bucket/key".to_owned(),
    ];
    sim.clear_requests();
    for sink in &cases {
        let run = calm(&[&base[..], &[sink.as_str()]].concat(), &[]).await;
        assert_eq!(run.code, 2, "{sink}: {}{}", run.stdout, run.stderr);
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    assert!(!dir.path().join("target.json").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn calm_api_calls_with_a_good_key_and_sends_nothing_with_a_refused_one() {
    let sim = Simulator::start().await.unwrap();
    let key = seeded_key(&sim).await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(&good, key.expose_json().to_string()).unwrap();
    let secret = key.expose_json()["uaa"]["clientsecret"]
        .as_str()
        .unwrap()
        .to_owned();

    sim.clear_requests();
    let listed = calm(
        &[
            "api",
            "GET",
            "/calm-projects/v1/projects",
            "--key",
            good.to_str().unwrap(),
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let v: Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(v["status"], 200);
    let project = v["body"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(requests_to(&sim, Server::Token), 1);
    assert_eq!(requests_to(&sim, Server::CloudAlm), 1);
    assert_no_secret(&listed, &secret);

    let body = dir.path().join("task.json");
    std::fs::write(
        &body,
        json!({"projectId": project, "title": "From calm"}).to_string(),
    )
    .unwrap();
    let posted = calm(
        &[
            "api",
            "post",
            "calm-tasks/v1/tasks",
            "--key",
            good.to_str().unwrap(),
            "--data",
            &format!("@{}", body.display()),
        ],
        &[],
    )
    .await;
    assert_eq!(posted.code, 0, "{}", posted.stderr);
    let task: Value = serde_json::from_str(&posted.stdout).unwrap();
    assert_eq!(task["title"], "From calm");

    // The platform refuses: exit 1 with the status and its text.
    sim.require_scope("/calm-tasks", "calm-api.tasks.read");
    let refused = calm(
        &[
            "api",
            "GET",
            &format!("/calm-tasks/v1/tasks?projectId={project}"),
            "--key",
            good.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("403")
            && refused
                .stderr
                .contains("Token scope `calm-api.tasks.read` missing"),
        "{}",
        refused.stderr
    );
    assert_no_secret(&refused, &secret);

    // A key whose secret the token server refuses: said so, and nothing reaches the API.
    let mut wrong = key.expose_json();
    wrong["uaa"]["clientsecret"] = Value::from("not-the-secret-at-all");
    let wrong_file = dir.path().join("wrong.json");
    std::fs::write(&wrong_file, wrong.to_string()).unwrap();
    sim.clear_requests();
    let denied = calm(
        &["api", "GET", "/calm-projects/v1/projects", "--key", "-"],
        &[],
    )
    .await;
    assert_eq!(
        denied.code, 2,
        "reading a key from an empty stdin is bad input: {}",
        denied.stderr
    );
    let denied = calm(
        &[
            "api",
            "GET",
            "/calm-projects/v1/projects",
            "--key",
            wrong_file.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    assert!(
        denied.stderr.contains("refused by the token server")
            && denied.stderr.contains("nothing was sent to the API"),
        "{}",
        denied.stderr
    );
    assert_no_secret(&denied, "not-the-secret-at-all");
    assert_eq!(requests_to(&sim, Server::Token), 1);
    assert_eq!(requests_to(&sim, Server::CloudAlm), 0);

    // Paths that leave the API base are refused before anything is sent.
    sim.clear_requests();
    let escape = calm(
        &[
            "api",
            "GET",
            "../../auth/calm-auto/oauth/token",
            "--key",
            good.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(escape.code, 2, "{}", escape.stderr);
    assert!(sim.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_answers_401_without_a_valid_token_and_403_for_other_clients() {
    let sim = Simulator::start().await.unwrap();
    let key = seeded_key(&sim).await;
    let url = key
        .api_url()
        .unwrap()
        .join("api/calm-projects/v1/projects")
        .unwrap();
    let client = reqwest::Client::new();

    let none = client.get(url.clone()).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert!(
        none.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=")
    );
    let forged = client
        .get(url.clone())
        .bearer_auth("eyJhbGciOiJub25lIn0.e30.")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert!(
        forged.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    // A token of another tenant's zone: a valid signature but the wrong issuer.
    let other = sim.sm_key("calm-monitoring").unwrap();
    let http = HttpClient::new().unwrap();
    let other_tokens = calm_credentials::TokenSource::from_service_key(&other, &http).unwrap();
    use secrecy::ExposeSecret;
    let t = other_tokens.token().await.unwrap();
    let foreign = client
        .get(url.clone())
        .bearer_auth(t.secret().expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 401);

    // The tenant's own Service Manager client: right zone, not a Cloud ALM API client.
    let own = sim.sm_key("calm-auto").unwrap();
    let own_tokens = calm_credentials::TokenSource::from_service_key(&own, &http).unwrap();
    let t = own_tokens.token().await.unwrap();
    let wrong_client = client
        .get(url)
        .bearer_auth(t.secret().expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_client.status(), 403);
    assert!(
        wrong_client.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cf_key_writes_a_json_secret_named_after_the_service_key() {
    let sim = Simulator::start().await.unwrap();
    let login = common::sim::cf_user(&sim);
    let home = tempfile::tempdir().unwrap();
    let api = sim.cf_api_url().to_string();
    let home_path = home.path().to_string_lossy().into_owned();
    let secret_json = home.path().join("secret.json");
    let run = calm(
        &[
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
            "--output",
            &format!("k8s-secret:{}", secret_json.display()),
        ],
        &[
            ("CF_HOME", home_path.as_str()),
            ("CF_API_URL", api.as_str()),
            ("CF_USERNAME", login.username.as_str()),
            ("CF_PASSWORD", login.password.as_str()),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("wrote       k8s-secret:"),
        "{}",
        run.stderr
    );
    assert_eq!(mode(&secret_json), 0o600);
    let manifest = read_manifest(&secret_json);
    assert_eq!(manifest["metadata"]["name"], "cloud-alm-api-key");
    let root = home.path().join("bindings");
    mount_secret(&manifest, &root, "calm");
    let env = ProcessEnv::new().with_var("SERVICE_BINDING_ROOT", root.to_str().unwrap());
    let found = runtime::find(&env, &Query::default()).unwrap();
    assert_eq!(found.service.instance_name(), Some("cloud-alm-api"));
    let key = found.service_key().unwrap();
    assert_eq!(
        key.credential_type().map(|t| t.as_str()),
        Some("instance-secret")
    );
    let secret = key.expose_json()["uaa"]["clientsecret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_no_secret(&run, &secret);
}
