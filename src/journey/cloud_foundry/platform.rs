//! A Cloud Foundry space as a [`Platform`]: service instances (own and shared into the space)
//! and their service keys.
//!
//! Request budget with a warm token and a known space ([`retrieve_in`]): an existing instance and
//! key cost three requests (instance by name, key by instance and name, credentials). With org
//! and space by name ([`retrieve`]) the named instance is looked up together with its space and
//! org in one request, so a cold start costs five (root, token, instance, key, credentials).
//! Checking the scopes of generated credentials costs one token request per key checked.

use super::key_summary;
use crate::cloud_foundry::errors::{Unprocessable, unprocessable};
use crate::cloud_foundry::keys::not_bindable;
use crate::cloud_foundry::{
    CloudFoundry, ServiceCredentialBinding, ServiceInstance, ServicePlan, Space,
};
use crate::credentials::ServiceKey;
use crate::error::{Error, Result};
use crate::http::{HttpClient, within_deadline};
use crate::journey::executor;
use crate::journey::get_or_create::{get_or_create, pause_when_busy};
use crate::journey::platform::{Creation, InstanceSpec, Platform, Refusal};
use crate::journey::{CredentialSummary, InstanceSummary, RetrieveOptions, Retrieved};
use crate::model::{BindingId, Provenance};
use crate::setup::{Environment, PlanRequest};
use url::Url;

/// A journey's view of one space.
pub(crate) struct InSpace<'a> {
    /// The connection, reporting to the journey's progress callback.
    cf: CloudFoundry,
    space: &'a Space,
    opts: &'a RetrieveOptions,
}

impl<'a> InSpace<'a> {
    pub(crate) fn new(cf: &CloudFoundry, space: &'a Space, opts: &'a RetrieveOptions) -> Self {
        InSpace {
            cf: cf.with_progress(opts.wait.progress.clone()),
            space,
            opts,
        }
    }
}

/// Resolves org and space by name, then carries out the plan there (see [`retrieve_in`]).
///
/// The named instance is looked up together with its space and org in one request. When no
/// instance of that name lives in the space, org and space are resolved by name (two more
/// requests); an instance **shared into** the space from another space is then found by a
/// lookup in the space (one more), and an instance of that name living in the space wins over
/// a shared one.
pub(crate) async fn retrieve(
    cf: &CloudFoundry,
    org: &str,
    space: &str,
    req: &PlanRequest,
    opts: &RetrieveOptions,
) -> Result<Retrieved> {
    within_deadline(opts.wait.timeout, "retrieving the credentials", async {
        let located = cf.locate_instance(org, space, &req.instance_name).await?;
        run(cf, &located.space, req, opts, Some(located.instance)).await
    })
    .await
}

/// Carries out the plan for `req` (its environment set to Cloud Foundry) in `space` with the
/// one executor (see [`executor`]).
pub(crate) async fn retrieve_in(
    cf: &CloudFoundry,
    space: &Space,
    req: &PlanRequest,
    opts: &RetrieveOptions,
) -> Result<Retrieved> {
    within_deadline(
        opts.wait.timeout,
        "retrieving the credentials",
        run(cf, space, req, opts, None),
    )
    .await
}

async fn run(
    cf: &CloudFoundry,
    space: &Space,
    req: &PlanRequest,
    opts: &RetrieveOptions,
    named: Option<Option<ServiceInstance>>,
) -> Result<Retrieved> {
    let mut req = req.clone();
    req.environment = Environment::CloudFoundry;
    executor::retrieve(&InSpace::new(cf, space, opts), &req, named).await
}

