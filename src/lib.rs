//! calm-credentials: the OAuth credentials of an SAP Cloud ALM API service instance.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod client;
pub mod credentials;
pub mod error;
pub mod model;
pub mod setup;
pub mod tier;
pub mod wait;

pub use client::{RetrieveOptions, Retrieved};
pub use credentials::{ClientAuth, CredentialType, ServiceKey};
pub use error::{ApiError, Error, Result, TokenError, TokenErrorKind};
pub use model::Region;
pub use setup::{Environment, PlanRequest, Purpose, SetupPlan, Step};
pub use tier::{ProvisioningTier, TierFacts, provisioning_tier};
