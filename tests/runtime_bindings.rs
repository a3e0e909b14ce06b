//! Reading injected bindings (`calm_credentials::runtime`): every layout, malformed
//! variants, selection rules, secret hygiene, and a differential check against `@sap/xsenv`.
//!
//! No test touches the process environment or `/etc`: every [`ProcessEnv`] is built by hand.

use std::path::{Path, PathBuf};
use std::process::Command;

use calm_credentials::Error;
use calm_credentials::runtime::{
    self, BindingFormat, Criterion, Listing, ProcessEnv, Query, SourceKind, SourceOutcome,
};
use serde_json::{Value, json};

/// Every fake secret in the fixtures contains this.
const SECRET_MARK: &str = "NOT-A-REAL-SECRET";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runtime")
}

fn fixture(rel: &str) -> String {
    fixtures().join(rel).display().to_string()
}

fn read_fixture(rel: &str) -> String {
    std::fs::read_to_string(fixtures().join(rel)).expect("fixture exists")
}

fn vcap(rel: &str) -> ProcessEnv {
    ProcessEnv::new().with_var("VCAP_SERVICES", read_fixture(rel))
}

fn root(rel: &str) -> ProcessEnv {
    ProcessEnv::new().with_var("SERVICE_BINDING_ROOT", fixture(rel))
}

/// A Kubernetes Secret volume for `sbio-default/calm-binding`: real files in a timestamped
/// directory, `..data` linking to it, one symlink per key into `..data`.
#[cfg(unix)]
fn build_k8s_symlinks(tmp: &Path) {
    use std::os::unix::fs::symlink;
    let binding = tmp.join("bindings/calm-binding");
    let stamp = binding.join("..2025_01_01_00_00_00.000000001");
    std::fs::create_dir_all(&stamp).unwrap();
    for entry in std::fs::read_dir(fixtures().join("sbio-default/calm-binding")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        std::fs::copy(entry.path(), stamp.join(&name)).unwrap();
        symlink(Path::new("..data").join(&name), binding.join(&name)).unwrap();
    }
    symlink("..2025_01_01_00_00_00.000000001", binding.join("..data")).unwrap();
}

/// A binding root whose only binding is a symlink to a binding directory.
#[cfg(unix)]
fn build_symlinked_binding_dir(tmp: &Path) {
    let root = tmp.join("bindings");
    std::fs::create_dir_all(&root).unwrap();
    std::os::unix::fs::symlink(
        fixtures().join("sbio-default/calm-binding"),
        root.join("calm-link"),
    )
    .unwrap();
}

