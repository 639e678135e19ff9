//! `use_mimalloc` once SQLite has started: SQLite keeps its allocator and the call says
//! so. A test binary of its own, because the allocator is chosen once per process.

use libmimalloc_sys::mi_is_in_heap_region;
use libsqlite3_sys::{SQLITE_OK, sqlite3_free, sqlite3_initialize, sqlite3_malloc};

#[test]
fn a_started_sqlite_keeps_its_allocator() {
    assert_eq!(unsafe { sqlite3_initialize() }, SQLITE_OK);
    assert!(!cosell_sqlite_malloc::use_mimalloc());

    let block = unsafe { sqlite3_malloc(1000) };
    assert!(!block.is_null());
    assert!(
        !unsafe { mi_is_in_heap_region(block) },
        "still the C library's block"
    );
    unsafe { sqlite3_free(block) };
}
