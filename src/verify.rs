//! "Test Service Key": do these credentials get a token, and what does the token say?

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::auth::{AccessToken, TokenSource};
use crate::credentials::{ClientAuth, ServiceKey};
use crate::error::{Error, Result};
use crate::http::{HttpClient, check_url};

/// What checking a service key found. Holds no secret; serializes to JSON for scripts.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Verification {
    /// Whether the token server issued a token for these credentials.
    pub works: bool,
    /// Why they do not work, and what to do; `None` when they work.
    pub problem: Option<String>,
    /// The scopes granted in the token.
    pub scopes: Vec<String>,
    /// The identity zone (subaccount subdomain) the token was issued in, from the token's
    /// `ext_attr.zdn`, else the key's `identityzone`.
    pub identity_zone: Option<String>,
    /// The zone GUID from the token (`zid`).
    pub zone_id: Option<String>,
    /// The key's client id.
    pub client_id: String,
    /// When the token expires.
    pub token_expires_at: Option<DateTime<Utc>>,
    /// Whether the token's signature matches the key's `verificationkey`.
    pub signature: SignatureCheck,
    /// When the client certificate of an X.509 key expires.
    pub certificate_expires_at: Option<DateTime<Utc>>,
    /// Whole days until the certificate expires (negative once expired).
    pub certificate_days_left: Option<i64>,
    /// Whether the token's zone is the one the key names (`identityzoneid` or `identityzone`);
    /// `None` when either side does not say.
    pub zone_matches_key: Option<bool>,
}

/// The outcome of checking a token's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "detail", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SignatureCheck {
    /// The signature matches the key's `verificationkey`.
    Valid,
    /// It does not; the text says why (a rotated signing key is the usual reason).
    Invalid(String),
    /// It was not checked; the text says why (no `verificationkey`, not a JWT, no token).
    NotChecked(String),
}

/// Checks that `key` gets a token, and reports what the token says.
///
/// Returns `Err` only for unusable input (a token URL that the URL policy (https only, except to loopback addresses) refuses, a certificate
/// that cannot be read); a refused or unreachable token server gives `Ok` with `works: false`
/// and a `problem` saying what to do.
pub async fn verify(key: &ServiceKey, http: &HttpClient) -> Result<Verification> {
    let field = if key.is_x509() {
        "uaa.certurl"
    } else {
        "uaa.url"
    };
    check_url(&key.token_url(), field)?;
    let now = Utc::now();
    let (certificate_expires_at, certificate_problem) = match key.client_auth() {
        ClientAuth::Certificate { certificate, .. } => match certificate_not_after(certificate) {
            Some(at) => (
                Some(at),
                (at <= now).then(|| {
                    format!(
                        "the client certificate expired on {}; create a new key",
                        at.format("%Y-%m-%d")
                    )
                }),
            ),
            None => (
                None,
                Some("the client certificate cannot be read as PEM X.509".to_owned()),
            ),
        },
        ClientAuth::Secret { .. } => (None, None),
    };
    let certificate_days_left = certificate_expires_at.map(|at| (at - now).num_days());

    let mut verification = Verification {
        works: false,
        problem: None,
        scopes: Vec::new(),
        identity_zone: key.identity_zone().map(str::to_owned),
        zone_id: None,
        client_id: key.client_id().to_owned(),
        token_expires_at: None,
        signature: SignatureCheck::NotChecked("no token was issued".into()),
        certificate_expires_at,
        certificate_days_left,
        zone_matches_key: None,
    };

    let source = match TokenSource::from_service_key(key, http) {
        Ok(source) => source,
        Err(e @ Error::InvalidUrl { .. }) => return Err(e),
        Err(e) => {
            verification.problem = Some(certificate_problem.unwrap_or_else(|| e.to_string()));
            return Ok(verification);
        }
    };
    let token = match source.token().await {
        Ok(token) => token,
        Err(e) => {
            let mut problem = e.to_string();
            if let Some(cert) = certificate_problem {
                problem = format!("{cert} ({problem})");
            }
            verification.problem = Some(problem);
            return Ok(verification);
        }
    };
    verification.works = true;
    verification.scopes = token.scopes().to_vec();
    verification.token_expires_at = token.expires_at();
    verification.signature = check_signature(&token, key.verification_key());
    if let Some(claims) = token.claims() {
        let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
        verification.zone_id = text(claims.get("zid"));
        let zdn = text(claims.get("ext_attr").and_then(|e| e.get("zdn")));
        verification.zone_matches_key = match (
            &verification.zone_id,
            key.identity_zone_id(),
            &zdn,
            key.identity_zone(),
        ) {
            (Some(zid), Some(key_zid), _, _) => Some(zid.eq_ignore_ascii_case(key_zid)),
            (_, _, Some(zdn), Some(key_zone)) => Some(zdn.eq_ignore_ascii_case(key_zone)),
            _ => None,
        };
        if zdn.is_some() {
            verification.identity_zone = zdn;
        }
    }
    if verification.zone_matches_key == Some(false) {
        verification.problem = Some(
            "the token was issued for another identity zone than the key names: the key may belong to another subaccount".into(),
        );
    }
    Ok(verification)
}

