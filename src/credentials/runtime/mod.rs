//! Credentials a platform already injected into the running program: Cloud Foundry's
//! `VCAP_SERVICES` and Kubernetes service-binding directories, found with the lookup rules of
//! SAP's Node.js library `@sap/xsenv` 6.2.2.
//!
//! # Entry points
//!
//! - [`list`] reads every source and returns a [`Listing`]: every service found, what each source
//!   gave (or why it gave nothing), and every malformed entry as a [`Problem`]. It never fails.
//! - [`find`] / [`Listing::select`] pick exactly one service for a [`Query`] (default: label
//!   `SAPCloudALMAPIs`); [`find_key`] / [`Listing::select_key`] also turn it into a
//!   [`ServiceKey`].
//!
//! All input comes through an [`ProcessEnv`] (variables and default roots), so tests never touch
//! the process environment or `/etc`.
//!
//! # Sources, in order
//!
//! 1. **Cloud Foundry**: the file named by `VCAP_SERVICES_FILE_PATH` if that variable is non-empty
//!    (then `VCAP_SERVICES` is not read at all, even when the file is missing or broken, as in
//!    xsenv); otherwise the `VCAP_SERVICES` variable.
//! 2. **servicebinding.io** directories under `SERVICE_BINDING_ROOT` (one directory per binding,
//!    a `type` file, optional SAP `.metadata`; also the operator's `secretRootKey` format).
//! 3. **Legacy** `<root>/<service>/<instance>/` directories under `SERVICE_BINDING_ROOT`, or, when
//!    that is unset or empty, under `/etc/secrets/sapcp` (xsenv's default).
//! 4. Only when `SERVICE_BINDING_ROOT` is unset or empty: `/etc/secrets/sapbtp` (the default root of
//!    SAP's Java libraries), read first as a servicebinding.io root, then as a legacy root.
//!
//! Sources 1–3 are exactly xsenv's `filterServices` order; source 4 only adds what xsenv would
//! not find at all. Selection goes source by source and stops at the first source with at least
//! one match; exactly one match is required there (xsenv's `serviceCredentials` rule), two or
//! more is an [`Error::Ambiguous`] naming them.
//!
//! # Differences from `@sap/xsenv`, and why
//!
//! Each is proven by a test in `tests/runtime_bindings.rs` whose comment names it.
//!
//! - **A broken source does not hide the others.** xsenv throws out of every lookup when
//!   `VCAP_SERVICES` is not JSON, the `VCAP_SERVICES_FILE_PATH` file cannot be read, a root is not a
//!   directory or a legacy `tags` file is not JSON. Here each becomes a [`Problem`] and the other
//!   sources are still searched; if nothing matches, the error lists the problems.
//! - **No silent "last one wins".** xsenv keys all services of a source by name, so two with the
//!   same name (under different CF labels, or legacy instances of different services) collapse to
//!   the last. Here both are kept, a [`Problem`] says so, and a name lookup reports them as
//!   ambiguous.
//! - **Tag keys are exact.** Only [`Criterion::Field`] keys `tag`/`tags` test tag membership;
//!   xsenv's unanchored `/tags?/` also treats `stage` or `vintage` as tag keys.
//! - **`null` property lists in `.metadata` are empty lists.** xsenv crashes (`metaData is not
//!   iterable`) on the `null` the Go operator writes for a nil slice.
//! - **Metadata values are compared without a trailing line break.** A `type`, `plan`, `label` …
//!   file ending in `\n` still matches (SAP's Java library does the same); xsenv keeps the
//!   newline and the filter fails. Credential values are kept byte for byte.
//! - **`XSENV_PARSE_ALL_JSON`** enables parsing of any JSON file content only for the exact value
//!   `true`, as in xsenv; but a legacy `tags` file is always read as a JSON array (xsenv splits it
//!   into single characters for any other non-empty value).
//! - **Symlinks.** A symlink is followed only when its target stays under the root: Kubernetes'
//!   `key -> ..data/key -> ..<timestamp>/key` links are read, a link to a file or directory
//!   outside the root (`/proc/self/environ`, another volume) is left out with a [`Problem`].
//!   Kubernetes' `..data` / `..<timestamp>` directories are never taken for bindings or legacy
//!   instances (xsenv's legacy reader does so on a servicebinding.io root).
//! - **Only regular files, of bounded size.** A FIFO, device or socket is never opened; a file
//!   of a binding or instance directory is read up to 1 MiB, the `VCAP_SERVICES_FILE_PATH` file
//!   up to 16 MiB; anything else is a [`Problem`] (or the source's failure), never a hang or an
//!   exhausted memory.
//! - **The operator's `secretRootKey` format** (one file holding all values as one JSON object,
//!   no `type` file) is read; xsenv skips it.
//! - **Problems are reported, not swallowed**: a `.metadata` entry that names a missing file, a
//!   `json` entry that does not parse, a directory without `type` each give a [`Problem`].
//! - **A byte-order mark** at the start of `VCAP_SERVICES` or its file is ignored (xsenv fails).
//! - **`default-services.json`** (xsenv's `getServices` fallback file) is not read: it is a
//!   development convenience of one function, not an injected binding.
//!
//! Service objects and credentials are otherwise what xsenv returns (`tests/differential/` checks
//! this against recorded and, where Node is installed, live xsenv output). Only
//! [`Service::service_key`] goes further: it parses credential values that hold a JSON object as
//! text (a `uaa` file read without `.metadata`) and unwraps a single nested credentials object
//! (a `secretKey` file in the legacy layout).
//!
//! # Secrets
//!
//! `Debug` of every type here shows no credential value; [`Service::redacted_credentials`] and
//! [`Listing::redacted_json`] replace secrets (also inside JSON held in strings). Only the
//! `expose_*` methods give them out.

// Where things live: `lookup` holds the entry points and the source order; `vcap`, `k8s` and
// `legacy` read one kind of source each, with `files` for the directory reading they share;
// `listing` holds what they report and `selection` picks one service from it; `filter` holds the
// query; `service`, `source` and `environment` the types named so; `redaction`,
// `usable_credentials` and `values` the value handling behind `Service`.

mod environment;
mod files;
mod filter;
mod k8s;
mod legacy;
mod listing;
mod lookup;
mod redaction;
mod selection;
mod service;
mod source;
mod usable_credentials;
mod values;
mod vcap;

pub use environment::ProcessEnv;
pub use filter::{Criterion, DEFAULT_LABEL, Query};
pub use listing::{Listing, Problem, SourceOutcome, SourceReport};
pub use lookup::{find, find_key, list, parse_vcap_services};
pub use selection::Found;
pub use service::{BindingFormat, Service};
pub use source::{Source, SourceKind};

#[cfg(doc)]
use crate::{credentials::service_key::ServiceKey, error::Error};
