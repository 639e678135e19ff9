//! The native transport: a cdylib opened with `dlopen` and called through its C table.

use crate::error::{CallError, LoadError};
use crate::store::Sha256Hex;
use cosell_plugin_abi::{
    ABI_VERSION, ABI_VERSION_SYMBOL, API_VERSION, AbiVersionFn, BytesRef, CallFn, ENTRY_V1_SYMBOL,
    EntryV1Fn, ErrorBody, FreeBufFn, HostApi, InitFn, Manifest, OwnedBuf, PluginTableV1, Status,
    TableHeader, log_level,
};
use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
use std::cell::RefCell;
use std::ffi::{CStr, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// How the registry talks to a plugin. Native libraries are the only
/// transport today; a process-isolated plugin (which, unlike a thread, can be
/// killed and memory-capped) can implement this with the same JSON messages.
pub trait Transport: Send + Sync + 'static {
    /// The validated manifest.
    fn manifest(&self) -> &Manifest;
    /// Configures the plugin with JSON `config`. The new configuration may go live
    /// only through [`InitTicket::confirm`], so that an `init` the host stopped
    /// waiting for never replaces the configuration in force.
    fn init(&self, config: &[u8], ticket: &Arc<InitTicket>) -> Result<(), CallError>;
    /// Calls `method` with JSON `input`; refuses responses over `max_output` bytes.
    fn call(&self, method: &str, input: &[u8], max_output: usize) -> Result<Vec<u8>, CallError>;
}

/// Whether an `init` may still make its new instance live: the plugin confirms
/// right before the swap, the host abandons the `init` when it stops waiting for
/// it. Whichever comes first wins, so a timed-out `init` never goes live and a
/// confirmed one is never reported as failed.
#[derive(Debug, Default)]
pub struct InitTicket {
    state: Mutex<TicketState>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum TicketState {
    #[default]
    Waiting,
    Confirmed,
    Abandoned,
}

impl InitTicket {
    fn lock(&self) -> std::sync::MutexGuard<'_, TicketState> {
        // A plain enum: a panic elsewhere cannot leave it torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The plugin's question: may the new instance go live? Yes unless the host
    /// abandoned this `init`.
    pub fn confirm(&self) -> bool {
        let mut state = self.lock();
        match *state {
            TicketState::Waiting | TicketState::Confirmed => {
                *state = TicketState::Confirmed;
                true
            }
            TicketState::Abandoned => false,
        }
    }

    /// The host stops waiting. `true`: the `init` can no longer go live. `false`:
    /// it was confirmed already, so the new instance is (about to be) live.
    pub fn abandon(&self) -> bool {
        let mut state = self.lock();
        if *state == TicketState::Confirmed {
            return false;
        }
        *state = TicketState::Abandoned;
        true
    }

    /// Whether the plugin asked before making its instance live. A plugin that
    /// answers `init` without asking cannot be kept from a late swap.
    pub fn confirmed(&self) -> bool {
        *self.lock() == TicketState::Confirmed
    }
}

thread_local! {
    /// The ticket of the `init` this thread is running in a plugin: the plugin asks
    /// `confirm_init` from inside `init`, on this thread.
    static RUNNING_INIT: RefCell<Option<Arc<InitTicket>>> = const { RefCell::new(None) };
}

/// `HostApi::confirm_init`: 1 if the `init` running on this thread may go live.
/// Asked from any other thread, or outside an `init`, the answer is no.
unsafe extern "C" fn host_confirm_init(_context: *const c_void) -> u32 {
    // Nothing may unwind back into the plugin's C frame.
    catch_unwind(|| RUNNING_INIT.with_borrow(|ticket| ticket.as_ref().is_some_and(|t| t.confirm())))
        .map_or(0, u32::from)
}

/// A loaded native plugin: copies of its table's function pointers.
///
/// The library is never unloaded: Rust cdylibs register thread-local
/// destructors that crash threads exiting after `dlclose` (rust#91979), and
/// musl's `dlclose` is a no-op anyway. Disabling a plugin stops calls instead;
/// an upgrade is a new hash and a restart.
pub struct NativePlugin {
    manifest: Manifest,
    init: InitFn,
    call: CallFn,
    free_buf: FreeBufFn,
}

/// Where the host's log callback finds the plugin's name.
struct LogContext {
    file: String,
    name: OnceLock<String>,
}

unsafe extern "C" fn host_log(context: *const c_void, level: u32, message: BytesRef) {
    // Nothing may unwind back into the plugin's C frame.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `context` is the leaked `LogContext` given in `HostApi`.
        let context = unsafe { &*context.cast::<LogContext>() };
        // SAFETY: the plugin keeps `message` valid for this call.
        let text = String::from_utf8_lossy(unsafe { message.as_slice() });
        let plugin = context.name.get().unwrap_or(&context.file);
        match level {
            log_level::ERROR => tracing::error!(target: "cosell::plugin", %plugin, "{text}"),
            log_level::WARN => tracing::warn!(target: "cosell::plugin", %plugin, "{text}"),
            log_level::INFO => tracing::info!(target: "cosell::plugin", %plugin, "{text}"),
            _ => tracing::debug!(target: "cosell::plugin", %plugin, "{text}"),
        }
    }));
}

