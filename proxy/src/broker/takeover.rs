//! With Redis: states other instances wrote, runs whose poller's instance died, and what
//! other instances learned of run times.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use tokio::time::Instant;

use super::{Broker, Slot};
use crate::clock::unix_ms;
use crate::lock::locked;
use crate::store::{Meta, StoredRun};

impl Broker {
    /// Runs in the table, not finished, that another instance polls.
    pub(super) fn watched_elsewhere(&self) -> Vec<String> {
        let following = locked(&self.following);
        self.table.going(|id| !following.contains(id))
    }

    /// Reads these runs from Redis into the table (another instance wrote a new state).
    pub(super) fn refresh(self: &Arc<Self>, ids: Vec<String>) {
        let ids: Vec<String> = {
            let following = locked(&self.following);
            ids.into_iter()
                .filter(|id| self.table.contains(id) && !following.contains(id))
                .collect()
        };
        let (Some(shared), false) = (self.shared.clone(), ids.is_empty()) else {
            return;
        };
        let broker = self.clone();
        tokio::spawn(async move {
            for id in ids {
                if let Ok(Some(stored)) = shared.load(&id).await {
                    broker.table.apply_remote(&id, stored.run);
                }
            }
        });
    }

    /// Takes what other instances learned of run times.
    pub(super) async fn sync_learned(&self) {
        let Some(remote) = self.shared.as_ref() else {
            return;
        };
        let Some(remote) = remote.learned().await else {
            return;
        };
        self.run_times.take_remote(remote);
    }

    /// Takes over the runs whose poller's lease expired (its instance died or lost Redis).
    pub(super) async fn take_over(self: &Arc<Self>) {
        let Some(shared) = self.shared.clone() else {
            return;
        };
        let Some(ids) = shared.orphans().await else {
            return;
        };
        for id in ids {
            if locked(&self.following).contains(&id) || shared.claim(&id).await != Some(true) {
                continue;
            }
            match shared.load(&id).await {
                Ok(Some(StoredRun { run, meta, owner })) if !run.status.is_finished() => {
                    locked(&self.counters).taken_over += 1;
                    tracing::info!(run_id = %id, "took over a run whose instance stopped polling it");
                    let meta = meta.unwrap_or(Meta {
                        resolution: "?".into(),
                        started_unix_ms: unix_ms(),
                        host: None,
                    });
                    let since = (unix_ms() - meta.started_unix_ms).clamp(0, 86_400_000);
                    let started = Instant::now()
                        .checked_sub(Duration::from_millis(since as u64))
                        .unwrap_or_else(Instant::now);
                    let host = meta.host.and_then(|h| HeaderValue::from_str(&h).ok());
                    self.table
                        .insert(&id, Slot::Run(Arc::new(run)), false, owner.map(Arc::from));
                    let due = Some(Instant::now());
                    let follow = self.clone().follow(id, started, due, meta.resolution, host);
                    tokio::spawn(follow);
                }
                Ok(_) => shared.unfollow(&id).await,
                Err(_) => {}
            }
        }
    }
}
