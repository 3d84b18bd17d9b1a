//! The key's one scheduler: every upstream request of the broker waits here for a slot in the
//! key's window. A request occupies a slot from the moment it is granted until `window +
//! margin` after its answer came back (the API counts arrivals, which happen before the
//! answer), so the proxy alone can never exceed the documented limit. Creates go first, fair
//! between callers (client addresses, or users with sign-in; round-robin); polls in the order they fell due, and a poll that
//! has waited `starve` goes before any create, so no run is starved. An upstream 429 (someone
//! else uses the key) pauses every request: `Retry-After` when sent, else 1, 2, 4 … 30 s (capped).
//! With `--redis` the window is the one all instances share ([`Shared`]): the local queues
//! still choose which request goes next, Redis decides when.

use std::collections::{HashMap, VecDeque};

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

use runbase_image::core::window::SlidingWindow;

use crate::auth::Caller;
use crate::store::{GrantMode, Shared, Take, Want};

mod permit;
mod shared;

use permit::spawn;
pub use permit::Permit;

#[derive(Clone, Copy, Debug)]
pub struct KeyLimits {
    /// Requests the scheduler may use per window (the documented limit minus the spare).
    pub requests: usize,
    pub window: Duration,
    pub margin: Duration,
    /// A poll that has waited this long goes before creates.
    pub starve: Duration,
    /// How long a slot counts while its request is in flight (the upstream time-out and
    /// `hold`), in the shared window: a dead instance's slots then expire by themselves.
    pub in_flight: Duration,
}

impl KeyLimits {
    /// How long a slot stays taken after its answer.
    pub fn hold(&self) -> Duration {
        self.window + self.margin
    }

    /// Seconds between two slots when the key is busy.
    pub fn secs_per_request(&self) -> f64 {
        self.hold().as_secs_f64() / self.requests.max(1) as f64
    }
}

pub enum Class {
    /// A create from this caller, with its member in the shared queue (`--redis`).
    Create(Caller, Option<String>),
    Poll,
}

struct Waiter {
    since: Instant,
    tx: oneshot::Sender<Permit>,
    /// `Some` for a create: its client, and its member in the shared queue.
    create: Option<(Caller, Option<String>)>,
}

struct State {
    /// When each finished request's answer came back (ms since `epoch`): its slot counts
    /// until `hold` after that. The core's sliding window, as the client's budget is.
    done: SlidingWindow,
    inflight: usize,
    /// When each request was granted, for the last `window` (stats).
    granted: SlidingWindow,
    granted_total: u64,
    paused_until: Option<Instant>,
    strikes: u32,
    rate_limited: u64,
    creates: HashMap<Caller, VecDeque<Waiter>>,
    rotation: VecDeque<Caller>,
    polls: VecDeque<Waiter>,
}

pub struct Scheduler {
    pub limits: KeyLimits,
    shared: Option<Arc<Shared>>,
    state: Mutex<State>,
    wake: Notify,
    epoch: Instant,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    pub in_window: usize,
    pub granted_total: u64,
    pub inflight: usize,
    pub creates_waiting: usize,
    pub polls_waiting: usize,
    pub paused_ms: u64,
    pub rate_limited: u64,
}

impl Scheduler {
    pub fn new(limits: KeyLimits, shared: Option<Arc<Shared>>) -> Arc<Self> {
        let sched = Arc::new(Scheduler {
            limits,
            shared,
            state: Mutex::new(State {
                done: SlidingWindow::new(limits.requests, limits.hold().as_secs_f64() * 1000.0),
                inflight: 0,
                granted: SlidingWindow::new(limits.requests, limits.window.as_secs_f64() * 1000.0),
                granted_total: 0,
                paused_until: None,
                strikes: 0,
                rate_limited: 0,
                creates: HashMap::new(),
                rotation: VecDeque::new(),
                polls: VecDeque::new(),
            }),
            epoch: Instant::now(),
            wake: Notify::new(),
        });
        let runner = sched.clone();
        tokio::spawn(async move {
            // A waiter taken from the queues while Redis is asked for its slot.
            let mut held: Option<Waiter> = None;
            loop {
                let wake = runner.wake.notified();
                let next = match (runner.budget(), &runner.shared) {
                    (GrantMode::Shared, Some(shared)) => {
                        runner.dispatch_shared(shared, &mut held).await
                    }
                    (GrantMode::Alone { limit, record }, shared) => {
                        if let Some(waiter) = held.take() {
                            runner.requeue(waiter);
                        }
                        if let (true, Some(shared)) = (record, shared) {
                            if shared.take_replay_due() {
                                shared.record(&runner.own_slots()).await;
                            }
                        }
                        runner.dispatch(limit, record)
                    }
                    (GrantMode::Shared, None) => None,
                };
                match next {
                    Some(at) => {
                        tokio::select! { _ = tokio::time::sleep_until(at) => {}, _ = wake => {} }
                    }
                    None => wake.await,
                }
            }
        });
        sched
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::lock::locked(&self.state)
    }

