//! `calm env`: the credentials the platform injected into this process (`VCAP_SERVICES`,
//! Kubernetes service-binding directories), found as SAP's `@sap/xsenv` finds them.

use calm_credentials::runtime::{self, ProcessEnv, Query, Service};
use serde_json::{Value, json};

use calm_credentials::SinkContext;

use crate::output::{Outcome, print_json, report_error};
use crate::retrieve::{OutputArgs, print_written, with_written, write_all};

#[derive(clap::Args)]
pub struct Args {
    /// Select by offering label (default SAPCloudALMAPIs when no --name is given).
    #[arg(long, value_name = "LABEL")]
    label: Option<String>,
    /// Select by service (binding or instance) name.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// List every service found in every source instead of selecting one.
    #[arg(long)]
    all: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Show secrets instead of [REDACTED].
    #[arg(long)]
    show_secrets: bool,
    #[command(flatten)]
    outputs: OutputArgs,
}

pub fn run(args: Args) -> Outcome {
    let sinks = match args.outputs.checked() {
        Ok(s) => s,
        Err(e) => return report_error(&e, args.json),
    };
    if args.all && !sinks.is_empty() {
        return report_error(
            &calm_credentials::Error::Config {
                setting: "--output with --all".into(),
                reason: "--output writes one service's credentials; select one instead of --all"
                    .into(),
            },
            args.json,
        );
    }
    let listing = runtime::list(&ProcessEnv::from_process());
    if args.all {
        if args.json {
            print_json(&if args.show_secrets {
                listing.expose_json()
            } else {
                listing.redacted_json()
            });
        } else {
            for s in &listing.services {
                print_service(s, args.show_secrets);
            }
            for r in &listing.sources {
                crate::out!("looked at {}: {}", r.source, r.outcome);
            }
            for p in &listing.problems {
                crate::err!("problem: {p}");
            }
        }
        return Outcome::Success;
    }
    let query = Query::from_options(args.name.as_deref(), args.label.as_deref());
    let found = match listing.select(&query) {
        Ok(found) => found,
        Err(e) => return report_error(&e, args.json),
    };
    let key = found.service_key();
    let written = match (&key, sinks.is_empty()) {
        (_, true) => Vec::new(),
        (Ok(key), false) => {
            match write_all(&sinks, key, &SinkContext::from_runtime(&found.service)) {
                Ok(w) => w,
                Err(e) => return report_error(&e, args.json),
            }
        }
        (Err(e), false) => return report_error(e, args.json),
    };
    if args.json {
        print_json(&with_written(
            "service",
            service_json(&found.service, args.show_secrets),
            &written,
        ));
    } else {
        print_service(&found.service, args.show_secrets);
        print_written(&written);
    }
    for w in &found.warnings {
        eprintln!("warning: {w}");
    }
    if let Err(e) = key {
        eprintln!("warning: the credentials are not a usable service key: {e}");
    }
    Outcome::Success
}

fn service_json(s: &Service, show_secrets: bool) -> Value {
    if show_secrets {
        s.expose_json()
    } else {
        s.redacted_json()
    }
}

fn print_service(s: &Service, show_secrets: bool) {
    crate::out!("service      {}", s.name());
    crate::out!("source       {}", s.source());
    if let Some(l) = s.label() {
        crate::out!("label        {l}");
    }
    if let Some(p) = s.plan() {
        crate::out!("plan         {p}");
    }
    let tags = s.tags();
    if !tags.is_empty() {
        crate::out!("tags         {}", tags.join(", "));
    }
    let creds = if show_secrets {
        s.expose_credentials().clone()
    } else {
        s.redacted_credentials()
    };
    crate::out!(
        "credentials  {}",
        serde_json::to_string_pretty(&json!(creds)).unwrap_or_default()
    );
}
