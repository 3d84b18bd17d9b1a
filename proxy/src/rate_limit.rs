//! A request budget per caller: at most `limit` requests in any `window` for each, counted
//! with the core's `CallerWindows` (the package's server entry counts with the same), on this
//! process's monotonic clock. With Redis the gateway counts in Redis instead (`calls.lua`,
//! the same window shared by every instance) and here only while Redis does not answer.

use std::time::{Duration, Instant};

use runbase_image::core::window;

pub struct CallerWindows {
    /// Times are milliseconds since this instant.
    epoch: Instant,
    windows: window::CallerWindows,
}

impl CallerWindows {
    pub fn new(limit: usize, window: Duration) -> Self {
        CallerWindows {
            epoch: Instant::now(),
            windows: window::CallerWindows::new(limit, window.as_secs_f64() * 1000.0),
        }
    }

    /// Requests per window, and the window.
    pub fn limits(&self) -> (usize, Duration) {
        let (limit, window_ms) = self.windows.limits();
        (limit, Duration::from_secs_f64(window_ms / 1000.0))
    }

    /// Counts a request now; `Err(wait)` when over budget, with how long until one frees up.
    pub fn check(&mut self, caller: &str, now: Instant) -> Result<(), Duration> {
        let now_ms = self.ms(now);
        self.windows.check(caller, now_ms).map_err(duration)
    }

    /// How long until `caller` has budget again, counting nothing; `None`: it has some now.
    pub fn blocked(&mut self, caller: &str, now: Instant) -> Option<Duration> {
        let now_ms = self.ms(now);
        self.windows.blocked(caller, now_ms).map(duration)
    }

    /// Counts one now, over budget or not.
    pub fn record(&mut self, caller: &str, now: Instant) {
        let now_ms = self.ms(now);
        self.windows.record(caller, now_ms);
    }

    fn ms(&self, now: Instant) -> f64 {
        now.saturating_duration_since(self.epoch).as_secs_f64() * 1000.0
    }
}

fn duration(ms: f64) -> Duration {
    Duration::from_secs_f64(ms / 1000.0)
}

/// Whole seconds for a Retry-After header, never 0 (a client must not retry at once).
pub fn retry_after_secs(wait: Duration) -> u64 {
    runbase_image::core::gateway::retry_after_secs(wait.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_per_ten_seconds() {
        let mut budget = CallerWindows::new(20, Duration::from_secs(10));
        let start = budget.epoch;
        for i in 0..20 {
            assert!(budget
                .check("k", start + Duration::from_millis(i * 100))
                .is_ok());
        }
        let wait = budget
            .check("k", start + Duration::from_secs(5))
            .expect_err("21st in the window");
        assert_eq!(wait, Duration::from_secs(5));
        assert!(
            budget.check("other", start).is_ok(),
            "budgets are per caller"
        );
        assert!(budget.check("k", start + Duration::from_secs(10)).is_ok());
        assert_eq!(budget.blocked("other", start), None);
        for _ in 0..20 {
            budget.record("failing", start);
        }
        assert_eq!(
            budget.blocked("failing", start + Duration::from_secs(4)),
            Some(Duration::from_secs(6))
        );
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(4100)), 5);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
