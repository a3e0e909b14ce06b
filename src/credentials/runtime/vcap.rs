//! Cloud Foundry: `VCAP_SERVICES_FILE_PATH` (wins when set) or `VCAP_SERVICES`
//! (`@sap/xsenv` `lib/cfservice.js`).

use serde_json::{Map, Value};

use super::{
    BindingFormat, Environment, Listing, Problem, Service, Source, SourceKind, SourceOutcome,
};
use crate::error::json_shape;

/// Reads the Cloud Foundry source into `listing`.
pub(super) fn read(env: &Environment, listing: &mut Listing) {
    let var_set = env.non_empty("VCAP_SERVICES").is_some();
    if let Some(path) = env.non_empty("VCAP_SERVICES_FILE_PATH") {
        let source = Source::new(SourceKind::VcapServicesFile, path);
        match super::read_text(std::path::Path::new(path)) {
            Ok(text) => parse(&text, &source, listing),
            Err(e) => {
                let also = if var_set {
                    "; VCAP_SERVICES is set but not read while VCAP_SERVICES_FILE_PATH is set (as in @sap/xsenv): fix or unset VCAP_SERVICES_FILE_PATH"
                } else {
                    ""
                };
                listing.problem(Problem::new(
                    &source,
                    None,
                    None,
                    format!("cannot read the file named by VCAP_SERVICES_FILE_PATH: {e}{also}"),
                ));
                listing.report(source, SourceOutcome::Failed(e.to_string()));
            }
        }
        if var_set {
            listing.report(
                Source::new(SourceKind::VcapServices, "VCAP_SERVICES"),
                SourceOutcome::Ignored(
                    "not read: VCAP_SERVICES_FILE_PATH is set and takes precedence".into(),
                ),
            );
        }
    } else if let Some(text) = env.non_empty("VCAP_SERVICES") {
        let source = Source::new(SourceKind::VcapServices, "VCAP_SERVICES");
        parse(text, &source, listing);
    } else {
        listing.report(
            Source::new(SourceKind::VcapServices, "VCAP_SERVICES"),
            SourceOutcome::NotConfigured(
                "neither VCAP_SERVICES_FILE_PATH nor VCAP_SERVICES is set".into(),
            ),
        );
    }
}

/// Parses a `VCAP_SERVICES` document into `listing`, reporting `source`.
pub(super) fn parse(text: &str, source: &Source, listing: &mut Listing) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            // serde_json's message names a position, never the content.
            let why = format!(
                "not valid JSON (line {}, column {}: {})",
                e.line(),
                e.column(),
                classify(&e)
            );
            listing.problem(Problem::new(source, None, None, why.clone()));
            listing.report(source.clone(), SourceOutcome::Failed(why));
            return;
        }
    };
    let Value::Object(groups) = doc else {
        let why = format!(
            "expected a JSON object of service labels, found {}",
            json_shape(&doc)
        );
        listing.problem(Problem::new(source, None, None, why.clone()));
        listing.report(source.clone(), SourceOutcome::Failed(why));
        return;
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
            let Value::Object(mut fields) = item else {
                listing.problem(Problem::new(
                    source,
                    Some(&entry),
                    None,
                    format!(
                        "expected a service object, found {}; skipped",
                        json_shape(&item)
                    ),
                ));
                continue;
            };
            let name = match fields.remove("name") {
                Some(Value::String(n)) if !n.is_empty() => n,
                other => {
                    let found = other.as_ref().map_or("nothing", json_shape);
                    listing.problem(Problem::new(
                        source,
                        Some(&entry),
                        Some("name"),
                        format!("expected the service name as a string, found {found}; skipped"),
                    ));
                    continue;
                }
            };
            let credentials = fields.remove("credentials").unwrap_or(Value::Null);
            check_fields(listing, source, &name, &fields, &credentials);
            listing.services.push(Service::new(
                source.clone(),
                BindingFormat::CloudFoundry,
                None,
                name,
                fields,
                credentials,
            ));
            count += 1;
        }
    }
    listing.report(source.clone(), SourceOutcome::Read(count));
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
