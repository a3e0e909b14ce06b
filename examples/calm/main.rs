//! `calm`: find, create, check and hand over SAP Cloud ALM API credentials.
//!
//! Human-readable output by default, `--json` for scripts; secrets only with `--show-secrets`.
//! Exit codes: 0 success, 1 the platform refused / a check failed / a deadline passed,
//! 2 bad input.

mod api;
mod cf;
mod check_key;
mod demo;
mod env;
mod fleet;
mod output;
mod retrieve;
mod session;
mod simulate;
mod sm;
mod tier;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Find, create, check and hand over SAP Cloud ALM API credentials.
#[derive(Parser)]
#[command(name = "calm", version, about, long_about = None)]
struct Cli {
    /// Log every request (method, host, path, status, attempt; never a secret) to standard error.
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the provisioning tier of a date and the setup plan that follows from it.
    Tier(tier::Args),
    /// Parse a service key, show it (secrets redacted) and run the Landscape Management upload checks.
    CheckKey(check_key::Args),
    /// Test a service key: get a token with it and report scopes, zone, expiry and signature.
    Verify(verify::Args),
    /// The Service Manager path ("Other" environment): instances and bindings.
    #[command(subcommand)]
    Sm(sm::Command),
    /// The Cloud Foundry path (legacy): instances and service keys in a space.
    #[command(subcommand)]
    Cf(cf::Command),
    /// Call the SAP Cloud ALM API with a token from a service key and print the answer.
    Api(api::Args),
    /// Many credentials at once, from a fleet manifest.
    #[command(subcommand)]
    Fleet(fleet::Command),
    /// The credentials the platform injected into this process (VCAP_SERVICES, binding folders).
    Env(env::Args),
    /// The whole journey against the built-in simulator, for tenants of all three tiers.
    Demo(demo::Args),
    /// Run the simulator in the foreground and print its URLs, Service Manager keys and CF login.
    Simulate(simulate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verbose {
        log_requests();
    }
    let outcome = match cli.command {
        Command::Tier(args) => tier::run(args),
        Command::CheckKey(args) => check_key::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Sm(command) => sm::run(command),
        Command::Cf(command) => cf::run(command),
        Command::Fleet(command) => fleet::run(command),
        Command::Env(args) => env::run(args),
        Command::Api(args) => api::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Simulate(args) => simulate::run(args),
    };
    outcome.exit_code()
}

/// Sends the crate's `tracing` events (debug and up) to standard error.
fn log_requests() {
    use std::io::IsTerminal;
    use tracing_subscriber::prelude::*;
    let only_this_crate = tracing_subscriber::filter::Targets::new()
        .with_target("calm_credentials", tracing::Level::DEBUG);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .with_filter(only_this_crate),
        )
        .init();
}
