//! What instances and bindings share: the visible-lookup with its 404, list, get, create and
//! delete answers (sync with the resource, or 202 with the operation's `Location`), and the
//! operation bookkeeping of create and delete. Each resource's own rules stay in its module.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{
    Params, Reply, accepted, authorize, error, hidden, object_body, paging, reply_mode,
    start_operation, wait_for,
};
use crate::simulator::Answer;
use crate::simulator::faults::json_response;
use crate::simulator::log::FailNext;
use crate::simulator::state::{OpFailure, OpKind, Shared, Urls, World, new_id};
use crate::simulator::types::{OperationFailure, Refusals};

/// A create or delete under way: how to answer, the resource id and its operation id.
pub(crate) struct Started {
    pub reply: Reply,
    pub id: String,
    pub op: String,
}

/// An instance or a binding, as the shared handlers see it.
pub(crate) trait Resource: Clone + Send + Sync + 'static {
    /// Path segment and operation `resource_type`: `service_instances`, `service_bindings`.
    const KIND: &'static str;
    /// The word in messages: `instance`, `binding`.
    const NOUN: &'static str;

    fn all(world: &World) -> &[Self];
    fn all_mut(world: &mut World) -> &mut [Self];
    fn id(&self) -> &str;
    fn tenant(&self) -> usize;
    fn seq(&self) -> u64;
    fn last_op(&self) -> &str;
    fn set_last_op(&mut self, op: String);
    fn render(&self, world: &World, with_op: bool) -> Value;

    /// Checks a create body and records the new resource with its create operation.
    fn start_create(
        world: &mut World,
        urls: &Urls,
        tenant: usize,
        body: &Map<String, Value>,
        params: &Params,
    ) -> Result<Started, Response>;

    /// The 409 a create of `body` gets when its name is taken.
    fn name_taken(body: &Map<String, Value>) -> Response;

    /// The 422 a create of `body` gets when the instance it needs is busy.
    fn busy(world: &World, body: &Map<String, Value>) -> Response;

    /// Checks a delete and records its operation.
    fn start_delete(
        world: &mut World,
        tenant: usize,
        id: &str,
        params: &Params,
    ) -> Result<Started, Response>;
}

/// The tenant's resource `id`, if visible; else 404.
pub(crate) fn find<'w, R: Resource>(
    world: &'w World,
    tenant: usize,
    id: &str,
) -> Result<&'w R, Response> {
    R::all(world)
        .iter()
        .find(|r| r.id() == id && r.tenant() == tenant && !hidden(world, r.last_op()))
        .ok_or_else(|| {
            let noun = R::NOUN;
            error(
                404,
                "NotFound",
                format!("could not find such service {noun}"),
            )
        })
}

/// The resource `id` if no operation of it is running; else 422.
pub(crate) fn idle<R: Resource>(world: &World, tenant: usize, id: &str) -> Result<R, Response> {
    let resource = find::<R>(world, tenant, id)?;
    match world.sm_busy(resource.last_op()) {
        Some(_) => Err(error(
            422,
            "ConcurrentOperationInProgress",
            "Another concurrent operation in progress for this resource",
        )),
        None => Ok(resource.clone()),
    }
}

/// A new resource id and its create operation; the caller records the resource.
pub(crate) fn begin_create<R: Resource>(
    world: &mut World,
    tenant: usize,
    params: &Params,
) -> Started {
    let reply = reply_mode(world, params);
    let id = new_id();
    let duration = world.settings.op_duration;
    let op = start_operation(world, tenant, OpKind::Create, R::KIND, &id, duration);
    Started { reply, id, op }
}

/// Records the delete operation of `id` as its last operation.
pub(crate) fn begin_delete<R: Resource>(
    world: &mut World,
    tenant: usize,
    id: &str,
    params: &Params,
) -> Started {
    let reply = reply_mode(world, params);
    let duration = world.settings.op_duration;
    let op = start_operation(world, tenant, OpKind::Delete, R::KIND, id, duration);
    if let Some(slot) = R::all_mut(world).iter_mut().find(|r| r.id() == id) {
        slot.set_last_op(op.clone());
    }
    Started {
        reply,
        id: id.to_owned(),
        op,
    }
}

