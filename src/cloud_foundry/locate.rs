//! An instance, its space and its org from three names, in one request where possible.
//!
//! `GET /v3/service_instances?names=<instance>&fields[space]=name,guid,relationships.organization&fields[space.organization]=name,guid`
//! lists the instances of that name the user can see, each with its space and that space's org
//! in `included` (Cloud Controller's `fields`; cf-v3-api.md §3, cloud_controller_ng
//! `FieldServiceInstanceSpaceDecorator`). The org and space names are matched here,
//! case-insensitively and preferring an exact match, as [`CloudFoundry::find_space`] does.
//!
//! - **Found in the space**: one request instead of three (org, space, instance).
//! - **No instance of that name anywhere**: the list also covers instances shared into the
//!   spaces the user can read, so none lives in or is shared into the space either; the space is
//!   resolved by name (org, space: two requests) for the create path.
//! - **Instances of that name only elsewhere**: one of them may be **shared into** the space.
//!   `included` names the space an instance lives in, never the spaces it is shared into, so
//!   the space is resolved by name and the instance looked up in it
//!   ([`CloudFoundry::find_instance`], which lists shared instances): three more requests, the
//!   same as before this lookup existed. An instance of that name in the space itself always
//!   wins over a shared one.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::CloudFoundry;
use super::paging::{list_url, next_page_url};
use super::types::{Pagination, ServiceInstance, Space};
use crate::error::Result;

/// The space, and the instance when one of that name is in it (or shared into it).
#[derive(Debug, Clone)]
pub(crate) struct Located {
    /// The space the names lead to.
    pub space: Space,
    /// The instance of that name in the space; `None`: there is none.
    pub instance: Option<ServiceInstance>,
}

/// One page of the list with `fields`.
#[derive(Debug, Default, Deserialize)]
struct Page {
    #[serde(default)]
    pagination: Pagination,
    #[serde(default)]
    resources: Option<Vec<ServiceInstance>>,
    #[serde(default)]
    included: Option<Included>,
}

#[derive(Debug, Default, Deserialize)]
struct Included {
    #[serde(default)]
    spaces: Option<Vec<IncludedSpace>>,
    #[serde(default)]
    organizations: Option<Vec<IncludedOrg>>,
}

#[derive(Debug, Deserialize)]
struct IncludedSpace {
    guid: String,
    /// Absent when the user may not read the space.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    relationships: Option<SpaceRelationships>,
}

#[derive(Debug, Default, Deserialize)]
struct SpaceRelationships {
    #[serde(default)]
    organization: super::types::ToOne,
}

#[derive(Debug, Deserialize)]
struct IncludedOrg {
    guid: String,
    #[serde(default)]
    name: Option<String>,
}

/// What the listing showed: the instances and, by GUID, their spaces (name, org GUID) and orgs.
#[derive(Debug, Default)]
struct Listing {
    instances: Vec<ServiceInstance>,
    spaces: HashMap<String, (Option<String>, Option<String>)>,
    orgs: HashMap<String, Option<String>>,
}

impl Listing {
    fn add(&mut self, page: Page) {
        self.instances.extend(page.resources.unwrap_or_default());
        let included = page.included.unwrap_or_default();
        for s in included.spaces.unwrap_or_default() {
            let org = s
                .relationships
                .and_then(|r| r.organization.guid().map(str::to_owned));
            self.spaces.insert(s.guid, (s.name, org));
        }
        for o in included.organizations.unwrap_or_default() {
            self.orgs.insert(o.guid, o.name);
        }
    }

    /// The instance named exactly `name` whose own space is `space` in org `org` (names matched
    /// case-insensitively, an exact match of both preferred), with that space (pure).
    fn pick(&self, org: &str, space: &str, name: &str) -> Option<(Space, ServiceInstance)> {
        let mut matches: Vec<(bool, Space, &ServiceInstance)> = self
            .instances
            .iter()
            .filter(|i| i.name == name)
            .filter_map(|i| {
                let space_guid = i.relationships.space.guid()?;
                let (space_name, org_guid) = self.spaces.get(space_guid)?;
                let space_name = space_name.as_deref()?;
                let org_name = self.orgs.get(org_guid.as_deref()?)?.as_deref()?;
                let exact = space_name == space && org_name == org;
                let alike = same_name(space_name, space) && same_name(org_name, org);
                alike.then(|| (exact, Space::new(space_guid, space_name), i))
            })
            .collect();
        let best = matches.iter().position(|(exact, _, _)| *exact).unwrap_or(0);
        (!matches.is_empty()).then(|| {
            let (_, space, instance) = matches.swap_remove(best);
            (space, instance.clone())
        })
    }

