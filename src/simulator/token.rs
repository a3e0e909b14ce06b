//! The token server: XSUAA zones of the tenants and the CF UAA zone, and RS256 JWTs.
//!
//! Endpoints (`POST`, form body, query parameters merged in, except the login information):
//! - `/auth/{zone}/oauth/token`: `client_credentials` (client id/secret as HTTP Basic or form
//!   fields), `password` and `refresh_token` (zone `uaa` only, client `cf` with an empty secret).
//! - `/auth-cert/{zone}/oauth/token`: the simulated `certurl`. There is no TLS on loopback, so
//!   holding the certificate is simulated: `client_id` alone is accepted for a client that was
//!   issued X.509 credentials.
//! - `GET /auth/{zone}/login`: the login server's information and prompts, which the `cf` CLI
//!   reads before a password login (UAA answers it with JSON when asked for JSON).
//!
//! Errors: unknown client or wrong secret → 401 `invalid_client` "Bad credentials"; wrong user
//! name, password or origin → 401 `unauthorized` "Bad credentials" (as UAA does); unknown refresh
//! token → 400 `invalid_grant`; missing parameters → 400 `invalid_request`; other grants → 400
//! `unsupported_grant_type`.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::faults::json_response;
use super::keys::{JWT_KEY_ID, JWT_PRIVATE_KEY_PEM, JWT_PUBLIC_KEY_PEM};
use super::state::{CF_ZONE, Shared, World, new_id, random_string};

/// The claims of every simulated token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub jti: String,
    pub sub: String,
    pub scope: Vec<String>,
    pub client_id: String,
    pub cid: String,
    pub azp: String,
    pub grant_type: String,
    pub zid: String,
    pub iss: String,
    pub aud: Vec<String>,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

fn keys() -> &'static (EncodingKey, DecodingKey) {
    static KEYS: OnceLock<(EncodingKey, DecodingKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let enc = EncodingKey::from_rsa_pem(JWT_PRIVATE_KEY_PEM.as_bytes())
            .expect("embedded private key is valid PEM");
        let dec = DecodingKey::from_rsa_pem(JWT_PUBLIC_KEY_PEM.as_bytes())
            .expect("embedded public key is valid PEM");
        (enc, dec)
    })
}

/// Checks signature and expiry; `Err` carries a short reason.
pub(crate) fn verify(token: &str) -> Result<Claims, String> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 0;
    validation.validate_aud = false;
    jsonwebtoken::decode::<Claims>(token, &keys().1, &validation)
        .map(|data| data.claims)
        .map_err(|e| format!("invalid token: {e}"))
}

/// The bearer token of a request, if any.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// `GET /auth/{zone}/login`: UAA's login information with the prompts of a password login.
pub(crate) async fn login_info(Path(zone): Path<String>) -> Response {
    let body = json!({
        "app": {"version": "simulated"},
        "zone_name": zone,
        "showLinks": false,
        "links": {"uaa": "", "passwd": "/forgot_password", "register": "/create_account"},
        "prompts": {
            "username": ["text", "Email"],
            "password": ["password", "Password"],
        },
    });
    json_response(200, body)
}

/// `POST /auth/{zone}/oauth/token`.
pub(crate) async fn token_endpoint(
    State(shared): State<Arc<Shared>>,
    Path(zone): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    grant(&shared, &zone, query, &headers, &body, false)
}

/// `POST /auth-cert/{zone}/oauth/token`: the simulated mTLS endpoint.
pub(crate) async fn cert_token_endpoint(
    State(shared): State<Arc<Shared>>,
    Path(zone): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    grant(&shared, &zone, query, &headers, &body, true)
}

fn grant(
    shared: &Shared,
    zone: &str,
    query: Option<String>,
    headers: &HeaderMap,
    body: &Bytes,
    cert: bool,
) -> Response {
    let mut params: HashMap<String, String> = query
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    params.extend(url::form_urlencoded::parse(body).into_owned());
    let (client_id, secret) = match client_auth(headers, &params) {
        Some(pair) => pair,
        None => return oauth_error(401, "invalid_client", "Bad credentials"),
    };
    let mut world = shared.world.lock().expect("world lock");
    let Some(zone_id) = world.auth.zones.get(zone).cloned() else {
        return json_response(
            404,
            json!({"error": "not_found",
            "error_description": format!("Identity zone '{zone}' does not exist")}),
        );
    };
    let issuer = format!("{}/oauth/token", shared.urls.token(zone));
    let ctx = GrantContext {
        zone_id,
        issuer,
        client_id,
    };
    match params.get("grant_type").map(String::as_str) {
        Some("client_credentials") => client_credentials(&world, &ctx, secret.as_deref(), cert),
        Some("password") if zone == CF_ZONE && !cert => password(&mut world, &ctx, &params),
        Some("refresh_token") if zone == CF_ZONE && !cert => refresh(&world, &ctx, &params),
        Some(_) => oauth_error(400, "unsupported_grant_type", "Unsupported grant type"),
        None => oauth_error(400, "invalid_request", "Missing grant type"),
    }
}

struct GrantContext {
    zone_id: String,
    issuer: String,
    client_id: String,
}

