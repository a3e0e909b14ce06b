//! Where a service was found: a [`Source`] of some [`SourceKind`].

use std::fmt;
use std::path::Path;

/// Which kind of source a service came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceKind {
    /// The JSON file named by `VCAP_SERVICES_FILE_PATH`.
    VcapServicesFile,
    /// The `VCAP_SERVICES` environment variable.
    VcapServices,
    /// A servicebinding.io root (`<root>/<binding>/<entry files>`).
    ServiceBinding,
    /// A legacy root (`<root>/<service>/<instance>/<files>`).
    Legacy,
}

impl SourceKind {
    /// A stable short name (`vcap-file`, `vcap`, `service-binding`, `legacy`) for JSON output.
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceKind::VcapServicesFile => "vcap-file",
            SourceKind::VcapServices => "vcap",
            SourceKind::ServiceBinding => "service-binding",
            SourceKind::Legacy => "legacy",
        }
    }
}

/// One place that was looked at: a kind and where (variable name or path).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Source {
    /// The kind of source.
    pub kind: SourceKind,
    /// `VCAP_SERVICES`, or the file or root path (as given).
    pub location: String,
}

impl Source {
    pub(super) fn new(kind: SourceKind, location: impl Into<String>) -> Self {
        Source {
            kind,
            location: location.into(),
        }
    }

    pub(super) fn path(kind: SourceKind, path: &Path) -> Self {
        Source::new(kind, path.display().to_string())
    }

    /// The `VCAP_SERVICES` variable.
    pub(super) fn vcap_services() -> Self {
        Source::new(SourceKind::VcapServices, "VCAP_SERVICES")
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SourceKind::VcapServicesFile => {
                write!(f, "VCAP_SERVICES_FILE_PATH file {}", self.location)
            }
            SourceKind::VcapServices => f.write_str("VCAP_SERVICES"),
            SourceKind::ServiceBinding => write!(f, "servicebinding.io root {}", self.location),
            SourceKind::Legacy => write!(f, "secrets root {}", self.location),
        }
    }
}
