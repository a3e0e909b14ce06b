//! Credentials a platform already injected into the running program: Cloud Foundry's
//! `VCAP_SERVICES` and Kubernetes service-binding directories, found with the lookup rules of
//! SAP's Node.js library `@sap/xsenv` 6.2.2.
//!
//! # Entry points
//!
//! - [`list`] reads every source and returns a [`Listing`]: every service found, what each source
//!   gave (or why it gave nothing), and every malformed entry as a [`Problem`]. It never fails.
//! - [`find`] / [`Listing::select`] pick exactly one service for a [`Query`] (default: label
//!   `SAPCloudALMAPIs`); [`find_key`] / [`Listing::select_key`] also turn it into a
//!   [`ServiceKey`].
//!
//! All input comes through an [`Environment`] (variables and default roots), so tests never touch
//! the process environment or `/etc`.
//!
//! # Sources, in order
//!
//! 1. **Cloud Foundry**: the file named by `VCAP_SERVICES_FILE_PATH` if that variable is non-empty
//!    (then `VCAP_SERVICES` is not read at all, even when the file is missing or broken, as in
//!    xsenv); otherwise the `VCAP_SERVICES` variable.
//! 2. **servicebinding.io** directories under `SERVICE_BINDING_ROOT` (one directory per binding,
//!    a `type` file, optional SAP `.metadata`; also the operator's `secretRootKey` format).
//! 3. **Legacy** `<root>/<service>/<instance>/` directories under `SERVICE_BINDING_ROOT`, or, when
//!    that is unset or empty, under `/etc/secrets/sapcp` (xsenv's default).
//! 4. Only when `SERVICE_BINDING_ROOT` is unset or empty: `/etc/secrets/sapbtp` (the default root of
//!    SAP's Java libraries), read first as a servicebinding.io root, then as a legacy root.
//!
//! Sources 1–3 are exactly xsenv's `filterServices` order; source 4 only adds what xsenv would
//! not find at all. Selection goes source by source and stops at the first source with at least
//! one match; exactly one match is required there (xsenv's `serviceCredentials` rule), two or
//! more is an [`Error::Ambiguous`] naming them.
//!
//! # Differences from `@sap/xsenv`, and why
//!
//! Each is proven by a test in `tests/runtime_bindings.rs` whose comment names it.
//!
//! - **A broken source does not hide the others.** xsenv throws out of every lookup when
//!   `VCAP_SERVICES` is not JSON, the `VCAP_SERVICES_FILE_PATH` file cannot be read, a root is not a
//!   directory or a legacy `tags` file is not JSON. Here each becomes a [`Problem`] and the other
//!   sources are still searched; if nothing matches, the error lists the problems.
//! - **No silent "last one wins".** xsenv keys all services of a source by name, so two with the
//!   same name (under different CF labels, or legacy instances of different services) collapse to
//!   the last. Here both are kept, a [`Problem`] says so, and a name lookup reports them as
//!   ambiguous.
//! - **Tag keys are exact.** Only [`Criterion::Field`] keys `tag`/`tags` test tag membership;
//!   xsenv's unanchored `/tags?/` also treats `stage` or `vintage` as tag keys.
//! - **`null` property lists in `.metadata` are empty lists.** xsenv crashes (`metaData is not
//!   iterable`) on the `null` the Go operator writes for a nil slice.
//! - **Metadata values are compared without a trailing line break.** A `type`, `plan`, `label` …
//!   file ending in `\n` still matches (SAP's Java library does the same); xsenv keeps the
//!   newline and the filter fails. Credential values are kept byte for byte.
//! - **`XSENV_PARSE_ALL_JSON`** enables parsing of any JSON file content only for the exact value
//!   `true`, as in xsenv; but a legacy `tags` file is always read as a JSON array (xsenv splits it
//!   into single characters for any other non-empty value).
//! - **Symlinks.** A symlink to a binding directory under `SERVICE_BINDING_ROOT` is followed
//!   (xsenv skips it); Kubernetes' `..data` / `..<timestamp>` directories are never taken for
//!   bindings or legacy instances (xsenv's legacy reader does so on a servicebinding.io root).
//! - **The operator's `secretRootKey` format** (one file holding all values as one JSON object,
//!   no `type` file) is read; xsenv skips it.
//! - **Problems are reported, not swallowed**: a `.metadata` entry that names a missing file, a
//!   `json` entry that does not parse, a directory without `type` each give a [`Problem`].
//! - **A byte-order mark** at the start of `VCAP_SERVICES` or its file is ignored (xsenv fails).
//! - **`default-services.json`** (xsenv's `getServices` fallback file) is not read: it is a
//!   development convenience of one function, not an injected binding.
//!
//! Service objects and credentials are otherwise what xsenv returns (`tests/differential/` checks
//! this against recorded and, where Node is installed, live xsenv output). Only
//! [`Service::service_key`] goes further: it parses credential values that hold a JSON object as
//! text (a `uaa` file read without `.metadata`) and unwraps a single nested credentials object
//! (a `secretKey` file in the legacy layout).
//!
//! # Secrets
//!
//! `Debug` of every type here shows no credential value; [`Service::redacted_credentials`] and
//! [`Listing::redacted_json`] replace secrets (also inside JSON held in strings). Only the
//! `expose_*` methods give them out.

