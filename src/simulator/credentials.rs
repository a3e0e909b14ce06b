//! Credential objects as the Cloud ALM API broker hands them out (cloud-alm.md §6), and the OAuth
//! clients behind them.
//!
//! Simulator conventions (not SAP facts):
//! - every instance gets one OAuth client `sb-<xsappname>!b<n>|sapcloudalm!b1`;
//! - the instance's `xs-security.authorities` become the client's scopes, `$XSMASTERAPPNAME.`
//!   replaced by the master application `sapcloudalm!b1` (so `$XSMASTERAPPNAME.imp-cdm-feature-display-ui`
//!   is granted as `sapcloudalm!b1.imp-cdm-feature-display-ui`), plus `uaa.resource`;
//! - monitoring credentials are represented by the made-up scopes in [`MONITORING_AUTHORITIES`];
//! - `sburl` and `apiurl` point at the simulator but serve nothing.

use serde_json::{Value, json};

use super::keys::{CLIENT_CERT_PEM, CLIENT_KEY_PEM, JWT_PUBLIC_KEY_PEM};
use super::state::{OAuthClient, Urls, World, random_string};

/// The Cloud ALM master application that replaces `$XSMASTERAPPNAME`.
pub(crate) const MASTER_APP: &str = "sapcloudalm!b1";

/// Simulator convention for "credentials for operations monitoring only".
pub(crate) const MONITORING_AUTHORITIES: [&str; 2] = [
    "$XSMASTERAPPNAME.calm-api.monitoring.push",
    "$XSMASTERAPPNAME.calm-api.monitoring.read",
];

/// The transport management scopes (cloud-alm.md §4).
pub(crate) const TRANSPORT_AUTHORITIES: [&str; 2] = [
    "$XSMASTERAPPNAME.imp-cdm-feature-display-ui",
    "$XSMASTERAPPNAME.imp-cdm-feature-manage-ui",
];

/// `uaa.credential-type` of a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialType {
    BindingSecret,
    InstanceSecret,
    X509,
}

impl CredentialType {
    fn word(self) -> &'static str {
        match self {
            CredentialType::BindingSecret => "binding-secret",
            CredentialType::InstanceSecret => "instance-secret",
            CredentialType::X509 => "x509",
        }
    }

    /// The type asked for: binding parameter `credential-type`, else the instance's first
    /// `oauth2-configuration.credential-types`, else the platform's default.
    pub fn choose(binding_params: &Value, instance_params: &Value, default: Self) -> Self {
        let asked = binding_params["credential-type"].as_str().or_else(|| {
            instance_params["xs-security"]["oauth2-configuration"]["credential-types"][0].as_str()
        });
        match asked {
            Some("x509") => CredentialType::X509,
            Some("instance-secret") => CredentialType::InstanceSecret,
            Some("binding-secret") => CredentialType::BindingSecret,
            _ => default,
        }
    }
}

/// The OAuth client of one instance.
#[derive(Debug, Clone)]
pub(crate) struct InstanceClient {
    pub client_id: String,
    pub xsappname: String,
}

/// The authorities asked for in instance parameters.
pub(crate) fn authorities(parameters: &Value) -> Vec<String> {
    parameters["xs-security"]["authorities"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Registers the OAuth client of a new instance in the tenant's zone.
pub(crate) fn register_instance_client(
    world: &mut World,
    tenant: usize,
    instance_name: &str,
    parameters: &Value,
) -> InstanceClient {
    let base = parameters["xs-security"]["xsappname"]
        .as_str()
        .unwrap_or(instance_name)
        .to_owned();
    let xsappname = format!("{base}!b{}", world.next_broker_number());
    let client_id = format!("sb-{xsappname}|{MASTER_APP}");
    let mut scopes: Vec<String> = authorities(parameters)
        .iter()
        .map(|a| match a.strip_prefix("$XSMASTERAPPNAME.") {
            Some(scope) => format!("{MASTER_APP}.{scope}"),
            None => a.clone(),
        })
        .collect();
    scopes.push("uaa.resource".to_owned());
    let zone_id = world.tenants[tenant].info.zone_id.clone();
    world.auth.clients.insert(
        client_id.clone(),
        OAuthClient {
            zone_id,
            secrets: Vec::new(),
            scopes,
            x509: false,
        },
    );
    InstanceClient {
        client_id,
        xsappname,
    }
}

/// Issues credentials for `client`: registers the secret (or certificate) with the token server
/// and returns the credentials object. `shared_secret` is the instance secret for
/// `instance-secret` credentials.
pub(crate) fn issue(
    world: &mut World,
    urls: &Urls,
    tenant: usize,
    client: &InstanceClient,
    kind: CredentialType,
    shared_secret: Option<&str>,
) -> Value {
    let info = world.tenants[tenant].info.clone();
    let mut uaa = serde_json::Map::new();
    uaa.insert("clientid".into(), json!(client.client_id));
    let registered = world.auth.clients.get_mut(&client.client_id);
    match kind {
        CredentialType::X509 => {
            if let Some(c) = registered {
                c.x509 = true;
            }
            uaa.insert("certificate".into(), json!(CLIENT_CERT_PEM));
            uaa.insert("key".into(), json!(CLIENT_KEY_PEM));
            uaa.insert(
                "certurl".into(),
                json!(urls.cert_token(&info.subdomain).as_str()),
            );
        }
        _ => {
            let secret = match (kind, shared_secret) {
                (CredentialType::InstanceSecret, Some(s)) => s.to_owned(),
                _ => format!("{}${}", random_string(40), random_string(12)),
            };
            if let Some(c) = registered
                && !c.secrets.contains(&secret)
            {
                c.secrets.push(secret.clone());
            }
            uaa.insert("clientsecret".into(), json!(secret));
        }
    }
    uaa.insert("url".into(), json!(urls.token(&info.subdomain).as_str()));
    uaa.insert("identityzone".into(), json!(info.subdomain));
    uaa.insert("identityzoneid".into(), json!(info.zone_id));
    uaa.insert("tenantid".into(), json!(info.zone_id));
    uaa.insert("tenantmode".into(), json!("shared"));
    uaa.insert("sburl".into(), json!(urls.token("internal-xsuaa").as_str()));
    uaa.insert("apiurl".into(), json!(urls.token("api").as_str()));
    uaa.insert("verificationkey".into(), json!(JWT_PUBLIC_KEY_PEM));
    uaa.insert("xsappname".into(), json!(client.xsappname));
    uaa.insert("credential-type".into(), json!(kind.word()));
    json!({
        "endpoints": {"Api": urls.calm_api(&info.subdomain).as_str()},
        "uaa": Value::Object(uaa),
    })
}

/// A fresh instance secret.
pub(crate) fn new_instance_secret() -> String {
    format!("{}${}", random_string(40), random_string(12))
}
