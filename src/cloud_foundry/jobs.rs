//! Waiting for Cloud Foundry jobs (`/v3/jobs/:guid`).
//!
//! Only `COMPLETE` and `FAILED` end a job; `PROCESSING` and `POLLING` (the Cloud Controller is
//! polling the broker) do not. A `FAILED` job may carry no errors at all; the message then comes
//! from the resource's `last_operation.description`, or a fallback that says so.

// A typed client of the whole API: the journeys use part of it, the contract tests the rest.
#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::Mutex;

use url::Url;

use super::CloudFoundry;
use super::types::{Job, JobState, WithLastOperation};
use crate::error::{Error, Result};
use crate::http::{Response, sanitize_url};
use crate::wait::{Poll, WaitOptions, poll_until};

/// How a finished job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobEnd {
    /// `COMPLETE`.
    Complete(Job),
    /// `FAILED`.
    Failed(Job),
}

/// What one look at a job means for the wait (pure).
pub(crate) fn job_poll(job: Job) -> Poll<JobEnd> {
    match job.state {
        JobState::Complete => Poll::Ready(JobEnd::Complete(job)),
        JobState::Failed => Poll::Ready(JobEnd::Failed(job)),
        ref other => Poll::Pending {
            state: other.as_str().to_owned(),
            retry_after: None,
        },
    }
}

/// The job's own explanation of its failure, when it gave one (pure).
pub(crate) fn job_errors_message(job: &Job) -> Option<String> {
    let parts: Vec<String> = job
        .errors
        .iter()
        .map(|e| e.describe())
        .filter(|d| !d.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The message when neither the job nor the resource says why it failed.
pub const NO_REASON: &str = "the job FAILED without giving a reason (a known Cloud Controller behaviour); \
     check the resource with `cf service` or `cf service-key` and retry";

impl CloudFoundry {
    /// The job URL from a `202 Accepted` answer's `Location`, which must be on the API's host.
    pub(crate) fn job_location(&self, response: &Response, operation: &str) -> Result<Url> {
        let url = response.location().ok_or_else(|| Error::OperationFailed {
            operation: operation.to_owned(),
            message: format!(
                "the platform accepted it ({}) but sent no Location header to follow",
                response.status()
            ),
            code: None,
        })?;
        if url.origin() != self.api_url().origin() {
            return Err(Error::InvalidUrl {
                field: "Location of a Cloud Foundry job".into(),
                reason: format!(
                    "{} is not on the API's host; refusing to send the token there",
                    sanitize_url(&url)
                ),
            });
        }
        Ok(url)
    }

    /// Polls the job at `url` until it is `COMPLETE` or `FAILED`, reporting state changes and
    /// job warnings. A failed job is an [`Error::OperationFailed`] with the job's errors, else
    /// the `last_operation.description` of the resource it links to, else a fallback message.
    pub(crate) async fn wait_for_job(
        &self,
        url: &Url,
        operation: &str,
        wait: &WaitOptions,
    ) -> Result<Job> {
        match self.await_job(url, operation, wait).await? {
            JobEnd::Complete(job) => Ok(job),
            JobEnd::Failed(job) => Err(self.job_failure(&job, operation, None).await),
        }
    }

    /// Polls the job at `url` until it ends, either way.
    pub(crate) async fn await_job(
        &self,
        url: &Url,
        operation: &str,
        wait: &WaitOptions,
    ) -> Result<JobEnd> {
        let seen = Mutex::new(HashSet::new());
        poll_until(operation, wait, || async {
            let job: Job = self.get_json(url.clone()).await?;
            self.report_job_warnings(&job, &seen);
            Ok(job_poll(job))
        })
        .await
    }

    /// The error for a failed job: its errors, else the resource's last operation (from the job's
    /// link, or `resource` when the caller knows it), else [`NO_REASON`].
    pub(crate) async fn job_failure(
        &self,
        job: &Job,
        operation: &str,
        resource: Option<Url>,
    ) -> Error {
        let message = match job_errors_message(job) {
            Some(m) => m,
            None => {
                let link = job
                    .resource_link()
                    .and_then(|h| self.api_url().join(h).ok());
                match link.or(resource) {
                    Some(url) => self.last_operation_description(url).await,
                    None => None,
                }
                .unwrap_or_else(|| NO_REASON.to_owned())
            }
        };
        Error::OperationFailed {
            operation: operation.to_owned(),
            message,
            code: None,
        }
    }

    /// The `last_operation.description` of the resource at `url`, when it can be read.
    pub(crate) async fn last_operation_description(&self, url: Url) -> Option<String> {
        if url.origin() != self.api_url().origin() {
            return None;
        }
        let resource: WithLastOperation = self.get_json(url).await.ok()?;
        resource
            .last_operation?
            .description
            .filter(|d| !d.trim().is_empty())
    }

    fn report_job_warnings(&self, job: &Job, seen: &Mutex<HashSet<String>>) {
        for detail in job.warnings.iter().filter_map(|w| w.detail.clone()) {
            let new = seen
                .lock()
                .map(|mut s| s.insert(detail.clone()))
                .unwrap_or(false);
            if new {
                self.warn(detail);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(v: serde_json::Value) -> Job {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn states_map_to_polls() {
        let cases = [
            ("PROCESSING", Some("PROCESSING")),
            ("POLLING", Some("POLLING")),
            ("SOMETHING", Some("SOMETHING")),
            ("COMPLETE", None),
            ("FAILED", None),
        ];
        for (state, pending) in cases {
            let p = job_poll(job(json!({"guid": "j", "state": state})));
            match (p, pending) {
                (Poll::Pending { state: s, .. }, Some(want)) => assert_eq!(s, want),
                (Poll::Ready(JobEnd::Complete(_)), None) => assert_eq!(state, "COMPLETE"),
                (Poll::Ready(JobEnd::Failed(_)), None) => assert_eq!(state, "FAILED"),
                (other, want) => panic!("{state}: {other:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn failure_messages() {
        let j = job(json!({"guid": "j", "state": "FAILED", "errors": [
            {"code": 10009, "title": "CF-UnableToPerform", "detail": "bind could not be completed: boom"},
            {"detail": "second"}]}));
        assert_eq!(
            job_errors_message(&j).unwrap(),
            "CF-UnableToPerform (10009): bind could not be completed: boom; second"
        );
        let j = job(json!({"guid": "j", "state": "FAILED", "errors": []}));
        assert_eq!(job_errors_message(&j), None);
        let j = job(json!({"guid": "j", "state": "FAILED", "errors": [{}]}));
        assert_eq!(job_errors_message(&j), None);
    }
}
