//! The fleet manifest: which credentials every tenant needs, read from JSON (`.json`) or TOML
//! (`.toml`) and validated whole before any request is sent.
//!
//! ```json
//! {"limits": {"requests_per_minute": 1000, "binding_requests_per_minute": 600},
//!  "tenants": [
//!    {"name": "acme-prod", "provisioned_on": "2023-01-15",
//!     "service_manager_key": "keys/acme-sm.json",
//!     "purpose": "transport", "instance": "calm-transport",
//!     "credentials": ["sys-001", "sys-002"]},
//!    {"name": "beta", "provisioned_on": "2024-01-10",
//!     "cloud_foundry": {"api": "https://api.cf.eu10.hana.ondemand.com", "org": "Beta", "space": "dev"},
//!     "purpose": "monitoring", "instance": "calm-monitoring", "credentials": ["beta-mon"]}]}
//! ```
//!
//! - `limits` is optional; each field in it too (`requests_per_minute`,
//!   `binding_requests_per_minute`, `offering_requests_per_minute`, `plan_requests_per_minute`,
//!   `instance_creates_per_minute`); what is not given keeps SAP's documented value.
//! - Each tenant has exactly one of `service_manager_key` (a Service Manager binding's
//!   credentials, a path relative to the manifest) and `cloud_foundry` (`api`, `org`, `space`).
//! - `purpose` is `monitoring`, `transport` or `api`; `api` needs `scopes`, the others take none.
//! - Unknown fields are errors: a misspelt `provisoned_on` must not be ignored.
//! - Checked before anything is sent: the file's syntax (with line and column), every field,
//!   the dates, the names (the crate's own rules in [`crate::setup`]), duplicate tenants and
//!   credentials, and that every key file exists and is a service key.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;
use url::Url;

use super::limits::{RateLimits, Scope};
use crate::credentials::ServiceKey;
use crate::http::check_url;
use crate::setup::{
    Environment, PlanRequest, Purpose, SetupPlan, validate_credential_name, validate_instance_name,
};

/// A validated fleet manifest.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Manifest {
    /// The file it was read from.
    pub path: PathBuf,
    /// The rate limits to keep to: SAP's documented ones with the manifest's changes.
    pub limits: RateLimits,
    /// The tenants, in the manifest's order.
    pub tenants: Vec<TenantEntry>,
}

/// One tenant of a manifest.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TenantEntry {
    /// The tenant's name in the manifest (unique; also a directory name when credentials are
    /// written out).
    pub name: String,
    /// When the Cloud ALM tenant was provisioned (decides what SAP generated).
    pub provisioned_on: NaiveDate,
    /// Where its credentials live.
    pub platform: Platform,
    /// What the credentials are for.
    pub purpose: Purpose,
    /// The service instance that holds them.
    pub instance: String,
    /// The names of the bindings (or service keys) that must exist, unique.
    pub credentials: Vec<String>,
}

impl TenantEntry {
    /// The environment of its platform.
    pub fn environment(&self) -> Environment {
        match self.platform {
            Platform::ServiceManager { .. } => Environment::ServiceManager,
            Platform::CloudFoundry { .. } => Environment::CloudFoundry,
        }
    }
}

/// Where a tenant's credentials live.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Platform {
    /// The Service Manager, reached with the binding credentials in `key_file`.
    ServiceManager {
        /// The key file, resolved against the manifest's folder (read again when used: the
        /// manifest does not hold secrets).
        key_file: PathBuf,
        /// The key's OAuth client id: tenants with the same client share its rate limits.
        client_id: String,
    },
    /// A Cloud Foundry space (the login comes from the environment, as for `cf`).
    CloudFoundry {
        /// The Cloud Controller API URL.
        api: Url,
        /// The org name.
        org: String,
        /// The space name.
        space: String,
    },
}

/// What is wrong with a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManifestErrorKind {
    /// The manifest file cannot be read (missing, a folder, no permission).
    Unreadable,
    /// The file name does not end in `.json` or `.toml`.
    UnknownFormat,
    /// The file is not valid JSON or TOML.
    Syntax,
    /// A field the schema does not have (a misspelling).
    UnknownField,
    /// A required field is missing.
    MissingField,
    /// A value of the wrong type or out of range (a date that does not exist, an unknown
    /// purpose, a zero limit, a bad URL).
    InvalidValue,
    /// A tenant, instance or credential name breaks the rules.
    InvalidName,
    /// Two tenants (or two credentials of a tenant) have the same name.
    Duplicate,
    /// A Service Manager key file is missing or is not a service key.
    KeyFile,
}

