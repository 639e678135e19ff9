//! `use_mimalloc` in a process where SQLite has not started: SQLite's blocks come from
//! mimalloc, and a database works on them. A test binary of its own, because the
//! allocator is chosen once per process.

use std::ffi::{CStr, c_int, c_void};
use std::ptr;

use libmimalloc_sys::mi_is_in_heap_region;
use libsqlite3_sys::{
    SQLITE_OK, SQLITE_ROW, sqlite3, sqlite3_close, sqlite3_column_int64, sqlite3_exec,
    sqlite3_finalize, sqlite3_free, sqlite3_malloc, sqlite3_open, sqlite3_prepare_v2, sqlite3_step,
    sqlite3_stmt,
};

fn exec(db: *mut sqlite3, sql: &CStr) {
    let rc = unsafe { sqlite3_exec(db, sql.as_ptr(), None, ptr::null_mut(), ptr::null_mut()) };
    assert_eq!(rc, SQLITE_OK, "{sql:?}");
}

fn single_integer(db: *mut sqlite3, sql: &CStr) -> i64 {
    let mut statement: *mut sqlite3_stmt = ptr::null_mut();
    let rc = unsafe { sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut statement, ptr::null_mut()) };
    assert_eq!(rc, SQLITE_OK);
    assert_eq!(unsafe { sqlite3_step(statement) }, SQLITE_ROW);
    let value = unsafe { sqlite3_column_int64(statement, 0) };
    unsafe { sqlite3_finalize(statement) };
    value
}

#[test]
fn sqlite_allocates_from_mimalloc_and_still_works() {
    assert!(cosell_sqlite_malloc::use_mimalloc());
    assert!(
        cosell_sqlite_malloc::use_mimalloc(),
        "asking again answers the same"
    );

    let block: *mut c_void = unsafe { sqlite3_malloc(1000 as c_int) };
    assert!(!block.is_null());
    assert!(
        unsafe { mi_is_in_heap_region(block) },
        "SQLite's block is mimalloc's"
    );
    unsafe { sqlite3_free(block) };

    // Rows, an index and growing values: allocation, reallocation and sizes of blocks.
    let mut db: *mut sqlite3 = ptr::null_mut();
    assert_eq!(
        unsafe { sqlite3_open(c":memory:".as_ptr(), &mut db) },
        SQLITE_OK
    );
    exec(
        db,
        c"CREATE TABLE t (id INTEGER PRIMARY KEY, label TEXT); CREATE INDEX t_label ON t (label)",
    );
    exec(
        db,
        c"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
          INSERT INTO t SELECT i, substr(hex(zeroblob(150)), 1, i % 300) || i FROM n",
    );
    assert_eq!(
        single_integer(db, c"SELECT count(*) FROM t WHERE label LIKE '0%'"),
        19_934
    );
    assert_eq!(
        single_integer(db, c"SELECT sum(length(label)) FROM t"),
        3_069_094
    );
    assert_eq!(unsafe { sqlite3_close(db) }, SQLITE_OK);
}
