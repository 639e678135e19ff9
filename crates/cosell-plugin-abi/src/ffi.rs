//! The `#[repr(C)]` types and function signatures that cross the plugin boundary.
//!
//! Only plain C types travel here: pointers, lengths, `u32`s and `extern "C"`
//! function pointers. Rust types (`String`, `Vec`, `Box`, trait objects) have no
//! stable layout, and a cdylib has its own allocator, so each side frees only
//! what it allocated.

use std::ffi::{CStr, c_void};

/// Version of the C ABI described in this module. A host refuses any plugin
/// whose `cosell_plugin_abi_version()` returns something else.
pub const ABI_VERSION: u32 = 1;

/// Symbol the host reads first: `extern "C" fn() -> u32` returning [`ABI_VERSION`].
pub const ABI_VERSION_SYMBOL: &CStr = c"cosell_plugin_abi_version";

/// Symbol of the version-1 entry point: `extern "C" fn(*const HostApi) -> *const PluginTableV1`.
/// A future v2 host looks for `…_entry_v2` and fails cleanly on a v1 plugin.
pub const ENTRY_V1_SYMBOL: &CStr = c"cosell_plugin_entry_v1";

/// A borrowed byte slice. The owner keeps it alive for the duration of the call
/// (or, for the manifest, for the life of the process).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct BytesRef {
    /// First byte; may be null when `len` is 0.
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

impl BytesRef {
    /// Borrows `bytes` for passing across the boundary.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// The empty slice, used where no data is available.
    pub const EMPTY: Self = Self {
        ptr: std::ptr::null(),
        len: 0,
    };

    /// Views the bytes as a slice.
    ///
    /// # Safety
    /// `ptr` must be null with `len == 0`, or point to `len` initialised bytes
    /// that stay valid and unmodified for the returned lifetime.
    pub unsafe fn as_slice<'a>(&self) -> &'a [u8] {
        if self.ptr.is_null() || self.len == 0 {
            &[]
        } else {
            // SAFETY: upheld by the caller as documented above.
            unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
        }
    }
}

/// A buffer allocated by the plugin and handed to the host, which copies it
/// and gives it back to the plugin's `free_buf`. The host never frees it itself.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct OwnedBuf {
    /// First byte, or null for "no buffer".
    pub ptr: *mut u8,
    /// Number of initialised bytes.
    pub len: usize,
    /// Allocation capacity, needed by the plugin to rebuild and free it.
    pub cap: usize,
}

impl OwnedBuf {
    /// The empty buffer the host passes in as an out-parameter.
    pub const EMPTY: Self = Self {
        ptr: std::ptr::null_mut(),
        len: 0,
        cap: 0,
    };
}

/// Outcome of a plugin call.
///
/// A transparent `u32` rather than a Rust enum: a wrong value from a
/// hand-written plugin must be an error the host can report, not undefined
/// behaviour from an invalid enum discriminant.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub u32);

impl Status {
    /// The call succeeded; the out-buffer holds the JSON response.
    pub const OK: Self = Self(0);
    /// The call failed; the out-buffer holds an [`crate::ErrorBody`] as JSON.
    pub const ERROR: Self = Self(1);
    /// The plugin panicked and recovered; the out-buffer holds an [`crate::ErrorBody`].
    pub const PANIC: Self = Self(2);
}

/// Log levels understood by [`HostApi::log`].
pub mod log_level {
    /// Something is wrong and needs an operator.
    pub const ERROR: u32 = 1;
    /// Something unexpected that the plugin handled.
    pub const WARN: u32 = 2;
    /// Normal progress worth recording.
    pub const INFO: u32 = 3;
    /// Detail for debugging a plugin.
    pub const DEBUG: u32 = 4;
}

/// Logging callback: opaque host context, a [`log_level`], UTF-8 message bytes.
pub type LogFn = unsafe extern "C" fn(context: *const c_void, level: u32, message: BytesRef);

/// Init confirmation: opaque host context; returns 1 when the new instance may go
/// live, 0 when it must be dropped (the host stopped waiting for this `init`).
/// See [`HostApi::confirm_init`].
pub type ConfirmInitFn = unsafe extern "C" fn(context: *const c_void) -> u32;

