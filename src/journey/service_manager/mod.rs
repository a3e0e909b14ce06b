//! The Service Manager handle's constructors and journeys:
//! - `platform`: the Service Manager as a platform of the one executor (retrieval);
//! - `listing`: every SAP Cloud ALM API instance and binding (list, discover);
//! - `rotate`: new binding, verify, retire the old one (rotate, retire stale);
//! - `fleet`: the fleet runner's bindings of one instance, found in one listing.

pub(crate) mod fleet;
pub(crate) mod listing;
pub(crate) mod platform;
pub(crate) mod rotate;

use std::path::Path;

pub(crate) use listing::{credential_summary, listing, summary_of};
pub use rotate::{Retirement, Rotation, RotationRequest};

use super::builder::{CredentialsBuilder, RetireStaleBuilder, RotateBuilder};
use super::{CredentialSummary, InstanceListing, RetrieveOptions};
use crate::credentials::ServiceKey;
use crate::credentials::runtime::{self, DEFAULT_LABEL, Query};
use crate::error::{Error, Result};
use crate::http::HttpClient;
use crate::model::Tenant;
use crate::service_manager::ServiceManager;
use crate::setup::Purpose;
use platform::OnServiceManager;

/// The variable [`ServiceManager::from_env`] reads first: the path of a Service Manager key
/// file.
const KEY_FILE_VARIABLE: &str = "SERVICE_MANAGER_KEY_FILE";

/// The label of Service Manager bindings injected into a program.
const SERVICE_MANAGER_LABEL: &str = "service-manager";

impl ServiceManager {
    /// A handle on the Service Manager of the subaccount that the key (a binding of the
    /// `service-manager` offering, plan `subaccount-admin`) belongs to, with its own transport.
    ///
    /// Sends nothing: the key's URLs are checked and its OAuth client prepared.
    pub fn from_key(key: &ServiceKey) -> Result<Self> {
        ServiceManager::new(key, HttpClient::new()?)
    }

    /// A handle from the process environment: the key file named by
    /// `SERVICE_MANAGER_KEY_FILE`, else a Service Manager binding injected into the program
    /// (label `service-manager` in `VCAP_SERVICES` or a servicebinding.io folder).
    pub fn from_env() -> Result<Self> {
        if let Some(path) = std::env::var_os(KEY_FILE_VARIABLE).filter(|p| !p.is_empty()) {
            return Self::from_key(&ServiceKey::from_file(Path::new(&path))?);
        }
        let env = runtime::ProcessEnv::from_process().with_standard_default_roots();
        let (key, _) = runtime::find_key(&env, &Query::label(SERVICE_MANAGER_LABEL))?;
        Self::from_key(&key)
    }

    /// The same handle sending every request, token requests included, through `http` (to
    /// share its connection pools, settings and request count).
    pub fn with_http(self, http: HttpClient) -> Self {
        self.rebind(http)
    }

    /// Uses another offering name for listing, discovery and the search for generated
    /// credentials (default `SAPCloudALMAPIs`).
    pub fn with_offering(mut self, offering: impl Into<String>) -> Self {
        self.set_offering(offering.into());
        self
    }

    /// Finds, and when allowed creates, the credentials `purpose` needs for `tenant`.
    /// See [`CredentialsBuilder`] for the settings and defaults.
    pub fn credentials(&self, tenant: &Tenant, purpose: Purpose) -> CredentialsBuilder<'_> {
        CredentialsBuilder::on_service_manager(self, tenant, purpose)
    }

    /// Every SAP Cloud ALM API instance of the subaccount with its bindings (no secrets),
    /// oldest first, instances of other platforms included and marked. Four requests when
    /// instances exist; a subaccount without the entitlement gives an empty list.
    pub async fn list(&self) -> Result<Vec<InstanceListing>> {
        let options = RetrieveOptions::default();
        crate::journey::listing::list(&OnServiceManager::new(self, &options)).await
    }

    /// Every binding of every SAP Cloud ALM API instance in the subaccount, oldest first:
    /// where automatically generated credentials show up.
    pub async fn discover(&self) -> Result<Vec<CredentialSummary>> {
        let options = RetrieveOptions::default();
        crate::journey::listing::discover(&OnServiceManager::new(self, &options)).await
    }

    /// Replaces binding `old` of `instance` with a new binding `new`: created, verified, then
    /// the old one deleted (or kept for a grace period, see [`RotateBuilder::keep_old_for`]).
    pub fn rotate(
        &self,
        instance: impl Into<String>,
        old: impl Into<String>,
        new: impl Into<String>,
    ) -> RotateBuilder<'_> {
        RotateBuilder::new(self, RotationRequest::new(instance, old, new))
    }

    /// Deletes the bindings of `instance` that a rotation kept, once their grace period has
    /// passed; returns what was deleted.
    pub fn retire_stale(&self, instance: impl Into<String>) -> RetireStaleBuilder<'_> {
        RetireStaleBuilder::new(self, instance.into())
    }
}

impl ServiceKey {
    /// The SAP Cloud ALM API credentials injected into this program (label
    /// `SAPCloudALMAPIs` in `VCAP_SERVICES`, or a servicebinding.io folder of that type), found
    /// with the rules of SAP's `@sap/xsenv`. Exactly one must match; see
    /// [`runtime`](crate::runtime) for other queries and sources.
    pub fn from_platform() -> Result<ServiceKey> {
        let env = runtime::ProcessEnv::from_process().with_standard_default_roots();
        match runtime::find_key(&env, &Query::default()) {
            // A servicebinding.io binding without SAP's metadata names its offering only in
            // its `type` file.
            Err(e) if e.is_not_found() => {
                runtime::find_key(&env, &Query::service_type(DEFAULT_LABEL))
            }
            other => other,
        }
        .map(|(key, _)| key)
    }

    /// Reads a key file (a service key, a binding's credentials, or either wrapped in
    /// `{"credentials": …}`).
    pub fn from_file(path: impl AsRef<Path>) -> Result<ServiceKey> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        ServiceKey::from_json(&text)
    }
}
