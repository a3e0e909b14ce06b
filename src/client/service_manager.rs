//! Carrying out a [`SetupPlan`] through the SAP Service Manager (the recommended path).
//!
//! - [`retrieve`]: finds or creates the instance and binding the plan names, and hands over the
//!   credentials. Finding an existing binding costs two requests (instance by name, binding by
//!   instance and name; the binding list carries the credentials), one with
//!   [`retrieve_by_instance_id`]; offerings and plans are read only when something is created.
//! - [`list`] / [`discover`]: every SAP Cloud ALM API instance and binding in the subaccount.
//! - [`rotate`] / [`retire_stale`]: new binding, verify, retire the old one.
//!
//! Get-or-create never makes a duplicate: names are looked up first; a 409 on create fetches the
//! existing resource; a create whose answer was lost (connection dropped, gateway error) is
//! followed by a lookup by name before anything is sent again; a binding refused because its
//! instance is busy (422 `OperationInProgress` / `ConcurrentOperation`) is retried after a wait,
//! within the caller's deadline.

mod discover;
mod ensure;
pub(crate) mod fleet;
mod generated;
mod rotate;

pub use discover::{InstanceListing, discover, list};
pub use rotate::{Retirement, Rotation, RotationRequest, retire_stale, rotate};

use crate::client::RetrieveOptions;
use crate::client::generated as rules;
use crate::client::outcome::{CredentialSummary, InstanceSummary, Provenance, Retrieved};
use crate::error::{Error, Resource, Result};
use crate::model::InstanceId;
use crate::service_manager::{Binding, Instance, ServiceManager};
use crate::setup::{Environment, PlanRequest, SetupPlan, Step};
use crate::wait::ProgressEvent;

use ensure::{Ensure, InstanceSpec};

/// Finds or creates the SAP Cloud ALM API credentials that `req` asks for.
///
/// Builds the [`SetupPlan`] (names and parameters are validated before any request) and
/// carries it out:
/// - `UseGenerated`: the credentials named by the request if they exist, else the
///   automatically generated ones found by [`discover`] (oldest first); with required scopes,
///   the first whose token carries them (checked with [`crate::verify::verify`]). If none fits
///   and `opts.create` is set, an instance and binding are created as for an unknown tier.
/// - `FindExisting` / `CreateInstance` / `CreateCredentials`: get-or-create by name, waiting for
///   asynchronous operations with `opts.wait` and reporting progress there.
///
/// With `opts.create == false`, anything missing is [`Error::NotFound`] with a hint to run with
/// create; a missing entitlement is [`Error::EntitlementMissing`].
///
pub async fn retrieve(
    sm: &ServiceManager,
    req: &PlanRequest,
    opts: &RetrieveOptions,
) -> Result<Retrieved> {
    crate::http::within_deadline(
        opts.wait.timeout,
        "retrieving the credentials",
        retrieve_unbounded(sm, req, opts),
    )
    .await
}

async fn retrieve_unbounded(
    sm: &ServiceManager,
    req: &PlanRequest,
    opts: &RetrieveOptions,
) -> Result<Retrieved> {
    let plan = checked_plan(req)?;
    let mut run = Run::new(sm, req, opts);
    if let Some(Step::UseGenerated {
        required_scopes,
        locations,
        ..
    }) = plan.steps.first()
    {
        if let Some(found) = run.use_generated(required_scopes, locations).await? {
            return found.into_retrieved(plan);
        }
        let (fallback, message) = rules::fallback_plan(req)?;
        opts.wait.progress.emit(ProgressEvent::Note { message });
        return run.execute(fallback).await;
    }
    run.execute(plan).await
}

/// Like [`retrieve`] when the instance id is already known: an existing binding costs one
/// request. The instance's name is taken from the binding (`service_instance_name`), else from
/// the request.
pub async fn retrieve_by_instance_id(
    sm: &ServiceManager,
    req: &PlanRequest,
    instance_id: &InstanceId,
    opts: &RetrieveOptions,
) -> Result<Retrieved> {
    crate::http::within_deadline(
        opts.wait.timeout,
        "retrieving the credentials",
        retrieve_by_instance_id_unbounded(sm, req, instance_id, opts),
    )
    .await
}

