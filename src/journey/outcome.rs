//! What a journey found, created and handed over.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::credentials::{CredentialType, ServiceKey};
pub use crate::model::Provenance;
use crate::model::{BindingId, InstanceId};
use crate::setup::{Environment, SetupPlan};

/// An instance as the journey saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct InstanceSummary {
    /// Platform id.
    pub id: InstanceId,
    /// Name.
    pub name: String,
    /// When it was created, if the platform said.
    pub created_at: Option<DateTime<Utc>>,
}

impl InstanceSummary {
    /// A summary.
    pub fn new(id: InstanceId, name: impl Into<String>, created_at: Option<DateTime<Utc>>) -> Self {
        InstanceSummary {
            id,
            name: name.into(),
            created_at,
        }
    }
}

/// A binding (Service Manager) or service key (Cloud Foundry), without its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CredentialSummary {
    /// Platform id.
    pub id: BindingId,
    /// Name.
    pub name: String,
    /// The instance it belongs to.
    pub instance_id: InstanceId,
    /// The instance's name, when known.
    pub instance_name: Option<String>,
    /// When it was created, if the platform said.
    pub created_at: Option<DateTime<Utc>>,
    /// Its declared credential type, when known without reading secrets.
    pub credential_type: Option<CredentialType>,
    /// Binding or service key.
    pub environment: Environment,
}

impl CredentialSummary {
    /// A summary.
    pub fn new(
        id: BindingId,
        name: impl Into<String>,
        instance_id: InstanceId,
        environment: Environment,
    ) -> Self {
        CredentialSummary {
            id,
            name: name.into(),
            instance_id,
            instance_name: None,
            created_at: None,
            credential_type: None,
            environment,
        }
    }
}

impl Serialize for CredentialType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The result of a journey: the credentials and how they were obtained.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Retrieved {
    /// The plan that was carried out.
    pub plan: SetupPlan,
    /// The instance.
    pub instance: InstanceSummary,
    /// Whether the instance was found or created.
    pub instance_provenance: Provenance,
    /// The binding or key.
    pub credential: CredentialSummary,
    /// Whether it was found or created.
    pub credential_provenance: Provenance,
    /// The credentials themselves (secrets inside `secrecy` types).
    pub key: ServiceKey,
}

impl Retrieved {
    /// What a [`Sink`](crate::credentials::Sink) needs to know about these credentials: the
    /// credential's and instance's names, the instance id, and the offering and plan (from the
    /// plan's instance step when it had one, else the defaults `SAPCloudALMAPIs` / `standard`).
    pub fn sink_context(&self) -> crate::credentials::SinkContext {
        use crate::setup::{DEFAULT_OFFERING, DEFAULT_PLAN, Step};
        let (offering, plan) = self
            .plan
            .steps
            .iter()
            .find_map(|s| match s {
                Step::CreateInstance { offering, plan, .. } => {
                    Some((offering.clone(), plan.clone()))
                }
                _ => None,
            })
            .unwrap_or_else(|| (DEFAULT_OFFERING.to_owned(), DEFAULT_PLAN.to_owned()));
        crate::credentials::SinkContext::new()
            .credential_name(&self.credential.name)
            .instance(&self.instance.name, self.instance.id.to_string())
            .plan(plan)
            .label(offering)
    }

    /// Writes the credentials to `sink` with [`Retrieved::sink_context`] (see
    /// [`ServiceKey::write_to`]).
    pub fn write_to(
        &self,
        sink: &crate::credentials::Sink,
    ) -> crate::Result<crate::credentials::Written> {
        self.key.write_to(sink, &self.sink_context())
    }
}

/// An instance and its bindings or service keys, without secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct InstanceListing {
    /// The instance.
    pub instance: InstanceSummary,
    /// `ready`, `creating` (or the platform's state word) or `failed: <reason>`.
    pub state: String,
    /// Its bindings or service keys, oldest first.
    pub credentials: Vec<CredentialSummary>,
    /// The platform that created it when that is not the Service Manager itself (a Cloud
    /// Foundry space's or a Kyma cluster's instance, listed in the same subaccount): such an
    /// instance is never looked up by name, bound or handed over by the Service Manager
    /// journeys.
    pub other_platform: Option<String>,
}
