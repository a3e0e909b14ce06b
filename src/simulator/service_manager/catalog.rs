//! Offerings and plans. The Cloud ALM API offering is visible only to entitled tenants.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use super::{Params, authorize, error, paging, render};
use crate::simulator::Answer;
use crate::simulator::faults::json_response;
use crate::simulator::state::{Shared, World};

fn visible_offerings(world: &World, tenant: usize) -> Vec<(u64, Value)> {
    let t = &world.tenants[tenant];
    world
        .sm_offerings
        .iter()
        .enumerate()
        .filter(|(_, o)| !o.needs_entitlement || t.entitled)
        .map(|(n, o)| (n as u64 + 1, render::offering(o, &t.info.region)))
        .collect()
}

fn visible_plans(world: &World, tenant: usize) -> Vec<(u64, Value)> {
    let offerings: Vec<String> = visible_offerings(world, tenant)
        .into_iter()
        .filter_map(|(_, o)| o["id"].as_str().map(str::to_owned))
        .collect();
    world
        .sm_plans
        .iter()
        .enumerate()
        .filter(|(_, p)| offerings.contains(&p.offering_id))
        .map(|(n, p)| (n as u64 + 1, render::plan(p)))
        .collect()
}

fn list(
    shared: &Shared,
    headers: &HeaderMap,
    query: Option<String>,
    path: &str,
    items: fn(&World, usize) -> Vec<(u64, Value)>,
) -> Answer {
    let tenant = authorize(shared, headers)?;
    let params = Params::parse(query.as_deref());
    let (all, size) = {
        let world = shared.world.lock().expect("world lock");
        (items(&world, tenant), world.settings.page_size)
    };
    paging::answer(all, &params, path, size)
}

fn get_one(
    shared: &Shared,
    headers: &HeaderMap,
    id: &str,
    what: &str,
    items: fn(&World, usize) -> Vec<(u64, Value)>,
) -> Answer {
    let tenant = authorize(shared, headers)?;
    let world = shared.world.lock().expect("world lock");
    items(&world, tenant)
        .into_iter()
        .find(|(_, v)| v["id"] == id)
        .map(|(_, v)| json_response(200, v))
        .ok_or_else(|| error(404, "NotFound", format!("could not find such {what}")))
}

/// `GET /v1/service_offerings`.
pub(crate) async fn list_offerings(
    State(shared): State<Arc<Shared>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Answer {
    list(
        &shared,
        &headers,
        q,
        "/v1/service_offerings",
        visible_offerings,
    )
}

/// `GET /v1/service_offerings/{id}`.
pub(crate) async fn get_offering(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    get_one(
        &shared,
        &headers,
        &id,
        "service_offering",
        visible_offerings,
    )
}

/// `GET /v1/service_plans`.
pub(crate) async fn list_plans(
    State(shared): State<Arc<Shared>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Answer {
    list(&shared, &headers, q, "/v1/service_plans", visible_plans)
}

/// `GET /v1/service_plans/{id}`.
pub(crate) async fn get_plan(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    get_one(&shared, &headers, &id, "service_plan", visible_plans)
}

/// The visible plan a create body names, or the error upstream gives.
pub(crate) fn resolve_plan(
    world: &World,
    tenant: usize,
    body: &serde_json::Map<String, Value>,
) -> Result<String, Response> {
    let by_id = body.get("service_plan_id").and_then(Value::as_str);
    let offering = body.get("service_offering_name").and_then(Value::as_str);
    let plan = body.get("service_plan_name").and_then(Value::as_str);
    let plans = visible_plans(world, tenant);
    let not_found = || error(404, "NotFound", "could not find such service plan");
    match (by_id, offering, plan) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(error(
            400,
            "BadRequest",
            "provide either service_plan_id or service_offering_name and service_plan_name, not both",
        )),
        (Some(id), None, None) => plans
            .iter()
            .any(|(_, p)| p["id"] == id)
            .then(|| id.to_owned())
            .ok_or_else(not_found),
        (None, Some(o), Some(p)) => plan_by_names(world, &plans, o, p).ok_or_else(not_found),
        _ => Err(error(
            400,
            "BadRequest",
            "missing service_plan_id (or service_offering_name and service_plan_name)",
        )),
    }
}

fn plan_by_names(
    world: &World,
    plans: &[(u64, Value)],
    offering: &str,
    plan: &str,
) -> Option<String> {
    let offering_id = &world.sm_offerings.iter().find(|o| o.name == offering)?.id;
    plans
        .iter()
        .find(|(_, p)| p["name"] == plan && p["service_offering_id"] == offering_id.as_str())
        .and_then(|(_, p)| p["id"].as_str().map(str::to_owned))
}
