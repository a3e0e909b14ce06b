//! Typed models of the things this crate deals with: tenants, regions, ids.

use serde::Serialize;

pub mod ids;
pub mod region;
pub mod tenant;

pub use ids::{
    BindingId, InstanceId, OfferingId, OperationId, OrgId, PlanId, SpaceId, SubaccountId,
};
pub use region::Region;
pub use tenant::Tenant;

/// Whether a resource of the journey already existed or was made by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Provenance {
    /// It existed before the journey.
    Found,
    /// The journey created it.
    Created,
}

/// Whether a platform resource (instance, binding, service key) can be used, is still being
/// made, or failed to be made: one model for the Service Manager's `ready` flag and operations
/// and Cloud Foundry's `last_operation`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Readiness {
    /// Usable.
    Ready,
    /// Being created or changed; this is the platform's state word.
    Busy(String),
    /// Its creation failed, with the platform's explanation.
    Failed(String),
}

impl Readiness {
    /// `ready`, the platform's state word, or `failed: <reason>`, for listings.
    pub(crate) fn describe(self) -> String {
        match self {
            Readiness::Ready => "ready".to_owned(),
            Readiness::Busy(state) => state,
            Readiness::Failed(reason) => format!("failed: {reason}"),
        }
    }
}
