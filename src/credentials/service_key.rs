//! Parsing the credentials of a service binding or service key.
//!
//! Accepted shapes (see `reference/cloud-alm.md` §6 and `cf-v3-api.md` §6):
//! - the bare credentials object the BTP cockpit shows (`{"endpoints": …, "uaa": {…}}`);
//! - the `{"credentials": {…}}` wrapper that `cf service-key` (v8+) prints and that Service
//!   Manager binding and Cloud Foundry `/details` responses carry;
//! - a flat XSUAA-style object (`{"clientid", "clientsecret", "url", …}`), the shape of a Service
//!   Manager binding;
//! - X.509 variants with `certificate`, `key` and `certurl` instead of `clientsecret`.
//!
//! Secrets become [`SecretString`]s the moment they are read; the parsed document is kept only
//! behind [`ServiceKey::expose_json`] and [`ServiceKey::redacted_json`].

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use url::Url;

use crate::error::{Error, Result, json_shape};

use super::redact::redact_value;
use super::typed_key;

/// How the credentials' `uaa.credential-type` declares them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialType {
    /// `binding-secret`: a Service Manager binding ("Other" environment).
    BindingSecret,
    /// `instance-secret`: a Cloud Foundry service key.
    InstanceSecret,
    /// `x509`: client certificate and private key instead of a secret.
    X509,
    /// Any other declared value, as given.
    Other(String),
}

impl CredentialType {
    /// The wire spelling (`binding-secret`).
    pub fn as_str(&self) -> &str {
        match self {
            CredentialType::BindingSecret => "binding-secret",
            CredentialType::InstanceSecret => "instance-secret",
            CredentialType::X509 => "x509",
            CredentialType::Other(s) => s,
        }
    }

    /// Reads the wire spelling; unknown values are kept as [`CredentialType::Other`].
    pub fn parse(s: &str) -> Self {
        match s {
            "binding-secret" => CredentialType::BindingSecret,
            "instance-secret" => CredentialType::InstanceSecret,
            "x509" => CredentialType::X509,
            other => CredentialType::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for CredentialType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a client authenticates at the token server with these credentials.
#[derive(Clone)]
#[non_exhaustive]
pub enum ClientAuth {
    /// Client id and secret, sent to `{url}/oauth/token`.
    Secret {
        /// The client secret.
        secret: SecretString,
    },
    /// Mutual TLS with a client certificate, sent to `{certurl}/oauth/token`.
    Certificate {
        /// PEM: the client certificate followed by its CA chain (public).
        certificate: String,
        /// PEM private key.
        key: SecretString,
    },
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAuth::Secret { .. } => f.write_str("Secret { secret: [REDACTED] }"),
            ClientAuth::Certificate { .. } => {
                f.write_str("Certificate { certificate: .., key: [REDACTED] }")
            }
        }
    }
}

/// Which of the accepted layouts the document had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyLayout {
    /// `{"endpoints": …, "uaa": {…}}`, as the cockpit shows it.
    Bare,
    /// `{"credentials": {…}}`, as `cf service-key` prints it.
    Wrapped,
    /// OAuth fields at the top level, as a Service Manager or plain XSUAA binding has them.
    Flat,
}

/// The parsed credentials of a service binding or service key.
///
/// `Debug` never shows a secret; use [`ServiceKey::client_auth`] and `expose_secret()` where a
/// secret is really needed.
#[derive(Clone)]
pub struct ServiceKey(
    /// Boxed: a key is moved through every journey future and result; a pointer moves cheaply.
    Box<KeyFields>,
);

