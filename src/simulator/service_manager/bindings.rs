//! `/v1/service_bindings`: list, create, get, rename/relabel, delete, parameters.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{
    Params, Reply, accepted, apply_label_ops, authorize, error, hidden, object_body, paging,
    parse_labels, render, reply_mode, start_operation, wait_for,
};
use crate::simulator::credentials::{CredentialType, InstanceClient, issue};
use crate::simulator::faults::json_response;
use crate::simulator::state::{OpKind, Shared, SmBinding, Urls, World, new_id};

const KIND: &str = "service_bindings";

fn find<'w>(world: &'w World, tenant: usize, id: &str) -> Result<&'w SmBinding, Response> {
    world
        .sm_bindings
        .iter()
        .find(|b| b.id == id && b.tenant == tenant && !hidden(world, &b.last_op))
        .ok_or_else(|| error(404, "NotFound", "could not find such service binding"))
}

/// `GET /v1/service_bindings`.
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
            .sm_bindings
            .iter()
            .filter(|b| b.tenant == tenant && !hidden(&world, &b.last_op))
            .map(|b| (b.seq, render::binding(&world, b, with_op)))
            .collect();
        (items, world.settings.page_size)
    };
    match paging::filter(items, &params) {
        Ok(found) => paging::page(found, &params, "/v1/service_bindings", size),
        Err(r) => r,
    }
}

/// `GET /v1/service_bindings/{id}`.
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
        Ok(b) => json_response(200, render::binding(&world, b, true)),
        Err(r) => r,
    }
}

/// `GET /v1/service_bindings/{id}/parameters`: only when the offering has
/// `bindings_retrievable`, else 400.
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
    let binding = match find(&world, tenant, &id) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let retrievable = world
        .sm_instances
        .iter()
        .find(|i| i.id == binding.instance_id)
        .and_then(|i| world.sm_plans.iter().find(|p| p.id == i.plan_id))
        .and_then(|p| world.sm_offerings.iter().find(|o| o.id == p.offering_id))
        .is_some_and(|o| o.bindings_retrievable);
    if retrievable {
        json_response(200, binding.parameters.clone())
    } else {
        error(
            400,
            "BadRequest",
            "This service does not support fetching service binding parameters.",
        )
    }
}

/// `POST /v1/service_bindings`.
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
        object_body(&body).and_then(|b| bind(&mut world, &shared.urls, tenant, &b, &params))
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
            match world.sm_bindings.iter().find(|b| b.id == id) {
                Some(b) => json_response(201, render::binding(&world, b, true)),
                None => error(404, "NotFound", "the binding was deleted meanwhile"),
            }
        }
    }
}

fn bind(
    world: &mut World,
    urls: &Urls,
    tenant: usize,
    body: &Map<String, Value>,
    params: &Params,
) -> Result<(Reply, String, String), Response> {
    if body.contains_key("id") {
        return Err(error(
            400,
            "BadRequest",
            "providing specific resource id is forbidden",
        ));
    }
    let name = required(body, "name")?;
    let instance_id = required(body, "service_instance_id")?;
    let instance = world
        .sm_instances
        .iter()
        .find(|i| i.id == instance_id && i.tenant == tenant)
        .cloned()
        .ok_or_else(|| error(404, "NotFound", "could not find such service instance"))?;
    if world.sm_busy(&instance.last_op).is_some() {
        return Err(error(
            422,
            "OperationInProgress",
            format!(
                "Could not perform the operation on service instance with id {instance_id}: its operation is still in progress or failed"
            ),
        ));
    }
    if world
        .sm_bindings
        .iter()
        .any(|b| b.instance_id == instance_id && b.name == name)
    {
        return Err(error(
            409,
            "Conflict",
            format!("binding with same name exists for instance with id {instance_id}"),
        ));
    }
    let parameters = match body.get("parameters") {
        None | Some(Value::Null) => json!({}),
        Some(p @ Value::Object(_)) => p.clone(),
        Some(_) => return Err(error(400, "BadRequest", "parameters must be a JSON object")),
    };
    let labels = parse_labels(body.get("labels"))?;
    let kind = CredentialType::choose(
        &parameters,
        &instance.parameters,
        CredentialType::BindingSecret,
    );
    let client = InstanceClient {
        client_id: instance.client_id.clone(),
        xsappname: instance.xsappname.clone(),
    };
    let credentials = issue(world, urls, tenant, &client, kind, None);
    let reply = reply_mode(world, params);
    let id = new_id();
    let duration = world.settings.op_duration;
    let op = start_operation(world, tenant, OpKind::Create, KIND, &id, duration);
    let now = chrono::Utc::now();
    let seq = world.next_seq();
    world.sm_bindings.push(SmBinding {
        id: id.clone(),
        seq,
        tenant,
        name,
        instance_id,
        parameters,
        labels,
        credentials,
        created_at: now,
        updated_at: now,
        last_op: op.clone(),
    });
    Ok((reply, id, op))
}

fn required(body: &Map<String, Value>, field: &str) -> Result<String, Response> {
    body.get(field)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            error(
                400,
                "BadRequest",
                format!("missing or empty field: {field}"),
            )
        })
}

/// `PATCH /v1/service_bindings/{id}`: only `name` and `labels`.
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
    if Params::parse(q.as_deref()).get("async") == Some("true") {
        return error(
            400,
            "BadRequest",
            "binding updates do not support async=true",
        );
    }
    let mut world = shared.world.lock().expect("world lock");
    world.settle();
    let result = object_body(&body).and_then(|b| patch(&mut world, tenant, &id, &b));
    match result.and_then(|()| find(&world, tenant, &id).cloned()) {
        Ok(b) => json_response(200, render::binding(&world, &b, true)),
        Err(r) => r,
    }
}

fn patch(
    world: &mut World,
    tenant: usize,
    id: &str,
    body: &Map<String, Value>,
) -> Result<(), Response> {
    if body.keys().any(|k| k != "name" && k != "labels") {
        return Err(error(
            400,
            "BadRequest",
            "service binding update only supports name and label changes",
        ));
    }
    let mut binding = find(world, tenant, id)?.clone();
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        let taken = world
            .sm_bindings
            .iter()
            .any(|b| b.instance_id == binding.instance_id && b.name == name && b.id != id);
        if taken {
            return Err(error(
                409,
                "Conflict",
                format!(
                    "binding with same name exists for instance with id {}",
                    binding.instance_id
                ),
            ));
        }
        binding.name = name.to_owned();
    }
    if let Some(ops) = body.get("labels") {
        apply_label_ops(&mut binding.labels, ops)?;
    }
    binding.updated_at = chrono::Utc::now();
    if let Some(slot) = world.sm_bindings.iter_mut().find(|b| b.id == id) {
        *slot = binding;
    }
    Ok(())
}

/// `DELETE /v1/service_bindings/{id}`.
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
        unbind(&mut world, tenant, &id, &params)
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

fn unbind(
    world: &mut World,
    tenant: usize,
    id: &str,
    params: &Params,
) -> Result<(Reply, String), Response> {
    let binding = find(world, tenant, id)?.clone();
    if world.sm_busy(&binding.last_op).is_some() {
        return Err(error(
            422,
            "ConcurrentOperation",
            "Another concurrent operation in progress for this resource",
        ));
    }
    let reply = reply_mode(world, params);
    let duration = world.settings.op_duration;
    let op = start_operation(world, tenant, OpKind::Delete, KIND, id, duration);
    if let Some(slot) = world.sm_bindings.iter_mut().find(|b| b.id == id) {
        slot.last_op = op.clone();
    }
    Ok((reply, op))
}
