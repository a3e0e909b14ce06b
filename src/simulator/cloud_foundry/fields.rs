//! `fields[…]` on `GET /v3/service_instances`: the parents of the listed instances in `included`,
//! each with only the fields asked for.
//!
//! As cloud_controller_ng (3bbba90698) does it: `ServiceInstancesListMessage` accepts the
//! resources and keys of [`ALLOWED`] (anything else is 400 CF-BadQueryParameter); one decorator
//! per resource (`FieldServiceInstanceSpaceDecorator`, `…OrganizationDecorator`, `…Plan…`,
//! `…Offering…`, `…Broker…`) adds `included.<plural>` built from the instances **of the page**:
//! the parents of each instance's own space (not the spaces it is shared into), without
//! duplicates, ordered by creation time then GUID. The simulated user may read every space and
//! org, so names are always shown.

use std::collections::HashMap;

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::error;
use super::paging::CfQuery;
use crate::simulator::state::World;

/// The resources `fields` may name, and the keys each allows.
pub(crate) const ALLOWED: [(&str, &[&str]); 5] = [
    ("space", &["guid", "name", "relationships.organization"]),
    ("space.organization", &["name", "guid"]),
    (
        "service_plan",
        &["guid", "name", "relationships.service_offering"],
    ),
    (
        "service_plan.service_offering",
        &[
            "name",
            "guid",
            "description",
            "documentation_url",
            "tags",
            "relationships.service_broker",
        ],
    ),
    (
        "service_plan.service_offering.service_broker",
        &["name", "guid"],
    ),
];

/// The `fields[resource]=key,key` parameters of one request.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    asked: HashMap<String, Vec<String>>,
}

/// The `fields…` parameter names of a query, so the unknown-parameter check lets them through.
pub(crate) fn parameter_names(query: &CfQuery) -> Vec<String> {
    query
        .keys()
        .filter(|k| *k == "fields" || k.starts_with("fields["))
        .map(str::to_owned)
        .collect()
}

fn bad(detail: String) -> Response {
    error(
        400,
        10005,
        "CF-BadQueryParameter",
        format!("The query parameter is invalid: {detail}"),
    )
}

impl Fields {
    /// Reads and checks the `fields` parameters (Cloud Controller's `FieldsValidator`).
    pub(crate) fn parse(query: &CfQuery) -> Result<Fields, Response> {
        let mut asked = HashMap::new();
        for name in parameter_names(query) {
            let Some(resource) = name
                .strip_prefix("fields[")
                .and_then(|r| r.strip_suffix(']'))
            else {
                return Err(bad("Fields must be an object".into()));
            };
            let Some((_, allowed)) = ALLOWED.iter().find(|(r, _)| *r == resource) else {
                let valid: Vec<String> = ALLOWED.iter().map(|(r, _)| format!("'{r}'")).collect();
                return Err(bad(format!(
                    "Fields [{resource}] valid resources are: {}",
                    valid.join(", ")
                )));
            };
            let keys: Vec<String> = query
                .list(&name)
                .unwrap_or_default()
                .into_iter()
                .filter(|k| !k.is_empty())
                .collect();
            if keys.iter().any(|k| !allowed.contains(&k.as_str())) {
                let valid: Vec<String> = allowed.iter().map(|k| format!("'{k}'")).collect();
                return Err(bad(format!(
                    "Fields valid keys for '{resource}' are: {}",
                    valid.join(", ")
                )));
            }
            asked.insert(resource.to_owned(), keys);
        }
        Ok(Fields { asked })
    }

    /// The keys asked for `resource`; `None` when its decorator does not run (none asked).
    fn keys(&self, resource: &str) -> Option<&[String]> {
        self.asked
            .get(resource)
            .filter(|k| !k.is_empty())
            .map(Vec::as_slice)
    }

