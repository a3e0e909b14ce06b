//! Credentials: parsing service keys, keeping their secrets secret, and checking them.
//!
//! - [`service_key`]: the JSON of a binding or service key as a typed [`ServiceKey`].
//! - [`redact`]: replacing secrets in JSON before it is shown.
//! - [`upload_check`]: the Landscape Management app's upload checks.
//! - [`runtime`]: credentials a platform injected into the running program (`VCAP_SERVICES`,
//!   Kubernetes service-binding directories), found as `@sap/xsenv` finds them.

pub mod redact;
pub mod runtime;
pub mod service_key;
mod typed_key;
pub mod upload_check;

pub use service_key::{ClientAuth, CredentialType, KeyLayout, ServiceKey};
pub use upload_check::{CheckStatus, UploadCheck, UploadReport, upload_checks};
