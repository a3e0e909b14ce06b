//! calm-credentials: the OAuth credentials of an SAP Cloud ALM API service instance.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod auth;
pub mod credentials;
pub mod error;
pub mod http;
pub mod model;
pub mod verify;

pub use credentials::{ClientAuth, CredentialType, ServiceKey};
pub use error::{ApiError, Error, Result, TokenError, TokenErrorKind};
pub use model::Region;

pub use auth::{AccessToken, TokenSource};
pub use http::HttpClient;
pub use verify::{Verification, verify};
