//! The limiter end to end: real requests through [`HttpClient`] to a simulator that enforces
//! SAP's limits with a minute of a few seconds. Every figure is read from the simulator's
//! request log (arrival times, statuses) or counted; none is a wall-clock duration.

use std::time::{Duration, Instant};

use super::{RateLimiters, RateLimits, Scope};
use crate::auth::TokenSource;
use crate::credentials::ServiceKey;
use crate::http::{HttpClient, Request, RetryPolicy};
use crate::simulator::{LimitRetryAfter, RequestRecord, Server, ServerLimits, Simulator};

const TENANT: &str = "calm-auto";

struct Setup {
    sim: Simulator,
    http: HttpClient,
    tokens: TokenSource,
    client_id: String,
    limiters: RateLimiters,
}

/// The Service Manager key of [`TENANT`] (read from the simulator's JSON description).
fn sm_key(sim: &Simulator) -> ServiceKey {
    let all = sim.to_json();
    let tenant = all["tenants"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["subdomain"] == TENANT))
        .expect("tenant");
    ServiceKey::from_value(tenant["sm_key"].clone()).expect("key")
}

/// Time a request may take from leaving the client to being counted by the simulator, on a
/// busy test machine (the client counts each request this much longer).
const TRANSIT: Duration = Duration::from_millis(300);

async fn setup(server: ServerLimits, client: RateLimits) -> Setup {
    let client = client.margin(TRANSIT);
    let sim = Simulator::builder()
        .rate_limits(server)
        .start()
        .await
        .expect("simulator");
    let limiters = RateLimiters::new(client);
    let http = HttpClient::builder()
        .rate_limiters(limiters.clone())
        .retry_policy(RetryPolicy {
            max_attempts: 8,
            ..RetryPolicy::default()
        })
        .build()
        .expect("client");
    let key = sm_key(&sim);
    let tokens = TokenSource::from_service_key(&key, &http).expect("tokens");
    Setup {
        client_id: key.client_id().to_owned(),
        sim,
        http,
        tokens,
        limiters,
    }
}

impl Setup {
    /// `tasks` tasks, each sending `paths` in order through the shared client; every request
    /// must end in success.
    async fn run(&self, tasks: usize, paths: &[&str]) {
        let mut handles = Vec::new();
        for _ in 0..tasks {
            let http = self.http.clone();
            let tokens = self.tokens.clone();
            let urls: Vec<url::Url> = paths
                .iter()
                .map(|p| self.sim.sm_url().join(p).expect("url"))
                .collect();
            handles.push(tokio::spawn(async move {
                for url in urls {
                    http.send(Request::get(url), Some(&tokens))
                        .await
                        .expect("every request succeeds in the end");
                }
            }));
        }
        for handle in handles {
            handle.await.expect("task");
        }
    }

    /// The Service Manager requests of our client, in order of arrival.
    fn served(&self) -> Vec<RequestRecord> {
        let mut records: Vec<RequestRecord> = self
            .sim
            .requests()
            .into_iter()
            .filter(|r| r.server == Server::ServiceManager)
            .filter(|r| r.client.as_deref() == Some(self.client_id.as_str()))
            .collect();
        records.sort_by_key(|r| r.at);
        records
    }
}

