//! The simulated world: tenants, OAuth clients, Service Manager and Cloud Foundry resources.
//!
//! Everything lives in one [`World`] behind a std mutex; handlers lock it briefly and never across
//! an await. Asynchronous operations are not driven by background tasks: each carries a
//! [`Pending`] start time and duration, and [`World::settle`] (called before every read) applies
//! the ones whose time has come. This keeps the simulator deterministic and free of timers.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use url::Url;

use super::faults::FaultRule;
use super::types::{
    AsyncMode, OperationErrors, PendingVisibility, Refusals, RequestRecord, TenantInfo,
};

/// Everything the servers share.
pub(crate) struct Shared {
    pub world: Mutex<World>,
    pub log: Mutex<Vec<RequestRecord>>,
    pub faults: Mutex<Vec<FaultRule>>,
    /// The Service Manager's rate limits, when enforced.
    pub limits: Mutex<Option<super::rate_limit::Enforcer>>,
    pub urls: Urls,
    /// Set when the [`super::Simulator`] is dropped: kept-alive connections then get dropped.
    pub stopped: AtomicBool,
}

impl Shared {
    /// The world, locked, with every operation whose time has come applied.
    pub fn settled_world(&self) -> MutexGuard<'_, World> {
        let mut world = self.world.lock().expect("world lock");
        world.settle();
        world
    }
}

/// Base URLs of the listeners.
#[derive(Debug, Clone)]
pub(crate) struct Urls {
    /// Service Manager, token server and Cloud ALM API listener, `http://127.0.0.1:P/`.
    pub sm: Url,
    /// Cloud Foundry API listener, `http://127.0.0.1:Q/`.
    pub cf: Url,
}

impl Urls {
    /// Token server base of a zone; the endpoint is `{this}/oauth/token`.
    pub fn token(&self, zone: &str) -> Url {
        self.sm
            .join(&format!("auth/{zone}"))
            .expect("valid zone URL")
    }

    /// Simulated mTLS token server base of a zone (`certurl`).
    pub fn cert_token(&self, zone: &str) -> Url {
        self.sm
            .join(&format!("auth-cert/{zone}"))
            .expect("valid zone URL")
    }

    /// `endpoints.Api` of a tenant.
    pub fn calm_api(&self, subdomain: &str) -> Url {
        self.sm
            .join(&format!("calm/{subdomain}/api"))
            .expect("valid API URL")
    }

    /// An absolute CF URL for a path (with or without query).
    pub fn cf_href(&self, path_and_query: &str) -> String {
        let base = self.cf.as_str().trim_end_matches('/');
        format!("{base}{path_and_query}")
    }
}

/// Tunables changed through the builder or the [`super::Simulator`] setters.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub token_lifetime: Duration,
    pub page_size: usize,
    pub async_mode: AsyncMode,
    pub op_duration: Duration,
    pub pending: PendingVisibility,
    pub refusals: Refusals,
    pub operation_errors: OperationErrors,
    /// Cloud Foundry warnings: (path prefix, warning text) sent with every answer under it.
    pub cf_warnings: Vec<(String, String)>,
    /// Cloud Foundry service instance limits of each org and each space.
    pub cf_instance_quota: CfInstanceQuota,
}

/// Cloud Foundry service instance limits (`None`: unlimited).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CfInstanceQuota {
    pub org: Option<usize>,
    pub space: Option<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            token_lifetime: Duration::from_secs(43199),
            page_size: 50,
            async_mode: AsyncMode::Auto,
            op_duration: Duration::ZERO,
            pending: PendingVisibility::NotReady,
            refusals: Refusals::Answer,
            operation_errors: OperationErrors::Object,
            cf_warnings: Vec::new(),
            cf_instance_quota: CfInstanceQuota::default(),
        }
    }
}

/// A running asynchronous operation: done once `duration` has passed since `started`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    pub started: Instant,
    pub duration: Duration,
}

impl Pending {
    pub fn new(duration: Duration) -> Self {
        Pending {
            started: Instant::now(),
            duration,
        }
    }

    pub fn done(&self) -> bool {
        self.started.elapsed() >= self.duration
    }

    /// Whether less than half of the duration has passed (CF: `PROCESSING` vs `POLLING`).
    pub fn first_half(&self) -> bool {
        self.started.elapsed() < self.duration / 2
    }

