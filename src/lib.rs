//! calm-credentials: the OAuth credentials of an SAP Cloud ALM API service instance.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod error;
#[cfg(feature = "simulator")]
#[cfg_attr(docsrs, doc(cfg(feature = "simulator")))]
pub mod simulator;

pub use error::{ApiError, Error, Result, TokenError, TokenErrorKind};
