//! Asynchronous mutations: 201 with the resource versus 202 with a relative `Location`, and
//! waiting on the operation that `Location` names.

// A typed client of the whole API: the journeys use part of it, the contract tests the rest.
#![allow(dead_code)]

use chrono::Utc;
use serde::de::DeserializeOwned;
use url::Url;

use super::ServiceManager;
use super::types::{Operation, OperationState};
use crate::error::{Error, Result};
use crate::http::{Request, Response, parse_retry_after};
use crate::model::OperationId;
use crate::wait::{Poll, WaitOptions, poll_until};

/// What a resource collection an operation belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResourceKind {
    /// `service_instances`.
    Instance,
    /// `service_bindings`.
    Binding,
    /// Another collection, as named in the path.
    Other(String),
}

/// An operation to poll, from a 202's `Location`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationRef {
    /// The absolute URL to poll.
    pub url: Url,
    /// The collection of the resource.
    pub resource_kind: ResourceKind,
    /// The id of the resource being worked on.
    pub resource_id: String,
    /// The operation's id.
    pub operation_id: OperationId,
}

/// The answer to a create, update or delete.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Mutation<T> {
    /// Finished synchronously (201/200) with the resource.
    Done(T),
    /// Accepted (202): the operation to poll, when the server named one in `Location`.
    Accepted(Option<OperationRef>),
}

/// Reads an operation `Location` (already joined to the base URL):
/// `…/v1/{collection}/{resource id}/operations/{operation id}`.
///
/// The location must have the base URL's scheme, host and port: the bearer token is sent there.
pub(crate) fn parse_operation_location(base: &Url, location: &Url) -> Result<OperationRef> {
    let refuse = |reason: &str| Error::InvalidUrl {
        field: "Location header of a 202 answer".to_owned(),
        reason: reason.to_owned(),
    };
    if location.origin() != base.origin() {
        return Err(refuse(
            "it points at another host than the Service Manager; the token is not sent there",
        ));
    }
    let segments: Vec<&str> = location
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let at = segments
        .iter()
        .rposition(|s| *s == "operations")
        .filter(|&i| i >= 2 && i + 1 < segments.len())
        .ok_or_else(|| refuse("expected …/v1/<collection>/<id>/operations/<operation id>"))?;
    let decode = |s: &str| {
        percent_decode(s).ok_or_else(|| refuse("a path segment is not valid percent-encoded UTF-8"))
    };
    let resource_kind = match segments[at - 2] {
        "service_instances" => ResourceKind::Instance,
        "service_bindings" => ResourceKind::Binding,
        other => ResourceKind::Other(decode(other)?),
    };
    Ok(OperationRef {
        url: location.clone(),
        resource_kind,
        resource_id: decode(segments[at - 1])?,
        operation_id: OperationId::new(decode(segments[at + 1])?),
    })
}

