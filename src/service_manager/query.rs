//! `fieldQuery` and `labelQuery` values, built without the network.
//!
//! A query is criteria joined by ` and `; string literals are single-quoted with a quote inside
//! doubled (`'O''Brien'`). The result is one query-parameter value: the transport percent-encodes
//! it (see `reference/service-manager-api.md` §3).

// A typed client of the whole API: the journeys use part of it, the contract tests the rest.
#![allow(dead_code)]

use std::fmt;

use crate::error::{Error, Result};

/// Quotes a string literal for a query: `O'Brien` → `'O''Brien'`.
pub(crate) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    // Whole pieces between quotes, not char by char: names rarely hold a quote.
    let mut pieces = value.split('\'');
    out.push_str(pieces.next().unwrap_or_default());
    for piece in pieces {
        out.push_str("''");
        out.push_str(piece);
    }
    out.push('\'');
    out
}

/// Reads back a literal made by [`quote`]: `None` if it is not one (missing outer quotes or a
/// lone quote inside).
pub(crate) fn unquote(literal: &str) -> Option<String> {
    let inner = literal.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\'' && chars.next() != Some('\'') {
            return None;
        }
        out.push(c);
    }
    Some(out)
}

/// Why the Service Manager cannot match `value` exactly as a string literal, if it cannot.
///
/// Upstream's query listener (`pkg/query/listener.go`) never unescapes `\x` and trims every
/// leading and trailing `'` from a literal, and its grammar reads `\'` as an escape: a value that
/// ends in `\`, holds `\'`, or starts or ends with `'` would be compared as something else (or
/// refused as a syntax error). `None` for every other value.
pub(crate) fn unmatchable(value: &str) -> Option<&'static str> {
    if value.starts_with('\'') || value.ends_with('\'') {
        Some(
            "the Service Manager strips every leading and trailing `'` from a query value, so it cannot be looked up exactly; choose a name that does not start or end with `'`",
        )
    } else if value.ends_with('\\') {
        Some(
            "the Service Manager reads a `\\` before the closing quote of a query value as an escape, so it cannot be looked up; choose a name that does not end with `\\`",
        )
    } else if value.contains("\\'") {
        Some(
            "the Service Manager does not unescape `\\'` in a query value, so it cannot be looked up exactly; choose a name without `\\'`",
        )
    } else {
        None
    }
}

/// [`Error::InvalidName`] when the Service Manager could not look `name` up exactly
/// ([`unmatchable`]); nothing is sent then.
pub fn check_name(kind: &'static str, name: &str) -> Result<()> {
    match unmatchable(name) {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidName {
            kind,
            name: name.to_owned(),
            reason: reason.to_owned(),
        }),
    }
}

/// Whether `key` is a valid query key: `[-_/a-zA-Z0-9]+` (nested paths like `context/x` work).
pub(crate) fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/'))
}

/// A `fieldQuery` or `labelQuery`: criteria joined by ` and `.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    criteria: Vec<Criterion>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Criterion {
    key: String,
    op: &'static str,
    values: Vec<String>,
    list: bool,
}

impl Query {
    /// An empty query (renders as nothing: no filter).
    pub(crate) fn new() -> Self {
        Query::default()
    }

    /// Adds `key eq 'value'`.
    pub(crate) fn eq(self, key: &str, value: &str) -> Self {
        self.push(key, "eq", vec![value.to_owned()], false)
    }

    /// Adds `key ne 'value'`.
    pub(crate) fn ne(self, key: &str, value: &str) -> Self {
        self.push(key, "ne", vec![value.to_owned()], false)
    }

    /// Adds `key in ('v1', 'v2', …)`. An empty list matches nothing; see [`Query::matches_nothing`].
    pub(crate) fn any_of<I, S>(self, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let values = values.into_iter().map(|v| v.as_ref().to_owned()).collect();
        self.push(key, "in", values, true)
    }

    /// Adds `key eq 'v'` for one value and `key in ('v1', …)` for several (an empty list
    /// matches nothing).
    pub(crate) fn eq_any<I, S>(self, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let values: Vec<String> = values.into_iter().map(|v| v.as_ref().to_owned()).collect();
        if values.len() == 1 {
            self.push(key, "eq", values, false)
        } else {
            self.push(key, "in", values, true)
        }
    }

    fn push(mut self, key: &str, op: &'static str, values: Vec<String>, list: bool) -> Self {
        self.criteria.push(Criterion {
            key: key.to_owned(),
            op,
            values,
            list,
        });
        self
    }

    /// Whether the query has no criteria.
    pub(crate) fn is_empty(&self) -> bool {
        self.criteria.is_empty()
    }

    /// Whether some `in` criterion has an empty list, so no resource can match (the platform
    /// rejects `in ()`, so callers skip the request).
    pub(crate) fn matches_nothing(&self) -> bool {
        self.criteria.iter().any(|c| c.list && c.values.is_empty())
    }

