//! The Service Manager's JSON shapes, read leniently.
//!
//! Unknown fields are never fatal (kept in `extra` on offerings, plans and operations; skipped
//! on the instances and bindings that lists decode by the page); `last_operation` may be
//! absent; labels are string → list of strings; timestamps that cannot be read become `None`; the `errors` of an
//! operation are kept as raw JSON because their shape varies (see
//! `reference/service-manager-api.md` §5–§6).

// Wire models mirror the platform's documents whole (for Debug and the next journey); not
// every field or helper is read by today's journeys.
#![allow(dead_code)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::credentials::{CredentialType, ServiceKey};
use crate::error::Result;
pub(crate) use crate::model::Readiness;
use crate::model::{BindingId, InstanceId, OfferingId, OperationId, PlanId};

/// Labels: key → list of values. SAP adds a computed `subaccount_id` label.
pub type Labels = BTreeMap<String, Vec<String>>;

/// The label SAP computes on every resource; ignore it when comparing labels.
pub const COMPUTED_SUBACCOUNT_LABEL: &str = "subaccount_id";

/// One page of a list: `{"token"?, "num_items", "items": […]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
#[non_exhaustive]
pub struct Page<T> {
    /// Token for the next page; absent (or empty) on the last page.
    #[serde(default, deserialize_with = "lenient_string")]
    pub token: Option<String>,
    /// Total number of items across all pages, when given.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub num_items: Option<u64>,
    /// The items of this page.
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub items: Vec<T>,
}

/// A service offering (what the marketplace sells, e.g. `SAPCloudALMAPIs`).
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Offering {
    /// Id.
    pub id: OfferingId,
    /// Technical name.
    pub name: String,
    /// Description.
    #[serde(default, deserialize_with = "lenient_string")]
    pub description: Option<String>,
    /// Name in the broker's catalog.
    #[serde(default, deserialize_with = "lenient_string")]
    pub catalog_name: Option<String>,
    /// Whether instances can be bound.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub bindable: Option<bool>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A service plan of an offering (e.g. `standard`).
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Plan {
    /// Id.
    pub id: PlanId,
    /// Name.
    pub name: String,
    /// The offering it belongs to.
    #[serde(default)]
    pub service_offering_id: Option<OfferingId>,
    /// Description.
    #[serde(default, deserialize_with = "lenient_string")]
    pub description: Option<String>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A service instance.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Instance {
    /// Id.
    pub id: InstanceId,
    /// Name.
    pub name: String,
    /// The plan it was created from.
    #[serde(default)]
    pub service_plan_id: Option<PlanId>,
    /// The platform that created it: `service-manager` for the Service Manager's own
    /// instances; another id (a Cloud Foundry space's or a Kyma cluster's platform) for
    /// instances that only show up in the subaccount's listing. See
    /// [`Instance::is_service_manager_platform`].
    #[serde(default, deserialize_with = "lenient_string")]
    pub platform_id: Option<String>,
    /// `false` while being created (or after a failed creation).
    #[serde(default, deserialize_with = "lenient_bool")]
    pub ready: Option<bool>,
    /// Whether it can be used.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub usable: Option<bool>,
    /// Creation time.
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default, deserialize_with = "lenient_time")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Labels (SAP adds `subaccount_id`).
    #[serde(default, deserialize_with = "lenient_labels")]
    pub labels: Labels,
    /// The last operation on it, when the response carries one.
    #[serde(default, deserialize_with = "lenient_operation")]
    pub last_operation: Option<Operation>,
    // Unknown fields are skipped, not kept: instances and bindings are decoded by the page, and
    // `#[serde(flatten)]` would make serde buffer every object before reading it.
}

/// A service binding: credentials of an instance.
///
/// `Debug` shows neither the credentials nor the values of unknown fields.
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct Binding {
    /// Id.
    pub id: BindingId,
    /// Name (unique per instance).
    pub name: String,
    /// The instance it belongs to.
    pub service_instance_id: InstanceId,
    /// The instance's name (SAP adds it).
    #[serde(default, deserialize_with = "lenient_string")]
    pub service_instance_name: Option<String>,
    /// `false` while being created.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub ready: Option<bool>,
    /// Creation time.
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default, deserialize_with = "lenient_time")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Labels.
    #[serde(default, deserialize_with = "lenient_labels")]
    pub labels: Labels,
    /// The last operation on it, when the response carries one.
    #[serde(default, deserialize_with = "lenient_operation")]
    pub last_operation: Option<Operation>,
    #[serde(default)]
    credentials: Option<Value>,
}