/// Why a manifest was refused: what, and where (file, line and column, or the field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    kind: ManifestErrorKind,
    file: PathBuf,
    line_column: Option<(usize, usize)>,
    field: Option<String>,
    problem: String,
}

impl ManifestError {
    fn new(kind: ManifestErrorKind, file: &Path, problem: impl Into<String>) -> Self {
        ManifestError {
            kind,
            file: file.to_owned(),
            line_column: None,
            field: None,
            problem: problem.into(),
        }
    }

    fn at(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        self.field = (!field.is_empty()).then_some(field);
        self
    }

    /// What kind of problem it is.
    pub fn kind(&self) -> ManifestErrorKind {
        self.kind
    }

    /// The manifest file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Line and column (from 1) of a syntax or schema error, when known.
    pub fn line_column(&self) -> Option<(usize, usize)> {
        self.line_column
    }

    /// The field, e.g. `tenants[1].provisioned_on`, when known.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The problem in words.
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.line_column {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for ManifestError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    limits: Option<RawLimits>,
    tenants: Vec<RawTenant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    requests_per_minute: Option<u32>,
    binding_requests_per_minute: Option<u32>,
    offering_requests_per_minute: Option<u32>,
    plan_requests_per_minute: Option<u32>,
    instance_creates_per_minute: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    name: String,
    provisioned_on: String,
    service_manager_key: Option<String>,
    cloud_foundry: Option<RawCloudFoundry>,
    purpose: String,
    scopes: Option<Vec<String>>,
    instance: String,
    credentials: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCloudFoundry {
    api: String,
    org: String,
    space: String,
}

impl Manifest {
    /// Reads and validates the manifest at `path` (`.json` or `.toml`); key files are looked
    /// up relative to its folder. Sends nothing.
    pub fn load(path: impl AsRef<Path>) -> Result<Manifest, ManifestError> {
        let path = path.as_ref();
        let format = format_of(path)?;
        let text = std::fs::read_to_string(path).map_err(|e| {
            let problem = match e.kind() {
                std::io::ErrorKind::NotFound => "the file does not exist".to_owned(),
                _ => format!("the file cannot be read: {e}"),
            };
            ManifestError::new(ManifestErrorKind::Unreadable, path, problem)
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, format, path, base)
    }

    /// Validates manifest text in `format` ("json" or "toml"); `file` names it in errors and
    /// relative key paths are resolved against `base`. Sends nothing.
    pub fn parse(
        text: &str,
        format: &str,
        file: &Path,
        base: &Path,
    ) -> Result<Manifest, ManifestError> {
        let raw = match format {
            "json" => parse_json(text, file)?,
            "toml" => parse_toml(text, file)?,
            other => {
                return Err(ManifestError::new(
                    ManifestErrorKind::UnknownFormat,
                    file,
                    format!("unknown manifest format `{other}`: use JSON or TOML"),
                ));
            }
        };
        validate(raw, file, base)
    }

    /// How many credentials the manifest asks for in all.
    pub fn credential_count(&self) -> usize {
        self.tenants.iter().map(|t| t.credentials.len()).sum()
    }
}

fn format_of(path: &Path) -> Result<&'static str, ManifestError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("json") => Ok("json"),
        Some("toml") => Ok("toml"),
        _ => Err(ManifestError::new(
            ManifestErrorKind::UnknownFormat,
            path,
            "the manifest's name must end in .json or .toml, which says its format",
        )),
    }
}

/// The kind of a schema error, from serde's message.
fn schema_kind(message: &str) -> ManifestErrorKind {
    if message.starts_with("unknown field") {
        ManifestErrorKind::UnknownField
    } else if message.starts_with("missing field") {
        ManifestErrorKind::MissingField
    } else {
        ManifestErrorKind::InvalidValue
    }
}

fn parse_json(text: &str, file: &Path) -> Result<RawManifest, ManifestError> {
    let text = text.trim_start_matches('\u{feff}');
    let mut de = serde_json::Deserializer::from_str(text);
    let raw: RawManifest = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let (line, column) = (inner.line(), inner.column());
        let (kind, field) = if inner.is_syntax() || inner.is_eof() {
            (ManifestErrorKind::Syntax, String::new())
        } else {
            (schema_kind(&inner.to_string()), path)
        };
        let mut err = ManifestError::new(kind, file, strip_position(&inner.to_string()))
            .at(if field == "." { String::new() } else { field });
        err.line_column = Some((line, column));
        err
    })?;
    de.end().map_err(|e| {
        let mut err = ManifestError::new(
            ManifestErrorKind::Syntax,
            file,
            "text after the end of the manifest",
        );
        err.line_column = Some((e.line(), e.column()));
        err
    })?;
    Ok(raw)
}

