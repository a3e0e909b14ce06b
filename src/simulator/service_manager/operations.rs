//! `GET /v1/{service_instances|service_bindings}/{id}/operations/{op}`.
//!
//! Operations outlive deleted resources here: a finished delete reads `succeeded`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::{authorize, error, render};
use crate::simulator::faults::json_response;
use crate::simulator::state::Shared;

fn operation(shared: &Shared, headers: &HeaderMap, kind: &str, id: &str, op_id: &str) -> Response {
    let tenant = match authorize(shared, headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let mut world = shared.world.lock().expect("world lock");
    world.settle();
    let found = world.sm_operations.iter().find(|op| {
        op.id == op_id && op.resource_id == id && op.resource_type == kind && op.tenant == tenant
    });
    match found {
        Some(op) => json_response(200, render::operation(op)),
        None => error(404, "NotFound", "could not find such operation"),
    }
}

/// Operation of an instance.
pub(crate) async fn instance_operation(
    State(shared): State<Arc<Shared>>,
    Path((id, op)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    operation(&shared, &headers, "service_instances", &id, &op)
}

/// Operation of a binding.
pub(crate) async fn binding_operation(
    State(shared): State<Arc<Shared>>,
    Path((id, op)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    operation(&shared, &headers, "service_bindings", &id, &op)
}
