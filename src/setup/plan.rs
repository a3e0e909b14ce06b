//! The setup plan: from a tier, a purpose and an environment to the ordered steps that remain.
//!
//! Pure: no network. The orchestrating client carries a plan out; the `calm tier` command
//! prints one.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

use super::names::{validate_credential_name, validate_instance_name};
use super::parameters::{InstanceParameters, scopes};
use crate::error::Result;
use crate::tier::{
    CredentialLocation, GeneratedCredentials, ProvisioningDate, ProvisioningTier, TierFacts,
    provisioning_tier,
};

/// The technical name of the "SAP Cloud ALM API" offering (best candidate; overridable).
pub const DEFAULT_OFFERING: &str = "SAPCloudALMAPIs";
/// The plan of the "SAP Cloud ALM API" offering.
pub const DEFAULT_PLAN: &str = "standard";

/// What the credentials are for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
#[non_exhaustive]
pub enum Purpose {
    /// Connecting managed services to push monitoring data (operations monitoring).
    OperationsMonitoring,
    /// Transport management (needs the `imp-cdm-feature-*` scopes).
    TransportManagement,
    /// Calling Cloud ALM APIs from an own program, with these scopes. Scopes known from SAP's
    /// documentation: `calm-api.landscape.read`, `calm-api.subscriptions.read`,
    /// `calm-api.projects.read` / `.write`, `calm-api.tasks.read` / `.write`,
    /// `calm-api.processmanagement.read` / `.write` / `.delete`, `ops-im-display-ui`,
    /// `ops-im-configure-ui`, and the transport scopes `imp-cdm-feature-display-ui` and
    /// `imp-cdm-feature-manage-ui`.
    ApiAccess {
        /// Scope names, with or without the `$XSMASTERAPPNAME.` prefix.
        scopes: Vec<String>,
    },
}

impl Purpose {
    /// The short name used on the command line (`monitoring`, `transport`, `api`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Purpose::OperationsMonitoring => "monitoring",
            Purpose::TransportManagement => "transport",
            Purpose::ApiAccess { .. } => "api",
        }
    }

    /// The scopes an instance for this purpose is given (none for monitoring).
    pub fn authorities(&self) -> Vec<String> {
        match self {
            Purpose::OperationsMonitoring => Vec::new(),
            Purpose::TransportManagement => {
                scopes::TRANSPORT.iter().map(|s| s.to_string()).collect()
            }
            Purpose::ApiAccess { scopes } => scopes.clone(),
        }
    }

    /// A default instance name for this purpose (≤ 32 characters).
    pub fn default_instance_name(&self) -> &'static str {
        match self {
            Purpose::OperationsMonitoring => "cloud-alm-api-monitoring",
            Purpose::TransportManagement => "cloud-alm-api-transport",
            Purpose::ApiAccess { .. } => "cloud-alm-api-access",
        }
    }

    /// Whether credentials generated for `generated` serve this purpose.
    fn served_by(&self, generated: GeneratedCredentials) -> bool {
        match (self, generated) {
            (Purpose::ApiAccess { .. }, _) | (_, GeneratedCredentials::None) => false,
            (Purpose::OperationsMonitoring, _) => true,
            (Purpose::TransportManagement, g) => g == GeneratedCredentials::All,
        }
    }
}

/// Where the instance and its credentials live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Environment {
    /// The "Other" environment through the SAP Service Manager: instance + binding (recommended).
    ServiceManager,
    /// A Cloud Foundry space: instance + service key (legacy).
    CloudFoundry,
}

impl Environment {
    /// What the credentials are called there ("binding" or "service key").
    pub fn credential_noun(self) -> &'static str {
        match self {
            Environment::ServiceManager => "binding",
            Environment::CloudFoundry => "service key",
        }
    }
}

/// What a plan is made for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlanRequest {
    /// The tier, or `None` when the provisioning date is unknown (then: look, and create what
    /// is missing).
    pub tier: Option<ProvisioningTier>,
    /// What the credentials are for.
    pub purpose: Purpose,
    /// Where they live.
    pub environment: Environment,
    /// Name of the instance to find or create.
    pub instance_name: String,
    /// Name of the binding or service key to find or create.
    pub credential_name: String,
    /// Technical offering name.
    pub offering: String,
    /// Plan name.
    pub plan: String,
    /// The provisioning day, when known (it refines where generated credentials are).
    pub provisioned_on: Option<NaiveDate>,
}

