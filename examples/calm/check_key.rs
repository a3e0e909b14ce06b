//! `calm check-key <FILE|->`: parse a service key and run the Landscape Management upload checks.

use calm_credentials::ServiceKey;
use calm_credentials::{CheckStatus, UploadReport, upload_checks};
use serde_json::{Value, json};

use crate::output::{Outcome, print_json, read_input, report_error};

#[derive(clap::Args)]
pub struct Args {
    /// The key file, or `-` for standard input.
    file: String,
    /// The tenant's subaccount subdomain, to check that the key belongs to it.
    #[arg(long, value_name = "ZONE")]
    tenant_zone: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Outcome {
    let text = match read_input(&args.file) {
        Ok(t) => t,
        Err(e) => return report_error(&e, args.json),
    };
    let report = upload_checks(&text, args.tenant_zone.as_deref());
    match ServiceKey::from_json(&text) {
        Ok(key) => {
            if args.json {
                print_json(&key_json(&key, &report));
            } else {
                print_key(&key);
                print_report(&report);
            }
            if report.passed() {
                Outcome::Success
            } else {
                Outcome::Failed
            }
        }
        Err(err) => {
            if args.json {
                print_json(
                    &json!({ "service_key": false, "error": err.to_string(), "checks": report.outcomes, "passed": false }),
                );
            } else {
                crate::err!("error: this is not a usable service key: {err}");
                print_report(&report);
            }
            Outcome::BadInput
        }
    }
}

fn kind(key: &ServiceKey) -> String {
    let auth = if key.is_x509() {
        "X.509 certificate"
    } else {
        "client secret"
    };
    match key.credential_type() {
        Some(t) => format!("{t} ({auth})"),
        None => format!("undeclared credential type ({auth})"),
    }
}

fn key_json(key: &ServiceKey, report: &UploadReport) -> Value {
    json!({
        "service_key": true,
        "kind": key.credential_type().map(|t| t.as_str().to_owned()),
        "authentication": if key.is_x509() { "x509" } else { "secret" },
        "client_id": key.client_id(),
        "token_url": shown_url(&key.token_url()),
        "api_url": key.api_url().map(shown_url),
        "identity_zone": key.identity_zone(),
        "credentials": key.redacted_json(),
        "checks": report.outcomes,
        "passed": report.passed(),
    })
}

fn print_key(key: &ServiceKey) {
    crate::out!("kind           {}", kind(key));
    crate::out!("client id      {}", key.client_id());
    crate::out!("token URL      {}", shown_url(&key.token_url()));
    crate::out!(
        "API URL        {}",
        key.api_url()
            .map_or("(none: no endpoints.Api)".to_owned(), shown_url)
    );
    if let Some(zone) = key.identity_zone() {
        crate::out!("identity zone  {zone}");
    }
    crate::out!("secret         [REDACTED]");
}

fn print_report(report: &UploadReport) {
    crate::out!("Landscape Management upload checks:");
    for o in &report.outcomes {
        let mark = match o.status {
            CheckStatus::Passed => "pass",
            CheckStatus::Failed => "FAIL",
            _ => "skip",
        };
        crate::out!("  [{mark}] {}: {}", o.check.describe(), o.detail);
    }
}

/// A URL as it is shown: without user info, query or fragment (they may hold secrets).
fn shown_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}
