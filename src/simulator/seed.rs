//! Seeding: the catalog, and per tenant a subaccount, zone, SM client, CF org and space, and the
//! credentials its provisioning tier promises (cloud-alm.md §1).
//!
//! Automatic and monitoring-only tenants get, on both platforms, an instance `cloud-alm-api`
//! created on the provisioning date: in the Service Manager with binding `cloud-alm-api-binding`
//! (`binding-secret`), in CF space `dev` with service key `cloud-alm-api-key` (`instance-secret`,
//! as the 2023 generated credentials were CF keys). Automatic credentials carry the monitoring and
//! transport scopes, monitoring-only ones just the (simulated) monitoring scopes. Manual tenants
//! get nothing and are not entitled.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::credentials::{
    CredentialType, MONITORING_AUTHORITIES, TRANSPORT_AUTHORITIES, issue, new_instance_secret,
    register_instance_client,
};
use super::service_manager::SM_SCOPE_PREFIX;
use super::state::{
    CfInstance, CfKey, CfOffering, CfOp, CfOrg, CfPlan, CfSpace, OAuthClient, OpKind, Pending,
    SM_PLATFORM, SmBinding, SmInstance, SmOffering, SmOperation, SmPlan, Tenant, Urls, World,
    new_id, random_string,
};
use super::types::{TenantInfo, TenantSpec, Tier};

/// Technical name of the Cloud ALM API offering.
pub(crate) const CALM_OFFERING: &str = "SAPCloudALMAPIs";
/// Name of the seeded instances.
pub(crate) const SEEDED_INSTANCE: &str = "cloud-alm-api";
/// Name of the seeded SM binding.
pub(crate) const SEEDED_BINDING: &str = "cloud-alm-api-binding";
/// Name of the seeded CF service key.
pub(crate) const SEEDED_KEY: &str = "cloud-alm-api-key";
/// The CF space in every org.
pub(crate) const SPACE: &str = "dev";

/// The three default tenants, one per tier.
pub(crate) fn default_tenants() -> Vec<TenantSpec> {
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
    vec![
        TenantSpec::new("calm-auto", date(2024, 3, 1)),
        TenantSpec::new("calm-monitoring", date(2023, 8, 1)),
        TenantSpec::new("calm-manual", date(2023, 1, 15)),
    ]
}

/// Offerings and plans of both platforms.
pub(crate) fn seed_catalog(world: &mut World) {
    let catalog: [(&str, &str, bool, &[&str]); 3] = [
        (CALM_OFFERING, "SAP Cloud ALM API", true, &["standard"]),
        (
            "service-manager",
            "SAP Service Manager",
            false,
            &["subaccount-admin", "subaccount-audit", "container"],
        ),
        (
            "xsuaa",
            "Authorization and Trust Management Service",
            false,
            &["application", "broker"],
        ),
    ];
    for (name, description, restricted, plans) in catalog {
        let offering = SmOffering {
            id: new_id(),
            name: name.to_owned(),
            description: description.to_owned(),
            catalog_id: new_id(),
            broker_id: new_id(),
            needs_entitlement: restricted,
            instances_retrievable: true,
            bindings_retrievable: false,
        };
        let cf = CfOffering {
            guid: new_id(),
            name: name.to_owned(),
            description: description.to_owned(),
            broker_guid: offering.broker_id.clone(),
            catalog_id: offering.catalog_id.clone(),
            needs_entitlement: restricted,
            shareable: false,
        };
        for plan in plans {
            let catalog_id = new_id();
            world.sm_plans.push(SmPlan {
                id: new_id(),
                name: (*plan).to_owned(),
                description: format!("{description}, plan {plan}"),
                catalog_id: catalog_id.clone(),
                offering_id: offering.id.clone(),
            });
            world.cf_plans.push(CfPlan {
                guid: new_id(),
                name: (*plan).to_owned(),
                offering_guid: cf.guid.clone(),
                catalog_id,
            });
        }
        world.sm_offerings.push(offering);
        world.cf_offerings.push(cf);
    }
}

