//! `/v1/service_instances`: provision, update, deprovision, parameters; list, get and the
//! create/delete answers are shared ([`super::resource`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value};

use super::catalog::resolve_plan;
use super::resource::{Resource, Started, begin_create, begin_delete, find, idle};
use super::{
    Params, Reply, accepted, authorize, error, labels, object_body, parameters_field, render,
    reply_mode, required, start_operation,
};
use crate::simulator::Answer;
use crate::simulator::credentials::register_instance_client;
use crate::simulator::faults::json_response;
use crate::simulator::state::{OpKind, SM_PLATFORM, Shared, SmInstance, Urls, World};

impl Resource for SmInstance {
    const KIND: &'static str = "service_instances";
    const NOUN: &'static str = "instance";

    fn all(world: &World) -> &[Self] {
        &world.sm_instances
    }
    fn all_mut(world: &mut World) -> &mut [Self] {
        &mut world.sm_instances
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn tenant(&self) -> usize {
        self.tenant
    }
    fn seq(&self) -> u64 {
        self.seq
    }
    fn last_op(&self) -> &str {
        &self.last_op
    }
    fn set_last_op(&mut self, op: String) {
        self.last_op = op;
    }
    fn render(&self, world: &World, with_op: bool) -> Value {
        render::instance(world, self, with_op)
    }

    fn start_create(
        world: &mut World,
        _urls: &Urls,
        tenant: usize,
        body: &Map<String, Value>,
        params: &Params,
    ) -> Result<Started, Response> {
        provision(world, tenant, body, params)
    }

    fn name_taken(_body: &Map<String, Value>) -> Response {
        name_taken()
    }

    fn busy(_world: &World, body: &Map<String, Value>) -> Response {
        let name = body.get("name").and_then(Value::as_str).unwrap_or_default();
        super::bindings::instance_busy(name)
    }

    fn start_delete(
        world: &mut World,
        tenant: usize,
        id: &str,
        params: &Params,
    ) -> Result<Started, Response> {
        deprovision(world, tenant, id, params)
    }
}

/// `GET /v1/service_instances/{id}/parameters`: the parameters object itself.
pub(crate) async fn parameters(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let tenant = authorize(&shared, &headers)?;
    let world = shared.settled_world();
    let instance = find::<SmInstance>(&world, tenant, &id)?;
    Ok(json_response(200, instance.parameters.clone()))
}

fn provision(
    world: &mut World,
    tenant: usize,
    body: &Map<String, Value>,
    params: &Params,
) -> Result<Started, Response> {
    let name = required(body, "name")?;
    let plan_id = resolve_plan(world, tenant, body)?;
    // Names are unique among Service Manager-platform instances only
    // (`unique_instance_names_interceptor.go`).
    if world
        .sm_instances
        .iter()
        .any(|i| i.tenant == tenant && i.name == name && i.platform_id == SM_PLATFORM)
    {
        return Err(name_taken());
    }
    let parameters = parameters_field(body)?;
    let labels = labels::parse(body.get("labels"))?;
    let started = begin_create::<SmInstance>(world, tenant, params);
    let client = register_instance_client(world, tenant, &name, &parameters);
    let now = chrono::Utc::now();
    let seq = world.next_seq();
    world.sm_instances.push(SmInstance {
        id: started.id.clone(),
        seq,
        tenant,
        name,
        plan_id,
        parameters,
        labels,
        created_at: now,
        updated_at: now,
        last_op: started.op.clone(),
        client_id: client.client_id,
        xsappname: client.xsappname,
        platform_id: SM_PLATFORM.to_owned(),
    });
    Ok(started)
}

/// Upstream's 409 for a taken instance name.
pub(crate) fn name_taken() -> Response {
    error(
        409,
        "Conflict",
        "instance with same name exists for the current tenant",
    )
}

/// `PATCH /v1/service_instances/{id}`: name, labels and parameters, applied at once.
pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let tenant = authorize(&shared, &headers)?;
    let params = Params::parse(q.as_deref());
    let mut world = shared.settled_world();
    let op = patch(&mut world, tenant, &id, &object_body(&body)?)?;
    if reply_mode(&world, &params) == Reply::Async {
        return Ok(accepted(SmInstance::KIND, &id, &op));
    }
    let instance = find::<SmInstance>(&world, tenant, &id)?;
    Ok(json_response(200, render::instance(&world, instance, true)))
}

fn patch(
    world: &mut World,
    tenant: usize,
    id: &str,
    body: &Map<String, Value>,
) -> Result<String, Response> {
    let mut updated = idle::<SmInstance>(world, tenant, id)?;
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        let taken = world.sm_instances.iter().any(|i| {
            i.tenant == tenant && i.name == name && i.id != id && i.platform_id == SM_PLATFORM
        });
        if taken {
            return Err(name_taken());
        }
        updated.name = name.to_owned();
    }
    if let Some(ops) = body.get("labels") {
        labels::apply_ops(&mut updated.labels, ops)?;
    }
    if let Some(p) = body.get("parameters").filter(|p| p.is_object()) {
        updated.parameters = p.clone();
    }
    updated.updated_at = chrono::Utc::now();
    let kind = SmInstance::KIND;
    updated.last_op = start_operation(world, tenant, OpKind::Update, kind, id, Default::default());
    let op = updated.last_op.clone();
    if let Some(slot) = world.sm_instances.iter_mut().find(|i| i.id == id) {
        *slot = updated;
    }
    Ok(op)
}

/// Bindings must be gone unless `cascade=true`; with it they go at once.
fn deprovision(
    world: &mut World,
    tenant: usize,
    id: &str,
    params: &Params,
) -> Result<Started, Response> {
    idle::<SmInstance>(world, tenant, id)?;
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
    Ok(begin_delete::<SmInstance>(world, tenant, id, params))
}
