//! Retrieving existing SAP Cloud ALM API credentials through the Service Manager for 1, 100
//! and 1,000 tenants, against the same minimal requests sent with bare `reqwest` (the floor:
//! any client must at least send these requests and read their JSON).
//!
//! Every tenant is of the automatic tier (provisioned 2024-03-01), so the simulator seeds the
//! generated instance `cloud-alm-api` with binding `cloud-alm-api-binding`, and each has its own
//! Service Manager key. Tenants are served by one in-process simulator on loopback, with at most
//! [`IN_FLIGHT`] tenants in flight (`buffer_unordered`); the simulator shares the runtime and
//! the machine's cores with the clients, so both sides pay the same server cost.
//!
//! - `warm`: the Service Manager handles (crate) and bearer tokens (baseline) are made once,
//!   outside the timed loop, and each handle gets its token (one untimed journey) before
//!   timing; the timed part is
//!   the two requests per tenant: `GET /v1/service_instances?fieldQuery=name eq '…' and
//!   platform_id eq 'service-manager'` and
//!   `GET /v1/service_bindings?fieldQuery=service_instance_id eq '…' and name eq '…'`. The setup
//!   checks with the simulator's request log that the crate sends exactly these two requests
//!   per tenant (and panics otherwise), so crate and baseline do the same work on the wire.
//! - `cold`: each iteration starts without a token: a new handle per tenant, made from the warm
//!   one with `ServiceManager::with_http` (the same key, a token source of its own, the shared
//!   transport), so three requests per tenant (token, instance, binding); the baseline posts
//!   the same client-credentials form to the token endpoint first. The setup checks with the
//!   request log that every cold handle asks for its own token.
//!
//! Both sides share one connection pool across all tenants (one `HttpClient` / one
//! `reqwest::Client`). Run with `cargo bench --features simulator --bench retrieve`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use calm_credentials::simulator::{RequestRecord, Server, Simulator, TenantSpec};
use calm_credentials::{
    ClientAuth, CredentialsBuilder, HttpClient, Purpose, ServiceKey, ServiceManager, Tenant,
    TokenSource,
};
use chrono::NaiveDate;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::stream::{self, StreamExt};
use secrecy::ExposeSecret;
use serde_json::Value;
use tokio::runtime::Runtime;
use url::Url;

/// Tenants in flight at once.
const IN_FLIGHT: usize = 16;
/// Tenant counts measured, unless `CALM_BENCH_TENANTS` lists others (e.g. `100` or `1,100`,
/// handy when profiling one case).
const TENANTS: [usize; 3] = [1, 100, 1_000];
/// The generated instance and binding of the automatic tier (the simulator's seed).
const INSTANCE: &str = "cloud-alm-api";
const BINDING: &str = "cloud-alm-api-binding";

/// One tenant as both sides see it.
struct Subaccount {
    /// The tenant's Service Manager key (the baseline's cold runs start from it).
    key: ServiceKey,
    /// `sm_url`.
    sm_url: Url,
    /// The tenant, with its provisioning day.
    tenant: Tenant,
    /// Crate: a Service Manager handle whose token source already holds a token.
    sm: ServiceManager,
    /// Baseline: a token of the same client, as a bare bearer string.
    bearer: String,
}

/// A simulator with `n` automatic-tier tenants, and per tenant a warm client and token.
struct World {
    sim: Simulator,
    http: HttpClient,
    reqwest: reqwest::Client,
    tenants: Vec<Subaccount>,
}

/// The journey: the generated instance and binding, by name, find only.
fn journey<'a>(sm: &'a ServiceManager, tenant: &Tenant) -> CredentialsBuilder<'a> {
    sm.credentials(tenant, Purpose::OperationsMonitoring)
        .instance(INSTANCE)
        .name(BINDING)
}

async fn world(n: usize) -> World {
    let date = NaiveDate::from_ymd_opt(2024, 3, 1).expect("valid date");
    let mut builder = Simulator::builder().without_default_tenants();
    for i in 0..n {
        builder = builder.tenant(TenantSpec::new(format!("bench-{i:04}"), date));
    }
    let sim = builder.start().await.expect("simulator starts");
    let http = HttpClient::new().expect("http client");
    let mut tenants = Vec::with_capacity(n);
    for info in sim.tenants() {
        let key = sim.sm_key(&info.subdomain).expect("seeded tenant");
        let sm_url = key.service_manager_url().expect("sm_url").clone();
        let tenant = sim.tenant(&info.subdomain).expect("seeded tenant");
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
        // Gets the handle its token, untimed.
        journey(&sm, &tenant).await.expect("crate warm-up");
        tenants.push(Subaccount {
            key,
            sm_url,
            tenant,
            sm,
            bearer,
        });
    }
    World {
        sim,
        http,
        reqwest: reqwest::Client::new(),
        tenants,
    }
}

