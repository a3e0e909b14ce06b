//! Reading directory sources from disk the way Node does: entries sorted by name, files decoded
//! as UTF-8 with replacement, symlinks followed; roots checked before they are read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// Reads a file as text (invalid UTF-8 replaced, as Node's `'utf8'` decoding does).
pub(super) fn read_text(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// The regular files of the directory of `entry` (symlinks followed; dotfiles included;
/// directories such as `..data` skipped), as text by name. A file that cannot be read or
/// followed is a [`Problem`] and left out; a directory that cannot be listed is the error.
pub(super) fn read_files(
    source: &Source,
    entry: &str,
    dir: &Path,
    listing: &mut Listing,
) -> std::io::Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    for (name, path) in sorted_entries(dir)? {
        let why = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => match read_text(&path) {
                Ok(text) => {
                    files.insert(name, text);
                    continue;
                }
                Err(e) => format!("cannot read the file: {e}; left out"),
            },
            Ok(_) => continue,
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
