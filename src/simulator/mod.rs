//! An in-process, loopback-only stand-in for the token server (XSUAA/UAA), the SAP Service
//! Manager REST API and the Cloud Foundry v3 API (feature `simulator`).
//!
//! It speaks the wire formats of `reference/` (status codes, bodies, headers and quirks), seeds
//! tenants by provisioning date with exactly the credentials their tier promises, runs
//! asynchronous operations for a configurable time, pages lists, injects faults on demand and
//! logs every request it served. Use it from end-to-end tests, benchmarks, examples, or as a test
//! double in downstream crates.
//!
//! # URL layout
//! Two listeners on `127.0.0.1`:
//! - main listener `http://127.0.0.1:P/`:
//!   - Service Manager at the root ([`Simulator::sm_url`], paths `/v1/...`);
//!   - token server of zone `Z` at `/auth/Z` ([`Simulator::token_url`]; endpoint
//!     `/auth/Z/oauth/token`), the simulated mTLS `certurl` at `/auth-cert/Z`;
//!     zones are the tenants' subdomains and `uaa` (Cloud Foundry users);
//!   - the Cloud ALM API stand-in of tenant `S` at `/calm/S/api` (`endpoints.Api`): a gateway
//!     checking the bearer token (signature, expiry, issuer, scopes per path prefix with
//!     [`Simulator::require_scope`]) before projects and tasks endpoints.
//! - Cloud Foundry listener `http://127.0.0.1:Q/` ([`Simulator::cf_api_url`]): `GET /`, `/v3/...`.
//!
//! # Default tenants
//! `calm-auto` (2024-03-01, automatic), `calm-monitoring` (2023-08-01, monitoring-only) and
//! `calm-manual` (2023-01-15, manual), all in `eu10`. See the `seed` module docs for what each
//! holds: instance `cloud-alm-api`, SM binding `cloud-alm-api-binding`, CF key
//! `cloud-alm-api-key` in space `dev` for the first two tiers; nothing (and no entitlement)
//! for the manual tier.
//!
//! # Rate limits
//! Off by default. [`SimulatorBuilder::rate_limits`] (or [`Simulator::set_rate_limits`]) makes
//! the Service Manager enforce SAP's limits per OAuth client id ([`ServerLimits`], with a
//! configurable length of a minute), answering 429 with `Retry-After`; every
//! [`RequestRecord`] carries its arrival time and the client it counted against.
//!
//! # Simulator conventions
//! Monitoring-only credentials carry the made-up scopes `sapcloudalm!b1.calm-api.monitoring.push`
//! and `sapcloudalm!b1.calm-api.monitoring.read`; an instance's `$XSMASTERAPPNAME.<scope>`
//! authorities become `sapcloudalm!b1.<scope>` in tokens. Tokens are RS256 JWTs signed with an
//! embedded, published, test-only key.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> calm_credentials::Result<()> {
//! use calm_credentials::simulator::Simulator;
//! use calm_credentials::Purpose;
//! let sim = Simulator::start().await?;
//! let tenant = sim.tenant("calm-auto")?;            // provisioned 2024-03-01: automatic tier
//! let sm = sim.service_manager("calm-auto")?;       // a ServiceManager handle on its subaccount
//! let got = sm.credentials(&tenant, Purpose::OperationsMonitoring).await?;
//! assert_eq!(got.instance.name, "cloud-alm-api");
//! let cf = sim.cloud_foundry().await?;              // a CloudFoundry handle, logged in
//! let listed = cf.space("calm-auto", "dev").list().await?;
//! assert_eq!(listed.len(), 1);
//! # Ok(()) }
//! ```

// Handlers bail out with a ready-made error `Response`; its size is irrelevant on a test server.
#![allow(clippy::result_large_err)]

mod body;
mod builder;
mod calm_api;
mod cloud_foundry;
mod credentials;
mod faults;
mod keys;
mod log;
mod rate_limit;
mod seed;
mod service_manager;
mod state;
mod token;
mod types;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use url::Url;

use crate::cloud_foundry::{CfCredentials, CfLogin, CloudFoundry, ConfigSource};
use crate::credentials::ServiceKey;
use crate::model::Tenant;
use crate::service_manager::ServiceManager;