mod filter;
mod k8s;
mod legacy;
mod vcap;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::credentials::redact::{REDACTED, is_secret_field, looks_like_private_key};
use crate::credentials::service_key::ServiceKey;
use crate::error::{Error, Result};

pub use filter::{Criterion, Query};

/// The label (service offering name) of SAP Cloud ALM API instances.
pub const DEFAULT_LABEL: &str = "SAPCloudALMAPIs";
/// `@sap/xsenv`'s default root of the legacy `<service>/<instance>` layout.
pub const XSENV_DEFAULT_ROOT: &str = "/etc/secrets/sapcp";
/// The default root of SAP's Java libraries (`btp-environment-variable-access`).
pub const JAVA_DEFAULT_ROOT: &str = "/etc/secrets/sapbtp";

/// The environment variables this module reads.
pub const VARIABLES: [&str; 4] = [
    "VCAP_SERVICES_FILE_PATH",
    "VCAP_SERVICES",
    "SERVICE_BINDING_ROOT",
    "XSENV_PARSE_ALL_JSON",
];

/// Everything the readers look at: environment variables and the default roots.
///
/// [`Environment::new`] is empty (no variables, no default roots), so a test sees only what it
/// puts in; [`Environment::from_process`] is the real thing.
///
/// `Debug` shows variable names only (`VCAP_SERVICES` holds secrets).
#[derive(Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
    xsenv_root: Option<PathBuf>,
    java_root: Option<PathBuf>,
}

impl Environment {
    /// No variables and no default roots.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current process's variables (those in [`VARIABLES`]; values that are not UTF-8 are
    /// converted lossily) and the standard default roots.
    pub fn from_process() -> Self {
        let mut env = Environment::new().with_standard_default_roots();
        for name in VARIABLES {
            if let Some(v) = std::env::var_os(name) {
                env.vars
                    .insert(name.to_owned(), v.to_string_lossy().into_owned());
            }
        }
        env
    }

    /// This environment with variable `name` set to `value`.
    #[must_use]
    pub fn with_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// This environment with the default roots [`XSENV_DEFAULT_ROOT`] and [`JAVA_DEFAULT_ROOT`].
    #[must_use]
    pub fn with_standard_default_roots(self) -> Self {
        self.with_xsenv_default_root(XSENV_DEFAULT_ROOT)
            .with_java_default_root(JAVA_DEFAULT_ROOT)
    }

    /// Replaces `/etc/secrets/sapcp`, the legacy root used when `SERVICE_BINDING_ROOT` is unset.
    #[must_use]
    pub fn with_xsenv_default_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.xsenv_root = Some(root.into());
        self
    }

    /// Replaces `/etc/secrets/sapbtp`, the extra root read when `SERVICE_BINDING_ROOT` is unset.
    #[must_use]
    pub fn with_java_default_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.java_root = Some(root.into());
        self
    }

    /// The value of a variable, if set.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The value of a variable if set and not empty (xsenv treats empty as unset).
    fn non_empty(&self, name: &str) -> Option<&str> {
        self.var(name).filter(|v| !v.is_empty())
    }

    pub(crate) fn parse_all_json(&self) -> bool {
        self.var("XSENV_PARSE_ALL_JSON") == Some("true")
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environment")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("xsenv_root", &self.xsenv_root)
            .field("java_root", &self.java_root)
            .finish()
    }
}

/// Which kind of source a service came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceKind {
    /// The JSON file named by `VCAP_SERVICES_FILE_PATH`.
    VcapServicesFile,
    /// The `VCAP_SERVICES` environment variable.
    VcapServices,
    /// A servicebinding.io root (`<root>/<binding>/<entry files>`).
    ServiceBinding,
    /// A legacy root (`<root>/<service>/<instance>/<files>`).
    Legacy,
}