    /// Time left until done.
    pub fn remaining(&self) -> Duration {
        self.duration.saturating_sub(self.started.elapsed())
    }
}

/// Create or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    Create,
    Update,
    Delete,
}

impl OpKind {
    pub fn word(self) -> &'static str {
        match self {
            OpKind::Create => "create",
            OpKind::Update => "update",
            OpKind::Delete => "delete",
        }
    }
}

/// Labels: key → list of values.
pub(crate) type Labels = BTreeMap<String, Vec<String>>;

/// A seeded tenant with its private bits.
#[derive(Debug, Clone)]
pub(crate) struct Tenant {
    pub info: TenantInfo,
    pub sm_client_id: String,
    pub sm_secret: String,
    pub entitled: bool,
    pub space_guid: String,
}

/// An OAuth client registered in a zone.
#[derive(Debug, Clone)]
pub(crate) struct OAuthClient {
    pub zone_id: String,
    /// Valid secrets (binding-secret clients have one per binding).
    pub secrets: Vec<String>,
    /// Scopes a client-credentials token carries.
    pub scopes: Vec<String>,
    /// Whether it authenticates with a certificate at the `certurl`.
    pub x509: bool,
}

/// The single Cloud Foundry user.
#[derive(Debug, Clone)]
pub(crate) struct CfUser {
    pub username: String,
    pub password: String,
    pub origin: Option<String>,
    pub user_id: String,
}

/// Token server registry.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    pub clients: HashMap<String, OAuthClient>,
    /// Zone name → zone id.
    pub zones: HashMap<String, String>,
    pub user: CfUser,
    /// Refresh token → user id.
    pub refresh_tokens: HashMap<String, String>,
}

/// Name of the CF UAA zone.
pub(crate) const CF_ZONE: &str = "uaa";

/// A Service Manager offering and whether seeing it needs the tenant's entitlement.
#[derive(Debug, Clone)]
pub(crate) struct SmOffering {
    pub id: String,
    pub name: String,
    pub description: String,
    pub catalog_id: String,
    pub broker_id: String,
    pub needs_entitlement: bool,
    pub instances_retrievable: bool,
    pub bindings_retrievable: bool,
}

/// A Service Manager plan.
#[derive(Debug, Clone)]
pub(crate) struct SmPlan {
    pub id: String,
    pub name: String,
    pub description: String,
    pub catalog_id: String,
    pub offering_id: String,
}

/// A Service Manager instance.
#[derive(Debug, Clone)]
pub(crate) struct SmInstance {
    pub id: String,
    pub seq: u64,
    pub tenant: usize,
    pub name: String,
    pub plan_id: String,
    pub parameters: Value,
    pub labels: Labels,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_op: String,
    /// OAuth client of the instance.
    pub client_id: String,
    /// The client's xsappname (`<name>!b<n>`).
    pub xsappname: String,
    /// `service-manager`, or the id of the platform (a CF space, a Kyma cluster) that created it.
    pub platform_id: String,
}

/// The `platform_id` of instances the Service Manager created.
pub(crate) const SM_PLATFORM: &str = "service-manager";

/// Why an operation ended failed: the platform's error word and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpFailure {
    pub code: String,
    pub description: String,
}

/// A Service Manager binding.
#[derive(Debug, Clone)]
pub(crate) struct SmBinding {
    pub id: String,
    pub seq: u64,
    pub tenant: usize,
    pub name: String,
    pub instance_id: String,
    pub parameters: Value,
    pub labels: Labels,
    pub credentials: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_op: String,
}

/// A Service Manager operation.
#[derive(Debug, Clone)]
pub(crate) struct SmOperation {
    pub id: String,
    pub tenant: usize,
    pub kind: OpKind,
    pub resource_id: String,
    /// `service_instances` or `service_bindings`.
    pub resource_type: &'static str,
    pub created_at: DateTime<Utc>,
    pub pending: Pending,
    pub settled: bool,
    /// Set when the operation ends `failed` (once its time has come).
    pub failure: Option<OpFailure>,
}

/// A Cloud Foundry org.
#[derive(Debug, Clone)]
pub(crate) struct CfOrg {
    pub guid: String,
    pub name: String,
    pub tenant: usize,
    pub created_at: DateTime<Utc>,
}

/// A Cloud Foundry space.
#[derive(Debug, Clone)]
pub(crate) struct CfSpace {
    pub guid: String,
    pub name: String,
    pub org_guid: String,
    pub created_at: DateTime<Utc>,
}

