//! The Service Manager's own journeys beside the one executor
//! ([`crate::journey`]): [`list`] / [`discover`] (every SAP Cloud ALM API instance and binding in
//! the subaccount), [`rotate`] / [`retire_stale`] (new binding, verify, retire the old one), and
//! the fleet runner's batched bindings.

mod discover;
pub(crate) mod fleet;
mod rotate;

pub(crate) use discover::listing;
pub use discover::{InstanceListing, discover, list};
pub use rotate::{Retirement, Rotation, RotationRequest, retire_stale, rotate};

use crate::client::RetrieveOptions;
use crate::client::outcome::{CredentialSummary, InstanceSummary};
use crate::service_manager::{Binding, Instance};
use crate::setup::Environment;
use crate::wait::ProgressEvent;

pub(crate) fn found(opts: &RetrieveOptions, what: &str) {
    opts.wait.progress.emit(ProgressEvent::Found {
        what: what.to_owned(),
    });
}

pub(crate) fn note(opts: &RetrieveOptions, message: String) {
    tracing::info!(%message, "service manager");
    opts.wait.progress.emit(ProgressEvent::Note { message });
}

/// An instance summary.
pub(crate) fn summary_of(instance: &Instance) -> InstanceSummary {
    InstanceSummary::new(
        instance.id.clone(),
        instance.name.clone(),
        instance.created_at,
    )
}

/// A binding summary, without secrets.
pub(crate) fn credential_summary(
    binding: &Binding,
    instance_name: Option<&str>,
) -> CredentialSummary {
    let mut summary = CredentialSummary::new(
        binding.id.clone(),
        binding.name.clone(),
        binding.service_instance_id.clone(),
        Environment::ServiceManager,
    );
    summary.instance_name = binding
        .service_instance_name
        .clone()
        .or_else(|| instance_name.map(str::to_owned));
    summary.created_at = binding.created_at;
    summary.credential_type = binding.credential_type();
    summary
}