/// Adds a tenant and everything its tier promises; returns its index.
pub(crate) fn add_tenant(world: &mut World, urls: &Urls, spec: &TenantSpec) -> usize {
    let tier = Tier::of(spec.provisioned_on);
    let zone_id = new_id();
    world
        .auth
        .zones
        .insert(spec.subdomain.clone(), zone_id.clone());
    let sm_client_id = format!(
        "sb-{}!b{}|service-manager!b1",
        new_id(),
        world.next_broker_number()
    );
    let sm_secret = format!("{}${}", random_string(40), random_string(12));
    world.auth.clients.insert(
        sm_client_id.clone(),
        OAuthClient {
            zone_id: zone_id.clone(),
            secrets: vec![sm_secret.clone()],
            scopes: [
                "subaccount-admin",
                "service_instance.manage",
                "service_binding.manage",
            ]
            .map(|s| format!("{SM_SCOPE_PREFIX}{s}"))
            .to_vec(),
            x509: false,
        },
    );
    let org_guid = new_id();
    let space_guid = new_id();
    let created = provisioning_time(spec.provisioned_on);
    world.cf_orgs.push(CfOrg {
        guid: org_guid.clone(),
        name: spec.subdomain.clone(),
        tenant: world.tenants.len(),
        created_at: created,
    });
    world.cf_spaces.push(CfSpace {
        guid: space_guid.clone(),
        name: SPACE.to_owned(),
        org_guid: org_guid.clone(),
        created_at: created,
    });
    world.tenants.push(Tenant {
        info: TenantInfo {
            subdomain: spec.subdomain.clone(),
            provisioned_on: spec.provisioned_on,
            region: spec.region.clone(),
            subaccount_id: new_id(),
            zone_id,
            tier_name: tier.name(),
            cf_org: spec.subdomain.clone(),
            cf_space: SPACE.to_owned(),
        },
        sm_client_id,
        sm_secret,
        entitled: tier != Tier::Manual,
        space_guid,
    });
    let tenant = world.tenants.len() - 1;
    if let Some(params) = seeded_parameters(tier) {
        seed_sm_credentials(world, urls, tenant, &params, created);
        seed_cf_credentials(world, urls, tenant, &params, created);
    }
    tenant
}

/// Adds a ready Cloud ALM API instance `name` that another platform (a Cloud Foundry space)
/// created in the tenant's subaccount: the Service Manager lists it with that platform's
/// `platform_id`, its name need not be unique among Service Manager instances, and it cannot
/// be bound through the Service Manager. Returns its id.
pub(crate) fn add_other_platform_instance(world: &mut World, tenant: usize, name: &str) -> String {
    let (plan_id, _) = calm_plan(world);
    let params = json!({"xs-security": {"xsappname": name, "authorities": MONITORING_AUTHORITIES}});
    let client = register_instance_client(world, tenant, name, &params);
    let id = new_id();
    let at = Utc::now();
    let last_op = finished_op(world, tenant, "service_instances", &id, at);
    let seq = world.next_seq();
    world.sm_instances.push(SmInstance {
        id: id.clone(),
        seq,
        tenant,
        name: name.to_owned(),
        plan_id,
        parameters: params,
        labels: Default::default(),
        created_at: at,
        updated_at: at,
        last_op,
        client_id: client.client_id,
        xsappname: client.xsappname,
        platform_id: format!("cf-{}", new_id()),
    });
    id
}

fn provisioning_time(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(9, 0, 0).expect("valid time").and_utc()
}

/// The instance parameters behind a tier's generated credentials, if it has any.
fn seeded_parameters(tier: Tier) -> Option<Value> {
    let mut authorities: Vec<&str> = MONITORING_AUTHORITIES.to_vec();
    match tier {
        Tier::Manual => return None,
        Tier::Automatic => authorities.extend(TRANSPORT_AUTHORITIES),
        Tier::MonitoringOnly => {}
    }
    Some(json!({"xs-security": {"xsappname": SEEDED_INSTANCE, "authorities": authorities}}))
}

