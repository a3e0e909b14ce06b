//! `calm cf …`: the Cloud Foundry path (legacy: a service key of an instance in a space).

use std::time::Duration;

use calm_credentials::{CfLogin, CfSpace, CloudFoundry, Error, HttpClient};
use secrecy::SecretString;
use serde_json::json;

use crate::output::{Outcome, print_json, report_error};
use crate::retrieve::{JourneyArgs, finish_retrieved};
use crate::session::{Spinner, http, runtime};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Find (and with --create, create) the instance and service key, and print the credentials.
    Key(KeyArgs),
    /// List the SAP Cloud ALM API instances and service keys in a space.
    List(ListArgs),
}

/// Where and as whom; anything not given comes from CF_* variables or the cf CLI's config.json.
#[derive(clap::Args)]
pub struct Target {
    /// Cloud Foundry API URL (else CF_API_URL, else the cf CLI's target).
    #[arg(long, value_name = "URL")]
    api: Option<String>,
    /// Org name (else the cf CLI's target).
    #[arg(long, value_name = "ORG")]
    org: Option<String>,
    /// Space name (else the cf CLI's target).
    #[arg(long, value_name = "SPACE")]
    space: Option<String>,
    /// User name for the password grant (else CF_USERNAME; the password comes from CF_PASSWORD).
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    /// Identity provider origin key (else CF_ORIGIN).
    #[arg(long, value_name = "ORIGIN")]
    origin: Option<String>,
}

#[derive(clap::Args)]
pub struct KeyArgs {
    #[command(flatten)]
    target: Target,
    /// Instance name.
    #[arg(long, value_name = "NAME")]
    instance: String,
    /// Service key name.
    #[arg(long, value_name = "NAME")]
    key: String,
    #[command(flatten)]
    journey: JourneyArgs,
}

#[derive(clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: Target,
    /// Print one JSON array.
    #[arg(long)]
    json: bool,
}

pub fn run(command: Command) -> Outcome {
    let json = match &command {
        Command::Key(a) => a.journey.json,
        Command::List(a) => a.json,
    };
    let result = runtime().block_on(async move {
        match command {
            Command::Key(a) => key(a).await,
            Command::List(a) => list(a).await,
        }
    });
    result.unwrap_or_else(|e| report_error(&e, json))
}

/// The login, org and space: flags over CF_* variables over the cf CLI's config.json.
fn login(t: &Target) -> calm_credentials::Result<(CfLogin, String, String)> {
    let mut b = CfLogin::builder().process_environment();
    if let Some(api) = &t.api {
        b = b.api_url(api);
    }
    if let Some(user) = &t.user {
        let password = std::env::var("CF_PASSWORD").map_err(|_| Error::Config {
            setting: format!("--user {user}"),
            reason: "it needs the password in CF_PASSWORD".into(),
        })?;
        b = b.password(user, SecretString::from(password));
    }
    if let Some(origin) = &t.origin {
        b = b.origin(origin);
    }
    if let Some(org) = &t.org {
        b = b.org(org);
    }
    if let Some(space) = &t.space {
        b = b.space(space);
    }
    let login = b.build()?;
    let missing = |what: &str, flag: &str| Error::Config {
        setting: format!("the {what}"),
        reason: format!("none was given: pass {flag} or target one with the cf CLI"),
    };
    let org = login.org.clone().ok_or_else(|| missing("org", "--org"))?;
    let space = login
        .space
        .clone()
        .ok_or_else(|| missing("space", "--space"))?;
    Ok((login, org, space))
}

async fn connect(t: &Target) -> calm_credentials::Result<(CfSpace, HttpClient)> {
    let (login, org, space) = login(t)?;
    let http = http()?;
    let cf = CloudFoundry::connect_with(login, http.clone()).await?;
    Ok((cf.space(org, space), http))
}

async fn key(a: KeyArgs) -> calm_credentials::Result<Outcome> {
    let (tenant, purpose) = a.journey.tenant_and_purpose()?;
    let sinks = a.journey.outputs.checked()?;
    let spinner = Spinner::start("talking to Cloud Foundry");
    // One deadline for the login and the journey together: the journey gets what is left.
    let timeout = Duration::from_secs(a.journey.timeout);
    let started = tokio::time::Instant::now();
    let result = tokio::time::timeout(timeout, async {
        let (space, http) = connect(&a.target).await?;
        let journey = space
            .credentials(&tenant, purpose)
            .instance(&a.instance)
            .name(&a.key);
        let journey = a.journey.apply(journey, spinner.progress());
        let left = timeout.saturating_sub(started.elapsed());
        let got = journey.deadline(left).await;
        Ok::<_, Error>((space, http, got))
    })
    .await;
    spinner.finish();
    let (space, http, got) = match result {
        Ok(done) => done?,
        Err(_) => {
            return Err(Error::Timeout {
                operation: "logging in and retrieving the credentials".into(),
                waited: timeout,
                last_state: "connecting".into(),
            });
        }
    };
    // The platform's warnings (decoded), also when the journey failed.
    let cf = space.cloud_foundry();
    for w in cf.warnings() {
        crate::err!("warning: {w}");
    }
    finish_retrieved(&got?, &a.journey, &sinks, http.request_count())?;
    Ok(Outcome::Success)
}

async fn list(a: ListArgs) -> calm_credentials::Result<Outcome> {
    let (space, _) = connect(&a.target).await?;
    let inventory = space.list().await?;
    if a.json {
        let items: Vec<_> = inventory
            .iter()
            .map(|i| {
                json!({
                    "instance": {"guid": i.instance.id, "name": i.instance.name,
                                 "created_at": i.instance.created_at, "state": i.state},
                    "keys": i.credentials.iter().map(|k| json!({"guid": k.id, "name": k.name, "created_at": k.created_at})).collect::<Vec<_>>(),
                })
            })
            .collect();
        print_json(&json!(items));
        return Ok(Outcome::Success);
    }
    if inventory.is_empty() {
        crate::out!("no SAP Cloud ALM API instances in this space");
    }
    for i in &inventory {
        crate::out!(
            "instance {} ({}) {}",
            i.instance.name,
            i.instance.id,
            i.state
        );
        for k in &i.credentials {
            let created = k
                .created_at
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            crate::out!("  key {} ({}) {created}", k.name, k.id);
        }
    }
    Ok(Outcome::Success)
}
