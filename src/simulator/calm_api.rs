//! A trivial protected stand-in for the Cloud ALM API behind every credential's `endpoints.Api`.
//!
//! `GET /calm/{subdomain}/api[/...]` answers 200 with what the token says (tenant, client id,
//! scopes) when the bearer token is valid and was issued in that tenant's zone to a Cloud ALM API
//! client; otherwise 401 (no or bad token) or 403 (another tenant's or another service's token).
//! Enough for a "Test Service Key" style check.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

use super::credentials::MASTER_APP;
use super::faults::json_response;
use super::state::Shared;
use super::token::{bearer, verify};

/// `GET /calm/{subdomain}/api` and everything below it.
pub(crate) async fn api(
    State(shared): State<Arc<Shared>>,
    Path(params): Path<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let subdomain = params
        .iter()
        .find(|(k, _)| k == "subdomain")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let path = params
        .iter()
        .find(|(k, _)| k == "rest")
        .map(|(_, v)| format!("/{v}"))
        .unwrap_or_default();
    let claims = match bearer(&headers).map(verify) {
        Some(Ok(c)) => c,
        Some(Err(reason)) => return unauthorized(&reason),
        None => return unauthorized("missing bearer token"),
    };
    let zone_id = {
        let world = shared.world.lock().expect("world lock");
        world
            .tenant_by_subdomain(&subdomain)
            .map(|t| world.tenants[t].info.zone_id.clone())
    };
    let Some(zone_id) = zone_id else {
        return json_response(
            404,
            json!({"error": "not_found", "message": "unknown tenant"}),
        );
    };
    let calm_client = claims.client_id.ends_with(&format!("|{MASTER_APP}"));
    if claims.zid != zone_id || !calm_client {
        return json_response(
            403,
            json!({"error": "forbidden",
            "message": "token was not issued to a Cloud ALM API client of this tenant"}),
        );
    }
    json_response(
        200,
        json!({"tenant": subdomain, "path": path, "client_id": claims.client_id,
               "scopes": claims.scope}),
    )
}

fn unauthorized(reason: &str) -> Response {
    json_response(401, json!({"error": "unauthorized", "message": reason}))
}
