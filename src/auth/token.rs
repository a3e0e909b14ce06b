//! An access token and how it is read from a token server's answer.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// How long a token is trusted when neither `expires_in` nor a JWT `exp` says.
pub(crate) const UNKNOWN_LIFETIME: ChronoDuration = ChronoDuration::minutes(5);

/// The lifetime taken for an `expires_in` of zero or less: a server answering `expires_in: 0`
/// would otherwise make every request fetch a token of its own. A token that really is
/// expired is refused with 401, and then renewed once.
pub(crate) const MIN_EXPIRES_IN_SECS: i64 = 30;

/// An OAuth access token with what is known about it.
///
/// Cheap to clone. `Debug` never shows the token; use [`AccessToken::secret`] and
/// `expose_secret()` only to put it on the wire.
#[derive(Clone)]
pub struct AccessToken {
    inner: Arc<Inner>,
}

struct Inner {
    secret: SecretString,
    expires_at: Option<DateTime<Utc>>,
    obtained_at: DateTime<Utc>,
    scopes: Vec<String>,
    refresh_token: Option<SecretString>,
    claims: Option<Value>,
    token_type: Option<String>,
}

impl AccessToken {
    /// A token from its parts (for tests and callers that got a token elsewhere). Expiry and
    /// scopes are taken from the JWT payload when `expires_at` / `scopes` are not given.
    pub fn new(secret: SecretString, expires_at: Option<DateTime<Utc>>) -> Self {
        let mut token = Self::build(secret, None, None, None, None, Utc::now());
        if let (Some(at), Some(inner)) = (expires_at, Arc::get_mut(&mut token.inner)) {
            inner.expires_at = Some(at);
        }
        token
    }

    pub(crate) fn build(
        secret: SecretString,
        expires_in: Option<i64>,
        scope: Option<&str>,
        refresh_token: Option<SecretString>,
        token_type: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        let claims = jwt_claims(secret.expose_secret());
        let expires_at = expires_in
            .and_then(|s| {
                let s = if s <= 0 { MIN_EXPIRES_IN_SECS } else { s };
                now.checked_add_signed(ChronoDuration::try_seconds(s)?)
            })
            .or_else(|| {
                let exp = claims.as_ref()?.get("exp")?.as_i64()?;
                DateTime::from_timestamp(exp, 0)
            });
        let scopes = match scope {
            Some(s) => s.split_whitespace().map(str::to_owned).collect(),
            None => claims
                .as_ref()
                .and_then(|c| c.get("scope"))
                .map(|s| match s {
                    Value::Array(items) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                    Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
                    _ => Vec::new(),
                })
                .unwrap_or_default(),
        };
        AccessToken {
            inner: Arc::new(Inner {
                secret,
                expires_at,
                obtained_at: now,
                scopes,
                refresh_token,
                claims,
                token_type,
            }),
        }
    }

    /// The same token carrying `refresh` as its refresh token (used when a refresh answer does
    /// not rotate it). Only applies to a token not yet shared.
    pub(crate) fn with_refresh_token(mut self, refresh: SecretString) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.refresh_token = Some(refresh);
        }
        self
    }

    /// The token itself. Never log it.
    pub fn secret(&self) -> &SecretString {
        &self.inner.secret
    }

    /// When the token expires: from `expires_in`, else from the JWT `exp`; `None` when neither
    /// told (such tokens are renewed after 5 minutes).
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.inner.expires_at
    }

    /// The granted scopes (`scope` of the answer, else of the JWT).
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// The refresh token that came with it (password and refresh grants only).
    pub fn refresh_token(&self) -> Option<&SecretString> {
        self.inner.refresh_token.as_ref()
    }

    /// The JWT payload, decoded without verifying the signature (see
    /// [`crate::verify::verify`] for a checked one); `None` if the token is not a JWT.
    pub fn claims(&self) -> Option<&Value> {
        self.inner.claims.as_ref()
    }

    /// The `token_type` the server named (`bearer`), if any.
    pub fn token_type(&self) -> Option<&str> {
        self.inner.token_type.as_deref()
    }

    /// When it was obtained.
    pub fn obtained_at(&self) -> DateTime<Utc> {
        self.inner.obtained_at
    }

    /// The moment after which the cache no longer hands it out (before `slack` is applied).
    pub(crate) fn usable_until(&self) -> DateTime<Utc> {
        self.inner
            .expires_at
            .unwrap_or(self.inner.obtained_at + UNKNOWN_LIFETIME)
    }

    /// The lifetime it was issued with, for scaling the refresh slack.
    pub(crate) fn lifetime(&self) -> ChronoDuration {
        self.usable_until() - self.inner.obtained_at
    }

    /// Whether both are the same issued token (not just equal text).
    pub(crate) fn same_as(&self, other: &AccessToken) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[REDACTED]")
            .field("expires_at", &self.inner.expires_at)
            .field("scopes", &self.inner.scopes)
            .field(
                "refresh_token",
                &self.inner.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .finish_non_exhaustive()
    }
}

