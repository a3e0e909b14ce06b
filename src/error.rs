//! The crate's one error type.
//!
//! Every variant says what happened and what to do about it. Errors never carry a secret: request
//! bodies are not kept, URLs are stripped of their query, and credentials are only ever named by
//! their JSON path.
//!
//! Callers branch on predicates ([`Error::is_retryable`], [`Error::status`],
//! [`Error::is_not_found`], …) rather than on message text.

use std::path::PathBuf;
use std::time::Duration;

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A JSON document (a service key, `VCAP_SERVICES`, a response) does not have the expected
    /// shape.
    #[error(
        "{document} is not usable: at `{}`: expected {}, found {}; {hint}",
        printable(path),
        printable(expected),
        printable(found)
    )]
    InvalidJson {
        /// What the document is ("service key", "VCAP_SERVICES", …).
        document: String,
        /// JSON path of the offending value (`uaa.clientid`, `$` for the whole document).
        path: String,
        /// What was expected there.
        expected: String,
        /// The shape found instead (`a number`, `nothing`, `invalid JSON: …`), never the value.
        found: String,
        /// What to do about it.
        hint: String,
    },

    /// A name (instance, binding, key, xsappname) breaks the platform's rules; nothing was sent.
    #[error(
        "{kind} name `{}` is not allowed: {}",
        printable(name),
        printable(reason)
    )]
    InvalidName {
        /// What is being named ("instance", "binding", …).
        kind: &'static str,
        /// The rejected name.
        name: String,
        /// Which rule it breaks and how to pick a valid name.
        reason: String,
    },

    /// A URL is malformed or not allowed (plain http to a non-loopback host); nothing was sent.
    #[error("URL in {field} is not usable: {}", printable(reason))]
    InvalidUrl {
        /// Where the URL came from (`uaa.url`, `--api`, …).
        field: String,
        /// Why it is refused and what to use instead.
        reason: String,
    },

    /// The caller's configuration is incomplete or contradictory; nothing was sent.
    #[error("{} is not usable: {}", printable(setting), printable(reason))]
    Config {
        /// What is misconfigured ("the service query", "the retry policy", …).
        setting: String,
        /// What is wrong with it and how to fix it.
        reason: String,
    },

    /// A platform API (Service Manager, Cloud Foundry) answered with an error status.
    #[error(transparent)]
    Api(Box<ApiError>),

    /// A token server refused to issue a token.
    #[error(transparent)]
    Token(Box<TokenError>),

    /// A request could not be completed at the network level (connect, TLS, timeout), after the
    /// retries the policy allows.
    #[error(
        "{method} {url} failed after {attempts} attempt(s): {kind}; check the network path to the host and retry"
    )]
    Transport {
        /// HTTP method.
        method: String,
        /// URL without query or credentials.
        url: String,
        /// How many attempts were made.
        attempts: u32,
        /// Short classification ("connection refused", "timed out", …).
        kind: String,
        /// Correlation id sent with the last attempt.
        correlation_id: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A deadline passed while waiting on an asynchronous platform operation.
    #[error(
        "gave up waiting for {} after {waited:?} (last state: {}); it may still finish on the platform: run again with a longer timeout to pick it up",
        printable(operation),
        printable(last_state)
    )]
    Timeout {
        /// What was being waited for.
        operation: String,
        /// How long was waited.
        waited: Duration,
        /// The last state the platform reported.
        last_state: String,
    },

    /// An asynchronous platform operation ended in failure.
    #[error(
        "{} failed on the platform: {}",
        printable(operation),
        printable(message)
    )]
    OperationFailed {
        /// What failed ("creation of binding `x`").
        operation: String,
        /// The platform's own explanation, or a fallback when it gave none.
        message: String,
        /// The platform's error word stored in the failed operation (`Conflict`,
        /// `OperationInProgress`, `ConcurrentOperationInProgress`, `BrokerError`), when it gave
        /// one: a create the server accepted (202) and then refused inside the operation.
        code: Option<String>,
    },

    /// The SAP Cloud ALM API entitlement (offering or plan) is not visible in the subaccount.
    #[error(
        "the service offering `{offering}` with plan `{plan}` is not available in this subaccount: the entitlement is missing. \
         Fix: in the SAP BTP cockpit open the subaccount, Entitlements > Edit > Add Service Plans, \
         add \"SAP Cloud ALM API\" with plan `{plan}`, save, and run again"
    )]
    EntitlementMissing {
        /// Technical offering name that was looked up.
        offering: String,
        /// Plan name that was looked up.
        plan: String,
    },

    /// Something the caller named, or the journey needs, does not exist.
    #[error(
        "{resource} {} was not found{}{}",
        printable(name),
        if *creatable { "; it is created when creating missing resources is allowed" } else { "" },
        detail.as_ref().map(|d| format!(". {}", printable(d))).unwrap_or_default()
    )]
    NotFound {
        /// What kind of resource is missing.
        resource: Resource,
        /// Its name and where it was looked for (`` `calm-key` of instance `calm-api` ``).
        name: String,
        /// Whether the journey creates it when allowed to create missing resources.
        creatable: bool,
        /// Where else to look, or what to check.
        detail: Option<String>,
    },

    /// A name matched more than one resource.
    #[error("{} is ambiguous: it matches {}; name it more precisely", printable(what), printable(&candidates.join(", ")))]
    Ambiguous {
        /// What was looked for.
        what: String,
        /// What it matched (names or ids).
        candidates: Vec<String>,
    },

    /// Credentials were obtained but do not work (the "Test Service Key" check failed).
    #[error("the credentials do not work: {}", printable(.0))]
    VerificationFailed(String),

    /// An answer was larger than this crate reads; it was not read to the end.
    #[error(
        "{method} {url} answered with more than {limit} bytes, the most this client reads; nothing of it was used. The server is misbehaving or the URL does not point at the platform's API (correlation id {correlation_id})"
    )]
    AnswerTooLarge {
        /// HTTP method.
        method: String,
        /// URL without query or credentials.
        url: String,
        /// The size limit in bytes.
        limit: u64,
        /// Correlation id sent with the request.
        correlation_id: String,
    },

    /// A listing was stopped before its end: the server kept sending pages past a limit
    /// (page count, item count or bytes), so what was read is not the whole list.
    #[error(
        "listing {what} was cut off after {pages} page(s), {items} item(s) and {bytes} bytes: {reason}; nothing of it was used. Narrow the listing, or report the server's paging to the platform operator"
    )]
    ListingCutOff {
        /// What was being listed (the API path).
        what: String,
        /// Pages read before stopping.
        pages: u32,
        /// Items read before stopping.
        items: u64,
        /// Body bytes read before stopping.
        bytes: u64,
        /// Which limit was reached.
        reason: String,
    },

    /// A file could not be read.
    #[error("cannot read {}: {source}", printable(&path.display().to_string()))]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// Credentials cannot be written where asked (a missing folder, a symbolic link, a malformed
    /// sink); nothing was written there.
    #[error("cannot write credentials to {sink}: {reason}")]
    InvalidSink {
        /// The sink or file, as given.
        sink: String,
        /// Why, and what to do instead.
        reason: String,
    },

    /// Writing credentials failed part-way (disk full, permissions); the file that was there
    /// before is unchanged.
    #[error("writing {} failed: {source}; the previous file, if any, is unchanged", path.display())]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// What kind of failure an [`Error`] is, for a program that must decide what to do next.
