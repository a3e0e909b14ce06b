//! Merging login configuration from explicit values, environment variables and `config.json`.

use std::collections::HashMap;
use std::path::PathBuf;

use secrecy::SecretString;
use url::Url;

use super::config_file::{CfConfigFile, default_config_path, strip_bearer};
use super::{CF_CLIENT_ID, CfCredentials, CfLogin, ConfigSource};
use crate::error::{Error, Result};
use crate::model::{OrgId, SpaceId};

/// The environment variables a login reads (and no other).
const ENV_VARS: [&str; 12] = [
    "CF_API_URL",
    "CF_USERNAME",
    "CF_USER",
    "CF_PASSWORD",
    "CF_ORIGIN",
    "CF_CLIENT_ID",
    "CF_CLIENT_SECRET",
    "CF_ACCESS_TOKEN",
    "CF_REFRESH_TOKEN",
    "CF_HOME",
    "HOME",
    "USERPROFILE",
];

/// One source's values; every field optional.
#[derive(Debug, Clone, Default)]
struct Layer {
    api_url: Option<String>,
    username: Option<String>,
    password: Option<SecretString>,
    origin: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    access_token: Option<SecretString>,
    refresh_token: Option<SecretString>,
    /// The OAuth client that goes with `refresh_token` (from `config.json`); `cf:` when `None`.
    refresh_client: Option<(String, SecretString)>,
    org: Option<String>,
    space: Option<String>,
}

impl Layer {
    /// `self` with the gaps filled from `lower`.
    fn over(self, lower: Layer) -> Layer {
        // A refresh token is only good with the client it was issued to: keep them together.
        let (refresh_token, refresh_client) = match self.refresh_token {
            Some(token) => (Some(token), self.refresh_client),
            None => (lower.refresh_token, lower.refresh_client),
        };
        Layer {
            api_url: self.api_url.or(lower.api_url),
            username: self.username.or(lower.username),
            password: self.password.or(lower.password),
            origin: self.origin.or(lower.origin),
            client_id: self.client_id.or(lower.client_id),
            client_secret: self.client_secret.or(lower.client_secret),
            access_token: self.access_token.or(lower.access_token),
            refresh_token,
            refresh_client,
            org: self.org.or(lower.org),
            space: self.space.or(lower.space),
        }
    }

    /// The grant these values allow: client credentials, else password, else refresh token,
    /// else access token.
    fn grant(&self) -> Option<CfCredentials> {
        if let (Some(client_id), Some(client_secret)) = (&self.client_id, &self.client_secret) {
            return Some(CfCredentials::ClientCredentials {
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
            });
        }
        if let (Some(username), Some(password)) = (&self.username, &self.password) {
            return Some(CfCredentials::Password {
                username: username.clone(),
                password: password.clone(),
                origin: self.origin.clone(),
            });
        }
        if let Some(refresh_token) = &self.refresh_token {
            let (client_id, client_secret) = self
                .refresh_client
                .clone()
                .unwrap_or_else(|| (CF_CLIENT_ID.to_owned(), SecretString::from(String::new())));
            return Some(CfCredentials::RefreshToken {
                refresh_token: refresh_token.clone(),
                client_id,
                client_secret,
            });
        }
        self.access_token
            .as_ref()
            .map(|access_token| CfCredentials::AccessToken {
                access_token: access_token.clone(),
            })
    }

