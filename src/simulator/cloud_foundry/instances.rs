//! `/v3/service_instances`: list, provision, parameters; get, create and delete (202 + job) are
//! shared ([`super::resource`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::fields::{self, Fields};
use super::jobs::start_job;
use super::paging::{CfQuery, list_page_included, list_query};
use super::resource::{Resource, find, listing};
use super::{
    error, known_fields, last_operation, metadata_field, object_body, org_of_space,
    parameters_field, unprocessable, visible_in_org,
};
use crate::simulator::Answer;
use crate::simulator::body::non_empty_str;
use crate::simulator::credentials::{new_instance_secret, register_instance_client};
use crate::simulator::faults::json_response;
use crate::simulator::state::{
    CfInstance, CfOp, JobTarget, OpKind, Shared, Urls, World, new_id, timestamp,
};

impl Resource for CfInstance {
    const NOT_FOUND: &'static str = "Service instance not found";
    const DELETE_JOB: &'static str = "service_instance.delete";

    fn all(world: &World) -> &[Self] {
        &world.cf_instances
    }
    fn all_mut(world: &mut World) -> &mut [Self] {
        &mut world.cf_instances
    }
    fn guid(&self) -> &str {
        &self.guid
    }
    fn seq(&self) -> u64 {
        self.seq
    }
    fn op(&self) -> CfOp {
        self.op
    }
    fn begin(&mut self, op: CfOp) {
        self.op = op;
        self.updated_at = chrono::Utc::now();
    }
    fn target(guid: String) -> JobTarget {
        JobTarget::Instance(guid)
    }
    fn json(&self, shared: &Shared) -> Value {
        instance_json(shared, self)
    }
    /// A delete meeting a running operation: 409 (a finished delete takes the keys along).
    fn busy(&self) -> Response {
        error(
            409,
            60016,
            "CF-AsyncServiceInstanceOperationInProgress",
            format!(
                "An operation for service instance {} is in progress.",
                self.name
            ),
        )
    }
    fn start_create(
        world: &mut World,
        _urls: &Urls,
        body: &Map<String, Value>,
    ) -> Result<String, Response> {
        provision(world, body)
    }
}

fn instance_json(shared: &Shared, i: &CfInstance) -> Value {
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

/// `GET /v3/service_instances` (`names` case-sensitive, `space_guids`, `guids`, …, and
/// [`fields`](super::fields)). `space_guids` and `organization_guids` also match the spaces an
/// instance is shared into, as in cloud_controller_ng's `ServiceInstanceListFetcher`.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Answer {
    let mut filters: Vec<String> = [
        "names",
        "space_guids",
        "guids",
        "organization_guids",
        "type",
        "service_plan_guids",
    ]
    .map(str::to_owned)
    .to_vec();
    filters.extend(fields::parameter_names(&CfQuery::parse(raw.as_deref())));
    let filters: Vec<&str> = filters.iter().map(String::as_str).collect();
    let query = list_query(&shared, &headers, raw, &filters)?;
    let fields = Fields::parse(&query)?;
    Ok(list_page_included(
        &shared,
        &query,
        "/v3/service_instances",
        |world, q| {
            listing(&shared, world, |i: &CfInstance| {
                let spaces: Vec<&str> = std::iter::once(i.space_guid.as_str())
                    .chain(i.shared_spaces.iter().map(String::as_str))
                    .collect();
                let orgs: Vec<String> = spaces
                    .iter()
                    .filter_map(|s| org_of_space(world, s))
                    .collect();
                q.passes("names", &i.name, false)
                    && spaces.iter().any(|s| q.passes("space_guids", s, false))
                    && q.passes("guids", &i.guid, false)
                    && orgs
                        .iter()
                        .any(|o| q.passes("organization_guids", o, false))
                    && q.passes("type", "managed", false)
                    && q.passes("service_plan_guids", &i.plan_guid, false)
            })
        },
        |page| fields.included(&shared.settled_world(), page),
    ))
}