/// The payload of a JWT, decoded without verification; `None` when `token` is not a JWT.
pub(crate) fn jwt_claims(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        v @ Value::Object(_) => Some(v),
        _ => None,
    }
}

/// Why a token answer could not be used (never quoting the answer).
pub(crate) enum ParseProblem {
    NotJson,
    NoAccessToken,
}

/// Reads a token server's successful answer.
pub(crate) fn parse_token_response(
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<AccessToken, ParseProblem> {
    let value: Value = serde_json::from_slice(body).map_err(|_| ParseProblem::NotJson)?;
    let obj = value.as_object().ok_or(ParseProblem::NotJson)?;
    let access = obj
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or(ParseProblem::NoAccessToken)?;
    let expires_in = obj.get("expires_in").and_then(|v| match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    let refresh = obj
        .get("refresh_token")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| SecretString::from(s.to_owned()));
    Ok(AccessToken::build(
        SecretString::from(access.trim().to_owned()),
        expires_in,
        obj.get("scope").and_then(Value::as_str),
        refresh,
        obj.get("token_type")
            .and_then(Value::as_str)
            .map(str::to_owned),
        now,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn jwt(payload: &str) -> String {
        let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", e(r#"{"alg":"RS256"}"#), e(payload))
    }

    #[test]
    fn expiry_sources() {
        let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let body =
            br#"{"access_token":"abc","expires_in":43199,"scope":"a b","token_type":"bearer"}"#;
        let Ok(t) = parse_token_response(body, now) else {
            panic!()
        };
        assert_eq!(t.expires_at(), Some(now + ChronoDuration::seconds(43199)));
        assert_eq!(t.scopes(), ["a", "b"]);
        assert!(t.claims().is_none());

        let token = jwt(r#"{"exp":1735693200,"scope":["x.read","y"]}"#);
        let body = format!(r#"{{"access_token":"{token}"}}"#);
        let Ok(t) = parse_token_response(body.as_bytes(), now) else {
            panic!()
        };
        assert_eq!(t.expires_at(), Some(now + ChronoDuration::hours(1)));
        assert_eq!(t.scopes(), ["x.read", "y"]);
        assert!(t.claims().is_some());

        let Ok(t) = parse_token_response(br#"{"access_token":"opaque","expires_in":"60"}"#, now)
        else {
            panic!()
        };
        assert_eq!(t.expires_at(), Some(now + ChronoDuration::seconds(60)));

        let Ok(t) = parse_token_response(br#"{"access_token":"opaque"}"#, now) else {
            panic!()
        };
        assert_eq!(t.expires_at(), None);
        assert_eq!(t.usable_until(), now + UNKNOWN_LIFETIME);

        let Ok(t) = parse_token_response(br#"{"access_token":"x","expires_in":1e300}"#, now) else {
            panic!()
        };
        assert!(t.expires_at().is_none() || t.expires_at() > Some(now));

        for body in [
            &br#"{"access_token":"x","expires_in":0}"#[..],
            br#"{"access_token":"x","expires_in":-5}"#,
        ] {
            let Ok(t) = parse_token_response(body, now) else {
                panic!()
            };
            assert_eq!(
                t.expires_at(),
                Some(now + ChronoDuration::seconds(MIN_EXPIRES_IN_SECS))
            );
        }
    }

    #[test]
    fn unusable_answers() {
        let now = Utc::now();
        assert!(matches!(
            parse_token_response(b"<html>", now),
            Err(ParseProblem::NotJson)
        ));
        assert!(matches!(
            parse_token_response(b"[]", now),
            Err(ParseProblem::NotJson)
        ));
        assert!(matches!(
            parse_token_response(b"{}", now),
            Err(ParseProblem::NoAccessToken)
        ));
        assert!(matches!(
            parse_token_response(br#"{"access_token":""}"#, now),
            Err(ParseProblem::NoAccessToken)
        ));
        assert!(matches!(
            parse_token_response(br#"{"access_token":5}"#, now),
            Err(ParseProblem::NoAccessToken)
        ));
    }

    #[test]
    fn jwt_claims_tolerates_garbage() {
        for t in [
            "",
            "a",
            "a.b",
            "a.b.c",
            "a.b.c.d",
            "..",
            "a.!!!.c",
            &jwt("[1]"),
            &jwt("not json"),
        ] {
            assert!(jwt_claims(t).is_none(), "{t}");
        }
        assert!(jwt_claims(&jwt(r#"{"zid":"z"}"#)).is_some());
    }

    #[test]
    fn debug_is_redacted() {
        let t = AccessToken::build(
            SecretString::from("tok-123".to_owned()),
            Some(10),
            None,
            Some(SecretString::from("ref-456".to_owned())),
            None,
            Utc::now(),
        );
        let text = format!("{t:?}");
        assert!(
            !text.contains("tok-123") && !text.contains("ref-456"),
            "{text}"
        );
    }

    proptest::proptest! {
        #[test]
        fn token_answers_never_panic(body in ".{0,200}") {
            let _ = parse_token_response(body.as_bytes(), Utc::now());
            let _ = jwt_claims(&body);
        }
    }
}
