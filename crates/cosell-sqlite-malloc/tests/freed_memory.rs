//! `keep_freed_memory` sets mimalloc's purge delay to "never", in a test binary of its own
//! since the option is process-wide.

use libmimalloc_sys::mi_option_get;

#[test]
fn freed_memory_is_kept_from_the_call_on() {
    // mimalloc's default: purge a second after a free (unless MIMALLOC_PURGE_DELAY says
    // otherwise).
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        assert_eq!(
            unsafe { mi_option_get(cosell_sqlite_malloc::MI_OPTION_PURGE_DELAY) },
            1000
        );
    }
    cosell_sqlite_malloc::keep_freed_memory();
    assert_eq!(
        unsafe { mi_option_get(cosell_sqlite_malloc::MI_OPTION_PURGE_DELAY) },
        -1
    );
}
