//! The create queue: bounded in length and wait, round-robin between client addresses (with
//! Redis, one queue for every instance); a create runs in a task of its own, so a browser that
//! goes away cannot lose a run the API has made.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use runbase_image::core::api::Run;
use runbase_image::core::gateway::Refusal;
use tokio::time::Instant;

use super::scheduler::Class;
use super::{Broker, Slot};
use crate::auth::Caller;
use crate::clock::unix_ms;
use crate::http::error::ApiError;
use crate::http::trace::record_run_id;
use crate::spend::Hold;
use crate::store::{Meta, Shared, StoreError};
use tracing::Instrument;

impl Broker {
    /// The proxy's own 429: the queue is full or the wait too long.
    pub(super) fn overloaded(&self) -> Response {
        self.upstream.metrics.creates_refused.inc();
        let waiting = self.sched.creates_waiting();
        // Every run costs at least a create and a poll: the key serves one create per two
        // slots, and the queue ahead goes first.
        let secs = ((waiting + 1) as f64 * 2.0 * self.sched.limits.secs_per_request()).ceil();
        ApiError::from(Refusal::key_busy(waiting, secs * 1000.0)).into_response()
    }

    /// `POST /runs` (already checked): queued, then created upstream in a task of its own so a
    /// browser that goes away cannot lose a run the API has made.
    pub async fn create(
        self: &Arc<Self>,
        client: Caller,
        body: Bytes,
        resolution: &'static str,
        host: Option<HeaderValue>,
        spend: Option<Hold>,
    ) -> Response {
        // The spend guard's reservation is settled with what the API charged, in the task
        // that creates (a browser gone meanwhile must not skip it); no run made, given back.
        let mut spend = spend;
        let give_back = |spend: Option<Hold>| {
            if let Some(hold) = spend {
                tokio::spawn(hold.settle(None));
            }
        };
        if self.sched.queue_full(self.config.queue_max) {
            give_back(spend);
            return self.overloaded();
        }
        let deadline = Instant::now() + self.config.queue_wait;
        loop {
            let queued = match self.enqueue(&client, deadline).await {
                Ok(queued) => queued,
                Err(response) => {
                    give_back(spend);
                    return response;
                }
            };
            // Leaves the shared queue if this create is abandoned (timed out, or the browser
            // went away) before its slot; a granted slot has taken it out already.
            let in_queue = InSharedQueue(self.shared.clone().zip(queued.clone()));
            let acquire = self.sched.acquire(Class::Create(client.clone(), queued));
            let Ok(permit) = tokio::time::timeout_at(deadline, acquire).await else {
                drop(in_queue);
                give_back(spend);
                return self.overloaded();
            };
            let mut in_queue = in_queue;
            in_queue.0 = None;
            let broker = self.clone();
            let (body, host, hold) = (body.clone(), host.clone(), spend.take());
            let owner = client.user().cloned();
            // In the request's span, which the run's id is recorded in.
            let task = tokio::spawn(
                async move {
                    let started = Instant::now();
                    let result = broker
                        .send(permit, Method::POST, "/runs", host.as_ref(), Some(body))
                        .await;
                    match result {
                        Ok(answer) if answer.is_rate_limited() => (None, hold),
                        Ok(answer) => {
                            let charged = answer.run.as_ref().map(|run| run.cost_micro_usd);
                            if let Some(hold) = hold {
                                // A run without `costUsd` keeps its reserved price.
                                hold.settle_run(charged).await;
                            }
                            if let Some(run) = &answer.run {
                                record_run_id(&run.id);
                                broker
                                    .follow_new(run.clone(), started, resolution, host, owner)
                                    .await;
                            }
                            (Some(answer.into_response()), None)
                        }
                        // Unanswered: a run may have been made; the reservation stays counted.
                        Err(error) => {
                            if let Some(hold) = hold {
                                hold.keep();
                            }
                            (Some(error.into_response()), None)
                        }
                    }
                }
                .in_current_span(),
            );
            match task.await {
                Ok((Some(response), _)) => return response,
                // Refused upstream for the key's rate (someone else uses the key): the
                // scheduler now pauses everyone; try again while the wait allows.
                Ok((None, hold)) if Instant::now() < deadline => {
                    spend = hold;
                    continue;
                }
                Ok((None, hold)) => {
                    give_back(hold);
                    return self.overloaded();
                }
                Err(_) => {
                    return ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal_error",
                        "The proxy failed while creating the run",
                    )
                    .into_response()
                }
            }
        }
    }

    /// With `--redis`: a place in the shared create queue, or the answer when there is none
    /// (Redis away: 503; the queue full: the proxy's 429).
    pub(super) async fn enqueue(
        &self,
        client: &Caller,
        deadline: Instant,
    ) -> Result<Option<String>, Response> {
        let Some(shared) = &self.shared else {
            return Ok(None);
        };
        let unavailable = || {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SHARED_STATE_UNAVAILABLE",
                "The proxy cannot reach its shared state (Redis), so it cannot start new runs \
                 without risking the key's budget; runs already started go on. Retry shortly.",
            )
            .retry_after(5)
            .into_response()
        };
        if !shared.is_up() {
            return Err(unavailable());
        }
        // Each client's creates are spaced by two slots in the shared queue's virtual time.
        let step = Duration::from_secs_f64(2.0 * self.sched.limits.secs_per_request());
        let wait = deadline.saturating_duration_since(Instant::now());
        match shared
            .enqueue(
                &client.to_string(),
                self.config.queue_max,
                self.sched.limits.requests,
                wait,
                step,
            )
            .await
        {
            Ok(member) => Ok(Some(member)),
            Err(StoreError::QueueFull(_)) => Err(self.overloaded()),
            Err(_) => Err(unavailable()),
        }
    }

    pub(super) async fn follow_new(
        self: &Arc<Self>,
        run: Run,
        started: Instant,
        resolution: &'static str,
        host: Option<HeaderValue>,
        owner: Option<Arc<str>>,
    ) {
        self.upstream.metrics.created(run.cost_micro_usd);
        if let Some(user) = &owner {
            self.count_for_user(user, run.cost_micro_usd);
        }
        let id = run.id.clone();
        let finished = run.status.is_finished();
        if let Some(shared) = &self.shared {
            let started_unix_ms = unix_ms() - started.elapsed().as_millis() as i64;
            let meta = Meta {
                resolution: resolution.to_string(),
                started_unix_ms,
                host: host
                    .as_ref()
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_string),
            };
            shared
                .put_new_run(&run, &meta, owner.as_deref(), self.config.keep_finished)
                .await;
        }
        self.insert(&id, Slot::Run(Arc::new(run)), finished, owner);
        if !finished {
            tokio::spawn(
                self.clone()
                    .follow(id, started, None, resolution.to_string(), host),
            );
        }
    }
}

/// A create's place in the shared queue, given up when dropped.
pub(super) struct InSharedQueue(Option<(Arc<Shared>, String)>);

impl Drop for InSharedQueue {
    fn drop(&mut self) {
        if let Some((shared, member)) = self.0.take() {
            tokio::spawn(async move { shared.dequeue(&member).await });
        }
    }
}
