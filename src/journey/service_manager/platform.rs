//! The Service Manager as a [`Platform`]: instances and bindings of the subaccount (only those
//! of `platform_id` `service-manager`; other platforms' instances are listed, never used).
//!
//! Request budget: finding an existing binding costs two requests (instance by name, binding by
//! instance and name; the binding list carries the credentials), one with
//! [`retrieve_by_instance_id`]; offerings and plans are read only when something is created,
//! once per handle.

use super::{credential_summary, listing, summary_of};
use crate::credentials::ServiceKey;
use crate::error::{Error, Resource, Result};
use crate::http::{HttpClient, within_deadline};
use crate::journey::executor;
use crate::journey::get_or_create::{get_or_create, pause_when_busy};
use crate::journey::platform::{Creation, InstanceSpec, Platform};
use crate::journey::{CredentialSummary, InstanceSummary, RetrieveOptions, Retrieved};
use crate::model::{BindingId, InstanceId, PlanId, Provenance};
use crate::service_manager::{
    Binding, Instance, Mutation, NewBinding, NewInstance, Readiness, ServiceManager,
    ready_or_pending,
};
use crate::setup::{Environment, PlanRequest, SetupPlan};
use crate::wait::{Poll, poll_until};

/// A journey's view of one Service Manager.
pub(crate) struct OnServiceManager<'a> {
    sm: &'a ServiceManager,
    opts: &'a RetrieveOptions,
}

impl<'a> OnServiceManager<'a> {
    pub(crate) fn new(sm: &'a ServiceManager, opts: &'a RetrieveOptions) -> Self {
        OnServiceManager { sm, opts }
    }

    /// Get-or-create of binding `name` of `instance` (waiting for a busy instance first).
    pub(crate) async fn ensure_binding(
        &self,
        instance: &Instance,
        name: &str,
    ) -> Result<(Binding, Provenance)> {
        let instance = self.ready_instance(instance.clone()).await?;
        self.create_credential(&instance, name).await
    }
}

/// Finds or creates the credentials `req` asks for (see [`executor`]), within the deadline of
/// `opts`.
pub(crate) async fn retrieve(
    sm: &ServiceManager,
    req: &PlanRequest,
    opts: &RetrieveOptions,
) -> Result<Retrieved> {
    for_service_manager(req)?;
    let on = OnServiceManager::new(sm, opts);
    within_deadline(
        opts.wait.timeout,
        "retrieving the credentials",
        executor::retrieve(&on, req, None),
    )
    .await
}

/// Like [`retrieve`] when the instance id is already known: an existing binding costs one
/// request. The instance's name is taken from the binding (`service_instance_name`), else from
/// the request.
pub(crate) async fn retrieve_by_instance_id(
    sm: &ServiceManager,
    req: &PlanRequest,
    instance_id: &InstanceId,
    opts: &RetrieveOptions,
) -> Result<Retrieved> {
    for_service_manager(req)?;
    let plan = SetupPlan::new(req)?;
    let on = OnServiceManager::new(sm, opts);
    within_deadline(
        opts.wait.timeout,
        "retrieving the credentials",
        on.by_instance_id(plan, req, instance_id),
    )
    .await
}

impl OnServiceManager<'_> {
    async fn by_instance_id(
        &self,
        plan: SetupPlan,
        req: &PlanRequest,
        instance_id: &InstanceId,
    ) -> Result<Retrieved> {
        let name = &req.credential_name;
        let (binding, instance, provenance) = match self.sm.find_binding(instance_id, name).await? {
            Some(binding) => {
                self.opts.found(|| format!("binding `{}`", binding.name));
                let instance_name = binding
                    .service_instance_name
                    .clone()
                    .unwrap_or_else(|| req.instance_name.clone());
                let instance = InstanceSummary::new(instance_id.clone(), instance_name, None);
                (binding, instance, Provenance::Found)
            }
            None if !self.opts.create => {
                return Err(Error::not_found(
                    Resource::Binding,
                    format!("`{name}` of instance {instance_id}"),
                    true,
                ));
            }
            None => {
                let instance = self.sm.get_instance(instance_id).await?;
                let (binding, provenance) = self.ensure_binding(&instance, name).await?;
                (binding, summary_of(&instance), provenance)
            }
        };
        let mut binding = self.ready_credential(binding).await?;
        let key = binding.take_service_key()?;
        let mut credential = credential_summary(&binding, Some(&instance.name));
        credential.credential_type = key.credential_type().cloned();
        Ok(Retrieved {
            plan,
            instance,
            instance_provenance: Provenance::Found,
            credential,
            credential_provenance: provenance,
            key,
        })
    }
}

