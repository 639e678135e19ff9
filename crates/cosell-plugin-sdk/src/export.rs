//! Machinery behind `export_plugin!`: the generic C exports and capability dispatch.
//!
//! Public only because the macro expands inside plugin crates; not a stable API.

use crate::PluginError;
use crate::abi::{
    self, API_VERSION, BytesRef, Capability, HostApi, Manifest, OwnedBuf, PluginTableV1, Status,
    error_code,
};
use std::any::Any;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{OnceLock, PoisonError, RwLock};

/// Implemented by `export_plugin!` for the exported type.
pub trait Exported: crate::Plugin {
    /// The library's single instance slot.
    fn state() -> &'static State<Self>;
    /// The manifest, built from the crate's name and version.
    fn manifest() -> Manifest;
    /// Routes `method` to the capability that handles it.
    fn dispatch(method: &str, input: &[u8]) -> Result<Vec<u8>, PluginError>;
}

/// The configured instance and the cached manifest bytes of one plugin library.
pub struct State<P> {
    instance: RwLock<Option<P>>,
    manifest: OnceLock<Vec<u8>>,
}

impl<P> State<P> {
    /// An empty slot, usable in a `static`.
    pub const fn new() -> Self {
        Self {
            instance: RwLock::new(None),
            manifest: OnceLock::new(),
        }
    }

    /// Runs `f` on the configured instance; concurrent calls share it.
    fn read<R>(&self, f: impl FnOnce(&P) -> Result<R, PluginError>) -> Result<R, PluginError> {
        // A panic under a read lock does not poison it; a poisoned lock means a
        // `fit` panicked half-way, so the instance may be inconsistent.
        let guard = self.instance.read().map_err(|_| poisoned())?;
        guard.as_ref().map_or_else(|| Err(not_initialised()), f)
    }

    /// Runs `f` on the instance exclusively (used by `fit`).
    fn write<R>(&self, f: impl FnOnce(&mut P) -> Result<R, PluginError>) -> Result<R, PluginError> {
        let mut guard = self.instance.write().map_err(|_| poisoned())?;
        guard.as_mut().map_or_else(|| Err(not_initialised()), f)
    }

    /// Installs a freshly built instance. A new `init` is the way out of a
    /// poisoned slot, so poisoning is cleared here.
    fn replace(&self, instance: P) {
        let mut guard = self
            .instance
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        *guard = Some(instance);
        drop(guard);
        self.instance.clear_poison();
    }
}

impl<P> Default for State<P> {
    fn default() -> Self {
        Self::new()
    }
}

fn poisoned() -> PluginError {
    PluginError::internal("an earlier panic left the plugin inconsistent; re-initialise it")
}

fn not_initialised() -> PluginError {
    PluginError::new(error_code::NOT_INITIALISED, "init has not succeeded yet")
}

/// The error for a method no listed capability handles.
pub fn unknown_method(method: &str) -> PluginError {
    PluginError::new(
        error_code::UNSUPPORTED,
        format!("method `{method}` is not provided by this plugin"),
    )
}

/// Builds the manifest for `export_plugin!`.
pub fn manifest(name: &str, version: &str, vendor: &str, capabilities: &[Capability]) -> Manifest {
    Manifest {
        name: name.to_owned(),
        version: version.to_owned(),
        vendor: vendor.to_owned(),
        capabilities: capabilities.to_vec(),
        api: API_VERSION,
    }
}

/// The function table of plugin type `P`.
pub const fn table<P: Exported>() -> PluginTableV1 {
    PluginTableV1 {
        abi_version: abi::ABI_VERSION,
        struct_size: PluginTableV1::SIZE,
        manifest: Some(manifest_export::<P>),
        init: Some(init_export::<P>),
        call: Some(call_export::<P>),
        free_buf: Some(free_buf_export),
    }
}

/// Body of `cosell_plugin_entry_v1`: keeps the host's services, returns the table.
///
/// # Safety
/// `host` is null or points to a valid `HostApi`.
pub unsafe fn entry(host: *const HostApi, table: &'static PluginTableV1) -> *const PluginTableV1 {
    // Only read the host struct if it is at least as large as the one we know.
    if !host.is_null() {
        // SAFETY: non-null and valid per this function's contract; the size
        // field is part of every version of the struct.
        let host = unsafe { *host };
        if host.struct_size >= HostApi::SIZE {
            crate::log::set_host(host);
        }
    }
    table
}

unsafe extern "C" fn manifest_export<P: Exported>() -> BytesRef {
    let state = P::state();
    let bytes = catch_unwind(|| {
        state
            .manifest
            .get_or_init(|| serde_json::to_vec(&P::manifest()).unwrap_or_default())
            .as_slice()
    });
    // A manifest that cannot be produced is reported by the host as a bad manifest.
    bytes.map_or(BytesRef::EMPTY, BytesRef::from_slice)
}

unsafe extern "C" fn init_export<P: Exported>(config: BytesRef, out: *mut OwnedBuf) -> Status {
    // SAFETY: the host keeps `config` valid for the call (ABI contract).
    let config = unsafe { config.as_slice() };
    // SAFETY: `out` is the host's out-parameter (ABI contract).
    unsafe {
        guarded(out, || {
            let config: P::Config = serde_json::from_slice(config)
                .map_err(|e| PluginError::bad_config(e.to_string()))?;
            P::state().replace(P::init(config)?);
            Ok(Vec::new())
        })
    }
}

