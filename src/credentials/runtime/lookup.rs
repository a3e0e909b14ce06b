//! The entry points: [`list`] reads the sources in order (see the module docs), [`find`] and
//! [`find_key`] select from what it read, [`parse_vcap_services`] reads one document.

use std::path::Path;

use super::environment::ProcessEnv;
use super::filter::Query;
use super::listing::{Listing, SourceOutcome};
use super::selection::Found;
use super::source::{Source, SourceKind};
use super::{k8s, legacy, vcap};
use crate::credentials::service_key::ServiceKey;
use crate::error::Result;

/// Reads every source of `env` (see the module docs for the order). Never fails: unreadable
/// sources and malformed entries become [`Listing::problems`].
pub fn list(env: &ProcessEnv) -> Listing {
    let mut listing = Listing::default();
    vcap::read(env, &mut listing);
    match env.non_empty("SERVICE_BINDING_ROOT") {
        Some(root) => read_binding_root(env, Path::new(root), &mut listing),
        None => read_default_roots(env, &mut listing),
    }
    listing.flag_duplicate_names();
    listing
}

/// `SERVICE_BINDING_ROOT`: servicebinding.io first, then the legacy layout (xsenv's order).
fn read_binding_root(env: &ProcessEnv, root: &Path, listing: &mut Listing) {
    k8s::read(env, root, listing);
    legacy::read(env, root, listing);
}

/// Without `SERVICE_BINDING_ROOT`: xsenv's legacy default root, then the Java libraries' root.
fn read_default_roots(env: &ProcessEnv, listing: &mut Listing) {
    listing.report(
        Source::new(SourceKind::ServiceBinding, "SERVICE_BINDING_ROOT"),
        SourceOutcome::NotConfigured("SERVICE_BINDING_ROOT is not set".into()),
    );
    if let Some(root) = env.xsenv_root() {
        legacy::read(env, root, listing);
    }
    if let Some(root) = env.java_root() {
        read_binding_root(env, root, listing);
    }
}

/// Selects exactly one service for `query`: `list(env).select(query)`.
///
/// ```
/// use calm_credentials::runtime::{self, ProcessEnv, Query};
/// let env = ProcessEnv::new().with_var("VCAP_SERVICES", r#"{"SAPCloudALMAPIs": [{
///     "name": "calm-api", "label": "SAPCloudALMAPIs", "plan": "standard", "tags": [],
///     "credentials": {"endpoints": {"Api": "https://eu10.alm.cloud.sap/api"},
///       "uaa": {"url": "https://x.authentication.eu10.hana.ondemand.com",
///               "clientid": "sb-x!b1|sapcloudalm!b2", "clientsecret": "s3cr3t"}}}]}"#);
/// let found = runtime::find(&env, &Query::default())?;
/// assert_eq!(found.service.name(), "calm-api");
/// assert_eq!(found.service_key()?.client_id(), "sb-x!b1|sapcloudalm!b2");
/// assert!(!format!("{found:?}").contains("s3cr3t"));
/// # Ok::<(), calm_credentials::Error>(())
/// ```
pub fn find(env: &ProcessEnv, query: &Query) -> Result<Found> {
    list(env).select(query)
}

/// Selects exactly one service whose credentials form a [`ServiceKey`]:
/// `list(env).select_key(query)`.
pub fn find_key(env: &ProcessEnv, query: &Query) -> Result<(ServiceKey, Found)> {
    list(env).select_key(query)
}

/// Parses `VCAP_SERVICES` text on its own (what [`list`] does with the variable). Never panics;
/// malformed parts become [`Listing::problems`].
pub fn parse_vcap_services(text: &str) -> Listing {
    let mut listing = Listing::default();
    vcap::parse(text, &Source::vcap_services(), &mut listing);
    listing
}
