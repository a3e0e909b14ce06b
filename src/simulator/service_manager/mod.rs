//! The simulated SAP Service Manager REST API (service-manager-api.md §2–§9).
//!
//! A caller is the tenant whose zone issued its token; the token must carry a `service-manager!`
//! scope (an SM binding's client), otherwise 403. Each tenant sees only its own instances and
//! bindings, and the Cloud ALM API offering only once entitled. Instances created on the Cloud
//! Foundry side are not visible here (a simplification).

mod bindings;
mod catalog;
mod instances;
mod operations;
mod paging;
mod query;
mod render;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::faults::json_response;
use super::state::{OpKind, Pending, Shared, SmOperation, World, new_id};
use super::token::{bearer, verify};
use super::types::AsyncMode;

/// Scope prefix of Service Manager clients.
pub(crate) const SM_SCOPE_PREFIX: &str = "service-manager!b1.";

/// The routes under `/v1`.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/service_offerings", get(catalog::list_offerings))
        .route("/v1/service_offerings/{id}", get(catalog::get_offering))
        .route("/v1/service_plans", get(catalog::list_plans))
        .route("/v1/service_plans/{id}", get(catalog::get_plan))
        .route(
            "/v1/service_instances",
            get(instances::list).post(instances::create),
        )
        .route(
            "/v1/service_instances/{id}",
            get(instances::get_one)
                .patch(instances::update)
                .delete(instances::delete),
        )
        .route(
            "/v1/service_instances/{id}/parameters",
            get(instances::parameters),
        )
        .route(
            "/v1/service_instances/{id}/operations/{op}",
            get(operations::instance_operation),
        )
        .route(
            "/v1/service_bindings",
            get(bindings::list).post(bindings::create),
        )
        .route(
            "/v1/service_bindings/{id}",
            get(bindings::get_one)
                .patch(bindings::update)
                .delete(bindings::delete),
        )
        .route(
            "/v1/service_bindings/{id}/parameters",
            get(bindings::parameters),
        )
        .route(
            "/v1/service_bindings/{id}/operations/{op}",
            get(operations::binding_operation),
        )
}

/// The Service Manager error body.
pub(crate) fn error(status: u16, error: &str, description: impl Into<String>) -> Response {
    json_response(
        status,
        json!({"error": error, "description": description.into()}),
    )
}

/// 404 for an unknown path on the main listener.
pub(crate) async fn not_found() -> Response {
    error(404, "NotFound", "could not find the requested resource")
}

/// Query parameters in order (repeated keys kept; lookups take the first, as upstream).
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Params {
        Params(
            raw.map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The query string with `token` replaced by `value`.
    pub fn with_token(&self, value: &str) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.0.iter().filter(|(k, _)| k != "token") {
            out.append_pair(k, v);
        }
        out.append_pair("token", value);
        out.finish()
    }
}

/// The tenant a request acts for, from its bearer token.
pub(crate) fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<usize, Response> {
    let unauthorized = |d: &str| error(401, "Unauthorized", d);
    let token = bearer(headers).ok_or_else(|| unauthorized("authentication is required"))?;
    let claims = verify(token).map_err(|reason| unauthorized(&reason))?;
    let world = shared.world.lock().expect("world lock");
    let tenant = world
        .tenant_by_zone(&claims.zid)
        .ok_or_else(|| unauthorized("token issued by an unknown identity zone"))?;
    if !claims.scope.iter().any(|s| s.starts_with(SM_SCOPE_PREFIX)) {
        return Err(error(
            403,
            "Forbidden",
            "the token does not grant access to the Service Manager",
        ));
    }
    Ok(tenant)
}

/// A JSON object request body, or the 400 upstream gives.
pub(crate) fn object_body(body: &Bytes) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(error(
            400,
            "BadRequest",
            "Failed to decode request body: expected a JSON object",
        )),
    }
}

/// How a mutation is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Held for the operation's duration, then 201/200 with the resource.
    Sync,
    /// 202 with `{}` and a relative `Location`.
    Async,
}