    fn from_env(env: &HashMap<String, String>) -> Layer {
        let get = |k: &str| {
            env.get(k)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let secret = |k: &str| get(k).map(SecretString::from);
        Layer {
            api_url: get("CF_API_URL"),
            username: get("CF_USERNAME").or_else(|| get("CF_USER")),
            password: secret("CF_PASSWORD"),
            origin: get("CF_ORIGIN"),
            client_id: get("CF_CLIENT_ID"),
            client_secret: secret("CF_CLIENT_SECRET"),
            access_token: get("CF_ACCESS_TOKEN")
                .and_then(|t| strip_bearer(&t))
                .map(SecretString::from),
            refresh_token: secret("CF_REFRESH_TOKEN"),
            refresh_client: None,
            org: None,
            space: None,
        }
    }

    fn from_file(file: &CfConfigFile) -> Layer {
        let cc = file.is_client_credentials();
        Layer {
            api_url: file.target.clone().filter(|t| !t.trim().is_empty()),
            client_id: file.uaa_oauth_client.clone().filter(|_| cc),
            client_secret: file.uaa_oauth_client_secret.clone().filter(|_| cc),
            access_token: file.access_token.clone(),
            refresh_token: file.refresh_token.clone().filter(|_| !cc),
            refresh_client: file
                .uaa_oauth_client
                .clone()
                .filter(|c| !cc && !c.trim().is_empty())
                .map(|c| {
                    let secret = file
                        .uaa_oauth_client_secret
                        .clone()
                        .unwrap_or_else(|| SecretString::from(String::new()));
                    (c, secret)
                }),
            org: file.org().map(|o| o.name.clone()),
            space: file.space().map(|s| s.name.clone()),
            ..Layer::default()
        }
    }
}

impl std::fmt::Debug for CfLoginBuilder {
    /// Which values are set, never a secret: passwords, client secrets and tokens show only
    /// whether they are present.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |s: &Option<SecretString>| s.as_ref().map(|_| "[REDACTED]");
        let show = |l: &Layer| {
            format!(
                "{{ api_url: {:?}, username: {:?}, password: {:?}, origin: {:?}, client_id: {:?}, client_secret: {:?}, access_token: {:?}, refresh_token: {:?}, org: {:?}, space: {:?} }}",
                l.api_url,
                l.username,
                set(&l.password),
                l.origin,
                l.client_id,
                set(&l.client_secret),
                set(&l.access_token),
                set(&l.refresh_token),
                l.org,
                l.space,
            )
        };
        f.debug_struct("CfLoginBuilder")
            .field("explicit", &format_args!("{}", show(&self.explicit)))
            .field("env", &format_args!("{}", show(&self.env)))
            .field("config_path", &self.config_path)
            .finish()
    }
}

/// Builds a [`CfLogin`] from explicit values over environment variables over the cf CLI's
/// `config.json`.
///
/// The environment and the file are injected ([`CfLoginBuilder::env`],
/// [`CfLoginBuilder::config_file`]) or taken from the process
/// ([`CfLoginBuilder::process_environment`]). Each field is taken from the highest source that
/// has it; the credentials come from explicit values and environment together when they make a
/// complete grant, otherwise from `config.json`. The file is used only when it targets the same
/// API URL (its tokens belong to that API).
///
/// Environment variables: `CF_API_URL`, `CF_USERNAME` (or `CF_USER`), `CF_PASSWORD`,
/// `CF_ORIGIN`, `CF_CLIENT_ID`, `CF_CLIENT_SECRET`, `CF_ACCESS_TOKEN`, `CF_REFRESH_TOKEN`, and
/// `CF_HOME` (where `.cf/config.json` is).
#[derive(Clone, Default)]
pub struct CfLoginBuilder {
    explicit: Layer,
    /// Only the variables a login uses, secrets already in [`SecretString`]s.
    env: Layer,
    config_path: Option<PathBuf>,
}

