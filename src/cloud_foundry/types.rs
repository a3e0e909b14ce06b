//! Cloud Foundry v3 wire types: the subset of each resource this crate reads.
//!
//! Lenient on purpose: unknown fields are ignored, optional fields may be missing or `null`, and a
//! timestamp that does not parse is treated as absent rather than failing the whole answer.

// Wire models mirror the platform's documents whole (for Debug and the next journey); not
// every field or helper is read by today's journeys.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::model::{BindingId, InstanceId, OfferingId, OperationId, OrgId, PlanId, SpaceId};

/// A link object: `{"href": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Link {
    /// The absolute URL.
    pub href: String,
}

/// A to-one relationship: `{"data": {"guid": "…"}}` (`data` may be `null`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ToOne {
    /// The related resource, when there is one.
    #[serde(default)]
    pub data: Option<GuidRef>,
}

impl ToOne {
    /// The related GUID, when there is one.
    pub fn guid(&self) -> Option<&str> {
        self.data.as_ref().map(|d| d.guid.as_str())
    }
}

/// `{"guid": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct GuidRef {
    /// The GUID.
    pub guid: String,
}

/// The answer of `GET /`: where the other components live.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct Root {
    /// Named links (`login`, `uaa`, `cloud_controller_v3`, …); a `null` link is kept as `None`.
    #[serde(default)]
    pub links: BTreeMap<String, Option<Link>>,
}

impl Root {
    /// The href of a named link, when present and not `null`.
    pub fn link(&self, name: &str) -> Option<&str> {
        self.links.get(name)?.as_ref().map(|l| l.href.as_str())
    }
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Org {
    /// GUID.
    pub guid: OrgId,
    /// Name.
    pub name: String,
}

impl Org {
    /// An org known by GUID (and name, for messages) without asking the server.
    pub fn new(guid: impl Into<OrgId>, name: impl Into<String>) -> Self {
        Org {
            guid: guid.into(),
            name: name.into(),
        }
    }
}

/// A space.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Space {
    /// GUID.
    pub guid: SpaceId,
    /// Name.
    pub name: String,
}

impl Space {
    /// A space known by GUID (and name, for messages) without asking the server; this is how a
    /// caller with a cached GUID skips the org and space lookups.
    pub fn new(guid: impl Into<SpaceId>, name: impl Into<String>) -> Self {
        Space {
            guid: guid.into(),
            name: name.into(),
        }
    }
}

/// A service offering (a marketplace service).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ServiceOffering {
    /// GUID.
    pub guid: OfferingId,
    /// Technical name.
    pub name: String,
    /// Whether it can currently be provisioned.
    #[serde(default = "yes")]
    pub available: bool,
}

/// The broker's features of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct PlanFeatures {
    /// Whether keys and bindings are allowed.
    #[serde(default = "yes")]
    pub bindable: bool,
}

/// The broker catalog part of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct PlanCatalog {
    /// Features.
    #[serde(default)]
    pub features: Option<PlanFeatures>,
    /// The broker's own upper bound on polling, in seconds.
    #[serde(default)]
    pub maximum_polling_duration: Option<u64>,
}

/// Relationships of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct PlanRelationships {
    /// The offering.
    #[serde(default)]
    pub service_offering: ToOne,
}

/// A service plan.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ServicePlan {
    /// GUID.
    pub guid: PlanId,
    /// Name.
    pub name: String,
    /// `public`, `admin`, `organization` or `space`.
    #[serde(default)]
    pub visibility_type: Option<String>,
    /// Whether it can currently be provisioned.
    #[serde(default = "yes")]
    pub available: bool,
    /// Broker catalog data.
    #[serde(default)]
    pub broker_catalog: PlanCatalog,
    /// Relationships.
    #[serde(default)]
    pub relationships: PlanRelationships,
}

impl ServicePlan {
    /// Whether service keys may be created for instances of this plan (missing means yes).
    pub fn bindable(&self) -> bool {
        self.broker_catalog
            .features
            .as_ref()
            .is_none_or(|f| f.bindable)
    }
}

/// The last operation of an instance or key: `{type, state, description}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct LastOperation {
    /// `create`, `update` or `delete`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// `initial`, `in progress`, `succeeded` or `failed`.
    #[serde(default)]
    pub state: String,
    /// The platform's or broker's explanation, if any.
    #[serde(default)]
    pub description: Option<String>,
}

impl LastOperation {
    /// Whether the operation has not finished (`initial` or `in progress`).
    pub fn is_pending(&self) -> bool {
        matches!(self.state.as_str(), "initial" | "in progress")
    }

    /// Whether it failed.
    pub fn is_failed(&self) -> bool {
        self.state == "failed"
    }

    /// Whether it is a create that succeeded (the only state in which a key has credentials).
    pub fn is_create_succeeded(&self) -> bool {
        self.kind == "create" && self.state == "succeeded"
    }

