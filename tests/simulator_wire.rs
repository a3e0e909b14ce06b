//! Wire-format checks of the simulator with a raw HTTP client, against `reference/`.
#![cfg(feature = "simulator")]

mod common;

use std::time::{Duration, Instant};

use calm_credentials::simulator::{
    AsyncMode, Fault, FaultRule, PendingVisibility, RetryAfter, Server, Simulator, TenantSpec,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// Operation duration for tests that observe "in progress": long enough for a few requests on a
/// loaded machine; completion is polled, never slept for.
const SLOW_OP: Duration = Duration::from_millis(1500);

/// Polls a Service Manager path until `done(status, body)` (deadline 10 s).
async fn poll_sm(
    sim: &Simulator,
    token: &str,
    path: &str,
    done: impl Fn(StatusCode, &Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = sm_get(sim, token, path).await;
        if done(status, &body) || Instant::now() > deadline {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn client() -> Client {
    Client::new()
}

async fn sm_token(sim: &Simulator, subdomain: &str) -> String {
    let key = sim.sm_key(subdomain).expect("tenant").expose_json();
    let response = client()
        .post(format!("{}/oauth/token", key["url"].as_str().unwrap()))
        .basic_auth(
            key["clientid"].as_str().unwrap(),
            key["clientsecret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn cf_token(sim: &Simulator) -> String {
    let login = common::sim::cf_user(sim);
    let body: Value = client()
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
    body["access_token"].as_str().unwrap().to_owned()
}

async fn sm_get(sim: &Simulator, token: &str, path_and_query: &str) -> (StatusCode, Value) {
    let url = sim.sm_url().join(path_and_query).unwrap();
    let response = client().get(url).bearer_auth(token).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn sm_post(
    sim: &Simulator,
    token: &str,
    path_and_query: &str,
    body: Value,
) -> reqwest::Response {
    let url = sim.sm_url().join(path_and_query).unwrap();
    client()
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn cf_get(sim: &Simulator, token: &str, path_and_query: &str) -> (StatusCode, Value) {
    let url = sim.cf_api_url().join(path_and_query).unwrap();
    let response = client().get(url).bearer_auth(token).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn cf_post(sim: &Simulator, token: &str, path: &str, body: Value) -> reqwest::Response {
    let url = sim.cf_api_url().join(path).unwrap();
    client()
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn q(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn calm_plan_id(sim: &Simulator, token: &str) -> String {
    let query = format!("/v1/service_plans?fieldQuery={}", q("name eq 'standard'"));
    let (_, body) = sm_get(sim, token, &query).await;
    body["items"][0]["id"].as_str().unwrap().to_owned()
}

async fn create_instance(
    sim: &Simulator,
    token: &str,
    name: &str,
    query: &str,
) -> reqwest::Response {
    let body = json!({"name": name, "service_offering_name": "SAPCloudALMAPIs",
        "service_plan_name": "standard",
        "parameters": {"xs-security": {"xsappname": name,
            "authorities": ["$XSMASTERAPPNAME.imp-cdm-feature-display-ui"]}}});
    sm_post(sim, token, &format!("/v1/service_instances{query}"), body).await
}

#[tokio::test]
async fn client_credentials_token_is_a_verifiable_jwt() {
    let sim = Simulator::start().await.unwrap();
    let tenant = &sim.tenants()[0];
    let (_, bindings) = sm_get(
        &sim,
        &sm_token(&sim, "calm-auto").await,
        "/v1/service_bindings",
    )
    .await;
    let uaa = &bindings["items"][0]["credentials"]["uaa"];
    // Form-field client authentication against the binding's own token server.
    let response = client()
        .post(format!("{}/oauth/token", uaa["url"].as_str().unwrap()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", uaa["clientid"].as_str().unwrap()),
            ("client_secret", uaa["clientsecret"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 43199);
    assert!(body.get("refresh_token").is_none());
    assert!(
        body["scope"]
            .as_str()
            .unwrap()
            .contains("sapcloudalm!b1.imp-cdm-feature-manage-ui")
    );
    let token = body["access_token"].as_str().unwrap();
    let key =
        DecodingKey::from_rsa_pem(uaa["verificationkey"].as_str().unwrap().as_bytes()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).unwrap();
    assert!(data.header.kid.is_some());
    assert_eq!(data.claims["zid"], tenant.zone_id.as_str());
    assert_eq!(data.claims["client_id"], uaa["clientid"]);
    assert!(data.claims["scope"].is_array());
    // The token opens the Cloud ALM API stand-in of its own tenant only.
    let api = bindings["items"][0]["credentials"]["endpoints"]["Api"]
        .as_str()
        .unwrap();
    let ok = client()
        .get(format!("{api}/calm-projects/v1/projects"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let foreign = api.replace("calm-auto", "calm-monitoring");
    let denied = client()
        .get(foreign)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    // Another tenant's zone did not issue it: not a valid token there (RFC 6750 invalid_token).
    assert_eq!(denied.status(), 401);
    let challenge = denied.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("invalid_token"), "{challenge}");
}

#[tokio::test]
async fn token_errors_follow_uaa() {
    let sim = Simulator::start().await.unwrap();
    let key = sim.sm_key("calm-auto").unwrap().expose_json();
    let endpoint = format!("{}/oauth/token", key["url"].as_str().unwrap());
    let wrong = client()
        .post(&endpoint)
        .basic_auth(key["clientid"].as_str().unwrap(), Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "invalid_client", "error_description": "Bad credentials"})
    );
    let grant = client()
        .post(&endpoint)
        .basic_auth(
            key["clientid"].as_str().unwrap(),
            key["clientsecret"].as_str(),
        )
        .form(&[("grant_type", "implicit")])
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), 400);
    assert_eq!(
        grant.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    // Another zone's token server does not know the client.
    let other = client()
        .post(format!("{}/oauth/token", sim.token_url("calm-manual")))
        .basic_auth(
            key["clientid"].as_str().unwrap(),
            key["clientsecret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 401);
}

#[tokio::test]
async fn cf_password_refresh_and_bad_user() {
    let sim = Simulator::builder()
        .cf_origin("my-idp")
        .start()
        .await
        .unwrap();
    let login = common::sim::cf_user(&sim);
    assert_eq!(login.origin.as_deref(), Some("my-idp"));
    let endpoint = format!("{}/oauth/token", sim.token_url("uaa"));
    let form = |password: &str| {
        vec![
            ("grant_type".to_owned(), "password".to_owned()),
            ("username".to_owned(), login.username.clone()),
            ("password".to_owned(), password.to_owned()),
        ]
    };
    let hint = q(r#"{"origin":"my-idp"}"#);
    let good = client()
        .post(format!("{endpoint}?login_hint={hint}"))
        .basic_auth("cf", Some(""))
        .form(&form(&login.password))
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 200);
    let body: Value = good.json().await.unwrap();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let no_origin = client()
        .post(&endpoint)
        .basic_auth("cf", Some(""))
        .form(&form(&login.password))
        .send()
        .await
        .unwrap();
    assert_eq!(no_origin.status(), 401);
    assert_eq!(
        no_origin.json::<Value>().await.unwrap()["error"],
        "unauthorized"
    );
    let refreshed = client()
        .post(&endpoint)
        .basic_auth("cf", Some(""))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let bad = client()
        .post(&endpoint)
        .basic_auth("cf", Some(""))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn expired_and_missing_tokens_are_refused_per_platform() {
    let sim = Simulator::start().await.unwrap();
    sim.set_token_lifetime(Duration::ZERO);
    let token = sm_token(&sim, "calm-auto").await;
    let cf = cf_token(&sim).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = sm_get(&sim, &token, "/v1/service_instances").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "Unauthorized");
    let (status, body) = cf_get(&sim, &cf, "/v3/organizations").await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"errors": [{"code": 1000, "title": "CF-InvalidAuthToken", "detail": "Invalid Auth Token"}]})
    );
    let (status, body) = cf_get(&sim, "garbage", "/v3/organizations").await;
    assert_eq!(
        (status.as_u16(), body["errors"][0]["code"].clone()),
        (401, json!(1000))
    );
}

#[tokio::test]
async fn seeded_credentials_follow_the_tiers() {
    let sim = Simulator::start().await.unwrap();
    let tiers: Vec<_> = sim.tenants().iter().map(|t| t.tier_name).collect();
    assert_eq!(tiers, ["automatic", "monitoring-only", "manual"]);
    let (_, auto) = sm_get(
        &sim,
        &sm_token(&sim, "calm-auto").await,
        "/v1/service_bindings",
    )
    .await;
    let binding = &auto["items"][0];
    assert_eq!(binding["name"], "cloud-alm-api-binding");
    assert!(
        binding["created_at"]
            .as_str()
            .unwrap()
            .starts_with("2024-03-01")
    );
    let uaa = &binding["credentials"]["uaa"];
    assert_eq!(uaa["credential-type"], "binding-secret");
    assert_eq!(uaa["identityzone"], "calm-auto");
    assert_eq!(uaa["url"], sim.token_url("calm-auto").as_str());
    assert!(
        uaa["verificationkey"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let (_, monitoring) = sm_get(
        &sim,
        &sm_token(&sim, "calm-monitoring").await,
        "/v1/service_bindings",
    )
    .await;
    assert_eq!(monitoring["num_items"], 1);
    let (_, manual) = sm_get(
        &sim,
        &sm_token(&sim, "calm-manual").await,
        "/v1/service_bindings",
    )
    .await;
    assert_eq!(manual["num_items"], 0);
    assert_eq!(manual["items"], json!([]));
    // CF: instance-secret keys in space dev.
    let cf = cf_token(&sim).await;
    let (_, keys) = cf_get(&sim, &cf, "/v3/service_credential_bindings?type=key").await;
    assert_eq!(keys["pagination"]["total_results"], 2);
    let guid = keys["resources"][0]["guid"].as_str().unwrap();
    let (status, details) = cf_get(
        &sim,
        &cf,
        &format!("/v3/service_credential_bindings/{guid}/details"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        details["credentials"]["uaa"]["credential-type"],
        "instance-secret"
    );
    assert_eq!(details["syslog_drain_url"], Value::Null);
}

#[tokio::test]
async fn manual_tenant_sees_the_offering_only_after_entitlement() {
    let sim = Simulator::start().await.unwrap();
    let token = sm_token(&sim, "calm-manual").await;
    let query = format!(
        "/v1/service_offerings?fieldQuery={}",
        q("name eq 'SAPCloudALMAPIs'")
    );
    let (_, before) = sm_get(&sim, &token, &query).await;
    assert_eq!(before["num_items"], 0);
    let cf = cf_token(&sim).await;
    let manual = sim.tenants()[2].clone();
    let (_, spaces) = cf_get(&sim, &cf, "/v3/spaces?names=dev").await;
    let (_, org) = cf_get(
        &sim,
        &cf,
        &format!("/v3/organizations?names={}", manual.cf_org),
    )
    .await;
    let org_guid = org["resources"][0]["guid"].as_str().unwrap().to_owned();
    let space_guid = spaces["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["relationships"]["organization"]["data"]["guid"] == org_guid.as_str())
        .unwrap()["guid"]
        .as_str()
        .unwrap()
        .to_owned();
    let market = format!("/v3/service_offerings?names=SAPCloudALMAPIs&space_guids={space_guid}");
    assert_eq!(
        cf_get(&sim, &cf, &market).await.1["pagination"]["total_results"],
        0
    );
    sim.configure_entitlement("calm-manual");
    let (_, after) = sm_get(&sim, &token, &query).await;
    assert_eq!(after["num_items"], 1);
    assert_eq!(after["items"][0]["name"], "SAPCloudALMAPIs");
    assert_eq!(
        cf_get(&sim, &cf, &market).await.1["pagination"]["total_results"],
        1
    );
}

#[tokio::test]
async fn sm_paging_ends_and_never_repeats() {
    let sim = Simulator::start().await.unwrap();
    sim.configure_entitlement("calm-manual");
    let token = sm_token(&sim, "calm-manual").await;
    for n in 0..5 {
        assert_eq!(
            create_instance(&sim, &token, &format!("inst-{n}"), "")
                .await
                .status(),
            201
        );
    }
    let mut seen = Vec::new();
    let mut query = "/v1/service_instances?max_items=2".to_owned();
    for _ in 0..10 {
        let (status, page) = sm_get(&sim, &token, &query).await;
        assert_eq!(status, 200);
        assert_eq!(page["num_items"], 5);
        for item in page["items"].as_array().unwrap() {
            let name = item["name"].as_str().unwrap().to_owned();
            assert!(!seen.contains(&name), "{name} repeated");
            seen.push(name);
        }
        match page["token"].as_str() {
            Some(t) => query = format!("/v1/service_instances?max_items=2&token={}", q(t)),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    sim.set_page_size(2);
    let (_, first) = sm_get(&sim, &token, "/v1/service_instances").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let (status, body) = sm_get(&sim, &token, "/v1/service_instances?token=garbage").await;
    assert_eq!(
        (status.as_u16(), body["error"].clone()),
        (400, json!("TokenInvalid"))
    );
    let (status, body) = sm_get(&sim, &token, "/v1/service_instances?max_items=-1").await;
    assert_eq!(
        (status.as_u16(), body["error"].clone()),
        (400, json!("InvalidMaxItems"))
    );
}

#[tokio::test]
async fn field_query_handles_quotes_and_errors() {
    let sim = Simulator::start().await.unwrap();
    let token = sm_token(&sim, "calm-auto").await;
    assert_eq!(
        create_instance(&sim, &token, "it's-mine", "")
            .await
            .status(),
        201
    );
    let query = format!(
        "/v1/service_instances?fieldQuery={}",
        q("name eq 'it''s-mine'")
    );
    let (_, body) = sm_get(&sim, &token, &query).await;
    assert_eq!(body["num_items"], 1);
    assert_eq!(body["items"][0]["name"], "it's-mine");
    let in_query = format!(
        "/v1/service_instances?fieldQuery={}",
        q("name in ('it''s-mine', 'cloud-alm-api')")
    );
    assert_eq!(sm_get(&sim, &token, &in_query).await.1["num_items"], 2);
    let label = format!(
        "/v1/service_instances?labelQuery={}",
        q("subaccount_id eq 'nope'")
    );
    assert_eq!(sm_get(&sim, &token, &label).await.1["num_items"], 0);
    let bad = format!("/v1/service_instances?fieldQuery={}", q("name equals 'x'"));
    let (status, body) = sm_get(&sim, &token, &bad).await;
    assert_eq!(
        (status.as_u16(), body["error"].clone()),
        (400, json!("InvalidFieldQuery"))
    );
}

#[tokio::test]
async fn sync_201_and_async_202_with_operation_polling() {
    let sim = Simulator::start().await.unwrap();
    let token = sm_token(&sim, "calm-auto").await;
    let sync = create_instance(&sim, &token, "sync-one", "").await;
    assert_eq!(sync.status(), 201);
    let body: Value = sync.json().await.unwrap();
    assert_eq!(body["last_operation"]["state"], "succeeded");
    assert_eq!(body["ready"], true);
    sim.set_operation_duration(SLOW_OP);
    let started = create_instance(&sim, &token, "async-one", "").await;
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/v1/service_instances/") && location.contains("/operations/"));
    assert_eq!(started.json::<Value>().await.unwrap(), json!({}));
    let id = location.split('/').nth(3).unwrap().to_owned();
    let (_, pending) = sm_get(&sim, &token, &format!("/v1/service_instances/{id}")).await;
    assert_eq!(pending["ready"], false);
    let (_, op) = sm_get(&sim, &token, &location).await;
    assert_eq!(
        (op["state"].clone(), op["type"].clone()),
        (json!("in progress"), json!("create"))
    );
    let op = poll_sm(&sim, &token, &location, |s, op| {
        s == 200 && op["state"] == "succeeded"
    })
    .await;
    assert_eq!(op["state"], "succeeded");
    sim.set_operation_duration(Duration::from_millis(100));
    // Explicit async=false holds the request, then answers 201.
    let held = Instant::now();
    assert_eq!(
        create_instance(&sim, &token, "held", "?async=false")
            .await
            .status(),
        201
    );
    assert!(held.elapsed() >= Duration::from_millis(100));
    // Pending visibility as 404, and delete 202 then 404.
    sim.set_operation_duration(SLOW_OP);
    sim.set_async_mode(AsyncMode::Async);
    sim.set_pending_visibility(PendingVisibility::NotFound);
    let hidden = create_instance(&sim, &token, "hidden", "").await;
    let hidden_id = hidden.headers()["location"]
        .to_str()
        .unwrap()
        .split('/')
        .nth(3)
        .unwrap()
        .to_owned();
    let (status, _) = sm_get(&sim, &token, &format!("/v1/service_instances/{hidden_id}")).await;
    assert_eq!(status, 404);
    let url = sim
        .sm_url()
        .join(&format!("/v1/service_instances/{id}"))
        .unwrap();
    let deleted = client()
        .delete(url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 202);
    let path = format!("/v1/service_instances/{id}");
    let body = poll_sm(&sim, &token, &path, |s, _| s == 404).await;
    let (status, body) = (StatusCode::NOT_FOUND, body);
    assert_eq!(
        (status.as_u16(), body["error"].clone()),
        (404, json!("NotFound"))
    );
}

#[tokio::test]
async fn binding_conflicts_and_instance_in_progress() {
    let sim = Simulator::start().await.unwrap();
    let token = sm_token(&sim, "calm-auto").await;
    let (_, instances) = sm_get(&sim, &token, "/v1/service_instances").await;
    let instance_id = instances["items"][0]["id"].as_str().unwrap().to_owned();
    let body = json!({"name": "cloud-alm-api-binding", "service_instance_id": instance_id});
    let dup = sm_post(&sim, &token, "/v1/service_bindings", body).await;
    assert_eq!(dup.status(), 409);
    let err: Value = dup.json().await.unwrap();
    assert_eq!(err["error"], "Conflict");
    assert_eq!(
        err["description"],
        format!("binding with same name exists for instance with id {instance_id}")
    );
    let with_id = json!({"id": "x", "name": "n", "service_instance_id": instance_id});
    assert_eq!(
        sm_post(&sim, &token, "/v1/service_bindings", with_id)
            .await
            .status(),
        400
    );
    let fresh = json!({"name": "second", "service_instance_id": instance_id, "labels": {"rotation": ["1"]}});
    let created = sm_post(&sim, &token, "/v1/service_bindings", fresh).await;
    assert_eq!(created.status(), 201);
    let binding: Value = created.json().await.unwrap();
    assert_eq!(binding["labels"]["rotation"], json!(["1"]));
    assert_eq!(
        binding["labels"]["subaccount_id"][0],
        sim.tenants()[0].subaccount_id.as_str()
    );
    let patch_url = sim
        .sm_url()
        .join(&format!(
            "/v1/service_bindings/{}",
            binding["id"].as_str().unwrap()
        ))
        .unwrap();
    let patched = client()
        .patch(patch_url)
        .bearer_auth(&token)
        .json(&json!({"parameters": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 400);
    sim.set_operation_duration(SLOW_OP);
    let started = create_instance(&sim, &token, "slow-instance", "?async=true").await;
    let slow_id = started.headers()["location"]
        .to_str()
        .unwrap()
        .split('/')
        .nth(3)
        .unwrap()
        .to_owned();
    let early = sm_post(
        &sim,
        &token,
        "/v1/service_bindings",
        json!({"name": "b", "service_instance_id": slow_id}),
    )
    .await;
    assert_eq!(early.status(), 422);
    assert_eq!(
        early.json::<Value>().await.unwrap()["error"],
        "OperationInProgress"
    );
    let bad_json = client()
        .post(sim.sm_url().join("/v1/service_bindings").unwrap())
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), 400);
    assert_eq!(
        bad_json.json::<Value>().await.unwrap()["error"],
        "BadRequest"
    );
}

#[tokio::test]
async fn new_instance_authorities_reach_the_token() {
    let sim = Simulator::start().await.unwrap();
    let token = sm_token(&sim, "calm-auto").await;
    let plan = calm_plan_id(&sim, &token).await;
    let body = json!({"name": "x509-one", "service_plan_id": plan,
        "parameters": {"xs-security": {"xsappname": "x509-one", "authorities": ["$XSMASTERAPPNAME.calm-api.projects.read"]}}});
    let instance: Value = sm_post(&sim, &token, "/v1/service_instances", body)
        .await
        .json()
        .await
        .unwrap();
    let body = json!({"name": "cert", "service_instance_id": instance["id"], "parameters": {"credential-type": "x509"}});
    let binding: Value = sm_post(&sim, &token, "/v1/service_bindings", body)
        .await
        .json()
        .await
        .unwrap();
    let uaa = &binding["credentials"]["uaa"];
    assert_eq!(uaa["credential-type"], "x509");
    assert!(uaa.get("clientsecret").is_none());
    let response = client()
        .post(format!("{}/oauth/token", uaa["certurl"].as_str().unwrap()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", uaa["clientid"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let scope = response.json::<Value>().await.unwrap()["scope"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        scope.contains("sapcloudalm!b1.calm-api.projects.read"),
        "{scope}"
    );
}

#[tokio::test]
async fn cf_discovery_orgs_and_pagination() {
    let sim = Simulator::start().await.unwrap();
    let root: Value = client()
        .get(sim.cf_api_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let login = root["links"]["login"]["href"].as_str().unwrap();
    assert_eq!(login, sim.token_url("uaa").as_str());
    assert_eq!(root["links"]["uaa"]["href"], login);
    assert!(
        root["links"]["cloud_controller_v3"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/v3")
    );
    let cf = cf_token(&sim).await;
    let (_, orgs) = cf_get(&sim, &cf, "/v3/organizations?names=CALM-AUTO").await;
    assert_eq!(orgs["pagination"]["total_results"], 1);
    assert_eq!(orgs["resources"][0]["name"], "calm-auto");
    let (_, page) = cf_get(&sim, &cf, "/v3/organizations?per_page=2").await;
    assert_eq!(page["pagination"]["total_pages"], 2);
    let next = page["pagination"]["next"]["href"].as_str().unwrap();
    assert!(next.starts_with("http://127.0.0.1:"));
    let (_, last) = cf_get(&sim, &cf, next).await;
    assert_eq!(last["resources"].as_array().unwrap().len(), 1);
    assert_eq!(last["pagination"]["next"], Value::Null);
    let (status, body) = cf_get(&sim, &cf, "/v3/organizations?per_page=5001").await;
    assert_eq!(
        (status.as_u16(), body["errors"][0]["title"].clone()),
        (400, json!("CF-BadQueryParameter"))
    );
    let (status, _) = cf_get(&sim, &cf, "/v3/service_credential_bindings?type=key,app").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn cf_instance_and_key_lifecycle() {
    let sim = Simulator::start().await.unwrap();
    sim.set_operation_duration(SLOW_OP);
    let cf = cf_token(&sim).await;
    let (_, spaces) = cf_get(&sim, &cf, "/v3/spaces?names=DEV").await;
    let space = spaces["resources"][0]["guid"].as_str().unwrap().to_owned();
    let plans = "/v3/service_plans?names=standard&service_offering_names=SAPCloudALMAPIs";
    let (_, plans) = cf_get(&sim, &cf, &format!("{plans}&space_guids={space}")).await;
    let plan = plans["resources"][0]["guid"].as_str().unwrap().to_owned();
    let body = json!({"type": "managed", "name": "calm-legacy",
        "relationships": {"space": {"data": {"guid": space}}, "service_plan": {"data": {"guid": plan}}}});
    let created = cf_post(&sim, &cf, "/v3/service_instances", body.clone()).await;
    assert_eq!(created.status(), 202);
    let instance_job = created.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        created.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    let taken = cf_post(&sim, &cf, "/v3/service_instances", body).await;
    assert_eq!(taken.status(), 422);
    assert_eq!(
        taken.json::<Value>().await.unwrap()["errors"][0]["detail"],
        "The service instance name is taken: calm-legacy."
    );
    let (_, found) = cf_get(
        &sim,
        &cf,
        &format!("/v3/service_instances?names=calm-legacy&space_guids={space}"),
    )
    .await;
    let instance = found["resources"][0]["guid"].as_str().unwrap().to_owned();
    assert_eq!(
        found["resources"][0]["last_operation"]["state"],
        "in progress"
    );
    let key = json!({"type": "key", "name": "k1", "relationships": {"service_instance": {"data": {"guid": instance}}}});
    let busy = cf_post(&sim, &cf, "/v3/service_credential_bindings", key.clone()).await;
    assert_eq!(busy.status(), 422);
    assert_eq!(
        busy.json::<Value>().await.unwrap()["errors"][0]["detail"],
        "There is an operation in progress for the service instance"
    );
    assert_eq!(
        poll_job(&sim, &cf, &instance_job).await["state"],
        "COMPLETE"
    );
    let started = cf_post(&sim, &cf, "/v3/service_credential_bindings", key.clone()).await;
    assert_eq!(started.status(), 202);
    let job_url = started.headers()["location"].to_str().unwrap().to_owned();
    assert!(job_url.starts_with(sim.cf_api_url().as_str()));
    let (_, job) = cf_get(&sim, &cf, &job_url).await;
    assert!(job["state"] == "PROCESSING" || job["state"] == "POLLING");
    let dup = cf_post(&sim, &cf, "/v3/service_credential_bindings", key).await;
    assert_eq!(dup.status(), 422);
    let err: Value = dup.json().await.unwrap();
    assert_eq!(err["errors"][0]["code"], 10008);
    assert_eq!(
        err["errors"][0]["detail"],
        "The binding name is invalid. Key binding names must be unique. The service instance already has a key binding with name 'k1'."
    );
    let (_, keys) = cf_get(
        &sim,
        &cf,
        &format!(
            "/v3/service_credential_bindings?service_instance_guids={instance}&type=key&names=k1"
        ),
    )
    .await;
    let key_guid = keys["resources"][0]["guid"].as_str().unwrap().to_owned();
    let (status, body) = cf_get(
        &sim,
        &cf,
        &format!("/v3/service_credential_bindings/{key_guid}/details"),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        body["errors"][0]["detail"],
        "Creation of service key in progress"
    );
    let job = poll_job(&sim, &cf, &job_url).await;
    assert_eq!(job["state"], "COMPLETE");
    assert!(
        job["links"]["service_credential_binding"]["href"]
            .as_str()
            .unwrap()
            .ends_with(&key_guid)
    );
    let (status, body) = cf_get(
        &sim,
        &cf,
        &format!("/v3/service_credential_bindings/{key_guid}/details"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["credentials"]["uaa"]["credential-type"],
        "instance-secret"
    );
}

/// Polls a job until it is terminal (deadline 10 s).
async fn poll_job(sim: &Simulator, token: &str, url: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, job) = cf_get(sim, token, url).await;
        if job["state"] == "COMPLETE" || job["state"] == "FAILED" || Instant::now() > deadline {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn rate_limits_carry_each_retry_after_form() {
    let sim = Simulator::start().await.unwrap();
    let token = sm_token(&sim, "calm-auto").await;
    let forms = [
        RetryAfter::Seconds(1),
        RetryAfter::HttpDate,
        RetryAfter::GoTime,
        RetryAfter::Absent,
    ];
    for form in forms {
        sim.inject(FaultRule::new(
            Server::ServiceManager,
            "GET",
            "/v1/service_offerings",
            Fault::RateLimited(form),
        ));
        let response = client()
            .get(sim.sm_url().join("/v1/service_offerings").unwrap())
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        let header = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        match form {
            RetryAfter::Seconds(_) => assert_eq!(header.as_deref(), Some("1")),
            RetryAfter::HttpDate => assert!(header.unwrap().ends_with(" GMT")),
            RetryAfter::GoTime => assert!(header.unwrap().ends_with(" +0000 UTC")),
            _ => assert!(header.is_none()),
        }
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "BadRequest");
    }
    // The rule is used up: the next request passes.
    assert_eq!(sm_get(&sim, &token, "/v1/service_offerings").await.0, 200);
    let cf = cf_token(&sim).await;
    sim.inject(FaultRule::new(
        Server::CloudFoundry,
        "*",
        "/v3",
        Fault::RateLimited(RetryAfter::Seconds(1)),
    ));
    let response = client()
        .get(sim.cf_api_url().join("/v3/organizations").unwrap())
        .bearer_auth(&cf)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["content-type"], "text/plain");
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["errors"][0]["title"], "CF-RateLimitExceeded");
}

#[tokio::test]
async fn server_errors_drops_slowness_and_lost_responses() {
    let sim = Simulator::start().await.unwrap();
    let token = sm_token(&sim, "calm-auto").await;
    sim.inject(
        FaultRule::new(
            Server::ServiceManager,
            "GET",
            "/v1/",
            Fault::ServerError(503),
        )
        .times(2),
    );
    assert_eq!(sm_get(&sim, &token, "/v1/service_plans").await.0, 503);
    let (status, body) = sm_get(&sim, &token, "/v1/service_plans").await;
    assert_eq!(
        (status.as_u16(), body["error"].clone()),
        (503, json!("InternalError"))
    );
    assert_eq!(sm_get(&sim, &token, "/v1/service_plans").await.0, 200);
    sim.inject(FaultRule::any("/v1/service_plans", Fault::DropConnection));
    let dropped = client()
        .get(sim.sm_url().join("/v1/service_plans").unwrap())
        .bearer_auth(&token)
        .send()
        .await;
    assert!(
        dropped.is_err(),
        "a dropped connection must be a client error"
    );
    sim.inject(FaultRule::new(
        Server::ServiceManager,
        "GET",
        "/v1/service_plans",
        Fault::Slow(Duration::from_millis(50)),
    ));
    let started = Instant::now();
    assert_eq!(sm_get(&sim, &token, "/v1/service_plans").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(50));
    sim.inject(FaultRule::new(
        Server::ServiceManager,
        "POST",
        "/v1/service_instances",
        Fault::LoseResponse,
    ));
    let lost = client()
        .post(sim.sm_url().join("/v1/service_instances").unwrap())
        .bearer_auth(&token)
        .json(&json!({"name": "lost-one", "service_offering_name": "SAPCloudALMAPIs", "service_plan_name": "standard"}))
        .send()
        .await;
    assert!(lost.is_err());
    let query = format!(
        "/v1/service_instances?fieldQuery={}",
        q("name eq 'lost-one'")
    );
    assert_eq!(sm_get(&sim, &token, &query).await.1["num_items"], 1);
    let statuses: Vec<u16> = sim
        .requests()
        .iter()
        .filter(|r| {
            r.path.starts_with("/v1/service_plans")
                || r.method == "POST" && r.path == "/v1/service_instances"
        })
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [503, 503, 200, 0, 200, 0]);
}

#[tokio::test]
async fn request_log_counts_and_clears() {
    let sim = Simulator::start().await.unwrap();
    let token = sm_token(&sim, "calm-auto").await;
    let _ = sm_get(
        &sim,
        &token,
        "/v1/service_offerings?fieldQuery=name%20eq%20%27x%27",
    )
    .await;
    let _ = client().get(sim.cf_api_url()).send().await.unwrap();
    let log = sim.requests();
    assert_eq!(log.len(), 3);
    assert_eq!(
        (log[0].server, log[0].method.as_str(), log[0].status),
        (Server::Token, "POST", 200)
    );
    assert_eq!(log[1].server, Server::ServiceManager);
    assert_eq!(log[1].path, "/v1/service_offerings");
    assert_eq!(
        log[1].query.as_deref(),
        Some("fieldQuery=name%20eq%20%27x%27")
    );
    assert_eq!(
        (log[2].server, log[2].path.as_str()),
        (Server::CloudFoundry, "/")
    );
    sim.clear_requests();
    assert!(sim.requests().is_empty());
    let json = sim.to_json();
    assert_eq!(json["tenants"].as_array().unwrap().len(), 3);
    assert_eq!(
        json["tenants"][0]["sm_key"]["clientid"],
        sim.sm_key("calm-auto").unwrap().expose_json()["clientid"]
    );
}

#[tokio::test]
async fn builder_tenants_from_json_and_drop_stops_serving() {
    let sim = Simulator::builder()
        .tenants_from_json(r#"[{"subdomain": "acme", "provisioned_on": "2023-09-01"}]"#)
        .unwrap()
        .start()
        .await
        .unwrap();
    let tenants = sim.tenants();
    assert_eq!(tenants.len(), 1);
    assert_eq!(
        (tenants[0].tier_name, tenants[0].region.as_str()),
        ("monitoring-only", "eu10")
    );
    assert!(Simulator::builder().tenants_from_json("{").is_err());
    let http = client();
    let url = sim.cf_api_url();
    assert!(http.get(url.clone()).send().await.is_ok());
    drop(sim);
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Both a kept-alive connection and a fresh one now fail.
    assert!(http.get(url.clone()).send().await.is_err());
    assert!(client().get(url).send().await.is_err());
}

// Regressions found by pointing third-party clients at `calm simulate` (tests/interop/).

/// cf-python-client follows `links.service_offering` of a plan and `links.service_plan` of an
/// instance: Cloud Controller serves both by guid, and hides what the user cannot see (404).
#[tokio::test]
async fn cf_offerings_and_plans_are_served_by_guid() {
    let sim = Simulator::start().await.unwrap();
    let cf = cf_token(&sim).await;
    let (_, plans) = cf_get(&sim, &cf, "/v3/service_plans?names=standard").await;
    let plan = &plans["resources"][0];
    let (status, by_guid) =
        cf_get(&sim, &cf, plan["links"]["self"]["href"].as_str().unwrap()).await;
    assert_eq!((status.as_u16(), &by_guid), (200, plan));
    let offering_link = plan["links"]["service_offering"]["href"].as_str().unwrap();
    let (status, offering) = cf_get(&sim, &cf, offering_link).await;
    assert_eq!(status, 200);
    assert_eq!(
        offering["guid"],
        plan["relationships"]["service_offering"]["data"]["guid"]
    );
    assert_eq!(offering["name"], "SAPCloudALMAPIs");
    let (_, instances) = cf_get(&sim, &cf, "/v3/service_instances").await;
    let instance = &instances["resources"][0];
    let (status, its_plan) = cf_get(
        &sim,
        &cf,
        instance["links"]["service_plan"]["href"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        its_plan["guid"],
        instance["relationships"]["service_plan"]["data"]["guid"]
    );
    for path in [
        "/v3/service_plans/00000000-0000-4000-8000-000000000000",
        "/v3/service_offerings/00000000-0000-4000-8000-000000000000",
    ] {
        let (status, body) = cf_get(&sim, &cf, path).await;
        assert_eq!(
            (status.as_u16(), body["errors"][0]["title"].clone()),
            (404, json!("CF-ResourceNotFound")),
            "{path}"
        );
    }
}

/// A plan of an offering the user's orgs are not entitled to is not found by guid either.
#[tokio::test]
async fn cf_plan_by_guid_hides_unentitled_plans() {
    let manual = TenantSpec::new(
        "only-manual",
        chrono::NaiveDate::from_ymd_opt(2023, 1, 15).unwrap(),
    );
    let sim = Simulator::builder()
        .without_default_tenants()
        .tenant(manual)
        .start()
        .await
        .unwrap();
    let cf = cf_token(&sim).await;
    let (_, all) = cf_get(&sim, &cf, "/v3/service_plans").await;
    let names: Vec<&str> = all["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"standard"), "{names:?}");
    sim.configure_entitlement("only-manual");
    let (_, visible) = cf_get(&sim, &cf, "/v3/service_plans?names=standard").await;
    let href = visible["resources"][0]["links"]["self"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let offering = visible["resources"][0]["links"]["service_offering"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(cf_get(&sim, &cf, &href).await.0, 200);
    assert_eq!(cf_get(&sim, &cf, &offering).await.0, 200);
}

/// `links.parameters` of a key leads to 400 CF-ServiceFetchBindingParametersNotSupported (90007)
/// when the broker lacks `bindings_retrievable`, not to an unknown route.
#[tokio::test]
async fn cf_key_parameters_link_answers_90007() {
    let sim = Simulator::start().await.unwrap();
    let cf = cf_token(&sim).await;
    let (_, keys) = cf_get(&sim, &cf, "/v3/service_credential_bindings?type=key").await;
    let link = keys["resources"][0]["links"]["parameters"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = cf_get(&sim, &cf, &link).await;
    assert_eq!(
        (
            status.as_u16(),
            body["errors"][0]["code"].clone(),
            body["errors"][0]["title"].clone()
        ),
        (
            400,
            json!(90007),
            json!("CF-ServiceFetchBindingParametersNotSupported")
        )
    );
    let unknown = "/v3/service_credential_bindings/00000000-0000-4000-8000-000000000000/parameters";
    let (status, body) = cf_get(&sim, &cf, unknown).await;
    assert_eq!(
        (status.as_u16(), body["errors"][0]["title"].clone()),
        (404, json!("CF-ResourceNotFound"))
    );
}

/// Strings in a `fieldQuery` must be single-quoted; a bare word is 400 InvalidFieldQuery, while
/// booleans, numbers and date-times stay unquoted.
#[tokio::test]
async fn field_query_rejects_unquoted_strings() {
    let sim = Simulator::start().await.unwrap();
    let token = sm_token(&sim, "calm-auto").await;
    for bad in [
        "name eq SAPCloudALMAPIs",
        "name in ('xsuaa', SAPCloudALMAPIs)",
    ] {
        let path = format!("/v1/service_offerings?fieldQuery={}", q(bad));
        let (status, body) = sm_get(&sim, &token, &path).await;
        assert_eq!(
            (status.as_u16(), body["error"].clone()),
            (400, json!("InvalidFieldQuery")),
            "{bad}"
        );
    }
    let good = format!(
        "/v1/service_offerings?fieldQuery={}",
        q("bindable eq true and created_at gt 2000-01-01T00:00:00Z")
    );
    let (status, body) = sm_get(&sim, &token, &good).await;
    assert_eq!(status, 200);
    assert!(body["num_items"].as_u64().unwrap() >= 1, "{body}");
}

#[tokio::test]
async fn debug_output_never_shows_the_simulator_secrets() {
    let sim = calm_credentials::simulator::Simulator::start()
        .await
        .unwrap();
    let login = common::sim::cf_user(&sim);
    let sm_secret = sim.sm_key("calm-auto").unwrap().expose_json()["clientsecret"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = format!(
        "{sim:?} {:?} {:?} {:?}",
        sim.cf_login(),
        sim.sm_key("calm-auto"),
        sim.tenants()
    );
    assert!(!shown.contains(&login.password), "{shown}");
    assert!(!shown.contains(&sm_secret), "{shown}");
}

#[tokio::test]
async fn cf_login_server_offers_password_prompts() {
    let sim = calm_credentials::simulator::Simulator::start()
        .await
        .unwrap();
    let client = Client::new();
    let root: Value = client
        .get(sim.cf_api_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let login = root["links"]["login"]["href"].as_str().unwrap();
    let info = client
        .get(format!("{}/login", login.trim_end_matches('/')))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), StatusCode::OK);
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["prompts"]["username"][0], "text");
    assert_eq!(info["prompts"]["password"][0], "password");
}

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort();
    k
}

const FIELDS: &str = "fields%5Bspace%5D=name,guid,relationships.organization&fields%5Bspace.organization%5D=name,guid";

#[tokio::test]
async fn cf_instance_list_includes_only_the_fields_asked_for() {
    let sim = Simulator::start().await.unwrap();
    let cf = cf_token(&sim).await;
    let (status, all) = cf_get(
        &sim,
        &cf,
        &format!("/v3/service_instances?names=cloud-alm-api&{FIELDS}"),
    )
    .await;
    assert_eq!(status, 200, "{all}");
    let resources = all["resources"].as_array().unwrap();
    assert!(resources.len() >= 2, "seeded in several orgs: {all}");
    let spaces = all["included"]["spaces"].as_array().unwrap();
    let orgs = all["included"]["organizations"].as_array().unwrap();
    assert_eq!(spaces.len(), resources.len(), "one space per instance here");
    assert_eq!(orgs.len(), spaces.len());
    for space in spaces {
        assert_eq!(keys(space), ["guid", "name", "relationships"]);
        assert_eq!(keys(&space["relationships"]), ["organization"]);
        let org = space["relationships"]["organization"]["data"]["guid"].clone();
        assert!(orgs.iter().any(|o| o["guid"] == org), "{all}");
    }
    for org in orgs {
        assert_eq!(keys(org), ["guid", "name"]);
    }
    for i in resources {
        let space = &i["relationships"]["space"]["data"]["guid"];
        assert!(spaces.iter().any(|s| &s["guid"] == space), "{all}");
    }
    assert!(orgs.iter().any(|o| o["name"] == "calm-auto"));

    // Only what was asked for; no `included` without `fields`.
    let (_, names) = cf_get(
        &sim,
        &cf,
        "/v3/service_instances?names=cloud-alm-api&fields%5Bspace%5D=name",
    )
    .await;
    assert_eq!(keys(&names["included"]), ["spaces"]);
    assert!(
        names["included"]["spaces"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| keys(s) == ["name"])
    );
    let (_, plain) = cf_get(&sim, &cf, "/v3/service_instances?names=cloud-alm-api").await;
    assert!(plain.get("included").is_none(), "{plain}");

    // `included` covers the page only, and the next link keeps the fields.
    let (_, first) = cf_get(
        &sim,
        &cf,
        &format!("/v3/service_instances?names=cloud-alm-api&per_page=1&{FIELDS}"),
    )
    .await;
    assert_eq!(first["included"]["spaces"].as_array().unwrap().len(), 1);
    let next = first["pagination"]["next"]["href"].as_str().unwrap();
    let (_, second) = cf_get(&sim, &cf, next).await;
    assert_eq!(
        second["included"]["organizations"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_ne!(second["included"]["spaces"], first["included"]["spaces"]);

    // The plan family is served as well.
    let (_, plans) = cf_get(
        &sim,
        &cf,
        "/v3/service_instances?names=cloud-alm-api&fields%5Bservice_plan%5D=name&fields%5Bservice_plan.service_offering%5D=name",
    )
    .await;
    assert_eq!(
        plans["included"]["service_plans"],
        json!([{"name": "standard"}])
    );
    assert_eq!(
        plans["included"]["service_offerings"],
        json!([{"name": "SAPCloudALMAPIs"}])
    );

    for (query, detail) in [
        (
            "fields%5Bapp%5D=name",
            "Fields [app] valid resources are: 'space'",
        ),
        (
            "fields%5Bspace%5D=name,quota",
            "valid keys for 'space' are: 'guid', 'name', 'relationships.organization'",
        ),
        ("fields=name", "Fields must be an object"),
    ] {
        let (status, body) = cf_get(&sim, &cf, &format!("/v3/service_instances?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(body["errors"][0]["title"], "CF-BadQueryParameter");
        let text = body["errors"][0]["detail"].as_str().unwrap();
        assert!(text.contains(detail), "{query}: {text}");
    }
}

#[tokio::test]
async fn cf_shared_instances_are_listed_in_the_target_space_under_their_own_space() {
    let sim = Simulator::start().await.unwrap();
    let cf = cf_token(&sim).await;
    let space_of = |org: &'static str| {
        let (sim, cf) = (&sim, &cf);
        async move {
            let (_, orgs) = cf_get(sim, cf, &format!("/v3/organizations?names={org}")).await;
            let org_guid = orgs["resources"][0]["guid"].as_str().unwrap().to_owned();
            let path = format!("/v3/spaces?names=dev&organization_guids={org_guid}");
            let (_, spaces) = cf_get(sim, cf, &path).await;
            spaces["resources"][0]["guid"].as_str().unwrap().to_owned()
        }
    };
    let (auto, manual) = (space_of("calm-auto").await, space_of("calm-manual").await);
    let (_, found) = cf_get(
        &sim,
        &cf,
        &format!("/v3/service_instances?names=cloud-alm-api&space_guids={auto}"),
    )
    .await;
    let guid = found["resources"][0]["guid"].as_str().unwrap().to_owned();
    let share_path = format!("/v3/service_instances/{guid}/relationships/shared_spaces");
    let share = |space: String| {
        let (sim, cf, path) = (&sim, &cf, share_path.clone());
        async move {
            let r = cf_post(sim, cf, &path, json!({"data": [{"guid": space}]})).await;
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body)
        }
    };
    let refused = |body: &Value| body["errors"][0]["detail"].as_str().unwrap().to_owned();

    let (status, body) = share(manual.clone()).await;
    assert_eq!(status, 422);
    assert!(refused(&body).contains("does not support service instance sharing"));
    sim.set_cf_shareable("SAPCloudALMAPIs", true);
    let (status, body) = share(manual.clone()).await;
    assert_eq!(status, 422, "the plan is not visible in the unentitled org");
    assert!(
        refused(&body).contains("is not enabled in calm-manual/dev"),
        "{body}"
    );
    sim.configure_entitlement("calm-manual");
    let (status, body) = share(auto.clone()).await;
    assert_eq!(status, 422);
    assert!(refused(&body).contains("cannot be shared into the space where they were created"));
    let (status, body) = share(manual.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!([{"guid": manual}]));
    let (_, listed) = cf_get(&sim, &cf, &share_path).await;
    assert_eq!(listed["data"], json!([{"guid": manual}]));

    // Listed in the target space, but `included` names the space it lives in.
    let (_, in_manual) = cf_get(
        &sim,
        &cf,
        &format!("/v3/service_instances?space_guids={manual}&{FIELDS}"),
    )
    .await;
    assert_eq!(in_manual["resources"][0]["guid"], guid.as_str());
    assert_eq!(
        in_manual["resources"][0]["relationships"]["space"]["data"]["guid"],
        auto.as_str()
    );
    assert_eq!(in_manual["included"]["spaces"][0]["guid"], auto.as_str());
    assert_eq!(
        in_manual["included"]["organizations"][0]["name"],
        "calm-auto"
    );
}
