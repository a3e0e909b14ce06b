//! Carrying out a [`SetupPlan`] in a Cloud Foundry space (the legacy path: instance + service
//! key).
//!
//! Request budget with a warm token and a known space ([`retrieve_in`]): an existing instance and
//! key cost three requests (instance by name, key by instance and name, credentials).

use crate::client::{InstanceSummary, Provenance, RetrieveOptions, Retrieved};
use crate::cloud_foundry::inventory::{InstanceKeys, summary};
use crate::cloud_foundry::{CloudFoundry, ServiceCredentialBinding, ServiceInstance, Space};
use crate::error::{Error, Result};
use crate::setup::{Environment, PlanRequest, SetupPlan, Step};
use crate::wait::ProgressEvent;

/// Resolves org and space by name, then carries out the plan there (see [`retrieve_in`]).
pub async fn retrieve(
    cf: &CloudFoundry,
    org: &str,
    space: &str,
    req: &PlanRequest,
    opts: &RetrieveOptions,
) -> Result<Retrieved> {
    let space = cf.find_space(org, space).await?;
    retrieve_in(cf, &space, req, opts).await
}

/// Builds the [`SetupPlan`] for `req` (its environment set to Cloud Foundry) and carries it out
/// in `space`:
///
/// - `UseGenerated` / `FindExisting`: the named instance and key, else (for generated
///   credentials) the one ready key of a Cloud ALM API instance in the space;
/// - `ConfigureEntitlement`: checked only when something must be created (the plan must be
///   visible, else [`Error::EntitlementMissing`]);
/// - `CreateInstance` / `CreateCredentials`: get-or-create, only with
///   [`RetrieveOptions::create`]; otherwise a missing one is [`Error::NotFound`].
pub async fn retrieve_in(
    cf: &CloudFoundry,
    space: &Space,
    req: &PlanRequest,
    opts: &RetrieveOptions,
) -> Result<Retrieved> {
    let mut req = req.clone();
    req.environment = Environment::CloudFoundry;
    let plan = SetupPlan::new(&req)?;
    let mut run = Run {
        cf: cf.with_progress(opts.wait.progress.clone()),
        space,
        req: &req,
        opts,
        instance: Lookup::NotYet,
        instance_provenance: Provenance::Found,
        key: Lookup::NotYet,
        key_provenance: Provenance::Found,
    };
    for step in &plan.steps {
        run.step(step).await?;
    }
    run.finish(plan).await
}

impl CloudFoundry {
    /// [`retrieve`] as a method.
    pub async fn retrieve(
        &self,
        org: &str,
        space: &str,
        req: &PlanRequest,
        opts: &RetrieveOptions,
    ) -> Result<Retrieved> {
        retrieve(self, org, space, req, opts).await
    }

    /// [`retrieve_in`] as a method.
    pub async fn retrieve_in(
        &self,
        space: &Space,
        req: &PlanRequest,
        opts: &RetrieveOptions,
    ) -> Result<Retrieved> {
        retrieve_in(self, space, req, opts).await
    }
}

/// Whether a resource was looked up, and what was found.
enum Lookup<T> {
    NotYet,
    Missing,
    Found(T),
}

struct Run<'a> {
    cf: CloudFoundry,
    space: &'a Space,
    req: &'a PlanRequest,
    opts: &'a RetrieveOptions,
    instance: Lookup<ServiceInstance>,
    instance_provenance: Provenance,
    key: Lookup<ServiceCredentialBinding>,
    key_provenance: Provenance,
}