async fn retrieve_by_instance_id_unbounded(
    sm: &ServiceManager,
    req: &PlanRequest,
    instance_id: &InstanceId,
    opts: &RetrieveOptions,
) -> Result<Retrieved> {
    let plan = checked_plan(req)?;
    let ensure = Ensure::new(sm, opts);
    if let Some(binding) = sm.find_binding(instance_id, &req.credential_name).await? {
        found(opts, &format!("binding `{}`", binding.name));
        let binding = ensure.ready_binding(binding).await?;
        let name = binding
            .service_instance_name
            .clone()
            .unwrap_or_else(|| req.instance_name.clone());
        let instance = InstanceSummary::new(instance_id.clone(), name, None);
        return Found::new(instance, Provenance::Found, binding, Provenance::Found)
            .into_retrieved(plan);
    }
    if !opts.create {
        return Err(not_found(
            Resource::Binding,
            format!("`{}` of instance {instance_id}", req.credential_name),
        ));
    }
    let instance = sm.get_instance(instance_id).await?;
    let (binding, provenance) = ensure
        .create_binding(&instance, &req.credential_name)
        .await?;
    Found::new(
        summary_of(&instance),
        Provenance::Found,
        binding,
        provenance,
    )
    .into_retrieved(plan)
}

fn checked_plan(req: &PlanRequest) -> Result<SetupPlan> {
    if req.environment != Environment::ServiceManager {
        return Err(Error::config(
            "the plan request",
            "it is for a Cloud Foundry space; use the Cloud Foundry backend, or set the environment to ServiceManager",
        ));
    }
    SetupPlan::new(req)
}

/// The instance and binding a journey ends with.
struct Found {
    instance: InstanceSummary,
    instance_provenance: Provenance,
    binding: Binding,
    binding_provenance: Provenance,
}

impl Found {
    fn new(
        instance: InstanceSummary,
        instance_provenance: Provenance,
        binding: Binding,
        binding_provenance: Provenance,
    ) -> Self {
        Found {
            instance,
            instance_provenance,
            binding,
            binding_provenance,
        }
    }

    fn into_retrieved(mut self, plan: SetupPlan) -> Result<Retrieved> {
        // The summary reads the declared credential type, so it comes before the key is taken.
        let credential = credential_summary(&self.binding, Some(&self.instance.name));
        let key = self.binding.take_service_key()?;
        Ok(Retrieved {
            plan,
            instance: self.instance,
            instance_provenance: self.instance_provenance,
            credential,
            credential_provenance: self.binding_provenance,
            key,
        })
    }
}

/// One journey's state while the plan's steps are carried out.
struct Run<'a> {
    sm: &'a ServiceManager,
    req: &'a PlanRequest,
    opts: &'a RetrieveOptions,
    ensure: Ensure<'a>,
    instance: Option<(Instance, Provenance)>,
    binding: Option<(Binding, Provenance)>,
    instance_looked_up: bool,
    binding_looked_up: bool,
}

impl<'a> Run<'a> {
    fn new(sm: &'a ServiceManager, req: &'a PlanRequest, opts: &'a RetrieveOptions) -> Self {
        Run {
            sm,
            req,
            opts,
            ensure: Ensure::new(sm, opts),
            instance: None,
            binding: None,
            instance_looked_up: false,
            binding_looked_up: false,
        }
    }

    async fn execute(mut self, plan: SetupPlan) -> Result<Retrieved> {
        for step in &plan.steps {
            match step {
                Step::UseGenerated { .. } => {}
                Step::FindExisting {
                    instance,
                    credential,
                    ..
                } => self.find_existing(instance, credential).await?,
                // Checked when the instance is created: a missing offering or plan is
                // `EntitlementMissing`, and an existing instance proves the entitlement.
                Step::ConfigureEntitlement { .. } => {}
                Step::CreateInstance {
                    name,
                    offering,
                    plan,
                    parameters,
                    ..
                } => {
                    let spec = InstanceSpec {
                        name,
                        offering,
                        plan,
                        parameters,
                    };
                    self.step_instance(&spec).await?
                }
                Step::CreateCredentials { name, .. } => self.step_binding(name).await?,
            }
        }
        self.finish(plan)
    }