/// serde_json's message without its ` at line L column C` suffix (given separately).
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn parse_toml(text: &str, file: &Path) -> Result<RawManifest, ManifestError> {
    let position = |span: Option<std::ops::Range<usize>>| span.map(|s| line_column(text, s.start));
    let de = toml::de::Deserializer::parse(text).map_err(|e| {
        let mut err = ManifestError::new(
            ManifestErrorKind::Syntax,
            file,
            e.message().trim_end().to_owned(),
        );
        err.line_column = position(e.span());
        err
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.message().trim_end().to_owned();
        let mut err = ManifestError::new(schema_kind(&message), file, message).at(if path == "." {
            String::new()
        } else {
            path
        });
        err.line_column = position(inner.span());
        err
    })
}

/// Line and column (from 1, in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

fn validate(raw: RawManifest, file: &Path, base: &Path) -> Result<Manifest, ManifestError> {
    let invalid =
        |kind, field: String, problem: String| ManifestError::new(kind, file, problem).at(field);
    let mut limits = RateLimits::documented();
    if let Some(l) = &raw.limits {
        let fields = [
            ("requests_per_minute", l.requests_per_minute, Scope::All),
            (
                "binding_requests_per_minute",
                l.binding_requests_per_minute,
                Scope::Bindings,
            ),
            (
                "offering_requests_per_minute",
                l.offering_requests_per_minute,
                Scope::Offerings,
            ),
            (
                "plan_requests_per_minute",
                l.plan_requests_per_minute,
                Scope::Plans,
            ),
            (
                "instance_creates_per_minute",
                l.instance_creates_per_minute,
                Scope::InstanceCreates,
            ),
        ];
        for (name, value, scope) in fields {
            match value {
                Some(0) => {
                    return Err(invalid(
                        ManifestErrorKind::InvalidValue,
                        format!("limits.{name}"),
                        "must be at least 1".into(),
                    ));
                }
                Some(n) => limits = limits.per_minute(scope, n),
                None => {}
            }
        }
    }
    if raw.tenants.is_empty() {
        return Err(invalid(
            ManifestErrorKind::MissingField,
            "tenants".into(),
            "the manifest lists no tenants".into(),
        ));
    }
    let mut names = HashSet::new();
    let mut tenants = Vec::with_capacity(raw.tenants.len());
    for (index, t) in raw.tenants.into_iter().enumerate() {
        let here = |field: &str| {
            if t.name.is_empty() {
                format!("tenants[{index}].{field}")
            } else {
                format!("tenants[{index}] ({:?}).{field}", t.name)
            }
        };
        if let Some(reason) = tenant_name_problem(&t.name) {
            return Err(invalid(
                ManifestErrorKind::InvalidName,
                here("name"),
                format!("tenant name {:?} is not allowed: {reason}", t.name),
            ));
        }
        if !names.insert(t.name.clone()) {
            return Err(invalid(
                ManifestErrorKind::Duplicate,
                here("name"),
                format!(
                    "tenant {:?} is listed twice; tenant names must be unique",
                    t.name
                ),
            ));
        }
        let provisioned_on =
            NaiveDate::parse_from_str(&t.provisioned_on, "%Y-%m-%d").map_err(|_| {
                invalid(
                    ManifestErrorKind::InvalidValue,
                    here("provisioned_on"),
                    format!(
                        "{:?} is not a date that exists; write it as YYYY-MM-DD, e.g. 2023-01-15",
                        t.provisioned_on
                    ),
                )
            })?;
        let platform = match (&t.service_manager_key, &t.cloud_foundry) {
            (Some(key), None) => {
                let key_file = base.join(key);
                let text = std::fs::read_to_string(&key_file).map_err(|e| {
                    let what = match e.kind() {
                        std::io::ErrorKind::NotFound => "does not exist".to_owned(),
                        _ => format!("cannot be read: {e}"),
                    };
                    invalid(
                        ManifestErrorKind::KeyFile,
                        here("service_manager_key"),
                        format!("the key file {} {what}", key_file.display()),
                    )
                })?;
                let parsed = ServiceKey::from_json(&text).map_err(|e| {
                    invalid(
                        ManifestErrorKind::KeyFile,
                        here("service_manager_key"),
                        format!("the key file {} is not usable: {e}", key_file.display()),
                    )
                })?;
                if parsed.service_manager_url().is_none() {
                    return Err(invalid(
                        ManifestErrorKind::KeyFile,
                        here("service_manager_key"),
                        format!(
                            "the key file {} has no sm_url: it is not a Service Manager binding's credentials",
                            key_file.display()
                        ),
                    ));
                }
                Platform::ServiceManager {
                    client_id: parsed.client_id().to_owned(),
                    key_file,
                }
            }
            (None, Some(cf)) => {
                let api = Url::parse(&cf.api)
                    .map_err(|e| e.to_string())
                    .and_then(|u| {
                        check_url(&u, "cloud_foundry.api")
                            .map(|()| u)
                            .map_err(|e| e.to_string())
                    })
                    .map_err(|reason| {
                        invalid(
                            ManifestErrorKind::InvalidValue,
                            here("cloud_foundry.api"),
                            format!("{:?} is not a usable API URL: {reason}", cf.api),
                        )
                    })?;
                for (field, value) in [("org", &cf.org), ("space", &cf.space)] {
                    if value.trim().is_empty() {
                        return Err(invalid(
                            ManifestErrorKind::InvalidValue,
                            here(&format!("cloud_foundry.{field}")),
                            format!("the {field} name is empty"),
                        ));
                    }
                }
                Platform::CloudFoundry {
                    api,
                    org: cf.org.clone(),
                    space: cf.space.clone(),
                }
            }
            (Some(_), Some(_)) => {
                return Err(invalid(
                    ManifestErrorKind::InvalidValue,
                    here("service_manager_key"),
                    "give either service_manager_key or cloud_foundry, not both".into(),
                ));
            }
            (None, None) => {
                return Err(invalid(
                    ManifestErrorKind::MissingField,
                    here("service_manager_key"),
                    "give service_manager_key (a Service Manager binding's credentials) or cloud_foundry (api, org, space)".into(),
                ));
            }
        };
        let purpose = match (t.purpose.as_str(), t.scopes) {
            ("monitoring", None) => Purpose::OperationsMonitoring,
            ("transport", None) => Purpose::TransportManagement,
            ("api", Some(scopes)) if !scopes.is_empty() => Purpose::ApiAccess { scopes },
            ("api", _) => {
                return Err(invalid(
                    ManifestErrorKind::MissingField,
                    here("scopes"),
                    "purpose api needs scopes: the Cloud ALM API scopes the credentials get".into(),
                ));
            }
            ("monitoring" | "transport", Some(_)) => {
                return Err(invalid(
                    ManifestErrorKind::InvalidValue,
                    here("scopes"),
                    format!(
                        "scopes apply to purpose api only; purpose {} has fixed scopes",
                        t.purpose
                    ),
                ));
            }
            (other, _) => {
                return Err(invalid(
                    ManifestErrorKind::InvalidValue,
                    here("purpose"),
                    format!("purpose {other:?} is not one of monitoring, transport, api"),
                ));
            }
        };
        validate_instance_name(&t.instance).map_err(|e| {
            invalid(
                ManifestErrorKind::InvalidName,
                here("instance"),
                e.to_string(),
            )
        })?;
        let environment = match platform {
            Platform::ServiceManager { .. } => Environment::ServiceManager,
            Platform::CloudFoundry { .. } => Environment::CloudFoundry,
        };
        if t.credentials.is_empty() {
            return Err(invalid(
                ManifestErrorKind::MissingField,
                here("credentials"),
                "the tenant lists no credentials".into(),
            ));
        }
        let mut seen = HashSet::new();
        for (i, name) in t.credentials.iter().enumerate() {
            let field = here(&format!("credentials[{i}]"));
            validate_credential_name(environment.credential_noun(), name).map_err(|e| {
                invalid(ManifestErrorKind::InvalidName, field.clone(), e.to_string())
            })?;
            if let Some(reason) = file_name_problem(name) {
                return Err(invalid(
                    ManifestErrorKind::InvalidName,
                    field,
                    format!(
                        "{} name {name:?} is not allowed: {reason}",
                        environment.credential_noun()
                    ),
                ));
            }
            if !seen.insert(name.as_str()) {
                return Err(invalid(
                    ManifestErrorKind::Duplicate,
                    field,
                    format!("{name:?} is listed twice for this tenant"),
                ));
            }
        }
        // The crate's planning rules (scope names among them), as a run would apply them.
        SetupPlan::new(
            &PlanRequest::for_date(provisioned_on, purpose.clone(), environment)
                .instance_name(t.instance.clone())
                .credential_name(t.credentials[0].clone()),
        )
        .map_err(|e| {
            let field = if matches!(purpose, Purpose::ApiAccess { .. }) {
                here("scopes")
            } else {
                here("purpose")
            };
            invalid(ManifestErrorKind::InvalidValue, field, e.to_string())
        })?;
        tenants.push(TenantEntry {
            name: t.name,
            provisioned_on,
            platform,
            purpose,
            instance: t.instance,
            credentials: t.credentials,
        });
    }
    Ok(Manifest {
        path: file.to_owned(),
        limits,
        tenants,
    })
}