    /// The `included` object for the instances of one page, `None` when nothing was asked.
    pub(crate) fn included(&self, world: &World, page: &[Value]) -> Option<Value> {
        let mut included = Map::new();
        let space_guids = unique(page.iter().map(|i| related(i, "space")));
        let spaces: Vec<_> = sorted(
            world
                .cf_spaces
                .iter()
                .filter(|s| space_guids.contains(&s.guid.as_str()))
                .map(|s| ((s.created_at, s.guid.clone()), s))
                .collect(),
        );
        if let Some(keys) = self.keys("space") {
            let views = spaces.iter().map(|s| {
                let mut v = Map::new();
                pick(&mut v, keys, "guid", || json!(s.guid));
                pick(&mut v, keys, "name", || json!(s.name));
                pick(
                    &mut v,
                    keys,
                    "relationships.organization",
                    || json!({"organization": {"data": {"guid": s.org_guid}}}),
                );
                Value::Object(v)
            });
            included.insert("spaces".into(), views.collect());
        }
        if let Some(keys) = self.keys("space.organization") {
            let org_guids = unique(spaces.iter().map(|s| Some(s.org_guid.as_str())));
            let orgs = sorted(
                world
                    .cf_orgs
                    .iter()
                    .filter(|o| org_guids.contains(&o.guid.as_str()))
                    .map(|o| ((o.created_at, o.guid.clone()), o))
                    .collect(),
            );
            let views = orgs.iter().map(|o| {
                let mut v = Map::new();
                pick(&mut v, keys, "guid", || json!(o.guid));
                pick(&mut v, keys, "name", || json!(o.name));
                Value::Object(v)
            });
            included.insert("organizations".into(), views.collect());
        }
        self.include_catalog(world, page, &mut included);
        (!included.is_empty()).then_some(Value::Object(included))
    }

    /// Plans, offerings and brokers. Every simulated instance is managed; the catalog was
    /// seeded at one moment, so its seeding order stands for the creation order.
    fn include_catalog(&self, world: &World, page: &[Value], included: &mut Map<String, Value>) {
        if page.is_empty() {
            return;
        }
        let plan_guids = unique(page.iter().map(|i| related(i, "service_plan")));
        let plans: Vec<_> = world
            .cf_plans
            .iter()
            .filter(|p| plan_guids.contains(&p.guid.as_str()))
            .collect();
        let offering_guids = unique(plans.iter().map(|p| Some(p.offering_guid.as_str())));
        let offerings: Vec<_> = world
            .cf_offerings
            .iter()
            .filter(|o| offering_guids.contains(&o.guid.as_str()))
            .collect();
        if let Some(keys) = self.keys("service_plan") {
            let views = plans.iter().map(|p| {
                let mut v = Map::new();
                pick(&mut v, keys, "guid", || json!(p.guid));
                pick(&mut v, keys, "name", || json!(p.name));
                pick(
                    &mut v,
                    keys,
                    "relationships.service_offering",
                    || json!({"service_offering": {"data": {"guid": p.offering_guid}}}),
                );
                Value::Object(v)
            });
            included.insert("service_plans".into(), views.collect());
        }
        if let Some(keys) = self.keys("service_plan.service_offering") {
            let views = offerings.iter().map(|o| {
                let mut v = Map::new();
                pick(&mut v, keys, "name", || json!(o.name));
                pick(&mut v, keys, "guid", || json!(o.guid));
                pick(&mut v, keys, "description", || json!(o.description));
                pick(&mut v, keys, "tags", || json!([]));
                pick(&mut v, keys, "documentation_url", || Value::Null);
                pick(
                    &mut v,
                    keys,
                    "relationships.service_broker",
                    || json!({"service_broker": {"data": {"guid": o.broker_guid}}}),
                );
                Value::Object(v)
            });
            included.insert("service_offerings".into(), views.collect());
        }
        if let Some(keys) = self.keys("service_plan.service_offering.service_broker") {
            let views = offerings.iter().map(|o| {
                let mut v = Map::new();
                pick(&mut v, keys, "name", || json!(format!("{}-broker", o.name)));
                pick(&mut v, keys, "guid", || json!(o.broker_guid));
                Value::Object(v)
            });
            included.insert("service_brokers".into(), views.collect());
        }
    }
}

/// The GUID in `relationships.<name>.data.guid` of a resource.
fn related<'a>(resource: &'a Value, name: &str) -> Option<&'a str> {
    resource["relationships"][name]["data"]["guid"].as_str()
}

fn unique<'a>(guids: impl Iterator<Item = Option<&'a str>>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for g in guids.flatten() {
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out
}

fn sorted<K: Ord, T>(mut items: Vec<(K, T)>) -> Vec<T> {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items.into_iter().map(|(_, t)| t).collect()
}

/// Adds `field` (a `relationships.x` key adds under `relationships`) when it was asked for.
fn pick(
    view: &mut Map<String, Value>,
    keys: &[String],
    field: &str,
    value: impl FnOnce() -> Value,
) {
    if !keys.iter().any(|k| k == field) {
        return;
    }
    match field.strip_prefix("relationships.") {
        Some(_) => {
            view.insert("relationships".into(), value());
        }
        None => {
            view.insert(field.into(), value());
        }
    }
}