impl SourceKind {
    /// A stable short name (`vcap-file`, `vcap`, `service-binding`, `legacy`) for JSON output.
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceKind::VcapServicesFile => "vcap-file",
            SourceKind::VcapServices => "vcap",
            SourceKind::ServiceBinding => "service-binding",
            SourceKind::Legacy => "legacy",
        }
    }
}

/// One place that was looked at: a kind and where (variable name or path).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Source {
    /// The kind of source.
    pub kind: SourceKind,
    /// `VCAP_SERVICES`, or the file or root path (as given).
    pub location: String,
}

impl Source {
    fn new(kind: SourceKind, location: impl Into<String>) -> Self {
        Source {
            kind,
            location: location.into(),
        }
    }

    fn path(kind: SourceKind, path: &Path) -> Self {
        Source::new(kind, path.display().to_string())
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SourceKind::VcapServicesFile => {
                write!(f, "VCAP_SERVICES_FILE_PATH file {}", self.location)
            }
            SourceKind::VcapServices => f.write_str("VCAP_SERVICES"),
            SourceKind::ServiceBinding => write!(f, "servicebinding.io root {}", self.location),
            SourceKind::Legacy => write!(f, "secrets root {}", self.location),
        }
    }
}

/// How a service's data was laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindingFormat {
    /// An element of `VCAP_SERVICES`.
    CloudFoundry,
    /// A servicebinding.io directory with SAP's `.metadata` (operator default and `secretKey`).
    ServiceBindingMetadata,
    /// A servicebinding.io directory without usable `.metadata`: `type`/`provider` are metadata,
    /// every other file a text credential.
    ServiceBindingPlain,
    /// The operator's `secretRootKey` format: one file holding one JSON object.
    SecretRootKey,
    /// `<root>/<service>/<instance>/` with one file per credential.
    Legacy,
}

impl BindingFormat {
    /// A stable short name for JSON output.
    pub fn as_str(&self) -> &'static str {
        match self {
            BindingFormat::CloudFoundry => "cloud-foundry",
            BindingFormat::ServiceBindingMetadata => "service-binding-metadata",
            BindingFormat::ServiceBindingPlain => "service-binding",
            BindingFormat::SecretRootKey => "secret-root-key",
            BindingFormat::Legacy => "legacy",
        }
    }
}

/// One bound service as a source describes it: `name`, metadata fields (`label`, `plan`, `tags`,
/// …) and credentials, shaped as `@sap/xsenv` shapes it.
///
/// `Debug` shows the metadata and the credential field names, never credential values.
#[derive(Clone)]
pub struct Service {
    source: Source,
    format: BindingFormat,
    path: Option<PathBuf>,
    name: String,
    fields: Map<String, Value>,
    credentials: Value,
}

impl Service {
    fn new(
        source: Source,
        format: BindingFormat,
        path: Option<PathBuf>,
        name: String,
        mut fields: Map<String, Value>,
        credentials: Value,
    ) -> Self {
        fields.insert("name".to_owned(), Value::String(name.clone()));
        Service {
            source,
            format,
            path,
            name,
            fields,
            credentials,
        }
    }

    /// Where it was found.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// How its data was laid out.
    pub fn format(&self) -> BindingFormat {
        self.format
    }

    /// The binding or instance directory, for directory sources.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The lookup name (CF `name`, binding directory, or legacy instance directory).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The offering label, when the source gives one as a string.
    pub fn label(&self) -> Option<&str> {
        self.str_field("label")
    }

    /// The plan, when the source gives one at the top level (legacy directories do not).
    pub fn plan(&self) -> Option<&str> {
        self.str_field("plan")
    }