/// Tenant names become folder names: letters, digits, `.`, `_`, `-`, not starting with `.`.
fn tenant_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if name.chars().count() > 128 {
        return Some("it is longer than 128 characters".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Some(format!(
            "it contains {c:?}; use letters, digits, periods, hyphens and underscores"
        ));
    }
    file_name_problem(name)
}

/// Credential names become file names when credentials are written out.
fn file_name_problem(name: &str) -> Option<String> {
    if name.contains(['/', '\\']) {
        return Some(
            "it contains a path separator, and it names a file when credentials are written out"
                .into(),
        );
    }
    if name.starts_with('.') {
        return Some(
            "it starts with a period, and it names a file when credentials are written out".into(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use ManifestErrorKind::*;

    const SM_KEY: &str = r#"{"clientid": "sb-acme!b1|service-manager!b1", "clientsecret": "s3cr3t",
        "url": "https://acme.authentication.eu10.hana.ondemand.com",
        "sm_url": "https://service-manager.cfapps.eu10.hana.ondemand.com", "xsappname": "acme!b1"}"#;

    const GOOD_JSON: &str = r#"{"limits": {"requests_per_minute": 500, "binding_requests_per_minute": 300},
   "tenants": [
     {"name": "acme-prod", "provisioned_on": "2023-01-15",
      "service_manager_key": "keys/acme-sm.json",
      "purpose": "transport", "instance": "calm-transport",
      "credentials": ["sys-001", "sys-002"]},
     {"name": "beta", "provisioned_on": "2024-01-10",
      "cloud_foundry": {"api": "https://api.cf.eu10.hana.ondemand.com", "org": "Beta", "space": "dev"},
      "purpose": "monitoring", "instance": "calm-monitoring", "credentials": ["beta-mon"]},
     {"name": "gamma", "provisioned_on": "2024-02-01",
      "service_manager_key": "keys/acme-sm.json",
      "purpose": "api", "scopes": ["calm-api.tasks.read"], "instance": "calm-api",
      "credentials": ["tasks-reader"]}]}"#;

    const GOOD_TOML: &str = r#"[limits]
requests_per_minute = 500
binding_requests_per_minute = 300

[[tenants]]
name = "acme-prod"
provisioned_on = "2023-01-15"
service_manager_key = "keys/acme-sm.json"
purpose = "transport"
instance = "calm-transport"
credentials = ["sys-001", "sys-002"]

[[tenants]]
name = "beta"
provisioned_on = "2024-01-10"
cloud_foundry = { api = "https://api.cf.eu10.hana.ondemand.com", org = "Beta", space = "dev" }
purpose = "monitoring"
instance = "calm-monitoring"
credentials = ["beta-mon"]

[[tenants]]
name = "gamma"
provisioned_on = "2024-02-01"
service_manager_key = "keys/acme-sm.json"
purpose = "api"
scopes = ["calm-api.tasks.read"]
instance = "calm-api"
credentials = ["tasks-reader"]
"#;

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("keys")).expect("keys dir");
        std::fs::write(dir.path().join("keys/acme-sm.json"), SM_KEY).expect("key");
        std::fs::write(dir.path().join("keys/not-a-key.json"), "{\"hello\": 1}").expect("file");
        dir
    }

    fn load(dir: &Path, name: &str, text: &str) -> Result<Manifest, ManifestError> {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("manifest");
        Manifest::load(&path)
    }

    #[test]
    fn the_issue_example_reads_the_same_from_json_and_toml() {
        let dir = folder();
        let json = load(dir.path(), "fleet.json", GOOD_JSON).expect("valid JSON manifest");
        let toml = load(dir.path(), "fleet.toml", GOOD_TOML).expect("valid TOML manifest");
        assert_eq!(json.tenants, toml.tenants);
        assert_eq!(json.limits, toml.limits);
        assert_eq!(json.credential_count(), 4);
        let acme = &json.tenants[0];
        assert_eq!(acme.purpose, Purpose::TransportManagement);
        assert_eq!(
            acme.platform,
            Platform::ServiceManager {
                key_file: dir.path().join("keys/acme-sm.json"),
                client_id: "sb-acme!b1|service-manager!b1".into(),
            }
        );
        assert_eq!(json.tenants[1].environment(), Environment::CloudFoundry);
        assert_eq!(
            json.tenants[2].purpose,
            Purpose::ApiAccess {
                scopes: vec!["calm-api.tasks.read".into()]
            }
        );
        let minute = std::time::Duration::from_secs(60);
        assert_eq!(json.limits.max_per(Scope::All, minute), Some(500));
        assert_eq!(json.limits.max_per(Scope::Bindings, minute), Some(300));
        assert_eq!(json.limits.max_per(Scope::Plans, minute), Some(100));
        // The manifest holds no secret.
        assert!(!format!("{json:?}").contains("s3cr3t"));
    }

    #[test]
    fn limits_are_optional() {
        let dir = folder();
        let text = r#"{"tenants": [{"name": "a", "provisioned_on": "2024-01-10",
            "service_manager_key": "keys/acme-sm.json", "purpose": "monitoring",
            "instance": "calm", "credentials": ["k"]}]}"#;
        let m = load(dir.path(), "m.json", text).expect("valid");
        assert_eq!(m.limits, RateLimits::documented());
    }

    /// Each bad manifest: (file name, text, kind, text the message must contain, field,
    /// line and column).
    #[test]
    #[allow(clippy::type_complexity)]
    fn bad_manifests_fail_with_one_clear_error() {
        let entry = |extra: &str| {
            format!(
                r#"{{"name": "acme", "provisioned_on": "2024-01-10",
 "service_manager_key": "keys/acme-sm.json", "purpose": "monitoring",
 "instance": "calm", "credentials": ["k1"]{extra}}}"#
            )
        };
        let tenant = |extra: &str| format!("{{\"tenants\": [{}]}}", entry(extra));
        let replace = |from: &str, to: &str| tenant("").replace(from, to);
        let cases: Vec<(
            &str,
            String,
            ManifestErrorKind,
            &str,
            Option<&str>,
            Option<(usize, usize)>,
        )> = vec![
            (
                "m.yaml",
                tenant(""),
                UnknownFormat,
                ".json or .toml",
                None,
                None,
            ),
            (
                "m.json",
                "{\"tenants\": [\n  {\"name\": \"a\",,}]}".into(),
                Syntax,
                "key must be a string",
                None,
                Some((2, 16)),
            ),
            (
                "m.json",
                "{\"tenants\": [".into(),
                Syntax,
                "EOF",
                None,
                Some((1, 13)),
            ),
            (
                "m.json",
                format!("{} trailing", tenant("")),
                Syntax,
                "after the end",
                None,
                Some((3, 47)),
            ),
            (
                "m.toml",
                "[[tenants]]\nname = \"a\"\nprovisioned_on = 2024-01-10x\n".into(),
                Syntax,
                "",
                None,
                Some((3, 18)),
            ),
            (
                "m.json",
                replace("provisioned_on", "provisoned_on"),
                UnknownField,
                "unknown field `provisoned_on`",
                Some("tenants[0].provisoned_on"),
                Some((1, 45)),
            ),
            (
                "m.json",
                "{\"tenant\": []}".into(),
                UnknownField,
                "unknown field `tenant`",
                Some("tenant"),
                Some((1, 9)),
            ),
            (
                "m.json",
                "{\"limits\": {\"request_per_minute\": 5}, \"tenants\": []}".into(),
                UnknownField,
                "request_per_minute",
                Some("limits.request_per_minute"),
                Some((1, 32)),
            ),
            (
                "m.toml",
                "[[tenants]]\nname = \"a\"\nprovisoned_on = \"2024-01-10\"\n".into(),
                UnknownField,
                "unknown field `provisoned_on`",
                Some("tenants[0].provisoned_on"),
                Some((3, 1)),
            ),
            (
                "m.json",
                replace("\"instance\": \"calm\",", ""),
                MissingField,
                "missing field `instance`",
                Some("tenants[0]"),
                None,
            ),
            (
                "m.json",
                "{\"tenants\": []}".into(),
                MissingField,
                "no tenants",
                Some("tenants"),
                None,
            ),
            (
                "m.json",
                replace("2024-01-10", "2023-02-30"),
                InvalidValue,
                "\"2023-02-30\" is not a date that exists",
                Some("tenants[0] (\"acme\").provisioned_on"),
                None,
            ),
            (
                "m.json",
                replace("2024-01-10", "10.01.2024"),
                InvalidValue,
                "YYYY-MM-DD",
                Some("tenants[0] (\"acme\").provisioned_on"),
                None,
            ),
            (
                "m.json",
                replace("\"2024-01-10\"", "20240110"),
                InvalidValue,
                "invalid type",
                Some("tenants[0].provisioned_on"),
                None,
            ),
            (
                "m.json",
                replace("monitoring", "monitor"),
                InvalidValue,
                "not one of monitoring, transport, api",
                Some("tenants[0] (\"acme\").purpose"),
                None,
            ),
            (
                "m.json",
                replace("monitoring", "api"),
                MissingField,
                "needs scopes",
                Some("tenants[0] (\"acme\").scopes"),
                None,
            ),
            (
                "m.json",
                tenant(", \"scopes\": [\"x\"]"),
                InvalidValue,
                "api only",
                Some("tenants[0] (\"acme\").scopes"),
                None,
            ),
            (
                "m.json",
                replace(
                    "\"monitoring\"",
                    "\"api\", \"scopes\": [\"no spaces please\"]",
                ),
                InvalidValue,
                "no spaces please",
                Some("tenants[0] (\"acme\").scopes"),
                None,
            ),
            (
                "m.json",
                replace("keys/acme-sm.json", "keys/missing.json"),
                KeyFile,
                "missing.json does not exist",
                Some("tenants[0] (\"acme\").service_manager_key"),
                None,
            ),
            (
                "m.json",
                replace("keys/acme-sm.json", "keys/not-a-key.json"),
                KeyFile,
                "not-a-key.json is not usable",
                Some("tenants[0] (\"acme\").service_manager_key"),
                None,
            ),
            (
                "m.json",
                replace("\"service_manager_key\": \"keys/acme-sm.json\",", ""),
                MissingField,
                "or cloud_foundry",
                Some("tenants[0] (\"acme\").service_manager_key"),
                None,
            ),
            (
                "m.json",
                tenant(
                    ", \"cloud_foundry\": {\"api\": \"https://api.example\", \"org\": \"o\", \"space\": \"s\"}",
                ),
                InvalidValue,
                "not both",
                Some("tenants[0] (\"acme\").service_manager_key"),
                None,
            ),
            (
                "m.json",
                replace(
                    "\"service_manager_key\": \"keys/acme-sm.json\"",
                    "\"cloud_foundry\": {\"api\": \"http://api.example\", \"org\": \"o\", \"space\": \"s\"}",
                ),
                InvalidValue,
                "not a usable API URL",
                Some("tenants[0] (\"acme\").cloud_foundry.api"),
                None,
            ),
            (
                "m.json",
                replace(
                    "\"service_manager_key\": \"keys/acme-sm.json\"",
                    "\"cloud_foundry\": {\"api\": \"https://api.example\", \"org\": \"o\"}",
                ),
                MissingField,
                "missing field `space`",
                Some("tenants[0].cloud_foundry"),
                None,
            ),
            (
                "m.json",
                replace("\"calm\"", "\"calm instance\""),
                InvalidName,
                "instance name `calm instance`",
                Some("tenants[0] (\"acme\").instance"),
                None,
            ),
            (
                "m.json",
                replace("\"calm\"", "\"a-much-too-long-instance-name-for-sap\""),
                InvalidName,
                "at most 32",
                Some("tenants[0] (\"acme\").instance"),
                None,
            ),
            (
                "m.json",
                replace("[\"k1\"]", "[\"k1\", \"ABC_100_00\"]"),
                InvalidName,
                "ABC_100_00",
                Some("tenants[0] (\"acme\").credentials[1]"),
                None,
            ),
            (
                "m.json",
                replace("[\"k1\"]", "[\"../k1\"]"),
                InvalidName,
                "path separator",
                Some("tenants[0] (\"acme\").credentials[0]"),
                None,
            ),
            (
                "m.json",
                replace("[\"k1\"]", "[\"k1\", \"k1\"]"),
                Duplicate,
                "listed twice for this tenant",
                Some("tenants[0] (\"acme\").credentials[1]"),
                None,
            ),
            (
                "m.json",
                replace("[\"k1\"]", "[]"),
                MissingField,
                "no credentials",
                Some("tenants[0] (\"acme\").credentials"),
                None,
            ),
            (
                "m.json",
                replace("\"acme\"", "\"acme/prod\""),
                InvalidName,
                "tenant name",
                Some("tenants[0] (\"acme/prod\").name"),
                None,
            ),
            (
                "m.json",
                replace("\"acme\"", "\"\""),
                InvalidName,
                "it is empty",
                Some("tenants[0].name"),
                None,
            ),
            (
                "m.json",
                format!("{{\"tenants\": [{}, {}]}}", entry(""), entry("")),
                Duplicate,
                "tenant \"acme\" is listed twice",
                Some("tenants[1] (\"acme\").name"),
                None,
            ),
            (
                "m.json",
                format!(
                    "{{\"limits\": {{\"binding_requests_per_minute\": 0}}, \"tenants\": [{}]}}",
                    entry("")
                ),
                InvalidValue,
                "at least 1",
                Some("limits.binding_requests_per_minute"),
                None,
            ),
            (
                "m.json",
                format!(
                    "{{\"limits\": {{\"requests_per_minute\": -5}}, \"tenants\": [{}]}}",
                    entry("")
                ),
                InvalidValue,
                "invalid value",
                Some("limits.requests_per_minute"),
                None,
            ),
        ];
        let dir = folder();
        let mut wrong = Vec::new();
        for (name, text, kind, contains, field, position) in cases {
            let err = match load(dir.path(), name, &text) {
                Ok(_) => {
                    wrong.push(format!("accepted:\n{text}"));
                    continue;
                }
                Err(e) => e,
            };
            let shown = err.to_string();
            let ok = err.kind() == kind
                && shown.contains(contains)
                && err.field() == field
                && (position.is_none() || err.line_column() == position)
                && shown.starts_with(&dir.path().join(name).display().to_string())
                && !shown.contains("s3cr3t");
            if !ok {
                wrong.push(format!(
                    "{shown:?}: kind {:?} (want {kind:?}), field {:?} (want {field:?}), at {:?} (want {position:?}), want text {contains:?}",
                    err.kind(),
                    err.field(),
                    err.line_column()
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn a_missing_manifest_is_named() {
        let err = Manifest::load("/nonexistent/fleet.json").expect_err("missing");
        assert_eq!(err.kind(), Unreadable);
        assert_eq!(
            err.to_string(),
            "/nonexistent/fleet.json: the file does not exist"
        );
    }
}