/// Refuses a request for a Cloud Foundry space.
fn for_service_manager(req: &PlanRequest) -> Result<()> {
    if req.environment != Environment::ServiceManager {
        return Err(Error::config(
            "the plan request",
            "it is for a Cloud Foundry space; use the Cloud Foundry backend, or set the environment to ServiceManager",
        ));
    }
    Ok(())
}

impl Platform for OnServiceManager<'_> {
    type Instance = Instance;
    type Credential = Binding;
    type Plan = PlanId;

    const ENVIRONMENT: Environment = Environment::ServiceManager;
    const INSTANCE_NOUN: &'static str = "instance";
    const ADVICE: &'static str = "Credentials generated in 2023 were Cloud Foundry service keys: try the Cloud Foundry backend.";

    fn opts(&self) -> &RetrieveOptions {
        self.opts
    }

    fn http(&self) -> &HttpClient {
        self.sm.http()
    }

    fn place(&self) -> String {
        "in this subaccount's Service Manager".into()
    }

    async fn find_instance(&self, name: &str) -> Result<Option<Instance>> {
        self.sm.find_instance(name).await
    }

    async fn find_credential(&self, instance: &Instance, name: &str) -> Result<Option<Binding>> {
        self.sm.find_binding(&instance.id, name).await
    }

    async fn resolve_plan(&self, spec: &InstanceSpec<'_>) -> Result<PlanId> {
        Ok(self.sm.resolve_plan(spec.offering, spec.plan).await?.id)
    }

    async fn create_instance(
        &self,
        spec: &InstanceSpec<'_>,
        plan: PlanId,
    ) -> Result<(Instance, Provenance)> {
        let creation = NewSmInstance {
            on: self,
            name: spec.name,
            new: NewInstance::new(spec.name, plan).parameters(spec.parameters.clone()),
            what: format!("instance `{}`", spec.name),
        };
        get_or_create(&creation, self.opts).await
    }

    async fn create_credential(
        &self,
        instance: &Instance,
        name: &str,
    ) -> Result<(Binding, Provenance)> {
        let creation = NewSmBinding {
            on: self,
            instance,
            new: NewBinding::new(name, instance.id.clone()),
            what: format!("binding `{name}`"),
        };
        get_or_create(&creation, self.opts).await
    }

    async fn ready_instance(&self, instance: Instance) -> Result<Instance> {
        match instance.readiness() {
            Readiness::Ready => Ok(instance),
            Readiness::Failed(message) => Err(failed("instance", &instance.name, message)),
            Readiness::Busy(_) => {
                self.sm
                    .wait_instance_ready(&instance.id, &self.opts.wait)
                    .await
            }
        }
    }

    /// Also makes sure the credentials are there (a create answer may lack them).
    async fn ready_credential(&self, binding: Binding) -> Result<Binding> {
        let binding = match binding.readiness() {
            Readiness::Ready => binding,
            Readiness::Failed(message) => return Err(failed("binding", &binding.name, message)),
            Readiness::Busy(_) => {
                self.sm
                    .wait_binding_ready(&binding.id, &self.opts.wait)
                    .await?
            }
        };
        if binding.has_credentials() {
            return Ok(binding);
        }
        let fetched = self.sm.get_binding(&binding.id).await?;
        if fetched.has_credentials() {
            Ok(fetched)
        } else {
            Err(Error::OperationFailed {
                operation: format!("reading binding `{}`", binding.name),
                message: "the Service Manager returned the binding without credentials; check that the credentials used may read bindings (plan subaccount-admin)".to_owned(),
                code: None,
            })
        }
    }

    async fn read_key(&self, binding: &mut Binding) -> Result<ServiceKey> {
        binding.take_service_key()
    }

    async fn inventory(&self) -> Result<Vec<(Instance, Vec<Binding>)>> {
        listing(self.sm, self.sm.offering()).await
    }

    /// Another platform's instance is listed but never handed over from here; a binding
    /// still being created is waited for when picked.
    fn may_hand_over(instance: &Instance, binding: &Binding) -> bool {
        instance.is_service_manager_platform()
            && !matches!(binding.readiness(), Readiness::Failed(_))
    }

    fn instance_state(instance: &Instance) -> String {
        instance.readiness().describe()
    }

    fn other_platform(instance: &Instance) -> Option<String> {
        (!instance.is_service_manager_platform())
            .then(|| instance.platform_id.clone().unwrap_or_default())
    }

    fn instance_name(instance: &Instance) -> &str {
        &instance.name
    }

    fn credential_name(binding: &Binding) -> &str {
        &binding.name
    }

    fn credential_id(binding: &Binding) -> &BindingId {
        &binding.id
    }

    fn instance_summary(instance: &Instance) -> InstanceSummary {
        summary_of(instance)
    }

    fn credential_summary(instance: &Instance, binding: &Binding) -> CredentialSummary {
        credential_summary(binding, Some(&instance.name))
    }
}

