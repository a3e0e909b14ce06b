//! Service keys (credential bindings of `type=key`): find, create, wait, read, delete (the
//! get-or-create rule is the journeys').

// A typed client of the whole API: the journeys use part of it, the contract tests the rest.
#![allow(dead_code)]

use serde_json::{Value, json};
use url::Url;

use super::CloudFoundry;
use super::errors::{DetailsNotFound, classify_details_404, detail};
use super::jobs::{JobEnd, job_errors_message};
use super::paging::{Pages, list_url};
use super::types::{LastOperation, ServiceCredentialBinding, ServiceInstance};
use crate::credentials::ServiceKey;
use crate::error::{Error, Resource, Result};
use crate::http::Request;
use crate::model::{BindingId, InstanceId};
use crate::wait::{Poll, WaitOptions, poll_until};

/// Why a key cannot be read or created, by a role without access to its secrets.
pub const ROLE_HINT: &str = "Cloud Foundry answered 404 on the key's credentials (/details). Reading service key credentials \
     needs the Space Developer role in the space (or admin / admin read-only); Space Managers, Space Auditors and Org Managers \
     can list keys but not read them. Ask an Org or Space Manager for `cf set-space-role <user> <org> <space> SpaceDeveloper`, \
     or check that the key was not deleted meanwhile";

impl CloudFoundry {
    /// The key called `name` of `instance`, if any. One request
    /// (`service_instance_guids`, `type=key`, `names`).
    pub(crate) async fn find_key(
        &self,
        instance: &InstanceId,
        name: &str,
    ) -> Result<Option<ServiceCredentialBinding>> {
        let url = list_url(
            self.api_url(),
            "/v3/service_credential_bindings",
            &[
                ("service_instance_guids", &[instance.as_str()]),
                ("type", &["key"]),
                ("names", &[name]),
            ],
        )?;
        let keys: Vec<ServiceCredentialBinding> = Pages::new(self, url).collect_all().await?;
        Ok(keys.into_iter().find(|k| k.name() == name))
    }

    /// Every key of the given instances, in every state.
    pub(crate) async fn list_keys(
        &self,
        instances: &[&InstanceId],
    ) -> Result<Vec<ServiceCredentialBinding>> {
        if instances.is_empty() {
            return Ok(Vec::new());
        }
        let guids: Vec<&str> = instances.iter().map(|i| i.as_str()).collect();
        let url = list_url(
            self.api_url(),
            "/v3/service_credential_bindings",
            &[("service_instance_guids", &guids), ("type", &["key"])],
        )?;
        Pages::new(self, url).collect_all().await
    }

    /// The key with this GUID.
    pub(crate) async fn key(&self, guid: &BindingId) -> Result<ServiceCredentialBinding> {
        self.get_json(key_path(self, guid, "")?).await
    }

    /// Waits until the key's create has succeeded (at once when it has). A failed create is an
    /// [`Error::OperationFailed`] with the broker's description.
    pub(crate) async fn wait_key_ready(
        &self,
        key: ServiceCredentialBinding,
        wait: &WaitOptions,
    ) -> Result<ServiceCredentialBinding> {
        if key.is_ready() {
            return Ok(key);
        }
        let operation = format!("service key `{}`", key.name());
        poll_until(&operation, wait, || async {
            key_poll(self.key(&key.guid).await?)
        })
        .await
    }

    /// The credentials of a key. A 404 that says the key's creation is in progress (or
    /// `initial`) is waited out; a plain 404 is explained (Space Developer is needed).
    pub(crate) async fn key_details(
        &self,
        key: &ServiceCredentialBinding,
        wait: &WaitOptions,
    ) -> Result<ServiceKey> {
        let url = key_path(self, &key.guid, "/details")?;
        let operation = format!("credentials of service key `{}`", key.name());
        let body: Value = poll_until(&operation, wait, || async {
            match self.get_json::<Value>(url.clone()).await {
                Ok(body) => Ok(Poll::Ready(body)),
                Err(e) if e.status() == Some(404) => details_404(&e, key.name()),
                Err(e) => Err(e),
            }
        })
        .await?;
        ServiceKey::from_value(body)
    }