    /// The same judgement as the Service Manager's: a pending operation is busy, a failed
    /// create is failed, anything else (no operation, a finished one, a failed update or
    /// delete of a resource that exists) is ready.
    pub fn readiness(&self) -> crate::model::Readiness {
        use crate::model::Readiness;
        if self.is_pending() {
            Readiness::Busy(self.label())
        } else if self.is_failed() && self.kind == "create" {
            Readiness::Failed(self.description.clone().unwrap_or_else(|| self.label()))
        } else {
            Readiness::Ready
        }
    }

    /// `create in progress`, for messages.
    pub fn label(&self) -> String {
        format!("{} {}", self.kind, self.state).trim().to_owned()
    }
}

/// Relationships of a service instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct InstanceRelationships {
    /// The space it lives in.
    #[serde(default)]
    pub space: ToOne,
    /// Its plan (absent for user-provided instances).
    #[serde(default)]
    pub service_plan: ToOne,
}

/// A service instance.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ServiceInstance {
    /// GUID.
    pub guid: InstanceId,
    /// Name (unique per space, case-sensitive).
    pub name: String,
    /// `managed` or `user-provided`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// The last operation, when the platform reported one.
    #[serde(default)]
    pub last_operation: Option<LastOperation>,
    /// Relationships.
    #[serde(default)]
    pub relationships: InstanceRelationships,
    /// Creation time.
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
}

impl ServiceInstance {
    /// Whether an operation on it is still running (a key create would be refused).
    pub fn is_busy(&self) -> bool {
        self.last_operation.as_ref().is_some_and(|o| o.is_pending())
    }
}

/// Relationships of a credential binding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct BindingRelationships {
    /// The instance it belongs to.
    #[serde(default)]
    pub service_instance: ToOne,
}

/// A service credential binding; with `type: key`, a service key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ServiceCredentialBinding {
    /// GUID.
    pub guid: BindingId,
    /// Name (app bindings may have none).
    #[serde(default)]
    pub name: Option<String>,
    /// `key` or `app`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// The last operation, when the platform reported one.
    #[serde(default)]
    pub last_operation: Option<LastOperation>,
    /// Relationships.
    #[serde(default)]
    pub relationships: BindingRelationships,
    /// Creation time.
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
}

impl ServiceCredentialBinding {
    /// The name, or `""`.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    /// The instance GUID, when the platform gave it.
    pub fn instance_guid(&self) -> Option<InstanceId> {
        self.relationships
            .service_instance
            .guid()
            .map(InstanceId::from)
    }

    /// Whether its create succeeded, so its credentials can be read. A key listed without a
    /// last operation is taken as ready (older Cloud Controllers omit it).
    pub fn is_ready(&self) -> bool {
        self.last_operation
            .as_ref()
            .is_none_or(LastOperation::is_create_succeeded)
    }
}

/// The state of a Cloud Foundry job.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobState {
    /// The Cloud Controller is working on it.
    Processing,
    /// The Cloud Controller is polling the broker: **not** finished.
    Polling,
    /// Finished successfully.
    Complete,
    /// Finished with failure.
    Failed,
    /// A state this crate does not know (treated as not finished).
    Other(String),
}

impl JobState {
    /// Parses the wire word (case-insensitive).
    pub fn parse(s: &str) -> Self {
        match s.trim().to_ascii_uppercase().as_str() {
            "PROCESSING" => JobState::Processing,
            "POLLING" => JobState::Polling,
            "COMPLETE" => JobState::Complete,
            "FAILED" => JobState::Failed,
            _ => JobState::Other(s.to_owned()),
        }
    }

    /// Only `COMPLETE` and `FAILED` end a job.
    pub fn is_terminal(&self) -> bool {
        matches!(self, JobState::Complete | JobState::Failed)
    }

    /// The wire word.
    pub fn as_str(&self) -> &str {
        match self {
            JobState::Processing => "PROCESSING",
            JobState::Polling => "POLLING",
            JobState::Complete => "COMPLETE",
            JobState::Failed => "FAILED",
            JobState::Other(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for JobState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(JobState::parse(&String::deserialize(d)?))
    }
}

/// One entry of a job's or error body's `errors`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct CfErrorItem {
    /// Numeric code (`10009`).
    #[serde(default)]
    pub code: Option<i64>,
    /// Title (`CF-UnableToPerform`).
    #[serde(default)]
    pub title: Option<String>,
    /// Explanation.
    #[serde(default)]
    pub detail: Option<String>,
}

impl CfErrorItem {
    /// `CF-UnableToPerform (10009): detail`, for messages.
    pub fn describe(&self) -> String {
        let mut out = self.title.clone().unwrap_or_default();
        if let Some(code) = self.code {
            out = format!("{out} ({code})").trim().to_owned();
        }
        match &self.detail {
            Some(d) if out.is_empty() => d.clone(),
            Some(d) => format!("{out}: {d}"),
            None => out,
        }
    }
}

/// A job warning: `{"detail": "…"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct JobWarning {
    /// The text.
    #[serde(default)]
    pub detail: Option<String>,
}

