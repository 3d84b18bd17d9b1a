//! The run broker: the proxy owns the key's budget. Every upstream request goes
//! through the key's one [`Scheduler`]; each run the proxy created is followed by one poller
//! that polls upstream around when the run should end (learned per resolution from recent
//! runs' `completedAt - createdAt`), then every `poll_interval`; browsers read the latest state
//! from the run table, and `?wait=` long-polls wake on a change (a `watch` channel per run).
//! Creates queue (bounded in length and wait, round-robin between client addresses); beyond
//! that the proxy answers its own 429 with a Retry-After computed from the queue.
//! With `--redis` ([`Shared`]) every state is written to Redis too, any instance answers any
//! run (reading Redis and waking on its `changed` messages), each run's poller holds a lease,
//! and an instance takes over the runs whose poller's lease expired.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use runbase_image::core::api::{Run, RunStatus};
use runbase_image::core::time::iso8601_unix_ms;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::api_error::ApiError;
use crate::scheduler::{Class, Permit, Scheduler};
use crate::shared::{Lease, Meta, Shared, LEASE};
use crate::spend::Hold;
use crate::upstream::{run_response, Answer, Upstream};

#[derive(Clone, Debug)]
pub struct Config {
    /// What `X-Runbase-Long-Poll` advertises (seconds).
    pub long_poll_secs: u64,
    /// The longest `?wait=` honoured (seconds).
    pub max_wait_secs: u64,
    pub queue_max: usize,
    pub queue_wait: Duration,
    /// Between polls of a run that is not finished when expected.
    pub poll_interval: Duration,
    /// The first poll of a run of a resolution nothing has been learned about yet.
    pub first_poll: Duration,
    pub keep_finished: Duration,
    pub keep_max: usize,
}

/// What the table holds for one run.
#[derive(Clone)]
enum Slot {
    /// An id made elsewhere, being fetched once.
    Loading,
    Run(Arc<Run>),
    /// The fetch of an unknown id failed: every waiter gets this answer.
    Error(Arc<Answer>),
}

struct Entry {
    tx: watch::Sender<Slot>,
}

#[derive(Default)]
struct Table {
    runs: HashMap<String, Entry>,
    finished: VecDeque<(Instant, String)>,
}

#[derive(Default)]
struct Counters {
    created: u64,
    finished: u64,
    polls_of_finished: u64,
    lags_ms: VecDeque<f64>,
    refused: u64,
    unknown_fetched: u64,
    taken_over: u64,
}

pub struct Broker {
    pub upstream: Arc<Upstream>,
    pub sched: Arc<Scheduler>,
    pub config: Config,
    table: Mutex<Table>,
    /// Expected run time in ms by resolution (exponential moving average).
    learned: Mutex<HashMap<String, f64>>,
    /// Bumped whenever something is learned or a scout stops.
    learned_gen: watch::Sender<u64>,
    /// Resolutions with nothing learned yet whose one "scout" run is polled from
    /// `first_poll` on; the other runs of that resolution wait until it has learned.
    scouting: Mutex<HashSet<String>>,
    counters: Mutex<Counters>,
    shared: Option<Arc<Shared>>,
    /// The runs this instance polls.
    following: Mutex<HashSet<String>>,
    /// Ids the upstream answered 404 for, and when.
    gone: Mutex<HashMap<String, Instant>>,
}

/// How long an unknown id waits for budget to spare.
const LOOKUP_SPARE_WAIT: Duration = Duration::from_secs(20);
/// How long a 404 for an id is remembered, and for how many ids at most.
const GONE_FOR: Duration = Duration::from_secs(600);
const GONE_KEPT: usize = 10_000;

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

const LAGS_KEPT: usize = 2000;
/// What one poll of a followed run showed.
enum Polled {
    /// Finished, or no longer in the table: stop following.
    Done,
    Going,
    NotFound,
    /// Refused, unreadable or unanswered: the browser keeps the last known state.
    Failed,
}

/// A run's one optional progress poll (if the key has budget to spare) goes a third of the
/// way to its first due poll, and at the latest this long after it was created.
const PROGRESS_POLL_BY: Duration = Duration::from_secs(3);

