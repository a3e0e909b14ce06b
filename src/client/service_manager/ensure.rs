//! Get-or-create of instances and bindings that never makes a duplicate, and waiting until
//! what was found or made is usable.

use serde_json::Value;

use super::{found, note};
use crate::client::RetrieveOptions;
use crate::client::outcome::Provenance;
use crate::error::{Error, Result};
use crate::model::{BindingId, InstanceId};
use crate::service_manager::{
    Binding, Instance, Mutation, NewBinding, NewInstance, Readiness, ServiceManager,
};
use crate::wait::{Poll, ProgressEvent, poll_until};

/// What a `CreateInstance` step asks for.
pub(super) struct InstanceSpec<'s> {
    pub name: &'s str,
    pub offering: &'s str,
    pub plan: &'s str,
    pub parameters: &'s Value,
}

/// Get-or-create helpers bound to one Service Manager and one set of options.
pub(super) struct Ensure<'a> {
    sm: &'a ServiceManager,
    opts: &'a RetrieveOptions,
}

impl<'a> Ensure<'a> {
    pub(super) fn new(sm: &'a ServiceManager, opts: &'a RetrieveOptions) -> Self {
        Ensure { sm, opts }
    }

    /// Creates the instance (after resolving offering and plan), adopting it if a 409 or a lost
    /// answer shows it exists; waits until it is ready.
    pub(super) async fn create_instance(
        &self,
        spec: &InstanceSpec<'_>,
    ) -> Result<(Instance, Provenance)> {
        let plan = self.sm.resolve_plan(spec.offering, spec.plan).await?;
        let new = NewInstance::new(spec.name, plan.id).parameters(spec.parameters.clone());
        self.creating(&format!("instance `{}`", spec.name));
        let mut resent = false;
        loop {
            let error = match self.sm.create_instance(&new).await {
                Ok(answer) => match self.settle_instance(answer, spec.name).await {
                    // Accepted, then refused inside the operation: the same as a 409.
                    Err(e) if e.is_conflict() => e,
                    settled => return Ok((settled?, Provenance::Created)),
                },
                Err(e) => e,
            };
            let adopt_as = if error.is_conflict() && !resent {
                Provenance::Found
            } else if error.is_conflict() || error.may_have_taken_effect() {
                Provenance::Created
            } else {
                return Err(error);
            };
            self.explain(&error, &format!("instance `{}`", spec.name));
            if let Some(existing) = self.sm.find_instance(spec.name).await? {
                found(self.opts, &format!("instance `{}`", existing.name));
                return Ok((self.ready_instance(existing).await?, adopt_as));
            }
            if adopt_as == Provenance::Found || resent {
                return Err(error);
            }
            resent = true;
            note(
                self.opts,
                format!(
                    "instance `{}` does not exist: sending the create once more",
                    spec.name
                ),
            );
        }
    }

    /// Creates the binding, after waiting for a busy instance; 422 (instance busy) is retried
    /// within the deadline, 409 and lost answers are resolved by looking the name up.
    pub(super) async fn create_binding(
        &self,
        instance: &Instance,
        name: &str,
    ) -> Result<(Binding, Provenance)> {
        if !matches!(instance.readiness(), Readiness::Ready) {
            self.ready_instance(instance.clone()).await?;
        }
        let new = NewBinding::new(name, instance.id.clone());
        let what = format!("binding `{name}`");
        self.creating(&what);
        let mut resent = false;
        loop {
            let error = match self.post_binding(&new, &what).await {
                Ok(binding) => return Ok((binding, Provenance::Created)),
                Err(e) => e,
            };
            let adopt_as = if error.is_conflict() && !resent {
                Provenance::Found
            } else if error.is_conflict() || error.may_have_taken_effect() {
                Provenance::Created
            } else {
                return Err(error);
            };
            self.explain(&error, &what);
            if let Some(existing) = self.sm.find_binding(&instance.id, name).await? {
                found(self.opts, &what);
                return Ok((self.ready_binding(existing).await?, adopt_as));
            }
            if adopt_as == Provenance::Found || resent {
                return Err(error);
            }
            resent = true;
            note(
                self.opts,
                format!("{what} does not exist: sending the create once more"),
            );
        }
    }