    /// The string tags.
    pub fn tags(&self) -> Vec<&str> {
        match self.fields.get("tags") {
            Some(Value::Array(t)) => t.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// The service instance name (`instance_name`), when given.
    pub fn instance_name(&self) -> Option<&str> {
        self.str_field("instance_name")
    }

    /// The binding name (`binding_name`, Cloud Foundry), when given.
    pub fn binding_name(&self) -> Option<&str> {
        self.str_field("binding_name")
    }

    /// The instance GUID, when given.
    pub fn instance_guid(&self) -> Option<&str> {
        self.str_field("instance_guid")
    }

    /// The servicebinding.io `type`, when given.
    pub fn service_type(&self) -> Option<&str> {
        self.str_field("type")
    }

    /// A top-level field (never a credential): `name`, `label`, `plan`, `tags`, `provider`, …
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// All top-level fields except `credentials`, as read (a Cloud Foundry `syslog_drain_url`
    /// may carry user info; [`Service::redacted_json`] hides it).
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    fn str_field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// The credentials with every secret replaced by `"[REDACTED]"`, also inside values that hold
    /// JSON as text; such text that does not parse is replaced whole.
    pub fn redacted_credentials(&self) -> Value {
        redact_deep(&self.credentials)
    }

    /// The credentials exactly as read, secrets included. Do not log or print them.
    pub fn expose_credentials(&self) -> &Value {
        &self.credentials
    }

    /// The credentials as a typed [`ServiceKey`].
    ///
    /// Before parsing, top-level credential values that are JSON objects held as text are parsed
    /// (a `uaa` file read without `.metadata`), and if there is neither `uaa` nor `clientid` but
    /// exactly one value is an object that has one, that object is used (a `secretKey` file in
    /// the legacy layout). Errors name the source, the service and the field.
    pub fn service_key(&self) -> Result<ServiceKey> {
        let creds = usable_credentials(&self.credentials);
        ServiceKey::from_value(creds).map_err(|e| self.rename_error(e))
    }

    fn rename_error(&self, e: Error) -> Error {
        let document = format!(
            "credentials of service `{}` from {}",
            self.name, self.source
        );
        match e {
            Error::InvalidJson {
                path,
                expected,
                found,
                hint,
                ..
            } => Error::InvalidJson {
                document,
                path: if path == "$" {
                    "credentials".to_owned()
                } else {
                    format!("credentials.{path}")
                },
                expected,
                found,
                hint,
            },
            Error::InvalidUrl { field, reason } => Error::InvalidUrl {
                field: format!("{document}: credentials.{field}"),
                reason,
            },
            other => other,
        }
    }

    fn json(&self, credentials: Value, redact: bool) -> Value {
        let mut out = Map::new();
        out.insert("source".into(), self.source.kind.as_str().into());
        out.insert("location".into(), self.source.location.clone().into());
        out.insert("format".into(), self.format.as_str().into());
        if let Some(p) = &self.path {
            out.insert("path".into(), p.display().to_string().into());
        }
        for (k, v) in &self.fields {
            let shown = if redact {
                redact_field(k, v)
            } else {
                v.clone()
            };
            out.insert(k.clone(), shown);
        }
        out.insert("credentials".into(), credentials);
        Value::Object(out)
    }

    /// Source, format, path, every top-level field and the redacted credentials, as JSON.
    /// Top-level fields are redacted too: secret-named fields, and the password of URLs such as
    /// a `syslog_drain_url` with user info.
    pub fn redacted_json(&self) -> Value {
        self.json(self.redacted_credentials(), true)
    }

    /// Like [`Service::redacted_json`] but with the credentials as read, secrets included.
    pub fn expose_json(&self) -> Value {
        self.json(self.credentials.clone(), false)
    }
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = match &self.credentials {
            Value::Object(m) => m.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        };
        f.debug_struct("Service")
            .field("source", &self.source)
            .field("format", &self.format)
            .field("path", &self.path)
            .field("name", &self.name)
            .field("label", &self.label())
            .field("plan", &self.plan())
            .field("tags", &self.tags())
            .field("credential_fields", &keys)
            .finish()
    }
}

/// A malformed or surprising entry. Never contains a credential value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The source it was found in.
    pub source: Source,
    /// The service, binding or entry concerned (`calm-api`, `SAPCloudALMAPIs[1]`), if any.
    pub entry: Option<String>,
    /// The field or file concerned (`credentials`, `.metadata`, `tags`), if any.
    pub field: Option<String>,
    /// What is wrong and what was done about it.
    pub message: String,
}

impl Problem {
    fn new(
        source: &Source,
        entry: Option<&str>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            source: source.clone(),
            entry: entry.map(str::to_owned),
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(e) = &self.entry {
            write!(f, ": `{e}`")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// What looking at one source gave.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceOutcome {
    /// The variable that would name it is not set (the text says which).
    NotConfigured(String),
    /// Deliberately not read (the text says why).
    Ignored(String),
    /// The path does not exist.
    Missing,
    /// Read; this many services were taken from it.
    Read(usize),
    /// Could not be read at all (the text says why); see also [`Listing::problems`].
    Failed(String),
}

impl fmt::Display for SourceOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceOutcome::NotConfigured(why) | SourceOutcome::Ignored(why) => f.write_str(why),
            SourceOutcome::Missing => f.write_str("does not exist"),
            SourceOutcome::Read(n) => write!(f, "{n} service(s)"),
            SourceOutcome::Failed(why) => write!(f, "unusable: {why}"),
        }
    }
}

