//! `calm sm …`: the Service Manager path ("Other" environment, bindings).

use std::time::Duration;

use calm_credentials::{HttpClient, Retirement, ServiceManager};
use serde_json::json;

use crate::output::{Outcome, print_json, report_error};
use crate::retrieve::{JourneyArgs, finish_retrieved};
use crate::session::{Spinner, credentials_json, http, read_key, runtime};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Find (and with --create, create) the instance and binding, and print the credentials.
    Retrieve(RetrieveArgs),
    /// List the SAP Cloud ALM API instances and bindings in the subaccount.
    List(ListArgs),
    /// Replace a binding with a new one: create, verify, then delete (or keep) the old one.
    Rotate(RotateArgs),
    /// Delete the bindings a rotation kept (labelled stale) whose grace period has passed.
    RetireStale(RetireArgs),
}

#[derive(clap::Args)]
pub struct RetireArgs {
    #[command(flatten)]
    connection: Connection,
    /// Instance name.
    #[arg(long, value_name = "NAME")]
    instance: String,
    /// Give up waiting on the platform after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    timeout: u64,
    /// Print the deleted bindings as a JSON array.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct Connection {
    /// The Service Manager key (a binding of the `service-manager` offering, plan subaccount-admin).
    #[arg(long, value_name = "FILE")]
    sm_key: String,
}

#[derive(clap::Args)]
pub struct RetrieveArgs {
    #[command(flatten)]
    connection: Connection,
    /// Instance name.
    #[arg(long, value_name = "NAME")]
    instance: String,
    /// Binding name.
    #[arg(long, value_name = "NAME")]
    binding: String,
    #[command(flatten)]
    journey: JourneyArgs,
}

#[derive(clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    connection: Connection,
    /// Offering technical name.
    #[arg(long, default_value = calm_credentials::DEFAULT_OFFERING)]
    offering: String,
    /// Print one JSON array.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct RotateArgs {
    #[command(flatten)]
    connection: Connection,
    /// Instance name.
    #[arg(long, value_name = "NAME")]
    instance: String,
    /// The binding to replace.
    #[arg(long, value_name = "NAME")]
    binding: String,
    /// Name of the new binding.
    #[arg(long, value_name = "NAME")]
    new_binding: String,
    /// Keep the old binding this many seconds (labelled stale) instead of deleting it.
    #[arg(long, value_name = "SECS")]
    keep_old_for: Option<u64>,
    /// Give up waiting on the platform after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    timeout: u64,
    /// Print the new credentials as JSON.
    #[arg(long)]
    json: bool,
    /// Show secrets instead of [REDACTED].
    #[arg(long)]
    show_secrets: bool,
}

pub fn run(command: Command) -> Outcome {
    let json = match &command {
        Command::Retrieve(a) => a.journey.json,
        Command::List(a) => a.json,
        Command::Rotate(a) => a.json,
        Command::RetireStale(a) => a.json,
    };
    let result = runtime().block_on(async move {
        match command {
            Command::Retrieve(a) => retrieve(a).await,
            Command::List(a) => list(a).await,
            Command::Rotate(a) => rotate(a).await,
            Command::RetireStale(a) => retire_stale(a).await,
        }
    });
    result.unwrap_or_else(|e| report_error(&e, json))
}

async fn connect(c: &Connection) -> calm_credentials::Result<(ServiceManager, HttpClient)> {
    let key = read_key(&c.sm_key)?;
    let http = http()?;
    Ok((
        ServiceManager::from_key(&key)?.with_http(http.clone()),
        http,
    ))
}

async fn retrieve(a: RetrieveArgs) -> calm_credentials::Result<Outcome> {
    let (tenant, purpose) = a.journey.tenant_and_purpose()?;
    let sinks = a.journey.outputs.checked()?;
    let (sm, http) = connect(&a.connection).await?;
    let spinner = Spinner::start("talking to the Service Manager");
    let journey = sm
        .credentials(&tenant, purpose)
        .instance(&a.instance)
        .name(&a.binding);
    let got = a.journey.apply(journey, spinner.progress()).await;
    spinner.finish();
    let got = got?;
    finish_retrieved(&got, &a.journey, &sinks, http.request_count())?;
    Ok(Outcome::Success)
}

async fn list(a: ListArgs) -> calm_credentials::Result<Outcome> {
    let (sm, _) = connect(&a.connection).await?;
    let listing = sm.with_offering(&a.offering).list().await?;
    if a.json {
        let items: Vec<_> = listing
            .iter()
            .map(|l| json!({"instance": l.instance, "state": l.state, "bindings": l.credentials}))
            .collect();
        print_json(&json!(items));
        return Ok(Outcome::Success);
    }
    if listing.is_empty() {
        crate::out!("no instances of `{}` in this subaccount", a.offering);
    }
    for l in &listing {
        crate::out!(
            "instance {} ({}) {}",
            l.instance.name,
            l.instance.id,
            l.state
        );
        for b in &l.credentials {
            let created = b
                .created_at
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            let kind = b
                .credential_type
                .as_ref()
                .map(|t| t.as_str())
                .unwrap_or("-");
            crate::out!("  binding {} ({}) {kind} {created}", b.name, b.id);
        }
    }
    Ok(Outcome::Success)
}

async fn rotate(a: RotateArgs) -> calm_credentials::Result<Outcome> {
    let (sm, _) = connect(&a.connection).await?;
    let spinner = Spinner::start("rotating");
    let mut rotation = sm
        .rotate(&a.instance, &a.binding, &a.new_binding)
        .deadline(Duration::from_secs(a.timeout))
        .on_progress(spinner.progress());
    if let Some(secs) = a.keep_old_for {
        rotation = rotation.keep_old_for(Duration::from_secs(secs));
    }
    let result = rotation.await;
    spinner.finish();
    let r = result?;
    let old = match r.old_retired {
        Retirement::Deleted => json!("deleted"),
        Retirement::Kept { retire_after } => json!({ "kept_until": retire_after }),
        _ => json!("unknown"),
    };
    if a.json {
        print_json(&credentials_json(&r.key, a.show_secrets));
    } else {
        crate::out!(
            "new binding   {} ({}) verified: {}",
            r.new.name,
            r.new.id,
            r.verification.works
        );
        crate::out!("old binding   {} ({}): {old}", r.old.name, r.old.id);
        crate::out!(
            "{}",
            serde_json::to_string_pretty(&credentials_json(&r.key, a.show_secrets))
                .unwrap_or_default()
        );
    }
    Ok(Outcome::Success)
}

async fn retire_stale(a: RetireArgs) -> calm_credentials::Result<Outcome> {
    let (sm, _) = connect(&a.connection).await?;
    let spinner = Spinner::start("retiring stale bindings");
    let result = sm
        .retire_stale(&a.instance)
        .deadline(Duration::from_secs(a.timeout))
        .on_progress(spinner.progress())
        .await;
    spinner.finish();
    let retired = result?;
    if a.json {
        print_json(&serde_json::to_value(&retired).unwrap_or_default());
    } else if retired.is_empty() {
        crate::out!(
            "no stale binding of `{}` is past its grace period",
            a.instance
        );
    } else {
        for b in &retired {
            crate::out!("deleted binding {} ({})", b.name, b.id);
        }
    }
    Ok(Outcome::Success)
}
