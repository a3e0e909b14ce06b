//! The client's CPU time per warm retrieval, crate against bare `reqwest`, measured in **pairs**:
//! the workload of `client_cpu` (simulator in another process, 16 tenants in flight, one
//! single-threaded runtime), but each round runs one crate pass and one bare pass back to back
//! (in alternating order) and keeps their ratio. A shared machine's load changes over seconds;
//! within a pair both sides see about the same, so the median of the per-round ratios holds
//! still where two separately sampled criterion figures do not.
//!
//! CPU time is the bench thread's (`CLOCK_THREAD_CPUTIME_ID`): the runtime is single-threaded,
//! so that is all of the client's work, the kernel's included (sending on loopback delivers the
//! packet and wakes the simulator in the sender's time). The user/system split comes from the
//! thread's tick counts in `/proc/thread-self/stat` (Linux, 10 ms ticks, summed over all rounds).
//! `CALM_BENCH_TENANTS` (default `100,1000`) and `CALM_BENCH_ROUNDS` (default 31) set the size.
//! Prints, per tenant count, the median CPU time per retrieval of each side, the median and
//! quartiles of the per-round ratio, and the user-only and system-only ratios.

use std::time::Duration;

use rustix::time::{ClockId, clock_gettime};
use tokio::runtime::Runtime;

#[path = "common/sim_process.rs"]
mod sim_process;
#[path = "common/sm_warm.rs"]
mod sm_warm;
use sm_warm::{World, bare_warm, check_requests, crate_warm, start_simulator, world};

fn thread_cpu() -> Duration {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// This thread's user and system time so far, in clock ticks (`None` off Linux).
fn thread_ticks() -> Option<[u64; 2]> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and
    // 13th of them.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let mut next = || fields.next()?.parse().ok();
    Some([next()?, next()?])
}

/// One side's totals over the rounds.
#[derive(Default)]
struct Side {
    per_retrieval_us: Vec<f64>,
    ticks: [u64; 2],
}

/// CPU time of one pass over every tenant by one side; adds its ticks to `side`.
fn pass(rt: &Runtime, w: &World, crate_side: bool, side: &mut Side) -> Duration {
    let (start, ticks) = (thread_cpu(), thread_ticks());
    let done = if crate_side {
        rt.block_on(crate_warm(w))
    } else {
        rt.block_on(bare_warm(w))
    };
    assert_eq!(done, w.tenants.len());
    let spent = thread_cpu() - start;
    if let (Some(a), Some(b)) = (ticks, thread_ticks()) {
        side.ticks[0] += b[0] - a[0];
        side.ticks[1] += b[1] - a[1];
    }
    side.per_retrieval_us
        .push(spent.as_secs_f64() * 1e6 / w.tenants.len() as f64);
    spent
}

/// The value at fraction `q` of sorted `v`.
fn quantile(v: &[f64], q: f64) -> f64 {
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let counts: Vec<usize> = std::env::var("CALM_BENCH_TENANTS")
        .unwrap_or_else(|_| "100,1000".to_owned())
        .split(',')
        .map(|n| n.trim().parse().expect("CALM_BENCH_TENANTS: e.g. 100,1000"))
        .collect();
    let rounds: usize = std::env::var("CALM_BENCH_ROUNDS")
        .map(|n| n.trim().parse().expect("CALM_BENCH_ROUNDS: a number"))
        .unwrap_or(31);
    assert!(rounds > 0, "CALM_BENCH_ROUNDS: at least 1");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    for n in counts {
        let (_sim, info) = start_simulator(n, dir.path());
        let w = rt.block_on(world(&info));
        check_requests(&rt, &w);
        let (mut ours, mut bare, mut ratios) = (Side::default(), Side::default(), Vec::new());
        for round in 0..rounds {
            let (c, b) = if round % 2 == 0 {
                let c = pass(&rt, &w, true, &mut ours);
                (c, pass(&rt, &w, false, &mut bare))
            } else {
                let b = pass(&rt, &w, false, &mut bare);
                (pass(&rt, &w, true, &mut ours), b)
            };
            ratios.push(c.as_secs_f64() / b.as_secs_f64());
        }
        for v in [
            &mut ours.per_retrieval_us,
            &mut bare.per_retrieval_us,
            &mut ratios,
        ] {
            v.sort_by(f64::total_cmp);
        }
        let split = |i: usize| ours.ticks[i] as f64 / bare.ticks[i].max(1) as f64;
        println!(
            "{n} tenants, {rounds} rounds: crate {:.1} µs, bare reqwest {:.1} µs per retrieval (medians); ratio median {:.3} (quartiles {:.3}-{:.3}); user time {:.3} ({} / {} ticks), system time {:.3} ({} / {} ticks)",
            quantile(&ours.per_retrieval_us, 0.5),
            quantile(&bare.per_retrieval_us, 0.5),
            quantile(&ratios, 0.5),
            quantile(&ratios, 0.25),
            quantile(&ratios, 0.75),
            split(0),
            ours.ticks[0],
            bare.ticks[0],
            split(1),
            ours.ticks[1],
            bare.ticks[1],
        );
    }
}