impl PlanRequest {
    /// A request for a tenant provisioned on `date` (the tier follows from it).
    pub fn for_date(
        date: impl ProvisioningDate,
        purpose: Purpose,
        environment: Environment,
    ) -> Self {
        let day = date.utc_date();
        let mut req = Self::new(Some(provisioning_tier(day)), purpose, environment);
        req.provisioned_on = Some(day);
        req
    }

    /// Where generated credentials of `tier` are: exact when the date is known, otherwise
    /// what holds for most of the tier (monitoring-only tenants of 2023-06-12 and -13 have
    /// theirs in the cockpit only).
    fn locations(&self, tier: ProvisioningTier) -> Vec<CredentialLocation> {
        match self.provisioned_on {
            Some(day) => TierFacts::for_date(day).locations,
            None if tier.generated() == GeneratedCredentials::None => Vec::new(),
            None => vec![
                CredentialLocation::BtpCockpit,
                CredentialLocation::LandscapeManagement,
            ],
        }
    }

    /// A request with default names, offering and plan.
    pub fn new(tier: Option<ProvisioningTier>, purpose: Purpose, environment: Environment) -> Self {
        let instance_name = purpose.default_instance_name().to_owned();
        let credential_name = format!("{instance_name}-key");
        PlanRequest {
            tier,
            purpose,
            environment,
            instance_name,
            credential_name,
            offering: DEFAULT_OFFERING.to_owned(),
            plan: DEFAULT_PLAN.to_owned(),
            provisioned_on: None,
        }
    }

    /// Sets the instance name.
    pub fn instance_name(mut self, name: impl Into<String>) -> Self {
        self.instance_name = name.into();
        self
    }

    /// Sets the binding or service key name.
    pub fn credential_name(mut self, name: impl Into<String>) -> Self {
        self.credential_name = name.into();
        self
    }

    /// Sets the offering and plan names.
    pub fn offering(mut self, offering: impl Into<String>, plan: impl Into<String>) -> Self {
        self.offering = offering.into();
        self.plan = plan.into();
        self
    }
}

/// One thing that remains to be done.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
#[non_exhaustive]
pub enum Step {
    /// Use credentials that were generated automatically.
    UseGenerated {
        /// Where to find them.
        locations: Vec<CredentialLocation>,
        /// Scopes the credentials must carry (checked after retrieval); empty when any will do.
        required_scopes: Vec<String>,
        /// Why.
        reason: String,
    },
    /// Look for existing credentials of the given names (tier unknown).
    FindExisting {
        /// Instance name.
        instance: String,
        /// Binding or key name.
        credential: String,
        /// Why.
        reason: String,
    },
    /// A person configures the entitlement in the BTP cockpit (no API does this here).
    ConfigureEntitlement {
        /// Offering technical name.
        offering: String,
        /// Plan name.
        plan: String,
        /// Why and how.
        reason: String,
    },
    /// Create (or find, if it exists) an instance.
    CreateInstance {
        /// Instance name.
        name: String,
        /// Offering technical name.
        offering: String,
        /// Plan name.
        plan: String,
        /// The instance parameters (`xs-security`).
        parameters: Value,
        /// Why.
        reason: String,
    },
    /// Create (or find) a binding (Service Manager) or service key (Cloud Foundry).
    CreateCredentials {
        /// Binding or key name.
        name: String,
        /// Instance it belongs to.
        instance: String,
        /// Why.
        reason: String,
    },
}

impl Step {
    /// Why this step is needed, in words a user can act on.
    pub fn reason(&self) -> &str {
        match self {
            Step::UseGenerated { reason, .. }
            | Step::FindExisting { reason, .. }
            | Step::ConfigureEntitlement { reason, .. }
            | Step::CreateInstance { reason, .. }
            | Step::CreateCredentials { reason, .. } => reason,
        }
    }

