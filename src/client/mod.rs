//! The orchestrating client: carries out a [`SetupPlan`](crate::SetupPlan) through the Service
//! Manager (recommended) or in a Cloud Foundry space (legacy).
//!
//! - [`outcome`]: what a journey found, created and handed over.
//! - [`service_manager`]: the executor for the Service Manager ("Other" environment):
//!   [`service_manager::retrieve`], [`service_manager::list`], [`service_manager::discover`],
//!   [`service_manager::rotate`].
//! - [`cloud_foundry`]: the executor for a Cloud Foundry space: [`cloud_foundry::retrieve`].
//!
//! Both follow the same rules for generated credentials: the token must carry the scopes the
//! purpose needs, else the next generated credentials are tried, and with create an instance and
//! credentials are made instead.

pub mod cloud_foundry;
mod generated;
pub mod outcome;
pub mod service_manager;

pub use outcome::{CredentialSummary, InstanceSummary, Provenance, Retrieved};

#[cfg(test)]
use crate::wait::Progress;
use crate::wait::WaitOptions;

/// How a journey may act.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RetrieveOptions {
    /// Create what the plan says is missing (`false`: only find, and report what is missing).
    pub create: bool,
    /// Deadline and progress: the timeout bounds the whole journey (every request, retry and
    /// wait on the platform), and each wait.
    pub wait: WaitOptions,
}

impl Default for RetrieveOptions {
    /// Find only, ten-minute waits, no progress callback.
    fn default() -> Self {
        RetrieveOptions {
            create: false,
            wait: WaitOptions::default(),
        }
    }
}

// The journey builders set the fields; the contract tests use these shorthands.
#[cfg(test)]
impl RetrieveOptions {
    /// Allows creating what is missing.
    pub fn create(mut self, yes: bool) -> Self {
        self.create = yes;
        self
    }

    /// Sets the progress callback.
    pub fn progress(mut self, progress: Progress) -> Self {
        self.wait.progress = progress;
        self
    }
}
