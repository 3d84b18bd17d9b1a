//! The key's one scheduler: every upstream request of the broker waits here for a slot in the
//! key's window. A request occupies a slot from the moment it is granted until `window +
//! margin` after its answer came back (the API counts arrivals, which happen before the
//! answer), so the proxy alone can never exceed the documented limit. Creates go first, fair
//! between client addresses (round-robin); polls in the order they fell due, and a poll that
//! has waited `starve` goes before any create, so no run is starved. An upstream 429 (someone
//! else uses the key) pauses every request: `Retry-After` when sent, else 1, 2, 4 … 32 s.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Requests the scheduler may use per window (the documented limit minus the spare).
    pub requests: usize,
    pub window: Duration,
    pub margin: Duration,
    /// A poll that has waited this long goes before creates.
    pub starve: Duration,
}

impl Limits {
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
    Create(IpAddr),
    Poll,
}

struct Waiter {
    since: Instant,
    tx: oneshot::Sender<Permit>,
}

#[derive(Default)]
struct State {
    /// When each finished request's answer came back, for `hold`.
    done: VecDeque<Instant>,
    inflight: usize,
    /// When each request was granted, for the last `window` (stats).
    granted: VecDeque<Instant>,
    granted_total: u64,
    paused_until: Option<Instant>,
    strikes: u32,
    rate_limited: u64,
    creates: HashMap<IpAddr, VecDeque<Waiter>>,
    rotation: VecDeque<IpAddr>,
    polls: VecDeque<Waiter>,
}

pub struct Scheduler {
    pub limits: Limits,
    state: Mutex<State>,
    wake: Notify,
}

/// A granted slot; dropping it marks the request answered (now).
pub struct Permit {
    sched: Arc<Scheduler>,
    armed: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.armed {
            {
                let mut state = self.sched.lock();
                state.inflight = state.inflight.saturating_sub(1);
                state.done.push_back(Instant::now());
            }
            self.sched.wake.notify_one();
        }
    }
}

impl Permit {
    /// The upstream answered 429 RATE_LIMITED: pause everyone.
    pub fn rate_limited(self, retry_after_secs: Option<u64>) {
        let sched = self.sched.clone();
        drop(self);
        {
            let mut state = sched.lock();
            state.strikes += 1;
            state.rate_limited += 1;
            let backoff = retry_after_secs
                .unwrap_or(1 << (state.strikes - 1).min(5))
                .clamp(1, 300);
            let until = Instant::now() + Duration::from_secs(backoff);
            state.paused_until = Some(state.paused_until.map_or(until, |t| t.max(until)));
        }
        sched.wake.notify_one();
    }

    /// The upstream answered something else: the key is not limited any more.
    pub fn answered(self) {
        let sched = self.sched.clone();
        drop(self);
        sched.lock().strikes = 0;
    }
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
    pub fn new(limits: Limits) -> Arc<Self> {
        let sched = Arc::new(Scheduler {
            limits,
            state: Mutex::new(State::default()),
            wake: Notify::new(),
        });
        let runner = sched.clone();
        tokio::spawn(async move {
            loop {
                let next = runner.dispatch();
                let wake = runner.wake.notified();
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
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a slot. Creates that cannot wait are the caller's to time out (dropping the
    /// future leaves the queue).
    pub async fn acquire(self: &Arc<Self>, class: Class) -> Permit {
        let (tx, rx) = oneshot::channel();
        let waiter = Waiter {
            since: Instant::now(),
            tx,
        };
        {
            let mut state = self.lock();
            match class {
                Class::Poll => state.polls.push_back(waiter),
                Class::Create(ip) => {
                    let queue = state.creates.entry(ip).or_default();
                    queue.push_back(waiter);
                    if queue.len() == 1 {
                        state.rotation.push_back(ip);
                    }
                }
            }
        }
        self.wake.notify_one();
        match rx.await {
            Ok(permit) => permit,
            // The scheduler is gone (shutdown): a permit that counts for nothing.
            Err(_) => Permit {
                sched: self.clone(),
                armed: false,
            },
        }
    }

    /// A slot now, only if the key is idle enough to spare one: nothing waiting, not paused,
    /// and at most half the window in use. For requests that help people but are not needed
    /// (a run's progress), so they never delay a create or a due poll.
    pub fn try_spare(self: &Arc<Self>) -> Option<Permit> {
        let now = Instant::now();
        let mut state = self.lock();
        let hold = self.limits.hold();
        while state.done.front().is_some_and(|t| *t + hold <= now) {
            state.done.pop_front();
        }
        let busy = state.inflight + state.done.len();
        let waiting = !state.polls.is_empty() || state.creates.values().any(|q| !q.is_empty());
        if waiting
            || state.paused_until.is_some_and(|t| t > now)
            || busy * 2 >= self.limits.requests
        {
            return None;
        }
        state.inflight += 1;
        state.granted.push_back(now);
        state.granted_total += 1;
        Some(Permit {
            sched: self.clone(),
            armed: true,
        })
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

    /// Grants every slot free now; `Some(t)` is when to look again.
    fn dispatch(self: &Arc<Self>) -> Option<Instant> {
        let limits = self.limits;
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            while state
                .done
                .front()
                .is_some_and(|t| *t + limits.hold() <= now)
            {
                state.done.pop_front();
            }
            while state
                .granted
                .front()
                .is_some_and(|t| *t + limits.window <= now)
            {
                state.granted.pop_front();
            }
            if let Some(until) = state.paused_until {
                if until > now {
                    return Some(until);
                }
                state.paused_until = None;
            }
            if state.inflight + state.done.len() >= limits.requests {
                // A slot frees when the oldest answer leaves the window, or when one in
                // flight is answered (which wakes us).
                return state.done.front().map(|t| *t + limits.hold());
            }
            let waiter = next_waiter(&mut state, now, limits.starve)?;
            if waiter.tx.is_closed() {
                continue;
            }
            state.inflight += 1;
            let permit = Permit {
                sched: self.clone(),
                armed: true,
            };
            match waiter.tx.send(permit) {
                Ok(()) => {
                    state.granted.push_back(now);
                    state.granted_total += 1;
                }
                Err(mut permit) => {
                    permit.armed = false;
                    state.inflight -= 1;
                }
            }
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let now = Instant::now();
        let state = self.lock();
        Snapshot {
            in_window: state
                .granted
                .iter()
                .filter(|t| **t + self.limits.window > now)
                .count(),
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

/// Creates first (round-robin over client addresses), then polls oldest first; a poll that has
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
    while let Some(ip) = state.rotation.pop_front() {
        let Some(queue) = state.creates.get_mut(&ip) else {
            continue;
        };
        while queue.front().is_some_and(|w| w.tx.is_closed()) {
            queue.pop_front();
        }
        let Some(waiter) = queue.pop_front() else {
            state.creates.remove(&ip);
            continue;
        };
        if queue.is_empty() {
            state.creates.remove(&ip);
        } else {
            state.rotation.push_back(ip);
        }
        return Some(waiter);
    }
    state.polls.pop_front()
}
