//! A sliding-window rate limit over times in milliseconds, with no clock of its own: at most
//! `limit` events in any `window_ms`. The client's request budget and the proxy's limits
//! count with it; tests drive it with a virtual clock.

use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct SlidingWindow {
    limit: usize,
    window_ms: f64,
    /// The times of the events still inside the window, oldest first.
    times: VecDeque<f64>,
}

impl SlidingWindow {
    /// A `limit` of 0 is taken as 1: a window that never lets anything through would wait
    /// forever.
    pub fn new(limit: usize, window_ms: f64) -> Self {
        SlidingWindow {
            limit: limit.max(1),
            window_ms: window_ms.max(0.0),
            times: VecDeque::new(),
        }
    }

    /// 0 when an event may happen now; otherwise how long until one may. Forgets the events
    /// that have left the window.
    pub fn wait_ms(&mut self, now: f64) -> f64 {
        while self
            .times
            .front()
            .is_some_and(|t| now - t >= self.window_ms)
        {
            self.times.pop_front();
        }
        match self.times.len().checked_sub(self.limit) {
            // The event that must leave the window before another may enter.
            Some(excess) => self
                .times
                .get(excess)
                .map_or(0.0, |t| (t + self.window_ms - now).max(0.0)),
            None => 0.0,
        }
    }

    /// Counts an event at `now` (whether or not the window allowed it).
    pub fn record(&mut self, now: f64) {
        self.times.push_back(now);
    }

    /// Counts an event at `now` if the window allows it; otherwise `Err` with how long until
    /// it would.
    pub fn try_record(&mut self, now: f64) -> Result<(), f64> {
        match self.wait_ms(now) {
            wait if wait > 0.0 => Err(wait),
            _ => {
                self.record(now);
                Ok(())
            }
        }
    }

    /// The events inside the window at `now` (forgetting those that have left it).
    pub fn count(&mut self, now: f64) -> usize {
        self.wait_ms(now);
        self.times.len()
    }

    /// The oldest event still counted: the window frees a place when it leaves.
    pub fn oldest(&self) -> Option<f64> {
        self.times.front().copied()
    }

    /// The events still counted, oldest first.
    pub fn times(&self) -> impl Iterator<Item = f64> + '_ {
        self.times.iter().copied()
    }

    /// The events counted and not yet forgotten (as of the last `wait_ms` or `try_record`).
    pub fn len(&self) -> usize {
        self.times.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// The newest event's time: a caller idle for a whole window can be forgotten.
    pub fn last(&self) -> Option<f64> {
        self.times.back().copied()
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn window_ms(&self) -> f64 {
        self.window_ms
    }
}

/// One [`SlidingWindow`] per caller: at most `limit` requests in any `window_ms` for each (a
/// proxy's per-client and per-user limits). Times are milliseconds on the caller's clock.
#[derive(Debug, Clone)]
pub struct CallerWindows {
    limit: usize,
    window_ms: f64,
    windows: std::collections::HashMap<String, SlidingWindow>,
}

/// Beyond this many callers, those idle for a whole window are forgotten.
const CALLERS_KEPT: usize = 10_000;

impl CallerWindows {
    pub fn new(limit: usize, window_ms: f64) -> Self {
        CallerWindows {
            limit,
            window_ms,
            windows: std::collections::HashMap::new(),
        }
    }

    /// Requests per window, and the window in ms.
    pub fn limits(&self) -> (usize, f64) {
        (self.limit, self.window_ms)
    }

    /// Counts a request now; `Err(wait_ms)` when over budget, with how long until one frees up.
    pub fn check(&mut self, caller: &str, now_ms: f64) -> Result<(), f64> {
        self.window(caller, now_ms).try_record(now_ms)
    }

    /// How long until `caller` has budget again, counting nothing; `None`: it has some now.
    pub fn blocked(&mut self, caller: &str, now_ms: f64) -> Option<f64> {
        let wait_ms = self.windows.get_mut(caller)?.wait_ms(now_ms);
        (wait_ms > 0.0).then_some(wait_ms)
    }

    /// Counts one now, over budget or not.
    pub fn record(&mut self, caller: &str, now_ms: f64) {
        self.window(caller, now_ms).record(now_ms);
    }

    fn window(&mut self, caller: &str, now_ms: f64) -> &mut SlidingWindow {
        if self.windows.len() > CALLERS_KEPT {
            let window_ms = self.window_ms;
            self.windows
                .retain(|_, w| w.last().is_some_and(|t| now_ms - t < window_ms));
        }
        let (limit, window_ms) = (self.limit, self.window_ms);
        self.windows
            .entry(caller.to_string())
            .or_insert_with(|| SlidingWindow::new(limit, window_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lets_limit_through_then_waits_for_the_oldest_to_leave() {
        let mut window = SlidingWindow::new(3, 1000.0);
        assert!(window.is_empty() && window.last().is_none());
        for t in [0.0, 100.0, 200.0] {
            assert_eq!(window.try_record(t), Ok(()));
        }
        assert_eq!(window.len(), 3);
        assert_eq!(window.wait_ms(500.0), 500.0);
        assert_eq!(window.try_record(999.0), Err(1.0));
        assert_eq!(window.len(), 3, "a refused event is not counted");
        assert_eq!(window.try_record(1000.0), Ok(()));
        assert_eq!(window.wait_ms(1000.0), 100.0);
        assert_eq!(window.last(), Some(1000.0));
    }

    #[test]
    fn counts_and_oldest_at_a_time() {
        let mut window = SlidingWindow::new(4, 1000.0);
        for t in [0.0, 300.0, 600.0] {
            window.record(t);
        }
        assert_eq!(window.count(900.0), 3);
        assert_eq!(window.count(1300.0), 1);
        assert_eq!(window.oldest(), Some(600.0));
        assert_eq!(window.times().collect::<Vec<_>>(), [600.0]);
    }

    #[test]
    fn forgets_what_left_the_window() {
        let mut window = SlidingWindow::new(2, 1000.0);
        window.record(0.0);
        window.record(10.0);
        assert_eq!(window.wait_ms(5000.0), 0.0);
        assert!(window.is_empty());
        assert_eq!(window.last(), None);
    }

    #[test]
    fn record_counts_past_the_limit_and_the_wait_grows() {
        let mut window = SlidingWindow::new(1, 1000.0);
        window.record(0.0);
        window.record(0.0);
        // Both must leave before another may enter.
        assert_eq!(window.wait_ms(0.0), 1000.0);
        window.record(600.0);
        assert_eq!(window.wait_ms(1000.0), 600.0);
    }

    #[test]
    fn no_window_and_no_limit_never_wait_forever() {
        let mut window = SlidingWindow::new(0, -5.0);
        assert_eq!((window.limit(), window.window_ms()), (1, 0.0));
        assert_eq!(window.try_record(0.0), Ok(()));
        assert_eq!(window.try_record(0.0), Ok(()));
    }

    #[test]
    fn never_more_than_limit_in_any_window_on_a_virtual_clock() {
        let (limit, window_ms) = (5, 1000.0);
        let mut window = SlidingWindow::new(limit, window_ms);
        let mut now = 0.0;
        let mut sent = Vec::new();
        while sent.len() < 40 {
            match window.try_record(now) {
                Ok(()) => sent.push(now),
                Err(wait) => {
                    assert!(wait > 0.0);
                    now += wait;
                }
            }
            now += 37.0;
        }
        for (i, t) in sent.iter().enumerate() {
            let inside = sent[i..].iter().filter(|u| *u - t < window_ms).count();
            assert!(inside <= limit, "{inside} events in the window from {t}");
        }
    }
}
