//! Contract tests of the Service Manager backend and its orchestrating client against a
//! wiremock Service Manager: every behaviour of `reference/service-manager-api.md` §11, and the
//! number of requests each journey costs.

use super::common;

use std::time::Duration;

use crate::journey::Provenance;
use crate::journey::service_manager::platform::{retrieve, retrieve_by_instance_id};
use crate::journey::service_manager::rotate::rotate;
use crate::journey::service_manager::{Retirement, RotationRequest};
use crate::model::{BindingId, InstanceId};
use crate::service_manager::{ListFilter, Query};
use crate::{Environment, Error, PlanRequest, ProvisioningTier, Purpose};
use chrono::Utc;
use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

use common::mocks::{get, post};
use common::sm::*;

const INSTANCES: &str = "/v1/service_instances";
const BINDINGS: &str = "/v1/service_bindings";

fn ok(body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// A single, last page of `items`.
fn listing(items: Vec<serde_json::Value>) -> ResponseTemplate {
    ok(page(items, None))
}

/// A 201 carrying `body`.
fn created(body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(body)
}

/// A 202 whose operation is at `location`.
fn accepted(location: &str) -> ResponseTemplate {
    ResponseTemplate::new(202).insert_header("Location", location)
}

/// Mounts `m` answering `r` as often as asked, expecting nothing.
async fn mount(server: &MockServer, m: MockBuilder, r: ResponseTemplate) {
    m.respond_with(r).mount(server).await;
}

/// Mounts `m` answering `r` to the first `n` matching requests only, expecting nothing.
async fn mount_first(server: &MockServer, n: u64, m: MockBuilder, r: ResponseTemplate) {
    m.respond_with(r).up_to_n_times(n).mount(server).await;
}

/// Mounts `m()` giving each answer of `first` as often as it says, in order, then `then`.
async fn mount_in_turn(
    server: &MockServer,
    m: impl Fn() -> MockBuilder,
    first: Vec<(u64, ResponseTemplate)>,
    then: ResponseTemplate,
) {
    for (n, r) in first {
        mount_first(server, n, m(), r).await;
    }
    mount(server, m(), then).await;
}

/// Instance `calm` (`i1`), ready.
fn calm_instance() -> serde_json::Value {
    instance("i1", "calm", true)
}

/// Binding `calm-key` (`b1`) of instance `i1`, its token server at `uri`.
fn calm_key(uri: &str) -> serde_json::Value {
    binding("b1", "calm-key", "i1", uri)
}

fn sm_error(status: u16, word: &str, text: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": word, "description": text}))
}

fn unknown_tier() -> PlanRequest {
    PlanRequest::new(
        None,
        Purpose::OperationsMonitoring,
        Environment::ServiceManager,
    )
    .instance_name("calm")
    .credential_name("calm-key")
}

/// The generated credentials of the automatic tier, for `purpose`.
fn automatic(purpose: Purpose) -> PlanRequest {
    PlanRequest::new(
        Some(ProvisioningTier::Automatic),
        purpose,
        Environment::ServiceManager,
    )
}

fn manual_tier() -> PlanRequest {
    PlanRequest::new(
        Some(ProvisioningTier::Manual),
        Purpose::TransportManagement,
        Environment::ServiceManager,
    )
    .instance_name("calm")
    .credential_name("calm-key")
}

async fn mount_instance_lookup(server: &MockServer, items: Vec<serde_json::Value>) {
    mount(
        server,
        get(INSTANCES).and(query_param(
            "fieldQuery",
            "name eq 'calm' and platform_id eq 'service-manager'",
        )),
        listing(items),
    )
    .await;
}

/// The lookup of binding `calm-key` of instance `i1`.
fn binding_lookup() -> MockBuilder {
    get(BINDINGS).and(query_param(
        "fieldQuery",
        "service_instance_id eq 'i1' and name eq 'calm-key'",
    ))
}

async fn mount_binding_lookup(server: &MockServer, items: Vec<serde_json::Value>) {
    mount(server, binding_lookup(), listing(items)).await;
}

/// Instance `calm` (`i1`), ready, whose lookup of `calm-key` finds `bindings`.
async fn mount_calm(server: &MockServer, bindings: Vec<serde_json::Value>) {
    mount_instance_lookup(server, vec![calm_instance()]).await;
    mount_binding_lookup(server, bindings).await;
}

/// No instance `calm` yet, and the offering's plan `standard` entitled.
async fn mount_nothing_but_entitlement(server: &MockServer) {
    mount_instance_lookup(server, vec![]).await;
    mount_entitlement(server).await;
}

async fn mount_entitlement(server: &MockServer) {
    mount(
        server,
        get("/v1/service_offerings").and(query_param("fieldQuery", "name eq 'SAPCloudALMAPIs'")),
        listing(vec![offering("o1")]),
    )
    .await;
    mount(
        server,
        get("/v1/service_plans").and(query_param(
            "fieldQuery",
            "name eq 'standard' and service_offering_id eq 'o1'",
        )),
        listing(vec![plan("p1", "o1")]),
    )
    .await;
}

// ---- request counts -------------------------------------------------------------------------

#[tokio::test]
async fn existing_binding_by_names_costs_two_requests_warm_three_cold() {
    for cold in [false, true] {
        let server = MockServer::start().await;
        let uri = server.uri();
        mount(&server, post("/oauth/token"), ok(token_body("sm.read"))).await;
        mount_calm(&server, vec![calm_key(&uri)]).await;
        let sm = if cold {
            cold_sm(&server)
        } else {
            warm_sm(&server)
        };
        let (o, _) = opts(false);

        let got = retrieve(&sm, &unknown_tier(), &o).await.unwrap();

        assert_eq!(got.credential.name, "calm-key");
        assert_eq!(got.instance.name, "calm");
        assert_eq!(got.instance_provenance, Provenance::Found);
        assert_eq!(got.credential_provenance, Provenance::Found);
        assert_eq!(got.key.client_id(), "sb-calm!b1|sapcloudalm!b2");
        let want = if cold { 3 } else { 2 };
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            want,
            "cold={cold}"
        );
        assert_eq!(sm.http().request_count(), want as u64);
        assert!(!format!("{got:?}").contains(SECRET));
    }
}