impl CfLoginBuilder {
    /// Sets the API URL.
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.explicit.api_url = Some(url.into());
        self
    }

    /// Uses the password grant.
    pub fn password(mut self, username: impl Into<String>, password: SecretString) -> Self {
        self.explicit.username = Some(username.into());
        self.explicit.password = Some(password);
        self
    }

    /// Sets the identity provider origin for the password grant.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.explicit.origin = Some(origin.into());
        self
    }

    /// Uses the client credentials grant.
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        secret: SecretString,
    ) -> Self {
        self.explicit.client_id = Some(client_id.into());
        self.explicit.client_secret = Some(secret);
        self
    }

    /// Uses the refresh token grant.
    pub fn refresh_token(mut self, token: SecretString) -> Self {
        self.explicit.refresh_token = Some(token);
        self
    }

    /// Uses a ready access token.
    pub fn access_token(mut self, token: SecretString) -> Self {
        self.explicit.access_token = Some(token);
        self
    }

    /// Sets the org name.
    pub fn org(mut self, name: impl Into<String>) -> Self {
        self.explicit.org = Some(name.into());
        self
    }

    /// Sets the space name.
    pub fn space(mut self, name: impl Into<String>) -> Self {
        self.explicit.space = Some(name.into());
        self
    }

    /// Uses these environment variables (tests pass a map; nothing is read from the process).
    /// Also sets the `config.json` path from `CF_HOME`/`HOME` unless one was set.
    /// Only the variables listed above are taken; the map is not kept.
    pub fn env(mut self, env: HashMap<String, String>) -> Self {
        if self.config_path.is_none() {
            self.config_path = default_config_path(&env);
        }
        self.env = Layer::from_env(&env);
        self
    }

    /// Reads the cf CLI configuration from this file (`None`: no file).
    pub fn config_file(mut self, path: Option<PathBuf>) -> Self {
        self.config_path = path;
        self
    }

    /// Uses the process environment and the default `config.json` location.
    ///
    /// Reads only the variables a login uses, one by one: other variables are never looked at,
    /// and a value that is not UTF-8 is taken as unset instead of failing.
    pub fn process_environment(self) -> Self {
        let env = ENV_VARS
            .iter()
            .filter_map(|name| {
                let value = std::env::var_os(name)?.into_string().ok()?;
                Some(((*name).to_owned(), value))
            })
            .collect();
        self.env(env)
    }

    /// Merges the sources and checks that there is an API URL and a complete grant.
    pub fn build(self) -> Result<CfLogin> {
        let file = match &self.config_path {
            Some(path) => CfConfigFile::read(path)?,
            None => None,
        };
        let env = self.env.clone();
        let explicit_grant = self.explicit.grant().is_some();
        let upper_api = self.explicit.api_url.clone().or(env.api_url.clone());
        let upper = self.explicit.over(env);
        let file = file.filter(|f| same_target(upper_api.as_deref(), f.target.as_deref()));
        let lower = file.as_ref().map(Layer::from_file).unwrap_or_default();
        let (credentials, credentials_from) = match upper.grant() {
            Some(c) if explicit_grant => (c, ConfigSource::Explicit),
            Some(c) => (c, ConfigSource::Environment),
            None => (
                lower.grant().ok_or_else(no_credentials)?,
                ConfigSource::CfConfigFile,
            ),
        };
        let merged = upper.over(lower);
        let api_text = merged.api_url.ok_or_else(|| {
            Error::config(
                "the Cloud Foundry API URL",
                "none was given: pass one, set CF_API_URL, or target one with the cf CLI (`cf api <url>`)",
            )
        })?;
        let api_url = parse_url(&api_text, "Cloud Foundry API URL")?;
        let mut login = CfLogin::new(api_url, credentials)?;
        login.credentials_from = credentials_from;
        login.org = merged.org;
        login.space = merged.space;
        if let Some(f) = &file {
            apply_file_target(&mut login, f)?;
        }
        Ok(login)
    }
}

/// Takes the file's login URL and target GUIDs, for names that agree with the file.
fn apply_file_target(login: &mut CfLogin, file: &CfConfigFile) -> Result<()> {
    if let Some(endpoint) = file
        .authorization_endpoint
        .as_deref()
        .filter(|e| !e.is_empty())
    {
        login.login_url = Some(parse_url(endpoint, "AuthorizationEndpoint in config.json")?);
    }
    if let Some(o) = file.org().filter(|o| Some(&o.name) == login.org.as_ref()) {
        login.org_guid = (!o.guid.is_empty()).then(|| OrgId::new(o.guid.clone()));
        if let Some(s) = file
            .space()
            .filter(|s| Some(&s.name) == login.space.as_ref())
        {
            login.space_guid = (!s.guid.is_empty()).then(|| SpaceId::new(s.guid.clone()));
        }
    }
    Ok(())
}

/// Whether the file belongs to the API the upper sources name (or they name none).
fn same_target(upper: Option<&str>, file: Option<&str>) -> bool {
    let norm = |s: &str| s.trim().trim_end_matches('/').to_ascii_lowercase();
    match (upper, file) {
        (None, _) => true,
        (Some(u), Some(f)) => norm(u) == norm(f),
        (Some(_), None) => false,
    }
}

fn parse_url(text: &str, field: &str) -> Result<Url> {
    let url = Url::parse(text.trim()).map_err(|e| Error::InvalidUrl {
        field: field.into(),
        reason: format!("{e}; give a full URL such as https://api.cf.eu10.hana.ondemand.com"),
    })?;
    crate::http::check_url(&url, field)?;
    Ok(url)
}

