//! Turning an error answer from the wire into an [`ApiError`].

use std::time::Duration;

use serde_json::Value;

use crate::error::ApiError;

/// Longest platform message kept in an error.
const MAX_MESSAGE: usize = 1000;
/// Longest excerpt of an unreadable body kept in an error.
const MAX_EXCERPT: usize = 300;

/// What the platform said, read from any of its three error body shapes.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct WireError {
    pub code: Option<String>,
    pub numeric_code: Option<i64>,
    pub message: Option<String>,
    pub body_excerpt: Option<String>,
}

/// Reads an error body: Service Manager `{"error","description"}`, Cloud Foundry
/// `{"errors":[{"code","title","detail"}]}`, token server `{"error","error_description"}`; any
/// other body becomes a shortened excerpt. Never panics.
pub(crate) fn parse_error_body(body: &[u8]) -> WireError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    if let Some(Value::Object(obj)) = &parsed {
        if let Some(Value::Array(errors)) = obj.get("errors") {
            let first = errors.iter().find_map(Value::as_object);
            if let Some(first) = first {
                let details: Vec<&str> = errors
                    .iter()
                    .filter_map(|e| e.get("detail").and_then(Value::as_str))
                    .filter(|d| !d.trim().is_empty())
                    .collect();
                return WireError {
                    code: text(first.get("title")),
                    numeric_code: first.get("code").and_then(Value::as_i64),
                    message: (!details.is_empty())
                        .then(|| shorten(&details.join("; "), MAX_MESSAGE)),
                    body_excerpt: None,
                };
            }
        }
        let code = text(obj.get("error"));
        let message = text(obj.get("description"))
            .or_else(|| text(obj.get("error_description")))
            .or_else(|| text(obj.get("message")));
        if code.is_some() || message.is_some() {
            return WireError {
                code,
                numeric_code: None,
                message: message.map(|m| shorten(&m, MAX_MESSAGE)),
                body_excerpt: None,
            };
        }
    }
    WireError {
        body_excerpt: excerpt(body),
        ..WireError::default()
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(shorten(s.trim(), MAX_MESSAGE)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A printable, shortened copy of a body, or `None` when it is empty.
pub(crate) fn excerpt(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_EXCERPT * 4)]);
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let collapsed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return None;
    }
    let mut out = shorten(&collapsed, MAX_EXCERPT);
    if body.len() > MAX_EXCERPT {
        out.push_str(&format!(" ({} bytes in all)", body.len()));
    }
    Some(out)
}

/// `s` cut to at most `max` characters (on a character boundary), with `…` when cut.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((cut, _)) => format!("{}…", &s[..cut]),
    }
}

/// `text` without any of `secrets` (as sent, form-encoded or percent-encoded) and without what
/// [`redact_text`](crate::credentials::redact::redact_text) recognises as a secret.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 3) {
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let percent = form.replace('+', "%20");
        for shape in [secret.to_string(), form, percent] {
            if out.contains(&shape) {
                out = out.replace(&shape, crate::credentials::redact::REDACTED);
            }
        }
    }
    crate::credentials::redact::redact_text(&out).into_owned()
}

/// Everything known about an error answer, for [`api_error`].
pub(crate) struct ErrorContext<'a> {
    pub method: &'a str,
    pub url: String,
    pub status: u16,
    pub body: &'a [u8],
    pub retry_after: Option<Duration>,
    pub location_host: Option<String>,
    pub router_error: Option<&'a str>,
    pub correlation_id: &'a str,
    pub warnings: Vec<String>,
}

