//! Clients of a running simulator for the wire-level tests, with a fast retry policy.
#![allow(dead_code)]

use std::time::Duration;

use crate::cloud_foundry::CloudFoundry;
use crate::http::{HttpClient, RetryPolicy};
use crate::service_manager::ServiceManager;
use crate::simulator::Simulator;

/// Retries within milliseconds.
pub fn http() -> HttpClient {
    HttpClient::builder()
        .retry_policy(RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_millis(50),
        })
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A Service Manager client of a tenant's subaccount.
pub fn sm_for(sim: &Simulator, subdomain: &str, http: HttpClient) -> ServiceManager {
    sim.service_manager(subdomain).unwrap().with_http(http)
}

/// A Cloud Foundry client logged in as the simulator's user.
pub async fn cf_for(sim: &Simulator, http: HttpClient) -> CloudFoundry {
    CloudFoundry::connect_with(sim.cf_login(), http)
        .await
        .unwrap()
}