/// Added to the expected finish before the first poll (the API's clock and ours differ by
/// a request's travel time).
const FIRST_POLL_SLACK: Duration = Duration::from_millis(250);

impl Broker {
    pub fn new(
        upstream: Arc<Upstream>,
        sched: Arc<Scheduler>,
        config: Config,
        shared: Option<Arc<Shared>>,
    ) -> Arc<Self> {
        let broker = Arc::new(Broker {
            upstream,
            sched,
            config,
            table: Mutex::new(Table::default()),
            learned: Mutex::new(HashMap::new()),
            learned_gen: watch::channel(0).0,
            scouting: Mutex::new(HashSet::new()),
            counters: Mutex::new(Counters::default()),
            shared: shared.clone(),
            following: Mutex::new(HashSet::new()),
            gone: Mutex::new(HashMap::new()),
        });
        if let Some(shared) = shared {
            let (on_change, on_resubscribed) = (Arc::downgrade(&broker), Arc::downgrade(&broker));
            shared.start(
                move |id| {
                    if let Some(broker) = on_change.upgrade() {
                        broker.refresh(vec![id]);
                    }
                },
                move || {
                    if let Some(broker) = on_resubscribed.upgrade() {
                        let watched = broker.watched_elsewhere();
                        broker.refresh(watched);
                    }
                },
            );
            let broker = Arc::downgrade(&broker);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let Some(broker) = broker.upgrade() else {
                        return;
                    };
                    broker.take_over().await;
                    broker.sync_learned().await;
                }
            });
        }
        broker
    }

    /// Runs in the table, not finished, that another instance polls.
    fn watched_elsewhere(&self) -> Vec<String> {
        let following = locked(&self.following);
        locked(&self.table)
            .runs
            .iter()
            .filter(|(id, e)| {
                !following.contains(*id)
                    && matches!(&*e.tx.borrow(), Slot::Run(run) if !run.status.is_finished())
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Reads these runs from Redis into the table (another instance wrote a new state).
    fn refresh(self: &Arc<Self>, ids: Vec<String>) {
        let ids: Vec<String> = {
            let (table, following) = (locked(&self.table), locked(&self.following));
            ids.into_iter()
                .filter(|id| table.runs.contains_key(id) && !following.contains(id))
                .collect()
        };
        let (Some(shared), false) = (self.shared.clone(), ids.is_empty()) else {
            return;
        };
        let broker = self.clone();
        tokio::spawn(async move {
            for id in ids {
                if let Ok(Some((run, _))) = shared.load(&id).await {
                    broker.apply_remote(&id, run);
                }
            }
        });
    }

    /// A state another instance wrote: into the table (waking watchers), not back to Redis.
    fn apply_remote(&self, id: &str, run: Run) {
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

    /// Takes what other instances learned of run times.
    async fn sync_learned(&self) {
        let Some(remote) = self.shared.as_ref() else {
            return;
        };
        let Some(remote) = remote.learned().await else {
            return;
        };
        let changed = {
            let mut learned = locked(&self.learned);
            let mut changed = false;
            for (resolution, ms) in remote {
                let local = learned.entry(resolution).or_insert(-1.0);
                if (*local - ms).abs() >= 1.0 {
                    *local = ms;
                    changed = true;
                }
            }
            changed
        };
        if changed {
            self.learned_gen.send_modify(|g| *g += 1);
        }
    }

    /// Takes over the runs whose poller's lease expired (its instance died or lost Redis).
    async fn take_over(self: &Arc<Self>) {
        let Some(shared) = self.shared.clone() else {
            return;
        };
        let Some(ids) = shared.orphans().await else {
            return;
        };
        for id in ids {
            if locked(&self.following).contains(&id) || shared.claim(&id).await != Some(true) {
                continue;
            }
            match shared.load(&id).await {
                Ok(Some((run, meta))) if !run.status.is_finished() => {
                    locked(&self.counters).taken_over += 1;
                    let meta = meta.unwrap_or(Meta {
                        resolution: "?".into(),
                        started_unix_ms: unix_ms(),
                        host: None,
                    });
                    let since = (unix_ms() - meta.started_unix_ms).clamp(0, 86_400_000);
                    let started = Instant::now()
                        .checked_sub(Duration::from_millis(since as u64))
                        .unwrap_or_else(Instant::now);
                    let host = meta.host.and_then(|h| HeaderValue::from_str(&h).ok());
                    self.insert(&id, Slot::Run(Arc::new(run)), false);
                    let due = Some(Instant::now());
                    let follow = self.clone().follow(id, started, due, meta.resolution, host);
                    tokio::spawn(follow);
                }
                Ok(_) => shared.unfollow(&id).await,
                Err(()) => {}
            }
        }
    }

    pub fn knows(&self, id: &str) -> bool {
        locked(&self.table).runs.contains_key(id)
    }

    /// Whether this instance or (with `--redis`) another knows the run; another's is read from
    /// Redis into the table (its changes then come as messages).
    pub async fn knows_anywhere(&self, id: &str) -> bool {
        if self.knows(id) {
            return true;
        }
        let Some(shared) = &self.shared else {
            return false;
        };
        let Ok(Some((run, _))) = shared.load(id).await else {
            return false;
        };
        let finished = run.status.is_finished();
        let mut table = locked(&self.table);
        if !table.runs.contains_key(id) {
            let (tx, _) = watch::channel(Slot::Run(Arc::new(run)));
            table.runs.insert(id.to_string(), Entry { tx });
            if finished {
                table.finished.push_back((Instant::now(), id.to_string()));
            }
        }
        true
    }

    /// The proxy's own 429: the queue is full or the wait too long.
    fn overloaded(&self) -> Response {
        locked(&self.counters).refused += 1;
        let waiting = self.sched.creates_waiting();
        // Every run costs at least a create and a poll: the key serves one create per two
        // slots, and the queue ahead goes first.
        let secs = ((waiting + 1) as f64 * 2.0 * self.sched.limits.secs_per_request()).ceil();
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            format!("The proxy's API key is busy ({waiting} run(s) queued): retry after {secs} s"),
        )
        .retry_after(secs.max(1.0) as u64)
        .into_response()
    }

    /// `POST /runs` (already checked): queued, then created upstream in a task of its own so a
    /// browser that goes away cannot lose a run the API has made.
    pub async fn create(
        self: &Arc<Self>,
        client: IpAddr,
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
            let queued = match self.enqueue(client, deadline).await {
                Ok(queued) => queued,
                Err(response) => {
                    give_back(spend);
                    return response;
                }
            };
            // Leaves the shared queue if this create is abandoned (timed out, or the browser
            // went away) before its slot; a granted slot has taken it out already.
            let in_queue = InSharedQueue(self.shared.clone().zip(queued.clone()));
            let acquire = self.sched.acquire(Class::Create(client, queued));
            let Ok(permit) = tokio::time::timeout_at(deadline, acquire).await else {
                drop(in_queue);
                give_back(spend);
                return self.overloaded();
            };
            let mut in_queue = in_queue;
            in_queue.0 = None;
            let broker = self.clone();
            let (body, host, hold) = (body.clone(), host.clone(), spend.take());
            let task = tokio::spawn(async move {
                let started = Instant::now();
                let result = broker
                    .send(permit, Method::POST, "/runs", host.as_ref(), Some(body))
                    .await;
                match result {
                    Ok(answer) if answer.is_rate_limited() => (None, hold),
                    Ok(answer) => {
                        let charged = answer.run.as_ref().map(|run| run.cost_usd);
                        if let Some(hold) = hold {
                            // A run without `costUsd` keeps its reserved price.
                            hold.settle_run(charged).await;
                        }
                        if let Some(run) = &answer.run {
                            broker
                                .follow_new(run.clone(), started, resolution, host)
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
            });
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
    async fn enqueue(&self, client: IpAddr, deadline: Instant) -> Result<Option<String>, Response> {
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
            Ok(Ok(member)) => Ok(Some(member)),
            Ok(Err(_)) => Err(self.overloaded()),
            Err(_) => Err(unavailable()),
        }
    }

    async fn follow_new(
        self: &Arc<Self>,
        run: Run,
        started: Instant,
        resolution: &'static str,
        host: Option<HeaderValue>,
    ) {
        locked(&self.counters).created += 1;
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
                .put_new_run(&run, &meta, self.config.keep_finished)
                .await;
        }
        self.insert(&id, Slot::Run(Arc::new(run)), finished);
        if !finished {
            tokio::spawn(
                self.clone()
                    .follow(id, started, None, resolution.to_string(), host),
            );
        }
    }

    fn expected(&self, resolution: &str) -> Option<Duration> {
        locked(&self.learned)
            .get(resolution)
            .map(|ms| Duration::from_millis(*ms as u64))
    }

    /// When to poll a new run first: at its expected end once learned; with nothing learned,
    /// one run of the resolution scouts (polled from `first_poll` on, every `poll_interval`)
    /// and the others wait for what it learns (at most 30 s).
    async fn first_due(&self, started: Instant, resolution: &str) -> (Instant, Option<Scout<'_>>) {
        let mut generation = self.learned_gen.subscribe();
        let give_up = Instant::now() + Duration::from_secs(30);
        loop {
            generation.borrow_and_update();
            if let Some(expected) = self.expected(resolution) {
                return (started + expected + FIRST_POLL_SLACK, None);
            }
            if locked(&self.scouting).insert(resolution.to_string()) {
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

    fn insert(&self, id: &str, slot: Slot, finished: bool) {
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
        match table.runs.get(id) {
            Some(entry) => {
                entry.tx.send_replace(slot);
            }
            None => {
                let (tx, _) = watch::channel(slot);
                table.runs.insert(id.to_string(), Entry { tx });
            }
        }
        if finished {
            table.finished.push_back((now, id.to_string()));
        }
    }

    /// A new state of a followed run; `false` when the table has let the run go.
    fn publish(&self, id: &str, run: Run) -> bool {
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
                shared.put_run(&run, None, self.config.keep_finished);
            }
            entry.tx.send_replace(Slot::Run(Arc::new(run)));
        }
        if finished {
            table.finished.push_back((Instant::now(), id.to_string()));
        }
        true
    }

    /// The one poller of a run: polls upstream until the run is finished (a failed or refused
    /// poll is only retried: the browser keeps the last known state).
    async fn follow(
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
    async fn start_following(self: &Arc<Self>, id: &str) -> Option<Following> {
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
                            let slot = locked(&broker.table)
                                .runs
                                .get(&id)
                                .map(|e| e.tx.borrow().clone());
                            if let Some(Slot::Run(run)) = slot {
                                shared.put_run(&run, None, broker.config.keep_finished);
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

    /// One upstream request on a granted slot, which the answer settles: a 429 pauses
    /// everyone, anything else frees the slot as answered.
    async fn send(
        &self,
        permit: Permit,
        method: Method,
        path: &str,
        host: Option<&HeaderValue>,
        body: Option<Bytes>,
    ) -> Result<Answer, ApiError> {
        let result = self.upstream.call(method, path, host, body).await;
        match &result {
            Ok(answer) if answer.is_rate_limited() => {
                permit.rate_limited(answer.retry_after_secs())
            }
            Ok(_) => permit.answered(),
            Err(_) => drop(permit),
        }
        result
    }

    /// One upstream poll with a granted slot; publishes what it learns.
    async fn poll(
        &self,
        permit: Permit,
        id: &str,
        path: &str,
        host: Option<&HeaderValue>,
        resolution: &str,
        polls: u64,
    ) -> Polled {
        match self.send(permit, Method::GET, path, host, None).await {
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
    fn finished(&self, resolution: &str, run: &Run, polls: u64) {
        let created = run.created_at.as_deref().and_then(iso8601_unix_ms);
        let completed = run.completed_at.as_deref().and_then(iso8601_unix_ms);
        if let (Some(created), Some(completed), RunStatus::Succeeded) =
            (created, completed, &run.status)
        {
            let took = (completed - created) as f64;
            if took > 0.0 && took < 3_600_000.0 {
                let ema = {
                    let mut learned = locked(&self.learned);
                    let ema = learned.entry(resolution.to_string()).or_insert(took);
                    *ema = 0.7 * *ema + 0.3 * took;
                    *ema
                };
                self.learned_gen.send_modify(|g| *g += 1);
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
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            let lag = (now - completed).max(0) as f64;
            if lag < 3_600_000.0 {
                counters.lags_ms.push_back(lag);
                if counters.lags_ms.len() > LAGS_KEPT {
                    counters.lags_ms.pop_front();
                }
            }
        }
    }

    /// `GET /runs/{id}`: from the table; an id it does not know is fetched once (and then
    /// followed if it is not finished). With a wait, answers when the status differs from
    /// `seen` (without `seen`: when the run is finished) or when the wait ends.
    pub async fn get(
        self: &Arc<Self>,
        id: &str,
        wait: Duration,
        seen: Option<String>,
        host: Option<HeaderValue>,
    ) -> Response {
        self.knows_anywhere(id).await;
        if self.known_gone(id) {
            return ApiError::new(
                StatusCode::NOT_FOUND,
                "run_not_found",
                "No run with this id (the API said so lately)",
            )
            .into_response();
        }
        let mut rx = {
            let mut table = locked(&self.table);
            match table.runs.get(id) {
                Some(entry) => entry.tx.subscribe(),
                None => {
                    let (tx, rx) = watch::channel(Slot::Loading);
                    table.runs.insert(id.to_string(), Entry { tx });
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

    /// A slot from the budget to spare, if one comes within `wait`.
    async fn spare_within(&self, wait: Duration) -> Option<Permit> {
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
    fn known_gone(&self, id: &str) -> bool {
        locked(&self.gone)
            .get(id)
            .is_some_and(|at| at.elapsed() < GONE_FOR)
    }

    /// A run made elsewhere: one GET through the scheduler (again only after a 429).
    async fn fetch_unknown(self: Arc<Self>, id: String, host: Option<HeaderValue>) {
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
                        StatusCode::SERVICE_UNAVAILABLE,
                        "server_busy",
                        "The proxy's API key is busy: a run this proxy does not know is looked \
                         up only when the key has budget to spare. Retry shortly.",
                    )
                    .retry_after(5),
                );
            };
            match self
                .send(permit, Method::GET, &path, host.as_ref(), None)
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
                self.insert(&id, Slot::Run(Arc::new(run)), finished);
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
                let mut table = locked(&self.table);
                if let Some(entry) = table.runs.remove(&id) {
                    entry.tx.send_replace(Slot::Error(Arc::new(answer)));
                }
            }
        }
    }

    pub fn stats(&self) -> Value {
        let snap = self.sched.snapshot();
        let limits = self.sched.limits;
        let (followed, known) = {
            let table = locked(&self.table);
            let followed = table
                .runs
                .values()
                .filter(|e| matches!(&*e.tx.borrow(), Slot::Run(run) if !run.status.is_finished()))
                .count();
            (followed, table.runs.len())
        };
        let counters = locked(&self.counters);
        let mut lags: Vec<f64> = counters.lags_ms.iter().copied().collect();
        lags.sort_by(f64::total_cmp);
        let pct = |p: f64| -> Value {
            if lags.is_empty() {
                return Value::Null;
            }
            let i = ((lags.len() as f64 - 1.0) * p).round() as usize;
            json!(lags[i.min(lags.len() - 1)].round())
        };
        let learned: serde_json::Map<String, Value> = locked(&self.learned)
            .iter()
            .map(|(k, v)| (k.clone(), json!(v.round())))
            .collect();
        json!({
            "mode": "broker",
            "upstream": {
                "requestsInWindow": snap.in_window,
                "requestsTotal": self.upstream.requests.load(Ordering::Relaxed),
                "rateLimited": self.upstream.rate_limited.load(Ordering::Relaxed),
                "inFlight": snap.inflight,
                "granted": snap.granted_total,
                "pauses": snap.rate_limited,
                "pausedMs": snap.paused_ms,
                "limit": limits.requests,
                "windowMs": limits.window.as_millis() as u64,
                "marginMs": limits.margin.as_millis() as u64,
            },
            "queue": {
                "creates": snap.creates_waiting,
                "polls": snap.polls_waiting,
                "max": self.config.queue_max,
                "refused": counters.refused,
            },
            "runs": {
                "followed": followed,
                "known": known,
                "created": counters.created,
                "finished": counters.finished,
                "pollsPerFinishedRun": if counters.finished == 0 { 0.0 } else {
                    counters.polls_of_finished as f64 / counters.finished as f64
                },
                "unknownFetched": counters.unknown_fetched,
                "takenOver": counters.taken_over,
                "expectedMsByResolution": learned,
            },
            "lagMs": { "p50": pct(0.5), "p95": pct(0.95), "count": lags.len() },
            "shared": self.shared.as_ref().map(|s| s.stats()),
        })
    }
}

/// A create's place in the shared queue, given up when dropped.
struct InSharedQueue(Option<(Arc<Shared>, String)>);

impl Drop for InSharedQueue {
    fn drop(&mut self) {
        if let Some((shared, member)) = self.0.take() {
            tokio::spawn(async move { shared.dequeue(&member).await });
        }
    }
}

/// A run this instance polls, until its poller stops (and lets the lease go).
struct Following {
    broker: Arc<Broker>,
    id: String,
    /// Another instance took the run over.
    lost: Arc<AtomicBool>,
    keeper: Option<tokio::task::JoinHandle<()>>,
}

impl Following {
    fn lost(&self) -> bool {
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

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The one scouting run of a resolution; when it stops, the waiting runs look again.
struct Scout<'a> {
    broker: &'a Broker,
    resolution: String,
}

/// How long an instance may scout a resolution before another may.
const SCOUT_FOR: Duration = Duration::from_secs(30);

impl Scout<'_> {
    /// Another instance scouts: nothing to let go here but the local mark.
    fn elsewhere(self) {
        locked(&self.broker.scouting).remove(&self.resolution);
        std::mem::forget(self);
    }
}

impl Drop for Scout<'_> {
    fn drop(&mut self) {
        locked(&self.broker.scouting).remove(&self.resolution);
        self.broker.learned_gen.send_modify(|g| *g += 1);
        if let Some(shared) = self.broker.shared.clone() {
            let resolution = std::mem::take(&mut self.resolution);
            tokio::spawn(async move { shared.drop_scout(&resolution).await });
        }
    }
}

/// The proxy's own error kept as an answer, so every waiter gets the same.
fn stored(error: ApiError) -> Answer {
    Answer {
        status: error.status,
        content_type: Some(HeaderValue::from_static("application/json")),
        retry_after: error.retry_after_secs.map(HeaderValue::from),
        body: Bytes::from(serde_json::to_vec(&error.body).unwrap_or_default()),
        run: None,
    }
}

/// The stats of a pass-through proxy: only what it sent upstream.
pub fn pass_through_stats(upstream: &Upstream) -> Value {
    json!({
        "mode": "pass-through",
        "upstream": {
            "requestsTotal": upstream.requests.load(Ordering::Relaxed),
            "rateLimited": upstream.rate_limited.load(Ordering::Relaxed),
        },
    })
}

/// The stats as Prometheus text (every number of the JSON, flattened).
pub fn metrics_text(stats: &Value) -> String {
    let mut out = String::new();
    fn walk(out: &mut String, prefix: &str, value: &Value) {
        match value {
            Value::Object(fields) => {
                for (k, v) in fields {
                    walk(out, &format!("{prefix}_{}", snake(k)), v);
                }
            }
            Value::Number(n) => {
                let _ = writeln!(out, "# TYPE {prefix} gauge\n{prefix} {n}");
            }
            _ => {}
        }
    }
    walk(&mut out, "runbase", stats);
    let _ = writeln!(
        out,
        "# TYPE runbase_broker gauge\nrunbase_broker {}",
        u8::from(stats["mode"] == "broker")
    );
    out
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            out.push('_');
        }
    }
    out
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

/// Sent on every answer of the broker's runs endpoints: the longest wait a client should ask for.
pub const LONG_POLL_HEADER: header::HeaderName =
    header::HeaderName::from_static("x-runbase-long-poll");

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
        assert!(
            metrics_text(&json!({"mode": "broker", "lagMs": {"p50": 12}}))
                .contains("runbase_lag_ms_p50 12")
        );
    }
}
