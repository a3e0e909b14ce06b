//! `calm demo`: the whole journey against the built-in simulator, for tenants of all three
//! tiers, through the Service Manager and in a Cloud Foundry space.

use std::time::{Duration, Instant};

use calm_credentials::simulator::{Simulator, TenantInfo};
use calm_credentials::{
    CloudFoundry, Environment, Error, HttpClient, Provenance, Purpose, Retrieved, ServiceKey, Step,
    Tenant,
};

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
        crate::out!("{INTRO}");
        crate::out!(
            "Simulator on {} (Service Manager) and {} (Cloud Foundry)\n",
            sim.sm_url(),
            sim.cf_api_url()
        );
        let mut rows = Vec::new();
        for info in sim.tenants() {
            let timeout = Duration::from_secs(args.timeout);
            rows.extend(tenant_journeys(&sim, &info, timeout).await);
        }
        print_table(&rows);
        if rows.iter().all(|r| r.works == "yes") {
            Outcome::Success
        } else {
            Outcome::Failed
        }
    })
}

/// What the demo shows, and how to read it.
const INTRO: &str = "\
calm demo: retrieving SAP Cloud ALM API credentials for three simulated tenants, one of each
provisioning tier (automatic, monitoring-only, manual), for operations monitoring and for
transport management, through the Service Manager (sm) and in a Cloud Foundry space (cf). Each
journey prints its plan, then what it found or created; credentials are verified by getting a
token, and secrets are shown redacted.

Legend: `N.` a step of the plan  `!` an error the journey reported  `>` a manual step the demo
does in the simulator  `=` the credentials obtained
Table: found / created = what already existed and what the journey made; works = a token was
issued for the credentials; requests = HTTP requests sent, tokens included; time = wall time.
";

async fn tenant_journeys(sim: &Simulator, info: &TenantInfo, timeout: Duration) -> Vec<Row> {
    crate::out!(
        "== tenant {} provisioned {} ({})",
        info.subdomain,
        info.provisioned_on,
        info.tier_name
    );
    let mut rows = Vec::new();
    let mut entitled = false;
    for purpose in [Purpose::OperationsMonitoring, Purpose::TransportManagement] {
        for environment in [Environment::ServiceManager, Environment::CloudFoundry] {
            let run = Journey {
                sim,
                info,
                purpose: purpose.clone(),
                environment,
                timeout,
            };
            rows.push(run.go(&mut entitled).await);
        }
    }
    crate::out!("");
    rows
}

/// One tenant × purpose × environment.
struct Journey<'a> {
    sim: &'a Simulator,
    info: &'a TenantInfo,
    purpose: Purpose,
    environment: Environment,
    timeout: Duration,
}

impl Journey<'_> {
    /// Runs the journey; `entitled` says whether the demo already configured the tenant's
    /// entitlement (then that manual step is no longer listed).
    async fn go(&self, entitled: &mut bool) -> Row {
        let tenant = match self.sim.tenant(&self.info.subdomain) {
            Ok(tenant) => tenant,
            Err(e) => return self.failed_row(e),
        };
        let plan = match tenant.plan(self.purpose.clone(), self.environment) {
            Ok(plan) => plan,
            Err(e) => return self.failed_row(e),
        };
        let env_name = match self.environment {
            Environment::CloudFoundry => "cloud foundry",
            _ => "service manager",
        };
        crate::out!("-- {} via {env_name}", self.purpose.as_str());
        let steps = plan
            .steps
            .iter()
            .filter(|s| !(*entitled && matches!(s, Step::ConfigureEntitlement { .. })));
        for (i, step) in steps.enumerate() {
            crate::out!("   {}. {}", i + 1, step.title());
        }
        let http = match HttpClient::new() {
            Ok(http) => http,
            Err(e) => return self.failed_row(e),
        };
        let started = Instant::now();
        let mut row = self.row();
        let result = self.retrieve_entitling(&tenant, &http, entitled).await;
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

    /// Retrieves; when the entitlement is missing, configures it in the simulator (the manual
    /// step) and runs once more.
    async fn retrieve_entitling(
        &self,
        tenant: &Tenant,
        http: &HttpClient,
        entitled: &mut bool,
    ) -> calm_credentials::Result<Retrieved> {
        let result = self.retrieve(tenant, http).await;
        let Err(err @ Error::EntitlementMissing { .. }) = &result else {
            return result;
        };
        crate::out!("   ! {err}");
        crate::out!(
            "   > configuring the entitlement (the manual step, done in the simulator) and running again"
        );
        self.sim.configure_entitlement(&self.info.subdomain);
        *entitled = true;
        self.retrieve(tenant, http).await
    }

    async fn retrieve(
        &self,
        tenant: &Tenant,
        http: &HttpClient,
    ) -> calm_credentials::Result<Retrieved> {
        let purpose = self.purpose.clone();
        match self.environment {
            Environment::CloudFoundry => {
                let cf = CloudFoundry::connect_with(self.sim.cf_login(), http.clone()).await?;
                let space = cf.space(&self.info.cf_org, &self.info.cf_space);
                space
                    .credentials(tenant, purpose)
                    .create_missing()
                    .deadline(self.timeout)
                    .await
            }
            _ => {
                let sm = self
                    .sim
                    .service_manager(&self.info.subdomain)?
                    .with_http(http.clone());
                sm.credentials(tenant, purpose)
                    .create_missing()
                    .deadline(self.timeout)
                    .await
            }
        }
    }

    fn row(&self) -> Row {
        Row {
            tenant: self.info.subdomain.clone(),
            tier: self.info.tier_name.to_owned(),
            purpose: self.purpose.as_str(),
            environment: if self.environment == Environment::CloudFoundry {
                "cf"
            } else {
                "sm"
            },
            found: "-".into(),
            created: "-".into(),
            works: "no".into(),
            requests: 0,
            time: Duration::ZERO,
        }
    }

    fn failed_row(&self, e: Error) -> Row {
        crate::out!("   ! {e}");
        Row {
            works: "error".into(),
            ..self.row()
        }
    }
}

fn describe(got: &Retrieved, row: &mut Row) {
    use Provenance::*;
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
