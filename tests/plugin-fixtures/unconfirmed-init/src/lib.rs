//! Test fixture: an attribution plugin written against the raw table, as one
//! built before `HostApi::confirm_init` existed would behave: its `init` swaps
//! the new configuration in without asking the host. Configuration:
//! `{"credit": "<partner>", "init_sleep_ms": n}`; `attribute` credits that
//! partner in full.

use cosell_plugin_abi::{ABI_VERSION, BytesRef, HostApi, OwnedBuf, PluginTableV1, Status};
use std::mem::ManuallyDrop;
use std::sync::Mutex;
use std::time::Duration;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    credit: String,
    #[serde(default)]
    init_sleep_ms: u64,
}

/// The partner the live configuration credits.
static CREDIT: Mutex<Option<String>> = Mutex::new(None);

const MANIFEST: &[u8] = br#"{"name":"fixture-unconfirmed-init","version":"0.1.0","vendor":"Cosell tests","capabilities":["attribution"],"api":"1.0.0"}"#;

unsafe extern "C" fn manifest() -> BytesRef {
    BytesRef::from_slice(MANIFEST)
}

/// Hands `bytes` to the host as an out-buffer, returned through `free_buf`.
fn give(out: *mut OwnedBuf, bytes: Vec<u8>) {
    if out.is_null() {
        return;
    }
    let mut bytes = ManuallyDrop::new(bytes);
    let buf = OwnedBuf {
        ptr: bytes.as_mut_ptr(),
        len: bytes.len(),
        cap: bytes.capacity(),
    };
    // SAFETY: the host's out-parameter is writable (ABI contract).
    unsafe { out.write(buf) };
}

fn fail(out: *mut OwnedBuf, code: &str, message: &str) -> Status {
    let body = serde_json::json!({"code": code, "message": message, "retryable": false});
    give(out, body.to_string().into_bytes());
    Status::ERROR
}

unsafe extern "C" fn init(config: BytesRef, out: *mut OwnedBuf) -> Status {
    // SAFETY: the host keeps `config` valid for the call (ABI contract).
    let config = unsafe { config.as_slice() };
    match serde_json::from_slice::<Config>(config) {
        Ok(config) => {
            std::thread::sleep(Duration::from_millis(config.init_sleep_ms));
            // No `confirm_init`: the new configuration goes live whatever the host thinks.
            *CREDIT.lock().unwrap_or_else(|e| e.into_inner()) = Some(config.credit);
            Status::OK
        }
        Err(error) => fail(out, "bad_config", &error.to_string()),
    }
}

unsafe extern "C" fn call(_method: BytesRef, _input: BytesRef, out: *mut OwnedBuf) -> Status {
    let credit = CREDIT.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let Some(partner) = credit else {
        return fail(out, "not_initialised", "init has not succeeded yet");
    };
    let body = serde_json::json!({"weights": [{"partner_id": partner, "weight": "1"}]});
    give(out, body.to_string().into_bytes());
    Status::OK
}

unsafe extern "C" fn free_buf(buf: OwnedBuf) {
    if !buf.ptr.is_null() {
        // SAFETY: every buffer handed out came from `give`, and comes back once.
        drop(unsafe { Vec::from_raw_parts(buf.ptr, buf.len, buf.cap) });
    }
}

static TABLE: PluginTableV1 = PluginTableV1 {
    abi_version: ABI_VERSION,
    struct_size: PluginTableV1::SIZE,
    manifest: Some(manifest),
    init: Some(init),
    call: Some(call),
    free_buf: Some(free_buf),
};

/// The ABI this library speaks.
#[unsafe(no_mangle)]
pub extern "C" fn cosell_plugin_abi_version() -> u32 {
    ABI_VERSION
}

/// Returns the table; the host's services are not used.
#[unsafe(no_mangle)]
pub extern "C" fn cosell_plugin_entry_v1(_host: *const HostApi) -> *const PluginTableV1 {
    &TABLE
}
