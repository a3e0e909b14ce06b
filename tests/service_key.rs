//! Service key parsing: every documented shape, malformed variants, and no secret in any output.

use calm_credentials::{ClientAuth, CredentialType, Error, KeyLayout, ServiceKey};
use proptest::prelude::*;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

const BINDING: &str = include_str!("fixtures/keys/binding-secret.json");
const WRAPPED: &str = include_str!("fixtures/keys/instance-secret-wrapped.json");
const X509: &str = include_str!("fixtures/keys/x509.json");
const SM: &str = include_str!("fixtures/keys/service-manager.json");
const SECRETS: [&str; 5] = [
    "EXAMPLE-NOT-A-REAL-SECRET-0000",
    "WRAPPED-SECRET-1111",
    "PRIVATEKEYMATERIAL2222",
    "SM-SECRET-3333",
    "hunter2-in-a-bad-key",
];

fn assert_no_secret(text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "secret {s} leaked in: {text}");
    }
}

#[test]
fn documented_shapes() {
    struct Case {
        text: &'static str,
        layout: KeyLayout,
        kind: Option<CredentialType>,
        token_url: &'static str,
        api: Option<&'static str>,
        x509: bool,
    }
    let cases = [
        Case {
            text: BINDING,
            layout: KeyLayout::Bare,
            kind: Some(CredentialType::BindingSecret),
            token_url: "https://example-calm.authentication.eu10.hana.ondemand.com/oauth/token",
            api: Some("https://eu10.alm.cloud.sap/api"),
            x509: false,
        },
        Case {
            text: WRAPPED,
            layout: KeyLayout::Wrapped,
            kind: Some(CredentialType::InstanceSecret),
            token_url: "https://example-calm.authentication.eu10.hana.ondemand.com/oauth/token",
            api: Some("https://tenant.eu10.alm.cloud.sap/api"),
            x509: false,
        },
        Case {
            text: X509,
            layout: KeyLayout::Bare,
            kind: Some(CredentialType::X509),
            token_url: "https://example-calm.authentication.cert.eu10.hana.ondemand.com/oauth/token",
            api: Some("https://eu10.alm.cloud.sap/api"),
            x509: true,
        },
        Case {
            text: SM,
            layout: KeyLayout::Flat,
            kind: None,
            token_url: "https://example-calm.authentication.eu10.hana.ondemand.com/oauth/token",
            api: None,
            x509: false,
        },
    ];
    for c in cases {
        let key = ServiceKey::from_json(c.text).unwrap();
        assert_eq!(key.layout(), c.layout);
        assert_eq!(key.credential_type(), c.kind.as_ref());
        assert_eq!(key.token_url().as_str(), c.token_url);
        assert_eq!(key.api_url().map(|u| u.as_str()), c.api);
        assert_eq!(key.is_x509(), c.x509);
        assert_no_secret(&format!("{key:?}"));
        assert_no_secret(&key.redacted_json().to_string());
    }
}

