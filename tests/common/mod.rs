//! Shared test fixtures.
pub mod sm;
