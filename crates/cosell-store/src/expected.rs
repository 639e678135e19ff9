//! The version a conditional write expects, from the client's `If-Match`.

use crate::StoreError;

/// `Version(n)` changes only version `n`; `Any` (`If-Match: *`) changes whatever version
/// exists, but still refuses a resource that does not; `Never` matches no version (a weak
/// tag, which the strong comparison If-Match uses never matches) and so reports the current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Any,
    Version(i32),
    Never,
}

impl Expected {
    /// The version to write over when `current` is the one expected; `Stale` otherwise.
    pub(crate) fn check(self, entity: &'static str, current: i32) -> Result<i32, StoreError> {
        match self {
            Expected::Any => Ok(current),
            Expected::Version(version) if version == current => Ok(current),
            Expected::Version(_) | Expected::Never => Err(StoreError::Stale { entity, current }),
        }
    }
}

/// Whether a conditional write would store exactly what is stored. Such a write is skipped
/// and answered with the stored resource: a version (and so the ETag) moves only when the
/// resource changes, so a PATCH that changes nothing (`{}`, or every field sent as it is)
/// does not make every other client's ETag stale for nothing. `If-Match` is still checked
/// before this is asked.
pub(crate) fn unchanged<T: PartialEq>(stored: &T, next: &T) -> bool {
    stored == next
}
