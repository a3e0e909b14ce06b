//! A successful answer, read whole.

// A typed client of the whole API: the journeys use part of it, the contract tests the rest.
#![allow(dead_code)]

use std::fmt;

use reqwest::header::HeaderMap;
use url::Url;

use crate::error::{Error, Result};

use super::sanitize_url;

/// A successful (2xx) answer: status, headers and the whole body.
pub struct Response {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) url: Url,
    pub(crate) correlation_id: String,
}

impl Response {
    /// HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// A header's value, if present and valid text. Names are case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The body as received.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body decoded as JSON into `T`.
    ///
    /// On failure the error names the JSON path that did not fit and the expected shape, never
    /// the values found (a response may carry credentials).
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        // The document's name is only needed in an error, so it is only built for one.
        decode_json(&self.body, || {
            format!("response from {}", sanitize_url(&self.url))
        })
    }

    /// The `Location` header resolved against the request URL (relative or absolute).
    pub fn location(&self) -> Option<Url> {
        let value = self.header("location")?.trim();
        if value.is_empty() {
            return None;
        }
        self.url.join(value).ok()
    }

    /// Cloud Foundry's `X-Cf-Warnings`: split on commas, each percent-decoded.
    pub fn warnings(&self) -> Vec<String> {
        cf_warnings(&self.headers)
    }

    /// The URL that answered (after same-host redirects), query included.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The correlation id sent with the request (`X-CorrelationID`).
    pub fn correlation_id(&self) -> &str {
        &self.correlation_id
    }
}

impl fmt::Debug for Response {
    /// Status, URL without query and body length; never the body, which may hold credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("url", &sanitize_url(&self.url))
            .field("body_len", &self.body.len())
            .field("correlation_id", &self.correlation_id)
            .finish_non_exhaustive()
    }
}

/// The `X-Cf-Warnings` of an answer: comma-separated, each escaped with Ruby's `CGI.escape`
/// (a space arrives as `+`, a `+` as `%2B`), decoded as the cf CLI does (`url.QueryUnescape`).
pub(crate) fn cf_warnings(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .get_all("x-cf-warnings")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|w| {
            url::form_urlencoded::parse(format!("w={}", w.trim()).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Decodes JSON into `T`, reporting the failing path and shapes but never a value.
///
/// The common case (a well-formed answer) takes serde_json's direct path; only a failure is
/// decoded again with path tracking, which costs about as much as the decode itself.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(
    body: &[u8],
    document: impl FnOnce() -> String,
) -> Result<T> {
    match serde_json::from_slice(body) {
        Ok(value) => Ok(value),
        Err(_) => decode_json_tracking_path(body, &document()),
    }
}

/// The slow path of [`decode_json`]: the same decode with the failing JSON path recorded.
fn decode_json_tracking_path<T: serde::de::DeserializeOwned>(
    body: &[u8],
    document: &str,
) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let result: std::result::Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = result.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let (expected, found) = describe_serde_error(&inner);
        Error::invalid_json(
            document,
            path,
            expected,
            found,
            "the server's answer has an unexpected shape; check that the URL points at the right API",
        )
    })?;
    de.end().map_err(|e| {
        Error::invalid_json(
            document,
            "$",
            "one JSON document",
            format!("trailing data at line {} column {}", e.line(), e.column()),
            "the server's answer is not plain JSON",
        )
    })?;
    Ok(value)
}

/// `(expected, found)` from a serde_json error, without quoting any value from the input.
fn describe_serde_error(e: &serde_json::Error) -> (String, String) {
    use serde_json::error::Category;
    let at = format!("line {} column {}", e.line(), e.column());
    match e.classify() {
        Category::Io | Category::Syntax => ("valid JSON".into(), format!("invalid JSON at {at}")),
        Category::Eof => (
            "valid JSON".into(),
            format!("the document ends early at {at}"),
        ),
        Category::Data => {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg);
            if let Some(field) = msg.strip_prefix("missing field ") {
                return (format!("the field {field}"), "nothing".into());
            }
            let expected = msg
                .rsplit_once(", expected ")
                .map(|(_, exp)| exp.to_owned())
                .unwrap_or_else(|| "another shape".into());
            let found = if let Some(rest) = msg.strip_prefix("invalid type: ") {
                // `invalid type: string "…", expected u32`: keep only the kind word.
                let kind = rest.split([' ', ',']).next().unwrap_or("value");
                format!("a {kind}")
            } else if msg.starts_with("invalid length") {
                "a different number of elements".into()
            } else if msg.starts_with("unknown variant") {
                "an unknown variant".into()
            } else if msg.starts_with("unknown field") {
                "an unknown field".into()
            } else if msg.starts_with("duplicate field") {
                "a duplicate field".into()
            } else {
                "a value that does not fit".into()
            };
            (expected, found)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn response(headers: &[(&'static str, &str)], body: &[u8]) -> Response {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(*k, HeaderValue::from_str(v).unwrap());
        }
        Response {
            status: 200,
            headers: map,
            body: body.to_vec(),
            url: Url::parse("https://sm.example/v1/service_bindings?x=1").unwrap(),
            correlation_id: "c".into(),
        }
    }

    #[test]
    fn location_relative_and_absolute() {
        let r = response(
            &[("location", "/v1/service_bindings/abc/operations/1")],
            b"",
        );
        assert_eq!(
            r.location().unwrap().as_str(),
            "https://sm.example/v1/service_bindings/abc/operations/1"
        );
        let r = response(&[("location", "https://other.example/x")], b"");
        assert_eq!(r.location().unwrap().as_str(), "https://other.example/x");
        assert!(response(&[], b"").location().is_none());
    }

    #[test]
    fn warnings_are_split_and_decoded() {
        let r = response(
            &[(
                "x-cf-warnings",
                "Warning%3A%20one, two%2C%20with%20comma,a%2Bb,Plan+is+deprecated%3A+use+%27standard%27",
            )],
            b"",
        );
        assert_eq!(
            r.warnings(),
            vec![
                "Warning: one",
                "two, with comma",
                "a+b",
                "Plan is deprecated: use 'standard'"
            ]
        );
        assert!(response(&[], b"").warnings().is_empty());
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Binding {
        name: String,
        credentials: Creds,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Creds {
        port: u32,
    }

    #[test]
    fn json_errors_name_the_path_not_the_value() {
        let r = response(&[], br#"{"name":"b","credentials":{"port":"hunter2"}}"#);
        let e = r.json::<Binding>().unwrap_err().to_string();
        assert!(e.contains("credentials.port"), "{e}");
        assert!(e.contains("u32"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");

        let r = response(&[], br#"{"credentials":{"port":1}}"#);
        let e = r.json::<Binding>().unwrap_err().to_string();
        assert!(e.contains("`name`"), "{e}");

        let r = response(&[], b"<html>");
        assert!(r.json::<Binding>().is_err());
        let r = response(&[], br#"{"name":"b","credentials":{"port":1}} trailing"#);
        assert!(r.json::<Binding>().is_err());
        let r = response(&[], br#"{"name":"b","credentials":{"port":1}}"#);
        assert!(r.json::<Binding>().is_ok());
    }
}
