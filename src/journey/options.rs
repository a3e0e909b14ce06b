//! How a journey may act, and what it tells the caller's progress callback.

#[cfg(test)]
use crate::wait::Progress;
use crate::wait::{ProgressEvent, WaitOptions};

/// How a journey may act.
#[derive(Debug, Clone)]
pub(crate) struct RetrieveOptions {
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

impl RetrieveOptions {
    /// Reports that `what` was found (its text is made only when someone listens: finding is
    /// every journey's hot path).
    pub(crate) fn found(&self, what: impl FnOnce() -> String) {
        if self.wait.progress.is_listening() {
            self.emit(ProgressEvent::Found { what: what() });
        }
    }

    /// Reports a note (and traces it).
    pub(crate) fn note(&self, message: String) {
        tracing::info!(%message, "journey");
        self.wait.progress.emit(ProgressEvent::Note { message });
    }

    /// Reports another event.
    pub(crate) fn emit(&self, event: ProgressEvent) {
        self.wait.progress.emit(event);
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
