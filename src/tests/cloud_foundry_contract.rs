//! Contract tests of the Cloud Foundry v3 backend against a wiremock Cloud Controller and UAA on
//! loopback: login, lookups, jobs, get-or-create, error classification, paging, warnings and
//! request counts.

use super::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cloud_foundry::{
    CfCredentials, CfLogin, CloudFoundry, ServiceCredentialBinding, ServiceInstance, ServicePlan,
    Space,
};
use crate::http::{HttpClient, RetryPolicy};
use crate::journey::cloud_foundry::platform::{self as in_space, retrieve_in};
use crate::journey::{Provenance, RetrieveOptions};
use crate::model::{InstanceId, SpaceId};
use crate::setup::{Environment, PlanRequest, Purpose};
use crate::wait::{Progress, ProgressEvent, WaitOptions};
use crate::{Error, ProvisioningTier, TokenSource};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{body_partial_json, body_string_contains, header, method, query_param};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

use common::mocks::{get, post};

const CLIENT_SECRET: &str = "calm-KEY-secret-value";

fn fast_http() -> HttpClient {
    HttpClient::builder()
        .retry_policy(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_millis(50),
        })
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn wait() -> WaitOptions {
    WaitOptions::with_timeout(Duration::from_secs(5))
        .intervals(Duration::from_millis(1), Duration::from_millis(5))
}

fn opts(create: bool) -> RetrieveOptions {
    let mut o = RetrieveOptions::default().create(create);
    o.wait = wait();
    o
}

fn api(server: &MockServer) -> Url {
    Url::parse(&server.uri()).unwrap()
}

/// A connection with a warm static token: no token requests.
fn warm(server: &MockServer) -> CloudFoundry {
    CloudFoundry::with_token_source(
        api(server),
        TokenSource::static_token(SecretString::from("warm-token")),
        fast_http(),
    )
    .unwrap()
}

fn space() -> Space {
    Space::new("space-1", "dev")
}

fn page(resources: Value, next: Option<String>) -> Value {
    json!({
        "pagination": {"total_results": resources.as_array().map_or(0, Vec::len),
                       "next": next.map(|h| json!({"href": h}))},
        "resources": resources
    })
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn accepted(server: &MockServer, job: &str) -> ResponseTemplate {
    ResponseTemplate::new(202).insert_header("Location", format!("{}/v3/jobs/{job}", server.uri()))
}

fn cf_error(status: u16, code: i64, title: &str, detail: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"errors": [{"code": code, "title": title, "detail": detail}]}))
}

fn unprocessable(detail: &str) -> ResponseTemplate {
    cf_error(422, 10008, "CF-UnprocessableEntity", detail)
}

fn resource_not_found(detail: &str) -> ResponseTemplate {
    cf_error(404, 10010, "CF-ResourceNotFound", detail)
}

fn instance(guid: &str, name: &str, state: &str) -> Value {
    json!({"guid": guid, "name": name, "type": "managed",
           "created_at": "2024-03-01T10:00:00Z",
           "last_operation": {"type": "create", "state": state, "description": "broker says hi"},
           "relationships": {"space": {"data": {"guid": "space-1"}},
                             "service_plan": {"data": {"guid": "plan-1"}}}})
}

fn key(guid: &str, name: &str, state: &str) -> Value {
    json!({"guid": guid, "name": name, "type": "key",
           "last_operation": {"type": "create", "state": state, "description": null},
           "relationships": {"service_instance": {"data": {"guid": "si-1"}}}})
}

fn details() -> Value {
    json!({"credentials": {
        "endpoints": {"Api": "https://eu10.alm.cloud.sap/api"},
        "uaa": {"clientid": "sb-calm!b1|sapcloudalm!b2", "clientsecret": CLIENT_SECRET,
                "url": "https://acme.authentication.eu10.hana.ondemand.com",
                "identityzone": "acme", "credential-type": "instance-secret"}},
        "syslog_drain_url": null, "volume_mounts": []})
}

fn job(guid: &str, state: &str) -> Value {
    json!({"guid": guid, "operation": "service_keys.create", "state": state, "errors": [], "warnings": [],
           "links": {"self": {"href": format!("/v3/jobs/{guid}")}}})
}

async fn mount_once(server: &MockServer, m: MockBuilder, r: ResponseTemplate) {
    m.respond_with(r)
        .up_to_n_times(1)
        .expect(1)
        .mount(server)
        .await;
}

/// `GET path` answers `answer(state)` once for each of `states`, in order.
async fn mount_states(
    server: &MockServer,
    p: &str,
    states: &[&str],
    answer: impl Fn(&str) -> Value,
) {
    for state in states {
        mount_once(server, get(p), ok(answer(state))).await;
    }
}

/// Mounts `m` answering `r` as often as asked, expecting nothing.
async fn mount(server: &MockServer, m: MockBuilder, r: ResponseTemplate) {
    m.respond_with(r).mount(server).await;
}

/// A single, last page of `resources`.
fn listing(resources: Value) -> ResponseTemplate {
    ok(page(resources, None))
}

/// Instance `calm-api` (`si-1`), created.
fn calm_api() -> Value {
    instance("si-1", "calm-api", "succeeded")
}

/// Key `calm-key` of instance `calm-api`, got or created.
async fn create_calm_key(
    cf: &CloudFoundry,
) -> crate::Result<(ServiceCredentialBinding, Provenance)> {
    let calm_api: ServiceInstance = serde_json::from_value(calm_api()).unwrap();
    in_space::create_key(cf, &space(), &calm_api, "calm-key", &wait()).await
}

/// Key `calm-key` (`k1`), created.
fn ready_k1() -> ServiceCredentialBinding {
    serde_json::from_value(key("k1", "calm-key", "succeeded")).unwrap()
}

fn standard_plan() -> ServicePlan {
    serde_json::from_value(json!({"guid": "p1", "name": "standard"})).unwrap()
}

