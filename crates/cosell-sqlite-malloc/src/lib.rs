//! SQLite's own allocations (bound values, rows, pages of its cache) through mimalloc
//! instead of glibc's `malloc`, for the processes that load millions of rows
//! (`cosell import`, `cosell settle`), and mimalloc set to keep the memory they free.
//!
//! Rust code already allocates with mimalloc (the server's global allocator); SQLite,
//! compiled from C, calls `malloc` directly. In a bulk load glibc's `malloc`, `free` and
//! `malloc_consolidate` took about a tenth of SQLite's writer thread (perf,
//! docs/benchmarks.md). mimalloc's `override` feature would move every C allocation of
//! the process, which made the server's recommendation p99 about ten times slower, so only
//! SQLite is moved, and only by the commands that ask for it.

use std::ffi::{c_int, c_void};
use std::sync::OnceLock;

use libmimalloc_sys::{mi_free, mi_malloc, mi_option_set, mi_option_t, mi_realloc, mi_usable_size};
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
        // copies what it points to before returning; every function in it is a thin
        // wrapper over mimalloc's, which are thread-safe and meet SQLite's contract
        // (8-byte aligned blocks, `xSize` of a live block). `OnceLock` keeps two threads
        // from configuring at once.
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

/// `mi_option_purge_delay` of `mimalloc.h` (the same in mimalloc 2 and 3), which
/// `libmimalloc-sys` does not name.
pub const MI_OPTION_PURGE_DELAY: mi_option_t = 15;

/// Has mimalloc keep the memory this process frees for its next allocations instead of
/// returning it to the operating system once unused for a while (a second, by default).
/// A bulk load frees and allocates hundreds of megabytes per chunk; each page handed back
/// was faulted in and zeroed by the kernel again when reused, about a quarter of a 1M
/// settlement's system time (docs/benchmarks.md). The peak grows a little (20–40 MiB at
/// 1M); the memory is given back when the process exits, which a one-shot command soon does.
pub fn keep_freed_memory() {
    // SAFETY: `mi_option_set` stores an integer option in mimalloc's option table, which
    // it reads atomically; -1 is the documented "never purge".
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}