impl NativePlugin {
    /// Re-hashes `path`, opens it, and validates ABI version, table and manifest.
    ///
    /// Opening a library runs its initialisers: a native plugin is trusted code
    /// with the server's privileges, and the pinned hash only proves which file it is.
    pub fn open(path: &Path, sha256: &Sha256Hex) -> Result<Self, LoadError> {
        // Re-hash right before dlopen: the file could have been swapped since install.
        sha256.verify_file(path)?;
        // SAFETY: see above; eager binding (RTLD_NOW) surfaces missing symbols
        // here rather than mid-call, RTLD_LOCAL keeps its symbols out of the
        // global namespace so two plugins cannot interpose on each other.
        let library = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.map_err(|e| {
            LoadError::Open {
                path: path.to_owned(),
                message: loader_reason(path, &e),
            }
        })?;
        // Leaked on purpose, also on failure below: see the type's docs.
        let library: &'static Library = Box::leak(Box::new(library));

        // SAFETY: the symbol's type is fixed by the ABI.
        let abi_version: AbiVersionFn = unsafe { symbol(library, ABI_VERSION_SYMBOL) }?;
        // SAFETY: calling the plugin's parameterless version function.
        let found = unsafe { abi_version() };
        if found != ABI_VERSION {
            return Err(LoadError::AbiVersion {
                found,
                expected: ABI_VERSION,
            });
        }
        // SAFETY: the symbol's type is fixed by the ABI.
        let entry: EntryV1Fn = unsafe { symbol(library, ENTRY_V1_SYMBOL) }?;
        let context: &'static LogContext = Box::leak(Box::new(LogContext {
            file: path.display().to_string(),
            name: OnceLock::new(),
        }));
        let host = HostApi {
            abi_version: ABI_VERSION,
            struct_size: HostApi::SIZE,
            context: std::ptr::from_ref(context).cast(),
            log: Some(host_log),
            confirm_init: Some(host_confirm_init),
        };
        // SAFETY: `host` is valid for the call; the plugin copies it.
        let table = unsafe { entry(&host) };
        // SAFETY: the table is a static in the plugin; the header is read
        // before anything else so a short table is never over-read.
        let table = unsafe { read_table(table) }?;
        let (Some(manifest), Some(init), Some(call), Some(free_buf)) =
            (table.manifest, table.init, table.call, table.free_buf)
        else {
            return Err(LoadError::NullFunction(null_field(&table)));
        };
        // SAFETY: the manifest bytes live as long as the (leaked) library.
        let manifest = unsafe { manifest().as_slice() };
        let manifest: Manifest =
            serde_json::from_slice(manifest).map_err(|e| LoadError::BadManifest(e.to_string()))?;
        if !API_VERSION.serves(manifest.api) {
            return Err(LoadError::ApiVersion {
                plugin: manifest.api,
                host: API_VERSION,
            });
        }
        let _ = context
            .name
            .set(format!("{} {}", manifest.name, manifest.version));
        Ok(Self {
            manifest,
            init,
            call,
            free_buf,
        })
    }

    /// Copies the plugin's output buffer, hands it back to the plugin, and
    /// turns the status into a result.
    fn finish(
        &self,
        status: Status,
        out: OwnedBuf,
        max_output: usize,
    ) -> Result<Vec<u8>, CallError> {
        let bytes = (out.len <= max_output).then(|| {
            // SAFETY: the plugin filled `out` with `len` initialised bytes.
            unsafe {
                BytesRef {
                    ptr: out.ptr,
                    len: out.len,
                }
                .as_slice()
            }
            .to_vec()
        });
        // SAFETY: the buffer came from this plugin and is returned exactly once.
        unsafe { (self.free_buf)(out) };
        let bytes = bytes.ok_or_else(|| {
            CallError::InvalidOutput(format!(
                "{} bytes exceed the {max_output}-byte payload limit",
                out.len
            ))
        })?;
        let error_body = |bytes: &[u8]| {
            serde_json::from_slice::<ErrorBody>(bytes)
                .map_err(|e| CallError::InvalidOutput(format!("unreadable error body: {e}")))
        };
        match status {
            Status::OK => Ok(bytes),
            Status::ERROR => Err(CallError::Plugin(error_body(&bytes)?)),
            Status::PANIC => Err(CallError::Panic(error_body(&bytes)?)),
            Status(other) => Err(CallError::InvalidOutput(format!("unknown status {other}"))),
        }
    }
}

