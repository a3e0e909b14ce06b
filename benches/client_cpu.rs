//! The client's own CPU time per warm retrieval through the Service Manager, crate against bare
//! `reqwest`, with the simulator **in another process** so that none of its work is counted.
//!
//! The bench starts `calm simulate --tenants <file>` (the `calm` example, built in the bench
//! profile if it is missing) with 100 and 1,000 automatic-tier tenants, reads the Service Manager
//! keys it prints, and prepares per tenant a warm client (crate) and a bearer token (baseline),
//! as `benches/retrieve.rs` does. Both sides then retrieve every tenant's generated binding with
//! the same two requests (instance by name, binding by instance and name), at most
//! [`IN_FLIGHT`] tenants in flight, on one single-threaded Tokio runtime in this process.
//!
//! - `client_cpu/warm`: the time criterion reports is the CPU time this process used (user +
//!   system, all threads: `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`), not the wall time. Divide
//!   by the tenant count for the CPU time per retrieval.
//! - `client_wall/warm`: wall time of the same runs, for reference (it includes the simulator's
//!   answers and the scheduling of the two processes on shared cores).
//!
//! Before timing, the request counters check that each side sends exactly two requests per
//! tenant. Run with `cargo bench --bench client_cpu` (tenant counts: `CALM_BENCH_TENANTS`, e.g.
//! `100`).

use std::hint::black_box;
use std::io::BufReader;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use calm_credentials::{HttpClient, Purpose, ServiceKey, ServiceManager, TokenSource};
use chrono::NaiveDate;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::stream::{self, StreamExt};
use rustix::time::{ClockId, clock_gettime};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

#[path = "common/sim_process.rs"]
mod sim_process;
use sim_process::{SimProcess, calm_binary};
use tokio::runtime::Runtime;
use url::Url;

/// Tenants in flight at once.
const IN_FLIGHT: usize = 16;
/// Tenant counts measured unless `CALM_BENCH_TENANTS` lists others.
const TENANTS: [usize; 2] = [100, 1_000];
const INSTANCE: &str = "cloud-alm-api";
const BINDING: &str = "cloud-alm-api-binding";

/// Starts `calm simulate` with `n` automatic-tier tenants and returns it with what it printed.
fn start_simulator(n: usize, dir: &std::path::Path) -> (SimProcess, Value) {
    let tenants: Vec<Value> = (0..n)
        .map(|i| json!({"subdomain": format!("bench-{i:04}"), "provisioned_on": "2024-03-01"}))
        .collect();
    let file = dir.join(format!("tenants-{n}.json"));
    std::fs::write(&file, Value::from(tenants).to_string()).expect("tenant file");
    let mut child = Command::new(calm_binary())
        .arg("simulate")
        .arg("--tenants")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("calm simulate starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let process = SimProcess(child);
    let info: Value = serde_json::Deserializer::from_reader(BufReader::new(stdout))
        .into_iter::<Value>()
        .next()
        .expect("calm simulate prints its URLs and keys")
        .expect("that output is JSON");
    (process, info)
}

struct Tenant {
    sm_url: Url,
    sm: ServiceManager,
    bearer: String,
}

struct World {
    http: HttpClient,
    reqwest: reqwest::Client,
    tenants: Vec<Tenant>,
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

async fn world(info: &Value) -> World {
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

async fn crate_warm(w: &World) -> usize {
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

async fn bare_warm(w: &World) -> usize {
    stream::iter(&w.tenants)
        .map(|t| async move { black_box(bare_retrieve(w, t).await) })
        .buffer_unordered(IN_FLIGHT)
        .fold(0, |n, _| async move { n + 1 })
        .await
}

/// Panics unless both sides send exactly two requests per tenant.
fn check_requests(rt: &Runtime, w: &World) {
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

/// CPU time (user + system, every thread) this process has used so far.
fn process_cpu() -> Duration {
    let t = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Runs `f` `iters` times and returns the process CPU time (`cpu`) or the wall time they took.
fn measure<F, Fut>(rt: &Runtime, iters: u64, cpu: bool, f: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future<Output = usize>,
{
    let (cpu_start, wall_start) = (process_cpu(), Instant::now());
    for _ in 0..iters {
        black_box(rt.block_on(f()));
    }
    if cpu {
        process_cpu() - cpu_start
    } else {
        wall_start.elapsed()
    }
}

fn client_cpu(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let counts: Vec<usize> = match std::env::var("CALM_BENCH_TENANTS") {
        Ok(list) => list
            .split(',')
            .map(|n| n.trim().parse().expect("CALM_BENCH_TENANTS: e.g. 100,1000"))
            .collect(),
        Err(_) => TENANTS.to_vec(),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for n in counts {
        let (_sim, info) = start_simulator(n, dir.path());
        let w = rt.block_on(world(&info));
        check_requests(&rt, &w);
        for (group_name, cpu) in [("client_cpu/warm", true), ("client_wall/warm", false)] {
            let mut group = c.benchmark_group(group_name);
            group.throughput(Throughput::Elements(n as u64));
            group.sample_size(10);
            let id = |who: &str| BenchmarkId::new(who, format!("{n} tenants"));
            let (w, rt) = (&w, &rt);
            group.bench_function(id("reqwest (baseline)"), |b| {
                b.iter_custom(|iters| measure(rt, iters, cpu, || bare_warm(w)))
            });
            group.bench_function(id("calm_credentials"), |b| {
                b.iter_custom(|iters| measure(rt, iters, cpu, || crate_warm(w)))
            });
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = client_cpu
}
criterion_main!(benches);
