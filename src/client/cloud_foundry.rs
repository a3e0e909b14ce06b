//! Carrying out a [`SetupPlan`] in a Cloud Foundry space (the legacy path: instance + service
//! key).
//!
//! Request budget with a warm token and a known space ([`retrieve_in`]): an existing instance and
//! key cost three requests (instance by name, key by instance and name, credentials). Checking
//! the scopes of generated credentials costs one token request per key checked.

use crate::client::generated::{self, Fit};
use crate::client::outcome::key_summary;
use crate::client::{InstanceSummary, Provenance, RetrieveOptions, Retrieved};
use crate::cloud_foundry::inventory::InstanceKeys;
use crate::cloud_foundry::{CloudFoundry, ServiceCredentialBinding, ServiceInstance, Space};
use crate::credentials::ServiceKey;
use crate::error::{Error, Resource, Result};
use crate::setup::{Environment, PlanRequest, SetupPlan, Step};
use crate::tier::CredentialLocation;
use crate::wait::ProgressEvent;

/// Resolves org and space by name, then carries out the plan there (see [`retrieve_in`]).
///
/// The named instance is looked up together with its space and org in one request, so an
/// existing instance and key cost five requests on a cold start (root, token, instance, key,
/// credentials). When no instance of that name lives in the space, org and space are resolved
/// by name (two more requests); an instance **shared into** the space from another space is then
/// found by a lookup in the space (one more), and an instance of that name living in the space
/// wins over a shared one.
pub async fn retrieve(
    cf: &CloudFoundry,
    org: &str,
    space: &str,
    req: &PlanRequest,
    opts: &RetrieveOptions,
) -> Result<Retrieved> {
    crate::http::within_deadline(
        opts.wait.timeout,
        "retrieving the credentials",
        retrieve_unbounded(cf, org, space, req, opts),
    )
    .await
}

async fn retrieve_unbounded(
    cf: &CloudFoundry,
    org: &str,
    space: &str,
    req: &PlanRequest,
    opts: &RetrieveOptions,
) -> Result<Retrieved> {
    let located = cf.locate_instance(org, space, &req.instance_name).await?;
    run_in(cf, &located.space, req, opts, Some(located.instance)).await
}

/// Builds the [`SetupPlan`] for `req` (its environment set to Cloud Foundry) and carries it out
/// in `space`:
///
/// - `UseGenerated`: the named instance and key if they exist, else the ready keys of the Cloud
///   ALM API instances in the space (oldest first); with required scopes (transport
///   management), the first whose token carries them (checked with [`crate::verify::verify`]).
///   If none fits and `opts.create` is set, an instance and key are created as for an unknown
///   tier; named ones that exist but do not fit (no token, or a scope missing) are
///   [`Error::VerificationFailed`] then.
///   Without create, nothing fitting is [`Error::NotFound`]. These are the rules of
///   [`service_manager::retrieve`](crate::client::service_manager::retrieve).
/// - `FindExisting`: the named instance and key;
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
    crate::http::within_deadline(
        opts.wait.timeout,
        "retrieving the credentials",
        run_in(cf, space, req, opts, None),
    )
    .await
}

/// [`retrieve_in`] without its deadline, with the answer of the lookup of the named instance
/// when it is already known (`Some(None)`: there is none).
async fn run_in(
    cf: &CloudFoundry,
    space: &Space,
    req: &PlanRequest,
    opts: &RetrieveOptions,
    named_instance: Option<Option<ServiceInstance>>,
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
        details: None,
        named_instance,
    };
    if let Some(Step::UseGenerated {
        required_scopes,
        locations,
        ..
    }) = plan.steps.first()
    {
        if run.use_generated(required_scopes, locations).await? {
            return run.finish(plan).await;
        }
        let (fallback, message) = generated::fallback_plan(&req)?;
        run.cf.note(message);
        return run.execute(fallback).await;
    }
    run.execute(plan).await
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
    /// The key's credentials, when already read (to check its scopes).
    details: Option<ServiceKey>,
    /// The named instance, when it was looked up before the run (used by the first lookup).
    named_instance: Option<Option<ServiceInstance>>,
}

