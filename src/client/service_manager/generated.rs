//! `UseGenerated`: finding the credentials that were generated automatically, and checking
//! that they carry the scopes the purpose needs.

use super::{Found, Run, discover, found, note, summary_of};
use crate::client::outcome::Provenance;
use crate::error::{Error, Result};
use crate::service_manager::{Binding, Instance};
use crate::setup::parameters::MASTER_APP_PREFIX;
use crate::tier::CredentialLocation;
use crate::verify::verify;

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
            return Err(Error::VerificationFailed(format!(
                "binding `{}` of instance `{}` lacks the scopes {}; name a new instance and binding to create ones that carry them",
                self.req.credential_name,
                self.req.instance_name,
                required.join(", ")
            )));
        }
        let mut candidates: Vec<(Instance, Binding)> =
            discover::listing(self.sm, &self.req.offering)
                .await?
                .into_iter()
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
        Err(nothing_generated(required, locations))
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
        let verification = verify(&key, self.sm.http()).await?;
        if !verification.works {
            let problem = verification.problem.unwrap_or_default();
            note(
                self.opts,
                format!("skipping {what}: it gets no token ({problem})"),
            );
            return Ok(false);
        }
        let missing = missing_scopes(&verification.scopes, required);
        if missing.is_empty() {
            return Ok(true);
        }
        note(
            self.opts,
            format!(
                "skipping {what}: its token lacks the scopes {}",
                missing.join(", ")
            ),
        );
        Ok(false)
    }
}

/// The required scopes (with or without `$XSMASTERAPPNAME.`) that `granted` lacks. A granted
/// scope matches when it equals the bare name or ends with `.<name>` (`sapcloudalm!b1.<name>`).
pub(super) fn missing_scopes(granted: &[String], required: &[String]) -> Vec<String> {
    required
        .iter()
        .map(|r| r.strip_prefix(MASTER_APP_PREFIX).unwrap_or(r))
        .filter(|bare| {
            !granted
                .iter()
                .any(|g| g == bare || g.strip_suffix(bare).is_some_and(|head| head.ends_with('.')))
        })
        .map(str::to_owned)
        .collect()
}

fn nothing_generated(required: &[String], locations: &[CredentialLocation]) -> Error {
    let with_scopes = if required.is_empty() {
        String::new()
    } else {
        format!(" with the scopes {}", required.join(", "))
    };
    let places: Vec<&str> = locations.iter().map(|l| l.describe()).collect();
    let elsewhere = if places.is_empty() {
        String::new()
    } else {
        format!(
            "Generated credentials may also be found in: {}. ",
            places.join("; ")
        )
    };
    Error::NotFound {
        what: format!(
            "automatically generated SAP Cloud ALM API credentials{with_scopes} in this subaccount's Service Manager"
        ),
        hint: format!(
            "{elsewhere}Credentials generated in 2023 were Cloud Foundry service keys: try the Cloud Foundry backend. \
             Or run again with create enabled (`--create`) to create an instance and binding."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_matching() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let granted = s(&[
            "sapcloudalm!b1.imp-cdm-feature-display-ui",
            "uaa.resource",
            "calm-api.tasks.read",
        ]);
        let cases: [(&[&str], &[&str]); 5] = [
            (&[], &[]),
            (&["imp-cdm-feature-display-ui"], &[]),
            (&["$XSMASTERAPPNAME.imp-cdm-feature-display-ui"], &[]),
            (
                &["imp-cdm-feature-manage-ui", "calm-api.tasks.read"],
                &["imp-cdm-feature-manage-ui"],
            ),
            (&["display-ui"], &["display-ui"]),
        ];
        for (required, missing) in cases {
            assert_eq!(
                missing_scopes(&granted, &s(required)),
                s(missing),
                "{required:?}"
            );
        }
    }
}
