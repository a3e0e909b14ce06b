//! What reading the sources gave: the [`Listing`] of services, a [`SourceReport`] per source and
//! every [`Problem`].

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Value, json};

use super::service::Service;
use super::source::Source;

/// A malformed or surprising entry. Never contains a credential value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The source it was found in.
    pub source: Source,
    /// The service, binding or entry concerned (`calm-api`, `SAPCloudALMAPIs[1]`), if any.
    pub entry: Option<String>,
    /// The field or file concerned (`credentials`, `.metadata`, `tags`), if any.
    pub field: Option<String>,
    /// What is wrong and what was done about it.
    pub message: String,
}

impl Problem {
    pub(super) fn new(
        source: &Source,
        entry: Option<&str>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            source: source.clone(),
            entry: entry.map(str::to_owned),
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    fn json(&self) -> Value {
        json!({"source": self.source.kind.as_str(), "location": self.source.location,
               "entry": self.entry, "field": self.field, "message": self.message})
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Entry and file names come from the file system: shown without control characters.
        use crate::error::printable;
        write!(f, "{}", printable(&self.source.to_string()))?;
        if let Some(e) = &self.entry {
            write!(f, ": `{}`", printable(e))?;
        }
        if let Some(field) = &self.field {
            write!(f, ": `{}`", printable(field))?;
        }
        write!(f, ": {}", printable(&self.message))
    }
}

/// What looking at one source gave.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceOutcome {
    /// The variable that would name it is not set (the text says which).
    NotConfigured(String),
    /// Deliberately not read (the text says why).
    Ignored(String),
    /// The path does not exist.
    Missing,
    /// Read; this many services were taken from it.
    Read(usize),
    /// Could not be read at all (the text says why); see also [`Listing::problems`].
    Failed(String),
}

impl fmt::Display for SourceOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceOutcome::NotConfigured(why) | SourceOutcome::Ignored(why) => f.write_str(why),
            SourceOutcome::Missing => f.write_str("does not exist"),
            SourceOutcome::Read(n) => write!(f, "{n} service(s)"),
            SourceOutcome::Failed(why) => write!(f, "unusable: {why}"),
        }
    }
}

/// One source in lookup order and what it gave.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceReport {
    /// The source.
    pub source: Source,
    /// What it gave.
    pub outcome: SourceOutcome,
}

impl SourceReport {
    fn json(&self) -> Value {
        json!({"source": self.source.kind.as_str(), "location": self.source.location,
               "outcome": self.outcome.to_string()})
    }
}

/// Everything the environment provides: services, sources in lookup order, problems.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Listing {
    /// Every service found, grouped by source in lookup order.
    pub services: Vec<Service>,
    /// Every source looked at, in lookup order.
    pub sources: Vec<SourceReport>,
    /// Every malformed or surprising entry.
    pub problems: Vec<Problem>,
}

impl Listing {
    pub(super) fn report(&mut self, source: Source, outcome: SourceOutcome) {
        self.sources.push(SourceReport { source, outcome });
    }

    pub(super) fn problem(&mut self, p: Problem) {
        self.problems.push(p);
    }

    /// A source that could not be read at all: a [`Problem`] saying `problem`, and the outcome
    /// [`SourceOutcome::Failed`] with the shorter `reason`.
    pub(super) fn source_failed(
        &mut self,
        source: &Source,
        problem: impl Into<String>,
        reason: impl Into<String>,
    ) {
        self.problem(Problem::new(source, None, None, problem));
        self.report(source.clone(), SourceOutcome::Failed(reason.into()));
    }

    pub(super) fn flag_duplicate_names(&mut self) {
        let mut seen: BTreeMap<(usize, &str), usize> = BTreeMap::new();
        for s in &self.services {
            if let Some(idx) = self.sources.iter().position(|r| &r.source == s.source()) {
                *seen.entry((idx, s.name())).or_default() += 1;
            }
        }
        let dups: Vec<Problem> = seen
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|((idx, name), n)| {
                Problem::new(
                    &self.sources[idx].source,
                    Some(name),
                    None,
                    format!(
                        "{n} services have this name; all are kept (@sap/xsenv would silently keep only the last), so selecting it by name is ambiguous"
                    ),
                )
            })
            .collect();
        self.problems.extend(dups);
    }

    /// The services of one source, in the order read.
    pub fn services_from<'a>(&'a self, source: &'a Source) -> impl Iterator<Item = &'a Service> {
        self.services.iter().filter(move |s| s.source() == source)
    }

    /// `{"services": [...], "sources": [...], "problems": [...]}` with redacted credentials
    /// (for `calm env --json`).
    pub fn redacted_json(&self) -> Value {
        self.json(Service::redacted_json)
    }

    /// Like [`Listing::redacted_json`], secrets included (for `--show-secrets`).
    pub fn expose_json(&self) -> Value {
        self.json(Service::expose_json)
    }

    fn json(&self, service_json: fn(&Service) -> Value) -> Value {
        let services: Vec<Value> = self.services.iter().map(service_json).collect();
        let sources: Vec<Value> = self.sources.iter().map(SourceReport::json).collect();
        let problems: Vec<Value> = self.problems.iter().map(Problem::json).collect();
        json!({"services": services, "sources": sources, "problems": problems})
    }
}
