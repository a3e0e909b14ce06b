//! `calm`: find, create, check and hand over SAP Cloud ALM API credentials.
//!
//! Human-readable output by default, `--json` for scripts; secrets only with `--show-secrets`.
//! Exit codes: 0 success, 1 the platform refused / a check failed / a deadline passed,
//! 2 bad input.

mod check_key;
mod output;
mod tier;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Find, create, check and hand over SAP Cloud ALM API credentials.
#[derive(Parser)]
#[command(name = "calm", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the provisioning tier of a date and the setup plan that follows from it.
    Tier(tier::Args),
    /// Parse a service key, show it (secrets redacted) and run the Landscape Management upload checks.
    CheckKey(check_key::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Tier(args) => tier::run(args),
        Command::CheckKey(args) => check_key::run(args),
    };
    outcome.exit_code()
}