impl Run<'_> {
    async fn step(&mut self, step: &Step) -> Result<()> {
        if matches!(self.key, Lookup::Found(_)) {
            return Ok(());
        }
        match step {
            Step::UseGenerated {
                required_scopes, ..
            } => {
                self.find_named().await?;
                if !matches!(self.key, Lookup::Found(_)) {
                    self.use_generated().await?;
                }
                if !required_scopes.is_empty() {
                    self.cf.note(format!(
                        "the key's scopes are not checked here; check them with `verify` (needed: {})",
                        required_scopes.join(", ")
                    ));
                }
                Ok(())
            }
            Step::FindExisting { .. } => self.find_named().await,
            Step::ConfigureEntitlement { .. } => Ok(()),
            Step::CreateInstance {
                name, parameters, ..
            } => self.ensure_instance(name, parameters).await,
            Step::CreateCredentials { name, .. } => self.ensure_key(name).await,
        }
    }

    /// Looks up the named instance and, when it exists, the named key.
    async fn find_named(&mut self) -> Result<()> {
        let name = &self.req.instance_name;
        let Some(instance) = self.cf.find_instance(&self.space.guid, name).await? else {
            self.instance = Lookup::Missing;
            return Ok(());
        };
        self.found(format!("service instance `{name}`"));
        let key = self
            .cf
            .find_key(&instance.guid, &self.req.credential_name)
            .await?;
        self.instance = Lookup::Found(instance);
        self.key = match key {
            Some(k) if !k.last_operation.as_ref().is_some_and(|o| o.is_failed()) => {
                self.found(format!("service key `{}`", k.name()));
                Lookup::Found(k)
            }
            _ => Lookup::Missing,
        };
        Ok(())
    }

    /// Picks the oldest ready key of a Cloud ALM API instance in the space: generated
    /// credentials were made when the tenant was provisioned, before any made by hand.
    async fn use_generated(&mut self) -> Result<()> {
        let inventory = self.cf.inventory(self.space).await?;
        let mut ready = ready_keys(inventory);
        if ready.is_empty() {
            return Err(Error::NotFound {
                what: format!(
                    "automatically generated SAP Cloud ALM API credentials in space `{}`",
                    self.space.name
                ),
                hint: "the tenant's tier says they were generated, but no instance of the offering in this space has a ready service key; \
                       look in another space, in the BTP cockpit or the Landscape Management app, or name the instance and key to create"
                    .into(),
            });
        }
        let (instance, key) = ready.remove(0);
        if !ready.is_empty() {
            let others: Vec<String> = ready
                .iter()
                .map(|(i, k)| format!("{}/{}", i.name, k.name()))
                .collect();
            self.cf.note(format!(
                "several service keys exist in space `{}`; using the oldest, {}/{} (others: {}); name instance and key to pick another",
                self.space.name,
                instance.name,
                key.name(),
                others.join(", ")
            ));
        }
        self.found(format!(
            "service key `{}` of instance `{}`",
            key.name(),
            instance.name
        ));
        self.instance = Lookup::Found(instance);
        self.key = Lookup::Found(key);
        Ok(())
    }

    async fn ensure_instance(&mut self, name: &str, parameters: &serde_json::Value) -> Result<()> {
        if matches!(self.instance, Lookup::NotYet) {
            self.instance = match self.cf.find_instance(&self.space.guid, name).await? {
                Some(i) => {
                    self.found(format!("service instance `{name}`"));
                    Lookup::Found(i)
                }
                None => Lookup::Missing,
            };
        }
        let wait = &self.opts.wait;
        let existing = match std::mem::replace(&mut self.instance, Lookup::Missing) {
            Lookup::Found(i) if !create_failed(&i) || !self.opts.create => Some(i),
            _ => None,
        };
        let instance = match existing {
            Some(i) => self.cf.wait_instance_ready(i, wait).await?,
            None => {
                let plan = self.plan().await?;
                self.require_create("service instance", name)?;
                let (i, provenance) = self
                    .cf
                    .create_instance(self.space, name, &plan, parameters.clone(), wait)
                    .await?;
                self.instance_provenance = provenance;
                i
            }
        };
        self.instance = Lookup::Found(instance);
        Ok(())
    }

    async fn ensure_key(&mut self, name: &str) -> Result<()> {
        let Lookup::Found(instance) = &self.instance else {
            return Err(Error::NotFound {
                what: format!("service instance `{}`", self.req.instance_name),
                hint: "the instance must exist before its service key".into(),
            });
        };
        let instance = instance.clone();
        if matches!(self.key, Lookup::NotYet) {
            self.key = match self.cf.find_key(&instance.guid, name).await? {
                Some(k) if !k.last_operation.as_ref().is_some_and(|o| o.is_failed()) => {
                    self.found(format!("service key `{name}`"));
                    Lookup::Found(k)
                }
                _ => Lookup::Missing,
            };
        }
        if matches!(self.key, Lookup::Missing) {
            self.require_create("service key", name)?;
            let (key, provenance) = self.cf.create_key(&instance, name, &self.opts.wait).await?;
            self.key_provenance = provenance;
            self.key = Lookup::Found(key);
        }
        Ok(())
    }

    /// The plan to create the instance with; its absence means the entitlement is missing.
    async fn plan(&self) -> Result<crate::cloud_foundry::ServicePlan> {
        self.cf
            .service_plan(&self.req.offering, &self.req.plan, Some(self.space))
            .await
    }

    fn require_create(&self, what: &str, name: &str) -> Result<()> {
        if self.opts.create {
            return Ok(());
        }
        Err(Error::NotFound {
            what: format!("{what} `{name}` in space `{}`", self.space.name),
            hint: "nothing was created: allow creating it (`RetrieveOptions::create(true)`, or `--create` on the command line)".into(),
        })
    }

    fn found(&self, what: String) {
        self.cf.emit(ProgressEvent::Found { what });
    }

    async fn finish(self, plan: SetupPlan) -> Result<Retrieved> {
        let (Lookup::Found(instance), Lookup::Found(key)) = (self.instance, self.key) else {
            return Err(Error::NotFound {
                what: format!(
                    "service key `{}` of instance `{}` in space `{}`",
                    self.req.credential_name, self.req.instance_name, self.space.name
                ),
                hint: "allow creating it (`RetrieveOptions::create(true)`, or `--create`)".into(),
            });
        };
        let wait = &self.opts.wait;
        let key = self.cf.wait_key_ready(key, wait).await?;
        let service_key = self.cf.key_details(&key, wait).await?;
        let mut credential = summary(&instance, &key);
        credential.credential_type = service_key.credential_type().cloned();
        Ok(Retrieved {
            plan,
            instance: InstanceSummary::new(
                instance.guid.clone(),
                &instance.name,
                instance.created_at,
            ),
            instance_provenance: self.instance_provenance,
            credential,
            credential_provenance: self.key_provenance,
            key: service_key,
        })
    }
}

