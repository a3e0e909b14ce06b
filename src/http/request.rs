//! A request to a platform API, built before it is handed to [`HttpClient::send`](super::HttpClient::send).

// A typed client of the whole API: the journeys use part of it, the contract tests the rest.
#![allow(dead_code)]

use std::fmt;

use url::Url;

/// The HTTP methods the platform APIs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// Whether sending it twice has the same effect as once (GET, PUT, DELETE).
    pub fn is_idempotent(self) -> bool {
        matches!(self, Method::Get | Method::Put | Method::Delete)
    }

    pub(crate) fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One logical request: method, URL, query, optional JSON body, and whether it may be retried.
#[derive(Clone)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) body: Option<serde_json::Value>,
    pub(crate) retry_safe: bool,
    pub(crate) headers: Vec<(String, String)>,
}

impl Request {
    /// A request with `method` to `url`; retry-safe when the method is idempotent.
    pub fn new(method: Method, url: Url) -> Self {
        Request {
            method,
            url,
            body: None,
            retry_safe: method.is_idempotent(),
            headers: Vec::new(),
        }
    }

    /// `GET url` (retry-safe).
    pub fn get(url: Url) -> Self {
        Self::new(Method::Get, url)
    }

    /// `POST url` (not retry-safe unless [`Request::retry_safe`] says so).
    pub fn post(url: Url) -> Self {
        Self::new(Method::Post, url)
    }

    /// `PUT url` (retry-safe).
    pub fn put(url: Url) -> Self {
        Self::new(Method::Put, url)
    }

    /// `PATCH url` (not retry-safe unless [`Request::retry_safe`] says so).
    pub fn patch(url: Url) -> Self {
        Self::new(Method::Patch, url)
    }

    /// `DELETE url` (retry-safe).
    pub fn delete(url: Url) -> Self {
        Self::new(Method::Delete, url)
    }

    /// Appends a query parameter. Key and value are percent-encoded (a space becomes `%20`,
    /// quotes, `|`, `!`, `&`, `=`, `+` and non-ASCII are escaped).
    pub fn query(self, key: &str, value: impl Into<String>) -> Self {
        self.query_pairs([(key, value.into().as_str())])
    }

    /// [`Request::query`] for several parameters at once: the URL's query is rewritten once,
    /// not once per parameter.
    pub(crate) fn query_pairs<'a>(
        mut self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let mut pairs = pairs.into_iter().peekable();
        if pairs.peek().is_none() {
            return self;
        }
        let mut query = self.url.query().unwrap_or("").to_owned();
        for (key, value) in pairs {
            if !query.is_empty() {
                query.push('&');
            }
            push_encoded(&mut query, key);
            query.push('=');
            push_encoded(&mut query, value);
        }
        self.url.set_query(Some(&query));
        self
    }

    /// Sends `body` as JSON (`Content-Type: application/json`).
    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Whether the request may be sent again after a transient failure (5xx, dropped connection,
    /// timeout). GET, PUT and DELETE default to `true`, POST and PATCH to `false`; a backend sets
    /// `true` on a create it made idempotent (for example by looking the name up first).
    pub fn retry_safe(mut self, yes: bool) -> Self {
        self.retry_safe = yes;
        self
    }

    /// Adds a header (`If-Match`, …). `Authorization`, `User-Agent`, `Accept` and the
    /// correlation id are set by the client and cannot be overridden here.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The URL, query included.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Whether the request may be retried after a transient failure.
    pub fn is_retry_safe(&self) -> bool {
        self.retry_safe
    }
}

impl fmt::Debug for Request {
    /// Shows method, URL without query, and whether there is a body; never the query or body,
    /// which may hold secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &super::sanitize_url(&self.url))
            .field("has_body", &self.body.is_some())
            .field("retry_safe", &self.retry_safe)
            .finish_non_exhaustive()
    }
}

