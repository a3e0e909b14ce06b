//! The OAuth grants: what is posted to the token endpoint, and how refusals are read.

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::error::{Error, Result, TokenError, TokenErrorKind};
use crate::http::wire_error::{parse_error_body, shorten};
use crate::http::{Call, Credentials, Exchange, HttpClient, Method, sanitize_url};

use super::token::{AccessToken, ParseProblem, parse_token_response};

/// The client id the cf CLI uses for user logins (with an empty secret).
pub(crate) const CF_CLIENT_ID: &str = "cf";

/// How a token source gets its tokens.
#[derive(Clone)]
pub(crate) enum Grant {
    /// `client_credentials` with id and secret in the form body (accepted by XSUAA, the Service
    /// Manager's token server and UAA alike).
    ClientSecret {
        client_id: String,
        secret: SecretString,
    },
    /// `client_credentials` over mutual TLS: the client certificate authenticates, the form
    /// carries only the client id.
    ClientCertificate {
        client_id: String,
        client: reqwest::Client,
    },
    /// `password` as `cf login` does it (Basic `cf:`), refreshed with its refresh token.
    Password {
        username: String,
        password: SecretString,
        origin: Option<String>,
    },
    /// `refresh_token` as the cf CLI does it: HTTP Basic with the login's own client
    /// (`UAAOAuthClient`/`UAAOAuthClientSecret` of `config.json`; `cf:` by default).
    Refresh {
        initial: SecretString,
        client_id: String,
        client_secret: SecretString,
    },
    /// A token given from outside; cannot be renewed.
    Static(AccessToken),
}

impl Grant {
    /// A short name for traces and `Debug`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Grant::ClientSecret { .. } => "client_credentials",
            Grant::ClientCertificate { .. } => "client_credentials (mTLS)",
            Grant::Password { .. } => "password",
            Grant::Refresh { .. } => "refresh_token",
            Grant::Static(_) => "static",
        }
    }

    /// Gets a new token from `token_url`; `last` is the previous token (for its refresh token).
    pub(crate) async fn fetch(
        &self,
        http: &HttpClient,
        token_url: &Url,
        last: Option<AccessToken>,
    ) -> Result<AccessToken> {
        let empty = SecretString::from(String::new());
        match self {
            Grant::ClientSecret { client_id, secret } => {
                let form = [
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id.as_str()),
                    ("client_secret", secret.expose_secret()),
                ];
                post(
                    http,
                    http.token_client(),
                    token_url,
                    Credentials::None,
                    &form,
                )
                .await
            }
            Grant::ClientCertificate { client_id, client } => {
                let form = [
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id.as_str()),
                ];
                post(http, client, token_url, Credentials::None, &form).await
            }
            Grant::Password {
                username,
                password,
                origin,
            } => {
                if let Some(refresh) = last.as_ref().and_then(|t| t.refresh_token()) {
                    match refresh_grant(http, token_url, refresh, CF_CLIENT_ID, &empty).await {
                        Ok(token) => return Ok(token),
                        Err(Error::Token(e)) if e.kind != TokenErrorKind::ServerError => {
                            tracing::debug!(
                                "refresh token refused ({:?}); logging in with the password again",
                                e.kind
                            );
                        }
                        Err(other) => return Err(other),
                    }
                }
                let mut url = token_url.clone();
                if let Some(origin) = origin {
                    let hint = serde_json::json!({ "origin": origin }).to_string();
                    url.query_pairs_mut().append_pair("login_hint", &hint);
                }
                let form = [
                    ("grant_type", "password"),
                    ("username", username.as_str()),
                    ("password", password.expose_secret()),
                ];
                let basic = Credentials::Basic(CF_CLIENT_ID, &empty);
                post(http, http.token_client(), &url, basic, &form).await
            }
            Grant::Refresh {
                initial,
                client_id,
                client_secret,
            } => {
                let refresh = last
                    .as_ref()
                    .and_then(|t| t.refresh_token())
                    .unwrap_or(initial);
                refresh_grant(http, token_url, refresh, client_id, client_secret).await
            }
            Grant::Static(token) => Ok(token.clone()),
        }
    }
}

async fn refresh_grant(
    http: &HttpClient,
    token_url: &Url,
    refresh: &SecretString,
    client_id: &str,
    client_secret: &SecretString,
) -> Result<AccessToken> {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.expose_secret()),
    ];
    let basic = Credentials::Basic(client_id, client_secret);
    let token = post(http, http.token_client(), token_url, basic, &form).await?;
    // UAA may not rotate the refresh token; keep the one we used then.
    if token.refresh_token().is_some() {
        Ok(token)
    } else {
        Ok(token.with_refresh_token(refresh.clone()))
    }
}