/// Checks the token's signature against a PEM public key.
pub fn check_signature(token: &AccessToken, verification_key: Option<&str>) -> SignatureCheck {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use secrecy::ExposeSecret;

    let Some(pem) = verification_key.filter(|k| !k.trim().is_empty()) else {
        return SignatureCheck::NotChecked("the key has no uaa.verificationkey".into());
    };
    let jwt = token.secret().expose_secret();
    let Ok(header) = jsonwebtoken::decode_header(jwt) else {
        return SignatureCheck::NotChecked("the token is not a JWT".into());
    };
    if !matches!(
        header.alg,
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512
    ) {
        return SignatureCheck::NotChecked(format!(
            "the token is signed with {:?}; only RS256/RS384/RS512 are checked",
            header.alg
        ));
    }
    let Some(normalized) = normalize_public_key_pem(pem) else {
        return SignatureCheck::Invalid("uaa.verificationkey is not a PEM public key".into());
    };
    let key = match DecodingKey::from_rsa_pem(normalized.as_bytes()) {
        Ok(key) => key,
        Err(_) => {
            return SignatureCheck::Invalid(
                "uaa.verificationkey is not a readable RSA public key".into(),
            );
        }
    };
    let mut validation = Validation::new(header.alg);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.required_spec_claims.clear();
    match jsonwebtoken::decode::<serde_json::Value>(jwt, &key, &validation) {
        Ok(_) => SignatureCheck::Valid,
        Err(e) => match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => SignatureCheck::Invalid(
                "the signature does not match uaa.verificationkey (the token server may have rotated its signing key; get a fresh key to compare)".into(),
            ),
            _ => SignatureCheck::Invalid(format!("the token could not be checked: {e}")),
        },
    }
}

/// A PEM public key in canonical form, however its line breaks arrived: real newlines,
/// literal `\n`, or everything on one line.
pub fn normalize_public_key_pem(pem: &str) -> Option<String> {
    let text = pem.replace("\\n", "\n").replace("\\r", "");
    let (label, begin_end) = ["PUBLIC KEY", "RSA PUBLIC KEY"].iter().find_map(|label| {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let start = text.find(&begin)? + begin.len();
        let stop = text[start..].find(&end)? + start;
        Some((*label, (start, stop)))
    })?;
    let body: String = text[begin_end.0..begin_end.1]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if body.is_empty() {
        return None;
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).ok()?);
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    Some(out)
}

/// `notAfter` of the first certificate in a PEM chain.
pub fn certificate_not_after(pem_chain: &str) -> Option<DateTime<Utc>> {
    let text = pem_chain.replace("\\n", "\n");
    let (_, pem) = x509_parser::pem::parse_x509_pem(text.as_bytes()).ok()?;
    let cert = pem.parse_x509().ok()?;
    DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_normalisation() {
        let body = "A".repeat(100);
        let canonical = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----\n",
            &body[..64],
            &body[64..]
        );
        let forms = [
            format!("-----BEGIN PUBLIC KEY-----{body}-----END PUBLIC KEY-----"),
            format!("-----BEGIN PUBLIC KEY-----\\n{body}\\n-----END PUBLIC KEY-----"),
            format!(
                "-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----",
                &body[..30],
                &body[30..]
            ),
            format!("  -----BEGIN PUBLIC KEY----- {body} -----END PUBLIC KEY-----  "),
        ];
        for form in forms {
            assert_eq!(
                normalize_public_key_pem(&form).as_deref(),
                Some(canonical.as_str()),
                "{form}"
            );
        }
        assert!(normalize_public_key_pem("garbage").is_none());
        assert!(
            normalize_public_key_pem("-----BEGIN PUBLIC KEY----------END PUBLIC KEY-----")
                .is_none()
        );
        assert!(
            normalize_public_key_pem("-----END PUBLIC KEY-----x-----BEGIN PUBLIC KEY-----")
                .is_none()
        );
    }

    #[test]
    fn certificate_garbage() {
        assert!(certificate_not_after("").is_none());
        assert!(
            certificate_not_after("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")
                .is_none()
        );
    }

    proptest::proptest! {
        #[test]
        fn pem_and_certificate_readers_never_panic(text in ".{0,300}") {
            let _ = normalize_public_key_pem(&text);
            let _ = certificate_not_after(&text);
            let _ = normalize_public_key_pem(&format!("-----BEGIN PUBLIC KEY-----{text}-----END PUBLIC KEY-----"));
        }
    }
}
