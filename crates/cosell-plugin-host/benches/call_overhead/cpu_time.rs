//! A criterion measurement of the bench thread's own CPU time.
//!
//! The machine's two cores are shared with other builds; wall time then
//! counts the time the bench thread waited for a core. Thread CPU time does
//! not, so single-threaded cases compare fairly under load.

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};
use std::time::Duration;

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
pub struct ThreadCpuTime;

/// The calling thread's CPU time so far.
pub fn now() -> Duration {
    let mut spec = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `spec` is a valid out-pointer; this clock exists on Linux.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut spec) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    let seconds = u64::try_from(spec.tv_sec).unwrap_or_default();
    let nanos = u32::try_from(spec.tv_nsec).unwrap_or_default();
    Duration::new(seconds, nanos)
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        now()
    }
    fn end(&self, started: Duration) -> Duration {
        now().saturating_sub(started)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &Nanoseconds
    }
}

/// Shows CPU nanoseconds in ns or µs.
struct Nanoseconds;

impl ValueFormatter for Nanoseconds {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        if typical < 1_000.0 {
            "ns (cpu)"
        } else {
            values.iter_mut().for_each(|v| *v /= 1_000.0);
            "µs (cpu)"
        }
    }
    fn scale_throughputs(
        &self,
        _typical: f64,
        _throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        // Throughput is not used by this bench; report per-iteration time.
        self.scale_for_machines(values)
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}
