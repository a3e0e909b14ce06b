//! The fleet runner: every credential of a manifest ensured, tenants side by side, outcomes
//! streamed out as they finish.

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::stream::{self, Stream, StreamExt};
use tokio::sync::OnceCell;
use url::Url;

use super::limiter::RateLimiters;
use super::limits::RateLimits;
use super::manifest::{Manifest, Platform, TenantEntry};
use crate::cloud_foundry::{CfLogin, CloudFoundry};
use crate::credentials::ServiceKey;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{HttpClient, HttpClientBuilder};
use crate::journey::service_manager::fleet::ensure_bindings;
use crate::journey::{Provenance, RetrieveOptions};
use crate::model::{InstanceId, Region, Tenant};
use crate::service_manager::ServiceManager;

/// The default number of tenants worked on at once.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Ensures every credential of a fleet [`Manifest`]: made by [`Fleet::new`], started by
/// [`Fleet::run`].
///
/// - One [`HttpClient`] for the run, with [`RateLimiters`] from the manifest's limits: every
///   tenant using the same Service Manager client id shares one limiter, and a 429 pauses them
///   all.
/// - One [`ServiceManager`] handle per client id (one token request, at most one offering and
///   one plan lookup per run), one [`CloudFoundry`] connection per API.
/// - Per tenant: the instance and its first credential through one journey, then one paged
///   listing of the instance's bindings (none when the journey created the instance); only the
///   missing ones are created. A tenant with `N`
///   credentials costs `ceil(N / 200) + 2` lookups when its instance exists.
/// - Tenants side by side, at most [`concurrency`](Self::concurrency) at once; outcomes are
///   streamed out, never collected, so memory follows the concurrency, not the manifest size.
/// - One tenant's failure (a bad key, a missing entitlement) becomes failed outcomes for its
///   credentials; the others go on.
///
/// ```
/// use calm_credentials::fleet::{Fleet, Manifest};
/// use calm_credentials::simulator::Simulator;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sim = Simulator::start().await?;
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("sm.json"), sim.sm_key("calm-auto").unwrap().expose_json().to_string())?;
/// let manifest = r#"{"tenants": [{"name": "acme", "provisioned_on": "2023-01-15",
///     "service_manager_key": "sm.json", "purpose": "transport",
///     "instance": "calm-transport", "credentials": ["sys-001", "sys-002"]}]}"#;
/// let manifest = Manifest::parse(manifest, "json", &dir.path().join("fleet.json"), dir.path())?;
///
/// let mut run = Fleet::new(manifest).concurrency(8).run()?;
/// while let Some(outcome) = run.next().await {
///     println!("{} {}: {}", outcome.tenant, outcome.credential, outcome.result);
///     if let Some(key) = outcome.result.key() {
///         let _ = key.client_id(); // hand it over: a Sink, a vault, …
///     }
/// }
/// let summary = run.summary();
/// assert_eq!((summary.created, summary.failed), (2, 0));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a fleet does nothing until it is run"]
pub struct Fleet {
    tenants: Vec<TenantEntry>,
    limits: RateLimits,
    concurrency: usize,
    dry_run: bool,
    http: HttpClientBuilder,
    cf_login: Option<CfLogin>,
    deadline: Duration,
}

impl Fleet {
    /// A run over the manifest's tenants, within its limits. Defaults: 8 tenants at once,
    /// creating what is missing, a ten-minute deadline per tenant, the Cloud Foundry login
    /// from the environment (as `cf` has it) when a tenant needs one.
    pub fn new(manifest: Manifest) -> Self {
        Fleet {
            tenants: manifest.tenants,
            limits: manifest.limits,
            concurrency: DEFAULT_CONCURRENCY,
            dry_run: false,
            http: HttpClient::builder(),
            cf_login: None,
            deadline: Duration::from_secs(600),
        }
    }