///
/// ```
/// use calm_credentials::{Error, ErrorKind};
/// fn advice(err: &Error) -> &'static str {
///     match err.kind() {
///         ErrorKind::BadInput => "fix the input",
///         ErrorKind::NotFound => "create it, or check the name",
///         ErrorKind::EntitlementMissing => "add the entitlement in the BTP cockpit",
///         _ if err.is_retryable() => "retry later",
///         _ => "see the message",
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is unusable (a key, a name, a URL, a file, a setting); nothing was sent.
    BadInput,
    /// A resource does not exist or is not visible to these credentials.
    NotFound,
    /// The SAP Cloud ALM API entitlement is missing in the subaccount.
    EntitlementMissing,
    /// A resource with this name exists, or the request conflicts with its state.
    Conflict,
    /// The credentials were refused (wrong, expired, deleted).
    Unauthorized,
    /// The credentials lack a role or scope for the call.
    Forbidden,
    /// The platform failed, refused for its own reasons, or answered something unusable.
    PlatformFailure,
    /// A deadline passed.
    Timeout,
    /// The network path failed (connect, TLS, a dropped connection).
    Transport,
}

/// What kind of resource an [`Error::NotFound`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resource {
    /// A service instance.
    Instance,
    /// A Service Manager binding.
    Binding,
    /// A Cloud Foundry service key.
    ServiceKey,
    /// A Cloud Foundry org.
    Organization,
    /// A Cloud Foundry space.
    Space,
    /// Credentials SAP generated automatically for the tenant.
    GeneratedCredentials,
    /// A service bound to (injected into) the running program.
    InjectedService,
    /// A platform endpoint (a login server, a token endpoint).
    Endpoint,
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Resource::Instance => "service instance",
            Resource::Binding => "binding",
            Resource::ServiceKey => "service key",
            Resource::Organization => "Cloud Foundry org",
            Resource::Space => "Cloud Foundry space",
            Resource::GeneratedCredentials => "generated credentials",
            Resource::InjectedService => "bound service",
            Resource::Endpoint => "endpoint",
        })
    }
}

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidJson { .. }
            | Error::InvalidName { .. }
            | Error::InvalidUrl { .. }
            | Error::Config { .. }
            | Error::Ambiguous { .. }
            | Error::InvalidSink { .. }
            | Error::Io { .. } => ErrorKind::BadInput,
            Error::Write { .. } | Error::AnswerTooLarge { .. } | Error::ListingCutOff { .. } => {
                ErrorKind::PlatformFailure
            }
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::EntitlementMissing { .. } => ErrorKind::EntitlementMissing,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Transport { .. } => ErrorKind::Transport,
            Error::VerificationFailed(_) => ErrorKind::Unauthorized,
            Error::OperationFailed { .. } if self.is_conflict() => ErrorKind::Conflict,
            Error::OperationFailed { .. } => ErrorKind::PlatformFailure,
            Error::Token(e) => match e.kind {
                TokenErrorKind::InvalidClient | TokenErrorKind::InvalidGrant => {
                    ErrorKind::Unauthorized
                }
                TokenErrorKind::Unauthorized => ErrorKind::Forbidden,
                _ => ErrorKind::PlatformFailure,
            },
            Error::Api(e) => match e.status {
                401 => ErrorKind::Unauthorized,
                403 => ErrorKind::Forbidden,
                404 | 410 => ErrorKind::NotFound,
                409 => ErrorKind::Conflict,
                _ => ErrorKind::PlatformFailure,
            },
        }
    }

    /// Shorthand for an [`Error::Config`].
    pub(crate) fn config(setting: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            setting: setting.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for an [`Error::NotFound`] without further detail.
    pub(crate) fn not_found(resource: Resource, name: impl Into<String>, creatable: bool) -> Self {
        Error::NotFound {
            resource,
            name: name.into(),
            creatable,
            detail: None,
        }
    }

    /// Whether repeating the same call later could succeed (rate limits, 5xx, network trouble,
    /// a passed deadline). An answer too large or a listing cut off are not: the server would
    /// send the same again.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => e.retryable,
            Error::Token(e) => e.kind == TokenErrorKind::ServerError,
            Error::Transport { .. } | Error::Timeout { .. } => true,
            _ => false,
        }
    }

    /// Whether a failed create or delete may still have taken effect on the platform: the
    /// answer was lost on the network, or a 500/502/503/504 came back while the platform may
    /// have carried on. Callers look the resource up by name before sending anything again.
    pub fn may_have_taken_effect(&self) -> bool {
        matches!(self, Error::Transport { .. }) || matches!(self.status(), Some(500 | 502..=504))
    }

    /// The wait the server asked for (`Retry-After`) with an error answer, if it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(e) => e.retry_after,
            _ => None,
        }
    }

    /// The HTTP status behind the error, when one came from the wire.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Token(e) => e.status,
            _ => None,
        }
    }

    /// Whether the platform said the resource does not exist (404 from an API, or [`Error::NotFound`]).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. }) || self.status() == Some(404)
    }

    /// Whether the platform reported a name or state conflict: a 409 answer, or an accepted
    /// create whose operation then failed with `Conflict` (the name check of an asynchronous
    /// create runs inside the operation).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
            || matches!(self, Error::OperationFailed { code: Some(c), .. } if c.eq_ignore_ascii_case("Conflict"))
    }

    /// Whether the platform refused because another operation is running on the resource or the
    /// instance it needs (`OperationInProgress`, `ConcurrentOperationInProgress`), either as a
    /// 422 answer or inside an accepted operation that then failed. Waiting and sending the same
    /// request again can succeed.
    pub fn is_busy(&self) -> bool {
        let busy_word = |c: &str| {
            [
                "OperationInProgress",
                "ConcurrentOperationInProgress",
                "ConcurrentOperation",
            ]
            .iter()
            .any(|w| c.eq_ignore_ascii_case(w))
        };
        match self {
            Error::OperationFailed { code: Some(c), .. } => busy_word(c),
            _ => self.status() == Some(422) && self.platform_code().is_some_and(busy_word),
        }
    }

    /// The platform's own error word or title (`Conflict`, `CF-UnprocessableEntity`,
    /// `invalid_client`, or the word stored in a failed operation), when there is one.
    pub fn platform_code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.code.as_deref(),
            Error::Token(e) => e.error.as_deref(),
            Error::OperationFailed { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Shorthand for an [`Error::InvalidJson`].
    pub(crate) fn invalid_json(
        document: impl Into<String>,
        path: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Error::InvalidJson {
            document: document.into(),
            path: path.into(),
            expected: expected.into(),
            found: found.into(),
            hint: hint.into(),
        }
    }
}