#[tokio::test]
async fn existing_binding_by_instance_id_costs_one_request() {
    let server = MockServer::start().await;
    mount_binding_lookup(&server, vec![calm_key(&server.uri())]).await;
    let sm = warm_sm(&server);
    let (o, _) = opts(false);

    let got = retrieve_by_instance_id(&sm, &unknown_tier(), &InstanceId::new("i1"), &o)
        .await
        .unwrap();

    assert_eq!(got.instance.id.as_str(), "i1");
    assert_eq!(got.instance.name, "calm");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn known_tier_with_existing_things_reads_no_offering() {
    let server = MockServer::start().await;
    mount_calm(&server, vec![calm_key(&server.uri())]).await;
    let sm = warm_sm(&server);
    let (o, _) = opts(true);

    let got = retrieve(&sm, &manual_tier(), &o).await.unwrap();

    assert_eq!(got.credential_provenance, Provenance::Found);
    assert_eq!(
        log(&server).await,
        ["GET /v1/service_instances", "GET /v1/service_bindings"]
    );
}

// ---- creation: 201 and 202 ------------------------------------------------------------------

#[tokio::test]
async fn creates_with_201_answers_and_the_plan_parameters() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_nothing_but_entitlement(&server).await;
    post(INSTANCES)
        .and(body_partial_json(json!({
            "name": "calm", "service_plan_id": "p1",
            "parameters": {"xs-security": {"xsappname": "calm",
                "oauth2-configuration": {"credential-types": ["binding-secret"]}}}
        })))
        .respond_with(created(calm_instance()))
        .expect(1)
        .mount(&server)
        .await;
    mount_binding_lookup(&server, vec![]).await;
    post(BINDINGS)
        .and(body_partial_json(
            json!({"name": "calm-key", "service_instance_id": "i1"}),
        ))
        .respond_with(created(calm_key(&uri)))
        .expect(1)
        .mount(&server)
        .await;
    let sm = warm_sm(&server);
    let (o, events) = opts(true);

    let got = retrieve(&sm, &manual_tier(), &o).await.unwrap();

    assert_eq!(got.instance_provenance, Provenance::Created);
    assert_eq!(got.credential_provenance, Provenance::Created);
    let posts = server.received_requests().await.unwrap();
    assert!(posts.iter().all(|r| value_of(r, "async").is_none()));
    let body: serde_json::Value = posts
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap()
        .body_json()
        .unwrap();
    assert_eq!(
        body["parameters"]["xs-security"]["authorities"][0],
        "$XSMASTERAPPNAME.imp-cdm-feature-display-ui"
    );
    let events = events.lock().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.to_string() == "creating instance `calm`"),
        "{events:?}"
    );
}

