//! `/v1/service_instances`: list, provision, get, update, deprovision, parameters.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::catalog::resolve_plan;
use super::{
    Params, Reply, accepted, apply_label_ops, authorize, error, hidden, object_body, paging,
    parse_labels, render, reply_mode, start_operation, wait_for,
};
use crate::simulator::credentials::register_instance_client;
use crate::simulator::faults::json_response;
use crate::simulator::state::{OpKind, Shared, SmInstance, World, new_id};

const KIND: &str = "service_instances";

/// The tenant's instance `id`, if visible.
fn find<'w>(world: &'w World, tenant: usize, id: &str) -> Result<&'w SmInstance, Response> {
    world
        .sm_instances
        .iter()
        .find(|i| i.id == id && i.tenant == tenant && !hidden(world, &i.last_op))
        .ok_or_else(|| error(404, "NotFound", "could not find such service instance"))
}

/// `GET /v1/service_instances`.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let tenant = match authorize(&shared, &headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let params = Params::parse(q.as_deref());
    let with_op = params.get("attach_last_operations") == Some("true");
    let (items, size) = {
        let mut world = shared.world.lock().expect("world lock");
        world.settle();
        let items: Vec<(u64, Value)> = world
            .sm_instances
            .iter()
            .filter(|i| i.tenant == tenant && !hidden(&world, &i.last_op))
            .map(|i| (i.seq, render::instance(&world, i, with_op)))
            .collect();
        (items, world.settings.page_size)
    };
    match paging::filter(items, &params) {
        Ok(found) => paging::page(found, &params, "/v1/service_instances", size),
        Err(r) => r,
    }
}

/// `GET /v1/service_instances/{id}`.
pub(crate) async fn get_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tenant = match authorize(&shared, &headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let mut world = shared.world.lock().expect("world lock");
    world.settle();
    match find(&world, tenant, &id) {
        Ok(i) => json_response(200, render::instance(&world, i, true)),
        Err(r) => r,
    }
}

/// `GET /v1/service_instances/{id}/parameters`: the parameters object itself.
pub(crate) async fn parameters(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tenant = match authorize(&shared, &headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let mut world = shared.world.lock().expect("world lock");
    world.settle();
    match find(&world, tenant, &id) {
        Ok(i) => json_response(200, i.parameters.clone()),
        Err(r) => r,
    }
}

/// `POST /v1/service_instances`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let tenant = match authorize(&shared, &headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let params = Params::parse(q.as_deref());
    let started = {
        let mut world = shared.world.lock().expect("world lock");
        world.settle();
        object_body(&body).and_then(|b| provision(&mut world, tenant, &b, &params))
    };
    let (reply, id, op) = match started {
        Ok(s) => s,
        Err(r) => return r,
    };
    match reply {
        Reply::Async => accepted(KIND, &id, &op),
        Reply::Sync => {
            wait_for(&shared, &op).await;
            let world = shared.world.lock().expect("world lock");
            match world.sm_instances.iter().find(|i| i.id == id) {
                Some(i) => json_response(201, render::instance(&world, i, true)),
                None => error(404, "NotFound", "the instance was deleted meanwhile"),
            }
        }
    }
}

fn provision(
    world: &mut World,
    tenant: usize,
    body: &serde_json::Map<String, Value>,
    params: &Params,
) -> Result<(Reply, String, String), Response> {
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| error(400, "BadRequest", "missing or empty field: name"))?
        .to_owned();
    let plan_id = resolve_plan(world, tenant, body)?;
    if world
        .sm_instances
        .iter()
        .any(|i| i.tenant == tenant && i.name == name)
    {
        return Err(error(
            409,
            "Conflict",
            format!(
                "found conflicting service instance: an instance named '{name}' already exists in this subaccount"
            ),
        ));
    }
    let parameters = match body.get("parameters") {
        None | Some(Value::Null) => json!({}),
        Some(p @ Value::Object(_)) => p.clone(),
        Some(_) => return Err(error(400, "BadRequest", "parameters must be a JSON object")),
    };
    let labels = parse_labels(body.get("labels"))?;
    let reply = reply_mode(world, params);
    let id = new_id();
    let duration = world.settings.op_duration;
    let op = start_operation(world, tenant, OpKind::Create, KIND, &id, duration);
    let client = register_instance_client(world, tenant, &name, &parameters);
    let now = chrono::Utc::now();
    let seq = world.next_seq();
    world.sm_instances.push(SmInstance {
        id: id.clone(),
        seq,
        tenant,
        name,
        plan_id,
        parameters,
        labels,
        created_at: now,
        updated_at: now,
        last_op: op.clone(),
        client_id: client.client_id,
        xsappname: client.xsappname,
    });
    Ok((reply, id, op))
}