impl Binding {
    /// Whether the response carried credentials (lists and GETs do; a 202 does not).
    pub fn has_credentials(&self) -> bool {
        matches!(&self.credentials, Some(Value::Object(m)) if !m.is_empty())
    }

    /// The credentials as a [`ServiceKey`]; an error naming the JSON path when they are absent
    /// or not usable.
    pub fn service_key(&self) -> Result<ServiceKey> {
        let value = self.credentials.clone().unwrap_or(Value::Null);
        ServiceKey::from_value(value)
    }

    /// [`Binding::service_key`], taking the credentials out instead of copying them.
    pub fn take_service_key(&mut self) -> Result<ServiceKey> {
        ServiceKey::from_value(self.credentials.take().unwrap_or(Value::Null))
    }

    /// The declared `credential-type` of the credentials, read without touching secrets.
    pub fn credential_type(&self) -> Option<CredentialType> {
        let creds = self.credentials.as_ref()?.as_object()?;
        let uaa = match creds.get("uaa") {
            Some(Value::Object(uaa)) => uaa,
            _ => creds,
        };
        uaa.get("credential-type")
            .and_then(Value::as_str)
            .map(CredentialType::parse)
    }
}

impl fmt::Debug for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Binding")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("service_instance_id", &self.service_instance_id)
            .field("ready", &self.ready)
            .field("created_at", &self.created_at)
            .field("labels", &self.labels)
            .field("last_operation", &self.last_operation)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// An asynchronous operation on an instance or binding.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Operation {
    /// Id (may be absent in a resource's `last_operation`).
    #[serde(default)]
    pub id: Option<OperationId>,
    /// `create`, `update`, `delete` (any case).
    #[serde(rename = "type", default, deserialize_with = "lenient_type")]
    pub kind: OperationKind,
    /// `in progress`, `succeeded`, `failed` (any case).
    #[serde(default, deserialize_with = "lenient_state")]
    pub state: OperationState,
    /// The platform's description.
    #[serde(default, deserialize_with = "lenient_string")]
    pub description: Option<String>,
    /// The resource it works on.
    #[serde(default, deserialize_with = "lenient_string")]
    pub resource_id: Option<String>,
    /// `/v1/service_instances` or `/v1/service_bindings`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub resource_type: Option<String>,
    /// The errors, raw: their shape varies (a list of `{error, description}`, an object, a
    /// string, or nothing).
    #[serde(default)]
    pub errors: Option<Value>,
    /// Creation time.
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default, deserialize_with = "lenient_time")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Operation {
    /// The platform's explanation of a failure: `description` and every error text, or a
    /// fallback that says none was given.
    pub fn failure_message(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(d) = self.description.as_deref().map(str::trim)
            && !d.is_empty()
        {
            parts.push(d.to_owned());
        }
        if let Some(errors) = &self.errors {
            collect_error_texts(errors, &mut parts);
        }
        parts.dedup();
        if parts.is_empty() {
            "the platform reported the operation as failed without a reason; check the instance in the SAP BTP cockpit".to_owned()
        } else {
            parts.join("; ")
        }
    }
}

