//! Each run's one poller: it polls upstream around when the run should end (learned per
//! resolution), then every `poll_interval`, slower for long runs; with Redis it holds the
//! run's lease. What finished runs took is learned here.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, Method, StatusCode};
use runbase_image::core::api::{Run, RunStatus};
use runbase_image::core::time::iso8601_unix_ms;
use tokio::time::Instant;

use super::scheduler::{Class, Permit};
use super::stats::LAGS_KEPT;
use super::{Broker, Slot};
use crate::lock::locked;
use crate::metrics::RunStatusLabel;
use crate::store::{Lease, LEASE};

/// What one poll of a followed run showed.
pub(super) enum Polled {
    /// Finished, or no longer in the table: stop following.
    Done,
    Going,
    NotFound,
    /// Refused, unreadable or unanswered: the browser keeps the last known state.
    Failed,
}

/// A run's one optional progress poll (if the key has budget to spare) goes a third of the
/// way to its first due poll, and at the latest this long after it was created.
pub(super) const PROGRESS_POLL_BY: Duration = Duration::from_secs(3);

/// Added to the expected finish before the first poll (the API's clock and ours differ by
/// a request's travel time).
pub(super) const FIRST_POLL_SLACK: Duration = Duration::from_millis(250);

impl Broker {
    /// When to poll a new run first: at its expected end once learned; with nothing learned,
    /// one run of the resolution scouts (polled from `first_poll` on, every `poll_interval`)
    /// and the others wait for what it learns (at most 30 s).
    pub(super) async fn first_due(
        &self,
        started: Instant,
        resolution: &str,
    ) -> (Instant, Option<Scout<'_>>) {
        let mut generation = self.run_times.subscribe();
        let give_up = Instant::now() + Duration::from_secs(30);
        loop {
            generation.borrow_and_update();
            if let Some(expected) = self.run_times.expected(resolution) {
                return (started + expected + FIRST_POLL_SLACK, None);
            }
            if self.run_times.start_scouting(resolution) {
                let scout = Scout {
                    broker: self,
                    resolution: resolution.to_string(),
                };
                // One scout among all instances (without Redis's answer, this one).
                let elsewhere = match &self.shared {
                    Some(shared) => shared.claim_scout(resolution, SCOUT_FOR).await == Some(false),
                    None => false,
                };
                if !elsewhere {
                    return (started + self.config.first_poll, Some(scout));
                }
                scout.elsewhere();
            }
            // What another run (here or elsewhere) learns arrives as a new generation; look
            // again every second for a scout of another instance that died.
            let again = if self.shared.is_some() {
                Instant::now() + Duration::from_secs(1)
            } else {
                give_up
            };
            tokio::select! {
                _ = generation.changed() => {}
                _ = tokio::time::sleep_until(again.min(give_up)) => {}
            }
            if Instant::now() >= give_up {
                return (Instant::now(), None);
            }
        }
    }

    /// The one poller of a run: polls upstream until the run is finished (a failed or refused
    /// poll is only retried: the browser keeps the last known state).
    #[tracing::instrument(name = "run", skip_all, fields(run_id = %id))]
    pub(super) async fn follow(
        self: Arc<Self>,
        id: String,
        started: Instant,
        first_due: Option<Instant>,
        resolution: String,
        host: Option<HeaderValue>,
    ) {
        let Some(following) = self.start_following(&id).await else {
            return;
        };
        let (mut due, _scout) = match first_due {
            Some(due) => (due, None),
            None => self.first_due(started, &resolution).await,
        };
        let (mut polls, mut missing) = (0u64, 0u32);
        let path = format!("/runs/{id}");
        // One early look for the run's progress (pending → processing), so that people
        // watching see it move; only with budget to spare, never before a create or a due poll.
        let span = due.saturating_duration_since(started);
        let progress_at = started + (span / 3).min(PROGRESS_POLL_BY);
        if span >= Duration::from_secs(1) {
            tokio::time::sleep_until(progress_at).await;
            if following.lost() {
                return;
            }
            if let Some(permit) = self.sched.try_spare().await {
                polls += 1;
                let polled = self.poll(permit, &id, &path, host.as_ref(), &resolution, polls);
                if let Polled::Done = polled.await {
                    return;
                }
            }
        }
        loop {
            tokio::time::sleep_until(due).await;
            let permit = self.sched.acquire(Class::Poll).await;
            if following.lost() {
                return;
            }
            polls += 1;
            match self
                .poll(permit, &id, &path, host.as_ref(), &resolution, polls)
                .await
            {
                Polled::Done => return,
                Polled::Going => missing = 0,
                Polled::NotFound => {
                    missing += 1;
                    if missing >= 5 {
                        return;
                    }
                }
                Polled::Failed => {}
            }
            let elapsed = started.elapsed();
            let interval = if elapsed < Duration::from_secs(60) {
                self.config.poll_interval
            } else if elapsed < Duration::from_secs(180) {
                self.config.poll_interval * 2
            } else if elapsed < Duration::from_secs(600) {
                self.config.poll_interval * 5
            } else {
                // A run this late is most likely stuck: it must not eat the key's budget.
                self.config.poll_interval * 30
            };
            due = Instant::now() + interval;
        }
    }