#[derive(Clone)]
struct KeyFields {
    layout: KeyLayout,
    client_id: String,
    auth: ClientAuth,
    token_base: LazyUrl,
    uaa_url: Option<LazyUrl>,
    cert_url: Option<LazyUrl>,
    api_url: Option<LazyUrl>,
    credential_type: Option<CredentialType>,
    identity_zone: Option<String>,
    identity_zone_id: Option<String>,
    tenant_id: Option<String>,
    xsappname: Option<String>,
    verification_key: Option<String>,
    sm_url: Option<LazyUrl>,
    /// The JSON text the key was read from, when it was (secrets included; never printed). The
    /// document is decoded from it only when asked for.
    source: Option<SecretString>,
    /// The credentials object exactly as parsed (secrets included; never printed).
    document: OnceLock<Map<String, Value>>,
}

const DOC: &str = "service key";

impl ServiceKey {
    /// Parses the JSON text of a binding or service key.
    ///
    /// ```
    /// let key = calm_credentials::ServiceKey::from_json(r#"{
    ///   "endpoints": {"Api": "https://eu10.alm.cloud.sap/api"},
    ///   "uaa": {"clientid": "sb-x!b1|sapcloudalm!b2", "clientsecret": "s3cr3t",
    ///           "url": "https://acme.authentication.eu10.hana.ondemand.com",
    ///           "identityzone": "acme", "credential-type": "binding-secret"}}"#)?;
    /// assert_eq!(key.token_url().as_str(),
    ///            "https://acme.authentication.eu10.hana.ondemand.com/oauth/token");
    /// assert!(!format!("{key:?}").contains("s3cr3t"));
    /// # Ok::<(), calm_credentials::Error>(())
    /// ```
    pub fn from_json(text: &str) -> Result<Self> {
        let text = text.trim_start_matches('\u{feff}');
        match typed_key::read(text) {
            Some(parts) => Ok(Self::from_parts(parts, text)),
            None => Self::from_json_general(text),
        }
    }

    /// The key from what the typed reading found; the document stays in `text` until asked for.
    fn from_parts(p: typed_key::Parts, text: &str) -> Self {
        let token_base = if p.token_from_cert_url {
            p.cert_url.clone()
        } else {
            p.uaa_url.clone()
        };
        // The typed reading succeeds only when the base it names is there.
        let token_base = token_base.unwrap_or_else(|| LazyUrl::from_text(String::new()));
        ServiceKey(Box::new(KeyFields {
            layout: p.layout,
            client_id: p.client_id,
            auth: p.auth,
            // The typed reading succeeds only when the base it names is there.
            token_base,
            uaa_url: p.uaa_url,
            cert_url: p.cert_url,
            api_url: p.api_url,
            credential_type: p.credential_type,
            identity_zone: p.identity_zone,
            identity_zone_id: p.identity_zone_id,
            tenant_id: p.tenant_id,
            xsappname: p.xsappname,
            verification_key: p.verification_key,
            sm_url: p.sm_url,
            source: Some(SecretString::from(text)),
            document: OnceLock::new(),
        }))
    }

