//! SQLite's own allocations (bound values, rows, pages of its cache) through mimalloc
//! instead of glibc's `malloc`, for the processes that load millions of rows
//! (`cosell import`, `cosell settle`).
//!
//! Rust code already allocates with mimalloc (the server's global allocator); SQLite,
//! compiled from C, calls `malloc` directly. In a bulk load glibc's `malloc`, `free` and
//! `malloc_consolidate` took about a tenth of SQLite's writer thread (perf,
//! docs/benchmarks.md). mimalloc's `override` feature would move every C allocation of
//! the process, which made the server's recommendation p99 about ten times slower, so only
//! SQLite is moved, and only by the commands that ask for it.

use std::ffi::{c_int, c_void};
use std::sync::OnceLock;

use libmimalloc_sys::{mi_free, mi_malloc, mi_realloc, mi_usable_size};
use libsqlite3_sys::{SQLITE_CONFIG_MALLOC, SQLITE_OK, sqlite3_config, sqlite3_mem_methods};

unsafe extern "C" fn allocate(size: c_int) -> *mut c_void {
    // SQLite never asks for a negative size (nor for 0: it calls xMalloc with n > 0).
    unsafe { mi_malloc(usize::try_from(size).unwrap_or(0)) }
}

unsafe extern "C" fn free(block: *mut c_void) {
    unsafe { mi_free(block) }
}

unsafe extern "C" fn reallocate(block: *mut c_void, size: c_int) -> *mut c_void {
    unsafe { mi_realloc(block, usize::try_from(size).unwrap_or(0)) }
}

unsafe extern "C" fn size_of(block: *mut c_void) -> c_int {
    let usable = unsafe { mi_usable_size(block) };
    c_int::try_from(usable).unwrap_or(c_int::MAX)
}

/// SQLite asks how large a block of `size` would be; mimalloc rounds to its own size
/// classes, but any size at least `size` is correct, and 8-byte multiples are what
/// SQLite's default allocator answers.
unsafe extern "C" fn round_up(size: c_int) -> c_int {
    size.saturating_add(7) & !7
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    SQLITE_OK
}

unsafe extern "C" fn shutdown(_: *mut c_void) {}

/// Has SQLite allocate with mimalloc from now on. Takes effect only before SQLite's
/// first connection in this process (SQLite refuses to change allocators after it has
/// started); answers whether it did. Calling it again answers the first call's result.
pub fn use_mimalloc() -> bool {
    static CONFIGURED: OnceLock<bool> = OnceLock::new();
    *CONFIGURED.get_or_init(|| {
        // SAFETY: SQLITE_CONFIG_MALLOC takes a pointer to a `sqlite3_mem_methods` and
        // copies what it points to before returning; every function in it is a thin wrapper over mimalloc's, which are
        // thread-safe and meet SQLite's contract (8-byte aligned blocks, `xSize` of a
        // live block). `OnceLock` keeps two threads from configuring at once.
        let methods = sqlite3_mem_methods {
            xMalloc: Some(allocate),
            xFree: Some(free),
            xRealloc: Some(reallocate),
            xSize: Some(size_of),
            xRoundup: Some(round_up),
            xInit: Some(init),
            xShutdown: Some(shutdown),
            pAppData: std::ptr::null_mut(),
        };
        let rc = unsafe { sqlite3_config(SQLITE_CONFIG_MALLOC, &raw const methods) };
        rc == SQLITE_OK
    })
}
