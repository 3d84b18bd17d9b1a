//! The scheduler with `--redis`: slots granted through the window every instance shares,
//! and this instance's own slots written back when Redis returns.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{next_waiter, Scheduler, Waiter};
use crate::store::{Shared, Take, Want};

impl Scheduler {
    /// This instance's slots still counting, as (how long each still counts, member), for
    /// writing back into the shared window.
    pub(super) fn own_slots(&self) -> Vec<(Duration, String)> {
        let Some(shared) = &self.shared else {
            return Vec::new();
        };
        let now = Instant::now();
        let state = self.lock();
        let answered = state
            .done
            .times()
            .map(|t| (self.instant(t) + self.limits.hold()).saturating_duration_since(now));
        let in_flight = std::iter::repeat_n(self.limits.in_flight, state.inflight);
        answered
            .chain(in_flight)
            .map(|d| (d, shared.member()))
            .collect()
    }

    /// Grants through the shared window, one waiter at a time; `Some(t)`: look again then.
    pub(super) async fn dispatch_shared(
        self: &Arc<Self>,
        shared: &Shared,
        held: &mut Option<Waiter>,
    ) -> Option<Instant> {
        loop {
            let now = Instant::now();
            if held.is_none() {
                let mut state = self.lock();
                self.prune(&mut state, now);
                if let Some(until) = state.paused_until.filter(|t| *t > now) {
                    return Some(until);
                }
                *held = next_waiter(&mut state, now, self.limits.starve);
            }
            let waiter = held.as_ref()?;
            if waiter.tx.is_closed() {
                if let Some((_, Some(queued))) = held.take().and_then(|w| w.create) {
                    shared.dequeue(&queued).await;
                }
                continue;
            }
            let want = match &waiter.create {
                Some((_, queued)) => Want::Create(queued.as_deref()),
                None => Want::Poll {
                    urgent: now.saturating_duration_since(waiter.since) >= self.limits.starve,
                },
            };
            match shared
                .take(self.limits.requests, self.limits.in_flight, want)
                .await
            {
                Ok(Take::Granted(member)) => {
                    if let Some(waiter) = held.take() {
                        let mut state = self.lock();
                        self.grant(&mut state, waiter, Some(member));
                    }
                }
                // Freed slots are not announced: look again soon.
                Ok(Take::Wait(wait)) => {
                    return Some(Instant::now() + wait.min(Duration::from_millis(100)))
                }
                // Redis is away: the next round grants alone (see `Shared::budget`).
                Err(_) => return Some(Instant::now() + Duration::from_millis(50)),
            }
        }
    }
}
