//! The orchestrating client: carries out a [`SetupPlan`](crate::SetupPlan) through the Service
//! Manager (recommended) or in a Cloud Foundry space (legacy).
//!
//! - [`outcome`]: what a journey found, created and handed over.
//! - [`service_manager`]: the Service Manager's own journeys: [`service_manager::list`],
//!   [`service_manager::discover`], [`service_manager::rotate`].
//!
//! Retrieval on either platform is the one executor's, in [`crate::journey`].

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