#[tokio::test]
async fn creates_with_202_relative_location_polling_404_and_not_ready() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_nothing_but_entitlement(&server).await;
    post(INSTANCES)
        .respond_with(accepted("/v1/service_instances/i1/operations/op1").set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    // The operation: in progress twice (upper case type), then succeeded (upper case state).
    mount_in_turn(
        &server,
        || get("/v1/service_instances/i1/operations/op1"),
        vec![(
            2,
            ok(json!({"id": "op1", "type": "CREATE", "state": "in progress"})),
        )],
        ok(json!({"id": "op1", "type": "CREATE", "state": "SUCCEEDED", "errors": {}})),
    )
    .await;
    // The instance: 404 while being created, then ready: false, then ready.
    mount_in_turn(
        &server,
        || get("/v1/service_instances/i1"),
        vec![
            (
                1,
                sm_error(404, "NotFound", "could not find such service_instance"),
            ),
            (1, ok(instance("i1", "calm", false))),
        ],
        ok(calm_instance()),
    )
    .await;
    mount_binding_lookup(&server, vec![]).await;
    post(BINDINGS)
        .respond_with(accepted("/v1/service_bindings/b1/operations/op2"))
        .expect(1)
        .mount(&server)
        .await;
    mount(
        &server,
        get("/v1/service_bindings/b1/operations/op2"),
        ok(json!({"id": "op2", "type": "create", "state": "succeeded"})),
    )
    .await;
    mount(&server, get("/v1/service_bindings/b1"), ok(calm_key(&uri))).await;
    let sm = warm_sm(&server);
    let (o, events) = opts(true);

    let got = retrieve(&sm, &manual_tier(), &o).await.unwrap();

    assert_eq!(got.instance.id.as_str(), "i1");
    assert_eq!(got.credential.id.as_str(), "b1");
    assert_eq!(got.credential_provenance, Provenance::Created);
    assert_eq!(
        count(&server, "GET", "/v1/service_instances/i1/operations").await,
        3
    );
    assert_eq!(count(&server, "GET", "/v1/service_instances/i1").await, 6);
    let states: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert!(
        states.iter().any(|s| s.contains("in progress")),
        "{states:?}"
    );
    assert!(
        states.iter().any(|s| s.contains("not visible yet")),
        "{states:?}"
    );
    assert!(states.iter().any(|s| s.contains("not ready")), "{states:?}");
}

#[tokio::test]
async fn failed_operations_with_empty_or_odd_errors_are_clear() {
    let shapes = [
        (
            json!({"state": "failed", "type": "create", "errors": []}),
            "without a reason",
        ),
        (
            json!({"state": "FAILED", "type": "create"}),
            "without a reason",
        ),
        (
            json!({"state": "failed", "errors": [{"error": "BrokerError", "description": "quota exceeded"}]}),
            "BrokerError: quota exceeded",
        ),
        (
            json!({"state": "failed", "errors": "plain text"}),
            "plain text",
        ),
        (
            json!({"state": "failed", "description": "xsuaa said no", "errors": {"x": 1}}),
            "xsuaa said no",
        ),
    ];
    for (op, want) in shapes {
        let server = MockServer::start().await;
        mount_nothing_but_entitlement(&server).await;
        mount(
            &server,
            post(INSTANCES),
            accepted("/v1/service_instances/i1/operations/op1"),
        )
        .await;
        mount(
            &server,
            get("/v1/service_instances/i1/operations/op1"),
            ok(op.clone()),
        )
        .await;
        let (o, _) = opts(true);
        let err = retrieve(&warm_sm(&server), &manual_tier(), &o)
            .await
            .unwrap_err();
        match &err {
            Error::OperationFailed {
                operation, message, ..
            } => {
                assert!(operation.contains("instance `calm`"), "{operation}");
                assert!(message.contains(want), "{op} → {message}");
            }
            other => panic!("{op}: {other:?}"),
        }
    }
}

// ---- deletion -------------------------------------------------------------------------------

#[tokio::test]
async fn delete_is_done_on_404_of_the_operation_or_the_resource() {
    let server = MockServer::start().await;
    mount(
        &server,
        Mock::given(method("DELETE")).and(path("/v1/service_bindings/b1")),
        accepted("/v1/service_bindings/b1/operations/op9"),
    )
    .await;
    mount_in_turn(
        &server,
        || get("/v1/service_bindings/b1/operations/op9"),
        vec![(1, ok(json!({"state": "in progress", "type": "delete"})))],
        sm_error(404, "NotFound", "gone"),
    )
    .await;
    mount(
        &server,
        Mock::given(method("DELETE")).and(path("/v1/service_instances/gone")),
        sm_error(404, "NotFound", "gone"),
    )
    .await;
    let sm = warm_sm(&server);
    let (o, _) = opts(true);
    sm.delete_binding(&BindingId::new("b1"), &o.wait)
        .await
        .unwrap();
    sm.delete_instance(&InstanceId::new("gone"), &o.wait)
        .await
        .unwrap();
    assert_eq!(
        count(&server, "GET", "/v1/service_bindings/b1/operations").await,
        2
    );
}

// ---- conflicts and busy instances -----------------------------------------------------------

#[tokio::test]
async fn conflict_on_binding_create_fetches_the_existing_one_with_one_post() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_first(&server, 1, binding_lookup(), listing(vec![])).await;
    mount_calm(&server, vec![calm_key(&uri)]).await;
    post(BINDINGS)
        .respond_with(sm_error(
            409,
            "Conflict",
            "binding with same name exists for instance with id i1",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (o, events) = opts(true);

    let got = retrieve(&warm_sm(&server), &unknown_tier(), &o)
        .await
        .unwrap();

    assert_eq!(got.credential.id.as_str(), "b1");
    assert_eq!(got.credential_provenance, Provenance::Found);
    assert_eq!(count(&server, "POST", BINDINGS).await, 1);
    assert!(
        events
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.to_string().contains("409"))
    );
}

