//! Plain public data types of the simulator: tenant specs and facts, the CF login, the request log.

use chrono::NaiveDate;
use serde::Deserialize;

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

/// Where the Service Manager refuses a create whose name is taken (`Conflict`) or whose instance
/// is busy (`OperationInProgress`).
///
/// Upstream (`operations/scheduler.go` `ScheduleAsyncStorageAction`) answers an asynchronous
/// create 202 at once and runs these checks inside the operation, which then ends `failed`;
/// a synchronous create (and deployments that check up front) answer 409 / 422 directly. Both
/// exist, so both are simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Refusals {
    /// 409 `Conflict` / 422 `OperationInProgress` as the answer to the create (default).
    #[default]
    Answer,
    /// An asynchronous create is accepted (202) and its operation ends `failed` with the refusal
    /// in `errors`; a synchronous one still gets the 409 / 422.
    InOperation,
}

/// How a failed Service Manager operation carries its `errors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OperationErrors {
    /// One object `{"error", "description"}`, as upstream stores it (default).
    #[default]
    Object,
    /// A list of such objects, as SAP's documentation shows.
    List,
}

/// Why an operation that a [`super::Fault::FailOperation`] hits ends `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OperationFailure {
    /// The name is taken (`Conflict`, with the server's own text); nothing is created.
    Conflict,
    /// The instance is busy (`OperationInProgress`); nothing is created.
    Busy,
    /// The broker failed (`BrokerError`, CF `CF-ServiceBrokerRequestRejected`); the resource
    /// stays with a failed last operation.
    Broker,
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
