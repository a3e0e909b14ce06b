//! A stand-in for the Cloud ALM API behind every credential's `endpoints.Api`
//! (`/calm/{subdomain}/api`), so that "the credentials connect" can be proven end to end.
//!
//! # The gateway
//!
//! Every request passes an OAuth resource-server check first, answered in the form of RFC 6750
//! (`WWW-Authenticate: Bearer …`, body `{"error", "error_description"}`):
//! - no bearer token: **401**, `WWW-Authenticate: Bearer realm="SAP Cloud ALM API"`;
//! - a token whose signature does not verify, that has expired, or that was issued by another
//!   identity zone than the tenant's (`iss` is not `{tenant token URL}/oauth/token`, or `zid`
//!   is not the tenant's zone): **401** `invalid_token`;
//! - a token of the tenant's zone that was not issued to a Cloud ALM API client (for example the
//!   Service Manager's), or that lacks a scope the path demands: **403** `insufficient_scope`,
//!   with the text "Token scope `<scope>` missing" that SAP's managed-system checks report
//!   (`reference/cloud-alm.md` §11).
//!
//! Scopes are demanded per path prefix with [`Simulator::require_scope`]
//! (`calm-api.tasks.read` is satisfied by the granted `sapcloudalm!b1.calm-api.tasks.read`);
//! by default nothing beyond a Cloud ALM API client is demanded.
//!
//! # Endpoints (paths below `endpoints.Api`)
//!
//! - `GET /calm-projects/v1/projects`: the tenant's projects (one seeded, `Implementation`).
//! - `GET /calm-tasks/v1/tasks?projectId=…`: the project's tasks (400 without `projectId`, as
//!   SAP's samples always send it).
//! - `POST /calm-tasks/v1/tasks`: creates a task from `{"projectId", "title", "type"?,
//!   "description"?}`; 201 with the task and its new `id`; 400 when `projectId` or `title` is
//!   missing, 404 for an unknown project.
//!
//! Other paths answer 404, other methods on these paths 405. The shapes of task and project
//! objects are reduced to the fields above (the public API has many more).
//!
//! [`Simulator::require_scope`]: super::Simulator::require_scope

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::credentials::MASTER_APP;
use super::faults::json_response;
use super::state::{Shared, new_id};
use super::token::{Claims, bearer, verify};

const REALM: &str = "SAP Cloud ALM API";

/// What the stand-in API keeps: demanded scopes, projects and tasks.
#[derive(Debug, Default)]
pub(crate) struct ApiState {
    /// `(path prefix, scope)` pairs, in the order added.
    scope_rules: Vec<(String, String)>,
    /// `(tenant subdomain, project)`.
    projects: Vec<(String, Value)>,
    /// `(tenant subdomain, task)`.
    tasks: Vec<(String, Value)>,
}

impl ApiState {
    /// Demands `scope` for every path starting with `prefix` (below `endpoints.Api`).
    pub fn require_scope(&mut self, prefix: &str, scope: &str) {
        let prefix = format!("/{}", prefix.trim_start_matches('/'));
        self.scope_rules.push((prefix, scope.to_owned()));
    }

    /// The scopes demanded for `path`: those of every rule whose prefix matches.
    fn demanded(&self, path: &str) -> Vec<&str> {
        self.scope_rules
            .iter()
            .filter(|(prefix, _)| {
                path == prefix || path.starts_with(&format!("{}/", prefix.trim_end_matches('/')))
            })
            .map(|(_, s)| s.as_str())
            .collect()
    }

    fn ensure_projects(&mut self, tenant: &str) {
        if !self.projects.iter().any(|(t, _)| t == tenant) {
            self.projects.push((
                tenant.to_owned(),
                json!({"id": new_id(), "name": "Implementation"}),
            ));
        }
    }
}