/// A date that does not read as `YYYY-MM-DD`.
impl From<chrono::ParseError> for Error {
    fn from(e: chrono::ParseError) -> Self {
        Error::config("the date", format!("{e}; write it as YYYY-MM-DD"))
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

impl From<TokenError> for Error {
    fn from(e: TokenError) -> Self {
        Error::Token(Box::new(e))
    }
}

/// An error status from a platform API, with the platform's own code and text.
///
/// The three body shapes the platform uses are all understood: Service Manager
/// `{"error","description"}`, Cloud Foundry `{"errors":[{"code","title","detail"}]}` and the token
/// server's `{"error","error_description"}`. A body that is not JSON is kept, shortened, in
/// [`ApiError::body_excerpt`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP method of the request.
    pub method: String,
    /// URL of the request, without query string or user info.
    pub url: String,
    /// HTTP status code.
    pub status: u16,
    /// The platform's error word (`Conflict`, `OperationInProgress`) or title
    /// (`CF-UnprocessableEntity`).
    pub code: Option<String>,
    /// The Cloud Foundry numeric error code (`10008`), when given.
    pub numeric_code: Option<i64>,
    /// The platform's explanation (`description` or `detail`).
    pub message: Option<String>,
    /// A shortened copy of a body that could not be read as a platform error.
    pub body_excerpt: Option<String>,
    /// Whether the same request could succeed later (429, 502, 503, 504).
    pub retryable: bool,
    /// The `Retry-After` wait the server asked for, if it gave one that could be read.
    pub retry_after: Option<Duration>,
    /// The correlation id sent with the request (quote it to SAP support).
    pub correlation_id: String,
    /// Cloud Foundry's `X-Cf-Warnings` sent with the error, decoded.
    pub warnings: Vec<String>,
}

impl ApiError {
    /// What a user can do about this status, in one sentence.
    pub fn advice(&self) -> &'static str {
        if self
            .code
            .as_deref()
            .is_some_and(|c| c.ends_with("QuotaExceeded"))
        {
            return "a quota of the organization or space is exhausted; delete unused instances or ask an administrator to raise the quota";
        }
        match self.status {
            400 => "the request was refused as malformed; check names and parameters",
            401 => "the token was refused; check that the credentials are current",
            403 => {
                "the credentials lack a role or scope for this call (Service Manager: subaccount-admin plan; Cloud Foundry: Space Developer; Cloud ALM API: a scope among the instance's authorities)"
            }
            404 => "the resource does not exist or is not visible to these credentials",
            409 => "a resource with this name already exists",
            412 | 422 => {
                "the resource is busy or the request conflicts with its state; wait and retry"
            }
            429 => "rate limited; wait and retry",
            502..=504 => "the platform is unavailable or overloaded; retry later",
            500..=599 => {
                "the platform failed on this request and this failure is not known to pass by itself; if repeating the request later fails again, quote the correlation id to SAP support"
            }
            _ => "see the platform's message",
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} answered {}", self.method, self.url, self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {}", printable(code))?;
        }
        if let Some(n) = self.numeric_code {
            write!(f, " ({n})")?;
        }
        if let Some(msg) = &self.message {
            write!(f, ": {}", printable(msg))?;
        } else if let Some(body) = &self.body_excerpt {
            write!(f, ": body {:?}", printable(body))?;
        }
        write!(f, "; {}", self.advice())?;
        if !self.warnings.is_empty() {
            write!(
                f,
                " (platform warnings: {})",
                printable(&self.warnings.join("; "))
            )?;
        }
        write!(f, " (correlation id {})", self.correlation_id)
    }
}

