//! `/v3/service_credential_bindings` of type `key`: list, create, details, parameters; get,
//! create and delete (always 202 + job, the row exists before the answer) are shared
//! ([`super::resource`]).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::jobs::start_job;
use super::paging::{CfQuery, list_page, list_query};
use super::resource::{Resource, find, listing};
use super::{
    authorize, error, known_fields, last_operation, metadata_field, parameters_field,
    resource_not_found, unprocessable,
};
use crate::simulator::Answer;
use crate::simulator::body::non_empty_str;
use crate::simulator::credentials::{CredentialType, InstanceClient, issue};
use crate::simulator::faults::json_response;
use crate::simulator::state::{
    CfInstance, CfKey, CfOp, JobTarget, OpKind, Shared, Urls, World, new_id, timestamp,
};

impl Resource for CfKey {
    const NOT_FOUND: &'static str = "Service credential binding not found";
    const DELETE_JOB: &'static str = "service_keys.delete";

    fn all(world: &World) -> &[Self] {
        &world.cf_keys
    }
    fn all_mut(world: &mut World) -> &mut [Self] {
        &mut world.cf_keys
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
        JobTarget::Key(guid)
    }
    fn json(&self, shared: &Shared) -> Value {
        key_json(shared, self)
    }
    fn busy(&self) -> Response {
        unprocessable("There is an operation in progress for the service binding.")
    }
    fn start_create(
        world: &mut World,
        urls: &Urls,
        body: &Map<String, Value>,
    ) -> Result<String, Response> {
        create_key(world, urls, body)
    }
}

fn key_json(shared: &Shared, k: &CfKey) -> Value {
    let created = timestamp(k.created_at);
    let link = |p: String| json!({"href": shared.urls.cf_href(&p)});
    json!({
        "guid": k.guid, "created_at": created, "updated_at": timestamp(k.updated_at),
        "name": k.name, "type": "key", "last_operation": last_operation(&k.op, &created),
        "metadata": k.metadata,
        "relationships": {"service_instance": {"data": {"guid": k.instance_guid}}},
        "links": {
            "self": link(format!("/v3/service_credential_bindings/{}", k.guid)),
            "details": link(format!("/v3/service_credential_bindings/{}/details", k.guid)),
            "parameters": link(format!("/v3/service_credential_bindings/{}/parameters", k.guid)),
            "service_instance": link(format!("/v3/service_instances/{}", k.instance_guid)),
        },
    })
}

/// `GET /v3/service_credential_bindings` (`service_instance_guids`, `service_instance_names`,
/// `names`, `guids`, and `type` with a single value).
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Answer {
    let filters = [
        "service_instance_guids",
        "service_instance_names",
        "names",
        "guids",
        "type",
    ];
    let query = list_query(&shared, &headers, raw, &filters)?;
    key_type_filter(&query)?;
    let path = "/v3/service_credential_bindings";
    Ok(list_page(&shared, &query, path, |world, q| {
        listing(&shared, world, |k: &CfKey| {
            let instance_name = world
                .cf_instances
                .iter()
                .find(|i| i.guid == k.instance_guid)
                .map(|i| i.name.as_str())
                .unwrap_or_default();
            q.passes("service_instance_guids", &k.instance_guid, false)
                && q.passes("service_instance_names", instance_name, false)
                && q.passes("names", &k.name, false)
                && q.passes("guids", &k.guid, false)
                && q.passes("type", "key", false)
        })
    }))
}

/// `type`, if given, must be one of `app`, `key` (a single value).
fn key_type_filter(query: &CfQuery) -> Result<(), Response> {
    if query
        .list("type")
        .is_some_and(|t| t.len() != 1 || !["app", "key"].contains(&t[0].as_str()))
    {
        return Err(error(
            400,
            10005,
            "CF-BadQueryParameter",
            "The query parameter is invalid: Type must be one of 'app', 'key'",
        ));
    }
    Ok(())
}

