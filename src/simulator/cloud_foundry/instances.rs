//! `/v3/service_instances`: list, create (202 + job), get, delete (202 + job), parameters.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::jobs::start_job;
use super::paging::{CfQuery, paginate};
use super::{
    accepted, authorize, error, known_fields, last_operation, object_body, org_of_space,
    resource_not_found, unprocessable, visible_in_org,
};
use crate::simulator::credentials::{new_instance_secret, register_instance_client};
use crate::simulator::faults::json_response;
use crate::simulator::state::{
    CfInstance, CfOp, JobTarget, OpKind, Pending, Shared, World, new_id, timestamp,
};

pub(crate) fn instance_json(shared: &Shared, i: &CfInstance) -> Value {
    let created = timestamp(i.created_at);
    let link = |p: String| json!({"href": shared.urls.cf_href(&p)});
    json!({
        "guid": i.guid, "created_at": created, "updated_at": timestamp(i.updated_at),
        "name": i.name, "tags": i.tags, "last_operation": last_operation(&i.op, &created),
        "type": "managed", "maintenance_info": {}, "upgrade_available": false,
        "dashboard_url": null,
        "relationships": {"space": {"data": {"guid": i.space_guid}},
                          "service_plan": {"data": {"guid": i.plan_guid}}},
        "metadata": i.metadata,
        "links": {
            "self": link(format!("/v3/service_instances/{}", i.guid)),
            "space": link(format!("/v3/spaces/{}", i.space_guid)),
            "service_plan": link(format!("/v3/service_plans/{}", i.plan_guid)),
            "parameters": link(format!("/v3/service_instances/{}/parameters", i.guid)),
            "shared_spaces": link(format!("/v3/service_instances/{}/relationships/shared_spaces", i.guid)),
            "service_credential_bindings": link(format!("/v3/service_credential_bindings?service_instance_guids={}", i.guid)),
        },
    })
}

/// `GET /v3/service_instances` (`names` case-sensitive, `space_guids`, `guids`).
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&shared, &headers) {
        return r;
    }
    let query = CfQuery::parse(raw.as_deref());
    let filters = [
        "names",
        "space_guids",
        "guids",
        "organization_guids",
        "type",
        "service_plan_guids",
    ];
    if let Err(r) = query.check_known(&filters) {
        return r;
    }
    let resources: Vec<Value> = {
        let mut world = shared.world.lock().expect("world lock");
        world.settle();
        let mut found: Vec<&CfInstance> = world
            .cf_instances
            .iter()
            .filter(|i| {
                let org = org_of_space(&world, &i.space_guid).unwrap_or_default();
                query.passes("names", &i.name, false)
                    && query.passes("space_guids", &i.space_guid, false)
                    && query.passes("guids", &i.guid, false)
                    && query.passes("organization_guids", &org, false)
                    && query.passes("type", "managed", false)
                    && query.passes("service_plan_guids", &i.plan_guid, false)
            })
            .collect();
        found.sort_by_key(|i| i.seq);
        found
            .into_iter()
            .map(|i| instance_json(&shared, i))
            .collect()
    };
    paginate(&shared, &query, "/v3/service_instances", resources)
}

/// `GET /v3/service_instances/{guid}`.
pub(crate) async fn get_one(
    State(shared): State<Arc<Shared>>,
    Path(guid): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&shared, &headers) {
        return r;
    }
    let mut world = shared.world.lock().expect("world lock");
    world.settle();
    match world.cf_instances.iter().find(|i| i.guid == guid) {
        Some(i) => json_response(200, instance_json(&shared, i)),
        None => resource_not_found("Service instance not found"),
    }
}

/// `GET /v3/service_instances/{guid}/parameters`.
pub(crate) async fn parameters(
    State(shared): State<Arc<Shared>>,
    Path(guid): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&shared, &headers) {
        return r;
    }
    let mut world = shared.world.lock().expect("world lock");
    world.settle();
    match world.cf_instances.iter().find(|i| i.guid == guid) {
        Some(i) => json_response(200, i.parameters.clone()),
        None => resource_not_found("Service instance not found"),
    }
}

