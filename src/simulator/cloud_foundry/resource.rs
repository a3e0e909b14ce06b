//! What service instances and service keys share: the lookup with its 404, get, list order,
//! create and delete as 202 + job. Each resource's own rules stay in its module.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use super::jobs::start_job;
use super::{accepted, authorize, object_body, resource_not_found};
use crate::simulator::Answer;
use crate::simulator::faults::json_response;
use crate::simulator::log::FailNext;
use crate::simulator::state::{CfJobFailure, CfOp, JobTarget, OpKind, Shared, Urls, World};

/// A service instance or a service key, as the shared handlers see it.
pub(crate) trait Resource: Sized + Send + Sync + 'static {
    /// The 404 detail: `Service instance not found`, ….
    const NOT_FOUND: &'static str;
    /// The job operation of a delete: `service_instance.delete`, `service_keys.delete`.
    const DELETE_JOB: &'static str;

    fn all(world: &World) -> &[Self];
    fn all_mut(world: &mut World) -> &mut [Self];
    fn guid(&self) -> &str;
    fn seq(&self) -> u64;
    fn op(&self) -> CfOp;
    /// Starts `op` as the last operation, changing the resource now.
    fn begin(&mut self, op: CfOp);
    fn target(guid: String) -> JobTarget;
    fn json(&self, shared: &Shared) -> Value;
    /// The answer when a delete meets a running operation.
    fn busy(&self) -> Response;

    /// Checks a create body, records the resource and its job; gives the job guid.
    fn start_create(
        world: &mut World,
        urls: &Urls,
        body: &serde_json::Map<String, Value>,
    ) -> Result<String, Response>;
}

/// The resource `guid`, or 404 CF-ResourceNotFound.
pub(crate) fn find<'w, R: Resource>(world: &'w World, guid: &str) -> Result<&'w R, Response> {
    R::all(world)
        .iter()
        .find(|r| r.guid() == guid)
        .ok_or_else(|| resource_not_found(R::NOT_FOUND))
}

/// The resources passing `keep`, oldest first, as JSON.
pub(crate) fn listing<R: Resource>(
    shared: &Shared,
    world: &World,
    keep: impl Fn(&R) -> bool,
) -> Vec<Value> {
    let mut found: Vec<&R> = R::all(world).iter().filter(|r| keep(r)).collect();
    found.sort_by_key(|r| r.seq());
    found.into_iter().map(|r| r.json(shared)).collect()
}

/// `GET /v3/{kind}/{guid}`.
pub(crate) async fn get_one<R: Resource>(
    State(shared): State<Arc<Shared>>,
    Path(guid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize(&shared, &headers)?;
    let world = shared.settled_world();
    Ok(json_response(200, find::<R>(&world, &guid)?.json(&shared)))
}

/// `POST /v3/{kind}` → 202 + job; the resource exists before the answer.
///
/// A [`Fault::FailOperation`](crate::simulator::Fault::FailOperation) makes the job end
/// `FAILED` with a broker error and a warning, and the resource's last operation `failed`.
pub(crate) async fn create<R: Resource>(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    fail: Option<Extension<FailNext>>,
    body: Bytes,
) -> Answer {
    authorize(&shared, &headers)?;
    let mut world = shared.settled_world();
    let job = R::start_create(&mut world, &shared.urls, &object_body(&body)?)?;
    if fail.is_some() {
        fail_job::<R>(&mut world, &job);
    }
    Ok(accepted(&shared, &job))
}

/// Makes the create job `job` and its resource end failed.
fn fail_job<R: Resource>(world: &mut World, job: &str) {
    let Some(job) = world.cf_jobs.iter_mut().find(|j| j.guid == job) else {
        return;
    };
    job.failure = Some(CfJobFailure {
        detail: "Service broker error: simulated failure".to_owned(),
        warnings: vec!["The service broker reported a problem: simulated failure".to_owned()],
    });
    let guid = match &job.target {
        JobTarget::Instance(g) | JobTarget::Key(g) => g.clone(),
    };
    if let Some(resource) = R::all_mut(world).iter_mut().find(|r| r.guid() == guid) {
        let mut op = resource.op();
        op.failed = true;
        resource.begin(op);
    }
}

/// `DELETE /v3/{kind}/{guid}` → 202 + job, unless an operation is running.
pub(crate) async fn delete<R: Resource>(
    State(shared): State<Arc<Shared>>,
    Path(guid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize(&shared, &headers)?;
    let mut world = shared.settled_world();
    let duration = world.settings.op_duration;
    let resource = R::all_mut(&mut world)
        .iter_mut()
        .find(|r| r.guid() == guid)
        .ok_or_else(|| resource_not_found(R::NOT_FOUND))?;
    if !resource.op().pending.done() {
        return Err(resource.busy());
    }
    resource.begin(CfOp::started(OpKind::Delete, duration));
    let job = start_job(&mut world, R::DELETE_JOB, R::target(guid), duration);
    drop(world);
    Ok(accepted(&shared, &job))
}
