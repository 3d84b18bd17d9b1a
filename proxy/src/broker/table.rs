//! The run table: each run's latest state behind a `watch` channel, so a long-poll wakes on
//! a change; finished runs are kept `keep_finished`, at most `keep_max` runs in all.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use runbase_image::core::api::{ApiErrorCode, Run};
use tokio::sync::watch;
use tokio::time::Instant;

use super::{Broker, Entry, Slot};
use crate::http::error::ApiError;
use crate::lock::locked;
use crate::upstream::run_response;

impl Broker {
    /// A run's state; `owner` is kept from the first insert that names one.
    pub(super) fn insert(&self, id: &str, slot: Slot, finished: bool, owner: Option<Arc<str>>) {
        let mut table = locked(&self.table);
        let now = Instant::now();
        while let Some((at, old)) = table.finished.front().cloned() {
            let too_many = table.runs.len() >= self.config.keep_max;
            if !too_many && at + self.config.keep_finished > now {
                break;
            }
            table.finished.pop_front();
            table.runs.remove(&old);
        }
        match table.runs.get_mut(id) {
            Some(entry) => {
                entry.tx.send_replace(slot);
                if entry.owner.is_none() {
                    entry.owner = owner;
                }
            }
            None => {
                let (tx, _) = watch::channel(slot);
                table.runs.insert(id.to_string(), Entry { tx, owner });
            }
        }
        if finished {
            table.finished.push_back((now, id.to_string()));
        }
    }

    /// A new state of a followed run; `false` when the table has let the run go.
    pub(super) fn publish(&self, id: &str, run: Run) -> bool {
        let finished = run.status.is_finished();
        let mut table = locked(&self.table);
        let Some(entry) = table.runs.get(id) else {
            return false;
        };
        let changed = match &*entry.tx.borrow() {
            Slot::Run(old) => **old != run,
            _ => true,
        };
        if changed {
            if let Some(shared) = &self.shared {
                let owner = entry.owner.as_deref();
                shared.put_run(&run, None, owner, self.config.keep_finished);
            }
            entry.tx.send_replace(Slot::Run(Arc::new(run)));
        }
        if finished {
            table.finished.push_back((Instant::now(), id.to_string()));
        }
        true
    }

    /// A state another instance wrote: into the table (waking watchers), not back to Redis.
    pub(super) fn apply_remote(&self, id: &str, run: Run) {
        let finished = run.status.is_finished();
        let mut table = locked(&self.table);
        let Some(entry) = table.runs.get(id) else {
            return;
        };
        let changed = match &*entry.tx.borrow() {
            Slot::Run(old) => **old != run,
            _ => true,
        };
        if changed {
            entry.tx.send_replace(Slot::Run(Arc::new(run)));
            if finished {
                table.finished.push_back((Instant::now(), id.to_string()));
            }
        }
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
            return ApiError::new(StatusCode::NOT_FOUND, ApiErrorCode::RunNotFound, message)
                .into_response();
        }
        let mut rx = {
            let mut table = locked(&self.table);
            match table.runs.get(id) {
                Some(entry) => entry.tx.subscribe(),
                None => {
                    let (tx, rx) = watch::channel(Slot::Loading);
                    let owner = None;
                    table.runs.insert(id.to_string(), Entry { tx, owner });
                    tokio::spawn(self.clone().fetch_unknown(id.to_string(), host));
                    rx
                }
            }
        };
        let deadline = Instant::now() + wait;
        loop {
            let slot = rx.borrow_and_update().clone();
            match slot {
                Slot::Loading => {
                    if rx.changed().await.is_err() {
                        return ApiError::new(
                            StatusCode::BAD_GATEWAY,
                            "upstream_unreachable",
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