    /// Makes this instance the run's one poller: with `--redis`, the holder of its lease
    /// (taken over runs come with it; without Redis's answer this instance goes on), renewed
    /// until the returned guard is dropped. `None`: another instance or task polls it.
    pub(super) async fn start_following(self: &Arc<Self>, id: &str) -> Option<Following> {
        if let Some(shared) = &self.shared {
            if shared.renew(id).await == Some(Lease::Another) {
                return None;
            }
        }
        if !locked(&self.following).insert(id.to_string()) {
            return None;
        }
        let lost = Arc::new(AtomicBool::new(false));
        let keeper = self.shared.clone().map(|shared| {
            let (broker, id, lost) = (Arc::downgrade(self), id.to_string(), lost.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(LEASE / 3).await;
                    match shared.renew(&id).await {
                        Some(Lease::Another) => {
                            lost.store(true, Ordering::Relaxed);
                            return;
                        }
                        // Redis lost everything: write the run again.
                        Some(Lease::Retaken) => {
                            let Some(broker) = broker.upgrade() else {
                                return;
                            };
                            if let Some((Slot::Run(run), owner)) = broker.table.entry(&id) {
                                let keep = broker.config.keep_finished;
                                shared.put_run(&run, None, owner.as_deref(), keep);
                            }
                        }
                        _ => {}
                    }
                }
            })
        });
        Some(Following {
            broker: self.clone(),
            id: id.to_string(),
            lost,
            keeper,
        })
    }

    /// One upstream poll with a granted slot; publishes what it learns.
    pub(super) async fn poll(
        &self,
        permit: Permit,
        id: &str,
        path: &str,
        host: Option<&HeaderValue>,
        resolution: &str,
        polls: u64,
    ) -> Polled {
        match permit
            .send(&self.upstream, Method::GET, path, host, None)
            .await
        {
            Ok(answer) if answer.is_rate_limited() => Polled::Failed,
            Ok(answer) => match answer.run {
                Some(run) => {
                    let finished = run.status.is_finished();
                    if finished {
                        self.finished(resolution, &run, polls);
                    }
                    if !self.publish(id, run) || finished {
                        Polled::Done
                    } else {
                        Polled::Going
                    }
                }
                None if answer.status == StatusCode::NOT_FOUND => Polled::NotFound,
                None => Polled::Failed,
            },
            Err(_) => Polled::Failed,
        }
    }

    /// Learns the run's duration and counts its polls and how late the proxy knew.
    pub(super) fn finished(&self, resolution: &str, run: &Run, polls: u64) {
        tracing::info!(status = run.status.as_str(), polls, "run finished");
        let metrics = &self.upstream.metrics;
        metrics
            .runs_finished
            .get_or_create(&RunStatusLabel {
                status: run.status.as_str().to_string(),
            })
            .inc();
        let created = run.created_at.as_deref().and_then(iso8601_unix_ms);
        let completed = run.completed_at.as_deref().and_then(iso8601_unix_ms);
        if let (Some(created), Some(completed), RunStatus::Succeeded) =
            (created, completed, &run.status)
        {
            let took = (completed - created) as f64;
            if took > 0.0 && took < 3_600_000.0 {
                let ema = self.run_times.learn(resolution, took);
                if let Some(shared) = self.shared.clone() {
                    let resolution = resolution.to_string();
                    tokio::spawn(async move { shared.learn(&resolution, ema).await });
                }
            }
        }
        let mut counters = locked(&self.counters);
        counters.finished += 1;
        counters.polls_of_finished += polls;
        if let Some(completed) = completed {
            let lag = (crate::clock::unix_ms() - completed).max(0) as f64;
            if lag < 3_600_000.0 {
                counters.lags_ms.push_back(lag);
                metrics.finish_lag.observe(lag / 1000.0);
                if counters.lags_ms.len() > LAGS_KEPT {
                    counters.lags_ms.pop_front();
                }
            }
        }
    }
}

/// A run this instance polls, until its poller stops (and lets the lease go).
pub(super) struct Following {
    broker: Arc<Broker>,
    id: String,
    /// Another instance took the run over.
    lost: Arc<AtomicBool>,
    keeper: Option<tokio::task::JoinHandle<()>>,
}

impl Following {
    pub(super) fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        if let Some(keeper) = self.keeper.take() {
            keeper.abort();
        }
        locked(&self.broker.following).remove(&self.id);
        if let Some(shared) = self.broker.shared.clone() {
            let id = std::mem::take(&mut self.id);
            tokio::spawn(async move { shared.drop_lease(&id).await });
        }
    }
}

/// The one scouting run of a resolution; when it stops, the waiting runs look again.
pub(super) struct Scout<'a> {
    broker: &'a Broker,
    resolution: String,
}

/// How long an instance may scout a resolution before another may.
pub(super) const SCOUT_FOR: Duration = Duration::from_secs(30);

impl Scout<'_> {
    /// Another instance scouts: nothing to let go here but the local mark.
    pub(super) fn elsewhere(self) {
        self.broker.run_times.stop_scouting(&self.resolution, false);
        std::mem::forget(self);
    }
}

impl Drop for Scout<'_> {
    fn drop(&mut self) {
        self.broker.run_times.stop_scouting(&self.resolution, true);
        if let Some(shared) = self.broker.shared.clone() {
            let resolution = std::mem::take(&mut self.resolution);
            tokio::spawn(async move { shared.drop_scout(&resolution).await });
        }
    }
}