    /// Sends the create of key `name` of `instance`, once. Returns the job to wait for
    /// ([`CloudFoundry::finish_key_job`]); refusals are errors (`unprocessable` tells "name
    /// taken", "instance busy" and "being deleted" from the rest).
    pub(crate) async fn post_key(&self, instance: &ServiceInstance, name: &str) -> Result<Url> {
        let body = json!({
            "type": "key",
            "name": name,
            "relationships": {"service_instance": {"data": {"guid": instance.guid.as_str()}}},
        });
        let request = Request::post(self.url("/v3/service_credential_bindings")?).json(body);
        let response = self.send(request).await?;
        self.job_location(&response, &format!("creation of service key `{name}`"))
    }

    /// Deletes the key and waits for the deletion job. A key that is already gone is not an
    /// error.
    pub(crate) async fn delete_key(&self, key: &BindingId, wait: &WaitOptions) -> Result<()> {
        let operation = format!("deletion of service key {key}");
        let response = match self.send(Request::delete(key_path(self, key, "")?)).await {
            Ok(r) => r,
            Err(e) if e.status() == Some(404) => return Ok(()),
            Err(e) => return Err(e),
        };
        if response.status() == 202 {
            let job = self.job_location(&response, &operation)?;
            self.wait_for_job(&job, &operation, wait).await?;
        }
        Ok(())
    }

    /// Waits for the job of a key create; the key once its create succeeded.
    pub(crate) async fn finish_key_job(
        &self,
        job_url: &Url,
        instance: &ServiceInstance,
        name: &str,
        wait: &WaitOptions,
    ) -> Result<ServiceCredentialBinding> {
        let operation = &format!("creation of service key `{name}`");
        let job = match self.await_job(job_url, operation, wait).await? {
            JobEnd::Complete(job) => job,
            JobEnd::Failed(job) => {
                let needs_lookup =
                    job_errors_message(&job).is_none() && job.resource_link().is_none();
                let mut fallback = None;
                if needs_lookup {
                    let found = self.find_key(&instance.guid, name).await.ok().flatten();
                    fallback = found.and_then(|k| key_path(self, &k.guid, "").ok());
                }
                return Err(self.job_failure(&job, operation, fallback).await);
            }
        };
        let from_link = job
            .links
            .get("service_credential_binding")
            .and_then(|l| l.as_ref())
            .and_then(|l| guid_from_href(&l.href));
        match from_link {
            Some(guid) => Ok(ready_key(guid, name, &instance.guid)),
            None => {
                let found = self.find_key(&instance.guid, name).await?;
                let found = found.ok_or_else(|| Error::OperationFailed {
                    operation: operation.to_owned(),
                    message: "the job completed but the key cannot be found; it may have been deleted meanwhile".into(),
                    code: None,
                })?;
                self.wait_key_ready(found, wait).await
            }
        }
    }

    /// Waits until no key called `name` of `instance` exists (an old one being deleted).
    pub(crate) async fn wait_key_gone(
        &self,
        instance: &InstanceId,
        name: &str,
        wait: &WaitOptions,
    ) -> Result<()> {
        let operation = format!("deletion of the old service key `{name}`");
        poll_until(&operation, wait, || async {
            Ok(match self.find_key(instance, name).await? {
                None => Poll::Ready(()),
                Some(k) => Poll::Pending {
                    state: k
                        .last_operation
                        .map(|o| o.label())
                        .unwrap_or_else(|| "deleting".into()),
                    retry_after: None,
                },
            })
        })
        .await
    }
}

fn key_path(cf: &CloudFoundry, guid: &BindingId, suffix: &str) -> Result<Url> {
    cf.url(&format!(
        "/v3/service_credential_bindings/{}{suffix}",
        guid.as_str()
    ))
}

/// The last path segment of a resource link, as a key GUID (pure).
pub(crate) fn guid_from_href(href: &str) -> Option<BindingId> {
    let path = href.split(['?', '#']).next()?;
    let last = path.trim_end_matches('/').rsplit('/').next()?;
    (!last.is_empty() && !last.contains(':')).then(|| BindingId::new(last))
}

