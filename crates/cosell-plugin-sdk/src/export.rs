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
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
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
        // Only a panic while the write lock is held poisons it, and neither `fit` nor
        // `replace` lets one happen there (`fit` catches its own), so the instance
        // behind a poisoned lock would still be whole.
        let guard = self.instance.read().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref().map_or_else(|| Err(not_initialised()), f)
    }

    /// Runs `f` (a `fit`) alone, on a copy of the instance, and makes the copy live
    /// only if `f` succeeds. On an error the copy is dropped; on a panic too, after
    /// which the panic carries on to the export's `catch_unwind`. Either way the live
    /// instance is untouched and the lock is not poisoned.
    fn fit<R>(&self, f: impl FnOnce(&mut P) -> Result<R, PluginError>) -> Result<R, PluginError>
    where
        P: Clone,
    {
        let mut guard = self
            .instance
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(live) = guard.as_ref() else {
            return Err(not_initialised());
        };
        let fitted = catch_unwind(AssertUnwindSafe(|| {
            let mut copy = live.clone();
            f(&mut copy).map(|answer| (answer, copy))
        }));
        match fitted {
            Ok(Ok((answer, copy))) => {
                let previous = guard.replace(copy);
                drop(guard);
                drop(previous);
                Ok(answer)
            }
            Ok(Err(error)) => Err(error),
            Err(payload) => {
                drop(guard);
                resume_unwind(payload)
            }
        }
    }

    /// Makes a freshly built instance live, if the host still wants it: an `init`
    /// the host stopped waiting for (it timed out) must not replace the instance
    /// the host reported as still in force. The host is asked with the write lock
    /// held, so its answer and the swap are one step.
    fn replace(&self, instance: P) -> Result<(), PluginError> {
        let mut guard = self
            .instance
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if !crate::host::confirm_init() {
            drop(guard);
            drop(instance);
            return Err(PluginError::new(
                error_code::ABANDONED,
                "the host stopped waiting for this init; the previous instance stays in force",
            ));
        }
        let previous = guard.replace(instance);
        drop(guard);
        drop(previous);
        Ok(())
    }
}

impl<P> Default for State<P> {
    fn default() -> Self {
        Self::new()
    }
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
    // Only the fields the host's struct has are read: an older host's is shorter.
    // SAFETY: null or valid per this function's contract.
    if let Some(host) = unsafe { HostApi::read(host) } {
        crate::host::set(host);
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
            P::state().replace(P::init(config)?)?;
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

/// The panic's own text: the `panic` code already says it was a panic, and the
/// host says so again when it reports it.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
        .to_owned()
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
            abi::method::ATTRIBUTION_FIT => Some(state.fit(|p| to_json(&p.fit(parse(input)?)?))),
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