unsafe extern "C" fn call_export<P: Exported>(
    method: BytesRef,
    input: BytesRef,
    out: *mut OwnedBuf,
) -> Status {
    // SAFETY: the host keeps both slices valid for the call (ABI contract).
    let (method, input) = unsafe { (method.as_slice(), input.as_slice()) };
    // SAFETY: `out` is the host's out-parameter (ABI contract).
    unsafe {
        guarded(out, || {
            let method = std::str::from_utf8(method)
                .map_err(|_| PluginError::bad_input("method name is not UTF-8"))?;
            P::dispatch(method, input)
        })
    }
}

unsafe extern "C" fn free_buf_export(buf: OwnedBuf) {
    if buf.ptr.is_null() {
        return;
    }
    // Freeing cannot panic, but nothing may unwind out of an export.
    let _ = catch_unwind(|| {
        // SAFETY: `buf` came from `into_owned_buf` in this library and is
        // handed back exactly once (ABI contract).
        drop(unsafe { Vec::from_raw_parts(buf.ptr, buf.len, buf.cap) });
    });
}

/// Runs `f` with panics caught, writes its output or error body to `out`.
///
/// # Safety
/// `out` is null or valid for a write of one `OwnedBuf`.
unsafe fn guarded(out: *mut OwnedBuf, f: impl FnOnce() -> Result<Vec<u8>, PluginError>) -> Status {
    let (status, bytes) = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(bytes)) => (Status::OK, bytes),
        Ok(Err(error)) => (Status::ERROR, error_json(&error)),
        Err(payload) => {
            let error = PluginError::new(error_code::PANIC, panic_message(payload.as_ref()));
            (Status::PANIC, error_json(&error))
        }
    };
    if !out.is_null() {
        // SAFETY: non-null and writable per this function's contract.
        unsafe { out.write(into_owned_buf(bytes)) };
    }
    status
}

fn error_json(error: &PluginError) -> Vec<u8> {
    serde_json::to_vec(error.body()).unwrap_or_default()
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload");
    format!("plugin panicked: {text}")
}

fn into_owned_buf(bytes: Vec<u8>) -> OwnedBuf {
    let mut bytes = ManuallyDrop::new(bytes);
    OwnedBuf {
        ptr: bytes.as_mut_ptr(),
        len: bytes.len(),
        cap: bytes.capacity(),
    }
}

fn parse<T: abi::json::Message>(input: &[u8]) -> Result<T, PluginError> {
    abi::json::decode(input).map_err(|e| PluginError::bad_input(e.to_string()))
}

fn to_json<T: abi::json::Message>(value: &T) -> Result<Vec<u8>, PluginError> {
    abi::json::encode(value).map_err(|e| PluginError::internal(e.to_string()))
}

/// Dispatch for the `catalog` capability.
pub mod catalog {
    use super::{State, parse, to_json};
    use crate::{CatalogContributor, PluginError, abi};

    /// The manifest entry for this capability.
    pub const CAPABILITY: abi::Capability = abi::Capability::Catalog;

    /// Handles `catalog.*` methods; `None` for any other method.
    pub fn dispatch<P: CatalogContributor>(
        state: &State<P>,
        method: &str,
        input: &[u8],
    ) -> Option<Result<Vec<u8>, PluginError>> {
        (method == abi::method::CATALOG_CONTRIBUTE)
            .then(|| state.read(|p| to_json(&p.contribute(&parse(input)?)?)))
    }
}

/// Dispatch for the `attribution` capability.
pub mod attribution {
    use super::{State, parse, to_json};
    use crate::{AttributionModel, PluginError, abi};

    /// The manifest entry for this capability.
    pub const CAPABILITY: abi::Capability = abi::Capability::Attribution;

    /// Handles `attribution.*` methods; `None` for any other method.
    pub fn dispatch<P: AttributionModel>(
        state: &State<P>,
        method: &str,
        input: &[u8],
    ) -> Option<Result<Vec<u8>, PluginError>> {
        match method {
            abi::method::ATTRIBUTION_ATTRIBUTE => {
                Some(state.read(|p| to_json(&p.attribute(&parse(input)?)?)))
            }
            abi::method::ATTRIBUTION_FIT => Some(state.write(|p| to_json(&p.fit(parse(input)?)?))),
            _ => None,
        }
    }
}

/// Dispatch for the `commission` capability.
pub mod commission {
    use super::{State, parse, to_json};
    use crate::{CommissionRule, PluginError, abi};

    /// The manifest entry for this capability.
    pub const CAPABILITY: abi::Capability = abi::Capability::Commission;

    /// Handles `commission.*` methods; `None` for any other method.
    pub fn dispatch<P: CommissionRule>(
        state: &State<P>,
        method: &str,
        input: &[u8],
    ) -> Option<Result<Vec<u8>, PluginError>> {
        (method == abi::method::COMMISSION_COMPUTE)
            .then(|| state.read(|p| to_json(&p.compute(&parse(input)?)?)))
    }
}
