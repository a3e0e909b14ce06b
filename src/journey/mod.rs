//! The journeys, as methods of the platform handles: [`ServiceManager::credentials`],
//! [`CfSpace::credentials`], `list`, `discover`, [`ServiceManager::rotate`] and
//! [`ServiceManager::retire_stale`]. Each journey is a builder with the same shape, run by
//! `.await`, and ends in [`Retrieved`] (or a listing, a rotation).
//!
//! Inside, one executor serves every platform:
//! - `platform`: what a platform can do (find or create an instance and a credential, wait
//!   until they are usable, read a key, list generated credentials), implemented in
//!   `service_manager::platform` and `cloud_foundry::platform`;
//! - `executor`: carries a `SetupPlan` out on a platform, with the rules of `generated` for
//!   credentials made when the tenant was provisioned;
//! - `get_or_create`: the one rule that never makes a duplicate;
//! - `options`: what a journey may do, and its progress reports;
//! - `listing`: list and discover on any platform;
//! - `outcome`: what a journey hands back.
//!
//! The Service Manager has journeys of its own: `service_manager::rotate` (rotate, retire
//! stale) and `service_manager::fleet` (the fleet runner's batched bindings).
//!
//! [`ServiceManager::credentials`]: crate::ServiceManager::credentials
//! [`ServiceManager::rotate`]: crate::ServiceManager::rotate
//! [`ServiceManager::retire_stale`]: crate::ServiceManager::retire_stale

mod builder;
pub(crate) mod cloud_foundry;
mod executor;
mod generated;
mod get_or_create;
mod listing;
mod options;
pub(crate) mod outcome;
pub(crate) mod platform;
pub(crate) mod service_manager;

pub use builder::{CredentialsBuilder, RetireStaleBuilder, RotateBuilder};
pub use cloud_foundry::CfSpace;
pub(crate) use options::RetrieveOptions;
pub use outcome::{CredentialSummary, InstanceListing, InstanceSummary, Provenance, Retrieved};
pub use service_manager::{Retirement, Rotation};