    /// How many tenants are worked on at once (at least 1).
    pub fn concurrency(mut self, tenants: usize) -> Self {
        self.concurrency = tenants.max(1);
        self
    }

    /// Finds only: sends no mutating request, and reports what is missing as
    /// [`Outcome::Missing`].
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }

    /// Other rate limits than the manifest's.
    pub fn limits(mut self, limits: RateLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The transport settings (timeouts, retry policy); the run adds its rate limiters.
    pub fn http(mut self, builder: HttpClientBuilder) -> Self {
        self.http = builder;
        self
    }

    /// The login for Cloud Foundry tenants (its API URL is replaced by each tenant's).
    pub fn cloud_foundry_login(mut self, login: CfLogin) -> Self {
        self.cf_login = Some(login);
        self
    }

    /// The deadline of each tenant's work.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// How many credentials the run ensures.
    pub fn credential_count(&self) -> usize {
        self.tenants.iter().map(|t| t.credentials.len()).sum()
    }

    /// Starts the run: reads each Service Manager key file once (a bad one fails only its
    /// tenants) and gives the stream of outcomes. Nothing is sent until it is polled. Fails
    /// only if the HTTP client cannot be built.
    pub fn run(self) -> Result<FleetRun> {
        let limiters = RateLimiters::new(self.limits.clone());
        let http = self.http.rate_limiters(limiters.clone()).build()?;
        let handles = Arc::new(Handles::new(
            &self.tenants,
            &http,
            self.cf_login,
            self.dry_run,
        ));
        let counts = Arc::new(Mutex::new(Counts::default()));
        let opts = RetrieveOptions {
            create: !self.dry_run,
            wait: crate::wait::WaitOptions {
                timeout: self.deadline,
                ..Default::default()
            },
        };
        let total = self.tenants.iter().map(|t| t.credentials.len()).sum();
        let outcomes = stream::iter(self.tenants)
            .map(move |tenant| {
                let handles = Arc::clone(&handles);
                let opts = opts.clone();
                async move { handles.ensure(&tenant, &opts).await }
            })
            .buffer_unordered(self.concurrency)
            .flat_map(stream::iter);
        Ok(FleetRun {
            outcomes: Box::pin(outcomes),
            counts,
            http,
            limiters,
            started: Instant::now(),
            total,
            dry_run: self.dry_run,
        })
    }
}

/// A running fleet: a [`Stream`] of [`CredentialOutcome`]s in the order they finish, and its
/// [`summary`](Self::summary) so far.
#[must_use = "a fleet run does nothing until it is polled"]
pub struct FleetRun {
    outcomes: Pin<Box<dyn Stream<Item = CredentialOutcome> + Send>>,
    counts: Arc<Mutex<Counts>>,
    http: HttpClient,
    limiters: RateLimiters,
    started: Instant,
    total: usize,
    dry_run: bool,
}

impl fmt::Debug for FleetRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetRun")
            .field("summary", &self.summary())
            .finish_non_exhaustive()
    }
}

impl FleetRun {
    /// The next outcome, `None` when every credential has one.
    pub async fn next(&mut self) -> Option<CredentialOutcome> {
        StreamExt::next(self).await
    }

    /// How many credentials the run ensures in all.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The counts so far (final once the stream has ended).
    pub fn summary(&self) -> FleetSummary {
        let counts = *self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let pauses = self
            .limiters
            .clients()
            .iter()
            .filter_map(|c| self.limiters.get(c))
            .map(|l| l.stats().pauses.len())
            .sum();
        FleetSummary {
            total: self.total,
            found: counts.found,
            created: counts.created,
            missing: counts.missing,
            failed: counts.failed,
            requests: self.http.request_count(),
            rate_limited: self.limiters.rate_limited(),
            pauses,
            elapsed: self.started.elapsed(),
            dry_run: self.dry_run,
        }
    }
}