    /// The general parser: any JSON, every error with its JSON path.
    pub(super) fn from_json_general(text: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            Error::invalid_json(
                DOC,
                "$",
                "a JSON object",
                format!("invalid JSON ({})", syntax_position(&e)),
                "pass the key exactly as the cockpit, `cf service-key` or the Service Manager shows it",
            )
        })?;
        Self::from_value(value)
    }

    /// Parses an already decoded JSON value (see [`ServiceKey::from_json`]).
    pub fn from_value(value: Value) -> Result<Self> {
        let Value::Object(top) = value else {
            return Err(Error::invalid_json(
                DOC,
                "$",
                "a JSON object",
                json_shape(&value),
                "pass the whole credentials object, not a part of it",
            ));
        };
        let (layout, prefix, doc) = unwrap_credentials(top)?;
        Self::from_object(layout, &prefix, doc)
    }

    fn from_object(layout: KeyLayout, prefix: &str, doc: Map<String, Value>) -> Result<Self> {
        let (oauth, oauth_path, layout) = match doc.get("uaa") {
            Some(Value::Object(uaa)) => (uaa, join(prefix, "uaa"), layout),
            Some(other) => {
                return Err(Error::invalid_json(
                    DOC,
                    join(prefix, "uaa"),
                    "an object with the OAuth client (clientid, clientsecret, url)",
                    json_shape(other),
                    "check that the key was copied whole",
                ));
            }
            // Neither `uaa` nor a flat `clientid`: name the object a Cloud ALM key lacks.
            None if !doc.contains_key("clientid") => {
                return Err(Error::invalid_json(
                    DOC,
                    join(prefix, "uaa"),
                    "an object with the OAuth client (clientid, clientsecret, url), or those fields at the top level",
                    "neither",
                    "check that the whole key was copied, including its `uaa` part",
                ));
            }
            None => (
                &doc,
                prefix.to_owned(),
                if layout == KeyLayout::Wrapped {
                    layout
                } else {
                    KeyLayout::Flat
                },
            ),
        };
        let fields = Fields {
            obj: oauth,
            path: &oauth_path,
        };

        let client_id = fields.required_string("clientid")?;
        let uaa_url = fields.optional_url("url")?;
        let cert_url = fields.optional_url("certurl")?;
        let credential_type = fields
            .optional_string("credential-type")?
            .map(|s| CredentialType::parse(&s));
        let auth = client_auth(&fields, credential_type.as_ref())?;
        let token_base = match (&auth, &cert_url, &uaa_url) {
            (ClientAuth::Certificate { .. }, Some(c), _) => c.clone(),
            (ClientAuth::Certificate { .. }, None, _) => {
                return Err(Error::invalid_json(
                    DOC,
                    join(&oauth_path, "certurl"),
                    "the mTLS token server URL (certurl)",
                    "nothing",
                    "X.509 keys get tokens from `certurl` + /oauth/token (using `url` gives 404); recreate the key or add certurl",
                ));
            }
            (ClientAuth::Secret { .. }, _, Some(u)) => u.clone(),
            (ClientAuth::Secret { .. }, _, None) => {
                return Err(Error::invalid_json(
                    DOC,
                    join(&oauth_path, "url"),
                    "the token server URL (https://<subdomain>.authentication.<region>.hana.ondemand.com)",
                    "nothing",
                    "check that the key was copied whole",
                ));
            }
        };

        Ok(ServiceKey(Box::new(KeyFields {
            layout,
            client_id,
            auth,
            token_base,
            uaa_url,
            cert_url,
            api_url: api_url(&doc, prefix)?,
            credential_type,
            identity_zone: fields.optional_string("identityzone")?,
            identity_zone_id: fields.optional_string("identityzoneid")?,
            tenant_id: fields.optional_string("tenantid")?,
            xsappname: fields.optional_string("xsappname")?,
            verification_key: fields.optional_string("verificationkey")?,
            sm_url: Fields {
                obj: &doc,
                path: prefix,
            }
            .optional_url("sm_url")?,
            source: None,
            document: OnceLock::from(doc),
        })))
    }

    /// The credentials object, decoded from the text on first use.
    fn document(&self) -> &Map<String, Value> {
        self.0.document.get_or_init(|| {
            let text = self
                .0
                .source
                .as_ref()
                .map(|s| s.expose_secret())
                .unwrap_or("{}");
            match serde_json::from_str(text) {
                Ok(Value::Object(top)) => unwrap_credentials(top)
                    .map(|(_, _, doc)| doc)
                    .unwrap_or_default(),
                _ => Map::new(),
            }
        })
    }

    /// The layout the document had.
    pub fn layout(&self) -> KeyLayout {
        self.0.layout
    }

    /// The OAuth client id (not a secret, but identifies the binding).
    pub fn client_id(&self) -> &str {
        &self.0.client_id
    }

    /// How to authenticate: secret or client certificate.
    pub fn client_auth(&self) -> &ClientAuth {
        &self.0.auth
    }

    /// Whether the key authenticates with a client certificate (X.509) rather than a secret.
    pub fn is_x509(&self) -> bool {
        matches!(self.0.auth, ClientAuth::Certificate { .. })
    }

    /// The token endpoint: `{url}/oauth/token` for secrets, `{certurl}/oauth/token` for X.509.
    pub fn token_url(&self) -> Url {
        oauth_token_url(self.0.token_base.get())
    }

    /// `uaa.url`: the token server base for secret credentials.
    pub fn uaa_url(&self) -> Option<&Url> {
        self.0.uaa_url.as_ref().map(LazyUrl::get)
    }

    /// `uaa.certurl`: the mTLS token server base for X.509 credentials.
    pub fn cert_url(&self) -> Option<&Url> {
        self.0.cert_url.as_ref().map(LazyUrl::get)
    }

    /// `endpoints.Api`: the Cloud ALM API base URL, to which service paths are appended.
    pub fn api_url(&self) -> Option<&Url> {
        self.0.api_url.as_ref().map(LazyUrl::get)
    }

    /// `sm_url`: the Service Manager base URL, present in Service Manager keys.
    pub fn service_manager_url(&self) -> Option<&Url> {
        self.0.sm_url.as_ref().map(LazyUrl::get)
    }

    /// The declared `credential-type`, if any.
    pub fn credential_type(&self) -> Option<&CredentialType> {
        self.0.credential_type.as_ref()
    }

    /// `uaa.identityzone`: the subdomain of the tenant's subaccount.
    pub fn identity_zone(&self) -> Option<&str> {
        self.0.identity_zone.as_deref()
    }

    /// `uaa.identityzoneid`: the zone GUID.
    pub fn identity_zone_id(&self) -> Option<&str> {
        self.0.identity_zone_id.as_deref()
    }

    /// `uaa.tenantid`: the tenant GUID.
    pub fn tenant_id(&self) -> Option<&str> {
        self.0.tenant_id.as_deref()
    }

    /// `uaa.xsappname`.
    pub fn xsappname(&self) -> Option<&str> {
        self.0.xsappname.as_deref()
    }

    /// `uaa.verificationkey`: PEM public key for checking token signatures (as given; it may
    /// be on one line).
    pub fn verification_key(&self) -> Option<&str> {
        self.0.verification_key.as_deref()
    }

    /// The credentials object in the platform's shape with every secret replaced by
    /// `"[REDACTED]"`. Safe to print or log.
    pub fn redacted_json(&self) -> Value {
        redact_value(&Value::Object(self.document().clone()))
    }

    /// The credentials object in the platform's shape, secrets included. Only for handing the
    /// credentials to their consumer; never log the result.
    pub fn expose_json(&self) -> Value {
        Value::Object(self.document().clone())
    }

    /// A field of the credentials object by JSON path (`uaa.tenantmode`), redacted if it holds a
    /// secret. Unknown fields stay reachable this way.
    pub fn field(&self, path: &str) -> Option<Value> {
        let mut current = self.document().get(path.split('.').next()?)?;
        for part in path.split('.').skip(1) {
            current = current.as_object()?.get(part)?;
        }
        let leaf = path.rsplit('.').next().unwrap_or(path);
        let mut wrapper = Map::new();
        wrapper.insert(leaf.to_owned(), current.clone());
        redact_value(&Value::Object(wrapper))
            .as_object_mut()
            .and_then(|m| m.remove(leaf))
    }
}