    /// Whether a person must do this step (the crate cannot).
    pub fn is_manual(&self) -> bool {
        matches!(self, Step::ConfigureEntitlement { .. })
    }

    /// A one-line title.
    pub fn title(&self) -> String {
        match self {
            Step::UseGenerated { .. } => "use the automatically generated credentials".to_owned(),
            Step::FindExisting {
                instance,
                credential,
                ..
            } => {
                format!("look for instance `{instance}` and credentials `{credential}`")
            }
            Step::ConfigureEntitlement { offering, plan, .. } => {
                format!("configure the entitlement `{offering}` / `{plan}` (SAP Cloud ALM API)")
            }
            Step::CreateInstance { name, .. } => format!("create instance `{name}`"),
            Step::CreateCredentials { name, instance, .. } => {
                format!("create credentials `{name}` of instance `{instance}`")
            }
        }
    }
}

/// The ordered steps that remain for a [`PlanRequest`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SetupPlan {
    /// The tier the plan was made for (`None`: unknown).
    pub tier: Option<ProvisioningTier>,
    /// The purpose.
    pub purpose: Purpose,
    /// The environment.
    pub environment: Environment,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// The plan as a user reads it: what for and where, then each step with its reason (and the
/// instance parameters where one is created); manual steps are marked `[by hand]`.
impl std::fmt::Display for SetupPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let place = match self.environment {
            Environment::CloudFoundry => "a Cloud Foundry space (service key)",
            Environment::ServiceManager => "the Service Manager (binding)",
        };
        write!(f, "{} via {place}", self.purpose.as_str())?;
        if self.steps.is_empty() {
            write!(f, "\n  nothing to do")?;
        }
        for (i, step) in self.steps.iter().enumerate() {
            let who = if step.is_manual() { " [by hand]" } else { "" };
            write!(f, "\n  {}. {}{who}", i + 1, step.title())?;
            write!(f, "\n     why: {}", step.reason())?;
            if let Step::CreateInstance { parameters, .. } = step {
                write!(f, "\n     parameters: {parameters}")?;
            }
        }
        Ok(())
    }
}

impl SetupPlan {
    /// Makes the plan. Names and parameters are validated here, before anything is sent.
    ///
    /// ```
    /// use calm_credentials::{Environment, PlanRequest, Purpose, SetupPlan, Step};
    /// use calm_credentials::ProvisioningTier;
    ///
    /// let req = PlanRequest::new(Some(ProvisioningTier::MonitoringOnly),
    ///                            Purpose::TransportManagement, Environment::ServiceManager);
    /// let plan = SetupPlan::new(&req)?;
    /// assert!(matches!(plan.steps[0], Step::CreateInstance { .. }));
    /// assert!(matches!(plan.steps[1], Step::CreateCredentials { .. }));
    /// # Ok::<(), calm_credentials::Error>(())
    /// ```
    pub fn new(req: &PlanRequest) -> Result<Self> {
        validate_instance_name(&req.instance_name)?;
        let noun = req.environment.credential_noun();
        validate_credential_name(noun, &req.credential_name)?;
        let steps = match req.tier {
            None => unknown_tier_steps(req)?,
            Some(tier) => known_tier_steps(req, tier)?,
        };
        Ok(SetupPlan {
            tier: req.tier,
            purpose: req.purpose.clone(),
            environment: req.environment,
            steps,
        })
    }

    /// Whether the plan creates anything.
    pub fn creates_anything(&self) -> bool {
        self.steps.iter().any(|s| {
            matches!(
                s,
                Step::CreateInstance { .. } | Step::CreateCredentials { .. }
            )
        })
    }
}

fn known_tier_steps(req: &PlanRequest, tier: ProvisioningTier) -> Result<Vec<Step>> {
    if req.purpose.served_by(tier.generated()) {
        return Ok(vec![use_generated(req, tier, req.locations(tier))]);
    }
    let mut steps = Vec::new();
    if tier.entitlement_needed() {
        steps.push(configure_entitlement(req));
    }
    steps.push(create_instance(req, creation_reason(req, tier))?);
    steps.push(create_credentials(req));
    Ok(steps)
}

