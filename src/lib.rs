//! # calm-credentials
//!
//! Get the OAuth 2.0 credentials of an **SAP Cloud ALM API** service instance: decide from the
//! tenant's provisioning date what SAP already generated, find it, create what is missing, check
//! that it works, and hand it over without leaking a secret.
//!
//! ## Quick start
//!
//! Against the built-in simulator (feature `simulator`), so this runs as it is; against SAP,
//! build the handle with [`ServiceManager::from_key`] from a Service Manager key (plan
//! `subaccount-admin`) or [`ServiceManager::from_env`].
//!
//! ```
//! use calm_credentials::prelude::*;
//! use calm_credentials::simulator::Simulator;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> calm_credentials::Result<()> {
//! let sim = Simulator::start().await?;
//! let sm: ServiceManager = sim.service_manager("calm-monitoring")?;
//!
//! // Provisioned 2023-08-01: SAP generated monitoring credentials only.
//! let tenant = Tenant::new("calm-monitoring", Region::Eu10).provisioned_on("2023-08-01".parse()?);
//! assert_eq!(tenant.tier(), Some(ProvisioningTier::MonitoringOnly));
//!
//! // Monitoring: the generated credentials are found.
//! let monitoring = sm.credentials(&tenant, Purpose::OperationsMonitoring).await?;
//! assert_eq!(monitoring.credential_provenance, Provenance::Found);
//!
//! // Transport management: an instance with the imp-cdm scopes and a binding are created.
//! let transport = sm
//!     .credentials(&tenant, Purpose::TransportManagement)
//!     .instance("calm-transport")
//!     .name("calm-transport-key")
//!     .create_missing()
//!     .await?;
//! assert_eq!(transport.credential_provenance, Provenance::Created);
//! println!("{}", transport.key.redacted_json()); // secrets only through `expose_json()`
//!
//! // What went wrong, for a program: a kind, not a message.
//! let missing = sm.credentials(&tenant, Purpose::TransportManagement).instance("other").await;
//! assert_eq!(missing.unwrap_err().kind(), ErrorKind::NotFound);
//! # Ok(()) }
//! ```
//!
//! The plan alone is pure: `tenant.plan(purpose, environment)` says what remains to be done
//! without sending anything ([`SetupPlan`] prints as a numbered list with reasons). A Cloud
//! Foundry space works the same way: `CloudFoundry::connect(login).await?.space(org, space)`
//! gives a [`CfSpace`] with the same journeys. Credentials injected into a running program are
//! read with [`ServiceKey::from_platform`] (or [`runtime`] for other queries).
//!
//! ## Map of the crate
//!
//! Data flows from the provisioning date to a plan, from the plan through one executor to a
//! platform, and from the platform back as a [`ServiceKey`]:
//!
//! ```text
//! Tenant ─► provisioning_tier ─► SetupPlan (pure) ─► journey executor ─► ServiceManager | CfSpace
//!                                                                            │
//!                                Retrieved { key: ServiceKey, provenance } ◄─┘
//! ```
//!
//! | Module (private unless linked) | What it holds |
//! |---|---|
//! | `tier` | [`provisioning_tier`] and [`TierFacts`]: what the provisioning date decides (pure) |
//! | `setup` | [`SetupPlan`], [`Purpose`], [`InstanceParameters`], name rules (pure) |
//! | `model` | [`Tenant`], [`Region`], id newtypes |
//! | `credentials` | [`ServiceKey`], redaction, [`upload_checks`], [`Sink`]s (file, Kubernetes Secret, dotenv); [`runtime`]: injected credentials |
//! | [`api`] | [`CalmApi`]: an authenticated Cloud ALM API client from a key's `endpoints.Api`, and its request and response types |
//! | `journey` | the platform handles' journeys ([`CredentialsBuilder`], [`CfSpace`], rotation) and the one executor behind them: a platform trait, get-or-create, generated credentials |
//! | `service_manager`, `cloud_foundry` | the handles [`ServiceManager`], [`CloudFoundry`] and their typed wire clients |
//! | `http`, `auth` | transport ([`HttpClient`], [`RetryPolicy`]) and token sources ([`TokenSource`]) |
//! | `verify` | "Test Service Key": [`verify`](fn@verify) |
//! | [`fleet`] | many credentials at once: the fleet manifest and runner, per-client rate limiting within SAP's limits |
//! | `error` | the one [`Error`] type, [`ErrorKind`] |
//! | [`simulator`] (feature `simulator`) | loopback stand-in for the token server, Service Manager and Cloud Foundry API |
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod api;
mod auth;
mod cloud_foundry;
mod credentials;
mod error;
pub mod fleet;
mod http;
mod journey;
mod model;
mod paging;
pub mod prelude;
mod service_manager;
mod setup;
#[cfg(feature = "simulator")]
#[cfg_attr(docsrs, doc(cfg(feature = "simulator")))]
pub mod simulator;
#[cfg(test)]
mod tests;
mod tier;
mod verify;
mod wait;

pub use credentials::runtime;
#[cfg(test)]
mod parsers_proptest;

pub use api::CalmApi;
pub use auth::{AccessToken, TokenSource};
pub use cloud_foundry::{CfCredentials, CfLogin, CfLoginBuilder, CloudFoundry, ConfigSource};
pub use credentials::{
    CheckStatus, ClientAuth, CredentialType, KeyLayout, ServiceKey, Sink, SinkContext, UploadCheck,
    UploadReport, Written, upload_checks,
};
pub use error::{ApiError, Error, ErrorKind, Resource, Result, TokenError, TokenErrorKind};
pub use error::{printable, printable_lines};
pub use http::{HttpClient, HttpClientBuilder, RetryPolicy};
pub use journey::{CfSpace, CredentialsBuilder, RetireStaleBuilder, RotateBuilder};
pub use journey::{CredentialSummary, InstanceListing, InstanceSummary, Provenance, Retrieved};
pub use journey::{Retirement, Rotation};
pub use model::{BindingId, InstanceId, OrgId, Region, SpaceId, SubaccountId, Tenant};
pub use service_manager::ServiceManager;
pub use setup::{
    DEFAULT_OFFERING, DEFAULT_PLAN, Environment, InstanceParameters, PlanRequest, Purpose,
    SetupPlan, Step, validate_credential_name, validate_instance_name,
};
pub use tier::{
    AUTOMATIC_FROM, CredentialLocation, GeneratedCredentials, LANDSCAPE_UPLOAD_FROM,
    MONITORING_ONLY_FROM, ProvisioningDate, ProvisioningTier, TierFacts, provisioning_tier,
};
pub use verify::{SignatureCheck, Verification, verify};
pub use wait::ProgressEvent;

/// The README's example, compiled as a doctest so that it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
