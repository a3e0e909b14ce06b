//! A hostile server, hostile files and a hostile environment against the `calm` command line:
//! endless pages, trickling and huge answers, token endpoints that echo the request, escape
//! sequences in error texts, binding folders with links out of the root, FIFOs and sparse
//! files, a non-UTF-8 environment variable. Each run must end with a clear error and exit code,
//! print no control character and not one planted secret.
//!
//! Bounds are asserted by counting (requests the server saw, pages, bytes), never by wall time;
//! the outer `tokio::time::timeout`s only keep a regression from hanging the suite.
#![cfg(feature = "simulator")]

mod common;

use std::ffi::OsString;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PLANTED_SM: &str = "PLANTED-SM-SECRET-5e1f";
const PLANTED_KEY: &str = "PLANTED-KEY-SECRET-77aa";
const PLANTED_PASSWORD: &str = "PLANTED-CF-PASSWORD-93c2";

/// How the body of an answer is sent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// With `Content-Length`, all at once.
    Whole,
    /// With `Content-Length`, one byte every two seconds.
    Trickle,
    /// Without `Content-Length`, until the connection closes.
    UntilClose,
}

struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    mode: Mode,
}

impl Reply {
    fn json(status: u16, value: Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
            mode: Mode::Whole,
        }
    }

    fn token() -> Reply {
        Reply::json(
            200,
            json!({"access_token": "hostile-token", "token_type": "bearer", "expires_in": 3600}),
        )
    }
}

/// One request as the server saw it.
struct Seen {
    method: String,
    target: String,
    body: Vec<u8>,
}

type Handler = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

/// A loopback HTTP/1.1 server that answers every request with what `handler` says and counts
/// the requests per path prefix.
struct Hostile {
    base: String,
    seen: Arc<Mutex<Vec<String>>>,
    bytes_sent: Arc<AtomicUsize>,
}

impl Hostile {
    async fn start(handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let bytes_sent = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let (log, sent) = (Arc::clone(&seen), Arc::clone(&bytes_sent));
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let (handler, log, sent) =
                    (Arc::clone(&handler), Arc::clone(&log), Arc::clone(&sent));
                tokio::spawn(async move {
                    let _ = serve(socket, handler, log, sent).await;
                });
            }
        });
        Hostile {
            base,
            seen,
            bytes_sent,
        }
    }

    /// How many requests went to a path starting with `prefix`.
    fn count(&self, prefix: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|t| t.split(' ').nth(1).is_some_and(|p| p.starts_with(prefix)))
            .count()
    }
}

