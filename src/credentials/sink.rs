//! Handing credentials over: writing a [`ServiceKey`] where a program, a cluster or a person
//! uses it, without leaving it readable by others or half-written.
//!
//! A [`Sink`] says where and in which shape:
//!
//! | Sink | Text form | What is written |
//! |---|---|---|
//! | [`Sink::File`] | `file:PATH` | the credentials object as JSON, as the cockpit shows it |
//! | [`Sink::KubernetesSecret`] | `k8s-secret:PATH` | a `v1` Secret manifest (YAML for `.yaml`/`.yml`, JSON for `.json`) in the SAP BTP service operator's layout |
//! | [`Sink::Dotenv`] | `env:PATH` | `CALM_CLIENT_ID`, `CALM_CLIENT_SECRET` (or `CALM_CERTIFICATE` and `CALM_KEY`), `CALM_TOKEN_URL`, `CALM_API_URL`, quoted for a POSIX shell |
//!
//! Every sink writes the same way: into a new temporary file in the target's folder, created
//! with mode `0600` (owner read/write only, on Unix), flushed to disk, then renamed over the
//! target, so a reader sees the old file or the whole new one, never a part. A target that is a
//! symbolic link is refused (never followed), and so is a missing folder: nothing is created
//! outside the folder the caller named.
//!
//! # The Kubernetes Secret
//!
//! The manifest is what the SAP BTP service operator writes for a binding in its default format
//! (`reference/runtime-bindings.md` §5): one `data` entry per top-level credential property
//! (strings as they are, anything else JSON-encoded), `instance_name`, `instance_guid`, `plan`,
//! `label` and `type` where known, `tags` (a JSON array) when there are any, and a `.metadata` entry listing which entries are `text` and
//! which `json`. Mounted as a servicebinding.io binding directory it reads back as the same
//! credentials through [`runtime`](super::runtime) and through SAP's `@sap/xsenv`. It is
//! labelled `app.kubernetes.io/managed-by: calm-credentials` (not the operator's own label, so
//! the operator never takes it for one of its Secrets).
//!
//! ```no_run
//! use calm_credentials::ServiceKey;
//! use calm_credentials::{Sink, SinkContext};
//!
//! # fn run(key: ServiceKey) -> calm_credentials::Result<()> {
//! let sink: Sink = "k8s-secret:deploy/calm-secret.yaml".parse()?;
//! let context = SinkContext::new()
//!     .credential_name("calm-binding")
//!     .instance("calm-api", "00000000-0000-4000-8000-0000000000a1")
//!     .plan("standard");
//! let written = key.write_to(&sink, &context)?;
//! println!("wrote {} ({} bytes)", written.path.display(), written.bytes);
//! # Ok(()) }
//! ```

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::setup::DEFAULT_OFFERING;

use super::runtime::Service;
use super::service_key::{ClientAuth, ServiceKey};

/// Where credentials are written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Sink {
    /// The credentials object as JSON (`file:PATH`).
    File(PathBuf),
    /// A Kubernetes `v1` Secret manifest (`k8s-secret:PATH`): YAML for `.yaml`/`.yml`, JSON for
    /// `.json`.
    KubernetesSecret {
        /// The manifest file.
        path: PathBuf,
        /// The Secret's name; `None`: the credential's name.
        name: Option<String>,
    },
    /// Shell-quoted `NAME='value'` lines (`env:PATH`), for `set -a; . PATH`.
    Dotenv(PathBuf),
}

/// The text forms [`Sink`] parses, for messages.
pub const SINK_FORMS: &str = "file:PATH, k8s-secret:PATH (.yaml, .yml or .json) or env:PATH";

impl Sink {
    /// The file written.
    pub fn path(&self) -> &Path {
        match self {
            Sink::File(p) | Sink::Dotenv(p) => p,
            Sink::KubernetesSecret { path, .. } => path,
        }
    }

