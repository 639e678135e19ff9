//! Per-plugin state, call statistics and the circuit breaker.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// How many recent call durations the percentiles are computed from.
const LATENCY_WINDOW: usize = 1024;

/// Whether a plugin takes calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PluginState {
    /// Calls go through.
    Enabled,
    /// An operator stopped calls.
    Disabled,
    /// The circuit breaker stopped calls after repeated failures; an operator
    /// re-enables the plugin.
    Quarantined {
        /// The failure that tripped the breaker.
        reason: String,
    },
}

/// A snapshot of a plugin's calls, for `GET /v1/plugins/{id}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginStats {
    /// Current state.
    pub state: PluginState,
    /// Calls made (including failed ones).
    pub calls: u64,
    /// Calls that failed: error, panic, timeout or invalid output.
    pub failures: u64,
    /// Failures since the last success; the breaker trips at the threshold.
    pub consecutive_failures: u32,
    /// Median duration over the recent calls, if any.
    pub p50: Option<Duration>,
    /// 99th-percentile duration over the recent calls, if any.
    pub p99: Option<Duration>,
    /// The last `fit` that reached the plugin, if any since it was loaded.
    pub last_fit: Option<FitRecord>,
}

/// How a `fit` call ended, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FitRecord {
    /// When it ended.
    pub at: SystemTime,
    /// How long it took.
    pub took: Duration,
    pub outcome: FitOutcome,
}

/// What a `fit` call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FitOutcome {
    /// The model was fitted: the plugin's own summary.
    Fitted {
        /// Journeys used.
        journeys: u64,
        /// Distinct partners seen.
        partners: u64,
    },
    /// The model has no fit step.
    Unsupported,
    /// The fit failed; the plugin keeps its previous model.
    Failed(String),
}

/// Mutable per-plugin bookkeeping, kept behind one mutex.
#[derive(Debug)]
pub(crate) struct Monitor {
    state: PluginState,
    calls: u64,
    failures: u64,
    consecutive_failures: u32,
    latencies: VecDeque<Duration>,
    last_fit: Option<FitRecord>,
}

impl Monitor {
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            state: if enabled {
                PluginState::Enabled
            } else {
                PluginState::Disabled
            },
            calls: 0,
            failures: 0,
            consecutive_failures: 0,
            latencies: VecDeque::with_capacity(LATENCY_WINDOW),
            last_fit: None,
        }
    }

    pub(crate) fn record_fit(&mut self, fit: FitRecord) {
        self.last_fit = Some(fit);
    }

    pub(crate) fn state(&self) -> &PluginState {
        &self.state
    }

    /// Enables or disables; enabling also lifts a quarantine and resets the breaker.
    pub(crate) fn set_enabled(&mut self, enabled: bool) {
        self.state = if enabled {
            PluginState::Enabled
        } else {
            PluginState::Disabled
        };
        self.consecutive_failures = 0;
    }

    /// Stops calls until an operator re-enables the plugin, for a reason other than
    /// repeated call failures.
    pub(crate) fn quarantine(&mut self, reason: String) {
        self.state = PluginState::Quarantined { reason };
    }

    /// Records one call. Returns true when this failure tripped the breaker.
    pub(crate) fn record(&mut self, took: Duration, failure: Option<&str>, threshold: u32) -> bool {
        self.calls += 1;
        if self.latencies.len() == LATENCY_WINDOW {
            self.latencies.pop_front();
        }
        self.latencies.push_back(took);
        let Some(reason) = failure else {
            self.consecutive_failures = 0;
            return false;
        };
        self.failures += 1;
        self.consecutive_failures += 1;
        let trips = self.consecutive_failures >= threshold && self.state == PluginState::Enabled;
        if trips {
            self.state = PluginState::Quarantined {
                reason: reason.to_owned(),
            };
        }
        trips
    }

    pub(crate) fn stats(&self) -> PluginStats {
        let mut sorted: Vec<Duration> = self.latencies.iter().copied().collect();
        sorted.sort_unstable();
        PluginStats {
            state: self.state.clone(),
            calls: self.calls,
            failures: self.failures,
            consecutive_failures: self.consecutive_failures,
            p50: percentile(&sorted, 50),
            p99: percentile(&sorted, 99),
            last_fit: self.last_fit.clone(),
        }
    }
}

/// Nearest-rank percentile of sorted durations.
fn percentile(sorted: &[Duration], pct: usize) -> Option<Duration> {
    let rank = (sorted.len() * pct).div_ceil(100);
    sorted.get(rank.max(1) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let sorted: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(percentile(&sorted, 50), Some(ms(50)));
        assert_eq!(percentile(&sorted, 99), Some(ms(99)));
        assert_eq!(percentile(&[ms(7)], 99), Some(ms(7)));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn breaker_trips_on_consecutive_failures_only() {
        let mut monitor = Monitor::new(true);
        assert!(!monitor.record(ms(1), Some("a"), 3));
        assert!(!monitor.record(ms(1), Some("b"), 3));
        assert!(!monitor.record(ms(1), None, 3));
        assert!(!monitor.record(ms(1), Some("c"), 3));
        assert!(!monitor.record(ms(1), Some("d"), 3));
        assert!(monitor.record(ms(1), Some("e"), 3));
        assert_eq!(
            monitor.state(),
            &PluginState::Quarantined { reason: "e".into() }
        );
        let stats = monitor.stats();
        assert_eq!(
            (stats.calls, stats.failures, stats.consecutive_failures),
            (6, 5, 3)
        );

        monitor.set_enabled(true);
        assert_eq!(monitor.state(), &PluginState::Enabled);
        assert_eq!(monitor.stats().consecutive_failures, 0);
    }

    #[test]
    fn latency_window_is_bounded() {
        let mut monitor = Monitor::new(true);
        for n in 0..(LATENCY_WINDOW as u64 + 10) {
            monitor.record(ms(n), None, 3);
        }
        assert_eq!(monitor.latencies.len(), LATENCY_WINDOW);
        assert_eq!(
            monitor.stats().p50,
            Some(ms(10 + LATENCY_WINDOW as u64 / 2 - 1))
        );
    }
}
