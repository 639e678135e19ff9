//! Test fixture: returns a table that is only a header, as a plugin built
//! against a broken ABI might.

use cosell_plugin_abi::{ABI_VERSION, HostApi, PluginTableV1, TableHeader};

/// Only the header; the host must not read past it.
static HEADER: TableHeader = TableHeader {
    abi_version: ABI_VERSION,
    struct_size: size_of::<TableHeader>() as u32,
};

/// The correct version, so that the host goes on to the table.
#[unsafe(no_mangle)]
pub extern "C" fn cosell_plugin_abi_version() -> u32 {
    ABI_VERSION
}

/// Hands out the header as if it were a whole table.
#[unsafe(no_mangle)]
pub extern "C" fn cosell_plugin_entry_v1(_host: *const HostApi) -> *const PluginTableV1 {
    std::ptr::from_ref(&HEADER).cast()
}
