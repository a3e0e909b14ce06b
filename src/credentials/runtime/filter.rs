//! What to look for: [`Query`] and its [`Criterion`]s, matched the way `@sap/xsenv` matches an
//! object filter (`lib/filter.js`), minus its tag-key quirk.

use std::fmt;

use serde_json::Value;

use super::service::Service;

/// The label (service offering name) of SAP Cloud ALM API instances.
pub const DEFAULT_LABEL: &str = "SAPCloudALMAPIs";

/// One condition of a [`Query`]. All conditions of a query must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Criterion {
    /// The service's `name` equals this exactly: the Cloud Foundry `name` (binding name if set,
    /// else instance name), the servicebinding.io directory name, or the legacy instance
    /// directory name. Never the operator's `instance_name` field.
    Name(String),
    /// The service's `label` (service offering) equals this exactly.
    Label(String),
    /// The service's `tags` contain this string.
    Tag(String),
    /// The service's `plan` equals this exactly.
    Plan(String),
    /// Any top-level field of the service (`instance_guid`, `type`, `provider`, …) equals this
    /// string exactly. The keys `tag` and `tags` test tag membership instead (or also equality),
    /// as in `@sap/xsenv`.
    Field {
        /// Field name.
        key: String,
        /// Expected string value.
        value: String,
    },
}

impl Criterion {
    /// Whether `service` satisfies this condition.
    pub fn matches(&self, service: &Service) -> bool {
        match self {
            Criterion::Name(n) => service.name() == n,
            Criterion::Label(l) => field_equals(service, "label", l),
            Criterion::Plan(p) => field_equals(service, "plan", p),
            Criterion::Tag(t) => has_tag(service, t),
            Criterion::Field { key, value } => {
                // xsenv tests `/tags?/` unanchored, so `stage` or `vintage` would test tags too
                // (reference §9.1); only the keys `tag` and `tags` do so here.
                field_equals(service, key, value)
                    || (matches!(key.as_str(), "tag" | "tags") && has_tag(service, value))
            }
        }
    }
}

fn field_equals(service: &Service, key: &str, value: &str) -> bool {
    if key == "name" {
        return service.name() == value;
    }
    matches!(service.field(key), Some(Value::String(s)) if s == value)
}

fn has_tag(service: &Service, tag: &str) -> bool {
    matches!(service.field("tags"), Some(Value::Array(tags))
        if tags.iter().any(|t| t.as_str() == Some(tag)))
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Criterion::Name(v) => write!(f, "name `{v}`"),
            Criterion::Label(v) => write!(f, "label `{v}`"),
            Criterion::Tag(v) => write!(f, "tag `{v}`"),
            Criterion::Plan(v) => write!(f, "plan `{v}`"),
            Criterion::Field { key, value } => write!(f, "{key} `{value}`"),
        }
    }
}

/// What service to select: a conjunction of [`Criterion`]s.
///
/// [`Query::default`] looks for the SAP Cloud ALM API offering (label [`DEFAULT_LABEL`],
/// `SAPCloudALMAPIs`). An empty query matches nothing, as an empty object filter does in
/// `@sap/xsenv`.
///
/// ```
/// use calm_credentials::runtime::{Criterion, Query};
/// let q = Query::label("SAPCloudALMAPIs").and(Criterion::Plan("standard".into()));
/// assert_eq!(q.to_string(), "label `SAPCloudALMAPIs` and plan `standard`");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    criteria: Vec<Criterion>,
}

impl Default for Query {
    fn default() -> Self {
        Query::label(DEFAULT_LABEL)
    }
}

impl Query {
    /// A query without conditions (it matches nothing until one is added).
    pub fn new() -> Self {
        Query {
            criteria: Vec::new(),
        }
    }

    /// Services with this exact name (`@sap/xsenv` string filter).
    pub fn name(name: impl Into<String>) -> Self {
        Query::new().and(Criterion::Name(name.into()))
    }

    /// Services of this offering label.
    pub fn label(label: impl Into<String>) -> Self {
        Query::new().and(Criterion::Label(label.into()))
    }

    /// Services carrying this tag.
    pub fn tag(tag: impl Into<String>) -> Self {
        Query::new().and(Criterion::Tag(tag.into()))
    }

    /// Services whose `type` is this (a servicebinding.io binding's `type` file; SAP's own
    /// bindings also carry a `label`).
    pub fn service_type(service_type: impl Into<String>) -> Self {
        Query::new().and(Criterion::Field {
            key: "type".to_owned(),
            value: service_type.into(),
        })
    }

    /// Services of this plan.
    pub fn plan(plan: impl Into<String>) -> Self {
        Query::new().and(Criterion::Plan(plan.into()))
    }

    /// The query for `calm env [--name N] [--label L]`: the given conditions, or
    /// [`Query::default`] when neither is given.
    pub fn from_options(name: Option<&str>, label: Option<&str>) -> Self {
        let mut q = Query::new();
        if let Some(n) = name {
            q = q.and(Criterion::Name(n.to_owned()));
        }
        if let Some(l) = label {
            q = q.and(Criterion::Label(l.to_owned()));
        }
        if q.is_empty() { Query::default() } else { q }
    }

    /// This query with one more condition.
    #[must_use]
    pub fn and(mut self, criterion: Criterion) -> Self {
        self.criteria.push(criterion);
        self
    }

    /// The conditions.
    pub fn criteria(&self) -> &[Criterion] {
        &self.criteria
    }

    /// Whether there is no condition.
    pub fn is_empty(&self) -> bool {
        self.criteria.is_empty()
    }

    /// Whether `service` meets every condition (false for an empty query).
    pub fn matches(&self, service: &Service) -> bool {
        !self.criteria.is_empty() && self.criteria.iter().all(|c| c.matches(service))
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.criteria.is_empty() {
            return f.write_str("no condition");
        }
        for (i, c) in self.criteria.iter().enumerate() {
            if i > 0 {
                f.write_str(" and ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}
