//! Cloud Foundry: `VCAP_SERVICES_FILE_PATH` (wins when set) or `VCAP_SERVICES`
//! (`@sap/xsenv` `lib/cfservice.js`).

use std::path::Path;

use serde_json::{Map, Value};

use super::environment::ProcessEnv;
use super::files::{MAX_VCAP_FILE, read_text};
use super::listing::{Listing, Problem, SourceOutcome};
use super::service::{BindingFormat, Service};
use super::source::{Source, SourceKind};
use crate::error::json_shape;

/// Reads the Cloud Foundry source into `listing`.
pub(super) fn read(env: &ProcessEnv, listing: &mut Listing) {
    let var_set = env.non_empty("VCAP_SERVICES").is_some();
    if let Some(path) = env.non_empty("VCAP_SERVICES_FILE_PATH") {
        read_file(path, var_set, listing);
    } else if let Some(text) = env.non_empty("VCAP_SERVICES") {
        parse(text, &Source::vcap_services(), listing);
    } else {
        listing.report(
            Source::vcap_services(),
            SourceOutcome::NotConfigured(
                "neither VCAP_SERVICES_FILE_PATH nor VCAP_SERVICES is set".into(),
            ),
        );
    }
}

/// The file named by `VCAP_SERVICES_FILE_PATH`; `VCAP_SERVICES` is then not read even when set.
fn read_file(path: &str, var_set: bool, listing: &mut Listing) {
    let source = Source::new(SourceKind::VcapServicesFile, path);
    match read_text(Path::new(path), MAX_VCAP_FILE) {
        Ok(text) => parse(&text, &source, listing),
        Err(e) => {
            let also = if var_set {
                "; VCAP_SERVICES is set but not read while VCAP_SERVICES_FILE_PATH is set (as in @sap/xsenv): fix or unset VCAP_SERVICES_FILE_PATH"
            } else {
                ""
            };
            listing.source_failed(
                &source,
                format!("cannot read the file named by VCAP_SERVICES_FILE_PATH: {e}{also}"),
                e.to_string(),
            );
        }
    }
    if var_set {
        listing.report(
            Source::vcap_services(),
            SourceOutcome::Ignored(
                "not read: VCAP_SERVICES_FILE_PATH is set and takes precedence".into(),
            ),
        );
    }
}

/// Parses a `VCAP_SERVICES` document into `listing`, reporting `source`.
pub(super) fn parse(text: &str, source: &Source, listing: &mut Listing) {
    let groups = match parse_document(text) {
        Ok(groups) => groups,
        Err(why) => {
            listing.source_failed(source, why.clone(), why);
            return;
        }
    };
    let mut count = 0;
    for (label, group) in groups {
        let Value::Array(items) = group else {
            listing.problem(Problem::new(
                source,
                Some(&label),
                None,
                format!(
                    "expected an array of bound instances under this label, found {}; skipped",
                    json_shape(&group)
                ),
            ));
            continue;
        };
        for (i, item) in items.into_iter().enumerate() {
            let entry = format!("{label}[{i}]");
            if let Some(service) = parse_entry(source, &entry, item, listing) {
                listing.services.push(service);
                count += 1;
            }
        }
    }
    listing.report(source.clone(), SourceOutcome::Read(count));
}

/// The document's object of labels, or why it is unusable as a whole.
fn parse_document(text: &str) -> Result<Map<String, Value>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // serde_json's message names a position, never the content.
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "not valid JSON (line {}, column {}: {})",
            e.line(),
            e.column(),
            classify(&e)
        )
    })?;
    match doc {
        Value::Object(groups) => Ok(groups),
        other => Err(format!(
            "expected a JSON object of service labels, found {}",
            json_shape(&other)
        )),
    }
}

/// One element of a label's array (`entry` is `<label>[<index>]`); `None` when skipped.
fn parse_entry(
    source: &Source,
    entry: &str,
    item: Value,
    listing: &mut Listing,
) -> Option<Service> {
    let Value::Object(mut fields) = item else {
        listing.problem(Problem::new(
            source,
            Some(entry),
            None,
            format!(
                "expected a service object, found {}; skipped",
                json_shape(&item)
            ),
        ));
        return None;
    };
    let name = match fields.remove("name") {
        Some(Value::String(n)) if !n.is_empty() => n,
        other => {
            let found = other.as_ref().map_or("nothing", json_shape);
            listing.problem(Problem::new(
                source,
                Some(entry),
                Some("name"),
                format!("expected the service name as a string, found {found}; skipped"),
            ));
            return None;
        }
    };
    let credentials = fields.remove("credentials").unwrap_or(Value::Null);
    check_fields(listing, source, &name, &fields, &credentials);
    Some(Service::new(
        source.clone(),
        BindingFormat::CloudFoundry,
        None,
        name,
        fields,
        credentials,
    ))
}

fn check_fields(
    listing: &mut Listing,
    source: &Source,
    name: &str,
    fields: &Map<String, Value>,
    credentials: &Value,
) {
    if !credentials.is_object() {
        listing.problem(Problem::new(
            source,
            Some(name),
            Some("credentials"),
            format!(
                "expected an object, found {}; the service is listed but has no usable credentials",
                json_shape(credentials)
            ),
        ));
    }
    match fields.get("tags") {
        None | Some(Value::Array(_)) => {}
        Some(other) => listing.problem(Problem::new(
            source,
            Some(name),
            Some("tags"),
            format!(
                "expected an array of strings, found {}; tag filters will not match",
                json_shape(other)
            ),
        )),
    }
    for key in ["label", "plan"] {
        match fields.get(key) {
            None | Some(Value::String(_)) | Some(Value::Null) => {}
            Some(other) => listing.problem(Problem::new(
                source,
                Some(name),
                Some(key),
                format!("expected a string, found {}", json_shape(other)),
            )),
        }
    }
}

fn classify(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Io => "read error",
        Category::Syntax => "syntax error",
        Category::Data => "unexpected data",
        Category::Eof => "unexpected end of input",
    }
}
