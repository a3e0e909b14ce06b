//! The fleet runner end to end against the simulator: `Fleet` from the library and
//! `calm fleet apply` as a user runs it. Every figure comes from the simulator's request log.
#![cfg(feature = "simulator")]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use calm_credentials::fleet::{Fleet, Manifest, Outcome, RateLimits, Scope};
use calm_credentials::simulator::{RequestRecord, Server, ServerLimits, Simulator};
use calm_credentials::{ErrorKind, HttpClient, RetryPolicy};
use common::Run;
use common::sim::platform_posts;
use serde_json::{Value, json};

/// The keys of two Service Manager clients, and a third one the token server refuses.
struct Keys {
    dir: tempfile::TempDir,
    clients: [String; 2],
}

fn keys(sim: &Simulator) -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let mut clients = Vec::new();
    for (file, subdomain) in [("a.json", "calm-auto"), ("b.json", "calm-monitoring")] {
        let key = sim.sm_key(subdomain).unwrap();
        clients.push(key.client_id().to_owned());
        std::fs::write(dir.path().join(file), key.expose_json().to_string()).unwrap();
    }
    let mut bad = sim.sm_key("calm-auto").unwrap().expose_json();
    bad["clientid"] = json!("sb-nobody!b1");
    bad["clientsecret"] = json!("BAD-SECRET-4242");
    std::fs::write(dir.path().join("bad.json"), bad.to_string()).unwrap();
    Keys {
        dir,
        clients: [clients[0].clone(), clients[1].clone()],
    }
}

/// `tenants` tenants per good key, each with its own instance and `credentials` credentials;
/// with `bad`, one more tenant on the refused key.
fn manifest(keys: &Keys, tenants: usize, credentials: usize, bad: bool) -> String {
    let mut list = Vec::new();
    for key in ["a", "b"] {
        for t in 0..tenants {
            let names: Vec<String> = (0..credentials).map(|c| format!("sys-{t}-{c}")).collect();
            list.push(
                json!({"name": format!("{key}-{t}"), "provisioned_on": "2023-01-15",
                "service_manager_key": format!("{key}.json"), "purpose": "transport",
                "instance": format!("calm-transport-{t}"), "credentials": names}),
            );
        }
    }
    if bad {
        list.insert(
            1,
            json!({"name": "refused", "provisioned_on": "2023-01-15",
            "service_manager_key": "bad.json", "purpose": "transport",
            "instance": "calm-transport", "credentials": ["x-1", "x-2"]}),
        );
    }
    let path = keys.dir.path().join("fleet.json");
    std::fs::write(&path, json!({"tenants": list}).to_string()).unwrap();
    path.display().to_string()
}

fn sm_requests(sim: &Simulator, client: &str) -> Vec<RequestRecord> {
    sim.requests()
        .into_iter()
        .filter(|r| r.server == Server::ServiceManager && r.client.as_deref() == Some(client))
        .collect()
}

fn on(records: &[RequestRecord], method: &str, prefix: &str) -> usize {
    records
        .iter()
        .filter(|r| r.method == method && r.path.starts_with(prefix))
        .count()
}

/// Runs `calm` off the async runtime, so the in-process simulator keeps serving.
async fn calm(args: &[&str]) -> Run {
    common::calm_async(args, &[]).await
}

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr))
}

