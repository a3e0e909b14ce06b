//! Contract tests of the token sources against a wiremock token server on loopback.

use std::sync::Arc;
use std::time::Duration;

use calm_credentials::http::{HttpClient, Request, RetryPolicy};
use calm_credentials::{Error, ServiceKey, TokenErrorKind, TokenSource};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use url::Url;
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "s3cr3t-CLIENT-secret!";

fn fast_http() -> HttpClient {
    HttpClient::builder()
        .retry_policy(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_millis(50),
        })
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn secret_key(server: &MockServer) -> ServiceKey {
    ServiceKey::from_value(json!({
        "endpoints": {"Api": "https://eu10.alm.cloud.sap/api"},
        "uaa": {
            "clientid": "sb-calm!b1|sapcloudalm!b2",
            "clientsecret": SECRET,
            "url": server.uri(),
            "identityzone": "acme",
        }
    }))
    .unwrap()
}

fn token_body(token: &str, expires_in: u64) -> serde_json::Value {
    json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in, "scope": "a.read b.write"})
}

#[tokio::test]
async fn client_credentials_secret_form_body_and_cache() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(header("accept", "application/json"))
        .and(body_string(
            "grant_type=client_credentials&client_id=sb-calm%21b1%7Csapcloudalm%21b2&client_secret=s3cr3t-CLIENT-secret%21",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-1", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    let http = fast_http();
    let source = TokenSource::from_service_key(&secret_key(&server), &http).unwrap();
    let t1 = source.token().await.unwrap();
    let t2 = source.token().await.unwrap();
    assert_eq!(t1.secret().expose_secret(), "tok-1");
    assert_eq!(t2.secret().expose_secret(), "tok-1");
    assert_eq!(t1.scopes(), ["a.read", "b.write"]);
    assert_eq!(http.request_count(), 1);
}

#[tokio::test]
async fn send_uses_bearer_and_parses_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-1", 3600)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/x"))
        .and(header("authorization", "Bearer tok-1"))
        .and(query_param("q", "a b"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/conflict"))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_json(json!({"error": "Conflict", "description": "name taken"})),
        )
        .mount(&server)
        .await;
    let http = fast_http();
    let source = TokenSource::from_service_key(&secret_key(&server), &http).unwrap();
    let base = Url::parse(&server.uri()).unwrap();
    let r = http
        .send(
            Request::get(base.join("/v1/x").unwrap()).query("q", "a b"),
            Some(&source),
        )
        .await
        .unwrap();
    assert_eq!(r.json::<serde_json::Value>().unwrap(), json!({"ok": true}));
    let e = http
        .send(
            Request::get(base.join("/v1/conflict").unwrap()),
            Some(&source),
        )
        .await
        .unwrap_err();
    assert!(e.is_conflict(), "{e}");
    assert_eq!(e.platform_code(), Some("Conflict"));
    let _ = Arc::new(0);
}

#[tokio::test]
async fn invalid_client_is_classified() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": "invalid_client", "error_description": "Bad credentials"}),
        ))
        .mount(&server)
        .await;
    let http = fast_http();
    let source = TokenSource::from_service_key(&secret_key(&server), &http).unwrap();
    let Err(Error::Token(e)) = source.token().await else {
        panic!("expected a token error")
    };
    assert_eq!(e.kind, TokenErrorKind::InvalidClient);
    let _ = SecretString::from(String::new());
}
