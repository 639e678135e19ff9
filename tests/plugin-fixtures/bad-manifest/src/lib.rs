//! Test fixture: a complete table whose manifest is not JSON.

use cosell_plugin_abi::{ABI_VERSION, BytesRef, HostApi, OwnedBuf, PluginTableV1, Status};

unsafe extern "C" fn manifest() -> BytesRef {
    BytesRef::from_slice(b"{\"name\": \"half a manifest\"")
}

unsafe extern "C" fn init(_config: BytesRef, _out: *mut OwnedBuf) -> Status {
    Status::OK
}

unsafe extern "C" fn call(_method: BytesRef, _input: BytesRef, _out: *mut OwnedBuf) -> Status {
    Status::ERROR
}

unsafe extern "C" fn free_buf(_buf: OwnedBuf) {}

static TABLE: PluginTableV1 = PluginTableV1 {
    abi_version: ABI_VERSION,
    struct_size: PluginTableV1::SIZE,
    manifest: Some(manifest),
    init: Some(init),
    call: Some(call),
    free_buf: Some(free_buf),
};

/// The correct version, so that the host goes on to the manifest.
#[unsafe(no_mangle)]
pub extern "C" fn cosell_plugin_abi_version() -> u32 {
    ABI_VERSION
}

/// Returns the table with the broken manifest.
#[unsafe(no_mangle)]
pub extern "C" fn cosell_plugin_entry_v1(_host: *const HostApi) -> *const PluginTableV1 {
    &TABLE
}
