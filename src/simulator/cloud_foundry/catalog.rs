//! Discovery (`GET /`, `/v3`, `/v3/info`), orgs, spaces, and the marketplace.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::paging::{CfQuery, list_page, list_query};
use super::{authorize, org_of_space, resource_not_found, visible_in_org};
use crate::simulator::Answer;
use crate::simulator::faults::json_response;
use crate::simulator::state::{
    CF_ZONE, CfOffering, CfOrg, CfPlan, CfSpace, Shared, World, timestamp,
};

/// When the simulated marketplace was "registered".
const CATALOG_TIME: &str = "2023-01-01T00:00:00Z";
/// Quota guid shown on every org.
const QUOTA_GUID: &str = "00000000-0000-4000-8000-00000000c0de";

fn href(shared: &Shared, path: &str) -> Value {
    json!({"href": shared.urls.cf_href(path)})
}

/// `GET /`: no authentication.
pub(crate) async fn root(State(shared): State<Arc<Shared>>) -> Response {
    let base = shared.urls.cf_href("");
    let uaa = shared.urls.token(CF_ZONE).to_string();
    let host = shared.urls.cf.host_str().unwrap_or("127.0.0.1").to_owned();
    json_response(
        200,
        json!({"links": {
            "self": {"href": base},
            "bits_service": null,
            "cloud_controller_v2": null,
            "cloud_controller_v3": {"href": format!("{base}/v3"), "meta": {"version": "3.180.0"}},
            "network_policy_v0": {"href": format!("{base}/networking/v0/external")},
            "network_policy_v1": {"href": format!("{base}/networking/v1/external")},
            "login": {"href": uaa},
            "uaa": {"href": uaa},
            "credhub": null,
            "routing": {"href": format!("{base}/routing")},
            "logging": {"href": format!("ws://{host}:4443")},
            "log_cache": {"href": format!("{base}/log-cache")},
            "log_stream": {"href": format!("{base}/log-stream")},
            "app_ssh": {"href": format!("{host}:2222"), "meta": {"host_key_fingerprint": "", "oauth_client": "ssh-proxy"}},
        }}),
    )
}

/// `GET /v3`: no authentication.
pub(crate) async fn v3_root(State(shared): State<Arc<Shared>>) -> Response {
    let links: serde_json::Map<String, Value> = [
        ("self", "/v3"),
        ("organizations", "/v3/organizations"),
        ("spaces", "/v3/spaces"),
        ("service_offerings", "/v3/service_offerings"),
        ("service_plans", "/v3/service_plans"),
        ("service_instances", "/v3/service_instances"),
        (
            "service_credential_bindings",
            "/v3/service_credential_bindings",
        ),
        ("jobs", "/v3/jobs"),
    ]
    .into_iter()
    .map(|(k, p)| (k.to_owned(), href(&shared, p)))
    .collect();
    json_response(200, json!({"links": links}))
}

/// `GET /v3/info`: no authentication.
pub(crate) async fn info(State(shared): State<Arc<Shared>>) -> Response {
    json_response(
        200,
        json!({"build": "calm-simulator", "cli_version": {"minimum": "", "recommended": ""},
               "custom": {}, "description": "calm-credentials simulator", "name": "calm-simulator",
               "version": 0, "links": {"self": href(&shared, "/v3/info"), "support": {"href": ""}}}),
    )
}

fn org_json(shared: &Shared, o: &CfOrg) -> Value {
    let t = timestamp(o.created_at);
    json!({
        "guid": o.guid, "created_at": t, "updated_at": t, "name": o.name, "suspended": false,
        "relationships": {"quota": {"data": {"guid": QUOTA_GUID}}},
        "metadata": {"labels": {}, "annotations": {}},
        "links": {
            "self": href(shared, &format!("/v3/organizations/{}", o.guid)),
            "domains": href(shared, &format!("/v3/organizations/{}/domains", o.guid)),
            "default_domain": href(shared, &format!("/v3/organizations/{}/domains/default", o.guid)),
            "quota": href(shared, &format!("/v3/organization_quotas/{QUOTA_GUID}")),
        },
    })
}

fn space_json(shared: &Shared, s: &CfSpace) -> Value {
    let t = timestamp(s.created_at);
    json!({
        "guid": s.guid, "created_at": t, "updated_at": t, "name": s.name,
        "relationships": {"organization": {"data": {"guid": s.org_guid}}, "quota": {"data": null}},
        "metadata": {"labels": {}, "annotations": {}},
        "links": {
            "self": href(shared, &format!("/v3/spaces/{}", s.guid)),
            "organization": href(shared, &format!("/v3/organizations/{}", s.org_guid)),
            "features": href(shared, &format!("/v3/spaces/{}/features", s.guid)),
            "apply_manifest": {"href": shared.urls.cf_href(&format!("/v3/spaces/{}/actions/apply_manifest", s.guid)), "method": "POST"},
        },
    })
}

