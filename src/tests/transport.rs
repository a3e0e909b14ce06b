//! Contract tests of the HTTP transport against wiremock (and raw TCP) servers on loopback:
//! retries and `Retry-After`, 401 renewal, timeouts, dropped connections, redirects, URL policy,
//! error bodies, and that no secret reaches `Debug`, `Display` or the logs.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::http::{HttpClient, Request, RetryPolicy};
use crate::{Error, ServiceKey, TokenErrorKind, TokenSource};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "s3cr3t-CLIENT-secret!";
const TOKEN_1: &str = "eyTOKEN-one-abcdef";
const TOKEN_2: &str = "eyTOKEN-two-ghijkl";
const PASSWORD: &str = "pa55-w0rd-XYZ";

fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_millis(50),
    }
}

fn http_with(max_attempts: u32, timeout: Duration) -> HttpClient {
    HttpClient::builder()
        .retry_policy(policy(max_attempts))
        .request_timeout(timeout)
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

fn http() -> HttpClient {
    http_with(3, Duration::from_secs(5))
}

fn url(server: &MockServer, p: &str) -> Url {
    Url::parse(&format!("{}{p}", server.uri())).unwrap()
}

fn secret_key(server: &MockServer) -> ServiceKey {
    ServiceKey::from_value(json!({
        "uaa": {"clientid": "sb-x!b1|sapcloudalm!b2", "clientsecret": SECRET, "url": server.uri()}
    }))
    .unwrap()
}

/// Token server answering TOKEN_1 first and TOKEN_2 afterwards.
async fn mount_tokens(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": TOKEN_1, "expires_in": 3600})),
        )
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": TOKEN_2, "expires_in": 3600})),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn headers_and_correlation_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/flaky"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("accept", "application/json"))
        .and(header(
            "user-agent",
            concat!(
                "calm-credentials/",
                env!("CARGO_PKG_VERSION"),
                " my-tool/1.2"
            ),
        ))
        .and(header_exists("x-correlationid"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let http = HttpClient::builder()
        .retry_policy(policy(3))
        .user_agent_suffix("my-tool/1.2")
        .build()
        .unwrap();
    let first = http
        .send(Request::get(url(&server, "/v1/flaky")), None)
        .await
        .unwrap();
    let second = http
        .send(Request::get(url(&server, "/v1/other")), None)
        .await
        .unwrap();
    let received = server.received_requests().await.unwrap();
    let ids: Vec<String> = received
        .iter()
        .map(|r| r.headers["x-correlationid"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[0], ids[1], "retries keep the correlation id");
    assert_ne!(ids[1], ids[2], "each logical request gets its own");
    assert_eq!(first.correlation_id(), ids[0]);
    assert_eq!(second.correlation_id(), ids[2]);
    assert!(uuid::Uuid::parse_str(&ids[0]).is_ok());
    assert_eq!(http.request_count(), 3);
}

#[tokio::test]
async fn unauthorized_mid_run_renews_once_and_retries_once() {
    let server = MockServer::start().await;
    mount_tokens(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/x"))
        .and(header(
            "authorization",
            format!("Bearer {TOKEN_1}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "Unauthorized"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/x"))
        .and(header(
            "authorization",
            format!("Bearer {TOKEN_2}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []})))
        .expect(1)
        .mount(&server)
        .await;
    let http = http();
    let tokens = TokenSource::from_service_key(&secret_key(&server), &http).unwrap();
    let response = http
        .send(Request::get(url(&server, "/v1/x")), Some(&tokens))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // token, API (401), token, API (200)
    assert_eq!(http.request_count(), 4);
}

#[tokio::test]
async fn second_unauthorized_is_an_error_not_a_loop() {
    let server = MockServer::start().await;
    mount_tokens(&server).await;
    Mock::given(method("GET"))
        .and(path("/v3/orgs"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "errors": [{"code": 1000, "title": "CF-InvalidAuthToken", "detail": "Invalid Auth Token"}]
        })))
        .expect(2)
        .mount(&server)
        .await;
    let http = http();
    let tokens = TokenSource::from_service_key(&secret_key(&server), &http).unwrap();
    let err = http
        .send(Request::get(url(&server, "/v3/orgs")), Some(&tokens))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.platform_code(), Some("CF-InvalidAuthToken"));
    assert!(!err.is_retryable());
    assert_eq!(http.request_count(), 4, "2 token requests + 2 API requests");
}

#[tokio::test]
async fn rate_limited_with_each_retry_after_form_then_success() {
    let soon = chrono::Utc::now() + chrono::Duration::seconds(1);
    let forms: Vec<Option<String>> = vec![
        Some("1".into()),
        Some(soon.format("%a, %d %b %Y %H:%M:%S GMT").to_string()),
        Some(soon.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string()),
        Some(soon.format("%Y-%m-%d %H:%M:%S%.6f +0000 UTC").to_string()),
        Some("Sun, 06 Nov 1994 08:49:37 GMT".into()),
        Some("not a time".into()),
        None,
    ];
    for form in forms {
        let server = MockServer::start().await;
        let mut limited = ResponseTemplate::new(429)
            .set_body_json(json!({"error": "BadRequest", "description": "check Retry-After"}));
        if let Some(value) = &form {
            limited = limited.insert_header("retry-after", value.as_str());
        }
        Mock::given(method("GET"))
            .respond_with(limited)
            .up_to_n_times(2)
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": 1})))
            .expect(1)
            .mount(&server)
            .await;
        let http = http();
        let response = http
            .send(Request::get(url(&server, "/v1/service_plans")), None)
            .await;
        assert!(response.is_ok(), "{form:?}: {response:?}");
        assert_eq!(http.request_count(), 3, "{form:?}");
        server.verify().await;
    }
}

#[tokio::test]
async fn rate_limit_that_persists_reports_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30"))
        .expect(3)
        .mount(&server)
        .await;
    let http = http();
    let err = http
        .send(Request::get(url(&server, "/v1/x")), None)
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status, 429);
    assert_eq!(api.retry_after, Some(Duration::from_secs(30)));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn server_error_storm_gives_up_after_max_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream connect error"))
        .expect(4)
        .mount(&server)
        .await;
    let http = http_with(4, Duration::from_secs(5));
    let err = http
        .send(Request::get(url(&server, "/v1/x")), None)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.status(), Some(503));
    assert!(err.to_string().contains("upstream connect error"), "{err}");
    assert_eq!(http.request_count(), 4);
}

#[tokio::test]
async fn post_is_not_retried_unless_marked_retry_safe() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let http = http();
    let body = json!({"name": "calm"});
    let err = http
        .send(
            Request::post(url(&server, "/v1/service_instances")).json(body.clone()),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(http.request_count(), 1, "POST sent once");

    http.send(
        Request::patch(url(&server, "/v1/x")).json(body.clone()),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(http.request_count(), 2, "PATCH sent once");

    http.send(
        Request::post(url(&server, "/v1/service_instances"))
            .json(body)
            .retry_safe(true),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(http.request_count(), 5, "retry-safe POST sent 3 times");

    let received = server.received_requests().await.unwrap();
    assert_eq!(
        received[0].body_json::<serde_json::Value>().unwrap(),
        json!({"name": "calm"})
    );
    assert_eq!(received[0].headers["content-type"], "application/json");
}

#[tokio::test]
async fn post_is_retried_on_429_which_the_platform_sends_before_any_work() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "1"})))
        .mount(&server)
        .await;
    let http = http();
    let r = http
        .send(Request::post(url(&server, "/v1/x")), None)
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(http.request_count(), 2);
}