/// One source in lookup order and what it gave.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceReport {
    /// The source.
    pub source: Source,
    /// What it gave.
    pub outcome: SourceOutcome,
}

/// Everything the environment provides: services, sources in lookup order, problems.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Listing {
    /// Every service found, grouped by source in lookup order.
    pub services: Vec<Service>,
    /// Every source looked at, in lookup order.
    pub sources: Vec<SourceReport>,
    /// Every malformed or surprising entry.
    pub problems: Vec<Problem>,
}

/// The service a [`Query`] selected.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Found {
    /// The selected service.
    pub service: Service,
    /// Problems met in any source while looking (show them; they may explain surprises).
    pub warnings: Vec<Problem>,
}

impl Found {
    /// The selected service's credentials as a [`ServiceKey`] (see [`Service::service_key`]).
    pub fn service_key(&self) -> Result<ServiceKey> {
        self.service.service_key()
    }
}

/// Reads every source of `env` (see the module docs for the order). Never fails: unreadable
/// sources and malformed entries become [`Listing::problems`].
pub fn list(env: &Environment) -> Listing {
    let mut listing = Listing::default();
    vcap::read(env, &mut listing);
    match env.non_empty("SERVICE_BINDING_ROOT") {
        Some(root) => {
            let root = Path::new(root);
            k8s::read(env, root, &mut listing);
            legacy::read(env, root, &mut listing);
        }
        None => {
            listing.report(
                Source::new(SourceKind::ServiceBinding, "SERVICE_BINDING_ROOT"),
                SourceOutcome::NotConfigured("SERVICE_BINDING_ROOT is not set".into()),
            );
            if let Some(root) = &env.xsenv_root {
                legacy::read(env, root, &mut listing);
            }
            if let Some(root) = &env.java_root {
                k8s::read(env, root, &mut listing);
                legacy::read(env, root, &mut listing);
            }
        }
    }
    listing.flag_duplicate_names();
    listing
}

/// Selects exactly one service for `query`: `list(env).select(query)`.
///
/// ```
/// use calm_credentials::credentials::runtime::{self, Environment, Query};
/// let env = Environment::new().with_var("VCAP_SERVICES", r#"{"SAPCloudALMAPIs": [{
///     "name": "calm-api", "label": "SAPCloudALMAPIs", "plan": "standard", "tags": [],
///     "credentials": {"endpoints": {"Api": "https://eu10.alm.cloud.sap/api"},
///       "uaa": {"url": "https://x.authentication.eu10.hana.ondemand.com",
///               "clientid": "sb-x!b1|sapcloudalm!b2", "clientsecret": "s3cr3t"}}}]}"#);
/// let found = runtime::find(&env, &Query::default())?;
/// assert_eq!(found.service.name(), "calm-api");
/// assert_eq!(found.service_key()?.client_id(), "sb-x!b1|sapcloudalm!b2");
/// assert!(!format!("{found:?}").contains("s3cr3t"));
/// # Ok::<(), calm_credentials::Error>(())
/// ```
pub fn find(env: &Environment, query: &Query) -> Result<Found> {
    list(env).select(query)
}

/// Selects exactly one service whose credentials form a [`ServiceKey`]:
/// `list(env).select_key(query)`.
pub fn find_key(env: &Environment, query: &Query) -> Result<(ServiceKey, Found)> {
    list(env).select_key(query)
}

/// Parses `VCAP_SERVICES` text on its own (what [`list`] does with the variable). Never panics;
/// malformed parts become [`Listing::problems`].
pub fn parse_vcap_services(text: &str) -> Listing {
    let mut listing = Listing::default();
    let source = Source::new(SourceKind::VcapServices, "VCAP_SERVICES");
    vcap::parse(text, &source, &mut listing);
    listing
}

impl Listing {
    fn report(&mut self, source: Source, outcome: SourceOutcome) {
        self.sources.push(SourceReport { source, outcome });
    }

    fn problem(&mut self, p: Problem) {
        self.problems.push(p);
    }

