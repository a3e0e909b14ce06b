//! Which URLs may be sent to, and how URLs are shown in errors and traces.

use url::{Host, Url};

use crate::error::{Error, Result};

/// Refuses a URL before anything is sent to it.
///
/// Allowed: `https://` to any host, and plain `http://` only to a literal loopback address
/// (`127.0.0.0/8`, `::1`), so tests and the simulator work without TLS while real credentials
/// never travel in clear text. `http://localhost` is refused: the name goes through the
/// resolver (`/etc/hosts`, DNS), which may send it anywhere. URLs with user info (`https://user:pass@host`) are refused too.
///
/// `field` names where the URL came from (`uaa.url`, `--api`), so the error says what to fix.
pub fn check_url(url: &Url, field: &str) -> Result<()> {
    let refuse = |reason: String| {
        Err(Error::InvalidUrl {
            field: field.to_owned(),
            reason,
        })
    };
    if !url.username().is_empty() || url.password().is_some() {
        return refuse(format!(
            "`{}` carries user info; remove it (credentials are never sent in URLs)",
            sanitize_url(url)
        ));
    }
    let Some(host) = url.host() else {
        return refuse(format!("`{}` has no host", sanitize_url(url)));
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&host) => Ok(()),
        "http" => refuse(format!(
            "`{}` uses plain http to a host that is not a loopback address; use https:// (plain http is only allowed to a literal 127.0.0.1 or [::1], not to a name such as localhost)",
            sanitize_url(url)
        )),
        other => refuse(format!(
            "`{}` has scheme `{other}`; only https:// (or http:// to loopback) is supported",
            sanitize_url(url)
        )),
    }
}

/// Literal loopback addresses only: a name is resolved by whatever the system's resolver says.
fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(_) => false,
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// The URL without query, fragment or user info: safe for errors and traces.
pub fn sanitize_url(url: &Url) -> String {
    let mut clean = url.clone();
    clean.set_query(None);
    clean.set_fragment(None);
    // Both setters only fail for URLs that cannot have credentials, which then have none.
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_table() {
        let cases = [
            ("https://example.com/", true),
            ("https://10.0.0.1/", true),
            ("http://127.0.0.1:1234/", true),
            ("http://127.8.9.1/", true),
            ("http://[::1]:80/", true),
            ("http://localhost:8080/x", false),
            ("http://LOCALHOST/", false),
            ("https://localhost:8443/", true),
            ("http://[::ffff:127.0.0.1]/", false),
            ("http://example.com/", false),
            ("http://10.0.0.1/", false),
            ("http://localhost.evil.com/", false),
            ("http://[::2]/", false),
            ("ftp://example.com/", false),
            ("https://user:pw@example.com/", false),
            ("file:///etc/passwd", false),
        ];
        for (url, ok) in cases {
            let parsed = Url::parse(url).unwrap();
            let result = check_url(&parsed, "test.field");
            assert_eq!(result.is_ok(), ok, "{url}");
            if let Err(e) = result {
                let text = e.to_string();
                assert!(text.contains("test.field"), "{text}");
                assert!(!text.contains("pw"), "{text}");
            }
        }
    }

    #[test]
    fn sanitize_strips_query_and_user() {
        let url =
            Url::parse("https://me:secret@h.example:8443/a/b?client_secret=x&y=1#frag").unwrap();
        assert_eq!(sanitize_url(&url), "https://h.example:8443/a/b");
    }
}

#[cfg(test)]
mod examples {
    use super::*;

    #[test]
    fn https_or_loopback_only() {
        use url::Url;
        assert!(check_url(&Url::parse("https://api.example.com/v1").unwrap(), "api").is_ok());
        assert!(check_url(&Url::parse("http://127.0.0.1:8080/").unwrap(), "api").is_ok());
        assert!(check_url(&Url::parse("http://example.com/").unwrap(), "api").is_err());
    }

    #[test]
    fn sanitized_urls_lose_credentials_query_and_fragment() {
        let url = url::Url::parse("https://u:p@host.example/v1/x?token=abc#f").unwrap();
        assert_eq!(sanitize_url(&url), "https://host.example/v1/x");
    }
}
