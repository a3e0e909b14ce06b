//! JSON shapes of Service Manager resources (service-manager-api.md §5, §6).

use serde_json::{Value, json};

use crate::simulator::state::{
    Labels, SM_PLATFORM, SmBinding, SmInstance, SmOffering, SmOperation, SmPlan, World, timestamp,
};
use crate::simulator::types::OperationErrors;

/// When the simulated catalog was "registered".
const CATALOG_TIME: &str = "2023-01-01T00:00:00.000Z";

pub(crate) fn offering(o: &SmOffering, region: &str) -> Value {
    json!({
        "id": o.id, "ready": true, "name": o.name, "description": o.description,
        "bindable": true, "instances_retrievable": o.instances_retrievable,
        "bindings_retrievable": o.bindings_retrievable, "plan_updateable": false,
        "allow_context_updates": false, "tags": [], "requires": [],
        "metadata": {"displayName": o.description},
        "broker_id": o.broker_id, "catalog_id": o.catalog_id, "catalog_name": o.name,
        "data_center": format!("cf-{region}"), "broker_name": format!("{}-broker", o.name),
        "created_at": CATALOG_TIME, "updated_at": CATALOG_TIME, "labels": {},
    })
}

pub(crate) fn plan(p: &SmPlan) -> Value {
    json!({
        "id": p.id, "ready": true, "name": p.name, "description": p.description,
        "catalog_id": p.catalog_id, "catalog_name": p.name, "free": true, "bindable": true,
        "plan_updateable": false, "metadata": {}, "schemas": {},
        "service_offering_id": p.offering_id,
        "created_at": CATALOG_TIME, "updated_at": CATALOG_TIME, "labels": {},
    })
}

/// Labels plus the computed `subaccount_id` label SAP adds.
fn labels_with_subaccount(labels: &Labels, subaccount_id: &str) -> Value {
    let mut out = json!(labels);
    out["subaccount_id"] = json!([subaccount_id]);
    out
}

fn context(world: &World, tenant: usize, instance: &SmInstance) -> Value {
    let info = &world.tenants[tenant].info;
    let (platform, origin) = if instance.platform_id == SM_PLATFORM {
        ("service-manager", "sapcp")
    } else {
        ("cloudfoundry", "cloudfoundry")
    };
    json!({
        "platform": platform, "origin": origin, "env_type": "sapcp",
        "global_account_id": world.global_account_id, "subaccount_id": info.subaccount_id,
        "subdomain": info.subdomain, "zone_id": info.zone_id, "region": format!("cf-{}", info.region),
        "instance_name": instance.name, "service_instance_id": instance.id,
        "license_type": "SAPDEV", "crm_customer_id": "",
    })
}

pub(crate) fn instance(world: &World, i: &SmInstance, with_op: bool) -> Value {
    let subaccount = &world.tenants[i.tenant].info.subaccount_id;
    let mut v = json!({
        "id": i.id, "ready": world.sm_ready(&i.last_op), "name": i.name,
        "service_plan_id": i.plan_id, "platform_id": i.platform_id,
        "context": context(world, i.tenant, i), "maintenance_info": {}, "usable": true,
        "shared": false, "subaccount_id": subaccount,
        "created_at": timestamp(i.created_at), "updated_at": timestamp(i.updated_at),
        "labels": labels_with_subaccount(&i.labels, subaccount),
    });
    if with_op {
        attach_op(world, &mut v, &i.last_op);
    }
    v
}

pub(crate) fn binding(world: &World, b: &SmBinding, with_op: bool) -> Value {
    let subaccount = &world.tenants[b.tenant].info.subaccount_id;
    let instance = world.sm_instances.iter().find(|i| i.id == b.instance_id);
    let mut v = json!({
        "id": b.id, "ready": world.sm_ready(&b.last_op), "name": b.name,
        "service_instance_id": b.instance_id,
        "service_instance_name": instance.map(|i| i.name.clone()),
        "subaccount_id": subaccount, "credentials": b.credentials,
        "context": instance.map(|i| context(world, b.tenant, i)),
        "bind_resource": {}, "created_by": "calm-simulator",
        "created_at": timestamp(b.created_at), "updated_at": timestamp(b.updated_at),
        "labels": labels_with_subaccount(&b.labels, subaccount),
    });
    if with_op {
        attach_op(world, &mut v, &b.last_op);
    }
    v
}

fn attach_op(world: &World, resource: &mut Value, op_id: &str) {
    if let Some(op) = world.sm_op(op_id) {
        resource["last_operation"] = operation(world, op);
    }
}

pub(crate) fn operation(world: &World, op: &SmOperation) -> Value {
    let done = op.pending.done();
    let failure = op.failure.as_ref().filter(|_| done);
    let state = match (done, failure) {
        (false, _) => "in progress",
        (true, None) => "succeeded",
        (true, Some(_)) => "failed",
    };
    // Upstream stores the `util.HTTPError` as one object; SAP's documentation shows a list.
    let errors = match failure {
        None => json!([]),
        Some(f) => {
            let one = json!({"error": f.code, "description": f.description});
            match world.settings.operation_errors {
                OperationErrors::List => json!([one]),
                _ => one,
            }
        }
    };
    let updated = if done {
        op.created_at + op.pending.duration
    } else {
        op.created_at
    };
    json!({
        "id": op.id, "ready": true, "type": op.kind.word(),
        "state": state,
        "description": "", "resource_id": op.resource_id,
        "resource_type": format!("/v1/{}", op.resource_type),
        "platform_id": "service-manager", "correlation_id": op.id, "errors": errors,
        "reschedule": false, "deletion_scheduled": "0001-01-01T00:00:00Z",
        "created_at": timestamp(op.created_at), "updated_at": timestamp(updated), "labels": {},
    })
}
