//! The usual shapes of a service key, read in one pass into borrowed, typed structs.
//!
//! [`ServiceKey::from_json`](super::ServiceKey::from_json) tries this reading first: no
//! `serde_json::Value` tree is built, strings are borrowed from the text where they hold no escape,
//! unknown fields are skipped (they stay in the text, which the key keeps and decodes only when its
//! document is asked for). Whatever this reading does not recognise (a wrong type, a missing or
//! empty field, a duplicate key, an unusual spelling of `endpoints.Api`) makes it give up, and the
//! general parser reads the text again and builds the error with its JSON path. So this module
//! decides nothing the general parser would decide differently: it only ever succeeds where the
//! general parser succeeds, with the same result (a test checks both on every fixture).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use secrecy::SecretString;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::service_key::{
    ClientAuth, CredentialType, KeyLayout, LazyUrl, http_url, plainly_http_url,
};

/// A field that may be absent, `null`, or set (the general parser tells absent from `null` in
/// places, so this reading must as well).
#[derive(Debug, Default)]
pub(super) enum Slot<T> {
    #[default]
    Absent,
    Null,
    Set(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Slot<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(d)?.map_or(Slot::Null, Slot::Set))
    }
}

impl<T> Slot<T> {
    fn present(&self) -> bool {
        !matches!(self, Slot::Absent)
    }

    fn into_option(self) -> Option<T> {
        match self {
            Slot::Set(t) => Some(t),
            Slot::Absent | Slot::Null => None,
        }
    }
}

/// A JSON string, borrowed from the text unless it holds an escape.
#[derive(Debug)]
pub(super) struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

/// One object of a key: the credentials object, its `uaa` part, or a `credentials` wrapper. The
/// fields are those the general parser reads anywhere; which ones count depends on the place.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Obj<'a> {
    #[serde(borrow)]
    clientid: Slot<Str<'a>>,
    #[serde(borrow)]
    clientsecret: Slot<Str<'a>>,
    #[serde(borrow)]
    url: Slot<Str<'a>>,
    #[serde(borrow)]
    certurl: Slot<Str<'a>>,
    #[serde(borrow, rename = "credential-type")]
    credential_type: Slot<Str<'a>>,
    #[serde(borrow)]
    certificate: Slot<Str<'a>>,
    #[serde(borrow)]
    key: Slot<Str<'a>>,
    #[serde(borrow)]
    identityzone: Slot<Str<'a>>,
    #[serde(borrow)]
    identityzoneid: Slot<Str<'a>>,
    #[serde(borrow)]
    tenantid: Slot<Str<'a>>,
    #[serde(borrow)]
    xsappname: Slot<Str<'a>>,
    #[serde(borrow)]
    verificationkey: Slot<Str<'a>>,
    #[serde(borrow)]
    sm_url: Slot<Str<'a>>,
    #[serde(borrow)]
    endpoints: Slot<Endpoints<'a>>,
    #[serde(borrow)]
    uaa: Slot<Box<Obj<'a>>>,
    #[serde(borrow)]
    credentials: Slot<Box<Obj<'a>>>,
}

/// `endpoints`: `Api`, and whether another spelling of it (`api`, `API`) is there too.
#[derive(Debug, Default)]
pub(super) struct Endpoints<'a> {
    api: Slot<Str<'a>>,
    other_spelling: bool,
}

