//! A sliding-window request budget per caller: at most `limit` requests in any `window`.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

pub struct SlidingWindow {
    limit: usize,
    window: Duration,
    seen: HashMap<String, VecDeque<Instant>>,
}

impl SlidingWindow {
    pub fn new(limit: usize, window: Duration) -> Self {
        SlidingWindow {
            limit,
            window,
            seen: HashMap::new(),
        }
    }

    /// Counts a request now; `Err(wait)` when over budget, with how long until one frees up.
    pub fn check(&mut self, caller: &str, now: Instant) -> Result<(), Duration> {
        // Forget callers whose whole window has passed, so the map stays small.
        if self.seen.len() > 10_000 {
            let window = self.window;
            self.seen
                .retain(|_, times| times.back().is_some_and(|t| now - *t < window));
        }
        let times = self.seen.entry(caller.to_string()).or_default();
        while times.front().is_some_and(|t| now - *t >= self.window) {
            times.pop_front();
        }
        if times.len() >= self.limit {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(self.window.saturating_sub(now - oldest));
        }
        times.push_back(now);
        Ok(())
    }
}

/// Whole seconds for a Retry-After header, never 0 (a client must not retry at once).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.as_secs() == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_per_ten_seconds() {
        let start = Instant::now();
        let mut budget = SlidingWindow::new(20, Duration::from_secs(10));
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
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(4100)), 5);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