/// Applies the [`AsyncMode`] to the request's `async` parameter.
pub(crate) fn reply_mode(world: &World, params: &Params) -> Reply {
    match world.settings.async_mode {
        AsyncMode::Sync => Reply::Sync,
        AsyncMode::Async => Reply::Async,
        _ => match params.get("async") {
            Some("true") => Reply::Async,
            Some("false") => Reply::Sync,
            _ if world.settings.op_duration.is_zero() => Reply::Sync,
            _ => Reply::Async,
        },
    }
}

/// Records a new operation on a resource and returns its id.
pub(crate) fn start_operation(
    world: &mut World,
    tenant: usize,
    kind: OpKind,
    resource_type: &'static str,
    resource_id: &str,
    duration: Duration,
) -> String {
    let id = new_id();
    world.sm_operations.push(SmOperation {
        id: id.clone(),
        tenant,
        kind,
        resource_id: resource_id.to_owned(),
        resource_type,
        created_at: chrono::Utc::now(),
        pending: Pending::new(duration),
        settled: false,
    });
    id
}

/// 202 Accepted with body `{}` and a relative `Location` of the operation.
pub(crate) fn accepted(resource_type: &str, id: &str, op_id: &str) -> Response {
    let location = format!("/v1/{resource_type}/{id}/operations/{op_id}");
    let mut response = (StatusCode::ACCEPTED, axum::Json(json!({}))).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Waits until a synchronous operation is done (without holding the world lock).
pub(crate) async fn wait_for(shared: &Shared, op_id: &str) {
    let remaining = {
        let world = shared.world.lock().expect("world lock");
        world
            .sm_op(op_id)
            .map(|op| op.pending.remaining())
            .unwrap_or_default()
    };
    if !remaining.is_zero() {
        tokio::time::sleep(remaining).await;
    }
    shared.world.lock().expect("world lock").settle();
}

/// Labels from a create body: an object of string arrays, or 400.
pub(crate) fn parse_labels(value: Option<&Value>) -> Result<super::state::Labels, Response> {
    let mut labels = super::state::Labels::new();
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(labels);
    };
    let bad = || {
        error(
            400,
            "BadRequest",
            "labels must map keys to arrays of strings",
        )
    };
    for (key, values) in value.as_object().ok_or_else(bad)? {
        let values: Option<Vec<String>> = values
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect();
        labels.insert(key.clone(), values.ok_or_else(bad)?);
    }
    Ok(labels)
}

/// Applies PATCH label changes `[{"op": "add"|"remove", "key", "values"}]`.
pub(crate) fn apply_label_ops(
    labels: &mut super::state::Labels,
    ops: &Value,
) -> Result<(), Response> {
    let bad = || {
        error(
            400,
            "BadRequest",
            "labels must be a list of {\"op\": \"add\"|\"remove\", \"key\", \"values\"}",
        )
    };
    for change in ops.as_array().ok_or_else(bad)? {
        let key = change["key"].as_str().ok_or_else(bad)?.to_owned();
        let values: Vec<String> = change["values"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        match change["op"].as_str() {
            Some("add") => {
                let entry = labels.entry(key).or_default();
                for v in values {
                    if !entry.contains(&v) {
                        entry.push(v);
                    }
                }
            }
            Some("remove") if values.is_empty() => {
                labels.remove(&key);
            }
            Some("remove") => {
                if let Some(entry) = labels.get_mut(&key) {
                    entry.retain(|v| !values.contains(v));
                    if entry.is_empty() {
                        labels.remove(&key);
                    }
                }
            }
            _ => return Err(bad()),
        }
    }
    Ok(())
}

/// Whether a not-yet-ready resource is hidden (404 / left out of lists).
pub(crate) fn hidden(world: &World, last_op: &str) -> bool {
    world.settings.pending == super::types::PendingVisibility::NotFound && !world.sm_ready(last_op)
}
