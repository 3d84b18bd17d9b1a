//! What the broker counts, for `/__runbase/stats` and `/metrics`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Broker;
use crate::lock::locked;
use crate::stats::{
    BrokerStats, LagStats, QueueStats, RunStats, UpstreamStats, UserStats, WindowStats,
};
use crate::upstream::Upstream;

#[derive(Default)]
pub(super) struct Counters {
    pub(super) finished: u64,
    pub(super) polls_of_finished: u64,
    pub(super) lags_ms: VecDeque<f64>,
    pub(super) unknown_fetched: u64,
    pub(super) taken_over: u64,
    /// With sign-in: runs created and their `costUsd`, per user (by this instance).
    users: HashMap<Arc<str>, (u64, u64)>,
}

pub(super) const LAGS_KEPT: usize = 2000;
/// Users counted at most; beyond, those who spent least are forgotten.
const USERS_KEPT: usize = 10_000;
/// The users the stats show: those who spent most.
const USERS_SHOWN: usize = 50;

impl Broker {
    pub(super) fn count_for_user(&self, user: &Arc<str>, cost_micro_usd: Option<u64>) {
        let mut counters = locked(&self.counters);
        let users = &mut counters.users;
        if users.len() >= USERS_KEPT && !users.contains_key(user) {
            let mut spent: Vec<u64> = users.values().map(|(_, spent)| *spent).collect();
            let (_, median, _) = spent.select_nth_unstable(users.len() / 2);
            let median = *median;
            users.retain(|_, (_, spent)| *spent > median);
        }
        let entry = users.entry(user.clone()).or_default();
        entry.0 += 1;
        entry.1 += cost_micro_usd.unwrap_or(0);
    }

    /// The broker's part of the stats, and the upstream's as the scheduler sees it.
    pub fn stats(&self) -> (UpstreamStats, BrokerStats) {
        let snap = self.sched.snapshot();
        let limits = self.sched.limits;
        let (followed, known) = self.table.counts();
        let counters = locked(&self.counters);
        let mut lags: Vec<f64> = counters.lags_ms.iter().copied().collect();
        lags.sort_by(f64::total_cmp);
        let pct = |p: f64| -> Option<f64> {
            let i = ((lags.len().checked_sub(1)? as f64) * p).round() as usize;
            Some(lags[i.min(lags.len() - 1)].round())
        };
        let expected_ms_by_resolution = self.run_times.rounded();
        let mut upstream = pass_through_stats(&self.upstream);
        upstream.window = Some(WindowStats {
            requests_in_window: snap.in_window,
            in_flight: snap.inflight,
            granted: snap.granted_total,
            pauses: snap.rate_limited,
            paused_ms: snap.paused_ms,
            limit: limits.requests,
            window_ms: limits.window.as_millis() as u64,
            margin_ms: limits.margin.as_millis() as u64,
        });
        let broker = BrokerStats {
            queue: QueueStats {
                creates: snap.creates_waiting,
                polls: snap.polls_waiting,
                max: self.config.queue_max,
                refused: self.upstream.metrics.creates_refused.get(),
            },
            runs: RunStats {
                followed,
                known,
                created: self.upstream.metrics.runs_created.get(),
                finished: counters.finished,
                polls_per_finished_run: if counters.finished == 0 {
                    0.0
                } else {
                    counters.polls_of_finished as f64 / counters.finished as f64
                },
                unknown_fetched: counters.unknown_fetched,
                taken_over: counters.taken_over,
                expected_ms_by_resolution,
            },
            lag_ms: LagStats {
                p50: pct(0.5),
                p95: pct(0.95),
                count: lags.len(),
            },
            users: top_users(&counters.users),
            shared: self.shared.as_ref().map(|s| s.stats()),
        };
        (upstream, broker)
    }
}

/// The users who spent most through this instance, each by the first 16 hex digits of the
/// SHA-256 of their id: the stats answer whoever reaches the server, and an id is often an
/// e-mail address.
fn top_users(users: &HashMap<Arc<str>, (u64, u64)>) -> Vec<UserStats> {
    let mut top: Vec<_> = users.iter().collect();
    top.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then_with(|| a.0.cmp(b.0)));
    top.iter()
        .take(USERS_SHOWN)
        .map(|(user, (runs, spent))| UserStats {
            user_hash: user_hash(user),
            runs: *runs,
            spent_usd: *spent as f64 / 1e6,
        })
        .collect()
}

fn user_hash(user: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, user.as_bytes());
    digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What any proxy counts upstream (a pass-through proxy: all it counts).
pub fn pass_through_stats(upstream: &Upstream) -> UpstreamStats {
    UpstreamStats {
        requests_total: upstream.requests.load(Ordering::Relaxed),
        rate_limited: upstream.rate_limited(),
        window: None,
    }
}
