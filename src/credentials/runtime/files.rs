//! Reading directory sources from disk the way Node does: entries sorted by name, files decoded
//! as UTF-8 with replacement, symlinks followed; roots checked before they are read.
//!
//! Unlike Node, only regular files are read, each up to a size limit, and a symlink is followed
//! only when its target stays under the root: a FIFO, a device, a sparse multi-gigabyte file or
//! a link to `/proc/self/environ` is left out with a problem instead of hanging the program,
//! exhausting its memory or printing another file.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The most bytes read from one file of a binding or instance directory.
pub(super) const MAX_BINDING_FILE: u64 = 1024 * 1024;
/// The most bytes read from the file named by `VCAP_SERVICES_FILE_PATH`.
pub(super) const MAX_VCAP_FILE: u64 = 16 * 1024 * 1024;

use super::listing::{Listing, Problem, SourceOutcome};
use super::source::Source;

/// Directory entries sorted by name (libuv's `scandir`, which Node uses, sorts too).
pub(super) fn sorted_entries(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    out.sort();
    Ok(out)
}

/// Reads a regular file of at most `limit` bytes as text (invalid UTF-8 replaced, as Node's
/// `'utf8'` decoding does). Anything else (a directory, FIFO, socket or device, or a longer
/// file) is an error that says why, without reading it.
pub(super) fn read_text(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind};
    // Checked before opening: opening a FIFO for reading blocks until someone writes to it.
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "not a regular file (a device, FIFO, socket or directory is never read)",
        ));
    }
    let too_large = || {
        Error::new(
            ErrorKind::InvalidData,
            format!("larger than {limit} bytes, the most read from such a file"),
        )
    };
    if meta.len() > limit {
        return Err(too_large());
    }
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Whether `path`, symlinks resolved, is under `root` (itself resolved). Kubernetes' links
/// (`uaa -> ..data/uaa`, `..data -> ..2025_…`) stay inside the binding directory and pass.
pub(super) fn stays_under(root: &Path, path: &Path) -> bool {
    match (std::fs::canonicalize(root), std::fs::canonicalize(path)) {
        (Ok(root), Ok(target)) => target.starts_with(root),
        _ => false,
    }
}

/// The regular files of the directory of `entry` (symlinks followed while they stay under the
/// source's root; dotfiles included; directories such as `..data` skipped), as text by name,
/// each at most [`MAX_BINDING_FILE`] bytes. A file that cannot be read or followed, or that
/// is not a regular file, is a [`Problem`] and left out; a directory that cannot be listed is
/// the error.
pub(super) fn read_files(
    source: &Source,
    entry: &str,
    dir: &Path,
    listing: &mut Listing,
) -> std::io::Result<BTreeMap<String, String>> {
    let root = Path::new(&source.location);
    let mut files = BTreeMap::new();
    for (name, path) in sorted_entries(dir)? {
        let why = match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => continue,
            Ok(_) if !stays_under(root, &path) => {
                "is a symlink to a file outside the root; left out (only links that stay under the root, as Kubernetes makes them, are followed)".to_owned()
            }
            Ok(_) => match read_text(&path, MAX_BINDING_FILE) {
                Ok(text) => {
                    files.insert(name, text);
                    continue;
                }
                Err(e) => format!("cannot read the file: {e}; left out"),
            },
            Err(e) => format!("cannot follow the entry (broken symlink?): {e}; left out"),
        };
        listing.problem(Problem::new(source, Some(entry), Some(&name), why));
    }
    Ok(files)
}