// --- the crate -------------------------------------------------------------------------------

/// Crate, warm: the journey with every tenant's prepared handle; returns the tenants served.
async fn crate_warm(w: &World) -> usize {
    stream::iter(&w.tenants)
        .map(|t| async move {
            let got = journey(&t.sm, &t.tenant).await.expect("crate retrieve");
            black_box(got.key.client_id().len())
        })
        .buffer_unordered(IN_FLIGHT)
        .fold(0, |n, _| async move { n + 1 })
        .await
}

/// Crate, cold: a new handle (and so a new token source) per tenant, then the journey.
async fn crate_cold(w: &World) -> usize {
    stream::iter(&w.tenants)
        .map(|t| async move {
            let sm = t.sm.clone().with_http(w.http.clone());
            let got = journey(&sm, &t.tenant).await.expect("crate retrieve");
            black_box(got.key.client_id().len())
        })
        .buffer_unordered(IN_FLIGHT)
        .fold(0, |n, _| async move { n + 1 })
        .await
}

// --- the baseline: bare reqwest --------------------------------------------------------------

async fn get_json(client: &reqwest::Client, mut url: Url, bearer: &str, query: &str) -> Value {
    url.query_pairs_mut().append_pair("fieldQuery", query);
    client
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
async fn bare_retrieve(client: &reqwest::Client, sm_url: &Url, bearer: &str) -> Value {
    let instances = get_json(
        client,
        sm_url.join("v1/service_instances").expect("url"),
        bearer,
        &format!("name eq '{INSTANCE}' and platform_id eq 'service-manager'"),
    )
    .await;
    let id = instances["items"][0]["id"]
        .as_str()
        .expect("instance id")
        .to_owned();
    let mut bindings = get_json(
        client,
        sm_url.join("v1/service_bindings").expect("url"),
        bearer,
        &format!("service_instance_id eq '{id}' and name eq '{BINDING}'"),
    )
    .await;
    let credentials = bindings["items"][0]["credentials"].take();
    assert!(
        credentials["uaa"]["clientid"].is_string(),
        "baseline: the binding carries no credentials.uaa.clientid"
    );
    credentials
}

/// Baseline, warm: the two requests per tenant with the prepared bearer tokens.
async fn bare_warm(w: &World) -> usize {
    stream::iter(&w.tenants)
        .map(|t| async move { black_box(bare_retrieve(&w.reqwest, &t.sm_url, &t.bearer).await) })
        .buffer_unordered(IN_FLIGHT)
        .fold(0, |n, _| async move { n + 1 })
        .await
}

/// Baseline, cold: the client-credentials token request first, as the crate sends it.
async fn bare_cold(w: &World) -> usize {
    stream::iter(&w.tenants)
        .map(|t| async move {
            let token_url = t.key.token_url();
            let secret = sm_secret(&t.key);
            let token: Value = w
                .reqwest
                .post(token_url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", t.key.client_id()),
                    ("client_secret", secret.as_str()),
                ])
                .send()
                .await
                .expect("baseline token request")
                .error_for_status()
                .expect("baseline token status")
                .json()
                .await
                .expect("baseline token JSON");
            let bearer = token["access_token"].as_str().expect("access_token");
            black_box(bare_retrieve(&w.reqwest, &t.sm_url, bearer).await)
        })
        .buffer_unordered(IN_FLIGHT)
        .fold(0, |n, _| async move { n + 1 })
        .await
}

fn sm_secret(key: &ServiceKey) -> String {
    match key.client_auth() {
        ClientAuth::Secret { secret } => secret.expose_secret().to_owned(),
        _ => panic!("the simulator's Service Manager keys carry a client secret"),
    }
}

// --- honesty checks --------------------------------------------------------------------------

/// The requests of one run, as `(server, method, path, decoded query)`, sorted.
fn wire(records: &[RequestRecord]) -> Vec<(Server, String, String, String)> {
    let mut out: Vec<_> = records
        .iter()
        .map(|r| {
            let query = r.query.as_deref().map(decode).unwrap_or_default();
            (r.server, r.method.clone(), r.path.clone(), query)
        })
        .collect();
    out.sort_by(|a, b| (&a.1, &a.2, &a.3).cmp(&(&b.1, &b.2, &b.3)));
    out
}

