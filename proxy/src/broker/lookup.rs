//! Ids this instance does not know (a page resuming its runs after a reload, or an invented
//! id): fetched once, only on budget to spare, and a 404 remembered a while.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, Method, StatusCode};
use tokio::time::Instant;

use super::scheduler::Permit;
use super::{stored, Broker, Slot};
use crate::http::error::ApiError;
use crate::lock::locked;
use runbase_image::core::code::ErrorCode;

/// How long an unknown id waits for budget to spare.
pub(super) const LOOKUP_SPARE_WAIT: Duration = Duration::from_secs(20);

/// How long a 404 for an id is remembered, and for how many ids at most.
pub(super) const GONE_FOR: Duration = Duration::from_secs(600);

pub(super) const GONE_KEPT: usize = 10_000;

impl Broker {
    /// A slot from the budget to spare, if one comes within `wait`.
    pub(super) async fn spare_within(&self, wait: Duration) -> Option<Permit> {
        let until = Instant::now() + wait;
        loop {
            if let Some(permit) = self.sched.try_spare().await {
                return Some(permit);
            }
            if Instant::now() >= until {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Whether the upstream said this id is no run, lately (answered here without asking again).
    pub(super) fn known_gone(&self, id: &str) -> bool {
        locked(&self.gone)
            .get(id)
            .is_some_and(|at| at.elapsed() < GONE_FOR)
    }

    /// A run made elsewhere: one GET through the scheduler (again only after a 429).
    #[tracing::instrument(name = "lookup", skip_all, fields(run_id = %id))]
    pub(super) async fn fetch_unknown(self: Arc<Self>, id: String, host: Option<HeaderValue>) {
        locked(&self.counters).unknown_fetched += 1;
        let path = format!("/runs/{id}");
        let mut tries = 0;
        let answer = loop {
            tries += 1;
            // An id the proxy does not know may be invented: it goes upstream only on budget
            // to spare (no create or poll waiting, at most half the window in use), so it
            // never delays a create; with none for a while, the browser is told to retry.
            let Some(permit) = self.spare_within(LOOKUP_SPARE_WAIT).await else {
                break stored(
                    ApiError::new(
                        ErrorCode::ServerBusy,
                        "The proxy's API key is busy: a run this proxy does not know is looked \
                         up only when the key has budget to spare. Retry shortly.",
                    )
                    .retry_after(5),
                );
            };
            match permit
                .send(&self.upstream, Method::GET, &path, host.as_ref(), None)
                .await
            {
                Ok(answer) if answer.is_rate_limited() && tries < 3 => {}
                Ok(answer) => break answer,
                Err(error) => break stored(error),
            }
        };
        match answer.run.clone() {
            Some(run) => {
                let finished = run.status.is_finished();
                self.table
                    .insert(&id, Slot::Run(Arc::new(run)), finished, None);
                if !finished {
                    let now = Instant::now();
                    let due = Some(now + self.config.poll_interval);
                    tokio::spawn(self.clone().follow(id, now, due, "?".into(), host));
                }
            }
            None => {
                if answer.status == StatusCode::NOT_FOUND {
                    let mut gone = locked(&self.gone);
                    if gone.len() >= GONE_KEPT {
                        gone.clear();
                    }
                    gone.insert(id.clone(), Instant::now());
                }
                self.table.fail(&id, answer);
            }
        }
    }
}
