//! The one get-or-create rule, for instances and credentials on every platform. It never makes
//! a duplicate:
//!
//! - **Name taken** (409, Cloud Foundry's "name taken", an accepted create whose operation then
//!   failed with a conflict): the existing resource is looked up and adopted once usable.
//! - **Busy** (the instance runs another operation, an old key of that name is still being
//!   deleted): the platform waits it out, then the create is sent again; busy answers do not
//!   count as sends, the caller's deadline bounds them.
//! - **Unsure** (answer lost, 5xx, or refused before any work with 429): the name is looked up
//!   before anything is sent again; found, it is adopted; else the create is sent again after a
//!   pause (the server's `Retry-After`, else the polling policy's interval), at most
//!   [`MAX_SENDS`] times in all.
//! - Anything else, and any failure while an accepted create settles, is returned.
//!
//! A resource found after a send of ours may have taken effect counts as created by us.

use std::time::Duration;

use super::platform::{Creation, Refusal};
use crate::error::{Error, Result};
use crate::journey::RetrieveOptions;
use crate::model::Provenance;
use crate::wait::{ProgressEvent, next_interval};

/// How often a create is sent at most when its answers get lost.
pub(crate) const MAX_SENDS: u32 = 3;

/// Creates what `creation` describes, or adopts the resource of that name (see the module).
pub(crate) async fn get_or_create<C: Creation>(
    creation: &C,
    opts: &RetrieveOptions,
) -> Result<(C::Made, Provenance)> {
    let what = creation.what();
    opts.emit(ProgressEvent::Creating { what: what.into() });
    let (mut sends, mut busy_answers) = (0, 0);
    // Whether one of our sends may have made the resource: then finding it means we made it.
    let mut maybe_ours = false;
    loop {
        sends += 1;
        let (error, adopt_only) = match send(creation).await {
            Ok(made) => return Ok((made, Provenance::Created)),
            Err(Refusal::Final(e)) => return Err(e),
            Err(Refusal::Busy(e)) => {
                sends -= 1;
                busy_answers += 1;
                if busy_answers == 1 {
                    opts.emit(ProgressEvent::State {
                        operation: format!("creation of {what}"),
                        state: e.platform_code().unwrap_or("busy").to_owned(),
                        elapsed: Duration::ZERO,
                    });
                }
                creation.wait_out(&e, busy_answers).await?;
                continue;
            }
            Err(Refusal::Exists(e)) => {
                opts.note(format!("{what} already exists ({}): using it", how(&e)));
                (e, true)
            }
            Err(Refusal::Unsure(e)) => {
                maybe_ours |= e.may_have_taken_effect();
                let message = format!(
                    "the answer to creating {what} was lost or refused ({e}); looking it up by name before anything else"
                );
                opts.note(message);
                (e, false)
            }
        };
        if let Some(found) = creation.find().await? {
            opts.found(|| what.to_owned());
            let provenance = if maybe_ours {
                Provenance::Created
            } else {
                Provenance::Found
            };
            return Ok((creation.ready(found).await?, provenance));
        }
        if adopt_only || sends >= MAX_SENDS {
            return Err(error);
        }
        opts.note(format!(
            "{what} does not exist: sending the create once more"
        ));
        // The caller's deadline cuts the pause short (the journey runs within it).
        let pause = next_interval(
            sends - 1,
            &opts.wait,
            error.retry_after(),
            opts.wait.timeout,
        );
        tokio::time::sleep(pause).await;
    }
}

/// One send and, once accepted, its settling: the resource, or how it was refused. Once the
/// platform accepted the create, only a conflict or a busy instance reported by its operation
/// counts as a refusal (as if answered at once); any other failure is final.
async fn send<C: Creation>(creation: &C) -> std::result::Result<C::Made, Refusal> {
    let posted = creation.post().await.map_err(|e| creation.classify(e))?;
    creation
        .settle(posted)
        .await
        .map_err(|e| match creation.classify(e) {
            refusal @ (Refusal::Exists(_) | Refusal::Busy(_)) => refusal,
            Refusal::Unsure(e) | Refusal::Final(e) => Refusal::Final(e),
        })
}

/// How the platform said the name is taken.
fn how(error: &Error) -> String {
    match error.status() {
        Some(status) => status.to_string(),
        None => "the accepted create failed with a conflict".into(),
    }
}

/// Waits before asking a busy platform again: the server's `Retry-After`, else the polling
/// interval for the `waits`-th busy answer.
pub(crate) async fn pause_when_busy(opts: &RetrieveOptions, busy: &Error, waits: u32) {
    let wait = &opts.wait;
    let pause = next_interval(
        waits.saturating_sub(1),
        wait,
        busy.retry_after(),
        wait.timeout,
    );
    tokio::time::sleep(pause).await;
}
