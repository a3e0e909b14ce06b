//! Provisioning tiers: what SAP generated for a tenant, decided from its provisioning date alone.
//!
//! SAP's page "Retrieving Service Credentials" has three rows (see
//! `reference/seed-retrieving-service-credentials.md`):
//!
//! | Provisioned | Tier | Generated automatically |
//! |---|---|---|
//! | on or after 2023-10-16 | [`ProvisioningTier::Automatic`] | the service credentials |
//! | 2023-06-12 through 2023-10-15 | [`ProvisioningTier::MonitoringOnly`] | credentials for operations monitoring |
//! | before 2023-06-12 | [`ProvisioningTier::Manual`] | nothing |
//!
//! A separate date, 2023-06-14, says *where* generated credentials are: from then on they were
//! also uploaded to the Landscape Management app.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Serialize;

/// First day of [`ProvisioningTier::Automatic`] (SAP: "On or after October 16, 2023").
pub const AUTOMATIC_FROM: NaiveDate = date(2023, 10, 16);
/// First day of [`ProvisioningTier::MonitoringOnly`] (SAP: "Between June 12, 2023 and …").
pub const MONITORING_ONLY_FROM: NaiveDate = date(2023, 6, 12);
/// First day on which generated credentials were also uploaded to the Landscape Management app.
pub const LANDSCAPE_UPLOAD_FROM: NaiveDate = date(2023, 6, 14);

const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("invalid constant date"),
    }
}

/// Which of SAP's three provisioning rows a tenant falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ProvisioningTier {
    /// Provisioned on or after 2023-10-16: the service credentials were generated.
    Automatic,
    /// Provisioned 2023-06-12 through 2023-10-15: only operations-monitoring credentials were
    /// generated; transport management needs a new instance and credentials.
    MonitoringOnly,
    /// Provisioned before 2023-06-12: nothing was generated.
    Manual,
}

/// What SAP generated automatically for a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum GeneratedCredentials {
    /// Nothing was generated.
    None,
    /// Credentials usable for operations monitoring only.
    OperationsMonitoringOnly,
    /// The service credentials, for every managed-system purpose.
    All,
}

/// Where a user finds credentials that were generated automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CredentialLocation {
    /// SAP BTP cockpit: subaccount > Services > Instances and Subscriptions.
    BtpCockpit,
    /// Cloud ALM: Administration > Landscape Management > configuration > "SAP Cloud ALM Service Key".
    LandscapeManagement,
}

impl CredentialLocation {
    /// Where to click, in words.
    pub fn describe(self) -> &'static str {
        match self {
            CredentialLocation::BtpCockpit => {
                "SAP BTP cockpit: your Cloud ALM subaccount > Services > Instances and Subscriptions"
            }
            CredentialLocation::LandscapeManagement => {
                "SAP Cloud ALM: Administration > Landscape Management > configuration (gear) > SAP Cloud ALM Service Key"
            }
        }
    }
}

impl ProvisioningTier {
    /// The kebab-case name used in JSON and on the command line (`monitoring-only`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProvisioningTier::Automatic => "automatic",
            ProvisioningTier::MonitoringOnly => "monitoring-only",
            ProvisioningTier::Manual => "manual",
        }
    }

    /// What was generated automatically.
    pub fn generated(self) -> GeneratedCredentials {
        match self {
            ProvisioningTier::Automatic => GeneratedCredentials::All,
            ProvisioningTier::MonitoringOnly => GeneratedCredentials::OperationsMonitoringOnly,
            ProvisioningTier::Manual => GeneratedCredentials::None,
        }
    }

    /// Whether the "SAP Cloud ALM API" entitlement still has to be configured before an instance
    /// can be created. Only tenants with nothing generated need it; SAP told the monitoring-only
    /// tier that "you no longer have to configure your entitlements".
    pub fn entitlement_needed(self) -> bool {
        self == ProvisioningTier::Manual
    }

    /// One sentence a user can act on, in SAP's terms.
    pub fn summary(self) -> &'static str {
        match self {
            ProvisioningTier::Automatic => {
                "the service credentials were generated automatically when the tenant was provisioned"
            }
            ProvisioningTier::MonitoringOnly => {
                "credentials for operations monitoring were generated automatically; transport management needs a new instance and credentials"
            }
            ProvisioningTier::Manual => {
                "no credentials were generated; configure the entitlement, then create an instance and credentials"
            }
        }
    }
}

impl std::fmt::Display for ProvisioningTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that names a provisioning day: a [`NaiveDate`], or a [`DateTime`] in any time zone,
/// which counts by its date **in UTC** (a tenant requested at 2023-10-16 01:00 +02:00 was
/// provisioned on 2023-10-15 UTC).
pub trait ProvisioningDate {
    /// The provisioning day in UTC.
    fn utc_date(&self) -> NaiveDate;
}

impl ProvisioningDate for NaiveDate {
    fn utc_date(&self) -> NaiveDate {
        *self
    }
}

impl<Tz: TimeZone> ProvisioningDate for DateTime<Tz> {
    fn utc_date(&self) -> NaiveDate {
        self.with_timezone(&Utc).date_naive()
    }
}

impl<T: ProvisioningDate + ?Sized> ProvisioningDate for &T {
    fn utc_date(&self) -> NaiveDate {
        (**self).utc_date()
    }
}