/// Whether to read a root: `true` when it is a directory not read before; otherwise the outcome
/// (missing, not a directory, unreadable) is reported and `false` returned.
pub(super) fn check_root(listing: &mut Listing, source: &Source, root: &Path) -> bool {
    if listing.sources.iter().any(|r| &r.source == source) {
        // The same root configured twice: read once.
        return false;
    }
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => true,
        Ok(_) => {
            listing.source_failed(
                source,
                "is not a directory; nothing read from it (@sap/xsenv would fail every lookup here)",
                "not a directory",
            );
            false
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            listing.report(source.clone(), SourceOutcome::Missing);
            false
        }
        Err(e) => {
            listing.source_failed(source, format!("cannot be read: {e}"), e.to_string());
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::environment::ProcessEnv;
    use super::super::lookup::list;
    use super::*;

    fn binding_root() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let b = root.path().join("calm");
        std::fs::create_dir(&b).unwrap();
        std::fs::write(b.join("type"), "SAPCloudALMAPIs").unwrap();
        std::fs::write(b.join("clientid"), "id").unwrap();
        root
    }

    fn problems(listing: &Listing) -> String {
        listing
            .problems
            .iter()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[cfg(unix)]
    #[test]
    fn links_out_of_the_root_are_not_followed_but_kubernetes_links_are() {
        use std::os::unix::fs::symlink;
        let root = binding_root();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "OUTSIDE-SECRET-1").unwrap();
        let b = root.path().join("calm");
        symlink(outside.path().join("secret"), b.join("stolen")).unwrap();
        symlink("/proc/self/environ", b.join("environ")).unwrap();
        // Kubernetes' layout: key -> ..data/key, ..data -> ..<timestamp>.
        let stamp = b.join("..2025_01_01_00_00_00.000000001");
        std::fs::create_dir(&stamp).unwrap();
        std::fs::write(stamp.join("clientsecret"), "k8s-secret").unwrap();
        symlink("..2025_01_01_00_00_00.000000001", b.join("..data")).unwrap();
        symlink("..data/clientsecret", b.join("clientsecret")).unwrap();
        // A linked binding directory outside the root brings nothing in either.
        std::fs::write(outside.path().join("type"), "SAPCloudALMAPIs").unwrap();
        symlink(outside.path(), root.path().join("linked")).unwrap();

        let env = ProcessEnv::new().with_var("SERVICE_BINDING_ROOT", root.path().to_str().unwrap());
        let listing = list(&env);
        let shown = format!("{:?}", listing.expose_json());
        assert!(!shown.contains("OUTSIDE-SECRET-1"), "{shown}");
        assert!(!shown.contains("PATH="), "{shown}");
        assert!(shown.contains("k8s-secret"), "{shown}");
        let why = problems(&listing);
        assert!(
            why.contains("stolen") && why.contains("outside the root"),
            "{why}"
        );
        assert!(why.contains("environ"), "{why}");
    }

    #[cfg(unix)]
    #[test]
    fn only_regular_files_of_bounded_size_are_read() {
        let root = binding_root();
        let b = root.path().join("calm");
        // Sparse: 2 GiB on paper, nothing on disk.
        let big = std::fs::File::create(b.join("huge")).unwrap();
        big.set_len(2 * 1024 * 1024 * 1024).unwrap();
        std::fs::write(b.join("at-limit"), vec![b'a'; MAX_BINDING_FILE as usize]).unwrap();
        let fifo = b.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        let env = ProcessEnv::new().with_var("SERVICE_BINDING_ROOT", root.path().to_str().unwrap());
        let listing = list(&env);
        let why = problems(&listing);
        assert!(
            why.contains("huge") && why.contains("larger than 1048576 bytes"),
            "{why}"
        );
        if made.is_ok_and(|s| s.success()) {
            assert!(
                why.contains("fifo") && why.contains("not a regular file"),
                "{why}"
            );
        }
        assert_eq!(listing.services.len(), 1, "{why}");

        assert!(read_text(Path::new("/dev/zero"), MAX_VCAP_FILE).is_err());
        let vcap = ProcessEnv::new().with_var("VCAP_SERVICES_FILE_PATH", "/dev/zero");
        let listing = list(&vcap);
        assert!(listing.services.is_empty());
        let reports = format!("{:?}", listing.sources);
        assert!(reports.contains("not a regular file"), "{reports}");
    }
}
