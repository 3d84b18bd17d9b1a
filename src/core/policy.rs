//! When to poll, when to retry and how long to wait: a pure policy over times in
//! milliseconds, with no clock of its own. The wasm transport asks it and then performs; the
//! native tests drive it with a virtual clock.

use super::code::ErrorCode;
use super::window::SlidingWindow;

/// Every tunable of the client, with the defaults docs/API.md documents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// The steady poll interval (the docs advise 1–2 s).
    pub poll_interval_ms: f64,
    /// The interval long runs slow down to.
    pub max_poll_interval_ms: f64,
    /// Requests allowed per window, for all runs of one client together.
    pub budget_requests: usize,
    pub budget_window_ms: f64,
    /// Retries of one request after failures that are safe to retry.
    pub max_retries: u32,
    pub backoff_base_ms: f64,
    /// The first wait after a 429 without `Retry-After`: docs/RUNBASE-API.md advises `2**attempt`
    /// seconds (1, 2, 4, 8 s …), so that the retries together outlast a whole 10 s window.
    pub rate_limit_backoff_base_ms: f64,
    pub backoff_max_ms: f64,
}

impl Settings {
    /// How long one request counts in the budget: the window plus its slack. A place in the
    /// budget shared across tabs is held this long too.
    pub fn budget_span_ms(&self) -> f64 {
        self.budget_window_ms.max(0.0) + BUDGET_MARGIN_MS
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            poll_interval_ms: 2000.0,
            max_poll_interval_ms: 5000.0,
            budget_requests: 20,
            budget_window_ms: 10_000.0,
            max_retries: 5,
            backoff_base_ms: 500.0,
            rate_limit_backoff_base_ms: 1000.0,
            backoff_max_ms: 30_000.0,
        }
    }
}

/// Slack added to the budget window: the server counts arrivals, we count departures, and
/// network delays differ from one request to the next.
pub const BUDGET_MARGIN_MS: f64 = 500.0;

/// How long to wait before the next poll of a run that started `elapsed_ms` ago: sooner at
/// first (most runs are short), the steady interval after that, slower for long runs.
pub fn poll_delay_ms(settings: &Settings, elapsed_ms: f64) -> f64 {
    let base = settings.poll_interval_ms;
    let delay = if elapsed_ms < 1_000.0 {
        base / 2.0
    } else if elapsed_ms < 2_500.0 {
        base * 0.75
    } else if elapsed_ms < 60_000.0 {
        base
    } else if elapsed_ms < 180_000.0 {
        base * 1.5
    } else {
        settings.max_poll_interval_ms
    };
    delay.min(settings.max_poll_interval_ms).max(0.0)
}

/// Exponential back-off with "equal jitter": half fixed, half random, capped.
pub fn backoff_ms(settings: &Settings, retry: u32, random01: f64) -> f64 {
    let exp = settings.backoff_base_ms * 2f64.powi(retry.min(30) as i32);
    let capped = exp.min(settings.backoff_max_ms);
    capped / 2.0 + capped / 2.0 * random01.clamp(0.0, 1.0)
}

/// The wait after the `retry`-th 429 in a row (0 for the first) that gave no `Retry-After`:
/// `2**retry` seconds as the docs advise, never less, plus up to a quarter more of jitter so
/// that clients that were refused together do not come back together; capped.
pub fn rate_limit_backoff_ms(settings: &Settings, retry: u32, random01: f64) -> f64 {
    let exp = settings.rate_limit_backoff_base_ms * 2f64.powi(retry.min(30) as i32);
    (exp * (1.0 + 0.25 * random01.clamp(0.0, 1.0))).min(settings.backoff_max_ms)
}

/// The shared request budget of one client: at most `budget_requests` sends in any window,
/// and a pause for everyone after the server said to wait.
#[derive(Debug, Clone)]
pub struct Budget {
    window: SlidingWindow,
    paused_until: f64,
}

impl Budget {
    pub fn new(settings: &Settings) -> Self {
        Budget {
            window: SlidingWindow::new(settings.budget_requests, settings.budget_span_ms()),
            paused_until: f64::NEG_INFINITY,
        }
    }

    /// 0 when a request may go now; otherwise how long until one may.
    pub fn wait_ms(&mut self, now: f64) -> f64 {
        self.window
            .wait_ms(now)
            .max(self.paused_until - now)
            .max(0.0)
    }

