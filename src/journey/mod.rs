//! The journeys, as methods of the platform handles: [`ServiceManager::credentials`],
//! [`CfSpace::credentials`], `list`, `discover`, [`ServiceManager::rotate`] and
//! [`ServiceManager::retire_stale`]. Each journey is a builder with the same shape, run by
//! `.await`.
//!
//! Inside, one executor serves every platform:
//! - `platform`: what a platform can do (find or create an instance and a credential, wait
//!   until they are usable, read a key, list generated credentials), implemented by
//!   `on_service_manager` and `in_space`;
//! - `executor`: carries a `SetupPlan` out on a platform, with the rules of `generated` for
//!   credentials made when the tenant was provisioned;
//! - `get_or_create`: the one rule that never makes a duplicate.
//!
//! [`ServiceManager::credentials`]: crate::ServiceManager::credentials
//! [`ServiceManager::rotate`]: crate::ServiceManager::rotate
//! [`ServiceManager::retire_stale`]: crate::ServiceManager::retire_stale

mod builder;
mod cloud_foundry;
mod executor;
mod generated;
mod get_or_create;
pub(crate) mod in_space;
pub(crate) mod on_service_manager;
pub(crate) mod platform;
mod service_manager;

pub use builder::{CredentialsBuilder, RetireStaleBuilder, RotateBuilder};
pub use cloud_foundry::CfSpace;
