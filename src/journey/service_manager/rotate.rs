//! Rotation: bindings are immutable, so new credentials are a new binding, verified before the
//! old one is retired (deleted at once, or labelled stale and deleted later by
//! [`ServiceManager::retire_stale`](crate::ServiceManager::retire_stale)).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{credential_summary, summary_of};
use crate::credentials::ServiceKey;
use crate::error::{Error, Resource, Result};
use crate::journey::RetrieveOptions;
use crate::journey::outcome::{CredentialSummary, InstanceSummary};
use crate::journey::platform::Platform;
use crate::journey::service_manager::platform::OnServiceManager;
use crate::service_manager::{Binding, LabelChange, ListFilter, Query, ServiceManager};
use crate::setup::{validate_credential_name, validate_instance_name};
use crate::verify::{Verification, verify};
use crate::wait::{Poll, WaitOptions, poll_until};

/// Label put on a retired binding that is kept for a grace period.
pub const ROTATION_STATE_LABEL: &str = "rotation-state";
/// Value of [`ROTATION_STATE_LABEL`] on a retired binding.
pub const STALE: &str = "stale";
/// Label with the RFC 3339 time after which a stale binding may be deleted.
pub const RETIRE_AFTER_LABEL: &str = "retire-after";
/// Label naming the binding that replaced a stale one.
pub const REPLACED_BY_LABEL: &str = "replaced-by";

/// How long new credentials may take to be accepted by the token server.
const VERIFY_WINDOW: Duration = Duration::from_secs(15);

/// What to rotate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotationRequest {
    /// Instance name.
    pub instance: String,
    /// The binding to replace.
    pub old_binding: String,
    /// The new binding's name.
    pub new_binding: String,
    /// Keep the old binding this long (labelled stale) instead of deleting it at once.
    pub grace: Option<Duration>,
}

impl RotationRequest {
    /// Replace `old_binding` of `instance` with `new_binding`, deleting the old one at once.
    pub fn new(
        instance: impl Into<String>,
        old_binding: impl Into<String>,
        new_binding: impl Into<String>,
    ) -> Self {
        RotationRequest {
            instance: instance.into(),
            old_binding: old_binding.into(),
            new_binding: new_binding.into(),
            grace: None,
        }
    }

    /// Keeps the old binding for `grace` (consumers switch meanwhile); [`retire_stale`] deletes
    /// it afterwards.
    pub fn keep_old_for(mut self, grace: Duration) -> Self {
        self.grace = Some(grace);
        self
    }
}

/// What became of the old binding.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retirement {
    /// Deleted.
    Deleted,
    /// Kept, labelled stale, until this time.
    Kept {
        /// When [`ServiceManager::retire_stale`](crate::ServiceManager::retire_stale) may delete it.
        retire_after: DateTime<Utc>,
    },
}

/// The result of a rotation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Rotation {
    /// The instance.
    pub instance: InstanceSummary,
    /// The new binding.
    pub new: CredentialSummary,
    /// The new credentials.
    pub key: ServiceKey,
    /// The check of the new credentials ("Test Service Key").
    pub verification: Verification,
    /// The old binding.
    pub old: CredentialSummary,
    /// Whether the old binding was deleted or kept.
    pub old_retired: Retirement,
}

/// Creates binding `new_binding`, verifies that it gets a token, then retires `old_binding`.
///
/// If the new credentials do not work, the new binding is deleted and the old one is left
/// untouched ([`Error::VerificationFailed`]). A new binding that already exists (an interrupted
/// earlier rotation) is verified and used.
pub async fn rotate(
    sm: &ServiceManager,
    req: &RotationRequest,
    opts: &RetrieveOptions,
) -> Result<Rotation> {
    validate_instance_name(&req.instance)?;
    validate_credential_name("binding", &req.new_binding)?;
    if req.new_binding == req.old_binding {
        return Err(Error::config(
            "the rotation",
            "the new binding needs another name than the old one",
        ));
    }
    let instance = sm
        .find_instance(&req.instance)
        .await?
        .ok_or_else(|| missing(Resource::Instance, format!("`{}`", req.instance)))?;
    let old = sm
        .find_binding(&instance.id, &req.old_binding)
        .await?
        .ok_or_else(|| {
            missing(
                Resource::Binding,
                format!("`{}` of instance `{}`", req.old_binding, req.instance),
            )
        })?;
    opts.found(|| format!("binding `{}`", old.name));
    let on = OnServiceManager::new(sm, opts);
    let new = match sm.find_binding(&instance.id, &req.new_binding).await? {
        Some(existing) => {
            opts.note(format!(
                "binding `{}` exists already (an earlier rotation?): verifying it",
                existing.name
            ));
            on.ready_credential(existing).await?
        }
        None => on.ensure_binding(&instance, &req.new_binding).await?.0,
    };
    let key = new.service_key()?;
    let verification = verified(sm, &key, opts).await?;
    if !verification.works {
        let problem = verification.problem.clone().unwrap_or_default();
        sm.delete_binding(&new.id, &opts.wait).await?;
        return Err(Error::VerificationFailed(format!(
            "the new binding `{}` gets no token ({problem}); it was deleted and `{}` is untouched",
            req.new_binding, req.old_binding
        )));
    }
    let old_retired = retire(sm, &old, &req.new_binding, req.grace, &opts.wait).await?;
    Ok(Rotation {
        instance: summary_of(&instance),
        new: credential_summary(&new, Some(&instance.name)),
        key,
        verification,
        old: credential_summary(&old, Some(&instance.name)),
        old_retired,
    })
}

