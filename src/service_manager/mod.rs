//! The SAP Service Manager backend: offerings, plans, instances, bindings and their
//! asynchronous operations (the "Other" environment, SAP's recommended path).
//!
//! - [`ServiceManager`]: the handle (base URL, transport, token source); cheap to clone.
//! - [`query`]: `fieldQuery` / `labelQuery` building with literal quoting.
//! - [`types`]: the wire types, read leniently.
//! - [`Pager`]: lazy paging that replaces the `token` parameter and stops on a repeated token.
//! - [`Mutation`] / [`OperationRef`]: 201 versus 202 + relative `Location`, and waiting on
//!   operations.
//!
//! Every quirk listed in `reference/service-manager-api.md` §11 is handled here or in the
//! orchestrating client ([`crate::journey::service_manager`]).

mod bindings;
mod instances;
mod offerings;
pub(crate) mod operations;
pub(crate) mod paging;
mod query;
mod types;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use url::Url;

pub(crate) use bindings::{LabelChange, NewBinding};
pub(crate) use instances::{NewInstance, ready_or_pending};
pub(crate) use operations::Mutation;
pub(crate) use paging::{ListFilter, Pager};
pub(crate) use query::Query;
#[cfg(test)]
pub(crate) use types::Page;
pub(crate) use types::{Binding, Instance, Plan, Readiness};

use crate::auth::TokenSource;
use crate::credentials::ServiceKey;
use crate::error::{Error, Result};
use crate::http::{HttpClient, Request, Response, check_url};
use crate::setup::DEFAULT_OFFERING;

/// A handle on one subaccount's Service Manager: the recommended path to SAP Cloud ALM API
/// credentials (instances and bindings in the "Other" environment).
///
/// Built from the credentials of a Service Manager binding (plan `subaccount-admin`), whose
/// `sm_url` is the base URL and whose OAuth client gets the tokens. Cheap to clone (clones share
/// the transport and the token cache) and `Send + Sync`, so one handle serves many tasks.
///
/// ```no_run
/// # async fn run() -> calm_credentials::Result<()> {
/// use calm_credentials::{Purpose, ServiceKey, ServiceManager, Tenant};
/// let sm = ServiceManager::from_key(&ServiceKey::from_file("sm-key.json")?)?;
/// let tenant = Tenant::new("acme", "eu10").provisioned_on("2024-03-01".parse()?);
/// let got = sm.credentials(&tenant, Purpose::OperationsMonitoring).await?;
/// for listing in sm.list().await? {
///     println!("{} {}: {} binding(s)", listing.instance.name, listing.state, listing.credentials.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ServiceManager {
    /// Shared: journeys and pagers clone the handle, which costs one reference count.
    inner: Arc<Handle>,
}

#[derive(Clone)]
struct Handle {
    http: HttpClient,
    auth: TokenSource,
    base: Url,
    offering: String,
    plans: Arc<PlanCache>,
}

/// The plans a handle resolved, by (offering, plan) name.
type PlanCache = Mutex<HashMap<(String, String), Arc<OnceCell<Plan>>>>;

impl fmt::Debug for ServiceManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceManager")
            .field("base_url", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

impl ServiceManager {
    /// A client for the Service Manager named by `sm_key` (`sm_url`), authenticating with the
    /// key's OAuth client.
    pub(crate) fn new(sm_key: &ServiceKey, http: HttpClient) -> Result<Self> {
        let base = sm_key.service_manager_url().ok_or_else(|| {
            Error::config(
                "the Service Manager key",
                "it has no `sm_url`, so it is not a Service Manager binding; create a binding of the \
                 `service-manager` offering with plan `subaccount-admin` and pass its credentials",
            )
        })?;
        let auth = TokenSource::from_service_key(sm_key, &http)?;
        Self::with_base_url(base.clone(), auth, http)
    }

    /// A client for the Service Manager at `base` with the given token source (tests, proxies).
    pub(crate) fn with_base_url(base: Url, auth: TokenSource, http: HttpClient) -> Result<Self> {
        check_url(&base, "sm_url")?;
        if base.cannot_be_a_base() {
            return Err(Error::InvalidUrl {
                field: "sm_url".to_owned(),
                reason: "it cannot carry a path; use https://service-manager.cfapps.<region>.hana.ondemand.com".to_owned(),
            });
        }
        Ok(ServiceManager {
            inner: Arc::new(Handle {
                http,
                auth,
                base,
                offering: DEFAULT_OFFERING.to_owned(),
                plans: Arc::default(),
            }),
        })
    }

    /// The same handle with every request, token requests included, sent through `http`.
    pub(crate) fn rebind(mut self, http: HttpClient) -> Self {
        // A handle shared with clones is copied first (`make_mut`): the clones keep theirs.
        let handle = Arc::make_mut(&mut self.inner);
        handle.auth = handle.auth.with_transport(&http);
        handle.http = http;
        self
    }

    /// The cell that holds the plan `plan` of `offering` once it was looked up.
    pub(crate) fn plan_cell(&self, offering: &str, plan: &str) -> Arc<OnceCell<Plan>> {
        let mut plans = self.inner.plans.lock().unwrap_or_else(|e| e.into_inner());
        plans
            .entry((offering.to_owned(), plan.to_owned()))
            .or_default()
            .clone()
    }

    /// The offering listed and discovered (default `SAPCloudALMAPIs`).
    pub(crate) fn offering(&self) -> &str {
        &self.inner.offering
    }

    pub(crate) fn set_offering(&mut self, offering: String) {
        Arc::make_mut(&mut self.inner).offering = offering;
    }

    /// The base URL (`sm_url`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The transport, e.g. for [`HttpClient::request_count`].
    pub fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// `{base}/v1/{collection}[/{id}[/{tail…}]]`, each segment percent-encoded.
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("v1").extend(segments);
        }
        url
    }

    /// Sends a request with the Service Manager token.
    pub(crate) async fn send(&self, request: Request) -> Result<Response> {
        self.inner.http.send(request, Some(&self.inner.auth)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn sm(base: &str) -> ServiceManager {
        ServiceManager::with_base_url(
            Url::parse(base).unwrap(),
            TokenSource::static_token(SecretString::from("t")),
            HttpClient::new().unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn urls_are_joined_and_encoded() {
        let s = sm("https://sm.example");
        assert_eq!(
            s.url(&["service_instances", "a/b c"]).as_str(),
            "https://sm.example/v1/service_instances/a%2Fb%20c"
        );
        let s = sm("https://sm.example/prefix/");
        assert_eq!(
            s.url(&["service_bindings"]).as_str(),
            "https://sm.example/prefix/v1/service_bindings"
        );
    }

    #[test]
    fn plain_http_is_refused_off_loopback() {
        let r = ServiceManager::with_base_url(
            Url::parse("http://sm.example").unwrap(),
            TokenSource::static_token(SecretString::from("t")),
            HttpClient::new().unwrap(),
        );
        assert!(r.is_err());
        let s = ServiceManager::with_base_url(
            Url::parse("http://127.0.0.1:1").unwrap(),
            TokenSource::static_token(SecretString::from("hunter2")),
            HttpClient::new().unwrap(),
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