impl std::error::Error for ApiError {}

/// What kind of refusal a token server gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenErrorKind {
    /// The client id is unknown or its secret/certificate is wrong (`invalid_client`, 401).
    InvalidClient,
    /// The user credentials or refresh token are wrong or expired (`invalid_grant`).
    InvalidGrant,
    /// The client may not use this grant or scope (`unauthorized_client`, `unauthorized`,
    /// `invalid_scope`, 403).
    Unauthorized,
    /// The token server is failing or overloaded (5xx, 429).
    ServerError,
    /// Anything else, including answers that are not a token at all.
    Unexpected,
}

/// A token server refused to issue a token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenError {
    /// The token endpoint, without query.
    pub url: String,
    /// HTTP status, when the server answered.
    pub status: Option<u16>,
    /// Classification.
    pub kind: TokenErrorKind,
    /// The server's `error` word.
    pub error: Option<String>,
    /// The server's `error_description`.
    pub description: Option<String>,
}

impl TokenError {
    /// What a user can do about this refusal.
    pub fn advice(&self) -> &'static str {
        match self.kind {
            TokenErrorKind::InvalidClient => {
                "the client id or secret (or certificate) is wrong, or the binding was deleted; create new credentials"
            }
            TokenErrorKind::InvalidGrant => {
                "the user credentials or refresh token are wrong or expired; log in again"
            }
            TokenErrorKind::Unauthorized => {
                "the client is not allowed this grant or scope; check the instance's authorities"
            }
            TokenErrorKind::ServerError => "the token server is failing; retry later",
            TokenErrorKind::Unexpected => {
                "the answer was not a token; check that the URL points at the token server"
            }
        }
    }
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "token request to {} was refused", self.url)?;
        if let Some(s) = self.status {
            write!(f, " ({s})")?;
        }
        if let Some(e) = &self.error {
            write!(f, ": {}", printable(e))?;
        }
        if let Some(d) = &self.description {
            write!(f, " ({})", printable(d))?;
        }
        write!(f, "; {}", self.advice())
    }
}

