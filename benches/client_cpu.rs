//! The client's own CPU time per warm retrieval through the Service Manager, crate against bare
//! `reqwest`, with the simulator **in another process** so that none of its work is counted.
//!
//! The bench starts `calm simulate --tenants <file>` (the `calm` example, built in the bench
//! profile if it is missing) with 100 and 1,000 automatic-tier tenants, reads the Service Manager
//! keys it prints, and prepares per tenant a warm client (crate) and a bearer token (baseline),
//! as `benches/retrieve.rs` does. Both sides then retrieve every tenant's generated binding with
//! the same two requests (instance by name, binding by instance and name), at most
//! [`sm_warm::IN_FLIGHT`] tenants in flight, on one single-threaded Tokio runtime in this process.
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
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rustix::time::{ClockId, clock_gettime};
use tokio::runtime::Runtime;

#[path = "common/sim_process.rs"]
mod sim_process;
#[path = "common/sm_warm.rs"]
mod sm_warm;
use sm_warm::{bare_warm, check_requests, crate_warm, start_simulator, world};

/// Tenant counts measured unless `CALM_BENCH_TENANTS` lists others.
const TENANTS: [usize; 2] = [100, 1_000];

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
