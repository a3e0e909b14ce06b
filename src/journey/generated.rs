//! The executor's rules for [`Step::UseGenerated`](crate::setup::Step::UseGenerated):
//! whether a token carries the scopes a purpose needs, the errors when no generated
//! credentials fit, and the fallback to creating an instance and credentials.
//!
//! The order ([`super::executor`]): the credentials the request names, if they exist
//! and fit; else the oldest generated ones that fit; else, with `opts.create`, an instance and
//! credentials are created as for an unknown tier ([`fallback_plan`]). Named credentials that
//! exist but do not fit are [`Error::VerificationFailed`] when creating is allowed (a new name
//! is needed); without create, nothing fitting is [`Error::NotFound`].

use crate::credentials::ServiceKey;
use crate::error::{Error, Resource, Result};
use crate::http::HttpClient;
use crate::setup::parameters::MASTER_APP_PREFIX;
use crate::setup::{Environment, PlanRequest, SetupPlan};
use crate::tier::CredentialLocation;
use crate::verify::verify;

/// Whether candidate credentials can be used.
pub(crate) enum Fit {
    /// They get a token carrying every required scope.
    Carries,
    /// They cannot be used; the text says why (for a progress note).
    Skip(String),
}

/// Whether `key`'s token carries every scope in `required`: no request when `required` is
/// empty, else one token request ([`verify`]). `Err` only for unusable input (see [`verify`]).
pub(crate) async fn check(key: &ServiceKey, http: &HttpClient, required: &[String]) -> Result<Fit> {
    if required.is_empty() {
        return Ok(Fit::Carries);
    }
    let verification = verify(key, http).await?;
    if !verification.works {
        let problem = verification.problem.unwrap_or_default();
        return Ok(Fit::Skip(format!("it gets no token ({problem})")));
    }
    let missing = missing_scopes(&verification.scopes, required);
    if missing.is_empty() {
        return Ok(Fit::Carries);
    }
    Ok(Fit::Skip(format!(
        "its token lacks the scopes {}",
        missing.join(", ")
    )))
}

/// The required scopes (with or without `$XSMASTERAPPNAME.`) that `granted` lacks. A granted
/// scope matches when it equals the bare name or ends with `.<name>` (`sapcloudalm!b1.<name>`).
pub(crate) fn missing_scopes(granted: &[String], required: &[String]) -> Vec<String> {
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

/// The named credentials exist but do not fit, and creating is allowed: creating under the
/// same names would find them again, so new names are needed.
pub(crate) fn named_lacks_scopes(req: &PlanRequest, required: &[String]) -> Error {
    let noun = req.environment.credential_noun();
    Error::VerificationFailed(format!(
        "{noun} `{}` of instance `{}` lacks the scopes {}; name a new instance and {noun} to create ones that carry them",
        req.credential_name,
        req.instance_name,
        required.join(", ")
    ))
}

/// No generated credentials fit and creating is not allowed. `place` says where they were
/// looked for ("in space `dev`"), `advice` what else to try before creating.
pub(crate) fn nothing_generated(
    environment: Environment,
    required: &[String],
    locations: &[CredentialLocation],
    place: &str,
    advice: &str,
) -> Error {
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
        resource: Resource::GeneratedCredentials,
        name: format!("of SAP Cloud ALM API{with_scopes} {place}"),
        creatable: true,
        detail: Some(format!(
            "{elsewhere}{advice} Allowed to create, the journey creates an instance and {} instead.",
            environment.credential_noun()
        )),
    }
}

/// The plan carried out when no generated credentials fit and creating is allowed: the
/// unknown-tier plan (look for the named ones, create what is missing), and the progress note
/// that says so.
pub(crate) fn fallback_plan(req: &PlanRequest) -> Result<(SetupPlan, String)> {
    let plan = SetupPlan::new(&PlanRequest {
        tier: None,
        ..req.clone()
    })?;
    let note = format!(
        "no suitable generated credentials found: creating an instance and {} instead",
        req.environment.credential_noun()
    );
    Ok((plan, note))
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
