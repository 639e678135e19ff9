//! The content-addressed plugin directory: `<data_dir>/plugins/<sha256>.so`.

use crate::error::LoadError;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A SHA-256 digest, normalised to lower-case hex.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Hex(String);

impl Sha256Hex {
    /// Reads the file at `path` and checks its SHA-256 against this digest.
    pub fn verify_file(&self, path: &Path) -> Result<(), LoadError> {
        check(path, &std::fs::read(path).map_err(io(path))?, self)
    }

    /// Parses 64 hex digits, any case.
    pub fn parse(text: &str) -> Result<Self, LoadError> {
        let text = text.trim().to_ascii_lowercase();
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(text))
        } else {
            Err(LoadError::BadDigest(text))
        }
    }

    /// The digest as lower-case hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LoadError + '_ {
    move |source| LoadError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Hashes `bytes` and compares with `expected`.
fn check(path: &Path, bytes: &[u8], expected: &Sha256Hex) -> Result<(), LoadError> {
    let actual = hex::encode(Sha256::digest(bytes));
    if actual == expected.0 {
        Ok(())
    } else {
        Err(LoadError::HashMismatch {
            path: path.to_owned(),
            expected: expected.0.clone(),
            actual,
        })
    }
}

/// Where the library with digest `sha256` lives under `data_dir`.
pub(crate) fn stored_path(data_dir: &Path, sha256: &Sha256Hex) -> PathBuf {
    data_dir.join("plugins").join(format!("{sha256}.so"))
}

/// Checks `source` against `expected` and copies it into the content-addressed
/// directory. The copy is written to a temporary name, made read-only and
/// renamed: a half-written library never sits under a digest name, and a
/// library that is already mapped is replaced by a new inode rather than
/// rewritten in place (rewriting a mapped library crashes the process with
/// SIGBUS when its code next runs).
pub(crate) fn import(
    data_dir: &Path,
    source: &Path,
    expected: &Sha256Hex,
) -> Result<PathBuf, LoadError> {
    let bytes = std::fs::read(source).map_err(io(source))?;
    check(source, &bytes, expected)?;
    let target = stored_path(data_dir, expected);
    let dir = data_dir.join("plugins");
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let partial = dir.join(format!("{expected}.so.partial"));
    let stored = write_read_only(&partial, &bytes)
        .and_then(|()| std::fs::rename(&partial, &target).map_err(io(&target)));
    if stored.is_err() {
        // Whatever was written is no use to anyone.
        let _ = std::fs::remove_file(&partial);
    }
    stored.map(|()| target)
}

fn write_read_only(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    std::fs::write(path, bytes).map_err(io(path))?;
    let mut permissions = std::fs::metadata(path).map_err(io(path))?.permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(path, permissions).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn digests_are_normalised_and_checked() -> Result<(), LoadError> {
        assert_eq!(Sha256Hex::parse(&ABC.to_uppercase())?.as_str(), ABC);
        assert!(matches!(
            Sha256Hex::parse("abc"),
            Err(LoadError::BadDigest(_))
        ));
        assert!(matches!(
            Sha256Hex::parse(&"g".repeat(64)),
            Err(LoadError::BadDigest(_))
        ));
        Ok(())
    }

    #[test]
    fn import_refuses_a_mismatch_and_stores_a_match() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let source = dir.path().join("lib.so");
        std::fs::write(&source, b"abc")?;
        let stored = import(dir.path(), &source, &Sha256Hex::parse(ABC)?)?;
        assert_eq!(stored, dir.path().join("plugins").join(format!("{ABC}.so")));
        Sha256Hex::parse(ABC)?.verify_file(&stored)?;
        assert!(std::fs::metadata(&stored)?.permissions().readonly());
        // Importing again replaces the read-only file.
        import(dir.path(), &source, &Sha256Hex::parse(ABC)?)?;

        std::fs::write(&source, b"abd")?;
        let refused = import(dir.path(), &source, &Sha256Hex::parse(ABC)?);
        assert!(matches!(refused, Err(LoadError::HashMismatch { .. })));
        Ok(())
    }
}