pub use builder::SimulatorBuilder;
pub use faults::{Fault, FaultRule, RetryAfter};
pub use rate_limit::{LimitRetryAfter, ServerLimits};
pub use types::{
    AsyncMode, OperationErrors, OperationFailure, PendingVisibility, Refusals, RequestRecord,
    Server, TenantInfo, TenantSpec,
};

use state::{CF_ZONE, Shared, World};

/// What a handler gives back: `Err` is an error answer, so handlers can bail out with `?`.
type Answer = Result<axum::response::Response, axum::response::Response>;

/// A running simulator. It stops serving when dropped.
#[derive(Debug)]
pub struct Simulator {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the world: it holds secrets.
        f.debug_struct("Shared")
            .field("urls", &self.urls)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Starts a simulator with the three default tenants on free ports.
    pub async fn start() -> crate::Result<Simulator> {
        Self::builder().start().await
    }

    /// A builder for tenants, ports and tunables.
    pub fn builder() -> SimulatorBuilder {
        SimulatorBuilder::default()
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.shared.world.lock().expect("world lock")
    }

    /// The seeded tenants, in seeding order.
    pub fn tenants(&self) -> Vec<TenantInfo> {
        self.world()
            .tenants
            .iter()
            .map(|t| t.info.clone())
            .collect()
    }

    /// The Service Manager base URL (paths `/v1/...`).
    pub fn sm_url(&self) -> Url {
        self.shared.urls.sm.clone()
    }

    /// The Cloud Foundry API root (`GET /` discovery, `/v3/...`).
    pub fn cf_api_url(&self) -> Url {
        self.shared.urls.cf.clone()
    }

    /// Token server base of an identity zone (a tenant subdomain, or `uaa` for Cloud Foundry);
    /// the endpoint is `{this}/oauth/token`.
    pub fn token_url(&self, zone: &str) -> Url {
        self.shared.urls.token(zone)
    }

    /// A seeded tenant as the crate models it: subdomain, region, subaccount and
    /// provisioning day.
    pub fn tenant(&self, subdomain: &str) -> crate::Result<Tenant> {
        let info = self
            .tenants()
            .into_iter()
            .find(|t| t.subdomain == subdomain)
            .ok_or_else(|| unknown_tenant(subdomain))?;
        Ok(Tenant::new(info.subdomain, info.region.as_str())
            .subaccount(info.subaccount_id)
            .provisioned_on(info.provisioned_on))
    }

    /// A [`ServiceManager`] handle on a tenant's subaccount, with its own transport.
    pub fn service_manager(&self, subdomain: &str) -> crate::Result<ServiceManager> {
        let key = self
            .sm_key(subdomain)
            .ok_or_else(|| unknown_tenant(subdomain))?;
        ServiceManager::from_key(&key)
    }

    /// A [`CloudFoundry`] handle logged in as the simulator's one user (one request: `GET /`).
    pub async fn cloud_foundry(&self) -> crate::Result<CloudFoundry> {
        CloudFoundry::connect(self.cf_login()).await
    }

    /// The Service Manager binding credentials of a tenant's subaccount (`clientid`,
    /// `clientsecret`, `url`, `sm_url`, `xsappname`).
    pub fn sm_key(&self, subdomain: &str) -> Option<ServiceKey> {
        let value = self.sm_key_json(subdomain)?;
        ServiceKey::from_value(value).ok()
    }

    fn sm_key_json(&self, subdomain: &str) -> Option<Value> {
        let world = self.world();
        let t = &world.tenants[world.tenant_by_subdomain(subdomain)?];
        let xsappname = t.sm_client_id.trim_start_matches("sb-");
        Some(json!({
            "clientid": t.sm_client_id,
            "clientsecret": t.sm_secret,
            "url": self.shared.urls.token(&t.info.subdomain).as_str().trim_end_matches('/'),
            "sm_url": self.shared.urls.sm.as_str().trim_end_matches('/'),
            "xsappname": xsappname,
        }))
    }

