//! The OAuth grants: what is posted to the token endpoint, and how refusals are read.

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::error::{Error, Result, TokenError, TokenErrorKind};
use crate::http::wire_error::{parse_error_body, scrub};
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
    let correlation_id = crate::http::correlation_id();
    // What the request carried that must never come back in an error (servers echo requests).
    let mut secrets: Vec<&str> = form
        .iter()
        .filter(|(name, _)| is_secret_form_field(name))
        .map(|(_, value)| *value)
        .collect();
    if let Credentials::Basic(_, password) = &credentials {
        secrets.push(password.expose_secret());
    }
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
    read_answer(url, &exchange, &secrets)
}

/// The form fields of a token request that hold a secret.
fn is_secret_form_field(name: &str) -> bool {
    matches!(
        name,
        "client_secret" | "password" | "refresh_token" | "assertion" | "client_assertion"
    )
}

fn read_answer(url: &Url, exchange: &Exchange, secrets: &[&str]) -> Result<AccessToken> {
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
    Err(Error::from(token_error(
        url,
        status,
        &exchange.body,
        secrets,
    )))
}

/// Classifies a token server's refusal. Only the server's `error` word and
/// `error_description` are kept, scrubbed of `secrets` (what the request carried); a body that
/// is not such an error is never quoted, since token servers and the proxies before them echo
/// the request, client secret and password included, into their error pages.
pub(crate) fn token_error(url: &Url, status: u16, body: &[u8], secrets: &[&str]) -> TokenError {
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
    let description = match (wire.message, wire.body_excerpt) {
        (Some(message), _) => Some(scrub(&message, secrets)),
        (None, Some(_)) => Some(format!(
            "the answer is not a token server error ({} bytes, not shown: it may echo the request)",
            body.len()
        )),
        (None, None) => None,
    };
    TokenError {
        url: sanitize_url(url),
        status: Some(status),
        kind,
        error: wire.code.map(|code| scrub(&code, secrets)),
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
            let e = token_error(&url, *status, body.as_bytes(), &[]);
            assert_eq!(e.kind, *kind, "{status} {body}");
            assert!(!e.url.contains("secret"));
        }
    }

    #[test]
    fn echoed_requests_never_reach_the_error() {
        let url = Url::parse("https://t.example/oauth/token").unwrap();
        let secret = "s3cr3t+/with space";
        let echoes = [
            "grant_type=client_credentials&client_id=id&client_secret=s3cr3t%2B%2Fwith+space".to_owned(),
            format!("<html><body><h1>401</h1><pre>client_secret={secret}</pre></body></html>"),
            format!(r#"{{"error":"invalid_client","error_description":"bad secret {secret} for id"}}"#),
            format!(r#"{{"error":"{secret}"}}"#),
            r#"{"error":"unauthorized","error_description":"refresh_token=R3fr3sh1 password=P4ssw0rd"}"#.to_owned(),
        ];
        for body in echoes {
            let e = token_error(&url, 401, body.as_bytes(), &[secret]);
            let text = e.to_string();
            for leaked in ["s3cr3t", "R3fr3sh1", "P4ssw0rd"] {
                assert!(!text.contains(leaked), "{leaked} in {text}");
                assert!(!format!("{e:?}").contains(leaked), "{leaked} in {e:?}");
            }
        }
    }
}
