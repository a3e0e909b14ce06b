//! Classifying Cloud Foundry errors whose meaning is only in their text.
//!
//! Cloud Controller answers most create refusals with one catch-all, 422
//! `CF-UnprocessableEntity` (10008), and says what went wrong in `detail`. The cf CLI matches
//! `detail` substrings; so does this module. The raw detail stays in the error for the user.

use crate::error::Error;

/// What a 422 `CF-UnprocessableEntity` means, read from its `detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unprocessable {
    /// "The service instance name is taken": an instance of that name exists in the space.
    InstanceNameTaken,
    /// "Key binding names must be unique": a key of that name exists (it may still be in
    /// progress).
    KeyNameTaken,
    /// A key of that name is being deleted or its deletion failed.
    KeyBeingDeleted,
    /// "There is an operation in progress for the service instance": wait, then retry.
    InstanceBusy,
    /// An operation is in progress for the key itself.
    KeyBusy,
    /// The broker is busy with another operation.
    BrokerBusy,
    /// "Service plan does not allow bindings".
    NotBindable,
    /// A service, key or plan quota of the space or organization is exhausted.
    Quota,
    /// The plan does not exist, is not available, or is not visible.
    InvalidPlan,
    /// The space does not exist or is not visible.
    InvalidSpace,
    /// The instance does not exist, is not visible, or its creation failed.
    InstanceNotFound,
    /// Keys are not supported for user-provided instances.
    UserProvided,
    /// Anything else.
    Other,
}

/// The `detail` substrings, most specific first (lower case).
const RULES: &[(&str, Unprocessable)] = &[
    (
        "the service instance name is taken",
        Unprocessable::InstanceNameTaken,
    ),
    ("getting deleted", Unprocessable::KeyBeingDeleted),
    ("deletion failed", Unprocessable::KeyBeingDeleted),
    (
        "key binding names must be unique",
        Unprocessable::KeyNameTaken,
    ),
    (
        "operation in progress for the service broker",
        Unprocessable::BrokerBusy,
    ),
    (
        "operation in progress for the service binding",
        Unprocessable::KeyBusy,
    ),
    (
        "operation in progress for the service instance",
        Unprocessable::InstanceBusy,
    ),
    ("does not allow bindings", Unprocessable::NotBindable),
    ("not bindable", Unprocessable::NotBindable),
    ("exceeded your", Unprocessable::Quota),
    ("quota", Unprocessable::Quota),
    ("paid service plans are not allowed", Unprocessable::Quota),
    ("invalid service plan", Unprocessable::InvalidPlan),
    ("invalid space", Unprocessable::InvalidSpace),
    (
        "service instance could not be found",
        Unprocessable::InstanceNotFound,
    ),
    (
        "service instance not found",
        Unprocessable::InstanceNotFound,
    ),
    (
        "user-provided service instances",
        Unprocessable::UserProvided,
    ),
];

/// Classifies a 422 `detail` text.
pub(crate) fn classify_unprocessable(detail: &str) -> Unprocessable {
    let lower = detail.to_lowercase();
    RULES
        .iter()
        .find(|(needle, _)| lower.contains(needle))
        .map_or(Unprocessable::Other, |(_, kind)| *kind)
}

/// The titles (and numeric codes) of Cloud Controller's instance quota errors, which come as
/// **400**, not 422 (`errors/v2.yml`: 60005 and 60012).
const QUOTA_400: &[(&str, i64)] = &[
    ("CF-ServiceInstanceQuotaExceeded", 60005),
    ("CF-ServiceInstanceSpaceQuotaExceeded", 60012),
];

/// Classifies an error when it is a create refusal from a platform API: a 422, or one of the
/// instance quota errors Cloud Controller sends as 400 (classified as [`Unprocessable::Quota`]
/// like the 422 quota texts); `None` otherwise.
pub(crate) fn unprocessable(err: &Error) -> Option<Unprocessable> {
    match err {
        Error::Api(api) if api.status == 422 => Some(classify_unprocessable(
            api.message.as_deref().unwrap_or_default(),
        )),
        Error::Api(api)
            if api.status == 400
                && QUOTA_400.iter().any(|(title, number)| {
                    api.code.as_deref() == Some(*title) || api.numeric_code == Some(*number)
                }) =>
        {
            Some(Unprocessable::Quota)
        }
        _ => None,
    }
}

/// What a 404 from `GET /v3/service_credential_bindings/:guid/details` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DetailsNotFound {
    /// "Creation of service key in progress" (or `initial`): not ready yet; wait.
    CreationPending,
    /// "Creation of service key failed".
    CreationFailed,
    /// "Deletion of service key …": the key is going away.
    Deleting,
    /// A plain 404: the key is gone, or the user's role may not read credentials.
    Hidden,
}

