//! The one builder shape every journey has: set what differs from the defaults, then `.await`.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use super::CfSpace;
use crate::error::Result;
use crate::http::within_deadline;
use crate::journey::{CredentialSummary, RetrieveOptions, Retrieved};
use crate::model::{InstanceId, Tenant};
use crate::service_manager::ServiceManager;
use crate::setup::{Environment, PlanRequest, Purpose};
use crate::wait::{Progress, ProgressEvent};

/// A boxed, `Send` future, as the builders' `IntoFuture` gives it.
pub(crate) type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Where a journey runs.
#[derive(Debug, Clone, Copy)]
enum On<'a> {
    ServiceManager(&'a ServiceManager),
    Space(&'a CfSpace),
}

/// Deadline, progress and permission to create: what every journey takes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Knobs {
    pub(crate) options: RetrieveOptions,
}

impl Knobs {
    fn deadline(&mut self, deadline: Duration) {
        self.options.wait.timeout = deadline;
    }

    fn on_progress(&mut self, f: impl Fn(&ProgressEvent) + Send + Sync + 'static) {
        self.options.wait.progress = Progress::new(f);
    }

    fn poll_intervals(&mut self, first: Duration, longest: Duration) {
        self.options.wait = self.options.wait.clone().intervals(first, longest);
    }
}

/// The settings every journey builder has, written once: its deadline, its progress callback
/// and how often it polls.
macro_rules! journey_knobs {
    ($builder:ident) => {
        impl $builder<'_> {
            /// The deadline of the whole journey: every request is cut to the time left, no
            /// retry waits past it, and passing it is [`Error::Timeout`](crate::Error::Timeout).
            pub fn deadline(mut self, deadline: Duration) -> Self {
                self.knobs.deadline(deadline);
                self
            }

            /// Receives what the journey finds, creates and waits for.
            pub fn on_progress(
                mut self,
                f: impl Fn(&ProgressEvent) + Send + Sync + 'static,
            ) -> Self {
                self.knobs.on_progress(f);
                self
            }

            /// How often an asynchronous operation is looked at: first after `first`, the
            /// pause doubling up to `longest` (default 200 ms up to 5 s; a server's
            /// `Retry-After` is honoured within the deadline).
            pub fn poll_intervals(mut self, first: Duration, longest: Duration) -> Self {
                self.knobs.poll_intervals(first, longest);
                self
            }
        }
    };
}

journey_knobs!(CredentialsBuilder);
journey_knobs!(RotateBuilder);
journey_knobs!(RetireStaleBuilder);

/// Finds, and when allowed creates, the credentials of an SAP Cloud ALM API instance; made by
/// [`ServiceManager::credentials`] or [`CfSpace::credentials`] and run by `.await`.
///
/// Defaults: the purpose's default instance name ([`Purpose::default_instance_name`]) and
/// `<instance>-key` as the credential name, the offering `SAPCloudALMAPIs` with plan
/// `standard`, find only (nothing is created), a ten-minute deadline for the whole journey, no
/// progress callback.
///
/// ```no_run
/// # async fn run(sm: calm_credentials::ServiceManager, tenant: calm_credentials::Tenant)
/// # -> calm_credentials::Result<()> {
/// use calm_credentials::Purpose;
/// use std::time::Duration;
/// let got = sm
///     .credentials(&tenant, Purpose::TransportManagement)
///     .instance("calm-transport")
///     .name("calm-transport-key")
///     .create_missing()
///     .deadline(Duration::from_secs(300))
///     .on_progress(|event| eprintln!("{event}"))
///     .await?;
/// println!("{} {:?}", got.credential.name, got.credential_provenance);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a journey does nothing until it is awaited"]
pub struct CredentialsBuilder<'a> {
    on: On<'a>,
    request: PlanRequest,
    instance_id: Option<InstanceId>,
    knobs: Knobs,
}

impl<'a> CredentialsBuilder<'a> {
    fn new(on: On<'a>, tenant: &Tenant, purpose: Purpose) -> Self {
        let environment = match on {
            On::ServiceManager(_) => Environment::ServiceManager,
            On::Space(_) => Environment::CloudFoundry,
        };
        CredentialsBuilder {
            on,
            request: tenant.plan_request(purpose, environment),
            instance_id: None,
            knobs: Knobs::default(),
        }
    }

    pub(crate) fn on_service_manager(
        sm: &'a ServiceManager,
        tenant: &Tenant,
        purpose: Purpose,
    ) -> Self {
        Self::new(On::ServiceManager(sm), tenant, purpose)
    }

    pub(crate) fn in_space(space: &'a CfSpace, tenant: &Tenant, purpose: Purpose) -> Self {
        Self::new(On::Space(space), tenant, purpose)
    }

    /// The instance to find or create.
    pub fn instance(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        let request = &self.request;
        if request.credential_name.strip_suffix("-key") == Some(request.instance_name.as_str()) {
            self.request.credential_name = format!("{name}-key");
        }
        self.request.instance_name = name;
        self
    }