impl Operation {
    /// The platform's error word of a failure (`Conflict`, `OperationInProgress`,
    /// `ConcurrentOperationInProgress`, `BrokerError`): the `error` field of `errors`, which
    /// upstream stores as one object and SAP's documentation shows as a list of such objects
    /// (the first word found is taken).
    pub fn error_code(&self) -> Option<String> {
        fn word(value: &Value) -> Option<String> {
            match value {
                Value::Object(map) => map
                    .get("error")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned),
                Value::Array(items) => items.iter().find_map(word),
                _ => None,
            }
        }
        self.errors.as_ref().and_then(word)
    }
}

/// Gathers readable texts from an `errors` value of any shape, bounded in size.
fn collect_error_texts(value: &Value, out: &mut Vec<String>) {
    const MAX_PARTS: usize = 10;
    if out.len() >= MAX_PARTS {
        return;
    }
    match value {
        Value::String(s) if !s.trim().is_empty() => out.push(truncate(s.trim(), 500)),
        Value::Array(items) => items.iter().for_each(|v| collect_error_texts(v, out)),
        Value::Object(map) => {
            let word = map.get("error").and_then(Value::as_str).map(str::trim);
            let text = ["description", "message", "detail"]
                .iter()
                .find_map(|k| map.get(*k).and_then(Value::as_str))
                .map(str::trim);
            match (word, text) {
                (Some(w), Some(t)) if !w.is_empty() && !t.is_empty() => {
                    out.push(truncate(&format!("{w}: {t}"), 500))
                }
                (_, Some(t)) if !t.is_empty() => out.push(truncate(t, 500)),
                (Some(w), _) if !w.is_empty() => out.push(truncate(w, 500)),
                _ => map
                    .values()
                    .filter(|v| v.is_object() || v.is_array())
                    .for_each(|v| collect_error_texts(v, out)),
            }
        }
        _ => {}
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// The state of an operation. Read case-insensitively; `_` and `-` count as spaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OperationState {
    /// `in progress` (also the state when none was given).
    #[default]
    InProgress,
    /// `pending` (upstream, for cascade work).
    Pending,
    /// `succeeded`.
    Succeeded,
    /// `failed`.
    Failed,
    /// Anything else, as sent; treated as still running.
    Other(String),
}

impl OperationState {
    /// Reads a state word.
    pub fn parse(s: &str) -> Self {
        match normalize(s).as_str() {
            "in progress" | "inprogress" | "" => OperationState::InProgress,
            "pending" => OperationState::Pending,
            "succeeded" | "success" | "successful" => OperationState::Succeeded,
            "failed" | "failure" => OperationState::Failed,
            _ => OperationState::Other(s.trim().to_owned()),
        }
    }

    /// Whether polling can stop.
    pub fn is_final(&self) -> bool {
        matches!(self, OperationState::Succeeded | OperationState::Failed)
    }

    /// A readable form.
    pub fn as_str(&self) -> &str {
        match self {
            OperationState::InProgress => "in progress",
            OperationState::Pending => "pending",
            OperationState::Succeeded => "succeeded",
            OperationState::Failed => "failed",
            OperationState::Other(s) => s,
        }
    }
}

/// What an operation does. Read case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OperationKind {
    /// `create`.
    Create,
    /// `update`.
    Update,
    /// `delete`.
    Delete,
    /// Not given.
    #[default]
    Unknown,
    /// Another word, as sent.
    Other(String),
}

impl OperationKind {
    /// Reads a type word.
    pub fn parse(s: &str) -> Self {
        match normalize(s).as_str() {
            "create" => OperationKind::Create,
            "update" => OperationKind::Update,
            "delete" => OperationKind::Delete,
            "" => OperationKind::Unknown,
            _ => OperationKind::Other(s.trim().to_owned()),
        }
    }
}