    /// A time as the windows count it: milliseconds since the scheduler began.
    fn ms(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.epoch).as_secs_f64() * 1000.0
    }

    fn instant(&self, ms: f64) -> Instant {
        self.epoch + Duration::from_secs_f64(ms.max(0.0) / 1000.0)
    }

    fn budget(&self) -> GrantMode {
        match &self.shared {
            Some(shared) => shared.budget(self.limits.requests, self.limits.hold()),
            None => GrantMode::Alone {
                limit: self.limits.requests,
                record: false,
            },
        }
    }

    /// Puts a waiter back at the front of its queue.
    fn requeue(&self, waiter: Waiter) {
        let mut state = self.lock();
        match &waiter.create {
            Some((caller, _)) => {
                let caller = caller.clone();
                let queue = state.creates.entry(caller.clone()).or_default();
                queue.push_front(waiter);
                if queue.len() == 1 {
                    state.rotation.push_front(caller);
                }
            }
            None => state.polls.push_front(waiter),
        }
    }

    /// Hands a granted slot to its waiter; a waiter gone meanwhile gives it back at once.
    fn grant(self: &Arc<Self>, state: &mut State, waiter: Waiter, member: Option<String>) {
        let now = Instant::now();
        state.inflight += 1;
        match waiter.tx.send(Permit::new(self, member)) {
            Ok(()) => {
                state.granted.record(self.ms(now));
                state.granted_total += 1;
            }
            Err(mut permit) => {
                permit.armed = false;
                state.inflight -= 1;
                // Nothing was sent: the slot stops counting now.
                if let (Some(member), Some(shared)) = (permit.member.take(), self.shared.clone()) {
                    spawn(async move { shared.release(&member, Duration::ZERO, false).await });
                }
            }
        }
    }

    /// Forgets what has left the windows.
    fn prune(&self, state: &mut State, now: Instant) {
        let now = self.ms(now);
        state.done.count(now);
        state.granted.count(now);
    }

    /// Waits for a slot. Creates that cannot wait are the caller's to time out (dropping the
    /// future leaves the queue).
    pub async fn acquire(self: &Arc<Self>, class: Class) -> Permit {
        let (tx, rx) = oneshot::channel();
        let mut waiter = Waiter {
            since: Instant::now(),
            tx,
            create: None,
        };
        {
            let mut state = self.lock();
            match class {
                Class::Poll => state.polls.push_back(waiter),
                Class::Create(caller, queued) => {
                    waiter.create = Some((caller.clone(), queued));
                    let queue = state.creates.entry(caller.clone()).or_default();
                    queue.push_back(waiter);
                    if queue.len() == 1 {
                        state.rotation.push_back(caller);
                    }
                }
            }
        }
        self.wake.notify_one();
        match rx.await {
            Ok(permit) => permit,
            // The scheduler is gone (shutdown): a permit that counts for nothing.
            Err(_) => {
                let mut permit = Permit::new(self, None);
                permit.armed = false;
                permit
            }
        }
    }

    /// A slot now, only if the key is idle enough to spare one: nothing waiting, not paused,
    /// and at most half the window in use. For requests that help people but are not needed
    /// (a run's progress), so they never delay a create or a due poll.
    /// With `--redis`, the shared window must be at most half used.
    pub async fn try_spare(self: &Arc<Self>) -> Option<Permit> {
        let now = Instant::now();
        {
            let mut state = self.lock();
            self.prune(&mut state, now);
            let busy = state.inflight + state.done.len();
            let waiting = !state.polls.is_empty() || state.creates.values().any(|q| !q.is_empty());
            if waiting
                || state.paused_until.is_some_and(|t| t > now)
                || busy * 2 >= self.limits.requests
            {
                return None;
            }
        }
        let member = match (self.budget(), &self.shared) {
            (GrantMode::Shared, Some(shared)) => {
                let half = self.limits.requests / 2;
                match shared.take(half, self.limits.in_flight, Want::Spare).await {
                    Ok(Take::Granted(member)) => Some(member),
                    _ => return None,
                }
            }
            (GrantMode::Alone { limit, .. }, _) if limit < self.limits.requests => return None,
            _ => None,
        };
        let mut state = self.lock();
        state.inflight += 1;
        state.granted.record(self.ms(now));
        state.granted_total += 1;
        Some(Permit::new(self, member))
    }

    /// Whether a create arriving now finds the queue full: more creates waiting (closed
    /// waiters left out) than `max` beyond the slots free in the local window (a burst that
    /// the window takes at once does not count as a queue).
    pub fn queue_full(&self, max: usize) -> bool {
        let free = {
            let mut state = self.lock();
            self.prune(&mut state, Instant::now());
            self.limits
                .requests
                .saturating_sub(state.inflight + state.done.len())
        };
        self.creates_waiting() >= max + free
    }

    /// Creates waiting now (closed waiters left out).
    pub fn creates_waiting(&self) -> usize {
        let state = self.lock();
        state
            .creates
            .values()
            .flatten()
            .filter(|w| !w.tx.is_closed())
            .count()
    }

    /// Grants every slot free now within `limit` slots per window (written to the shared
    /// window too when `record`); `Some(t)` is when to look again.
    fn dispatch(self: &Arc<Self>, limit: usize, record: bool) -> Option<Instant> {
        let mut recorded = Vec::new();
        let next = self.dispatch_alone(limit, record.then_some(&mut recorded));
        if let (false, Some(shared)) = (recorded.is_empty(), self.shared.clone()) {
            spawn(async move { shared.record(&recorded).await });
        }
        next
    }

    fn dispatch_alone(
        self: &Arc<Self>,
        limit: usize,
        mut recorded: Option<&mut Vec<(Duration, String)>>,
    ) -> Option<Instant> {
        let limits = self.limits;
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            self.prune(&mut state, now);
            if let Some(until) = state.paused_until {
                if until > now {
                    return Some(until);
                }
                state.paused_until = None;
            }
            if state.inflight + state.done.len() >= limit {
                // A slot frees when the oldest answer leaves the window, or when one in
                // flight is answered (which wakes us); with no slot at all (Redis away),
                // look again soon.
                let soon = (limit == 0).then_some(now + Duration::from_millis(250));
                let oldest_leaves = state.done.oldest().map(|t| self.instant(t) + limits.hold());
                return oldest_leaves.or(soon);
            }
            let waiter = next_waiter(&mut state, now, limits.starve)?;
            if waiter.tx.is_closed() {
                continue;
            }
            let member = match (&mut recorded, &self.shared) {
                (Some(recorded), Some(shared)) => {
                    let member = shared.member();
                    recorded.push((limits.in_flight, member.clone()));
                    Some(member)
                }
                _ => None,
            };
            self.grant(&mut state, waiter, member);
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let now = Instant::now();
        let mut state = self.lock();
        Snapshot {
            in_window: state.granted.count(self.ms(now)),
            granted_total: state.granted_total,
            inflight: state.inflight,
            creates_waiting: state
                .creates
                .values()
                .flatten()
                .filter(|w| !w.tx.is_closed())
                .count(),
            polls_waiting: state.polls.len(),
            paused_ms: state
                .paused_until
                .map_or(0, |t| t.saturating_duration_since(now).as_millis() as u64),
            rate_limited: state.rate_limited,
        }
    }
}

/// Creates first (round-robin over callers), then polls oldest first; a poll that has
/// waited `starve` goes before the creates.
fn next_waiter(state: &mut State, now: Instant, starve: Duration) -> Option<Waiter> {
    while state.polls.front().is_some_and(|w| w.tx.is_closed()) {
        state.polls.pop_front();
    }
    if state
        .polls
        .front()
        .is_some_and(|w| now.saturating_duration_since(w.since) >= starve)
    {
        return state.polls.pop_front();
    }
    while let Some(caller) = state.rotation.pop_front() {
        let Some(queue) = state.creates.get_mut(&caller) else {
            continue;
        };
        while queue.front().is_some_and(|w| w.tx.is_closed()) {
            queue.pop_front();
        }
        let Some(waiter) = queue.pop_front() else {
            state.creates.remove(&caller);
            continue;
        };
        if queue.is_empty() {
            state.creates.remove(&caller);
        } else {
            state.rotation.push_back(caller);
        }
        return Some(waiter);
    }
    state.polls.pop_front()
}