fn create_failed(instance: &ServiceInstance) -> bool {
    instance
        .last_operation
        .as_ref()
        .is_some_and(|o| o.kind == "create" && o.is_failed())
}

/// The keys whose create succeeded, with their instances, oldest first (keys without a
/// creation time last, then by name) (pure).
fn ready_keys(inventory: Vec<InstanceKeys>) -> Vec<(ServiceInstance, ServiceCredentialBinding)> {
    let mut ready: Vec<_> = inventory
        .into_iter()
        .flat_map(|entry| {
            let instance = entry.instance;
            entry
                .keys
                .into_iter()
                .filter(|k| k.is_ready())
                .map(move |k| (instance.clone(), k))
        })
        .collect();
    ready.sort_by(|(_, a), (_, b)| {
        let when = |k: &ServiceCredentialBinding| (k.created_at.is_none(), k.created_at);
        when(a).cmp(&when(b)).then_with(|| a.name().cmp(b.name()))
    });
    ready
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ready_keys_oldest_first_failed_ones_left_out() {
        let instance: ServiceInstance =
            serde_json::from_value(json!({"guid": "i", "name": "a"})).unwrap();
        let keys: Vec<ServiceCredentialBinding> = serde_json::from_value(json!([
            {"guid": "k1", "name": "new", "created_at": "2024-05-01T00:00:00Z"},
            {"guid": "k2", "name": "undated"},
            {"guid": "k3", "name": "old", "created_at": "2023-07-01T00:00:00Z"},
            {"guid": "k4", "name": "bad", "created_at": "2020-01-01T00:00:00Z",
             "last_operation": {"type": "create", "state": "failed"}}
        ]))
        .unwrap();
        let got = ready_keys(vec![InstanceKeys { instance, keys }]);
        let names: Vec<&str> = got.iter().map(|(_, k)| k.name()).collect();
        assert_eq!(names, ["old", "new", "undated"]);
    }
}