/// Creating one instance.
struct NewSmInstance<'a> {
    on: &'a OnServiceManager<'a>,
    name: &'a str,
    new: NewInstance,
    what: String,
}

impl Creation for NewSmInstance<'_> {
    type Made = Instance;
    type Posted = Mutation<Instance>;

    fn what(&self) -> &str {
        &self.what
    }

    async fn post(&self) -> Result<Mutation<Instance>> {
        self.on.sm.create_instance(&self.new).await
    }

    async fn settle(&self, answer: Mutation<Instance>) -> Result<Instance> {
        let (sm, wait) = (self.on.sm, &self.on.opts.wait);
        let operation = format!("creation of {}", self.what);
        match answer {
            Mutation::Done(instance) => self.on.ready_instance(instance).await,
            Mutation::Accepted(Some(op)) => {
                sm.wait_operation(&op, &operation, wait).await?;
                sm.wait_instance_ready(&InstanceId::new(op.resource_id), wait)
                    .await
            }
            Mutation::Accepted(None) => {
                poll_until(&operation, wait, || async {
                    match sm.find_instance(self.name).await? {
                        None => Ok(not_visible()),
                        Some(i) => ready_or_pending(i.readiness(), i, &created(self.name)),
                    }
                })
                .await
            }
        }
    }

    async fn find(&self) -> Result<Option<Instance>> {
        self.on.sm.find_instance(self.name).await
    }

    async fn ready(&self, found: Instance) -> Result<Instance> {
        self.on.ready_instance(found).await
    }

    async fn wait_out(&self, busy: &Error, waits: u32) -> Result<()> {
        pause_when_busy(self.on.opts, busy, waits).await;
        Ok(())
    }
}

/// Creating one binding.
struct NewSmBinding<'a> {
    on: &'a OnServiceManager<'a>,
    instance: &'a Instance,
    new: NewBinding,
    what: String,
}

impl Creation for NewSmBinding<'_> {
    type Made = Binding;
    type Posted = Mutation<Binding>;

    fn what(&self) -> &str {
        &self.what
    }

    async fn post(&self) -> Result<Mutation<Binding>> {
        self.on.sm.create_binding(&self.new).await
    }

    async fn settle(&self, answer: Mutation<Binding>) -> Result<Binding> {
        let (sm, wait) = (self.on.sm, &self.on.opts.wait);
        let operation = format!("creation of {}", self.what);
        let binding = match answer {
            Mutation::Done(binding) => binding,
            Mutation::Accepted(Some(op)) => {
                sm.wait_operation(&op, &operation, wait).await?;
                sm.wait_binding_ready(&BindingId::new(op.resource_id), wait)
                    .await?
            }
            Mutation::Accepted(None) => {
                let name = &self.new.name;
                poll_until(&operation, wait, || async {
                    match sm.find_binding(&self.instance.id, name).await? {
                        None => Ok(not_visible()),
                        Some(b) => ready_or_pending(b.readiness(), b, &created(name)),
                    }
                })
                .await?
            }
        };
        self.on.ready_credential(binding).await
    }

    async fn find(&self) -> Result<Option<Binding>> {
        self.on
            .sm
            .find_binding(&self.instance.id, &self.new.name)
            .await
    }

    async fn ready(&self, found: Binding) -> Result<Binding> {
        self.on.ready_credential(found).await
    }

    /// The Service Manager says nothing about when the instance is free again: ask again
    /// after the server's `Retry-After`, else the polling interval.
    async fn wait_out(&self, busy: &Error, waits: u32) -> Result<()> {
        pause_when_busy(self.on.opts, busy, waits).await;
        Ok(())
    }
}

fn not_visible<T>() -> Poll<T> {
    Poll::Pending {
        state: "not visible yet".into(),
        retry_after: None,
    }
}

/// A creation that failed on the platform, with what to do.
fn failed(kind: &str, name: &str, message: String) -> Error {
    Error::OperationFailed {
        operation: format!("creation of {kind} `{name}`"),
        message: format!(
            "{message}. Delete the {kind} in the SAP BTP cockpit or choose another name, then run again"
        ),
        code: None,
    }
}

/// The operation named when a new resource's creation failed.
fn created(name: &str) -> String {
    format!("creation of `{name}`")
}