/// A raw TCP server that closes the first `drop_first` connections without answering, then
/// answers `200 {}`. Returns its URL and the number of connections accepted.
async fn dropping_server(drop_first: usize) -> (Url, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let mut buf = vec![0u8; 4096];
            let _ = socket.read(&mut buf).await;
            if n >= drop_first {
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                    )
                    .await;
            }
            drop(socket);
        }
    });
    (
        Url::parse(&format!("http://{address}/v3/jobs/1")).unwrap(),
        accepted,
    )
}

#[tokio::test]
async fn dropped_connection_is_retried_for_get() {
    let (url, accepted) = dropping_server(2).await;
    let http = http();
    let response = http.send(Request::get(url), None).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    assert_eq!(http.request_count(), 3);
}

#[tokio::test]
async fn dropped_connections_give_a_transport_error() {
    let (url, accepted) = dropping_server(usize::MAX).await;
    let http = http();
    let err = http
        .send(Request::get(url.clone()), None)
        .await
        .unwrap_err();
    let Error::Transport { attempts, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*attempts, 3);
    assert!(err.is_retryable());
    assert_eq!(accepted.load(Ordering::SeqCst), 3);

    let err = http.send(Request::post(url), None).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 4, "POST not retried");
}

#[tokio::test]
async fn slow_server_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let http = http_with(2, Duration::from_millis(200));
    let err = http
        .send(Request::get(url(&server, "/v1/slow?secret=x")), None)
        .await
        .unwrap_err();
    let Error::Transport {
        kind,
        attempts,
        url,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(kind, "timed out");
    assert_eq!(*attempts, 2);
    assert!(!url.contains("secret"));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn redirect_to_another_host_never_carries_the_token() {
    let api = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    mount_tokens(&api).await;
    // `localhost` vs `127.0.0.1`: another host for the redirect rule.
    let elsewhere_url = elsewhere.uri().replace("127.0.0.1", "localhost");
    Mock::given(method("GET"))
        .and(path("/v1/moved"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", format!("{elsewhere_url}/steal")),
        )
        .mount(&api)
        .await;
    Mock::given(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&elsewhere)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let http = http();
    let tokens = TokenSource::from_service_key(&secret_key(&api), &http).unwrap();
    let err = http
        .send(Request::get(url(&api, "/v1/moved")), Some(&tokens))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(302));
    let text = err.to_string();
    assert!(text.contains("localhost"), "{text}");
    assert!(text.contains("not followed"), "{text}");
}

#[tokio::test]
async fn redirect_on_the_same_host_is_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/old"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/new"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/new"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"here": true})))
        .mount(&server)
        .await;
    let http = http();
    let r = http
        .send(Request::get(url(&server, "/old")), None)
        .await
        .unwrap();
    assert_eq!(r.url().path(), "/new");
    assert_eq!(http.request_count(), 2, "the followed redirect is counted");
}

