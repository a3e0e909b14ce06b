//! `/v3/service_credential_bindings` of type `key`: list, create (always 202 + job, the row exists
//! before the answer), get, details, delete (202 + job).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::jobs::start_job;
use super::paging::{CfQuery, paginate};
use super::{
    accepted, authorize, error, known_fields, last_operation, object_body, resource_not_found,
    unprocessable,
};
use crate::simulator::credentials::{CredentialType, InstanceClient, issue};
use crate::simulator::faults::json_response;
use crate::simulator::state::{
    CfKey, CfOp, JobTarget, OpKind, Pending, Shared, Urls, World, new_id, timestamp,
};

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
) -> Response {
    if let Err(r) = authorize(&shared, &headers) {
        return r;
    }
    let query = CfQuery::parse(raw.as_deref());
    let filters = [
        "service_instance_guids",
        "service_instance_names",
        "names",
        "guids",
        "type",
    ];
    if let Err(r) = query.check_known(&filters) {
        return r;
    }
    if query
        .list("type")
        .is_some_and(|t| t.len() != 1 || !["app", "key"].contains(&t[0].as_str()))
    {
        return error(
            400,
            10005,
            "CF-BadQueryParameter",
            "The query parameter is invalid: Type must be one of 'app', 'key'",
        );
    }
    let resources: Vec<Value> = {
        let mut world = shared.world.lock().expect("world lock");
        world.settle();
        let mut found: Vec<&CfKey> = world
            .cf_keys
            .iter()
            .filter(|k| {
                let instance_name = world
                    .cf_instances
                    .iter()
                    .find(|i| i.guid == k.instance_guid)
                    .map(|i| i.name.as_str())
                    .unwrap_or_default();
                query.passes("service_instance_guids", &k.instance_guid, false)
                    && query.passes("service_instance_names", instance_name, false)
                    && query.passes("names", &k.name, false)
                    && query.passes("guids", &k.guid, false)
                    && query.passes("type", "key", false)
            })
            .collect();
        found.sort_by_key(|k| k.seq);
        found.into_iter().map(|k| key_json(&shared, k)).collect()
    };
    paginate(
        &shared,
        &query,
        "/v3/service_credential_bindings",
        resources,
    )
}

/// `GET /v3/service_credential_bindings/{guid}`.
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
    match world.cf_keys.iter().find(|k| k.guid == guid) {
        Some(k) => json_response(200, key_json(&shared, k)),
        None => resource_not_found("Service credential binding not found"),
    }
}

/// `GET /v3/service_credential_bindings/{guid}/details`: 404 "Creation of service key in
/// progress" until the create finished.
pub(crate) async fn details(
    State(shared): State<Arc<Shared>>,
    Path(guid): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&shared, &headers) {
        return r;
    }
    let mut world = shared.world.lock().expect("world lock");
    world.settle();
    let Some(key) = world.cf_keys.iter().find(|k| k.guid == guid) else {
        return resource_not_found("Service credential binding not found");
    };
    match (key.op.kind, key.op.pending.done()) {
        (OpKind::Create, true) => json_response(
            200,
            json!({"credentials": key.credentials, "syslog_drain_url": null, "volume_mounts": []}),
        ),
        (OpKind::Delete, _) => resource_not_found("Deletion of service key in progress"),
        _ => resource_not_found("Creation of service key in progress"),
    }
}

/// `GET /v3/service_credential_bindings/{guid}/parameters`: the simulated brokers do not offer
/// `bindings_retrievable`, so 400 CF-ServiceFetchBindingParametersNotSupported (90007).
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
    if !world.cf_keys.iter().any(|k| k.guid == guid) {
        return resource_not_found("Service credential binding not found");
    }
    error(
        400,
        90007,
        "CF-ServiceFetchBindingParametersNotSupported",
        "This service does not support fetching service binding parameters.",
    )
}

/// `POST /v3/service_credential_bindings` (type `key`) → always 202 + job `service_keys.create`.
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
    match object_body(&body).and_then(|b| create_key(&mut world, &shared.urls, &b)) {
        Ok(job) => accepted(&shared, &job),
        Err(r) => r,
    }
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
    match body.get("type").and_then(Value::as_str) {
        Some("key") => {}
        Some("app") => {
            return Err(unprocessable(
                "Service credential bindings of type 'app' are not supported by the simulator",
            ));
        }
        _ => return Err(unprocessable("Type must be one of 'app', 'key'")),
    }
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| unprocessable("Name can't be blank"))?
        .to_owned();
    let instance_guid = body
        .get("relationships")
        .and_then(|r| r["service_instance"]["data"]["guid"].as_str())
        .unwrap_or_default()
        .to_owned();
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
    if let Some(existing) = world
        .cf_keys
        .iter()
        .find(|k| k.instance_guid == instance_guid && k.name == name)
    {
        let detail = if existing.op.kind == OpKind::Delete {
            format!(
                "The binding name is invalid. Key binding names must be unique. The service instance already has a key binding with the name '{name}' that is getting deleted or its deletion failed."
            )
        } else {
            format!(
                "The binding name is invalid. Key binding names must be unique. The service instance already has a key binding with name '{name}'."
            )
        };
        return Err(unprocessable(detail));
    }
    let parameters = match body.get("parameters") {
        None | Some(Value::Null) => json!({}),
        Some(p @ Value::Object(_)) => p.clone(),
        Some(_) => return Err(unprocessable("Parameters must be an object")),
    };
    let kind = CredentialType::choose(
        &parameters,
        &instance.parameters,
        CredentialType::InstanceSecret,
    );
    let xsappname = instance
        .client_id
        .trim_start_matches("sb-")
        .split('|')
        .next()
        .unwrap_or_default()
        .to_owned();
    let client = InstanceClient {
        client_id: instance.client_id.clone(),
        xsappname,
    };
    let credentials = issue(
        world,
        urls,
        instance.tenant,
        &client,
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
        instance_guid,
        credentials,
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
    });
    Ok(start_job(
        world,
        "service_keys.create",
        JobTarget::Key(guid),
        duration,
    ))
}

/// `DELETE /v3/service_credential_bindings/{guid}` → 202 + job `service_keys.delete`.
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
    let Some(key) = world.cf_keys.iter_mut().find(|k| k.guid == guid) else {
        return resource_not_found("Service credential binding not found");
    };
    if !key.op.pending.done() {
        return unprocessable("There is an operation in progress for the service binding.");
    }
    key.op = CfOp {
        kind: OpKind::Delete,
        pending: Pending::new(duration),
    };
    key.updated_at = chrono::Utc::now();
    let job = start_job(
        &mut world,
        "service_keys.delete",
        JobTarget::Key(guid),
        duration,
    );
    drop(world);
    accepted(&shared, &job)
}
