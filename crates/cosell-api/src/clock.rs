//! The date the API's calendar rules read (which settlement periods have ended). A server
//! runs on the system clock; a test sets it days ahead, to settle after a hold period
//! without waiting for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{Duration, NaiveDate, Utc};

/// The system clock, plus an offset every copy shares.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    ahead_seconds: Arc<AtomicI64>,
}

impl Clock {
    /// Today's date in UTC, by this clock.
    pub fn today(&self) -> NaiveDate {
        let ahead = Duration::seconds(self.ahead_seconds.load(Ordering::Relaxed));
        (Utc::now() + ahead).date_naive()
    }

    /// From now on (for every copy), this clock runs `by` ahead of the system clock.
    pub fn run_ahead(&self, by: Duration) {
        self.ahead_seconds
            .store(by.num_seconds(), Ordering::Relaxed);
    }
}
