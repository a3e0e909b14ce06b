//! Credentials as [`Service::service_key`](super::Service::service_key) parses them: JSON objects
//! held as text parsed, and a single nested credentials object unwrapped.

use serde_json::{Map, Value};

use super::values::looks_like_json_object;

/// `credentials` made ready for [`ServiceKey`](crate::credentials::service_key::ServiceKey):
/// top-level values holding a JSON object as text are parsed (a `uaa` file read without
/// `.metadata`); without `uaa` or `clientid`, a single object value that has one is used instead
/// (a `secretKey` file in the legacy layout).
pub(super) fn usable_credentials(credentials: &Value) -> Value {
    let Value::Object(map) = credentials else {
        return credentials.clone();
    };
    let mut map = map.clone();
    parse_nested(&mut map);
    if !has_oauth(&map) {
        let inner: Vec<&Map<String, Value>> = map
            .values()
            .filter_map(Value::as_object)
            .filter(|m| has_oauth(m))
            .collect();
        if let [one] = inner.as_slice() {
            let mut one = (*one).clone();
            parse_nested(&mut one);
            return Value::Object(one);
        }
    }
    Value::Object(map)
}

fn has_oauth(map: &Map<String, Value>) -> bool {
    map.contains_key("uaa") || map.contains_key("clientid")
}

/// Top-level string values holding JSON objects, parsed.
fn parse_nested(map: &mut Map<String, Value>) {
    for v in map.values_mut() {
        if let Value::String(s) = v
            && let Some(parsed) = parse_object_text(s)
        {
            *v = parsed;
        }
    }
}

/// Parses `text` as a JSON object if it looks like one.
fn parse_object_text(text: &str) -> Option<Value> {
    if !looks_like_json_object(text.trim_start()) {
        return None;
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn usable_credentials_unwraps_text_and_containers() {
        let c = json!({"plan": "standard", "binding": {"uaa": "{\"clientid\":\"a\"}", "endpoints": {}}});
        let u = usable_credentials(&c);
        assert_eq!(u["uaa"]["clientid"], "a");
        let c = json!({"uaa": "{\"clientid\":\"b\"}"});
        assert_eq!(usable_credentials(&c)["uaa"]["clientid"], "b");
    }
}