#[tokio::test]
async fn operation_in_progress_on_bind_waits_then_binds() {
    for word in [
        "OperationInProgress",
        "ConcurrentOperationInProgress",
        "ConcurrentOperation",
    ] {
        let server = MockServer::start().await;
        let uri = server.uri();
        mount_calm(&server, vec![]).await;
        mount_in_turn(
            &server,
            || post(BINDINGS),
            vec![(
                2,
                sm_error(422, word, "creation of instance i1 is still in progress"),
            )],
            created(calm_key(&uri)),
        )
        .await;
        let (o, events) = opts(true);

        let got = retrieve(&warm_sm(&server), &unknown_tier(), &o)
            .await
            .unwrap();

        assert_eq!(got.credential_provenance, Provenance::Created);
        assert_eq!(count(&server, "POST", BINDINGS).await, 3, "{word}");
        let events = events.lock().unwrap();
        assert!(
            events.iter().any(|e| e.to_string().contains(word)),
            "{events:?}"
        );
    }
}

#[tokio::test]
async fn instance_still_being_created_is_waited_for_before_binding() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let mut creating = instance("i1", "calm", false);
    creating["last_operation"] = json!({"type": "create", "state": "in progress"});
    mount_instance_lookup(&server, vec![creating.clone()]).await;
    mount_binding_lookup(&server, vec![]).await;
    mount_in_turn(
        &server,
        || get("/v1/service_instances/i1"),
        vec![(1, ok(creating))],
        ok(calm_instance()),
    )
    .await;
    mount(&server, post(BINDINGS), created(calm_key(&uri))).await;
    let (o, _) = opts(true);
    retrieve(&warm_sm(&server), &unknown_tier(), &o)
        .await
        .unwrap();
    let log = log(&server).await;
    let first_post = log.iter().position(|l| l.starts_with("POST")).unwrap();
    let polls = log[..first_post]
        .iter()
        .filter(|l| *l == "GET /v1/service_instances/i1")
        .count();
    assert_eq!(polls, 2, "{log:?}");
}

// ---- rate limits ----------------------------------------------------------------------------

#[tokio::test]
async fn rate_limits_with_every_retry_after_form() {
    let soon = Utc::now() + chrono::Duration::milliseconds(300);
    let forms: Vec<Option<String>> = vec![
        Some("1".into()),
        Some(soon.format("%a, %d %b %Y %H:%M:%S GMT").to_string()),
        Some(soon.format("%Y-%m-%d %H:%M:%S%.f +0000 UTC").to_string()),
        Some("2001-01-01 00:00:00 +0000 UTC".into()),
        Some("not a time".into()),
        None,
    ];
    for form in forms {
        let server = MockServer::start().await;
        let mut limited = sm_error(
            429,
            "BadRequest",
            "The allowed request limit of 1000 requests has been reached please try again later",
        );
        if let Some(v) = &form {
            limited = limited.insert_header("Retry-After", v.as_str());
        }
        mount_first(&server, 1, get(INSTANCES), limited).await;
        mount_instance_lookup(&server, vec![calm_instance()]).await;
        let found = warm_sm(&server).find_instance("calm").await.unwrap();
        assert!(found.is_some(), "{form:?}");
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            2,
            "{form:?}"
        );
    }
}

#[tokio::test]
async fn rate_limited_create_is_retried_without_duplicates() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_calm(&server, vec![]).await;
    mount_first(
        &server,
        1,
        post(BINDINGS),
        sm_error(429, "BadRequest", "limit").insert_header("Retry-After", "0"),
    )
    .await;
    post(BINDINGS)
        .respond_with(created(calm_key(&uri)))
        .expect(1)
        .mount(&server)
        .await;
    let (o, _) = opts(true);
    retrieve(&warm_sm(&server), &unknown_tier(), &o)
        .await
        .unwrap();
}

// ---- paging ---------------------------------------------------------------------------------

