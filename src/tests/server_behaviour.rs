//! The wire clients against a simulator that behaves as the servers' sources say (issue 11):
//! other platforms' instances, refusals and failures inside operations and jobs in both error
//! shapes, padded standard-base64 paging tokens, Cloud Controller's filter decoding,
//! `CGI.escape`d warnings and 400 quota errors.

use super::common;

use std::time::Duration;

use crate::Error;
use crate::cloud_foundry::errors::{Unprocessable, unprocessable};
use crate::journey::cloud_foundry::platform as in_space;
use crate::model::InstanceId;
use crate::service_manager::{
    ListFilter, Mutation, NewBinding, NewInstance, Query, ServiceManager,
};
use crate::simulator::{
    AsyncMode, Fault, FaultRule, OperationErrors, OperationFailure, Refusals, Server, Simulator,
};
use crate::wait::WaitOptions;
use common::sim::{cf_for, http, sm_for};
use serde_json::json;

fn wait() -> WaitOptions {
    WaitOptions::with_timeout(Duration::from_secs(10))
        .intervals(Duration::from_millis(5), Duration::from_millis(25))
}

/// The id of the Cloud ALM API plan.
async fn calm_plan(sm: &ServiceManager) -> crate::model::PlanId {
    sm.resolve_plan("SAPCloudALMAPIs", "standard")
        .await
        .expect("catalog")
        .id
}

/// Creates instance `name` and gives the answer.
async fn post_instance(
    sm: &ServiceManager,
    name: &str,
) -> Mutation<crate::service_manager::Instance> {
    let plan = calm_plan(sm).await;
    sm.create_instance(&NewInstance::new(name, plan).parameters(json!({})))
        .await
        .unwrap()
}

/// The error an accepted create's operation ends with.
async fn operation_error<T>(sm: &ServiceManager, answer: Mutation<T>) -> Error {
    let Mutation::Accepted(Some(op)) = answer else {
        panic!("expected 202 with an operation")
    };
    sm.wait_operation(&op, "creation", &wait())
        .await
        .expect_err("the operation fails")
}

#[tokio::test]
async fn other_platforms_instances_are_listed_marked_and_never_looked_up_or_bound() {
    let sim = Simulator::start().await.unwrap();
    let other = sim
        .add_other_platform_instance("calm-auto", "cloud-alm-api")
        .unwrap();
    let sm = sm_for(&sim, "calm-auto", http());

    let all = sm
        .list_instances(ListFilter::field(Query::new().eq("name", "cloud-alm-api")))
        .all()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let foreign = all.iter().find(|i| i.id.as_str() == other).unwrap();
    assert!(!foreign.is_service_manager_platform());
    assert!(foreign.platform_id.as_deref().unwrap().starts_with("cf-"));
    assert!(all.iter().any(|i| i.is_service_manager_platform()));

    let mine = sm.find_instance("cloud-alm-api").await.unwrap().unwrap();
    assert!(mine.is_service_manager_platform());
    assert_ne!(mine.id.as_str(), other);

    // Binding the other platform's instance is refused as not visible.
    let err = sm
        .create_binding(&NewBinding::new("b", InstanceId::new(other)))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    assert!(
        err.to_string().contains("not found or not accessible"),
        "{err}"
    );
}

#[tokio::test]
async fn an_async_create_of_a_taken_name_fails_inside_its_operation_with_conflict() {
    for shape in [OperationErrors::Object, OperationErrors::List] {
        let sim = Simulator::builder()
            .async_mode(AsyncMode::Async)
            .refusals(Refusals::InOperation)
            .operation_errors(shape)
            .start()
            .await
            .unwrap();
        let sm = sm_for(&sim, "calm-auto", http());
        let err = operation_error(&sm, post_instance(&sm, "cloud-alm-api").await).await;
        assert!(err.is_conflict(), "{shape:?}: {err:?}");
        assert_eq!(err.platform_code(), Some("Conflict"));
        assert!(
            err.to_string()
                .contains("instance with same name exists for the current tenant"),
            "{err}"
        );
        // Nothing was created.
        let named = sm
            .list_instances(ListFilter::field(Query::new().eq("name", "cloud-alm-api")))
            .all()
            .await
            .unwrap();
        assert_eq!(named.len(), 1);
    }
}

#[tokio::test]
async fn the_same_refusals_come_as_plain_answers_when_synchronous() {
    let sim = Simulator::builder()
        .async_mode(AsyncMode::Sync)
        .refusals(Refusals::InOperation)
        .start()
        .await
        .unwrap();
    let sm = sm_for(&sim, "calm-auto", http());
    let plan = calm_plan(&sm).await;
    let err = sm
        .create_instance(&NewInstance::new("cloud-alm-api", plan))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert!(err.is_conflict());
}

#[tokio::test]
async fn a_bind_on_an_instance_still_being_created_fails_inside_its_operation_as_busy() {
    let sim = Simulator::builder()
        .async_mode(AsyncMode::Async)
        .refusals(Refusals::InOperation)
        .operation_duration(Duration::from_millis(1500))
        .start()
        .await
        .unwrap();
    let sm = sm_for(&sim, "calm-auto", http());
    let Mutation::Accepted(Some(op)) = post_instance(&sm, "calm-slow").await else {
        panic!("expected 202")
    };
    let instance = InstanceId::new(op.resource_id.clone());
    let answer = sm
        .create_binding(&NewBinding::new("calm-slow-binding", instance.clone()))
        .await
        .unwrap();
    let err = operation_error(&sm, answer).await;
    assert!(err.is_busy() && !err.is_conflict(), "{err:?}");
    assert_eq!(err.platform_code(), Some("OperationInProgress"));
    // Once the instance is ready the same bind succeeds.
    sm.wait_instance_ready(&instance, &wait()).await.unwrap();
    let Mutation::Accepted(Some(op)) = sm
        .create_binding(&NewBinding::new("calm-slow-binding", instance))
        .await
        .unwrap()
    else {
        panic!("expected 202")
    };
    sm.wait_operation(&op, "bind", &wait()).await.unwrap();
}

