//! `/v1/service_bindings`: bind, rename/relabel, unbind, parameters; list, get and the
//! create/delete answers are shared ([`super::resource`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value};

use super::resource::{Resource, Started, begin_create, begin_delete, find, idle};
use super::{Params, authorize, error, labels, object_body, parameters_field, render, required};
use crate::simulator::Answer;
use crate::simulator::credentials::{CredentialType, InstanceClient, issue};
use crate::simulator::faults::json_response;
use crate::simulator::state::{SM_PLATFORM, Shared, SmBinding, SmInstance, Urls, World};

impl Resource for SmBinding {
    const KIND: &'static str = "service_bindings";
    const NOUN: &'static str = "binding";

    fn all(world: &World) -> &[Self] {
        &world.sm_bindings
    }
    fn all_mut(world: &mut World) -> &mut [Self] {
        &mut world.sm_bindings
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
        render::binding(world, self, with_op)
    }

    fn start_create(
        world: &mut World,
        urls: &Urls,
        tenant: usize,
        body: &Map<String, Value>,
        params: &Params,
    ) -> Result<Started, Response> {
        bind(world, urls, tenant, body, params)
    }

    fn name_taken(body: &Map<String, Value>) -> Response {
        let instance_id = body
            .get("service_instance_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        binding_name_taken(instance_id)
    }

    fn busy(world: &World, body: &Map<String, Value>) -> Response {
        let instance_id = body
            .get("service_instance_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = world
            .sm_instances
            .iter()
            .find(|i| i.id == instance_id)
            .map_or(instance_id, |i| i.name.as_str());
        instance_busy(name)
    }

    fn start_delete(
        world: &mut World,
        tenant: usize,
        id: &str,
        params: &Params,
    ) -> Result<Started, Response> {
        idle::<SmBinding>(world, tenant, id)?;
        Ok(begin_delete::<SmBinding>(world, tenant, id, params))
    }
}

/// `GET /v1/service_bindings/{id}/parameters`: only when the offering has
/// `bindings_retrievable`, else 400.
pub(crate) async fn parameters(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let tenant = authorize(&shared, &headers)?;
    let world = shared.settled_world();
    let binding = find::<SmBinding>(&world, tenant, &id)?;
    if !bindings_retrievable(&world, binding) {
        return Err(error(
            400,
            "BadRequest",
            "This service does not support fetching service binding parameters.",
        ));
    }
    Ok(json_response(200, binding.parameters.clone()))
}

fn bindings_retrievable(world: &World, binding: &SmBinding) -> bool {
    world
        .sm_instances
        .iter()
        .find(|i| i.id == binding.instance_id)
        .and_then(|i| world.sm_plans.iter().find(|p| p.id == i.plan_id))
        .and_then(|p| world.sm_offerings.iter().find(|o| o.id == p.offering_id))
        .is_some_and(|o| o.bindings_retrievable)
}

fn bind(
    world: &mut World,
    urls: &Urls,
    tenant: usize,
    body: &Map<String, Value>,
    params: &Params,
) -> Result<Started, Response> {
    if body.contains_key("id") {
        return Err(error(
            400,
            "BadRequest",
            "providing specific resource id is forbidden",
        ));
    }
    let name = required(body, "name")?;
    let instance = bindable_instance(world, tenant, &required(body, "service_instance_id")?)?;
    name_free(world, &instance.id, &name, None)?;
    let parameters = parameters_field(body)?;
    let labels = labels::parse(body.get("labels"))?;
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
    let started = begin_create::<SmBinding>(world, tenant, params);
    let now = chrono::Utc::now();
    let seq = world.next_seq();
    world.sm_bindings.push(SmBinding {
        id: started.id.clone(),
        seq,
        tenant,
        name,
        instance_id: instance.id,
        parameters,
        labels,
        credentials,
        created_at: now,
        updated_at: now,
        last_op: started.op.clone(),
    });
    Ok(started)
}

/// The tenant's instance `instance_id` (even if not yet visible), with no operation running.
fn bindable_instance(
    world: &World,
    tenant: usize,
    instance_id: &str,
) -> Result<SmInstance, Response> {
    // Another platform's instance is not visible to Service Manager bindings
    // (`check_binding_visibility_filter.go`).
    let instance = world
        .sm_instances
        .iter()
        .find(|i| i.id == instance_id && i.tenant == tenant && i.platform_id == SM_PLATFORM)
        .cloned()
        .ok_or_else(|| {
            error(
                404,
                "NotFound",
                "service instance not found or not accessible",
            )
        })?;
    if world.sm_busy(&instance.last_op).is_some() || !world.sm_ready(&instance.last_op) {
        return Err(instance_busy(&instance.name));
    }
    Ok(instance)
}

/// Upstream's 422 for a binding create on an instance that is not ready
/// (`smaap_service_binding_interceptor.go`).
pub(crate) fn instance_busy(name: &str) -> Response {
    error(
        422,
        "OperationInProgress",
        format!("creation of instance {name} is still in progress or failed"),
    )
}

/// 409 when another binding of the instance (other than `except`) has `name`.
fn name_free(
    world: &World,
    instance_id: &str,
    name: &str,
    except: Option<&str>,
) -> Result<(), Response> {
    let taken = world
        .sm_bindings
        .iter()
        .any(|b| b.instance_id == instance_id && b.name == name && Some(b.id.as_str()) != except);
    if taken {
        return Err(binding_name_taken(instance_id));
    }
    Ok(())
}

/// Upstream's 409 for a taken binding name (`unique_binding_names_interceptor.go`).
pub(crate) fn binding_name_taken(instance_id: &str) -> Response {
    error(
        409,
        "Conflict",
        format!("binding with same name exists for instance with id {instance_id}"),
    )
}

/// `PATCH /v1/service_bindings/{id}`: only `name` and `labels`.
pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let tenant = authorize(&shared, &headers)?;
    if Params::parse(q.as_deref()).get("async") == Some("true") {
        return Err(error(
            400,
            "BadRequest",
            "binding updates do not support async=true",
        ));
    }
    let mut world = shared.settled_world();
    patch(&mut world, tenant, &id, &object_body(&body)?)?;
    let binding = find::<SmBinding>(&world, tenant, &id)?;
    Ok(json_response(200, render::binding(&world, binding, true)))
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
    let mut binding = find::<SmBinding>(world, tenant, id)?.clone();
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        name_free(world, &binding.instance_id, name, Some(id))?;
        binding.name = name.to_owned();
    }
    if let Some(ops) = body.get("labels") {
        labels::apply_ops(&mut binding.labels, ops)?;
    }
    binding.updated_at = chrono::Utc::now();
    if let Some(slot) = world.sm_bindings.iter_mut().find(|b| b.id == id) {
        *slot = binding;
    }
    Ok(())
}
