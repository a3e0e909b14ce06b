//! `calm fleet apply MANIFEST [--concurrency N] [--out DIR] [--json] [--dry-run]`: validate a
//! fleet manifest whole, then ensure every credential in it within the rate limits (or, with
//! `--dry-run`, find only and say what would be created).

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use calm_credentials::fleet::{
    CredentialOutcome, Fleet, FleetSummary, MINUTE, Manifest, Outcome as Got, Platform, Scope,
    TenantEntry,
};
use calm_credentials::{PlanRequest, SetupPlan, Sink, SinkContext, TierFacts};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::session::runtime;

use crate::output::{Outcome, print_json};
use crate::tier::step_json;

/// `calm fleet …`
#[derive(clap::Subcommand)]
pub enum Command {
    /// Ensure every credential of a fleet manifest (JSON or TOML) exists.
    Apply(ApplyArgs),
}

#[derive(clap::Args)]
pub struct ApplyArgs {
    /// The manifest: a .json or .toml file; key paths in it are relative to it.
    manifest: PathBuf,
    /// Find only: send no mutating request, and say what would be created.
    #[arg(long)]
    dry_run: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// How many tenants to work on at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,
    /// Write each credential as DIR/<tenant>/<credential>.json (mode 0600, atomically).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn run(command: Command) -> Outcome {
    match command {
        Command::Apply(args) => apply(args),
    }
}

