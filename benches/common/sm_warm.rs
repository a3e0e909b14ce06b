//! Warm retrievals through the Service Manager, crate against bare `reqwest`, against
//! `calm simulate` running as another process: shared by `client_cpu` (CPU time) and
//! `client_instructions` (instruction counts under callgrind).

use std::ffi::OsStr;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use calm_credentials::{HttpClient, Purpose, ServiceKey, ServiceManager, TokenSource};
use chrono::NaiveDate;
use futures_util::stream::{self, StreamExt};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use url::Url;

use super::sim_process::SimProcess;

/// Tenants in flight at once.
pub const IN_FLIGHT: usize = 16;
const INSTANCE: &str = "cloud-alm-api";
const BINDING: &str = "cloud-alm-api-binding";

/// Starts `calm simulate` with `n` automatic-tier tenants and returns it with what it printed.
pub fn start_simulator(n: usize, dir: &std::path::Path) -> (SimProcess, Value) {
    let tenants: Vec<Value> = (0..n)
        .map(|i| json!({"subdomain": format!("bench-{i:04}"), "provisioned_on": "2024-03-01"}))
        .collect();
    let file = dir.join(format!("tenants-{n}.json"));
    std::fs::write(&file, Value::from(tenants).to_string()).expect("tenant file");
    SimProcess::start(&[OsStr::new("--tenants"), file.as_os_str()])
}

pub struct Tenant {
    sm_url: Url,
    sm: ServiceManager,
    bearer: String,
}

pub struct World {
    pub http: HttpClient,
    reqwest: reqwest::Client,
    pub tenants: Vec<Tenant>,
    baseline_requests: AtomicU64,
}

/// Every bench tenant: provisioned 2024-03-01 (automatic tier).
fn tenant() -> calm_credentials::Tenant {
    let date = NaiveDate::from_ymd_opt(2024, 3, 1).expect("valid date");
    calm_credentials::Tenant::new("bench", "eu10").provisioned_on(date)
}

/// One warm retrieval through the crate's public API.
async fn crate_retrieve(sm: &ServiceManager, tenant: &calm_credentials::Tenant) -> usize {
    let got = sm
        .credentials(tenant, Purpose::OperationsMonitoring)
        .instance(INSTANCE)
        .name(BINDING)
        .await
        .expect("crate retrieve");
    got.key.client_id().len()
}

pub async fn world(info: &Value) -> World {
    let http = HttpClient::new().expect("http client");
    let mut tenants = Vec::new();
    for t in info["tenants"].as_array().expect("tenants") {
        let key = ServiceKey::from_value(t["sm_key"].clone()).expect("SM key parses");
        let sm_url = key.service_manager_url().expect("sm_url").clone();
        let tokens = TokenSource::from_service_key(&key, &http).expect("token source");
        let bearer = tokens
            .token()
            .await
            .expect("token")
            .secret()
            .expose_secret()
            .to_owned();
        let sm = ServiceManager::from_key(&key)
            .expect("service manager")
            .with_http(http.clone());
        // Warm the handle's own token outside the timed part.
        crate_retrieve(&sm, &tenant()).await;
        tenants.push(Tenant { sm_url, sm, bearer });
    }
    World {
        http,
        reqwest: reqwest::Client::new(),
        tenants,
        baseline_requests: AtomicU64::new(0),
    }
}

pub async fn crate_warm(w: &World) -> usize {
    let tenant = tenant();
    stream::iter(&w.tenants)
        .map(|t| {
            let tenant = &tenant;
            async move { black_box(crate_retrieve(&t.sm, tenant).await) }
        })
        .buffer_unordered(IN_FLIGHT)
        .fold(0, |n, _| async move { n + 1 })
        .await
}

async fn get_json(w: &World, mut url: Url, bearer: &str, query: &str) -> Value {
    url.query_pairs_mut().append_pair("fieldQuery", query);
    w.baseline_requests.fetch_add(1, Ordering::Relaxed);
    w.reqwest
        .get(url)
        .bearer_auth(bearer)
        .send()
        .await
        .expect("baseline request")
        .error_for_status()
        .expect("baseline status")
        .json()
        .await
        .expect("baseline JSON")
}

/// The two requests, parsed into `serde_json::Value`; returns the binding's credentials.
async fn bare_retrieve(w: &World, t: &Tenant) -> Value {
    let instances = get_json(
        w,
        t.sm_url.join("v1/service_instances").expect("url"),
        &t.bearer,
        &format!("name eq '{INSTANCE}'"),
    )
    .await;
    let id = instances["items"][0]["id"].as_str().expect("instance id");
    let mut bindings = get_json(
        w,
        t.sm_url.join("v1/service_bindings").expect("url"),
        &t.bearer,
        &format!("service_instance_id eq '{id}' and name eq '{BINDING}'"),
    )
    .await;
    let credentials = bindings["items"][0]["credentials"].take();
    assert!(credentials["uaa"]["clientid"].is_string());
    credentials
}

pub async fn bare_warm(w: &World) -> usize {
    stream::iter(&w.tenants)
        .map(|t| async move { black_box(bare_retrieve(w, t).await) })
        .buffer_unordered(IN_FLIGHT)
        .fold(0, |n, _| async move { n + 1 })
        .await
}

/// Panics unless both sides send exactly two requests per tenant.
pub fn check_requests(rt: &Runtime, w: &World) {
    let n = w.tenants.len() as u64;
    let before = w.http.request_count();
    rt.block_on(crate_warm(w));
    assert_eq!(
        w.http.request_count() - before,
        2 * n,
        "crate: two requests per tenant"
    );
    let before = w.baseline_requests.load(Ordering::Relaxed);
    rt.block_on(bare_warm(w));
    assert_eq!(
        w.baseline_requests.load(Ordering::Relaxed) - before,
        2 * n,
        "baseline: two requests per tenant"
    );
}
