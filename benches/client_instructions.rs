//! The client's instructions per warm retrieval, crate against bare `reqwest`: the workload of
//! `client_cpu` (simulator in another process, 16 tenants in flight, one single-threaded
//! runtime), made to be counted by callgrind, whose counts do not move with the machine's load
//! as CPU time does.
//!
//! One run does one side only. `CALM_BENCH_SIDE`: `crate` or `bare` (default `crate`);
//! `CALM_BENCH_TENANTS`: tenants (default 100); `CALM_BENCH_ITERS`: rounds over all tenants
//! after the warm-up (default 10). The setup (simulator, keys, tokens, a warm-up round of both
//! sides) is the same for every run, so the instructions of one retrieval are the difference
//! between two runs with different rounds, divided by the extra retrievals:
//! `benches/client_instructions.sh` does that for both sides and prints the ratio.

use std::hint::black_box;

#[path = "common/sim_process.rs"]
mod sim_process;
#[path = "common/sm_warm.rs"]
mod sm_warm;
use sm_warm::{bare_warm, check_requests, crate_warm, start_simulator, world};

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}: a whole number, got `{v}`")),
        Err(_) => default,
    }
}

fn main() {
    let side = std::env::var("CALM_BENCH_SIDE").unwrap_or_else(|_| "crate".to_owned());
    assert!(
        side == "crate" || side == "bare",
        "CALM_BENCH_SIDE: `crate` or `bare`, got `{side}`"
    );
    let tenants = env_number("CALM_BENCH_TENANTS", 100) as usize;
    let rounds = env_number("CALM_BENCH_ITERS", 10);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let (_sim, info) = start_simulator(tenants, dir.path());
    let w = rt.block_on(world(&info));
    check_requests(&rt, &w);
    for _ in 0..rounds {
        let done = if side == "crate" {
            rt.block_on(crate_warm(&w))
        } else {
            rt.block_on(bare_warm(&w))
        };
        assert_eq!(black_box(done), tenants);
    }
    println!("{side}: {rounds} rounds of {tenants} warm retrievals");
}