fn apply(args: ApplyArgs) -> Outcome {
    let manifest = match Manifest::load(&args.manifest) {
        Ok(m) => m,
        Err(e) => {
            if args.json {
                print_json(&json!({"error": e.to_string(), "field": e.field(),
                    "line_column": e.line_column()}));
            } else {
                eprintln!("error: {e}");
            }
            return Outcome::BadInput;
        }
    };
    if let Some(out) = &args.out
        && let Err(e) = std::fs::create_dir_all(out)
    {
        eprintln!("error: cannot create {}: {e}", out.display());
        return Outcome::BadInput;
    }
    if args.dry_run && !args.json {
        print_plan(&manifest);
    }
    let fleet = Fleet::new(manifest.clone())
        .concurrency(usize::from(args.concurrency))
        .dry_run(args.dry_run);
    let mut run = match fleet.run() {
        Ok(run) => run,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::of_error(&e);
        }
    };
    let bar = progress_bar(run.total() as u64);
    let mut results: HashMap<(String, String), (&'static str, Option<String>)> = HashMap::new();
    let mut write_failures = 0usize;
    let summary = runtime().block_on(async {
        while let Some(outcome) = run.next().await {
            let mut error = outcome.result.error().map(|e| e.to_string());
            if let (Some(dir), Some(key)) = (&args.out, outcome.result.key())
                && let Err(e) = write_key(dir, &outcome, key)
            {
                write_failures += 1;
                error = Some(format!("writing the credentials: {e}"));
            }
            let word = if error.is_some() {
                "failed"
            } else {
                outcome.result.as_str()
            };
            let line = outcome_line(&outcome, word, error.as_deref(), args.dry_run);
            match &bar {
                Some(bar) => {
                    bar.inc(1);
                    let summary = run.summary();
                    bar.set_message(format!("429 pauses: {}", summary.pauses));
                    if error.is_some() {
                        bar.println(line);
                    }
                }
                None if !args.json => crate::out!("{line}"),
                None => {}
            }
            // Only --json needs every outcome at the end (names and words, no keys).
            if args.json {
                results.insert((outcome.tenant, outcome.credential), (word, error));
            }
        }
        run.summary()
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if args.json {
        print_json(&run_json(&manifest, &results, &summary, args.dry_run));
    } else {
        crate::out!("{}", summary_line(&summary));
    }
    if summary.failed > 0 || write_failures > 0 {
        Outcome::Failed
    } else {
        Outcome::Success
    }
}

/// A progress bar on stderr when it is a terminal.
fn progress_bar(total: u64) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template("{bar:40} {pos}/{len} credentials, {msg}, ETA {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message("429 pauses: 0");
    Some(bar)
}

fn outcome_line(outcome: &CredentialOutcome, word: &str, error: Option<&str>, dry: bool) -> String {
    let word = match (&outcome.result, dry) {
        (Got::Missing, true) => "missing, would be created",
        _ => word,
    };
    match error {
        Some(e) => format!("{} {}: failed: {e}", outcome.tenant, outcome.credential),
        None => format!("{} {}: {word}", outcome.tenant, outcome.credential),
    }
}

fn summary_line(s: &FleetSummary) -> String {
    let missing = if s.dry_run {
        format!(
            ", {} would be created (dry run: nothing was created)",
            s.missing
        )
    } else {
        String::new()
    };
    format!(
        "{} credentials: {} found, {} created, {} failed{missing}; {} requests, {} answered 429, {:.1} s",
        s.total,
        s.found,
        s.created,
        s.failed,
        s.requests,
        s.rate_limited,
        s.elapsed.as_secs_f64(),
    )
}

/// DIR/<tenant>/<credential>.json with the crate's file sink (mode 0600, atomic).
fn write_key(
    dir: &Path,
    outcome: &CredentialOutcome,
    key: &calm_credentials::ServiceKey,
) -> Result<(), String> {
    let folder = dir.join(&outcome.tenant);
    std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let sink = Sink::File(folder.join(format!("{}.json", outcome.credential)));
    let context = SinkContext::new().credential_name(outcome.credential.clone());
    key.write_to(&sink, &context)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn run_json(
    manifest: &Manifest,
    results: &HashMap<(String, String), (&'static str, Option<String>)>,
    summary: &FleetSummary,
    dry_run: bool,
) -> Value {
    let tenants: Vec<Value> = manifest
        .tenants
        .iter()
        .map(|tenant| {
            let credentials: Vec<Value> = tenant
                .credentials
                .iter()
                .map(|name| {
                    let got = results.get(&(tenant.name.clone(), name.clone()));
                    let mut entry = json!({
                        "name": name,
                        "outcome": got.map_or("failed", |g| g.0),
                    });
                    if let Some((_, Some(error))) = got {
                        entry["error"] = json!(error);
                    }
                    if dry_run {
                        entry["steps"] = plan_for(tenant, name)
                            .map(|p| p.steps.iter().map(step_json).collect())
                            .unwrap_or_default();
                    }
                    entry
                })
                .collect();
            let mut entry = if dry_run {
                tenant_json(tenant)
            } else {
                json!({
                    "name": tenant.name,
                    "tier": TierFacts::for_date(tenant.provisioned_on).tier.as_str(),
                })
            };
            entry["credentials"] = Value::Array(credentials);
            entry
        })
        .collect();
    let mut out = json!({
        "tenants": tenants,
        "requests": summary.requests,
        "rate_limited": summary.rate_limited,
        "elapsed_s": summary.elapsed.as_secs_f64(),
    });
    if dry_run {
        out["dry_run"] = json!(true);
        out["credentials"] = json!(manifest.credential_count());
        out["manifest"] = json!(manifest.path.display().to_string());
        out["limits_per_minute"] = limits_json(manifest);
    }
    out
}

fn limits_json(manifest: &Manifest) -> Value {
    let of = |scope| manifest.limits.max_per(scope, MINUTE);
    json!({
        "requests": of(Scope::All),
        "bindings": of(Scope::Bindings),
        "offerings": of(Scope::Offerings),
        "plans": of(Scope::Plans),
        "instance_creates": of(Scope::InstanceCreates),
    })
}

fn plan_for(tenant: &TenantEntry, credential: &str) -> Option<SetupPlan> {
    // The manifest was validated with these very rules, so the plan exists.
    SetupPlan::new(
        &PlanRequest::for_date(
            tenant.provisioned_on,
            tenant.purpose.clone(),
            tenant.environment(),
        )
        .instance_name(tenant.instance.clone())
        .credential_name(credential),
    )
    .ok()
}

fn platform_json(platform: &Platform) -> Value {
    match platform {
        Platform::ServiceManager {
            key_file,
            client_id,
        } => json!({"service_manager": {"key_file": key_file.display().to_string(),
            "client_id": client_id}}),
        Platform::CloudFoundry { api, org, space } => {
            json!({"cloud_foundry": {"api": api.as_str(), "org": org, "space": space}})
        }
        _ => Value::Null,
    }
}

fn tenant_json(tenant: &TenantEntry) -> Value {
    let facts = TierFacts::for_date(tenant.provisioned_on);
    let credentials: Vec<Value> = tenant
        .credentials
        .iter()
        .map(|name| {
            let steps: Vec<Value> = plan_for(tenant, name)
                .map(|p| p.steps.iter().map(step_json).collect())
                .unwrap_or_default();
            json!({"name": name, "steps": steps})
        })
        .collect();
    json!({
        "name": tenant.name,
        "provisioned_on": tenant.provisioned_on.format("%Y-%m-%d").to_string(),
        "tier": facts.tier.as_str(),
        "platform": platform_json(&tenant.platform),
        "purpose": tenant.purpose.as_str(),
        "instance": tenant.instance,
        "credentials": credentials,
    })
}

fn print_plan(manifest: &Manifest) {
    let limits = limits_json(manifest);
    crate::out!(
        "{}: {} tenants, {} credentials; limits per minute: {} requests, {} on bindings, {} on offerings, {} on plans, {} instance creates",
        manifest.path.display(),
        manifest.tenants.len(),
        manifest.credential_count(),
        limits["requests"],
        limits["bindings"],
        limits["offerings"],
        limits["plans"],
        limits["instance_creates"],
    );
    for tenant in &manifest.tenants {
        let facts = TierFacts::for_date(tenant.provisioned_on);
        let place = match &tenant.platform {
            Platform::ServiceManager { client_id, .. } => {
                format!("Service Manager as {client_id}")
            }
            Platform::CloudFoundry { api, org, space } => {
                format!("Cloud Foundry {api} org {org} space {space}")
            }
            _ => "another platform".to_owned(),
        };
        crate::out!(
            "\n{}  {} tier (provisioned {}), {}, instance {}, {place}",
            tenant.name,
            facts.tier,
            tenant.provisioned_on,
            tenant.purpose.as_str(),
            tenant.instance,
        );
        for name in &tenant.credentials {
            let titles: Vec<String> = plan_for(tenant, name)
                .map(|p| {
                    p.steps
                        .iter()
                        .map(|s| {
                            let by_hand = if s.is_manual() { " [by hand]" } else { "" };
                            format!("{}{by_hand}", s.title())
                        })
                        .collect()
                })
                .unwrap_or_default();
            crate::out!("  {name}: {}", titles.join("; "));
        }
    }
    crate::out!("\ndry run: looking up what exists; nothing is created\n");
}