impl Stream for FleetRun {
    type Item = CredentialOutcome;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.outcomes.as_mut().poll_next(cx);
        if let Poll::Ready(Some(outcome)) = &polled {
            let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            match outcome.result {
                Outcome::Found(_) => counts.found += 1,
                Outcome::Created(_) => counts.created += 1,
                Outcome::Missing => counts.missing += 1,
                Outcome::Failed(_) => counts.failed += 1,
            }
        }
        polled
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    found: usize,
    created: usize,
    missing: usize,
    failed: usize,
}

/// What a run did so far.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FleetSummary {
    /// Credentials the run ensures in all.
    pub total: usize,
    /// Found.
    pub found: usize,
    /// Created.
    pub created: usize,
    /// Missing and not created (dry run).
    pub missing: usize,
    /// Failed.
    pub failed: usize,
    /// Requests sent (token requests and retries included).
    pub requests: u64,
    /// Requests the servers refused with 429.
    pub rate_limited: u64,
    /// Times a client was paused by a 429.
    pub pauses: usize,
    /// Time since [`Fleet::run`].
    pub elapsed: Duration,
    /// Whether it was a dry run.
    pub dry_run: bool,
}

impl FleetSummary {
    /// How many credentials have an outcome.
    pub fn done(&self) -> usize {
        self.found + self.created + self.missing + self.failed
    }

    /// Whether every credential is there (none failed, none missing).
    pub fn complete(&self) -> bool {
        self.failed == 0 && self.missing == 0 && self.done() == self.total
    }
}

/// One credential's outcome.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CredentialOutcome {
    /// The tenant's name in the manifest.
    pub tenant: String,
    /// The credential's (binding's or service key's) name.
    pub credential: String,
    /// What became of it.
    pub result: Outcome,
}

/// What became of a credential.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Outcome {
    /// It existed.
    Found(ServiceKey),
    /// The run created it.
    Created(ServiceKey),
    /// It does not exist and the run did not create it (dry run).
    Missing,
    /// It could not be found or created; tenants failing as a whole share one error.
    Failed(Arc<Error>),
}

impl Outcome {
    /// `found`, `created`, `missing` or `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Found(_) => "found",
            Outcome::Created(_) => "created",
            Outcome::Missing => "missing",
            Outcome::Failed(_) => "failed",
        }
    }

    /// The credentials, when found or created.
    pub fn key(&self) -> Option<&ServiceKey> {
        match self {
            Outcome::Found(key) | Outcome::Created(key) => Some(key),
            _ => None,
        }
    }

    /// The error, when failed.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Outcome::Failed(e) => Some(e),
            _ => None,
        }
    }

    fn of(key: ServiceKey, provenance: Provenance) -> Self {
        match provenance {
            Provenance::Created => Outcome::Created(key),
            _ => Outcome::Found(key),
        }
    }
}

impl fmt::Display for Outcome {
    /// The outcome's word, and the error's message when failed (never a secret).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Failed(e) => write!(f, "failed: {e}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// The platform handles of a run, shared by every tenant.
struct Handles {
    service_managers: HashMap<String, std::result::Result<ServiceManager, Arc<Error>>>,
    cloud_foundry: HashMap<Url, OnceCell<std::result::Result<CloudFoundry, Arc<Error>>>>,
    cf_login: Option<CfLogin>,
    http: HttpClient,
    dry_run: bool,
}

impl Handles {
    fn new(
        tenants: &[TenantEntry],
        http: &HttpClient,
        cf_login: Option<CfLogin>,
        dry_run: bool,
    ) -> Self {
        let mut service_managers = HashMap::new();
        let mut cloud_foundry = HashMap::new();
        for tenant in tenants {
            match &tenant.platform {
                Platform::ServiceManager {
                    key_file,
                    client_id,
                } => {
                    service_managers
                        .entry(client_id.clone())
                        .or_insert_with(|| {
                            ServiceKey::from_file(key_file)
                                .and_then(|key| ServiceManager::new(&key, http.clone()))
                                .map_err(Arc::new)
                        });
                }
                Platform::CloudFoundry { api, .. } => {
                    cloud_foundry
                        .entry(api.clone())
                        .or_insert_with(OnceCell::new);
                }
            }
        }
        Handles {
            service_managers,
            cloud_foundry,
            cf_login,
            http: http.clone(),
            dry_run,
        }
    }

