//! What the readers look at: the environment variables and the default roots, captured in an
//! [`ProcessEnv`] so tests never touch the process environment or `/etc`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// `@sap/xsenv`'s default root of the legacy `<service>/<instance>` layout.
pub const XSENV_DEFAULT_ROOT: &str = "/etc/secrets/sapcp";
/// The default root of SAP's Java libraries (`btp-environment-variable-access`).
pub const JAVA_DEFAULT_ROOT: &str = "/etc/secrets/sapbtp";

/// The environment variables this module reads.
pub const VARIABLES: [&str; 4] = [
    "VCAP_SERVICES_FILE_PATH",
    "VCAP_SERVICES",
    "SERVICE_BINDING_ROOT",
    "XSENV_PARSE_ALL_JSON",
];

/// Everything the readers look at: environment variables and the default roots.
///
/// [`ProcessEnv::new`] is empty (no variables, no default roots), so a test sees only what it
/// puts in; [`ProcessEnv::from_process`] is the real thing.
///
/// `Debug` shows variable names only (`VCAP_SERVICES` holds secrets).
#[derive(Clone, Default)]
pub struct ProcessEnv {
    vars: BTreeMap<String, String>,
    xsenv_root: Option<PathBuf>,
    java_root: Option<PathBuf>,
}

impl ProcessEnv {
    /// No variables and no default roots.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current process's variables (those in `VARIABLES`; values that are not UTF-8 are
    /// converted lossily) and the standard default roots.
    pub fn from_process() -> Self {
        let mut env = ProcessEnv::new().with_standard_default_roots();
        for name in VARIABLES {
            if let Some(v) = std::env::var_os(name) {
                env.vars
                    .insert(name.to_owned(), v.to_string_lossy().into_owned());
            }
        }
        env
    }

    /// This environment with variable `name` set to `value`.
    #[must_use]
    pub fn with_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// This environment with the default roots `/etc/secrets/sapcp` (xsenv) and `/etc/secrets/sapbtp` (SAP Java libraries).
    #[must_use]
    pub fn with_standard_default_roots(self) -> Self {
        self.with_xsenv_default_root(XSENV_DEFAULT_ROOT)
            .with_java_default_root(JAVA_DEFAULT_ROOT)
    }

    /// Replaces `/etc/secrets/sapcp`, the legacy root used when `SERVICE_BINDING_ROOT` is unset.
    #[must_use]
    pub fn with_xsenv_default_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.xsenv_root = Some(root.into());
        self
    }

    /// Replaces `/etc/secrets/sapbtp`, the extra root read when `SERVICE_BINDING_ROOT` is unset.
    #[must_use]
    pub fn with_java_default_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.java_root = Some(root.into());
        self
    }

    /// The value of a variable, if set.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The value of a variable if set and not empty (xsenv treats empty as unset).
    pub(super) fn non_empty(&self, name: &str) -> Option<&str> {
        self.var(name).filter(|v| !v.is_empty())
    }

    pub(super) fn parse_all_json(&self) -> bool {
        self.var("XSENV_PARSE_ALL_JSON") == Some("true")
    }

    /// The legacy root read when `SERVICE_BINDING_ROOT` is unset, if any.
    pub(super) fn xsenv_root(&self) -> Option<&Path> {
        self.xsenv_root.as_deref()
    }

    /// The Java libraries' root read when `SERVICE_BINDING_ROOT` is unset, if any.
    pub(super) fn java_root(&self) -> Option<&Path> {
        self.java_root.as_deref()
    }
}

impl fmt::Debug for ProcessEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessEnv")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("xsenv_root", &self.xsenv_root)
            .field("java_root", &self.java_root)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_debug_hides_values() {
        let env = ProcessEnv::new().with_var("VCAP_SERVICES", "{\"x\":\"s3cr3t\"}");
        let d = format!("{env:?}");
        assert!(d.contains("VCAP_SERVICES") && !d.contains("s3cr3t"));
    }
}
