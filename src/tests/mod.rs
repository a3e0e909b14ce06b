//! Contract tests of the wire layer and the journeys against `wiremock`, and transport and
//! token tests: they reach the crate's internals, so they live inside it.

mod common {
    pub mod mocks;
    #[cfg(feature = "simulator")]
    pub mod sim;
    pub mod sm;
}

mod cloud_foundry_contract;
#[cfg(feature = "simulator")]
mod server_behaviour;
mod service_manager_contract;
mod service_manager_lost_response;
mod token;
mod transport;