    fn flag_duplicate_names(&mut self) {
        let mut seen: BTreeMap<(usize, &str), usize> = BTreeMap::new();
        for s in &self.services {
            if let Some(idx) = self.sources.iter().position(|r| r.source == s.source) {
                *seen.entry((idx, s.name.as_str())).or_default() += 1;
            }
        }
        let dups: Vec<Problem> = seen
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|((idx, name), n)| {
                Problem::new(
                    &self.sources[idx].source,
                    Some(name),
                    None,
                    format!(
                        "{n} services have this name; all are kept (@sap/xsenv would silently keep only the last), so selecting it by name is ambiguous"
                    ),
                )
            })
            .collect();
        self.problems.extend(dups);
    }

    /// The services of one source, in the order read.
    pub fn services_from<'a>(&'a self, source: &'a Source) -> impl Iterator<Item = &'a Service> {
        self.services.iter().filter(move |s| &s.source == source)
    }

    /// xsenv's `filterServices`: the matches in the first source (in lookup order) that has any;
    /// empty when none has.
    pub fn matching(&self, query: &Query) -> Vec<&Service> {
        for report in &self.sources {
            let m: Vec<&Service> = self
                .services_from(&report.source)
                .filter(|s| query.matches(s))
                .collect();
            if !m.is_empty() {
                return m;
            }
        }
        Vec::new()
    }

    /// Exactly one service for `query` (xsenv's `serviceCredentials` rule, see the module docs).
    ///
    /// Errors: [`Error::Config`] for an empty query, [`Error::Ambiguous`] when the first source
    /// with a match has several, [`Error::NotFound`] (saying where it looked, what each source
    /// held and which entries were malformed) when none has.
    pub fn select(&self, query: &Query) -> Result<Found> {
        check_query(query)?;
        let matches = self.matching(query);
        match matches.as_slice() {
            [one] => Ok(self.found(one)),
            [] => Err(self.not_found(query, &[])),
            many => Err(ambiguous(query, many)),
        }
    }

    /// Like [`Listing::select`], but the service's credentials must also form a [`ServiceKey`].
    ///
    /// A single match whose credentials are unusable does not stop the search: it is noted and
    /// the next source is tried. When nothing usable is found and exactly one match was
    /// unusable, its own error (naming source, service and field) is returned; otherwise an
    /// [`Error::NotFound`] that lists every unusable match.
    pub fn select_key(&self, query: &Query) -> Result<(ServiceKey, Found)> {
        check_query(query)?;
        let mut unusable: Vec<(Problem, Error)> = Vec::new();
        for report in &self.sources {
            let m: Vec<&Service> = self
                .services_from(&report.source)
                .filter(|s| query.matches(s))
                .collect();
            match m.as_slice() {
                [] => continue,
                [one] => match one.service_key() {
                    Ok(key) => {
                        let mut found = self.found(one);
                        found.warnings.extend(unusable.into_iter().map(|(p, _)| p));
                        return Ok((key, found));
                    }
                    Err(e) => unusable.push((
                        Problem::new(
                            &one.source,
                            Some(&one.name),
                            Some("credentials"),
                            format!("matches {query} but is unusable: {e}"),
                        ),
                        e,
                    )),
                },
                many => return Err(ambiguous(query, many)),
            }
        }
        if unusable.len() == 1 {
            if let Some((_, e)) = unusable.pop() {
                return Err(e);
            }
        }
        let problems: Vec<Problem> = unusable.into_iter().map(|(p, _)| p).collect();
        Err(self.not_found(query, &problems))
    }

    fn found(&self, service: &Service) -> Found {
        Found {
            service: service.clone(),
            warnings: self.problems.clone(),
        }
    }

    fn not_found(&self, query: &Query, extra: &[Problem]) -> Error {
        let mut hint = String::from("Looked in: ");
        for (i, r) in self.sources.iter().enumerate() {
            if i > 0 {
                hint.push_str("; ");
            }
            hint.push_str(&format!("{}. {}: {}", i + 1, r.source, r.outcome));
            let held: Vec<String> = self
                .services_from(&r.source)
                .map(|s| match s.label() {
                    Some(l) => format!("`{}` (label `{l}`)", s.name),
                    None => format!("`{}`", s.name),
                })
                .collect();
            if !held.is_empty() {
                hint.push_str(&format!(", none matching: {}", held.join(", ")));
            }
        }
        hint.push('.');
        let problems: Vec<&Problem> = self.problems.iter().chain(extra).collect();
        if !problems.is_empty() {
            hint.push_str(" Malformed or unusable entries: ");
            let texts: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            hint.push_str(&texts.join("; "));
            hint.push('.');
        }
        hint.push_str(
            " Bind an SAP Cloud ALM API instance to the application (Cloud Foundry: `cf bind-service`; \
             Kubernetes: a ServiceBinding mounted under SERVICE_BINDING_ROOT), or adjust the query.",
        );
        Error::NotFound {
            what: format!("a bound service with {query}"),
            hint,
        }
    }

    fn json(&self, expose: bool) -> Value {
        let services: Vec<Value> = self
            .services
            .iter()
            .map(|s| {
                if expose {
                    s.expose_json()
                } else {
                    s.redacted_json()
                }
            })
            .collect();
        let sources: Vec<Value> = self
            .sources
            .iter()
            .map(|r| {
                json!({"source": r.source.kind.as_str(), "location": r.source.location,
                       "outcome": r.outcome.to_string()})
            })
            .collect();
        let problems: Vec<Value> = self
            .problems
            .iter()
            .map(|p| {
                json!({"source": p.source.kind.as_str(), "location": p.source.location,
                       "entry": p.entry, "field": p.field, "message": p.message})
            })
            .collect();
        json!({"services": services, "sources": sources, "problems": problems})
    }

    /// `{"services": [...], "sources": [...], "problems": [...]}` with redacted credentials
    /// (for `calm env --json`).
    pub fn redacted_json(&self) -> Value {
        self.json(false)
    }

    /// Like [`Listing::redacted_json`], secrets included (for `--show-secrets`).
    pub fn expose_json(&self) -> Value {
        self.json(true)
    }
}