fn unknown_tier_steps(req: &PlanRequest) -> Result<Vec<Step>> {
    Ok(vec![
        Step::FindExisting {
            instance: req.instance_name.clone(),
            credential: req.credential_name.clone(),
            reason: "the provisioning date is unknown, so it is not known what was generated; existing credentials are used if found".to_owned(),
        },
        create_instance(
            req,
            "only if it does not exist yet (needs the SAP Cloud ALM API entitlement)".to_owned(),
        )?,
        create_credentials(req),
    ])
}

fn use_generated(
    req: &PlanRequest,
    tier: ProvisioningTier,
    locations: Vec<CredentialLocation>,
) -> Step {
    let where_ = locations
        .iter()
        .map(|l| l.describe())
        .collect::<Vec<_>>()
        .join("; or ");
    let (required_scopes, note) = match req.purpose {
        Purpose::TransportManagement => (
            req.purpose.authorities(),
            " SAP's page implies they cover transport management; the token's scopes are checked for the imp-cdm scopes.",
        ),
        _ => (Vec::new(), ""),
    };
    Step::UseGenerated {
        locations,
        required_scopes,
        reason: format!(
            "tenants of the {} tier had {}: nothing needs creating. Find them in {where_}.{note}",
            tier.as_str(),
            match tier.generated() {
                GeneratedCredentials::All => "their service credentials generated automatically",
                _ => "credentials for operations monitoring generated automatically",
            }
        ),
    }
}

fn configure_entitlement(req: &PlanRequest) -> Step {
    Step::ConfigureEntitlement {
        offering: req.offering.clone(),
        plan: req.plan.clone(),
        reason: format!(
            "tenants provisioned before 2023-06-12 have no entitlement for the SAP Cloud ALM API; in the SAP BTP cockpit open the subaccount, \
             Entitlements > Edit > Add Service Plans, add \"SAP Cloud ALM API\" with plan `{}` and save",
            req.plan
        ),
    }
}

fn creation_reason(req: &PlanRequest, tier: ProvisioningTier) -> String {
    match (&req.purpose, tier) {
        (Purpose::ApiAccess { .. }, _) => "own API access gets a dedicated instance with its own authorities; SAP advises a new instance over updating one that managed systems use".to_owned(),
        (Purpose::TransportManagement, ProvisioningTier::MonitoringOnly) => "the generated credentials only work for monitoring; transport management needs a new instance with the imp-cdm scopes (the entitlement is already configured)".to_owned(),
        (_, ProvisioningTier::Manual) => "nothing was generated for tenants provisioned before 2023-06-12".to_owned(),
        _ => "the purpose is not covered by generated credentials".to_owned(),
    }
}

fn create_instance(req: &PlanRequest, reason: String) -> Result<Step> {
    let scopes = req.purpose.authorities();
    let params = match req.environment {
        Environment::ServiceManager => {
            InstanceParameters::for_service_manager(&req.instance_name, &scopes)
        }
        Environment::CloudFoundry => {
            InstanceParameters::for_cloud_foundry(&req.instance_name, &scopes)
        }
    };
    Ok(Step::CreateInstance {
        name: req.instance_name.clone(),
        offering: req.offering.clone(),
        plan: req.plan.clone(),
        parameters: params.to_json()?,
        reason,
    })
}

