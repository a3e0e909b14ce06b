//! Query parameters and pagination of CF lists (cf-v3-api.md §3).
//!
//! Filter values are comma-separated; the split happens before percent-decoding, so a comma
//! inside a value travels as `%2C`, as Cloud Controller expects.

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

    /// The comma-separated values of a filter, decoded.
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        self.raw(key)
            .map(|raw| raw.split(',').map(decode).collect())
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
