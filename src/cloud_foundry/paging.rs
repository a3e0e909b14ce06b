//! Cloud Foundry list answers: building filtered list URLs and following `pagination.next.href`
//! lazily, page by page, until it is `null`.

use std::collections::HashSet;
use std::future::Future;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use url::Url;

use super::CloudFoundry;
use super::types::{Paginated, Pagination};
use crate::error::{Error, Result};
use crate::http::{Request, sanitize_url};
use crate::service_manager::paging::{LIST_LIMITS, ListBudget, ListLimits};

/// Most pages one list may have before the answer is taken as a loop (also
/// [`LIST_LIMITS`]`.pages`, which [`Pages`] applies with the item and byte limits).
pub const MAX_PAGES: usize = 10_000;

/// A list URL: `base` joined with `path`, with each filter's values encoded for Cloud Controller
/// and joined by a literal comma (its "any of").
///
/// Cloud Controller decodes the query string once, splits a list filter on `,\s*` and then
/// unescapes each value **again** (`base_message.rb` `to_array!`), so a `,` or `%` inside a
/// value (and whitespace at its start) is escaped twice: `ACME, Inc.` travels as
/// `ACME%252C%20Inc.` and `100%` as `100%2525`.
pub(crate) fn list_url(base: &Url, path: &str, filters: &[(&str, &[&str])]) -> Result<Url> {
    let mut url = base.join(path).map_err(|e| Error::InvalidUrl {
        field: "Cloud Foundry API URL".into(),
        reason: e.to_string(),
    })?;
    let query = filters
        .iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(key, values)| {
            let joined = values
                .iter()
                .map(|v| encode(&escape_list_value(v)))
                .collect::<Vec<_>>()
                .join(",");
            format!("{}={joined}", encode(key))
        })
        .collect::<Vec<_>>()
        .join("&");
    url.set_query((!query.is_empty()).then_some(query.as_str()));
    Ok(url)
}

/// Whitespace as Ruby's `\s` sees it (what Cloud Controller's split on `,\s*` removes).
fn ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

