//! Choosing one service from a [`Listing`] for a [`Query`], with xsenv's rules: the first source
//! with a match decides, and it must have exactly one.

use super::filter::Query;
use super::listing::{Listing, Problem};
use super::service::Service;
use crate::credentials::service_key::ServiceKey;
use crate::error::{Error, Resource, Result};

/// The service a [`Query`] selected.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Found {
    /// The selected service.
    pub service: Service,
    /// Problems met in any source while looking (show them; they may explain surprises).
    pub warnings: Vec<Problem>,
}

impl Found {
    /// The selected service's credentials as a [`ServiceKey`] (see [`Service::service_key`]).
    pub fn service_key(&self) -> Result<ServiceKey> {
        self.service.service_key()
    }
}

impl Listing {
    /// xsenv's `filterServices`: the matches in the first source (in lookup order) that has any;
    /// empty when none has.
    pub fn matching(&self, query: &Query) -> Vec<&Service> {
        self.matches_by_source(query).next().unwrap_or_default()
    }

    /// Exactly one service for `query` (xsenv's `serviceCredentials` rule, see the module docs).
    ///
    /// Errors: [`Error::Config`] for an empty query, [`Error::Ambiguous`] when the first source
    /// with a match has several, [`Error::NotFound`] (saying where it looked, what each source
    /// held and which entries were malformed) when none has.
    pub fn select(&self, query: &Query) -> Result<Found> {
        check_query(query)?;
        let matches = self.matching(query);
        match matches.as_slice() {
            [one] => Ok(self.found(one)),
            [] => Err(self.not_found(query, &[])),
            many => Err(ambiguous(query, many)),
        }
    }

    /// Like [`Listing::select`], but the service's credentials must also form a [`ServiceKey`].
    ///
    /// A single match whose credentials are unusable does not stop the search: it is noted and
    /// the next source is tried. When nothing usable is found and exactly one match was
    /// unusable, its own error (naming source, service and field) is returned; otherwise an
    /// [`Error::NotFound`] that lists every unusable match.
    pub fn select_key(&self, query: &Query) -> Result<(ServiceKey, Found)> {
        check_query(query)?;
        let mut unusable: Vec<(Problem, Error)> = Vec::new();
        for matches in self.matches_by_source(query) {
            let [one] = matches.as_slice() else {
                return Err(ambiguous(query, &matches));
            };
            match one.service_key() {
                Ok(key) => {
                    let mut found = self.found(one);
                    found.warnings.extend(unusable.into_iter().map(|(p, _)| p));
                    return Ok((key, found));
                }
                Err(e) => unusable.push((unusable_problem(query, one, &e), e)),
            }
        }
        if unusable.len() == 1
            && let Some((_, e)) = unusable.pop()
        {
            return Err(e);
        }
        let problems: Vec<Problem> = unusable.into_iter().map(|(p, _)| p).collect();
        Err(self.not_found(query, &problems))
    }

    /// For each source in lookup order that has a match, its matches.
    fn matches_by_source<'a>(&'a self, query: &Query) -> impl Iterator<Item = Vec<&'a Service>> {
        self.sources
            .iter()
            .map(move |r| {
                self.services_from(&r.source)
                    .filter(|s| query.matches(s))
                    .collect::<Vec<_>>()
            })
            .filter(|m| !m.is_empty())
    }

    fn found(&self, service: &Service) -> Found {
        Found {
            service: service.clone(),
            warnings: self.problems.clone(),
        }
    }

    fn not_found(&self, query: &Query, extra: &[Problem]) -> Error {
        let mut hint = self.looked_in();
        let problems: Vec<String> = self
            .problems
            .iter()
            .chain(extra)
            .map(Problem::to_string)
            .collect();
        if !problems.is_empty() {
            hint.push_str(" Malformed or unusable entries: ");
            hint.push_str(&problems.join("; "));
            hint.push('.');
        }
        hint.push_str(
            " Bind an SAP Cloud ALM API instance to the application (Cloud Foundry: `cf bind-service`; \
             Kubernetes: a ServiceBinding mounted under SERVICE_BINDING_ROOT), or adjust the query.",
        );
        Error::NotFound {
            resource: Resource::InjectedService,
            name: format!("with {query}"),
            creatable: false,
            detail: Some(hint),
        }
    }

    /// `Looked in: 1. <source>: <outcome>, none matching: <services>; 2. …`.
    fn looked_in(&self) -> String {
        let places: Vec<String> = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut place = format!("{}. {}: {}", i + 1, r.source, r.outcome);
                let held: Vec<String> = self.services_from(&r.source).map(name_and_label).collect();
                if !held.is_empty() {
                    place.push_str(&format!(", none matching: {}", held.join(", ")));
                }
                place
            })
            .collect();
        format!("Looked in: {}.", places.join("; "))
    }
}

fn check_query(query: &Query) -> Result<()> {
    if query.is_empty() {
        return Err(Error::config(
            "the service query",
            "it has no condition and matches nothing (as in @sap/xsenv); give a name, label, tag or plan",
        ));
    }
    Ok(())
}

fn unusable_problem(query: &Query, service: &Service, e: &Error) -> Problem {
    Problem::new(
        service.source(),
        Some(service.name()),
        Some("credentials"),
        format!("matches {query} but is unusable: {e}"),
    )
}

fn ambiguous(query: &Query, many: &[&Service]) -> Error {
    let source = many
        .first()
        .map(|s| s.source().to_string())
        .unwrap_or_default();
    Error::Ambiguous {
        what: format!("{query} in {source}"),
        candidates: many
            .iter()
            .map(|s| match s.path() {
                Some(p) => format!("`{}` ({})", s.name(), p.display()),
                None => name_and_label(s),
            })
            .collect(),
    }
}

/// `` `name` (label `l`) ``, or `` `name` `` without a label.
fn name_and_label(s: &Service) -> String {
    match s.label() {
        Some(l) => format!("`{}` (label `{l}`)", s.name()),
        None => format!("`{}`", s.name()),
    }
}
