//! The run table: each run's latest state behind a `watch` channel, so a long-poll wakes on
//! a change; finished runs are kept `keep_finished`, at most `keep_max` runs in all. And
//! `GET /runs/{id}` read from it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use runbase_image::core::api::Run;
use runbase_image::core::code::ErrorCode;
use tokio::sync::watch;
use tokio::time::Instant;

use super::Broker;
use crate::http::error::ApiError;
use crate::lock::locked;
use crate::upstream::{run_response, UpstreamReply};

/// What the table holds for one run.
#[derive(Clone)]
pub(super) enum Slot {
    /// An id made elsewhere, being fetched once.
    Loading,
    Run(Arc<Run>),
    /// The fetch of an unknown id failed: every waiter gets this answer.
    Error(Arc<UpstreamReply>),
}

struct Entry {
    tx: watch::Sender<Slot>,
    /// With sign-in, the user who created the run (no one else may read it).
    owner: Option<Arc<str>>,
}

impl Entry {
    /// Whether `run` is news: the entry holds another state, or none yet.
    fn holds_other_than(&self, run: &Run) -> bool {
        match &*self.tx.borrow() {
            Slot::Run(old) => **old != *run,
            _ => true,
        }
    }
}

#[derive(Default)]
struct Runs {
    by_id: HashMap<String, Entry>,
    finished: VecDeque<(Instant, String)>,
}

impl Runs {
    fn mark_finished(&mut self, id: &str) {
        self.finished.push_back((Instant::now(), id.to_string()));
    }
}

/// The runs this instance answers for, each behind a `watch` channel.
pub(super) struct RunTable {
    runs: Mutex<Runs>,
    keep_finished: Duration,
    keep_max: usize,
}

impl RunTable {
    pub(super) fn new(keep_finished: Duration, keep_max: usize) -> Self {
        RunTable {
            runs: Mutex::new(Runs::default()),
            keep_finished,
            keep_max,
        }
    }

    pub(super) fn contains(&self, id: &str) -> bool {
        locked(&self.runs).by_id.contains_key(id)
    }

    /// The user who created a run the table holds (with sign-in).
    pub(super) fn owner(&self, id: &str) -> Option<Arc<str>> {
        locked(&self.runs).by_id.get(id)?.owner.clone()
    }

    /// A run's state and owner.
    pub(super) fn entry(&self, id: &str) -> Option<(Slot, Option<Arc<str>>)> {
        let runs = locked(&self.runs);
        let entry = runs.by_id.get(id)?;
        let slot = entry.tx.borrow().clone();
        Some((slot, entry.owner.clone()))
    }

    /// A run's state; `owner` is kept from the first insert that names one. Finished runs
    /// older than `keep_finished`, and the oldest beyond `keep_max`, make room.
    pub(super) fn insert(&self, id: &str, slot: Slot, finished: bool, owner: Option<Arc<str>>) {
        let mut runs = locked(&self.runs);
        let now = Instant::now();
        while let Some((at, old)) = runs.finished.front().cloned() {
            let too_many = runs.by_id.len() >= self.keep_max;
            if !too_many && at + self.keep_finished > now {
                break;
            }
            runs.finished.pop_front();
            runs.by_id.remove(&old);
        }
        match runs.by_id.get_mut(id) {
            Some(entry) => {
                entry.tx.send_replace(slot);
                if entry.owner.is_none() {
                    entry.owner = owner;
                }
            }
            None => {
                let (tx, _) = watch::channel(slot);
                runs.by_id.insert(id.to_string(), Entry { tx, owner });
            }
        }
        if finished {
            runs.mark_finished(id);
        }
    }

    /// A run read from the shared store, unless the table has it already.
    pub(super) fn insert_stored(&self, id: &str, run: Run, owner: Option<Arc<str>>) {
        let mut runs = locked(&self.runs);
        if runs.by_id.contains_key(id) {
            return;
        }
        let finished = run.status.is_finished();
        let (tx, _) = watch::channel(Slot::Run(Arc::new(run)));
        runs.by_id.insert(id.to_string(), Entry { tx, owner });
        if finished {
            runs.mark_finished(id);
        }
    }

    /// A new state of a run; `on_change` (the write to the shared store) runs before
    /// watchers wake, with the run's owner. `false` when the table has let the run go.
    pub(super) fn publish(
        &self,
        id: &str,
        run: Run,
        on_change: impl FnOnce(&Run, Option<&str>),
    ) -> bool {
        let finished = run.status.is_finished();
        let mut runs = locked(&self.runs);
        let Some(entry) = runs.by_id.get(id) else {
            return false;
        };
        if entry.holds_other_than(&run) {
            on_change(&run, entry.owner.as_deref());
            entry.tx.send_replace(Slot::Run(Arc::new(run)));
        }
        if finished {
            runs.mark_finished(id);
        }
        true
    }

    /// A state another instance wrote: into the table (waking watchers), not back to Redis.
    pub(super) fn apply_remote(&self, id: &str, run: Run) {
        let finished = run.status.is_finished();
        let mut runs = locked(&self.runs);
        let Some(entry) = runs.by_id.get(id) else {
            return;
        };
        if entry.holds_other_than(&run) {
            entry.tx.send_replace(Slot::Run(Arc::new(run)));
            if finished {
                runs.mark_finished(id);
            }
        }
    }

