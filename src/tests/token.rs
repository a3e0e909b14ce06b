//! Contract tests of the token sources against a wiremock token server on loopback: each grant's
//! exact form body and auth header, caching, single flight, expiry, refresh, error kinds.

use std::time::Duration;

use crate::http::{HttpClient, Request, RetryPolicy};
use crate::{Error, ServiceKey, TokenErrorKind, TokenSource};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use url::Url;
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "s3cr3t-CLIENT-secret!";
const CLIENT_ID: &str = "sb-calm!b1|sapcloudalm!b2";
const CERT: &str = include_str!("../../tests/fixtures/client-cert.pem");
const CERT_KEY: &str = include_str!("../../tests/fixtures/client-cert.key");

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
            "clientid": CLIENT_ID,
            "clientsecret": SECRET,
            "url": server.uri(),
            "identityzone": "acme",
        }
    }))
    .unwrap()
}

fn token_url(server: &MockServer) -> Url {
    Url::parse(&format!("{}/oauth/token", server.uri())).unwrap()
}

fn token_body(token: &str, expires_in: u64) -> serde_json::Value {
    json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in, "scope": "a.read b.write"})
}

fn no_authorization(req: &wiremock::Request) -> bool {
    !req.headers.contains_key("authorization")
}

/// An unsigned JWT with the given payload (the token source never checks signatures).
fn jwt(payload: serde_json::Value) -> String {
    let e = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    format!(
        "{}.{}.c2ln",
        e(&json!({"alg": "RS256", "typ": "JWT"})),
        e(&payload)
    )
}

#[tokio::test]
async fn client_credentials_secret_form_body_and_cache() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(header("accept", "application/json"))
        .and(no_authorization)
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
    let left = t1.expires_at().unwrap() - chrono::Utc::now();
    assert!(left > chrono::Duration::seconds(3590) && left <= chrono::Duration::seconds(3600));
    assert_eq!(http.request_count(), 1, "second call came from the cache");
    assert_eq!(source.token_url(), Some(&token_url(&server)));
}

#[tokio::test]
async fn x509_key_posts_client_id_only() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(no_authorization)
        .and(body_string(
            "grant_type=client_credentials&client_id=sb-calm%21b1%7Csapcloudalm%21b2",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-x509", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    let key = ServiceKey::from_value(json!({
        "uaa": {
            "clientid": CLIENT_ID,
            "certificate": CERT,
            "key": CERT_KEY,
            "certurl": server.uri(),
            "url": "https://never-used.example",
            "credential-type": "x509",
        }
    }))
    .unwrap();
    assert!(key.is_x509());
    let source = TokenSource::from_service_key(&key, &fast_http()).unwrap();
    assert_eq!(
        source.token().await.unwrap().secret().expose_secret(),
        "tok-x509"
    );
}

#[tokio::test]
async fn x509_key_with_unreadable_pem_fails_before_sending() {
    let key = ServiceKey::from_value(json!({
        "uaa": {
            "clientid": CLIENT_ID,
            "certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
            "key": "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----",
            "certurl": "https://acme.authentication.cert.eu10.hana.ondemand.com",
        }
    }))
    .unwrap();
    let http = fast_http();
    let err = TokenSource::from_service_key(&key, &http).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("uaa.certificate"), "{text}");
    assert!(!text.contains("c2VjcmV0"), "{text}");
    assert_eq!(http.request_count(), 0);
}