/// Every (tenant, credential, outcome) of `calm fleet apply --json`.
fn outcomes(out: &Value) -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    for tenant in out["tenants"].as_array().unwrap() {
        for c in tenant["credentials"].as_array().unwrap() {
            all.push((
                tenant["name"].as_str().unwrap().to_owned(),
                c["name"].as_str().unwrap().to_owned(),
                c["outcome"].as_str().unwrap().to_owned(),
            ));
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_creates_every_binding_once_and_a_second_run_only_looks() {
    let sim = Simulator::start().await.unwrap();
    let keys = keys(&sim);
    let path = manifest(&keys, 3, 3, false);

    let first = calm(&["fleet", "apply", &path, "--json", "--concurrency", "4"]).await;
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let out = json_of(&first);
    let got = outcomes(&out);
    assert_eq!(got.len(), 18);
    assert!(got.iter().all(|g| g.2 == "created"), "{got:?}");
    assert_eq!(out["tenants"][0]["tier"], "manual");
    assert_eq!(out["rate_limited"], 0);
    assert!(out["requests"].as_u64().unwrap() > 0);
    assert!(out["elapsed_s"].as_f64().is_some());

    let tokens = sim
        .requests()
        .iter()
        .filter(|r| r.server == Server::Token)
        .count();
    assert_eq!(tokens, 2, "one token request per Service Manager key");
    for client in &keys.clients {
        let records = sm_requests(&sim, client);
        assert_eq!(on(&records, "GET", "/v1/service_offerings"), 1, "{client}");
        assert_eq!(on(&records, "GET", "/v1/service_plans"), 1, "{client}");
        assert_eq!(on(&records, "POST", "/v1/service_instances"), 3);
        assert_eq!(
            on(&records, "POST", "/v1/service_bindings"),
            9,
            "no duplicate"
        );
        // Per new tenant: the instance looked up and created, the first binding created by
        // the journey, the instance read once, two more bindings created (no listing: the
        // instance is new); the offering and plan once per key.
        assert_eq!(records.len(), 3 * 6 + 2, "{client}: {records:?}");
    }
    for (subdomain, _) in [("calm-auto", 0), ("calm-monitoring", 1)] {
        let sm = sim.service_manager(subdomain).unwrap();
        for listing in sm.list().await.unwrap() {
            if !listing.instance.name.starts_with("calm-transport-") {
                continue;
            }
            let names: HashSet<&str> = listing
                .credentials
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            assert_eq!(names.len(), 3, "{names:?}");
            assert_eq!(listing.credentials.len(), 3, "no duplicates");
        }
    }

    sim.clear_requests();
    let second = calm(&["fleet", "apply", &path, "--json"]).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    let got = outcomes(&json_of(&second));
    assert!(got.iter().all(|g| g.2 == "found"), "{got:?}");
    assert_eq!(platform_posts(&sim), 0, "a second run creates nothing");
    for client in &keys.clients {
        let records = sm_requests(&sim, client);
        // Per tenant: the instance and the first binding by name, then one page of the
        // instance's bindings = ceil(3 / 200) + 2; no offering or plan lookups at all.
        assert_eq!(records.len(), 3 * 3, "{client}: {records:?}");
        assert_eq!(on(&records, "GET", "/v1/service_offerings"), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_fails_its_tenant_only_and_exits_1_and_dry_run_sends_no_post() {
    let sim = Simulator::start().await.unwrap();
    let keys = keys(&sim);
    let path = manifest(&keys, 2, 2, true);

    let dry = calm(&["fleet", "apply", &path, "--json", "--dry-run"]).await;
    assert_eq!(
        platform_posts(&sim),
        0,
        "a dry run sends no mutating request"
    );
    let got = outcomes(&json_of(&dry));
    assert_eq!(dry.code, 1, "the refused tenant failed: {}", dry.stdout);
    assert_eq!(json_of(&dry)["dry_run"], true);
    for (tenant, _, outcome) in &got {
        let expected = if tenant == "refused" {
            "failed"
        } else {
            "missing"
        };
        assert_eq!(outcome, expected, "{got:?}");
    }

    let run = calm(&["fleet", "apply", &path, "--json"]).await;
    assert_eq!(run.code, 1);
    let out = json_of(&run);
    let refused = &out["tenants"][1];
    assert_eq!(refused["name"], "refused");
    for c in refused["credentials"].as_array().unwrap() {
        assert_eq!(c["outcome"], "failed");
        assert!(
            c["error"].as_str().unwrap().contains("invalid_client"),
            "{}",
            c["error"]
        );
    }
    let good: Vec<_> = outcomes(&out)
        .into_iter()
        .filter(|g| g.0 != "refused")
        .collect();
    assert_eq!(good.len(), 8);
    assert!(good.iter().all(|g| g.2 == "created"), "{good:?}");
    assert!(
        !run.stdout.contains("BAD-SECRET-4242"),
        "no secret in the output"
    );

    let human = calm(&["fleet", "apply", &path]).await;
    assert_eq!(human.code, 1);
    assert!(
        human.stdout.contains("refused x-1: failed"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("a-0 sys-0-1: found"),
        "{}",
        human.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_writes_each_key_with_mode_0600_and_stdout_shows_no_secret() {
    let sim = Simulator::start().await.unwrap();
    let keys = keys(&sim);
    let path = manifest(&keys, 1, 2, false);
    let out_dir = keys.dir.path().join("out");
    let run = calm(&["fleet", "apply", &path, "--out", out_dir.to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    for (tenant, names) in [
        ("a-0", ["sys-0-0", "sys-0-1"]),
        ("b-0", ["sys-0-0", "sys-0-1"]),
    ] {
        for name in names {
            let file = out_dir.join(tenant).join(format!("{name}.json"));
            let text = std::fs::read_to_string(&file).unwrap();
            let key: Value = serde_json::from_str(&text).unwrap();
            let secret = key["uaa"]["clientsecret"]
                .as_str()
                .or(key["clientsecret"].as_str())
                .expect("the full key, secret included");
            assert!(!run.stdout.contains(secret), "stdout shows no secret");
            assert!(!run.stderr.contains(secret));
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = std::fs::metadata(&file).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{}", file.display());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_manifest_exits_2_before_any_request() {
    let sim = Simulator::start().await.unwrap();
    let keys = keys(&sim);
    let path = keys.dir.path().join("typo.json");
    std::fs::write(
        &path,
        r#"{"tenants": [{"name": "a", "provisoned_on": "2023-01-15",
            "service_manager_key": "a.json", "purpose": "transport",
            "instance": "i", "credentials": ["c"]}]}"#,
    )
    .unwrap();
    let run = calm(&["fleet", "apply", path.to_str().unwrap()]).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("provisoned_on"), "{}", run.stderr);
    assert!(sim.requests().is_empty());
}

/// A Service Manager whose limits are lower than the client was told: the run completes, with
/// few 429s (the limiter learns the real limit from the first ones).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_lower_limits_than_configured_is_survived_with_few_429s() {
    let minute = Duration::from_secs(2);
    let sim = Simulator::builder()
        .rate_limits(
            ServerLimits::documented()
                .minute(minute)
                .all_per_minute(40)
                .bindings_per_minute(20),
        )
        .start()
        .await
        .unwrap();
    let keys = keys(&sim);
    let path = manifest(&keys, 4, 5, false);
    let manifest = Manifest::load(&path).unwrap();
    let limits = RateLimits::documented()
        .per_minute(Scope::All, 80)
        .per_minute(Scope::Bindings, 60)
        .scaled_to(minute)
        .margin(Duration::from_millis(300));
    let http = HttpClient::builder().retry_policy(RetryPolicy {
        max_attempts: 8,
        ..RetryPolicy::default()
    });
    let mut run = Fleet::new(manifest)
        .limits(limits)
        .http(http)
        .concurrency(8)
        .run()
        .unwrap();
    let mut created = 0;
    while let Some(outcome) = run.next().await {
        match outcome.result {
            Outcome::Created(_) => created += 1,
            other => panic!("{} {}: {other}", outcome.tenant, outcome.credential),
        }
    }
    assert_eq!(created, 40);
    let summary = run.summary();
    assert!(summary.complete());
    let refused = sim.requests().iter().filter(|r| r.status == 429).count() as u64;
    assert_eq!(summary.rate_limited, refused);
    assert!(refused <= 10, "{refused} 429s");
    for client in &keys.clients {
        let records = sm_requests(&sim, client);
        assert_eq!(
            on(&records, "POST", "/v1/service_bindings")
                - count_refused(&records, "/v1/service_bindings"),
            20
        );
    }
}

fn count_refused(records: &[RequestRecord], prefix: &str) -> usize {
    records
        .iter()
        .filter(|r| r.method == "POST" && r.path.starts_with(prefix) && r.status == 429)
        .count()
}

/// A Cloud Foundry tenant beside a Service Manager tenant, through the library: keys created
/// once, found on the second run, and the outcomes carry the keys to hand over; a tenant
/// whose org lacks the entitlement fails alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_foundry_and_service_manager_tenants_side_by_side() {
    let sim = Simulator::start().await.unwrap();
    let keys = keys(&sim);
    let text = json!({"tenants": [
        {"name": "cf-one", "provisioned_on": "2023-01-15",
         "cloud_foundry": {"api": sim.cf_api_url().as_str(), "org": "calm-auto", "space": "dev"},
         "purpose": "transport", "instance": "calm-transport", "credentials": ["k-1", "k-2", "k-3"]},
        {"name": "cf-unentitled", "provisioned_on": "2023-01-15",
         "cloud_foundry": {"api": sim.cf_api_url().as_str(), "org": "calm-manual", "space": "dev"},
         "purpose": "transport", "instance": "calm-transport", "credentials": ["u-1", "u-2"]},
        {"name": "sm-one", "provisioned_on": "2023-01-15", "service_manager_key": "a.json",
         "purpose": "transport", "instance": "calm-transport", "credentials": ["b-1", "b-2"]}]})
    .to_string();
    let path = keys.dir.path().join("fleet.json");
    let manifest = Manifest::parse(&text, "json", &path, keys.dir.path()).unwrap();

    for (round, expected) in [(0, "created"), (1, "found")] {
        sim.clear_requests();
        let mut run = Fleet::new(manifest.clone())
            .cloud_foundry_login(sim.cf_login())
            .run()
            .unwrap();
        let mut seen = Vec::new();
        while let Some(outcome) = run.next().await {
            if outcome.tenant == "cf-unentitled" {
                let error = outcome.result.error().expect("failed");
                assert_eq!(error.kind(), ErrorKind::EntitlementMissing, "{error}");
                continue;
            }
            assert_eq!(
                outcome.result.as_str(),
                expected,
                "round {round}: {outcome:?}"
            );
            let key = outcome.result.key().expect("the key to hand over");
            let exposed = key.expose_json();
            let secret = exposed["uaa"]["clientsecret"]
                .as_str()
                .or(exposed["clientsecret"].as_str())
                .expect("a secret");
            assert!(!format!("{outcome:?}").contains(secret), "Debug hides it");
            assert!(!format!("{}", outcome.result).contains(secret));
            seen.push(format!("{}/{}", outcome.tenant, outcome.credential));
        }
        seen.sort();
        assert_eq!(
            seen,
            [
                "cf-one/k-1",
                "cf-one/k-2",
                "cf-one/k-3",
                "sm-one/b-1",
                "sm-one/b-2"
            ]
        );
        let summary = run.summary();
        assert_eq!((summary.done(), summary.failed), (7, 2));
        assert_eq!(summary.requests, sim.requests().len() as u64);
        if round == 1 {
            assert_eq!(platform_posts(&sim), 0, "the second run creates nothing");
        }
    }
}

/// 250 credentials on one instance: found on the rerun with the instance and first-binding
/// lookups plus ceil(250 / 200) pages of the instance's bindings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_credentials_of_one_tenant_cost_a_few_pages_on_the_rerun() {
    let sim = Simulator::start().await.unwrap();
    let keys = keys(&sim);
    let names: Vec<String> = (0..250).map(|i| format!("sys-{i:03}")).collect();
    let text = json!({"tenants": [{"name": "big", "provisioned_on": "2023-01-15",
        "service_manager_key": "a.json", "purpose": "transport",
        "instance": "calm-transport", "credentials": names}]})
    .to_string();
    let path = keys.dir.path().join("fleet.json");
    let manifest = Manifest::parse(&text, "json", &path, keys.dir.path()).unwrap();
    let drain = |manifest: Manifest| async move {
        let mut run = Fleet::new(manifest).run().unwrap();
        while run.next().await.is_some() {}
        run.summary()
    };
    let first = drain(manifest.clone()).await;
    assert_eq!((first.created, first.failed), (250, 0));
    let posts = on(
        &sm_requests(&sim, &keys.clients[0]),
        "POST",
        "/v1/service_bindings",
    );
    assert_eq!(posts, 250, "no duplicate");

    sim.clear_requests();
    let second = drain(manifest).await;
    assert_eq!((second.found, second.created), (250, 0));
    let records = sm_requests(&sim, &keys.clients[0]);
    let pages = on(&records, "GET", "/v1/service_bindings");
    // One lookup of the first binding by name, then the listing: ceil(250 / 200) pages.
    assert_eq!(pages, 1 + 2, "{records:?}");
    assert_eq!(records.len(), 1 + 1 + 2);
}