/// The second, inner escaping of one list-filter value: `%` and `,` always, whitespace at the
/// start (which the split after a comma would eat). Cloud Controller's second unescape turns
/// it back into the value.
fn escape_list_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut leading = true;
    for c in value.chars() {
        leading = leading && ruby_space(c);
        match c {
            '%' => out.push_str("%25"),
            ',' => out.push_str("%2C"),
            c if leading => out.push_str(&format!("%{:02X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query component (space as `%20`, comma as `%2C`).
pub(crate) fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The next page to read, or `None` on the last page.
///
/// Refuses a `next` that points at a page already read (a server loop) or at another origin
/// than the API (the token must not travel there), and stops after [`MAX_PAGES`].
pub(crate) fn next_page_url(
    api: &Url,
    pagination: &Pagination,
    visited: &mut HashSet<String>,
) -> Result<Option<Url>> {
    let Some(next) = pagination.next.as_ref() else {
        return Ok(None);
    };
    let url = api
        .join(&next.href)
        .map_err(|_| bad_next("a URL", "text that is not a URL"))?;
    if url.origin() != api.origin() {
        return Err(bad_next(
            "a link on the API's own host",
            "a link to another host",
        ));
    }
    if visited.len() >= MAX_PAGES {
        return Err(bad_next("at most 10000 pages", "more pages"));
    }
    if !visited.insert(url.as_str().to_owned()) {
        return Err(bad_next(
            "a page not read yet",
            &format!("a link back to {}", sanitize_url(&url)),
        ));
    }
    Ok(Some(url))
}

fn bad_next(expected: &str, found: &str) -> Error {
    Error::invalid_json(
        "Cloud Foundry list answer",
        "pagination.next.href",
        expected,
        found,
        "the server's pagination is broken; retry, and report it to the platform operator if it persists",
    )
}

/// A list read lazily: one request per [`Pages::next_page`].
#[derive(Debug)]
pub struct Pages<'a, T> {
    cf: &'a CloudFoundry,
    next: Option<Url>,
    visited: HashSet<String>,
    budget: ListBudget,
    limits: ListLimits,
    _item: PhantomData<fn() -> T>,
}

impl<'a, T: DeserializeOwned + Send> Pages<'a, T> {
    /// A list starting at `first`.
    pub(crate) fn new(cf: &'a CloudFoundry, first: Url) -> Self {
        let mut visited = HashSet::new();
        visited.insert(first.as_str().to_owned());
        Pages {
            cf,
            next: Some(first),
            visited,
            budget: ListBudget::default(),
            limits: LIST_LIMITS,
            _item: PhantomData,
        }
    }

    /// The next page's resources, or `None` when the list is exhausted.
    pub(crate) async fn next_page(&mut self) -> Result<Option<Vec<T>>> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        let what = url.path().to_owned();
        let response = self.cf.send(Request::get(url)).await?;
        let page: Paginated<T> = response.json()?;
        self.budget.count(
            &what,
            page.resources.len(),
            response.body().len(),
            &self.limits,
        )?;
        self.next = next_page_url(self.cf.api_url(), &page.pagination, &mut self.visited)?;
        Ok(Some(page.resources))
    }

    /// Every resource on every page.
    pub(crate) async fn collect_all(self) -> Result<Vec<T>> {
        crate::paging::collect(self).await
    }
}

impl<T: DeserializeOwned + Send> crate::paging::PageSource for Pages<'_, T> {
    type Item = T;

    fn fetch_page(&mut self) -> impl Future<Output = Result<Option<Vec<T>>>> + Send {
        self.next_page()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud_foundry::types::Link;
    use proptest::prelude::*;

    fn api() -> Url {
        Url::parse("https://api.cf.example").unwrap()
    }

    fn pagination(next: Option<&str>) -> Pagination {
        serde_json::from_value(serde_json::json!({
            "next": next.map(|h| serde_json::json!({"href": h}))
        }))
        .unwrap()
    }

    #[test]
    fn list_url_encodes_values_and_joins_with_commas() {
        let url = list_url(
            &api(),
            "/v3/service_instances",
            &[
                ("names", &["a,b", "c d"]),
                ("space_guids", &["s1"]),
                ("x", &[]),
            ],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://api.cf.example/v3/service_instances?names=a%252Cb,c%20d&space_guids=s1"
        );
    }

    /// What Cloud Controller makes of a list filter's raw query value: one query decoding, a
    /// split on `,\s*`, then `Addressable::URI.unescape` of each part.
    fn cloud_controller_values(raw: &str) -> Vec<String> {
        let once = url::form_urlencoded::parse(format!("v={raw}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let mut parts = Vec::new();
        let mut rest = once.as_str();
        loop {
            match rest.find(',') {
                Some(i) => {
                    parts.push(rest[..i].to_owned());
                    rest = rest[i + 1..].trim_start_matches(ruby_space);
                }
                None => {
                    parts.push(rest.to_owned());
                    break;
                }
            }
        }
        parts.iter().map(|p| unescape(p)).collect()
    }

    /// `Addressable::URI.unescape`: every `%XX` becomes its byte, the rest stays.
    fn unescape(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
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

    #[test]
    fn commas_percents_and_leading_spaces_survive_the_second_unescape() {
        let values = ["ACME, Inc.", "calm,key", "100%", "%2C", " lead", "plain"];
        let url = list_url(&api(), "/v3/organizations", &[("names", &values)]).unwrap();
        let raw = url.query().unwrap().strip_prefix("names=").unwrap();
        assert_eq!(cloud_controller_values(raw), values);
        assert!(
            raw.starts_with("ACME%252C%20Inc.,calm%252Ckey,100%2525"),
            "{raw}"
        );
    }

    #[test]
    fn follows_next_until_null_and_guards_loops_and_hosts() {
        let mut seen = HashSet::new();
        let p2 = pagination(Some("https://api.cf.example/v3/x?page=2"));
        let got = next_page_url(&api(), &p2, &mut seen).unwrap().unwrap();
        assert_eq!(got.query(), Some("page=2"));
        assert!(next_page_url(&api(), &p2, &mut seen).is_err());
        assert!(
            next_page_url(&api(), &pagination(None), &mut seen)
                .unwrap()
                .is_none()
        );
        let other = pagination(Some("https://evil.example/v3/x?page=3"));
        let err = next_page_url(&api(), &other, &mut seen).unwrap_err();
        assert!(err.to_string().contains("another host"), "{err}");
        let relative = Pagination {
            next: Some(Link {
                href: "/v3/x?page=4".into(),
            }),
            ..Pagination::default()
        };
        assert!(
            next_page_url(&api(), &relative, &mut seen)
                .unwrap()
                .is_some()
        );
    }

    proptest! {
        #[test]
        fn next_href_never_panics_and_never_repeats(hrefs in proptest::collection::vec(".{0,40}", 0..20)) {
            let mut seen = HashSet::new();
            let mut accepted = HashSet::new();
            for h in hrefs {
                if let Ok(Some(url)) = next_page_url(&api(), &pagination(Some(&h)), &mut seen) {
                    prop_assert_eq!(url.origin(), api().origin());
                    prop_assert!(accepted.insert(url.to_string()));
                }
            }
        }

        #[test]
        fn list_url_round_trips_values(values in proptest::collection::vec("[^\u{0}]{0,12}", 1..4)) {
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            let url = list_url(&api(), "/v3/x", &[("names", &refs)]).unwrap();
            let raw = url.query().unwrap_or_default().strip_prefix("names=").unwrap_or_default().to_owned();
            prop_assert_eq!(cloud_controller_values(&raw), values);
        }
    }
}
