//! Drives a plugin exported by `export_plugin!` through its raw C table, as the host would.

use cosell_plugin_sdk::abi::{
    self, AttributeRequest, AttributeResponse, BytesRef, ErrorBody, FitRequest, OwnedBuf,
    PartnerWeight, PluginTableV1, Status,
};
use cosell_plugin_sdk::{AttributionModel, Plugin, PluginError, export_plugin};
use rust_decimal::Decimal;

/// Credits the first touchpoint; panics on a conversion id of "boom".
#[derive(Clone)]
struct FirstTouch;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    ok: bool,
}

thread_local! {
    /// What this test thread's host answers `confirm_init`.
    static CONFIRM: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
}

unsafe extern "C" fn confirm_init(_context: *const std::ffi::c_void) -> u32 {
    CONFIRM.get()
}

impl Plugin for FirstTouch {
    type Config = Config;
    fn init(config: Config) -> Result<Self, PluginError> {
        if config.ok {
            Ok(Self)
        } else {
            Err(PluginError::bad_config("not ok"))
        }
    }
}

impl AttributionModel for FirstTouch {
    fn attribute(&self, request: &AttributeRequest) -> Result<AttributeResponse, PluginError> {
        assert!(request.conversion.id != "boom", "asked to explode");
        let first = request
            .touchpoints
            .first()
            .ok_or_else(|| PluginError::bad_input("no touchpoints"))?;
        Ok(AttributeResponse {
            weights: vec![PartnerWeight {
                partner_id: first.partner_id.clone(),
                weight: Decimal::ONE,
            }],
        })
    }
}

export_plugin!(FirstTouch, vendor = "Tests", capabilities = [attribution]);

fn table() -> PluginTableV1 {
    let host = abi::HostApi {
        abi_version: abi::ABI_VERSION,
        struct_size: abi::HostApi::SIZE,
        context: std::ptr::null(),
        log: None,
        confirm_init: Some(confirm_init),
    };
    // SAFETY: `host` is valid for the call; the plugin copies it.
    unsafe { *cosell_plugin_entry_v1(&host) }
}

/// Calls `f` with an out-buffer and returns the status and a copy of the bytes.
fn with_out(free: abi::FreeBufFn, f: impl FnOnce(*mut OwnedBuf) -> Status) -> (Status, Vec<u8>) {
    let mut out = OwnedBuf::EMPTY;
    let status = f(&mut out);
    // SAFETY: `out` was filled by the plugin and is freed once, after copying.
    let bytes = unsafe {
        BytesRef {
            ptr: out.ptr,
            len: out.len,
        }
        .as_slice()
        .to_vec()
    };
    // SAFETY: handing the plugin's own buffer back exactly once.
    unsafe { free(out) };
    (status, bytes)
}

fn init(t: &PluginTableV1, config: &str) -> (Status, Vec<u8>) {
    let (Some(init), Some(free)) = (t.init, t.free_buf) else {
        panic!("table incomplete")
    };
    // SAFETY: valid input slice and out-pointer for the duration of the call.
    with_out(free, |out| unsafe {
        init(BytesRef::from_slice(config.as_bytes()), out)
    })
}

fn call(t: &PluginTableV1, method: &str, input: &str) -> (Status, Vec<u8>) {
    let (Some(call), Some(free)) = (t.call, t.free_buf) else {
        panic!("table incomplete")
    };
    let (m, i) = (
        BytesRef::from_slice(method.as_bytes()),
        BytesRef::from_slice(input.as_bytes()),
    );
    // SAFETY: valid input slices and out-pointer for the duration of the call.
    with_out(free, |out| unsafe { call(m, i, out) })
}

fn error(bytes: &[u8]) -> ErrorBody {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("not an error body: {e}"))
}

const REQUEST: &str = r#"{"conversion":{"id":"c1","amount":"10.00","currency":"EUR","occurred_at":"2026-01-01T00:00:00Z"},
  "touchpoints":[{"partner_id":"p1","at":"2025-12-30T00:00:00Z"},{"partner_id":"p2","at":"2025-12-31T00:00:00Z"}]}"#;