    /// How to log in to the Cloud Foundry API as the simulator's one user (password grant),
    /// targeting the first tenant's org and the space every org has (`dev`).
    pub fn cf_login(&self) -> CfLogin {
        let world = self.world();
        let user = &world.auth.user;
        let credentials = CfCredentials::Password {
            username: user.username.clone(),
            password: SecretString::from(user.password.clone()),
            origin: user.origin.clone(),
        };
        CfLogin {
            api_url: self.shared.urls.cf.clone(),
            credentials,
            credentials_from: ConfigSource::Explicit,
            login_url: None,
            org: world.cf_orgs.first().map(|o| o.name.clone()),
            org_guid: None,
            space: Some(seed::SPACE.to_owned()),
            space_guid: None,
        }
    }

    /// The names of the Cloud Foundry orgs (one per tenant).
    pub fn cf_orgs(&self) -> Vec<String> {
        self.world()
            .cf_orgs
            .iter()
            .map(|o| o.name.clone())
            .collect()
    }

    /// Every request served so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.log.lock().expect("log lock").clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.shared.log.lock().expect("log lock").clear();
    }

    /// Adds a fault rule; rules are tried in the order added.
    pub fn inject(&self, rule: FaultRule) {
        self.shared.faults.lock().expect("fault lock").push(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.faults.lock().expect("fault lock").clear();
    }

    /// Enforces the Service Manager's rate limits from now on (counters start empty), or stops
    /// enforcing them with `None`. See [`SimulatorBuilder::rate_limits`].
    pub fn set_rate_limits(&self, limits: Option<ServerLimits>) {
        *self.shared.limits.lock().expect("limits lock") = limits.map(rate_limit::Enforcer::new);
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, d: Duration) {
        self.world().settings.token_lifetime = d;
    }

    /// Entitles a tenant's subaccount: the Cloud ALM API offering and plan become visible in the
    /// Service Manager and the CF marketplace of its org. Unknown subdomains are ignored.
    pub fn configure_entitlement(&self, subdomain: &str) {
        let mut world = self.world();
        if let Some(t) = world.tenant_by_subdomain(subdomain) {
            world.tenants[t].entitled = true;
        }
    }

    /// Makes the Cloud ALM API stand-in demand `scope` (without the `sapcloudalm!b1.` prefix,
    /// e.g. `calm-api.tasks.read`) for every path below `endpoints.Api` that starts with
    /// `path_prefix` (e.g. `/calm-tasks`). A token without it gets 403 `insufficient_scope`.
    /// Rules add up; there are none at the start.
    pub fn require_scope(&self, path_prefix: &str, scope: &str) {
        self.world().calm_api.require_scope(path_prefix, scope);
    }

    /// Sets the broker catalog's `shareable` of the Cloud Foundry offering `offering` (false for
    /// every seeded offering): only instances of a shareable offering can be shared into other
    /// spaces (`POST /v3/service_instances/:guid/relationships/shared_spaces`). Unknown names are
    /// ignored.
    pub fn set_cf_shareable(&self, offering: &str, shareable: bool) {
        let mut world = self.world();
        for o in world.cf_offerings.iter_mut().filter(|o| o.name == offering) {
            o.shareable = shareable;
        }
    }

    /// Default page size of Service Manager and Cloud Foundry lists when the client sends none.
    pub fn set_page_size(&self, n: usize) {
        self.world().settings.page_size = n.max(1);
    }

    /// How Service Manager mutations answer.
    pub fn set_async_mode(&self, mode: AsyncMode) {
        self.world().settings.async_mode = mode;
    }

    /// How long creates and deletes started from now on stay in progress.
    pub fn set_operation_duration(&self, d: Duration) {
        self.world().settings.op_duration = d;
    }

    /// How the Service Manager shows resources still being created.
    pub fn set_pending_visibility(&self, v: PendingVisibility) {
        self.world().settings.pending = v;
    }

    /// Where the Service Manager refuses a create whose name is taken or whose instance is busy:
    /// in the answer (409 / 422) or inside the accepted operation.
    pub fn set_refusals(&self, refusals: Refusals) {
        self.world().settings.refusals = refusals;
    }

    /// How failed Service Manager operations carry their `errors` (one object or a list).
    pub fn set_operation_errors(&self, shape: OperationErrors) {
        self.world().settings.operation_errors = shape;
    }

    /// Adds a ready Cloud ALM API instance `name` to the tenant's subaccount as another platform
    /// (a Cloud Foundry space) created it: the Service Manager lists it with that platform's
    /// `platform_id`, it may share its name with a Service Manager instance, and a binding
    /// create on it answers 404. Returns its id; `None` for an unknown subdomain.
    pub fn add_other_platform_instance(&self, subdomain: &str, name: &str) -> Option<String> {
        let mut world = self.world();
        let tenant = world.tenant_by_subdomain(subdomain)?;
        Some(seed::add_other_platform_instance(&mut world, tenant, name))
    }

    /// Makes every Cloud Foundry answer to a path under `path_prefix` carry `warning` in
    /// `X-Cf-Warnings`, escaped with Ruby's `CGI.escape` and comma-joined with the others as
    /// Cloud Controller sends them.
    pub fn add_cf_warning(&self, path_prefix: &str, warning: &str) {
        self.world()
            .settings
            .cf_warnings
            .push((path_prefix.to_owned(), warning.to_owned()));
    }

    /// Limits the managed service instances of every Cloud Foundry org and space (`None`:
    /// unlimited). A create beyond a limit gets Cloud Controller's **400**
    /// `CF-ServiceInstanceQuotaExceeded` (org) or `CF-ServiceInstanceSpaceQuotaExceeded` (space).
    pub fn set_cf_instance_quota(&self, org: Option<usize>, space: Option<usize>) {
        self.world().settings.cf_instance_quota = state::CfInstanceQuota { org, space };
    }

    /// Renames the Cloud Foundry org of a tenant (e.g. to `ACME, Inc.`); `false` for an
    /// unknown subdomain.
    pub fn rename_cf_org(&self, subdomain: &str, name: &str) -> bool {
        let mut world = self.world();
        let Some(tenant) = world.tenant_by_subdomain(subdomain) else {
            return false;
        };
        world.tenants[tenant].info.cf_org = name.to_owned();
        for org in world.cf_orgs.iter_mut().filter(|o| o.tenant == tenant) {
            org.name = name.to_owned();
        }
        true
    }

    /// URLs, every tenant (with its SM key) and the CF login as one JSON object.
    pub fn to_json(&self) -> Value {
        let tenants: Vec<Value> = self
            .tenants()
            .into_iter()
            .map(|t| {
                json!({
                    "subdomain": t.subdomain, "provisioned_on": t.provisioned_on.to_string(),
                    "region": t.region, "tier": t.tier_name, "subaccount_id": t.subaccount_id,
                    "zone_id": t.zone_id, "token_url": self.token_url(&t.subdomain).as_str(),
                    "cf_org": t.cf_org, "cf_space": t.cf_space, "sm_key": self.sm_key_json(&t.subdomain),
                })
            })
            .collect();
        let world = self.world();
        let user = &world.auth.user;
        let orgs: Vec<&str> = world.cf_orgs.iter().map(|o| o.name.as_str()).collect();
        json!({
            "sm_url": self.sm_url().as_str(),
            "cf_api_url": self.cf_api_url().as_str(),
            "cf_token_url": self.token_url(CF_ZONE).as_str(),
            "tenants": tenants,
            "cf_login": {
                "api_url": self.cf_api_url().as_str(), "username": user.username,
                "password": user.password, "origin": user.origin, "space": seed::SPACE,
                "orgs": orgs,
            },
        })
    }
}

fn unknown_tenant(subdomain: &str) -> crate::Error {
    crate::Error::NotFound {
        resource: crate::Resource::Endpoint,
        name: format!("simulated tenant `{subdomain}`"),
        creatable: false,
        detail: Some("seed it with SimulatorBuilder::tenant".to_owned()),
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        // Kept-alive connections outlive the accept loops; the flag makes them drop requests.
        self.shared.stopped.store(true, Ordering::SeqCst);
        for task in &self.tasks {
            task.abort();
        }
    }
}
