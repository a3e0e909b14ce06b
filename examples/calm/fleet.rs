//! `calm fleet apply MANIFEST --dry-run`: validate a fleet manifest whole and print what a run
//! would ensure, sending nothing.

use std::path::PathBuf;

use calm_credentials::fleet::{MINUTE, Manifest, Platform, Scope, TenantEntry};
use calm_credentials::{PlanRequest, SetupPlan, TierFacts};
use serde_json::{Value, json};

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
    /// Validate the manifest and print what would be ensured; send nothing. (Required for
    /// now: the fleet runner that sends requests is not part of this build.)
    #[arg(long, required = true)]
    dry_run: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
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
    debug_assert!(args.dry_run);
    if args.json {
        let tenants: Vec<Value> = manifest.tenants.iter().map(tenant_json).collect();
        print_json(&json!({
            "dry_run": true,
            "manifest": manifest.path.display().to_string(),
            "limits_per_minute": limits_json(&manifest),
            "tenants": tenants,
            "credentials": manifest.credential_count(),
        }));
    } else {
        print_human(&manifest);
    }
    Outcome::Success
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

fn print_human(manifest: &Manifest) {
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
    crate::out!(
        "\ndry run: nothing was sent; existing credentials are found, missing ones created"
    );
}
