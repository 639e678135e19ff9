//! The services the host passed at load time (logging, init confirmation).

use crate::abi::HostApi;
use std::sync::OnceLock;

static HOST: OnceLock<HostApi> = OnceLock::new();

/// Remembers the host's services; the first host wins.
pub(crate) fn set(host: HostApi) {
    let _ = HOST.set(host);
}

/// The host's services, once the entry function has run with a host.
pub(crate) fn get() -> Option<&'static HostApi> {
    HOST.get()
}

/// Whether a freshly built instance may replace the live one: asked of the host,
/// which says no once it has stopped waiting for this `init` (it timed out). Without a
/// host, or with a host older than the question (unit tests, old servers), yes.
pub(crate) fn confirm_init() -> bool {
    let Some(host) = get() else { return true };
    let Some(confirm) = host.confirm_init else {
        return true;
    };
    // SAFETY: the host promised that the callback and its context stay valid for
    // the life of the process; it is asked on the thread that called `init`.
    unsafe { confirm(host.context) == 1 }
}
