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
//!   - the Cloud ALM API stand-in of tenant `S` at `/calm/S/api` (`endpoints.Api`).
//! - Cloud Foundry listener `http://127.0.0.1:Q/` ([`Simulator::cf_api_url`]): `GET /`, `/v3/...`.
//!
//! # Default tenants
//! `calm-auto` (2024-03-01, automatic), `calm-monitoring` (2023-08-01, monitoring-only) and
//! `calm-manual` (2023-01-15, manual), all in `eu10`. See the `seed` module docs for what each
//! holds: instance `cloud-alm-api`, SM binding `cloud-alm-api-binding`, CF key
//! `cloud-alm-api-key` in space `dev` for the first two tiers; nothing (and no entitlement)
//! for the manual tier.
//!
//! # Simulator conventions
//! Monitoring-only credentials carry the made-up scopes `sapcloudalm!b1.calm-api.monitoring.push`
//! and `sapcloudalm!b1.calm-api.monitoring.read`; an instance's `$XSMASTERAPPNAME.<scope>`
//! authorities become `sapcloudalm!b1.<scope>` in tokens. Tokens are RS256 JWTs signed with an
//! embedded, published, test-only key.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use calm_credentials::simulator::Simulator;
//! let sim = Simulator::start().await?;
//! let key = sim.sm_key("calm-auto").expect("seeded tenant");
//! println!("Service Manager at {}, client {}", sim.sm_url(), key["clientid"]);
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
mod seed;
mod service_manager;
mod state;
mod token;
mod types;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinHandle;
use url::Url;

pub use builder::SimulatorBuilder;
pub use faults::{Fault, FaultRule, RetryAfter};
pub use types::{
    AsyncMode, CfLogin, PendingVisibility, RequestRecord, Server, TenantInfo, TenantSpec,
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
    pub async fn start() -> std::io::Result<Simulator> {
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

    /// The Service Manager binding credentials of a tenant's subaccount:
    /// `{"clientid", "clientsecret", "url", "sm_url", "xsappname"}`.
    pub fn sm_key(&self, subdomain: &str) -> Option<Value> {
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

    /// How to log in to the Cloud Foundry API.
    pub fn cf_login(&self) -> CfLogin {
        let world = self.world();
        CfLogin {
            api_url: self.shared.urls.cf.clone(),
            username: world.auth.user.username.clone(),
            password: world.auth.user.password.clone(),
            origin: world.auth.user.origin.clone(),
            space: seed::SPACE.to_owned(),
            orgs: world.cf_orgs.iter().map(|o| o.name.clone()).collect(),
        }
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
                    "cf_org": t.cf_org, "cf_space": t.cf_space, "sm_key": self.sm_key(&t.subdomain),
                })
            })
            .collect();
        let cf = self.cf_login();
        json!({
            "sm_url": self.sm_url().as_str(),
            "cf_api_url": self.cf_api_url().as_str(),
            "cf_token_url": self.token_url(CF_ZONE).as_str(),
            "tenants": tenants,
            "cf_login": {
                "api_url": cf.api_url.as_str(), "username": cf.username, "password": cf.password,
                "origin": cf.origin, "space": cf.space, "orgs": cf.orgs,
            },
        })
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
