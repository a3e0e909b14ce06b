//! The fleet runner's hook into get-or-create: the bindings of one instance with many names,
//! found with one paged listing and created (with the journeys' own get-or-create rule) only
//! where missing. Called from `crate::fleet::runner` only.

use std::collections::{HashMap, HashSet};

use crate::credentials::ServiceKey;
use crate::error::Result;
use crate::journey::RetrieveOptions;
use crate::journey::platform::Platform;
use crate::journey::service_manager::platform::OnServiceManager;
use crate::model::InstanceId;
use crate::model::Provenance;
use crate::service_manager::{Binding, Instance, ListFilter, Query, ServiceManager};

/// The largest page the Service Manager gives (`max_items`).
pub(crate) const PAGE_SIZE: u32 = 200;

/// What became of one named binding: its key and whether it was found or created, `None` when
/// it is missing and creating was not allowed.
pub(crate) type Ensured = Result<Option<(ServiceKey, Provenance)>>;

/// The bindings called `names` of instance `instance_id`: one listing of the instance's
/// bindings (ceil(bindings / 200) requests; only the wanted ones are kept), then, when
/// `opts.create`, each missing one created in turn (the instance is read once first). The
/// outer error is the listing's: then nothing is known about any name.
///
/// `fresh`: the caller has just created the instance, so there is nothing to list (a binding
/// another client adds meanwhile is adopted through the create's 409, as the journeys do).
pub(crate) async fn ensure_bindings(
    sm: &ServiceManager,
    instance_id: &InstanceId,
    names: &[String],
    fresh: bool,
    opts: &RetrieveOptions,
) -> Result<Vec<(String, Ensured)>> {
    let mut existing = if fresh {
        HashMap::new()
    } else {
        existing_bindings(sm, instance_id, names).await?
    };
    let on = OnServiceManager::new(sm, opts);
    let mut instance: Option<Instance> = None;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let result = match existing.remove(name.as_str()) {
            Some(binding) => ready_key(&on, binding, Provenance::Found).await,
            None if !opts.create => Ok(None),
            None => create(sm, &on, &mut instance, instance_id, name).await,
        };
        out.push((name.clone(), result));
    }
    Ok(out)
}

/// The wanted bindings of the instance, by name, from one paged listing.
async fn existing_bindings(
    sm: &ServiceManager,
    instance_id: &InstanceId,
    names: &[String],
) -> Result<HashMap<String, Binding>> {
    let filter = ListFilter::field(Query::new().eq("service_instance_id", instance_id.as_str()))
        .max_items(PAGE_SIZE);
    let names: HashSet<&str> = names.iter().map(String::as_str).collect();
    let mut pager = sm.list_bindings(filter);
    let mut wanted = HashMap::new();
    while let Some(page) = pager.next_page().await? {
        for binding in page {
            if names.contains(binding.name.as_str()) {
                wanted.insert(binding.name.clone(), binding);
            }
        }
    }
    Ok(wanted)
}

async fn create(
    sm: &ServiceManager,
    on: &OnServiceManager<'_>,
    instance: &mut Option<Instance>,
    instance_id: &InstanceId,
    name: &str,
) -> Ensured {
    let inst = match instance.take() {
        Some(inst) => inst,
        None => sm.get_instance(instance_id).await?,
    };
    let created = on.ensure_binding(&inst, name).await;
    *instance = Some(inst);
    let (binding, provenance) = created?;
    ready_key(on, binding, provenance).await
}

async fn ready_key(on: &OnServiceManager<'_>, binding: Binding, provenance: Provenance) -> Ensured {
    let mut binding = on.ready_credential(binding).await?;
    Ok(Some((binding.take_service_key()?, provenance)))
}