/// `PATCH /v1/service_instances/{id}`: name, labels and parameters, applied at once.
pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let tenant = match authorize(&shared, &headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let params = Params::parse(q.as_deref());
    let mut world = shared.world.lock().expect("world lock");
    world.settle();
    let result = object_body(&body).and_then(|b| patch(&mut world, tenant, &id, &b));
    match result {
        Ok(op) if reply_mode(&world, &params) == Reply::Async => accepted(KIND, &id, &op),
        Ok(_) => match find(&world, tenant, &id) {
            Ok(i) => json_response(200, render::instance(&world, i, true)),
            Err(r) => r,
        },
        Err(r) => r,
    }
}

fn patch(
    world: &mut World,
    tenant: usize,
    id: &str,
    body: &serde_json::Map<String, Value>,
) -> Result<String, Response> {
    let instance = find(world, tenant, id)?.clone();
    if world.sm_busy(&instance.last_op).is_some() {
        return Err(busy());
    }
    let mut updated = instance.clone();
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        let taken = world
            .sm_instances
            .iter()
            .any(|i| i.tenant == tenant && i.name == name && i.id != id);
        if taken {
            return Err(error(409, "Conflict", "found conflicting service instance"));
        }
        updated.name = name.to_owned();
    }
    if let Some(ops) = body.get("labels") {
        apply_label_ops(&mut updated.labels, ops)?;
    }
    if let Some(p) = body.get("parameters").filter(|p| p.is_object()) {
        updated.parameters = p.clone();
    }
    updated.updated_at = chrono::Utc::now();
    updated.last_op = start_operation(world, tenant, OpKind::Update, KIND, id, Default::default());
    let op = updated.last_op.clone();
    if let Some(slot) = world.sm_instances.iter_mut().find(|i| i.id == id) {
        *slot = updated;
    }
    Ok(op)
}

fn busy() -> Response {
    error(
        422,
        "ConcurrentOperation",
        "Another concurrent operation in progress for this resource",
    )
}

/// `DELETE /v1/service_instances/{id}` (bindings must be gone unless `cascade=true`).
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let tenant = match authorize(&shared, &headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let params = Params::parse(q.as_deref());
    let started = {
        let mut world = shared.world.lock().expect("world lock");
        world.settle();
        deprovision(&mut world, tenant, &id, &params)
    };
    match started {
        Ok((Reply::Async, op)) => accepted(KIND, &id, &op),
        Ok((Reply::Sync, op)) => {
            wait_for(&shared, &op).await;
            json_response(200, json!({}))
        }
        Err(r) => r,
    }
}

fn deprovision(
    world: &mut World,
    tenant: usize,
    id: &str,
    params: &Params,
) -> Result<(Reply, String), Response> {
    let instance = find(world, tenant, id)?.clone();
    if world.sm_busy(&instance.last_op).is_some() {
        return Err(busy());
    }
    let has_bindings = world.sm_bindings.iter().any(|b| b.instance_id == id);
    if has_bindings && params.get("cascade") != Some("true") {
        return Err(error(
            409,
            "ExistingReferenceEntity",
            "Error deleting service instance: existing service bindings reference it",
        ));
    }
    let ids: Vec<String> = world
        .sm_bindings
        .iter()
        .filter(|b| b.instance_id == id)
        .map(|b| b.id.clone())
        .collect();
    for binding in ids {
        world.remove_sm_binding(&binding);
    }
    let reply = reply_mode(world, params);
    let duration = world.settings.op_duration;
    let op = start_operation(world, tenant, OpKind::Delete, KIND, id, duration);
    if let Some(slot) = world.sm_instances.iter_mut().find(|i| i.id == id) {
        slot.last_op = op.clone();
    }
    Ok((reply, op))
}