fn check_query(query: &Query) -> Result<()> {
    if query.is_empty() {
        return Err(Error::Config(
            "the service query has no condition and matches nothing (as in @sap/xsenv); give a name, label, tag or plan".into(),
        ));
    }
    Ok(())
}

fn ambiguous(query: &Query, many: &[&Service]) -> Error {
    let source = many
        .first()
        .map(|s| s.source.to_string())
        .unwrap_or_default();
    Error::Ambiguous {
        what: format!("{query} in {source}"),
        candidates: many
            .iter()
            .map(|s| match (&s.path, s.label()) {
                (Some(p), _) => format!("`{}` ({})", s.name, p.display()),
                (None, Some(l)) => format!("`{}` (label `{l}`)", s.name),
                (None, None) => format!("`{}`", s.name),
            })
            .collect(),
    }
}

/// Whether text looks like a JSON object (xsenv's legacy test: first byte `{`, last non-space `}`).
pub(crate) fn looks_like_json_object(text: &str) -> bool {
    text.starts_with('{') && text.trim_end().ends_with('}')
}

/// Parses `text` as a JSON object if it looks like one.
fn parse_object_text(text: &str) -> Option<Value> {
    if !looks_like_json_object(text.trim_start()) {
        return None;
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Some(v),
        _ => None,
    }
}

/// Top-level string values holding JSON objects, parsed.
fn parse_nested(map: &mut Map<String, Value>) {
    for v in map.values_mut() {
        if let Value::String(s) = v {
            if let Some(parsed) = parse_object_text(s) {
                *v = parsed;
            }
        }
    }
}

fn usable_credentials(credentials: &Value) -> Value {
    let Value::Object(map) = credentials else {
        return credentials.clone();
    };
    let mut map = map.clone();
    parse_nested(&mut map);
    let has_oauth = |m: &Map<String, Value>| m.contains_key("uaa") || m.contains_key("clientid");
    if !has_oauth(&map) {
        let inner: Vec<&Map<String, Value>> = map
            .values()
            .filter_map(Value::as_object)
            .filter(|m| has_oauth(m))
            .collect();
        if let [one] = inner.as_slice() {
            let mut one = (*one).clone();
            parse_nested(&mut one);
            return Value::Object(one);
        }
    }
    Value::Object(map)
}

/// Redacts secrets, also inside strings that hold JSON; such strings that do not parse are
/// replaced whole (they may hold a secret we cannot locate). Stricter than
/// [`redact_value`](crate::credentials::redact::redact_value): everything under a secret-named
/// field goes (arrays and objects too), and credentials that are not an object or array at all
/// (a bare string) are replaced whole.
fn redact_deep(value: &Value) -> Value {
    fn walk(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        let shown = if is_secret_field(k) && !v.is_null() {
                            Value::String(REDACTED.into())
                        } else {
                            walk(v)
                        };
                        (k.clone(), shown)
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(walk).collect()),
            Value::String(s) => {
                let t = s.trim();
                if looks_like_private_key(s) {
                    Value::String(REDACTED.into())
                } else if t.starts_with('{') || t.starts_with('[') {
                    match serde_json::from_str::<Value>(t) {
                        Ok(inner @ (Value::Object(_) | Value::Array(_))) => {
                            Value::String(walk(&inner).to_string())
                        }
                        _ => Value::String(REDACTED.into()),
                    }
                } else {
                    v.clone()
                }
            }
            other => other.clone(),
        }
    }
    match value {
        Value::Object(_) | Value::Array(_) => walk(value),
        Value::Null => Value::Null,
        _ => Value::String(REDACTED.into()),
    }
}

