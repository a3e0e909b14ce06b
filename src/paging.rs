//! One paginator for every platform listing: each API says how to fetch its next page (its
//! [`PageSource`]: the Service Manager's `token`, Cloud Foundry's `pagination.next`, each with
//! its budget), and the paginator turns the pages into a stream of items or collects them.

use std::collections::VecDeque;
use std::future::Future;

use futures_util::{Stream, TryStreamExt, stream};

use crate::error::Result;

/// Something that hands out a listing page by page (`None` after the last page).
pub(crate) trait PageSource: Send {
    /// What a page holds.
    type Item: Send;

    /// The next page, or `None` when the listing is complete.
    fn fetch_page(&mut self) -> impl Future<Output = Result<Option<Vec<Self::Item>>>> + Send;
}

/// The listing's items, one at a time, fetching a page when the previous one is used up. An
/// error ends the stream after it is yielded.
pub(crate) fn items<S: PageSource>(source: S) -> impl Stream<Item = Result<S::Item>> + Send {
    stream::unfold(
        (Some(source), VecDeque::new()),
        |(mut source, mut buffered)| async move {
            loop {
                if let Some(item) = buffered.pop_front() {
                    return Some((Ok(item), (source, buffered)));
                }
                let page = source.as_mut()?.fetch_page().await;
                match page {
                    Ok(Some(page)) => buffered.extend(page),
                    Ok(None) => return None,
                    Err(e) => return Some((Err(e), (None, buffered))),
                }
            }
        },
    )
}

/// Every item of the listing.
pub(crate) async fn collect<S: PageSource>(source: S) -> Result<Vec<S::Item>> {
    items(source).try_collect().await
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;
    use crate::error::Error;

    /// Pages of the given sizes, then an error if `fail_after` is set.
    struct Fake {
        pages: VecDeque<Vec<u32>>,
        fail_after: bool,
        fetched: usize,
    }

    impl PageSource for Fake {
        type Item = u32;

        async fn fetch_page(&mut self) -> Result<Option<Vec<u32>>> {
            self.fetched += 1;
            match self.pages.pop_front() {
                Some(page) => Ok(Some(page)),
                None if self.fail_after => Err(Error::config("the listing", "cut off")),
                None => Ok(None),
            }
        }
    }

    fn fake(pages: &[&[u32]], fail_after: bool) -> Fake {
        Fake {
            pages: pages.iter().map(|p| p.to_vec()).collect(),
            fail_after,
            fetched: 0,
        }
    }

    #[tokio::test]
    async fn items_flow_across_pages_and_empty_pages() {
        let all = collect(fake(&[&[1, 2], &[], &[3]], false)).await.unwrap();
        assert_eq!(all, [1, 2, 3]);
    }

    #[tokio::test]
    async fn the_stream_fetches_lazily_and_ends_after_an_error() {
        let mut source = fake(&[&[1], &[2]], true);
        {
            let mut first = Box::pin(items(&mut source).take(1));
            assert_eq!(first.next().await.unwrap().unwrap(), 1);
        }
        assert_eq!(source.fetched, 1, "one page for one item");
        let rest: Vec<Result<u32>> = items(fake(&[&[1]], true)).collect().await;
        assert_eq!(rest.len(), 2);
        assert!(rest[1].is_err());
    }

    impl PageSource for &mut Fake {
        type Item = u32;

        fn fetch_page(&mut self) -> impl Future<Output = Result<Option<Vec<u32>>>> + Send {
            (**self).fetch_page()
        }
    }
}
