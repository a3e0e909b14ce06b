//! One bound service as a source describes it: [`Service`] and its [`BindingFormat`].

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::redaction::{redact_deep, redact_field};
use super::source::Source;
use super::usable_credentials::usable_credentials;
use crate::credentials::service_key::ServiceKey;
use crate::error::{Error, Result};

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
    pub(super) fn new(
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