#[tokio::test]
async fn paging_follows_tokens_replacing_the_parameter() {
    let server = MockServer::start().await;
    let item = |n: u32| instance(&format!("i{n}"), &format!("calm-{n}"), true);
    mount(
        &server,
        get(INSTANCES).and(query_param_is_missing("token")),
        ok(page(vec![item(1), item(2)], Some("t1"))),
    )
    .await;
    for (token, next, n) in [
        ("t1", Some("t2"), 3),
        ("t2", Some("t3"), 5),
        ("t3", None, 7),
    ] {
        mount(
            &server,
            get(INSTANCES).and(query_param("token", token)),
            ok(page(vec![item(n), item(n + 1)], next)),
        )
        .await;
    }
    let sm = warm_sm(&server);
    let filter = ListFilter::field(Query::new().eq("usable", "true")).max_items(2);
    let mut pager = sm.list_instances(filter);
    let mut names = Vec::new();
    while let Some(items) = pager.next_page().await.unwrap() {
        names.extend(items.into_iter().map(|i| i.name));
    }
    assert_eq!(names.len(), 8);
    assert_eq!(pager.pages_fetched(), 4);
    let received = server.received_requests().await.unwrap();
    for (i, r) in received.iter().enumerate() {
        let tokens = pairs(r).iter().filter(|(k, _)| k == "token").count();
        assert_eq!(tokens, usize::from(i > 0), "page {i}: {}", r.url);
        assert_eq!(
            value_of(r, "fieldQuery").as_deref(),
            Some("usable eq 'true'")
        );
        assert_eq!(value_of(r, "max_items").as_deref(), Some("2"));
    }
}

#[tokio::test]
async fn a_repeated_token_stops_with_an_error() {
    let server = MockServer::start().await;
    mount(
        &server,
        get(BINDINGS).and(query_param_is_missing("token")),
        ok(page(vec![], Some("t1"))),
    )
    .await;
    mount(
        &server,
        get(BINDINGS).and(query_param("token", "t1")),
        ok(page(vec![], Some("t1"))),
    )
    .await;
    let err = warm_sm(&server)
        .list_bindings(ListFilter::all())
        .all()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("paging token"), "{err}");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

// ---- queries --------------------------------------------------------------------------------

#[tokio::test]
async fn field_query_literals_are_quoted_and_encoded() {
    let server = MockServer::start().await;
    get(INSTANCES)
        .and(query_param(
            "fieldQuery",
            "name eq 'O''Brien' and platform_id eq 'service-manager'",
        ))
        .respond_with(listing(vec![instance("i1", "O'Brien", true)]))
        .expect(1)
        .mount(&server)
        .await;
    let found = warm_sm(&server)
        .find_instance("O'Brien")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.name, "O'Brien");
    let r = &server.received_requests().await.unwrap()[0];
    assert!(
        r.url
            .query()
            .unwrap()
            .contains("name%20eq%20%27O%27%27Brien%27"),
        "{}",
        r.url
    );
}

// ---- entitlement and missing things ---------------------------------------------------------

