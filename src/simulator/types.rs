//! Plain public data types of the simulator: tenant specs and facts, the CF login, the request log.

use chrono::NaiveDate;
use serde::Deserialize;
use url::Url;

/// Which of the simulated servers answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Server {
    /// The token server (XSUAA zones of the tenants and the CF UAA zone `uaa`).
    Token,
    /// The SAP Service Manager REST API.
    ServiceManager,
    /// The Cloud Foundry v3 API.
    CloudFoundry,
    /// The trivial protected Cloud ALM API stand-in behind every credential's `endpoints.Api`.
    CloudAlm,
}

/// How the Service Manager answers instance and binding creates and deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AsyncMode {
    /// Always synchronous: the request is held for the operation duration, then 201 (200 for
    /// deletes) with the resource.
    Sync,
    /// Always asynchronous: 202 with body `{}` and a relative `Location` of the operation.
    Async,
    /// As upstream: `async=true` gives 202, `async=false` is held and answered synchronously,
    /// no `async` parameter gives 202 when an operation duration is configured and 201 otherwise.
    #[default]
    Auto,
}

/// How the Service Manager shows a resource whose create operation is still running.
///
/// The reference allows both: the open specification says 404, upstream stores the object with
/// `ready: false`. Lists follow the same choice (hidden, or listed with `ready: false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PendingVisibility {
    /// The object is returned with `ready: false` (default).
    #[default]
    NotReady,
    /// The object answers 404 `NotFound` and is left out of lists until it is ready.
    NotFound,
}

/// A tenant to seed: its subaccount subdomain, provisioning date and region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct TenantSpec {
    /// Subaccount subdomain; also the identity zone and CF org name.
    pub subdomain: String,
    /// Date the Cloud ALM tenant was provisioned; decides what credentials exist.
    pub provisioned_on: NaiveDate,
    /// BTP region, e.g. `eu10` (only shown in credentials and contexts).
    #[serde(default = "default_region")]
    pub region: String,
}

fn default_region() -> String {
    "eu10".to_owned()
}

impl TenantSpec {
    /// A tenant in region `eu10`.
    pub fn new(subdomain: impl Into<String>, provisioned_on: NaiveDate) -> Self {
        TenantSpec {
            subdomain: subdomain.into(),
            provisioned_on,
            region: default_region(),
        }
    }

    /// The same tenant in another region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }
}

/// Facts about a seeded tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantInfo {
    /// Subaccount subdomain (= identity zone name = CF org name).
    pub subdomain: String,
    /// Provisioning date.
    pub provisioned_on: NaiveDate,
    /// BTP region.
    pub region: String,
    /// Subaccount GUID.
    pub subaccount_id: String,
    /// Identity zone GUID (`zid` in tokens, `identityzoneid` in credentials).
    pub zone_id: String,
    /// `"automatic"`, `"monitoring-only"` or `"manual"`, from the provisioning date.
    pub tier_name: &'static str,
    /// Name of the tenant's CF org.
    pub cf_org: String,
    /// Name of the CF space that holds the seeded instance (`dev`).
    pub cf_space: String,
}

/// How to log in to the simulated Cloud Foundry API. `Debug` leaves the password out.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CfLogin {
    /// The CF API root (`GET /` discovery).
    pub api_url: Url,
    /// The single CF user's name.
    pub username: String,
    /// The user's password (password grant, client `cf` with an empty secret).
    pub password: String,
    /// Identity provider origin to send as `login_hint`, when the user needs one.
    pub origin: Option<String>,
    /// Space name present in every org.
    pub space: String,
    /// Org names the user can see, one per tenant.
    pub orgs: Vec<String>,
}

impl std::fmt::Debug for CfLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CfLogin")
            .field("api_url", &self.api_url.as_str())
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .field("origin", &self.origin)
            .field("space", &self.space)
            .field("orgs", &self.orgs)
            .finish()
    }
}

/// One request the simulator served.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestRecord {
    /// Which server answered.
    pub server: Server,
    /// HTTP method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Status sent; 0 when the connection was dropped without an answer.
    pub status: u16,
    /// When the request arrived.
    pub at: std::time::Instant,
    /// Who the Service Manager counts it against: the OAuth client id of its bearer token, or
    /// `user:<name>` for a user's token; `None` without a readable token.
    pub client: Option<String>,
}

/// The provisioning tier of a date (the crate's own rule, restated so the simulator stays
/// independent of the client code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tier {
    Automatic,
    MonitoringOnly,
    Manual,
}

impl Tier {
    pub(crate) fn of(date: NaiveDate) -> Tier {
        let automatic = NaiveDate::from_ymd_opt(2023, 10, 16).expect("valid date");
        let monitoring = NaiveDate::from_ymd_opt(2023, 6, 12).expect("valid date");
        if date >= automatic {
            Tier::Automatic
        } else if date >= monitoring {
            Tier::MonitoringOnly
        } else {
            Tier::Manual
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Tier::Automatic => "automatic",
            Tier::MonitoringOnly => "monitoring-only",
            Tier::Manual => "manual",
        }
    }
}