    async fn find_existing(&mut self, instance: &str, credential: &str) -> Result<()> {
        if self.instance_looked_up {
            return Ok(());
        }
        self.instance_looked_up = true;
        let Some(inst) = self.sm.find_instance(instance).await? else {
            return Ok(());
        };
        found(self.opts, &format!("instance `{}`", inst.name));
        self.binding_looked_up = true;
        if let Some(b) = self.sm.find_binding(&inst.id, credential).await? {
            found(self.opts, &format!("binding `{}`", b.name));
            self.binding = Some((b, Provenance::Found));
        }
        self.instance = Some((inst, Provenance::Found));
        Ok(())
    }

    async fn step_instance(&mut self, spec: &InstanceSpec<'_>) -> Result<()> {
        if self.instance.is_some() {
            return Ok(());
        }
        if !self.instance_looked_up {
            self.instance_looked_up = true;
            if let Some(inst) = self.sm.find_instance(spec.name).await? {
                found(self.opts, &format!("instance `{}`", inst.name));
                self.instance = Some((inst, Provenance::Found));
                return Ok(());
            }
        }
        if !self.opts.create {
            return Err(not_found(
                Resource::Instance,
                format!(
                    "`{}` (offering `{}`, plan `{}`)",
                    spec.name, spec.offering, spec.plan
                ),
            ));
        }
        self.instance = Some(self.ensure.create_instance(spec).await?);
        Ok(())
    }

    async fn step_binding(&mut self, name: &str) -> Result<()> {
        let Some((instance, instance_provenance)) = &self.instance else {
            return Err(not_found(
                Resource::Instance,
                format!("of binding `{name}`"),
            ));
        };
        if let Some((b, p)) = self.binding.take() {
            self.binding = Some((self.ensure.ready_binding(b).await?, p));
            return Ok(());
        }
        // An instance this journey created has no bindings yet: nothing to look up (a binding
        // another client adds meanwhile is adopted through the create's 409).
        let existing = if self.binding_looked_up || *instance_provenance == Provenance::Created {
            None
        } else {
            self.binding_looked_up = true;
            self.sm.find_binding(&instance.id, name).await?
        };
        let binding = match existing {
            Some(b) => {
                found(self.opts, &format!("binding `{}`", b.name));
                (self.ensure.ready_binding(b).await?, Provenance::Found)
            }
            None if !self.opts.create => {
                return Err(not_found(
                    Resource::Binding,
                    format!("`{name}` of instance `{}`", instance.name),
                ));
            }
            None => self.ensure.create_binding(instance, name).await?,
        };
        self.binding = Some(binding);
        Ok(())
    }

    fn finish(self, plan: SetupPlan) -> Result<Retrieved> {
        match (self.instance, self.binding) {
            (Some((instance, ip)), Some((binding, bp))) => {
                Found::new(summary_of(&instance), ip, binding, bp).into_retrieved(plan)
            }
            _ => Err(not_found(
                Resource::Binding,
                format!(
                    "`{}` of instance `{}`",
                    self.req.credential_name, self.req.instance_name
                ),
            )),
        }
    }
}

/// [`Error::NotFound`] for something the journey creates when allowed to.
fn not_found(resource: Resource, name: String) -> Error {
    Error::not_found(resource, name, true)
}

fn found(opts: &RetrieveOptions, what: &str) {
    opts.wait.progress.emit(ProgressEvent::Found {
        what: what.to_owned(),
    });
}

fn note(opts: &RetrieveOptions, message: String) {
    tracing::info!(%message, "service manager");
    opts.wait.progress.emit(ProgressEvent::Note { message });
}

/// An instance summary.
fn summary_of(instance: &Instance) -> InstanceSummary {
    InstanceSummary::new(
        instance.id.clone(),
        instance.name.clone(),
        instance.created_at,
    )
}

/// A binding summary, without secrets.
fn credential_summary(binding: &Binding, instance_name: Option<&str>) -> CredentialSummary {
    let mut summary = CredentialSummary::new(
        binding.id.clone(),
        binding.name.clone(),
        binding.service_instance_id.clone(),
        Environment::ServiceManager,
    );
    summary.instance_name = binding
        .service_instance_name
        .clone()
        .or_else(|| instance_name.map(str::to_owned));
    summary.created_at = binding.created_at;
    summary.credential_type = binding.credential_type();
    summary
}
