//! `/v3/jobs/{guid}`: `PROCESSING` for the first half of an operation, `POLLING` for the second,
//! then `COMPLETE`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::{authorize, resource_not_found};
use crate::simulator::Answer;
use crate::simulator::faults::json_response;
use crate::simulator::state::{CfJob, JobTarget, Pending, Shared, World, new_id, timestamp};

/// Records a job and returns its guid.
pub(crate) fn start_job(
    world: &mut World,
    operation: &str,
    target: JobTarget,
    duration: Duration,
) -> String {
    let guid = new_id();
    world.cf_jobs.push(CfJob {
        guid: guid.clone(),
        operation: operation.to_owned(),
        target,
        pending: Pending::new(duration),
        created_at: chrono::Utc::now(),
        failure: None,
    });
    guid
}

fn job_json(shared: &Shared, world: &World, job: &CfJob) -> Value {
    let failure = job.failure.as_ref().filter(|_| job.pending.done());
    let state = if failure.is_some() {
        "FAILED"
    } else if job.pending.done() {
        "COMPLETE"
    } else if job.pending.first_half() {
        "PROCESSING"
    } else {
        "POLLING"
    };
    let mut links = serde_json::Map::new();
    links.insert(
        "self".into(),
        json!({"href": shared.urls.cf_href(&format!("/v3/jobs/{}", job.guid))}),
    );
    match &job.target {
        JobTarget::Key(guid) if world.cf_keys.iter().any(|k| &k.guid == guid) => {
            links.insert(
                "service_credential_binding".into(),
                json!({"href": shared.urls.cf_href(&format!("/v3/service_credential_bindings/{guid}"))}),
            );
        }
        JobTarget::Instance(guid) if world.cf_instances.iter().any(|i| &i.guid == guid) => {
            links.insert(
                "service_instances".into(),
                json!({"href": shared.urls.cf_href(&format!("/v3/service_instances/{guid}"))}),
            );
        }
        _ => {}
    }
    let errors: Vec<Value> = failure
        .map(|f| json!({"code": 10001, "title": "CF-ServiceBrokerRequestRejected", "detail": f.detail}))
        .into_iter()
        .collect();
    let warnings: Vec<Value> = failure
        .map(|f| f.warnings.iter().map(|w| json!({"detail": w})).collect())
        .unwrap_or_default();
    let updated = if job.pending.done() {
        job.created_at + job.pending.duration
    } else {
        job.created_at
    };
    json!({
        "guid": job.guid, "created_at": timestamp(job.created_at), "updated_at": timestamp(updated),
        "operation": job.operation, "state": state, "errors": errors, "warnings": warnings,
        "links": links,
    })
}

/// `GET /v3/jobs/{guid}`.
pub(crate) async fn get_one(
    State(shared): State<Arc<Shared>>,
    Path(guid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize(&shared, &headers)?;
    let world = shared.settled_world();
    let job = world
        .cf_jobs
        .iter()
        .find(|j| j.guid == guid)
        .ok_or_else(|| resource_not_found("Job not found"))?;
    Ok(json_response(200, job_json(&shared, &world, job)))
}