/// Services the host offers a plugin, passed to the entry function. The plugin
/// copies the struct; the context pointer stays valid for the life of the process.
///
/// A plugin's `tracing`/`log` globals are its own copy, not the host's, so
/// logging has to come back through this callback to reach the server's logs.
///
/// Fields are only ever appended. A plugin reads only the fields the host's
/// `struct_size` covers ([`HostApi::read`] does that): an older host passes a
/// shorter struct. The first version ended after `log` ([`HostApi::MIN_SIZE`]).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct HostApi {
    /// [`ABI_VERSION`] of the host.
    pub abi_version: u32,
    /// `size_of::<HostApi>()` as the host knows it; fields are only ever appended.
    pub struct_size: u32,
    /// Opaque pointer the plugin passes back to `log`.
    pub context: *const c_void,
    /// Writes one log line into the host's logs.
    pub log: Option<LogFn>,
    /// Asked by `init`, on the thread the host called `init` on, once the new
    /// instance is built and right before it replaces the live one (with the
    /// plugin's own lock on its instance held, so the answer and the swap are one
    /// step): 1 means make it live; 0 means the host stopped waiting (the call
    /// timed out and was reported as failed), so the plugin must drop the new
    /// instance, keep the previous one and return an error. A plugin that never
    /// asks cannot be protected from a late `init` replacing its configuration; the
    /// host quarantines such a plugin when its `init` times out. Absent from hosts
    /// whose `struct_size` is [`HostApi::MIN_SIZE`]: then make the instance live.
    pub confirm_init: Option<ConfirmInitFn>,
}

// SAFETY: the context pointer is only ever handed back to the host's own
// callback, which treats it as a shared, immutable, 'static value.
unsafe impl Send for HostApi {}
// SAFETY: as above; the struct itself is immutable after creation.
unsafe impl Sync for HostApi {}

/// Returns the manifest JSON; the bytes live as long as the library.
pub type ManifestFn = unsafe extern "C" fn() -> BytesRef;
/// Configures the plugin. On `ERROR`/`PANIC` it writes an error body to `out`.
pub type InitFn = unsafe extern "C" fn(config: BytesRef, out: *mut OwnedBuf) -> Status;
/// Calls `method` with JSON `input`; writes the JSON response or error body to `out`.
pub type CallFn =
    unsafe extern "C" fn(method: BytesRef, input: BytesRef, out: *mut OwnedBuf) -> Status;
/// Frees a buffer the plugin produced.
pub type FreeBufFn = unsafe extern "C" fn(buf: OwnedBuf);
/// Signature of [`ABI_VERSION_SYMBOL`].
pub type AbiVersionFn = unsafe extern "C" fn() -> u32;
/// Signature of [`ENTRY_V1_SYMBOL`].
pub type EntryV1Fn = unsafe extern "C" fn(host: *const HostApi) -> *const PluginTableV1;

/// The prefix every function table starts with, so the host can check the
/// version and size before reading any further field.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TableHeader {
    /// ABI version the table was built for.
    pub abi_version: u32,
    /// `size_of` the table as the plugin knows it.
    pub struct_size: u32,
}

/// The version-1 function table, a static inside the plugin.
///
/// Fields are only ever appended; the host checks `struct_size` and refuses a
/// table shorter than the one it knows. Function pointers are `Option` so a
/// null from a hand-written plugin is detectable rather than undefined.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PluginTableV1 {
    /// Must equal [`ABI_VERSION`].
    pub abi_version: u32,
    /// Must be at least [`PluginTableV1::SIZE`].
    pub struct_size: u32,
    /// Returns the manifest JSON.
    pub manifest: Option<ManifestFn>,
    /// Configures the plugin.
    pub init: Option<InitFn>,
    /// Calls a capability method.
    pub call: Option<CallFn>,
    /// Frees a buffer returned by `init` or `call`.
    pub free_buf: Option<FreeBufFn>,
}

impl PluginTableV1 {
    /// Size of this table, as stored in `struct_size`. The table is a few
    /// words long, so the conversion cannot truncate.
    pub const SIZE: u32 = size_of::<Self>() as u32;
}