#[tokio::test]
async fn token_endpoint_redirect_is_an_error() {
    let token_server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/oauth/token", elsewhere.uri())),
        )
        .expect(1)
        .mount(&token_server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let http = http();
    let tokens = TokenSource::from_service_key(&secret_key(&token_server), &http).unwrap();
    let Err(Error::Token(e)) = tokens.token().await else {
        panic!("expected a token error")
    };
    assert_eq!(e.kind, TokenErrorKind::Unexpected);
    assert!(
        e.description.as_deref().unwrap().contains("redirect"),
        "{e}"
    );
    // Same host too: token requests follow no redirect at all.
    let same = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/login"))
        .expect(1)
        .mount(&same)
        .await;
    let tokens = TokenSource::from_service_key(&secret_key(&same), &http).unwrap();
    assert!(tokens.token().await.is_err());
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_before_sending() {
    let http = http();
    let err = http
        .send(
            Request::get(Url::parse("http://example.com/v1/info").unwrap()),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
    assert!(err.to_string().contains("https"), "{err}");
    assert_eq!(http.request_count(), 0);
}

#[tokio::test]
async fn error_bodies_table() {
    let huge = "x".repeat(2_000_000);
    // (status, body, platform code, CF numeric code, text the error must contain)
    type Case<'a> = (u16, String, Option<&'a str>, Option<i64>, &'a str);
    let cases: Vec<Case> = vec![
        (
            409,
            r#"{"error":"Conflict","description":"binding with same name exists for instance with id 1"}"#.into(),
            Some("Conflict"),
            None,
            "binding with same name exists",
        ),
        (
            422,
            r#"{"errors":[{"code":10008,"title":"CF-UnprocessableEntity","detail":"The service key name is taken"}]}"#.into(),
            Some("CF-UnprocessableEntity"),
            Some(10008),
            "The service key name is taken",
        ),
        (
            400,
            r#"{"error":"invalid_request","error_description":"Missing grant type"}"#.into(),
            Some("invalid_request"),
            None,
            "Missing grant type",
        ),
        (404, "<html><body>404 page not found</body></html>".into(), None, None, "404 page not found"),
        (404, String::new(), None, None, "answered 404"),
        (500, huge, None, None, "bytes in all"),
    ];
    for (status, body, code, numeric, needle) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status).set_body_string(body.clone()))
            .mount(&server)
            .await;
        let http = http_with(1, Duration::from_secs(5));
        let err = http
            .send(Request::get(url(&server, "/v1/x?q=1")), None)
            .await
            .unwrap_err();
        let Error::Api(api) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(api.status, status);
        assert_eq!(api.code.as_deref(), code, "{status}");
        assert_eq!(api.numeric_code, numeric);
        assert_eq!(api.method, "GET");
        assert!(!api.url.contains("q=1"));
        let text = err.to_string();
        assert!(text.contains(needle), "{text}");
        assert!(
            text.len() < 2000,
            "error text is shortened ({} bytes)",
            text.len()
        );
    }
}

