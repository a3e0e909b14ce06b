//! Hiding secrets of a [`Service`](super::Service) for display: its credentials and its top-level
//! fields.

use serde_json::Value;

use crate::credentials::redact::{REDACTED, is_secret_field, redact_value};

/// Redacts credentials for display with the crate's redactor; credentials that are not an
/// object or array at all (a bare string) are replaced whole.
pub(super) fn redact_deep(value: &Value) -> Value {
    match value {
        Value::Object(_) | Value::Array(_) => redact_value(value),
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
                Value::String(crate::credentials::redact::redact_text(u.as_str()).into_owned())
            }
            _ => Value::String(crate::credentials::redact::redact_text(s).into_owned()),
        },
        Value::Object(_) | Value::Array(_) => redact_deep(value),
        other => other.clone(),
    }
}

fn redacted() -> Value {
    Value::String(REDACTED.into())
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
