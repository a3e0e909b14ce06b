//! servicebinding.io directories (`<root>/<binding>/<entry files>`), with the SAP BTP service
//! operator's formats: default (`.metadata` naming text and JSON properties), `secretKey`
//! (one JSON file merged through `container: true`) and `secretRootKey` (one JSON file, no
//! `type`, no `.metadata`). Mirrors `@sap/xsenv` `lib/serviceBindingService.js`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::{
    BindingFormat, Environment, Listing, Problem, Service, Source, SourceKind, SourceOutcome,
    sorted_entries, trim_line_end, truthy,
};
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

pub(super) fn read(_env: &Environment, root: &Path, listing: &mut Listing) {
    let source = Source::path(SourceKind::ServiceBinding, root);
    if !super::check_root(listing, &source, root) {
        return;
    }
    let entries = match sorted_entries(root) {
        Ok(e) => e,
        Err(e) => {
            listing.problem(Problem::new(
                &source,
                None,
                None,
                format!("cannot be listed: {e}"),
            ));
            listing.report(source, SourceOutcome::Failed(e.to_string()));
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

/// The regular files of a binding directory (symlinks followed; dotfiles included; directories
/// such as `..data` skipped), as text.
fn read_files(
    source: &Source,
    binding: &str,
    dir: &Path,
    listing: &mut Listing,
) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let entries = match sorted_entries(dir) {
        Ok(e) => e,
        Err(e) => {
            listing.problem(Problem::new(
                source,
                Some(binding),
                None,
                format!("cannot list the binding directory: {e}; skipped"),
            ));
            return files;
        }
    };
    for (name, path) in entries {
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => match super::read_text(&path) {
                Ok(text) => {
                    files.insert(name, text);
                }
                Err(e) => listing.problem(Problem::new(
                    source,
                    Some(binding),
                    Some(&name),
                    format!("cannot read the file: {e}; left out"),
                )),
            },
            Ok(_) => {}
            Err(e) => listing.problem(Problem::new(
                source,
                Some(binding),
                Some(&name),
                format!("cannot follow the entry (broken symlink?): {e}; left out"),
            )),
        }
    }
    files
}

fn read_binding(
    source: &Source,
    binding: &str,
    dir: &Path,
    listing: &mut Listing,
) -> Option<Service> {
    let files = read_files(source, binding, dir, listing);
    if files.is_empty() {
        // A directory holding only directories: a legacy service folder, not a binding.
        return None;
    }

    let metadata = match files.get(".metadata").filter(|t| !t.is_empty()) {
        None => None,
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(v) if truthy(&v) => Some(v),
            Ok(_) => None,
            Err(e) => {
                listing.problem(Problem::new(
                    source,
                    Some(binding),
                    Some(".metadata"),
                    format!(
                        "not valid JSON (line {}, column {}); every file is read as a text credential instead, as @sap/xsenv does",
                        e.line(),
                        e.column()
                    ),
                ));
                None
            }
        },
    };

    let (mut fields, credentials, format) = match &metadata {
        Some(meta) => {
            let ctx = Ctx {
                source,
                binding,
                files: &files,
            };
            let fields = ctx.properties(meta, "metaDataProperties", listing);
            let creds = ctx.properties(meta, "credentialProperties", listing);
            (fields, creds, BindingFormat::ServiceBindingMetadata)
        }
        None if !files.contains_key("type") => match secret_root_key(&files) {
            Some((fields, creds)) => (fields, creds, BindingFormat::SecretRootKey),
            None => {
                listing.problem(Problem::new(
                        source,
                        Some(binding),
                        Some("type"),
                        "no `type` file (servicebinding.io requires one) and not the operator's secretRootKey format; skipped",
                    ));
                return None;
            }
        },
        None => {
            let mut fields = Map::new();
            let mut creds = Map::new();
            for (name, text) in &files {
                if PLAIN_METADATA.contains(&name.as_str()) {
                    fields.insert(name.clone(), Value::String(text.clone()));
                } else {
                    creds.insert(name.clone(), Value::String(text.clone()));
                }
            }
            (fields, creds, BindingFormat::ServiceBindingPlain)
        }
    };

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
                continue;
            };
            let Some(text) = self.files.get(name) else {
                self.warn(
                    listing,
                    name,
                    format!(
                        "listed in `.metadata` `{list_key}` but there is no such file; left out"
                    ),
                );
                continue;
            };
            match prop.get("format").and_then(Value::as_str) {
                Some("text") => {
                    out.insert(name.to_owned(), Value::String(text.clone()));
                }
                Some("json") => match serde_json::from_str::<Value>(text) {
                    Ok(value) => {
                        if prop.get("container").is_some_and(truthy) {
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
                        } else {
                            out.insert(name.to_owned(), value);
                        }
                    }
                    Err(e) => self.warn(
                        listing,
                        name,
                        format!(
                            "declared `json` in `.metadata` but is not valid JSON (line {}, column {}); left out, as @sap/xsenv does",
                            e.line(),
                            e.column()
                        ),
                    ),
                },
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
        out
    }
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
