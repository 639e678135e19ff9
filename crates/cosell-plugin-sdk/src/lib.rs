//! Write Cosell plugins in safe Rust.
//!
//! Implement [`Plugin`] plus one or more capability traits
//! ([`CatalogContributor`], [`AttributionModel`], [`CommissionRule`]), then call
//! [`export_plugin!`] once. The macro generates the C symbols the host looks
//! for; the SDK wraps every export in `catch_unwind`, moves JSON across the
//! boundary and frees what it allocated. Build the crate as a `cdylib` with
//! `panic = "unwind"` (the default): with `panic = "abort"` a panic kills the
//! whole server instead of becoming an error.
//!
//! ```ignore
//! use cosell_plugin_sdk::{AttributionModel, Plugin, PluginError, export_plugin, abi};
//!
//! #[derive(Clone)]
//! struct LastTouch;
//! impl Plugin for LastTouch {
//!     type Config = serde_json::Value;
//!     fn init(_: Self::Config) -> Result<Self, PluginError> { Ok(LastTouch) }
//! }
//! impl AttributionModel for LastTouch {
//!     fn attribute(&self, req: &abi::AttributeRequest) -> Result<abi::AttributeResponse, PluginError> {
//!         /* … */
//!     }
//! }
//! export_plugin!(LastTouch, vendor = "Example Ltd", capabilities = [attribution]);
//! ```

mod error;
#[doc(hidden)]
pub mod export;
mod host;
pub mod log;

/// The currencies and decimals the host accepts, to check rows before contributing them.
pub use cosell_iso4217 as currency;
pub use cosell_plugin_abi as abi;
pub use error::PluginError;

use abi::{
    AttributeRequest, AttributeResponse, CatalogContribution, CatalogRequest, CommissionRequest,
    CommissionResponse, FitRequest, FitResponse,
};

/// The part every plugin implements: how to build it from its configuration.
///
/// `init` runs on install and whenever the operator changes the configuration;
/// the previous instance keeps serving until the new one is built successfully
/// and the host, still waiting for it, accepts it: an `init` that outlives the
/// host's timeout is dropped when it finishes, and never replaces the live instance.
pub trait Plugin: Sized + Send + Sync + 'static {
    /// The plugin's configuration, deserialised from the operator's JSON.
    type Config: serde::de::DeserializeOwned;

    /// Builds an instance, or explains why the configuration is unusable.
    fn init(config: Self::Config) -> Result<Self, PluginError>;
}

/// Contributes products and relations to the owner's catalog (`catalog`).
pub trait CatalogContributor: Plugin {
    /// Produces the products and relations to add.
    fn contribute(&self, request: &CatalogRequest) -> Result<CatalogContribution, PluginError>;
}

/// Splits a conversion's credit between eligible partners (`attribution`).
///
/// `Clone` because `fit` runs on a copy of the live instance: the copy replaces it
/// only when `fit` succeeds, so a fit that fails or panics half-way leaves the
/// previous model in force.
pub trait AttributionModel: Plugin + Clone {
    /// Returns a weight per partner; weights are non-negative and sum to 1.
    fn attribute(&self, request: &AttributeRequest) -> Result<AttributeResponse, PluginError>;

    /// Learns from the journeys of a window. Optional: the default says
    /// `unsupported`, which the host treats as "this model has nothing to fit".
    ///
    /// Runs alone, on a copy of the live instance that goes live only if this
    /// returns `Ok`; on an error or a panic the copy is dropped.
    fn fit(&mut self, request: FitRequest) -> Result<FitResponse, PluginError> {
        let _ = request;
        Err(PluginError::new(
            abi::error_code::UNSUPPORTED,
            "this attribution model has no fit step",
        ))
    }
}

/// Computes commission lines for a partner's share of a conversion (`commission`).
pub trait CommissionRule: Plugin {
    /// Returns what the partner is owed for this conversion.
    fn compute(&self, request: &CommissionRequest) -> Result<CommissionResponse, PluginError>;
}

/// Exports a plugin type as a Cosell cdylib.
///
/// `capabilities` lists what the type implements, by manifest name:
/// `catalog`, `attribution`, `commission`. The manifest's name and version are
/// the crate's `CARGO_PKG_NAME` and `CARGO_PKG_VERSION`.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty, vendor = $vendor:expr, capabilities = [$($cap:ident),+ $(,)?] $(,)?) => {
        const _: () = {
            impl $crate::export::Exported for $plugin {
                fn state() -> &'static $crate::export::State<Self> {
                    static STATE: $crate::export::State<$plugin> = $crate::export::State::new();
                    &STATE
                }

                fn manifest() -> $crate::abi::Manifest {
                    $crate::export::manifest(
                        env!("CARGO_PKG_NAME"),
                        env!("CARGO_PKG_VERSION"),
                        $vendor,
                        &[$($crate::export::$cap::CAPABILITY),+],
                    )
                }

                fn dispatch(method: &str, input: &[u8]) -> Result<Vec<u8>, $crate::PluginError> {
                    $(
                        if let Some(result) =
                            $crate::export::$cap::dispatch(Self::state(), method, input)
                        {
                            return result;
                        }
                    )+
                    Err($crate::export::unknown_method(method))
                }
            }
        };

        /// Tells the host which ABI this library speaks.
        #[unsafe(no_mangle)]
        pub extern "C" fn cosell_plugin_abi_version() -> u32 {
            $crate::abi::ABI_VERSION
        }

        /// Records the host's services and returns the function table.
        ///
        /// # Safety
        /// `host` is null or points to a valid `HostApi` for this call.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn cosell_plugin_entry_v1(
            host: *const $crate::abi::HostApi,
        ) -> *const $crate::abi::PluginTableV1 {
            static TABLE: $crate::abi::PluginTableV1 = $crate::export::table::<$plugin>();
            // SAFETY: forwarded from this function's own contract.
            unsafe { $crate::export::entry(host, &TABLE) }
        }
    };
}