    /// Every credential of `tenant`, ensured.
    async fn ensure(&self, tenant: &TenantEntry, opts: &RetrieveOptions) -> Vec<CredentialOutcome> {
        let outcomes = match &tenant.platform {
            Platform::ServiceManager { client_id, .. } => {
                match self.service_managers.get(client_id) {
                    Some(Ok(sm)) => self.on_service_manager(sm, tenant, opts).await,
                    Some(Err(e)) => all_failed(tenant, Arc::clone(e)),
                    None => all_failed(tenant, Arc::new(Error::config("the fleet", "no handle"))),
                }
            }
            Platform::CloudFoundry { api, org, space } => match self.connection(api).await {
                Ok(cf) => {
                    let space = cf.space(org.clone(), space.clone());
                    self.in_space(&space, tenant, opts).await
                }
                Err(e) => all_failed(tenant, e),
            },
        };
        outcomes
            .into_iter()
            .map(|(credential, result)| CredentialOutcome {
                tenant: tenant.name.clone(),
                credential,
                result,
            })
            .collect()
    }

    async fn connection(&self, api: &Url) -> std::result::Result<CloudFoundry, Arc<Error>> {
        let Some(cell) = self.cloud_foundry.get(api) else {
            return Err(Arc::new(Error::config("the fleet", "no connection")));
        };
        cell.get_or_init(|| async {
            let login = match &self.cf_login {
                Some(login) if login.api_url == *api => login.clone(),
                Some(login) => {
                    let mut login = login.clone();
                    login.api_url = api.clone();
                    login.login_url = None;
                    login
                }
                // As `cf` has it, for this API.
                None => CfLogin::builder()
                    .api_url(api.as_str())
                    .process_environment()
                    .build()
                    .map_err(Arc::new)?,
            };
            CloudFoundry::connect_with(login, self.http.clone())
                .await
                .map_err(Arc::new)
        })
        .await
        .clone()
    }

    /// A Service Manager tenant: the instance and first credential through the journey, the
    /// rest from one listing of the instance's bindings.
    async fn on_service_manager(
        &self,
        sm: &ServiceManager,
        entry: &TenantEntry,
        opts: &RetrieveOptions,
    ) -> Vec<(String, Outcome)> {
        let Some(first) = entry.credentials.first() else {
            return Vec::new();
        };
        let tenant = model_tenant(entry);
        let journey = sm
            .credentials(&tenant, entry.purpose.clone())
            .instance(entry.instance.clone())
            .name(first.clone())
            .create_missing_if(!self.dry_run)
            .deadline(opts.wait.timeout)
            .await;
        let mut outcomes = Vec::with_capacity(entry.credentials.len());
        let (instance_id, fresh, rest) = match journey {
            Ok(got) if got.instance.name == entry.instance && got.credential.name == *first => {
                outcomes.push((
                    first.clone(),
                    Outcome::of(got.key, got.credential_provenance),
                ));
                let fresh = got.instance_provenance == Provenance::Created;
                (got.instance.id, fresh, &entry.credentials[1..])
            }
            // Generated credentials of another instance, or a dry run that found something
            // missing: the named instance is looked up by name.
            Ok(_) => match self.named_instance(sm, entry).await {
                Ok(Some(id)) => (id, false, &entry.credentials[..]),
                Ok(None) => return self.instance_missing(entry),
                Err(e) => return all_failed(entry, Arc::new(e)),
            },
            Err(e) if self.dry_run && e.kind() == ErrorKind::NotFound => {
                match self.named_instance(sm, entry).await {
                    Ok(Some(id)) => (id, false, &entry.credentials[..]),
                    Ok(None) => return self.instance_missing(entry),
                    Err(e) => return all_failed(entry, Arc::new(e)),
                }
            }
            Err(e) => return all_failed(entry, Arc::new(e)),
        };
        if rest.is_empty() {
            return outcomes;
        }
        match ensure_bindings(sm, &instance_id, rest, fresh, opts).await {
            Ok(ensured) => outcomes.extend(ensured.into_iter().map(|(name, result)| {
                let outcome = match result {
                    Ok(Some((key, provenance))) => Outcome::of(key, provenance),
                    Ok(None) => Outcome::Missing,
                    Err(e) => Outcome::Failed(Arc::new(e)),
                };
                (name, outcome)
            })),
            Err(e) => {
                let e = Arc::new(e);
                outcomes.extend(
                    rest.iter()
                        .map(|n| (n.clone(), Outcome::Failed(Arc::clone(&e)))),
                );
            }
        }
        outcomes
    }

