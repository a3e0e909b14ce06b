//! The Cloud Foundry half of `calm demo`.

use calm_credentials::cloud_foundry::{CfCredentials, CfLogin, CloudFoundry};
use calm_credentials::simulator::{Simulator, TenantInfo};
use calm_credentials::{HttpClient, PlanRequest, RetrieveOptions, Retrieved};
use secrecy::SecretString;

/// Logs in to the simulator's Cloud Foundry API and carries the plan out in the tenant's space.
pub async fn carry_out(
    sim: &Simulator,
    tenant: &TenantInfo,
    req: &PlanRequest,
    http: &HttpClient,
    opts: &RetrieveOptions,
) -> calm_credentials::Result<Retrieved> {
    let login = sim.cf_login();
    let credentials = CfCredentials::Password {
        username: login.username.clone(),
        password: SecretString::from(login.password.clone()),
        origin: login.origin.clone(),
    };
    let cf = CloudFoundry::connect(
        CfLogin::new(login.api_url.clone(), credentials)?,
        http.clone(),
    )
    .await?;
    cf.retrieve(&tenant.cf_org, &tenant.cf_space, req, opts)
        .await
}
