//! `calm api METHOD PATH --key FILE|-`: call the Cloud ALM API with a token from the key.

use calm_credentials::Error;
use calm_credentials::api::CalmApi;
use calm_credentials::api::Method;
use serde_json::{Value, json};

use crate::output::{Outcome, print_json, read_input, report_error};
use crate::session::{http, read_key, runtime};

#[derive(clap::Args)]
pub struct Args {
    /// GET, POST, PUT, PATCH or DELETE.
    method: String,
    /// A path below the key's endpoints.Api, with an optional ?query
    /// (e.g. /calm-tasks/v1/tasks?projectId=…).
    path: String,
    /// The service key file, or `-` for standard input.
    #[arg(long, value_name = "FILE|-")]
    key: String,
    /// The JSON request body, or @FILE to read it from a file (@- for standard input).
    #[arg(long, value_name = "JSON|@FILE")]
    data: Option<String>,
    /// Print `{"status", "body"}` (or `{"status", "error"}`) as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Outcome {
    let json_out = args.json;
    runtime()
        .block_on(call(args))
        .unwrap_or_else(|e| report(&e, json_out))
}

async fn call(a: Args) -> calm_credentials::Result<Outcome> {
    let method = parse_method(&a.method)?;
    let body = match &a.data {
        Some(data) => Some(read_body(data, &a.key)?),
        None => None,
    };
    if body.is_some() && matches!(method, Method::Get | Method::Delete) {
        return Err(Error::Config {
            setting: "--data".into(),
            reason: format!("it is for POST, PUT and PATCH, not {method}"),
        });
    }
    let key = read_key(&a.key)?;
    let api = CalmApi::with_http(&key, http()?)?;
    let mut request = api.request(method, &a.path)?;
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = api.send(request).await?;
    let body: Value = match serde_json::from_slice(response.body()) {
        Ok(v) => v,
        Err(_) => Value::String(String::from_utf8_lossy(response.body()).into_owned()),
    };
    if a.json {
        print_json(&json!({"status": response.status(), "body": body}));
    } else {
        match &body {
            Value::String(text) => crate::out!("{text}"),
            other => print_json(other),
        }
    }
    Ok(Outcome::Success)
}

/// Errors: a refused key is named as such (nothing reached the API); an API refusal gives its
/// status and the platform's text (exit 1).
fn report(e: &Error, json_out: bool) -> Outcome {
    if let Error::Token(t) = e {
        let text = format!(
            "the key's credentials were refused by the token server, so nothing was sent to the API: {t}"
        );
        if json_out {
            print_json(&json!({"status": null, "error": text}));
        } else {
            eprintln!("error: {text}");
        }
        return Outcome::Failed;
    }
    if let (Some(status), Error::Api(_)) = (e.status(), e) {
        if json_out {
            print_json(&json!({"status": status, "error": e.to_string()}));
        } else {
            eprintln!("error: {e}");
        }
        return Outcome::Failed;
    }
    report_error(e, json_out)
}

fn parse_method(text: &str) -> calm_credentials::Result<Method> {
    match text.to_ascii_uppercase().as_str() {
        "GET" => Ok(Method::Get),
        "POST" => Ok(Method::Post),
        "PUT" => Ok(Method::Put),
        "PATCH" => Ok(Method::Patch),
        "DELETE" => Ok(Method::Delete),
        _ => Err(Error::Config {
            setting: format!("the method `{text}`"),
            reason: "use GET, POST, PUT, PATCH or DELETE".into(),
        }),
    }
}

/// The `--data` value: JSON text, or `@FILE` / `@-`.
fn read_body(data: &str, key: &str) -> calm_credentials::Result<Value> {
    let text = match data.strip_prefix('@') {
        Some("-") if key == "-" => {
            return Err(Error::Config {
                setting: "--key - and --data @-".into(),
                reason: "they cannot both read standard input".into(),
            });
        }
        Some(path) => read_input(path)?,
        None => data.to_owned(),
    };
    serde_json::from_str(&text).map_err(|e| Error::InvalidJson {
        document: "request body (--data)".into(),
        path: "$".into(),
        expected: "JSON".into(),
        found: format!("invalid JSON at line {}, column {}", e.line(), e.column()),
        hint: "pass a JSON document, or @FILE holding one".into(),
    })
}