fn names(listing: &Listing) -> Vec<(SourceKind, String)> {
    listing
        .services
        .iter()
        .map(|s| (s.source().kind, s.name().to_owned()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Table-driven selection
// ---------------------------------------------------------------------------------------------

#[test]
fn selection_table() {
    let both = || vcap("vcap/calm.json").with_var("SERVICE_BINDING_ROOT", fixture("sbio-default"));
    // (case, environment, query, expected name or Err(kind))
    let cases: Vec<(&str, ProcessEnv, Query, Result<&str, &str>)> = vec![
        (
            "cf default label",
            vcap("vcap/calm.json"),
            Query::default(),
            Ok("calm-api"),
        ),
        (
            "cf by name",
            vcap("vcap/calm.json"),
            Query::name("my-ups"),
            Ok("my-ups"),
        ),
        (
            "cf by tag",
            vcap("vcap/calm.json"),
            Query::tag("xsuaa"),
            Ok("my-xsuaa"),
        ),
        (
            "cf label+plan",
            vcap("vcap/two-calm.json"),
            Query::default().and(Criterion::Plan("other".into())),
            Ok("calm-b"),
        ),
        (
            "cf plan only",
            vcap("vcap/two-calm.json"),
            Query::plan("application"),
            Ok("my-xsuaa"),
        ),
        (
            "cf field",
            vcap("vcap/two-calm.json"),
            Query::new().and(Criterion::Field {
                key: "instance_guid".into(),
                value: "00000000-0000-4000-8000-0000000000a3".into(),
            }),
            Ok("calm-b"),
        ),
        (
            "cf tag via field key",
            vcap("vcap/calm.json"),
            Query::new().and(Criterion::Field {
                key: "tag".into(),
                value: "example-tag".into(),
            }),
            Ok("calm-api"),
        ),
        (
            "cf ambiguous",
            vcap("vcap/two-calm.json"),
            Query::default(),
            Err("ambiguous"),
        ),
        (
            "cf none",
            vcap("vcap/calm.json"),
            Query::label("nope"),
            Err("not found"),
        ),
        (
            "cf labels are case-sensitive",
            vcap("vcap/calm.json"),
            Query::label("sapcloudalmapis"),
            Err("not found"),
        ),
        (
            "cf wins over sbio",
            both(),
            Query::default(),
            Ok("calm-api"),
        ),
        (
            "per-query fallback to sbio",
            both(),
            Query::name("calm-binding"),
            Ok("calm-binding"),
        ),
        (
            "sbio default format",
            root("sbio-default"),
            Query::default(),
            Ok("calm-binding"),
        ),
        (
            "sbio plan+tag",
            root("sbio-default"),
            Query::plan("standard").and(Criterion::Tag("example-tag".into())),
            Ok("calm-binding"),
        ),
        (
            "sbio name is the directory, not instance_name",
            root("sbio-default"),
            Query::name("calm-api"),
            Err("not found"),
        ),
        (
            "sbio plain type",
            root("sbio-default"),
            Query::new().and(Criterion::Field {
                key: "type".into(),
                value: "xsuaa".into(),
            }),
            Ok("xsuaa-binding"),
        ),
        (
            "sbio secretKey",
            root("sbio-secretkey"),
            Query::default(),
            Ok("calm-binding"),
        ),
        (
            "sbio secretRootKey",
            root("sbio-rootkey"),
            Query::default(),
            Ok("calm-binding"),
        ),
        (
            "sbio secretRootKey tags parsed",
            root("sbio-rootkey"),
            Query::tag("example-tag"),
            Ok("calm-binding"),
        ),
        (
            "sbio newline in type",
            root("sbio-newline"),
            Query::new().and(Criterion::Field {
                key: "type".into(),
                value: "SAPCloudALMAPIs".into(),
            }),
            Ok("calm-binding"),
        ),
        (
            "legacy label from service dir",
            root("legacy-sapcp"),
            Query::default(),
            Ok("calm-api"),
        ),
        (
            "legacy service dir is a tag",
            root("legacy-sapcp"),
            Query::tag("xsuaa"),
            Ok("my-xsuaa"),
        ),
        (
            "legacy tags file",
            root("legacy-sapcp"),
            Query::tag("example-tag"),
            Ok("calm-api"),
        ),
        (
            "legacy has no top-level plan (as xsenv)",
            root("legacy-sapcp"),
            Query::plan("standard"),
            Err("not found"),
        ),
        (
            "legacy duplicate names",
            root("legacy-dupes"),
            Query::name("calm"),
            Err("ambiguous"),
        ),
        (
            "empty query",
            vcap("vcap/calm.json"),
            Query::new(),
            Err("config"),
        ),
    ];
    for (case, env, query, expected) in cases {
        let got = runtime::find(&env, &query);
        match (expected, got) {
            (Ok(name), Ok(found)) => assert_eq!(found.service.name(), name, "{case}"),
            (Err("ambiguous"), Err(Error::Ambiguous { .. }))
            | (Err("not found"), Err(Error::NotFound { .. }))
            | (Err("config"), Err(Error::Config { .. })) => {}
            (expected, got) => panic!("{case}: expected {expected:?}, got {got:?}"),
        }
    }
}

#[test]
fn query_from_cli_options() {
    assert_eq!(Query::from_options(None, None), Query::default());
    assert_eq!(
        Query::from_options(Some("calm-api"), Some("SAPCloudALMAPIs")).to_string(),
        "name `calm-api` and label `SAPCloudALMAPIs`"
    );
}

// ---------------------------------------------------------------------------------------------
// Sources and their order
// ---------------------------------------------------------------------------------------------

#[test]
fn default_roots_are_injectable_and_read_in_order() {
    let env = ProcessEnv::new()
        .with_xsenv_default_root(fixture("legacy-sapcp"))
        .with_java_default_root(fixture("legacy-sapbtp"));
    let listing = runtime::list(&env);
    let kinds: Vec<(SourceKind, &str)> = listing
        .sources
        .iter()
        .map(|r| (r.source.kind, r.source.location.as_str()))
        .collect();
    assert_eq!(kinds[0], (SourceKind::VcapServices, "VCAP_SERVICES"));
    assert_eq!(
        kinds[1],
        (SourceKind::ServiceBinding, "SERVICE_BINDING_ROOT")
    );
    assert_eq!(kinds[2].0, SourceKind::Legacy);
    assert!(kinds[2].1.ends_with("legacy-sapcp"));
    assert_eq!(kinds[3].0, SourceKind::ServiceBinding);
    assert!(kinds[3].1.ends_with("legacy-sapbtp"));
    assert_eq!(kinds[4].0, SourceKind::Legacy);
    // Both defaults hold a SAPCloudALMAPIs instance: the xsenv default comes first.
    let found = runtime::find(&env, &Query::default()).unwrap();
    assert_eq!(found.service.name(), "calm-api");
    // The Java default is found when the xsenv one has no match.
    let found = runtime::find(&env, &Query::name("calm-java")).unwrap();
    assert!(
        found
            .service
            .path()
            .unwrap()
            .ends_with("legacy-sapbtp/SAPCloudALMAPIs/calm-java")
    );
    // A legacy service folder is not reported as a broken servicebinding.io binding.
    assert!(listing.problems.is_empty(), "{:?}", listing.problems);
}

#[test]
fn service_binding_root_replaces_the_default_roots() {
    // As in xsenv (and the Java library), a set SERVICE_BINDING_ROOT is the only directory root.
    let env = root("sbio-default")
        .with_xsenv_default_root(fixture("legacy-sapcp"))
        .with_java_default_root(fixture("legacy-sapbtp"));
    let listing = runtime::list(&env);
    assert!(
        !listing
            .sources
            .iter()
            .any(|r| r.source.location.contains("legacy-sap"))
    );
    assert_eq!(
        names(&listing),
        vec![
            (SourceKind::ServiceBinding, "calm-binding".to_owned()),
            (SourceKind::ServiceBinding, "xsuaa-binding".to_owned())
        ]
    );
}

#[test]
fn vcap_file_path_takes_precedence_and_does_not_fall_back() {
    let env = ProcessEnv::new()
        .with_var("VCAP_SERVICES_FILE_PATH", fixture("vcap/calm.json"))
        .with_var("VCAP_SERVICES", read_fixture("vcap/two-calm.json"));
    let listing = runtime::list(&env);
    assert_eq!(listing.sources[0].source.kind, SourceKind::VcapServicesFile);
    assert_eq!(listing.sources[0].outcome, SourceOutcome::Read(3));
    assert!(matches!(
        listing.sources[1].outcome,
        SourceOutcome::Ignored(_)
    ));
    assert_eq!(
        runtime::find(&env, &Query::default())
            .unwrap()
            .service
            .name(),
        "calm-api"
    );

    // File missing: no fallback to VCAP_SERVICES (xsenv throws; we report and find nothing).
    let env = ProcessEnv::new()
        .with_var("VCAP_SERVICES_FILE_PATH", fixture("vcap/nowhere.json"))
        .with_var("VCAP_SERVICES", read_fixture("vcap/calm.json"));
    let err = runtime::find(&env, &Query::default()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::NotFound { .. }), "{text}");
    assert!(text.contains("vcap/nowhere.json"), "{text}");
    assert!(text.contains("VCAP_SERVICES is set but not read"), "{text}");
}

#[test]
fn empty_variables_count_as_unset() {
    let env = ProcessEnv::new()
        .with_var("VCAP_SERVICES_FILE_PATH", "")
        .with_var("VCAP_SERVICES", read_fixture("vcap/calm.json"))
        .with_var("SERVICE_BINDING_ROOT", "");
    assert_eq!(
        runtime::find(&env, &Query::default())
            .unwrap()
            .service
            .name(),
        "calm-api"
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------------------------

#[test]
fn bad_vcap_json_does_not_hide_a_good_binding() {
    // Differs from xsenv, which throws on the bad VCAP_SERVICES before looking anywhere else.
    let env = vcap("vcap/bad.txt").with_var("SERVICE_BINDING_ROOT", fixture("sbio-default"));
    let found = runtime::find(&env, &Query::default()).unwrap();
    assert_eq!(found.service.name(), "calm-binding");
    assert_eq!(found.warnings.len(), 1);
    let w = found.warnings[0].to_string();
    assert!(w.starts_with("VCAP_SERVICES: not valid JSON (line"), "{w}");
    assert!(!w.contains(SECRET_MARK));

    // Nothing else to find: the error says the variable is broken.
    let err = runtime::find(&vcap("vcap/bad.txt"), &Query::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("VCAP_SERVICES: unusable: not valid JSON"),
        "{text}"
    );
    assert!(!text.contains(SECRET_MARK), "{text}");
}

#[test]
fn malformed_vcap_entries_are_reported_and_good_ones_kept() {
    let listing = runtime::list(&vcap("vcap/malformed-entries.json"));
    assert_eq!(
        names(&listing),
        vec![
            (SourceKind::VcapServices, "calm-good".to_owned()),
            (SourceKind::VcapServices, "ups-bad-creds".to_owned())
        ]
    );
    let problems: Vec<String> = listing.problems.iter().map(ToString::to_string).collect();
    let expect = [
        "VCAP_SERVICES: `SAPCloudALMAPIs[0]`: `name`: expected the service name as a string, found nothing; skipped",
        "VCAP_SERVICES: `SAPCloudALMAPIs[1]`: expected a service object, found a string; skipped",
        "VCAP_SERVICES: `broken-label`: expected an array of bound instances under this label, found an object; skipped",
        "VCAP_SERVICES: `ups-bad-creds`: `credentials`: expected an object, found a string; the service is listed but has no usable credentials",
        "VCAP_SERVICES: `ups-bad-creds`: `tags`: expected an array of strings, found a string; tag filters will not match",
    ];
    for e in expect {
        assert!(
            problems.iter().any(|p| p == e),
            "missing {e:?} in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expect.len(), "{problems:#?}");
    assert!(!format!("{problems:?} {listing:?}").contains(SECRET_MARK));
    // The service whose credentials are a string: its key error names source, service, field.
    let err = runtime::find(
        &vcap("vcap/malformed-entries.json"),
        &Query::name("ups-bad-creds"),
    )
    .unwrap()
    .service_key()
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("credentials of service `ups-bad-creds` from VCAP_SERVICES is not usable: at `credentials`"),
        "{text}"
    );
    assert!(!text.contains(SECRET_MARK));
}

#[test]
fn broken_bindings_are_reported() {
    let listing = runtime::list(&root("sbio-broken"));
    assert_eq!(
        names(&listing),
        vec![(SourceKind::ServiceBinding, "lying-metadata".to_owned())]
    );
    let problems: Vec<String> = listing.problems.iter().map(ToString::to_string).collect();
    let has = |needle: &str| problems.iter().any(|p| p.contains(needle));
    assert!(has("`no-type`: `type`: no `type` file"), "{problems:#?}");
    assert!(
        has("`unlisted-type`: `type`: `.metadata` does not list a `type`"),
        "{problems:#?}"
    );
    assert!(
        has("`lying-metadata`: `uaa`: declared `json` in `.metadata` but is not valid JSON"),
        "{problems:#?}"
    );
    assert!(
        has(
            "`lying-metadata`: `certificate`: listed in `.metadata` `credentialProperties` but there is no such file"
        ),
        "{problems:#?}"
    );
    assert!(
        has("`lying-metadata`: `extra`: `.metadata` gives format `yaml`"),
        "{problems:#?}"
    );
    assert!(
        has("`lying-metadata`: `tags`: declared `json`"),
        "{problems:#?}"
    );
    assert!(!format!("{problems:?}").contains(SECRET_MARK));
    // The lying binding's key names the missing field and the source.
    let err = runtime::find(&root("sbio-broken"), &Query::name("lying-metadata"))
        .unwrap()
        .service_key()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("credentials of service `lying-metadata` from servicebinding.io root"),
        "{err}"
    );
    assert!(err.contains("`credentials.uaa`"), "{err}");
}

#[test]
fn root_that_is_a_file_is_a_problem_not_a_crash() {
    // xsenv asserts `secrets path must be a directory` and fails every lookup; we report it.
    let env = ProcessEnv::new()
        .with_var("SERVICE_BINDING_ROOT", fixture("vcap/calm.json"))
        .with_var("VCAP_SERVICES", read_fixture("vcap/calm.json"));
    let listing = runtime::list(&env);
    assert!(
        listing
            .problems
            .iter()
            .any(|p| p.message.starts_with("is not a directory"))
    );
    assert_eq!(
        runtime::find(&env, &Query::default())
            .unwrap()
            .service
            .name(),
        "calm-api"
    );
}

#[test]
fn null_property_lists_are_empty() {
    // xsenv 6.2.2 crashes with `metaData is not iterable` here (quirk 9.2); the Go operator
    // writes `null` for a nil slice, so we treat it as an empty list.
    let found = runtime::find(&root("sbio-null-props"), &Query::default()).unwrap();
    assert_eq!(found.service.expose_credentials(), &json!({}));
    assert_eq!(found.service.instance_name(), Some("calm-api"));
}

#[test]
fn legacy_bad_tags_are_reported() {
    // xsenv throws (JSON.parse of the tags file) and fails every lookup; we keep the instance.
    let listing = runtime::list(&root("legacy-badtags"));
    assert_eq!(listing.services[0].tags(), vec!["SAPCloudALMAPIs"]);
    assert!(
        listing.problems[0]
            .to_string()
            .contains("`calm-api`: `tags`: expected a JSON array")
    );
}

#[test]
fn not_found_says_where_it_looked() {
    let env = vcap("vcap/calm.json")
        .with_xsenv_default_root(fixture("no-such-dir"))
        .with_java_default_root(fixture("legacy-sapbtp"));
    let err = runtime::find(&env, &Query::label("other")).unwrap_err();
    let text = err.to_string();
    for needle in [
        "bound service with label `other` was not found",
        "1. VCAP_SERVICES: 3 service(s), none matching: `calm-api` (label `SAPCloudALMAPIs`), `my-xsuaa` (label `xsuaa`), `my-ups` (label `user-provided`)",
        "2. servicebinding.io root SERVICE_BINDING_ROOT: SERVICE_BINDING_ROOT is not set",
        "no-such-dir: does not exist",
        "legacy-sapbtp: 0 service(s)",
        "legacy-sapbtp: 1 service(s), none matching: `calm-java` (label `SAPCloudALMAPIs`)",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in {text}");
    }
    assert!(!text.contains(SECRET_MARK));
}

#[test]
fn ambiguous_names_the_candidates() {
    let err = runtime::find(&vcap("vcap/two-calm.json"), &Query::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "label `SAPCloudALMAPIs` in VCAP_SERVICES is ambiguous: it matches `calm-a` (label `SAPCloudALMAPIs`), `calm-b` (label `SAPCloudALMAPIs`); name it more precisely"
    );
}

#[test]
fn duplicate_names_are_kept_and_reported() {
    // xsenv keys services by name and silently keeps the last (quirk 9.5).
    let listing = runtime::list(&vcap("vcap/duplicate-names.json"));
    assert_eq!(listing.services.len(), 2);
    assert!(
        listing.problems[0]
            .to_string()
            .contains("`calm`: 2 services have this name")
    );
    // A label still tells them apart.
    let found = listing.select(&Query::label("xsuaa")).unwrap();
    assert_eq!(found.service.plan(), Some("application"));
}

// ---------------------------------------------------------------------------------------------
// Layouts to ServiceKey
// ---------------------------------------------------------------------------------------------

#[test]
fn every_layout_gives_a_service_key() {
    let cases: Vec<(&str, ProcessEnv, Query, BindingFormat, &str)> = vec![
        (
            "vcap",
            vcap("vcap/calm.json"),
            Query::default(),
            BindingFormat::CloudFoundry,
            "example-calm1",
        ),
        (
            "sbio default",
            root("sbio-default"),
            Query::default(),
            BindingFormat::ServiceBindingMetadata,
            "example-calm8",
        ),
        (
            "sbio secretKey",
            root("sbio-secretkey"),
            Query::default(),
            BindingFormat::ServiceBindingMetadata,
            "example-calm9",
        ),
        (
            "sbio secretRootKey",
            root("sbio-rootkey"),
            Query::default(),
            BindingFormat::SecretRootKey,
            "example-calm8",
        ),
        // `uaa` is JSON held as text here (no `.metadata`), exactly as xsenv returns it.
        (
            "sbio plain",
            root("sbio-plain"),
            Query::name("calm-binding"),
            BindingFormat::ServiceBindingPlain,
            "example-calm10",
        ),
        (
            "legacy",
            root("legacy-sapcp"),
            Query::default(),
            BindingFormat::Legacy,
            "example-calm13",
        ),
        // One `credentials` file holding the whole key (operator secretKey in the legacy layout).
        (
            "legacy secretKey",
            root("legacy-secretkey"),
            Query::default(),
            BindingFormat::Legacy,
            "example-calm18",
        ),
    ];
    for (case, env, query, format, zone) in cases {
        let (key, found) =
            runtime::find_key(&env, &query).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(found.service.format(), format, "{case}");
        assert_eq!(key.identity_zone(), Some(zone), "{case}");
        assert_eq!(
            key.api_url().map(|u| u.as_str()),
            Some("https://eu10.alm.cloud.sap/api"),
            "{case}"
        );
        assert!(key.token_url().as_str().ends_with("/oauth/token"), "{case}");
    }
}

#[test]
fn sbio_plain_credentials_are_kept_as_text() {
    // Without `.metadata` only `type` and `provider` are metadata: no label to select by.
    assert!(runtime::find(&root("sbio-plain"), &Query::default()).is_err());
    let found = runtime::find(&root("sbio-plain"), &Query::name("calm-binding")).unwrap();
    assert!(found.service.expose_credentials()["uaa"].is_string());
    assert_eq!(found.service.field("provider"), Some(&json!("sap")));
}

#[test]
fn select_key_skips_an_unusable_match_for_a_usable_one() {
    // VCAP has a `ups-bad-creds` service with string credentials; the legacy root has none
    // by that name, so the broken one's own error comes back.
    let env = vcap("vcap/malformed-entries.json");
    let err = runtime::find_key(&env, &Query::name("ups-bad-creds")).unwrap_err();
    assert!(
        err.to_string()
            .contains("credentials of service `ups-bad-creds`"),
        "{err}"
    );
    // A CF match with unusable credentials does not hide a good binding in a later source.
    let env = ProcessEnv::new()
        .with_var(
            "VCAP_SERVICES",
            r#"{"SAPCloudALMAPIs":[{"name":"x","label":"SAPCloudALMAPIs","credentials":{"uaa":{}}}]}"#,
        )
        .with_var("SERVICE_BINDING_ROOT", fixture("sbio-default"));
    let (key, found) = runtime::find_key(&env, &Query::default()).unwrap();
    assert_eq!(found.service.name(), "calm-binding");
    assert_eq!(key.identity_zone(), Some("example-calm8"));
    assert!(
        found
            .warnings
            .iter()
            .any(|w| w.to_string().contains("`x`: `credentials`: matches label"))
    );
    // ...while plain `select` follows xsenv and stops at the first source with a match.
    assert_eq!(
        runtime::find(&env, &Query::default())
            .unwrap()
            .service
            .name(),
        "x"
    );
}

// ---------------------------------------------------------------------------------------------
// Kubernetes symlinks
// ---------------------------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn kubernetes_symlinked_secret_volume() {
    let tmp = tempfile::tempdir().unwrap();
    build_k8s_symlinks(tmp.path());
    let env = ProcessEnv::new().with_var(
        "SERVICE_BINDING_ROOT",
        tmp.path().join("bindings").display().to_string(),
    );
    let listing = runtime::list(&env);
    assert!(listing.problems.is_empty(), "{:?}", listing.problems);
    // `..data` and the timestamped directory are neither bindings nor legacy instances.
    assert_eq!(
        names(&listing),
        vec![(SourceKind::ServiceBinding, "calm-binding".to_owned())]
    );
    let s = &listing.services[0];
    assert_eq!(s.tags(), vec!["example-tag"]);
    assert_eq!(s.plan(), Some("standard"));
    assert_eq!(
        s.instance_guid(),
        Some("00000000-0000-4000-8000-0000000000a8")
    );
    assert!(s.service_key().is_ok());
    assert!(runtime::find(&env, &Query::name("..data")).is_err());
}

#[cfg(unix)]
#[test]
fn broken_symlink_is_a_problem() {
    let tmp = tempfile::tempdir().unwrap();
    build_k8s_symlinks(tmp.path());
    let binding = tmp.path().join("bindings/calm-binding");
    std::os::unix::fs::symlink("..data/gone", binding.join("dangling")).unwrap();
    let env = ProcessEnv::new().with_var(
        "SERVICE_BINDING_ROOT",
        tmp.path().join("bindings").display().to_string(),
    );
    let listing = runtime::list(&env);
    assert_eq!(listing.services.len(), 1);
    assert!(
        listing.problems[0]
            .to_string()
            .contains("`dangling`: cannot follow the entry")
    );
}

// ---------------------------------------------------------------------------------------------
// Secrets never shown
// ---------------------------------------------------------------------------------------------

#[test]
fn nothing_shows_a_secret() {
    let envs = [
        vcap("vcap/calm.json"),
        vcap("vcap/malformed-entries.json"),
        vcap("vcap/bad.txt"),
        root("sbio-default"),
        root("sbio-plain"),
        root("sbio-rootkey"),
        root("sbio-secretkey"),
        root("sbio-broken"),
        root("legacy-sapcp"),
        root("legacy-secretkey"),
    ];
    for env in envs {
        assert!(!format!("{env:?}").contains(SECRET_MARK));
        let listing = runtime::list(&env);
        let shown = format!(
            "{listing:?}\n{}\n{:?}",
            listing.redacted_json(),
            listing
                .services
                .iter()
                .map(|s| s.redacted_credentials())
                .collect::<Vec<_>>()
        );
        assert!(!shown.contains(SECRET_MARK), "{shown}");
        for s in &listing.services {
            if let Ok(key) = s.service_key() {
                assert!(!format!("{key:?}").contains(SECRET_MARK));
            }
            if let Err(e) = s.service_key() {
                assert!(!e.to_string().contains(SECRET_MARK), "{e}");
            }
        }
        if let Ok(found) = runtime::find(&env, &Query::default()) {
            assert!(!format!("{found:?}").contains(SECRET_MARK));
        }
        if let Err(e) = runtime::find(&env, &Query::label("none")) {
            assert!(!format!("{e} {e:?}").contains(SECRET_MARK));
        }
    }
    // The exposing view does carry them (so the test above is not vacuous).
    let listing = runtime::list(&root("sbio-plain"));
    assert!(listing.expose_json().to_string().contains(SECRET_MARK));
}

// ---------------------------------------------------------------------------------------------
// Property tests: the VCAP parser never panics
// ---------------------------------------------------------------------------------------------

fn arb_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-z_{}\\[\\]\" ]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        let key = prop_oneof![
            Just("name".to_owned()),
            Just("label".to_owned()),
            Just("tags".to_owned()),
            Just("plan".to_owned()),
            Just("credentials".to_owned()),
            Just("uaa".to_owned()),
            "[a-z]{1,6}".prop_map(|s| s),
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #[test]
    fn vcap_parser_never_panics_on_json(doc in arb_json()) {
        let listing = runtime::parse_vcap_services(&doc.to_string());
        for s in &listing.services {
            let _ = s.service_key();
            let _ = s.redacted_json();
            let _ = format!("{s:?}");
        }
        let _ = listing.select(&Query::default());
        let _ = listing.select_key(&Query::name("name"));
    }

    #[test]
    fn vcap_parser_never_panics_on_services_shape(
        groups in proptest::collection::btree_map("[A-Za-z]{1,8}", proptest::collection::vec(arb_json(), 0..4), 0..4)
    ) {
        let doc: serde_json::Map<String, Value> =
            groups.into_iter().map(|(k, v)| (k, Value::Array(v))).collect();
        let listing = runtime::parse_vcap_services(&Value::Object(doc).to_string());
        let _ = listing.redacted_json();
        let _ = listing.select(&Query::tag("x"));
    }

    #[test]
    fn vcap_parser_never_panics_on_text(text in "\\PC{0,64}") {
        let _ = runtime::parse_vcap_services(&text);
    }
}

// ---------------------------------------------------------------------------------------------
// Differential check against @sap/xsenv 6.2.2
// ---------------------------------------------------------------------------------------------

fn differential_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential")
}

/// Whether `node` and the installed `@sap/xsenv` are available for a live run
/// (`XSENV_LIVE=0` forces the recordings-only path that runs where Node is missing).
fn live_xsenv() -> bool {
    if std::env::var("XSENV_LIVE").is_ok_and(|v| v == "0") {
        return false;
    }
    let module = differential_dir().join("node_modules/@sap/xsenv/package.json");
    let module_ok = module.exists() || std::env::var_os("XSENV_MODULE").is_some();
    module_ok
        && Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
}

const XSENV_VARS: [&str; 4] = [
    "VCAP_SERVICES",
    "VCAP_SERVICES_FILE_PATH",
    "SERVICE_BINDING_ROOT",
    "XSENV_PARSE_ALL_JSON",
];

fn run_xsenv(vars: &[(String, String)], filter: &Value) -> Value {
    let mut cmd = Command::new("node");
    cmd.current_dir(differential_dir())
        .arg("xsenv_select.js")
        .arg(filter.to_string());
    for v in XSENV_VARS {
        cmd.env_remove(v);
    }
    cmd.envs(vars.iter().map(|(k, v)| (k, v)));
    let out = cmd.output().expect("node runs");
    assert!(
        out.status.success(),
        "xsenv_select.js failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("xsenv_select.js prints JSON")
}

fn query_of(filter: &Value) -> Query {
    match filter {
        Value::String(name) => Query::name(name.clone()),
        Value::Object(m) => m.iter().fold(Query::new(), |q, (k, v)| {
            let v = v.as_str().unwrap_or_default().to_owned();
            q.and(match k.as_str() {
                "name" => Criterion::Name(v),
                "label" => Criterion::Label(v),
                "plan" => Criterion::Plan(v),
                _ => Criterion::Field {
                    key: k.clone(),
                    value: v,
                },
            })
        }),
        other => panic!("unsupported filter {other}"),
    }
}

fn ours(env: &ProcessEnv, filter: &Value) -> Value {
    match runtime::find(env, &query_of(filter)) {
        Ok(found) => {
            json!({"name": found.service.name(), "credentials": found.service.expose_credentials()})
        }
        Err(Error::NotFound { .. }) => json!({"error": "Found 0 matching services"}),
        Err(Error::Ambiguous { candidates, .. }) => {
            json!({"error": format!("Found {} matching services", candidates.len())})
        }
        Err(e) => json!({"error": format!("rust: {e}")}),
    }
}

fn normalize(value: Value, replacements: &[(String, &str)]) -> Value {
    let mut text = value.to_string();
    for (from, to) in replacements {
        text = text.replace(from.as_str(), to);
    }
    serde_json::from_str(&text).expect("still JSON")
}

#[test]
fn differential_against_xsenv() {
    let cases: Value = serde_json::from_str(
        &std::fs::read_to_string(differential_dir().join("cases.json")).unwrap(),
    )
    .unwrap();
    let cases = cases["cases"].as_array().unwrap();
    let record = std::env::var("XSENV_RECORD").is_ok_and(|v| v == "1");
    let live = live_xsenv();
    assert!(
        !record || live,
        "XSENV_RECORD=1 needs node and tests/differential/node_modules (see tests/differential/README.md)"
    );
    let expected_dir = differential_dir().join("expected");
    let load = |id: &str| -> Value {
        let path = expected_dir.join(format!("{id}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "{} is missing: run XSENV_RECORD=1 cargo test --test runtime_bindings differential",
                path.display()
            )
        });
        serde_json::from_str(&text).unwrap()
    };
    let fixtures_abs = fixtures().display().to_string();
    // Pass 1: prepare every case (temporary layouts live until the end) and, when Node is
    // available, run xsenv live: record, or check the recording is current.
    let mut prepared = Vec::new();
    let mut live_checked = 0;
    for case in cases {
        let id = case["id"].as_str().unwrap();
        if case.get("build").is_some() && cfg!(not(unix)) {
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        match case.get("build").and_then(Value::as_str) {
            #[cfg(unix)]
            Some("k8s-symlinks") => build_k8s_symlinks(tmp.path()),
            #[cfg(unix)]
            Some("symlinked-binding-dir") => build_symlinked_binding_dir(tmp.path()),
            None => {}
            Some(other) => panic!("{id}: unknown build {other}"),
        }
        let tmp_abs = tmp.path().display().to_string();
        let vars: Vec<(String, String)> = case["env"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.replace("${F}", &fixtures_abs).replace("${T}", &tmp_abs),
                    Value::Object(o) => read_fixture(o["file"].as_str().unwrap()),
                    other => panic!("{id}: bad env value {other}"),
                };
                (k.clone(), v)
            })
            .collect();
        if live {
            let replacements = [(tmp_abs.clone(), "${T}"), (fixtures_abs.clone(), "${F}")];
            let got = normalize(run_xsenv(&vars, &case["filter"]), &replacements);
            if record {
                std::fs::create_dir_all(&expected_dir).unwrap();
                let path = expected_dir.join(format!("{id}.json"));
                std::fs::write(&path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
            } else {
                assert_eq!(
                    got,
                    load(id),
                    "{id}: live xsenv differs from the recording; re-record (see tests/differential/README.md)"
                );
            }
            live_checked += 1;
        }
        prepared.push((case, vars, tmp));
    }

    // Pass 2: our selection against the recorded xsenv result (always, Node or not).
    let mut checked = 0;
    for (case, vars, _tmp) in &prepared {
        let id = case["id"].as_str().unwrap();
        let env = vars.iter().fold(ProcessEnv::new(), |e, (k, v)| {
            e.with_var(k.clone(), v.clone())
        });
        let recorded = load(id);
        let mine = ours(&env, &case["filter"]);
        let expect = match &case["rust"] {
            Value::String(s) if s == "same" => {
                assert!(
                    recorded.get("name").is_some()
                        || recorded["error"]
                            .as_str()
                            .is_some_and(|e| e.starts_with("Found ")),
                    "{id}: marked same but xsenv threw {recorded}"
                );
                recorded
            }
            Value::Object(d) => {
                let mut e = d["expect"].clone();
                if let Some(other) = e.get("same_credentials_as").and_then(Value::as_str) {
                    let creds = load(other)["credentials"].clone();
                    assert!(!creds.is_null(), "{id}: {other} has no credentials");
                    e = json!({"name": e["name"], "credentials": creds});
                }
                // A difference must be real: xsenv's recording is something else.
                assert_ne!(e, recorded, "{id}: marked as differing, but xsenv agrees");
                e
            }
            other => panic!("{id}: bad rust expectation {other}"),
        };
        assert_eq!(mine, expect, "{id}");
        checked += 1;
    }
    assert_eq!(
        checked,
        cases
            .iter()
            .filter(|c| cfg!(unix) || c.get("build").is_none())
            .count()
    );
    eprintln!(
        "differential: {checked} cases checked against recordings, {live_checked} also against live xsenv"
    );
}
