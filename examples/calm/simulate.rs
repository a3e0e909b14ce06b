//! `calm simulate`: run the simulator in the foreground so any other tool can be pointed at it.

use calm_credentials::simulator::Simulator;

use crate::output::{Outcome, print_json, read_input};
use crate::session::runtime;

#[derive(clap::Args)]
pub struct Args {
    /// Port of the main listener (token server and Service Manager); the Cloud Foundry API
    /// listens on the next one. 0 picks free ports.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// A JSON array of tenants: [{"subdomain": "acme", "provisioned_on": "2023-08-01", "region": "eu10"}].
    #[arg(long, value_name = "FILE")]
    tenants: Option<String>,
    /// How long asynchronous creates and deletes stay in progress, in milliseconds (0: done at
    /// once). Cloud Foundry jobs show PROCESSING, then POLLING, then COMPLETE.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    operation_ms: u64,
}

pub fn run(args: Args) -> Outcome {
    let mut builder = Simulator::builder()
        .port(args.port)
        .operation_duration(std::time::Duration::from_millis(args.operation_ms));
    if let Some(path) = &args.tenants {
        let text = match read_input(path) {
            Ok(t) => t,
            Err(e) => return crate::output::report_error(&e, false),
        };
        builder = match builder.tenants_from_json(&text) {
            Ok(b) => b,
            Err(msg) => {
                crate::err!("error: {path}: {msg}");
                return Outcome::BadInput;
            }
        };
    }
    runtime().block_on(async move {
        let sim = match builder.start().await {
            Ok(sim) => sim,
            Err(e) => {
                crate::err!("error: the simulator could not start: {e}");
                return Outcome::BadInput;
            }
        };
        print_json(&sim.to_json());
        crate::err!("simulator running on loopback; press Ctrl-C to stop");
        let _ = tokio::signal::ctrl_c().await;
        drop(sim);
        Outcome::Success
    })
}