/// `GET /v1/{kind}`: the tenant's visible resources, filtered and paged.
pub(crate) async fn list<R: Resource>(
    State(shared): State<Arc<Shared>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Answer {
    let tenant = authorize(&shared, &headers)?;
    let params = Params::parse(q.as_deref());
    let with_op = params.get("attach_last_operations") == Some("true");
    let (items, size) = {
        let world = shared.settled_world();
        let items: Vec<(u64, Value)> = R::all(&world)
            .iter()
            .filter(|r| r.tenant() == tenant && !hidden(&world, r.last_op()))
            .map(|r| (r.seq(), r.render(&world, with_op)))
            .collect();
        (items, world.settings.page_size)
    };
    paging::answer(items, &params, &format!("/v1/{}", R::KIND), size)
}

/// `GET /v1/{kind}/{id}`.
pub(crate) async fn get_one<R: Resource>(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let tenant = authorize(&shared, &headers)?;
    let world = shared.settled_world();
    let resource = find::<R>(&world, tenant, &id)?;
    Ok(json_response(200, resource.render(&world, true)))
}

/// `POST /v1/{kind}`: 202 with the operation, or 201 with the resource once it is ready.
///
/// With [`Refusals::InOperation`] an asynchronous create whose name is taken (409 `Conflict`) or
/// whose instance is busy (422 `OperationInProgress`) is accepted and its operation ends
/// `failed` with that refusal, as upstream's `ScheduleAsyncStorageAction` does. A
/// [`Fault::FailOperation`](crate::simulator::Fault::FailOperation) forces such an ending.
pub(crate) async fn create<R: Resource>(
    State(shared): State<Arc<Shared>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    fail: Option<Extension<FailNext>>,
    body: Bytes,
) -> Answer {
    let tenant = authorize(&shared, &headers)?;
    let params = Params::parse(q.as_deref());
    let fail = fail.map(|Extension(FailNext(f))| f);
    let body = object_body(&body)?;
    let (attempt, in_operation) = {
        let mut world = shared.settled_world();
        let in_operation = world.settings.refusals == Refusals::InOperation
            && reply_mode(&world, &params) == Reply::Async;
        let attempt = match fail {
            Some(OperationFailure::Conflict) => Err(R::name_taken(&body)),
            Some(OperationFailure::Busy) => Err(R::busy(&world, &body)),
            _ => R::start_create(&mut world, &shared.urls, tenant, &body, &params),
        };
        (attempt, in_operation || fail.is_some())
    };
    let mut started = match attempt {
        Ok(started) => started,
        Err(refusal) if in_operation => {
            let failure = refusal_in_operation(refusal).await?;
            let mut world = shared.settled_world();
            let started = begin_create::<R>(&mut world, tenant, &params);
            if let Some(op) = world.sm_operations.iter_mut().find(|o| o.id == started.op) {
                op.failure = Some(failure);
            }
            return Ok(accepted(R::KIND, &started.id, &started.op));
        }
        Err(refusal) => return Err(refusal),
    };
    if fail == Some(OperationFailure::Broker) {
        let mut world = shared.settled_world();
        if let Some(op) = world.sm_operations.iter_mut().find(|o| o.id == started.op) {
            op.failure = Some(OpFailure {
                code: "BrokerError".to_owned(),
                description: "Service broker failed to provision: simulated failure".to_owned(),
            });
        }
        started.reply = Reply::Async;
    }
    if started.reply == Reply::Async {
        return Ok(accepted(R::KIND, &started.id, &started.op));
    }
    wait_for(&shared, &started.op).await;
    let world = shared.world.lock().expect("world lock");
    match R::all(&world).iter().find(|r| r.id() == started.id) {
        Some(r) => Ok(json_response(201, r.render(&world, true))),
        None => {
            let noun = R::NOUN;
            Err(error(
                404,
                "NotFound",
                format!("the {noun} was deleted meanwhile"),
            ))
        }
    }
}

/// The refusal an asynchronous create stores in its operation: a 409 `Conflict` or a 422
/// `OperationInProgress`. Any other error answer is given back as it is (upstream checks those
/// before it accepts the create).
async fn refusal_in_operation(refusal: Response) -> Result<OpFailure, Response> {
    let (parts, body) = refusal.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let code = value["error"].as_str().unwrap_or_default().to_owned();
    let in_operation = matches!(
        (parts.status.as_u16(), code.as_str()),
        (409, "Conflict") | (422, "OperationInProgress")
    );
    if !in_operation {
        return Err(Response::from_parts(parts, axum::body::Body::from(bytes)));
    }
    Ok(OpFailure {
        code,
        description: value["description"].as_str().unwrap_or_default().to_owned(),
    })
}

/// `DELETE /v1/{kind}/{id}`: 202 with the operation, or 200 `{}` once it is done.
pub(crate) async fn delete<R: Resource>(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Answer {
    let tenant = authorize(&shared, &headers)?;
    let params = Params::parse(q.as_deref());
    let started = R::start_delete(&mut shared.settled_world(), tenant, &id, &params)?;
    if started.reply == Reply::Async {
        return Ok(accepted(R::KIND, &id, &started.op));
    }
    wait_for(&shared, &started.op).await;
    Ok(json_response(200, json!({})))
}