impl Transport for NativePlugin {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn init(&self, config: &[u8], ticket: &Arc<InitTicket>) -> Result<(), CallError> {
        /// Clears the thread's ticket however the call ends.
        struct Running;
        impl Drop for Running {
            fn drop(&mut self) {
                RUNNING_INIT.set(None);
            }
        }
        RUNNING_INIT.set(Some(Arc::clone(ticket)));
        let running = Running;
        let mut out = OwnedBuf::EMPTY;
        // SAFETY: input valid for the call, `out` writable; ABI contract.
        let status = unsafe { (self.init)(BytesRef::from_slice(config), &mut out) };
        drop(running);
        // An init answer is small; the limit only guards against garbage lengths.
        self.finish(status, out, 1 << 20).map(drop)
    }

    fn call(&self, method: &str, input: &[u8], max_output: usize) -> Result<Vec<u8>, CallError> {
        let mut out = OwnedBuf::EMPTY;
        let (method, input) = (
            BytesRef::from_slice(method.as_bytes()),
            BytesRef::from_slice(input),
        );
        // SAFETY: inputs valid for the call, `out` writable; ABI contract.
        let status = unsafe { (self.call)(method, input, &mut out) };
        self.finish(status, out, max_output)
    }
}

/// What the loader said, without the path it starts with: libloading's own message
/// is only "dlopen failed", the reason (dlerror's text: "undefined symbol: …",
/// "file too short"…) is its source.
fn loader_reason(path: &Path, error: &libloading::Error) -> String {
    let reason =
        std::error::Error::source(error).map_or_else(|| error.to_string(), ToString::to_string);
    let prefix = format!("{}: ", path.display());
    reason
        .strip_prefix(&prefix)
        .map_or_else(|| reason.clone(), str::to_owned)
}

/// Looks up a function symbol and copies the pointer out.
///
/// # Safety
/// `T` must be the symbol's real function-pointer type.
unsafe fn symbol<T: Copy>(library: &'static Library, name: &'static CStr) -> Result<T, LoadError> {
    // SAFETY: forwarded from this function's contract.
    let found = unsafe { library.get::<T>(name.to_bytes()) };
    found.map(|s| *s).map_err(|_| LoadError::MissingSymbol {
        symbol: name.to_str().unwrap_or("?"),
    })
}

/// Checks the table header, then copies the whole table.
///
/// # Safety
/// `table` is null or points to a table at least as long as its `struct_size`.
unsafe fn read_table(table: *const PluginTableV1) -> Result<PluginTableV1, LoadError> {
    if table.is_null() {
        return Err(LoadError::NullTable);
    }
    // SAFETY: every table starts with the header (ABI contract).
    let header = unsafe { *table.cast::<TableHeader>() };
    if header.abi_version != ABI_VERSION {
        return Err(LoadError::AbiVersion {
            found: header.abi_version,
            expected: ABI_VERSION,
        });
    }
    if header.struct_size < PluginTableV1::SIZE {
        return Err(LoadError::ShortTable {
            found: header.struct_size,
            needed: PluginTableV1::SIZE,
        });
    }
    // SAFETY: the plugin says the table is at least as long as the v1 table.
    Ok(unsafe { *table })
}

fn null_field(table: &PluginTableV1) -> &'static str {
    match table {
        PluginTableV1 { manifest: None, .. } => "manifest",
        PluginTableV1 { init: None, .. } => "init",
        PluginTableV1 { call: None, .. } => "call",
        _ => "free_buf",
    }
}
