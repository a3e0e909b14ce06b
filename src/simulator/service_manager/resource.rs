//! What instances and bindings share: the visible-lookup with its 404, list, get, create and
//! delete answers (sync with the resource, or 202 with the operation's `Location`), and the
//! operation bookkeeping of create and delete. Each resource's own rules stay in its module.

use std::sync::Arc;

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
use crate::simulator::state::{OpKind, Shared, Urls, World, new_id};

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
            "ConcurrentOperation",
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
pub(crate) async fn create<R: Resource>(
    State(shared): State<Arc<Shared>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let tenant = authorize(&shared, &headers)?;
    let params = Params::parse(q.as_deref());
    let started = {
        let mut world = shared.settled_world();
        let body = object_body(&body)?;
        R::start_create(&mut world, &shared.urls, tenant, &body, &params)?
    };
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
