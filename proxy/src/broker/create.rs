//! The create queue: bounded in length and wait, round-robin between client addresses (with
//! Redis, one queue for every instance); a create runs in a task of its own, so a browser that
//! goes away cannot lose a run the API has made. What is settled once a create has gone
//! upstream is the gateway's `sent`, for the broker and pass-through alike.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use runbase_image::core::api::Run;
use runbase_image::core::gateway::Refusal;
use tokio::time::Instant;

use super::scheduler::{Class, Permit};
use super::{Broker, Slot};
use crate::auth::Caller;
use crate::clock::unix_ms;
use crate::gateway::{sent, AdmittedCreate};
use crate::http::error::ApiError;
use crate::spend::{self, Hold, Upshot};
use crate::store::{Meta, Shared, StoreError};
use runbase_image::core::code::ErrorCode;
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

    /// `POST /runs` (already checked): queued for a slot of the key's window, then created
    /// upstream in a task of its own, so a browser that goes away cannot lose a run the API
    /// has made. A 429 from upstream (someone else uses the key) is tried again while the
    /// queue's wait allows.
    pub async fn create(self: &Arc<Self>, create: AdmittedCreate) -> Response {
        let AdmittedCreate {
            caller,
            body,
            resolution,
            mut hold,
            host,
            body_reserved: _body_reserved,
        } = create;
        let deadline = Instant::now() + self.config.queue_wait;
        let refused = 'refused: {
            if self.sched.queue_full(self.config.queue_max) {
                break 'refused self.overloaded();
            }
            loop {
                let permit = match self.wait_for_slot(&caller, deadline).await {
                    Ok(permit) => permit,
                    Err(refused) => break 'refused refused,
                };
                let attempt = self.clone().send_create(
                    permit,
                    body.clone(),
                    resolution,
                    host.clone(),
                    hold.take(),
                    caller.user().cloned(),
                );
                // In the request's span, which the run's id is recorded in.
                match tokio::spawn(attempt.in_current_span()).await {
                    Ok(Attempt::Answered(response)) => return response,
                    Ok(Attempt::RateLimited(returned)) => hold = returned,
                    Err(_) => {
                        return ApiError::new(
                            ErrorCode::InternalError,
                            "The proxy failed while creating the run",
                        )
                        .into_response()
                    }
                }
                if Instant::now() >= deadline {
                    break 'refused self.overloaded();
                }
            }
        };
        spend::settle(hold, Upshot::NotSent).await;
        refused
    }

    /// A slot of the key's window for a create, in turn with the other clients' creates; the
    /// proxy's own answer when the queue is full or the wait runs out (the create then leaves
    /// the shared queue).
    async fn wait_for_slot(&self, caller: &Caller, deadline: Instant) -> Result<Permit, Response> {
        let queued = self.enqueue(caller, deadline).await?;
        let in_queue = InSharedQueue(self.shared.clone().zip(queued.clone()));
        let acquire = self.sched.acquire(Class::Create(caller.clone(), queued));
        match tokio::time::timeout_at(deadline, acquire).await {
            Ok(permit) => {
                in_queue.granted();
                Ok(permit)
            }
            Err(_) => Err(self.overloaded()),
        }
    }

    /// One try of a create on a granted slot; a run made is followed from here on.
    async fn send_create(
        self: Arc<Self>,
        permit: Permit,
        body: Bytes,
        resolution: &'static str,
        host: Option<HeaderValue>,
        hold: Option<Hold>,
        owner: Option<Arc<str>>,
    ) -> Attempt {
        let started = Instant::now();
        let result = permit
            .send(
                &self.upstream,
                Method::POST,
                "/runs",
                host.as_ref(),
                Some(body),
            )
            .await;
        if matches!(&result, Ok(answer) if answer.is_rate_limited()) {
            return Attempt::RateLimited(hold);
        }
        sent(&self.upstream, hold, &result).await;
        match result {
            Ok(answer) => {
                if let Some(run) = &answer.run {
                    self.follow_new(run.clone(), started, resolution, host, owner)
                        .await;
                }
                Attempt::Answered(answer.into_response())
            }
            Err(error) => Attempt::Answered(error.into_response()),
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
            ApiError::from(Refusal::shared_state_unavailable(
                "start new runs without risking the key's budget (runs already started go on)",
            ))
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
        self.table
            .insert(&id, Slot::Run(Arc::new(run)), finished, owner);
        if !finished {
            tokio::spawn(
                self.clone()
                    .follow(id, started, None, resolution.to_string(), host),
            );
        }
    }
}

/// What one try of a create came to.
enum Attempt {
    /// An answer for the browser: the run, the API's error, or no answer.
    Answered(Response),
    /// Refused upstream for the key's rate: the scheduler now pauses everyone; the spend
    /// held comes back for the next try.
    RateLimited(Option<Hold>),
}

/// A create's place in the shared queue, given up when dropped before its slot is granted.
struct InSharedQueue(Option<(Arc<Shared>, String)>);

impl InSharedQueue {
    /// The slot is granted: the scheduler has taken the place out of the queue already.
    fn granted(mut self) {
        self.0 = None;
    }
}

impl Drop for InSharedQueue {
    fn drop(&mut self) {
        if let Some((shared, member)) = self.0.take() {
            tokio::spawn(async move { shared.dequeue(&member).await });
        }
    }
}