/// The tier of a tenant provisioned on `date`.
///
/// ```
/// use calm_credentials::{provisioning_tier, ProvisioningTier};
/// use chrono::NaiveDate;
///
/// let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
/// assert_eq!(provisioning_tier(day("2023-10-16")), ProvisioningTier::Automatic);
/// assert_eq!(provisioning_tier(day("2023-10-15")), ProvisioningTier::MonitoringOnly);
/// assert_eq!(provisioning_tier(day("2023-06-11")), ProvisioningTier::Manual);
///
/// // A DateTime counts by its UTC date.
/// let t = chrono::DateTime::parse_from_rfc3339("2023-10-16T01:00:00+02:00").unwrap();
/// assert_eq!(provisioning_tier(t), ProvisioningTier::MonitoringOnly);
/// ```
pub fn provisioning_tier(date: impl ProvisioningDate) -> ProvisioningTier {
    let day = date.utc_date();
    if day >= AUTOMATIC_FROM {
        ProvisioningTier::Automatic
    } else if day >= MONITORING_ONLY_FROM {
        ProvisioningTier::MonitoringOnly
    } else {
        ProvisioningTier::Manual
    }
}

/// Everything the provisioning date tells, as data a program can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TierFacts {
    /// The provisioning day (UTC).
    pub date: NaiveDate,
    /// The tier.
    pub tier: ProvisioningTier,
    /// What was generated automatically.
    pub generated: GeneratedCredentials,
    /// Whether the entitlement still needs configuring.
    pub entitlement_needed: bool,
    /// Where generated credentials can be found (empty when nothing was generated).
    pub locations: Vec<CredentialLocation>,
}

impl TierFacts {
    /// The facts for a tenant provisioned on `date`.
    ///
    /// ```
    /// use calm_credentials::{CredentialLocation, TierFacts};
    /// let d = chrono::NaiveDate::from_ymd_opt(2023, 6, 13).unwrap();
    /// // Generated, but uploaded to Landscape Management only from 2023-06-14 on.
    /// assert_eq!(TierFacts::for_date(d).locations, vec![CredentialLocation::BtpCockpit]);
    /// ```
    pub fn for_date(date: impl ProvisioningDate) -> Self {
        let date = date.utc_date();
        let tier = provisioning_tier(date);
        let mut locations = Vec::new();
        if tier.generated() != GeneratedCredentials::None {
            locations.push(CredentialLocation::BtpCockpit);
            if date >= LANDSCAPE_UPLOAD_FROM {
                locations.push(CredentialLocation::LandscapeManagement);
            }
        }
        TierFacts {
            date,
            tier,
            generated: tier.generated(),
            entitlement_needed: tier.entitlement_needed(),
            locations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CredentialLocation::*;
    use ProvisioningTier::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn every_boundary_day() {
        let cases = [
            ("2023-06-10", Manual),
            ("2023-06-11", Manual),
            ("2023-06-12", MonitoringOnly),
            ("2023-06-13", MonitoringOnly),
            ("2023-06-14", MonitoringOnly),
            ("2023-06-15", MonitoringOnly),
            ("2023-10-14", MonitoringOnly),
            ("2023-10-15", MonitoringOnly),
            ("2023-10-16", Automatic),
            ("2023-10-17", Automatic),
            ("1970-01-01", Manual),
            ("2026-11-27", Automatic),
        ];
        for (day, want) in cases {
            assert_eq!(provisioning_tier(d(day)), want, "{day}");
        }
    }

    #[test]
    fn locations_follow_the_upload_date() {
        let cases: [(&str, &[CredentialLocation]); 6] = [
            ("2023-06-11", &[]),
            ("2023-06-12", &[BtpCockpit]),
            ("2023-06-13", &[BtpCockpit]),
            ("2023-06-14", &[BtpCockpit, LandscapeManagement]),
            ("2023-10-15", &[BtpCockpit, LandscapeManagement]),
            ("2023-10-16", &[BtpCockpit, LandscapeManagement]),
        ];
        for (day, want) in cases {
            assert_eq!(TierFacts::for_date(d(day)).locations, want, "{day}");
        }
    }

    #[test]
    fn facts_per_tier() {
        let cases = [
            ("2023-01-01", GeneratedCredentials::None, true),
            (
                "2023-07-01",
                GeneratedCredentials::OperationsMonitoringOnly,
                false,
            ),
            ("2024-01-01", GeneratedCredentials::All, false),
        ];
        for (day, generated, entitlement) in cases {
            let facts = TierFacts::for_date(d(day));
            assert_eq!(facts.generated, generated, "{day}");
            assert_eq!(facts.entitlement_needed, entitlement, "{day}");
        }
    }

    #[test]
    fn date_times_count_in_utc() {
        let cases = [
            ("2023-10-16T01:00:00+02:00", MonitoringOnly),
            ("2023-10-15T23:30:00-01:00", Automatic),
            ("2023-06-12T00:00:00Z", MonitoringOnly),
            ("2023-06-11T23:59:59Z", Manual),
        ];
        for (t, want) in cases {
            let dt = DateTime::parse_from_rfc3339(t).unwrap();
            assert_eq!(provisioning_tier(dt), want, "{t}");
            assert_eq!(provisioning_tier(dt.with_timezone(&Utc)), want, "{t}");
        }
    }
}