impl std::error::Error for TokenError {}

/// `text` with every control character (C0, DEL, C1, and the bidirectional overrides that
/// reorder what a terminal shows) replaced by `\u{FFFD}`, so text from outside (a server's error
/// message, a field of a service key) cannot move the cursor, clear or retitle a terminal, or
/// forge a prompt when it is printed. Line breaks and tabs are replaced too: the result is one
/// line. Borrowed when nothing needed replacing.
///
/// ```
/// use calm_credentials::printable;
/// assert_eq!(printable("ok \u{1b}[2Jdone"), "ok \u{FFFD}[2Jdone");
/// assert_eq!(printable("plain"), "plain");
/// ```
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    printable_keeping(text, false)
}

/// Like [`printable`], but keeps line breaks (`\n`) and tabs, for multi-line output such as
/// pretty-printed JSON. A carriage return is replaced (it lets a line overwrite itself).
pub fn printable_lines(text: &str) -> std::borrow::Cow<'_, str> {
    printable_keeping(text, true)
}

fn printable_keeping(text: &str, lines: bool) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        let kept = lines && (c == '\n' || c == '\t');
        !kept && is_terminal_control(c)
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| if unsafe_char(c) { '\u{FFFD}' } else { c })
            .collect(),
    )
}

/// Whether a terminal may act on `c` instead of showing it.
fn is_terminal_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A short, secret-free description of a JSON value's shape, for error messages.
pub(crate) fn json_shape(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(s) if s.trim().is_empty() => "an empty string",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> Error {
        Error::from(ApiError {
            method: "POST".into(),
            url: "https://x.example/v1/service_instances".into(),
            status,
            code: None,
            numeric_code: None,
            message: None,
            body_excerpt: None,
            retryable: matches!(status, 429 | 502..=504),
            retry_after: None,
            correlation_id: "c".into(),
            warnings: Vec::new(),
        })
    }

    #[test]
    fn which_failures_may_have_taken_effect() {
        let cases = [
            (400, false),
            (404, false),
            (409, false),
            (422, false),
            (429, false),
            (500, true),
            (501, false),
            (502, true),
            (503, true),
            (504, true),
        ];
        for (status, maybe) in cases {
            assert_eq!(api(status).may_have_taken_effect(), maybe, "{status}");
        }
        let lost = Error::Transport {
            method: "POST".into(),
            url: "u".into(),
            attempts: 1,
            kind: "connection closed".into(),
            correlation_id: "c".into(),
            source: "closed".into(),
        };
        assert!(lost.may_have_taken_effect());
        assert!(!Error::config("x", "y").may_have_taken_effect());
    }

    #[test]
    fn outside_text_is_printed_without_control_characters() {
        let mut e = match api(500) {
            Error::Api(e) => *e,
            _ => unreachable!(),
        };
        e.code = Some("X\u{1b}]0;pwned\u{7}".into());
        e.message = Some("line\r\nPassword: \u{1b}[2J\u{9b}31m\u{202e}".into());
        e.warnings = vec!["w\u{1b}[1m".into()];
        let text = Error::from(e).to_string();
        assert!(!text.chars().any(is_terminal_control), "{text:?}");
        let token = TokenError {
            url: "u".into(),
            status: Some(401),
            kind: TokenErrorKind::InvalidClient,
            error: Some("e\u{1b}[K".into()),
            description: Some("d\u{8}\u{8}".into()),
        };
        assert!(!token.to_string().chars().any(is_terminal_control));
        assert_eq!(printable_lines("a\n\tb\r"), "a\n\tb\u{FFFD}");
        let limits = [
            Error::AnswerTooLarge {
                method: "GET".into(),
                url: "u".into(),
                limit: 1,
                correlation_id: "c".into(),
            },
            Error::ListingCutOff {
                what: "x".into(),
                pages: 1,
                items: 1,
                bytes: 1,
                reason: "r".into(),
            },
        ];
        for e in limits {
            assert!(!e.is_retryable() && !e.may_have_taken_effect(), "{e}");
        }
    }
}