    async fn named_instance(
        &self,
        sm: &ServiceManager,
        entry: &TenantEntry,
    ) -> Result<Option<InstanceId>> {
        Ok(sm.find_instance(&entry.instance).await?.map(|i| i.id))
    }

    /// The tenant's instance does not exist (dry run), or exists only as another instance
    /// with generated credentials.
    fn instance_missing(&self, entry: &TenantEntry) -> Vec<(String, Outcome)> {
        if self.dry_run {
            return entry
                .credentials
                .iter()
                .map(|n| (n.clone(), Outcome::Missing))
                .collect();
        }
        let e = Arc::new(Error::not_found(
            crate::error::Resource::Instance,
            format!("`{}`", entry.instance),
            true,
        ));
        all_failed(entry, e)
    }

    /// A Cloud Foundry tenant: one journey per key in the shared space handle (the space is
    /// resolved once); a tenant-wide failure stops the tenant.
    async fn in_space(
        &self,
        space: &crate::CfSpace,
        entry: &TenantEntry,
        opts: &RetrieveOptions,
    ) -> Vec<(String, Outcome)> {
        let tenant = model_tenant(entry);
        let mut outcomes = Vec::with_capacity(entry.credentials.len());
        for (i, name) in entry.credentials.iter().enumerate() {
            let got = space
                .credentials(&tenant, entry.purpose.clone())
                .instance(entry.instance.clone())
                .name(name.clone())
                .create_missing_if(!self.dry_run)
                .deadline(opts.wait.timeout)
                .await;
            let outcome = match got {
                Ok(got) => Outcome::of(got.key, got.credential_provenance),
                Err(e) if self.dry_run && e.kind() == ErrorKind::NotFound => Outcome::Missing,
                Err(e) if tenant_wide(&e) => {
                    let e = Arc::new(e);
                    outcomes.extend(
                        entry.credentials[i..]
                            .iter()
                            .map(|n| (n.clone(), Outcome::Failed(Arc::clone(&e)))),
                    );
                    return outcomes;
                }
                Err(e) => Outcome::Failed(Arc::new(e)),
            };
            outcomes.push((name.clone(), outcome));
        }
        outcomes
    }
}

/// Errors that no other credential of the tenant can avoid.
fn tenant_wide(e: &Error) -> bool {
    !matches!(e.kind(), ErrorKind::NotFound | ErrorKind::Conflict)
}

fn model_tenant(entry: &TenantEntry) -> Tenant {
    Tenant::new(entry.name.clone(), Region::Eu10).provisioned_on(entry.provisioned_on)
}

fn all_failed(entry: &TenantEntry, e: Arc<Error>) -> Vec<(String, Outcome)> {
    entry
        .credentials
        .iter()
        .map(|n| (n.clone(), Outcome::Failed(Arc::clone(&e))))
        .collect()
}
