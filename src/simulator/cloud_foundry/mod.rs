//! The simulated Cloud Foundry v3 API (cf-v3-api.md §1–§7).
//!
//! One user (see [`crate::simulator::CfLogin`]) sees one org per tenant, each with space `dev`.
//! The Cloud ALM API plan has `visibility_type: organization` and is visible only in orgs of
//! entitled tenants; unfiltered marketplace queries show what any of the user's orgs can see.

mod catalog;
mod fields;
mod instances;
mod jobs;
mod keys;
mod paging;
mod resource;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use self::resource::{create, delete, get_one};
use super::body;
use super::faults::json_response;
use super::state::{CF_ZONE, CfInstance, CfKey, CfOp, Shared, World};
use super::token::{bearer, verify};

/// The routes of the CF API listener.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(catalog::root))
        .route("/v3", get(catalog::v3_root))
        .route("/v3/", get(catalog::v3_root))
        .route("/v3/info", get(catalog::info))
        .route("/v3/organizations", get(catalog::list_orgs))
        .route("/v3/organizations/{guid}", get(catalog::get_org))
        .route("/v3/spaces", get(catalog::list_spaces))
        .route("/v3/spaces/{guid}", get(catalog::get_space))
        .route("/v3/service_offerings", get(catalog::list_offerings))
        .route("/v3/service_offerings/{guid}", get(catalog::get_offering))
        .route("/v3/service_plans", get(catalog::list_plans))
        .route("/v3/service_plans/{guid}", get(catalog::get_plan))
        .route(
            "/v3/service_instances",
            get(instances::list).post(create::<CfInstance>),
        )
        .route(
            "/v3/service_instances/{guid}",
            get(get_one::<CfInstance>).delete(delete::<CfInstance>),
        )
        .route(
            "/v3/service_instances/{guid}/relationships/shared_spaces",
            get(instances::shared_spaces).post(instances::share),
        )
        .route(
            "/v3/service_instances/{guid}/parameters",
            get(instances::parameters),
        )
        .route(
            "/v3/service_credential_bindings",
            get(keys::list).post(create::<CfKey>),
        )
        .route(
            "/v3/service_credential_bindings/{guid}",
            get(get_one::<CfKey>).delete(delete::<CfKey>),
        )
        .route(
            "/v3/service_credential_bindings/{guid}/details",
            get(keys::details),
        )
        .route(
            "/v3/service_credential_bindings/{guid}/parameters",
            get(keys::parameters),
        )
        .route("/v3/jobs/{guid}", get(jobs::get_one))
}

/// The CF error body.
pub(crate) fn error(status: u16, code: u32, title: &str, detail: impl Into<String>) -> Response {
    json_response(
        status,
        json!({"errors": [{"code": code, "title": title, "detail": detail.into()}]}),
    )
}

/// 422 CF-UnprocessableEntity.
pub(crate) fn unprocessable(detail: impl Into<String>) -> Response {
    error(422, 10008, "CF-UnprocessableEntity", detail)
}

/// 404 CF-ResourceNotFound.
pub(crate) fn resource_not_found(detail: impl Into<String>) -> Response {
    error(404, 10010, "CF-ResourceNotFound", detail)
}

/// 404 for unknown paths.
pub(crate) async fn not_found() -> Response {
    error(404, 10000, "CF-NotFound", "Unknown request")
}

/// Checks the bearer token: a CF user token with `cloud_controller.read`.
pub(crate) fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    let Some(token) = bearer(headers) else {
        return Err(error(
            401,
            10002,
            "CF-NotAuthenticated",
            "Authentication error",
        ));
    };
    let invalid = || error(401, 1000, "CF-InvalidAuthToken", "Invalid Auth Token");
    let claims = verify(token).map_err(|_| invalid())?;
    let cf_zone = shared
        .world
        .lock()
        .expect("world lock")
        .auth
        .zones
        .get(CF_ZONE)
        .cloned();
    if cf_zone.as_deref() != Some(claims.zid.as_str()) {
        return Err(invalid());
    }
    if !claims.scope.iter().any(|s| s == "cloud_controller.read") {
        return Err(error(
            403,
            10003,
            "CF-NotAuthorized",
            "You are not authorized to perform the requested action",
        ));
    }
    Ok(())
}

/// A JSON object body, or 400 CF-MessageParseError.
pub(crate) fn object_body(bytes: &Bytes) -> Result<Map<String, Value>, Response> {
    body::object(bytes).ok_or_else(|| {
        error(
            400,
            1001,
            "CF-MessageParseError",
            "Request invalid due to parse error: invalid request body",
        )
    })
}

/// The optional `parameters` object of a create body, or 422.
pub(crate) fn parameters_field(body: &Map<String, Value>) -> Result<Value, Response> {
    body::optional_object(body, "parameters")
        .ok_or_else(|| unprocessable("Parameters must be an object"))
}

/// The `metadata` of a create body, empty labels and annotations when absent.
pub(crate) fn metadata_field(body: &Map<String, Value>) -> Value {
    body.get("metadata")
        .cloned()
        .unwrap_or_else(|| json!({"labels": {}, "annotations": {}}))
}

/// Rejects body keys outside `allowed` with 422, as Cloud Controller does.
pub(crate) fn known_fields(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), Response> {
    let unknown: Vec<String> = body
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| format!("'{k}'"))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(unprocessable(format!(
            "Unknown field(s): {}",
            unknown.join(", ")
        )))
    }
}

/// 202 Accepted, no body, absolute `Location` of the job.
pub(crate) fn accepted(shared: &Shared, job_guid: &str) -> Response {
    let location = shared.urls.cf_href(&format!("/v3/jobs/{job_guid}"));
    let mut response = StatusCode::ACCEPTED.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// `last_operation` of a CF resource.
pub(crate) fn last_operation(op: &CfOp, created: &str) -> Value {
    json!({
        "type": op.kind.word(),
        "state": match (op.pending.done(), op.failed) {
            (false, _) => "in progress",
            (true, false) => "succeeded",
            (true, true) => "failed",
        },
        "description": "",
        "created_at": created,
        "updated_at": created,
    })
}

/// Whether a plan of `offering_guid` is visible in the org `org_guid`.
pub(crate) fn visible_in_org(world: &World, offering_guid: &str, org_guid: &str) -> bool {
    let Some(offering) = world.cf_offerings.iter().find(|o| o.guid == offering_guid) else {
        return false;
    };
    if !offering.needs_entitlement {
        return true;
    }
    world
        .cf_orgs
        .iter()
        .find(|o| o.guid == org_guid)
        .is_some_and(|o| world.tenants[o.tenant].entitled)
}

/// The org of a space.
pub(crate) fn org_of_space(world: &World, space_guid: &str) -> Option<String> {
    world
        .cf_spaces
        .iter()
        .find(|s| s.guid == space_guid)
        .map(|s| s.org_guid.clone())
}
