//! What a platform can do, as far as the one executor ([`super::executor`]) and the listings
//! need it: find or create an instance and a credential (a Service Manager binding, a Cloud
//! Foundry service key), wait until they are usable, read a credential's key, and list every
//! instance with its credentials.
//!
//! The implementations are `service_manager::platform` and `cloud_foundry::platform`; each
//! maps the trait onto its wire layer and decides nothing a journey decides. Creating goes
//! through a [`Creation`] of the platform and the one rule of [`super::get_or_create`].

use std::future::Future;

use serde_json::Value;

use crate::credentials::ServiceKey;
use crate::error::{Error, Result};
use crate::http::HttpClient;
use crate::journey::{CredentialSummary, InstanceSummary, RetrieveOptions};
use crate::model::{BindingId, Provenance};
use crate::setup::Environment;

/// What a `CreateInstance` step asks for.
pub(crate) struct InstanceSpec<'s> {
    pub name: &'s str,
    pub offering: &'s str,
    pub plan: &'s str,
    pub parameters: &'s Value,
}

/// Every instance of an offering with its credentials.
pub(crate) type Inventory<P> = Vec<(<P as Platform>::Instance, Vec<<P as Platform>::Credential>)>;

/// A platform the executor can carry a plan out on.
pub(crate) trait Platform: Sync {
    /// An instance as the platform lists it.
    type Instance: Clone + Send + Sync;
    /// A binding or service key as the platform lists it (without reading its secrets where
    /// the platform keeps them apart).
    type Credential: Send + Sync;
    /// The service plan an instance is created with.
    type Plan: Send + Sync;

    /// Which environment this is (nouns, summaries).
    const ENVIRONMENT: Environment;
    /// What an instance is called in messages.
    const INSTANCE_NOUN: &'static str;
    /// What to try when no generated credentials fit and creating is not allowed.
    const ADVICE: &'static str;

    /// The options of the journey (creating allowed, deadline, progress).
    fn opts(&self) -> &RetrieveOptions;
    /// The transport (token checks of candidate credentials).
    fn http(&self) -> &HttpClient;
    /// Where the journey looks, for messages (`in space `dev``).
    fn place(&self) -> String;

    /// The instance called `name`, if any.
    fn find_instance(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Self::Instance>>> + Send;
    /// The credential called `name` of `instance`, if any.
    fn find_credential(
        &self,
        instance: &Self::Instance,
        name: &str,
    ) -> impl Future<Output = Result<Option<Self::Credential>>> + Send;
    /// The plan to create `spec` with; its absence is [`Error::EntitlementMissing`].
    fn resolve_plan(
        &self,
        spec: &InstanceSpec<'_>,
    ) -> impl Future<Output = Result<Self::Plan>> + Send;
    /// Get-or-create of `spec` with `plan` ([`get_or_create`](super::get_or_create) of the
    /// platform's [`Creation`]).
    fn create_instance(
        &self,
        spec: &InstanceSpec<'_>,
        plan: Self::Plan,
    ) -> impl Future<Output = Result<(Self::Instance, Provenance)>> + Send;
    /// Get-or-create of credential `name` of `instance`, which is ready.
    fn create_credential(
        &self,
        instance: &Self::Instance,
        name: &str,
    ) -> impl Future<Output = Result<(Self::Credential, Provenance)>> + Send;
    /// Waits until no operation runs on the instance; a failed create is an error that says
    /// what to do.
    fn ready_instance(
        &self,
        instance: Self::Instance,
    ) -> impl Future<Output = Result<Self::Instance>> + Send;
    /// Waits until the credential's create has succeeded.
    fn ready_credential(
        &self,
        credential: Self::Credential,
    ) -> impl Future<Output = Result<Self::Credential>> + Send;
    /// The credential's key (its secrets move out of `credential` where it holds them).
    fn read_key(
        &self,
        credential: &mut Self::Credential,
    ) -> impl Future<Output = Result<ServiceKey>> + Send;
    /// Every instance of the handle's offering with its credentials (in every state, in any
    /// order): what list and discover show, and where generated credentials are looked for.
    fn inventory(&self) -> impl Future<Output = Result<Inventory<Self>>> + Send;
    /// Whether the credential may be handed over as generated credentials (the platform's own
    /// instance; a create that has not failed).
    fn may_hand_over(instance: &Self::Instance, credential: &Self::Credential) -> bool;
    /// The instance's state for a listing: `ready`, the platform's state word, or
    /// `failed: <reason>`.
    fn instance_state(instance: &Self::Instance) -> String;
    /// The platform that made the instance, when another one than this (listed, never used).
    fn other_platform(_instance: &Self::Instance) -> Option<String> {
        None
    }
    /// The instance's name.
    fn instance_name(instance: &Self::Instance) -> &str;
    /// The credential's name.
    fn credential_name(credential: &Self::Credential) -> &str;
    /// The credential's id.
    fn credential_id(credential: &Self::Credential) -> &BindingId;
    /// A summary of the instance.
    fn instance_summary(instance: &Self::Instance) -> InstanceSummary;
    /// A summary of the credential, without secrets.
    fn credential_summary(
        instance: &Self::Instance,
        credential: &Self::Credential,
    ) -> CredentialSummary;
}

/// How a create was refused, and so what the get-or-create rule does next.
pub(crate) enum Refusal {
    /// The name is taken (409, Cloud Foundry's "name taken", an accepted create whose
    /// operation failed with a conflict): the existing resource is adopted.
    Exists(Error),
    /// Something must finish first (the instance is busy, an old key of that name is being
    /// deleted): wait, then send again.
    Busy(Error),
    /// The create may have taken effect (answer lost, 5xx) or was refused before any work
    /// (429): look the name up, then send again.
    Unsure(Error),
    /// Refused for good.
    Final(Error),
}

impl Refusal {
    /// The classification every platform shares; a platform adds its own answers first.
    pub(crate) fn of(error: Error) -> Refusal {
        if error.is_conflict() {
            Refusal::Exists(error)
        } else if error.is_busy() {
            Refusal::Busy(error)
        } else if error.is_retryable() || error.may_have_taken_effect() {
            Refusal::Unsure(error)
        } else {
            Refusal::Final(error)
        }
    }
}

/// One resource to get or create ([`super::get_or_create`] carries it out).
pub(crate) trait Creation: Sync {
    /// The resource.
    type Made: Send;
    /// What an accepted create answered (the resource, or an operation or job to wait for).
    type Posted: Send;

    /// What it is, for progress and errors (`instance `calm``).
    fn what(&self) -> &str;
    /// Sends the create once.
    fn post(&self) -> impl Future<Output = Result<Self::Posted>> + Send;
    /// Waits until an accepted create is done and the resource usable.
    fn settle(&self, posted: Self::Posted) -> impl Future<Output = Result<Self::Made>> + Send;
    /// The resource of that name, if it exists.
    fn find(&self) -> impl Future<Output = Result<Option<Self::Made>>> + Send;
    /// Waits until a found resource is usable (fails on a failed create).
    fn ready(&self, found: Self::Made) -> impl Future<Output = Result<Self::Made>> + Send;
    /// Waits out a [`Refusal::Busy`]; `waits` counts the busy answers so far (from 1).
    fn wait_out(&self, busy: &Error, waits: u32) -> impl Future<Output = Result<()>> + Send;
    /// How a refused create or a failed operation is handled.
    fn classify(&self, error: Error) -> Refusal {
        Refusal::of(error)
    }
}