/// A top-level field for display: secret-named fields and URL passwords hidden.
fn redact_field(key: &str, value: &Value) -> Value {
    if is_secret_field(key) && !value.is_null() {
        return Value::String(REDACTED.into());
    }
    match value {
        Value::String(s) => match url::Url::parse(s) {
            Ok(mut u) if u.password().is_some() => {
                // Cannot fail for a URL that already has a password.
                let _ = u.set_password(Some(REDACTED));
                Value::String(u.to_string())
            }
            _ => value.clone(),
        },
        Value::Object(_) | Value::Array(_) => redact_deep(value),
        other => other.clone(),
    }
}

/// Removes one trailing line break (`\n` or `\r\n`), for metadata values read from files.
fn trim_line_end(s: &str) -> &str {
    s.strip_suffix('\n')
        .map(|s| s.strip_suffix('\r').unwrap_or(s))
        .unwrap_or(s)
}

/// JavaScript truthiness of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// Directory entries sorted by name (libuv's `scandir`, which Node uses, sorts too).
fn sorted_entries(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    out.sort();
    Ok(out)
}

/// Reads a file as text (invalid UTF-8 replaced, as Node's `'utf8'` decoding does).
fn read_text(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// What to do with a root: `Ok(true)` read it, `Ok(false)` it does not exist (reported).
fn check_root(listing: &mut Listing, source: &Source, root: &Path) -> bool {
    if listing.sources.iter().any(|r| &r.source == source) {
        // The same root configured twice: read once.
        return false;
    }
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => true,
        Ok(_) => {
            listing.problem(Problem::new(
                source,
                None,
                None,
                "is not a directory; nothing read from it (@sap/xsenv would fail every lookup here)",
            ));
            listing.report(
                source.clone(),
                SourceOutcome::Failed("not a directory".into()),
            );
            false
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            listing.report(source.clone(), SourceOutcome::Missing);
            false
        }
        Err(e) => {
            listing.problem(Problem::new(
                source,
                None,
                None,
                format!("cannot be read: {e}"),
            ));
            listing.report(source.clone(), SourceOutcome::Failed(e.to_string()));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_one_line_end() {
        assert_eq!(trim_line_end("a\n"), "a");
        assert_eq!(trim_line_end("a\r\n"), "a");
        assert_eq!(trim_line_end("a\n\n"), "a\n");
        assert_eq!(trim_line_end("a"), "a");
    }

    #[test]
    fn redacts_json_held_in_strings() {
        let creds = json!({"uaa": "{\"clientid\":\"id\",\"clientsecret\":\"s1\"}",
                           "broken": "{\"clientsecret\":\"s2\"", "url": "https://x",
                           "passwords": ["s3"], "password": {"v": "s4"}});
        let shown = redact_deep(&creds).to_string();
        for s in ["s1", "s2", "s3", "s4"] {
            assert!(!shown.contains(s), "{shown}");
        }
        assert_eq!(redact_deep(&json!("s5")), json!(REDACTED));
        assert!(shown.contains("id") && shown.contains("https://x"));
    }

    #[test]
    fn usable_credentials_unwraps_text_and_containers() {
        let c = json!({"plan": "standard", "binding": {"uaa": "{\"clientid\":\"a\"}", "endpoints": {}}});
        let u = usable_credentials(&c);
        assert_eq!(u["uaa"]["clientid"], "a");
        let c = json!({"uaa": "{\"clientid\":\"b\"}"});
        assert_eq!(usable_credentials(&c)["uaa"]["clientid"], "b");
    }

    #[test]
    fn redacts_url_passwords_in_fields() {
        let shown = redact_field(
            "syslog_drain_url",
            &json!("syslog://u:pw123@logs.example:514"),
        );
        assert!(!shown.to_string().contains("pw123"), "{shown}");
        assert_eq!(redact_field("plan", &json!("standard")), json!("standard"));
    }

    #[test]
    fn environment_debug_hides_values() {
        let env = Environment::new().with_var("VCAP_SERVICES", "{\"x\":\"s3cr3t\"}");
        let d = format!("{env:?}");
        assert!(d.contains("VCAP_SERVICES") && !d.contains("s3cr3t"));
    }
}
