//! Test fixture: reports ABI version 999, which the host must refuse before
//! looking up anything else.

/// Claims an ABI from the future.
#[unsafe(no_mangle)]
pub extern "C" fn cosell_plugin_abi_version() -> u32 {
    999
}
