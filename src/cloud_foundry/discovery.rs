//! `GET /` on the Cloud Foundry API: where the login server is. Never hard-code hosts.

use url::Url;

use super::types::Root;
use crate::error::{Error, Resource, Result};
use crate::http::{HttpClient, Request, check_url};

/// The endpoints an API names in its root document.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoints {
    /// The login server (`links.login`, else `links.uaa`); tokens come from `<login>/oauth/token`.
    pub login: Url,
    /// The UAA, when named.
    pub uaa: Option<Url>,
    /// The v3 API base, when named.
    pub cloud_controller_v3: Option<Url>,
}

/// Reads `GET /` (no authentication) and returns the endpoints it names.
pub(crate) async fn discover(api: &Url, http: &HttpClient) -> Result<Endpoints> {
    let root: Root = http.send(Request::get(api.clone()), None).await?.json()?;
    endpoints(api, &root)
}

/// The endpoints in a root document (pure).
pub(crate) fn endpoints(api: &Url, root: &Root) -> Result<Endpoints> {
    let parse = |name: &str| -> Result<Option<Url>> {
        let Some(href) = root.link(name) else {
            return Ok(None);
        };
        let url = Url::parse(href).map_err(|e| Error::InvalidUrl {
            field: format!("links.{name}.href of {api}"),
            reason: e.to_string(),
        })?;
        check_url(&url, &format!("links.{name}.href"))?;
        Ok(Some(url))
    };
    let uaa = parse("uaa")?;
    let login = match parse("login")? {
        Some(login) => login,
        None => uaa.clone().ok_or_else(|| Error::NotFound {
            resource: Resource::Endpoint,
            name: format!("login server of {api}"),
            creatable: false,
            detail: Some("the API's root document (GET /) names neither links.login nor links.uaa; check that the URL is the Cloud Foundry API (https://api.cf.<region>.hana.ondemand.com)".into()),
        })?,
    };
    Ok(Endpoints {
        login,
        uaa,
        cloud_controller_v3: parse("cloud_controller_v3")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(v: serde_json::Value) -> Root {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn prefers_login_then_uaa() {
        let api = Url::parse("https://api.cf.example").unwrap();
        let r = root(serde_json::json!({"links": {
            "login": {"href": "https://login.cf.example"},
            "uaa": {"href": "https://uaa.cf.example"}, "credhub": null}}));
        assert_eq!(
            endpoints(&api, &r).unwrap().login.host_str(),
            Some("login.cf.example")
        );
        let r = root(serde_json::json!({"links": {"uaa": {"href": "https://uaa.cf.example"}}}));
        assert_eq!(
            endpoints(&api, &r).unwrap().login.host_str(),
            Some("uaa.cf.example")
        );
        let err = endpoints(&api, &root(serde_json::json!({"links": {}}))).unwrap_err();
        assert!(err.to_string().contains("links.login"), "{err}");
        let r = root(serde_json::json!({"links": {"login": {"href": "http://login.cf.example"}}}));
        assert!(endpoints(&api, &r).is_err());
    }
}