    /// The prefix of the text form: `file`, `k8s-secret` or `env`.
    pub fn kind(&self) -> &'static str {
        match self {
            Sink::File(_) => "file",
            Sink::KubernetesSecret { .. } => "k8s-secret",
            Sink::Dotenv(_) => "env",
        }
    }

    /// The same sink with the Kubernetes Secret named `name` (other sinks are unchanged).
    pub fn with_secret_name(self, name: impl Into<String>) -> Self {
        match self {
            Sink::KubernetesSecret { path, .. } => Sink::KubernetesSecret {
                path,
                name: Some(name.into()),
            },
            other => other,
        }
    }

    /// Checks, without writing, that the sink can be written: the folder exists and the target
    /// is not a symbolic link or a directory, and a Secret name given is valid. Call it before
    /// work whose result would otherwise be lost.
    pub fn check(&self) -> Result<()> {
        check_target(self.path())?;
        if let Sink::KubernetesSecret {
            path,
            name: Some(name),
        } = self
        {
            validate_secret_name(path, name)?;
        }
        Ok(())
    }
}

impl fmt::Display for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.path().display())
    }
}

impl FromStr for Sink {
    type Err = Error;

    /// Parses `file:PATH`, `k8s-secret:PATH` or `env:PATH`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason: String| Error::InvalidSink {
            sink: s.to_owned(),
            reason,
        };
        let Some((kind, path)) = s.split_once(':') else {
            return Err(bad(format!("expected {SINK_FORMS}")));
        };
        if path.is_empty() {
            return Err(bad("the path is empty".into()));
        }
        let path = PathBuf::from(path);
        match kind {
            "file" => Ok(Sink::File(path)),
            "env" => Ok(Sink::Dotenv(path)),
            "k8s-secret" => {
                manifest_format(&path).map_err(bad)?;
                Ok(Sink::KubernetesSecret { path, name: None })
            }
            other => Err(bad(format!(
                "unknown kind `{other}`; expected {SINK_FORMS}"
            ))),
        }
    }
}

/// What a Kubernetes Secret (and other sinks' summaries) needs to know about where the
/// credentials came from: the instance, its plan and offering, and the credential's name.
///
/// [`Retrieved::sink_context`](crate::Retrieved::sink_context) fills it from a journey's result
/// and [`SinkContext::from_runtime`] from an injected binding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkContext {
    /// The binding's or service key's name (the Secret's default name).
    pub credential_name: Option<String>,
    /// The service instance's name.
    pub instance_name: Option<String>,
    /// The service instance's id.
    pub instance_guid: Option<String>,
    /// The plan (`standard`).
    pub plan: Option<String>,
    /// The offering's technical name (`label` and `type`; default `SAPCloudALMAPIs`).
    pub label: Option<String>,
    /// The instance's tags (written as the JSON entry `tags` when there are any, as the
    /// operator does).
    pub tags: Vec<String>,
}

impl SinkContext {
    /// Nothing known.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the credential's name.
    pub fn credential_name(mut self, name: impl Into<String>) -> Self {
        self.credential_name = Some(name.into());
        self
    }

    /// Sets the instance's name and id.
    pub fn instance(mut self, name: impl Into<String>, guid: impl Into<String>) -> Self {
        self.instance_name = Some(name.into());
        self.instance_guid = Some(guid.into());
        self
    }

    /// Sets the plan.
    pub fn plan(mut self, plan: impl Into<String>) -> Self {
        self.plan = Some(plan.into());
        self
    }

    /// Sets the offering label.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the tags.
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// What an injected binding says about itself: its name, `instance_name`, `instance_guid`,
    /// `plan`, `label` and `tags`.
    pub fn from_runtime(service: &Service) -> Self {
        SinkContext {
            credential_name: Some(service.binding_name().unwrap_or(service.name()).to_owned()),
            instance_name: service.instance_name().map(str::to_owned),
            instance_guid: service.instance_guid().map(str::to_owned),
            plan: service.plan().map(str::to_owned),
            label: service.label().map(str::to_owned),
            tags: service.tags().into_iter().map(str::to_owned).collect(),
        }
    }
}

/// What a sink wrote (no credential value in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Written {
    /// The sink's kind: `file`, `k8s-secret` or `env`.
    pub sink: &'static str,
    /// The file written.
    pub path: PathBuf,
    /// Its format: `json`, `yaml` or `dotenv`.
    pub format: &'static str,
    /// The Kubernetes Secret's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// The names written: Secret entries or variables (JSON files: the top-level properties).
    pub entries: Vec<String>,
    /// The file's size.
    pub bytes: usize,
}

