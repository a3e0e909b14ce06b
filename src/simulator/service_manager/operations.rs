//! Operations: how a mutation is answered (sync or 202 + `Location`), their bookkeeping, and
//! `GET /v1/{service_instances|service_bindings}/{id}/operations/{op}`.
//!
//! Operations outlive deleted resources here: a finished delete reads `succeeded`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::resource::Resource;
use super::{Params, authorize, error, render};
use crate::simulator::Answer;
use crate::simulator::faults::json_response;
use crate::simulator::state::{OpKind, Pending, Shared, SmOperation, World, new_id};
use crate::simulator::types::AsyncMode;

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
        failure: None,
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

/// `GET /v1/{kind}/{id}/operations/{op}`.
pub(crate) async fn get_one<R: Resource>(
    State(shared): State<Arc<Shared>>,
    Path((id, op_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    let tenant = authorize(&shared, &headers)?;
    let world = shared.settled_world();
    world
        .sm_operations
        .iter()
        .find(|op| {
            op.id == op_id
                && op.resource_id == id
                && op.resource_type == R::KIND
                && op.tenant == tenant
        })
        .map(|op| json_response(200, render::operation(&world, op)))
        .ok_or_else(|| error(404, "NotFound", "could not find such operation"))
}
