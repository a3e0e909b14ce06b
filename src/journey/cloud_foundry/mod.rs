//! The Cloud Foundry handle's constructors, the space handle and its journeys; `platform` is
//! a space as a platform of the one executor.

pub(crate) mod platform;

use std::fmt;
use std::sync::Arc;

use tokio::sync::OnceCell;

use super::builder::CredentialsBuilder;
use crate::cloud_foundry::{
    CfLogin, CloudFoundry, ServiceCredentialBinding, ServiceInstance, Space,
};
use crate::error::Result;
use crate::http::HttpClient;
use crate::journey::{CredentialSummary, InstanceListing, RetrieveOptions, Retrieved};
use crate::model::{SpaceId, Tenant};
use crate::setup::{Environment, PlanRequest, Purpose};
use platform::InSpace;

impl CloudFoundry {
    /// Connects with its own transport: finds the login server (`GET /`, skipped when the login
    /// already names it or carries an access token) and prepares the token source for the
    /// login's grant. No token is requested until the first call.
    pub async fn connect(login: CfLogin) -> Result<Self> {
        Self::connect_with(login, HttpClient::new()?).await
    }

    /// The space `space` of org `org` (names compared case-insensitively). Sends nothing: the
    /// names are resolved by the first journey that needs them, once per handle.
    pub fn space(&self, org: impl Into<String>, space: impl Into<String>) -> CfSpace {
        CfSpace::new(
            self.clone(),
            Target::Named {
                org: org.into(),
                space: space.into(),
            },
        )
    }

    /// The space with this GUID (for example from the cf CLI's target): no lookup at all.
    pub fn space_by_id(&self, guid: impl Into<SpaceId>) -> CfSpace {
        let guid = guid.into();
        let known = Space::new(guid.clone(), guid.as_str());
        CfSpace::new(self.clone(), Target::Known(known))
    }
}

/// How the space was named.
#[derive(Debug, Clone)]
enum Target {
    Named { org: String, space: String },
    Known(Space),
}

/// A Cloud Foundry space: where the legacy path keeps an instance and its service keys.
///
/// Made by [`CloudFoundry::space`] or [`CloudFoundry::space_by_id`]; cheap to clone (clones
/// share the connection and the resolved space), `Send + Sync`.
///
/// ```no_run
/// # async fn run(login: calm_credentials::CfLogin, tenant: calm_credentials::Tenant)
/// # -> calm_credentials::Result<()> {
/// use calm_credentials::{CloudFoundry, Purpose};
/// let cf = CloudFoundry::connect(login).await?;
/// let dev = cf.space("ACME-Org", "dev");
/// let got = dev
///     .credentials(&tenant, Purpose::OperationsMonitoring)
///     .instance("calm-api")
///     .name("calm-key")
///     .await?;
/// println!("{}", got.key.redacted_json());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CfSpace {
    cf: CloudFoundry,
    target: Target,
    resolved: Arc<OnceCell<Space>>,
}

impl fmt::Debug for CfSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CfSpace")
            .field("target", &self.target)
            .field("resolved", &self.resolved.get())
            .finish_non_exhaustive()
    }
}

impl CfSpace {
    fn new(cf: CloudFoundry, target: Target) -> Self {
        let resolved = match &target {
            Target::Known(space) => Arc::new(OnceCell::new_with(Some(space.clone()))),
            Target::Named { .. } => Arc::new(OnceCell::new()),
        };
        CfSpace {
            cf,
            target,
            resolved,
        }
    }

    /// The connection this space is reached through.
    pub fn cloud_foundry(&self) -> &CloudFoundry {
        &self.cf
    }

    /// The space's GUID: looked up by org and space name the first time (two requests).
    pub async fn guid(&self) -> Result<SpaceId> {
        Ok(self.resolve().await?.guid.clone())
    }

    /// Finds, and when allowed creates, the instance and service key `purpose` needs for
    /// `tenant` in this space. See [`CredentialsBuilder`] for the settings and defaults.
    pub fn credentials(&self, tenant: &Tenant, purpose: Purpose) -> CredentialsBuilder<'_> {
        CredentialsBuilder::in_space(self, tenant, purpose)
    }

    /// The SAP Cloud ALM API instances in the space with their service keys (no secrets),
    /// oldest first.
    pub async fn list(&self) -> Result<Vec<InstanceListing>> {
        let (space, options) = (self.resolve().await?, RetrieveOptions::default());
        crate::journey::listing::list(&InSpace::new(&self.cf, space, &options)).await
    }

    /// Every service key of every SAP Cloud ALM API instance in the space (no secrets), oldest
    /// first.
    pub async fn discover(&self) -> Result<Vec<CredentialSummary>> {
        let (space, options) = (self.resolve().await?, RetrieveOptions::default());
        crate::journey::listing::discover(&InSpace::new(&self.cf, space, &options)).await
    }

    /// Carries out the plan for `req` in this space.
    pub(crate) async fn retrieve(
        &self,
        req: &PlanRequest,
        opts: &RetrieveOptions,
    ) -> Result<Retrieved> {
        match (&self.target, self.resolved.get()) {
            (Target::Named { org, space }, None) => {
                platform::retrieve(&self.cf, org, space, req, opts).await
            }
            _ => {
                let space = self.resolve().await?;
                platform::retrieve_in(&self.cf, space, req, opts).await
            }
        }
    }

    /// The space, looked up once per handle.
    pub(crate) async fn resolve(&self) -> Result<&Space> {
        self.resolved
            .get_or_try_init(|| async {
                match &self.target {
                    Target::Known(space) => Ok(space.clone()),
                    Target::Named { org, space } => self.cf.find_space(org, space).await,
                }
            })
            .await
    }
}

/// A summary of one key (pure).
pub(crate) fn key_summary(
    instance: &ServiceInstance,
    key: &ServiceCredentialBinding,
) -> CredentialSummary {
    let mut s = CredentialSummary::new(
        key.guid.clone(),
        key.name(),
        instance.guid.clone(),
        Environment::CloudFoundry,
    );
    s.instance_name = Some(instance.name.clone());
    s.created_at = key.created_at;
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_key_summary_names_the_instance() {
        let instance: ServiceInstance =
            serde_json::from_value(json!({"guid": "i2", "name": "b"})).unwrap();
        let key: ServiceCredentialBinding = serde_json::from_value(
            json!({"guid": "k1", "name": "x", "created_at": "2024-05-01T00:00:00Z"}),
        )
        .unwrap();
        let s = key_summary(&instance, &key);
        assert_eq!(s.instance_name.as_deref(), Some("b"));
        assert_eq!(s.instance_id.as_str(), "i2");
        assert!(s.created_at.is_some());
        assert_eq!(s.name, "x");
        assert_eq!(s.environment, Environment::CloudFoundry);
    }
}