#[tokio::test]
async fn response_helpers_on_the_wire() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("location", "/v1/service_instances/abc/operations/op1")
                .insert_header("x-cf-warnings", "first%20warning,second%2C%20with%20comma"),
        )
        .mount(&server)
        .await;
    let http = http();
    let r = http
        .send(
            Request::post(url(&server, "/v1/service_instances?async=true")),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(
        r.location().unwrap(),
        url(&server, "/v1/service_instances/abc/operations/op1")
    );
    assert_eq!(r.warnings(), vec!["first warning", "second, with comma"]);
    assert_eq!(r.header("X-CF-Warnings").map(|h| h.len()), Some(40));
    assert!(r.body().is_empty());
}

/// A `MakeWriter` collecting everything written into one buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

static CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();

#[tokio::test]
async fn no_secret_in_debug_display_or_logs() {
    // A global subscriber: with a thread-scoped one, callsites first hit by tests running in
    // parallel on other threads can stay disabled. Every test of this binary then logs into the
    // capture, which only widens the search.
    let capture = CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(capture.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("only this test installs one");
        capture
    });

    let server = MockServer::start().await;
    mount_tokens(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/x"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/busy"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let http = http();
    let tokens = TokenSource::from_service_key(&secret_key(&server), &http).unwrap();
    let password_source = TokenSource::cf_password(
        url(&server, "/oauth/token"),
        "user",
        SecretString::from(PASSWORD.to_owned()),
        Some("idp"),
        &http,
    )
    .unwrap();
    let static_source = TokenSource::static_token(SecretString::from(format!("bearer {TOKEN_1}")));

    let mut texts = Vec::new();
    let token = tokens.token().await.unwrap();
    texts.push(format!("{token:?}"));
    texts.push(format!(
        "{tokens:?} {password_source:?} {static_source:?} {http:?}"
    ));
    let password_token = password_source.token().await.unwrap();
    texts.push(format!("{password_token:?}"));
    for (path, source) in [
        ("/v1/x", &tokens),
        ("/v1/busy", &tokens),
        ("/v1/x", &static_source),
    ] {
        let err = http
            .send(
                Request::get(url(&server, &format!("{path}?client_secret={SECRET}"))),
                Some(source),
            )
            .await
            .unwrap_err();
        texts.push(err.to_string());
        texts.push(format!("{err:?}"));
    }
    let bad = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .mount(&bad)
        .await;
    let refused = TokenSource::from_service_key(&secret_key(&bad), &http).unwrap();
    let err = refused.token().await.unwrap_err();
    texts.push(format!("{err} {err:?}"));
    let request =
        Request::post(url(&server, "/v1/x?password=p")).json(json!({"password": PASSWORD}));
    texts.push(format!("{request:?}"));

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("correlation_id"), "spans are logged:\n{logs}");
    assert!(logs.contains("attempt"), "{logs}");
    texts.push(logs);
    for text in &texts {
        for secret in [SECRET, TOKEN_1, TOKEN_2, PASSWORD, "s3cr3t"] {
            assert!(!text.contains(secret), "`{secret}` leaked into:\n{text}");
        }
        // Form bodies are percent-encoded on the wire; the encoded forms must not leak either.
        assert!(!text.contains("s3cr3t-CLIENT-secret%21"));
    }
    assert_eq!(token.secret().expose_secret(), TOKEN_1);
}

#[tokio::test]
async fn redirect_loop_on_the_same_host_stops() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/loop"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/loop"))
        .mount(&server)
        .await;
    let http = http();
    let err = http
        .send(Request::get(url(&server, "/loop")), None)
        .await
        .unwrap_err();
    let Error::Transport { attempts, kind, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*attempts, 1, "a redirect loop is not retried");
    assert_eq!(kind, "too many redirects");
    assert!(http.request_count() <= 12, "{}", http.request_count());
}

#[tokio::test]
async fn cloud_foundry_warnings_on_an_error_answer_are_kept() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/service_credential_bindings"))
        .respond_with(
            ResponseTemplate::new(422)
                .insert_header(
                    "X-Cf-Warnings",
                    "Plan%20is%20deprecated, second%2C%20warning",
                )
                .set_body_json(
                    json!({"errors": [{"code": 10008, "title": "CF-UnprocessableEntity",
                    "detail": "Service plan does not allow bindings."}]}),
                ),
        )
        .mount(&server)
        .await;
    let err = http()
        .send(
            Request::post(url(&server, "/v3/service_credential_bindings")),
            None,
        )
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.warnings, ["Plan is deprecated", "second, warning"]);
    assert!(
        err.to_string()
            .contains("platform warnings: Plan is deprecated"),
        "{err}"
    );
}