#[tokio::test]
async fn cf_password_grant_with_origin_then_refresh_then_password_again() {
    let server = MockServer::start().await;
    let hint = r#"{"origin":"corp-idp"}"#;
    // 1. password grant
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("authorization", "Basic Y2Y6"))
        .and(query_param("login_hint", hint))
        .and(body_string("grant_type=password&username=user%40example.com&password=p%40ss+w%C3%B6rd%26"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "tok-pw-1", "refresh_token": "ref-1", "expires_in": 1, "token_type": "bearer"
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    // 2. refresh grant with the refresh token from 1.
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("authorization", "Basic Y2Y6"))
        .and(body_string("grant_type=refresh_token&refresh_token=ref-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "tok-refreshed", "expires_in": 1
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    let http = fast_http();
    let source = TokenSource::cf_password(
        token_url(&server),
        "user@example.com",
        SecretString::from("p@ss wörd&".to_owned()),
        Some("corp-idp"),
        &http,
    )
    .unwrap();
    let t1 = source.token().await.unwrap();
    assert_eq!(t1.secret().expose_secret(), "tok-pw-1");
    assert_eq!(t1.refresh_token().unwrap().expose_secret(), "ref-1");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let t2 = source.token().await.unwrap();
    assert_eq!(t2.secret().expose_secret(), "tok-refreshed");
    // The refresh answer did not rotate the refresh token: the old one is kept.
    assert_eq!(t2.refresh_token().unwrap().expose_secret(), "ref-1");

    // 3. the refresh token is refused: fall back to the password.
    server.reset().await;
    Mock::given(method("POST"))
        .and(body_string("grant_type=refresh_token&refresh_token=ref-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_grant", "error_description": "Invalid refresh token (expired)"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(query_param("login_hint", hint))
        .and(body_string(
            "grant_type=password&username=user%40example.com&password=p%40ss+w%C3%B6rd%26",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-pw-2", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    source.invalidate(&t2);
    let t3 = source.token().await.unwrap();
    assert_eq!(t3.secret().expose_secret(), "tok-pw-2");
}

#[tokio::test]
async fn cf_password_without_origin_sends_no_login_hint() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(|req: &wiremock::Request| req.url.query().is_none())
        .and(body_string("grant_type=password&username=u&password=p"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("t", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    let source = TokenSource::cf_password(
        token_url(&server),
        "u",
        SecretString::from("p".to_owned()),
        None,
        &fast_http(),
    )
    .unwrap();
    source.token().await.unwrap();
}

#[tokio::test]
async fn cf_refresh_token_grant_uses_rotated_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Basic Y2Y6"))
        .and(body_string("grant_type=refresh_token&refresh_token=ref-A"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "tok-A", "refresh_token": "ref-B", "expires_in": 3600
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("authorization", "Basic Y2Y6"))
        .and(body_string("grant_type=refresh_token&refresh_token=ref-B"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-B", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    let source = TokenSource::cf_refresh_token(
        token_url(&server),
        SecretString::from("ref-A".to_owned()),
        &fast_http(),
    )
    .unwrap();
    let a = source.token().await.unwrap();
    assert_eq!(a.secret().expose_secret(), "tok-A");
    source.invalidate(&a);
    assert_eq!(
        source.token().await.unwrap().secret().expose_secret(),
        "tok-B"
    );
}

#[tokio::test]
async fn cf_client_credentials_form_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(no_authorization)
        .and(body_string(
            "grant_type=client_credentials&client_id=my-client&client_secret=sec%2Bret%3D%3D",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-cc", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    let source = TokenSource::cf_client_credentials(
        token_url(&server),
        "my-client",
        SecretString::from("sec+ret==".to_owned()),
        &fast_http(),
    )
    .unwrap();
    assert_eq!(
        source.token().await.unwrap().secret().expose_secret(),
        "tok-cc"
    );
}

#[tokio::test]
async fn static_token_prefix_and_refusal() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/orgs"))
        .and(header("authorization", "Bearer eyJ.static.tok"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "errors": [{"code": 1000, "title": "CF-InvalidAuthToken", "detail": "Invalid Auth Token"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    for given in [
        "bearer eyJ.static.tok",
        "Bearer  eyJ.static.tok ",
        "eyJ.static.tok",
    ] {
        let source = TokenSource::static_token(SecretString::from(given.to_owned()));
        assert_eq!(
            source.token().await.unwrap().secret().expose_secret(),
            "eyJ.static.tok"
        );
        assert!(source.token_url().is_none());
        assert!(!source.can_refresh());
    }
    let http = fast_http();
    let source = TokenSource::static_token(SecretString::from("bearer eyJ.static.tok".to_owned()));
    let url = Url::parse(&format!("{}/v3/orgs", server.uri())).unwrap();
    let err = http
        .send(Request::get(url), Some(&source))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("log in again"), "{text}");
    assert!(!text.contains("eyJ.static.tok"), "{text}");
    assert_eq!(err.status(), Some(401));
    assert_eq!(http.request_count(), 1, "no retry with the same token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousand_concurrent_callers_one_token_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body("tok-shared", 3600))
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let http = fast_http();
    let source = TokenSource::from_service_key(&secret_key(&server), &http).unwrap();
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.token().await })
        })
        .collect();
    for task in tasks {
        let token = task.await.unwrap().unwrap();
        assert_eq!(token.secret().expose_secret(), "tok-shared");
    }
    assert_eq!(http.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_share_one_failure() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(
                    json!({"error": "invalid_client", "error_description": "Bad credentials"}),
                )
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let http = fast_http();
    let source = TokenSource::from_service_key(&secret_key(&server), &http).unwrap();
    let first = {
        let source = source.clone();
        tokio::spawn(async move { source.token().await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let waiters: Vec<_> = (0..200)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.token().await })
        })
        .collect();
    assert!(first.await.unwrap().is_err());
    for w in waiters {
        let Err(Error::Token(e)) = w.await.unwrap() else {
            panic!("expected the shared token error")
        };
        assert_eq!(e.kind, TokenErrorKind::InvalidClient);
    }
    assert_eq!(http.request_count(), 1);
}

#[tokio::test]
async fn expiry_from_jwt_exp_when_expires_in_missing() {
    let server = MockServer::start().await;
    let exp = chrono::Utc::now().timestamp() + 7200;
    let token = jwt(json!({"exp": exp, "zid": "z", "scope": ["s1", "s2"]}));
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": token})))
        .expect(1)
        .mount(&server)
        .await;
    let source = TokenSource::from_service_key(&secret_key(&server), &fast_http()).unwrap();
    let t = source.token().await.unwrap();
    assert_eq!(t.expires_at().unwrap().timestamp(), exp);
    assert_eq!(t.scopes(), ["s1", "s2"]);
    assert_eq!(t.claims().unwrap()["zid"], "z");
}

#[tokio::test]
async fn opaque_token_without_expiry_is_short_lived_but_cached() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "opaque"})))
        .expect(1)
        .mount(&server)
        .await;
    let source = TokenSource::from_service_key(&secret_key(&server), &fast_http()).unwrap();
    let t = source.token().await.unwrap();
    assert!(t.expires_at().is_none());
    assert!(t.claims().is_none());
    source.token().await.unwrap();
}

#[tokio::test]
async fn refreshes_before_expiry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-1", 1)))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-2", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    let http = fast_http();
    let source = TokenSource::from_service_key(&secret_key(&server), &http).unwrap();
    assert_eq!(
        source.token().await.unwrap().secret().expose_secret(),
        "tok-1"
    );
    // Slack is min(60 s, half the lifetime) = 0.5 s: after 0.6 s the token is renewed although
    // it has not expired yet.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        source.token().await.unwrap().secret().expose_secret(),
        "tok-2"
    );
    assert_eq!(
        source.token().await.unwrap().secret().expose_secret(),
        "tok-2"
    );
    assert_eq!(http.request_count(), 2);
}

#[tokio::test]
async fn refresh_slack_is_configurable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok", 600)))
        .expect(2)
        .mount(&server)
        .await;
    let http = fast_http();
    let source = TokenSource::from_service_key(&secret_key(&server), &http)
        .unwrap()
        .with_refresh_slack(Duration::ZERO);
    let t = source.token().await.unwrap();
    source.token().await.unwrap();
    assert_eq!(http.request_count(), 1);
    // Invalidating a token that is no longer cached does nothing; the cached one does.
    source.invalidate(&t);
    source.token().await.unwrap();
    source.invalidate(&t);
    source.token().await.unwrap();
    assert_eq!(http.request_count(), 2);
}

