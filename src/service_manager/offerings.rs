//! Offerings and plans by name: where a missing entitlement shows.

use super::ServiceManager;
use super::paging::ListFilter;
use super::query::Query;
use super::types::{Offering, Plan};
use crate::error::{Error, Result};
use crate::model::OfferingId;

impl ServiceManager {
    /// The offerings called `name` (several when SAP offers one per data center).
    pub(crate) async fn find_offerings(&self, name: &str) -> Result<Vec<Offering>> {
        self.list_offerings(ListFilter::field(Query::new().eq("name", name)))
            .all()
            .await
    }

    /// Offerings matching `filter`, page by page.
    pub(crate) fn list_offerings(&self, filter: ListFilter) -> super::Pager<Offering> {
        super::Pager::new(self, "service_offerings", &filter)
    }

    /// Plans matching `filter`, page by page.
    pub(crate) fn list_plans(&self, filter: ListFilter) -> super::Pager<Plan> {
        super::Pager::new(self, "service_plans", &filter)
    }

    /// Every plan of these offerings (one request for all of them).
    pub(crate) async fn plans_of(&self, offerings: &[OfferingId]) -> Result<Vec<Plan>> {
        let ids = offerings.iter().map(OfferingId::as_str);
        self.list_plans(ListFilter::field(
            Query::new().eq_any("service_offering_id", ids),
        ))
        .all()
        .await
    }

    /// The plan `plan` of offering `offering` (two requests).
    ///
    /// No such offering or plan → [`Error::EntitlementMissing`] (the entitlement is not
    /// assigned to the subaccount); several plans → [`Error::Ambiguous`].
    ///
    /// Looked up once per handle (and its clones): concurrent callers share the one lookup, and
    /// a found plan is remembered; a failed lookup is not, so a later call sees a new
    /// entitlement.
    pub(crate) async fn resolve_plan(&self, offering: &str, plan: &str) -> Result<Plan> {
        let cell = self.plan_cell(offering, plan);
        cell.get_or_try_init(|| self.look_up_plan(offering, plan))
            .await
            .cloned()
    }

    async fn look_up_plan(&self, offering: &str, plan: &str) -> Result<Plan> {
        let missing = || Error::EntitlementMissing {
            offering: offering.to_owned(),
            plan: plan.to_owned(),
        };
        let offerings = self.find_offerings(offering).await?;
        if offerings.is_empty() {
            return Err(missing());
        }
        let ids: Vec<&str> = offerings.iter().map(|o| o.id.as_str()).collect();
        let query = Query::new()
            .eq("name", plan)
            .eq_any("service_offering_id", ids);
        let mut plans = self.list_plans(ListFilter::field(query)).all().await?;
        match plans.len() {
            0 => Err(missing()),
            1 => Ok(plans.remove(0)),
            _ => Err(Error::Ambiguous {
                what: format!("plan `{plan}` of offering `{offering}`"),
                candidates: plans.iter().map(|p| p.id.to_string()).collect(),
            }),
        }
    }
}