impl Run<'_> {
    async fn execute(mut self, plan: SetupPlan) -> Result<Retrieved> {
        for step in &plan.steps {
            self.step(step).await?;
        }
        self.finish(plan).await
    }

    async fn step(&mut self, step: &Step) -> Result<()> {
        if matches!(self.key, Lookup::Found(_)) {
            return Ok(());
        }
        match step {
            // Carried out before the other steps (see `retrieve_in`).
            Step::UseGenerated { .. } => Ok(()),
            Step::FindExisting { .. } if !matches!(self.instance, Lookup::NotYet) => Ok(()),
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
        let req = self.req;
        let name = &req.instance_name;
        let Some(instance) = self.lookup_instance(name).await? else {
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

    /// The named key if it exists and fits, else the oldest ready key of a Cloud ALM API
    /// instance in the space that fits (generated credentials were made when the tenant was
    /// provisioned, before any made by hand). `Ok(false)`: nothing fits and creating is allowed
    /// (the caller falls back to creating). The rules of [`generated`].
    async fn use_generated(
        &mut self,
        required: &[String],
        locations: &[CredentialLocation],
    ) -> Result<bool> {
        self.find_named().await?;
        let named = match (
            &self.instance,
            std::mem::replace(&mut self.key, Lookup::Missing),
        ) {
            (Lookup::Found(i), Lookup::Found(k)) => Some((i.clone(), k)),
            _ => None,
        };
        let named_guid = named.as_ref().map(|(_, k)| k.guid.clone());
        if self.pick(named.into_iter().collect(), required).await? {
            return Ok(true);
        }
        if named_guid.is_some() && self.opts.create {
            return Err(generated::named_lacks_scopes(self.req, required));
        }
        let candidates: Vec<_> = ready_keys(self.cf.inventory(self.space).await?)
            .into_iter()
            .filter(|(_, k)| Some(&k.guid) != named_guid.as_ref())
            .collect();
        if required.is_empty() && candidates.len() > 1 {
            let (instance, key) = &candidates[0];
            let others: Vec<String> = candidates[1..]
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
        if self.pick(candidates, required).await? {
            return Ok(true);
        }
        if self.opts.create {
            return Ok(false);
        }
        Err(generated::nothing_generated(
            Environment::CloudFoundry,
            required,
            locations,
            &format!("in space `{}`", self.space.name),
            "No instance of the offering in this space has a ready service key that fits: look in another space.",
        ))
    }

    /// Takes the first candidate that carries `required` (its credentials are read and a
    /// token requested only when scopes are required). Keys that do not become ready, whose
    /// credentials cannot be read, or whose token lacks a scope are skipped with a note.
    async fn pick(
        &mut self,
        candidates: Vec<(ServiceInstance, ServiceCredentialBinding)>,
        required: &[String],
    ) -> Result<bool> {
        let wait = &self.opts.wait;
        for (instance, key) in candidates {
            let what = format!(
                "service key `{}` of instance `{}`",
                key.name(),
                instance.name
            );
            let (key, details) = if required.is_empty() {
                (key, None)
            } else {
                let key = match self.cf.wait_key_ready(key, wait).await {
                    Ok(k) => k,
                    Err(e) => {
                        self.cf.note(format!("skipping {what}: {e}"));
                        continue;
                    }
                };
                let details = match self.cf.key_details(&key, wait).await {
                    Ok(d) => d,
                    Err(e @ (Error::InvalidJson { .. } | Error::InvalidUrl { .. })) => {
                        self.cf.note(format!("skipping {what}: {e}"));
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                match generated::check(&details, self.cf.http(), required).await? {
                    Fit::Carries => {}
                    Fit::Skip(why) => {
                        self.cf.note(format!("skipping {what}: {why}"));
                        continue;
                    }
                }
                (key, Some(details))
            };
            self.found(what);
            self.instance = Lookup::Found(instance);
            self.key = Lookup::Found(key);
            self.details = details;
            return Ok(true);
        }
        Ok(false)
    }

    /// The instance called `name` in the space: the answer known before the run when it is
    /// about the named instance (once), else a lookup.
    async fn lookup_instance(&mut self, name: &str) -> Result<Option<ServiceInstance>> {
        if name == self.req.instance_name
            && let Some(known) = self.named_instance.take()
        {
            return Ok(known);
        }
        self.cf.find_instance(&self.space.guid, name).await
    }

    async fn ensure_instance(&mut self, name: &str, parameters: &serde_json::Value) -> Result<()> {
        if matches!(self.instance, Lookup::NotYet) {
            self.instance = match self.lookup_instance(name).await? {
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
                self.require_create(Resource::Instance, name)?;
                let (i, provenance) = self
                    .cf
                    .create_instance(self.space, name, &plan, parameters.clone(), wait)
                    .await?;
                self.instance_provenance = provenance;
                // A new instance has no keys yet: skip the lookup (a key another client adds
                // meanwhile is adopted through the create's "name taken").
                if provenance == Provenance::Created && matches!(self.key, Lookup::NotYet) {
                    self.key = Lookup::Missing;
                }
                i
            }
        };
        self.instance = Lookup::Found(instance);
        Ok(())
    }

    async fn ensure_key(&mut self, name: &str) -> Result<()> {
        let Lookup::Found(instance) = &self.instance else {
            return Err(Error::not_found(
                Resource::Instance,
                format!(
                    "`{}` (it must exist before its service key)",
                    self.req.instance_name
                ),
                true,
            ));
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
            self.require_create(Resource::ServiceKey, name)?;
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

    fn require_create(&self, resource: Resource, name: &str) -> Result<()> {
        if self.opts.create {
            return Ok(());
        }
        Err(Error::not_found(
            resource,
            format!("`{name}` in space `{}`", self.space.name),
            true,
        ))
    }

    fn found(&self, what: String) {
        self.cf.emit(ProgressEvent::Found { what });
    }

    async fn finish(self, plan: SetupPlan) -> Result<Retrieved> {
        let (Lookup::Found(instance), Lookup::Found(key)) = (self.instance, self.key) else {
            return Err(Error::not_found(
                Resource::ServiceKey,
                format!(
                    "`{}` of instance `{}` in space `{}`",
                    self.req.credential_name, self.req.instance_name, self.space.name
                ),
                true,
            ));
        };
        let wait = &self.opts.wait;
        let key = self.cf.wait_key_ready(key, wait).await?;
        let service_key = match self.details {
            Some(details) => details,
            None => self.cf.key_details(&key, wait).await?,
        };
        let mut credential = key_summary(&instance, &key);
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
