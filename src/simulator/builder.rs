//! [`SimulatorBuilder`]: tenants and tunables, then binding the loopback listeners.

use std::collections::HashSet;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get, post};
use tokio::net::TcpListener;
use url::Url;

use super::log::{Listener, layer};
use super::rate_limit::{Enforcer, ServerLimits};
use super::state::{CfUser, Settings, Shared, Urls, World, new_id, random_string};
use super::types::{AsyncMode, OperationErrors, PendingVisibility, Refusals, TenantSpec};
use super::{Simulator, calm_api, cloud_foundry, rate_limit, seed, service_manager, token};

/// Configures and starts a [`Simulator`].
#[derive(Debug, Clone, Default)]
pub struct SimulatorBuilder {
    port: u16,
    tenants: Vec<TenantSpec>,
    without_defaults: bool,
    settings: Settings,
    cf_origin: Option<String>,
    limits: Option<ServerLimits>,
}

impl SimulatorBuilder {
    /// Base port: the Service Manager/token/Cloud ALM listener uses `port`, the Cloud Foundry
    /// listener `port + 1`. 0 (default) picks free ports.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Adds a tenant (to the three default ones unless [`Self::without_default_tenants`]).
    pub fn tenant(mut self, spec: TenantSpec) -> Self {
        self.tenants.push(spec);
        self
    }

    /// Seeds only the tenants added with [`Self::tenant`].
    pub fn without_default_tenants(mut self) -> Self {
        self.without_defaults = true;
        self
    }

    /// Adds the tenants of a JSON array such as
    /// `[{"subdomain": "acme", "provisioned_on": "2023-09-01", "region": "eu10"}]` (`region`
    /// optional) and drops the default tenants.
    pub fn tenants_from_json(mut self, json: &str) -> Result<Self, String> {
        let specs: Vec<TenantSpec> =
            serde_json::from_str(json).map_err(|e| format!("tenant list is not usable: {e}"))?;
        self.tenants.extend(specs);
        self.without_defaults = true;
        Ok(self)
    }

    /// Default page size of Service Manager and Cloud Foundry lists (default 50).
    pub fn page_size(mut self, n: usize) -> Self {
        self.settings.page_size = n.max(1);
        self
    }

    /// How Service Manager mutations answer (default [`AsyncMode::Auto`]).
    pub fn async_mode(mut self, mode: AsyncMode) -> Self {
        self.settings.async_mode = mode;
        self
    }

    /// How long creates and deletes stay in progress (default 0).
    pub fn operation_duration(mut self, d: Duration) -> Self {
        self.settings.op_duration = d;
        self
    }

    /// Lifetime of issued tokens (default 43199 s).
    pub fn token_lifetime(mut self, d: Duration) -> Self {
        self.settings.token_lifetime = d;
        self
    }

    /// How the Service Manager shows resources still being created (default `NotReady`).
    pub fn pending_visibility(mut self, v: PendingVisibility) -> Self {
        self.settings.pending = v;
        self
    }

    /// Where the Service Manager refuses a taken name or a busy instance (default: in the
    /// answer).
    pub fn refusals(mut self, refusals: Refusals) -> Self {
        self.settings.refusals = refusals;
        self
    }

    /// How failed Service Manager operations carry their `errors` (default: one object).
    pub fn operation_errors(mut self, shape: OperationErrors) -> Self {
        self.settings.operation_errors = shape;
        self
    }

    /// Makes the CF user belong to identity provider `origin`, so logins need a `login_hint`.
    pub fn cf_origin(mut self, origin: impl Into<String>) -> Self {
        self.cf_origin = Some(origin.into());
        self
    }

    /// Enforces the Service Manager's rate limits per OAuth client id (or user), answering 429
    /// with `Retry-After` as SAP documents; off by default. See [`ServerLimits`].
    pub fn rate_limits(mut self, limits: ServerLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Binds the listeners on 127.0.0.1, seeds the world and starts serving.
    ///
    /// Fails when a port is taken ([`Error::Io`](crate::Error::Io)) or two tenants share a
    /// subdomain ([`Error::Config`](crate::Error::Config)).
    pub async fn start(self) -> crate::Result<Simulator> {
        self.serve().await.map_err(|source| match source.kind() {
            io::ErrorKind::InvalidInput => {
                crate::Error::config("the simulator's tenants", source.to_string())
            }
            _ => crate::Error::Io {
                path: "the simulator's listeners on 127.0.0.1".into(),
                source,
            },
        })
    }

    async fn serve(self) -> io::Result<Simulator> {
        let mut specs = if self.without_defaults {
            Vec::new()
        } else {
            seed::default_tenants()
        };
        specs.extend(self.tenants);
        check_unique(&specs)?;
        let main = bind(self.port).await?;
        let cf = bind(if self.port == 0 {
            0
        } else {
            self.port.saturating_add(1)
        })
        .await?;
        let urls = Urls {
            sm: base_url(main.local_addr()?)?,
            cf: base_url(cf.local_addr()?)?,
        };
        let user = CfUser {
            username: "calm-admin@example.com".to_owned(),
            password: random_string(24),
            origin: self.cf_origin,
            user_id: new_id(),
        };
        let mut world = World::new(self.settings, user);
        seed::seed_catalog(&mut world);
        for spec in &specs {
            seed::add_tenant(&mut world, &urls, spec);
        }
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            limits: Mutex::new(self.limits.map(Enforcer::new)),
            urls,
            stopped: AtomicBool::new(false),
        });
        let tasks = vec![
            tokio::spawn(serve(main, main_router(shared.clone()))),
            tokio::spawn(serve(cf, cf_router(shared.clone()))),
        ];
        Ok(Simulator { shared, tasks })
    }
}

fn check_unique(specs: &[TenantSpec]) -> io::Result<()> {
    let mut seen = HashSet::new();
    for spec in specs {
        if spec.subdomain.is_empty() || !seen.insert(spec.subdomain.as_str()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "tenant subdomain '{}' is empty or used twice",
                    spec.subdomain
                ),
            ));
        }
    }
    Ok(())
}

async fn bind(port: u16) -> io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await
}

fn base_url(addr: SocketAddr) -> io::Result<Url> {
    Url::parse(&format!("http://{addr}/")).map_err(io::Error::other)
}

async fn serve(listener: TcpListener, router: Router) {
    if let Err(e) = axum::serve(listener, router).await {
        tracing::warn!(error = %e, "simulator listener stopped");
    }
}

fn main_router(shared: Arc<Shared>) -> Router {
    service_manager::router()
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            rate_limit::layer,
        ))
        .route("/auth/{zone}/oauth/token", post(token::token_endpoint))
        .route("/auth/{zone}/login", get(token::login_info))
        .route(
            "/auth-cert/{zone}/oauth/token",
            post(token::cert_token_endpoint),
        )
        .route("/calm/{subdomain}/api", any(calm_api::api))
        .route("/calm/{subdomain}/api/{*rest}", any(calm_api::api))
        .fallback(service_manager::not_found)
        .layer(axum::middleware::from_fn_with_state(
            (shared.clone(), Listener::Main),
            layer,
        ))
        .with_state(shared)
}

fn cf_router(shared: Arc<Shared>) -> Router {
    cloud_foundry::router()
        .fallback(cloud_foundry::not_found)
        .layer(axum::middleware::from_fn_with_state(
            (shared.clone(), Listener::CloudFoundry),
            layer,
        ))
        .with_state(shared)
}
