//! `calm verify <FILE|->`: the Landscape Management app's "Test Service Key", from a shell.

use calm_credentials::{SignatureCheck, Verification};

use crate::output::{Outcome, print_json, report_error};
use crate::session::{Spinner, http, read_key, runtime};

#[derive(clap::Args)]
pub struct Args {
    /// The key file, or `-` for standard input.
    file: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Outcome {
    let key = match read_key(&args.file) {
        Ok(k) => k,
        Err(e) => return report_error(&e, args.json),
    };
    let spinner = Spinner::start("asking the token server for a token");
    let result = runtime().block_on(async {
        let http = http()?;
        calm_credentials::verify(&key, &http).await
    });
    spinner.finish();
    match result {
        Ok(v) => {
            if args.json {
                print_json(&serde_json::to_value(&v).unwrap_or_default());
            } else {
                print_human(&v);
            }
            if v.works {
                Outcome::Success
            } else {
                Outcome::Failed
            }
        }
        Err(e) => report_error(&e, args.json),
    }
}

pub fn print_human(v: &Verification) {
    crate::out!("works          {}", if v.works { "yes" } else { "NO" });
    if let Some(p) = &v.problem {
        crate::out!("problem        {p}");
    }
    crate::out!("client id      {}", v.client_id);
    if let Some(z) = &v.identity_zone {
        crate::out!("identity zone  {z}");
    }
    if let Some(z) = &v.zone_id {
        crate::out!("zone id        {z}");
    }
    if v.works {
        crate::out!(
            "scopes         {}",
            if v.scopes.is_empty() {
                "(none)".to_owned()
            } else {
                v.scopes.join(" ")
            }
        );
    }
    if let Some(at) = v.token_expires_at {
        crate::out!("token expires  {}", at.format("%Y-%m-%d %H:%M:%S UTC"));
    }
    let signature = match &v.signature {
        SignatureCheck::Valid => "valid (checked with uaa.verificationkey)".to_owned(),
        SignatureCheck::Invalid(why) => format!("INVALID: {why}"),
        SignatureCheck::NotChecked(why) => format!("not checked: {why}"),
        _ => "unknown".to_owned(),
    };
    crate::out!("signature      {signature}");
    if let (Some(at), Some(days)) = (v.certificate_expires_at, v.certificate_days_left) {
        crate::out!(
            "certificate    expires {} ({days} days left)",
            at.format("%Y-%m-%d")
        );
    }
}
