//! The Service Manager's inventory: every instance of an offering and its bindings, in four
//! requests (offering, its plans, instances of those plans, bindings of those instances); and
//! the summaries of instances and bindings.

use crate::error::Result;
use crate::journey::outcome::{CredentialSummary, InstanceSummary};
use crate::model::{OfferingId, PlanId};
use crate::service_manager::{Binding, Instance, ListFilter, Query, ServiceManager};
use crate::setup::Environment;

/// The raw instances of the offering and their bindings (credentials included), oldest first.
pub(crate) async fn listing(
    sm: &ServiceManager,
    offering: &str,
) -> Result<Vec<(Instance, Vec<Binding>)>> {
    let offerings = sm.find_offerings(offering).await?;
    if offerings.is_empty() {
        return Ok(Vec::new());
    }
    let offering_ids: Vec<OfferingId> = offerings.into_iter().map(|o| o.id).collect();
    let plans = sm.plans_of(&offering_ids).await?;
    let plan_ids: Vec<PlanId> = plans.into_iter().map(|p| p.id).collect();
    if plan_ids.is_empty() {
        return Ok(Vec::new());
    }
    let query = Query::new().eq_any("service_plan_id", plan_ids.iter().map(PlanId::as_str));
    let mut instances = sm
        .list_instances(ListFilter::field(query).with_last_operations())
        .all()
        .await?;
    if instances.is_empty() {
        return Ok(Vec::new());
    }
    instances.sort_by_key(|i| (i.created_at.is_none(), i.created_at));
    let ids = instances.iter().map(|i| i.id.as_str());
    let mut bindings = sm
        .list_bindings(ListFilter::field(
            Query::new().eq_any("service_instance_id", ids),
        ))
        .all()
        .await?;
    bindings.sort_by_key(|b| (b.created_at.is_none(), b.created_at));
    Ok(instances
        .into_iter()
        .map(|instance| {
            let mine = bindings
                .iter()
                .filter(|b| b.service_instance_id == instance.id)
                .cloned()
                .collect();
            (instance, mine)
        })
        .collect())
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