/// Any method on `/calm/{subdomain}/api` and below.
pub(crate) async fn api(
    State(shared): State<Arc<Shared>>,
    Path(params): Path<Vec<(String, String)>>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let subdomain = param("subdomain").unwrap_or_default();
    let path = format!("/{}", param("rest").unwrap_or_default());

    let claims = match bearer(&headers) {
        None => return challenge(401, None, None),
        Some(token) => match verify(token) {
            Ok(c) => c,
            Err(reason) => return challenge(401, Some("invalid_token"), Some(&reason)),
        },
    };
    let mut world = shared.world.lock().expect("world lock");
    let Some(tenant) = world.tenant_by_subdomain(&subdomain) else {
        return json_response(
            404,
            json!({"error": "not_found", "error_description": "unknown tenant"}),
        );
    };
    let zone_id = world.tenants[tenant].info.zone_id.clone();
    let issuer = format!("{}/oauth/token", shared.urls.token(&subdomain));
    if claims.iss != issuer || claims.zid != zone_id {
        return challenge(
            401,
            Some("invalid_token"),
            Some("the token was issued by another identity zone than this tenant's"),
        );
    }
    if !claims.client_id.ends_with(&format!("|{MASTER_APP}")) {
        return challenge(
            403,
            Some("insufficient_scope"),
            Some("the token was not issued to an SAP Cloud ALM API client"),
        );
    }
    let demanded: Vec<String> = world
        .calm_api
        .demanded(&path)
        .into_iter()
        .map(str::to_owned)
        .collect();
    if let Some(missing) = demanded.iter().find(|s| !granted(&claims, s)) {
        return challenge(
            403,
            Some("insufficient_scope"),
            Some(&format!("Token scope `{missing}` missing")),
        );
    }
    let state = &mut world.calm_api;
    state.ensure_projects(&subdomain);
    match (path.trim_end_matches('/'), method) {
        ("/calm-projects/v1/projects", Method::GET) => {
            let list: Vec<&Value> = state
                .projects
                .iter()
                .filter(|(t, _)| *t == subdomain)
                .map(|(_, p)| p)
                .collect();
            json_response(200, json!(list))
        }
        ("/calm-tasks/v1/tasks", Method::GET) => list_tasks(state, &subdomain, query.as_deref()),
        ("/calm-tasks/v1/tasks", Method::POST) => create_task(state, &subdomain, &body),
        ("/calm-projects/v1/projects" | "/calm-tasks/v1/tasks", _) => json_response(
            405,
            json!({"error": "method_not_allowed", "error_description": format!("{path} does not accept this method")}),
        ),
        _ => json_response(
            404,
            json!({"error": "not_found", "error_description": format!("no resource at {path}")}),
        ),
    }
}

/// Whether the token carries `scope`, as given or as `sapcloudalm!b1.<scope>`.
fn granted(claims: &Claims, scope: &str) -> bool {
    claims.scope.iter().any(|s| {
        s == scope || s.strip_prefix(MASTER_APP).and_then(|r| r.strip_prefix('.')) == Some(scope)
    })
}

fn list_tasks(state: &ApiState, tenant: &str, query: Option<&str>) -> Response {
    let project = query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "projectId")
            .map(|(_, v)| v.into_owned())
    });
    let Some(project) = project.filter(|p| !p.is_empty()) else {
        return bad_request("the query parameter projectId is required");
    };
    let tasks: Vec<&Value> = state
        .tasks
        .iter()
        .filter(|(t, task)| t == tenant && task["projectId"] == project.as_str())
        .map(|(_, task)| task)
        .collect();
    json_response(200, json!(tasks))
}

fn create_task(state: &mut ApiState, tenant: &str, body: &[u8]) -> Response {
    let Ok(Value::Object(input)) = serde_json::from_slice::<Value>(body) else {
        return bad_request("the body must be a JSON object");
    };
    let text = |k: &str| {
        input
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    };
    let (Some(project), Some(title)) = (text("projectId"), text("title")) else {
        return bad_request("projectId and title are required");
    };
    let known = state
        .projects
        .iter()
        .any(|(t, p)| t == tenant && p["id"] == project);
    if !known {
        return json_response(
            404,
            json!({"error": "not_found", "error_description": format!("project {project} does not exist")}),
        );
    }
    let task = json!({
        "id": new_id(),
        "projectId": project,
        "title": title,
        "type": text("type").unwrap_or("CALMTMPL"),
        "description": text("description"),
    });
    state.tasks.push((tenant.to_owned(), task.clone()));
    json_response(201, task)
}

fn bad_request(message: &str) -> Response {
    json_response(
        400,
        json!({"error": "bad_request", "error_description": message}),
    )
}

/// A 401/403 with RFC 6750's `WWW-Authenticate` and a JSON body.
fn challenge(status: u16, error: Option<&str>, description: Option<&str>) -> Response {
    let mut value = format!("Bearer realm=\"{REALM}\"");
    if let Some(e) = error {
        value.push_str(&format!(", error=\"{e}\""));
    }
    if let Some(d) = description {
        let clean: String = d
            .chars()
            .map(|c| {
                if c == '"' || c == '\\' || c.is_control() {
                    '\''
                } else {
                    c
                }
            })
            .collect();
        value.push_str(&format!(", error_description=\"{clean}\""));
    }
    let body = json!({
        "error": error.unwrap_or("unauthorized"),
        "error_description": description.unwrap_or("a bearer token is required"),
    });
    let mut response = json_response(status, body);
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}
