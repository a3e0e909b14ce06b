//! Contract tests of the Service Manager backend and its orchestrating client against a
//! wiremock Service Manager: every behaviour of `reference/service-manager-api.md` §11, and the
//! number of requests each journey costs.

mod common;

use std::time::Duration;

use calm_credentials::client::Provenance;
use calm_credentials::client::service_manager::{
    Retirement, RotationRequest, discover, list, retrieve, retrieve_by_instance_id, rotate,
};
use calm_credentials::model::{BindingId, InstanceId};
use calm_credentials::service_manager::{ListFilter, Query};
use calm_credentials::{Environment, Error, PlanRequest, ProvisioningTier, Purpose};
use chrono::Utc;
use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::sm::*;

const INSTANCES: &str = "/v1/service_instances";
const BINDINGS: &str = "/v1/service_bindings";

fn ok(body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
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
    Mock::given(method("GET"))
        .and(path(INSTANCES))
        .and(query_param("fieldQuery", "name eq 'calm'"))
        .respond_with(ok(page(items, None)))
        .mount(server)
        .await;
}

async fn mount_binding_lookup(
    server: &MockServer,
    items: Vec<serde_json::Value>,
    times: Option<u64>,
) {
    let mock = Mock::given(method("GET"))
        .and(path(BINDINGS))
        .and(query_param(
            "fieldQuery",
            "service_instance_id eq 'i1' and name eq 'calm-key'",
        ))
        .respond_with(ok(page(items, None)));
    match times {
        Some(n) => mock.up_to_n_times(n).mount(server).await,
        None => mock.mount(server).await,
    }
}

async fn mount_entitlement(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1/service_offerings"))
        .and(query_param("fieldQuery", "name eq 'SAPCloudALMAPIs'"))
        .respond_with(ok(page(vec![offering("o1")], None)))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/service_plans"))
        .and(query_param(
            "fieldQuery",
            "name eq 'standard' and service_offering_id eq 'o1'",
        ))
        .respond_with(ok(page(vec![plan("p1", "o1")], None)))
        .mount(server)
        .await;
}

// ---- request counts -------------------------------------------------------------------------

