//! Logging in to Cloud Foundry the way the cf CLI and the Terraform provider do.
//!
//! - [`CfCredentials`]: which grant to use (client credentials, password, refresh token, a
//!   static access token), secrets in [`SecretString`]s.
//! - [`CfLogin`]: the API URL, the credentials and the targeted org/space, built by
//!   [`CfLoginBuilder`] from explicit values, environment variables and the cf CLI's
//!   `config.json` (explicit wins over environment, environment over the file).
//! - [`config_file`]: reading `config.json`.

pub mod config_file;
mod sources;

use secrecy::SecretString;
use url::Url;

pub use sources::CfLoginBuilder;

use crate::auth::TokenSource;
use crate::error::Result;
use crate::http::HttpClient;
use crate::model::{OrgId, SpaceId};

/// The client id of the cf CLI (empty secret), used for the password and refresh grants.
pub(crate) const CF_CLIENT_ID: &str = "cf";

/// How to get a Cloud Foundry token. `Debug` never shows a secret.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CfCredentials {
    /// `grant_type=client_credentials` (`cf auth --client-credentials`); re-granted on expiry.
    ClientCredentials {
        /// The UAA client id.
        client_id: String,
        /// Its secret.
        client_secret: SecretString,
    },
    /// `grant_type=password` with the `cf` client (`cf login`).
    Password {
        /// User name (e-mail for the SAP ID service).
        username: String,
        /// Password (with the one-time passcode appended when two factors are required).
        password: SecretString,
        /// Identity provider origin key, sent as `login_hint`; `None` for the default.
        origin: Option<String>,
    },
    /// `grant_type=refresh_token` (reusing a `cf login`), with the OAuth client the login
    /// used: `cf` with an empty secret, or the `UAAOAuthClient`/`UAAOAuthClientSecret` of the
    /// cf CLI's `config.json` (another client after `cf auth --assertion` or a custom client).
    RefreshToken {
        /// The refresh token.
        refresh_token: SecretString,
        /// The OAuth client to refresh with (`cf` unless `config.json` names another).
        client_id: String,
        /// Its secret (empty for `cf`).
        client_secret: SecretString,
    },
    /// A ready access token, used as is until it expires.
    AccessToken {
        /// The token, without `bearer ` prefix.
        access_token: SecretString,
    },
}

impl CfCredentials {
    /// The grant's name, for messages (`password`, `client credentials`, …).
    pub fn grant_name(&self) -> &'static str {
        match self {
            CfCredentials::ClientCredentials { .. } => "client credentials",
            CfCredentials::Password { .. } => "password",
            CfCredentials::RefreshToken { .. } => "refresh token",
            CfCredentials::AccessToken { .. } => "access token",
        }
    }

    /// Whether a token endpoint is needed (everything but a static access token).
    pub fn needs_token_endpoint(&self) -> bool {
        !matches!(self, CfCredentials::AccessToken { .. })
    }

    /// The token source for this grant, posting to `token_url` (`<login>/oauth/token`; not
    /// needed for a static access token).
    pub fn token_source(&self, token_url: Option<Url>, http: &HttpClient) -> Result<TokenSource> {
        if let CfCredentials::AccessToken { access_token } = self {
            return Ok(TokenSource::static_token(access_token.clone()));
        }
        let token_url = token_url.ok_or_else(|| {
            crate::Error::config(
                format!("the {} grant", self.grant_name()),
                "it needs the login server's token endpoint",
            )
        })?;
        match self {
            CfCredentials::ClientCredentials {
                client_id,
                client_secret,
            } => TokenSource::cf_client_credentials(
                token_url,
                client_id,
                client_secret.clone(),
                http,
            ),
            CfCredentials::Password {
                username,
                password,
                origin,
            } => TokenSource::cf_password(
                token_url,
                username,
                password.clone(),
                origin.as_deref(),
                http,
            ),
            CfCredentials::RefreshToken {
                refresh_token,
                client_id,
                client_secret,
            } => TokenSource::cf_refresh_token_with_client(
                token_url,
                refresh_token.clone(),
                client_id,
                client_secret.clone(),
                http,
            ),
            CfCredentials::AccessToken { access_token } => {
                Ok(TokenSource::static_token(access_token.clone()))
            }
        }
    }
}

/// Where a piece of login configuration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigSource {
    /// Passed by the program.
    Explicit,
    /// An environment variable (`CF_API_URL`, `CF_USERNAME`, …).
    Environment,
    /// The cf CLI's `config.json`.
    CfConfigFile,
}

/// Everything needed to talk to a Cloud Foundry API as someone.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CfLogin {
    /// The API URL (`https://api.cf.eu10.hana.ondemand.com`).
    pub api_url: Url,
    /// How to get a token.
    pub credentials: CfCredentials,
    /// Where the credentials came from.
    pub credentials_from: ConfigSource,
    /// The login server, when already known (then `GET /` is skipped).
    pub login_url: Option<Url>,
    /// The org to use, when configured.
    pub org: Option<String>,
    /// The org's GUID, when known (from the cf CLI's target).
    pub org_guid: Option<OrgId>,
    /// The space to use, when configured.
    pub space: Option<String>,
    /// The space's GUID, when known (from the cf CLI's target).
    pub space_guid: Option<SpaceId>,
}

impl CfLogin {
    /// A login with an API URL and credentials, nothing else.
    pub fn new(api_url: Url, credentials: CfCredentials) -> Result<Self> {
        crate::http::check_url(&api_url, "Cloud Foundry API URL")?;
        Ok(CfLogin {
            api_url,
            credentials,
            credentials_from: ConfigSource::Explicit,
            login_url: None,
            org: None,
            org_guid: None,
            space: None,
            space_guid: None,
        })
    }

    /// A builder that merges explicit values, environment variables and `config.json`.
    pub fn builder() -> CfLoginBuilder {
        CfLoginBuilder::default()
    }

    /// The configuration a `cf` user already has: the process environment (`CF_API_URL`,
    /// `CF_USERNAME`, …) over the cf CLI's `config.json`.
    pub fn from_environment() -> Result<Self> {
        CfLoginBuilder::default().process_environment().build()
    }

    /// The token endpoint for a login server URL: `<login>/oauth/token`.
    pub fn token_url(login: &Url) -> Result<Url> {
        let base = login.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/oauth/token")).map_err(|e| crate::Error::InvalidUrl {
            field: "Cloud Foundry login URL".into(),
            reason: e.to_string(),
        })
    }
}
