//! The outermost layer of every listener: stop check, fault injection and the request log.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::faults::{self, Fault};
use super::state::Shared;
use super::types::{RequestRecord, Server};

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

async fn run(next: Next, request: Request) -> (Response, u16) {
    with_status(next.run(request).await)
}

fn with_status(response: Response) -> (Response, u16) {
    let status = response.status().as_u16();
    (response, status)
}
