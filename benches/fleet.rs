//! Counted fleet figures (issue 12), printed, not timed by criterion: a run is one long
//! measurement, and its interesting figures are counts.
//!
//! 1. **Scale, limits off**: `calm simulate` in its own process (so its memory is not counted);
//!    the fleet runner in this process over manifests of 1,000 and 10,000 tenants × 3 credentials
//!    (one Service Manager key, an instance per tenant), created, then the rerun. Printed:
//!    requests per credential (first run and rerun), credentials per second, and this process's
//!    peak RSS (`VmHWM`) after each size: memory must stay flat as the manifest grows.
//! 2. **700 bindings on one instance within SAP's limits**, the minute scaled to
//!    `CALM_BENCH_MINUTE_S` seconds (default 6) on both sides (in-process simulator enforcing
//!    the documented limits): 429s, wall time against the least the limits allow, and the
//!    rerun's requests.
//!
//! Run with `cargo bench --bench fleet` (sizes: `CALM_BENCH_TENANTS`, e.g. `1000,10000`).

use std::path::Path;
use std::time::{Duration, Instant};

use calm_credentials::fleet::{Fleet, FleetSummary, Manifest, RateLimits};
use calm_credentials::simulator::{Server, ServerLimits, Simulator};
use serde_json::{Value, json};

#[path = "common/sim_process.rs"]
mod sim_process;
use sim_process::SimProcess;

/// This process's peak resident set size in KiB (`VmHWM`).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A manifest of `tenants` tenants with `credentials` credentials each on the key `key.json`.
fn manifest(dir: &Path, tag: &str, tenants: usize, credentials: usize) -> Manifest {
    let list: Vec<Value> = (0..tenants)
        .map(|t| {
            let names: Vec<String> = (0..credentials).map(|c| format!("c-{c:03}")).collect();
            json!({"name": format!("{tag}-{t:05}"), "provisioned_on": "2023-01-15",
                "service_manager_key": "key.json", "purpose": "transport",
                "instance": format!("{tag}-{t:05}"), "credentials": names})
        })
        .collect();
    let text = json!({"tenants": list}).to_string();
    Manifest::parse(&text, "json", &dir.join("fleet.json"), dir).expect("manifest")
}

async fn drain(fleet: Fleet) -> FleetSummary {
    let mut run = fleet.run().expect("run");
    while let Some(outcome) = run.next().await {
        assert!(outcome.result.key().is_some(), "{}", outcome.result);
    }
    run.summary()
}

async fn scale(sizes: &[usize]) {
    let (_process, info) = SimProcess::start(&[]);
    let key = info["tenants"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["subdomain"] == "calm-auto"))
        .map(|t| t["sm_key"].clone())
        .expect("the calm-auto key");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("key.json"), key.to_string()).expect("key file");
    println!("fleet/scale: limits off, 3 credentials per tenant, 16 tenants at once");
    for (round, &n) in sizes.iter().enumerate() {
        let manifest = manifest(dir.path(), &format!("s{round}"), n, 3);
        let credentials = (n * 3) as f64;
        let fleet = || {
            Fleet::new(manifest.clone())
                .limits(RateLimits::none())
                .concurrency(16)
        };
        let started = Instant::now();
        let first = drain(fleet()).await;
        let wall = started.elapsed();
        assert_eq!((first.created, first.failed), (n * 3, 0));
        let started = Instant::now();
        let rerun = drain(fleet()).await;
        let rerun_wall = started.elapsed();
        assert_eq!((rerun.found, rerun.created), (n * 3, 0));
        println!(
            "  {n:>6} tenants: first run {:.2} requests/credential, {:.0} credentials/s; \
             rerun {:.2} requests/credential, {:.0} credentials/s; peak RSS {} MiB",
            first.requests as f64 / credentials,
            credentials / wall.as_secs_f64(),
            rerun.requests as f64 / credentials,
            credentials / rerun_wall.as_secs_f64(),
            peak_rss_kib() / 1024,
        );
    }
}

async fn seven_hundred(minute: Duration) {
    let sim = Simulator::builder()
        .rate_limits(ServerLimits::documented().minute(minute))
        .start()
        .await
        .expect("simulator");
    let dir = tempfile::tempdir().expect("temp dir");
    let key = sim.sm_key("calm-auto").expect("key").expose_json();
    std::fs::write(dir.path().join("key.json"), key.to_string()).expect("key file");
    let manifest = manifest(dir.path(), "one", 1, 700);
    let limits = RateLimits::documented()
        .scaled_to(minute)
        .margin(Duration::from_millis(50));
    let started = Instant::now();
    let first = drain(Fleet::new(manifest.clone()).limits(limits.clone())).await;
    let wall = started.elapsed();
    let records = sim.requests();
    let sm = |r: &&calm_credentials::simulator::RequestRecord| r.server == Server::ServiceManager;
    let bindings = records
        .iter()
        .filter(sm)
        .filter(|r| r.path.starts_with("/v1/service_bindings"))
        .count();
    let all = records.iter().filter(sm).count();
    // The fewest whole windows the limits allow: a full window at once, then one per limit.
    let windows = ((bindings as f64 / 600.0).ceil() - 1.0).max((all as f64 / 1000.0).ceil() - 1.0);
    let least = minute.mul_f64(windows.max(0.0));
    sim.clear_requests();
    let rerun = drain(Fleet::new(manifest).limits(limits)).await;
    let refused = records.iter().filter(|r| r.status == 429).count();
    println!(
        "fleet/700 bindings on one instance, minute = {:?}: {} created, {} 429s, {} requests \
         ({} on bindings); wall {:.2} s against the least the limits allow {:.2} s ({:.2}x); \
         rerun {} requests",
        minute,
        first.created,
        refused,
        first.requests,
        bindings,
        wall.as_secs_f64(),
        least.as_secs_f64(),
        wall.as_secs_f64() / least.as_secs_f64().max(f64::EPSILON),
        rerun.requests,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this once with no flag: then
    // only a small size, so the bench stays a quick smoke test there.
    let benching = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = std::env::var("CALM_BENCH_TENANTS")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| {
            if benching {
                vec![1_000, 10_000]
            } else {
                vec![20]
            }
        });
    let minute_s: f64 = std::env::var("CALM_BENCH_MINUTE_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6.0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        scale(&sizes).await;
        if benching {
            seven_hundred(Duration::from_secs_f64(minute_s)).await;
        }
    });
}
