//! Labels of instances and bindings: as a create body gives them, and PATCH label changes.

use axum::response::Response;
use serde_json::Value;

use super::error;
use crate::simulator::state::Labels;

/// Labels from a create body: an object of string arrays, or 400.
pub(crate) fn parse(value: Option<&Value>) -> Result<Labels, Response> {
    let mut labels = Labels::new();
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(labels);
    };
    let bad = || {
        error(
            400,
            "BadRequest",
            "labels must map keys to arrays of strings",
        )
    };
    for (key, values) in value.as_object().ok_or_else(bad)? {
        let values: Option<Vec<String>> = values
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect();
        labels.insert(key.clone(), values.ok_or_else(bad)?);
    }
    Ok(labels)
}

/// Applies PATCH label changes `[{"op": "add"|"remove", "key", "values"}]`.
pub(crate) fn apply_ops(labels: &mut Labels, ops: &Value) -> Result<(), Response> {
    let bad = || {
        error(
            400,
            "BadRequest",
            "labels must be a list of {\"op\": \"add\"|\"remove\", \"key\", \"values\"}",
        )
    };
    for change in ops.as_array().ok_or_else(bad)? {
        let key = change["key"].as_str().ok_or_else(bad)?.to_owned();
        let values: Vec<String> = change["values"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        match change["op"].as_str() {
            Some("add") => add(labels, key, values),
            Some("remove") => remove(labels, &key, &values),
            _ => return Err(bad()),
        }
    }
    Ok(())
}

fn add(labels: &mut Labels, key: String, values: Vec<String>) {
    let entry = labels.entry(key).or_default();
    for v in values {
        if !entry.contains(&v) {
            entry.push(v);
        }
    }
}

/// Removes `values` from `key`, or the whole key when `values` is empty or nothing is left.
fn remove(labels: &mut Labels, key: &str, values: &[String]) {
    if values.is_empty() {
        labels.remove(key);
    } else if let Some(entry) = labels.get_mut(key) {
        entry.retain(|v| !values.contains(v));
        if entry.is_empty() {
            labels.remove(key);
        }
    }
}