#[tokio::test]
async fn missing_entitlement_is_reported_as_such() {
    for (offerings, plans) in [(vec![], vec![]), (vec![offering("o1")], vec![])] {
        let server = MockServer::start().await;
        mount_instance_lookup(&server, vec![]).await;
        mount(&server, get("/v1/service_offerings"), listing(offerings)).await;
        mount(&server, get("/v1/service_plans"), listing(plans)).await;
        let (o, _) = opts(true);
        let err = retrieve(&warm_sm(&server), &manual_tier(), &o)
            .await
            .unwrap_err();
        match &err {
            Error::EntitlementMissing { offering, plan } => {
                assert_eq!(
                    (offering.as_str(), plan.as_str()),
                    ("SAPCloudALMAPIs", "standard")
                );
                assert!(err.to_string().contains("Add Service Plans"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(count(&server, "POST", "/").await, 0);
    }
}

#[tokio::test]
async fn several_plans_are_ambiguous() {
    let server = MockServer::start().await;
    mount(
        &server,
        get("/v1/service_offerings"),
        listing(vec![offering("o1"), offering("o2")]),
    )
    .await;
    mount(
        &server,
        get("/v1/service_plans").and(query_param(
            "fieldQuery",
            "name eq 'standard' and service_offering_id in ('o1', 'o2')",
        )),
        listing(vec![plan("p1", "o1"), plan("p2", "o2")]),
    )
    .await;
    let err = warm_sm(&server)
        .resolve_plan("SAPCloudALMAPIs", "standard")
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Ambiguous { ref candidates, .. } if candidates.len() == 2),
        "{err:?}"
    );
}

#[tokio::test]
async fn without_create_missing_things_are_not_found_with_a_hint() {
    let server = MockServer::start().await;
    mount_instance_lookup(&server, vec![]).await;
    let (o, _) = opts(false);
    let err = retrieve(&warm_sm(&server), &unknown_tier(), &o)
        .await
        .unwrap_err();
    match &err {
        Error::NotFound {
            name, creatable, ..
        } => {
            assert!(name.contains("`calm`"), "{name}");
            assert!(creatable, "{err}");
            assert!(!err.to_string().contains("--create"), "{err}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn cloud_foundry_requests_are_refused_before_any_request() {
    let server = MockServer::start().await;
    let req = PlanRequest::new(
        None,
        Purpose::OperationsMonitoring,
        Environment::CloudFoundry,
    );
    let (o, _) = opts(true);
    assert!(matches!(
        retrieve(&warm_sm(&server), &req, &o).await,
        Err(Error::Config { .. })
    ));
    let bad = unknown_tier().instance_name("has space");
    assert!(matches!(
        retrieve(&warm_sm(&server), &bad, &o).await,
        Err(Error::InvalidName { .. })
    ));
    assert!(server.received_requests().await.unwrap().is_empty());
}

// ---- discovery of generated credentials -----------------------------------------------------

async fn mount_generated(server: &MockServer) {
    let uri = server.uri();
    mount(
        server,
        get("/v1/service_offerings"),
        listing(vec![offering("o1")]),
    )
    .await;
    mount(
        server,
        get("/v1/service_plans").and(query_param("fieldQuery", "service_offering_id eq 'o1'")),
        listing(vec![plan("p1", "o1")]),
    )
    .await;
    let mut newer = instance("i2", "calm-newer", true);
    newer["created_at"] = json!("2025-01-01T00:00:00Z");
    mount(
        server,
        get(INSTANCES).and(query_param("fieldQuery", "service_plan_id eq 'p1'")),
        listing(vec![newer, instance("i1", "calm-generated", true)]),
    )
    .await;
    let mut newer_b = binding("b2", "newer-key", "i2", &uri);
    newer_b["created_at"] = json!("2025-01-01T00:05:00Z");
    mount(
        server,
        get(BINDINGS).and(query_param(
            "fieldQuery",
            "service_instance_id in ('i1', 'i2')",
        )),
        listing(vec![newer_b, binding("b1", "generated-key", "i1", &uri)]),
    )
    .await;
}

/// No instance named `name`, only the generated credentials of [`mount_generated`].
async fn mount_only_generated(server: &MockServer, name: &str) {
    mount(
        server,
        get(INSTANCES).and(query_param(
            "fieldQuery",
            format!("name eq '{name}' and platform_id eq 'service-manager'"),
        )),
        listing(vec![]),
    )
    .await;
    mount_generated(server).await;
}

#[tokio::test]
async fn discover_lists_every_binding_in_four_requests() {
    let server = MockServer::start().await;
    mount_generated(&server).await;
    let sm = warm_sm(&server);
    let found = sm.discover().await.unwrap();
    assert_eq!(
        found.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["generated-key", "newer-key"]
    );
    assert_eq!(found[0].instance_name.as_deref(), Some("calm"));
    assert_eq!(
        found[0].credential_type.as_ref().map(|t| t.as_str()),
        Some("binding-secret")
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    let listing = sm.list().await.unwrap();
    assert_eq!(listing.len(), 2);
    assert_eq!(listing[0].instance.name, "calm-generated");
    assert_eq!(listing[0].state, "ready");
    assert!(!serde_json::to_string(&listing).unwrap().contains(SECRET));
}

#[tokio::test]
async fn use_generated_picks_the_oldest_binding() {
    let server = MockServer::start().await;
    mount_only_generated(&server, "cloud-alm-api-monitoring").await;
    let req = automatic(Purpose::OperationsMonitoring);
    let (o, _) = opts(false);
    let got = retrieve(&warm_sm(&server), &req, &o).await.unwrap();
    assert_eq!(got.credential.name, "generated-key");
    assert_eq!(got.instance.name, "calm-generated");
    assert_eq!(server.received_requests().await.unwrap().len(), 5);
}

#[tokio::test]
async fn use_generated_for_transport_checks_the_token_scopes() {
    let server = MockServer::start().await;
    mount_only_generated(&server, "cloud-alm-api-transport").await;
    // The first token (oldest binding) lacks the transport scopes, the second has them.
    mount_in_turn(
        &server,
        || post("/oauth/token"),
        vec![(1, ok(token_body("sapcloudalm!b1.calm-api.tasks.read")))],
        ok(token_body(
            "sapcloudalm!b1.imp-cdm-feature-display-ui sapcloudalm!b1.imp-cdm-feature-manage-ui",
        )),
    )
    .await;
    let req = automatic(Purpose::TransportManagement);
    let (o, events) = opts(false);
    let got = retrieve(&warm_sm(&server), &req, &o).await.unwrap();
    assert_eq!(got.credential.name, "newer-key");
    let events = events.lock().unwrap();
    assert!(
        events.iter().any(|e| e
            .to_string()
            .contains("lacks the scopes imp-cdm-feature-display-ui")),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_named_binding_whose_create_failed_is_reported_as_failed_not_as_lacking_scopes() {
    let server = MockServer::start().await;
    let mut failed = calm_key(&server.uri());
    failed["ready"] = json!(false);
    failed["last_operation"] =
        json!({"type": "create", "state": "failed", "description": "broker said no"});
    mount_calm(&server, vec![failed]).await;
    let req = automatic(Purpose::TransportManagement)
        .instance_name("calm")
        .credential_name("calm-key");
    let (o, _) = opts(true);
    let err = retrieve(&warm_sm(&server), &req, &o).await.unwrap_err();
    assert!(matches!(err, Error::OperationFailed { .. }), "{err}");
    assert!(err.to_string().contains("broker said no"), "{err}");
    assert_eq!(count(&server, "POST", "/").await, 0);
}

#[tokio::test]
async fn nothing_generated_without_create_is_not_found() {
    let server = MockServer::start().await;
    mount(&server, get("/v1/service_offerings"), listing(vec![])).await;
    mount(&server, get(INSTANCES), listing(vec![])).await;
    let req = automatic(Purpose::OperationsMonitoring);
    let (o, _) = opts(false);
    let err = retrieve(&warm_sm(&server), &req, &o).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::NotFound {
                creatable: true,
                ..
            }
        ),
        "{err:?}"
    );
}

// ---- rotation -------------------------------------------------------------------------------

async fn mount_rotation(server: &MockServer, token: ResponseTemplate) {
    let uri = server.uri();
    mount_calm(server, vec![calm_key(&uri)]).await;
    mount(
        server,
        get(BINDINGS).and(query_param(
            "fieldQuery",
            "service_instance_id eq 'i1' and name eq 'calm-key-2'",
        )),
        listing(vec![]),
    )
    .await;
    post(BINDINGS)
        .respond_with(created(binding("b2", "calm-key-2", "i1", &uri)))
        .expect(1)
        .mount(server)
        .await;
    post("/oauth/token").respond_with(token).mount(server).await;
    mount(server, Mock::given(method("DELETE")), ok(json!({}))).await;
    mount(
        server,
        Mock::given(method("PATCH")).and(path("/v1/service_bindings/b1")),
        ok(calm_key(&uri)),
    )
    .await;
}

#[tokio::test]
async fn rotation_creates_verifies_and_deletes_the_old_binding() {
    let server = MockServer::start().await;
    mount_rotation(&server, ok(token_body("x.read"))).await;
    let (o, _) = opts(true);
    let r = rotate(
        &warm_sm(&server),
        &RotationRequest::new("calm", "calm-key", "calm-key-2"),
        &o,
    )
    .await
    .unwrap();
    assert_eq!(r.new.name, "calm-key-2");
    assert!(r.verification.works);
    assert_eq!(r.old_retired, Retirement::Deleted);
    assert_eq!(
        log(&server)
            .await
            .iter()
            .filter(|l| *l == "DELETE /v1/service_bindings/b1")
            .count(),
        1
    );
    assert!(!format!("{r:?}").contains(SECRET));
}

#[tokio::test]
async fn rotation_with_grace_labels_the_old_binding_stale() {
    let server = MockServer::start().await;
    mount_rotation(&server, ok(token_body("x.read"))).await;
    let (o, _) = opts(true);
    let req = RotationRequest::new("calm", "calm-key", "calm-key-2")
        .keep_old_for(Duration::from_secs(86_400));
    let r = rotate(&warm_sm(&server), &req, &o).await.unwrap();
    assert!(
        matches!(r.old_retired, Retirement::Kept { retire_after } if retire_after > Utc::now())
    );
    assert_eq!(count(&server, "DELETE", "/").await, 0);
    let patch = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.method.as_str() == "PATCH")
        .unwrap();
    let body: serde_json::Value = patch.body_json().unwrap();
    assert_eq!(
        body["labels"][0],
        json!({"op": "add", "key": "rotation-state", "values": ["stale"]})
    );
    assert_eq!(body["labels"][1]["key"], "retire-after");
    assert!(value_of(&patch, "async").is_none());
}

#[tokio::test]
async fn rotation_with_broken_new_credentials_deletes_the_new_binding_only() {
    let server = MockServer::start().await;
    let refused = ResponseTemplate::new(401)
        .set_body_json(json!({"error": "invalid_client", "error_description": "Bad credentials"}));
    mount_rotation(&server, refused).await;
    let (mut o, _) = opts(true);
    o.wait.timeout = Duration::from_millis(300);
    let err = rotate(
        &warm_sm(&server),
        &RotationRequest::new("calm", "calm-key", "calm-key-2"),
        &o,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::VerificationFailed(_)), "{err:?}");
    let deletes: Vec<String> = log(&server)
        .await
        .into_iter()
        .filter(|l| l.starts_with("DELETE"))
        .collect();
    assert_eq!(deletes, ["DELETE /v1/service_bindings/b2"]);
}

/// The journeys can run on a multi-threaded runtime (`tokio::spawn`).
#[allow(dead_code)]
fn journeys_are_send(
    sm: crate::ServiceManager,
    req: PlanRequest,
    o: crate::journey::RetrieveOptions,
) {
    fn send<T: Send>(_: T) {}
    send(async move {
        let _ = retrieve(&sm, &req, &o).await;
        let _ = rotate(&sm, &RotationRequest::new("a", "b", "c"), &o).await;
        let _ = sm.discover().await;
    });
}

// ---- refusals inside asynchronous operations and other platforms (issue 11) ----------------

/// A failed create operation whose `errors` is `errors`.
fn failed_op(errors: serde_json::Value) -> ResponseTemplate {
    ok(json!({"id": "op", "type": "create", "state": "failed", "errors": errors}))
}

#[tokio::test]
async fn an_instance_create_refused_inside_its_operation_adopts_the_existing_instance() {
    let server = MockServer::start().await;
    let uri = server.uri();
    // Not there at the first lookup (a concurrent creator is still at work), there afterwards.
    mount_first(
        &server,
        1,
        get(INSTANCES).and(query_param(
            "fieldQuery",
            "name eq 'calm' and platform_id eq 'service-manager'",
        )),
        listing(vec![]),
    )
    .await;
    mount_calm(&server, vec![calm_key(&uri)]).await;
    mount_entitlement(&server).await;
    post(INSTANCES)
        .respond_with(accepted("/v1/service_instances/i9/operations/op9"))
        .expect(1)
        .mount(&server)
        .await;
    mount(
        &server,
        get("/v1/service_instances/i9/operations/op9"),
        failed_op(json!({"error": "Conflict",
            "description": "instance with same name exists for the current tenant"})),
    )
    .await;
    let (o, _) = opts(true);

    let got = retrieve(&warm_sm(&server), &manual_tier(), &o)
        .await
        .unwrap();

    assert_eq!(got.instance.id.as_str(), "i1");
    assert_eq!(got.instance_provenance, Provenance::Found);
    assert_eq!(count(&server, "POST", INSTANCES).await, 1);
    assert_eq!(count(&server, "POST", BINDINGS).await, 0);
}

#[tokio::test]
async fn a_bind_refused_inside_its_operation_is_adopted_or_retried() {
    // Conflict (as a list, SAP's documented shape): the binding exists; no second POST.
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_first(&server, 1, binding_lookup(), listing(vec![])).await;
    mount_calm(&server, vec![calm_key(&uri)]).await;
    post(BINDINGS)
        .respond_with(accepted("/v1/service_bindings/b9/operations/op9"))
        .expect(1)
        .mount(&server)
        .await;
    mount(
        &server,
        get("/v1/service_bindings/b9/operations/op9"),
        failed_op(json!([{"error": "Conflict",
            "description": "binding with same name exists for instance with id i1"}])),
    )
    .await;
    let (o, _) = opts(true);
    let got = retrieve(&warm_sm(&server), &unknown_tier(), &o)
        .await
        .unwrap();
    assert_eq!(got.credential.id.as_str(), "b1");
    assert_eq!(got.credential_provenance, Provenance::Found);

    // OperationInProgress (one object, upstream's shape): sent again until accepted.
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_calm(&server, vec![]).await;
    mount_in_turn(
        &server,
        || post(BINDINGS),
        vec![(2, accepted("/v1/service_bindings/b9/operations/op9"))],
        created(calm_key(&uri)),
    )
    .await;
    mount(
        &server,
        get("/v1/service_bindings/b9/operations/op9"),
        failed_op(json!({"error": "OperationInProgress",
            "description": "creation of instance calm is still in progress or failed"})),
    )
    .await;
    let (o, _) = opts(true);
    let got = retrieve(&warm_sm(&server), &unknown_tier(), &o)
        .await
        .unwrap();
    assert_eq!(got.credential_provenance, Provenance::Created);
    assert_eq!(count(&server, "POST", BINDINGS).await, 3);
}

#[tokio::test]
async fn a_same_named_instance_of_another_platform_is_never_picked() {
    let server = MockServer::start().await;
    // A server that ignored the platform criterion still cannot make the lookup ambiguous.
    let mut legacy = instance("cf1", "calm", true);
    legacy["platform_id"] = json!("cf-eu10-legacy");
    let mut mine = calm_instance();
    mine["platform_id"] = json!("service-manager");
    mount_instance_lookup(&server, vec![legacy, mine]).await;
    let found = warm_sm(&server)
        .find_instance("calm")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id.as_str(), "i1");
    assert!(found.is_service_manager_platform());
}

#[tokio::test]
async fn names_the_server_cannot_match_are_refused_before_any_request() {
    let server = MockServer::start().await;
    let sm = warm_sm(&server);
    for name in ["'calm'", "calm\\", "ca\\'lm"] {
        let err = sm.find_instance(name).await.unwrap_err();
        assert!(matches!(err, Error::InvalidName { .. }), "{name}: {err:?}");
        let id = InstanceId::new("i1");
        let err = sm.find_binding(&id, name).await.unwrap_err();
        assert!(matches!(err, Error::InvalidName { .. }), "{name}: {err:?}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}
