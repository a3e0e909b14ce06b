//! What exists in a space: the SAP Cloud ALM API instances and their service keys.

use serde::Serialize;

use super::CloudFoundry;
use super::types::{ServiceCredentialBinding, ServiceInstance, Space};
use crate::error::Result;
use crate::model::InstanceId;

/// One instance and its keys (in every state), without secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct InstanceKeys {
    /// The instance.
    pub instance: ServiceInstance,
    /// Its service keys.
    pub keys: Vec<ServiceCredentialBinding>,
}

impl CloudFoundry {
    /// The instances of the Cloud ALM API offering ([`CloudFoundry::offering`]) in `space`, each
    /// with its keys. Three requests (plans, instances, keys) plus further pages; none when the
    /// offering has no plan visible in the space.
    pub(crate) async fn inventory(&self, space: &Space) -> Result<Vec<InstanceKeys>> {
        let plans = self
            .service_plans(self.offering(), None, Some(space))
            .await?;
        if plans.is_empty() {
            return Ok(Vec::new());
        }
        let plan_guids: Vec<&str> = plans.iter().map(|p| p.guid.as_str()).collect();
        let instances = self.list_instances(&space.guid, &plan_guids).await?;
        let guids: Vec<&InstanceId> = instances.iter().map(|i| &i.guid).collect();
        let keys = self.list_keys(&guids).await?;
        Ok(group(instances, keys))
    }
}

/// Keys grouped under their instances, instances in the server's order (pure).
pub(crate) fn group(
    instances: Vec<ServiceInstance>,
    keys: Vec<ServiceCredentialBinding>,
) -> Vec<InstanceKeys> {
    instances
        .into_iter()
        .map(|instance| {
            let keys = keys
                .iter()
                .filter(|k| k.instance_guid().as_ref() == Some(&instance.guid))
                .cloned()
                .collect();
            InstanceKeys { instance, keys }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_keys_under_instances() {
        let instances: Vec<ServiceInstance> = serde_json::from_value(json!([
            {"guid": "i1", "name": "a"}, {"guid": "i2", "name": "b"}
        ]))
        .unwrap();
        let keys: Vec<ServiceCredentialBinding> = serde_json::from_value(json!([
            {"guid": "k1", "name": "x", "relationships": {"service_instance": {"data": {"guid": "i2"}}}},
            {"guid": "k2", "name": "y", "relationships": {"service_instance": {"data": {"guid": "i2"}}}},
            {"guid": "k3", "name": "z", "relationships": {"service_instance": {"data": {"guid": "other"}}}}
        ]))
        .unwrap();
        let g = group(instances, keys);
        assert_eq!(g[0].keys.len(), 0);
        assert_eq!(g[1].keys.len(), 2);
        assert_eq!(g[1].keys[1].name(), "y");
    }
}
