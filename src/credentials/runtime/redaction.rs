//! Hiding secrets of a [`Service`](super::Service) for display: its credentials and its top-level
//! fields.

use serde_json::Value;

use crate::credentials::redact::{REDACTED, is_secret_field, looks_like_private_key};

/// Redacts secrets, also inside strings that hold JSON; such strings that do not parse are
/// replaced whole (they may hold a secret we cannot locate). Stricter than
/// [`redact_value`](crate::credentials::redact::redact_value): everything under a secret-named
/// field goes (arrays and objects too), and credentials that are not an object or array at all
/// (a bare string) are replaced whole.
pub(super) fn redact_deep(value: &Value) -> Value {
    match value {
        Value::Object(_) | Value::Array(_) => walk(value),
        Value::Null => Value::Null,
        _ => redacted(),
    }
}

/// A top-level field for display: secret-named fields and URL passwords hidden.
pub(super) fn redact_field(key: &str, value: &Value) -> Value {
    if is_secret_field(key) && !value.is_null() {
        return redacted();
    }
    match value {
        Value::String(s) => match url::Url::parse(s) {
            Ok(mut u) if u.password().is_some() => {
                // Cannot fail for a URL that already has a password.
                let _ = u.set_password(Some(REDACTED));
                Value::String(u.to_string())
            }
            _ => value.clone(),
        },
        Value::Object(_) | Value::Array(_) => redact_deep(value),
        other => other.clone(),
    }
}

fn redacted() -> Value {
    Value::String(REDACTED.into())
}

fn walk(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let shown = if is_secret_field(k) && !v.is_null() {
                        redacted()
                    } else {
                        walk(v)
                    };
                    (k.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(walk).collect()),
        Value::String(s) => walk_string(s),
        other => other.clone(),
    }
}

/// A string that may be a private key or hold JSON.
fn walk_string(s: &str) -> Value {
    let t = s.trim();
    if looks_like_private_key(s) {
        redacted()
    } else if t.starts_with('{') || t.starts_with('[') {
        match serde_json::from_str::<Value>(t) {
            Ok(inner @ (Value::Object(_) | Value::Array(_))) => {
                Value::String(walk(&inner).to_string())
            }
            _ => redacted(),
        }
    } else {
        Value::String(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn redacts_json_held_in_strings() {
        let creds = json!({"uaa": "{\"clientid\":\"id\",\"clientsecret\":\"s1\"}",
                           "broken": "{\"clientsecret\":\"s2\"", "url": "https://x",
                           "passwords": ["s3"], "password": {"v": "s4"}});
        let shown = redact_deep(&creds).to_string();
        for s in ["s1", "s2", "s3", "s4"] {
            assert!(!shown.contains(s), "{shown}");
        }
        assert_eq!(redact_deep(&json!("s5")), json!(REDACTED));
        assert!(shown.contains("id") && shown.contains("https://x"));
    }

    #[test]
    fn redacts_url_passwords_in_fields() {
        let shown = redact_field(
            "syslog_drain_url",
            &json!("syslog://u:pw123@logs.example:514"),
        );
        assert!(!shown.to_string().contains("pw123"), "{shown}");
        assert_eq!(redact_field("plan", &json!("standard")), json!("standard"));
    }
}