/// [`ServiceKey::from_json`], for `text.parse::<ServiceKey>()`.
///
/// ```
/// use calm_credentials::ServiceKey;
///
/// let key: ServiceKey = r#"{"credentials": {"uaa": {"clientid": "sb-x", "clientsecret": "s3cr3t",
///     "url": "https://acme.authentication.eu10.hana.ondemand.com"}}}"#.parse()?;
/// assert_eq!(key.client_id(), "sb-x");
/// # Ok::<(), calm_credentials::Error>(())
/// ```
impl FromStr for ServiceKey {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        Self::from_json(text)
    }
}

/// [`ServiceKey::from_value`], for a document already decoded.
///
/// ```
/// use calm_credentials::ServiceKey;
///
/// let value = serde_json::json!({"uaa": {"clientid": "sb-x", "clientsecret": "s3cr3t",
///     "url": "https://acme.authentication.eu10.hana.ondemand.com"}});
/// let key = ServiceKey::try_from(value)?;
/// assert_eq!(key.token_url().path(), "/oauth/token");
/// # Ok::<(), calm_credentials::Error>(())
/// ```
impl TryFrom<Value> for ServiceKey {
    type Error = Error;

    fn try_from(value: Value) -> Result<Self> {
        Self::from_value(value)
    }
}