impl ServiceKey {
    /// Writes the credentials to `sink` (see [`Sink`] for each format): a
    /// temporary file with mode `0600` in the same folder, flushed and renamed over the target.
    ///
    /// Fails with [`Error::InvalidSink`] (nothing written) when the folder does not exist, the
    /// target is a symbolic link or a directory, or a Secret has no valid name, and with
    /// [`Error::Io`] when the file system refuses; a failed write leaves the old file as it
    /// was.
    pub fn write_to(&self, sink: &Sink, context: &SinkContext) -> Result<Written> {
        sink.check()?;
        let (content, format, secret_name, entries) = match sink {
            Sink::File(_) => {
                let doc = self.expose_json();
                let entries = keys_of(&doc);
                let mut text = serde_json::to_string_pretty(&doc).map_err(internal)?;
                text.push('\n');
                (text, "json", None, entries)
            }
            Sink::KubernetesSecret { path, name } => {
                let name = secret_name(path, name.as_deref(), context)?;
                let (manifest, entries) = secret_manifest(self, &name, context)?;
                let (text, format) = match manifest_format(path).map_err(|reason| {
                    Error::InvalidSink {
                        sink: sink.to_string(),
                        reason,
                    }
                })? {
                    ManifestFormat::Yaml => (
                        serde_saphyr::to_string(&manifest).map_err(|e| {
                            Error::config("the Secret", format!("cannot render it as YAML: {e}"))
                        })?,
                        "yaml",
                    ),
                    ManifestFormat::Json => {
                        let mut t = serde_json::to_string_pretty(&manifest).map_err(internal)?;
                        t.push('\n');
                        (t, "json")
                    }
                };
                (text, format, Some(name), entries)
            }
            Sink::Dotenv(path) => {
                let (text, entries) = dotenv(self, path)?;
                (text, "dotenv", None, entries)
            }
        };
        write_atomically(sink.path(), content.as_bytes())?;
        Ok(Written {
            sink: sink.kind(),
            path: sink.path().to_path_buf(),
            format,
            secret_name,
            entries,
            bytes: content.len(),
        })
    }
}

fn internal(e: serde_json::Error) -> Error {
    Error::config("the credentials", format!("cannot render them: {e}"))
}