    fn has_named(&self, name: &str) -> bool {
        self.instances.iter().any(|i| i.name == name)
    }
}

fn same_name(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

impl CloudFoundry {
    /// The space `space` of org `org` (names, case-insensitive) and the instance called exactly
    /// `instance` in it: one request when the instance lives in that space (see the module
    /// docs for the other cases).
    pub(crate) async fn locate_instance(
        &self,
        org: &str,
        space: &str,
        instance: &str,
    ) -> Result<Located> {
        let first = list_url(
            self.api_url(),
            "/v3/service_instances",
            &[
                ("names", &[instance]),
                (
                    "fields[space]",
                    &["name", "guid", "relationships.organization"],
                ),
                ("fields[space.organization]", &["name", "guid"]),
            ],
        )?;
        let mut listing = Listing::default();
        let mut visited = HashSet::from([first.as_str().to_owned()]);
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let page: Page = self.get_json(url).await?;
            next = next_page_url(self.api_url(), &page.pagination, &mut visited)?;
            listing.add(page);
        }
        if let Some((space, instance)) = listing.pick(org, space, instance) {
            return Ok(Located {
                space,
                instance: Some(instance),
            });
        }
        let space = self.find_space(org, space).await?;
        let instance = if listing.has_named(instance) {
            self.find_instance(&space.guid, instance).await?
        } else {
            None
        };
        Ok(Located { space, instance })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn listing(body: serde_json::Value) -> Listing {
        let mut l = Listing::default();
        l.add(serde_json::from_value(body).unwrap());
        l
    }

    fn page() -> serde_json::Value {
        json!({
            "pagination": {"next": null},
            "resources": [
                {"guid": "i-other", "name": "calm", "relationships": {"space": {"data": {"guid": "s2"}}}},
                {"guid": "i-upper", "name": "calm", "relationships": {"space": {"data": {"guid": "s3"}}}},
                {"guid": "i-dev", "name": "calm", "relationships": {"space": {"data": {"guid": "s1"}}}},
                {"guid": "i-hidden", "name": "calm", "relationships": {"space": {"data": {"guid": "s4"}}}},
            ],
            "included": {
                "spaces": [
                    {"guid": "s1", "name": "dev", "relationships": {"organization": {"data": {"guid": "o1"}}}},
                    {"guid": "s2", "name": "dev", "relationships": {"organization": {"data": {"guid": "o2"}}}},
                    {"guid": "s3", "name": "DEV", "relationships": {"organization": {"data": {"guid": "o1"}}}},
                    {"guid": "s4", "relationships": {"organization": {"data": {"guid": "o1"}}}},
                ],
                "organizations": [{"guid": "o1", "name": "ACME"}, {"guid": "o2", "name": "other"}]
            }
        })
    }

    #[test]
    fn picks_the_instance_of_the_named_org_and_space_exact_names_first() {
        let l = listing(page());
        let (space, i) = l.pick("ACME", "dev", "calm").unwrap();
        assert_eq!((space.guid.as_str(), i.guid.as_str()), ("s1", "i-dev"));
        assert_eq!(space.name, "dev");
        let (space, i) = l.pick("acme", "Dev", "calm").unwrap();
        assert_eq!(space.guid.as_str(), "s3", "first case-insensitive match");
        assert_eq!(i.guid.as_str(), "i-upper");
        let (_, i) = l.pick("other", "dev", "calm").unwrap();
        assert_eq!(i.guid.as_str(), "i-other");
    }

    #[test]
    fn no_pick_without_a_readable_match_or_the_exact_instance_name() {
        let l = listing(page());
        assert!(l.pick("ACME", "prod", "calm").is_none());
        assert!(
            l.pick("ACME", "dev", "Calm").is_none(),
            "instance names are exact"
        );
        assert!(l.pick("nobody", "dev", "calm").is_none());
        assert!(l.has_named("calm") && !l.has_named("other"));
        let bare = listing(json!({"resources": [
            {"guid": "i", "name": "calm", "relationships": {"space": {"data": {"guid": "s1"}}}}
        ]}));
        assert!(
            bare.pick("ACME", "dev", "calm").is_none(),
            "no included: no match"
        );
    }
}