impl HostApi {
    /// Size of this struct, as stored in `struct_size`.
    pub const SIZE: u32 = size_of::<Self>() as u32;

    /// Size of the first version of this struct (up to and including `log`): the
    /// smallest a plugin accepts.
    pub const MIN_SIZE: u32 = std::mem::offset_of!(Self, confirm_init) as u32;

    /// Copies the host's struct, reading only the fields its `struct_size` covers;
    /// fields an older host does not have are `None`. `None` for a null pointer or
    /// a struct smaller than [`HostApi::MIN_SIZE`].
    ///
    /// # Safety
    /// `host` is null or points to a `HostApi` of at least the 8-byte header, and
    /// of `struct_size` bytes in all, valid for reads during the call.
    pub unsafe fn read(host: *const HostApi) -> Option<HostApi> {
        if host.is_null() {
            return None;
        }
        // SAFETY: every version starts with the two u32 header fields.
        let struct_size = unsafe { std::ptr::addr_of!((*host).struct_size).read() };
        if struct_size < Self::MIN_SIZE {
            return None;
        }
        // SAFETY: the first version's fields all lie within MIN_SIZE bytes.
        let mut copy = unsafe {
            HostApi {
                abi_version: std::ptr::addr_of!((*host).abi_version).read(),
                struct_size,
                context: std::ptr::addr_of!((*host).context).read(),
                log: std::ptr::addr_of!((*host).log).read(),
                confirm_init: None,
            }
        };
        let confirm_end =
            std::mem::offset_of!(Self, confirm_init) + size_of::<Option<ConfirmInitFn>>();
        if struct_size as usize >= confirm_end {
            // SAFETY: the host's struct covers the field.
            copy.confirm_init = unsafe { std::ptr::addr_of!((*host).confirm_init).read() };
        }
        Some(copy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_starts_with_its_header() {
        assert_eq!(std::mem::offset_of!(PluginTableV1, abi_version), 0);
        assert_eq!(std::mem::offset_of!(PluginTableV1, struct_size), 4);
        assert_eq!(size_of::<TableHeader>(), 8);
        assert_eq!(PluginTableV1::SIZE as usize, 8 + 4 * size_of::<usize>());
    }

    #[test]
    fn a_plugin_reads_only_the_fields_an_older_host_has() {
        unsafe extern "C" fn confirm(_context: *const c_void) -> u32 {
            1
        }
        assert_eq!(HostApi::MIN_SIZE as usize, 8 + 2 * size_of::<usize>());
        assert_eq!(HostApi::SIZE, HostApi::MIN_SIZE + size_of::<usize>() as u32);
        let mut host = HostApi {
            abi_version: ABI_VERSION,
            struct_size: HostApi::SIZE,
            context: std::ptr::null(),
            log: None,
            confirm_init: Some(confirm),
        };
        // SAFETY: `host` is a whole, valid struct.
        let read = unsafe { HostApi::read(&host) };
        assert!(read.is_some_and(|h| h.confirm_init.is_some()));
        // An older host: its struct ends before `confirm_init`.
        host.struct_size = HostApi::MIN_SIZE;
        // SAFETY: as above; the size only makes the reader read less.
        let read = unsafe { HostApi::read(&host) };
        assert!(
            read.is_some_and(|h| h.confirm_init.is_none() && h.struct_size == HostApi::MIN_SIZE)
        );
        host.struct_size = 8;
        // SAFETY: as above.
        assert!(unsafe { HostApi::read(&host) }.is_none());
        // SAFETY: null is accepted.
        assert!(unsafe { HostApi::read(std::ptr::null()) }.is_none());
    }

    #[test]
    fn empty_bytes_view_as_empty_slice() {
        // SAFETY: EMPTY is null with length 0, which `as_slice` accepts.
        assert!(unsafe { BytesRef::EMPTY.as_slice() }.is_empty());
        let data = b"abc";
        // SAFETY: `data` outlives the view.
        assert_eq!(unsafe { BytesRef::from_slice(data).as_slice() }, b"abc");
    }
}