/// Runs a list: authorize, check parameters, collect, paginate.
fn list(
    shared: &Shared,
    headers: &HeaderMap,
    raw: Option<String>,
    path: &str,
    filters: &[&str],
    collect: impl FnOnce(&World, &CfQuery) -> Vec<Value>,
) -> Answer {
    let query = list_query(shared, headers, raw, filters)?;
    Ok(list_page(shared, &query, path, collect))
}

/// `GET /v3/organizations` (`names` case-insensitive, `guids`).
pub(crate) async fn list_orgs(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Answer {
    list(
        &shared,
        &headers,
        raw,
        "/v3/organizations",
        &["names", "guids"],
        |w, q| {
            w.cf_orgs
                .iter()
                .filter(|o| q.passes("names", &o.name, true) && q.passes("guids", &o.guid, false))
                .map(|o| org_json(&shared, o))
                .collect()
        },
    )
}

/// `GET /v3/organizations/{guid}`.
pub(crate) async fn get_org(
    State(shared): State<Arc<Shared>>,
    Path(guid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize(&shared, &headers)?;
    let world = shared.world.lock().expect("world lock");
    let org = world.cf_orgs.iter().find(|o| o.guid == guid);
    let org = org.ok_or_else(|| resource_not_found("Organization not found"))?;
    Ok(json_response(200, org_json(&shared, org)))
}

/// `GET /v3/spaces` (`names` case-insensitive, `organization_guids`, `guids`).
pub(crate) async fn list_spaces(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Answer {
    let filters = ["names", "organization_guids", "guids"];
    list(&shared, &headers, raw, "/v3/spaces", &filters, |w, q| {
        w.cf_spaces
            .iter()
            .filter(|s| {
                q.passes("names", &s.name, true)
                    && q.passes("organization_guids", &s.org_guid, false)
                    && q.passes("guids", &s.guid, false)
            })
            .map(|s| space_json(&shared, s))
            .collect()
    })
}

/// `GET /v3/spaces/{guid}`.
pub(crate) async fn get_space(
    State(shared): State<Arc<Shared>>,
    Path(guid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize(&shared, &headers)?;
    let world = shared.world.lock().expect("world lock");
    let space = world.cf_spaces.iter().find(|s| s.guid == guid);
    let space = space.ok_or_else(|| resource_not_found("Space not found"))?;
    Ok(json_response(200, space_json(&shared, space)))
}

/// Orgs a marketplace query is about: those of `space_guids`/`organization_guids`, else all.
fn orgs_in_scope(world: &World, q: &CfQuery) -> Vec<String> {
    let mut orgs: Vec<String> = world.cf_orgs.iter().map(|o| o.guid.clone()).collect();
    if let Some(spaces) = q.list("space_guids") {
        let of_spaces: Vec<String> = spaces
            .iter()
            .filter_map(|s| org_of_space(world, s))
            .collect();
        orgs.retain(|o| of_spaces.contains(o));
    }
    if let Some(wanted) = q.list("organization_guids") {
        orgs.retain(|o| wanted.contains(o));
    }
    orgs
}

fn offering_visible(world: &World, offering_guid: &str, orgs: &[String]) -> bool {
    orgs.iter()
        .any(|org| visible_in_org(world, offering_guid, org))
}

fn offering_json(shared: &Shared, o: &CfOffering) -> Value {
    json!({
        "guid": o.guid, "created_at": CATALOG_TIME, "updated_at": CATALOG_TIME, "name": o.name,
        "description": o.description, "available": true, "tags": [], "requires": [],
        "shareable": o.shareable, "documentation_url": null,
        "broker_catalog": {"id": o.catalog_id, "metadata": {"displayName": o.description},
            "features": {"plan_updateable": false, "bindable": true, "instances_retrievable": true,
                         "bindings_retrievable": false, "allow_context_updates": false}},
        "relationships": {"service_broker": {"data": {"guid": o.broker_guid}}},
        "metadata": {"labels": {}, "annotations": {}},
        "links": {
            "self": href(shared, &format!("/v3/service_offerings/{}", o.guid)),
            "service_plans": href(shared, &format!("/v3/service_plans?service_offering_guids={}", o.guid)),
            "service_broker": href(shared, &format!("/v3/service_brokers/{}", o.broker_guid)),
        },
    })
}

/// `GET /v3/service_offerings` (`names`, `space_guids`, `organization_guids`, `available`, `guids`).
pub(crate) async fn list_offerings(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Answer {
    let filters = [
        "names",
        "space_guids",
        "organization_guids",
        "available",
        "guids",
        "service_broker_names",
    ];
    list(
        &shared,
        &headers,
        raw,
        "/v3/service_offerings",
        &filters,
        |w, q| {
            let orgs = orgs_in_scope(w, q);
            w.cf_offerings
                .iter()
                .filter(|o| {
                    q.passes("names", &o.name, false)
                        && q.passes("guids", &o.guid, false)
                        && q.passes("available", "true", false)
                        && q.passes("service_broker_names", &format!("{}-broker", o.name), false)
                        && offering_visible(w, &o.guid, &orgs)
                })
                .map(|o| offering_json(&shared, o))
                .collect()
        },
    )
}

/// `GET /v3/service_offerings/{guid}`: 404 unless a plan of it is visible in one of the user's
/// orgs, as Cloud Controller hides what the user cannot see.
pub(crate) async fn get_offering(
    State(shared): State<Arc<Shared>>,
    Path(guid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize(&shared, &headers)?;
    let world = shared.world.lock().expect("world lock");
    let orgs = orgs_in_scope(&world, &CfQuery::default());
    let offering = world
        .cf_offerings
        .iter()
        .find(|o| o.guid == guid && offering_visible(&world, &o.guid, &orgs))
        .ok_or_else(|| resource_not_found("Service offering not found"))?;
    Ok(json_response(200, offering_json(&shared, offering)))
}

fn plan_json(shared: &Shared, world: &World, p: &CfPlan) -> Value {
    let restricted = world
        .cf_offerings
        .iter()
        .any(|o| o.guid == p.offering_guid && o.needs_entitlement);
    json!({
        "guid": p.guid, "created_at": CATALOG_TIME, "updated_at": CATALOG_TIME, "name": p.name,
        "visibility_type": if restricted { "organization" } else { "public" },
        "available": true, "free": true, "costs": [], "description": format!("{} plan", p.name),
        "maintenance_info": {},
        "broker_catalog": {"id": p.catalog_id, "metadata": {}, "maximum_polling_duration": null,
            "features": {"plan_updateable": false, "bindable": true}},
        "schemas": {"service_instance": {"create": {"parameters": {}}, "update": {"parameters": {}}},
                    "service_binding": {"create": {"parameters": {}}}},
        "relationships": {"service_offering": {"data": {"guid": p.offering_guid}}},
        "metadata": {"labels": {}, "annotations": {}},
        "links": {
            "self": href(shared, &format!("/v3/service_plans/{}", p.guid)),
            "service_offering": href(shared, &format!("/v3/service_offerings/{}", p.offering_guid)),
            "visibility": href(shared, &format!("/v3/service_plans/{}/visibility", p.guid)),
        },
    })
}

/// `GET /v3/service_plans` (`names`, `service_offering_names`, `service_offering_guids`,
/// `space_guids`, `organization_guids`, `available`, `guids`).
pub(crate) async fn list_plans(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Answer {
    let filters = [
        "names",
        "service_offering_names",
        "service_offering_guids",
        "space_guids",
        "organization_guids",
        "available",
        "guids",
        "service_broker_names",
    ];
    list(
        &shared,
        &headers,
        raw,
        "/v3/service_plans",
        &filters,
        |w, q| {
            let orgs = orgs_in_scope(w, q);
            w.cf_plans
                .iter()
                .filter(|p| {
                    let offering = w.cf_offerings.iter().find(|o| o.guid == p.offering_guid);
                    let offering_name = offering.map(|o| o.name.as_str()).unwrap_or_default();
                    q.passes("names", &p.name, false)
                        && q.passes("guids", &p.guid, false)
                        && q.passes("available", "true", false)
                        && q.passes("service_offering_guids", &p.offering_guid, false)
                        && q.passes("service_offering_names", offering_name, false)
                        && q.passes(
                            "service_broker_names",
                            &format!("{offering_name}-broker"),
                            false,
                        )
                        && offering_visible(w, &p.offering_guid, &orgs)
                })
                .map(|p| plan_json(&shared, w, p))
                .collect()
        },
    )
}

/// `GET /v3/service_plans/{guid}`: 404 unless it is visible in one of the user's orgs.
pub(crate) async fn get_plan(
    State(shared): State<Arc<Shared>>,
    Path(guid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize(&shared, &headers)?;
    let world = shared.world.lock().expect("world lock");
    let orgs = orgs_in_scope(&world, &CfQuery::default());
    let plan = world
        .cf_plans
        .iter()
        .find(|p| p.guid == guid && offering_visible(&world, &p.offering_guid, &orgs))
        .ok_or_else(|| resource_not_found("Service plan not found"))?;
    Ok(json_response(200, plan_json(&shared, &world, plan)))
}