#[test]
fn secrets_are_reachable_only_on_purpose() {
    let key = ServiceKey::from_json(BINDING).unwrap();
    match key.client_auth() {
        ClientAuth::Secret { secret } => {
            assert_eq!(secret.expose_secret(), "EXAMPLE-NOT-A-REAL-SECRET-0000")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        key.expose_json()["uaa"]["clientsecret"],
        "EXAMPLE-NOT-A-REAL-SECRET-0000"
    );
    assert_eq!(key.redacted_json()["uaa"]["clientsecret"], "[REDACTED]");
    let x = ServiceKey::from_json(X509).unwrap();
    assert_eq!(x.redacted_json()["uaa"]["key"], "[REDACTED]");
    assert!(
        x.redacted_json()["uaa"]["certificate"]
            .as_str()
            .unwrap()
            .contains("CERTIFICATE")
    );
}

#[test]
fn unknown_fields_are_kept() {
    let mut doc: Value = serde_json::from_str(BINDING).unwrap();
    doc["uaa"]["uaadomain"] = json!("authentication.eu10.hana.ondemand.com");
    doc["newthing"] = json!({"nested": [1, 2]});
    doc["uaa"]["some_new_secret"] = json!("hunter2-in-a-bad-key");
    let key = ServiceKey::from_value(doc).unwrap();
    assert_eq!(
        key.field("uaa.uaadomain"),
        Some(json!("authentication.eu10.hana.ondemand.com"))
    );
    assert_eq!(key.field("newthing.nested"), Some(json!([1, 2])));
    assert_eq!(key.field("uaa.some_new_secret"), Some(json!("[REDACTED]")));
    assert_eq!(key.field("uaa.tenantmode"), Some(json!("shared")));
    assert_eq!(key.field("nope.nope"), None);
}

#[test]
fn one_line_verification_key_is_kept_as_given() {
    let text = BINDING.replace(
        "-----BEGIN PUBLIC KEY-----\\nEXAMPLEEXAMPLEEXAMPLE\\n-----END PUBLIC KEY-----",
        "-----BEGIN PUBLIC KEY-----EXAMPLE-----END PUBLIC KEY-----",
    );
    let key = ServiceKey::from_json(&text).unwrap();
    assert_eq!(
        key.verification_key(),
        Some("-----BEGIN PUBLIC KEY-----EXAMPLE-----END PUBLIC KEY-----")
    );
}

/// Each malformed key names the JSON path that is wrong and never quotes a secret.
#[test]
fn malformed_keys_name_the_path() {
    let base: Value = serde_json::from_str(BINDING).unwrap();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        f(&mut v);
        v.to_string()
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("not json", "{\"uaa\": ".to_owned(), "$"),
        ("array", "[1,2]".to_owned(), "$"),
        ("string", "\"hunter2-in-a-bad-key\"".to_owned(), "$"),
        ("uaa not object", with(&|v| v["uaa"] = json!("x")), "uaa"),
        (
            "no clientid",
            with(&|v| {
                v["uaa"].as_object_mut().unwrap().remove("clientid");
            }),
            "uaa.clientid",
        ),
        (
            "clientid number",
            with(&|v| v["uaa"]["clientid"] = json!(5)),
            "uaa.clientid",
        ),
        (
            "clientid empty",
            with(&|v| v["uaa"]["clientid"] = json!("  ")),
            "uaa.clientid",
        ),
        (
            "no secret",
            with(&|v| {
                v["uaa"].as_object_mut().unwrap().remove("clientsecret");
            }),
            "uaa.clientsecret",
        ),
        (
            "empty secret",
            with(&|v| v["uaa"]["clientsecret"] = json!("")),
            "uaa.clientsecret",
        ),
        (
            "secret number",
            with(&|v| v["uaa"]["clientsecret"] = json!(1234)),
            "uaa.clientsecret",
        ),
        (
            "no url",
            with(&|v| {
                v["uaa"].as_object_mut().unwrap().remove("url");
            }),
            "uaa.url",
        ),
        (
            "url not url",
            with(&|v| v["uaa"]["url"] = json!("hunter2-in-a-bad-key")),
            "uaa.url",
        ),
        (
            "url ftp",
            with(&|v| v["uaa"]["url"] = json!("ftp://x.example")),
            "uaa.url",
        ),
        (
            "endpoints array",
            with(&|v| v["endpoints"] = json!([])),
            "endpoints",
        ),
        (
            "api not url",
            with(&|v| v["endpoints"]["Api"] = json!("nope")),
            "endpoints.Api",
        ),
        (
            "zone number",
            with(&|v| v["uaa"]["identityzone"] = json!(1)),
            "uaa.identityzone",
        ),
        (
            "wrapper not object",
            "{\"credentials\": \"hunter2-in-a-bad-key\"}".to_owned(),
            "credentials",
        ),
        (
            "wrapped no clientid",
            "{\"credentials\": {\"uaa\": {\"clientsecret\": \"hunter2-in-a-bad-key\"}}}".to_owned(),
            "credentials.uaa.clientid",
        ),
        (
            "x509 no key",
            X509.replace("\"key\":", "\"kez\":").replace(
                "\"credential-type\": \"x509\"",
                "\"credential-type\": \"x509\", \"z\": 1",
            ),
            "uaa.key",
        ),
        (
            "x509 no certurl",
            X509.replace("\"certurl\":", "\"certurl_\":"),
            "uaa.certurl",
        ),
        ("empty object", "{}".to_owned(), "uaa"),
        (
            "endpoints only",
            r#"{"endpoints": {"Api": "https://eu10.alm.cloud.sap/api"}}"#.to_owned(),
            "uaa",
        ),
        (
            "flat without id",
            r#"{"clientsecret": "hunter2-in-a-bad-key", "url": "https://x.example"}"#.to_owned(),
            "uaa",
        ),
    ];
    for (name, text, path) in cases {
        let err = ServiceKey::from_json(&text).expect_err(name);
        match &err {
            Error::InvalidJson { path: got, .. } => assert_eq!(got, path, "{name}: {err}"),
            other => panic!("{name}: unexpected {other:?}"),
        }
        let shown = format!("{err} {err:?}");
        assert!(shown.contains(path), "{name}: {shown}");
        assert_no_secret(&shown);
    }
}

proptest! {
    /// Arbitrary JSON never panics the parser, and a failure never echoes a string value.
    #[test]
    fn arbitrary_json_never_panics(value in arb_json()) {
        let text = value.to_string();
        if let Err(e) = ServiceKey::from_json(&text) {
            let shown = format!("{e} {e:?}");
            prop_assert!(!shown.contains("SECRETVALUE"), "{}", shown);
        }
    }

    /// Arbitrary bytes never panic the parser.
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = ServiceKey::from_json(&text);
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(Value::from("SECRETVALUE")),
        Just(Value::from("https://x.example")),
    ];
    let keys = prop_oneof![
        Just("uaa".to_owned()),
        Just("clientid".to_owned()),
        Just("clientsecret".to_owned()),
        Just("url".to_owned()),
        Just("certurl".to_owned()),
        Just("certificate".to_owned()),
        Just("key".to_owned()),
        Just("endpoints".to_owned()),
        Just("Api".to_owned()),
        Just("credentials".to_owned()),
        Just("credential-type".to_owned()),
        "[a-z]{1,6}",
    ];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
