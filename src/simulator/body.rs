//! Reading JSON request bodies: what both APIs read the same way. Each API words its own errors.

use axum::body::Bytes;
use serde_json::{Map, Value, json};

/// The body as a JSON object, if it is one.
pub(crate) fn object(body: &Bytes) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// An optional object field: `{}` when absent or null, `None` when not an object.
pub(crate) fn optional_object(body: &Map<String, Value>, field: &str) -> Option<Value> {
    match body.get(field) {
        None | Some(Value::Null) => Some(json!({})),
        Some(p @ Value::Object(_)) => Some(p.clone()),
        Some(_) => None,
    }
}

/// A string field that is present and not empty.
pub(crate) fn non_empty_str(body: &Map<String, Value>, field: &str) -> Option<String> {
    body.get(field)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}
