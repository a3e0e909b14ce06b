//! Identifiers as newtypes, so that an instance id is never passed where a binding id belongs.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        // The ids kept inside the crate (offering, plan, operation) do not use every accessor.
        #[allow(dead_code)]
        impl $name {
            /// Wraps an id given by the platform.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as the platform spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A BTP subaccount id (GUID).
    SubaccountId
);
id_type!(
    /// A service offering id (Service Manager) or GUID (Cloud Foundry).
    OfferingId
);
id_type!(
    /// A service plan id (Service Manager) or GUID (Cloud Foundry).
    PlanId
);
id_type!(
    /// A service instance id (Service Manager) or GUID (Cloud Foundry).
    InstanceId
);
id_type!(
    /// A service binding id (Service Manager) or service key GUID (Cloud Foundry).
    BindingId
);
id_type!(
    /// A Service Manager operation id or a Cloud Foundry job GUID.
    OperationId
);
id_type!(
    /// A Cloud Foundry organization GUID.
    OrgId
);
id_type!(
    /// A Cloud Foundry space GUID.
    SpaceId
);