/// The lookup of instance `calm-api` by name.
fn instance_named_calm_api() -> MockBuilder {
    get("/v3/service_instances").and(query_param("names", "calm-api"))
}

/// An instance creation that completes: `POST` → 202 with job `ji` → `ji` COMPLETE, once each.
async fn mount_instance_creation(server: &MockServer) {
    mount_once(
        server,
        post("/v3/service_instances"),
        accepted(server, "ji"),
    )
    .await;
    mount_once(server, get("/v3/jobs/ji"), ok(job("ji", "COMPLETE"))).await;
}

/// A key creation that completes: `POST` → 202 with job `jk` → `jk` COMPLETE with the link to key
/// `k1`, once each.
async fn mount_key_creation(server: &MockServer) {
    mount_once(
        server,
        post("/v3/service_credential_bindings"),
        accepted(server, "jk"),
    )
    .await;
    mount_key_job_complete(server).await;
}

/// Job `jk` COMPLETE with the link to key `k1`, once.
async fn mount_key_job_complete(server: &MockServer) {
    let mut done = job("jk", "COMPLETE");
    done["links"]["service_credential_binding"] =
        json!({"href": format!("{}/v3/service_credential_bindings/k1", server.uri())});
    mount_once(server, get("/v3/jobs/jk"), ok(done)).await;
}

/// Key `k1`'s credentials, once.
async fn mount_details_once(server: &MockServer) {
    mount_once(
        server,
        get("/v3/service_credential_bindings/k1/details"),
        ok(details()),
    )
    .await;
}

fn events() -> (Progress, Arc<Mutex<Vec<ProgressEvent>>>) {
    let store = Arc::new(Mutex::new(Vec::new()));
    let sink = store.clone();
    (
        Progress::new(move |e| sink.lock().unwrap().push(e.clone())),
        store,
    )
}

fn calm_request(tier: Option<ProvisioningTier>) -> PlanRequest {
    PlanRequest::new(
        tier,
        Purpose::OperationsMonitoring,
        Environment::CloudFoundry,
    )
    .instance_name("calm-api")
    .credential_name("calm-key")
}

// ---------------------------------------------------------------- login

fn no_env() -> HashMap<String, String> {
    HashMap::new()
}

async fn mount_root(server: &MockServer) {
    get("/")
        .respond_with(ok(json!({"links": {
            "self": {"href": server.uri()},
            "login": {"href": format!("{}/login", server.uri())},
            "uaa": {"href": format!("{}/uaa", server.uri())},
            "credhub": null}})))
        .expect(1)
        .mount(server)
        .await;
}

async fn mount_orgs_needing(server: &MockServer, token: &str) {
    get("/v3/organizations")
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(listing(json!([{"guid": "o1", "name": "acme"}])))
        .expect(1)
        .mount(server)
        .await;
}

fn token(t: &str) -> ResponseTemplate {
    ok(
        json!({"access_token": t, "token_type": "bearer", "expires_in": 3600, "refresh_token": "r2"}),
    )
}