/// Client id and secret from HTTP Basic, else from the form.
fn client_auth(
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Option<(String, Option<String>)> {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        return Some((decode_form(id), Some(decode_form(secret))));
    }
    let id = params.get("client_id")?.clone();
    Some((id, params.get("client_secret").cloned()))
}

/// RFC 6749 §2.3.1 form-encodes Basic credentials; raw ones decode to themselves.
fn decode_form(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

fn client_credentials(
    world: &World,
    ctx: &GrantContext,
    secret: Option<&str>,
    cert: bool,
) -> Response {
    let Some(client) = world.auth.clients.get(&ctx.client_id) else {
        return oauth_error(401, "invalid_client", "Bad credentials");
    };
    let authenticated = if cert {
        client.x509
    } else {
        secret.is_some_and(|s| client.secrets.iter().any(|k| k == s))
    };
    if client.zone_id != ctx.zone_id || !authenticated {
        return oauth_error(401, "invalid_client", "Bad credentials");
    }
    let claims = claims(
        world,
        ctx,
        "client_credentials",
        client.scopes.clone(),
        None,
    );
    token_response(&claims, None)
}

fn password(world: &mut World, ctx: &GrantContext, params: &HashMap<String, String>) -> Response {
    if ctx.client_id != "cf" {
        return oauth_error(401, "invalid_client", "Bad credentials");
    }
    let (Some(username), Some(pass)) = (params.get("username"), params.get("password")) else {
        return oauth_error(400, "invalid_request", "Missing username or password");
    };
    let user = world.auth.user.clone();
    let origin = params
        .get("login_hint")
        .and_then(|h| serde_json::from_str::<Value>(h).ok())
        .and_then(|v| v["origin"].as_str().map(str::to_owned));
    let origin_ok = match (&user.origin, &origin) {
        (Some(want), Some(got)) => want == got,
        (Some(_), None) => false,
        (None, got) => got.as_deref().is_none_or(|o| o == "sap.ids" || o == "uaa"),
    };
    if *username != user.username || *pass != user.password || !origin_ok {
        return oauth_error(401, "unauthorized", "Bad credentials");
    }
    let refresh_token = format!("{}-r", random_string(32));
    world
        .auth
        .refresh_tokens
        .insert(refresh_token.clone(), user.user_id.clone());
    let claims = claims(world, ctx, "password", cf_scopes(), Some(&user.user_id));
    token_response(&claims, Some(&refresh_token))
}

fn refresh(world: &World, ctx: &GrantContext, params: &HashMap<String, String>) -> Response {
    if ctx.client_id != "cf" {
        return oauth_error(401, "invalid_client", "Bad credentials");
    }
    let Some(refresh_token) = params.get("refresh_token") else {
        return oauth_error(400, "invalid_request", "Missing refresh_token");
    };
    let Some(user_id) = world.auth.refresh_tokens.get(refresh_token) else {
        return oauth_error(400, "invalid_grant", "Invalid refresh token");
    };
    let claims = claims(world, ctx, "refresh_token", cf_scopes(), Some(user_id));
    token_response(&claims, Some(refresh_token))
}

fn cf_scopes() -> Vec<String> {
    [
        "openid",
        "cloud_controller.read",
        "cloud_controller.write",
        "uaa.user",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn claims(
    world: &World,
    ctx: &GrantContext,
    grant_type: &str,
    scope: Vec<String>,
    user_id: Option<&str>,
) -> Claims {
    let now = chrono::Utc::now().timestamp();
    let lifetime = i64::try_from(world.settings.token_lifetime.as_secs()).unwrap_or(i64::MAX / 4);
    let mut aud: Vec<String> = scope
        .iter()
        .filter_map(|s| s.rsplit_once('.').map(|(app, _)| app.to_owned()))
        .collect();
    aud.push(ctx.client_id.clone());
    aud.dedup();
    let user = user_id.map(|_| world.auth.user.clone());
    Claims {
        jti: new_id().replace('-', ""),
        sub: user_id.unwrap_or(&ctx.client_id).to_owned(),
        scope,
        client_id: ctx.client_id.clone(),
        cid: ctx.client_id.clone(),
        azp: ctx.client_id.clone(),
        grant_type: grant_type.to_owned(),
        zid: ctx.zone_id.clone(),
        iss: ctx.issuer.clone(),
        aud,
        iat: now,
        exp: now.saturating_add(lifetime),
        user_name: user.as_ref().map(|u| u.username.clone()),
        user_id: user_id.map(str::to_owned),
        origin: user.map(|u| u.origin.unwrap_or_else(|| "sap.ids".to_owned())),
    }
}

fn token_response(claims: &Claims, refresh_token: Option<&str>) -> Response {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(JWT_KEY_ID.to_owned());
    let token = match jsonwebtoken::encode(&header, claims, &keys().0) {
        Ok(t) => t,
        Err(_) => return oauth_error(500, "server_error", "Token could not be signed"),
    };
    let mut body = json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": (claims.exp - claims.iat).max(0),
        "scope": claims.scope.join(" "),
        "jti": claims.jti,
    });
    if let Some(r) = refresh_token {
        body["refresh_token"] = json!(r);
    }
    let mut response = json_response(200, body);
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// A token server error body.
pub(crate) fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    json_response(
        status,
        json!({"error": error, "error_description": description}),
    )
    .into_response()
}