/// A Cloud Foundry marketplace offering.
#[derive(Debug, Clone)]
pub(crate) struct CfOffering {
    pub guid: String,
    pub name: String,
    pub description: String,
    pub broker_guid: String,
    pub catalog_id: String,
    pub needs_entitlement: bool,
    /// The broker catalog's `shareable` (instances may be shared into other spaces).
    pub shareable: bool,
}

/// A Cloud Foundry plan.
#[derive(Debug, Clone)]
pub(crate) struct CfPlan {
    pub guid: String,
    pub name: String,
    pub offering_guid: String,
    pub catalog_id: String,
}

/// The last operation of a CF resource.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CfOp {
    pub kind: OpKind,
    pub pending: Pending,
    /// Ends `failed` instead of `succeeded`.
    pub failed: bool,
}

impl CfOp {
    /// An operation of `kind` starting now and taking `duration`.
    pub fn started(kind: OpKind, duration: Duration) -> CfOp {
        CfOp {
            kind,
            pending: Pending::new(duration),
            failed: false,
        }
    }
}

/// A Cloud Foundry managed service instance.
#[derive(Debug, Clone)]
pub(crate) struct CfInstance {
    pub guid: String,
    pub seq: u64,
    pub name: String,
    pub space_guid: String,
    /// The spaces it is shared into (`POST …/relationships/shared_spaces`).
    pub shared_spaces: Vec<String>,
    pub plan_guid: String,
    pub tenant: usize,
    pub parameters: Value,
    pub tags: Vec<String>,
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub op: CfOp,
    pub client_id: String,
    /// The instance secret every key shares.
    pub secret: String,
}

/// A Cloud Foundry service key.
#[derive(Debug, Clone)]
pub(crate) struct CfKey {
    pub guid: String,
    pub seq: u64,
    pub name: String,
    pub instance_guid: String,
    pub credentials: Value,
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub op: CfOp,
}

/// What a CF job works on.
#[derive(Debug, Clone)]
pub(crate) enum JobTarget {
    Instance(String),
    Key(String),
}

/// A Cloud Foundry job.
#[derive(Debug, Clone)]
pub(crate) struct CfJob {
    pub guid: String,
    pub operation: String,
    pub target: JobTarget,
    pub pending: Pending,
    pub created_at: DateTime<Utc>,
    /// Set when the job ends `FAILED`: its error (`detail`) and warnings.
    pub failure: Option<CfJobFailure>,
}

/// What a failed CF job reports.
#[derive(Debug, Clone)]
pub(crate) struct CfJobFailure {
    pub detail: String,
    pub warnings: Vec<String>,
}

/// The whole simulated world.
#[derive(Debug)]
pub(crate) struct World {
    pub settings: Settings,
    pub tenants: Vec<Tenant>,
    pub auth: Auth,
    pub global_account_id: String,
    pub sm_offerings: Vec<SmOffering>,
    pub sm_plans: Vec<SmPlan>,
    pub sm_instances: Vec<SmInstance>,
    pub sm_bindings: Vec<SmBinding>,
    pub sm_operations: Vec<SmOperation>,
    pub cf_orgs: Vec<CfOrg>,
    pub cf_spaces: Vec<CfSpace>,
    pub cf_offerings: Vec<CfOffering>,
    pub cf_plans: Vec<CfPlan>,
    pub cf_instances: Vec<CfInstance>,
    pub cf_keys: Vec<CfKey>,
    pub cf_jobs: Vec<CfJob>,
    /// The Cloud ALM API stand-in's scope rules, projects and tasks.
    pub calm_api: super::calm_api::ApiState,
    seq: u64,
    broker_number: u64,
}

impl World {
    pub fn new(settings: Settings, user: CfUser) -> Self {
        let mut zones = HashMap::new();
        zones.insert(CF_ZONE.to_owned(), new_id());
        World {
            settings,
            tenants: Vec::new(),
            auth: Auth {
                clients: HashMap::new(),
                zones,
                user,
                refresh_tokens: HashMap::new(),
            },
            global_account_id: new_id(),
            sm_offerings: Vec::new(),
            sm_plans: Vec::new(),
            sm_instances: Vec::new(),
            sm_bindings: Vec::new(),
            sm_operations: Vec::new(),
            cf_orgs: Vec::new(),
            cf_spaces: Vec::new(),
            cf_offerings: Vec::new(),
            cf_plans: Vec::new(),
            cf_instances: Vec::new(),
            cf_keys: Vec::new(),
            cf_jobs: Vec::new(),
            calm_api: Default::default(),
            seq: 0,
            broker_number: 1000,
        }
    }

