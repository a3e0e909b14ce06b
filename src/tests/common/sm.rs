//! Fixtures for Service Manager contract tests: a wiremock server, a client pointed at it,
//! and the JSON shapes the Service Manager sends.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::http::{HttpClient, RetryPolicy};
use crate::journey::RetrieveOptions;
use crate::service_manager::ServiceManager;
use crate::wait::{Progress, ProgressEvent, WaitOptions};
use crate::{ServiceKey, TokenSource};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;
use wiremock::{MockServer, Request};

pub const SECRET: &str = "hunter2-binding-secret";

pub fn fast_http() -> HttpClient {
    HttpClient::builder()
        .retry_policy(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_millis(1500),
        })
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A client with a warm (static) token: only API requests reach the server.
pub fn warm_sm(server: &MockServer) -> ServiceManager {
    ServiceManager::with_base_url(
        Url::parse(&server.uri()).unwrap(),
        TokenSource::static_token(SecretString::from("sm-token")),
        fast_http(),
    )
    .unwrap()
}

/// A client built from a Service Manager key whose token server is the mock too.
pub fn cold_sm(server: &MockServer) -> ServiceManager {
    let key = ServiceKey::from_value(json!({
        "clientid": "sb-sm!b1|service-manager!b2",
        "clientsecret": "sm-secret",
        "url": server.uri(),
        "sm_url": server.uri(),
        "xsappname": "sm"
    }))
    .unwrap();
    ServiceManager::new(&key, fast_http()).unwrap()
}

pub fn token_body(scope: &str) -> Value {
    json!({"access_token": "tok", "token_type": "bearer", "expires_in": 3600, "scope": scope})
}

/// Options that create, with short waits, recording progress events.
pub fn opts(create: bool) -> (RetrieveOptions, Arc<Mutex<Vec<ProgressEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let wait = WaitOptions::with_timeout(Duration::from_secs(5))
        .intervals(Duration::from_millis(5), Duration::from_millis(20))
        .progress(Progress::new(move |e| sink.lock().unwrap().push(e.clone())));
    let mut o = RetrieveOptions::default().create(create);
    o.wait = wait;
    (o, events)
}

pub fn page(items: Vec<Value>, token: Option<&str>) -> Value {
    let mut p = json!({"num_items": items.len(), "items": items});
    if let Some(t) = token {
        p["token"] = json!(t);
    }
    p
}

pub fn offering(id: &str) -> Value {
    json!({"id": id, "name": "SAPCloudALMAPIs", "catalog_name": "SAPCloudALMAPIs", "bindable": true})
}

pub fn plan(id: &str, offering_id: &str) -> Value {
    json!({"id": id, "name": "standard", "service_offering_id": offering_id})
}

pub fn instance(id: &str, name: &str, ready: bool) -> Value {
    json!({
        "id": id, "name": name, "service_plan_id": "p1", "ready": ready, "usable": ready,
        "created_at": "2024-03-01T10:00:00Z", "updated_at": "2024-03-01T10:00:00Z",
        "labels": {"subaccount_id": ["sa"]}, "subaccount_id": "sa"
    })
}

pub fn credentials(token_server: &str) -> Value {
    json!({
        "endpoints": {"Api": "https://eu10.alm.cloud.sap/api"},
        "uaa": {
            "clientid": "sb-calm!b1|sapcloudalm!b2",
            "clientsecret": SECRET,
            "url": token_server,
            "identityzone": "acme",
            "credential-type": "binding-secret"
        }
    })
}

pub fn binding(id: &str, name: &str, instance_id: &str, token_server: &str) -> Value {
    json!({
        "id": id, "name": name, "service_instance_id": instance_id,
        "service_instance_name": "calm", "ready": true,
        "created_at": "2024-03-01T10:05:00Z", "labels": {"subaccount_id": ["sa"]},
        "credentials": credentials(token_server),
        "context": {"platform": "service-manager"}
    })
}

/// The query pairs of a received request.
pub fn pairs(r: &Request) -> Vec<(String, String)> {
    r.url.query_pairs().into_owned().collect()
}

pub fn value_of(r: &Request, key: &str) -> Option<String> {
    pairs(r).into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Received requests as `METHOD /path`.
pub async fn log(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

pub async fn count(server: &MockServer, method: &str, path_prefix: &str) -> usize {
    log(server)
        .await
        .iter()
        .filter(|l| l.starts_with(&format!("{method} {path_prefix}")))
        .count()
}
