//! The cf CLI's `config.json`: reusing an existing `cf login`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

use crate::error::{Error, Result};

/// The parts of the cf CLI's `config.json` this crate reads. Secrets are kept in
/// [`SecretString`]s; `Debug` never shows them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct CfConfigFile {
    /// The API URL (`cf api`).
    #[serde(default)]
    pub target: Option<String>,
    /// The login server URL.
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// The access token, `bearer ` prefix removed.
    #[serde(default, deserialize_with = "bearer_token")]
    pub access_token: Option<SecretString>,
    /// The refresh token.
    #[serde(default, deserialize_with = "non_empty_secret")]
    pub refresh_token: Option<SecretString>,
    /// The OAuth client the CLI uses (`cf`, or the client of `cf auth --client-credentials`).
    #[serde(default, rename = "UAAOAuthClient")]
    pub uaa_oauth_client: Option<String>,
    /// That client's secret (empty for `cf`).
    #[serde(
        default,
        rename = "UAAOAuthClientSecret",
        deserialize_with = "non_empty_secret"
    )]
    pub uaa_oauth_client_secret: Option<SecretString>,
    /// `client_credentials` after `cf auth --client-credentials`, else empty.
    #[serde(default, rename = "UAAGrantType")]
    pub uaa_grant_type: Option<String>,
    /// The targeted org.
    #[serde(default)]
    pub organization_fields: Option<NamedGuid>,
    /// The targeted space.
    #[serde(default)]
    pub space_fields: Option<NamedGuid>,
}

/// `{"GUID": "…", "Name": "…"}` as the CLI stores a targeted org or space.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct NamedGuid {
    /// GUID (empty when nothing is targeted).
    #[serde(default, rename = "GUID")]
    pub guid: String,
    /// Name (empty when nothing is targeted).
    #[serde(default, rename = "Name")]
    pub name: String,
}

impl CfConfigFile {
    /// Reads and parses the file. A missing file is `Ok(None)`; an unreadable or malformed one
    /// is an error naming the file (never its content).
    pub fn read(path: &Path) -> Result<Option<Self>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        Self::parse(&text, path).map(Some)
    }

    /// Parses the text of a `config.json`; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let mut de = serde_json::Deserializer::from_str(text.trim_start_matches('\u{feff}'));
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let at = e.path().to_string();
            let inner = e.into_inner();
            Error::invalid_json(
                format!("cf CLI configuration {}", path.display()),
                at,
                "the cf CLI's config.json layout",
                format!(
                    "something else at line {} column {}",
                    inner.line(),
                    inner.column()
                ),
                "log in again with `cf login`, or point CF_HOME at a valid configuration",
            )
        })
    }

    /// The targeted org name and GUID, when one is targeted.
    pub fn org(&self) -> Option<&NamedGuid> {
        self.organization_fields
            .as_ref()
            .filter(|o| !o.name.is_empty())
    }

    /// The targeted space name and GUID, when one is targeted.
    pub fn space(&self) -> Option<&NamedGuid> {
        self.space_fields.as_ref().filter(|s| !s.name.is_empty())
    }

    /// Whether the last login was `cf auth --client-credentials`.
    pub fn is_client_credentials(&self) -> bool {
        self.uaa_grant_type.as_deref() == Some("client_credentials")
    }
}

/// Where the cf CLI keeps its configuration: `$CF_HOME/.cf/config.json`, else
/// `$HOME/.cf/config.json` (`%USERPROFILE%` on Windows), read from `env`.
pub fn default_config_path(env: &HashMap<String, String>) -> Option<PathBuf> {
    let non_empty = |k: &str| env.get(k).filter(|v| !v.trim().is_empty());
    let base = non_empty("CF_HOME")
        .or_else(|| non_empty("HOME"))
        .or_else(|| non_empty("USERPROFILE"))?;
    Some(Path::new(base).join(".cf").join("config.json"))
}

fn non_empty_secret<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<SecretString>, D::Error> {
    let raw = Option::<String>::deserialize(d)?;
    Ok(raw
        .filter(|s| !s.trim().is_empty())
        .map(|s| SecretString::from(s.trim().to_owned())))
}

fn bearer_token<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<SecretString>, D::Error> {
    let raw = Option::<String>::deserialize(d)?;
    Ok(raw.and_then(|s| strip_bearer(&s)).map(SecretString::from))
}

/// Removes a leading `bearer ` (any case) from a stored token; `None` when nothing remains.
pub(crate) fn strip_bearer(token: &str) -> Option<String> {
    let t = token.trim();
    if t.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let t = match t.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => t[7..].trim(),
        _ => t,
    };
    (!t.is_empty()).then(|| t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn parses_a_cli_config() {
        let text = r#"{"ConfigVersion": 3, "Target": "https://api.cf.example",
            "AuthorizationEndpoint": "https://login.cf.example",
            "AccessToken": "bearer eyJ.access", "RefreshToken": "eyJ.refresh",
            "UAAOAuthClient": "cf", "UAAOAuthClientSecret": "", "UAAGrantType": "",
            "OrganizationFields": {"GUID": "o1", "Name": "Acme"},
            "SpaceFields": {"GUID": "", "Name": "", "AllowSSH": true}, "SSLDisabled": false}"#;
        let c = CfConfigFile::parse(text, Path::new("config.json")).unwrap();
        assert_eq!(
            c.access_token.as_ref().unwrap().expose_secret(),
            "eyJ.access"
        );
        assert_eq!(
            c.refresh_token.as_ref().unwrap().expose_secret(),
            "eyJ.refresh"
        );
        assert!(c.uaa_oauth_client_secret.is_none());
        assert_eq!(c.organization_fields.as_ref().unwrap().guid, "o1");
        assert!(c.space_fields.as_ref().unwrap().name.is_empty());
        assert!(!c.is_client_credentials());
    }

    #[test]
    fn malformed_file_names_the_path_not_the_content() {
        let err = CfConfigFile::parse(
            r#"{"AccessToken": 5, "x": "sekrit"}"#,
            Path::new("/h/c.json"),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/h/c.json"), "{text}");
        assert!(!text.contains("sekrit"), "{text}");
    }

    #[test]
    fn strips_bearer_prefix() {
        let cases = [
            ("bearer abc", Some("abc")),
            ("Bearer abc", Some("abc")),
            ("BEARER  abc ", Some("abc")),
            ("abc", Some("abc")),
            ("bearer ", None),
            ("", None),
            ("bear", Some("bear")),
        ];
        for (raw, want) in cases {
            assert_eq!(strip_bearer(raw).as_deref(), want, "{raw:?}");
        }
    }

    #[test]
    fn config_path_prefers_cf_home() {
        let env = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>()
        };
        assert_eq!(
            default_config_path(&env(&[("CF_HOME", "/cf"), ("HOME", "/home/u")])),
            Some(PathBuf::from("/cf/.cf/config.json"))
        );
        assert_eq!(
            default_config_path(&env(&[("CF_HOME", ""), ("HOME", "/home/u")])),
            Some(PathBuf::from("/home/u/.cf/config.json"))
        );
        assert_eq!(default_config_path(&env(&[])), None);
    }
}
