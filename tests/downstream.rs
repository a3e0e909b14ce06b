//! What a downstream crate writes, with only the README and rustdoc: each task in a few lines,
//! importing from the crate root, `prelude`, `runtime` or `simulator` only.

use calm_credentials::prelude::*;
use calm_credentials::runtime::{self, ProcessEnv, Query};
use calm_credentials::simulator::Simulator;

#[test]
fn tier_and_plan_for_three_dates() -> Result<()> {
    for (day, tier, creates) in [
        ("2024-03-01", ProvisioningTier::Automatic, false),
        ("2023-08-01", ProvisioningTier::MonitoringOnly, true),
        ("2023-01-15", ProvisioningTier::Manual, true),
    ] {
        let tenant = Tenant::new("acme", Region::Eu10).provisioned_on(day.parse()?);
        assert_eq!(tenant.tier(), Some(tier));
        let plan = tenant.plan(Purpose::TransportManagement, Environment::ServiceManager)?;
        assert_eq!(plan.creates_anything(), creates, "{plan}");
    }
    Ok(())
}

#[test]
fn injected_credentials_from_vcap_services_and_a_binding_folder() -> Result<()> {
    let vcap = r#"{"SAPCloudALMAPIs": [{"name": "calm", "label": "SAPCloudALMAPIs", "plan": "standard",
        "credentials": {"uaa": {"clientid": "c1", "clientsecret": "s1",
                                "url": "https://acme.authentication.eu10.hana.ondemand.com"}}}]}"#;
    let env = ProcessEnv::new().with_var("VCAP_SERVICES", vcap);
    let (key, _) = runtime::find_key(&env, &Query::default())?;
    assert_eq!(key.client_id(), "c1");

    let root = tempfile::tempdir().unwrap();
    let binding = root.path().join("calm");
    std::fs::create_dir(&binding).unwrap();
    for (file, value) in [
        ("type", "SAPCloudALMAPIs"),
        ("clientid", "c2"),
        ("clientsecret", "s2"),
        ("url", "https://acme.authentication.eu10.hana.ondemand.com"),
    ] {
        std::fs::write(binding.join(file), value).unwrap();
    }
    let env = ProcessEnv::new().with_var("SERVICE_BINDING_ROOT", root.path().to_string_lossy());
    let (key, _) = runtime::find_key(&env, &Query::service_type("SAPCloudALMAPIs"))?;
    assert_eq!(key.client_id(), "c2");
    Ok(())
}

#[tokio::test]
async fn service_manager_and_cloud_foundry_retrieval_and_error_kinds() -> Result<()> {
    let sim = Simulator::start().await?;
    let tenant = sim.tenant("calm-auto")?;

    let sm = sim.service_manager("calm-auto")?;
    let got = sm
        .credentials(&tenant, Purpose::OperationsMonitoring)
        .await?;
    assert_eq!(got.credential_provenance, Provenance::Found);

    let cf = sim.cloud_foundry().await?;
    let got = cf
        .space("calm-auto", "dev")
        .credentials(&tenant, Purpose::OperationsMonitoring)
        .await?;
    assert_eq!(got.credential.name, "cloud-alm-api-key");

    let unknown = Tenant::new("calm-manual", Region::Eu10);
    let missing = sim
        .service_manager("calm-manual")?
        .credentials(&unknown, Purpose::OperationsMonitoring)
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    let not_entitled = sim
        .service_manager("calm-manual")?
        .credentials(&unknown, Purpose::OperationsMonitoring)
        .create_missing()
        .await
        .unwrap_err();
    assert_eq!(not_entitled.kind(), ErrorKind::EntitlementMissing);
    let bad = ServiceKey::from_json("{}").unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::BadInput);
    Ok(())
}
