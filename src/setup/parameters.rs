//! Instance parameters: the `xs-security` JSON an "SAP Cloud ALM API" instance is created with,
//! and the scope names it can grant.

use serde_json::{Value, json};

use crate::error::{Error, Result};

/// The prefix the broker replaces with the Cloud ALM master application.
pub const MASTER_APP_PREFIX: &str = "$XSMASTERAPPNAME.";

/// The scopes transport management needs (use without the prefix; the builder adds it).
pub(crate) mod scopes {
    /// Transport management: display features (needed with [`TRANSPORT_MANAGE`]).
    pub(crate) const TRANSPORT_DISPLAY: &str = "imp-cdm-feature-display-ui";
    /// Transport management: manage features.
    pub(crate) const TRANSPORT_MANAGE: &str = "imp-cdm-feature-manage-ui";
    /// The two scopes transport management needs.
    pub(crate) const TRANSPORT: [&str; 2] = [TRANSPORT_DISPLAY, TRANSPORT_MANAGE];
}

/// The credential type a Service Manager ("Other" environment) instance declares.
pub const BINDING_SECRET: &str = "binding-secret";

/// Builder for the `xs-security` parameters of an instance.
///
/// ```
/// use calm_credentials::InstanceParameters;
/// let params = InstanceParameters::new("calm-transport")
///     .authorities(["imp-cdm-feature-display-ui", "imp-cdm-feature-manage-ui"])
///     .credential_types(["binding-secret"])
///     .to_json()?;
/// assert_eq!(params["xs-security"]["authorities"][0],
///            "$XSMASTERAPPNAME.imp-cdm-feature-display-ui");
/// # Ok::<(), calm_credentials::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceParameters {
    xsappname: String,
    authorities: Vec<String>,
    credential_types: Vec<String>,
}

impl InstanceParameters {
    /// Parameters with `xsappname` (the instance name for a new instance, its id for an update).
    pub fn new(xsappname: impl Into<String>) -> Self {
        InstanceParameters {
            xsappname: xsappname.into(),
            authorities: Vec::new(),
            credential_types: Vec::new(),
        }
    }

    /// The parameters SAP prescribes for a new instance in the "Other" environment
    /// (Service Manager): `credential-types: ["binding-secret"]`.
    pub fn for_service_manager(instance_name: &str, scopes: &[String]) -> Self {
        Self::new(instance_name)
            .authorities(scopes.iter().map(String::as_str))
            .credential_types([BINDING_SECRET])
    }

    /// The parameters of a new instance in a Cloud Foundry space (SAP's Path B had only
    /// `xsappname` and `authorities`).
    pub fn for_cloud_foundry(instance_name: &str, scopes: &[String]) -> Self {
        Self::new(instance_name).authorities(scopes.iter().map(String::as_str))
    }

    /// Parameters to update an existing instance: `xsappname` must be the instance id and every
    /// authority already granted must be repeated, or it is lost. SAP advises creating a new
    /// instance instead, since managed systems may use this one's credentials.
    pub fn for_update(instance_id: &str, existing: &[String], added: &[String]) -> Self {
        Self::new(instance_id)
            .authorities(existing.iter().map(String::as_str))
            .authorities(added.iter().map(String::as_str))
    }

    /// Adds one scope (with or without the `$XSMASTERAPPNAME.` prefix; duplicates are dropped).
    pub fn authority(mut self, scope: &str) -> Self {
        let bare = scope
            .strip_prefix(MASTER_APP_PREFIX)
            .unwrap_or(scope)
            .trim();
        if !self.authorities.iter().any(|a| a == bare) {
            self.authorities.push(bare.to_owned());
        }
        self
    }

    /// Adds several scopes.
    pub fn authorities<'a>(self, scopes: impl IntoIterator<Item = &'a str>) -> Self {
        scopes.into_iter().fold(self, Self::authority)
    }

    /// Sets `oauth2-configuration.credential-types`.
    pub fn credential_types<'a>(mut self, types: impl IntoIterator<Item = &'a str>) -> Self {
        self.credential_types = types.into_iter().map(str::to_owned).collect();
        self
    }

    /// The scopes, without prefix.
    pub fn scopes(&self) -> &[String] {
        &self.authorities
    }

    /// Checks the values and renders the JSON the platform expects.
    pub fn to_json(&self) -> Result<Value> {
        self.validate()?;
        let authorities: Vec<String> = self
            .authorities
            .iter()
            .map(|s| format!("{MASTER_APP_PREFIX}{s}"))
            .collect();
        let mut xs = json!({ "xsappname": self.xsappname, "authorities": authorities });
        if !self.credential_types.is_empty() {
            xs["oauth2-configuration"] = json!({ "credential-types": self.credential_types });
        }
        Ok(json!({ "xs-security": xs }))
    }

    fn validate(&self) -> Result<()> {
        if self.xsappname.trim().is_empty() {
            return Err(Error::InvalidName {
                kind: "xsappname",
                name: self.xsappname.clone(),
                reason: "it is empty; use the instance name (or the instance id when updating)"
                    .to_owned(),
            });
        }
        match self.authorities.iter().find(|s| !valid_scope(s)) {
            Some(bad) => Err(Error::InvalidName {
                kind: "scope",
                name: bad.clone(),
                reason: "scope names use letters, digits, `.`, `-` and `_` (for example calm-api.projects.read)"
                    .to_owned(),
            }),
            None => Ok(()),
        }
    }
}

fn valid_scope(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_manager_parameters_match_sap_example() {
        let scopes: Vec<String> = scopes::TRANSPORT.iter().map(|s| s.to_string()).collect();
        let got = InstanceParameters::for_service_manager("calm-api", &scopes)
            .to_json()
            .unwrap();
        let want = json!({"xs-security": {
            "xsappname": "calm-api",
            "authorities": ["$XSMASTERAPPNAME.imp-cdm-feature-display-ui",
                            "$XSMASTERAPPNAME.imp-cdm-feature-manage-ui"],
            "oauth2-configuration": {"credential-types": ["binding-secret"]}
        }});
        assert_eq!(got, want);
    }

    #[test]
    fn cloud_foundry_parameters_have_no_credential_types() {
        let got = InstanceParameters::for_cloud_foundry("calm-api", &[])
            .to_json()
            .unwrap();
        assert_eq!(
            got,
            json!({"xs-security": {"xsappname": "calm-api", "authorities": []}})
        );
    }

    #[test]
    fn prefix_is_not_doubled_and_duplicates_drop() {
        let p = InstanceParameters::new("x")
            .authority("$XSMASTERAPPNAME.calm-api.tasks.read")
            .authority("calm-api.tasks.read");
        assert_eq!(p.scopes(), ["calm-api.tasks.read"]);
    }

    #[test]
    fn update_repeats_existing_authorities() {
        let p = InstanceParameters::for_update(
            "3e2f-guid",
            &["calm-api.tasks.read".into()],
            &["calm-api.tasks.write".into()],
        );
        let j = p.to_json().unwrap();
        assert_eq!(j["xs-security"]["xsappname"], "3e2f-guid");
        assert_eq!(j["xs-security"]["authorities"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn invalid_values_are_refused() {
        assert!(InstanceParameters::new("").to_json().is_err());
        assert!(
            InstanceParameters::new("x")
                .authority("bad scope")
                .to_json()
                .is_err()
        );
    }
}
