//! What the broker counts, for `/__runbase/stats` and `/metrics`.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use super::{Broker, Slot};
use crate::locked;
use crate::upstream::Upstream;

#[derive(Default)]
pub(super) struct Counters {
    pub(super) finished: u64,
    pub(super) polls_of_finished: u64,
    pub(super) lags_ms: VecDeque<f64>,
    pub(super) unknown_fetched: u64,
    pub(super) taken_over: u64,
}

pub(super) const LAGS_KEPT: usize = 2000;

impl Broker {
    pub fn stats(&self) -> Value {
        let snap = self.sched.snapshot();
        let limits = self.sched.limits;
        let (followed, known) = {
            let table = locked(&self.table);
            let followed = table
                .runs
                .values()
                .filter(|e| matches!(&*e.tx.borrow(), Slot::Run(run) if !run.status.is_finished()))
                .count();
            (followed, table.runs.len())
        };
        let counters = locked(&self.counters);
        let mut lags: Vec<f64> = counters.lags_ms.iter().copied().collect();
        lags.sort_by(f64::total_cmp);
        let pct = |p: f64| -> Value {
            if lags.is_empty() {
                return Value::Null;
            }
            let i = ((lags.len() as f64 - 1.0) * p).round() as usize;
            json!(lags[i.min(lags.len() - 1)].round())
        };
        let learned: serde_json::Map<String, Value> = locked(&self.learned)
            .iter()
            .map(|(k, v)| (k.clone(), json!(v.round())))
            .collect();
        json!({
            "mode": "broker",
            "upstream": {
                "requestsInWindow": snap.in_window,
                "requestsTotal": self.upstream.requests.load(Ordering::Relaxed),
                "rateLimited": self.upstream.rate_limited(),
                "inFlight": snap.inflight,
                "granted": snap.granted_total,
                "pauses": snap.rate_limited,
                "pausedMs": snap.paused_ms,
                "limit": limits.requests,
                "windowMs": limits.window.as_millis() as u64,
                "marginMs": limits.margin.as_millis() as u64,
            },
            "queue": {
                "creates": snap.creates_waiting,
                "polls": snap.polls_waiting,
                "max": self.config.queue_max,
                "refused": self.upstream.metrics.creates_refused.get(),
            },
            "runs": {
                "followed": followed,
                "known": known,
                "created": self.upstream.metrics.runs_created.get(),
                "finished": counters.finished,
                "pollsPerFinishedRun": if counters.finished == 0 { 0.0 } else {
                    counters.polls_of_finished as f64 / counters.finished as f64
                },
                "unknownFetched": counters.unknown_fetched,
                "takenOver": counters.taken_over,
                "expectedMsByResolution": learned,
            },
            "lagMs": { "p50": pct(0.5), "p95": pct(0.95), "count": lags.len() },
            "shared": self.shared.as_ref().map(|s| s.stats()),
        })
    }
}

/// The stats of a pass-through proxy: only what it sent upstream.
pub fn pass_through_stats(upstream: &Upstream) -> Value {
    json!({
        "mode": "pass-through",
        "upstream": {
            "requestsTotal": upstream.requests.load(Ordering::Relaxed),
            "rateLimited": upstream.rate_limited(),
        },
    })
}
