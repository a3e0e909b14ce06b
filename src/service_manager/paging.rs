//! Lazy paging over Service Manager lists.
//!
//! Each page's request is built fresh from the list's own parameters plus the current `token`,
//! so the token is replaced, never appended (a client that appends re-reads page 2 forever).
//! A token the server already sent stops the listing with an error instead of looping, and so
//! does a listing that grows past [`LIST_LIMITS`] (a server handing out a new token with every
//! page would otherwise be followed forever).

// A typed client of the whole API: the journeys use part of it, the contract tests the rest.
#![allow(dead_code)]

use std::collections::HashSet;
use std::future::Future;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use url::Url;

use super::ServiceManager;
use super::query::Query;
use super::types::Page;
use crate::error::{Error, Result};
use crate::http::Request;

/// How far one listing is followed before it is taken as endless and stopped with
/// [`Error::ListingCutOff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLimits {
    /// Most pages.
    pub pages: u32,
    /// Most items, over all pages.
    pub items: u64,
    /// Most body bytes, over all pages.
    pub bytes: u64,
}

/// The limits every Service Manager and Cloud Foundry listing has: 1,000 pages, 25,000 items,
/// 32 MiB of answers. A subaccount or space with more Cloud ALM instances and credentials than
/// this does not exist in practice; a server that pages past it is broken or hostile.
pub const LIST_LIMITS: ListLimits = ListLimits {
    pages: 1_000,
    items: 25_000,
    bytes: 32 * 1024 * 1024,
};

/// What one listing has read so far, checked against [`ListLimits`].
#[derive(Debug, Clone, Default)]
pub(crate) struct ListBudget {
    pub(crate) pages: u32,
    pub(crate) items: u64,
    pub(crate) bytes: u64,
}

impl ListBudget {
    /// Counts one page; fails when a limit is passed, saying where the listing stopped.
    pub(crate) fn count(
        &mut self,
        what: &str,
        items: usize,
        bytes: usize,
        limits: &ListLimits,
    ) -> Result<()> {
        self.pages += 1;
        self.items += items as u64;
        self.bytes += bytes as u64;
        let reason = if self.pages > limits.pages {
            format!("more than {} pages", limits.pages)
        } else if self.items > limits.items {
            format!("more than {} items", limits.items)
        } else if self.bytes > limits.bytes {
            format!("more than {} bytes of answers", limits.bytes)
        } else {
            return Ok(());
        };
        Err(Error::ListingCutOff {
            what: what.to_owned(),
            pages: self.pages,
            items: self.items,
            bytes: self.bytes,
            reason,
        })
    }
}

/// What a list request asks for: field and label filters, page size, last operations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListFilter {
    /// `fieldQuery`.
    pub field: Query,
    /// `labelQuery`.
    pub label: Query,
    /// `max_items` (server default 50, upstream maximum 200).
    pub max_items: Option<u32>,
    /// `attach_last_operations=true`: each item carries its `last_operation`.
    pub attach_last_operations: bool,
}

impl ListFilter {
    /// Everything.
    pub(crate) fn all() -> Self {
        ListFilter::default()
    }

    /// Filtered by a field query.
    pub(crate) fn field(query: Query) -> Self {
        ListFilter {
            field: query,
            ..Self::default()
        }
    }

    /// Adds a label query.
    pub(crate) fn label(mut self, query: Query) -> Self {
        self.label = query;
        self
    }

    /// Sets the page size.
    pub(crate) fn max_items(mut self, n: u32) -> Self {
        self.max_items = Some(n);
        self
    }

    /// Asks for each item's last operation.
    pub(crate) fn with_last_operations(mut self) -> Self {
        self.attach_last_operations = true;
        self
    }

    /// The query parameters, without `token`.
    fn params(&self) -> Result<Vec<(&'static str, String)>> {
        let mut params = Vec::new();
        if let Some(q) = self.field.render()? {
            params.push(("fieldQuery", q));
        }
        if let Some(q) = self.label.render()? {
            params.push(("labelQuery", q));
        }
        if let Some(n) = self.max_items {
            params.push(("max_items", n.to_string()));
        }
        if self.attach_last_operations {
            params.push(("attach_last_operations", "true".to_owned()));
        }
        Ok(params)
    }

    fn matches_nothing(&self) -> bool {
        self.field.matches_nothing() || self.label.matches_nothing()
    }
}

