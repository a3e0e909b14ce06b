//! What remains to be set up, decided without the network.
//!
//! - [`plan`]: purpose + environment + tier → [`SetupPlan`], ordered steps with reasons.
//! - [`parameters`]: the `xs-security` instance parameters and the known scope names.
//! - [`names`]: instance and binding name rules.

pub mod names;
pub mod parameters;
pub mod plan;

pub use names::{validate_credential_name, validate_instance_name};
pub use parameters::InstanceParameters;
pub use plan::{
    DEFAULT_OFFERING, DEFAULT_PLAN, Environment, PlanRequest, Purpose, SetupPlan, Step,
};
