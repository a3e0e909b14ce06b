//! `calm tier <DATE>`: the provisioning tier and the plan that follows from it.

use calm_credentials::TierFacts;
use calm_credentials::{Environment, PlanRequest, Purpose, SetupPlan, Step};
use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::output::{Outcome, print_json, report_error};

#[derive(clap::Args)]
pub struct Args {
    /// Provisioning date of the tenant: YYYY-MM-DD, or an RFC 3339 time (counted in UTC).
    date: String,
    /// What the credentials are for.
    #[arg(long, value_enum, default_value = "monitoring")]
    purpose: PurposeArg,
    /// A scope for `--purpose api` (repeatable), e.g. calm-api.projects.read.
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// Where the credentials live: the Service Manager ("Other" environment) or a Cloud Foundry space.
    #[arg(long, value_enum, default_value = "sm")]
    environment: EnvironmentArg,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// `--purpose` values.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum PurposeArg {
    /// Operations monitoring.
    Monitoring,
    /// Transport management.
    Transport,
    /// Own API access with `--scope`s.
    Api,
}

/// `--environment` values.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum EnvironmentArg {
    /// Service Manager ("Other" environment).
    Sm,
    /// Cloud Foundry space.
    Cf,
}

impl PurposeArg {
    pub fn to_purpose(self, scopes: &[String]) -> Purpose {
        match self {
            PurposeArg::Monitoring => Purpose::OperationsMonitoring,
            PurposeArg::Transport => Purpose::TransportManagement,
            PurposeArg::Api => Purpose::ApiAccess {
                scopes: scopes.to_vec(),
            },
        }
    }
}

impl From<EnvironmentArg> for Environment {
    fn from(e: EnvironmentArg) -> Self {
        match e {
            EnvironmentArg::Sm => Environment::ServiceManager,
            EnvironmentArg::Cf => Environment::CloudFoundry,
        }
    }
}

/// Reads `YYYY-MM-DD` or an RFC 3339 time (its UTC date).
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let t = text.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .or_else(|| {
            chrono::DateTime::parse_from_rfc3339(t)
                .ok()
                .map(|d| d.with_timezone(&chrono::Utc).date_naive())
        })
        .ok_or_else(|| {
            format!("`{t}` is not a date; write it as YYYY-MM-DD (for example 2023-10-16)")
        })
}

pub fn run(args: Args) -> Outcome {
    let date = match parse_date(&args.date) {
        Ok(d) => d,
        Err(msg) => {
            crate::err!("error: {msg}");
            return Outcome::BadInput;
        }
    };
    if matches!(args.purpose, PurposeArg::Api) && args.scopes.is_empty() {
        crate::err!(
            "error: --purpose api needs at least one --scope (for example --scope calm-api.projects.read)"
        );
        return Outcome::BadInput;
    }
    let req = PlanRequest::for_date(
        date,
        args.purpose.to_purpose(&args.scopes),
        args.environment.into(),
    );
    let plan = match SetupPlan::new(&req) {
        Ok(p) => p,
        Err(e) => return report_error(&e, args.json),
    };
    let facts = TierFacts::for_date(date);
    if args.json {
        print_json(&plan_json(&facts, &plan));
    } else {
        print_human(&facts, &plan);
    }
    Outcome::Success
}

pub fn plan_json(facts: &TierFacts, plan: &SetupPlan) -> Value {
    let steps: Vec<Value> = plan.steps.iter().map(step_json).collect();
    json!({
        "date": facts.date.format("%Y-%m-%d").to_string(),
        "tier": facts.tier.as_str(),
        "generated": facts.generated,
        "entitlement_needed": facts.entitlement_needed,
        "locations": facts.locations,
        "purpose": plan.purpose,
        "environment": plan.environment,
        "steps": steps,
    })
}

pub fn step_json(step: &Step) -> Value {
    let mut v = serde_json::to_value(step).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("title".into(), json!(step.title()));
        m.insert("manual".into(), json!(step.is_manual()));
    }
    v
}

pub fn print_human(facts: &TierFacts, plan: &SetupPlan) {
    crate::out!("provisioned on  {}", facts.date);
    crate::out!("tier            {} ({})", facts.tier, facts.tier.summary());
    if !facts.locations.is_empty() {
        crate::out!(
            "generated ones  {}",
            facts
                .locations
                .iter()
                .map(|l| l.describe())
                .collect::<Vec<_>>()
                .join("\n                ")
        );
    }
    crate::out!("plan            {plan}");
}
