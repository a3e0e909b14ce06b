//! What `calm sm retrieve` and `calm cf key` share: the journey flags and the output.

use std::time::Duration;

use calm_credentials::{CredentialsBuilder, Error, ProgressEvent, Purpose, Retrieved, Tenant};

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
    /// Give up waiting on the platform after this many seconds.
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
    /// The purpose and the tenant (only its provisioning day matters to the journey), both
    /// checked before anything is sent.
    pub fn tenant_and_purpose(&self) -> calm_credentials::Result<(Tenant, Purpose)> {
        if matches!(self.purpose, PurposeArg::Api) && self.scopes.is_empty() {
            return Err(Error::Config {
                setting: "--purpose api".into(),
                reason:
                    "it needs at least one --scope (for example --scope calm-api.projects.read)"
                        .into(),
            });
        }
        let purpose = self.purpose.to_purpose(&self.scopes);
        let mut tenant = Tenant::new("tenant", "unknown");
        if let Some(text) = &self.provisioned_on {
            let day = parse_date(text).map_err(|reason| Error::Config {
                setting: "--provisioned-on".into(),
                reason,
            })?;
            tenant = tenant.provisioned_on(day);
        }
        Ok((tenant, purpose))
    }

    /// The journey's settings from the flags, reporting progress to `progress`.
    pub fn apply<'a>(
        &self,
        journey: CredentialsBuilder<'a>,
        progress: impl Fn(&ProgressEvent) + Send + Sync + 'static,
    ) -> CredentialsBuilder<'a> {
        journey
            .create_missing_if(self.create)
            .deadline(Duration::from_secs(self.timeout))
            .on_progress(progress)
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
        eprintln!("tier        {tier}");
        eprintln!(
            "instance    {} ({}) {:?}",
            got.instance.name, got.instance.id, got.instance_provenance
        );
        eprintln!(
            "{:<11} {} ({}) {:?}",
            got.credential.environment.credential_noun(),
            got.credential.name,
            got.credential.id,
            got.credential_provenance
        );
        eprintln!("requests    {requests}");
    }
    crate::out!(
        "{}",
        serde_json::to_string_pretty(&creds).unwrap_or_default()
    );
}
