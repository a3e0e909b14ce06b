//! A Cloud ALM tenant: where it lives and when it was provisioned.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use url::Url;

use super::{Region, SubaccountId};
use crate::error::Result;
use crate::setup::{Environment, PlanRequest, Purpose, SetupPlan};
use crate::tier::{ProvisioningTier, TierFacts, provisioning_tier};

/// A Cloud ALM tenant and the BTP subaccount that holds its Cloud ALM API instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tenant {
    /// Subdomain of the subaccount; the credentials' `uaa.identityzone` must equal it.
    pub subdomain: String,
    /// Data center.
    pub region: Region,
    /// The subaccount id, when known.
    pub subaccount: Option<SubaccountId>,
    /// The provisioning day, when known (it decides the tier).
    pub provisioned_on: Option<NaiveDate>,
    /// The Cloud ALM URL (`https://<tenant>.<region>.alm.cloud.sap`), when known.
    pub url: Option<Url>,
}

impl Tenant {
    /// A tenant with the given subdomain and region.
    pub fn new(subdomain: impl Into<String>, region: impl Into<Region>) -> Self {
        Tenant {
            subdomain: subdomain.into(),
            region: region.into(),
            subaccount: None,
            provisioned_on: None,
            url: None,
        }
    }

    /// Sets the provisioning day: `"2023-01-15".parse()?` (an unreadable date is
    /// [`Error::Config`](crate::Error::Config)), or `date_time.date_naive()` after converting
    /// to UTC.
    pub fn provisioned_on(mut self, day: NaiveDate) -> Self {
        self.provisioned_on = Some(day);
        self
    }

    /// Sets the subaccount id.
    pub fn subaccount(mut self, id: impl Into<SubaccountId>) -> Self {
        self.subaccount = Some(id.into());
        self
    }

    /// Sets the Cloud ALM URL.
    pub fn url(mut self, url: Url) -> Self {
        self.url = Some(url);
        self
    }

    /// The tier, when the provisioning day is known.
    pub fn tier(&self) -> Option<ProvisioningTier> {
        self.provisioned_on.map(provisioning_tier)
    }

    /// Everything the provisioning day tells, when it is known.
    pub fn tier_facts(&self) -> Option<TierFacts> {
        self.provisioned_on.map(TierFacts::for_date)
    }

    /// What remains to be done to get credentials for `purpose` in `environment` (pure: no
    /// request is sent). With an unknown provisioning day the plan looks for what exists and
    /// creates what is missing.
    ///
    /// ```
    /// use calm_credentials::{Environment, Purpose, Region, Tenant};
    /// let tenant = Tenant::new("acme", Region::Eu10).provisioned_on("2023-08-01".parse()?);
    /// let plan = tenant.plan(Purpose::TransportManagement, Environment::ServiceManager)?;
    /// assert!(plan.creates_anything());
    /// println!("{plan}");
    /// # Ok::<(), calm_credentials::Error>(())
    /// ```
    pub fn plan(&self, purpose: Purpose, environment: Environment) -> Result<SetupPlan> {
        SetupPlan::new(&self.plan_request(purpose, environment))
    }

    /// The plan request for `purpose` in `environment`, with default names.
    pub(crate) fn plan_request(&self, purpose: Purpose, environment: Environment) -> PlanRequest {
        match self.provisioned_on {
            Some(day) => PlanRequest::for_date(day, purpose, environment),
            None => PlanRequest::new(None, purpose, environment),
        }
    }

    /// The token server URL of the subaccount (`https://<subdomain>.authentication.<region>.hana.ondemand.com`).
    pub fn token_server(&self) -> String {
        format!("https://{}", self.region.token_host(&self.subdomain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_knows_its_tier_and_token_server() {
        let t = Tenant::new("acme", "cf-eu10")
            .provisioned_on(NaiveDate::from_ymd_opt(2023, 10, 15).unwrap());
        assert_eq!(t.tier(), Some(ProvisioningTier::MonitoringOnly));
        assert_eq!(
            t.token_server(),
            "https://acme.authentication.eu10.hana.ondemand.com"
        );
        assert_eq!(Tenant::new("x", "eu10").tier(), None);
    }
}
