//! The journeys, as methods of the platform handles: [`ServiceManager::credentials`],
//! [`CfSpace::credentials`], `list`, `discover`, [`ServiceManager::rotate`] and
//! [`ServiceManager::retire_stale`]. Each journey is a builder with the same shape, run by
//! `.await`.
//!
//! [`ServiceManager::credentials`]: crate::ServiceManager::credentials
//! [`ServiceManager::rotate`]: crate::ServiceManager::rotate
//! [`ServiceManager::retire_stale`]: crate::ServiceManager::retire_stale

mod builder;
mod cloud_foundry;
mod service_manager;

pub use builder::{CredentialsBuilder, RetireStaleBuilder, RotateBuilder};
pub use cloud_foundry::CfSpace;