/// `POST /v3/service_instances` → 202 + job `service_instance.create`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = authorize(&shared, &headers) {
        return r;
    }
    let mut world = shared.world.lock().expect("world lock");
    world.settle();
    match object_body(&body).and_then(|b| provision(&mut world, &b)) {
        Ok(job) => accepted(&shared, &job),
        Err(r) => r,
    }
}

fn relationship(body: &Map<String, Value>, name: &str) -> Option<String> {
    body.get("relationships")?[name]["data"]["guid"]
        .as_str()
        .map(str::to_owned)
}

fn provision(world: &mut World, body: &Map<String, Value>) -> Result<String, Response> {
    known_fields(
        body,
        &[
            "type",
            "name",
            "relationships",
            "parameters",
            "tags",
            "metadata",
        ],
    )?;
    match body.get("type").and_then(Value::as_str) {
        Some("managed") => {}
        Some("user-provided") => {
            return Err(unprocessable(
                "User-provided service instances are not supported by the simulator",
            ));
        }
        _ => {
            return Err(unprocessable(
                "Type must be one of 'managed', 'user-provided'",
            ));
        }
    }
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| unprocessable("Name must be a string, Name can't be blank"))?
        .to_owned();
    let space = relationship(body, "space")
        .filter(|s| world.cf_spaces.iter().any(|sp| &sp.guid == s))
        .ok_or_else(|| {
            unprocessable("Invalid space. Ensure that the space exists and you have access to it.")
        })?;
    let org = org_of_space(world, &space).unwrap_or_default();
    let plan = relationship(body, "service_plan")
        .and_then(|p| world.cf_plans.iter().find(|pl| pl.guid == p).cloned())
        .filter(|p| visible_in_org(world, &p.offering_guid, &org))
        .ok_or_else(|| unprocessable("Invalid service plan. Ensure that the service plan exists, is available, and you have access to it."))?;
    if world
        .cf_instances
        .iter()
        .any(|i| i.space_guid == space && i.name == name)
    {
        return Err(unprocessable(format!(
            "The service instance name is taken: {name}."
        )));
    }
    let parameters = match body.get("parameters") {
        None | Some(Value::Null) => json!({}),
        Some(p @ Value::Object(_)) => p.clone(),
        Some(_) => return Err(unprocessable("Parameters must be an object")),
    };
    let tenant = world
        .cf_orgs
        .iter()
        .find(|o| o.guid == org)
        .map(|o| o.tenant)
        .unwrap_or_default();
    let client = register_instance_client(world, tenant, &name, &parameters);
    let duration = world.settings.op_duration;
    let guid = new_id();
    let now = chrono::Utc::now();
    let seq = world.next_seq();
    world.cf_instances.push(CfInstance {
        guid: guid.clone(),
        seq,
        name,
        space_guid: space,
        plan_guid: plan.guid,
        tenant,
        parameters,
        tags: body
            .get("tags")
            .and_then(|t| serde_json::from_value(t.clone()).ok())
            .unwrap_or_default(),
        metadata: body
            .get("metadata")
            .cloned()
            .unwrap_or_else(|| json!({"labels": {}, "annotations": {}})),
        created_at: now,
        updated_at: now,
        op: CfOp {
            kind: OpKind::Create,
            pending: Pending::new(duration),
        },
        client_id: client.client_id,
        secret: new_instance_secret(),
    });
    Ok(start_job(
        world,
        "service_instance.create",
        JobTarget::Instance(guid),
        duration,
    ))
}

/// `DELETE /v3/service_instances/{guid}` → 202 + job; its keys go with it.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(guid): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&shared, &headers) {
        return r;
    }
    let mut world = shared.world.lock().expect("world lock");
    world.settle();
    let duration = world.settings.op_duration;
    let Some(instance) = world.cf_instances.iter_mut().find(|i| i.guid == guid) else {
        return resource_not_found("Service instance not found");
    };
    if !instance.op.pending.done() {
        return error(
            409,
            60016,
            "CF-AsyncServiceInstanceOperationInProgress",
            format!(
                "An operation for service instance {} is in progress.",
                instance.name
            ),
        );
    }
    instance.op = CfOp {
        kind: OpKind::Delete,
        pending: Pending::new(duration),
    };
    instance.updated_at = chrono::Utc::now();
    let job = start_job(
        &mut world,
        "service_instance.delete",
        JobTarget::Instance(guid),
        duration,
    );
    drop(world);
    accepted(&shared, &job)
}
