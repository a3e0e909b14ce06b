//! "Test Service Key" against a wiremock token server issuing JWTs signed with a test RSA key.

use std::time::Duration;

use calm_credentials::{Error, HttpClient, RetryPolicy, ServiceKey, SignatureCheck, verify};
use chrono::{TimeZone, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Test-only RSA key pair (generated with openssl for these tests).
const SIGNING_KEY: &str = include_str!("fixtures/jwt-signing-key.pem");
const PUBLIC_KEY: &str = include_str!("fixtures/jwt-signing-key.pub");
const OTHER_PUBLIC_KEY: &str = include_str!("fixtures/other-key.pub");
/// Self-signed test certificate, notAfter 2031-11-01 22:28:05 UTC, and its key.
const CERT: &str = include_str!("fixtures/client-cert.pem");
const CERT_KEY: &str = include_str!("fixtures/client-cert.key");

const SECRET: &str = "verify-SECRET-value-42";
const ZONE_ID: &str = "5f3c1a2b-0000-4000-8000-00000000abcd";

fn http() -> HttpClient {
    HttpClient::builder()
        .retry_policy(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(10),
            max_retry_after: Duration::from_millis(10),
        })
        .build()
        .unwrap()
}

fn signed_jwt(kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    let claims = json!({
        "exp": Utc::now().timestamp() + 43199,
        "zid": ZONE_ID,
        "ext_attr": {"zdn": "acme"},
        "scope": ["calm-api!b1.read", "uaa.resource"],
        "client_id": "sb-calm!b1|sapcloudalm!b2",
        "aud": ["somewhere-else"],
    });
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(SIGNING_KEY.as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn token_server(token: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token, "token_type": "bearer", "expires_in": 43199,
            "scope": "calm-api!b1.read uaa.resource"
        })))
        .mount(&server)
        .await;
    server
}

fn key(server: &MockServer, verification_key: Option<&str>) -> ServiceKey {
    let mut uaa = json!({
        "clientid": "sb-calm!b1|sapcloudalm!b2",
        "clientsecret": SECRET,
        "url": server.uri(),
        "identityzone": "acme",
        "identityzoneid": ZONE_ID,
    });
    if let Some(vk) = verification_key {
        uaa["verificationkey"] = json!(vk);
    }
    ServiceKey::from_value(
        json!({"endpoints": {"Api": "https://eu10.alm.cloud.sap/api"}, "uaa": uaa}),
    )
    .unwrap()
}

#[tokio::test]
async fn valid_signature_in_every_pem_layout() {
    let token = signed_jwt("key-id-1");
    let server = token_server(&token).await;
    let one_line = PUBLIC_KEY.replace('\n', "");
    let escaped = PUBLIC_KEY.replace('\n', "\\n");
    for layout in [PUBLIC_KEY.to_owned(), one_line, escaped] {
        let v = verify(&key(&server, Some(&layout)), &http()).await.unwrap();
        assert!(v.works, "{v:?}");
        assert_eq!(v.problem, None);
        assert_eq!(v.signature, SignatureCheck::Valid, "{layout}");
        assert_eq!(v.scopes, ["calm-api!b1.read", "uaa.resource"]);
        assert_eq!(v.zone_id.as_deref(), Some(ZONE_ID));
        assert_eq!(v.identity_zone.as_deref(), Some("acme"));
        assert_eq!(v.zone_matches_key, Some(true));
        assert_eq!(v.client_id, "sb-calm!b1|sapcloudalm!b2");
        assert!(v.token_expires_at.unwrap() > Utc::now() + chrono::Duration::hours(11));
        assert_eq!(v.certificate_expires_at, None);

        let shown = format!("{v:?} {}", serde_json::to_string(&v).unwrap());
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(!shown.contains(&token), "{shown}");
    }
}

#[tokio::test]
async fn wrong_key_is_invalid() {
    let server = token_server(&signed_jwt("k")).await;
    let v = verify(&key(&server, Some(OTHER_PUBLIC_KEY)), &http())
        .await
        .unwrap();
    assert!(v.works, "a token was issued");
    let SignatureCheck::Invalid(reason) = &v.signature else {
        panic!("{v:?}")
    };
    assert!(reason.contains("verificationkey"), "{reason}");

    let v = verify(
        &key(
            &server,
            Some("-----BEGIN PUBLIC KEY-----AAAA-----END PUBLIC KEY-----"),
        ),
        &http(),
    )
    .await
    .unwrap();
    assert!(matches!(v.signature, SignatureCheck::Invalid(_)), "{v:?}");
}

