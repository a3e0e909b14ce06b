//! Wiremock request matchers shared by the contract tests.

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockBuilder};

/// A mock of `GET path`.
pub fn get(p: &str) -> MockBuilder {
    Mock::given(method("GET")).and(path(p))
}

/// A mock of `POST path`.
pub fn post(p: &str) -> MockBuilder {
    Mock::given(method("POST")).and(path(p))
}