impl<'de: 'a, 'a> Deserialize<'de> for Endpoints<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Endpoints<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Endpoints<'a>, M::Error> {
                let mut out = Endpoints::default();
                while let Some(name) = map.next_key::<Str<'de>>()? {
                    if name.0 == "Api" {
                        if out.api.present() {
                            return Err(de::Error::duplicate_field("Api"));
                        }
                        out.api = map.next_value()?;
                    } else {
                        out.other_spelling |= name.0.eq_ignore_ascii_case("api");
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// What the typed reading found; the document itself stays in the text.
#[derive(Debug)]
pub(super) struct Parts {
    pub layout: KeyLayout,
    pub client_id: String,
    pub auth: ClientAuth,
    pub token_from_cert_url: bool,
    pub uaa_url: Option<LazyUrl>,
    pub cert_url: Option<LazyUrl>,
    pub api_url: Option<LazyUrl>,
    pub credential_type: Option<CredentialType>,
    pub identity_zone: Option<String>,
    pub identity_zone_id: Option<String>,
    pub tenant_id: Option<String>,
    pub xsappname: Option<String>,
    pub verification_key: Option<String>,
    pub sm_url: Option<LazyUrl>,
}

/// Reads `text` (BOM already removed) when it has one of the usual shapes; `None`: leave it to
/// the general parser.
pub(super) fn read(text: &str) -> Option<Parts> {
    let mut top: Obj<'_> = serde_json::from_str(text).ok()?;
    // `unwrap_credentials`: a `credentials` wrapper counts only without `uaa` or `clientid`.
    let looks_bare = top.uaa.present() || top.clientid.present();
    let (layout, mut doc) = match std::mem::take(&mut top.credentials) {
        Slot::Set(inner) if !looks_bare => (KeyLayout::Wrapped, *inner),
        Slot::Null if !looks_bare => return None,
        _ => (KeyLayout::Bare, top),
    };
    let endpoints = std::mem::take(&mut doc.endpoints);
    let sm_url = std::mem::take(&mut doc.sm_url);
    // `from_object`: the OAuth client under `uaa`, else flat at the top.
    let (oauth, layout) = match std::mem::take(&mut doc.uaa) {
        Slot::Set(uaa) => (*uaa, layout),
        Slot::Null => return None,
        Slot::Absent if !doc.clientid.present() => return None,
        Slot::Absent if layout == KeyLayout::Wrapped => (doc, layout),
        Slot::Absent => (doc, KeyLayout::Flat),
    };
    let client_id = match oauth.clientid {
        Slot::Set(s) if !s.0.trim().is_empty() => s.0.into_owned(),
        _ => return None,
    };
    let uaa_url = url(oauth.url)?;
    let cert_url = url(oauth.certurl)?;
    let credential_type = oauth
        .credential_type
        .into_option()
        .map(|s| CredentialType::parse(&s.0));
    let secret = secret_of(oauth.clientsecret)?;
    let certificate = oauth.certificate.into_option().map(|s| s.0.into_owned());
    let key = secret_of(oauth.key)?;
    // `client_auth`, success cases only.
    let auth = match (secret, certificate, key) {
        (Some(secret), _, _) if credential_type.as_ref() != Some(&CredentialType::X509) => {
            ClientAuth::Secret { secret }
        }
        (_, Some(certificate), Some(key)) => ClientAuth::Certificate { certificate, key },
        (Some(secret), _, _) => ClientAuth::Secret { secret },
        _ => return None,
    };
    let token_from_cert_url = match (&auth, &cert_url, &uaa_url) {
        (ClientAuth::Certificate { .. }, Some(_), _) => true,
        (ClientAuth::Secret { .. }, _, Some(_)) => false,
        _ => return None,
    };
    let api_url = match endpoints {
        Slot::Absent | Slot::Null => None,
        Slot::Set(e) if e.api.present() => url(e.api)?,
        Slot::Set(e) if e.other_spelling => return None,
        Slot::Set(_) => None,
    };
    let owned = |s: Slot<Str<'_>>| s.into_option().map(|s| s.0.into_owned());
    Some(Parts {
        layout,
        client_id,
        auth,
        token_from_cert_url,
        uaa_url,
        cert_url,
        api_url,
        credential_type,
        identity_zone: owned(oauth.identityzone),
        identity_zone_id: owned(oauth.identityzoneid),
        tenant_id: owned(oauth.tenantid),
        xsappname: owned(oauth.xsappname),
        verification_key: owned(oauth.verificationkey),
        sm_url: url(sm_url)?,
    })
}

/// `Some(None)` when absent or `null`, `Some(Some(url))` when a usable URL, `None` otherwise.
/// A URL of the plain shape is checked without being parsed (parsed on first use).
fn url(slot: Slot<Str<'_>>) -> Option<Option<LazyUrl>> {
    match slot {
        Slot::Absent | Slot::Null => Some(None),
        Slot::Set(s) if plainly_http_url(&s.0) => Some(Some(LazyUrl::from_text(s.0.into_owned()))),
        Slot::Set(s) => http_url(&s.0).map(|u| Some(LazyUrl::from(u))),
    }
}

/// As [`url`], for a secret: an empty one is the general parser's to report.
fn secret_of(slot: Slot<Str<'_>>) -> Option<Option<SecretString>> {
    match slot {
        Slot::Absent | Slot::Null => Some(None),
        Slot::Set(s) if s.0.is_empty() => None,
        Slot::Set(s) => Some(Some(SecretString::from(s.0.into_owned()))),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;
    use serde_json::{Value, json};

    use super::read;
    use crate::credentials::{ClientAuth, ServiceKey};

    const FIXTURES: [&str; 4] = [
        include_str!("../../tests/fixtures/keys/binding-secret.json"),
        include_str!("../../tests/fixtures/keys/instance-secret-wrapped.json"),
        include_str!("../../tests/fixtures/keys/service-manager.json"),
        include_str!("../../tests/fixtures/keys/x509.json"),
    ];

    /// Everything a caller can read from a key, secrets included, as one comparable value.
    fn observe(key: &ServiceKey) -> Value {
        let auth = match key.client_auth() {
            ClientAuth::Secret { secret } => json!({"secret": secret.expose_secret()}),
            ClientAuth::Certificate { certificate, key } => {
                json!({"certificate": certificate, "key": key.expose_secret()})
            }
        };
        let url = |u: Option<&url::Url>| u.map(|u| u.to_string());
        json!({
            "debug": format!("{key:?}"), "layout": format!("{:?}", key.layout()),
            "client_id": key.client_id(), "auth": auth, "token_url": key.token_url().as_str(),
            "uaa": url(key.uaa_url()), "cert": url(key.cert_url()), "api": url(key.api_url()),
            "sm": url(key.service_manager_url()),
            "type": key.credential_type().map(|t| t.as_str().to_owned()),
            "zone": key.identity_zone(), "zone_id": key.identity_zone_id(),
            "tenant": key.tenant_id(), "xsappname": key.xsappname(),
            "verification_key": key.verification_key(), "document": key.expose_json(),
            "redacted": key.redacted_json(), "tenantmode": key.field("uaa.tenantmode"),
        })
    }

    /// The typed reading and the general parser agree on `text`: same key, or both refuse
    /// (the error always comes from the general parser).
    fn agree(text: &str) -> bool {
        let general = ServiceKey::from_json_general(text.trim_start_matches('\u{feff}'));
        let used = ServiceKey::from_json(text);
        match (&general, &used) {
            (Ok(g), Ok(u)) => assert_eq!(observe(g), observe(u), "{text}"),
            (Err(g), Err(u)) => assert_eq!(g.to_string(), u.to_string(), "{text}"),
            _ => panic!("disagree on {text}: {general:?} / {used:?}"),
        }
        read(text).is_some()
    }

    #[test]
    fn every_fixture_is_read_typed_with_the_general_parsers_result() {
        for text in FIXTURES {
            assert!(agree(text), "the typed reading gave up on {text}");
        }
    }

    #[test]
    fn unusual_shapes_fall_back_or_agree() {
        let binding: Value = serde_json::from_str(FIXTURES[0]).unwrap();
        let with = |f: &dyn Fn(&mut Value)| {
            let mut v = binding.clone();
            f(&mut v);
            v.to_string()
        };
        let cases = [
            with(&|v| v["endpoints"] = json!({"api": "https://a.example/x"})),
            with(&|v| v["endpoints"] = json!({"API": "https://b.example", "Api": "https://a.example"})),
            with(&|v| v["endpoints"] = json!({"Api": null})),
            with(&|v| v["endpoints"] = Value::Null),
            with(&|v| v["endpoints"] = json!("x")),
            with(&|v| v["uaa"]["identityzone"] = Value::Null),
            with(&|v| v["uaa"]["identityzone"] = json!(7)),
            with(&|v| v["uaa"]["clientsecret"] = json!("")),
            with(&|v| v["uaa"]["url"] = json!(" https://padded.example ")),
            with(&|v| v["uaa"]["url"] = json!("ftp://x.example")),
            with(&|v| v["uaa"]["credential-type"] = json!("x509")),
            with(&|v| v["uaa"]["certurl"] = json!("https://cert.example")),
            with(&|v| v["credentials"] = json!("kept, the key is bare")),
            with(&|v| v["uaa"]["uaa"] = json!("ignored inside uaa")),
            with(&|v| v["sm_url"] = json!("https://sm.example")),
            with(&|v| v["uaa"] = Value::Null),
            r#"{"credentials": null}"#.to_owned(),
            r#"{"credentials": {"clientid": "c", "clientsecret": "s", "url": "https://u.example"}}"#.to_owned(),
            r#"{"clientid": "c", "clientsecret": "s", "url": "https://u.example", "uaa": null}"#.to_owned(),
            r#"{"clientid": "c", "clientid": "d", "clientsecret": "s", "url": "https://u.example"}"#.to_owned(),
            r#"{"uaa": {"clientid": "a\"b\\u00e9", "clientsecret": "s\n", "url": "https://u.example"}}"#.to_owned(),
            "\u{feff}{\"uaa\": {\"clientid\": \"c\", \"clientsecret\": \"s\", \"url\": \"https://u.example\"}}".to_owned(),
            r#"{"uaa": {"clientid": "c", "clientsecret": "s", "url": "https://u.example"}} x"#.to_owned(),
            "[]".to_owned(),
        ];
        for text in &cases {
            agree(text);
        }
        // The common spellings of the exceptions still take the typed reading.
        assert!(agree(&cases[2]) && agree(&cases[5]) && agree(&cases[20]));
        assert!(
            !agree(&cases[0]),
            "another spelling of Api is the general parser's"
        );
    }

    #[test]
    fn plain_urls_are_the_ones_the_parser_takes() {
        use crate::credentials::service_key::{http_url, plainly_http_url};
        for plain in [
            "https://acme.authentication.eu10.hana.ondemand.com",
            "http://127.0.0.1.nip.io:8080/x?y=1#z",
            "https://a-b.example:65535/api/v1",
            "https://EXAMPLE.com/",
            "https://127.0.0.1:8080",
            "http://10.0.255.0/v1",
        ] {
            assert!(plainly_http_url(plain), "{plain}");
            assert!(http_url(plain).is_some(), "{plain}");
        }
        for unsure in [
            "https://1.2.3.999",
            "https://127.1:8080",
            "https://01.2.3.4",
            "https://1.2.3.4.5",
            "https://0x7f.0.0.1",
            "https://xn--zz.example",
            "https://a..b",
            "https://x.example:65536",
            "http://a:0A",
            "https://user@x.example",
            "https://x.example/a b",
            " https://x.example",
            "ftp://x.example",
            "https://",
            "https://[::1]/",
        ] {
            assert!(!plainly_http_url(unsure), "{unsure}");
        }
    }

    proptest::proptest! {
        /// An IPv4 host the quick check accepts is written by the parser exactly as given (the
        /// lazily parsed URL is the one checked).
        #[test]
        fn quick_check_takes_only_canonical_ipv4(
            text in "https?://([0-9]{1,4}\\.){2,4}[0-9]{1,4}(:[0-9]{1,5})?"
        ) {
            use crate::credentials::service_key::{http_url, plainly_http_url};
            if plainly_http_url(&text) {
                let url = http_url(&text);
                proptest::prop_assert!(url.is_some(), "{}", text);
                let url = url.unwrap();
                let host = text.split("://").nth(1).unwrap().split(':').next().unwrap();
                proptest::prop_assert_eq!(url.host_str(), Some(host));
            }
        }

        /// Whatever the quick check accepts, the URL parser accepts too.
        #[test]
        fn quick_check_never_accepts_what_the_parser_refuses(
            text in "(https?://)?[a-zA-Z0-9.:\\-]{0,24}(/[ -~]{0,12})?"
        ) {
            use crate::credentials::service_key::{http_url, plainly_http_url};
            if plainly_http_url(&text) {
                proptest::prop_assert!(http_url(&text).is_some(), "{}", text);
            }
        }
    }
}
