//! OAuth token sources and their cache.
//!
//! A [`TokenSource`] knows one way to get an access token (client credentials with a secret or a
//! client certificate, the Cloud Foundry password or refresh grant, or a token given from
//! outside), caches it, renews it shortly before it expires, and lets exactly one request be in
//! flight however many tasks ask at once.

mod cache;
mod grants;
pub(crate) mod token;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::credentials::{ClientAuth, ServiceKey};
use crate::error::{Error, Result, TokenError, TokenErrorKind};
use crate::http::{HttpClient, check_url, sanitize_url};

pub use token::AccessToken;

use cache::TokenCache;
use grants::Grant;

/// Gets, caches and renews access tokens for one set of credentials.
///
/// Cheap to clone; clones share the cache. `Debug` shows the grant and token URL, never a
/// secret.
///
/// ```no_run
/// # async fn run(key: calm_credentials::ServiceKey) -> calm_credentials::Result<()> {
/// use calm_credentials::{HttpClient, TokenSource};
/// let http = HttpClient::new()?;
/// let tokens = TokenSource::from_service_key(&key, &http)?;
/// let token = tokens.token().await?;            // one request
/// let again = tokens.token().await?;            // from the cache
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    grant: Grant,
    token_url: Option<Url>,
    http: Option<HttpClient>,
    cache: TokenCache,
}

impl TokenSource {
    fn with(grant: Grant, token_url: Option<Url>, http: Option<HttpClient>) -> Self {
        TokenSource {
            inner: Arc::new(Inner {
                grant,
                token_url,
                http,
                cache: TokenCache::new(),
            }),
        }
    }

    /// The same grant sending its token requests through `http` (a fresh cache). An mTLS grant
    /// keeps its own client, which holds the certificate.
    pub(crate) fn with_transport(&self, http: &HttpClient) -> Self {
        let inner = &*self.inner;
        let http = inner.http.as_ref().map(|_| http.clone());
        Self::with(inner.grant.clone(), inner.token_url.clone(), http)
    }

    /// Client credentials from a service key or binding.
    ///
    /// - Secret keys: `POST {uaa.url}/oauth/token` with the form body
    ///   `grant_type=client_credentials&client_id=…&client_secret=…` (the form documented for the
    ///   Service Manager and accepted by XSUAA; HTTP Basic is not used, so ids and secrets with
    ///   `:` or non-ASCII need no extra encoding).
    /// - X.509 keys: mutual TLS with the key's `certificate` and `key` to
    ///   `{certurl}/oauth/token`, form body `grant_type=client_credentials&client_id=…`.
    ///
    /// Fails before anything is sent when the token URL is not allowed (https only, except to loopback addresses) or the
    /// certificate and key cannot be read.
    pub fn from_service_key(key: &ServiceKey, http: &HttpClient) -> Result<Self> {
        let token_url = key.token_url();
        let field = if key.is_x509() {
            "uaa.certurl"
        } else {
            "uaa.url"
        };
        check_url(&token_url, field)?;
        let grant = match key.client_auth() {
            ClientAuth::Secret { secret } => Grant::ClientSecret {
                client_id: key.client_id().to_owned(),
                secret: secret.clone(),
            },
            ClientAuth::Certificate {
                certificate,
                key: private,
            } => {
                // Every copy of the private key is wiped when dropped.
                let private = unescaped_pem(private.expose_secret());
                let certificate = unescaped_pem(certificate);
                let mut pem =
                    Zeroizing::new(Vec::with_capacity(certificate.len() + private.len() + 2));
                pem.extend_from_slice(private.as_bytes());
                pem.push(b'\n');
                pem.extend_from_slice(certificate.as_bytes());
                let unreadable = || {
                    Error::invalid_json(
                        "service key",
                        "uaa.certificate / uaa.key",
                        "a PEM client certificate and its PEM private key (RSA, EC or PKCS#8)",
                        "text that does not read as such",
                        "copy the key again whole, keeping the line breaks (or \\n escapes)",
                    )
                };
                let identity = reqwest::Identity::from_pem(&pem).map_err(|_| unreadable())?;
                let client = http.mtls_token_client(identity).map_err(|_| unreadable())?;
                Grant::ClientCertificate {
                    client_id: key.client_id().to_owned(),
                    client,
                }
            }
        };
        Ok(Self::with(grant, Some(token_url), Some(http.clone())))
    }

    /// The Cloud Foundry password grant, as `cf login` does it: HTTP Basic `cf:` (empty
    /// secret), form `grant_type=password&username=…&password=…`, and with `origin` the query
    /// parameter `login_hint={"origin":"…"}` to pick the identity provider. Once a token with a
    /// refresh token is held, renewal uses the refresh token and falls back to the password
    /// only if that is refused.
    pub(crate) fn cf_password(
        token_url: Url,
        username: &str,
        password: SecretString,
        origin: Option<&str>,
        http: &HttpClient,
    ) -> Result<Self> {
        check_url(&token_url, "token URL")?;
        let grant = Grant::Password {
            username: username.to_owned(),
            password,
            origin: origin.filter(|o| !o.trim().is_empty()).map(str::to_owned),
        };
        Ok(Self::with(grant, Some(token_url), Some(http.clone())))
    }

    /// The Cloud Foundry refresh grant (HTTP Basic `cf:`, form
    /// `grant_type=refresh_token&refresh_token=…`), e.g. with `CF_REFRESH_TOKEN` or the
    /// `RefreshToken` of `~/.cf/config.json`. A rotated refresh token is used from then on.
    #[cfg(test)]
    pub(crate) fn cf_refresh_token(
        token_url: Url,
        refresh_token: SecretString,
        http: &HttpClient,
    ) -> Result<Self> {
        let no_secret = SecretString::from(String::new());
        Self::cf_refresh_token_with_client(
            token_url,
            refresh_token,
            grants::CF_CLIENT_ID,
            no_secret,
            http,
        )
    }

