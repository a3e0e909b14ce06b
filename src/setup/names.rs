//! Name rules for instances, bindings and service keys, checked before any request is sent.

use crate::error::{Error, Result};

/// Longest instance name SAP allows.
pub const MAX_INSTANCE_NAME: usize = 32;

/// Checks an instance name: 1 to 32 characters of `A-Z a-z 0-9 . _ -` (SAP: "alphanumeric
/// characters, numbers from 0 to 9, periods, and hyphens; underscores instead of spaces").
///
/// ```
/// use calm_credentials::validate_instance_name;
/// assert!(validate_instance_name("cloud-alm-api").is_ok());
/// assert!(validate_instance_name("cloud alm api").is_err());
/// ```
pub fn validate_instance_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("it is empty; use 1 to 32 characters".to_owned())
    } else if name.chars().count() > MAX_INSTANCE_NAME {
        Some(format!(
            "it has {} characters; SAP allows at most {MAX_INSTANCE_NAME}",
            name.chars().count()
        ))
    } else {
        name.chars().find(|c| !allowed(*c)).map(|c| {
            format!(
                "it contains {}; use only letters, digits, periods, hyphens and underscores (underscores instead of spaces)",
                describe_char(c)
            )
        })
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidName {
            kind: "instance",
            name: name.to_owned(),
            reason,
        }),
    }
}

/// Checks a binding or service key name: not empty, no control characters, and not of the
/// `<SID>_<client>_<sysno>` shape SAP reserves for automatically created credentials.
///
/// `kind` names the thing in the error ("binding" or "service key").
pub fn validate_credential_name(kind: &'static str, name: &str) -> Result<()> {
    let invalid = |reason: String| Error::InvalidName {
        kind,
        name: name.to_owned(),
        reason,
    };
    if name.trim().is_empty() {
        return Err(invalid("it is empty".to_owned()));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(invalid(format!("it contains {}", describe_char(c))));
    }
    if is_reserved_system_name(name) {
        return Err(invalid(
            "it has the shape <system ID>_<client>_<system number> (like ABC_100_00) that SAP reserves \
             for automatically created credentials; a binding of that name would clash with them. \
             Pick a name such as calm-api-key-2026"
                .to_owned(),
        ));
    }
    Ok(())
}

/// Whether `name` has the reserved `<SID>_<client>_<sysno>` shape: a 3-character system ID
/// starting with a letter, a 3-digit client and a 2-digit system number (case-insensitive).
///
/// SAP does not define the parts; this follows SAP's usual conventions.
pub fn is_reserved_system_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('_').collect();
    let [sid, client, sysno] = parts.as_slice() else {
        return false;
    };
    let sid_ok = sid.len() == 3
        && sid.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && sid.chars().all(|c| c.is_ascii_alphanumeric());
    let digits = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_digit());
    sid_ok && digits(client, 3) && digits(sysno, 2)
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names() {
        let cases = [
            ("cloud-alm-api", true),
            ("CALMFeatureDeployment", true),
            ("calm_api.v2", true),
            ("a", true),
            (&"x".repeat(32), true),
            (&"x".repeat(33), false),
            ("", false),
            ("cloud alm", false),
            ("calm/api", false),
            ("calm-äpi", false),
            ("calm\napi", false),
        ];
        for (name, ok) in cases {
            assert_eq!(validate_instance_name(name).is_ok(), ok, "{name:?}");
        }
    }

    #[test]
    fn reserved_names() {
        let cases = [
            ("ABC_100_00", true),
            ("abc_100_00", true),
            ("S4H_001_10", true),
            ("1BC_100_00", false),
            ("ABCD_100_00", false),
            ("ABC_10_00", false),
            ("ABC_100_000", false),
            ("ABC-100-00", false),
            ("calm-binding", false),
            ("ABC_100_00_x", false),
        ];
        for (name, reserved) in cases {
            assert_eq!(is_reserved_system_name(name), reserved, "{name}");
            assert_eq!(
                validate_credential_name("binding", name).is_err(),
                reserved,
                "{name}"
            );
        }
    }

    #[test]
    fn credential_name_errors_explain() {
        let err = validate_credential_name("binding", "PRD_100_00").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("PRD_100_00") && text.contains("reserves"),
            "{text}"
        );
        assert!(validate_credential_name("service key", " ").is_err());
    }
}
