//! calm-credentials: the OAuth credentials of an SAP Cloud ALM API service instance.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod credentials;
pub mod error;
pub mod model;

pub use credentials::{ClientAuth, CredentialType, ServiceKey};
pub use error::{ApiError, Error, Result, TokenError, TokenErrorKind};
pub use model::Region;