/// Posts a token request (retry-safe: it creates nothing) and reads the answer.
async fn post(
    http: &HttpClient,
    client: &reqwest::Client,
    url: &Url,
    credentials: Credentials<'_>,
    form: &[(&str, &str)],
) -> Result<AccessToken> {
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let exchange = http
        .exchange(
            client,
            Call {
                method: Method::Post,
                url,
                retry_safe: true,
                correlation_id: &correlation_id,
                credentials,
                form: Some(form),
                json: None,
                headers: &[],
            },
        )
        .await?;
    read_answer(url, &exchange)
}

fn read_answer(url: &Url, exchange: &Exchange) -> Result<AccessToken> {
    let status = exchange.status;
    if (200..300).contains(&status) {
        return parse_token_response(&exchange.body, Utc::now()).map_err(|problem| {
            let description = match problem {
                ParseProblem::NotJson => "the answer is not a JSON object",
                ParseProblem::NoAccessToken => "the answer has no access_token",
            };
            Error::from(TokenError {
                url: sanitize_url(url),
                status: Some(status),
                kind: TokenErrorKind::Unexpected,
                error: None,
                description: Some(description.to_owned()),
            })
        });
    }
    if (300..400).contains(&status) {
        let target = exchange
            .location_host()
            .unwrap_or_else(|| "an unknown host".into());
        return Err(Error::from(TokenError {
            url: sanitize_url(url),
            status: Some(status),
            kind: TokenErrorKind::Unexpected,
            error: None,
            description: Some(format!(
                "the token endpoint redirected to `{target}`; redirects are never followed for token requests (credentials would travel with them): use the token URL of the service key itself"
            )),
        }));
    }
    Err(Error::from(token_error(url, status, &exchange.body)))
}

/// Classifies a token server's refusal.
pub(crate) fn token_error(url: &Url, status: u16, body: &[u8]) -> TokenError {
    let wire = parse_error_body(body);
    let word = wire.code.as_deref().map(str::to_ascii_lowercase);
    let kind = match (word.as_deref(), status) {
        (_, 429 | 500..=599) => TokenErrorKind::ServerError,
        (Some("invalid_client"), _) => TokenErrorKind::InvalidClient,
        (Some("invalid_grant"), _) => TokenErrorKind::InvalidGrant,
        (Some("unauthorized_client" | "unauthorized" | "invalid_scope" | "access_denied"), _) => {
            TokenErrorKind::Unauthorized
        }
        (_, 401) => TokenErrorKind::InvalidClient,
        (_, 403) => TokenErrorKind::Unauthorized,
        _ => TokenErrorKind::Unexpected,
    };
    let description = wire.message.or_else(|| {
        wire.body_excerpt
            .map(|b| format!("body: {}", shorten(&b, 200)))
    });
    TokenError {
        url: sanitize_url(url),
        status: Some(status),
        kind,
        error: wire.code,
        description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_table() {
        let url = Url::parse("https://t.example/oauth/token?x=secret").unwrap();
        use TokenErrorKind::*;
        let cases: &[(u16, &str, TokenErrorKind)] = &[
            (
                401,
                r#"{"error":"invalid_client","error_description":"Bad credentials"}"#,
                InvalidClient,
            ),
            (401, "", InvalidClient),
            (400, r#"{"error":"invalid_grant"}"#, InvalidGrant),
            (401, r#"{"error":"invalid_grant"}"#, InvalidGrant),
            (
                401,
                r#"{"error":"unauthorized","error_description":"Bad credentials"}"#,
                Unauthorized,
            ),
            (400, r#"{"error":"unauthorized_client"}"#, Unauthorized),
            (400, r#"{"error":"invalid_scope"}"#, Unauthorized),
            (403, "<html>forbidden</html>", Unauthorized),
            (500, "", ServerError),
            (503, r#"{"error":"invalid_client"}"#, ServerError),
            (429, "", ServerError),
            (400, "not json", Unexpected),
            (404, "", Unexpected),
        ];
        for (status, body, kind) in cases {
            let e = token_error(&url, *status, body.as_bytes());
            assert_eq!(e.kind, *kind, "{status} {body}");
            assert!(!e.url.contains("secret"));
        }
    }
}