    /// One binding create and its operation, repeated while the instance is busy (a 422, or an
    /// accepted create whose operation failed with `OperationInProgress`), within the deadline.
    async fn post_binding(&self, new: &NewBinding, what: &str) -> Result<Binding> {
        let operation = format!("creation of {what}");
        poll_until(&operation, &self.opts.wait, || async {
            let settled = match self.sm.create_binding(new).await {
                Ok(answer) => {
                    self.settle_binding(answer, &new.instance_id, &new.name)
                        .await
                }
                Err(e) => Err(e),
            };
            match settled {
                Err(e) if instance_busy(&e) => Ok(Poll::Pending {
                    state: e.platform_code().unwrap_or("busy").to_owned(),
                    retry_after: e.retry_after(),
                }),
                other => Ok(Poll::Ready(other)),
            }
        })
        .await?
    }

    /// The created instance, once ready, whatever form the answer took.
    async fn settle_instance(&self, answer: Mutation<Instance>, name: &str) -> Result<Instance> {
        let wait = &self.opts.wait;
        match answer {
            Mutation::Done(instance) => self.ready_instance(instance).await,
            Mutation::Accepted(Some(op)) => {
                self.sm
                    .wait_operation(&op, &format!("creation of instance `{name}`"), wait)
                    .await?;
                self.sm
                    .wait_instance_ready(&InstanceId::new(op.resource_id), wait)
                    .await
            }
            Mutation::Accepted(None) => {
                poll_until(&format!("creation of instance `{name}`"), wait, || async {
                    match self.sm.find_instance(name).await? {
                        None => Ok(Poll::Pending {
                            state: "not visible yet".into(),
                            retry_after: None,
                        }),
                        Some(i) => ready_poll(i.readiness(), i, name),
                    }
                })
                .await
            }
        }
    }

    /// The created binding, once ready and with its credentials.
    async fn settle_binding(
        &self,
        answer: Mutation<Binding>,
        instance: &InstanceId,
        name: &str,
    ) -> Result<Binding> {
        let wait = &self.opts.wait;
        match answer {
            Mutation::Done(binding) => self.ready_binding(binding).await,
            Mutation::Accepted(Some(op)) => {
                self.sm
                    .wait_operation(&op, &format!("creation of binding `{name}`"), wait)
                    .await?;
                let binding = self
                    .sm
                    .wait_binding_ready(&BindingId::new(op.resource_id), wait)
                    .await?;
                self.ready_binding(binding).await
            }
            Mutation::Accepted(None) => {
                let binding =
                    poll_until(&format!("creation of binding `{name}`"), wait, || async {
                        match self.sm.find_binding(instance, name).await? {
                            None => Ok(Poll::Pending {
                                state: "not visible yet".into(),
                                retry_after: None,
                            }),
                            Some(b) => ready_poll(b.readiness(), b, name),
                        }
                    })
                    .await?;
                self.ready_binding(binding).await
            }
        }
    }

    /// Waits for an instance that is still being created; fails on a failed creation.
    pub(super) async fn ready_instance(&self, instance: Instance) -> Result<Instance> {
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

    /// Waits for a binding that is still being created and makes sure its credentials are
    /// there (a create answer may lack them).
    pub(super) async fn ready_binding(&self, binding: Binding) -> Result<Binding> {
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

    fn creating(&self, what: &str) {
        self.opts.wait.progress.emit(ProgressEvent::Creating {
            what: what.to_owned(),
        });
    }

    fn explain(&self, error: &Error, what: &str) {
        let message = if error.is_conflict() {
            let how = match error.status() {
                Some(409) => "409",
                _ => "the accepted create failed with Conflict",
            };
            format!("{what} already exists ({how}): using the existing one")
        } else {
            format!(
                "the answer to creating {what} was lost ({error}); looking it up by name before anything else"
            )
        };
        note(self.opts, message);
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

fn ready_poll<T>(readiness: Readiness, resource: T, name: &str) -> Result<Poll<T>> {
    match readiness {
        Readiness::Ready => Ok(Poll::Ready(resource)),
        Readiness::Busy(state) => Ok(Poll::Pending {
            state,
            retry_after: None,
        }),
        Readiness::Failed(message) => Err(Error::OperationFailed {
            operation: format!("creation of `{name}`"),
            message,
            code: None,
        }),
    }
}

/// `OperationInProgress` / `ConcurrentOperationInProgress`, as a 422 or inside a failed
/// operation: the instance is busy; retry later.
pub(super) fn instance_busy(e: &Error) -> bool {
    e.is_busy()
}
