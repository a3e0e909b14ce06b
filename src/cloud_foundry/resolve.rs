//! Org, space, offering and plan by name.
//!
//! Org and space names are case-insensitive on the server; the answer is matched
//! case-insensitively here too, preferring an exact match. A plan must match exactly once.

// A typed client of the whole API: the journeys use part of it, the contract tests the rest.
#![allow(dead_code)]

use super::CloudFoundry;
use super::paging::{Pages, list_url};
use super::types::{Org, ServicePlan, Space};
use crate::error::{Error, Resource, Result};
use crate::model::{OrgId, SpaceId};

/// Picks the one resource whose name matches `wanted` case-insensitively, preferring an exact
/// match (pure).
pub(crate) fn pick_by_name<'a, T>(
    items: &'a [T],
    wanted: &str,
    name: impl Fn(&T) -> &str,
) -> Option<&'a T> {
    items.iter().find(|i| name(i) == wanted).or_else(|| {
        items
            .iter()
            .find(|i| name(i).to_lowercase() == wanted.to_lowercase())
    })
}

impl CloudFoundry {
    /// The org called `name` (case-insensitive).
    pub(crate) async fn org(&self, name: &str) -> Result<Org> {
        let url = list_url(self.api_url(), "/v3/organizations", &[("names", &[name])])?;
        let orgs: Vec<Org> = Pages::new(self, url).collect_all().await?;
        pick_by_name(&orgs, name, |o| &o.name)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                resource: Resource::Organization,
                name: format!("`{name}`"),
                creatable: false,
                detail: Some(
                    "check the name (cf CLI: `cf orgs`); you must be a member of the org".into(),
                ),
            })
    }

    /// The space called `name` (case-insensitive) in `org`.
    pub(crate) async fn space_in_org(&self, org: &Org, name: &str) -> Result<Space> {
        let url = list_url(
            self.api_url(),
            "/v3/spaces",
            &[
                ("names", &[name]),
                ("organization_guids", &[org.guid.as_str()]),
            ],
        )?;
        let spaces: Vec<Space> = Pages::new(self, url).collect_all().await?;
        pick_by_name(&spaces, name, |s| &s.name)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                resource: Resource::Space,
                name: format!("`{name}` in org `{}`", org.name),
                creatable: false,
                detail: Some(
                    "check the name (cf CLI: `cf spaces`); you need a role in the space".into(),
                ),
            })
    }

    /// The space `space` of org `org`, both by name (two requests).
    pub(crate) async fn find_space(&self, org: &str, space: &str) -> Result<Space> {
        let org = self.org(org).await?;
        self.space_in_org(&org, space).await
    }

    /// The space with this GUID.
    pub(crate) async fn space_by_guid(&self, guid: &SpaceId) -> Result<Space> {
        self.get_json(self.url(&format!("/v3/spaces/{}", guid.as_str()))?)
            .await
    }

    /// The org with this GUID.
    pub(crate) async fn org_by_guid(&self, guid: &OrgId) -> Result<Org> {
        self.get_json(self.url(&format!("/v3/organizations/{}", guid.as_str()))?)
            .await
    }

    /// The plans of `offering` visible in `space` (all plans when `plan` is `None`).
    pub(crate) async fn service_plans(
        &self,
        offering: &str,
        plan: Option<&str>,
        space: Option<&Space>,
    ) -> Result<Vec<ServicePlan>> {
        let plan_names: Vec<&str> = plan.into_iter().collect();
        let space_guids: Vec<&str> = space.map(|s| s.guid.as_str()).into_iter().collect();
        let brokers: Vec<&str> = self.broker().into_iter().collect();
        let url = list_url(
            self.api_url(),
            "/v3/service_plans",
            &[
                ("names", &plan_names),
                ("service_offering_names", &[offering]),
                ("space_guids", &space_guids),
                ("service_broker_names", &brokers),
            ],
        )?;
        Pages::new(self, url).collect_all().await
    }

    /// The one plan `plan` of `offering` visible in `space`: none is
    /// [`Error::EntitlementMissing`], several is [`Error::Ambiguous`] (name the broker with
    /// [`CloudFoundry::with_broker`]).
    pub(crate) async fn service_plan(
        &self,
        offering: &str,
        plan: &str,
        space: Option<&Space>,
    ) -> Result<ServicePlan> {
        let plans = self.service_plans(offering, Some(plan), space).await?;
        one_plan(plans, offering, plan)
    }
}

/// Exactly one plan, or the error that says why not (pure).
pub(crate) fn one_plan(
    mut plans: Vec<ServicePlan>,
    offering: &str,
    plan: &str,
) -> Result<ServicePlan> {
    match plans.len() {
        0 => Err(Error::EntitlementMissing {
            offering: offering.to_owned(),
            plan: plan.to_owned(),
        }),
        1 => Ok(plans.remove(0)),
        _ => Err(Error::Ambiguous {
            what: format!(
                "plan `{plan}` of offering `{offering}` (several service brokers offer it; pass the broker name)"
            ),
            candidates: plans
                .iter()
                .map(|p| {
                    let offering = p.relationships.service_offering.guid().unwrap_or("?");
                    format!("plan {} of offering {offering}", p.guid)
                })
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(guid: &str) -> ServicePlan {
        serde_json::from_value(serde_json::json!({"guid": guid, "name": "standard",
            "relationships": {"service_offering": {"data": {"guid": "o"}}}}))
        .unwrap()
    }

    #[test]
    fn plan_must_match_once() {
        assert!(matches!(
            one_plan(vec![], "SAPCloudALMAPIs", "standard"),
            Err(Error::EntitlementMissing { .. })
        ));
        assert_eq!(
            one_plan(vec![plan("p1")], "o", "standard")
                .unwrap()
                .guid
                .as_str(),
            "p1"
        );
        match one_plan(vec![plan("p1"), plan("p2")], "o", "standard") {
            Err(Error::Ambiguous { what, candidates }) => {
                assert!(what.contains("broker"), "{what}");
                assert_eq!(candidates.len(), 2);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_match_case_insensitively_exact_first() {
        let items = ["Dev", "dev", "DEV2"];
        assert_eq!(pick_by_name(&items, "dev", |s| s), Some(&"dev"));
        assert_eq!(pick_by_name(&items, "DEV", |s| s), Some(&"Dev"));
        assert_eq!(pick_by_name(&items, "prod", |s| s), None);
    }
}
