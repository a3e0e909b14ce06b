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