    /// The Cloud Foundry refresh grant with another OAuth client than `cf`: the cf CLI
    /// refreshes with the client stored in `config.json` (`UAAOAuthClient`,
    /// `UAAOAuthClientSecret`), which differs after `cf auth --assertion` or a login with a
    /// custom client. Sent as HTTP Basic.
    pub fn cf_refresh_token_with_client(
        token_url: Url,
        refresh_token: SecretString,
        client_id: &str,
        client_secret: SecretString,
        http: &HttpClient,
    ) -> Result<Self> {
        check_url(&token_url, "token URL")?;
        let grant = Grant::Refresh {
            initial: refresh_token,
            client_id: client_id.to_owned(),
            client_secret,
        };
        Ok(Self::with(grant, Some(token_url), Some(http.clone())))
    }

    /// Client credentials against UAA as `cf auth --client-credentials` does it (id and secret
    /// in the form body).
    pub(crate) fn cf_client_credentials(
        token_url: Url,
        client_id: &str,
        client_secret: SecretString,
        http: &HttpClient,
    ) -> Result<Self> {
        check_url(&token_url, "token URL")?;
        let grant = Grant::ClientSecret {
            client_id: client_id.to_owned(),
            secret: client_secret,
        };
        Ok(Self::with(grant, Some(token_url), Some(http.clone())))
    }

    /// A token obtained elsewhere (e.g. `CF_ACCESS_TOKEN` or the `AccessToken` of
    /// `~/.cf/config.json`), with or without a leading `bearer `. It cannot be renewed: when the
    /// server refuses it, the error says to log in again.
    pub fn static_token(token: SecretString) -> Self {
        let text = token.expose_secret().trim();
        let bare = match text.get(..7) {
            Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => text[7..].trim(),
            _ => text,
        };
        let token = AccessToken::new(SecretString::from(bare.to_owned()), None);
        Self::with(Grant::Static(token), None, None)
    }

    /// Renews tokens that have less than `slack` of life left (default 60 s; never more than
    /// half a token's lifetime, so short-lived tokens are still reused). Applies to all clones.
    pub fn with_refresh_slack(self, slack: Duration) -> Self {
        self.inner.cache.set_slack(slack);
        self
    }

    /// A live access token: the cached one, or a new one when it is missing, invalidated or
    /// close to expiry. Concurrent callers share one token request.
    pub async fn token(&self) -> Result<AccessToken> {
        let inner = &*self.inner;
        if let Grant::Static(token) = &inner.grant {
            return Ok(token.clone());
        }
        if let Some(token) = inner.cache.fresh(chrono::Utc::now()) {
            return Ok(token);
        }
        // Boxed: the token request's future is large, and every API request awaits this one.
        Box::pin(self.renewed()).await
    }

    /// A token from the cache's single fetch (shared with concurrent callers).
    async fn renewed(&self) -> Result<AccessToken> {
        let inner = &*self.inner;
        let (Some(http), Some(url)) = (&inner.http, &inner.token_url) else {
            return Err(Error::config(
                "the token source",
                "it has no token endpoint",
            ));
        };
        inner
            .cache
            .get(|last| async move {
                tracing::debug!(
                    grant = inner.grant.name(),
                    host = url.host_str().unwrap_or(""),
                    "requesting a token"
                );
                inner.grant.fetch(http, url, last).await
            })
            .await
    }

    /// Drops the cached token, but only if it is still `token` (so a token another task already
    /// renewed is kept). The next [`TokenSource::token`] fetches a new one.
    pub fn invalidate(&self, token: &AccessToken) {
        self.inner.cache.invalidate(token);
    }

    /// The token endpoint, `None` for a static token.
    pub fn token_url(&self) -> Option<&Url> {
        self.inner.token_url.as_ref()
    }

    /// Whether a refused token can be replaced by a new one (false for a static token).
    pub fn can_refresh(&self) -> bool {
        !matches!(self.inner.grant, Grant::Static(_))
    }

    /// The error for a static token the server refused.
    pub(crate) fn refused_static_token(&self) -> Error {
        Error::from(TokenError {
            url: "(access token given from outside)".into(),
            status: Some(401),
            kind: TokenErrorKind::InvalidGrant,
            error: Some("invalid_token".into()),
            description: Some(
                "the access token was refused and cannot be renewed: log in again (`cf login`) or pass a fresh token".into(),
            ),
        })
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("grant", &self.inner.grant.name())
            .field(
                "token_url",
                &self.inner.token_url.as_ref().map(sanitize_url),
            )
            .field("refresh_slack", &self.inner.cache.slack())
            .finish_non_exhaustive()
    }
}

/// A PEM text with literal `\n` (and `\r\n`) escapes turned into line breaks, as keys pasted
/// through JSON or environment variables often arrive; in a buffer wiped when dropped.
fn unescaped_pem(text: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("\\r\\n") {
            out.push('\n');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("\\n") {
            out.push('\n');
            rest = after;
        } else {
            out.push('\\');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_escapes_become_line_breaks() {
        assert_eq!(
            unescaped_pem("-----BEGIN X-----\\nAAA\\r\\nBBB\\n-----END X-----\\").as_str(),
            "-----BEGIN X-----\nAAA\nBBB\n-----END X-----\\"
        );
        assert_eq!(unescaped_pem("a\nb").as_str(), "a\nb");
    }
}
