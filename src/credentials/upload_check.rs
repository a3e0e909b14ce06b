//! The format checks the Landscape Management app runs before it accepts a service key
//! (`reference/cloud-alm.md` §10), as one function that reports every failed check.

use serde::Serialize;
use serde_json::{Map, Value};

/// One of the Landscape Management app's upload checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum UploadCheck {
    /// The file is valid JSON (an object).
    ValidJson,
    /// `uaa.identityzone` is the tenant's subaccount subdomain.
    BelongsToTenant,
    /// `uaa.clientid` and `uaa.clientsecret` are present.
    ClientIdAndSecret,
    /// `uaa.credential-type` is `binding-secret` or `instance-secret`.
    CredentialType,
}

impl UploadCheck {
    /// Every check, in the app's order.
    pub const ALL: [UploadCheck; 4] = [
        UploadCheck::ValidJson,
        UploadCheck::BelongsToTenant,
        UploadCheck::ClientIdAndSecret,
        UploadCheck::CredentialType,
    ];

    /// What the check asks, in words.
    pub fn describe(self) -> &'static str {
        match self {
            UploadCheck::ValidJson => "the file is valid JSON",
            UploadCheck::BelongsToTenant => "uaa.identityzone matches the tenant",
            UploadCheck::ClientIdAndSecret => "uaa.clientid and uaa.clientsecret are present",
            UploadCheck::CredentialType => {
                "uaa.credential-type is binding-secret or instance-secret"
            }
        }
    }
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CheckStatus {
    /// The key passes.
    Passed,
    /// The key fails; the app would refuse it.
    Failed,
    /// Could not be checked (no tenant given, or the file is not JSON).
    NotChecked,
}

/// The outcome of one check, with a detail a user can act on (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CheckOutcome {
    /// Which check.
    pub check: UploadCheck,
    /// How it came out.
    pub status: CheckStatus,
    /// What was found and what to do.
    pub detail: String,
}

/// Every check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct UploadReport {
    /// One outcome per check, in [`UploadCheck::ALL`] order.
    pub outcomes: Vec<CheckOutcome>,
}

impl UploadReport {
    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &CheckOutcome> {
        self.outcomes
            .iter()
            .filter(|o| o.status == CheckStatus::Failed)
    }
}

/// Runs the Landscape Management upload checks on the text of a key file.
///
/// `tenant_zone` is the tenant's subaccount subdomain; without it the tenant check is
/// [`CheckStatus::NotChecked`]. A key wrapped as `{"credentials": {…}}` is checked inside the
/// wrapper (upload the inner object).
///
/// ```
/// use calm_credentials::{upload_checks, UploadCheck};
/// let report = upload_checks(r#"{"uaa": {"clientid": "c", "identityzone": "other"}}"#, Some("acme"));
/// let failed: Vec<_> = report.failures().map(|o| o.check).collect();
/// assert_eq!(failed, [UploadCheck::BelongsToTenant, UploadCheck::ClientIdAndSecret,
///                     UploadCheck::CredentialType]);
/// ```
pub fn upload_checks(text: &str, tenant_zone: Option<&str>) -> UploadReport {
    let parsed = serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}'));
    let (json_outcome, doc) = match parsed {
        Ok(Value::Object(top)) => unwrap(top),
        Ok(other) => (
            failed(
                UploadCheck::ValidJson,
                format!(
                    "the file is JSON but {}, not an object",
                    crate::error::json_shape(&other)
                ),
            ),
            None,
        ),
        Err(e) => (
            failed(
                UploadCheck::ValidJson,
                format!(
                    "not valid JSON (line {}, column {}); download the key again",
                    e.line(),
                    e.column()
                ),
            ),
            None,
        ),
    };
    let mut outcomes = vec![json_outcome];
    match doc {
        Some(doc) => {
            let uaa = doc.get("uaa").and_then(Value::as_object);
            outcomes.push(check_tenant(uaa, tenant_zone));
            outcomes.push(check_client(uaa));
            outcomes.push(check_type(uaa));
        }
        None => outcomes.extend(UploadCheck::ALL[1..].iter().map(|&check| CheckOutcome {
            check,
            status: CheckStatus::NotChecked,
            detail: "not checked: the file is not a JSON object".to_owned(),
        })),
    }
    UploadReport { outcomes }
}

fn unwrap(mut top: Map<String, Value>) -> (CheckOutcome, Option<Map<String, Value>>) {
    if !top.contains_key("uaa")
        && let Some(Value::Object(inner)) = top.remove("credentials")
    {
        return (
            passed(
                UploadCheck::ValidJson,
                "valid JSON; the key is inside a `credentials` wrapper (as `cf service-key` prints it): upload the inner object",
            ),
            Some(inner),
        );
    }
    (passed(UploadCheck::ValidJson, "valid JSON"), Some(top))
}

fn check_tenant(uaa: Option<&Map<String, Value>>, tenant_zone: Option<&str>) -> CheckOutcome {
    let zone = uaa
        .and_then(|u| u.get("identityzone"))
        .and_then(Value::as_str);
    match (zone, tenant_zone) {
        (None, _) => failed(
            UploadCheck::BelongsToTenant,
            "uaa.identityzone is missing; the app cannot tell which tenant the key belongs to",
        ),
        (Some(_), None) => CheckOutcome {
            check: UploadCheck::BelongsToTenant,
            status: CheckStatus::NotChecked,
            detail: "not checked: the tenant's subaccount subdomain was not given".to_owned(),
        },
        (Some(z), Some(t)) if z.eq_ignore_ascii_case(t.trim()) => {
            passed(UploadCheck::BelongsToTenant, format!("identity zone `{z}`"))
        }
        (Some(z), Some(t)) => failed(
            UploadCheck::BelongsToTenant,
            format!(
                "the key belongs to identity zone `{z}`, not to `{t}`; use credentials of the tenant's own subaccount"
            ),
        ),
    }
}

