//! The simulated SAP Service Manager REST API (service-manager-api.md §2–§9).
//!
//! A caller is the tenant whose zone issued its token; the token must carry a `service-manager!`
//! scope (an SM binding's client), otherwise 403. Each tenant sees only its own instances and
//! bindings, and the Cloud ALM API offering only once entitled. Instances another platform
//! created (seeded with `Simulator::add_other_platform_instance`) are listed with that
//! platform's `platform_id`, may share a name with a Service Manager instance, and cannot be
//! bound here (404). With `Refusals::InOperation` an asynchronous create whose name is taken or
//! whose instance is busy is accepted and its operation ends `failed` (upstream's
//! `ScheduleAsyncStorageAction`).

mod bindings;
mod catalog;
mod instances;
mod labels;
mod operations;
mod paging;
mod query;
mod render;
mod resource;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{MethodRouter, get, patch};
use serde_json::{Map, Value, json};

use self::operations::{Reply, accepted, reply_mode, start_operation, wait_for};
use self::resource::{create, delete, get_one, list};
use super::body;
use super::faults::json_response;
use super::state::{Shared, SmBinding, SmInstance, World};
use super::token::{bearer, verify};

/// Scope prefix of Service Manager clients.
pub(crate) const SM_SCOPE_PREFIX: &str = "service-manager!b1.";

/// The routes under `/v1`.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/service_offerings", get(catalog::list_offerings))
        .route("/v1/service_offerings/{id}", get(catalog::get_offering))
        .route("/v1/service_plans", get(catalog::list_plans))
        .route("/v1/service_plans/{id}", get(catalog::get_plan))
        .merge(resource_routes::<SmInstance>(
            patch(instances::update),
            get(instances::parameters),
        ))
        .merge(resource_routes::<SmBinding>(
            patch(bindings::update),
            get(bindings::parameters),
        ))
}

/// `/v1/{service_instances|service_bindings}`, `…/{id}`, `…/{id}/parameters` and
/// `…/{id}/operations/{op}`: the shared list, get, create, delete and operation handlers, and
/// the resource's own `update` (PATCH) and `parameters` (GET).
fn resource_routes<R: resource::Resource>(
    update: MethodRouter<Arc<Shared>>,
    parameters: MethodRouter<Arc<Shared>>,
) -> Router<Arc<Shared>> {
    let base = format!("/v1/{}", R::KIND);
    Router::new()
        .route(&base, get(list::<R>).post(create::<R>))
        .route(
            &format!("{base}/{{id}}"),
            get(get_one::<R>).delete(delete::<R>).merge(update),
        )
        .route(&format!("{base}/{{id}}/parameters"), parameters)
        .route(
            &format!("{base}/{{id}}/operations/{{op}}"),
            get(operations::get_one::<R>),
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
pub(crate) fn object_body(bytes: &Bytes) -> Result<Map<String, Value>, Response> {
    body::object(bytes).ok_or_else(|| {
        error(
            400,
            "BadRequest",
            "Failed to decode request body: expected a JSON object",
        )
    })
}

/// A string field that must be present and not empty, or 400.
pub(crate) fn required(body: &Map<String, Value>, field: &str) -> Result<String, Response> {
    body::non_empty_str(body, field).ok_or_else(|| {
        error(
            400,
            "BadRequest",
            format!("missing or empty field: {field}"),
        )
    })
}

/// The optional `parameters` object of a create body, or 400.
pub(crate) fn parameters_field(body: &Map<String, Value>) -> Result<Value, Response> {
    body::optional_object(body, "parameters")
        .ok_or_else(|| error(400, "BadRequest", "parameters must be a JSON object"))
}

/// Whether a not-yet-ready resource is hidden (404 / left out of lists).
pub(crate) fn hidden(world: &World, last_op: &str) -> bool {
    world.settings.pending == super::types::PendingVisibility::NotFound && !world.sm_ready(last_op)
}
