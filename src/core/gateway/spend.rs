//! Limits in money on what a proxy's key spends: per caller (client address, or user with
//! sign-in) per UTC hour and per UTC day, and for the whole proxy per UTC day. A create first
//! reserves its price in every window it falls in; once the API has answered, the reservation
//! becomes the run's own `costUsd`, or is given back when no run was made. The windows, their
//! names in the store (shared with the Lua script `spend`), the refusal and the in-memory
//! ledger are here; where the counters live (memory or Redis) is the proxy's.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Refusal;
use crate::core::code::ErrorCode;
use crate::core::time::iso8601;

/// Micro-dollars, as the API's `costUsd`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpendLimits {
    pub per_client_hour: Option<u64>,
    pub per_client_day: Option<u64>,
    pub per_day: Option<u64>,
}

impl SpendLimits {
    pub fn any(&self) -> bool {
        self.per_client_hour.is_some() || self.per_client_day.is_some() || self.per_day.is_some()
    }
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// One counting window a create falls in: its counter's name, its limit and when it resets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpendWindow {
    pub key: String,
    pub limit: u64,
    pub resets_at_ms: i64,
    /// What it counts, for the refusal.
    #[serde(skip)]
    pub what: String,
}

impl SpendWindow {
    /// How long its counter is kept: until it resets, and a minute more.
    pub fn ttl_ms(&self, now_ms: i64) -> i64 {
        self.resets_at_ms - now_ms + 60_000
    }

    /// The refusal of a create that would overrun this window.
    pub fn refusal(&self, now_ms: i64) -> Refusal {
        let secs = ((self.resets_at_ms - now_ms) / 1000).max(1) as u64;
        Refusal::new(
            ErrorCode::SpendLimitReached,
            format!(
                "The limit on {} (${:.2}) is reached: it resets at {} (in {} min)",
                self.what,
                self.limit as f64 / 1e6,
                iso8601(self.resets_at_ms),
                secs.div_ceil(60)
            ),
        )
        .retry_after(secs)
    }
}

/// The windows a create of `caller` (its key in the store; `noun`: "client" or "user") falls
/// in at `now_ms`, for the limits that are set.
pub fn spend_windows(
    limits: &SpendLimits,
    caller: &str,
    noun: &str,
    now_ms: i64,
) -> Vec<SpendWindow> {
    let (hour, day) = (now_ms.div_euclid(HOUR_MS), now_ms.div_euclid(DAY_MS));
    let candidates = [
        (
            limits.per_client_hour,
            format!("spend:client:{caller}:h{hour}"),
            (hour + 1) * HOUR_MS,
            format!("this {noun}'s spending this hour"),
        ),
        (
            limits.per_client_day,
            format!("spend:client:{caller}:d{day}"),
            (day + 1) * DAY_MS,
            format!("this {noun}'s spending today (UTC)"),
        ),
        (
            limits.per_day,
            format!("spend:all:d{day}"),
            (day + 1) * DAY_MS,
            "this proxy's spending today (UTC)".to_string(),
        ),
    ];
    candidates
        .into_iter()
        .filter_map(|(limit, key, resets_at_ms, what)| {
            Some(SpendWindow {
                key,
                limit: limit?,
                resets_at_ms,
                what,
            })
        })
        .collect()
}

/// The counters of one process (without a shared store): key → (spent, when it resets).
#[derive(Debug, Default)]
pub struct SpendLedger {
    spent: HashMap<String, (u64, i64)>,
}

impl SpendLedger {
    /// Adds `price` to every window, or to none: `Some(i)` is the first window it would
    /// overrun.
    pub fn reserve(&mut self, windows: &[SpendWindow], price: u64, now_ms: i64) -> Option<usize> {
        self.spent.retain(|_, (_, ends)| *ends > now_ms);
        let over = windows
            .iter()
            .position(|w| self.spent.get(&w.key).map_or(0, |(spent, _)| *spent) + price > w.limit);
        if over.is_none() {
            for window in windows {
                self.spent
                    .entry(window.key.clone())
                    .or_insert((0, window.resets_at_ms))
                    .0 += price;
            }
        }
        over
    }

    /// Adds `by` (negative: gives back) to each `(key, resets_at_ms)`.
    pub fn adjust(&mut self, keys: &[(String, i64)], by: i64) {
        for (key, ends) in keys {
            let entry = self.spent.entry(key.clone()).or_insert((0, *ends));
            entry.0 = entry.0.saturating_add_signed(by);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_counts_in_every_window_or_in_none() {
        let limits = SpendLimits {
            per_client_hour: Some(100_000),
            per_client_day: None,
            per_day: Some(150_000),
        };
        let now = 1_780_000_000_000;
        let windows = spend_windows(&limits, "user:ada", "user", now);
        assert_eq!(windows.len(), 2);
        assert!(windows[0].key.starts_with("spend:client:user:ada:h"));
        let mut ledger = SpendLedger::default();
        assert_eq!(ledger.reserve(&windows, 80_000, now), None);
        assert_eq!(ledger.reserve(&windows, 80_000, now), Some(0));
        let others = spend_windows(&limits, "10.0.0.1", "client", now);
        assert_eq!(
            ledger.reserve(&others, 80_000, now),
            Some(1),
            "the day's total"
        );
        let keys: Vec<_> = windows
            .iter()
            .map(|w| (w.key.clone(), w.resets_at_ms))
            .collect();
        ledger.adjust(&keys, -80_000);
        assert_eq!(ledger.reserve(&others, 80_000, now), None);
        let refusal = windows[0].refusal(now);
        assert_eq!(refusal.status, 429);
        assert!(refusal
            .body
            .error
            .message
            .contains("this user's spending this hour ($0.10)"));
    }
}