/// A key embedded in a larger document, such as a program's configuration. Any shape
/// [`ServiceKey::from_json`] accepts is accepted; a refusal is the same error as there, as the
/// deserializer's custom error: it names the JSON path inside the key and never quotes a value.
///
/// ```
/// use calm_credentials::ServiceKey;
///
/// #[derive(serde::Deserialize)]
/// struct Config {
///     tenant: String,
///     key: ServiceKey,
/// }
///
/// let config: Config = serde_json::from_str(r#"{"tenant": "acme", "key": {"uaa": {
///     "clientid": "sb-x", "clientsecret": "s3cr3t",
///     "url": "https://acme.authentication.eu10.hana.ondemand.com"}}}"#)?;
/// assert_eq!(config.key.client_id(), "sb-x");
///
/// let broken = r#"{"tenant": "acme", "key": {"uaa": {"clientid": "sb-x", "clientsecret": "s3cr3t"}}}"#;
/// let err = serde_json::from_str::<Config>(broken).err().unwrap().to_string();
/// assert!(err.contains("uaa.url") && !err.contains("s3cr3t"), "{err}");
/// # Ok::<(), serde_json::Error>(())
/// ```
impl<'de> serde::Deserialize<'de> for ServiceKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Self::from_value(value).map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceKey")
            .field("layout", &self.0.layout)
            .field("client_id", &self.0.client_id)
            .field("auth", &self.0.auth)
            .field("token_url", &crate::http::sanitize_url(&self.token_url()))
            .field("api_url", &self.api_url().map(crate::http::sanitize_url))
            .field("credential_type", &self.0.credential_type)
            .field("identity_zone", &self.0.identity_zone)
            .finish_non_exhaustive()
    }
}

/// `{base}/oauth/token`, whether or not the base ends in a slash.
pub(crate) fn oauth_token_url(base: &Url) -> Url {
    let mut url = base.clone();
    let path = format!("{}/oauth/token", base.path().trim_end_matches('/'));
    url.set_path(&path);
    url.set_query(None);
    url
}

/// Strips a `{"credentials": …}` wrapper when there is one.
fn unwrap_credentials(
    mut top: Map<String, Value>,
) -> Result<(KeyLayout, String, Map<String, Value>)> {
    let looks_bare = top.contains_key("uaa") || top.contains_key("clientid");
    match top.remove("credentials") {
        Some(Value::Object(inner)) if !looks_bare => {
            Ok((KeyLayout::Wrapped, "credentials".to_owned(), inner))
        }
        Some(other) if !looks_bare => Err(Error::invalid_json(
            DOC,
            "credentials",
            "the credentials object",
            json_shape(&other),
            "the key may still be in creation; fetch it again once it is ready",
        )),
        Some(other) => {
            top.insert("credentials".to_owned(), other);
            Ok((KeyLayout::Bare, String::new(), top))
        }
        None => Ok((KeyLayout::Bare, String::new(), top)),
    }
}

