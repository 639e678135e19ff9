//! Test fixture: speaks the right ABI version but exports no entry function.

/// The correct version, so that the host goes on to look for the entry.
#[unsafe(no_mangle)]
pub extern "C" fn cosell_plugin_abi_version() -> u32 {
    cosell_plugin_abi::ABI_VERSION
}