#[tokio::test]
async fn operations_fail_on_demand_and_a_broker_failure_leaves_a_failed_instance() {
    let sim = Simulator::start().await.unwrap();
    sim.inject(FaultRule::new(
        Server::ServiceManager,
        "POST",
        "/v1/service_instances",
        Fault::FailOperation(OperationFailure::Broker),
    ));
    let sm = sm_for(&sim, "calm-auto", http());
    let answer = post_instance(&sm, "calm-broken").await;
    let err = operation_error(&sm, answer).await;
    assert!(!err.is_busy() && !err.is_conflict());
    assert_eq!(err.platform_code(), Some("BrokerError"));
    let broken = sm.find_instance("calm-broken").await.unwrap().unwrap();
    assert_eq!(broken.ready, Some(false));
}

#[tokio::test]
async fn paging_tokens_are_padded_standard_base64_and_travel_encoded() {
    let sim = Simulator::start().await.unwrap();
    for name in ["legacy-1", "legacy-2"] {
        sim.add_other_platform_instance("calm-auto", name).unwrap();
    }
    sim.set_page_size(1);
    let sm = sm_for(&sim, "calm-auto", http());
    let all = sm.list_instances(ListFilter::all()).all().await.unwrap();
    assert_eq!(all.len(), 3);
    let tokens: Vec<String> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/service_instances")
        .filter_map(|r| r.query)
        .filter(|q| q.contains("token="))
        .collect();
    assert_eq!(tokens.len(), all.len() - 1, "{tokens:?}");
    // `+`, `/` and `=` of the token are percent-encoded in the query.
    assert!(
        tokens.iter().all(|q| q.contains("token=%2B%2F")),
        "{tokens:?}"
    );
}

#[tokio::test]
async fn cloud_foundry_names_with_commas_are_found() {
    let sim = Simulator::start().await.unwrap();
    assert!(sim.rename_cf_org("calm-auto", "ACME, Inc."));
    let cf = cf_for(&sim, http()).await;
    let space = cf.find_space("ACME, Inc.", "dev").await.unwrap();
    assert_eq!(space.name, "dev");
    let instance = cf
        .find_instance(&space.guid, "cloud-alm-api")
        .await
        .unwrap()
        .unwrap();
    let (key, _) = in_space::create_key(&cf, &space, &instance, "calm,key", &wait())
        .await
        .unwrap();
    let found = cf
        .find_key(&instance.guid, "calm,key")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.guid, key.guid);
    // Not found by a part of the name (a single-encoded comma would have split it).
    assert!(cf.find_key(&instance.guid, "calm").await.unwrap().is_none());
}

#[tokio::test]
async fn cloud_foundry_warnings_arrive_cgi_escaped_and_are_decoded() {
    let sim = Simulator::start().await.unwrap();
    let warnings = ["Plan 'x' is deprecated, use y+z", "100% sure: ~a"];
    for w in warnings {
        sim.add_cf_warning("/v3/organizations", w);
    }
    let cf = cf_for(&sim, http()).await;
    cf.org("calm-auto").await.unwrap();
    assert_eq!(cf.warnings(), warnings);
}

#[tokio::test]
async fn cloud_foundry_instance_quotas_are_400_and_classified_as_quota() {
    let sim = Simulator::start().await.unwrap();
    let cf = cf_for(&sim, http()).await;
    let space = cf.find_space("calm-auto", "dev").await.unwrap();
    let plan = cf
        .service_plan("SAPCloudALMAPIs", "standard", Some(&space))
        .await
        .unwrap();
    for (org, space_limit, title) in [
        (Some(1), None, "CF-ServiceInstanceQuotaExceeded"),
        (None, Some(1), "CF-ServiceInstanceSpaceQuotaExceeded"),
    ] {
        sim.set_cf_instance_quota(org, space_limit);
        let err = in_space::create_instance(&cf, &space, "calm-second", &plan, json!({}), &wait())
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(400), "{err}");
        assert_eq!(err.platform_code(), Some(title));
        assert_eq!(unprocessable(&err), Some(Unprocessable::Quota));
    }
}

#[tokio::test]
async fn a_cloud_foundry_job_fails_on_demand_with_its_errors_and_warnings() {
    let sim = Simulator::start().await.unwrap();
    sim.inject(FaultRule::new(
        Server::CloudFoundry,
        "POST",
        "/v3/service_credential_bindings",
        Fault::FailOperation(OperationFailure::Broker),
    ));
    let cf = cf_for(&sim, http()).await;
    let space = cf.find_space("calm-auto", "dev").await.unwrap();
    let instance = cf
        .find_instance(&space.guid, "cloud-alm-api")
        .await
        .unwrap()
        .unwrap();
    let err = in_space::create_key(&cf, &space, &instance, "calm-failing", &wait())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OperationFailed { .. }), "{err:?}");
    assert!(err.to_string().contains("simulated failure"), "{err}");
    assert!(
        cf.warnings()
            .iter()
            .any(|w| w.contains("service broker reported a problem")),
        "{:?}",
        cf.warnings()
    );
}