async fn serve(
    mut socket: TcpStream,
    handler: Arc<Handler>,
    log: Arc<Mutex<Vec<String>>>,
    sent: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (
        first.next().unwrap_or_default().to_owned(),
        first.next().unwrap_or_default().to_owned(),
    );
    let length: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let n = {
        let mut log = log.lock().unwrap();
        log.push(format!("{method} {target}"));
        log.len()
    };
    let reply = handler(
        &Seen {
            method,
            target,
            body,
        },
        n,
    );
    let mut head = format!(
        "HTTP/1.1 {} X\r\ncontent-type: {}\r\nconnection: close\r\n",
        reply.status, reply.content_type
    );
    if reply.mode != Mode::UntilClose {
        head.push_str(&format!("content-length: {}\r\n", reply.body.len()));
    }
    head.push_str("\r\n");
    socket.write_all(head.as_bytes()).await?;
    match reply.mode {
        Mode::Whole | Mode::UntilClose => {
            for part in reply.body.chunks(64 * 1024) {
                socket.write_all(part).await?;
                sent.fetch_add(part.len(), Ordering::Relaxed);
            }
        }
        Mode::Trickle => {
            for byte in &reply.body {
                socket.write_all(std::slice::from_ref(byte)).await?;
                sent.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
    socket.shutdown().await
}

/// What a `calm` run printed and returned.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `calm` off the async runtime (the server keeps serving), with extra environment
/// variables (values may be any bytes) and `HOME`/`CF_HOME` in an empty directory.
async fn calm(args: &[&str], env: Vec<(String, OsString)>) -> Run {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let run = tokio::task::spawn_blocking(move || {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(common::calm_path());
        cmd.args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("HOME", home.path())
            .env("CF_HOME", home.path())
            .env_remove("SERVICE_BINDING_ROOT")
            .env_remove("VCAP_SERVICES")
            .env_remove("VCAP_SERVICES_FILE_PATH");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("calm runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    });
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("calm ends well within the guard")
        .unwrap()
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, OsString)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect()
}

/// Not one planted secret, and no control character but line breaks and tabs, in any output.
fn assert_clean(run: &Run, planted: &[&str]) {
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        for secret in planted {
            assert!(!text.contains(secret), "{secret} in {name}: {text}");
        }
        let bad: Vec<char> = text
            .chars()
            .filter(|c| {
                (c.is_control() && *c != '\n' && *c != '\t')
                    || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
            })
            .collect();
        assert!(
            bad.is_empty(),
            "control characters {bad:?} in {name}: {text:?}"
        );
    }
}

fn sm_key_file(dir: &tempfile::TempDir, base: &str) -> String {
    let key = json!({
        "clientid": "sb-hostile", "clientsecret": PLANTED_SM, "url": base,
        "sm_url": base, "xsappname": "hostile"
    });
    let path = dir.path().join("sm.json");
    std::fs::write(&path, key.to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

fn sm_retrieve<'a>(key: &'a str, timeout: &'a str) -> Vec<&'a str> {
    vec![
        "sm",
        "retrieve",
        "--sm-key",
        key,
        "--instance",
        "calm",
        "--binding",
        "calm-key",
        "--timeout",
        timeout,
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_service_manager_pages_are_cut_off_by_the_byte_budget() {
    // A new token with every page, and 256 KiB of padding on each.
    let pad = "x".repeat(256 * 1024);
    let server = Hostile::start(move |seen, n| match seen.target.as_str() {
        t if t.starts_with("/oauth/token") => Reply::token(),
        _ => Reply::json(
            200,
            json!({"num_items": 1_000_000, "items": [], "token": format!("t{n}"), "pad": pad}),
        ),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let key = sm_key_file(&dir, &server.base);
    let run = calm(&["sm", "list", "--sm-key", &key], vec![]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("was cut off after"), "{}", run.stderr);
    assert!(run.stderr.contains("bytes of answers"), "{}", run.stderr);
    // 32 MiB of answers at a little more than 256 KiB a page: the 128th page passes the budget.
    let pages = server.count("/v1/");
    assert_eq!(pages, 128, "{}", run.stderr);
    assert!(run.stderr.contains("after 128 page(s)"), "{}", run.stderr);
    assert_clean(&run, &[PLANTED_SM]);
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_cloud_foundry_pages_are_cut_off_by_the_page_cap() {
    let server = Arc::new(Mutex::new(String::new()));
    let base = Arc::clone(&server);
    let hostile = Hostile::start(move |seen, n| {
        let base = base.lock().unwrap().clone();
        match seen.target.split('?').next().unwrap_or_default() {
            "/" => Reply::json(
                200,
                json!({"links": {"login": {"href": base}, "uaa": {"href": base}}}),
            ),
            "/oauth/token" => Reply::token(),
            path => Reply::json(
                200,
                json!({
                    "pagination": {"total_results": 1_000_000, "total_pages": 20_000,
                                   "next": {"href": format!("{base}{path}?page={n}")}},
                    "resources": []
                }),
            ),
        }
    })
    .await;
    *server.lock().unwrap() = hostile.base.clone();
    let run = calm(
        &[
            "cf",
            "list",
            "--api",
            &hostile.base,
            "--org",
            "o",
            "--space",
            "s",
        ],
        env(&[("CF_USERNAME", "u"), ("CF_PASSWORD", PLANTED_PASSWORD)]),
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("more than 1000 pages"),
        "{}",
        run.stderr
    );
    assert_eq!(hostile.count("/v3/"), 1001, "{}", run.stderr);
    assert_clean(&run, &[PLANTED_PASSWORD]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trickling_server_cannot_hold_a_retrieve_past_its_timeout() {
    let server = Hostile::start(|seen, _| match seen.target.as_str() {
        t if t.starts_with("/oauth/token") => Reply::token(),
        _ => Reply {
            status: 200,
            content_type: "application/json",
            body: br#"{"items":[],"num_items":0}"#.repeat(10),
            mode: Mode::Trickle,
        },
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let key = sm_key_file(&dir, &server.base);
    let run = calm(&sm_retrieve(&key, "5"), vec![]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("gave up waiting"), "{}", run.stderr);
    // One attempt, cut at the deadline: no retry of a request the deadline ended.
    assert_eq!(server.count("/v1/"), 1, "{}", run.stderr);
    // At one byte per two seconds, five seconds let at most three bytes through.
    assert!(server.bytes_sent.load(Ordering::Relaxed) < 200);
    assert_clean(&run, &[PLANTED_SM]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trickling_api_root_cannot_hold_a_cf_key_past_its_timeout() {
    let server = Hostile::start(|_, _| Reply {
        status: 200,
        content_type: "application/json",
        body: br#"{"links":{}}"#.repeat(20),
        mode: Mode::Trickle,
    })
    .await;
    let run = calm(
        &[
            "cf",
            "key",
            "--api",
            &server.base,
            "--org",
            "o",
            "--space",
            "s",
            "--instance",
            "calm",
            "--key",
            "k",
            "--timeout",
            "3",
        ],
        env(&[("CF_USERNAME", "u"), ("CF_PASSWORD", PLANTED_PASSWORD)]),
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("gave up waiting"), "{}", run.stderr);
    assert_eq!(server.count("/"), 1, "{}", run.stderr);
    assert_clean(&run, &[PLANTED_PASSWORD]);
}

#[tokio::test(flavor = "multi_thread")]
async fn token_endpoints_that_echo_the_request_never_show_the_secret() {
    for html in [false, true] {
        let server = Hostile::start(move |seen, _| {
            let echo = String::from_utf8_lossy(&seen.body).into_owned();
            if html {
                Reply {
                    status: 401,
                    content_type: "text/html",
                    body: format!(
                        "<html><body><h1>Unauthorized</h1><pre>{} {}\n{echo}</pre></body></html>",
                        seen.method, seen.target
                    )
                    .into_bytes(),
                    mode: Mode::Whole,
                }
            } else {
                Reply {
                    status: 401,
                    content_type: "text/plain",
                    body: format!("bad credentials in request: {echo}").into_bytes(),
                    mode: Mode::Whole,
                }
            }
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("key.json");
        std::fs::write(
            &key_path,
            json!({"uaa": {"clientid": "id", "clientsecret": PLANTED_KEY, "url": server.base}})
                .to_string(),
        )
        .unwrap();
        let key_path = key_path.to_string_lossy().into_owned();
        for args in [
            vec!["verify", key_path.as_str(), "--json"],
            vec!["verify", key_path.as_str()],
        ] {
            let run = calm(&args, vec![]).await;
            assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
            assert!(
                format!("{}{}", run.stdout, run.stderr).contains("401"),
                "{}",
                run.stdout
            );
            assert_clean(&run, &[PLANTED_KEY]);
        }
        let sm_key = sm_key_file(&dir, &server.base);
        let run = calm(&sm_retrieve(&sm_key, "30"), vec![]).await;
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert_clean(&run, &[PLANTED_SM]);
        let run = calm(
            &[
                "cf",
                "list",
                "--api",
                &server.base,
                "--org",
                "o",
                "--space",
                "s",
            ],
            env(&[("CF_USERNAME", "u"), ("CF_PASSWORD", PLANTED_PASSWORD)]),
        )
        .await;
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert_clean(&run, &[PLANTED_PASSWORD]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn escape_sequences_in_server_texts_never_reach_the_terminal() {
    let server = Hostile::start(|seen, _| match seen.target.as_str() {
        t if t.starts_with("/oauth/token") => Reply::token(),
        _ => Reply::json(
            400,
            json!({"error": "Bad\u{1b}]0;pwned\u{7}Request",
                   "description": "\u{1b}[2J\u{1b}[HPassword: \u{9b}31m\r\u{202e}evil\u{8}"}),
        ),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let key = sm_key_file(&dir, &server.base);
    for args in [
        vec!["sm", "list", "--sm-key", key.as_str()],
        vec!["sm", "list", "--sm-key", key.as_str(), "--json"],
    ] {
        let run = calm(&args, vec![]).await;
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(format!("{}{}", run.stdout, run.stderr).contains("pwned"));
        assert_clean(&run, &[PLANTED_SM]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_answers_are_a_server_problem_not_bad_input() {
    for mode in [Mode::Whole, Mode::UntilClose] {
        let server = Hostile::start(move |seen, _| match seen.target.as_str() {
            t if t.starts_with("/oauth/token") => Reply::token(),
            _ => Reply {
                status: 200,
                content_type: "application/json",
                body: vec![b' '; 40 * 1024 * 1024],
                mode,
            },
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let key = sm_key_file(&dir, &server.base);
        let run = calm(&["sm", "list", "--sm-key", &key], vec![]).await;
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stderr.contains("more than 33554432 bytes"),
            "{}",
            run.stderr
        );
        // Not retried: the same answer would come again.
        assert_eq!(server.count("/v1/"), 1);
        assert_clean(&run, &[PLANTED_SM]);
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_non_utf8_variable_does_not_break_the_cloud_foundry_login() {
    use std::os::unix::ffi::OsStringExt;
    let server = Arc::new(Mutex::new(String::new()));
    let base = Arc::clone(&server);
    let hostile = Hostile::start(move |seen, _| {
        let base = base.lock().unwrap().clone();
        match seen.target.split('?').next().unwrap_or_default() {
            "/" => Reply::json(200, json!({"links": {"login": {"href": base}}})),
            "/oauth/token" => Reply::token(),
            _ => Reply::json(200, json!({"pagination": {"next": null}, "resources": []})),
        }
    })
    .await;
    *server.lock().unwrap() = hostile.base.clone();
    let mut vars = env(&[("CF_USERNAME", "u"), ("CF_PASSWORD", PLANTED_PASSWORD)]);
    vars.push((
        "HOSTILE_BYTES".into(),
        OsString::from_vec(b"PLANTED-NON-UTF8-\xff\xfe".to_vec()),
    ));
    let run = calm(
        &[
            "cf",
            "list",
            "--api",
            &hostile.base,
            "--org",
            "o",
            "--space",
            "s",
        ],
        vars,
    )
    .await;
    assert_ne!(run.code, 101, "panicked: {}", run.stderr);
    assert!(
        run.stderr.contains("org") || run.stderr.contains("not found"),
        "{}",
        run.stderr
    );
    assert_clean(&run, &[PLANTED_PASSWORD, "PLANTED-NON-UTF8"]);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn hostile_binding_folders_and_other_services_secrets_stay_hidden() {
    use std::os::unix::fs::symlink;
    let root = tempfile::tempdir().unwrap();
    let b = root.path().join("calm");
    std::fs::create_dir(&b).unwrap();
    std::fs::write(b.join("type"), "SAPCloudALMAPIs").unwrap();
    std::fs::write(b.join("clientsecret"), PLANTED_KEY).unwrap();
    symlink("/proc/self/environ", b.join("environ")).unwrap();
    std::fs::File::create(b.join("sparse"))
        .unwrap()
        .set_len(2 * 1024 * 1024 * 1024)
        .unwrap();
    let _ = Command::new("mkfifo").arg(b.join("fifo")).status();
    std::fs::write(b.join("title"), "calm\u{1b}]0;pwned\u{7}\u{1b}[2J").unwrap();

    let planted = [
        "PLANTED-01",
        "PLANTED-02",
        "PLANTED-03",
        "PLANTED-04",
        "PLANTED-05",
        "PLANTED-06",
        "PLANTED-07",
        "PLANTED-08",
        "PLANTED-09",
        "PLANTED-10",
        "PLANTED-11",
    ];
    let vcap = json!({
        "postgresql-db": [{"name": "db", "label": "postgresql-db", "tags": [], "credentials": {
            "uri": "postgres://admin:PLANTED-01@db.example:5432/x",
            "jdbcUrl": "jdbc:postgresql://db.example:5432/x?user=admin&password=PLANTED-02",
            "sslkey": "PLANTED-03", "sslrootcert": "cert"}}],
        "objectstore": [{"name": "os", "label": "objectstore", "tags": [], "credentials": {
            "apikey": "PLANTED-04", "tls.key": "PLANTED-05", "hmac": {"access_key_id": "a", "secret_access_key": "PLANTED-06"}}}],
        "user-provided": [{"name": "ups", "label": "user-provided", "tags": [], "credentials": {
            "auth": "Basic UExBTlRFRC0wNzp4",
            "header": "Authorization: Bearer PLANTED-07x",
            "conn": "Server=tcp:x.example,1433;User ID=u;Password=PLANTED-08;Encrypt=True",
            "azure": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=PLANTED-09;",
            "redis": "rediss://:PLANTED-10@cache.example:6380",
            "mongo": "mongodb://u:PLANTED-11@m1.example,m2.example/db?ssl=true"}}]
    });
    let vcap_file = root.path().join("vcap.json");
    std::fs::write(&vcap_file, vcap.to_string()).unwrap();
    let mut all_planted: Vec<&str> = planted.to_vec();
    all_planted.extend([PLANTED_KEY, "UExBTlRFRC0wNzp4", "PLANTED-ENV-VALUE"]);
    for args in [vec!["env", "--all"], vec!["env", "--all", "--json"]] {
        let vars = env(&[
            ("SERVICE_BINDING_ROOT", root.path().to_str().unwrap()),
            ("VCAP_SERVICES_FILE_PATH", vcap_file.to_str().unwrap()),
            ("PLANTED_IN_ENVIRONMENT", "PLANTED-ENV-VALUE"),
        ]);
        let run = calm(&args, vars).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stdout.contains("calm") && run.stdout.contains("ups"),
            "{}",
            run.stdout
        );
        assert_clean(&run, &all_planted);
    }
    // The VCAP file itself a device: refused, not read for ever.
    let run = calm(
        &["env", "--all"],
        env(&[("VCAP_SERVICES_FILE_PATH", "/dev/zero")]),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(format!("{}{}", run.stdout, run.stderr).contains("not a regular file"));
}