    /// A fresh, increasing sequence number (list order and paging).
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A fresh `!b<n>` number, as XSUAA appends to xsappnames.
    pub fn next_broker_number(&mut self) -> u64 {
        self.broker_number += 1;
        self.broker_number
    }

    /// Tenant index of an identity zone id.
    pub fn tenant_by_zone(&self, zone_id: &str) -> Option<usize> {
        self.tenants.iter().position(|t| t.info.zone_id == zone_id)
    }

    /// Tenant index of a subdomain.
    pub fn tenant_by_subdomain(&self, subdomain: &str) -> Option<usize> {
        self.tenants
            .iter()
            .position(|t| t.info.subdomain == subdomain)
    }

    /// A Service Manager operation by id.
    pub fn sm_op(&self, id: &str) -> Option<&SmOperation> {
        self.sm_operations.iter().find(|op| op.id == id)
    }

    /// Whether the resource whose last operation is `op_id` has been created (not `ready: false`):
    /// its create finished and did not fail.
    pub fn sm_ready(&self, op_id: &str) -> bool {
        self.sm_op(op_id).is_none_or(|op| {
            op.kind != OpKind::Create || (op.pending.done() && op.failure.is_none())
        })
    }

    /// Whether the last operation `op_id` is still running.
    pub fn sm_busy(&self, op_id: &str) -> Option<OpKind> {
        self.sm_op(op_id)
            .filter(|op| !op.pending.done())
            .map(|op| op.kind)
    }

    /// Applies every operation whose time has come: finished deletes remove their resource.
    pub fn settle(&mut self) {
        let finished: Vec<(OpKind, &'static str, String)> = self
            .sm_operations
            .iter_mut()
            .filter(|op| !op.settled && op.pending.done())
            .map(|op| {
                op.settled = true;
                (op.kind, op.resource_type, op.resource_id.clone())
            })
            .collect();
        for (kind, resource_type, id) in finished {
            if kind == OpKind::Delete {
                match resource_type {
                    "service_bindings" => self.remove_sm_binding(&id),
                    _ => self.remove_sm_instance(&id),
                }
            }
        }
        let keys: Vec<String> = self
            .cf_keys
            .iter()
            .filter(|k| k.op.kind == OpKind::Delete && k.op.pending.done())
            .map(|k| k.guid.clone())
            .collect();
        self.cf_keys.retain(|k| !keys.contains(&k.guid));
        let gone: Vec<CfInstance> = self
            .cf_instances
            .iter()
            .filter(|i| i.op.kind == OpKind::Delete && i.op.pending.done())
            .cloned()
            .collect();
        for instance in gone {
            self.cf_keys.retain(|k| k.instance_guid != instance.guid);
            self.auth.clients.remove(&instance.client_id);
            self.cf_instances.retain(|i| i.guid != instance.guid);
        }
    }

    /// Removes a binding and revokes its secret.
    pub fn remove_sm_binding(&mut self, id: &str) {
        let Some(pos) = self.sm_bindings.iter().position(|b| b.id == id) else {
            return;
        };
        let binding = self.sm_bindings.remove(pos);
        let uaa = &binding.credentials["uaa"];
        if let (Some(client), Some(secret)) =
            (uaa["clientid"].as_str(), uaa["clientsecret"].as_str())
            && let Some(c) = self.auth.clients.get_mut(client)
        {
            c.secrets.retain(|s| s != secret);
        }
    }

    /// Removes an instance, its bindings and its OAuth client.
    pub fn remove_sm_instance(&mut self, id: &str) {
        let Some(pos) = self.sm_instances.iter().position(|i| i.id == id) else {
            return;
        };
        let instance = self.sm_instances.remove(pos);
        self.sm_bindings.retain(|b| b.instance_id != instance.id);
        self.auth.clients.remove(&instance.client_id);
    }
}

/// A new random GUID.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A random alphanumeric string (secrets, passwords, opaque tokens).
pub(crate) fn random_string(len: usize) -> String {
    use rand::RngExt;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// RFC 3339 with a `Z`, as both platforms print times.
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
