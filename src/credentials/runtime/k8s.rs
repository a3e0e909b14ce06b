//! servicebinding.io directories (`<root>/<binding>/<entry files>`), with the SAP BTP service
//! operator's formats: default (`.metadata` naming text and JSON properties), `secretKey`
//! (one JSON file merged through `container: true`) and `secretRootKey` (one JSON file, no
//! `type`, no `.metadata`). Mirrors `@sap/xsenv` `lib/serviceBindingService.js`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::environment::ProcessEnv;
use super::files::{check_root, read_files, sorted_entries};
use super::listing::{Listing, Problem, SourceOutcome};
use super::service::{BindingFormat, Service};
use super::source::{Source, SourceKind};
use super::values::{trim_line_end, truthy};
use crate::error::json_shape;

/// Top-level fields of a binding without `.metadata` (xsenv `DEFAULT_META_DATA_PROPERTIES`).
const PLAIN_METADATA: [&str; 2] = ["type", "provider"];
/// The instance fields the operator adds (reference §5.1); used for the `secretRootKey` format.
const OPERATOR_METADATA: [&str; 6] = [
    "instance_name",
    "instance_guid",
    "plan",
    "label",
    "type",
    "tags",
];

/// A binding's top-level fields, its credentials and how they were laid out.
type Split = (Map<String, Value>, Map<String, Value>, BindingFormat);

pub(super) fn read(_env: &ProcessEnv, root: &Path, listing: &mut Listing) {
    let source = Source::path(SourceKind::ServiceBinding, root);
    if !check_root(listing, &source, root) {
        return;
    }
    let entries = match sorted_entries(root) {
        Ok(e) => e,
        Err(e) => {
            listing.source_failed(&source, format!("cannot be listed: {e}"), e.to_string());
            return;
        }
    };
    let mut count = 0;
    for (name, path) in entries {
        // Kubernetes volume internals (`..data`, `..<timestamp>`) are never bindings.
        if name.starts_with("..") {
            continue;
        }
        // Follows symlinks: a linked binding directory counts (xsenv skips it, §9.7).
        if !std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        if let Some(service) = read_binding(&source, &name, &path, listing) {
            listing.services.push(service);
            count += 1;
        }
    }
    listing.report(source, SourceOutcome::Read(count));
}

fn read_binding(
    source: &Source,
    binding: &str,
    dir: &Path,
    listing: &mut Listing,
) -> Option<Service> {
    let files = match read_files(source, binding, dir, listing) {
        Ok(files) => files,
        Err(e) => {
            listing.problem(Problem::new(
                source,
                Some(binding),
                None,
                format!("cannot list the binding directory: {e}; skipped"),
            ));
            return None;
        }
    };
    if files.is_empty() {
        // A directory holding only directories: a legacy service folder, not a binding.
        return None;
    }
    let ctx = Ctx {
        source,
        binding,
        files: &files,
    };
    let metadata = ctx.metadata(listing);
    let (mut fields, credentials, format) = ctx.split(metadata.as_ref(), listing)?;

    // Metadata values are compared without a trailing line break (§9.4); credentials untouched.
    for v in fields.values_mut() {
        if let Value::String(s) = v {
            let t = trim_line_end(s);
            if t.len() != s.len() {
                *s = t.to_owned();
            }
        }
    }
    if !fields.get("type").is_some_and(truthy) {
        let why = if metadata.is_some() {
            "`.metadata` does not list a `type` property that exists, so this is not a servicebinding.io binding; skipped"
        } else {
            "the `type` file is empty; skipped"
        };
        listing.problem(Problem::new(source, Some(binding), Some("type"), why));
        return None;
    }
    fields.remove("name");
    Some(Service::new(
        source.clone(),
        format,
        Some(dir.to_path_buf()),
        binding.to_owned(),
        fields,
        Value::Object(credentials),
    ))
}

/// One binding directory being read: where it is and its files.
struct Ctx<'a> {
    source: &'a Source,
    binding: &'a str,
    files: &'a BTreeMap<String, String>,
}