/// `GET /v3/service_credential_bindings/{guid}/details`: 404 "Creation of service key in
/// progress" until the create finished.
pub(crate) async fn details(
    State(shared): State<Arc<Shared>>,
    Path(guid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize(&shared, &headers)?;
    let world = shared.settled_world();
    let key = find::<CfKey>(&world, &guid)?;
    match (key.op.kind, key.op.pending.done()) {
        (OpKind::Create, true) if key.op.failed => {
            Err(resource_not_found("Creation of service key failed"))
        }
        (OpKind::Create, true) => Ok(json_response(
            200,
            json!({"credentials": key.credentials, "syslog_drain_url": null, "volume_mounts": []}),
        )),
        (OpKind::Delete, _) => Err(resource_not_found("Deletion of service key in progress")),
        _ => Err(resource_not_found("Creation of service key in progress")),
    }
}

/// `GET /v3/service_credential_bindings/{guid}/parameters`: the simulated brokers do not offer
/// `bindings_retrievable`, so 400 CF-ServiceFetchBindingParametersNotSupported (90007).
pub(crate) async fn parameters(
    State(shared): State<Arc<Shared>>,
    Path(guid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize(&shared, &headers)?;
    find::<CfKey>(&shared.settled_world(), &guid)?;
    Err(error(
        400,
        90007,
        "CF-ServiceFetchBindingParametersNotSupported",
        "This service does not support fetching service binding parameters.",
    ))
}

fn create_key(
    world: &mut World,
    urls: &Urls,
    body: &Map<String, Value>,
) -> Result<String, Response> {
    known_fields(
        body,
        &["type", "name", "relationships", "parameters", "metadata"],
    )?;
    key_type(body)?;
    let name = non_empty_str(body, "name").ok_or_else(|| unprocessable("Name can't be blank"))?;
    let instance = idle_instance(world, body)?;
    name_free(world, &instance.guid, &name)?;
    let parameters = parameters_field(body)?;
    let kind = CredentialType::choose(
        &parameters,
        &instance.parameters,
        CredentialType::InstanceSecret,
    );
    let credentials = issue(
        world,
        urls,
        instance.tenant,
        &client_of(&instance),
        kind,
        Some(&instance.secret),
    );
    let duration = world.settings.op_duration;
    let guid = new_id();
    let now = chrono::Utc::now();
    let seq = world.next_seq();
    world.cf_keys.push(CfKey {
        guid: guid.clone(),
        seq,
        name,
        instance_guid: instance.guid,
        credentials,
        metadata: metadata_field(body),
        created_at: now,
        updated_at: now,
        op: CfOp::started(OpKind::Create, duration),
    });
    Ok(start_job(
        world,
        "service_keys.create",
        JobTarget::Key(guid),
        duration,
    ))
}

/// Only `key` bindings are simulated.
fn key_type(body: &Map<String, Value>) -> Result<(), Response> {
    match body.get("type").and_then(Value::as_str) {
        Some("key") => Ok(()),
        Some("app") => Err(unprocessable(
            "Service credential bindings of type 'app' are not supported by the simulator",
        )),
        _ => Err(unprocessable("Type must be one of 'app', 'key'")),
    }
}

/// The instance the body's `service_instance` relationship names, with no operation running.
fn idle_instance(world: &World, body: &Map<String, Value>) -> Result<CfInstance, Response> {
    let instance_guid = body
        .get("relationships")
        .and_then(|r| r["service_instance"]["data"]["guid"].as_str())
        .unwrap_or_default();
    let instance = world
        .cf_instances
        .iter()
        .find(|i| i.guid == instance_guid)
        .cloned()
        .ok_or_else(|| {
            unprocessable(format!(
                "The service instance could not be found: '{instance_guid}'"
            ))
        })?;
    if !instance.op.pending.done() {
        return Err(unprocessable(
            "There is an operation in progress for the service instance",
        ));
    }
    Ok(instance)
}

/// 422 when the instance already has a key named `name` (or one of that name being deleted).
fn name_free(world: &World, instance_guid: &str, name: &str) -> Result<(), Response> {
    let Some(existing) = world
        .cf_keys
        .iter()
        .find(|k| k.instance_guid == instance_guid && k.name == name)
    else {
        return Ok(());
    };
    let detail = if existing.op.kind == OpKind::Delete {
        format!(
            "The binding name is invalid. Key binding names must be unique. The service instance already has a key binding with the name '{name}' that is getting deleted or its deletion failed."
        )
    } else {
        format!(
            "The binding name is invalid. Key binding names must be unique. The service instance already has a key binding with name '{name}'."
        )
    };
    Err(unprocessable(detail))
}

/// The instance's OAuth client, its xsappname taken from the client id `sb-<xsappname>|…`.
fn client_of(instance: &CfInstance) -> InstanceClient {
    let xsappname = instance
        .client_id
        .trim_start_matches("sb-")
        .split('|')
        .next()
        .unwrap_or_default()
        .to_owned();
    InstanceClient {
        client_id: instance.client_id.clone(),
        xsappname,
    }
}
