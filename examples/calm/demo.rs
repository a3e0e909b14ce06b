//! `calm demo`: the whole journey against the built-in simulator, for tenants of all three
//! tiers, through the Service Manager and in a Cloud Foundry space.

use std::time::{Duration, Instant};

use calm_credentials::setup::{Environment, PlanRequest, Purpose, SetupPlan};
use calm_credentials::simulator::{Simulator, TenantInfo};
use calm_credentials::{Error, HttpClient, RetrieveOptions, Retrieved, ServiceKey};

use crate::output::Outcome;
use crate::session::runtime;

#[derive(clap::Args)]
pub struct Args {
    /// Give up waiting on the (simulated) platform after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    timeout: u64,
}

/// One line of the summary table.
struct Row {
    tenant: String,
    tier: String,
    purpose: &'static str,
    environment: &'static str,
    found: String,
    created: String,
    works: String,
    requests: u64,
    time: Duration,
}

pub fn run(args: Args) -> Outcome {
    runtime().block_on(async move {
        let sim = match Simulator::start().await {
            Ok(sim) => sim,
            Err(e) => {
                crate::err!("error: the simulator could not start: {e}");
                return Outcome::Failed;
            }
        };
        crate::out!(
            "Simulator on {} (Service Manager) and {} (Cloud Foundry)\n",
            sim.sm_url(),
            sim.cf_api_url()
        );
        let mut rows = Vec::new();
        for tenant in sim.tenants() {
            rows.extend(tenant_journeys(&sim, &tenant, Duration::from_secs(args.timeout)).await);
        }
        print_table(&rows);
        if rows.iter().all(|r| r.works == "yes") {
            Outcome::Success
        } else {
            Outcome::Failed
        }
    })
}

async fn tenant_journeys(sim: &Simulator, tenant: &TenantInfo, timeout: Duration) -> Vec<Row> {
    crate::out!(
        "== tenant {} provisioned {} ({})",
        tenant.subdomain,
        tenant.provisioned_on,
        tenant.tier_name
    );
    let mut rows = Vec::new();
    for purpose in [Purpose::OperationsMonitoring, Purpose::TransportManagement] {
        for environment in [Environment::ServiceManager, Environment::CloudFoundry] {
            let req = PlanRequest::for_date(tenant.provisioned_on, purpose.clone(), environment);
            rows.push(journey(sim, tenant, &req, timeout).await);
        }
    }
    crate::out!("");
    rows
}

async fn journey(
    sim: &Simulator,
    tenant: &TenantInfo,
    req: &PlanRequest,
    timeout: Duration,
) -> Row {
    let plan = SetupPlan::new(req).expect("the demo's names are valid");
    let env_name = match req.environment {
        Environment::CloudFoundry => "cloud foundry",
        _ => "service manager",
    };
    crate::out!("-- {} via {env_name}", req.purpose.as_str());
    for (i, step) in plan.steps.iter().enumerate() {
        crate::out!("   {}. {}", i + 1, step.title());
    }
    let http = HttpClient::new().expect("an HTTP client");
    let started = Instant::now();
    let opts = RetrieveOptions::default().create(true).timeout(timeout);
    let mut result = carry_out(sim, tenant, req, &http, &opts).await;
    if let Err(Error::EntitlementMissing { .. }) = &result {
        crate::out!(
            "   ! {}",
            result
                .as_ref()
                .err()
                .map(ToString::to_string)
                .unwrap_or_default()
        );
        crate::out!(
            "   > configuring the entitlement (the manual step, done in the simulator) and running again"
        );
        sim.configure_entitlement(&tenant.subdomain);
        result = carry_out(sim, tenant, req, &http, &opts).await;
    }
    let mut row = Row {
        tenant: tenant.subdomain.clone(),
        tier: tenant.tier_name.to_owned(),
        purpose: req.purpose.as_str(),
        environment: if req.environment == Environment::CloudFoundry {
            "cf"
        } else {
            "sm"
        },
        found: "-".into(),
        created: "-".into(),
        works: "no".into(),
        requests: 0,
        time: Duration::ZERO,
    };
    match result {
        Ok(got) => {
            describe(&got, &mut row);
            let verification = calm_credentials::verify(&got.key, &http).await;
            row.works = match verification {
                Ok(v) if v.works => "yes".into(),
                Ok(v) => format!("no: {}", v.problem.unwrap_or_default()),
                Err(e) => format!("no: {e}"),
            };
            crate::out!(
                "   = {} `{}` of instance `{}`; credentials (redacted): {}",
                got.credential.environment.credential_noun(),
                got.credential.name,
                got.instance.name,
                short(&got.key)
            );
        }
        Err(e) => {
            crate::out!("   ! {e}");
            row.works = "error".into();
        }
    }
    row.requests = http.request_count();
    row.time = started.elapsed();
    row
}

async fn carry_out(
    sim: &Simulator,
    tenant: &TenantInfo,
    req: &PlanRequest,
    http: &HttpClient,
    opts: &RetrieveOptions,
) -> calm_credentials::Result<Retrieved> {
    match req.environment {
        Environment::CloudFoundry => crate::demo_cf::carry_out(sim, tenant, req, http, opts).await,
        _ => {
            let sm_key = sim
                .sm_key(&tenant.subdomain)
                .expect("the simulator knows its tenants");
            let sm = calm_credentials::ServiceManager::new(
                &ServiceKey::from_value(sm_key)?,
                http.clone(),
            )?;
            calm_credentials::client::service_manager::retrieve(&sm, req, opts).await
        }
    }
}

fn describe(got: &Retrieved, row: &mut Row) {
    use calm_credentials::client::Provenance::*;
    let mut found = Vec::new();
    let mut created = Vec::new();
    for (what, provenance) in [
        ("instance", got.instance_provenance),
        (
            got.credential.environment.credential_noun(),
            got.credential_provenance,
        ),
    ] {
        match provenance {
            Found => found.push(what),
            Created => created.push(what),
            _ => {}
        }
    }
    row.found = if found.is_empty() {
        "-".into()
    } else {
        found.join(" + ")
    };
    row.created = if created.is_empty() {
        "-".into()
    } else {
        created.join(" + ")
    };
}

fn short(key: &ServiceKey) -> String {
    let v = key.redacted_json();
    let secret = v
        .pointer("/uaa/clientsecret")
        .and_then(|s| s.as_str())
        .unwrap_or("-");
    format!("clientid {} clientsecret {secret}", key.client_id())
}

fn print_table(rows: &[Row]) {
    crate::out!(
        "{:<16} {:<16} {:<11} {:<4} {:<22} {:<22} {:<6} {:>8} {:>8}",
        "tenant",
        "tier",
        "purpose",
        "env",
        "found",
        "created",
        "works",
        "requests",
        "time"
    );
    for r in rows {
        crate::out!(
            "{:<16} {:<16} {:<11} {:<4} {:<22} {:<22} {:<6} {:>8} {:>7.0}ms",
            r.tenant,
            r.tier,
            r.purpose,
            r.environment,
            r.found,
            r.created,
            r.works,
            r.requests,
            r.time.as_secs_f64() * 1000.0
        );
    }
}
