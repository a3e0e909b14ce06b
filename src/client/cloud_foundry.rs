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

    /// Picks the one ready key of a Cloud ALM API instance in the space.
    async fn use_generated(&mut self) -> Result<()> {
        let inventory = self.cf.inventory(self.space).await?;
        let mut ready: Vec<(ServiceInstance, ServiceCredentialBinding)> = ready_keys(inventory);
        match ready.len() {
            0 => Err(Error::NotFound {
                what: format!(
                    "automatically generated SAP Cloud ALM API credentials in space `{}`",
                    self.space.name
                ),
                hint: "the tenant's tier says they were generated, but no instance of the offering in this space has a ready service key; \
                       look in another space, in the BTP cockpit or the Landscape Management app, or name the instance and key to create"
                    .into(),
            }),
            1 => {
                let (instance, key) = ready.remove(0);
                self.found(format!("service key `{}` of instance `{}`", key.name(), instance.name));
                self.instance = Lookup::Found(instance);
                self.key = Lookup::Found(key);
                Ok(())
            }
            _ => Err(Error::Ambiguous {
                what: format!("generated credentials in space `{}`", self.space.name),
                candidates: ready
                    .iter()
                    .map(|(i, k)| format!("{}/{}", i.name, k.name()))
                    .collect(),
            }),
        }
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

/// The keys whose create succeeded, with their instances (pure).
fn ready_keys(inventory: Vec<InstanceKeys>) -> Vec<(ServiceInstance, ServiceCredentialBinding)> {
    inventory
        .into_iter()
        .flat_map(|entry| {
            let instance = entry.instance;
            entry
                .keys
                .into_iter()
                .filter(|k| k.is_ready())
                .map(move |k| (instance.clone(), k))
        })
        .collect()
}
