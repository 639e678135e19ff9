//! Logging into the host's logs.
//!
//! A cdylib has its own copy of `tracing`/`log` globals, invisible to the
//! server, so plugins log through the callback the host passed at load time.
//! Before that (or in unit tests, where there is no host) messages are dropped.

use crate::abi::{BytesRef, log_level};

/// Severity of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Something is wrong and needs an operator.
    Error,
    /// Something unexpected that the plugin handled.
    Warn,
    /// Normal progress worth recording.
    Info,
    /// Detail for debugging.
    Debug,
}

/// Writes `message` to the host's log at `level`.
pub fn log(level: Level, message: &str) {
    let Some(host) = crate::host::get() else {
        return;
    };
    let Some(log) = host.log else { return };
    let level = match level {
        Level::Error => log_level::ERROR,
        Level::Warn => log_level::WARN,
        Level::Info => log_level::INFO,
        Level::Debug => log_level::DEBUG,
    };
    // SAFETY: the host promised that `log` and `context` stay valid for the
    // life of the process; the message outlives the call.
    unsafe {
        log(
            host.context,
            level,
            BytesRef::from_slice(message.as_bytes()),
        )
    }
}
