//! Replacing secrets in JSON documents before they are shown.

use serde_json::{Map, Value};

/// The text that stands in for a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Whether a field of this name holds a secret.
///
/// Known names (`clientsecret`, `key`, `password`, …) and any name containing `secret`,
/// `password` or `private`, or ending in `token`, count; so do PEM private keys whatever
/// their field is called (see [`looks_like_private_key`]).
pub fn is_secret_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "key" | "clientsecret" | "client_secret" | "password" | "passcode" | "pin" | "credential"
    ) || n.contains("secret")
        || n.contains("password")
        || n.contains("private")
        || n.ends_with("token")
        || n.ends_with("_key") && !n.contains("public") && !n.contains("verification")
}

/// Whether a string value is a PEM private key.
pub fn looks_like_private_key(value: &str) -> bool {
    value.contains("-----BEGIN") && value.contains("PRIVATE KEY")
}

/// A copy of `value` with every secret replaced by `"[REDACTED]"`.
///
/// Strings that hold JSON (Kubernetes bindings keep `uaa` as JSON text) are redacted inside;
/// such a string that does not parse is replaced whole, since a secret in it cannot be located.
pub fn redact_value(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(redact_map(map)),
        Value::Array(items) => Value::Array(items.iter().map(redact_value).collect()),
        Value::String(s) => redact_string(s),
        other => other.clone(),
    }
}

fn redact_string(s: &str) -> Value {
    let t = s.trim();
    if looks_like_private_key(s) {
        Value::String(REDACTED.into())
    } else if t.starts_with('{') || t.starts_with('[') {
        match serde_json::from_str::<Value>(t) {
            Ok(inner @ (Value::Object(_) | Value::Array(_))) => {
                Value::String(redact_value(&inner).to_string())
            }
            _ => Value::String(REDACTED.into()),
        }
    } else {
        Value::String(s.to_owned())
    }
}

fn redact_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .map(|(k, v)| {
            let shown = if is_secret_field(k) {
                redact_all(v)
            } else {
                redact_value(v)
            };
            (k.clone(), shown)
        })
        .collect()
}

/// Everything under a secret-named field is secret: every scalar is replaced, the shape kept.
fn redact_all(value: &Value) -> Value {
    match value {
        Value::Null => Value::Null,
        Value::Array(items) => Value::Array(items.iter().map(redact_all).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), redact_all(v)))
                .collect(),
        ),
        _ => Value::String(REDACTED.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_field_names() {
        let cases = [
            ("clientsecret", true),
            ("key", true),
            ("password", true),
            ("refresh_token", true),
            ("access_token", true),
            ("private-key", true),
            ("client_secret", true),
            ("clientid", false),
            ("url", false),
            ("certurl", false),
            ("certificate", false),
            ("verificationkey", false),
            ("identityzone", false),
            ("tokenurl", false),
        ];
        for (name, secret) in cases {
            assert_eq!(is_secret_field(name), secret, "{name}");
        }
    }

    #[test]
    fn redacts_nested_secrets_and_pem_keys() {
        let doc = json!({
            "uaa": {"clientid": "id", "clientsecret": "s1", "url": "https://x"},
            "extra": [{"password": "p1"}, {"pem": "-----BEGIN RSA PRIVATE KEY-----\nAAA\n-----END RSA PRIVATE KEY-----"}],
            "nothing": {"key": null},
            "passwords": ["p2", {"inner": "p3"}],
            "client_secret": {"value": "p4"},
            "binding": "{\"clientid\":\"id2\",\"clientsecret\":\"p5\"}",
            "broken": "{\"clientsecret\":\"p6\""
        });
        let shown = redact_value(&doc).to_string();
        for secret in ["s1", "p1", "AAA", "p2", "p3", "p4", "p5", "p6"] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
        assert!(shown.contains("\"clientid\":\"id\""));
        assert!(
            shown.contains("id2"),
            "JSON held in a string keeps what is not secret"
        );
        assert!(shown.contains("\"key\":null"));
    }
}
