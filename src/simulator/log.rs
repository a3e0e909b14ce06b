//! The outermost layer of every listener: stop check, fault injection and the request log.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::faults::{self, Fault};
use super::state::Shared;
use super::types::{OperationFailure, RequestRecord, Server};

/// Marks a request whose asynchronous work must end failed ([`Fault::FailOperation`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FailNext(pub OperationFailure);

/// Which listener a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listener {
    /// Service Manager, token server and Cloud ALM API.
    Main,
    /// Cloud Foundry API.
    CloudFoundry,
}

/// Which server a path on a listener belongs to.
pub(crate) fn classify(listener: Listener, path: &str) -> Server {
    match listener {
        Listener::CloudFoundry => Server::CloudFoundry,
        Listener::Main if path.starts_with("/auth") => Server::Token,
        Listener::Main if path.starts_with("/calm/") => Server::CloudAlm,
        Listener::Main => Server::ServiceManager,
    }
}

/// Middleware: answers (or drops) per the first matching fault, then logs the outcome.
pub(crate) async fn layer(
    State((shared, listener)): State<(Arc<Shared>, Listener)>,
    request: Request,
    next: Next,
) -> Response {
    let at = std::time::Instant::now();
    let client = super::rate_limit::caller(request.headers());
    let path = request.uri().path().to_owned();
    let server = classify(listener, &path);
    let method = request.method().as_str().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let fault = if shared.stopped.load(Ordering::SeqCst) {
        Some(Fault::DropConnection)
    } else {
        let mut rules = shared.faults.lock().expect("fault lock");
        faults::take_match(&mut rules, server, &method, &path)
    };
    let (response, status) = match fault {
        None => run(next, request).await,
        Some(Fault::RateLimited(retry_after)) => {
            with_status(faults::rate_limited(server, retry_after))
        }
        Some(Fault::ServerError(code)) => with_status(faults::server_error(server, code)),
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            run(next, request).await
        }
        Some(Fault::LoseResponse) => {
            drop(next.run(request).await);
            (faults::dropped_connection(), 0)
        }
        Some(Fault::DropConnection) => (faults::dropped_connection(), 0),
        Some(Fault::FailOperation(failure)) => {
            let mut request = request;
            request.extensions_mut().insert(FailNext(failure));
            run(next, request).await
        }
        Some(Fault::Concurrent) => {
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let other = Request::from_parts(parts.clone(), axum::body::Body::from(bytes.clone()));
            drop(next.clone().run(other).await);
            run(
                next,
                Request::from_parts(parts, axum::body::Body::from(bytes)),
            )
            .await
        }
    };
    let response = if server == Server::CloudFoundry && status != 0 {
        with_cf_warnings(&shared, &path, response)
    } else {
        response
    };
    tracing::debug!(?server, %method, %path, status, "simulator served a request");
    let record = RequestRecord {
        server,
        method,
        path,
        query,
        status,
        at,
        client,
    };
    shared.log.lock().expect("log lock").push(record);
    response
}

/// Adds the configured warnings of `path` as Cloud Controller does: each `CGI.escape`d, joined
/// with commas in one `X-Cf-Warnings` header.
fn with_cf_warnings(shared: &Shared, path: &str, mut response: Response) -> Response {
    let warnings: Vec<String> = {
        let world = shared.world.lock().expect("world lock");
        world
            .settings
            .cf_warnings
            .iter()
            .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
            .map(|(_, text)| cgi_escape(text))
            .collect()
    };
    if !warnings.is_empty()
        && let Ok(value) = axum::http::HeaderValue::from_str(&warnings.join(","))
    {
        response.headers_mut().insert("x-cf-warnings", value);
    }
    response
}

/// Ruby's `CGI.escape`: `a-zA-Z0-9_.-~` stay, a space becomes `+`, every other byte `%XX`.
pub(crate) fn cgi_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

async fn run(next: Next, request: Request) -> (Response, u16) {
    with_status(next.run(request).await)
}

fn with_status(response: Response) -> (Response, u16) {
    let status = response.status().as_u16();
    (response, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_cgi_escaped() {
        assert_eq!(
            cgi_escape("Plan 'x' is deprecated, use y+z ~now"),
            "Plan+%27x%27+is+deprecated%2C+use+y%2Bz+~now"
        );
    }
}