fn create_credentials(req: &PlanRequest) -> Step {
    let reason = match req.environment {
        Environment::ServiceManager => {
            "the credentials are a binding of the instance (credential type binding-secret)"
        }
        Environment::CloudFoundry => {
            "the credentials are a service key of the instance (credential type instance-secret)"
        }
    };
    Step::CreateCredentials {
        name: req.credential_name.clone(),
        instance: req.instance_name.clone(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProvisioningTier::*;

    fn kinds(plan: &SetupPlan) -> Vec<&'static str> {
        plan.steps
            .iter()
            .map(|s| match s {
                Step::UseGenerated { .. } => "use",
                Step::FindExisting { .. } => "find",
                Step::ConfigureEntitlement { .. } => "entitle",
                Step::CreateInstance { .. } => "instance",
                Step::CreateCredentials { .. } => "credentials",
            })
            .collect()
    }

    #[test]
    fn every_tier_purpose_environment() {
        let api = Purpose::ApiAccess {
            scopes: vec!["calm-api.tasks.read".into()],
        };
        let create = vec!["instance", "credentials"];
        let entitle = vec!["entitle", "instance", "credentials"];
        let cases: Vec<(Option<ProvisioningTier>, Purpose, Vec<&str>)> = vec![
            (Some(Automatic), Purpose::OperationsMonitoring, vec!["use"]),
            (Some(Automatic), Purpose::TransportManagement, vec!["use"]),
            (Some(Automatic), api.clone(), create.clone()),
            (
                Some(MonitoringOnly),
                Purpose::OperationsMonitoring,
                vec!["use"],
            ),
            (
                Some(MonitoringOnly),
                Purpose::TransportManagement,
                create.clone(),
            ),
            (Some(MonitoringOnly), api.clone(), create.clone()),
            (Some(Manual), Purpose::OperationsMonitoring, entitle.clone()),
            (Some(Manual), Purpose::TransportManagement, entitle.clone()),
            (Some(Manual), api.clone(), entitle.clone()),
            (
                None,
                Purpose::OperationsMonitoring,
                vec!["find", "instance", "credentials"],
            ),
        ];
        for env in [Environment::ServiceManager, Environment::CloudFoundry] {
            for (tier, purpose, want) in &cases {
                let plan = SetupPlan::new(&PlanRequest::new(*tier, purpose.clone(), env)).unwrap();
                assert_eq!(&kinds(&plan), want, "{tier:?} {purpose:?} {env:?}");
                assert!(plan.steps.iter().all(|s| !s.reason().is_empty()));
            }
        }
    }

    #[test]
    fn instance_parameters_follow_environment_and_purpose() {
        let req = PlanRequest::new(
            Some(Manual),
            Purpose::TransportManagement,
            Environment::ServiceManager,
        )
        .instance_name("calm-tms");
        let plan = SetupPlan::new(&req).unwrap();
        let Step::CreateInstance { parameters, .. } = &plan.steps[1] else {
            panic!("{plan:?}")
        };
        assert_eq!(parameters["xs-security"]["xsappname"], "calm-tms");
        assert_eq!(
            parameters["xs-security"]["oauth2-configuration"]["credential-types"][0],
            "binding-secret"
        );
        assert_eq!(
            parameters["xs-security"]["authorities"][1],
            "$XSMASTERAPPNAME.imp-cdm-feature-manage-ui"
        );

        let cf = SetupPlan::new(&PlanRequest {
            environment: Environment::CloudFoundry,
            ..req
        })
        .unwrap();
        let Step::CreateInstance { parameters, .. } = &cf.steps[1] else {
            panic!()
        };
        assert!(
            parameters["xs-security"]
                .get("oauth2-configuration")
                .is_none()
        );
    }

    #[test]
    fn transport_on_generated_credentials_requires_cdm_scopes() {
        let plan = SetupPlan::new(&PlanRequest::new(
            Some(Automatic),
            Purpose::TransportManagement,
            Environment::ServiceManager,
        ))
        .unwrap();
        let Step::UseGenerated {
            required_scopes,
            locations,
            ..
        } = &plan.steps[0]
        else {
            panic!()
        };
        assert_eq!(required_scopes.len(), 2);
        assert_eq!(locations.len(), 2);
    }

    #[test]
    fn bad_names_fail_before_planning() {
        let base = PlanRequest::new(
            Some(Manual),
            Purpose::OperationsMonitoring,
            Environment::ServiceManager,
        );
        assert!(SetupPlan::new(&base.clone().instance_name("has space")).is_err());
        assert!(SetupPlan::new(&base.clone().credential_name("ABC_100_00")).is_err());
        let bad_scope = PlanRequest::new(
            Some(Manual),
            Purpose::ApiAccess {
                scopes: vec!["no spaces please".into()],
            },
            Environment::ServiceManager,
        );
        assert!(SetupPlan::new(&bad_scope).is_err());
    }
}
