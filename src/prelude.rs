//! What most programs need, in one import: `use calm_credentials::prelude::*;`.

pub use crate::{
    CfLogin, CfSpace, CloudFoundry, Environment, Error, ErrorKind, Provenance, ProvisioningTier,
    Purpose, Region, Result, Retrieved, ServiceKey, ServiceManager, Tenant,
};