fn decode(query: &str) -> String {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Panics unless the crate and the baseline send the same requests: two per tenant when warm
/// (three with the token request when cold), all answered 200.
fn check_wire(rt: &Runtime, w: &World) {
    let n = w.tenants.len();
    let run = |label: &str, per_tenant: usize, f: &dyn Fn() -> usize| {
        w.sim.clear_requests();
        assert_eq!(f(), n, "{label}: not every tenant was served");
        let records = w.sim.requests();
        assert!(
            records.iter().all(|r| r.status == 200),
            "{label}: a request failed: {records:?}"
        );
        assert_eq!(
            records.len(),
            per_tenant * n,
            "{label}: expected exactly {per_tenant} requests per tenant, the simulator saw {}: {:?}",
            records.len(),
            &records[..records.len().min(8)]
        );
        wire(&records)
    };
    let crate_warm_wire = run("crate warm", 2, &|| rt.block_on(crate_warm(w)));
    let bare_warm_wire = run("baseline warm", 2, &|| rt.block_on(bare_warm(w)));
    assert_eq!(
        crate_warm_wire, bare_warm_wire,
        "the crate's warm journey does not send the baseline's two requests per tenant \
         (instance by name, binding by instance and name); the comparison would be unfair"
    );
    let crate_cold_wire = run("crate cold", 3, &|| rt.block_on(crate_cold(w)));
    let bare_cold_wire = run("baseline cold", 3, &|| rt.block_on(bare_cold(w)));
    let tokens = |wire: &[(Server, String, String, String)]| {
        wire.iter().filter(|r| r.0 == Server::Token).count()
    };
    assert_eq!(
        tokens(&crate_cold_wire),
        n,
        "crate cold: one token per tenant"
    );
    assert_eq!(
        tokens(&bare_cold_wire),
        n,
        "baseline cold: one token per tenant"
    );
    let api = |wire: Vec<(Server, String, String, String)>| {
        wire.into_iter()
            .filter(|r| r.0 == Server::ServiceManager)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        api(crate_cold_wire),
        api(bare_cold_wire),
        "cold: the crate's Service Manager requests differ from the baseline's"
    );
    w.sim.clear_requests();
}

// --- criterion -------------------------------------------------------------------------------

/// Times `iters` runs of `f`; the simulator's request log is emptied after each run (untimed)
/// so it does not grow over the measurement.
async fn timed<F, Fut>(w: &World, iters: u64, f: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future<Output = usize>,
{
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        black_box(f().await);
        total += start.elapsed();
        w.sim.clear_requests();
    }
    total
}

fn retrieve_bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let counts: Vec<usize> = match std::env::var("CALM_BENCH_TENANTS") {
        Ok(list) => list
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .expect("CALM_BENCH_TENANTS: tenant counts, e.g. 1,100")
            })
            .collect(),
        Err(_) => TENANTS.to_vec(),
    };
    for n in counts {
        let w = rt.block_on(world(n));
        check_wire(&rt, &w);
        for temperature in ["warm", "cold"] {
            let mut group = c.benchmark_group(format!("retrieve/{temperature}"));
            group.throughput(Throughput::Elements(n as u64));
            if n >= 1_000 {
                group.sample_size(10);
            } else if n >= 100 {
                group.sample_size(20);
            }
            let w = &w;
            let id = |who: &str| BenchmarkId::new(who, format!("{n} tenants"));
            if temperature == "warm" {
                group.bench_function(id("reqwest (baseline)"), |b| {
                    b.to_async(&rt)
                        .iter_custom(|iters| timed(w, iters, move || bare_warm(w)))
                });
                group.bench_function(id("calm_credentials"), |b| {
                    b.to_async(&rt)
                        .iter_custom(|iters| timed(w, iters, move || crate_warm(w)))
                });
            } else {
                group.bench_function(id("reqwest (baseline)"), |b| {
                    b.to_async(&rt)
                        .iter_custom(|iters| timed(w, iters, move || bare_cold(w)))
                });
                group.bench_function(id("calm_credentials"), |b| {
                    b.to_async(&rt)
                        .iter_custom(|iters| timed(w, iters, move || crate_cold(w)))
                });
            }
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    // Short runs: the figures come from a shared 2-core machine (see BENCHMARKS.md).
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = retrieve_bench
}
criterion_main!(benches);
