//! What `calm sm retrieve` and `calm cf key` share: the journey flags and the output.

use std::time::Duration;

use calm_credentials::{
    CredentialsBuilder, Error, ProgressEvent, Purpose, Retrieved, ServiceKey, Sink, SinkContext,
    Tenant, Written,
};
use serde_json::{Value, json};

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
    #[command(flatten)]
    pub outputs: OutputArgs,
}

/// Where to hand the credentials over (`--output`, repeatable) and the Secret's name.
#[derive(clap::Args)]
pub struct OutputArgs {
    /// Also write the credentials to SINK (repeatable): file:PATH (JSON, mode 0600, atomic),
    /// k8s-secret:PATH (.yaml/.yml/.json: a Kubernetes Secret in the SAP BTP service operator's
    /// layout) or env:PATH (CALM_* lines for `set -a; . PATH`). The folder must exist; a
    /// symbolic link is refused.
    #[arg(long = "output", value_name = "SINK")]
    pub sinks: Vec<Sink>,
    /// Name of the Kubernetes Secret (default: the binding's or key's name).
    #[arg(long, value_name = "NAME")]
    pub secret_name: Option<String>,
}

impl OutputArgs {
    /// The sinks with the Secret name applied, each checked before any work is done.
    pub fn checked(&self) -> calm_credentials::Result<Vec<Sink>> {
        let sinks: Vec<Sink> = self
            .sinks
            .iter()
            .cloned()
            .map(|s| match &self.secret_name {
                Some(name) => s.with_secret_name(name),
                None => s,
            })
            .collect();
        if self.secret_name.is_some()
            && !sinks
                .iter()
                .any(|s| matches!(s, Sink::KubernetesSecret { .. }))
        {
            return Err(Error::Config {
                setting: "--secret-name".into(),
                reason: "it names the Secret of a k8s-secret:PATH output; there is none".into(),
            });
        }
        for s in &sinks {
            s.check()?;
        }
        Ok(sinks)
    }
}

/// Writes `key` to every sink, in order.
pub fn write_all(
    sinks: &[Sink],
    key: &ServiceKey,
    context: &SinkContext,
) -> calm_credentials::Result<Vec<Written>> {
    sinks.iter().map(|s| key.write_to(s, context)).collect()
}

/// One line per sink written, for standard error.
pub fn print_written(written: &[Written]) {
    for w in written {
        let name = w
            .secret_name
            .as_ref()
            .map(|n| format!(", Secret {n}"))
            .unwrap_or_default();
        eprintln!(
            "wrote       {}:{} ({}{name}, {} entries, mode 0600)",
            w.sink,
            w.path.display(),
            w.format,
            w.entries.len()
        );
    }
}

/// The `--json` document when sinks were written: `{<name>: shown, "written": [...]}`.
pub fn with_written(name: &str, shown: Value, written: &[Written]) -> Value {
    if written.is_empty() {
        shown
    } else {
        json!({name: shown, "written": written})
    }
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

/// Writes the sinks, then prints the outcome: with `--json` only the credentials object (with
/// sinks: `{"credentials", "written"}`); otherwise a summary on stderr and the credentials on
/// stdout.
pub fn finish_retrieved(
    got: &Retrieved,
    args: &JourneyArgs,
    sinks: &[Sink],
    requests: u64,
) -> calm_credentials::Result<()> {
    let written = write_all(sinks, &got.key, &got.sink_context())?;
    print_retrieved(got, args, requests, &written);
    Ok(())
}

fn print_retrieved(got: &Retrieved, args: &JourneyArgs, requests: u64, written: &[Written]) {
    let creds = with_written(
        "credentials",
        credentials_json(&got.key, args.show_secrets),
        written,
    );
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
        print_written(written);
    }
    crate::out!(
        "{}",
        serde_json::to_string_pretty(&creds).unwrap_or_default()
    );
}
