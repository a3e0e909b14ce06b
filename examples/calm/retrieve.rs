//! What `calm sm retrieve` and `calm cf key` share: the journey flags and the output.

use std::time::Duration;

use calm_credentials::wait::Progress;
use calm_credentials::{Environment, Error, PlanRequest, RetrieveOptions, Retrieved};

use crate::session::credentials_json;
use crate::tier::{PurposeArg, parse_date};

#[derive(clap::Args)]
pub struct JourneyArgs {
    /// What the credentials are for.
    #[arg(long, value_enum, default_value = "monitoring")]
    pub purpose: PurposeArg,
    /// A scope for `--purpose api` (repeatable).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// The tenant's provisioning date (YYYY-MM-DD); without it the tier is unknown and the
    /// journey looks for what exists.
    #[arg(long, value_name = "DATE")]
    pub provisioned_on: Option<String>,
    /// Create what the plan says is missing (without it: only find).
    #[arg(long)]
    pub create: bool,
    /// Give up after this many seconds in all: every request, retry and wait on the platform
    /// counts.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub timeout: u64,
    /// Print the credentials object as JSON (secrets redacted unless --show-secrets).
    #[arg(long)]
    pub json: bool,
    /// Show secrets instead of [REDACTED].
    #[arg(long)]
    pub show_secrets: bool,
}

impl JourneyArgs {
    pub fn plan_request(&self, environment: Environment) -> calm_credentials::Result<PlanRequest> {
        if matches!(self.purpose, PurposeArg::Api) && self.scopes.is_empty() {
            return Err(Error::Config(
                "--purpose api needs at least one --scope (for example --scope calm-api.projects.read)".into(),
            ));
        }
        let purpose = self.purpose.to_purpose(&self.scopes);
        match &self.provisioned_on {
            Some(text) => {
                let day = parse_date(text).map_err(Error::Config)?;
                Ok(PlanRequest::for_date(day, purpose, environment))
            }
            None => Ok(PlanRequest::new(None, purpose, environment)),
        }
    }

    pub fn options(&self, progress: Progress) -> RetrieveOptions {
        RetrieveOptions::default()
            .create(self.create)
            .timeout(Duration::from_secs(self.timeout))
            .progress(progress)
    }
}

/// Prints the outcome: with `--json` only the credentials object; otherwise a summary on
/// stderr and the credentials on stdout.
pub fn print_retrieved(got: &Retrieved, args: &JourneyArgs, requests: u64) {
    let creds = credentials_json(&got.key, args.show_secrets);
    if !args.json {
        let tier = got
            .plan
            .tier
            .map_or("unknown".to_owned(), |t| t.to_string());
        crate::err!("tier        {tier}");
        crate::err!(
            "instance    {} ({}) {:?}",
            got.instance.name,
            got.instance.id,
            got.instance_provenance
        );
        crate::err!(
            "{:<11} {} ({}) {:?}",
            got.credential.environment.credential_noun(),
            got.credential.name,
            got.credential.id,
            got.credential_provenance
        );
        crate::err!("requests    {requests}");
    }
    crate::out!(
        "{}",
        serde_json::to_string_pretty(&creds).unwrap_or_default()
    );
}
