//! # calm-credentials
//!
//! Get the OAuth 2.0 credentials of an **SAP Cloud ALM API** service instance: decide from the
//! tenant's provisioning date what SAP already generated, find it, create what is missing, check
//! that it works, and hand it over without leaking a secret.
//!
//! ## Map of the crate
//!
//! | Module | What it holds |
//! |---|---|
//! | [`tier`] | [`provisioning_tier`] and [`TierFacts`]: what the provisioning date decides (pure) |
//! | [`setup`] | [`SetupPlan`]: purpose + environment + tier → ordered steps; instance parameters; name rules (pure) |
//! | [`credentials`] | [`ServiceKey`] parsing, redaction, the Landscape Management upload checks |
//! | [`model`] | tenants, regions, id newtypes |
//! | [`http`] | the transport: timeouts, retries, `Retry-After`, URL policy, wire errors |
//! | [`auth`] | token sources (client credentials, X.509, Cloud Foundry grants) and their cache |
//! | [`mod@verify`] | "Test Service Key": does a key get a token, with which scopes |
//! | [`service_manager`] | the SAP Service Manager API (recommended path) |
//! | [`cloud_foundry`] | the Cloud Foundry v3 API (legacy path) |
//! | [`client`] | the journeys: retrieve (find or create), discover, list, rotate |
//! | [`wait`] | deadlines, backoff and progress events for asynchronous platform operations |
//! | [`fleet`] | many credentials at once: the fleet manifest, per-client rate limiting within SAP's limits |
//! | [`error`] | the one [`Error`] type |
//! | `simulator` (feature `simulator`) | loopback stand-in for the token server, Service Manager and Cloud Foundry API |
//!
//! ## Example
//!
//! ```
//! use calm_credentials::{provisioning_tier, Environment, PlanRequest, ProvisioningTier,
//!                        Purpose, SetupPlan, Step};
//! use chrono::NaiveDate;
//!
//! let day = NaiveDate::from_ymd_opt(2023, 8, 1).unwrap();
//! assert_eq!(provisioning_tier(day), ProvisioningTier::MonitoringOnly);
//!
//! // Monitoring credentials were generated: nothing to create.
//! let monitoring = PlanRequest::for_date(day, Purpose::OperationsMonitoring,
//!                                        Environment::ServiceManager);
//! assert!(!SetupPlan::new(&monitoring)?.creates_anything());
//!
//! // Transport management needs a new instance with the imp-cdm scopes, and a binding.
//! let transport = PlanRequest::for_date(day, Purpose::TransportManagement,
//!                                       Environment::ServiceManager);
//! let plan = SetupPlan::new(&transport)?;
//! assert!(matches!(&plan.steps[0], Step::CreateInstance { parameters, .. }
//!     if parameters["xs-security"]["authorities"][0]
//!         == "$XSMASTERAPPNAME.imp-cdm-feature-display-ui"));
//! # Ok::<(), calm_credentials::Error>(())
//! ```
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
pub mod client;
pub mod cloud_foundry;
pub mod credentials;
pub mod error;
pub mod fleet;
pub mod http;
pub mod model;
pub mod service_manager;
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
pub use model::{Region, Tenant};
pub use setup::{Environment, PlanRequest, Purpose, SetupPlan, Step};
pub use tier::{ProvisioningTier, TierFacts, provisioning_tier};

pub use auth::{AccessToken, TokenSource};
pub use cloud_foundry::CloudFoundry;
pub use http::HttpClient;
pub use service_manager::ServiceManager;
pub use verify::{Verification, verify};

/// The README's example, compiled as a doctest so that it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