fn calm_plan(world: &World) -> (String, String) {
    let offering = world
        .sm_offerings
        .iter()
        .find(|o| o.name == CALM_OFFERING)
        .expect("catalog seeded");
    let sm = world
        .sm_plans
        .iter()
        .find(|p| p.offering_id == offering.id)
        .expect("catalog seeded");
    let cf = world
        .cf_plans
        .iter()
        .find(|p| p.catalog_id == sm.catalog_id)
        .expect("catalog seeded");
    (sm.id.clone(), cf.guid.clone())
}

fn finished_op(
    world: &mut World,
    tenant: usize,
    kind: &'static str,
    id: &str,
    at: DateTime<Utc>,
) -> String {
    let op = new_id();
    world.sm_operations.push(SmOperation {
        id: op.clone(),
        tenant,
        kind: OpKind::Create,
        resource_id: id.to_owned(),
        resource_type: kind,
        created_at: at,
        pending: Pending::new(Default::default()),
        settled: true,
        failure: None,
    });
    op
}

fn seed_sm_credentials(
    world: &mut World,
    urls: &Urls,
    tenant: usize,
    params: &Value,
    at: DateTime<Utc>,
) {
    let (plan_id, _) = calm_plan(world);
    let client = register_instance_client(world, tenant, SEEDED_INSTANCE, params);
    let instance_id = new_id();
    let instance_op = finished_op(world, tenant, "service_instances", &instance_id, at);
    let seq = world.next_seq();
    world.sm_instances.push(SmInstance {
        id: instance_id.clone(),
        seq,
        tenant,
        name: SEEDED_INSTANCE.to_owned(),
        plan_id,
        parameters: params.clone(),
        labels: Default::default(),
        created_at: at,
        updated_at: at,
        last_op: instance_op,
        client_id: client.client_id.clone(),
        xsappname: client.xsappname.clone(),
        platform_id: SM_PLATFORM.to_owned(),
    });
    let credentials = issue(
        world,
        urls,
        tenant,
        &client,
        CredentialType::BindingSecret,
        None,
    );
    let binding_id = new_id();
    let binding_op = finished_op(world, tenant, "service_bindings", &binding_id, at);
    let seq = world.next_seq();
    world.sm_bindings.push(SmBinding {
        id: binding_id,
        seq,
        tenant,
        name: SEEDED_BINDING.to_owned(),
        instance_id,
        parameters: json!({}),
        labels: Default::default(),
        credentials,
        created_at: at,
        updated_at: at,
        last_op: binding_op,
    });
}

fn seed_cf_credentials(
    world: &mut World,
    urls: &Urls,
    tenant: usize,
    params: &Value,
    at: DateTime<Utc>,
) {
    let (_, plan_guid) = calm_plan(world);
    let client = register_instance_client(world, tenant, SEEDED_INSTANCE, params);
    let secret = new_instance_secret();
    let done = CfOp {
        kind: OpKind::Create,
        pending: Pending::new(Default::default()),
        failed: false,
    };
    let instance_guid = new_id();
    let seq = world.next_seq();
    world.cf_instances.push(CfInstance {
        guid: instance_guid.clone(),
        seq,
        name: SEEDED_INSTANCE.to_owned(),
        space_guid: world.tenants[tenant].space_guid.clone(),
        shared_spaces: Vec::new(),
        plan_guid,
        tenant,
        parameters: params.clone(),
        tags: Vec::new(),
        metadata: json!({"labels": {}, "annotations": {}}),
        created_at: at,
        updated_at: at,
        op: done,
        client_id: client.client_id.clone(),
        secret: secret.clone(),
    });
    let credentials = issue(
        world,
        urls,
        tenant,
        &client,
        CredentialType::InstanceSecret,
        Some(&secret),
    );
    let seq = world.next_seq();
    world.cf_keys.push(CfKey {
        guid: new_id(),
        seq,
        name: SEEDED_KEY.to_owned(),
        instance_guid,
        credentials,
        metadata: json!({"labels": {}, "annotations": {}}),
        created_at: at,
        updated_at: at,
        op: done,
    });
}
