//! Why a plugin could not be loaded, or a call to it failed.

use cosell_plugin_abi::{ApiVersion, Capability, ErrorBody};
use std::path::PathBuf;
use std::time::Duration;

use crate::PluginId;

/// Why installing or loading a plugin failed. Nothing is registered when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// `expected_sha256` is not 64 hex digits.
    #[error("`{0}` is not a SHA-256 digest (64 hex digits)")]
    BadDigest(String),
    /// The plugin file could not be read, copied or created.
    #[error("cannot access plugin file {path}: {source}")]
    Io {
        /// The file in question.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file's SHA-256 is not the pinned one: tampered, truncated or the wrong file.
    #[error("SHA-256 of {path} is {actual}, but {expected} was pinned")]
    HashMismatch {
        /// The file that was hashed.
        path: PathBuf,
        /// The pinned digest.
        expected: String,
        /// The digest of the file as found.
        actual: String,
    },
    /// `dlopen` refused the file (not a shared library, unresolved symbols…).
    #[error("cannot load {path} as a shared library: {message}")]
    Open {
        /// The library path.
        path: PathBuf,
        /// The loader's message.
        message: String,
    },
    /// A required symbol is not exported.
    #[error(
        "plugin does not export `{symbol}` (is it built with cosell-plugin-sdk's export_plugin!?)"
    )]
    MissingSymbol {
        /// The symbol name.
        symbol: &'static str,
    },
    /// `cosell_plugin_abi_version()` or the table reported another ABI version.
    #[error("plugin speaks ABI version {found}, this host speaks {expected}")]
    AbiVersion {
        /// What the plugin reported.
        found: u32,
        /// What the host speaks.
        expected: u32,
    },
    /// The entry function returned a null table.
    #[error("plugin entry returned no function table")]
    NullTable,
    /// The table is smaller than the version-1 table: built against a broken or foreign ABI.
    #[error("plugin function table is {found} bytes, the host needs at least {needed}")]
    ShortTable {
        /// The table's `struct_size`.
        found: u32,
        /// The size the host knows.
        needed: u32,
    },
    /// A function pointer in the table is null.
    #[error("plugin function table has no `{0}` function")]
    NullFunction(&'static str),
    /// The manifest is not valid JSON of the expected shape.
    #[error("plugin manifest is invalid: {0}")]
    BadManifest(String),
    /// The plugin was built against an incompatible message API.
    #[error("plugin targets message API {plugin}, this host serves {host}")]
    ApiVersion {
        /// The plugin's `api`.
        plugin: ApiVersion,
        /// The host's API version.
        host: ApiVersion,
    },
    /// The plugin declares a capability the operator did not grant.
    #[error("plugin declares capability `{0}`, which was not granted")]
    CapabilityNotGranted(Capability),
    /// The plugin refused its configuration, panicked or hung in `init`.
    #[error("plugin init failed: {0}")]
    InitFailed(#[source] CallError),
    /// The loading task did not finish (the runtime is shutting down).
    #[error("plugin loading was interrupted: {0}")]
    Interrupted(String),
    /// A plugin with the same content hash is already registered.
    #[error("plugin {0} is already loaded")]
    AlreadyLoaded(PluginId),
}

/// Why a call to a plugin did not produce a valid answer. The caller falls
/// back to the partnership's built-in model or rule.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No plugin with this id is registered.
    #[error("no plugin {0} is loaded")]
    NotFound(PluginId),
    /// The operator disabled the plugin.
    #[error("plugin {0} is disabled")]
    Disabled(PluginId),
    /// The circuit breaker stopped calls until an operator re-enables the plugin.
    #[error("plugin {id} is quarantined: {reason}")]
    Quarantined {
        /// The plugin.
        id: PluginId,
        /// The failure that tripped the breaker.
        reason: String,
    },
    /// The plugin does not declare, or was not granted, this capability.
    #[error("plugin {id} does not provide capability `{capability}`")]
    NoCapability {
        /// The plugin.
        id: PluginId,
        /// The capability asked for.
        capability: Capability,
    },
    /// The request is larger than the payload limit; the plugin was not called.
    #[error("request of {size} bytes exceeds the {limit}-byte plugin payload limit")]
    PayloadTooLarge {
        /// Serialised request size.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The plugin did not answer in time. Its thread may still be running.
    #[error("plugin call timed out after {0:?}")]
    Timeout(Duration),
    /// The plugin was being fitted for longer than the call could wait; it was not
    /// called. Not the plugin's failure.
    #[error("plugin {id} is being fitted; waited {waited:?} for it")]
    Busy {
        /// The plugin.
        id: PluginId,
        /// How long the call waited.
        waited: Duration,
    },
    /// The plugin returned an error status.
    #[error("plugin returned error `{}`: {}", .0.code, .0.message)]
    Plugin(ErrorBody),
    /// The plugin panicked; the SDK caught it and the host is unaffected.
    #[error("plugin panicked: {}", .0.message)]
    Panic(ErrorBody),
    /// The plugin answered something the host refuses.
    #[error("plugin output is invalid: {0}")]
    InvalidOutput(String),
}

impl CallError {
    /// Whether this failure is the plugin's doing and counts towards quarantine.
    /// Refusals by the host (disabled, too large…) do not.
    pub fn is_plugin_failure(&self) -> bool {
        matches!(
            self,
            Self::Timeout(_) | Self::Plugin(_) | Self::Panic(_) | Self::InvalidOutput(_)
        )
    }
}