/// Decodes `%XX` escapes of one path segment; `None` for a broken escape or non-UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl ServiceManager {
    /// Reads a mutation's answer: 201/200 with the resource, or 202 with an operation.
    pub(crate) fn mutation<T: DeserializeOwned>(&self, response: &Response) -> Result<Mutation<T>> {
        if response.status() != 202 {
            return Ok(Mutation::Done(response.json()?));
        }
        match response.location() {
            Some(location) => Ok(Mutation::Accepted(Some(parse_operation_location(
                &self.inner.base,
                &location,
            )?))),
            None => Ok(Mutation::Accepted(None)),
        }
    }

    /// Reads an operation once.
    pub(crate) async fn get_operation(&self, operation: &OperationRef) -> Result<Operation> {
        self.send(Request::get(operation.url.clone())).await?.json()
    }

    /// Polls a create or update until it succeeds (the operation is returned) or fails
    /// ([`Error::OperationFailed`] with the platform's reasons), within `wait`'s deadline. An
    /// operation that is not visible yet (404) counts as still running.
    pub(crate) async fn wait_operation(
        &self,
        operation: &OperationRef,
        what: &str,
        wait: &WaitOptions,
    ) -> Result<Operation> {
        poll_until(what, wait, || async {
            match self.poll_once(operation).await? {
                Some((op, retry_after)) => judge(op, what, retry_after),
                None => Ok(Poll::Pending {
                    state: "not visible yet".to_owned(),
                    retry_after: None,
                }),
            }
        })
        .await
    }

    /// Polls a delete until it succeeds; a 404 on the operation means the resource is gone.
    pub(crate) async fn wait_deleted(
        &self,
        operation: &OperationRef,
        what: &str,
        wait: &WaitOptions,
    ) -> Result<()> {
        poll_until(what, wait, || async {
            match self.poll_once(operation).await? {
                Some((op, retry_after)) => judge(op, what, retry_after).map(|p| match p {
                    Poll::Ready(_) => Poll::Ready(()),
                    Poll::Pending { state, retry_after } => Poll::Pending { state, retry_after },
                }),
                None => Ok(Poll::Ready(())),
            }
        })
        .await
    }

    /// One look: `None` on 404, else the operation and the server's `Retry-After`.
    async fn poll_once(
        &self,
        operation: &OperationRef,
    ) -> Result<Option<(Operation, Option<std::time::Duration>)>> {
        match self.send(Request::get(operation.url.clone())).await {
            Ok(response) => {
                let retry_after = response
                    .header("retry-after")
                    .and_then(|v| parse_retry_after(v, Utc::now()));
                Ok(Some((response.json()?, retry_after)))
            }
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Turns one operation reading into a poll result.
fn judge(
    op: Operation,
    what: &str,
    retry_after: Option<std::time::Duration>,
) -> Result<Poll<Operation>> {
    match &op.state {
        OperationState::Succeeded => Ok(Poll::Ready(op)),
        OperationState::Failed => Err(Error::OperationFailed {
            operation: what.to_owned(),
            message: op.failure_message(),
            code: op.error_code(),
        }),
        state => Ok(Poll::Pending {
            state: state.as_str().to_owned(),
            retry_after,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://sm.example").unwrap()
    }

    #[test]
    fn locations() {
        let ok = [
            (
                "/v1/service_instances/i-1/operations/o-1",
                ResourceKind::Instance,
                "i-1",
                "o-1",
            ),
            (
                "https://sm.example/v1/service_bindings/b%201/operations/o-2",
                ResourceKind::Binding,
                "b 1",
                "o-2",
            ),
            (
                "/v1/platforms/p/operations/o-3?x=1",
                ResourceKind::Other("platforms".into()),
                "p",
                "o-3",
            ),
        ];
        for (loc, kind, id, op) in ok {
            let url = base().join(loc).unwrap();
            let r = parse_operation_location(&base(), &url).unwrap();
            assert_eq!(
                (
                    r.resource_kind,
                    r.resource_id.as_str(),
                    r.operation_id.as_str()
                ),
                (kind, id, op)
            );
        }
        let bad = [
            "https://evil.example/v1/service_bindings/b/operations/o",
            "http://sm.example/v1/service_bindings/b/operations/o",
            "/v1/service_bindings/b",
            "/v1/service_bindings/b/operations",
            "/operations/o",
            "/v1/service_bindings/b/operations/%FF",
        ];
        for loc in bad {
            let url = base().join(loc).unwrap();
            assert!(parse_operation_location(&base(), &url).is_err(), "{loc}");
        }
    }

    #[test]
    fn judging_operations() {
        let op = |state: &str| -> Operation {
            serde_json::from_value(serde_json::json!({"state": state, "type": "CREATE"})).unwrap()
        };
        assert!(matches!(
            judge(op("SUCCEEDED"), "x", None),
            Ok(Poll::Ready(_))
        ));
        assert!(matches!(
            judge(op("In Progress"), "x", None),
            Ok(Poll::Pending { .. })
        ));
        match judge(op("failed"), "creation of x", None) {
            Err(Error::OperationFailed {
                operation, message, ..
            }) => {
                assert_eq!(operation, "creation of x");
                assert!(message.contains("without a reason"));
            }
            other => panic!("{other:?}"),
        }
        let refused = |errors: serde_json::Value| -> Operation {
            serde_json::from_value(
                serde_json::json!({"state": "failed", "type": "create", "errors": errors}),
            )
            .unwrap()
        };
        let conflict = judge(
            refused(serde_json::json!({"error": "Conflict", "description": "instance with same name exists for the current tenant"})),
            "creation of x",
            None,
        )
        .err()
        .unwrap();
        assert!(
            conflict.is_conflict() && !conflict.is_busy(),
            "{conflict:?}"
        );
        assert_eq!(conflict.platform_code(), Some("Conflict"));
        let busy = judge(
            refused(serde_json::json!([{"error": "OperationInProgress", "description": "creation of instance x is still in progress or failed"}])),
            "creation of x",
            None,
        )
        .err()
        .unwrap();
        assert!(busy.is_busy() && !busy.is_conflict(), "{busy:?}");
        let broker = judge(
            refused(serde_json::json!({"error": "BrokerError", "description": "no"})),
            "x",
            None,
        )
        .err()
        .unwrap();
        assert!(!broker.is_busy() && !broker.is_conflict());
    }
}

#[cfg(test)]
mod examples {
    use super::*;

    #[test]
    fn operation_locations_name_resource_and_operation() -> crate::Result<()> {
        let base = url::Url::parse("https://sm.example").unwrap();
        let loc = base
            .join("/v1/service_bindings/b-1/operations/op-9")
            .unwrap();
        let op = parse_operation_location(&base, &loc)?;
        assert_eq!(op.resource_kind, ResourceKind::Binding);
        assert_eq!(op.resource_id, "b-1");
        assert_eq!(op.operation_id.as_str(), "op-9");
        Ok(())
    }
}