/// The [`ApiError`] for an error answer.
pub(crate) fn api_error(ctx: ErrorContext<'_>) -> ApiError {
    let mut wire = parse_error_body(ctx.body);
    let mut retryable = matches!(ctx.status, 429 | 502 | 503 | 504);
    if (300..400).contains(&ctx.status) {
        let target = ctx.location_host.as_deref().unwrap_or("an unknown host");
        wire.message = Some(format!(
            "redirected to `{target}`; the redirect was not followed so that credentials are not sent to another host: use the final URL directly"
        ));
    }
    if let Some(router) = ctx.router_error {
        wire.message = Some(format!(
            "the Cloud Foundry router answered (X-Cf-RouterError: {}), not the API: the route is not available right now",
            shorten(router, 100)
        ));
        retryable = true;
    }
    ApiError {
        method: ctx.method.to_owned(),
        url: ctx.url,
        status: ctx.status,
        code: wire.code,
        numeric_code: wire.numeric_code,
        message: wire.message,
        body_excerpt: wire.body_excerpt,
        retryable,
        retry_after: ctx.retry_after,
        correlation_id: ctx.correlation_id.to_owned(),
        warnings: ctx.warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_shapes() {
        let sm = parse_error_body(
            br#"{"error":"Conflict","description":"binding with same name exists"}"#,
        );
        assert_eq!(sm.code.as_deref(), Some("Conflict"));
        assert_eq!(sm.message.as_deref(), Some("binding with same name exists"));

        let cf = parse_error_body(
            br#"{"errors":[{"code":10008,"title":"CF-UnprocessableEntity","detail":"name taken"},{"code":1,"title":"X","detail":"more"}]}"#,
        );
        assert_eq!(cf.code.as_deref(), Some("CF-UnprocessableEntity"));
        assert_eq!(cf.numeric_code, Some(10008));
        assert_eq!(cf.message.as_deref(), Some("name taken; more"));

        let token = parse_error_body(
            br#"{"error":"invalid_client","error_description":"Bad credentials"}"#,
        );
        assert_eq!(token.code.as_deref(), Some("invalid_client"));
        assert_eq!(token.message.as_deref(), Some("Bad credentials"));

        let html = parse_error_body(b"<html>\n<body>Bad Gateway</body></html>");
        assert_eq!(html.code, None);
        assert_eq!(
            html.body_excerpt.as_deref(),
            Some("<html> <body>Bad Gateway</body></html>")
        );

        assert_eq!(parse_error_body(b""), WireError::default());
        assert_eq!(parse_error_body(b"   \n"), WireError::default());

        let odd = parse_error_body(br#"{"errors":[]}"#);
        assert!(odd.body_excerpt.is_some());
        let odd = parse_error_body(br#"{"errors":"x","error":{"nested":true}}"#);
        assert!(odd.body_excerpt.is_some());
        let odd = parse_error_body(br#"[1,2]"#);
        assert_eq!(odd.body_excerpt.as_deref(), Some("[1,2]"));
    }

    #[test]
    fn huge_and_binary_bodies_are_shortened() {
        let huge = vec![b'a'; 1_000_000];
        let e = parse_error_body(&huge);
        let text = e.body_excerpt.unwrap();
        assert!(text.chars().count() < 400, "{}", text.len());
        assert!(text.ends_with("(1000000 bytes in all)"));

        let binary: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let e = parse_error_body(&binary);
        assert!(e.body_excerpt.unwrap().chars().count() < 400);

        let long_message = format!(r#"{{"error":"X","description":"{}"}}"#, "é".repeat(5000));
        let e = parse_error_body(long_message.as_bytes());
        assert_eq!(e.message.unwrap().chars().count(), MAX_MESSAGE + 1);
    }

    #[test]
    fn shorten_respects_char_boundaries() {
        assert_eq!(shorten("héllo", 2), "hé…");
        assert_eq!(shorten("hé", 2), "hé");
        assert_eq!(shorten("", 0), "");
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_stays_short(body in proptest::collection::vec(proptest::num::u8::ANY, 0..4000)) {
            let e = parse_error_body(&body);
            if let Some(x) = e.body_excerpt {
                proptest::prop_assert!(x.chars().count() < 400);
            }
        }

        #[test]
        fn never_panics_on_json_like_text(body in r#"[\[\]{}":,a-z0-9 ]{0,200}"#) {
            let _ = parse_error_body(body.as_bytes());
        }
    }
}
