//! Replacing secrets in JSON documents before they are shown.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

/// The text that stands in for a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Whether a field of this name holds a secret.
///
/// Known names (`clientsecret`, `key`, `password`, `auth`, `hmac`, …) and any name containing
/// `secret`, `password`, `passwd`, `private`, `apikey`, `sslkey`, `hmac`, `credential` or
/// `authorization`, or ending in `token`, `key` (`api_key`, `tls.key`, `sslkey`; not
/// `verificationkey` or a public key), `pwd` or `auth`, count; so do PEM private keys whatever
/// their field is called (see [`looks_like_private_key`]).
pub fn is_secret_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let squeezed: String = n.chars().filter(char::is_ascii_alphanumeric).collect();
    matches!(
        n.as_str(),
        "key" | "clientsecret" | "client_secret" | "password" | "passcode" | "pin" | "credential"
    ) || [
        "secret", "password", "passwd", "private", "apikey", "sslkey", "hmac",
    ]
    .iter()
    .any(|w| squeezed.contains(w))
        || squeezed.contains("authorization")
        || squeezed.contains("connectionstring")
        || squeezed.ends_with("token")
        || squeezed.ends_with("pwd")
        || squeezed.ends_with("auth")
        || squeezed.ends_with("key")
            && !squeezed.contains("public")
            && !squeezed.contains("verification")
}

/// Text with the secrets that can be recognised inside it replaced by `[REDACTED]`: the user
/// info of URLs (`postgres://user:pass@host`), secret-looking query parameters and
/// connection-string parts (`?password=…`, `;Password=…;`, `sslkey=…`, `AccountKey=…`), and
/// the credentials after `Basic` / `Bearer`. Borrowed when nothing was found.
pub(crate) fn redact_text(text: &str) -> Cow<'_, str> {
    static USERINFO: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#@\s]*@").expect("valid pattern")
    });
    static PAIR: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"(?i)((?:^|[^a-z0-9_.\-])[a-z0-9_.\-]*(?:secret|passw(?:or)?d|pwd|token|apikey|api[_\-.]key|key|hmac|credential|signature|sig|auth)[a-z0-9_.\-]*\s*(?:=|:\s)\s*)("[^"]*"|'[^']*'|[^;&,\s"'}\]]+)"#,
        )
        .expect("valid pattern")
    });
    static SCHEME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b(Basic|Bearer|Digest|basic|bearer|BASIC|BEARER)\s+([A-Za-z0-9+/=._~\-]{6,})")
            .expect("valid pattern")
    });
    let mut out = Cow::Borrowed(text);
    if USERINFO.is_match(&out) {
        out = Cow::Owned(USERINFO.replace_all(&out, "${1}[REDACTED]@").into_owned());
    }
    if SCHEME.is_match(&out) {
        // Credentials, not words: "Basic plan" stays, "Basic dTpw" goes.
        let replaced = SCHEME.replace_all(&out, |c: &regex::Captures<'_>| {
            let credential = &c[2];
            let word = credential.chars().all(|ch| ch.is_ascii_lowercase())
                || credential.chars().all(|ch| ch.is_ascii_alphabetic())
                    && credential.chars().skip(1).all(|ch| ch.is_ascii_lowercase());
            if word {
                c[0].to_owned()
            } else {
                format!("{} [REDACTED]", &c[1])
            }
        });
        out = Cow::Owned(replaced.into_owned());
    }
    if PAIR.is_match(&out) {
        out = Cow::Owned(PAIR.replace_all(&out, "${1}[REDACTED]").into_owned());
    }
    out
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
        Value::String(redact_text(s).into_owned())
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

    #[test]
    fn text_loses_user_info_and_secret_query_parts() {
        assert_eq!(
            redact_text("jdbc:postgresql://db:5432/x?user=u&password=hunter2&ssl=true"),
            "jdbc:postgresql://db:5432/x?user=u&password=[REDACTED]&ssl=true"
        );
        assert_eq!(
            redact_text("https://me:pw@h.example/x"),
            "https://[REDACTED]@h.example/x"
        );
    }
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

    #[test]
    fn secrets_inside_strings_and_under_wider_names() {
        let doc = json!({
            "uri": "postgres://admin:S1@db.example:5432/x",
            "jdbcUrl": "jdbc:postgresql://db:5432/x?user=u&password=S2&sslmode=require",
            "apikey": "S3",
            "sslkey": "S4",
            "tls.key": "S5",
            "auth": "Basic UzY6UzY=",
            "header": "Authorization: Bearer S7abcdef",
            "hmac": {"value": "S8"},
            "conn": "Server=tcp:x.example,1433;User ID=u;Password=S9;Encrypt=True",
            "azure": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=S10==;EndpointSuffix=x",
            "redis": "rediss://:S11@cache.example:6380",
            "note": "visible",
            "plan": "Basic plan, see https://auth.example.com:8443/x",
            "url": "https://api.example/v1?page=2"
        });
        let shown = redact_value(&doc).to_string();
        for secret in [
            "S1", "S2", "S3", "S4", "S5", "UzY6UzY", "S7abcdef", "S8", "S9", "S10", "S11",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
        for kept in [
            "visible",
            "Basic plan",
            "auth.example.com:8443",
            "sslmode=require",
            "https://api.example/v1?page=2",
            "db.example",
            "Encrypt=True",
        ] {
            assert!(shown.contains(kept), "{kept} lost in {shown}");
        }
        for name in [
            "apikey",
            "api_key",
            "sslkey",
            "tls.key",
            "hmac",
            "auth",
            "AccountKey",
            "db_pwd",
        ] {
            assert!(is_secret_field(name), "{name}");
        }
        for name in [
            "verificationkey",
            "public_key",
            "authorities",
            "tokenurl",
            "url",
        ] {
            assert!(!is_secret_field(name), "{name}");
        }
    }

    proptest::proptest! {
        #[test]
        fn redact_text_never_panics_and_hides_planted_passwords(
            prefix in "[ -~]{0,40}", secret in "[A-Za-z0-9]{6,20}"
        ) {
            let text = format!("{prefix} postgres://u:{secret}@h/x ?password={secret}");
            let shown = redact_text(&text);
            let in_url = format!(":{secret}@");
            let in_query = format!("password={secret}");
            proptest::prop_assert!(!shown.contains(&in_url));
            proptest::prop_assert!(!shown.contains(&in_query));
        }
    }
}
