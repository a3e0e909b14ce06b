//! List and discover on any [`Platform`]: every instance of the handle's offering with its
//! credentials, without secrets.

use super::executor::oldest_first;
use super::platform::Platform;
use crate::error::Result;
use crate::journey::{CredentialSummary, InstanceListing};

/// Every instance with its credentials, oldest first.
pub(crate) async fn list<P: Platform>(platform: &P) -> Result<Vec<InstanceListing>> {
    Ok(platform
        .inventory()
        .await?
        .into_iter()
        .map(|(instance, credentials)| {
            let mut credentials: Vec<CredentialSummary> = credentials
                .iter()
                .map(|c| P::credential_summary(&instance, c))
                .collect();
            credentials.sort_by(|a, b| oldest_first(a.created_at, b.created_at));
            InstanceListing {
                instance: P::instance_summary(&instance),
                state: P::instance_state(&instance),
                credentials,
                other_platform: P::other_platform(&instance),
            }
        })
        .collect())
}

/// Every credential of every instance, oldest first: where generated credentials show up.
pub(crate) async fn discover<P: Platform>(platform: &P) -> Result<Vec<CredentialSummary>> {
    let mut all: Vec<CredentialSummary> = list(platform)
        .await?
        .into_iter()
        .flat_map(|l| l.credentials)
        .collect();
    all.sort_by(|a, b| oldest_first(a.created_at, b.created_at));
    Ok(all)
}