/// An asynchronous job (`/v3/jobs/:guid`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Job {
    /// GUID.
    pub guid: OperationId,
    /// `service_keys.create`, `service_instance.create`, …
    #[serde(default)]
    pub operation: Option<String>,
    /// State.
    pub state: JobState,
    /// Errors (may be empty even when the job `FAILED`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<CfErrorItem>,
    /// Warnings.
    #[serde(default, deserialize_with = "null_as_default")]
    pub warnings: Vec<JobWarning>,
    /// Links: `self`, and the resource (`service_credential_binding`, `service_instances`) when
    /// it exists.
    #[serde(default, deserialize_with = "null_as_default")]
    pub links: BTreeMap<String, Option<Link>>,
}

impl Job {
    /// The link to the resource the job works on, when the platform gave one.
    pub fn resource_link(&self) -> Option<&str> {
        self.links
            .iter()
            .filter(|(name, _)| name.as_str() != "self")
            .find_map(|(_, link)| link.as_ref().map(|l| l.href.as_str()))
    }
}

/// The pagination block of a list answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Pagination {
    /// Total number of resources, when given.
    #[serde(default)]
    pub total_results: Option<u64>,
    /// Total number of pages, when given.
    #[serde(default)]
    pub total_pages: Option<u64>,
    /// The next page, `null` on the last one.
    #[serde(default)]
    pub next: Option<Link>,
}

/// A page of a list answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Paginated<T> {
    /// Paging information.
    #[serde(default)]
    pub pagination: Pagination,
    /// The resources on this page.
    #[serde(
        default = "Vec::new",
        bound(deserialize = "T: Deserialize<'de>"),
        deserialize_with = "null_as_default"
    )]
    pub resources: Vec<T>,
}

/// A resource's `last_operation` alone (used when reading why a job failed).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct WithLastOperation {
    #[serde(default)]
    pub last_operation: Option<LastOperation>,
}

fn yes() -> bool {
    true
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let raw = Option::<serde_json::Value>::deserialize(d)?;
    Ok(raw
        .as_ref()
        .and_then(serde_json::Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn job_states_only_complete_and_failed_are_terminal() {
        let cases = [
            ("PROCESSING", JobState::Processing, false),
            ("POLLING", JobState::Polling, false),
            ("COMPLETE", JobState::Complete, true),
            ("FAILED", JobState::Failed, true),
            ("complete", JobState::Complete, true),
            ("QUEUED", JobState::Other("QUEUED".into()), false),
            ("", JobState::Other(String::new()), false),
        ];
        for (wire, want, terminal) in cases {
            let got = JobState::parse(wire);
            assert_eq!(got, want, "{wire}");
            assert_eq!(got.is_terminal(), terminal, "{wire}");
        }
    }

    #[test]
    fn job_parses_leniently() {
        let job: Job = serde_json::from_value(json!({
            "guid": "j1", "state": "FAILED", "errors": null, "warnings": [{"detail": "w"}],
            "links": {"self": {"href": "https://api/v3/jobs/j1"},
                      "service_credential_binding": {"href": "https://api/v3/service_credential_bindings/k"}},
            "extra": {"ignored": true}
        }))
        .unwrap();
        assert_eq!(job.state, JobState::Failed);
        assert!(job.errors.is_empty());
        assert_eq!(
            job.resource_link(),
            Some("https://api/v3/service_credential_bindings/k")
        );
    }

    #[test]
    fn instance_and_key_parse_leniently() {
        let si: ServiceInstance = serde_json::from_value(json!({
            "guid": "si", "name": "calm", "created_at": "not a time",
            "last_operation": {"type": "create", "state": "in progress", "description": null},
            "relationships": {"space": {"data": {"guid": "s"}}, "service_plan": {"data": null}}
        }))
        .unwrap();
        assert!(si.is_busy());
        assert_eq!(si.created_at, None);
        assert_eq!(si.relationships.space.guid(), Some("s"));
        let key: ServiceCredentialBinding =
            serde_json::from_value(json!({"guid": "k", "name": null, "last_operation": null}))
                .unwrap();
        assert!(key.is_ready());
        assert_eq!(key.name(), "");
        let page: Paginated<Org> =
            serde_json::from_value(json!({"resources": [{"guid": "o", "name": "Acme"}]})).unwrap();
        assert_eq!(page.resources.len(), 1);
        assert!(page.pagination.next.is_none());
    }

    #[test]
    fn plan_bindable_defaults_to_true() {
        let plan: ServicePlan =
            serde_json::from_value(json!({"guid": "p", "name": "standard"})).unwrap();
        assert!(plan.bindable());
        let plan: ServicePlan = serde_json::from_value(json!({"guid": "p", "name": "standard",
            "broker_catalog": {"features": {"bindable": false}}}))
        .unwrap();
        assert!(!plan.bindable());
    }
}
