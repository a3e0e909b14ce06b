//! Property tests for every parser of outside input: service keys, `VCAP_SERVICES`, binding
//! folders, `Retry-After`, operation `Location` headers, JWT claims, Service Manager and Cloud
//! Foundry list pages, error bodies, and the display of outside text.
//!
//! Each property runs proptest's default number of cases (256) in CI; set `PROPTEST_CASES` for
//! a longer run on demand, e.g.
//! `PROPTEST_CASES=100000 cargo test --all-features --lib parsers_proptest`.
//! The properties: no input panics; no error, `Debug` or redacted output quotes a secret the
//! input planted; accepted URLs stay on the API's origin; displayed text has no control
//! character.

use std::collections::HashSet;

use base64::Engine;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};
use url::Url;

use secrecy::ExposeSecret;

use crate::auth::token::{jwt_claims, parse_token_response};
use crate::cloud_foundry::paging::next_page_url;
use crate::cloud_foundry::types::{Paginated, ServiceCredentialBinding, ServiceInstance};
use crate::credentials::runtime::{self, ProcessEnv};
use crate::credentials::{ClientAuth, ServiceKey};
use crate::error::printable;
use crate::http::parse_retry_after;
use crate::http::wire_error::parse_error_body;
use crate::service_manager::operations::parse_operation_location;
use crate::service_manager::paging::{LIST_LIMITS, ListBudget};
use crate::service_manager::{Binding, Instance, Page};

const PLANTED: &str = "PLANTEDSECRETVALUE";

/// A list page decoded as the backends decode it.
fn decode<T: serde::de::DeserializeOwned>(body: &[u8], _document: &str) -> serde_json::Result<T> {
    serde_json::from_slice(body)
}

/// Arbitrary JSON whose keys include the names the parsers look for.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[ -~]{0,16}".prop_map(Value::String),
        Just(Value::String(PLANTED.into())),
        Just(Value::String("https://h.example/x".into())),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        let key = prop_oneof![
            Just("uaa".to_owned()),
            Just("clientid".to_owned()),
            Just("clientsecret".to_owned()),
            Just("url".to_owned()),
            Just("certurl".to_owned()),
            Just("credentials".to_owned()),
            Just("items".to_owned()),
            Just("token".to_owned()),
            Just("resources".to_owned()),
            Just("pagination".to_owned()),
            Just("next".to_owned()),
            Just("href".to_owned()),
            Just("id".to_owned()),
            Just("name".to_owned()),
            Just("guid".to_owned()),
            "[a-z_]{1,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn no_planted(text: &str) -> Result<(), TestCaseError> {
    prop_assert!(!text.contains(PLANTED), "planted secret shown: {}", text);
    Ok(())
}