#[tokio::test]
async fn token_errors_are_classified() {
    let cases: Vec<(u16, &str, TokenErrorKind, u64)> = vec![
        (
            401,
            r#"{"error":"invalid_client","error_description":"Bad credentials"}"#,
            TokenErrorKind::InvalidClient,
            1,
        ),
        (
            400,
            r#"{"error":"invalid_grant"}"#,
            TokenErrorKind::InvalidGrant,
            1,
        ),
        (
            400,
            r#"{"error":"unauthorized_client"}"#,
            TokenErrorKind::Unauthorized,
            1,
        ),
        (403, "Forbidden", TokenErrorKind::Unauthorized, 1),
        (503, "<html>down</html>", TokenErrorKind::ServerError, 3),
        (429, "", TokenErrorKind::ServerError, 3),
        (
            200,
            "<html>login page</html>",
            TokenErrorKind::Unexpected,
            1,
        ),
        (
            200,
            r#"{"token_type":"bearer"}"#,
            TokenErrorKind::Unexpected,
            1,
        ),
    ];
    for (status, body, kind, hits) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .expect(hits)
            .mount(&server)
            .await;
        let http = fast_http();
        let source = TokenSource::from_service_key(&secret_key(&server), &http).unwrap();
        let Err(Error::Token(e)) = source.token().await else {
            panic!("{status} {body}: expected a token error")
        };
        assert_eq!(e.kind, kind, "{status} {body}");
        assert_eq!(http.request_count(), hits, "{status} {body}");
        let err = Error::Token(e);
        assert_eq!(err.is_retryable(), kind == TokenErrorKind::ServerError);
        assert!(!err.to_string().contains(SECRET));
    }
}

#[tokio::test]
async fn token_url_policy_is_checked_before_sending() {
    let http = fast_http();
    let key = ServiceKey::from_value(json!({
        "uaa": {"clientid": "c", "clientsecret": SECRET, "url": "http://acme.authentication.example.com"}
    }))
    .unwrap();
    let Err(Error::InvalidUrl { field, .. }) = TokenSource::from_service_key(&key, &http) else {
        panic!("plain http to a remote host must be refused")
    };
    assert_eq!(field, "uaa.url");
    for result in [
        TokenSource::cf_password(
            Url::parse("http://uaa.example.com/oauth/token").unwrap(),
            "u",
            SecretString::from("p".to_owned()),
            None,
            &http,
        ),
        TokenSource::cf_refresh_token(
            Url::parse("http://uaa.example.com/oauth/token").unwrap(),
            SecretString::from("r".to_owned()),
            &http,
        ),
        TokenSource::cf_client_credentials(
            Url::parse("http://uaa.example.com/oauth/token").unwrap(),
            "c",
            SecretString::from("s".to_owned()),
            &http,
        ),
    ] {
        assert!(matches!(result, Err(Error::InvalidUrl { .. })));
    }
    assert_eq!(http.request_count(), 0);
}
