//! Service instances: find by name in a space, wait until idle, create (the get-or-create rule
//! is the journeys').

use serde_json::{Value, json};
use url::Url;

use super::CloudFoundry;
use super::jobs::job_errors_message;
use super::paging::{Pages, list_url};
use super::types::{LastOperation, ServiceInstance, ServicePlan, Space};
use crate::error::{Error, Result};
use crate::http::Request;
use crate::model::{InstanceId, SpaceId};
use crate::wait::{Poll, WaitOptions, poll_until};

impl CloudFoundry {
    /// The instance called exactly `name` (case-sensitive) in `space`, if any. One request.
    pub(crate) async fn find_instance(
        &self,
        space: &SpaceId,
        name: &str,
    ) -> Result<Option<ServiceInstance>> {
        let url = list_url(
            self.api_url(),
            "/v3/service_instances",
            &[("names", &[name]), ("space_guids", &[space.as_str()])],
        )?;
        let found: Vec<ServiceInstance> = Pages::new(self, url).collect_all().await?;
        Ok(pick_instance(found, space, name))
    }

    /// The instance with this GUID.
    pub(crate) async fn instance(&self, guid: &InstanceId) -> Result<ServiceInstance> {
        self.get_json(self.url(&format!("/v3/service_instances/{}", guid.as_str()))?)
            .await
    }

    /// The instances in `space` whose plan is one of `plans` (every instance when empty).
    pub(crate) async fn list_instances(
        &self,
        space: &SpaceId,
        plans: &[&str],
    ) -> Result<Vec<ServiceInstance>> {
        let url = list_url(
            self.api_url(),
            "/v3/service_instances",
            &[
                ("space_guids", &[space.as_str()]),
                ("service_plan_guids", plans),
            ],
        )?;
        Pages::new(self, url).collect_all().await
    }

    /// Waits until no operation runs on `instance` (returns it at once when idle). A failed last
    /// operation is an [`Error::OperationFailed`] with the broker's description.
    pub(crate) async fn wait_instance_ready(
        &self,
        instance: ServiceInstance,
        wait: &WaitOptions,
    ) -> Result<ServiceInstance> {
        if let Some(op) = instance.last_operation.as_ref().filter(|o| o.is_failed()) {
            return Err(instance_failed(&instance.name, op));
        }
        if !instance.is_busy() {
            return Ok(instance);
        }
        let operation = format!("service instance `{}`", instance.name);
        poll_until(&operation, wait, || async {
            let current = self.instance(&instance.guid).await?;
            instance_poll(current)
        })
        .await
    }

    /// Sends the create of instance `name` of `plan` in `space` with `parameters`, once.
    /// Returns the job to wait for ([`CloudFoundry::finish_instance_job`]); refusals are
    /// errors (`unprocessable` tells "name taken" from the rest).
    pub(crate) async fn post_instance(
        &self,
        space: &Space,
        name: &str,
        plan: &ServicePlan,
        parameters: &Value,
    ) -> Result<Url> {
        let body = json!({
            "type": "managed",
            "name": name,
            "relationships": {
                "space": {"data": {"guid": space.guid.as_str()}},
                "service_plan": {"data": {"guid": plan.guid.as_str()}},
            },
            "parameters": parameters,
        });
        let request = Request::post(self.url("/v3/service_instances")?).json(body);
        let response = self.send(request).await?;
        self.job_location(&response, &format!("creation of service instance `{name}`"))
    }

    /// Waits for the job of an instance create, then until the instance is ready.
    pub(crate) async fn finish_instance_job(
        &self,
        job_url: &Url,
        space: &Space,
        name: &str,
        wait: &WaitOptions,
    ) -> Result<ServiceInstance> {
        let operation = &format!("creation of service instance `{name}`");
        match self.await_job(job_url, operation, wait).await? {
            super::jobs::JobEnd::Complete(_) => {}
            super::jobs::JobEnd::Failed(job) => {
                let needs_lookup =
                    job_errors_message(&job).is_none() && job.resource_link().is_none();
                let mut fallback = None;
                if needs_lookup {
                    let found = self.find_instance(&space.guid, name).await.ok().flatten();
                    fallback = found
                        .and_then(|i| self.url(&format!("/v3/service_instances/{}", i.guid)).ok());
                }
                return Err(self.job_failure(&job, operation, fallback).await);
            }
        }
        let instance = self.find_instance(&space.guid, name).await?;
        let instance = instance.ok_or_else(|| Error::OperationFailed {
            operation: operation.to_owned(),
            message: "the job completed but the instance cannot be found; it may have been deleted meanwhile".into(),
            code: None,
        })?;
        self.wait_instance_ready(instance, wait).await
    }
}

/// The instance named exactly `name`, preferring one that lives in `space` over one shared
/// into it (pure).
pub(crate) fn pick_instance(
    found: Vec<ServiceInstance>,
    space: &SpaceId,
    name: &str,
) -> Option<ServiceInstance> {
    let mut exact: Vec<ServiceInstance> = found.into_iter().filter(|i| i.name == name).collect();
    let own = exact
        .iter()
        .position(|i| i.relationships.space.guid() == Some(space.as_str()));
    match own {
        Some(i) => Some(exact.swap_remove(i)),
        None => exact.into_iter().next(),
    }
}

fn instance_poll(current: ServiceInstance) -> Result<Poll<ServiceInstance>> {
    match current.last_operation.clone() {
        Some(op) if op.is_failed() => Err(instance_failed(&current.name, &op)),
        Some(op) if op.is_pending() => Ok(Poll::Pending {
            state: op.label(),
            retry_after: None,
        }),
        _ => Ok(Poll::Ready(current)),
    }
}

fn instance_failed(name: &str, op: &LastOperation) -> Error {
    Error::OperationFailed {
        operation: format!(
            "{} of service instance `{name}`",
            if op.kind.is_empty() {
                "operation"
            } else {
                &op.kind
            }
        ),
        message: op
            .description
            .clone()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| {
                format!(
                    "the last operation is `{}` without a description; check `cf service {name}`",
                    op.label()
                )
            }),
        code: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn si(guid: &str, name: &str, space: &str) -> ServiceInstance {
        serde_json::from_value(serde_json::json!({"guid": guid, "name": name,
            "relationships": {"space": {"data": {"guid": space}}}}))
        .unwrap()
    }

    #[test]
    fn picks_exact_name_in_own_space_first() {
        let s = SpaceId::new("s1");
        let got = pick_instance(
            vec![
                si("a", "Calm", "s1"),
                si("b", "calm", "s2"),
                si("c", "calm", "s1"),
            ],
            &s,
            "calm",
        );
        assert_eq!(got.unwrap().guid.as_str(), "c");
        let got = pick_instance(vec![si("b", "calm", "s2")], &s, "calm");
        assert_eq!(got.unwrap().guid.as_str(), "b");
        assert!(pick_instance(vec![si("a", "Calm", "s1")], &s, "calm").is_none());
    }

    #[test]
    fn failed_instance_names_the_broker_reason() {
        let mut i = si("a", "calm", "s1");
        i.last_operation = Some(LastOperation {
            kind: "create".into(),
            state: "failed".into(),
            description: Some("quota exceeded at broker".into()),
        });
        let err = instance_poll(i).unwrap_err();
        assert!(
            err.to_string().contains("quota exceeded at broker"),
            "{err}"
        );
    }
}