fn check_client(uaa: Option<&Map<String, Value>>) -> CheckOutcome {
    let present = |name: &str| {
        uaa.and_then(|u| u.get(name))
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty())
    };
    let missing: Vec<&str> = ["clientid", "clientsecret"]
        .into_iter()
        .filter(|f| !present(f))
        .collect();
    let x509 = uaa.is_some_and(|u| u.contains_key("certificate"));
    match (missing.is_empty(), x509) {
        (true, _) => passed(
            UploadCheck::ClientIdAndSecret,
            "client id and secret present",
        ),
        (false, true) => failed(
            UploadCheck::ClientIdAndSecret,
            "this is an X.509 key without a client secret; the app accepts only secret credentials: create a binding with credential type binding-secret",
        ),
        (false, false) => failed(
            UploadCheck::ClientIdAndSecret,
            format!(
                "missing: {}",
                missing
                    .iter()
                    .map(|m| format!("uaa.{m}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    }
}

fn check_type(uaa: Option<&Map<String, Value>>) -> CheckOutcome {
    match uaa.and_then(|u| u.get("credential-type")) {
        Some(Value::String(t)) if t == "binding-secret" || t == "instance-secret" => passed(
            UploadCheck::CredentialType,
            format!("credential type `{t}`"),
        ),
        Some(Value::String(t)) => failed(
            UploadCheck::CredentialType,
            format!(
                "credential type `{t}` is not accepted; use a binding (binding-secret) or service key (instance-secret)"
            ),
        ),
        Some(other) => failed(
            UploadCheck::CredentialType,
            format!(
                "uaa.credential-type is {}, not a string",
                crate::error::json_shape(other)
            ),
        ),
        None => failed(
            UploadCheck::CredentialType,
            "uaa.credential-type is missing",
        ),
    }
}

fn passed(check: UploadCheck, detail: impl Into<String>) -> CheckOutcome {
    CheckOutcome {
        check,
        status: CheckStatus::Passed,
        detail: detail.into(),
    }
}

fn failed(check: UploadCheck, detail: impl Into<String>) -> CheckOutcome {
    CheckOutcome {
        check,
        status: CheckStatus::Failed,
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CheckStatus::*;

    const GOOD: &str = r#"{"endpoints":{"Api":"https://eu10.alm.cloud.sap/api"},"uaa":{"clientid":"c","clientsecret":"TOPSECRET","url":"https://acme.authentication.eu10.hana.ondemand.com","identityzone":"acme","credential-type":"binding-secret"}}"#;

    fn statuses(text: &str, zone: Option<&str>) -> Vec<CheckStatus> {
        upload_checks(text, zone)
            .outcomes
            .iter()
            .map(|o| o.status)
            .collect()
    }

    #[test]
    fn table() {
        let instance = GOOD.replace("binding-secret", "instance-secret");
        let x509 = GOOD
            .replace(
                "\"clientsecret\":\"TOPSECRET\"",
                "\"certificate\":\"C\",\"key\":\"K\"",
            )
            .replace("binding-secret", "x509");
        let wrapped = format!("{{\"credentials\":{GOOD}}}");
        let no_zone = GOOD.replace("\"identityzone\":\"acme\",", "");
        let cases: Vec<(&str, &str, Option<&str>, Vec<CheckStatus>)> = vec![
            (
                "good",
                GOOD,
                Some("acme"),
                vec![Passed, Passed, Passed, Passed],
            ),
            (
                "zone case",
                GOOD,
                Some("ACME"),
                vec![Passed, Passed, Passed, Passed],
            ),
            (
                "no tenant given",
                GOOD,
                None,
                vec![Passed, NotChecked, Passed, Passed],
            ),
            (
                "other tenant",
                GOOD,
                Some("other"),
                vec![Passed, Failed, Passed, Passed],
            ),
            (
                "instance-secret",
                &instance,
                Some("acme"),
                vec![Passed, Passed, Passed, Passed],
            ),
            (
                "x509",
                &x509,
                Some("acme"),
                vec![Passed, Passed, Failed, Failed],
            ),
            (
                "wrapped",
                &wrapped,
                Some("acme"),
                vec![Passed, Passed, Passed, Passed],
            ),
            (
                "no zone",
                &no_zone,
                Some("acme"),
                vec![Passed, Failed, Passed, Passed],
            ),
            (
                "not json",
                "{nope",
                Some("acme"),
                vec![Failed, NotChecked, NotChecked, NotChecked],
            ),
            (
                "array",
                "[1]",
                None,
                vec![Failed, NotChecked, NotChecked, NotChecked],
            ),
            (
                "empty object",
                "{}",
                Some("acme"),
                vec![Passed, Failed, Failed, Failed],
            ),
        ];
        for (name, text, zone, want) in cases {
            assert_eq!(statuses(text, zone), want, "{name}");
        }
    }

    #[test]
    fn details_never_show_the_secret() {
        let report = upload_checks(
            &GOOD.replace("acme\",\"credential", "x\",\"credential"),
            Some("acme"),
        );
        let text = serde_json::to_string(&report).unwrap();
        assert!(!text.contains("TOPSECRET"));
        assert!(!report.passed());
    }
}