/// The pages of one list, fetched one at a time.
///
#[derive(Debug)]
pub struct Pager<T> {
    sm: ServiceManager,
    url: Url,
    params: Result<Vec<(&'static str, String)>>,
    next_token: Option<String>,
    seen: HashSet<String>,
    done: bool,
    budget: ListBudget,
    limits: ListLimits,
    _items: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned + Send> crate::paging::PageSource for Pager<T> {
    type Item = T;

    fn fetch_page(&mut self) -> impl Future<Output = Result<Option<Vec<T>>>> + Send {
        self.next_page()
    }
}

impl<T: DeserializeOwned + Send> Pager<T> {
    pub(crate) fn new(sm: &ServiceManager, collection: &str, filter: &ListFilter) -> Self {
        Pager {
            url: sm.url(&[collection]),
            sm: sm.clone(),
            params: filter.params(),
            next_token: None,
            seen: HashSet::new(),
            done: filter.matches_nothing(),
            budget: ListBudget::default(),
            limits: LIST_LIMITS,
            _items: PhantomData,
        }
    }

    /// The next page's items, or `None` after the last page.
    pub(crate) async fn next_page(&mut self) -> Result<Option<Vec<T>>> {
        if self.done {
            return Ok(None);
        }
        let request = self.request()?;
        let response = self.sm.send(request).await?;
        let page: Page<T> = response.json()?;
        if let Err(e) = self.budget.count(
            self.url.path(),
            page.items.len(),
            response.body().len(),
            &self.limits,
        ) {
            self.done = true;
            return Err(e);
        }
        match page.token {
            Some(token) if !self.seen.insert(token.clone()) => {
                self.done = true;
                return Err(Error::OperationFailed {
                    operation: format!("listing {}", self.url.path()),
                    message: format!(
                        "the server sent a paging token it had already sent (after {} pages); stopped instead of reading the same pages forever",
                        self.budget.pages
                    ),
                    code: None,
                });
            }
            Some(token) => self.next_token = Some(token),
            None => self.done = true,
        }
        Ok(Some(page.items))
    }

    /// Every item of every page.
    pub(crate) async fn all(self) -> Result<Vec<T>> {
        crate::paging::collect(self).await
    }

    /// How many pages have been fetched.
    pub(crate) fn pages_fetched(&self) -> u32 {
        self.budget.pages
    }

    /// Other limits than [`LIST_LIMITS`] for this listing.
    pub(crate) fn with_limits(mut self, limits: ListLimits) -> Self {
        self.limits = limits;
        self
    }

    /// This page's request: the list's parameters, plus exactly one `token` after the first.
    fn request(&self) -> Result<Request> {
        let params = self.params.as_ref().map_err(clone_error)?;
        let token = self.next_token.as_deref().map(|t| ("token", t));
        let pairs = params.iter().map(|(k, v)| (*k, v.as_str())).chain(token);
        Ok(Request::get(self.url.clone()).query_pairs(pairs))
    }
}

/// Query rendering fails only with [`Error::Config`]; hand out a copy on each call.
fn clone_error(e: &Error) -> Error {
    match e {
        Error::Config { setting, reason } => Error::config(setting.clone(), reason.clone()),
        other => Error::config("the listing query", other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_stops_at_each_limit_and_says_where() {
        let limits = ListLimits {
            pages: 3,
            items: 100,
            bytes: 1000,
        };
        let mut b = ListBudget::default();
        for _ in 0..3 {
            b.count("/v1/x", 1, 1, &limits).unwrap();
        }
        let e = b.count("/v1/x", 1, 1, &limits).unwrap_err();
        assert!(
            matches!(
                e,
                Error::ListingCutOff {
                    pages: 4,
                    items: 4,
                    ..
                }
            ),
            "{e}"
        );
        let text = e.to_string();
        assert!(
            text.contains("/v1/x") && text.contains("more than 3 pages"),
            "{text}"
        );

        let mut b = ListBudget::default();
        let e = b.count("/v1/x", 101, 1, &limits).unwrap_err();
        assert!(e.to_string().contains("more than 100 items"));
        let mut b = ListBudget::default();
        b.count("/v1/x", 1, 600, &limits).unwrap();
        let e = b.count("/v1/x", 1, 600, &limits).unwrap_err();
        assert!(e.to_string().contains("more than 1000 bytes"), "{e}");
        assert!(!e.is_retryable());
    }
}
