//! `UseGenerated`: finding the credentials that were generated automatically, and checking
//! that they carry the scopes the purpose needs.

use super::{Found, Run, discover, found, note, summary_of};
use crate::client::generated::{self, Fit};
use crate::client::outcome::Provenance;
use crate::error::Result;
use crate::service_manager::{Binding, Instance};
use crate::setup::Environment;
use crate::tier::CredentialLocation;

impl Run<'_> {
    /// The named credentials if they exist and fit, else the oldest generated ones that fit.
    /// `Ok(None)`: nothing fits and creating is allowed (the caller falls back to creating).
    pub(super) async fn use_generated(
        &mut self,
        required: &[String],
        locations: &[CredentialLocation],
    ) -> Result<Option<Found>> {
        let named = self.named_candidate().await?;
        let named_id = named.as_ref().map(|(_, b)| b.id.clone());
        if let Some(found) = self.pick(named.into_iter().collect(), required).await? {
            return Ok(Some(found));
        }
        if named_id.is_some() && self.opts.create {
            return Err(generated::named_lacks_scopes(self.req, required));
        }
        let mut candidates: Vec<(Instance, Binding)> =
            discover::listing(self.sm, &self.req.offering)
                .await?
                .into_iter()
                // Another platform's instance is listed but never handed over from here.
                .filter(|(i, _)| i.is_service_manager_platform())
                .flat_map(|(i, bs)| bs.into_iter().map(move |b| (i.clone(), b)))
                .filter(|(_, b)| Some(&b.id) != named_id.as_ref())
                .collect();
        candidates.sort_by_key(|(_, b)| (b.created_at.is_none(), b.created_at));
        if let Some(found) = self.pick(candidates, required).await? {
            return Ok(Some(found));
        }
        if self.opts.create {
            return Ok(None);
        }
        Err(generated::nothing_generated(
            Environment::ServiceManager,
            required,
            locations,
            "in this subaccount's Service Manager",
            ADVICE,
        ))
    }

    /// The instance and binding the request names, if both exist (two requests).
    async fn named_candidate(&mut self) -> Result<Option<(Instance, Binding)>> {
        self.instance_looked_up = true;
        let Some(instance) = self.sm.find_instance(&self.req.instance_name).await? else {
            return Ok(None);
        };
        self.binding_looked_up = true;
        let binding = self
            .sm
            .find_binding(&instance.id, &self.req.credential_name)
            .await?;
        self.instance = Some((instance.clone(), Provenance::Found));
        Ok(binding.map(|b| (instance, b)))
    }

    /// The first candidate that is usable and carries `required`.
    async fn pick(
        &self,
        candidates: Vec<(Instance, Binding)>,
        required: &[String],
    ) -> Result<Option<Found>> {
        let several = candidates.len() > 1;
        for (instance, binding) in candidates {
            let what = format!("binding `{}` of instance `{}`", binding.name, instance.name);
            let binding = match self.ensure.ready_binding(binding).await {
                Ok(b) => b,
                Err(e) => {
                    note(self.opts, format!("skipping {what}: {e}"));
                    continue;
                }
            };
            if !required.is_empty() && !self.carries(&binding, required, &what).await? {
                continue;
            }
            found(self.opts, &what);
            if several && required.is_empty() {
                note(
                    self.opts,
                    format!("several credentials found; using the oldest, {what}"),
                );
            }
            return Ok(Some(Found::new(
                summary_of(&instance),
                Provenance::Found,
                binding,
                Provenance::Found,
            )));
        }
        Ok(None)
    }

    /// Whether the binding's token carries every required scope (one token request).
    async fn carries(&self, binding: &Binding, required: &[String], what: &str) -> Result<bool> {
        let key = match binding.service_key() {
            Ok(k) => k,
            Err(e) => {
                note(self.opts, format!("skipping {what}: {e}"));
                return Ok(false);
            }
        };
        match generated::check(&key, self.sm.http(), required).await? {
            Fit::Carries => Ok(true),
            Fit::Skip(why) => {
                note(self.opts, format!("skipping {what}: {why}"));
                Ok(false)
            }
        }
    }
}

const ADVICE: &str =
    "Credentials generated in 2023 were Cloud Foundry service keys: try the Cloud Foundry backend.";
