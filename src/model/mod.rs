//! Typed models of the things this crate deals with: tenants, regions, ids.

pub mod ids;
pub mod region;
pub mod tenant;

pub use ids::{
    BindingId, InstanceId, OfferingId, OperationId, OrgId, PlanId, SpaceId, SubaccountId,
};
pub use region::Region;
pub use tenant::Tenant;