/// `GET /v3/service_instances/{guid}/relationships/shared_spaces`.
pub(crate) async fn shared_spaces(
    State(shared): State<Arc<Shared>>,
    Path(guid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    super::authorize(&shared, &headers)?;
    let world = shared.settled_world();
    let instance = find::<CfInstance>(&world, &guid)?;
    Ok(json_response(200, shared_spaces_json(&shared, instance)))
}

fn shared_spaces_json(shared: &Shared, i: &CfInstance) -> Value {
    let data: Vec<Value> = i.shared_spaces.iter().map(|g| json!({"guid": g})).collect();
    json!({
        "data": data,
        "links": {"self": {"href": shared.urls.cf_href(&format!(
            "/v3/service_instances/{}/relationships/shared_spaces", i.guid))}},
    })
}

/// `POST /v3/service_instances/{guid}/relationships/shared_spaces` with
/// `{"data": [{"guid": "<space>"}]}`: 200 with every space the instance is shared into. The
/// refusals of cloud_controller_ng's `ServiceInstanceShare` are 422: an offering that is not
/// shareable, the instance's own space, the plan not visible in the target org, a name taken in
/// the target space, an instance still being created.
pub(crate) async fn share(
    State(shared): State<Arc<Shared>>,
    Path(guid): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Answer {
    super::authorize(&shared, &headers)?;
    let body = object_body(&bytes)?;
    let targets: Vec<String> = body
        .get("data")
        .and_then(Value::as_array)
        .map(|d| {
            d.iter()
                .filter_map(|r| r["guid"].as_str().map(str::to_owned))
                .collect()
        })
        .ok_or_else(|| unprocessable("Data must be an array"))?;
    let mut world = shared.settled_world();
    let instance = find::<CfInstance>(&world, &guid)?.clone();
    for target in &targets {
        if !world.cf_spaces.iter().any(|s| &s.guid == target) {
            return Err(unprocessable(format!(
                "Unable to share service instance {} with spaces ['{target}']. Ensure the spaces exist and that you have access to them.",
                instance.name
            )));
        }
    }
    check_shareable(&world, &instance, &targets)?;
    let entry = world
        .cf_instances
        .iter_mut()
        .find(|i| i.guid == guid)
        .expect("found above");
    for target in targets {
        if !entry.shared_spaces.contains(&target) {
            entry.shared_spaces.push(target);
        }
    }
    let body = shared_spaces_json(&shared, entry);
    Ok(json_response(200, body))
}

/// The checks of `ServiceInstanceShare#create`, in its order.
fn check_shareable(world: &World, i: &CfInstance, targets: &[String]) -> Result<(), Response> {
    let plan = world.cf_plans.iter().find(|p| p.guid == i.plan_guid);
    let offering = plan.and_then(|p| {
        world
            .cf_offerings
            .iter()
            .find(|o| o.guid == p.offering_guid)
    });
    let (Some(plan), Some(offering)) = (plan, offering) else {
        return Err(unprocessable(
            "The service instance could not be shared as its plan is inactive.",
        ));
    };
    if !offering.shareable {
        return Err(unprocessable(format!(
            "The {} service does not support service instance sharing.",
            offering.name
        )));
    }
    if targets.contains(&i.space_guid) {
        return Err(unprocessable(format!(
            "Unable to share service instance '{}' with space '{}'. Service instances cannot be shared into the space where they were created.",
            i.name, i.space_guid
        )));
    }
    for target in targets {
        let space = world
            .cf_spaces
            .iter()
            .find(|s| &s.guid == target)
            .expect("checked by the caller");
        if !visible_in_org(world, &offering.guid, &space.org_guid) {
            let org = world
                .cf_orgs
                .iter()
                .find(|o| o.guid == space.org_guid)
                .map(|o| o.name.as_str())
                .unwrap_or_default();
            return Err(unprocessable(format!(
                "Access to service {} and plan {} is not enabled in {org}/{}.",
                offering.name, plan.name, space.name
            )));
        }
        if world
            .cf_instances
            .iter()
            .any(|o| &o.space_guid == target && o.name == i.name)
        {
            return Err(unprocessable(format!(
                "A service instance called {} already exists in {}.",
                i.name, space.name
            )));
        }
        if world
            .cf_instances
            .iter()
            .any(|o| o.guid != i.guid && o.name == i.name && o.shared_spaces.contains(target))
        {
            return Err(unprocessable(format!(
                "A service instance called {} has already been shared with {}.",
                i.name, space.name
            )));
        }
    }
    if i.op.kind == OpKind::Create && !i.op.pending.done() {
        return Err(unprocessable(
            "Service instance is currently being created. It can be shared after its creation succeeded.",
        ));
    }
    if i.op.kind == OpKind::Delete && !i.op.pending.done() {
        return Err(unprocessable("The service instance is getting deleted."));
    }
    Ok(())
}

/// `GET /v3/service_instances/{guid}/parameters`.
pub(crate) async fn parameters(
    State(shared): State<Arc<Shared>>,
    Path(guid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    super::authorize(&shared, &headers)?;
    let world = shared.settled_world();
    let instance = find::<CfInstance>(&world, &guid)?;
    Ok(json_response(200, instance.parameters.clone()))
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
    managed_type(body)?;
    let name = non_empty_str(body, "name")
        .ok_or_else(|| unprocessable("Name must be a string, Name can't be blank"))?;
    let (space, org, plan_guid) = placement(world, body)?;
    if world
        .cf_instances
        .iter()
        .any(|i| i.space_guid == space && i.name == name)
    {
        return Err(unprocessable(format!(
            "The service instance name is taken: {name}."
        )));
    }
    quota_left(world, &space, &org)?;
    let parameters = parameters_field(body)?;
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
        shared_spaces: Vec::new(),
        plan_guid,
        tenant,
        parameters,
        tags: body
            .get("tags")
            .and_then(|t| serde_json::from_value(t.clone()).ok())
            .unwrap_or_default(),
        metadata: metadata_field(body),
        created_at: now,
        updated_at: now,
        op: CfOp::started(OpKind::Create, duration),
        client_id: client.client_id,
        secret: new_instance_secret(),
    });
    let target = JobTarget::Instance(guid);
    Ok(start_job(
        world,
        "service_instance.create",
        target,
        duration,
    ))
}

/// Cloud Controller's instance quotas: **400**, not 422 (`errors/v2.yml` 60005, 60012).
fn quota_left(world: &World, space: &str, org: &str) -> Result<(), Response> {
    let quota = world.settings.cf_instance_quota;
    let in_space = world
        .cf_instances
        .iter()
        .filter(|i| i.space_guid == space)
        .count();
    let in_org = world
        .cf_instances
        .iter()
        .filter(|i| org_of_space(world, &i.space_guid).as_deref() == Some(org))
        .count();
    if quota.org.is_some_and(|limit| in_org >= limit) {
        return Err(error(
            400,
            60005,
            "CF-ServiceInstanceQuotaExceeded",
            "You have exceeded your organization's services limit.",
        ));
    }
    if quota.space.is_some_and(|limit| in_space >= limit) {
        return Err(error(
            400,
            60012,
            "CF-ServiceInstanceSpaceQuotaExceeded",
            "You have exceeded your space's services limit.",
        ));
    }
    Ok(())
}

/// Only `managed` instances are simulated.
fn managed_type(body: &Map<String, Value>) -> Result<(), Response> {
    match body.get("type").and_then(Value::as_str) {
        Some("managed") => Ok(()),
        Some("user-provided") => Err(unprocessable(
            "User-provided service instances are not supported by the simulator",
        )),
        _ => Err(unprocessable(
            "Type must be one of 'managed', 'user-provided'",
        )),
    }
}

/// The space, its org and the plan a create body names; the plan must be visible in the org.
fn placement(
    world: &World,
    body: &Map<String, Value>,
) -> Result<(String, String, String), Response> {
    let space = relationship(body, "space")
        .filter(|s| world.cf_spaces.iter().any(|sp| &sp.guid == s))
        .ok_or_else(|| {
            unprocessable("Invalid space. Ensure that the space exists and you have access to it.")
        })?;
    let org = org_of_space(world, &space).unwrap_or_default();
    let plan = relationship(body, "service_plan")
        .and_then(|p| world.cf_plans.iter().find(|pl| pl.guid == p))
        .filter(|p| visible_in_org(world, &p.offering_guid, &org))
        .ok_or_else(|| unprocessable("Invalid service plan. Ensure that the service plan exists, is available, and you have access to it."))?;
    Ok((space, org, plan.guid.clone()))
}
