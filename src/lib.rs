//! calm-credentials: the OAuth credentials of an SAP Cloud ALM API service instance.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod auth;
pub mod client;
pub mod cloud_foundry;
pub mod credentials;
pub mod error;
pub mod http;
pub mod model;
pub mod setup;
#[cfg(feature = "simulator")]
#[cfg_attr(docsrs, doc(cfg(feature = "simulator")))]
pub mod simulator;
pub mod tier;
pub mod verify;
pub mod wait;

pub use client::{RetrieveOptions, Retrieved};
pub use credentials::{ClientAuth, CredentialType, ServiceKey};
pub use error::{ApiError, Error, Result, TokenError, TokenErrorKind};
pub use model::Region;
pub use setup::{Environment, PlanRequest, Purpose, SetupPlan, Step};
pub use tier::{ProvisioningTier, TierFacts, provisioning_tier};

pub use auth::{AccessToken, TokenSource};
pub use http::HttpClient;
pub use verify::{Verification, verify};
