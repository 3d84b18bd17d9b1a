//! A granted slot of the key's window, the one request sent on it, and how its answer settles
//! it: a 429 pauses everyone, anything else frees the slot as answered, dropping it counts it
//! answered now.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderValue, Method};
use runbase_image::core::policy::{rate_limit_backoff_ms, Settings};
use tokio::time::Instant;

use super::Scheduler;
use crate::http::error::ApiError;
use crate::store::clamp_pause_ms;
use crate::upstream::{Upstream, UpstreamReply};

/// A granted slot; dropping it marks the request answered (now).
pub struct Permit {
    pub(super) sched: Arc<Scheduler>,
    pub(super) armed: bool,
    /// The slot's member in the shared window.
    pub(super) member: Option<String>,
    /// Answered with something other than a 429 (clears the shared strikes).
    pub(super) answered: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.armed {
            {
                let mut state = self.sched.lock();
                state.inflight = state.inflight.saturating_sub(1);
                let now = self.sched.ms(Instant::now());
                state.done.record(now);
            }
            self.sched.wake.notify_one();
        }
        if let (Some(member), Some(shared)) = (self.member.take(), self.sched.shared.clone()) {
            let (hold, answered) = (self.sched.limits.hold(), self.answered);
            spawn(async move { shared.release(&member, hold, answered).await });
        }
    }
}

/// Spawns on the runtime if there is one (a permit may be dropped while shutting down).
pub(super) fn spawn(task: impl std::future::Future<Output = ()> + Send + 'static) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(task);
    }
}

impl Permit {
    pub(super) fn new(sched: &Arc<Scheduler>, member: Option<String>) -> Permit {
        Permit {
            sched: sched.clone(),
            armed: true,
            member,
            answered: false,
        }
    }

    /// One upstream request on this slot, which its answer settles: a 429 pauses everyone,
    /// anything else frees the slot as answered, no answer frees it now.
    pub async fn send(
        self,
        upstream: &Upstream,
        method: Method,
        path: &str,
        host: Option<&HeaderValue>,
        body: Option<Bytes>,
    ) -> Result<UpstreamReply, ApiError> {
        let result = upstream.call(method, path, host, body).await;
        match &result {
            Ok(answer) if answer.is_rate_limited() => self.rate_limited(answer.retry_after_ms()),
            Ok(_) => self.answered(),
            Err(_) => drop(self),
        }
        result
    }

    /// The upstream answered 429 RATE_LIMITED: pause everyone.
    pub fn rate_limited(self, retry_after_ms: Option<u64>) {
        let sched = self.sched.clone();
        drop(self);
        if let Some(shared) = sched.shared.clone() {
            spawn(async move { shared.pause(retry_after_ms).await });
        }
        {
            let mut state = sched.lock();
            state.strikes += 1;
            state.rate_limited += 1;
            // The pause the docs advise after a 429 without Retry-After, as the client and the
            // shared pause (pause.lua) take it: 1, 2, 4 … s, capped; one pause for everyone,
            // so no jitter.
            let backoff = clamp_pause_ms(retry_after_ms.unwrap_or_else(|| {
                rate_limit_backoff_ms(&Settings::default(), state.strikes - 1, 0.0) as u64
            }));
            tracing::warn!(
                "upstream 429: the key's requests pause for {backoff} ms (Retry-After: {retry_after_ms:?} ms)"
            );
            let until = Instant::now() + Duration::from_millis(backoff);
            state.paused_until = Some(state.paused_until.map_or(until, |t| t.max(until)));
        }
        sched.wake.notify_one();
    }

    /// The upstream answered something else: the key is not limited any more.
    pub fn answered(mut self) {
        self.answered = true;
        let sched = self.sched.clone();
        drop(self);
        sched.lock().strikes = 0;
    }
}
