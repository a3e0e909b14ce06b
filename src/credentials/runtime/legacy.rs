//! The older `<root>/<service>/<instance>/<files>` layout (`@sap/xsenv` `lib/k8sservice.js`):
//! every file is a credential; the service object is `{name: <instance>, label: <label file> or
//! <service>, tags: <tags file> + <service>, credentials}`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::environment::ProcessEnv;
use super::files::{check_root, read_files, sorted_entries};
use super::listing::{Listing, Problem, SourceOutcome};
use super::service::{BindingFormat, Service};
use super::source::{Source, SourceKind};
use super::values::{looks_like_json_object, trim_line_end};
use crate::error::json_shape;

pub(super) fn read(env: &ProcessEnv, root: &Path, listing: &mut Listing) {
    let source = Source::path(SourceKind::Legacy, root);
    if !check_root(listing, &source, root) {
        return;
    }
    let mut count = 0;
    for (service, service_path) in dirs(&source, root, listing) {
        for (instance, instance_path) in dirs(&source, &service_path, listing) {
            let s = read_instance(env, &source, &service, &instance, &instance_path, listing);
            listing.services.push(s);
            count += 1;
        }
    }
    listing.report(source, SourceOutcome::Read(count));
}

/// Subdirectories (symlinks followed), sorted, without Kubernetes' `..data`/`..<timestamp>`
/// (xsenv takes those for instances on a servicebinding.io root, §9.6).
fn dirs(source: &Source, dir: &Path, listing: &mut Listing) -> Vec<(String, PathBuf)> {
    match sorted_entries(dir) {
        Ok(entries) => entries
            .into_iter()
            .filter(|(n, p)| !n.starts_with("..") && std::fs::metadata(p).is_ok_and(|m| m.is_dir()))
            .collect(),
        Err(e) => {
            listing.problem(Problem::new(
                source,
                Some(&dir.display().to_string()),
                None,
                format!("cannot list the directory: {e}; skipped"),
            ));
            Vec::new()
        }
    }
}

fn read_instance(
    env: &ProcessEnv,
    source: &Source,
    service: &str,
    instance: &str,
    dir: &Path,
    listing: &mut Listing,
) -> Service {
    let credentials = read_credentials(env, source, instance, dir, listing);
    let mut tags = read_tags(&credentials, source, service, instance, listing);
    if !tags.iter().any(|t| t.as_str() == Some(service)) {
        tags.push(Value::String(service.to_owned()));
    }
    let label = match credentials.get("label") {
        Some(Value::String(s)) if !s.is_empty() => trim_line_end(s).to_owned(),
        _ => service.to_owned(),
    };
    let mut fields = Map::new();
    fields.insert("label".into(), Value::String(label));
    fields.insert("tags".into(), Value::Array(tags));
    Service::new(
        source.clone(),
        BindingFormat::Legacy,
        Some(dir.to_path_buf()),
        instance.to_owned(),
        fields,
        Value::Object(credentials),
    )
}

/// Every file of the instance directory, by name.
fn read_credentials(
    env: &ProcessEnv,
    source: &Source,
    instance: &str,
    dir: &Path,
    listing: &mut Listing,
) -> Map<String, Value> {
    let parse_all = env.parse_all_json();
    match read_files(source, instance, dir, listing) {
        Ok(files) => files
            .into_iter()
            .map(|(name, text)| (name, file_value(text, parse_all)))
            .collect(),
        Err(_) => {
            listing.problem(Problem::new(
                source,
                Some(instance),
                None,
                "cannot list the instance directory; it is listed without credentials",
            ));
            Map::new()
        }
    }
}

/// The `tags` file as a JSON array (empty, with a [`Problem`], when it is anything else).
fn read_tags(
    credentials: &Map<String, Value>,
    source: &Source,
    service: &str,
    instance: &str,
    listing: &mut Listing,
) -> Vec<Value> {
    let found = match credentials.get("tags") {
        None => return Vec::new(),
        Some(Value::String(s)) if s.is_empty() => return Vec::new(),
        Some(Value::Array(a)) => return a.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => return a,
            Ok(other) => json_shape(&other),
            Err(_) => "text that is not JSON",
        },
        Some(other) => json_shape(other),
    };
    tag_problem(listing, source, instance, service, found);
    Vec::new()
}

fn tag_problem(listing: &mut Listing, source: &Source, instance: &str, service: &str, found: &str) {
    listing.problem(Problem::new(
        source,
        Some(instance),
        Some("tags"),
        format!(
            "expected a JSON array of strings, found {found}; using only the service directory name `{service}` as tag (@sap/xsenv would fail every lookup)"
        ),
    ));
}

/// xsenv `readFileContent`: parsed when it looks like a JSON object and parses (any JSON with
/// `XSENV_PARSE_ALL_JSON=true`), else the raw text.
fn file_value(text: String, parse_all: bool) -> Value {
    if (parse_all || looks_like_json_object(&text))
        && let Ok(v) = serde_json::from_str::<Value>(&text)
    {
        return v;
    }
    Value::String(text)
}
