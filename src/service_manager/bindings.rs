//! Service bindings: list, get, create, delete, label changes, and waiting until one is ready.
//!
//! Bindings are immutable apart from their name and labels: new credentials always mean a new
//! binding.

// A typed client of the whole API: the journeys use part of it, the contract tests the rest.
#![allow(dead_code)]

use serde::Serialize;
use serde_json::{Value, json};

use super::ServiceManager;
use super::instances::{not_found_as_none, ready_or_pending, single};
use super::operations::Mutation;
use super::paging::{ListFilter, Pager};
use super::query::{Query, check_name};
use super::types::{Binding, Labels};
use crate::error::Result;
use crate::http::Request;
use crate::model::{BindingId, InstanceId};
use crate::wait::{Poll, WaitOptions, poll_until};

const COLLECTION: &str = "service_bindings";

/// What to create: name, instance, parameters and labels.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewBinding {
    /// Binding name (unique per instance).
    pub name: String,
    /// The instance to bind.
    pub instance_id: InstanceId,
    /// Binding parameters (e.g. `{"credential-type": "x509"}`), any JSON object.
    pub parameters: Option<Value>,
    /// Labels.
    pub labels: Labels,
}

impl NewBinding {
    /// A binding `name` of instance `instance_id`.
    pub(crate) fn new(name: impl Into<String>, instance_id: InstanceId) -> Self {
        NewBinding {
            name: name.into(),
            instance_id,
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
        let mut body = json!({"name": self.name, "service_instance_id": self.instance_id});
        if let Some(p) = &self.parameters {
            body["parameters"] = p.clone();
        }
        if !self.labels.is_empty() {
            body["labels"] = json!(self.labels);
        }
        body
    }
}

/// One label change in a PATCH (`add` or `remove`; there is no `replace`, and removing and
/// adding the same key in one request is not supported).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LabelChange {
    op: &'static str,
    key: String,
    values: Vec<String>,
}

impl LabelChange {
    /// Adds `values` to label `key`.
    pub(crate) fn add(key: impl Into<String>, values: Vec<String>) -> Self {
        LabelChange {
            op: "add",
            key: key.into(),
            values,
        }
    }

    /// Removes `values` from label `key`.
    pub(crate) fn remove(key: impl Into<String>, values: Vec<String>) -> Self {
        LabelChange {
            op: "remove",
            key: key.into(),
            values,
        }
    }
}

impl ServiceManager {
    /// The bindings matching `filter`, page by page (with their credentials).
    pub(crate) fn list_bindings(&self, filter: ListFilter) -> Pager<Binding> {
        Pager::new(self, COLLECTION, &filter)
    }

    /// Every binding of an instance.
    pub(crate) async fn bindings_of(&self, instance_id: &InstanceId) -> Result<Vec<Binding>> {
        self.list_bindings(ListFilter::field(
            Query::new().eq("service_instance_id", instance_id.as_str()),
        ))
        .all()
        .await
    }

    /// The binding `name` of an instance, credentials included (one request); `None` if there
    /// is none.
    pub(crate) async fn find_binding(
        &self,
        instance_id: &InstanceId,
        name: &str,
    ) -> Result<Option<Binding>> {
        check_name("binding", name)?;
        let query = Query::new()
            .eq("service_instance_id", instance_id.as_str())
            .eq("name", name);
        let found = self.list_bindings(ListFilter::field(query)).all().await?;
        single(
            found,
            || format!("binding name `{name}` on instance {instance_id}"),
            |b| b.id.to_string(),
        )
    }

    /// The binding with this id.
    pub(crate) async fn get_binding(&self, id: &BindingId) -> Result<Binding> {
        self.send(Request::get(self.url(&[COLLECTION, id.as_str()])))
            .await?
            .json()
    }

    /// The binding with this id, `None` on 404.
    pub(crate) async fn get_binding_opt(&self, id: &BindingId) -> Result<Option<Binding>> {
        not_found_as_none(self.get_binding(id).await)
    }

    /// Sends one create. Not retried on a lost answer: use the orchestrating client for a
    /// get-or-create that never duplicates.
    ///
    /// A name the Service Manager could not look up again exactly ([`super::query::unmatchable`])
    /// is an [`crate::Error::InvalidName`] and nothing is sent.
    pub(crate) async fn create_binding(&self, new: &NewBinding) -> Result<Mutation<Binding>> {
        check_name("binding", &new.name)?;
        let request = Request::post(self.url(&[COLLECTION]))
            .json(new.body())
            .retry_safe(false);
        let response = self.send(request).await?;
        self.mutation(&response)
    }

    /// Waits until the binding is usable (404 and `ready: false` count as still running).
    pub(crate) async fn wait_binding_ready(
        &self,
        id: &BindingId,
        wait: &WaitOptions,
    ) -> Result<Binding> {
        let what = format!("creation of binding {id}");
        poll_until(&what, wait, || async {
            let Some(binding) = self.get_binding_opt(id).await? else {
                return Ok(Poll::Pending {
                    state: "not visible yet".to_owned(),
                    retry_after: None,
                });
            };
            ready_or_pending(binding.readiness(), binding, &what)
        })
        .await
    }

    /// Changes a binding's labels (the only change a binding allows besides its name). Returns
    /// the binding as it is afterwards.
    pub(crate) async fn update_binding_labels(
        &self,
        id: &BindingId,
        changes: &[LabelChange],
        wait: &WaitOptions,
    ) -> Result<Binding> {
        let request = Request::patch(self.url(&[COLLECTION, id.as_str()]))
            .json(json!({ "labels": changes }))
            .retry_safe(true);
        let response = self.send(request).await?;
        match self.mutation::<Binding>(&response)? {
            Mutation::Done(binding) => Ok(binding),
            Mutation::Accepted(Some(op)) => {
                self.wait_operation(&op, &format!("label update of binding {id}"), wait)
                    .await?;
                self.get_binding(id).await
            }
            Mutation::Accepted(None) => self.get_binding(id).await,
        }
    }

    /// Deletes a binding and waits until it is gone; already gone (404) counts as done.
    pub(crate) async fn delete_binding(&self, id: &BindingId, wait: &WaitOptions) -> Result<()> {
        let what = format!("deletion of binding {id}");
        self.delete_resource(&[COLLECTION, id.as_str()], &what, wait)
            .await
    }
}