/// The most requests (that `count` selects) arriving within any half-open window of `per`.
fn busiest(
    records: &[RequestRecord],
    per: Duration,
    count: impl Fn(&RequestRecord) -> bool,
) -> usize {
    let times: Vec<Instant> = records.iter().filter(|r| count(r)).map(|r| r.at).collect();
    times
        .iter()
        .map(|start| {
            times
                .iter()
                .filter(|t| **t >= *start && **t < *start + per)
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn too_many(records: &[RequestRecord]) -> usize {
    records.iter().filter(|r| r.status == 429).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_through_one_client_never_exceeds_a_limit_in_any_sliding_window() {
    let minute = Duration::from_secs(2);
    let server = ServerLimits::documented()
        .minute(minute)
        .all_per_minute(30)
        .bindings_per_minute(20);
    let client = RateLimits::documented()
        .per_minute(Scope::All, 30)
        .per_minute(Scope::Bindings, 20)
        .scaled_to(minute);

    // Control: the same burst without the limiter is refused by the server.
    let control = setup(server.clone(), client.clone()).await;
    let bare = HttpClient::builder()
        .retry_policy(RetryPolicy::never())
        .build()
        .expect("client");
    let tokens = TokenSource::from_service_key(&sm_key(&control.sim), &bare).expect("tokens");
    let mut refused = 0;
    for _ in 0..25 {
        let url = control
            .sim
            .sm_url()
            .join("/v1/service_bindings")
            .expect("url");
        if let Err(e) = bare.send(Request::get(url), Some(&tokens)).await {
            assert_eq!(e.status(), Some(429));
            refused += 1;
        }
    }
    assert_eq!(
        refused, 5,
        "the simulator lets 20 binding requests per minute through"
    );

    let s = setup(server, client).await;
    let per_task = [
        "/v1/service_offerings",
        "/v1/service_bindings",
        "/v1/service_bindings",
        "/v1/service_instances",
        "/v1/service_bindings",
        "/v1/service_plans",
        "/v1/service_bindings",
        "/v1/service_bindings",
    ];
    s.run(8, &per_task).await;

    let served = s.served();
    assert_eq!(
        served.len(),
        64,
        "every request sent once: none was refused and retried"
    );
    assert_eq!(too_many(&served), 0);
    let bindings = |r: &RequestRecord| r.path.starts_with("/v1/service_bindings");
    assert_eq!(served.iter().filter(|r| bindings(r)).count(), 40);
    assert!(busiest(&served, minute, |_| true) <= 30);
    assert!(busiest(&served, minute, bindings) <= 20);
    // The limits were used, not just kept: the first window is full.
    assert_eq!(busiest(&served, minute, |_| true), 30);
    let stats = s
        .limiters
        .get(&s.client_id)
        .expect("limiter of the key's client")
        .stats();
    assert_eq!((stats.admitted, stats.rate_limited), (64, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_pauses_every_task_of_the_client_until_retry_after_in_every_form() {
    let minute = Duration::from_secs(3);
    let forms = [
        LimitRetryAfter::HttpDate,
        LimitRetryAfter::GoTime,
        LimitRetryAfter::Seconds,
        LimitRetryAfter::Absent,
    ];
    let runs = forms.map(|form| async move {
        // The server allows 6 per minute; the client believes SAP's 1,000 and learns it the
        // hard way. Without a header the client pauses for its default of one minute.
        let server = ServerLimits::documented()
            .minute(minute)
            .all_per_minute(6)
            .retry_after(form);
        let client = RateLimits::documented()
            .scaled_to(minute)
            .default_pause(minute);
        let s = setup(server, client).await;
        s.run(4, &["/v1/service_instances", "/v1/service_instances"])
            .await;
        (form, s)
    });
    for (form, s) in futures_util::future::join_all(runs).await {
        let served = s.served();
        assert_eq!(served.len() - too_many(&served), 8, "{form:?}");
        let stats = s.limiters.get(&s.client_id).expect("limiter").stats();
        assert!(stats.rate_limited >= 1, "{form:?}: the server refused some");
        assert!(
            too_many(&served) <= 4,
            "{form:?}: only requests already out when the first 429 came back may be refused, \
             got {} 429s",
            too_many(&served)
        );
        let (first_seen, first_until) = stats.pauses[0];
        assert!(
            first_until - first_seen >= Duration::from_secs(1),
            "{form:?}: the first pause lasts until the window frees (about 3 s)"
        );
        // Requests that were out when a 429 arrived may still land just after it; none is sent
        // while the pause lasts.
        let grace = TRANSIT;
        for (seen, until) in &stats.pauses {
            let (seen, until) = (seen.into_std(), until.into_std());
            let during = served
                .iter()
                .filter(|r| r.at >= seen + grace && r.at < until)
                .count();
            assert_eq!(during, 0, "{form:?}: requests sent during a pause");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_lower_limits_than_documented_costs_few_429s() {
    let minute = Duration::from_secs(2);
    // SAP documents 600 binding requests per minute; this server allows 8.
    let server = ServerLimits::documented()
        .minute(minute)
        .bindings_per_minute(8);
    let client = RateLimits::documented().scaled_to(minute);
    let s = setup(server, client).await;
    let paths = ["/v1/service_bindings"; 8];
    s.run(3, &paths).await;

    let served = s.served();
    assert_eq!(served.len() - too_many(&served), 24);
    let refused = too_many(&served);
    // The requests already out when the first 429 came back (one per task), and at most one
    // more while the client settles just under the server's limit.
    assert!(
        refused <= 4,
        "the client adapts after the first 429s; got {refused} for 24 requests"
    );
    let stats = s.limiters.get(&s.client_id).expect("limiter").stats();
    let bindings_now = stats
        .effective
        .iter()
        .find(|(limit, _)| limit.scope == Scope::Bindings && limit.per == minute)
        .map(|(_, n)| *n)
        .expect("bindings limit");
    assert!(
        bindings_now <= 8,
        "the bindings limit came down to the server's, got {bindings_now}"
    );
}