#[tokio::test]
async fn existing_binding_by_names_costs_two_requests_warm_three_cold() {
    for cold in [false, true] {
        let server = MockServer::start().await;
        let uri = server.uri();
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(ok(token_body("sm.read")))
            .mount(&server)
            .await;
        mount_instance_lookup(&server, vec![instance("i1", "calm", true)]).await;
        mount_binding_lookup(&server, vec![binding("b1", "calm-key", "i1", &uri)], None).await;
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
    mount_binding_lookup(
        &server,
        vec![binding("b1", "calm-key", "i1", &server.uri())],
        None,
    )
    .await;
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
    mount_instance_lookup(&server, vec![instance("i1", "calm", true)]).await;
    mount_binding_lookup(
        &server,
        vec![binding("b1", "calm-key", "i1", &server.uri())],
        None,
    )
    .await;
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
    mount_instance_lookup(&server, vec![]).await;
    mount_entitlement(&server).await;
    Mock::given(method("POST"))
        .and(path(INSTANCES))
        .and(body_partial_json(json!({
            "name": "calm", "service_plan_id": "p1",
            "parameters": {"xs-security": {"xsappname": "calm",
                "oauth2-configuration": {"credential-types": ["binding-secret"]}}}
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(instance("i1", "calm", true)))
        .expect(1)
        .mount(&server)
        .await;
    mount_binding_lookup(&server, vec![], None).await;
    Mock::given(method("POST"))
        .and(path(BINDINGS))
        .and(body_partial_json(
            json!({"name": "calm-key", "service_instance_id": "i1"}),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(binding("b1", "calm-key", "i1", &uri)),
        )
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
    mount_instance_lookup(&server, vec![]).await;
    mount_entitlement(&server).await;
    Mock::given(method("POST"))
        .and(path(INSTANCES))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_json(json!({}))
                .insert_header("Location", "/v1/service_instances/i1/operations/op1"),
        )
        .expect(1)
        .mount(&server)
        .await;
    // The operation: in progress twice (upper case type), then succeeded (upper case state).
    Mock::given(method("GET"))
        .and(path("/v1/service_instances/i1/operations/op1"))
        .respond_with(ok(
            json!({"id": "op1", "type": "CREATE", "state": "in progress"}),
        ))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/service_instances/i1/operations/op1"))
        .respond_with(ok(
            json!({"id": "op1", "type": "CREATE", "state": "SUCCEEDED", "errors": {}}),
        ))
        .mount(&server)
        .await;
    // The instance: 404 while being created, then ready: false, then ready.
    Mock::given(method("GET"))
        .and(path("/v1/service_instances/i1"))
        .respond_with(sm_error(
            404,
            "NotFound",
            "could not find such service_instance",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/service_instances/i1"))
        .respond_with(ok(instance("i1", "calm", false)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/service_instances/i1"))
        .respond_with(ok(instance("i1", "calm", true)))
        .mount(&server)
        .await;
    mount_binding_lookup(&server, vec![], None).await;
    Mock::given(method("POST"))
        .and(path(BINDINGS))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("Location", "/v1/service_bindings/b1/operations/op2"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/service_bindings/b1/operations/op2"))
        .respond_with(ok(
            json!({"id": "op2", "type": "create", "state": "succeeded"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/service_bindings/b1"))
        .respond_with(ok(binding("b1", "calm-key", "i1", &uri)))
        .mount(&server)
        .await;
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
        mount_instance_lookup(&server, vec![]).await;
        mount_entitlement(&server).await;
        Mock::given(method("POST"))
            .and(path(INSTANCES))
            .respond_with(
                ResponseTemplate::new(202)
                    .insert_header("Location", "/v1/service_instances/i1/operations/op1"),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1/service_instances/i1/operations/op1"))
            .respond_with(ok(op.clone()))
            .mount(&server)
            .await;
        let (o, _) = opts(true);
        let err = retrieve(&warm_sm(&server), &manual_tier(), &o)
            .await
            .unwrap_err();
        match &err {
            Error::OperationFailed { operation, message } => {
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
    Mock::given(method("DELETE"))
        .and(path("/v1/service_bindings/b1"))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("Location", "/v1/service_bindings/b1/operations/op9"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/service_bindings/b1/operations/op9"))
        .respond_with(ok(json!({"state": "in progress", "type": "delete"})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/service_bindings/b1/operations/op9"))
        .respond_with(sm_error(404, "NotFound", "gone"))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/service_instances/gone"))
        .respond_with(sm_error(404, "NotFound", "gone"))
        .mount(&server)
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
    mount_instance_lookup(&server, vec![instance("i1", "calm", true)]).await;
    mount_binding_lookup(&server, vec![], Some(1)).await;
    mount_binding_lookup(&server, vec![binding("b1", "calm-key", "i1", &uri)], None).await;
    Mock::given(method("POST"))
        .and(path(BINDINGS))
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
    for word in ["OperationInProgress", "ConcurrentOperation"] {
        let server = MockServer::start().await;
        let uri = server.uri();
        mount_instance_lookup(&server, vec![instance("i1", "calm", true)]).await;
        mount_binding_lookup(&server, vec![], None).await;
        Mock::given(method("POST"))
            .and(path(BINDINGS))
            .respond_with(sm_error(
                422,
                word,
                "creation of instance i1 is still in progress",
            ))
            .up_to_n_times(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(BINDINGS))
            .respond_with(
                ResponseTemplate::new(201).set_body_json(binding("b1", "calm-key", "i1", &uri)),
            )
            .mount(&server)
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
    mount_binding_lookup(&server, vec![], None).await;
    Mock::given(method("GET"))
        .and(path("/v1/service_instances/i1"))
        .respond_with(ok(creating))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/service_instances/i1"))
        .respond_with(ok(instance("i1", "calm", true)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(BINDINGS))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(binding("b1", "calm-key", "i1", &uri)),
        )
        .mount(&server)
        .await;
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
        Mock::given(method("GET"))
            .and(path(INSTANCES))
            .respond_with(limited)
            .up_to_n_times(1)
            .mount(&server)
            .await;
        mount_instance_lookup(&server, vec![instance("i1", "calm", true)]).await;
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
    mount_instance_lookup(&server, vec![instance("i1", "calm", true)]).await;
    mount_binding_lookup(&server, vec![], None).await;
    Mock::given(method("POST"))
        .and(path(BINDINGS))
        .respond_with(sm_error(429, "BadRequest", "limit").insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(BINDINGS))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(binding("b1", "calm-key", "i1", &uri)),
        )
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
    Mock::given(method("GET"))
        .and(path(INSTANCES))
        .and(query_param_is_missing("token"))
        .respond_with(ok(page(vec![item(1), item(2)], Some("t1"))))
        .mount(&server)
        .await;
    for (token, next, n) in [
        ("t1", Some("t2"), 3),
        ("t2", Some("t3"), 5),
        ("t3", None, 7),
    ] {
        Mock::given(method("GET"))
            .and(path(INSTANCES))
            .and(query_param("token", token))
            .respond_with(ok(page(vec![item(n), item(n + 1)], next)))
            .mount(&server)
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
    Mock::given(method("GET"))
        .and(path(BINDINGS))
        .and(query_param_is_missing("token"))
        .respond_with(ok(page(vec![], Some("t1"))))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(BINDINGS))
        .and(query_param("token", "t1"))
        .respond_with(ok(page(vec![], Some("t1"))))
        .mount(&server)
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
    Mock::given(method("GET"))
        .and(path(INSTANCES))
        .and(query_param("fieldQuery", "name eq 'O''Brien'"))
        .respond_with(ok(page(vec![instance("i1", "O'Brien", true)], None)))
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
        Mock::given(method("GET"))
            .and(path("/v1/service_offerings"))
            .respond_with(ok(page(offerings, None)))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1/service_plans"))
            .respond_with(ok(page(plans, None)))
            .mount(&server)
            .await;
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
    Mock::given(method("GET"))
        .and(path("/v1/service_offerings"))
        .respond_with(ok(page(vec![offering("o1"), offering("o2")], None)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/service_plans"))
        .and(query_param(
            "fieldQuery",
            "name eq 'standard' and service_offering_id in ('o1', 'o2')",
        ))
        .respond_with(ok(page(vec![plan("p1", "o1"), plan("p2", "o2")], None)))
        .mount(&server)
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
        Error::NotFound { what, hint } => {
            assert!(what.contains("`calm`"), "{what}");
            assert!(hint.contains("--create"), "{hint}");
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
        Err(Error::Config(_))
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
    Mock::given(method("GET"))
        .and(path("/v1/service_offerings"))
        .respond_with(ok(page(vec![offering("o1")], None)))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/service_plans"))
        .and(query_param("fieldQuery", "service_offering_id eq 'o1'"))
        .respond_with(ok(page(vec![plan("p1", "o1")], None)))
        .mount(server)
        .await;
    let mut newer = instance("i2", "calm-newer", true);
    newer["created_at"] = json!("2025-01-01T00:00:00Z");
    Mock::given(method("GET"))
        .and(path(INSTANCES))
        .and(query_param("fieldQuery", "service_plan_id eq 'p1'"))
        .respond_with(ok(page(
            vec![newer, instance("i1", "calm-generated", true)],
            None,
        )))
        .mount(server)
        .await;
    let mut newer_b = binding("b2", "newer-key", "i2", &uri);
    newer_b["created_at"] = json!("2025-01-01T00:05:00Z");
    Mock::given(method("GET"))
        .and(path(BINDINGS))
        .and(query_param(
            "fieldQuery",
            "service_instance_id in ('i1', 'i2')",
        ))
        .respond_with(ok(page(
            vec![newer_b, binding("b1", "generated-key", "i1", &uri)],
            None,
        )))
        .mount(server)
        .await;
}

#[tokio::test]
async fn discover_lists_every_binding_in_four_requests() {
    let server = MockServer::start().await;
    mount_generated(&server).await;
    let sm = warm_sm(&server);
    let found = discover(&sm).await.unwrap();
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
    let listing = list(&sm, "SAPCloudALMAPIs").await.unwrap();
    assert_eq!(listing.len(), 2);
    assert_eq!(listing[0].instance.name, "calm-generated");
    assert_eq!(listing[0].state, "ready");
    assert!(!serde_json::to_string(&listing).unwrap().contains(SECRET));
}

#[tokio::test]
async fn use_generated_picks_the_oldest_binding() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(INSTANCES))
        .and(query_param(
            "fieldQuery",
            "name eq 'cloud-alm-api-monitoring'",
        ))
        .respond_with(ok(page(vec![], None)))
        .mount(&server)
        .await;
    mount_generated(&server).await;
    let req = PlanRequest::new(
        Some(ProvisioningTier::Automatic),
        Purpose::OperationsMonitoring,
        Environment::ServiceManager,
    );
    let (o, _) = opts(false);
    let got = retrieve(&warm_sm(&server), &req, &o).await.unwrap();
    assert_eq!(got.credential.name, "generated-key");
    assert_eq!(got.instance.name, "calm-generated");
    assert_eq!(server.received_requests().await.unwrap().len(), 5);
}

#[tokio::test]
async fn use_generated_for_transport_checks_the_token_scopes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(INSTANCES))
        .and(query_param(
            "fieldQuery",
            "name eq 'cloud-alm-api-transport'",
        ))
        .respond_with(ok(page(vec![], None)))
        .mount(&server)
        .await;
    mount_generated(&server).await;
    // The first token (oldest binding) lacks the transport scopes, the second has them.
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ok(token_body("sapcloudalm!b1.calm-api.tasks.read")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ok(token_body(
            "sapcloudalm!b1.imp-cdm-feature-display-ui sapcloudalm!b1.imp-cdm-feature-manage-ui",
        )))
        .mount(&server)
        .await;
    let req = PlanRequest::new(
        Some(ProvisioningTier::Automatic),
        Purpose::TransportManagement,
        Environment::ServiceManager,
    );
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
async fn nothing_generated_without_create_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/service_offerings"))
        .respond_with(ok(page(vec![], None)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(INSTANCES))
        .respond_with(ok(page(vec![], None)))
        .mount(&server)
        .await;
    let req = PlanRequest::new(
        Some(ProvisioningTier::Automatic),
        Purpose::OperationsMonitoring,
        Environment::ServiceManager,
    );
    let (o, _) = opts(false);
    let err = retrieve(&warm_sm(&server), &req, &o).await.unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { hint, .. } if hint.contains("--create")),
        "{err:?}"
    );
}

// ---- rotation -------------------------------------------------------------------------------

async fn mount_rotation(server: &MockServer, token: ResponseTemplate) {
    let uri = server.uri();
    mount_instance_lookup(server, vec![instance("i1", "calm", true)]).await;
    mount_binding_lookup(server, vec![binding("b1", "calm-key", "i1", &uri)], None).await;
    Mock::given(method("GET"))
        .and(path(BINDINGS))
        .and(query_param(
            "fieldQuery",
            "service_instance_id eq 'i1' and name eq 'calm-key-2'",
        ))
        .respond_with(ok(page(vec![], None)))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(BINDINGS))
        .respond_with(ResponseTemplate::new(201).set_body_json(binding(
            "b2",
            "calm-key-2",
            "i1",
            &uri,
        )))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(token)
        .mount(server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ok(json!({})))
        .mount(server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1/service_bindings/b1"))
        .respond_with(ok(binding("b1", "calm-key", "i1", &uri)))
        .mount(server)
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
    sm: calm_credentials::ServiceManager,
    req: PlanRequest,
    o: calm_credentials::RetrieveOptions,
) {
    fn send<T: Send>(_: T) {}
    send(async move {
        let _ = retrieve(&sm, &req, &o).await;
        let _ = rotate(&sm, &RotationRequest::new("a", "b", "c"), &o).await;
        let _ = discover(&sm).await;
    });
}
