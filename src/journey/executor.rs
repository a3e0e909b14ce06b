//! The one executor: carries a [`SetupPlan`] out on any [`Platform`].
//!
//! - `UseGenerated`: the credentials the request names if they exist and fit, else the oldest
//!   generated ones that fit (with required scopes: the first whose token carries them, one
//!   token request per candidate checked). If none fits and creating is allowed, the
//!   unknown-tier plan is carried out instead ([`generated::fallback_plan`]); named
//!   credentials that exist but do not fit are [`Error::VerificationFailed`] then (a new name
//!   is needed). Without create, nothing fitting is [`Error::NotFound`].
//! - `FindExisting`: the named instance, then its named credential (two requests).
//! - `ConfigureEntitlement`: checked only when an instance must be created (its plan must be
//!   visible, else [`Error::EntitlementMissing`]); an existing instance proves it.
//! - `CreateInstance` / `CreateCredentials`: looked up by name (an instance this journey has
//!   just created has no credentials, so they are not looked up), created with
//!   [`get_or_create`] when allowed, else [`Error::NotFound`] with `creatable: true`.

use chrono::{DateTime, Utc};

use super::generated::{self, Fit};
use super::platform::{InstanceSpec, Platform};
use crate::credentials::ServiceKey;
use crate::error::{Error, Resource, Result};
use crate::journey::{CredentialSummary, RetrieveOptions, Retrieved};
use crate::model::Provenance;
use crate::setup::{Environment, PlanRequest, SetupPlan, Step};
use crate::tier::CredentialLocation;

/// Carries out the plan for `req` on `platform`. `named`: the answer of an earlier lookup of
/// the named instance, when the caller already made one (`Some(None)`: there is none).
pub(crate) async fn retrieve<P: Platform>(
    platform: &P,
    req: &PlanRequest,
    named: Option<Option<P::Instance>>,
) -> Result<Retrieved> {
    let plan = SetupPlan::new(req)?;
    // Boxed: the run's state (found instance and credential) stays put while each step's
    // future borrows it, instead of being copied into every future that holds the run.
    let mut run = Box::new(Run {
        p: platform,
        req,
        opts: platform.opts(),
        instance: Lookup::NotYet,
        credential: Lookup::NotYet,
        key: None,
        named,
    });
    if let Some(Step::UseGenerated {
        required_scopes,
        locations,
        ..
    }) = plan.steps.first()
    {
        if run.use_generated(required_scopes, locations).await? {
            return Box::pin(run.finish(plan)).await;
        }
        let (fallback, message) = generated::fallback_plan(req)?;
        run.opts.note(message);
        return Box::pin(run.execute(fallback)).await;
    }
    Box::pin(run.execute(plan)).await
}

/// Whether a resource was looked up, and what was found or made.
enum Lookup<T> {
    NotYet,
    Missing,
    Found(T, Provenance),
}

/// One journey's state while the plan's steps are carried out.
struct Run<'a, P: Platform> {
    p: &'a P,
    req: &'a PlanRequest,
    opts: &'a RetrieveOptions,
    instance: Lookup<P::Instance>,
    credential: Lookup<P::Credential>,
    /// The credential's key, when already read (to check its scopes).
    key: Option<ServiceKey>,
    /// The named instance, when it was looked up before the run (used by the first lookup).
    named: Option<Option<P::Instance>>,
}