fn ready_key(guid: BindingId, name: &str, instance: &InstanceId) -> ServiceCredentialBinding {
    ServiceCredentialBinding {
        guid,
        name: Some(name.to_owned()),
        kind: Some("key".into()),
        last_operation: Some(LastOperation {
            kind: "create".into(),
            state: "succeeded".into(),
            description: None,
        }),
        relationships: super::types::BindingRelationships {
            service_instance: super::types::ToOne {
                data: Some(super::types::GuidRef {
                    guid: instance.as_str().to_owned(),
                }),
            },
        },
        created_at: None,
    }
}

fn key_poll(key: ServiceCredentialBinding) -> Result<Poll<ServiceCredentialBinding>> {
    match key.last_operation.clone() {
        Some(op) if op.is_create_succeeded() => Ok(Poll::Ready(key)),
        Some(op) if op.is_failed() || op.kind == "delete" => Err(Error::OperationFailed {
            operation: format!("{} of service key `{}`", op.kind, key.name()),
            message: op
                .description
                .clone()
                .filter(|d| !d.trim().is_empty())
                .unwrap_or_else(|| format!("the key's last operation is `{}`", op.label())),
            code: None,
        }),
        Some(op) => Ok(Poll::Pending {
            state: op.label(),
            retry_after: None,
        }),
        None => Ok(Poll::Ready(key)),
    }
}

fn details_404<T>(error: &Error, name: &str) -> Result<Poll<T>> {
    match classify_details_404(detail(error)) {
        DetailsNotFound::CreationPending => Ok(Poll::Pending {
            state: detail(error).to_owned(),
            retry_after: None,
        }),
        DetailsNotFound::CreationFailed => Err(Error::OperationFailed {
            operation: format!("creation of service key `{name}`"),
            message: format!("{}; delete the key and create it again", detail(error)),
            code: None,
        }),
        DetailsNotFound::Deleting => Err(Error::NotFound {
            resource: Resource::ServiceKey,
            name: format!("`{name}`"),
            creatable: true,
            detail: Some(format!("{}; create a new key", detail(error))),
        }),
        _ => Err(Error::NotFound {
            resource: Resource::ServiceKey,
            name: format!("`{name}` (its credentials)"),
            creatable: false,
            detail: Some(ROLE_HINT.into()),
        }),
    }
}

/// A key create refused because the instance's plan allows no keys, with what to do.
pub(crate) fn not_bindable(instance: &str, error: &Error) -> Error {
    Error::OperationFailed {
        operation: format!("creation of a service key for instance `{instance}`"),
        message: format!(
            "{}: the instance's plan allows no service keys; use another plan",
            detail(error)
        ),
        code: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_from_links() {
        let cases = [
            (
                "https://api.example/v3/service_credential_bindings/abc-1",
                Some("abc-1"),
            ),
            (
                "https://api.example/v3/service_credential_bindings/abc-1/",
                Some("abc-1"),
            ),
            ("/v3/service_credential_bindings/k?x=1", Some("k")),
            ("", None),
            ("https:", None),
        ];
        for (href, want) in cases {
            assert_eq!(
                guid_from_href(href).as_ref().map(BindingId::as_str),
                want,
                "{href}"
            );
        }
    }

    #[test]
    fn key_states() {
        let key = |kind: &str, state: &str| ServiceCredentialBinding {
            last_operation: Some(LastOperation {
                kind: kind.into(),
                state: state.into(),
                description: None,
            }),
            ..ready_key(BindingId::new("k"), "k", &InstanceId::new("i"))
        };
        assert!(matches!(
            key_poll(key("create", "succeeded")),
            Ok(Poll::Ready(_))
        ));
        assert!(matches!(
            key_poll(key("create", "in progress")),
            Ok(Poll::Pending { .. })
        ));
        assert!(matches!(
            key_poll(key("create", "initial")),
            Ok(Poll::Pending { .. })
        ));
        assert!(key_poll(key("create", "failed")).is_err());
        assert!(key_poll(key("delete", "in progress")).is_err());
    }
}
