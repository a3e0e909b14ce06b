//! The Cloud Foundry v3 backend: the legacy path, where the credentials of an "SAP Cloud ALM
//! API" instance are a **service key** (`credential-type: instance-secret`) in a space.
//!
//! - [`login`]: login configuration (explicit values, `CF_*` environment variables, the cf
//!   CLI's `config.json`) and the grant it selects.
//! - [`discovery`]: `GET /`, where the login server is.
//! - [`types`]: the wire types (lenient).
//! - [`paging`]: following `pagination.next.href` lazily.
//! - [`jobs`]: waiting for `/v3/jobs/:guid` to reach `COMPLETE` or `FAILED`.
//! - [`errors`]: what a 422 or a `/details` 404 means, read from its text.
//! - [`resolve`]: org, space, offering and plan by name; `locate`: an instance with its space and
//!   org from their names in one request.
//! - [`instances`], [`keys`]: find, create (get-or-create, never a duplicate), wait, delete.
//! - [`inventory`]: the Cloud ALM API instances and keys that exist in a space.
//!
//! Every response's `X-Cf-Warnings` is kept ([`CloudFoundry::warnings`]) and sent to the
//! progress callback as a [`ProgressEvent::Note`].
//!
//! ```no_run
//! # async fn run() -> calm_credentials::Result<()> {
//! use calm_credentials::{CfLogin, CloudFoundry};
//!
//! let cf = CloudFoundry::connect(CfLogin::from_environment()?).await?;
//! for key in cf.space("acme", "dev").discover().await? {
//!     println!("{} / {}", key.instance_name.as_deref().unwrap_or("?"), key.name);
//! }
//! # Ok(()) }
//! ```

pub mod discovery;
pub mod errors;
pub mod instances;
pub mod inventory;
pub mod jobs;
pub mod keys;
pub(crate) mod locate;
pub mod login;
pub mod paging;
pub mod resolve;
pub mod types;

use std::fmt;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use url::Url;

pub use login::{CfCredentials, CfLogin, CfLoginBuilder, ConfigSource};
pub(crate) use types::{ServiceCredentialBinding, ServiceInstance, ServicePlan, Space};

use crate::auth::TokenSource;
use crate::error::Result;
use crate::http::{HttpClient, Request, Response};
use crate::setup::DEFAULT_OFFERING;
use crate::wait::{Progress, ProgressEvent};

/// A connection to one Cloud Foundry API as one user or client.
///
/// Cheap to clone; clones share the HTTP client, the token cache and the warning list.
#[derive(Clone)]
pub struct CloudFoundry {
    http: HttpClient,
    auth: TokenSource,
    api: Url,
    login_url: Option<Url>,
    offering: String,
    broker: Option<String>,
    warnings: Arc<Mutex<Vec<String>>>,
    progress: Progress,
}

impl fmt::Debug for CloudFoundry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudFoundry")
            .field("api", &self.api.as_str())
            .field("login", &self.login_url.as_ref().map(Url::as_str))
            .field("offering", &self.offering)
            .finish_non_exhaustive()
    }
}

impl CloudFoundry {
    /// [`connect`](Self::connect) through `http` (to share its connection pools, settings and
    /// request count).
    pub async fn connect_with(login: CfLogin, http: HttpClient) -> Result<Self> {
        let login_url = match (&login.login_url, login.credentials.needs_token_endpoint()) {
            (Some(url), _) => Some(url.clone()),
            (None, true) => Some(discovery::discover(&login.api_url, &http).await?.login),
            (None, false) => None,
        };
        let token_url = login_url.as_ref().map(CfLogin::token_url).transpose()?;
        let auth = login.credentials.token_source(token_url, &http)?;
        let mut cf = Self::with_token_source(login.api_url, auth, http)?;
        cf.login_url = login_url;
        Ok(cf)
    }

    /// A connection with a token source the caller already has (no discovery request).
    pub(crate) fn with_token_source(
        api_url: Url,
        auth: TokenSource,
        http: HttpClient,
    ) -> Result<Self> {
        crate::http::check_url(&api_url, "Cloud Foundry API URL")?;
        Ok(CloudFoundry {
            http,
            auth,
            api: api_url,
            login_url: None,
            offering: DEFAULT_OFFERING.to_owned(),
            broker: None,
            warnings: Arc::default(),
            progress: Progress::none(),
        })
    }

    /// The same connection reporting warnings, found/creating events and job warnings to
    /// `progress` (waits report their states to their own [`crate::wait::WaitOptions::progress`];
    /// the executor passes one callback to both).
    pub(crate) fn with_progress(&self, progress: Progress) -> Self {
        CloudFoundry {
            progress,
            ..self.clone()
        }
    }

    /// Uses another offering name for discovery (default `SAPCloudALMAPIs`).
    pub fn with_offering(mut self, offering: impl Into<String>) -> Self {
        self.offering = offering.into();
        self
    }

    /// Restricts plan lookups to one service broker (needed when several brokers offer a plan
    /// of the same name).
    pub fn with_broker(mut self, broker: impl Into<String>) -> Self {
        self.broker = Some(broker.into());
        self
    }

    /// The API URL.
    pub fn api_url(&self) -> &Url {
        &self.api
    }

    /// The login server, when known.
    pub fn login_url(&self) -> Option<&Url> {
        self.login_url.as_ref()
    }

    /// The HTTP client (its [`HttpClient::request_count`] counts this connection's requests).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The offering name used for discovery.
    pub fn offering(&self) -> &str {
        &self.offering
    }

    /// Every distinct `X-Cf-Warnings` entry and job warning received so far, oldest first,
    /// decoded (Cloud Controller `CGI.escape`s them).
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// Sends an authenticated request and records its warnings.
    pub(crate) async fn send(&self, request: Request) -> Result<Response> {
        let response = self.http.send(request, Some(&self.auth)).await?;
        for warning in response.warnings() {
            self.warn(warning);
        }
        Ok(response)
    }

    /// `GET url` decoded as JSON.
    pub(crate) async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T> {
        self.send(Request::get(url)).await?.json()
    }

    /// A URL on the API: `path` joined to the API URL.
    pub(crate) fn url(&self, path: &str) -> Result<Url> {
        paging::list_url(&self.api, path, &[])
    }

    /// Records a platform warning and reports it, once: Cloud Controller may repeat the same
    /// warning on every answer of a journey.
    pub(crate) fn warn(&self, warning: String) {
        if let Ok(mut w) = self.warnings.lock() {
            if w.contains(&warning) {
                return;
            }
            w.push(warning.clone());
        }
        self.note(format!("Cloud Foundry warning: {warning}"));
    }

    /// Reports a note to the progress callback.
    pub(crate) fn note(&self, message: String) {
        self.progress.emit(ProgressEvent::Note { message });
    }

    /// The broker filter, when set.
    pub(crate) fn broker(&self) -> Option<&str> {
        self.broker.as_deref()
    }
}
