//! What the networked commands share: a runtime, an HTTP client, a spinner fed by progress
//! events, and the way credentials are printed.

use std::time::Duration;

use calm_credentials::{HttpClient, ProgressEvent, ServiceKey};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

/// A multi-threaded tokio runtime for one command.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

/// An HTTP client with default timeouts and retries.
pub fn http() -> calm_credentials::Result<HttpClient> {
    HttpClient::builder().user_agent_suffix("calm").build()
}

/// A spinner on standard error (hidden when stderr is not a terminal) and the progress callback
/// that drives it.
pub struct Spinner {
    bar: ProgressBar,
}

impl Spinner {
    pub fn start(message: &str) -> Spinner {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(100));
        bar.set_message(message.to_owned());
        Spinner { bar }
    }

    /// A callback that shows each event on the spinner and keeps notes visible.
    pub fn progress(&self) -> impl Fn(&ProgressEvent) + Send + Sync + 'static {
        let bar = self.bar.clone();
        move |event| match event {
            ProgressEvent::Note { message } => {
                bar.println(format!("note: {}", calm_credentials::printable(message)))
            }
            other => bar.set_message(calm_credentials::printable(&other.to_string()).into_owned()),
        }
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// The credentials object in the platform's shape: secrets redacted unless `show_secrets`.
pub fn credentials_json(key: &ServiceKey, show_secrets: bool) -> Value {
    if show_secrets {
        key.expose_json()
    } else {
        key.redacted_json()
    }
}

/// Reads and parses a key file (or `-`).
pub fn read_key(path: &str) -> calm_credentials::Result<ServiceKey> {
    ServiceKey::from_json(&crate::output::read_input(path)?)
}