    /// Counts a request sent now. Call only after `wait_ms(now) == 0`.
    pub fn record(&mut self, now: f64) {
        self.window.record(now);
    }

    /// Nobody sends before `until` (after a 429 with Retry-After).
    pub fn pause_until(&mut self, until: f64) {
        self.paused_until = self.paused_until.max(until);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Reading a run: always safe to repeat.
    Get,
    /// Creating a run: repeated only when the answer proves no run was made.
    Post,
}

/// What went wrong with one request.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestFailure {
    /// No answer (connection refused, dropped, CORS).
    Network,
    /// The per-request time-out ran out.
    Timeout,
    /// An error status, with the API's code and Retry-After when given.
    Http {
        status: u16,
        /// As it came (see [`crate::core::api::ApiFailure`]).
        code: Option<String>,
        retry_after_ms: Option<u64>,
    },
    /// A success status with a body that could not be read.
    Decode,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    RetryAfter(f64),
    GiveUp,
}

/// Whether the failure is temporary and repeating the request is safe.
pub fn is_retryable(method: Method, failure: &RequestFailure) -> bool {
    match failure {
        RequestFailure::Http {
            status: 429, code, ..
        } => code.as_deref() != Some(ErrorCode::UsageExceeded.as_str()),
        _ if method == Method::Post => false,
        RequestFailure::Network | RequestFailure::Timeout | RequestFailure::Decode => true,
        RequestFailure::Http { status, .. } => *status >= 500 || *status == 408,
    }
}

/// The decision after the `retry`-th failure in a row (1 for the first).
pub fn decide(
    settings: &Settings,
    method: Method,
    failure: &RequestFailure,
    retry: u32,
    random01: f64,
) -> Decision {
    if retry > settings.max_retries || !is_retryable(method, failure) {
        return Decision::GiveUp;
    }
    match failure {
        // The server said exactly how long: wait that, no less, no jitter.
        RequestFailure::Http {
            retry_after_ms: Some(ms),
            ..
        } => Decision::RetryAfter(*ms as f64),
        RequestFailure::Http { status: 429, .. } => {
            Decision::RetryAfter(rate_limit_backoff_ms(settings, retry - 1, random01))
        }
        _ => Decision::RetryAfter(backoff_ms(settings, retry - 1, random01)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_pace() {
        let s = Settings::default();
        assert_eq!(poll_delay_ms(&s, 0.0), 1000.0);
        assert_eq!(poll_delay_ms(&s, 1000.0), 1500.0);
        assert_eq!(poll_delay_ms(&s, 3000.0), 2000.0);
        assert_eq!(poll_delay_ms(&s, 30_000.0), 2000.0);
        assert_eq!(poll_delay_ms(&s, 100_000.0), 3000.0);
        assert_eq!(poll_delay_ms(&s, 1_000_000.0), 5000.0);
    }

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        let s = Settings::default();
        assert_eq!(backoff_ms(&s, 0, 0.0), 250.0);
        assert_eq!(backoff_ms(&s, 0, 1.0), 500.0);
        assert_eq!(backoff_ms(&s, 3, 1.0), 4000.0);
        assert_eq!(backoff_ms(&s, 20, 1.0), 30_000.0);
        assert_eq!(backoff_ms(&s, 20, 0.0), 15_000.0);
    }

    #[test]
    fn rate_limit_backoff_follows_the_docs_and_outlasts_a_window() {
        let s = Settings::default();
        assert_eq!(rate_limit_backoff_ms(&s, 0, 0.0), 1000.0);
        assert_eq!(rate_limit_backoff_ms(&s, 3, 0.0), 8000.0);
        assert_eq!(rate_limit_backoff_ms(&s, 3, 1.0), 10_000.0);
        assert_eq!(rate_limit_backoff_ms(&s, 10, 1.0), 30_000.0);
        // Even with the least jitter, the default retries together wait longer than a window.
        let total: f64 = (0..s.max_retries)
            .map(|r| rate_limit_backoff_ms(&s, r, 0.0))
            .sum();
        assert!(total > s.budget_window_ms + BUDGET_MARGIN_MS, "{total}");
        let rate_limited = RequestFailure::Http {
            status: 429,
            code: Some(ErrorCode::RateLimited.to_string()),
            retry_after_ms: None,
        };
        assert_eq!(
            decide(&s, Method::Post, &rate_limited, 1, 0.0),
            Decision::RetryAfter(1000.0)
        );
    }
}