#[tokio::test]
async fn discovery_then_password_grant_with_origin_login_hint() {
    let server = MockServer::start().await;
    mount_root(&server).await;
    post("/login/oauth/token")
        .and(query_param("login_hint", r#"{"origin":"corp-idp"}"#))
        .and(header("authorization", "Basic Y2Y6")) // cf:
        .and(body_string_contains("grant_type=password"))
        .and(body_string_contains("username=alice%40example.com"))
        .respond_with(token("pw-token"))
        .expect(1)
        .mount(&server)
        .await;
    mount_orgs_needing(&server, "pw-token").await;
    let login = CfLogin::builder()
        .api_url(server.uri())
        .password("alice@example.com", SecretString::from("pa55-word"))
        .origin("corp-idp")
        .env(no_env())
        .config_file(None)
        .build()
        .unwrap();
    let cf = CloudFoundry::connect_with(login, fast_http())
        .await
        .unwrap();
    assert_eq!(cf.login_url().unwrap().path(), "/login");
    assert_eq!(cf.org("acme").await.unwrap().guid.as_str(), "o1");
}

#[tokio::test]
async fn refresh_and_client_credentials_grants() {
    let server = MockServer::start().await;
    get("/")
        .respond_with(ok(
            json!({"links": {"login": {"href": format!("{}/login", server.uri())}}}),
        ))
        .expect(2)
        .mount(&server)
        .await;
    post("/login/oauth/token")
        .and(body_string_contains(
            "grant_type=refresh_token&refresh_token=rt-1",
        ))
        .respond_with(token("refreshed"))
        .expect(1)
        .mount(&server)
        .await;
    post("/login/oauth/token")
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_id=ci-bot"))
        .and(body_string_contains("client_secret=ci-s3cret"))
        .respond_with(token("cc-token"))
        .expect(1)
        .mount(&server)
        .await;
    mount_orgs_needing(&server, "refreshed").await;
    mount_orgs_needing(&server, "cc-token").await;
    let env = HashMap::from([
        ("CF_API_URL".to_string(), server.uri()),
        ("CF_REFRESH_TOKEN".to_string(), "rt-1".to_string()),
    ]);
    let login = CfLogin::builder()
        .env(env)
        .config_file(None)
        .build()
        .unwrap();
    assert!(matches!(
        login.credentials,
        CfCredentials::RefreshToken { .. }
    ));
    let cf = CloudFoundry::connect_with(login, fast_http())
        .await
        .unwrap();
    cf.org("acme").await.unwrap();
    let login = CfLogin::builder()
        .api_url(server.uri())
        .client_credentials("ci-bot", SecretString::from("ci-s3cret"))
        .env(no_env())
        .config_file(None)
        .build()
        .unwrap();
    let cf = CloudFoundry::connect_with(login, fast_http())
        .await
        .unwrap();
    cf.org("acme").await.unwrap();
}

fn write_config(dir: &std::path::Path, server: &MockServer) {
    std::fs::create_dir_all(dir.join(".cf")).unwrap();
    let config = json!({
        "ConfigVersion": 3, "Target": server.uri(),
        "AuthorizationEndpoint": format!("{}/login", server.uri()),
        "AccessToken": "bearer file-access", "RefreshToken": "file-refresh",
        "UAAOAuthClient": "cf", "UAAOAuthClientSecret": "", "UAAGrantType": "",
        "OrganizationFields": {"GUID": "org-guid", "Name": "acme"},
        "SpaceFields": {"GUID": "space-guid", "Name": "dev", "AllowSSH": true}
    });
    std::fs::write(dir.join(".cf/config.json"), config.to_string()).unwrap();
}

fn temp_home() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("calm-cf-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn cf_config_json_is_reused_without_discovery() {
    let server = MockServer::start().await;
    get("/")
        .respond_with(ok(json!({})))
        .expect(0)
        .mount(&server)
        .await;
    post("/login/oauth/token")
        .and(header("authorization", "Basic Y2Y6"))
        .and(body_string_contains(
            "grant_type=refresh_token&refresh_token=file-refresh",
        ))
        .respond_with(token("from-file"))
        .expect(1)
        .mount(&server)
        .await;
    mount_orgs_needing(&server, "from-file").await;
    let home = temp_home();
    write_config(&home, &server);
    let env = HashMap::from([("CF_HOME".to_string(), home.display().to_string())]);
    let login = CfLogin::builder().env(env).build().unwrap();
    assert_eq!(login.org.as_deref(), Some("acme"));
    assert_eq!(
        login.space_guid.as_ref().map(SpaceId::as_str),
        Some("space-guid")
    );
    assert!(matches!(
        login.credentials,
        CfCredentials::RefreshToken { .. }
    ));
    assert!(!format!("{login:?}").contains("file-refresh"));
    let cf = CloudFoundry::connect_with(login, fast_http())
        .await
        .unwrap();
    cf.org("acme").await.unwrap();
    std::fs::remove_dir_all(home).ok();
}

#[tokio::test]
async fn environment_wins_over_config_json_and_other_targets_ignore_it() {
    let server = MockServer::start().await;
    let home = temp_home();
    write_config(&home, &server);
    let env = HashMap::from([
        ("CF_HOME".to_string(), home.display().to_string()),
        ("CF_USERNAME".to_string(), "bob".to_string()),
        ("CF_PASSWORD".to_string(), "env-pw".to_string()),
    ]);
    let login = CfLogin::builder().env(env.clone()).build().unwrap();
    assert!(
        matches!(login.credentials, CfCredentials::Password { ref username, .. } if username == "bob")
    );
    assert_eq!(login.api_url, api(&server), "API URL from the file");
    assert!(login.login_url.is_some());
    // Explicit API URL of another foundation: the file's tokens and login URL do not apply.
    let login = CfLogin::builder()
        .api_url("https://api.other.example")
        .env(env)
        .build()
        .unwrap();
    assert!(login.login_url.is_none());
    assert!(login.org.is_none());
    let only_file_other_target = CfLogin::builder()
        .api_url("https://api.other.example")
        .env(HashMap::from([(
            "CF_HOME".to_string(),
            home.display().to_string(),
        )]))
        .build();
    assert!(matches!(only_file_other_target, Err(Error::Config { .. })));
    std::fs::remove_dir_all(home).ok();
}

// ---------------------------------------------------------------- lookups

#[tokio::test]
async fn org_and_space_match_case_insensitively() {
    let server = MockServer::start().await;
    mount(
        &server,
        get("/v3/organizations").and(query_param("names", "ACME")),
        listing(json!([{"guid": "o1", "name": "acme"}])),
    )
    .await;
    mount(
        &server,
        get("/v3/spaces")
            .and(query_param("names", "dev"))
            .and(query_param("organization_guids", "o1")),
        listing(json!([{"guid": "s1", "name": "Dev"}])),
    )
    .await;
    let cf = warm(&server);
    let s = cf.find_space("ACME", "dev").await.unwrap();
    assert_eq!((s.guid.as_str(), s.name.as_str()), ("s1", "Dev"));
    mount(&server, get("/v3/organizations"), listing(json!([]))).await;
    let err = cf.org("nope").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

async fn mount_plans(server: &MockServer, plans: Value) {
    mount(
        server,
        get("/v3/service_plans")
            .and(query_param("names", "standard"))
            .and(query_param("service_offering_names", "SAPCloudALMAPIs")),
        listing(plans),
    )
    .await;
}

#[tokio::test]
async fn plan_zero_one_or_two_matches() {
    for (plans, want) in [
        (json!([]), "entitlement"),
        (json!([{"guid": "p1", "name": "standard"}]), "ok"),
        (
            json!([{"guid": "p1", "name": "standard"}, {"guid": "p2", "name": "standard"}]),
            "broker",
        ),
    ] {
        let server = MockServer::start().await;
        mount_plans(&server, plans).await;
        let got = warm(&server)
            .service_plan("SAPCloudALMAPIs", "standard", Some(&space()))
            .await;
        match (got, want) {
            (Ok(p), "ok") => assert_eq!(p.guid.as_str(), "p1"),
            (Err(Error::EntitlementMissing { .. }), "entitlement") => {}
            (Err(e @ Error::Ambiguous { .. }), "broker") => {
                assert!(e.to_string().contains("broker"))
            }
            (other, want) => panic!("{want}: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------- jobs

#[tokio::test]
async fn instance_create_202_job_processing_polling_complete() {
    let server = MockServer::start().await;
    mount_once(
        &server,
        post("/v3/service_instances").and(body_partial_json(json!({
            "type": "managed", "name": "calm-api",
            "relationships": {"space": {"data": {"guid": "space-1"}}, "service_plan": {"data": {"guid": "p1"}}},
            "parameters": {"xs-security": {"xsappname": "calm-api"}}}))),
        accepted(&server, "j1"),
    )
    .await;
    mount_states(&server, "/v3/jobs/j1", &["PROCESSING", "POLLING", "COMPLETE"], |state| {
        json!({"guid": "j1", "state": state, "warnings": [{"detail": "broker is slow today"}]})
    })
    .await;
    get("/v3/service_instances")
        .respond_with(listing(json!([calm_api()])))
        .expect(1)
        .mount(&server)
        .await;
    let (progress, seen) = events();
    let cf = warm(&server).with_progress(progress.clone());
    let plan = standard_plan();
    let w = wait().progress(progress);
    let (si, prov) = in_space::create_instance(
        &cf,
        &space(),
        "calm-api",
        &plan,
        json!({"xs-security": {"xsappname": "calm-api"}}),
        &w,
    )
    .await
    .unwrap();
    assert_eq!((si.guid.as_str(), prov), ("si-1", Provenance::Created));
    let states: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::State { state, .. } => Some(state.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(states, ["PROCESSING", "POLLING"]);
    assert_eq!(
        cf.warnings(),
        ["broker is slow today"],
        "job warnings once, not per poll"
    );
    assert!(seen.lock().unwrap().iter().any(
        |e| matches!(e, ProgressEvent::Note { message } if message.contains("broker is slow today"))
    ));
}

async fn failing_key_create(job_body: Value, key_lookup: Option<Value>) -> Error {
    let server = MockServer::start().await;
    mount_once(
        &server,
        post("/v3/service_credential_bindings"),
        accepted(&server, "j9"),
    )
    .await;
    mount(&server, get("/v3/jobs/j9"), ok(job_body)).await;
    let keys = key_lookup.map_or(json!([]), |k| json!([k]));
    mount(
        &server,
        get("/v3/service_credential_bindings"),
        listing(keys),
    )
    .await;
    let refused = json!({"guid": "k9", "name": "calm-key",
        "last_operation": {"type": "create", "state": "failed", "description": "broker: xsuaa refused the key"}});
    mount(
        &server,
        get("/v3/service_credential_bindings/k9"),
        ok(refused),
    )
    .await;
    create_calm_key(&warm(&server)).await.unwrap_err()
}

#[tokio::test]
async fn failed_jobs_with_errors_without_errors_and_without_anything() {
    let with_errors = json!({"guid": "j9", "state": "FAILED", "errors": [
        {"code": 10009, "title": "CF-UnableToPerform", "detail": "bind could not be completed: broker down"}]});
    let err = failing_key_create(with_errors, None).await;
    assert!(matches!(err, Error::OperationFailed { .. }));
    assert!(err.to_string().contains("broker down"), "{err}");

    let key_link = json!({"guid": "j9", "state": "FAILED", "errors": [],
        "links": {"service_credential_binding": {"href": "/v3/service_credential_bindings/k9"}}});
    let err = failing_key_create(key_link, None).await;
    assert!(err.to_string().contains("xsuaa refused the key"), "{err}");

    let no_link = json!({"guid": "j9", "state": "FAILED", "errors": []});
    let err = failing_key_create(no_link.clone(), Some(key("k9", "calm-key", "failed"))).await;
    assert!(
        err.to_string().contains("xsuaa refused the key"),
        "looked up by name: {err}"
    );
    let err = failing_key_create(no_link, None).await;
    assert!(err.to_string().contains("without giving a reason"), "{err}");
}

// ---------------------------------------------------------------- get-or-create

#[tokio::test]
async fn instance_name_taken_is_fetched_with_one_post() {
    let server = MockServer::start().await;
    mount_once(
        &server,
        post("/v3/service_instances"),
        unprocessable("The service instance name is taken: calm-api."),
    )
    .await;
    mount(
        &server,
        get("/v3/service_instances")
            .and(query_param("names", "calm-api"))
            .and(query_param("space_guids", "space-1")),
        listing(json!([calm_api()])),
    )
    .await;
    let plan = standard_plan();
    let (si, prov) = in_space::create_instance(
        &warm(&server),
        &space(),
        "calm-api",
        &plan,
        json!({}),
        &wait(),
    )
    .await
    .unwrap();
    assert_eq!((si.guid.as_str(), prov), ("si-1", Provenance::Found));
}

#[tokio::test]
async fn key_name_not_unique_is_fetched_and_waited_until_succeeded() {
    let server = MockServer::start().await;
    mount_once(
        &server,
        post("/v3/service_credential_bindings"),
        unprocessable("The binding name is invalid. Key binding names must be unique. The service instance already has a key binding with name 'calm-key'."),
    )
    .await;
    mount(
        &server,
        get("/v3/service_credential_bindings"),
        listing(json!([key("k1", "calm-key", "in progress")])),
    )
    .await;
    mount_states(
        &server,
        "/v3/service_credential_bindings/k1",
        &["in progress", "succeeded"],
        |state| key("k1", "calm-key", state),
    )
    .await;
    let (k, prov) = create_calm_key(&warm(&server)).await.unwrap();
    assert_eq!(prov, Provenance::Found);
    assert!(k.is_ready(), "never reported before create succeeded");
}

#[tokio::test]
async fn busy_instance_is_waited_for_then_the_key_is_created() {
    let server = MockServer::start().await;
    mount_once(
        &server,
        post("/v3/service_credential_bindings"),
        unprocessable("There is an operation in progress for the service instance"),
    )
    .await;
    mount_once(
        &server,
        post("/v3/service_credential_bindings").and(body_partial_json(json!({
            "type": "key", "name": "calm-key",
            "relationships": {"service_instance": {"data": {"guid": "si-1"}}}}))),
        accepted(&server, "jk"),
    )
    .await;
    mount_states(
        &server,
        "/v3/service_instances/si-1",
        &["in progress", "succeeded"],
        |state| instance("si-1", "calm-api", state),
    )
    .await;
    mount_key_job_complete(&server).await;
    let (k, prov) = create_calm_key(&warm(&server)).await.unwrap();
    assert_eq!((k.guid.as_str(), prov), ("k1", Provenance::Created));
}

#[tokio::test]
async fn details_404_in_progress_is_waited_out() {
    let server = MockServer::start().await;
    mount_once(
        &server,
        get("/v3/service_credential_bindings/k1/details"),
        resource_not_found("Creation of service key in progress"),
    )
    .await;
    mount_details_once(&server).await;
    let k = ready_k1();
    let sk = warm(&server).key_details(&k, &wait()).await.unwrap();
    assert_eq!(sk.client_id(), "sb-calm!b1|sapcloudalm!b2");
    assert!(!format!("{sk:?}").contains(CLIENT_SECRET));
}

#[tokio::test]
async fn details_404_for_auditors_names_the_role() {
    let server = MockServer::start().await;
    get("/v3/service_credential_bindings/k1/details")
        .respond_with(resource_not_found("Service credential binding not found"))
        .expect(1)
        .mount(&server)
        .await;
    let k = ready_k1();
    let err = warm(&server).key_details(&k, &wait()).await.unwrap_err();
    assert!(err.is_not_found());
    assert!(err.to_string().contains("Space Developer"), "{err}");
}

// ---------------------------------------------------------------- paging, filters, warnings, rate limits

#[tokio::test]
async fn pagination_follows_next_href_and_guards_repeats() {
    let server = MockServer::start().await;
    let p = |n: u32| {
        format!(
            "{}/v3/service_instances?page={n}&space_guids=space-1",
            server.uri()
        )
    };
    let inst = |n: u32| instance(&format!("si-{n}"), &format!("i{n}"), "succeeded");
    mount_once(
        &server,
        get("/v3/service_instances").and(query_param("page", "2")),
        ok(page(json!([inst(2)]), Some(p(3)))),
    )
    .await;
    mount_once(
        &server,
        get("/v3/service_instances").and(query_param("page", "3")),
        listing(json!([inst(3)])),
    )
    .await;
    mount_once(
        &server,
        get("/v3/service_instances"),
        ok(page(json!([inst(1)]), Some(p(2)))),
    )
    .await;
    let cf = warm(&server);
    let all = cf
        .list_instances(&SpaceId::new("space-1"), &[])
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        ["i1", "i2", "i3"]
    );

    let looping = MockServer::start().await;
    let back = format!("{}/v3/service_instances?page=2", looping.uri());
    get("/v3/service_instances")
        .respond_with(ok(page(json!([]), Some(back))))
        .expect(2)
        .mount(&looping)
        .await;
    let err = warm(&looping)
        .list_instances(&SpaceId::new("s"), &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("pagination"), "{err}");
}

#[tokio::test]
async fn key_lookup_sends_type_key_as_a_single_value() {
    let server = MockServer::start().await;
    get("/v3/service_credential_bindings")
        .and(query_param("type", "key"))
        .and(query_param("service_instance_guids", "si-1"))
        .and(query_param("names", "calm-key"))
        .respond_with(listing(json!([key("k1", "calm-key", "succeeded")])))
        .expect(1)
        .mount(&server)
        .await;
    let found = warm(&server)
        .find_key(&InstanceId::new("si-1"), "calm-key")
        .await
        .unwrap();
    assert_eq!(found.unwrap().guid.as_str(), "k1");
    let req: Vec<Request> = server.received_requests().await.unwrap();
    let query = req[0].url.query().unwrap().to_owned();
    assert_eq!(query.matches("type=").count(), 1, "{query}");
    assert!(
        query.contains("type=key&") || query.ends_with("type=key"),
        "{query}"
    );
}

#[tokio::test]
async fn cf_warnings_are_surfaced() {
    let server = MockServer::start().await;
    mount(
        &server,
        get("/v3/organizations"),
        listing(json!([{"guid": "o1", "name": "acme"}])).insert_header(
            "X-Cf-Warnings",
            "Plan%20is%20deprecated,second%2C%20with%20comma",
        ),
    )
    .await;
    let (progress, seen) = events();
    let cf = warm(&server).with_progress(progress);
    cf.org("acme").await.unwrap();
    assert_eq!(cf.warnings(), ["Plan is deprecated", "second, with comma"]);
    let notes = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, ProgressEvent::Note { .. }))
        .count();
    assert_eq!(notes, 2);
}

/// A 429 asking to retry after a second, its JSON body sent as `text/plain`.
fn rate_limited() -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("Retry-After", "1")
        .set_body_raw(
            r#"{"errors":[{"code":10013,"title":"CF-RateLimitExceeded","detail":"Rate Limit Exceeded"}]}"#,
            "text/plain",
        )
}

#[tokio::test]
async fn rate_limit_429_with_delta_seconds_and_text_plain_json_body() {
    let server = MockServer::start().await;
    mount_once(
        &server,
        get("/v3/organizations"),
        rate_limited().insert_header("X-RateLimit-Remaining", "0"),
    )
    .await;
    mount_once(
        &server,
        get("/v3/organizations"),
        listing(json!([{"guid": "o1", "name": "acme"}])),
    )
    .await;
    assert_eq!(warm(&server).org("acme").await.unwrap().guid.as_str(), "o1");

    let limited = MockServer::start().await;
    mount(&limited, get("/v3/organizations"), rate_limited()).await;
    let err = warm(&limited).org("acme").await.unwrap_err();
    assert_eq!(err.platform_code(), Some("CF-RateLimitExceeded"), "{err}");
    assert!(err.is_retryable());
}

// ---------------------------------------------------------------- whole journeys

/// Instance `calm-api` with key `calm-key` (`k1`) whose credentials are `details`.
async fn mount_existing(server: &MockServer, details: Value) {
    mount(
        server,
        instance_named_calm_api(),
        listing(json!([calm_api()])),
    )
    .await;
    mount(
        server,
        get("/v3/service_credential_bindings").and(query_param("names", "calm-key")),
        listing(json!([key("k1", "calm-key", "succeeded")])),
    )
    .await;
    mount(
        server,
        get("/v3/service_credential_bindings/k1/details"),
        ok(details),
    )
    .await;
}

#[tokio::test]
async fn existing_key_in_a_known_space_costs_three_requests() {
    for tier in [
        None,
        Some(ProvisioningTier::Manual),
        Some(ProvisioningTier::Automatic),
    ] {
        let server = MockServer::start().await;
        mount_existing(&server, details()).await;
        let cf = warm(&server);
        let got = retrieve_in(&cf, &space(), &calm_request(tier), &opts(false))
            .await
            .unwrap();
        assert_eq!(cf.http().request_count(), 3, "{tier:?}");
        assert_eq!(got.credential.id.as_str(), "k1");
        assert_eq!(got.instance_provenance, Provenance::Found);
        assert_eq!(got.credential.instance_name.as_deref(), Some("calm-api"));
        assert_eq!(
            got.key.credential_type().map(|c| c.as_str()),
            Some("instance-secret")
        );
        let shown = format!("{got:?}");
        assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    }
}

#[tokio::test]
async fn nothing_is_created_without_create_and_entitlement_is_checked() {
    let server = MockServer::start().await;
    mount(&server, get("/v3/service_instances"), listing(json!([]))).await;
    mount_plans(&server, json!([{"guid": "p1", "name": "standard"}])).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let err = retrieve_in(
        &warm(&server),
        &space(),
        &calm_request(Some(ProvisioningTier::Manual)),
        &opts(false),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                creatable: true,
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.to_string().contains("--create"), "{err}");

    let bare = MockServer::start().await;
    mount(&bare, get("/v3/service_instances"), listing(json!([]))).await;
    mount_plans(&bare, json!([])).await;
    let err = retrieve_in(
        &warm(&bare),
        &space(),
        &calm_request(Some(ProvisioningTier::Manual)),
        &opts(true),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::EntitlementMissing { .. }), "{err}");
}

#[tokio::test]
async fn create_journey_makes_instance_and_key_and_counts_requests() {
    let server = MockServer::start().await;
    mount_once(&server, get("/v3/service_instances"), listing(json!([]))).await;
    mount_plans(&server, json!([{"guid": "p1", "name": "standard"}])).await;
    mount_instance_creation(&server).await;
    mount_once(
        &server,
        get("/v3/service_instances"),
        listing(json!([calm_api()])),
    )
    .await;
    // The new instance is never searched for keys.
    get("/v3/service_credential_bindings")
        .respond_with(listing(json!([])))
        .expect(0)
        .mount(&server)
        .await;
    mount_key_creation(&server).await;
    mount_details_once(&server).await;
    let cf = warm(&server);
    let got = retrieve_in(
        &cf,
        &space(),
        &calm_request(Some(ProvisioningTier::Manual)),
        &opts(true),
    )
    .await
    .unwrap();
    assert_eq!(got.instance_provenance, Provenance::Created);
    assert_eq!(got.credential_provenance, Provenance::Created);
    // find instance, plan, POST, job, instance by name, key POST, job, details (the new
    // instance is not searched for keys)
    assert_eq!(cf.http().request_count(), 8);
}

#[tokio::test]
async fn lost_key_create_answer_is_recovered_without_a_duplicate() {
    let server = MockServer::start().await;
    post("/v3/service_credential_bindings")
        .respond_with(accepted(&server, "jk").set_delay(Duration::from_millis(800)))
        .expect(1)
        .mount(&server)
        .await;
    mount_once(
        &server,
        get("/v3/service_credential_bindings"),
        listing(json!([key("k1", "calm-key", "initial")])),
    )
    .await;
    mount_once(
        &server,
        get("/v3/service_credential_bindings/k1"),
        ok(key("k1", "calm-key", "succeeded")),
    )
    .await;
    let http = HttpClient::builder()
        .retry_policy(RetryPolicy::never())
        .request_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let cf =
        CloudFoundry::with_token_source(api(&server), TokenSource::static_token("t".into()), http)
            .unwrap();
    let (k, prov) = create_calm_key(&cf).await.unwrap();
    assert_eq!((k.guid.as_str(), prov), ("k1", Provenance::Created));
}

#[tokio::test]
async fn generated_credentials_are_discovered_in_the_space() {
    let server = MockServer::start().await;
    mount(&server, instance_named_calm_api(), listing(json!([]))).await;
    mount(
        &server,
        get("/v3/service_plans")
            .and(query_param("service_offering_names", "SAPCloudALMAPIs"))
            .and(query_param("space_guids", "space-1")),
        listing(json!([{"guid": "p1", "name": "standard"}])),
    )
    .await;
    mount(
        &server,
        get("/v3/service_instances").and(query_param("service_plan_guids", "p1")),
        listing(json!([instance("si-1", "calm-generated", "succeeded")])),
    )
    .await;
    mount(
        &server,
        get("/v3/service_credential_bindings")
            .and(query_param("service_instance_guids", "si-1"))
            .and(query_param("type", "key")),
        listing(json!([
            key("k1", "SID_100_00", "succeeded"),
            key("k2", "broken", "failed")
        ])),
    )
    .await;
    mount_details_once(&server).await;
    let cf = warm(&server);
    let inventory = cf.inventory(&space()).await.unwrap();
    let summaries: Vec<_> = inventory
        .iter()
        .flat_map(|e| {
            e.keys
                .iter()
                .map(|k| crate::journey::cloud_foundry::key_summary(&e.instance, k))
        })
        .collect();
    assert_eq!(summaries.len(), 2);
    assert_eq!(
        summaries[0].instance_name.as_deref(),
        Some("calm-generated")
    );
    let got = retrieve_in(
        &cf,
        &space(),
        &calm_request(Some(ProvisioningTier::Automatic)),
        &opts(false),
    )
    .await
    .unwrap();
    assert_eq!(got.credential.name, "SID_100_00");
}

#[tokio::test]
async fn refused_login_and_debug_output_never_show_secrets() {
    let server = MockServer::start().await;
    mount_root(&server).await;
    mount(
        &server,
        post("/login/oauth/token"),
        ResponseTemplate::new(401).set_body_json(
            json!({"error": "invalid_grant", "error_description": "Bad credentials"}),
        ),
    )
    .await;
    let login = CfLogin::builder()
        .api_url(server.uri())
        .password("alice", SecretString::from("hunter2-PASSWORD"))
        .env(no_env())
        .config_file(None)
        .build()
        .unwrap();
    let cf = CloudFoundry::connect_with(login.clone(), fast_http())
        .await
        .unwrap();
    let err = cf.org("acme").await.unwrap_err();
    let shown = format!("{err} {err:?} {cf:?} {login:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("invalid_grant"), "{shown}");
    let warm = warm(&server);
    assert!(!format!("{warm:?}").contains("warm-token"));
}

// ------------------------------------------- generated credentials and the transport scopes

const CDM_SCOPES: &str =
    "sapcloudalm!b1.imp-cdm-feature-display-ui sapcloudalm!b1.imp-cdm-feature-manage-ui";

/// Credentials whose token server is the mock.
fn details_at(token_server: &str) -> Value {
    let mut d = details();
    d["credentials"]["uaa"]["url"] = json!(token_server);
    d
}

fn transport_request() -> PlanRequest {
    PlanRequest::new(
        Some(ProvisioningTier::Automatic),
        Purpose::TransportManagement,
        Environment::CloudFoundry,
    )
    .instance_name("calm-api")
    .credential_name("calm-key")
}

/// The space's inventory: instance `si-g` with the generated key `kg`, whose token carries
/// `scope`.
async fn mount_generated(server: &MockServer, scope: &str) {
    // The inventory asks for every plan of the offering; creating, for plan `standard`.
    mount(
        server,
        get("/v3/service_plans").and(query_param("service_offering_names", "SAPCloudALMAPIs")),
        listing(json!([{"guid": "p1", "name": "standard"}])),
    )
    .await;
    mount(
        server,
        get("/v3/service_instances").and(query_param("service_plan_guids", "p1")),
        listing(json!([instance("si-g", "calm-generated", "succeeded")])),
    )
    .await;
    let mut generated = key("kg", "SID_100_00", "succeeded");
    generated["relationships"]["service_instance"]["data"]["guid"] = json!("si-g");
    mount(
        server,
        get("/v3/service_credential_bindings").and(query_param("service_instance_guids", "si-g")),
        listing(json!([generated])),
    )
    .await;
    mount(
        server,
        get("/v3/service_credential_bindings/kg/details"),
        ok(details_at(&server.uri())),
    )
    .await;
    mount(
        server,
        post("/oauth/token").and(body_string_contains("client_id=sb-calm")),
        ok(json!({"access_token": "t", "token_type": "bearer",
                                "expires_in": 3600, "scope": scope})),
    )
    .await;
}

async fn cf_posts(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path().starts_with("/v3/"))
        .count()
}

fn noted(events: &Mutex<Vec<ProgressEvent>>, text: &str) -> bool {
    events
        .lock()
        .unwrap()
        .iter()
        .any(|e| e.to_string().contains(text))
}

#[tokio::test]
async fn generated_key_lacking_the_cdm_scopes_is_replaced_by_a_new_instance_and_key() {
    let server = MockServer::start().await;
    mount_once(&server, instance_named_calm_api(), listing(json!([]))).await;
    mount_generated(&server, "sapcloudalm!b1.calm-api.monitoring.write").await;
    mount_instance_creation(&server).await;
    mount(
        &server,
        instance_named_calm_api(),
        listing(json!([calm_api()])),
    )
    .await;
    mount_key_creation(&server).await;
    mount_details_once(&server).await;
    let (progress, events) = events();
    let o = opts(true).progress(progress);
    let got = retrieve_in(&warm(&server), &space(), &transport_request(), &o)
        .await
        .unwrap();
    assert_eq!(got.credential.id.as_str(), "k1");
    assert_eq!(got.instance.name, "calm-api");
    assert_eq!(got.instance_provenance, Provenance::Created);
    assert_eq!(got.credential_provenance, Provenance::Created);
    assert_eq!(got.plan.tier, None, "the unknown-tier plan was carried out");
    assert_eq!(cf_posts(&server).await, 2, "one instance, one key");
    assert!(
        noted(&events, "lacks the scopes imp-cdm-feature-display-ui"),
        "{events:?}"
    );
    assert!(
        noted(&events, "creating an instance and service key instead"),
        "{events:?}"
    );
}

#[tokio::test]
async fn generated_key_lacking_the_cdm_scopes_without_create_is_not_found() {
    let server = MockServer::start().await;
    mount(&server, instance_named_calm_api(), listing(json!([]))).await;
    mount_generated(&server, "sapcloudalm!b1.calm-api.monitoring.write").await;
    let err = retrieve_in(&warm(&server), &space(), &transport_request(), &opts(false))
        .await
        .unwrap_err();
    let Error::NotFound {
        name, creatable, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(name.contains("imp-cdm-feature-manage-ui"), "{name}");
    assert!(name.contains("space `dev`"), "{name}");
    assert!(creatable);
    assert_eq!(cf_posts(&server).await, 0);
}

#[tokio::test]
async fn generated_key_carrying_the_cdm_scopes_is_used_with_its_credentials_read_once() {
    let server = MockServer::start().await;
    mount(&server, instance_named_calm_api(), listing(json!([]))).await;
    mount_generated(&server, CDM_SCOPES).await;
    let cf = warm(&server);
    let got = retrieve_in(&cf, &space(), &transport_request(), &opts(true))
        .await
        .unwrap();
    assert_eq!(got.credential.name, "SID_100_00");
    assert_eq!(got.credential_provenance, Provenance::Found);
    // named instance, plans, instances, keys, credentials, token
    assert_eq!(cf.http().request_count(), 6);
    assert_eq!(cf_posts(&server).await, 0);
}

#[tokio::test]
async fn named_key_lacking_the_cdm_scopes() {
    for create in [true, false] {
        let server = MockServer::start().await;
        mount_existing(&server, details_at(&server.uri())).await;
        // The named key's token (asked for first) lacks the scopes; the generated one's has them.
        post("/oauth/token")
            .respond_with(ok(json!({"access_token": "t", "token_type": "bearer",
                                    "expires_in": 3600, "scope": "uaa.resource"})))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        mount_generated(&server, CDM_SCOPES).await;
        let result = retrieve_in(
            &warm(&server),
            &space(),
            &transport_request(),
            &opts(create),
        )
        .await;
        if create {
            // Creating under the same names would find the same key again.
            let err = result.unwrap_err();
            assert!(matches!(err, Error::VerificationFailed(_)), "{err:?}");
            let shown = err.to_string();
            assert!(shown.contains("service key `calm-key`"), "{shown}");
            assert!(shown.contains("imp-cdm-feature-display-ui"), "{shown}");
        } else {
            // Without create, the generated key that carries them is used, as on the SM path.
            assert_eq!(result.unwrap().credential.name, "SID_100_00");
        }
        assert_eq!(cf_posts(&server).await, 0, "create: {create}");
    }
}

// ---- filter encoding, warnings, quotas and the refresh client (issue 11) -------------------

#[tokio::test]
async fn filter_values_with_commas_and_percents_are_escaped_twice() {
    let server = MockServer::start().await;
    // wiremock decodes the query once, as Rack does; Cloud Controller unescapes each value again.
    get("/v3/organizations")
        .and(query_param("names", "ACME%2C Inc. 100%25"))
        .respond_with(listing(json!([{"guid": "o1", "name": "ACME, Inc. 100%"}])))
        .expect(1)
        .mount(&server)
        .await;
    let org = warm(&server).org("ACME, Inc. 100%").await.unwrap();
    assert_eq!(org.guid.as_str(), "o1");
    let r = &server.received_requests().await.unwrap()[0];
    assert_eq!(r.url.query(), Some("names=ACME%252C%20Inc.%20100%2525"));
}

#[tokio::test]
async fn warnings_are_cgi_unescaped() {
    let server = MockServer::start().await;
    get("/v3/organizations")
        .respond_with(
            listing(json!([{"guid": "o1", "name": "acme"}])).insert_header(
                "X-Cf-Warnings",
                "Plan+%27x%27+is+deprecated%2C+use+y%2Bz,second+warning",
            ),
        )
        .mount(&server)
        .await;
    let cf = warm(&server);
    cf.org("acme").await.unwrap();
    assert_eq!(
        cf.warnings(),
        ["Plan 'x' is deprecated, use y+z", "second warning"]
    );
}

#[tokio::test]
async fn instance_quota_errors_are_400_and_classified_as_quota() {
    for (title, number, detail) in [
        (
            "CF-ServiceInstanceQuotaExceeded",
            60005,
            "You have exceeded your organization's services limit.",
        ),
        (
            "CF-ServiceInstanceSpaceQuotaExceeded",
            60012,
            "You have exceeded your space's services limit.",
        ),
    ] {
        let server = MockServer::start().await;
        post("/v3/service_instances")
            .respond_with(cf_error(400, number, title, detail))
            .expect(1)
            .mount(&server)
            .await;
        let err = in_space::create_instance(
            &warm(&server),
            &space(),
            "calm-api",
            &standard_plan(),
            json!({}),
            &wait(),
        )
        .await
        .unwrap_err();
        assert_eq!(
            crate::cloud_foundry::errors::unprocessable(&err),
            Some(crate::cloud_foundry::errors::Unprocessable::Quota),
            "{err}"
        );
        assert!(err.to_string().contains("quota"), "{err}");
    }
}

#[tokio::test]
async fn refresh_uses_the_client_of_config_json() {
    let server = MockServer::start().await;
    // HTTP Basic `jwt-client:jwt-s3cret`, as after `cf auth --assertion`.
    post("/login/oauth/token")
        .and(header(
            "authorization",
            "Basic and0LWNsaWVudDpqd3QtczNjcmV0",
        ))
        .and(body_string_contains(
            "grant_type=refresh_token&refresh_token=file-refresh",
        ))
        .respond_with(token("from-file"))
        .expect(1)
        .mount(&server)
        .await;
    mount_orgs_needing(&server, "from-file").await;
    let home = temp_home();
    std::fs::create_dir_all(home.join(".cf")).unwrap();
    let config = json!({
        "ConfigVersion": 3, "Target": server.uri(),
        "AuthorizationEndpoint": format!("{}/login", server.uri()),
        "AccessToken": "bearer file-access", "RefreshToken": "file-refresh",
        "UAAOAuthClient": "jwt-client", "UAAOAuthClientSecret": "jwt-s3cret",
        "UAAGrantType": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "OrganizationFields": {"GUID": "org-guid", "Name": "acme"},
        "SpaceFields": {"GUID": "space-guid", "Name": "dev", "AllowSSH": true}
    });
    std::fs::write(home.join(".cf/config.json"), config.to_string()).unwrap();
    let env = HashMap::from([("CF_HOME".to_string(), home.display().to_string())]);
    let login = CfLogin::builder().env(env).build().unwrap();
    match &login.credentials {
        CfCredentials::RefreshToken { client_id, .. } => assert_eq!(client_id, "jwt-client"),
        other => panic!("{other:?}"),
    }
    assert!(!format!("{login:?}").contains("jwt-s3cret"));
    let cf = CloudFoundry::connect_with(login, fast_http())
        .await
        .unwrap();
    cf.org("acme").await.unwrap();
    std::fs::remove_dir_all(home).ok();
}