impl Platform for InSpace<'_> {
    type Instance = ServiceInstance;
    type Credential = ServiceCredentialBinding;
    type Plan = ServicePlan;

    const ENVIRONMENT: Environment = Environment::CloudFoundry;
    const INSTANCE_NOUN: &'static str = "service instance";
    const ADVICE: &'static str = "No instance of the offering in this space has a ready service key that fits: look in another space.";

    fn opts(&self) -> &RetrieveOptions {
        self.opts
    }

    fn http(&self) -> &HttpClient {
        self.cf.http()
    }

    fn place(&self) -> String {
        format!("in space `{}`", self.space.name)
    }

    async fn find_instance(&self, name: &str) -> Result<Option<ServiceInstance>> {
        self.cf.find_instance(&self.space.guid, name).await
    }

    async fn find_credential(
        &self,
        instance: &ServiceInstance,
        name: &str,
    ) -> Result<Option<ServiceCredentialBinding>> {
        self.cf.find_key(&instance.guid, name).await
    }

    async fn resolve_plan(&self, spec: &InstanceSpec<'_>) -> Result<ServicePlan> {
        self.cf
            .service_plan(spec.offering, spec.plan, Some(self.space))
            .await
    }

    async fn create_instance(
        &self,
        spec: &InstanceSpec<'_>,
        plan: ServicePlan,
    ) -> Result<(ServiceInstance, Provenance)> {
        let creation = NewCfInstance {
            on: self,
            spec,
            plan,
            what: format!(
                "service instance `{}` in space `{}`",
                spec.name, self.space.name
            ),
        };
        get_or_create(&creation, self.opts).await
    }

    async fn create_credential(
        &self,
        instance: &ServiceInstance,
        name: &str,
    ) -> Result<(ServiceCredentialBinding, Provenance)> {
        let creation = NewCfKey {
            on: self,
            instance,
            name,
            what: format!("service key `{name}` of instance `{}`", instance.name),
        };
        get_or_create(&creation, self.opts).await
    }

    async fn ready_instance(&self, instance: ServiceInstance) -> Result<ServiceInstance> {
        self.cf.wait_instance_ready(instance, &self.opts.wait).await
    }

    async fn ready_credential(
        &self,
        key: ServiceCredentialBinding,
    ) -> Result<ServiceCredentialBinding> {
        self.cf.wait_key_ready(key, &self.opts.wait).await
    }

    async fn read_key(&self, key: &mut ServiceCredentialBinding) -> Result<ServiceKey> {
        self.cf.key_details(key, &self.opts.wait).await
    }

    async fn inventory(&self) -> Result<Vec<(ServiceInstance, Vec<ServiceCredentialBinding>)>> {
        let inventory = self.cf.inventory(self.space).await?;
        Ok(inventory
            .into_iter()
            .map(|e| (e.instance, e.keys))
            .collect())
    }

    /// Only keys whose create succeeded: one in progress may never finish.
    fn may_hand_over(_instance: &ServiceInstance, key: &ServiceCredentialBinding) -> bool {
        key.is_ready()
    }

    fn instance_state(instance: &ServiceInstance) -> String {
        instance
            .last_operation
            .as_ref()
            .map_or("ready".to_owned(), |op| op.readiness().describe())
    }

    fn instance_name(instance: &ServiceInstance) -> &str {
        &instance.name
    }

    fn credential_name(key: &ServiceCredentialBinding) -> &str {
        key.name()
    }

    fn credential_id(key: &ServiceCredentialBinding) -> &BindingId {
        &key.guid
    }

    fn instance_summary(instance: &ServiceInstance) -> InstanceSummary {
        InstanceSummary::new(instance.guid.clone(), &instance.name, instance.created_at)
    }

    fn credential_summary(
        instance: &ServiceInstance,
        key: &ServiceCredentialBinding,
    ) -> CredentialSummary {
        key_summary(instance, key)
    }
}

/// Creating one service instance.
struct NewCfInstance<'a> {
    on: &'a InSpace<'a>,
    spec: &'a InstanceSpec<'a>,
    plan: ServicePlan,
    what: String,
}

impl Creation for NewCfInstance<'_> {
    type Made = ServiceInstance;
    type Posted = Url;

    fn what(&self) -> &str {
        &self.what
    }

    async fn post(&self) -> Result<Url> {
        let spec = self.spec;
        self.on
            .cf
            .post_instance(self.on.space, spec.name, &self.plan, spec.parameters)
            .await
    }

    async fn settle(&self, job: Url) -> Result<ServiceInstance> {
        let on = self.on;
        on.cf
            .finish_instance_job(&job, on.space, self.spec.name, &on.opts.wait)
            .await
    }

    async fn find(&self) -> Result<Option<ServiceInstance>> {
        self.on.find_instance(self.spec.name).await
    }

    async fn ready(&self, found: ServiceInstance) -> Result<ServiceInstance> {
        self.on.ready_instance(found).await
    }

    async fn wait_out(&self, busy: &Error, waits: u32) -> Result<()> {
        pause_when_busy(self.on.opts, busy, waits).await;
        Ok(())
    }

    fn classify(&self, error: Error) -> Refusal {
        match unprocessable(&error) {
            Some(Unprocessable::InstanceNameTaken) => Refusal::Exists(error),
            _ => Refusal::of(error),
        }
    }
}