/// Deletes the bindings of `instance` that a rotation labelled stale and whose grace period
/// has passed. Returns what was deleted.
pub async fn retire_stale(
    sm: &ServiceManager,
    instance: &str,
    opts: &RetrieveOptions,
) -> Result<Vec<CredentialSummary>> {
    let inst = sm
        .find_instance(instance)
        .await?
        .ok_or_else(|| missing(Resource::Instance, format!("`{instance}`")))?;
    let filter = ListFilter::field(Query::new().eq("service_instance_id", inst.id.as_str()))
        .label(Query::new().eq(ROTATION_STATE_LABEL, STALE));
    let now = Utc::now();
    let mut deleted = Vec::new();
    for binding in sm.list_bindings(filter).all().await? {
        if retire_after(&binding).is_some_and(|at| at <= now) {
            sm.delete_binding(&binding.id, &opts.wait).await?;
            opts.note(format!("deleted stale binding `{}`", binding.name));
            deleted.push(credential_summary(&binding, Some(&inst.name)));
        }
    }
    Ok(deleted)
}

/// When a stale binding may go, from its label.
fn retire_after(binding: &Binding) -> Option<DateTime<Utc>> {
    let value = binding.labels.get(RETIRE_AFTER_LABEL)?.first()?;
    DateTime::parse_from_rfc3339(value).ok().map(|t| t.to_utc())
}

/// Verifies, giving new credentials a few seconds to reach the token server.
async fn verified(
    sm: &ServiceManager,
    key: &ServiceKey,
    opts: &RetrieveOptions,
) -> Result<Verification> {
    let mut wait = opts.wait.clone();
    wait.timeout = wait.timeout.min(VERIFY_WINDOW);
    let last = std::sync::Mutex::new(None);
    let outcome = poll_until("verification of the new credentials", &wait, || {
        let last = &last;
        async move {
            let v = verify(key, sm.http()).await?;
            if v.works {
                return Ok(Poll::Ready(v));
            }
            let state = v
                .problem
                .clone()
                .unwrap_or_else(|| "no token yet".to_owned());
            if let Ok(mut slot) = last.lock() {
                *slot = Some(v);
            }
            Ok(Poll::Pending {
                state,
                retry_after: None,
            })
        }
    })
    .await;
    let last = last.into_inner().ok().flatten();
    match (outcome, last) {
        (Ok(v), _) => Ok(v),
        (Err(Error::Timeout { .. }), Some(v)) => Ok(v),
        (Err(e), _) => Err(e),
    }
}

async fn retire(
    sm: &ServiceManager,
    old: &Binding,
    new_name: &str,
    grace: Option<Duration>,
    wait: &WaitOptions,
) -> Result<Retirement> {
    let Some(grace) = grace else {
        sm.delete_binding(&old.id, wait).await?;
        return Ok(Retirement::Deleted);
    };
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    let retire_after = Utc::now()
        .checked_add_signed(grace)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let changes = [
        LabelChange::add(ROTATION_STATE_LABEL, vec![STALE.to_owned()]),
        LabelChange::add(
            RETIRE_AFTER_LABEL,
            vec![retire_after.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)],
        ),
        LabelChange::add(REPLACED_BY_LABEL, vec![new_name.to_owned()]),
    ];
    sm.update_binding_labels(&old.id, &changes, wait).await?;
    Ok(Retirement::Kept { retire_after })
}

fn missing(resource: Resource, name: String) -> Error {
    Error::NotFound {
        resource,
        name,
        creatable: false,
        detail: Some(
            "list the instances and bindings of the subaccount to check the names".to_owned(),
        ),
    }
}