/// Classifies the `detail` of a 404 on `/details`.
pub(crate) fn classify_details_404(detail: &str) -> DetailsNotFound {
    let lower = detail.to_lowercase();
    if lower.contains("deletion of service key") {
        DetailsNotFound::Deleting
    } else if lower.contains("creation of service key") {
        if lower.contains("failed") {
            DetailsNotFound::CreationFailed
        } else {
            DetailsNotFound::CreationPending
        }
    } else {
        DetailsNotFound::Hidden
    }
}

/// The `detail` of a platform error, or `""`.
pub(crate) fn detail(err: &Error) -> &str {
    match err {
        Error::Api(api) => api.message.as_deref().unwrap_or_default(),
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Unprocessable as U;

    #[test]
    fn classifies_422_details() {
        let cases = [
            (
                "The service instance name is taken: calm-api.",
                U::InstanceNameTaken,
            ),
            (
                "The binding name is invalid. Key binding names must be unique. The service instance already has a key binding with name 'k'.",
                U::KeyNameTaken,
            ),
            (
                "The binding name is invalid. Key binding names must be unique. The service instance already has a key binding with the name 'k' that is getting deleted or its deletion failed.",
                U::KeyBeingDeleted,
            ),
            (
                "There is an operation in progress for the service instance",
                U::InstanceBusy,
            ),
            (
                "There is an operation in progress for the service instance.",
                U::InstanceBusy,
            ),
            (
                "There is an operation in progress for the service binding.",
                U::KeyBusy,
            ),
            (
                "The service instance cannot be created because there is an operation in progress for the service broker.",
                U::BrokerBusy,
            ),
            ("Service plan does not allow bindings.", U::NotBindable),
            (
                "You have exceeded your space's limit for service binding of type key.",
                U::Quota,
            ),
            (
                "You have exceeded your organization's services limit.",
                U::Quota,
            ),
            ("Service instance quota exceeded", U::Quota),
            (
                "Invalid service plan. Ensure that the service plan exists, is available, and you have access to it.",
                U::InvalidPlan,
            ),
            (
                "Invalid space. Ensure that the space exists and you have access to it.",
                U::InvalidSpace,
            ),
            (
                "The service instance could not be found: 'abc'",
                U::InstanceNotFound,
            ),
            ("Service instance not found", U::InstanceNotFound),
            (
                "Service credential bindings of type 'key' are not supported for user-provided service instances.",
                U::UserProvided,
            ),
            ("something new", U::Other),
            ("", U::Other),
        ];
        for (detail, want) in cases {
            assert_eq!(classify_unprocessable(detail), want, "{detail}");
        }
    }

    fn api(status: u16, title: &str, number: i64, detail: &str) -> Error {
        Error::from(crate::error::ApiError {
            method: "POST".into(),
            url: "https://api.cf.example/v3/service_instances".into(),
            status,
            code: Some(title.into()),
            numeric_code: Some(number),
            message: Some(detail.into()),
            body_excerpt: None,
            retryable: false,
            retry_after: None,
            correlation_id: "c".into(),
            warnings: Vec::new(),
        })
    }

    #[test]
    fn instance_quota_errors_are_400_and_classified_as_quota() {
        let org = api(
            400,
            "CF-ServiceInstanceQuotaExceeded",
            60005,
            "You have exceeded your organization's services limit.",
        );
        let space = api(
            400,
            "CF-ServiceInstanceSpaceQuotaExceeded",
            60012,
            "You have exceeded your space's services limit.",
        );
        let key = api(
            422,
            "CF-UnprocessableEntity",
            10008,
            "You have exceeded your space's limit for service binding of type key.",
        );
        for err in [&org, &space, &key] {
            assert_eq!(unprocessable(err), Some(U::Quota), "{err}");
        }
        assert!(org.to_string().contains("quota"), "{org}");
        let bad_request = api(
            400,
            "CF-MessageParseError",
            1001,
            "Request invalid due to parse error",
        );
        assert_eq!(unprocessable(&bad_request), None);
    }

    #[test]
    fn classifies_details_404() {
        let cases = [
            (
                "Creation of service key in progress",
                DetailsNotFound::CreationPending,
            ),
            (
                "Creation of service key initial",
                DetailsNotFound::CreationPending,
            ),
            (
                "Creation of service key failed",
                DetailsNotFound::CreationFailed,
            ),
            (
                "Deletion of service key in progress",
                DetailsNotFound::Deleting,
            ),
            ("Deletion of service key failed", DetailsNotFound::Deleting),
            (
                "Service credential binding not found",
                DetailsNotFound::Hidden,
            ),
            ("", DetailsNotFound::Hidden),
        ];
        for (detail, want) in cases {
            assert_eq!(classify_details_404(detail), want, "{detail}");
        }
    }
}
