//! Credentials: parsing service keys, keeping their secrets secret, checking them, and handing
//! them over.
//!
//! - [`service_key`]: the JSON of a binding or service key as a typed [`ServiceKey`].
//! - [`redact`]: replacing secrets in JSON before it is shown.
//! - [`upload_check`]: the Landscape Management app's upload checks.
//! - [`sink`]: writing a key where it is used ([`Sink`]: a `0600` JSON file, a Kubernetes Secret
//!   in the SAP BTP service operator's layout, shell-quoted dotenv lines).
//! - [`runtime`]: credentials a platform injected into the running program (`VCAP_SERVICES`,
//!   Kubernetes service-binding directories), found as `@sap/xsenv` finds them.

pub mod redact;
pub mod runtime;
pub mod service_key;
pub mod sink;
mod typed_key;
pub mod upload_check;

pub use service_key::{ClientAuth, CredentialType, KeyLayout, ServiceKey};
pub use sink::{Sink, SinkContext, Written};
pub use upload_check::{CheckStatus, UploadCheck, UploadReport, upload_checks};