#[tokio::test]
async fn not_checked_without_key_or_jwt() {
    let server = token_server(&signed_jwt("k")).await;
    let v = verify(&key(&server, None), &http()).await.unwrap();
    assert!(
        matches!(v.signature, SignatureCheck::NotChecked(_)),
        "{v:?}"
    );

    let opaque = token_server("opaque-token-value").await;
    let v = verify(&key(&opaque, Some(PUBLIC_KEY)), &http())
        .await
        .unwrap();
    assert!(v.works);
    assert!(
        matches!(v.signature, SignatureCheck::NotChecked(_)),
        "{v:?}"
    );
    assert_eq!(v.zone_matches_key, None);
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["signature"]["result"], "not_checked");
}

#[tokio::test]
async fn refused_credentials_are_reported_not_raised() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client", "error_description": "Bad credentials"
        })))
        .mount(&server)
        .await;
    let v = verify(&key(&server, Some(PUBLIC_KEY)), &http())
        .await
        .unwrap();
    assert!(!v.works);
    let problem = v.problem.as_deref().unwrap();
    assert!(problem.contains("invalid_client"), "{problem}");
    assert!(problem.contains("create new credentials"), "{problem}");
    assert!(!problem.contains(SECRET));
    assert!(v.scopes.is_empty());
}

#[tokio::test]
async fn zone_mismatch_is_a_problem() {
    let server = token_server(&signed_jwt("k")).await;
    let mut doc = key(&server, Some(PUBLIC_KEY)).expose_json();
    doc["uaa"]["identityzoneid"] = json!("00000000-0000-4000-8000-000000000999");
    let other = ServiceKey::from_value(doc).unwrap();
    let v = verify(&other, &http()).await.unwrap();
    assert_eq!(v.zone_matches_key, Some(false));
    assert!(v.problem.unwrap().contains("another identity zone"));
}

#[tokio::test]
async fn certificate_expiry_of_x509_keys() {
    let server = token_server(&signed_jwt("k")).await;
    let key = ServiceKey::from_value(json!({
        "uaa": {
            "clientid": "sb-calm!b1|sapcloudalm!b2",
            "certificate": CERT,
            "key": CERT_KEY,
            "certurl": server.uri(),
            "credential-type": "x509",
        }
    }))
    .unwrap();
    let v = verify(&key, &http()).await.unwrap();
    assert!(v.works, "{v:?}");
    let expected = Utc.with_ymd_and_hms(2031, 11, 1, 22, 28, 5).unwrap();
    assert_eq!(v.certificate_expires_at, Some(expected));
    let days = v.certificate_days_left.unwrap();
    assert_eq!(days, (expected - Utc::now()).num_days());
    let shown = format!("{v:?} {}", serde_json::to_string(&v).unwrap());
    assert!(!shown.contains("PRIVATE KEY"));
}

#[tokio::test]
async fn x509_keys_with_literal_newline_escapes_work() {
    let server = token_server(&signed_jwt("k")).await;
    let escape = |pem: &str| pem.trim_end().replace('\n', "\\n");
    let key = ServiceKey::from_value(json!({
        "uaa": {
            "clientid": "sb-calm!b1|sapcloudalm!b2",
            "certificate": escape(CERT),
            "key": escape(CERT_KEY),
            "certurl": server.uri(),
            "credential-type": "x509",
        }
    }))
    .unwrap();
    let v = verify(&key, &http()).await.unwrap();
    assert!(v.works, "{v:?}");
    assert!(v.certificate_expires_at.is_some());
}

#[tokio::test]
async fn unusable_url_is_an_error() {
    let key = ServiceKey::from_value(json!({
        "uaa": {"clientid": "c", "clientsecret": SECRET, "url": "http://acme.authentication.example.com"}
    }))
    .unwrap();
    let http = http();
    let err = verify(&key, &http).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidUrl { ref field, .. } if field == "uaa.url"),
        "{err:?}"
    );
    assert_eq!(http.request_count(), 0);
}

#[tokio::test]
async fn unreachable_token_server_is_reported() {
    // A port nobody listens on: bind, note the port, close.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let key = ServiceKey::from_value(json!({
        "uaa": {"clientid": "c", "clientsecret": SECRET, "url": format!("http://127.0.0.1:{port}")}
    }))
    .unwrap();
    let v = verify(&key, &http()).await.unwrap();
    assert!(!v.works);
    assert!(v.problem.unwrap().contains("could not connect"));
}