fn no_credentials() -> Error {
    Error::config(
        "the Cloud Foundry login",
        "no credentials were given: pass them, set CF_USERNAME and CF_PASSWORD (or CF_CLIENT_ID and CF_CLIENT_SECRET, \
         CF_REFRESH_TOKEN, CF_ACCESS_TOKEN), or log in with the cf CLI (`cf login`)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn grant_order() {
        let s = |v: &str| Some(SecretString::from(v));
        let base = Layer {
            client_id: Some("c".into()),
            client_secret: s("cs"),
            username: Some("u".into()),
            password: s("p"),
            refresh_token: s("r"),
            access_token: s("a"),
            ..Layer::default()
        };
        assert_eq!(base.grant().unwrap().grant_name(), "client credentials");
        let no_cc = Layer {
            client_secret: None,
            ..base.clone()
        };
        assert_eq!(no_cc.grant().unwrap().grant_name(), "password");
        let no_pw = Layer {
            password: None,
            ..no_cc.clone()
        };
        assert_eq!(no_pw.grant().unwrap().grant_name(), "refresh token");
        let only_access = Layer {
            refresh_token: None,
            ..no_pw
        };
        assert_eq!(only_access.grant().unwrap().grant_name(), "access token");
        assert!(Layer::default().grant().is_none());
    }

    #[test]
    fn explicit_over_env_and_cf_user_alias() {
        let login = CfLogin::builder()
            .api_url("https://api.explicit.example")
            .env(env(&[
                ("CF_API_URL", "https://api.env.example"),
                ("CF_USER", "alice"),
                ("CF_PASSWORD", "pw"),
                ("CF_ORIGIN", "corp-idp"),
            ]))
            .config_file(None)
            .build()
            .unwrap();
        assert_eq!(login.api_url.as_str(), "https://api.explicit.example/");
        assert_eq!(login.credentials_from, ConfigSource::Environment);
        match &login.credentials {
            CfCredentials::Password {
                username, origin, ..
            } => {
                assert_eq!(username, "alice");
                assert_eq!(origin.as_deref(), Some("corp-idp"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_pieces_are_config_errors() {
        let err = CfLogin::builder()
            .env(env(&[]))
            .config_file(None)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("CF_USERNAME"), "{err}");
        let err = CfLogin::builder()
            .env(env(&[("CF_ACCESS_TOKEN", "bearer t")]))
            .config_file(None)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("CF_API_URL"), "{err}");
        let err = CfLogin::builder()
            .env(env(&[
                ("CF_ACCESS_TOKEN", "t"),
                ("CF_API_URL", "http://api.example"),
            ]))
            .config_file(None)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{err}");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let login = CfLogin::builder()
            .env(env(&[
                ("CF_API_URL", "https://api.example"),
                ("CF_CLIENT_ID", "client"),
                ("CF_CLIENT_SECRET", "hunter2-secret"),
                ("CF_PASSWORD", "hunter3-pw"),
                ("CF_USERNAME", "u"),
                ("CF_REFRESH_TOKEN", "hunter4-refresh"),
                ("CF_ACCESS_TOKEN", "hunter5-access"),
            ]))
            .config_file(None)
            .build()
            .unwrap();
        let mut everything = env(&[
            ("CF_API_URL", "https://api.example"),
            ("CF_PASSWORD", "hunter7-pw"),
            ("CF_CLIENT_SECRET", "hunter8-secret"),
            ("CF_REFRESH_TOKEN", "hunter9-refresh"),
            ("CF_ACCESS_TOKEN", "hunter10-access"),
        ]);
        everything.insert("UNRELATED_SECRET".into(), "leak-me-not".into());
        let builder = CfLogin::builder().env(everything).config_file(None);
        let text = format!(
            "{login:?} {:?} {builder:?}",
            CfLogin::builder().password("u", "hunter6".into())
        );
        assert!(
            !text.contains("leak-me-not") && !text.contains("UNRELATED"),
            "{text}"
        );
        assert!(text.contains("https://api.example"), "{text}");
        assert!(!text.contains("hunter"), "{text}");
        match login.credentials {
            CfCredentials::ClientCredentials { client_secret, .. } => {
                assert_eq!(client_secret.expose_secret(), "hunter2-secret")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn same_target_rules() {
        assert!(same_target(None, Some("https://a")));
        assert!(same_target(Some("https://A/"), Some("https://a")));
        assert!(!same_target(Some("https://a"), Some("https://b")));
        assert!(!same_target(Some("https://a"), None));
    }
}