impl<P: Platform> Run<'_, P> {
    async fn execute(mut self: Box<Self>, plan: SetupPlan) -> Result<Retrieved> {
        for step in &plan.steps {
            match step {
                // Carried out before the other steps (see `retrieve`).
                Step::UseGenerated { .. } | Step::ConfigureEntitlement { .. } => {}
                Step::FindExisting { .. } => {
                    if matches!(self.instance, Lookup::NotYet) {
                        self.find_named().await?;
                    }
                }
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
                    self.ensure_instance(&spec).await?;
                }
                Step::CreateCredentials { name, .. } => self.ensure_credential(name).await?,
            }
        }
        Box::pin(self.finish(plan)).await
    }

    /// Looks up the named instance and, when it exists, its named credential.
    async fn find_named(&mut self) -> Result<()> {
        let name = &self.req.instance_name;
        let Some(instance) = self.lookup_instance(name).await? else {
            self.instance = Lookup::Missing;
            return Ok(());
        };
        self.opts.found(|| format!("{} `{name}`", P::INSTANCE_NOUN));
        let credential_name = &self.req.credential_name;
        self.credential = match Box::pin(self.p.find_credential(&instance, credential_name)).await?
        {
            Some(c) => {
                self.opts
                    .found(|| format!("{} `{credential_name}`", self.noun()));
                Lookup::Found(c, Provenance::Found)
            }
            None => Lookup::Missing,
        };
        self.instance = Lookup::Found(instance, Provenance::Found);
        Ok(())
    }

    /// The instance called `name`: the answer known before the run when it is about the named
    /// instance (once), else a lookup.
    async fn lookup_instance(&mut self, name: &str) -> Result<Option<P::Instance>> {
        if name == self.req.instance_name
            && let Some(known) = self.named.take()
        {
            return Ok(known);
        }
        Box::pin(self.p.find_instance(name)).await
    }

    async fn ensure_instance(&mut self, spec: &InstanceSpec<'_>) -> Result<()> {
        if matches!(self.instance, Lookup::NotYet) {
            self.instance = match self.lookup_instance(spec.name).await? {
                Some(i) => {
                    self.opts
                        .found(|| format!("{} `{}`", P::INSTANCE_NOUN, spec.name));
                    Lookup::Found(i, Provenance::Found)
                }
                None => Lookup::Missing,
            };
        }
        if !matches!(self.instance, Lookup::Missing) {
            return Ok(());
        }
        if !self.opts.create {
            return Err(Error::not_found(
                Resource::Instance,
                format!(
                    "`{}` (offering `{}`, plan `{}`) {}",
                    spec.name,
                    spec.offering,
                    spec.plan,
                    self.p.place()
                ),
                true,
            ));
        }
        let plan = Box::pin(self.p.resolve_plan(spec)).await?;
        // Boxed, as every path that only creating or checking takes: the future of a journey
        // that finds what exists stays small (it is moved when the journey starts).
        let (instance, provenance) = Box::pin(self.p.create_instance(spec, plan)).await?;
        // A new instance has no credentials yet: nothing to look up (one another client adds
        // meanwhile is adopted through the create's "name taken").
        if provenance == Provenance::Created && matches!(self.credential, Lookup::NotYet) {
            self.credential = Lookup::Missing;
        }
        self.instance = Lookup::Found(instance, provenance);
        Ok(())
    }

    async fn ensure_credential(&mut self, name: &str) -> Result<()> {
        let Lookup::Found(instance, _) = &self.instance else {
            return Err(Error::not_found(
                Resource::Instance,
                format!(
                    "`{}` (it must exist before its {})",
                    self.req.instance_name,
                    self.noun()
                ),
                true,
            ));
        };
        if matches!(self.credential, Lookup::NotYet) {
            self.credential = match self.p.find_credential(instance, name).await? {
                Some(c) => {
                    self.opts.found(|| format!("{} `{name}`", self.noun()));
                    Lookup::Found(c, Provenance::Found)
                }
                None => Lookup::Missing,
            };
        }
        if !matches!(self.credential, Lookup::Missing) {
            return Ok(());
        }
        if !self.opts.create {
            return Err(missing_credential(self.p, self.req, name));
        }
        let Lookup::Found(instance, provenance) =
            std::mem::replace(&mut self.instance, Lookup::Missing)
        else {
            unreachable!("checked above");
        };
        // A busy instance refuses new credentials: wait for it first.
        let instance = Box::pin(self.p.ready_instance(instance)).await?;
        let created = Box::pin(self.p.create_credential(&instance, name)).await;
        self.instance = Lookup::Found(instance, provenance);
        let (credential, provenance) = created?;
        self.credential = Lookup::Found(credential, provenance);
        Ok(())
    }

    /// The named credentials if they exist and fit, else the oldest generated ones that fit.
    /// `Ok(false)`: nothing fits and creating is allowed (the caller falls back to creating).
    async fn use_generated(
        &mut self,
        required: &[String],
        locations: &[CredentialLocation],
    ) -> Result<bool> {
        self.find_named().await?;
        let named = match (
            std::mem::replace(&mut self.instance, Lookup::Missing),
            std::mem::replace(&mut self.credential, Lookup::Missing),
        ) {
            (Lookup::Found(i, _), Lookup::Found(c, _)) => Some((i, c)),
            (instance, _) => {
                self.instance = instance;
                None
            }
        };
        let named_id = named.as_ref().map(|(_, c)| P::credential_id(c).clone());
        if let Some((instance, credential)) = named {
            let why = match Box::pin(self.take(instance, credential, required)).await? {
                Taken::Yes => return Ok(true),
                Taken::No(why, instance) => {
                    self.instance = Lookup::Found(instance, Provenance::Found);
                    why
                }
            };
            // Creating under the names would meet the named credentials again: with create,
            // why they cannot be used is the answer.
            match why {
                _ if !self.opts.create => {}
                Skipped::Unusable(e) => return Err(e),
                Skipped::LacksScopes(_) => {
                    return Err(generated::named_lacks_scopes(self.req, required));
                }
            }
        }
        let inventory = Box::pin(self.p.inventory()).await?;
        let mut candidates: Vec<_> = inventory
            .into_iter()
            .flat_map(|(i, cs)| cs.into_iter().map(move |c| (i.clone(), c)))
            .filter(|(i, c)| P::may_hand_over(i, c))
            .map(|(i, c)| (P::credential_summary(&i, &c), i, c))
            .filter(|(summary, _, _)| Some(&summary.id) != named_id.as_ref())
            .collect();
        candidates.sort_by(|(a, ..), (b, ..)| {
            oldest_first(a.created_at, b.created_at).then_with(|| a.name.cmp(&b.name))
        });
        if required.is_empty() && candidates.len() > 1 {
            self.several(&candidates);
        }
        let candidates = candidates.into_iter().map(|(_, i, c)| (i, c)).collect();
        if self.pick(candidates, required).await? {
            return Ok(true);
        }
        if self.opts.create {
            return Ok(false);
        }
        Err(generated::nothing_generated(
            P::ENVIRONMENT,
            required,
            locations,
            &self.p.place(),
            P::ADVICE,
        ))
    }

    /// Takes the first candidate that is usable and carries `required`; the others are
    /// skipped with a note.
    async fn pick(
        &mut self,
        candidates: Vec<(P::Instance, P::Credential)>,
        required: &[String],
    ) -> Result<bool> {
        for (instance, credential) in candidates {
            if let Taken::Yes = Box::pin(self.take(instance, credential, required)).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Takes the candidate if it is usable and carries `required` (its key is read and a token
    /// requested only when scopes are required). Else says why not, also noted: it did not
    /// become ready or its key cannot be read (the error), or its token lacks a scope; and
    /// hands the instance back.
    async fn take(
        &mut self,
        instance: P::Instance,
        credential: P::Credential,
        required: &[String],
    ) -> Result<Taken<P>> {
        // The credential moves into the wait; its name is kept for the texts.
        let name = P::credential_name(&credential).to_owned();
        let what = |instance: &P::Instance| {
            let noun = self.noun();
            format!(
                "{noun} `{name}` of instance `{}`",
                P::instance_name(instance)
            )
        };
        let skip = |why: Skipped, instance: P::Instance| {
            let message = format!("skipping {}: {}", what(&instance), why.reason());
            self.opts.note(message);
            Ok(Taken::No(why, instance))
        };
        let mut credential = match Box::pin(self.p.ready_credential(credential)).await {
            Ok(c) => c,
            Err(e) => return skip(Skipped::Unusable(e), instance),
        };
        let key = if required.is_empty() {
            None
        } else {
            let key = match self.p.read_key(&mut credential).await {
                Ok(k) => k,
                Err(e) if unreadable(&e) => return skip(Skipped::Unusable(e), instance),
                Err(e) => return Err(e),
            };
            let fit = Box::pin(generated::check(&key, self.p.http(), required)).await?;
            if let Fit::Skip(why) = fit {
                return skip(Skipped::LacksScopes(why), instance);
            }
            Some(key)
        };
        self.opts.found(|| what(&instance));
        self.instance = Lookup::Found(instance, Provenance::Found);
        self.credential = Lookup::Found(credential, Provenance::Found);
        self.key = key;
        Ok(Taken::Yes)
    }

    /// Says which of several generated credentials is used, and how to pick another.
    fn several(&self, candidates: &[(CredentialSummary, P::Instance, P::Credential)]) {
        let label = |s: &CredentialSummary| {
            format!(
                "{}/{}",
                s.instance_name.as_deref().unwrap_or_default(),
                s.name
            )
        };
        let others: Vec<String> = candidates[1..].iter().map(|(s, ..)| label(s)).collect();
        let noun = self.noun();
        self.opts.note(format!(
            "several {noun}s found {}; using the oldest, {} (others: {}); name the instance and {noun} to pick another",
            self.p.place(),
            label(&candidates[0].0),
            others.join(", ")
        ));
    }

    async fn finish(self: Box<Self>, plan: SetupPlan) -> Result<Retrieved> {
        let this = *self;
        let (Lookup::Found(instance, instance_provenance), Lookup::Found(credential, provenance)) =
            (this.instance, this.credential)
        else {
            return Err(missing_credential(
                this.p,
                this.req,
                &this.req.credential_name,
            ));
        };
        // A key read while picking was read from a ready credential.
        let (credential, key) = match this.key {
            Some(key) => (credential, key),
            None => {
                let mut credential = Box::pin(this.p.ready_credential(credential)).await?;
                let key = this.p.read_key(&mut credential).await?;
                (credential, key)
            }
        };
        let mut summary = P::credential_summary(&instance, &credential);
        summary.credential_type = key.credential_type().cloned();
        Ok(Retrieved {
            plan,
            instance: P::instance_summary(&instance),
            instance_provenance,
            credential: summary,
            credential_provenance: provenance,
            key,
        })
    }

    fn noun(&self) -> &'static str {
        P::ENVIRONMENT.credential_noun()
    }
}

/// [`Error::NotFound`] for credential `name` of the requested instance.
fn missing_credential<P: Platform>(p: &P, req: &PlanRequest, name: &str) -> Error {
    let resource = match P::ENVIRONMENT {
        Environment::ServiceManager => Resource::Binding,
        Environment::CloudFoundry => Resource::ServiceKey,
    };
    let place = p.place();
    Error::not_found(
        resource,
        format!("`{name}` of instance `{}` {place}", req.instance_name),
        true,
    )
}

/// Whether a candidate was taken.
enum Taken<P: Platform> {
    Yes,
    /// Why not, and its instance back.
    No(Skipped, P::Instance),
}

/// Why a candidate was not taken.
enum Skipped {
    /// It did not become ready, or its key cannot be read.
    Unusable(Error),
    /// Its token lacks a required scope (or it gets none); the text says which.
    LacksScopes(String),
}

impl Skipped {
    fn reason(&self) -> String {
        match self {
            Skipped::Unusable(e) => e.to_string(),
            Skipped::LacksScopes(why) => why.clone(),
        }
    }
}

/// Credentials dated oldest first, undated ones last.
pub(crate) fn oldest_first(
    a: Option<DateTime<Utc>>,
    b: Option<DateTime<Utc>>,
) -> std::cmp::Ordering {
    (a.is_none(), a).cmp(&(b.is_none(), b))
}

/// Whether a candidate's key is unusable as it stands (skipped), rather than unreachable.
fn unreadable(error: &Error) -> bool {
    matches!(error, Error::InvalidJson { .. } | Error::InvalidUrl { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credentials_are_taken_oldest_first_undated_last() {
        let at = |s: &str| Some(s.parse::<DateTime<Utc>>().unwrap());
        let mut dates = [
            (at("2024-05-01T00:00:00Z"), "new"),
            (None, "undated"),
            (at("2023-07-01T00:00:00Z"), "old"),
            (at("2023-07-01T00:00:00Z"), "also-old"),
        ];
        dates.sort_by(|(a, an), (b, bn)| oldest_first(*a, *b).then_with(|| an.cmp(bn)));
        let names: Vec<&str> = dates.iter().map(|(_, n)| *n).collect();
        assert_eq!(names, ["also-old", "old", "new", "undated"]);
    }
}