    /// An instance known by id (Service Manager): an existing binding then costs one request.
    /// Ignored in a Cloud Foundry space.
    pub fn instance_id(mut self, id: impl Into<InstanceId>) -> Self {
        self.instance_id = Some(id.into());
        self
    }

    /// The binding (Service Manager) or service key (Cloud Foundry) to find or create.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.request.credential_name = name.into();
        self
    }

    /// Another offering and plan than `SAPCloudALMAPIs` / `standard`.
    pub fn offering(mut self, offering: impl Into<String>, plan: impl Into<String>) -> Self {
        self.request = self.request.offering(offering, plan);
        self
    }

    /// Creates what is missing (without it the journey only finds, and a missing resource is
    /// [`Error::NotFound`](crate::Error::NotFound) with `creatable: true`).
    pub fn create_missing(self) -> Self {
        self.create_missing_if(true)
    }

    /// [`create_missing`](Self::create_missing) when `yes`, find only otherwise.
    pub fn create_missing_if(mut self, yes: bool) -> Self {
        self.knobs.options.create = yes;
        self
    }

    /// The journey, boxed per platform: each branch's future is as large as its own journey
    /// only (the box is filled once, when the journey starts).
    fn run(self) -> Pending<'a, Retrieved> {
        use super::service_manager::platform::{retrieve, retrieve_by_instance_id};
        let CredentialsBuilder {
            on,
            request,
            instance_id,
            knobs,
        } = self;
        let opts = knobs.options;
        match (on, instance_id) {
            (On::ServiceManager(sm), Some(id)) => {
                Box::pin(async move { retrieve_by_instance_id(sm, &request, &id, &opts).await })
            }
            (On::ServiceManager(sm), None) => {
                Box::pin(async move { retrieve(sm, &request, &opts).await })
            }
            (On::Space(space), _) => Box::pin(async move { space.retrieve(&request, &opts).await }),
        }
    }
}

impl<'a> IntoFuture for CredentialsBuilder<'a> {
    type Output = Result<Retrieved>;
    type IntoFuture = Pending<'a, Retrieved>;

    fn into_future(self) -> Self::IntoFuture {
        self.run()
    }
}

/// Replaces a binding with a new one, verified before the old one is retired; made by
/// [`ServiceManager::rotate`] and run by `.await`.
///
/// ```no_run
/// # async fn run(sm: calm_credentials::ServiceManager) -> calm_credentials::Result<()> {
/// use std::time::Duration;
/// let rotation = sm
///     .rotate("calm-transport", "key-2025", "key-2026")
///     .keep_old_for(Duration::from_secs(24 * 3600))
///     .await?;
/// println!("{:?}", rotation.old_retired);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a journey does nothing until it is awaited"]
pub struct RotateBuilder<'a> {
    sm: &'a ServiceManager,
    request: crate::journey::service_manager::RotationRequest,
    knobs: Knobs,
}

impl<'a> RotateBuilder<'a> {
    pub(crate) fn new(
        sm: &'a ServiceManager,
        request: crate::journey::service_manager::RotationRequest,
    ) -> Self {
        RotateBuilder {
            sm,
            request,
            knobs: Knobs::default(),
        }
    }

    /// Keeps the old binding, labelled stale, for `grace` instead of deleting it at once
    /// (consumers switch meanwhile); [`ServiceManager::retire_stale`] deletes it afterwards.
    pub fn keep_old_for(mut self, grace: Duration) -> Self {
        self.request = self.request.keep_old_for(grace);
        self
    }
}

/// Deletes the bindings of an instance that a rotation kept, once their grace period has
/// passed; made by [`ServiceManager::retire_stale`] and run by `.await`, which gives what was
/// deleted.
#[derive(Debug, Clone)]
#[must_use = "a journey does nothing until it is awaited"]
pub struct RetireStaleBuilder<'a> {
    sm: &'a ServiceManager,
    instance: String,
    knobs: Knobs,
}

impl<'a> RetireStaleBuilder<'a> {
    pub(crate) fn new(sm: &'a ServiceManager, instance: String) -> Self {
        RetireStaleBuilder {
            sm,
            instance,
            knobs: Knobs::default(),
        }
    }
}

impl<'a> IntoFuture for RetireStaleBuilder<'a> {
    type Output = Result<Vec<CredentialSummary>>;
    type IntoFuture = Pending<'a, Vec<CredentialSummary>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let opts = &self.knobs.options;
            let journey = crate::journey::service_manager::rotate::retire_stale(
                self.sm,
                &self.instance,
                opts,
            );
            within_deadline(opts.wait.timeout, "retiring stale bindings", journey).await
        })
    }
}

impl<'a> IntoFuture for RotateBuilder<'a> {
    type Output = Result<crate::journey::service_manager::Rotation>;
    type IntoFuture = Pending<'a, crate::journey::service_manager::Rotation>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let opts = &self.knobs.options;
            let journey =
                crate::journey::service_manager::rotate::rotate(self.sm, &self.request, opts);
            within_deadline(opts.wait.timeout, "rotating the binding", journey).await
        })
    }
}
