//! A create whose answer is lost (the server reads the request, commits, and closes the
//! connection) is followed by a lookup by name, never by a second POST.
//!
//! wiremock cannot drop connections, so this is a tiny canned HTTP server on a raw listener.

use super::common;

use std::sync::{Arc, Mutex};

use crate::journey::Provenance;
use crate::journey::service_manager::platform::retrieve_by_instance_id;
use crate::model::InstanceId;
use crate::{Environment, PlanRequest, Purpose};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use common::sm::*;

/// What the canned server has seen and committed.
#[derive(Default)]
struct State {
    requests: Vec<String>,
    binding_committed: bool,
}

/// Reads one request's head and body; returns the request line.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    head.lines().next().map(str::to_owned)
}

async fn respond(stream: &mut TcpStream, body: serde_json::Value) {
    let body = body.to_string();
    let text = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(text.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn serve(listener: TcpListener, state: Arc<Mutex<State>>, base: String) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let Some(line) = read_request(&mut stream).await else {
            continue;
        };
        let committed = {
            let mut s = state.lock().unwrap();
            s.requests.push(line.clone());
            if line.starts_with("POST /v1/service_bindings") {
                s.binding_committed = true;
                None
            } else {
                Some(s.binding_committed)
            }
        };
        match committed {
            // The create is committed, then the connection drops without an answer.
            None => drop(stream),
            Some(committed) if line.starts_with("GET /v1/service_bindings?") => {
                let items = if committed {
                    vec![binding("b1", "calm-key", "i1", &base)]
                } else {
                    vec![]
                };
                respond(&mut stream, page(items, None)).await
            }
            Some(_) if line.starts_with("GET /v1/service_instances/i1") => {
                respond(&mut stream, instance("i1", "calm", true)).await
            }
            Some(_) => respond(&mut stream, json!({})).await,
        }
    }
}

#[tokio::test]
async fn lost_answer_to_binding_create_is_looked_up_not_reposted() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = Arc::new(Mutex::new(State::default()));
    tokio::spawn(serve(listener, state.clone(), base.clone()));
    let sm = crate::service_manager::ServiceManager::with_base_url(
        url::Url::parse(&base).unwrap(),
        crate::TokenSource::static_token(secrecy::SecretString::from("t")),
        fast_http(),
    )
    .unwrap();
    let req = PlanRequest::new(
        None,
        Purpose::OperationsMonitoring,
        Environment::ServiceManager,
    )
    .instance_name("calm")
    .credential_name("calm-key");
    let (o, events) = opts(true);

    let got = retrieve_by_instance_id(&sm, &req, &InstanceId::new("i1"), &o)
        .await
        .unwrap();

    assert_eq!(got.credential.id.as_str(), "b1");
    assert_eq!(got.credential_provenance, Provenance::Created);
    let requests = state.lock().unwrap().requests.clone();
    let posts = requests.iter().filter(|l| l.starts_with("POST")).count();
    assert_eq!(posts, 1, "{requests:?}");
    let post_at = requests.iter().position(|l| l.starts_with("POST")).unwrap();
    assert!(
        requests[post_at + 1].starts_with("GET /v1/service_bindings?"),
        "{requests:?}"
    );
    let events = events.lock().unwrap();
    assert!(
        events.iter().any(|e| e.to_string().contains("was lost")),
        "{events:?}"
    );
}