fn normalize(s: &str) -> String {
    s.trim()
        .to_ascii_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Judges a resource from its `ready` flag and last operation.
pub fn readiness(ready: Option<bool>, last: Option<&Operation>) -> Readiness {
    match last {
        Some(op)
            if op.state == OperationState::Failed
                && (op.kind == OperationKind::Create
                    || (op.kind == OperationKind::Unknown && ready != Some(true))) =>
        {
            return Readiness::Failed(op.failure_message());
        }
        Some(op) if !op.state.is_final() && ready != Some(true) => {
            return Readiness::Busy(op.state.as_str().to_owned());
        }
        _ => {}
    }
    match ready {
        Some(false) => Readiness::Busy("not ready".to_owned()),
        _ => Readiness::Ready,
    }
}

/// The `platform_id` of the Service Manager's own instances.
pub const SERVICE_MANAGER_PLATFORM: &str = "service-manager";

impl Instance {
    /// Whether the instance is usable, still being created, or failed.
    pub fn readiness(&self) -> Readiness {
        readiness(self.ready, self.last_operation.as_ref())
    }

    /// Whether the Service Manager itself created the instance (`platform_id` is
    /// `service-manager`, or absent as in older answers). Only such instances have names
    /// unique in the subaccount and can be bound through the Service Manager; another
    /// platform's instance (a Cloud Foundry space's, a Kyma cluster's) is only listed.
    pub fn is_service_manager_platform(&self) -> bool {
        self.platform_id
            .as_deref()
            .is_none_or(|p| p == SERVICE_MANAGER_PLATFORM)
    }
}

impl Binding {
    /// Whether the binding is usable, still being created, or failed.
    pub fn readiness(&self) -> Readiness {
        readiness(self.ready, self.last_operation.as_ref())
    }
}

fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One JSON value as the lenient fields read it, without building a [`Value`]: a string is
/// borrowed from the input where it can be, and arrays and objects are skipped (they are never
/// a valid scalar). Every item of every page goes through these fields.
enum Scalar<'de> {
    Str(Cow<'de, str>),
    Bool(bool),
    U64(u64),
    I64(i64),
    /// A float, `null`, an array or an object.
    Other,
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::Bool(b))
    }

    fn visit_u64<E>(self, n: u64) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::U64(n))
    }

    fn visit_i64<E>(self, n: i64) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::I64(n))
    }

    fn visit_f64<E>(self, _: f64) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::Other)
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(s)))
    }

    fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::Other)
    }

    fn visit_none<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::Other)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        Scalar::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

fn lenient_string<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Str(s) if !s.is_empty() => Some(s.into_owned()),
        _ => None,
    })
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<bool>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Bool(b) => Some(b),
        Scalar::Str(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::U64(n) => Some(n),
        Scalar::I64(n) => u64::try_from(n).ok(),
        Scalar::Str(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_time<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<DateTime<Utc>>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Str(s) => DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.to_utc()),
        _ => None,
    })
}

fn lenient_labels<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Labels, D::Error> {
    let Value::Object(map) = Value::deserialize(d)? else {
        return Ok(Labels::new());
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let values = match v {
                Value::Array(items) => items
                    .into_iter()
                    .filter_map(|i| match i {
                        Value::String(s) => Some(s),
                        Value::Null => None,
                        other => Some(other.to_string()),
                    })
                    .collect(),
                Value::String(s) => vec![s],
                Value::Null => Vec::new(),
                other => vec![other.to_string()],
            };
            (k, values)
        })
        .collect())
}

fn lenient_operation<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Operation>, D::Error> {
    Ok(match Value::deserialize(d)? {
        v @ Value::Object(_) => serde_json::from_value(v).ok(),
        _ => None,
    })
}

fn lenient_state<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<OperationState, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Str(s) => OperationState::parse(&s),
        _ => OperationState::InProgress,
    })
}