/// Creating one service key.
struct NewCfKey<'a> {
    on: &'a InSpace<'a>,
    instance: &'a ServiceInstance,
    name: &'a str,
    what: String,
}

impl Creation for NewCfKey<'_> {
    type Made = ServiceCredentialBinding;
    type Posted = Url;

    fn what(&self) -> &str {
        &self.what
    }

    async fn post(&self) -> Result<Url> {
        self.on.cf.post_key(self.instance, self.name).await
    }

    async fn settle(&self, job: Url) -> Result<ServiceCredentialBinding> {
        let on = self.on;
        on.cf
            .finish_key_job(&job, self.instance, self.name, &on.opts.wait)
            .await
    }

    async fn find(&self) -> Result<Option<ServiceCredentialBinding>> {
        self.on.find_credential(self.instance, self.name).await
    }

    async fn ready(&self, found: ServiceCredentialBinding) -> Result<ServiceCredentialBinding> {
        self.on.ready_credential(found).await
    }

    /// A busy instance is waited for; an old key of that name until it is gone.
    async fn wait_out(&self, busy: &Error, waits: u32) -> Result<()> {
        let (cf, wait) = (&self.on.cf, &self.on.opts.wait);
        if unprocessable(busy) == Some(Unprocessable::KeyBeingDeleted) {
            return cf.wait_key_gone(&self.instance.guid, self.name, wait).await;
        }
        let current = cf.instance(&self.instance.guid).await?;
        if current.is_busy() {
            cf.wait_instance_ready(current, wait).await?;
        } else {
            // Busy with something the instance does not show (another key's create).
            pause_when_busy(self.on.opts, busy, waits).await;
        }
        Ok(())
    }

    fn classify(&self, error: Error) -> Refusal {
        match unprocessable(&error) {
            Some(Unprocessable::KeyNameTaken) => Refusal::Exists(error),
            Some(Unprocessable::InstanceBusy | Unprocessable::KeyBeingDeleted) => {
                Refusal::Busy(error)
            }
            Some(Unprocessable::NotBindable) => {
                Refusal::Final(not_bindable(&self.instance.name, &error))
            }
            _ => Refusal::of(error),
        }
    }
}

/// Get-or-create of service key `name` of `instance` in `space` (the contract tests' way in).
#[cfg(test)]
pub(crate) async fn create_key(
    cf: &CloudFoundry,
    space: &Space,
    instance: &ServiceInstance,
    name: &str,
    wait: &crate::wait::WaitOptions,
) -> Result<(ServiceCredentialBinding, crate::model::Provenance)> {
    let opts = RetrieveOptions {
        create: true,
        wait: wait.clone(),
    };
    let on = InSpace::new(cf, space, &opts);
    on.create_credential(instance, name).await
}

/// Get-or-create of service instance `name` of `plan` in `space` (the contract tests' way in).
#[cfg(test)]
pub(crate) async fn create_instance(
    cf: &CloudFoundry,
    space: &Space,
    name: &str,
    plan: &ServicePlan,
    parameters: serde_json::Value,
    wait: &crate::wait::WaitOptions,
) -> Result<(ServiceInstance, crate::model::Provenance)> {
    let opts = RetrieveOptions {
        create: true,
        wait: wait.clone(),
    };
    let on = InSpace::new(cf, space, &opts);
    let spec = InstanceSpec {
        name,
        offering: "",
        plan: "",
        parameters: &parameters,
    };
    on.create_instance(&spec, plan.clone()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_keys_whose_create_succeeded_are_handed_over() {
        let instance: ServiceInstance =
            serde_json::from_value(json!({"guid": "i", "name": "a"})).unwrap();
        let keys: Vec<ServiceCredentialBinding> = serde_json::from_value(json!([
            {"guid": "k1", "name": "new", "created_at": "2024-05-01T00:00:00Z"},
            {"guid": "k2", "name": "busy", "last_operation": {"type": "create", "state": "in progress"}},
            {"guid": "k4", "name": "bad", "created_at": "2020-01-01T00:00:00Z",
             "last_operation": {"type": "create", "state": "failed"}}
        ]))
        .unwrap();
        let handed: Vec<&str> = keys
            .iter()
            .filter(|k| InSpace::may_hand_over(&instance, k))
            .map(|k| k.name())
            .collect();
        assert_eq!(handed, ["new"]);
    }
}
