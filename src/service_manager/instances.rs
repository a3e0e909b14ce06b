//! Service instances: list, get, create, delete, and waiting until one is ready.

// A typed client of the whole API: the journeys use part of it, the contract tests the rest.
#![allow(dead_code)]

use serde_json::{Value, json};

use super::ServiceManager;
use super::operations::Mutation;
use super::paging::{ListFilter, Pager};
use super::query::{Query, check_name};
use super::types::{Instance, Labels, Readiness, SERVICE_MANAGER_PLATFORM};
use crate::error::{Error, Result};
use crate::http::Request;
use crate::model::{InstanceId, PlanId};
use crate::wait::{Poll, WaitOptions, poll_until};

const COLLECTION: &str = "service_instances";

/// What to create: name, plan, parameters and labels.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewInstance {
    /// Instance name.
    pub name: String,
    /// The plan to create it from.
    pub plan_id: PlanId,
    /// Instance parameters (`xs-security` for SAP Cloud ALM API).
    pub parameters: Option<Value>,
    /// Labels.
    pub labels: Labels,
}

impl NewInstance {
    /// An instance `name` of plan `plan_id`, without parameters or labels.
    pub(crate) fn new(name: impl Into<String>, plan_id: PlanId) -> Self {
        NewInstance {
            name: name.into(),
            plan_id,
            parameters: None,
            labels: Labels::new(),
        }
    }

    /// Sets the parameters.
    pub(crate) fn parameters(mut self, parameters: Value) -> Self {
        self.parameters = Some(parameters);
        self
    }

    /// Adds a label.
    pub(crate) fn label(mut self, key: impl Into<String>, values: Vec<String>) -> Self {
        self.labels.insert(key.into(), values);
        self
    }

    fn body(&self) -> Value {
        let mut body = json!({"name": self.name, "service_plan_id": self.plan_id});
        if let Some(p) = &self.parameters {
            body["parameters"] = p.clone();
        }
        if !self.labels.is_empty() {
            body["labels"] = json!(self.labels);
        }
        body
    }
}

impl ServiceManager {
    /// The instances matching `filter`, page by page.
    pub(crate) fn list_instances(&self, filter: ListFilter) -> Pager<Instance> {
        Pager::new(self, COLLECTION, &filter)
    }

    /// The Service Manager-platform instance called `name` (one request), `None` if there is
    /// none; [`Error::Ambiguous`] if several share the name.
    ///
    /// Instances that a Cloud Foundry space or a Kyma cluster created are listed in the same
    /// subaccount, may share the name and cannot be bound here, so the lookup asks for
    /// `platform_id eq 'service-manager'` only. A name the server cannot match exactly is an
    /// [`Error::InvalidName`] before anything is sent.
    pub(crate) async fn find_instance(&self, name: &str) -> Result<Option<Instance>> {
        check_name("instance", name)?;
        let query = Query::new()
            .eq("name", name)
            .eq("platform_id", SERVICE_MANAGER_PLATFORM);
        let found: Vec<Instance> = self
            .list_instances(ListFilter::field(query))
            .all()
            .await?
            .into_iter()
            // A server that ignored the platform criterion must not make the lookup ambiguous.
            .filter(Instance::is_service_manager_platform)
            .collect();
        single(
            found,
            || format!("instance name `{name}`"),
            |i| i.id.to_string(),
        )
    }

    /// The instance with this id.
    pub(crate) async fn get_instance(&self, id: &InstanceId) -> Result<Instance> {
        self.send(Request::get(self.url(&[COLLECTION, id.as_str()])))
            .await?
            .json()
    }

    /// The instance with this id, `None` on 404 (gone, or not visible yet while being created).
    pub(crate) async fn get_instance_opt(&self, id: &InstanceId) -> Result<Option<Instance>> {
        not_found_as_none(self.get_instance(id).await)
    }

    /// Sends one create. Not retried on a lost answer: use the orchestrating client for a
    /// get-or-create that never duplicates.
    ///
    /// A name the Service Manager could not look up again exactly ([`super::query::unmatchable`])
    /// is an [`Error::InvalidName`] and nothing is sent.
    pub(crate) async fn create_instance(&self, new: &NewInstance) -> Result<Mutation<Instance>> {
        check_name("instance", &new.name)?;
        let request = Request::post(self.url(&[COLLECTION]))
            .json(new.body())
            .retry_safe(false);
        let response = self.send(request).await?;
        self.mutation(&response)
    }

    /// Waits until the instance is usable: a 404 or `ready: false` while it is being created
    /// count as still running; a failed creation gives [`Error::OperationFailed`].
    pub(crate) async fn wait_instance_ready(
        &self,
        id: &InstanceId,
        wait: &WaitOptions,
    ) -> Result<Instance> {
        let what = format!("creation of instance {id}");
        poll_until(&what, wait, || async {
            let Some(instance) = self.get_instance_opt(id).await? else {
                return Ok(Poll::Pending {
                    state: "not visible yet".to_owned(),
                    retry_after: None,
                });
            };
            ready_or_pending(instance.readiness(), instance, &what)
        })
        .await
    }

    /// Deletes an instance and waits until it is gone; already gone (404) counts as done.
    pub(crate) async fn delete_instance(&self, id: &InstanceId, wait: &WaitOptions) -> Result<()> {
        let what = format!("deletion of instance {id}");
        self.delete_resource(&[COLLECTION, id.as_str()], &what, wait)
            .await
    }

    /// DELETE, then wait on its operation; 404 at any point means done.
    pub(crate) async fn delete_resource(
        &self,
        segments: &[&str],
        what: &str,
        wait: &WaitOptions,
    ) -> Result<()> {
        let response = match self.send(Request::delete(self.url(segments))).await {
            Ok(r) => r,
            Err(e) if e.status() == Some(404) || e.status() == Some(410) => return Ok(()),
            Err(e) => return Err(e),
        };
        if response.status() != 202 {
            return Ok(());
        }
        match self.mutation::<Value>(&response)? {
            Mutation::Accepted(Some(op)) => self.wait_deleted(&op, what, wait).await,
            _ => {
                // No operation named: wait for the resource itself to disappear.
                poll_until(what, wait, || async {
                    match self.send(Request::get(self.url(segments))).await {
                        Err(e) if e.status() == Some(404) => Ok(Poll::Ready(())),
                        Err(e) => Err(e),
                        Ok(_) => Ok(Poll::Pending {
                            state: "deleting".to_owned(),
                            retry_after: None,
                        }),
                    }
                })
                .await
            }
        }
    }
}

/// The one item of a by-name lookup; several → [`Error::Ambiguous`].
pub(crate) fn single<T>(
    mut found: Vec<T>,
    what: impl FnOnce() -> String,
    id: impl Fn(&T) -> String,
) -> Result<Option<T>> {
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(Error::Ambiguous {
            what: what(),
            candidates: found.iter().map(id).collect(),
        }),
    }
}

/// `Ok(None)` for a 404.
pub(crate) fn not_found_as_none<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A poll result from a resource's readiness.
pub(crate) fn ready_or_pending<T>(
    readiness: Readiness,
    resource: T,
    what: &str,
) -> Result<Poll<T>> {
    match readiness {
        Readiness::Ready => Ok(Poll::Ready(resource)),
        Readiness::Busy(state) => Ok(Poll::Pending {
            state,
            retry_after: None,
        }),
        Readiness::Failed(message) => Err(Error::OperationFailed {
            operation: what.to_owned(),
            message,
            code: None,
        }),
    }
}