    /// The query text, or `None` when there are no criteria. Fails on a key outside
    /// `[-_/a-zA-Z0-9]+`, and with [`Error::InvalidName`] on a value the server cannot match
    /// exactly ([`unmatchable`]); nothing is sent then.
    pub(crate) fn render(&self) -> Result<Option<String>> {
        if self.criteria.is_empty() {
            return Ok(None);
        }
        let mut parts = Vec::with_capacity(self.criteria.len());
        for c in &self.criteria {
            if !is_valid_key(&c.key) {
                return Err(Error::config(
                    format!("query key `{}`", c.key),
                    "use letters, digits, `-`, `_` and `/` only",
                ));
            }
            for value in &c.values {
                check_name("queried", value)?;
            }
            parts.push(c.to_string());
        }
        Ok(Some(parts.join(" and ")))
    }
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.list {
            let values: Vec<String> = self.values.iter().map(|v| quote(v)).collect();
            write!(f, "{} {} ({})", self.key, self.op, values.join(", "))
        } else {
            let value = self.values.first().map(String::as_str).unwrap_or("");
            write!(f, "{} {} {}", self.key, self.op, quote(value))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn renders_each_form() {
        let cases = [
            (Query::new(), None),
            (Query::new().eq("name", "x"), Some("name eq 'x'")),
            (
                Query::new().eq("name", "O'Brien"),
                Some("name eq 'O''Brien'"),
            ),
            (Query::new().ne("name", "a''b"), Some("name ne 'a''''b'")),
            (
                Query::new().any_of("service_plan_id", ["a", "b'c"]),
                Some("service_plan_id in ('a', 'b''c')"),
            ),
            (
                Query::new().eq("service_instance_id", "i").eq("name", "b"),
                Some("service_instance_id eq 'i' and name eq 'b'"),
            ),
            (Query::new().eq_any("id", ["a"]), Some("id eq 'a'")),
            (
                Query::new().eq_any("id", ["a", "b"]),
                Some("id in ('a', 'b')"),
            ),
            (
                Query::new().eq("context/clusterid", "c"),
                Some("context/clusterid eq 'c'"),
            ),
        ];
        for (query, want) in cases {
            assert_eq!(query.render().unwrap().as_deref(), want, "{query:?}");
        }
    }

    #[test]
    fn bad_keys_and_empty_lists() {
        assert!(Query::new().eq("na me", "x").render().is_err());
        assert!(Query::new().eq("", "x").render().is_err());
        assert!(Query::new().eq("a'b", "x").render().is_err());
        assert!(
            Query::new()
                .any_of("id", Vec::<String>::new())
                .matches_nothing()
        );
        assert!(!Query::new().any_of("id", ["x"]).matches_nothing());
    }

    #[test]
    fn values_the_server_cannot_match_are_refused() {
        for bad in ["'x", "x'", "'", "a\\", "a\\'b", "\\'"] {
            let err = Query::new().eq("name", bad).render().unwrap_err();
            assert!(matches!(err, Error::InvalidName { .. }), "{bad}: {err:?}");
            assert!(err.to_string().contains("choose a name"), "{err}");
        }
        for good in ["O'Brien", "a\\b", "it''s", "ACME, Inc.", "a\\\\b'c"] {
            assert!(Query::new().eq("name", good).render().is_ok(), "{good}");
        }
        assert!(
            Query::new()
                .any_of("name", ["ok", "bad'"])
                .render()
                .is_err()
        );
    }

    #[test]
    fn unquote_rejects_non_literals() {
        for bad in ["", "'", "abc", "'a'b'", "'abc", "abc'"] {
            assert_eq!(unquote(bad), None, "{bad}");
        }
        assert_eq!(unquote("''").as_deref(), Some(""));
        assert_eq!(unquote("'it''s'").as_deref(), Some("it's"));
    }

    proptest! {
        #[test]
        fn quoting_round_trips(s in any::<String>()) {
            prop_assert_eq!(unquote(&quote(&s)), Some(s));
        }

        #[test]
        fn no_lone_quote_inside(s in "[a-z' ]{0,20}") {
            let q = quote(&s);
            let inner = &q[1..q.len() - 1];
            // Quotes inside come in pairs only.
            prop_assert!(!inner.replace("''", "").contains('\''));
            prop_assert_eq!(inner.matches('\'').count(), 2 * s.matches('\'').count());
        }

        #[test]
        fn rendered_criterion_parses_back(key in "[a-z_]{1,10}", value in any::<String>()) {
            prop_assume!(unmatchable(&value).is_none());
            let text = Query::new().eq(&key, &value).render().unwrap().unwrap();
            let prefix = format!("{key} eq ");
            prop_assert!(text.starts_with(&prefix));
            prop_assert_eq!(unquote(&text[prefix.len()..]), Some(value));
        }
    }
}

#[cfg(test)]
mod examples {
    use super::*;

    #[test]
    fn which_values_cannot_be_matched_exactly() {
        assert!(unmatchable("calm-key").is_none());
        assert!(unmatchable("O'Brien").is_none());
        assert!(unmatchable("'quoted'").is_some());
        assert!(unmatchable("ends-in\\").is_some());
    }

    #[test]
    fn quote_doubles_single_quotes() {
        assert_eq!(quote("O'Brien"), "'O''Brien'");
    }

    #[test]
    fn query_renders_conditions_joined_by_and() -> crate::Result<()> {
        let q = Query::new()
            .eq("service_instance_id", "42")
            .eq("name", "O'Brien");
        assert_eq!(
            q.render()?.as_deref(),
            Some("service_instance_id eq '42' and name eq 'O''Brien'")
        );
        Ok(())
    }
}
