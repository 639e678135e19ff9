//! The versioned C ABI and JSON messages shared by the Cosell plugin host and plugins.
//!
//! A plugin is a cdylib exporting two C symbols: [`ABI_VERSION_SYMBOL`] (read
//! first) and [`ENTRY_V1_SYMBOL`], which returns a static [`PluginTableV1`].
//! Everything else travels as JSON bytes: the [`Manifest`], the capability
//! messages in [`messages`], and the [`ErrorBody`] of a failed call; host
//! and SDK encode and decode messages with [`json`]. Plugin authors use
//! `cosell-plugin-sdk` instead of these raw types.

mod ffi;
pub mod json;
mod manifest;
pub mod messages;

pub use ffi::{
    ABI_VERSION, ABI_VERSION_SYMBOL, AbiVersionFn, BytesRef, CallFn, ConfirmInitFn,
    ENTRY_V1_SYMBOL, EntryV1Fn, FreeBufFn, HostApi, InitFn, LogFn, ManifestFn, OwnedBuf,
    PluginTableV1, Status, TableHeader, log_level,
};
pub use manifest::{
    API_VERSION, ApiVersion, BadApiVersion, Capability, ErrorBody, Manifest, error_code, method,
};
pub use messages::*;