fn keys_of(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

enum ManifestFormat {
    Yaml,
    Json,
}

fn manifest_format(path: &Path) -> std::result::Result<ManifestFormat, String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("yaml" | "yml") => Ok(ManifestFormat::Yaml),
        Some("json") => Ok(ManifestFormat::Json),
        _ => Err(
            "a Kubernetes Secret manifest must end in .yaml, .yml (YAML) or .json (JSON)".into(),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Checks and the atomic write

fn check_target(path: &Path) -> Result<()> {
    let bad = |reason: String| Error::InvalidSink {
        sink: path.display().to_string(),
        reason,
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(bad(
                "it is a symbolic link; links are never followed when writing credentials: remove it or name the real file".into(),
            ));
        }
        Ok(m) if m.is_dir() => return Err(bad("it is a directory; name a file in it".into())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(bad(format!("cannot be inspected: {e}"))),
    }
    let folder = folder_of(path);
    match std::fs::metadata(&folder) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(bad(format!("{} is not a folder", folder.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(bad(format!(
            "the folder {} does not exist; create it first (it is not created here)",
            folder.display()
        ))),
        Err(e) => Err(bad(format!(
            "the folder {} cannot be inspected: {e}",
            folder.display()
        ))),
    }
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `bytes` to a new `0600` file next to `path`, syncs it and renames it over `path`.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    check_target(path)?;
    let folder = folder_of(path);
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "credentials".into());
    let io = |source: std::io::Error, at: &Path| Error::Write {
        path: at.to_path_buf(),
        source,
    };
    let (tmp_path, mut file) = create_temp(&folder, &file_name).map_err(|e| io(e, &folder))?;
    let result = (|| {
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp_path, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp_path);
        return Err(io(e, path));
    }
    // Make the rename itself durable (best effort: not every platform can open a folder).
    if let Ok(dir) = std::fs::File::open(&folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn create_temp(folder: &Path, file_name: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let suffix: u64 = rand::random();
        let tmp = folder.join(format!(".{file_name}.{suffix:016x}.tmp"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&tmp) {
            Ok(file) => {
                // The umask can only take bits away; set 0600 exactly all the same.
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
                }
                return Ok((tmp, file));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempts < 8 => continue,
            Err(e) => return Err(e),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The Kubernetes Secret

/// Longest Kubernetes object name (DNS subdomain, RFC 1123).
const MAX_NAME: usize = 253;

fn secret_name(path: &Path, given: Option<&str>, context: &SinkContext) -> Result<String> {
    if let Some(name) = given {
        validate_secret_name(path, name)?;
        return Ok(name.to_owned());
    }
    let Some(credential) = context.credential_name.as_deref() else {
        return Err(Error::InvalidSink {
            sink: path.display().to_string(),
            reason: "the Secret needs a name: none was given and the credential's name is unknown"
                .into(),
        });
    };
    let derived = derive_secret_name(credential);
    if derived.is_empty() {
        return Err(Error::InvalidSink {
            sink: path.display().to_string(),
            reason: format!(
                "no valid Secret name can be made from the credential name `{credential}`; give one"
            ),
        });
    }
    Ok(derived)
}

/// A Kubernetes object name from a credential name: lower case, `_` and other characters
/// outside `[a-z0-9.-]` become `-`, leading and trailing non-alphanumerics dropped.
fn derive_secret_name(credential: &str) -> String {
    let mapped: String = credential
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    trimmed
        .chars()
        .take(MAX_NAME)
        .collect::<String>()
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

fn validate_secret_name(path: &Path, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName {
            kind: "Kubernetes Secret",
            name: name.to_owned(),
            reason: format!(
                "for {}: a Secret name is 1 to {MAX_NAME} lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit",
                path.display()
            ),
        })
    }
}

/// Whether `key` is a valid Secret data key (`[-._a-zA-Z0-9]+`).
fn valid_data_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_NAME
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The Secret manifest and the names of its `data` entries.
fn secret_manifest(
    key: &ServiceKey,
    name: &str,
    context: &SinkContext,
) -> Result<(Value, Vec<String>)> {
    let Value::Object(credentials) = key.expose_json() else {
        return Err(Error::config(
            "the credentials",
            "they are not a JSON object",
        ));
    };
    let b64 = |s: &str| Value::String(base64::engine::general_purpose::STANDARD.encode(s));
    let mut data = Map::new();
    let mut credential_props = Vec::new();
    let label = context.label.as_deref().unwrap_or(DEFAULT_OFFERING);
    // The operator's instance fields (text), which overwrite credentials of the same name.
    let instance: Vec<(&str, Option<&str>)> = vec![
        ("instance_name", context.instance_name.as_deref()),
        ("instance_guid", context.instance_guid.as_deref()),
        ("plan", context.plan.as_deref()),
        ("label", Some(label)),
        ("type", Some(label)),
    ];
    for (prop, value) in &credentials {
        // The operator replaces spaces in property names with `_`.
        let entry = prop.replace(' ', "_");
        if !valid_data_key(&entry) {
            return Err(Error::InvalidJson {
                document: "service key".into(),
                path: prop.clone(),
                expected: "a property name usable as a Kubernetes Secret key ([-._a-zA-Z0-9]+)"
                    .into(),
                found: "a name with other characters".into(),
                hint: "write this key to a file sink instead".into(),
            });
        }
        let replaced = instance.iter().any(|(n, v)| *n == entry && v.is_some())
            || (entry == "tags" && !context.tags.is_empty());
        if replaced || entry == ".metadata" {
            continue;
        }
        let (text, format) = match value {
            Value::String(s) => (s.clone(), "text"),
            other => (serde_json::to_string(other).map_err(internal)?, "json"),
        };
        data.insert(entry.clone(), b64(&text));
        credential_props.push(json!({"name": entry, "format": format}));
    }
    let mut metadata_props = Vec::new();
    for (field, value) in instance {
        if let Some(v) = value {
            data.insert(field.to_owned(), b64(v));
            metadata_props.push(json!({"name": field, "format": "text"}));
        }
    }
    if !context.tags.is_empty() {
        let mut tags: Vec<&str> = Vec::new();
        for t in &context.tags {
            if !tags.contains(&t.as_str()) {
                tags.push(t);
            }
        }
        data.insert(
            "tags".to_owned(),
            b64(&serde_json::to_string(&tags).map_err(internal)?),
        );
        metadata_props.push(json!({"name": "tags", "format": "json"}));
    }
    let metadata = json!({
        "credentialProperties": credential_props,
        "metaDataProperties": metadata_props,
    });
    data.insert(
        ".metadata".to_owned(),
        b64(&serde_json::to_string(&metadata).map_err(internal)?),
    );
    let entries = data.keys().cloned().collect();
    let mut meta = json!({
        "name": name,
        "labels": {"app.kubernetes.io/managed-by": "calm-credentials"},
    });
    if let Some(credential) = &context.credential_name {
        meta["annotations"] = json!({"binding": credential});
    }
    let manifest = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "Opaque",
        "data": Value::Object(data),
    });
    Ok((manifest, entries))
}

// ---------------------------------------------------------------------------------------------
// Dotenv

/// The dotenv text and its variable names.
fn dotenv(key: &ServiceKey, path: &Path) -> Result<(String, Vec<String>)> {
    let mut vars: Vec<(&str, String)> = vec![("CALM_CLIENT_ID", key.client_id().to_owned())];
    match key.client_auth() {
        ClientAuth::Secret { secret } => {
            vars.push(("CALM_CLIENT_SECRET", secret.expose_secret().to_owned()));
        }
        ClientAuth::Certificate { certificate, key } => {
            vars.push(("CALM_CERTIFICATE", certificate.clone()));
            vars.push(("CALM_KEY", key.expose_secret().to_owned()));
        }
    }
    vars.push(("CALM_TOKEN_URL", key.token_url().to_string()));
    if let Some(api) = key.api_url() {
        vars.push(("CALM_API_URL", api.to_string()));
    }
    let mut text = String::from(
        "# SAP Cloud ALM API credentials, quoted for a POSIX shell: set -a; . ./this-file\n",
    );
    for (name, value) in &vars {
        if value.contains('\0') {
            return Err(Error::InvalidSink {
                sink: path.display().to_string(),
                reason: format!("{name} holds a NUL character, which no environment variable can"),
            });
        }
        text.push_str(name);
        text.push('=');
        text.push_str(&shell_quote(value));
        text.push('\n');
    }
    Ok((text, vars.iter().map(|(n, _)| (*n).to_owned()).collect()))
}

/// POSIX shell single quoting: everything between single quotes is literal (newlines,
/// backslashes, `$`, backticks, double quotes); a single quote is written as `'\''`.
pub(crate) fn shell_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms_and_refuses_others() {
        assert_eq!(
            "file:/tmp/k.json".parse::<Sink>().unwrap(),
            Sink::File("/tmp/k.json".into())
        );
        assert_eq!(
            "env:.env".parse::<Sink>().unwrap(),
            Sink::Dotenv(".env".into())
        );
        assert_eq!(
            "k8s-secret:s.YML".parse::<Sink>().unwrap(),
            Sink::KubernetesSecret {
                path: "s.YML".into(),
                name: None
            }
        );
        for bad in ["k.json", "file:", "s3:x", "k8s-secret:secret.txt"] {
            let e = bad.parse::<Sink>().unwrap_err();
            assert!(matches!(e, Error::InvalidSink { .. }), "{bad}: {e}");
        }
        assert_eq!(
            "k8s-secret:a:b.json".parse::<Sink>().unwrap().path(),
            Path::new("a:b.json")
        );
    }

    #[test]
    fn secret_names_are_derived_or_checked() {
        assert_eq!(derive_secret_name("Calm_API-Binding"), "calm-api-binding");
        assert_eq!(derive_secret_name("__x__"), "x");
        assert_eq!(derive_secret_name("___"), "");
        let p = Path::new("s.yaml");
        assert!(validate_secret_name(p, "calm.binding-1").is_ok());
        for bad in ["", "Calm", "-x", "x-", "a_b", &"a".repeat(254)] {
            assert!(validate_secret_name(p, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shell_quoting_keeps_everything_literal() {
        assert_eq!(shell_quote("plain"), "'plain'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$HOME `x` \\ \"\n"), "'$HOME `x` \\ \"\n'");
    }
}
