//! The Cosell plugin host: installs, pins, loads and calls native plugins.
//!
//! A native plugin is trusted code running with the server's privileges; the
//! pinned SHA-256 proves which file was installed, not that it is safe. The
//! host contains the failures it can: every call runs on the blocking pool
//! with a timeout, a concurrency limit and a payload limit, panics come back
//! as errors, output is validated, and a plugin that keeps failing is
//! quarantined until an operator re-enables it. It cannot stop a plugin that
//! corrupts memory or never returns; that needs a process-isolated transport
//! (see [`Transport`]).
//!
//! [`PluginRegistry`] is the entry point; the store persists registrations and
//! the API exposes the operator controls.

mod error;
mod monitor;
mod native;
mod registry;
mod store;
mod validate;

pub use error::{CallError, LoadError};
pub use monitor::{FitOutcome, FitRecord, PluginState, PluginStats};
pub use native::{InitTicket, NativePlugin, Transport};
pub use registry::{HostConfig, LoadedPluginInfo, PluginId, PluginRegistry};
pub use store::Sha256Hex;