    /// Watches a run; an id the table does not hold is added as loading (`true`: the caller
    /// fetches it).
    pub(super) fn watch_or_load(&self, id: &str) -> (watch::Receiver<Slot>, bool) {
        let mut runs = locked(&self.runs);
        if let Some(entry) = runs.by_id.get(id) {
            return (entry.tx.subscribe(), false);
        }
        let (tx, rx) = watch::channel(Slot::Loading);
        runs.by_id.insert(id.to_string(), Entry { tx, owner: None });
        (rx, true)
    }

    /// The fetch of an unknown id failed: its waiters get `answer`, and the id is let go.
    pub(super) fn fail(&self, id: &str, answer: UpstreamReply) {
        if let Some(entry) = locked(&self.runs).by_id.remove(id) {
            entry.tx.send_replace(Slot::Error(Arc::new(answer)));
        }
    }

    /// Runs not finished, and how many the table holds.
    pub(super) fn counts(&self) -> (usize, usize) {
        let runs = locked(&self.runs);
        let going = runs.by_id.values().filter(|e| is_going(e)).count();
        (going, runs.by_id.len())
    }

    /// The runs not finished for which `pick` says yes.
    pub(super) fn going(&self, pick: impl Fn(&str) -> bool) -> Vec<String> {
        locked(&self.runs)
            .by_id
            .iter()
            .filter(|(id, e)| pick(id) && is_going(e))
            .map(|(id, _)| id.clone())
            .collect()
    }
}

fn is_going(entry: &Entry) -> bool {
    matches!(&*entry.tx.borrow(), Slot::Run(run) if !run.status.is_finished())
}

impl Broker {
    /// A new state of a followed run, written to the shared store too; `false` when the table
    /// has let the run go.
    pub(super) fn publish(&self, id: &str, run: Run) -> bool {
        self.table.publish(id, run, |run, owner| {
            if let Some(shared) = &self.shared {
                shared.put_run(run, None, owner, self.config.keep_finished);
            }
        })
    }

    /// `GET /runs/{id}`: from the table; an id it does not know is fetched once (and then
    /// followed if it is not finished), when `look_up` (with sign-in, a run the table no
    /// longer holds is no user's: 404). With a wait, answers when the status differs from
    /// `seen` (without `seen`: when the run is finished) or when the wait ends.
    pub async fn get(
        self: &Arc<Self>,
        id: &str,
        wait: Duration,
        seen: Option<String>,
        host: Option<HeaderValue>,
        look_up: bool,
    ) -> Response {
        let known = self.knows_anywhere(id).await;
        let gone = if self.known_gone(id) {
            Some("No run with this id (the API said so lately)")
        } else {
            (!known && !look_up).then_some("No run with this id for this user")
        };
        if let Some(message) = gone {
            return ApiError::new(ErrorCode::RunNotFound, message).into_response();
        }
        let (mut rx, unknown) = self.table.watch_or_load(id);
        if unknown {
            tokio::spawn(self.clone().fetch_unknown(id.to_string(), host));
        }
        let deadline = Instant::now() + wait;
        loop {
            let slot = rx.borrow_and_update().clone();
            match slot {
                Slot::Loading => {
                    if rx.changed().await.is_err() {
                        return ApiError::new(
                            ErrorCode::UpstreamUnreachable,
                            "The proxy could not fetch this run",
                        )
                        .into_response();
                    }
                }
                Slot::Error(answer) => return answer.as_ref().clone().into_response(),
                Slot::Run(run) => {
                    let ready = match &seen {
                        Some(seen) => run.status.as_str() != seen,
                        None => run.status.is_finished(),
                    };
                    if ready || Instant::now() >= deadline {
                        return run_response(StatusCode::OK, &run);
                    }
                    tokio::select! {
                        changed = rx.changed() => if changed.is_err() {
                            return run_response(StatusCode::OK, &run);
                        },
                        _ = tokio::time::sleep_until(deadline) => {}
                    }
                }
            }
        }
    }
}

/// The wait a browser asked for: `?wait=N` or `Prefer: wait=N`, at most `max` seconds.
pub fn requested_wait(query: Option<&str>, prefer: Option<&HeaderValue>, max: u64) -> Duration {
    let from_prefer = prefer.and_then(|v| v.to_str().ok()).and_then(|v| {
        v.split([',', ';'])
            .filter_map(|p| p.trim().strip_prefix("wait="))
            .find_map(|n| n.trim().parse::<f64>().ok())
    });
    let secs = query
        .and_then(|q| q.trim().parse::<f64>().ok())
        .or(from_prefer)
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(0.0)
        .min(max as f64);
    Duration::from_secs_f64(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits() {
        assert_eq!(
            requested_wait(Some("25"), None, 60),
            Duration::from_secs(25)
        );
        assert_eq!(
            requested_wait(Some("600"), None, 60),
            Duration::from_secs(60)
        );
        let prefer = HeaderValue::from_static("respond-async, wait=10");
        assert_eq!(
            requested_wait(None, Some(&prefer), 60),
            Duration::from_secs(10)
        );
        assert_eq!(requested_wait(Some("x"), None, 60), Duration::ZERO);
    }
}
