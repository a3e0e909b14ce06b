//! The SAP BTP data centers that host SAP Cloud ALM.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A data center hosting SAP Cloud ALM.
///
/// The list is open-ended (`cn20` and `eu20` are recent additions), so any other region id is
/// kept as [`Region::Other`] rather than refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
#[non_exhaustive]
pub enum Region {
    /// Australia: Sydney (`cf-ap10`).
    Ap10,
    /// Canada: Central (`cf-ca10`).
    Ca10,
    /// China: North 3, China-based customers only (`cf-cn20`).
    Cn20,
    /// Germany: Frankfurt (`cf-eu10`).
    Eu10,
    /// Germany: Frankfurt, EU Access (`cf-eu11`).
    Eu11,
    /// Netherlands: Amsterdam (`cf-eu20`).
    Eu20,
    /// Japan: Tokyo (`cf-jp10`).
    Jp10,
    /// USA: N. Virginia (`cf-us10`).
    Us10,
    /// A region this version does not know, as given (lower case, without `cf-`).
    Other(String),
}

impl Region {
    /// Every documented region.
    pub const KNOWN: [Region; 8] = [
        Region::Ap10,
        Region::Ca10,
        Region::Cn20,
        Region::Eu10,
        Region::Eu11,
        Region::Eu20,
        Region::Jp10,
        Region::Us10,
    ];

    /// The short id (`eu10`).
    pub fn id(&self) -> &str {
        match self {
            Region::Ap10 => "ap10",
            Region::Ca10 => "ca10",
            Region::Cn20 => "cn20",
            Region::Eu10 => "eu10",
            Region::Eu11 => "eu11",
            Region::Eu20 => "eu20",
            Region::Jp10 => "jp10",
            Region::Us10 => "us10",
            Region::Other(s) => s,
        }
    }

    /// Whether this is one of the documented regions.
    pub fn is_known(&self) -> bool {
        !matches!(self, Region::Other(_))
    }

    /// The regional Cloud ALM API host (`eu10.alm.cloud.sap`). Only eu10 is confirmed by SAP;
    /// the others follow its pattern. Prefer `endpoints.Api` of a service key.
    pub fn api_host(&self) -> String {
        format!("{}.alm.cloud.sap", self.id())
    }

    /// The token server host of a subaccount subdomain in this region.
    pub fn token_host(&self, subdomain: &str) -> String {
        format!("{subdomain}.authentication.{}.hana.ondemand.com", self.id())
    }

    /// The X.509 (mTLS) token server host of a subaccount subdomain in this region.
    pub fn cert_token_host(&self, subdomain: &str) -> String {
        format!(
            "{subdomain}.authentication.cert.{}.hana.ondemand.com",
            self.id()
        )
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl From<&str> for Region {
    /// Accepts `eu10`, `cf-eu10` and any case; unknown ids become [`Region::Other`].
    fn from(s: &str) -> Self {
        let id = s.trim().to_ascii_lowercase();
        let id = id.strip_prefix("cf-").unwrap_or(&id);
        Region::KNOWN
            .iter()
            .find(|r| r.id() == id)
            .cloned()
            .unwrap_or_else(|| Region::Other(id.to_owned()))
    }
}

impl From<String> for Region {
    fn from(s: String) -> Self {
        Region::from(s.as_str())
    }
}

impl From<Region> for String {
    fn from(r: Region) -> Self {
        r.id().to_owned()
    }
}

impl FromStr for Region {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Region::from(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_and_unknown_regions() {
        let cases = [
            ("eu10", Region::Eu10),
            ("cf-eu10", Region::Eu10),
            ("EU20", Region::Eu20),
            (" cf-cn20 ", Region::Cn20),
            ("eu10-004", Region::Other("eu10-004".into())),
            ("xx99", Region::Other("xx99".into())),
        ];
        for (input, want) in cases {
            assert_eq!(Region::from(input), want, "{input}");
        }
    }

    #[test]
    fn builds_hosts() {
        assert_eq!(Region::Eu10.api_host(), "eu10.alm.cloud.sap");
        assert_eq!(
            Region::Us10.token_host("acme"),
            "acme.authentication.us10.hana.ondemand.com"
        );
        assert_eq!(
            Region::Eu10.cert_token_host("acme"),
            "acme.authentication.cert.eu10.hana.ondemand.com"
        );
    }
}