fn client_auth(fields: &Fields<'_>, declared: Option<&CredentialType>) -> Result<ClientAuth> {
    let secret = fields.optional_secret("clientsecret")?;
    let certificate = fields.optional_string("certificate")?;
    let key = fields.optional_secret("key")?;
    match (secret, certificate, key) {
        (Some(secret), _, _) if declared != Some(&CredentialType::X509) => {
            Ok(ClientAuth::Secret { secret })
        }
        (_, Some(certificate), Some(key)) => Ok(ClientAuth::Certificate { certificate, key }),
        (Some(secret), _, _) => Ok(ClientAuth::Secret { secret }),
        (None, Some(_), None) => Err(fields.missing(
            "key",
            "the PEM private key that belongs to `certificate`",
            "X.509 keys need both `certificate` and `key`; copy the whole key",
        )),
        (None, None, Some(_)) => Err(fields.missing(
            "certificate",
            "the PEM client certificate that belongs to `key`",
            "X.509 keys need both `certificate` and `key`; copy the whole key",
        )),
        (None, None, None) => Err(fields.missing(
            "clientsecret",
            "a client secret (or `certificate` and `key` for X.509)",
            "the key carries no way to authenticate; create a new binding or key",
        )),
    }
}

fn api_url(doc: &Map<String, Value>, prefix: &str) -> Result<Option<LazyUrl>> {
    let path = join(prefix, "endpoints");
    match doc.get("endpoints") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(endpoints)) => {
            // SAP spells it `Api`; accept other casings rather than lose the URL.
            let name = endpoints
                .keys()
                .find(|k| k.as_str() == "Api")
                .or_else(|| endpoints.keys().find(|k| k.eq_ignore_ascii_case("api")))
                .cloned();
            match name {
                Some(name) => Fields {
                    obj: endpoints,
                    path: &path,
                }
                .optional_url(&name),
                None => Ok(None),
            }
        }
        Some(other) => Err(Error::invalid_json(
            DOC,
            path,
            "an object such as {\"Api\": \"https://eu10.alm.cloud.sap/api\"}",
            json_shape(other),
            "check that the key was copied whole",
        )),
    }
}

/// Typed access to the fields of one JSON object, with errors naming the JSON path.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    path: &'a str,
}

impl Fields<'_> {
    fn optional_string(&self, name: &str) -> Result<Option<String>> {
        match self.obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong(name, "a string", other)),
        }
    }

    fn required_string(&self, name: &str) -> Result<String> {
        match self.optional_string(name)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(Error::invalid_json(
                DOC,
                join(self.path, name),
                "a non-empty string",
                "an empty string",
                "check that the key was copied whole",
            )),
            None => Err(self.missing(name, "a string", "check that the key was copied whole")),
        }
    }

    fn optional_secret(&self, name: &str) -> Result<Option<SecretString>> {
        match self.obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Err(Error::invalid_json(
                DOC,
                join(self.path, name),
                "a non-empty string",
                "an empty string",
                "check that the key was copied whole",
            )),
            Some(Value::String(s)) => Ok(Some(SecretString::from(s.as_str()))),
            Some(other) => Err(self.wrong(name, "a string", other)),
        }
    }

    /// A URL field; one of the plain shape is checked without being parsed (parsed on first
    /// use).
    fn optional_url(&self, name: &str) -> Result<Option<LazyUrl>> {
        let Some(text) = self.optional_string(name)? else {
            return Ok(None);
        };
        if plainly_http_url(&text) {
            return Ok(Some(LazyUrl::from_text(text)));
        }
        match http_url(&text) {
            Some(url) => Ok(Some(LazyUrl::from(url))),
            None => Err(Error::invalid_json(
                DOC,
                join(self.path, name),
                "an absolute https URL",
                "a string that is not one",
                "check that the key was copied whole",
            )),
        }
    }

    fn wrong(&self, name: &str, expected: &str, found: &Value) -> Error {
        Error::invalid_json(
            DOC,
            join(self.path, name),
            expected,
            json_shape(found),
            "check that the key was copied whole",
        )
    }

    fn missing(&self, name: &str, expected: &str, hint: &str) -> Error {
        Error::invalid_json(DOC, join(self.path, name), expected, "nothing", hint)
    }
}