fn lenient_type<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<OperationKind, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Str(s) => OperationKind::parse(&s),
        _ => OperationKind::Unknown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operation_states_and_types_any_case() {
        let states = [
            ("in progress", OperationState::InProgress),
            ("IN PROGRESS", OperationState::InProgress),
            ("in_progress", OperationState::InProgress),
            ("  In  Progress ", OperationState::InProgress),
            ("succeeded", OperationState::Succeeded),
            ("SUCCEEDED", OperationState::Succeeded),
            ("Failed", OperationState::Failed),
            ("pending", OperationState::Pending),
            ("", OperationState::InProgress),
            ("polling", OperationState::Other("polling".into())),
        ];
        for (word, want) in states {
            assert_eq!(OperationState::parse(word), want, "{word:?}");
        }
        let kinds = [
            ("create", OperationKind::Create),
            ("CREATE", OperationKind::Create),
            ("Delete", OperationKind::Delete),
            ("update", OperationKind::Update),
            ("", OperationKind::Unknown),
            ("migrate", OperationKind::Other("migrate".into())),
        ];
        for (word, want) in kinds {
            assert_eq!(OperationKind::parse(word), want, "{word:?}");
        }
    }

    fn op(v: Value) -> Operation {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn error_codes_from_an_object_or_a_list() {
        let cases = [
            (
                json!({"state": "failed", "errors": {"error": "Conflict", "description": "instance with same name exists for the current tenant"}}),
                Some("Conflict"),
            ),
            (
                json!({"state": "failed", "errors": [{"description": "x"}, {"error": "OperationInProgress", "description": "y"}]}),
                Some("OperationInProgress"),
            ),
            (json!({"state": "failed", "errors": []}), None),
            (json!({"state": "failed", "errors": "Conflict"}), None),
            (json!({"state": "failed", "errors": {"error": " "}}), None),
            (json!({"state": "failed"}), None),
        ];
        for (value, want) in cases {
            assert_eq!(op(value.clone()).error_code().as_deref(), want, "{value}");
        }
    }

    #[test]
    fn failure_messages_from_odd_error_shapes() {
        let cases = [
            (json!({"state": "failed"}), "without a reason"),
            (json!({"state": "failed", "errors": []}), "without a reason"),
            (json!({"state": "failed", "errors": {}}), "without a reason"),
            (
                json!({"state": "failed", "errors": null}),
                "without a reason",
            ),
            (
                json!({"state": "failed", "errors": "quota exceeded"}),
                "quota exceeded",
            ),
            (
                json!({"state": "failed", "errors": [{"error": "BrokerError", "description": "plan not bindable"}]}),
                "BrokerError: plan not bindable",
            ),
            (
                json!({"state": "failed", "errors": {"error": "X", "description": "y"}}),
                "X: y",
            ),
            (
                json!({"state": "failed", "description": "boom", "errors": [{"weird": 1}]}),
                "boom",
            ),
            (
                json!({"state": "failed", "errors": {"nested": [{"message": "deep"}]}}),
                "deep",
            ),
            (json!({"state": "failed", "errors": 42}), "without a reason"),
        ];
        for (value, want) in cases {
            let o = op(value.clone());
            assert_eq!(o.state, OperationState::Failed);
            assert!(
                o.failure_message().contains(want),
                "{value} → {}",
                o.failure_message()
            );
        }
    }

    #[test]
    fn lenient_resources() {
        let inst: Instance = serde_json::from_value(json!({
            "id": "i1", "name": "calm", "ready": "true", "created_at": "not a time",
            "labels": {"subaccount_id": ["s"], "odd": "single", "n": null},
            "last_operation": "garbage", "brand_new_field": {"x": 1}
        }))
        .unwrap();
        assert_eq!(inst.ready, Some(true));
        assert_eq!(inst.created_at, None);
        assert_eq!(inst.labels["odd"], vec!["single"]);
        assert!(inst.labels["n"].is_empty());
        assert!(inst.last_operation.is_none());
        // An unknown field is skipped, never fatal.
        assert_eq!(inst.readiness(), Readiness::Ready);

        let page: Page<Instance> =
            serde_json::from_value(json!({"items": null, "token": ""})).unwrap();
        assert!(page.items.is_empty() && page.token.is_none());
    }

    #[test]
    fn lenient_scalars_of_every_shape_from_text_and_from_values() {
        let cases = [
            (json!(true), Some(true), None, None, None),
            (json!(" false "), Some(false), None, Some(" false "), None),
            (json!(7), None, Some(7), None, None),
            (json!(-7), None, None, None, None),
            (json!(1.5), None, None, None, None),
            (json!(" 42 "), None, Some(42), Some(" 42 "), None),
            (json!(""), None, None, None, None),
            (json!(null), None, None, None, None),
            (json!([1, {"a": [true]}]), None, None, None, None),
            (json!({"a": {"b": "c"}}), None, None, None, None),
            (
                json!("2024-03-01T10:00:00Z"),
                None,
                None,
                Some("2024-03-01T10:00:00Z"),
                "2024-03-01T10:00:00Z".parse().ok(),
            ),
        ];
        for (value, ready, count, text, time) in cases {
            let item = json!({"id": "i", "name": "n", "ready": value, "platform_id": value,
                "created_at": value});
            let page = json!({"items": [item], "num_items": value, "token": value});
            // From text (strings borrowed from the input) and from a `Value` (owned strings).
            let from_text: Page<Instance> = serde_json::from_str(&page.to_string()).unwrap();
            let from_value: Page<Instance> = serde_json::from_value(page.clone()).unwrap();
            for got in [from_text, from_value] {
                assert_eq!(got.num_items, count, "{value}");
                assert_eq!(got.token.as_deref(), text, "{value}");
                let inst = &got.items[0];
                assert_eq!(inst.ready, ready, "{value}");
                assert_eq!(inst.platform_id.as_deref(), text, "{value}");
                assert_eq!(inst.created_at, time, "{value}");
            }
        }
        // An escaped string cannot be borrowed and is read all the same.
        let page: Page<Instance> = serde_json::from_str(
            r#"{"items": [{"id": "i", "name": "n", "platform_id": "service\u002dmanager"}]}"#,
        )
        .unwrap();
        assert!(page.items[0].is_service_manager_platform());
    }

    #[test]
    fn readiness_table() {
        let in_progress = op(json!({"type": "CREATE", "state": "in progress"}));
        let failed = op(json!({"type": "create", "state": "failed", "description": "d"}));
        let failed_update = op(json!({"type": "update", "state": "failed"}));
        let done = op(json!({"type": "create", "state": "succeeded"}));
        let cases = [
            (None, None, Readiness::Ready),
            (Some(true), None, Readiness::Ready),
            (Some(false), None, Readiness::Busy("not ready".into())),
            (
                Some(false),
                Some(&in_progress),
                Readiness::Busy("in progress".into()),
            ),
            (
                None,
                Some(&in_progress),
                Readiness::Busy("in progress".into()),
            ),
            (Some(true), Some(&in_progress), Readiness::Ready),
            (Some(false), Some(&failed), Readiness::Failed("d".into())),
            (Some(true), Some(&failed_update), Readiness::Ready),
            (Some(true), Some(&done), Readiness::Ready),
            (
                Some(false),
                Some(&done),
                Readiness::Busy("not ready".into()),
            ),
        ];
        for (ready, last, want) in cases {
            assert_eq!(readiness(ready, last), want, "{ready:?} {last:?}");
        }
    }

    #[test]
    fn binding_debug_hides_credentials() {
        let b: Binding = serde_json::from_value(json!({
            "id": "b1", "name": "k", "service_instance_id": "i1",
            "credentials": {"uaa": {"clientid": "c", "clientsecret": "hunter2",
                                    "credential-type": "binding-secret"}},
            "parameters": {"secretish": "hunter3"}
        }))
        .unwrap();
        let text = format!("{b:?}");
        assert!(!text.contains("hunter"), "{text}");
        assert!(b.has_credentials());
        assert_eq!(b.credential_type(), Some(CredentialType::BindingSecret));
    }
}
