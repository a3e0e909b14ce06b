//! Query parameters and pagination of CF lists (cf-v3-api.md §3).
//!
//! Filter values as Cloud Controller reads them (`base_message.rb` `to_array!`): the query
//! string is decoded once, a list filter is split on `,\s*`, and each value is unescaped
//! **again** (`Addressable::URI.unescape`). So a comma inside a value must travel as `%252C`;
//! a single `%2C` splits the value in two.

use serde_json::{Value, json};

use axum::http::HeaderMap;
use axum::response::Response;

use super::{authorize, error};
use crate::simulator::faults::json_response;
use crate::simulator::state::{Shared, World};

/// Parameters every list accepts besides its filters.
const COMMON: [&str; 5] = ["page", "per_page", "order_by", "include", "label_selector"];

/// A CF query string: keys decoded, values kept raw until split.
#[derive(Debug, Clone, Default)]
pub(crate) struct CfQuery {
    pairs: Vec<(String, String)>,
}

fn decode(raw: &str) -> String {
    url::form_urlencoded::parse(format!("x={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Ruby's `\s`.
fn ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

/// `value.split(/,\s*/, -1).map { Addressable::URI.unescape(_1) }`.
fn split_values(decoded: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = decoded;
    while let Some(i) = rest.find(',') {
        parts.push(unescape(&rest[..i]));
        rest = rest[i + 1..].trim_start_matches(ruby_space);
    }
    parts.push(unescape(rest));
    parts
}

/// `Addressable::URI.unescape`: each `%XX` becomes its byte (a `+` stays a `+`).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl CfQuery {
    pub fn parse(raw: Option<&str>) -> CfQuery {
        let pairs = raw
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (decode(k), v.to_owned()),
                None => (decode(p), String::new()),
            })
            .collect();
        CfQuery { pairs }
    }

    /// The parameter names, decoded, in the order sent.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(k, _)| k.as_str())
    }

    /// The values of a list filter: decoded, split on `,\s*`, each unescaped again.
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        self.raw(key).map(|raw| split_values(&decode(raw)))
    }

    /// The whole decoded value of a parameter.
    pub fn single(&self, key: &str) -> Option<String> {
        self.raw(key).map(decode)
    }

    fn raw(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// 400 CF-BadQueryParameter for parameters the endpoint does not know.
    pub fn check_known(&self, filters: &[&str]) -> Result<(), Response> {
        let unknown: Vec<String> = self
            .pairs
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !filters.contains(k) && !COMMON.contains(k))
            .map(|k| format!("'{k}'"))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let mut valid: Vec<&str> = filters.to_vec();
        valid.extend(COMMON);
        Err(error(
            400,
            10005,
            "CF-BadQueryParameter",
            format!(
                "The query parameter is invalid: Unknown query parameter(s): {}. Valid parameters are: '{}'",
                unknown.join(", "),
                valid.join("', '")
            ),
        ))
    }

    /// Whether a resource's value passes a filter (absent filter = pass).
    pub fn passes(&self, key: &str, value: &str, case_insensitive: bool) -> bool {
        self.list(key).is_none_or(|wanted| {
            wanted.iter().any(|w| {
                if case_insensitive {
                    w.eq_ignore_ascii_case(value)
                } else {
                    w == value
                }
            })
        })
    }

    fn href(&self, shared: &Shared, path: &str, page: usize, per_page: usize) -> Value {
        let mut query: Vec<String> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != "page" && k != "per_page")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        query.push(format!("page={page}"));
        query.push(format!("per_page={per_page}"));
        json!({"href": shared.urls.cf_href(&format!("{path}?{}", query.join("&")))})
    }
}

fn bad(detail: &str) -> Response {
    error(
        400,
        10005,
        "CF-BadQueryParameter",
        format!("The query parameter is invalid: {detail}"),
    )
}

/// Authorizes a list request and parses its query, refusing parameters outside `filters`.
pub(crate) fn list_query(
    shared: &Shared,
    headers: &HeaderMap,
    raw: Option<String>,
    filters: &[&str],
) -> Result<CfQuery, Response> {
    authorize(shared, headers)?;
    let query = CfQuery::parse(raw.as_deref());
    query.check_known(filters)?;
    Ok(query)
}

/// Collects the resources from the settled world, then answers the page asked for.
pub(crate) fn list_page(
    shared: &Shared,
    query: &CfQuery,
    path: &str,
    collect: impl FnOnce(&World, &CfQuery) -> Vec<Value>,
) -> Response {
    list_page_included(shared, query, path, collect, |_| None)
}

/// [`list_page`], with the `included` object `include` builds from the resources of the page
/// (Cloud Controller's `fields` decorators see only the page they decorate).
pub(crate) fn list_page_included(
    shared: &Shared,
    query: &CfQuery,
    path: &str,
    collect: impl FnOnce(&World, &CfQuery) -> Vec<Value>,
    include: impl FnOnce(&[Value]) -> Option<Value>,
) -> Response {
    let resources = collect(&shared.settled_world(), query);
    paginate(shared, query, path, resources, include)
}

/// One page of `resources` with the pagination object (and `included`, when there is one).
fn paginate(
    shared: &Shared,
    query: &CfQuery,
    path: &str,
    resources: Vec<Value>,
    include: impl FnOnce(&[Value]) -> Option<Value>,
) -> Response {
    let default = shared.world.lock().expect("world lock").settings.page_size;
    let per_page = match query.single("per_page") {
        None => default.clamp(1, 5000),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=5000).contains(&n) => n,
            _ => return bad("Per page must be between 1 and 5000"),
        },
    };
    let page = match query.single("page") {
        None => 1,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => return bad("Page must be greater than 0"),
        },
    };
    let total = resources.len();
    let total_pages = total.div_ceil(per_page);
    let link = |p: usize| query.href(shared, path, p, per_page);
    let page_resources: Vec<Value> = resources
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    let included = include(&page_resources);
    let mut body = json!({
        "pagination": {
            "total_results": total,
            "total_pages": total_pages,
            "first": link(1),
            "last": link(total_pages.max(1)),
            "next": if page < total_pages { link(page + 1) } else { Value::Null },
            "previous": if page > 1 { link(page - 1) } else { Value::Null },
        },
        "resources": page_resources,
    });
    if let Some(included) = included {
        body["included"] = included;
    }
    json_response(200, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_filters_are_split_after_decoding_and_unescaped_again() {
        let q = CfQuery::parse(Some(
            "names=ACME%252C%20Inc.,calm%252Ckey,a%2Cb,%20c,100%2525",
        ));
        assert_eq!(
            q.list("names").unwrap(),
            ["ACME, Inc.", "calm,key", "a", "b", "c", "100%"]
        );
        assert_eq!(CfQuery::parse(Some("names=")).list("names").unwrap(), [""]);
        assert!(q.passes("names", "calm,key", false) && !q.passes("names", "a,b", false));
    }
}