proptest! {
    #[test]
    fn service_keys(doc in arb_json()) {
        match ServiceKey::from_json(&doc.to_string()) {
            Ok(key) => {
                // The secret never shows; the same text under a non-secret name (`clientid`,
                // a URL, the zone) is shown by design, so only a secret found nowhere else counts.
                let ClientAuth::Secret { secret } = key.client_auth() else {
                    return Ok(());
                };
                let elsewhere = format!(
                    "{} {} {:?} {:?}",
                    key.client_id(),
                    key.token_url(),
                    key.api_url(),
                    key.identity_zone()
                );
                if secret.expose_secret() == PLANTED && !elsewhere.contains(PLANTED) {
                    no_planted(&format!("{key:?}"))?;
                    no_planted(&key.redacted_json().to_string())?;
                }
            }
            Err(e) => no_planted(&format!("{e} {e:?}"))?,
        }
    }

    #[test]
    fn vcap_services(doc in arb_json(), text in "\\PC{0,48}") {
        for input in [doc.to_string(), text] {
            let listing = runtime::parse_vcap_services(&input);
            for s in &listing.services {
                let _ = s.service_key();
                let _ = s.redacted_json();
            }
            let _ = listing.redacted_json();
        }
    }

    #[test]
    fn binding_folders(
        files in proptest::collection::btree_map(
            prop_oneof![
                Just("type".to_owned()), Just(".metadata".to_owned()), Just("uaa".to_owned()),
                Just("clientsecret".to_owned()), Just("tags".to_owned()), "[a-z.]{1,8}",
            ],
            prop_oneof![
                "[ -~]{0,40}",
                arb_json().prop_map(|v| v.to_string()),
                Just(r#"{"credentialProperties":[{"name":"uaa","format":"json"}],"metaDataProperties":[{"name":"type","format":"text"}]}"#.to_owned()),
            ],
            0..6,
        ),
        binding in "[a-z]{1,6}",
    ) {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(&binding);
        std::fs::create_dir(&dir).unwrap();
        for (name, text) in &files {
            let _ = std::fs::write(dir.join(name), text);
        }
        let env = ProcessEnv::new().with_var("SERVICE_BINDING_ROOT", root.path().to_string_lossy());
        let listing = runtime::list(&env);
        let _ = listing.redacted_json();
        let _ = listing.select(&runtime::Query::default());
    }

    #[test]
    fn retry_after(value in "\\PC{0,40}", secs in any::<u64>()) {
        let now = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
        let policy = crate::http::RetryPolicy::default();
        for v in [value, secs.to_string(), format!("{secs}.5"), format!("-{secs}")] {
            let _ = parse_retry_after(&v, now);
            // However large the server's number, the wait the client makes stays bounded.
            let outcome = crate::http::AttemptOutcome::Status { status: 429, retry_after: Some(v.clone()) };
            if let crate::http::RetryDecision::RetryAfter(wait) = policy.decide(1, &outcome, true, now, 0.5) {
                prop_assert!(wait <= policy.max_retry_after.max(policy.max_delay), "{:?} for {}", wait, v);
            }
        }
    }

    #[test]
    fn operation_locations(path in "\\PC{0,60}", host in "[a-z]{1,8}") {
        let base = Url::parse("https://sm.example").unwrap();
        for text in [path.clone(), format!("https://{host}.example{path}"), format!("//{host}/{path}")] {
            if let Ok(location) = base.join(&text)
                && parse_operation_location(&base, &location).is_ok()
            {
                prop_assert_eq!(location.origin(), base.origin());
            }
        }
    }

    #[test]
    fn jwt_claims_and_token_answers(
        header in "[A-Za-z0-9_-]{0,20}",
        payload in arb_json(),
        raw in proptest::collection::vec(any::<u8>(), 0..64),
        expires in any::<i64>(),
    ) {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        for p in [e.encode(payload.to_string()), e.encode(&raw)] {
            let token = format!("{header}.{p}.sig");
            let _ = jwt_claims(&token);
            let body = json!({"access_token": token, "expires_in": expires});
            if let Ok(t) = parse_token_response(body.to_string().as_bytes(), Utc::now()) {
                no_planted(&format!("{t:?}"))?;
            }
        }
    }

    #[test]
    fn service_manager_pages(doc in arb_json(), tokens in proptest::collection::vec("[a-z0-9]{0,6}", 0..30)) {
        let body = doc.to_string();
        if let Ok(page) = decode::<Page<Instance>>(body.as_bytes(), "page") {
            let _ = page.items.len();
        }
        let _ = decode::<Page<Binding>>(body.as_bytes(), "page");
        // However many pages, the budget stops the listing within its limits.
        let mut budget = ListBudget::default();
        let mut stopped = false;
        for _ in 0..(LIST_LIMITS.pages as usize + tokens.len() + 1) {
            if budget.count("/v1/x", 50, body.len(), &LIST_LIMITS).is_err() {
                stopped = true;
                break;
            }
        }
        prop_assert!(stopped);
        prop_assert!(budget.pages <= LIST_LIMITS.pages + 1);
    }

    #[test]
    fn cloud_foundry_pages(doc in arb_json(), hrefs in proptest::collection::vec("\\PC{0,30}", 0..10)) {
        let body = doc.to_string();
        let api = Url::parse("https://api.cf.example").unwrap();
        let mut seen = HashSet::new();
        if let Ok(page) = decode::<Paginated<ServiceInstance>>(body.as_bytes(), "page")
            && let Ok(Some(next)) = next_page_url(&api, &page.pagination, &mut seen)
        {
            prop_assert_eq!(next.origin(), api.origin());
        }
        let _ = decode::<Paginated<ServiceCredentialBinding>>(body.as_bytes(), "page");
        for h in hrefs {
            let p: crate::cloud_foundry::types::Pagination =
                serde_json::from_value(json!({"next": {"href": h}})).unwrap();
            if let Ok(Some(next)) = next_page_url(&api, &p, &mut seen) {
                prop_assert_eq!(next.origin(), api.origin());
            }
        }
    }

    #[test]
    fn error_bodies_display_without_control_characters(body in proptest::collection::vec(any::<u8>(), 0..400), text in "\\PC{0,80}") {
        let wire = parse_error_body(&body);
        for part in [wire.code, wire.message, wire.body_excerpt].into_iter().flatten() {
            prop_assert!(!printable(&part).chars().any(char::is_control));
        }
        let json_body = json!({"error": text, "description": text}).to_string();
        let e = crate::Error::from(crate::http::wire_error::api_error(crate::http::wire_error::ErrorContext {
            method: "GET",
            url: "https://sm.example/v1/x".into(),
            status: 400,
            body: json_body.as_bytes(),
            retry_after: None,
            location_host: None,
            router_error: None,
            correlation_id: "c",
            warnings: vec![text.clone()],
        }));
        prop_assert!(!e.to_string().chars().any(char::is_control));
    }
}