/// A URL of the key, parsed on first use. Built only from text [`http_url`] accepts (checked
/// when the key was read, by [`plainly_http_url`] or by parsing it), or from a parsed URL.
#[derive(Debug, Clone)]
pub(super) struct LazyUrl {
    text: String,
    parsed: OnceLock<Url>,
}

impl LazyUrl {
    /// From text already known to be accepted by [`http_url`].
    pub(super) fn from_text(text: String) -> Self {
        LazyUrl {
            text,
            parsed: OnceLock::new(),
        }
    }

    fn get(&self) -> &Url {
        self.parsed.get_or_init(|| {
            http_url(&self.text).unwrap_or_else(|| {
                // Unreachable: the text was checked when the key was read.
                Url::parse("http://invalid.invalid/").expect("a constant URL")
            })
        })
    }
}

impl From<Url> for LazyUrl {
    fn from(url: Url) -> Self {
        LazyUrl {
            text: String::new(),
            parsed: OnceLock::from(url),
        }
    }
}

/// Whether `text` is certainly accepted by [`http_url`], decided without parsing it: `http://`
/// or `https://`, a host that is either ASCII letter, digit and hyphen labels whose last label
/// starts with a letter (so it is no IPv4 address) and none starting with `xn--` (punycode,
/// which can be invalid), or an IPv4 address in its canonical dotted-decimal form; an optional
/// port of at most 65535, then only visible ASCII. Conservative: `false` sends the text to the
/// real parser.
pub(super) fn plainly_http_url(text: &str) -> bool {
    let Some(rest) = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
    else {
        return false;
    };
    let end = rest.find(['/', '?', '#', ':']).unwrap_or(rest.len());
    let (host, mut tail) = rest.split_at(end);
    let labels_ok = canonical_ipv4(host)
        || !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label
                        .get(..4)
                        .is_some_and(|p| p.eq_ignore_ascii_case("xn--"))
            })
            && host
                .rsplit('.')
                .next()
                .and_then(|l| l.bytes().next())
                .is_some_and(|b| b.is_ascii_alphabetic());
    if !labels_ok {
        return false;
    }
    if let Some(after) = tail.strip_prefix(':') {
        let digits = after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len());
        let port_ok =
            (1..=5).contains(&digits) && after[..digits].parse::<u32>().is_ok_and(|p| p <= 65_535);
        if !port_ok {
            return false;
        }
        tail = &after[digits..];
    }
    let delimited = tail.is_empty() || tail.starts_with(['/', '?', '#']);
    delimited && tail.bytes().all(|b| b.is_ascii_graphic())
}

/// Four decimal numbers of at most 255 without leading zeros, as the URL parser writes an IPv4
/// address (other spellings, such as `127.1` or `0x7f.0.0.1`, it rewrites).
fn canonical_ipv4(host: &str) -> bool {
    let mut parts = 0;
    host.split('.').all(|part| {
        parts += 1;
        let canonical = part == "0" || !part.starts_with('0');
        canonical
            && (1..=3).contains(&part.len())
            && part.bytes().all(|b| b.is_ascii_digit())
            && part.parse::<u16>().is_ok_and(|n| n <= 255)
    }) && parts == 4
}

/// `text` (trimmed) as an absolute http(s) URL with a host.
pub(super) fn http_url(text: &str) -> Option<Url> {
    Url::parse(text.trim())
        .ok()
        .filter(|url| matches!(url.scheme(), "https" | "http") && url.host().is_some())
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Line and column of a JSON syntax error, without serde's message (which may quote input).
fn syntax_position(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Eof => "unexpected end",
        Category::Syntax => "syntax error",
        Category::Data | Category::Io => "unreadable",
    };
    format!("{what} at line {}, column {}", e.line(), e.column())
}