impl Ctx<'_> {
    fn warn(&self, listing: &mut Listing, field: &str, msg: String) {
        listing.problem(Problem::new(
            self.source,
            Some(self.binding),
            Some(field),
            msg,
        ));
    }

    /// The `.metadata` document when present, non-empty, valid and truthy.
    fn metadata(&self, listing: &mut Listing) -> Option<Value> {
        let text = self.files.get(".metadata").filter(|t| !t.is_empty())?;
        match serde_json::from_str::<Value>(text) {
            Ok(v) if truthy(&v) => Some(v),
            Ok(_) => None,
            Err(e) => {
                self.warn(
                    listing,
                    ".metadata",
                    format!(
                        "not valid JSON (line {}, column {}); every file is read as a text credential instead, as @sap/xsenv does",
                        e.line(),
                        e.column()
                    ),
                );
                None
            }
        }
    }

    /// The files split into fields and credentials by `.metadata`, as `secretRootKey`, or as a
    /// plain binding; `None` (reported) when the directory is none of these.
    fn split(&self, metadata: Option<&Value>, listing: &mut Listing) -> Option<Split> {
        if let Some(meta) = metadata {
            let fields = self.properties(meta, "metaDataProperties", listing);
            let creds = self.properties(meta, "credentialProperties", listing);
            return Some((fields, creds, BindingFormat::ServiceBindingMetadata));
        }
        if self.files.contains_key("type") {
            return Some(split_plain(self.files));
        }
        match secret_root_key(self.files) {
            Some((fields, creds)) => Some((fields, creds, BindingFormat::SecretRootKey)),
            None => {
                self.warn(
                    listing,
                    "type",
                    "no `type` file (servicebinding.io requires one) and not the operator's secretRootKey format; skipped".to_owned(),
                );
                None
            }
        }
    }

    /// xsenv `parseProperties` over the list `meta[list_key]`.
    fn properties(
        &self,
        meta: &Value,
        list_key: &str,
        listing: &mut Listing,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        let list = match meta.get(list_key) {
            // Missing, or `null` as Go writes a nil slice: an empty list (xsenv crashes on
            // `null`, §9.2).
            None | Some(Value::Null) => return out,
            Some(Value::Array(a)) => a,
            Some(other) => {
                self.warn(
                    listing,
                    ".metadata",
                    format!(
                        "`{list_key}` should be an array, found {}; ignored",
                        json_shape(other)
                    ),
                );
                return out;
            }
        };
        for prop in list {
            self.property(prop, list_key, &mut out, listing);
        }
        out
    }

    /// One entry of a `.metadata` property list, added to `out` when its file is usable.
    fn property(
        &self,
        prop: &Value,
        list_key: &str,
        out: &mut Map<String, Value>,
        listing: &mut Listing,
    ) {
        let Some(name) = prop
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            self.warn(
                listing,
                ".metadata",
                format!("an entry of `{list_key}` has no name; ignored"),
            );
            return;
        };
        let Some(text) = self.files.get(name) else {
            self.warn(
                listing,
                name,
                format!("listed in `.metadata` `{list_key}` but there is no such file; left out"),
            );
            return;
        };
        match prop.get("format").and_then(Value::as_str) {
            Some("text") => {
                out.insert(name.to_owned(), Value::String(text.clone()));
            }
            Some("json") => self.json_property(prop, name, text, out, listing),
            other => self.warn(
                listing,
                name,
                format!(
                    "`.metadata` gives format {}, expected `text` or `json`; left out",
                    other.map_or_else(|| "nothing".to_owned(), |f| format!("`{f}`"))
                ),
            ),
        }
    }

    /// A `json` property: the parsed value under `name`, or with `container: true` its members.
    fn json_property(
        &self,
        prop: &Value,
        name: &str,
        text: &str,
        out: &mut Map<String, Value>,
        listing: &mut Listing,
    ) {
        let value = match serde_json::from_str::<Value>(text) {
            Ok(value) => value,
            Err(e) => {
                self.warn(
                    listing,
                    name,
                    format!(
                        "declared `json` in `.metadata` but is not valid JSON (line {}, column {}); left out, as @sap/xsenv does",
                        e.line(),
                        e.column()
                    ),
                );
                return;
            }
        };
        if !prop.get("container").is_some_and(truthy) {
            out.insert(name.to_owned(), value);
            return;
        }
        match value {
            Value::Object(m) => out.extend(m),
            other => self.warn(
                listing,
                name,
                format!(
                    "declared a JSON container in `.metadata` but holds {}; left out",
                    json_shape(&other)
                ),
            ),
        }
    }
}

/// A binding without `.metadata`: `type` and `provider` are fields, every other file a text
/// credential.
fn split_plain(files: &BTreeMap<String, String>) -> Split {
    let mut fields = Map::new();
    let mut creds = Map::new();
    for (name, text) in files {
        if PLAIN_METADATA.contains(&name.as_str()) {
            fields.insert(name.clone(), Value::String(text.clone()));
        } else {
            creds.insert(name.clone(), Value::String(text.clone()));
        }
    }
    (fields, creds, BindingFormat::ServiceBindingPlain)
}

/// The operator's `secretRootKey` format: exactly one non-dot file holding a JSON object with a
/// string `type`; values that are JSON held as text are parsed.
fn secret_root_key(
    files: &BTreeMap<String, String>,
) -> Option<(Map<String, Value>, Map<String, Value>)> {
    let mut visible = files.iter().filter(|(n, _)| !n.starts_with('.'));
    let (_, text) = visible.next()?;
    if visible.next().is_some() {
        return None;
    }
    let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    if !doc.get("type").is_some_and(Value::is_string) {
        return None;
    }
    let mut fields = Map::new();
    let mut creds = Map::new();
    for (k, v) in doc {
        let v = match v {
            Value::String(s)
                if (s.trim_start().starts_with('{') || s.trim_start().starts_with('[')) =>
            {
                serde_json::from_str::<Value>(&s).unwrap_or(Value::String(s))
            }
            other => other,
        };
        if OPERATOR_METADATA.contains(&k.as_str()) {
            fields.insert(k, v);
        } else {
            creds.insert(k, v);
        }
    }
    Some((fields, creds))
}