/// Percent-encodes a query component: everything but unreserved characters, spaces as `%20`.
pub(crate) fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_encoded(&mut out, s);
    out
}

/// Appends `s` percent-encoded to `out`: the bytes `application/x-www-form-urlencoded` leaves
/// alone (ASCII letters, digits, `*`, `-`, `.`, `_`) as they are, every other byte as `%XX`, so
/// a space becomes `%20` (never `+`, which the Service Manager would read as a plus).
fn push_encoded(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    /// The bytes kept as they are, by value (one lookup per byte).
    const KEEP: [bool; 256] = {
        let mut keep = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            keep[b] = c.is_ascii_alphanumeric() || matches!(c, b'*' | b'-' | b'.' | b'_');
            b += 1;
        }
        keep
    };
    // Runs of kept bytes are copied whole: they are ASCII, so always valid text.
    fn run(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).unwrap_or_default()
    }
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if KEEP[usize::from(b)] {
            continue;
        }
        out.push_str(run(&bytes[start..i]));
        out.push('%');
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xF)]));
        start = i + 1;
    }
    out.push_str(run(&bytes[start..]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encoding() {
        let url = Url::parse("https://h.example/v1/x?a=1").unwrap();
        let r = Request::get(url)
            .query("fieldQuery", "name eq 'it''s' and x eq \"y\"")
            .query("labelQuery", "a|b!c&d=e+f/é");
        assert_eq!(
            r.url().query().unwrap(),
            "a=1&fieldQuery=name%20eq%20%27it%27%27s%27%20and%20x%20eq%20%22y%22\
             &labelQuery=a%7Cb%21c%26d%3De%2Bf%2F%C3%A9"
        );
        let pairs: Vec<(String, String)> = r.url().query_pairs().into_owned().collect();
        assert_eq!(pairs[2].1, "a|b!c&d=e+f/é");
        assert_eq!(pairs[1].1, "name eq 'it''s' and x eq \"y\"");
    }

    #[test]
    fn retry_safety_defaults() {
        let u = || Url::parse("https://h.example/").unwrap();
        assert!(Request::get(u()).is_retry_safe());
        assert!(Request::delete(u()).is_retry_safe());
        assert!(Request::put(u()).is_retry_safe());
        assert!(!Request::post(u()).is_retry_safe());
        assert!(!Request::patch(u()).is_retry_safe());
        assert!(Request::post(u()).retry_safe(true).is_retry_safe());
    }

    #[test]
    fn debug_hides_query_and_body() {
        let r = Request::post(Url::parse("https://h.example/x").unwrap())
            .query("secret", "hunter2")
            .json(serde_json::json!({"password": "hunter3"}));
        let text = format!("{r:?}");
        assert!(!text.contains("hunter"), "{text}");
    }

    proptest::proptest! {
        #[test]
        fn encoding_is_form_urlencoding_with_spaces_as_percent_20(value in "\\PC{0,40}") {
            let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            proptest::prop_assert_eq!(encode_component(&value), form.replace('+', "%20"));
        }

        #[test]
        fn query_values_round_trip(key in "[a-zA-Z_]{1,10}", value in ".{0,60}") {
            let r = Request::get(Url::parse("https://h.example/x").unwrap()).query(&key, value.clone());
            let pairs: Vec<(String, String)> = r.url().query_pairs().into_owned().collect();
            proptest::prop_assert_eq!(pairs, vec![(key, value)]);
        }
    }
}

#[cfg(test)]
mod examples {
    use super::*;

    #[test]
    fn query_parameters_are_encoded() {
        let url = url::Url::parse("https://sm.example/v1/service_offerings").unwrap();
        let request = Request::get(url).query("fieldQuery", "name eq 'SAPCloudALMAPIs'");
        assert_eq!(
            request.url().as_str(),
            "https://sm.example/v1/service_offerings?fieldQuery=name%20eq%20%27SAPCloudALMAPIs%27"
        );
    }
}