// One test, because the plugin's instance slot is process-wide and the steps
// depend on each other (before init, bad init, good init, calls).
#[test]
fn exported_table_behaves_like_the_abi_says() -> Result<(), Box<dyn std::error::Error>> {
    assert_eq!(cosell_plugin_abi_version(), abi::ABI_VERSION);
    let t = table();
    assert_eq!(
        (t.abi_version, t.struct_size),
        (abi::ABI_VERSION, PluginTableV1::SIZE)
    );

    let manifest_fn = t.manifest.ok_or("no manifest")?;
    // SAFETY: the manifest bytes live as long as the library (here: the test binary).
    let manifest: abi::Manifest = serde_json::from_slice(unsafe { manifest_fn().as_slice() })?;
    assert_eq!(manifest.name, "cosell-plugin-sdk");
    assert_eq!(manifest.capabilities, [abi::Capability::Attribution]);
    assert_eq!(manifest.api, abi::API_VERSION);

    let (status, body) = call(&t, abi::method::ATTRIBUTION_ATTRIBUTE, REQUEST);
    assert_eq!(
        (status, error(&body).code.as_str()),
        (Status::ERROR, "not_initialised")
    );

    let (status, body) = init(&t, r#"{"ok":false}"#);
    assert_eq!(
        (status, error(&body).code.as_str()),
        (Status::ERROR, "bad_config")
    );
    let (status, body) = init(&t, r#"{"ok":true,"extra":1}"#);
    assert_eq!(
        (status, error(&body).code.as_str()),
        (Status::ERROR, "bad_config")
    );
    // A host that stopped waiting for an init gets an error, and nothing goes live.
    CONFIRM.set(0);
    let (status, body) = init(&t, r#"{"ok":true}"#);
    CONFIRM.set(1);
    assert_eq!(
        (status, error(&body).code.as_str()),
        (Status::ERROR, "abandoned")
    );
    let (status, body) = call(&t, abi::method::ATTRIBUTION_ATTRIBUTE, REQUEST);
    assert_eq!(
        (status, error(&body).code.as_str()),
        (Status::ERROR, "not_initialised")
    );
    assert_eq!(init(&t, r#"{"ok":true}"#).0, Status::OK);

    let (status, body) = call(&t, abi::method::ATTRIBUTION_ATTRIBUTE, REQUEST);
    assert_eq!(status, Status::OK);
    let response: AttributeResponse = serde_json::from_slice(&body)?;
    assert_eq!(response.weights[0].partner_id, "p1");

    let (status, body) = call(
        &t,
        abi::method::ATTRIBUTION_ATTRIBUTE,
        &REQUEST.replace("\"c1\"", "\"boom\""),
    );
    let body = error(&body);
    assert_eq!((status, body.code.as_str()), (Status::PANIC, "panic"));
    // The panic's own message: the code says it is a panic, and the host says so again.
    assert_eq!(body.message, "asked to explode");

    let fit = serde_json::to_string(&FitRequest::default())?;
    let (status, body) = call(&t, abi::method::ATTRIBUTION_FIT, &fit);
    assert_eq!(
        (status, error(&body).code.as_str()),
        (Status::ERROR, "unsupported")
    );
    let (status, body) = call(&t, abi::method::COMMISSION_COMPUTE, "{}");
    assert_eq!(
        (status, error(&body).code.as_str()),
        (Status::ERROR, "unsupported")
    );
    let (status, body) = call(&t, abi::method::ATTRIBUTION_ATTRIBUTE, "{not json");
    assert_eq!(
        (status, error(&body).code.as_str()),
        (Status::ERROR, "bad_input")
    );
    Ok(())
}

/// What the SDK protects plugin authors from: a panic escaping a raw
/// `extern "C"` function.
extern "C" fn raw_export_that_panics() {
    panic!("escaping a C frame");
}

/// Since Rust 1.81 such a panic aborts the whole process, which in the
/// server would take every tenant down. The abort is observed in a child
/// process (this test binary, re-run with a flag).
#[test]
fn a_panic_escaping_a_raw_extern_c_function_aborts_the_process()
-> Result<(), Box<dyn std::error::Error>> {
    const FLAG: &str = "COSELL_SDK_TEST_RAW_PANIC";
    if std::env::var_os(FLAG).is_some() {
        raw_export_that_panics();
        return Ok(());
    }
    let name = "a_panic_escaping_a_raw_extern_c_function_aborts_the_process";
    let status = std::process::Command::new(std::env::current_exe()?)
        .args(["--exact", name, "--test-threads=1"])
        .env(FLAG, "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()?;
    // SIGABRT is signal 6 on Linux.
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(6),
        "{status:?}"
    );
    Ok(())
}
