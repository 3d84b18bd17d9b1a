//! State shared by every proxy instance of one key through Redis (`--redis`), with
//! the `redis` crate on tokio. Redis holds, under a prefix derived from the key and upstream:
//! - `slots`: the key's window, a sorted set of granted requests scored by when each stops
//!   counting (its answer + window + margin; while in flight, a lease long enough to cover the
//!   upstream time-out), taken and released by Lua scripts on Redis's own clock;
//! - `pause`, `strikes`: the pause every instance keeps after an upstream 429;
//! - `queue`, `vt`: the create queue, fair between client addresses by virtual time;
//! - `instances`: each instance's heartbeat;
//! - `run:{id}`, `meta:{id}`, `followed`, `lease:{id}`: each run's latest state, what its
//!   poller needs, the runs not finished, and which instance polls each (a lease that expires,
//!   so another takes a dead instance's runs over);
//! - `learned`, `scout:{resolution}`: how long runs take, and which instance is learning it;
//! - channel `changed`: a run id, published on each new state, waking other instances' watchers.
//!
//! When Redis does not answer, the instance goes on alone but safely: it grants nothing for
//! one window (the slots others took are unknown), then a share of the key's budget (the
//! budget over the instances last seen alive); when Redis answers again it writes its own
//! slots back and keeps to its share for one more window, so every instance has done the same
//! before the shared window is used again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use runbase_image::core::api::Run;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long a run's poller holds it without renewing: a dead instance's runs are taken over
/// within this (plus a second).
pub const LEASE: Duration = Duration::from_secs(5);
/// An instance not seen for this long is dead (its queued creates are dropped).
const ALIVE: Duration = Duration::from_secs(5);
/// A run not finished is kept this long in Redis after its last change.
const RUN_TTL: Duration = Duration::from_secs(6 * 3600);

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a run's poller needs to go on from another instance.
#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    pub resolution: String,
    pub started_unix_ms: i64,
    pub host: Option<String>,
}

impl Meta {
    fn encode(&self) -> String {
        format!(
            "{}|{}|{}",
            self.resolution,
            self.started_unix_ms,
            self.host.as_deref().unwrap_or("")
        )
    }

    fn decode(text: &str) -> Option<Meta> {
        let mut parts = text.splitn(3, '|');
        let resolution = parts.next()?.to_string();
        let started_unix_ms = parts.next()?.parse().ok()?;
        let host = parts.next().filter(|h| !h.is_empty()).map(str::to_string);
        Some(Meta {
            resolution,
            started_unix_ms,
            host,
        })
    }
}

/// Who polls a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lease {
    Mine,
    /// Mine again: it had vanished (Redis restarted), so had the run's state.
    Retaken,
    Another,
}

/// How the scheduler may grant slots now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// Through Redis's window.
    Shared,
    /// Alone, at most this many slots per window; `record` writes them to Redis too (it is
    /// back, and the other instances may not have written theirs yet).
    Alone { limit: usize, record: bool },
}

/// What a slot is wanted for, which decides who goes first across instances.
pub enum Want<'a> {
    /// A create, with its member in the shared queue (it must be among the first in line for
    /// the free slots).
    Create(Option<&'a str>),
    /// A poll; `urgent` once it has waited too long to let creates go first.
    Poll { urgent: bool },
    /// A request that helps but is not needed: only when no create waits anywhere.
    Spare,
}

/// The answer to a request for a slot.
pub enum Take {
    /// Granted: the slot's member in `slots`.
    Granted(String),
    /// Not now: look again after this long.
    Wait(Duration),
}

struct Health {
    up: bool,
    /// When `up` last changed (or the start).
    since: Instant,
    /// Reached at least once.
    ever: bool,
    /// Up from the start without a gap: no window of unknown slots to sit out.
    clean: bool,
    /// Instances alive at the last heartbeat (this one included).
    instances: usize,
    /// Own slots must be written back before the shared window is used.
    replay_due: bool,
    last_error: String,
}

/// A state to write to Redis; only the latest per run is kept while Redis is away.
struct RunWrite {
    json: String,
    meta: Option<String>,
    finished: bool,
    keep_finished: Duration,
}

impl RunWrite {
    fn new(run: &Run, meta: Option<String>, keep_finished: Duration) -> Option<RunWrite> {
        Some(RunWrite {
            json: serde_json::to_string(run).ok()?,
            meta,
            finished: run.status.is_finished(),
            keep_finished,
        })
    }
}

pub struct Shared {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<ConnectionManager>>,
    /// When a connection was last attempted (while there is none).
    last_attempt: Mutex<Option<Instant>>,
    prefix: String,
    pub instance: String,
    /// The URL without a password, for logs and stats.
    pub shown_url: String,
    health: Mutex<Health>,
    seq: AtomicU64,
    writes: Mutex<HashMap<String, RunWrite>>,
    write_wake: Notify,
    scripts: Scripts,
}

struct Scripts {
    take: Script,
    release: Script,
    record: Script,
    heartbeat: Script,
    pause: Script,
    enqueue: Script,
    dequeue: Script,
    renew: Script,
    drop_lease: Script,
    orphans: Script,
}

impl Shared {
    /// Checks the URL; the connection is made (and remade) in the background.
    pub fn new(url: &str, key: &str, upstream: &str) -> Result<Arc<Shared>, String> {
        let client = redis::Client::open(url)
            .map_err(|e| format!("--redis {}: not a Redis URL ({e})", hide_password(url)))?;
        let instance = format!("{}-{}", std::process::id(), unix_ms() % 1_000_000_000);
        Ok(Arc::new(Shared {
            client,
            conn: tokio::sync::Mutex::new(None),
            last_attempt: Mutex::new(None),
            prefix: format!("runbase:{:016x}:", fnv1a(&format!("{upstream}\n{key}"))),
            instance,
            shown_url: hide_password(url),
            health: Mutex::new(Health {
                up: false,
                since: Instant::now(),
                ever: false,
                clean: true,
                instances: 0,
                replay_due: false,
                last_error: "not reached yet".into(),
            }),
            seq: AtomicU64::new(0),
            writes: Mutex::new(HashMap::new()),
            write_wake: Notify::new(),
            scripts: Scripts::new(),
        }))
    }

    /// A name under this key's prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// A new member name for the shared window or queue.
    pub fn member(&self) -> String {
        format!(
            "{}:{}",
            self.instance,
            self.seq.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// The connection, made if there is none yet (the manager then reconnects by itself).
    async fn conn(&self) -> redis::RedisResult<ConnectionManager> {
        let mut conn = self.conn.lock().await;
        if let Some(conn) = conn.as_ref() {
            return Ok(conn.clone());
        }
        // One attempt a second at most: callers meanwhile fail at once instead of queueing
        // behind a connection time-out each.
        {
            let mut last = locked(&self.last_attempt);
            if last.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "not connected",
                    "the last attempt failed less than a second ago".to_string(),
                )));
            }
            *last = Some(Instant::now());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(1000)))
            .set_response_timeout(Some(Duration::from_millis(1500)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let made = self.client.get_connection_manager_with_config(config).await;
        let made = self.noted(made)?;
        *conn = Some(made.clone());
        Ok(made)
    }

    /// Notes whether Redis answered; says so in the log when that changes.
    fn noted<T>(&self, result: redis::RedisResult<T>) -> redis::RedisResult<T> {
        let mut health = locked(&self.health);
        match &result {
            Ok(_) if !health.up => {
                health.up = true;
                health.replay_due = true;
                health.ever = true;
                health.since = Instant::now();
                let again = if health.clean {
                    ""
                } else {
                    " again: creates resume"
                };
                eprintln!(
                    "redis: {} answers{again} (instance {})",
                    self.shown_url, self.instance
                );
            }
            Err(e) if health.up || !health.ever && health.last_error != e.to_string() => {
                if health.up {
                    health.clean = false;
                    health.since = Instant::now();
                }
                health.up = false;
                health.last_error = e.to_string();
                eprintln!(
                    "redis: {} does not answer ({e}): new runs are refused (503) until it does; \
                     runs already followed go on within this instance's share of the key's budget",
                    self.shown_url
                );
            }
            _ => {}
        }
        if !health.ever && result.is_err() {
            health.clean = false;
        }
        result
    }

    /// One attempt at start-up, so the start-up lines can say whether Redis answers.
    pub async fn connect_at_start(&self) {
        let _: redis::RedisResult<String> = self.query(&redis::cmd("PING")).await;
    }

    pub fn is_up(&self) -> bool {
        locked(&self.health).up
    }

    /// How slots may be granted now (see the module's comment).
    pub fn budget(&self, requests: usize, hold: Duration) -> Budget {
        let health = locked(&self.health);
        let settled = health.since.elapsed() >= hold;
        if health.up && (health.clean || settled) {
            return Budget::Shared;
        }
        let share = requests / health.instances.max(1);
        let limit = match (health.up, health.ever) {
            // Back: keep to the share (written to Redis too) for one window.
            (true, _) => share,
            // Never reached: the others are unknown, so one request per window.
            (false, false) => usize::from(settled),
            (false, true) if settled => share,
            (false, true) => 0,
        };
        Budget::Alone {
            limit,
            record: health.up,
        }
    }

    /// True once, after Redis came back: the caller writes its slots back with `record`.
    pub fn take_replay_due(&self) -> bool {
        std::mem::take(&mut locked(&self.health).replay_due)
    }

    /// A command's answer; whether Redis answered is noted.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        let mut conn = self.conn().await?;
        self.noted(cmd.query_async(&mut conn).await)
    }

    /// A script's answer; whether Redis answered is noted.
    async fn script<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> redis::RedisResult<T> {
        let mut conn = self.conn().await?;
        self.noted(invocation.invoke_async(&mut conn).await)
    }

    /// A slot in the shared window for `what`.
    pub async fn take(
        &self,
        limit: usize,
        lease: Duration,
        what: Want<'_>,
    ) -> redis::RedisResult<Take> {
        let (queued, what) = match what {
            Want::Create(queued) => (queued, "create"),
            Want::Poll { urgent: true } => (None, "urgent"),
            Want::Poll { urgent: false } => (None, "poll"),
            Want::Spare => (None, "spare"),
        };
        let member = self.member();
        let (granted, wait_ms): (i64, i64) = self
            .script(
                self.scripts
                    .take
                    .key(self.key("slots"))
                    .key(self.key("pause"))
                    .key(self.key("queue"))
                    .key(self.key("instances"))
                    .arg(limit)
                    .arg(lease.as_millis() as u64)
                    .arg(&member)
                    .arg(queued.unwrap_or(""))
                    .arg(ALIVE.as_millis() as u64)
                    .arg(what),
            )
            .await?;
        Ok(if granted == 1 {
            Take::Granted(member)
        } else {
            Take::Wait(Duration::from_millis(wait_ms.clamp(1, 60_000) as u64))
        })
    }

    /// The slot's request was answered: it counts for `hold` more; `ok` (not a 429) clears
    /// the strikes.
    pub async fn release(&self, member: &str, hold: Duration, ok: bool) {
        let mut invocation = self.scripts.release.key(self.key("slots"));
        invocation
            .key(self.key("strikes"))
            .arg(member)
            .arg(hold.as_millis() as u64)
            .arg(u8::from(ok));
        let _: redis::RedisResult<i64> = self.script(&invocation).await;
    }

    /// Writes slots granted alone into the shared window: (how long each still counts, member).
    pub async fn record(&self, slots: &[(Duration, String)]) {
        if slots.is_empty() {
            return;
        }
        let mut invocation = self.scripts.record.key(self.key("slots"));
        for (remaining, member) in slots {
            invocation.arg(remaining.as_millis() as u64).arg(member);
        }
        let _: redis::RedisResult<i64> = self.script(&invocation).await;
    }

    /// An upstream 429: every instance pauses (`Retry-After`, else 1, 2, 4 … 32 s).
    pub async fn pause(&self, retry_after_secs: Option<u64>) {
        let mut invocation = self.scripts.pause.key(self.key("pause"));
        invocation
            .key(self.key("strikes"))
            .arg(retry_after_secs.map_or(0, |s| s.clamp(1, 300) * 1000));
        let _: redis::RedisResult<i64> = self.script(&invocation).await;
    }

    /// Joins the shared create queue: `Ok(Ok(member))`, or `Ok(Err(length))` when it is full.
    pub async fn enqueue(
        &self,
        client: &str,
        max: usize,
        limit: usize,
        wait: Duration,
        step: Duration,
    ) -> redis::RedisResult<Result<String, usize>> {
        let member = self.member();
        let (added, length): (i64, i64) = self
            .script(
                self.scripts
                    .enqueue
                    .key(self.key("queue"))
                    .key(self.key("vt"))
                    .key(self.key("slots"))
                    .arg(&member)
                    .arg(client)
                    .arg(max)
                    .arg(wait.as_millis() as u64)
                    .arg(step.as_millis() as u64)
                    .arg(limit),
            )
            .await?;
        Ok(if added == 1 {
            Ok(member)
        } else {
            Err(length as usize)
        })
    }

    /// Leaves the shared create queue (gone or timed out).
    pub async fn dequeue(&self, member: &str) {
        let mut invocation = self.scripts.dequeue.key(self.key("queue"));
        invocation.arg(member);
        let _: redis::RedisResult<i64> = self.script(&invocation).await;
    }

    /// Takes the lease on a run: `Some(true)` taken, `Some(false)` another instance holds it.
    pub async fn claim(&self, id: &str) -> Option<bool> {
        self.claim_for(&format!("lease:{id}"), LEASE).await
    }

    /// Makes this instance the scout of a resolution (the one whose run is polled early to
    /// learn how long runs take), for at most `ttl`.
    pub async fn claim_scout(&self, resolution: &str, ttl: Duration) -> Option<bool> {
        self.claim_for(&format!("scout:{resolution}"), ttl).await
    }

    pub async fn drop_scout(&self, resolution: &str) {
        self.drop_claim(&format!("scout:{resolution}")).await;
    }

    async fn claim_for(&self, name: &str, ttl: Duration) -> Option<bool> {
        let mut set = redis::cmd("SET");
        set.arg(self.key(name))
            .arg(&self.instance)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis() as u64);
        let taken: Option<String> = self.query(&set).await.ok()?;
        Some(taken.is_some())
    }

    /// A run's expected time at a resolution, learned by any instance.
    pub async fn learn(&self, resolution: &str, ms: f64) {
        let mut hset = redis::cmd("HSET");
        hset.arg(self.key("learned"))
            .arg(resolution)
            .arg(ms.round() as u64);
        let _: redis::RedisResult<()> = self.query(&hset).await;
    }

    /// Every expected run time learned so far, by resolution.
    pub async fn learned(&self) -> Option<HashMap<String, f64>> {
        let mut hgetall = redis::cmd("HGETALL");
        hgetall.arg(self.key("learned"));
        self.query(&hgetall).await.ok()
    }

    /// Adds `by` (may be negative) to a counter that lives `ttl` more.
    pub async fn incr_by(&self, name: &str, by: i64, ttl: Duration) {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("INCRBY")
            .arg(self.key(name))
            .arg(by)
            .ignore()
            .cmd("PEXPIRE")
            .arg(self.key(name))
            .arg(ttl.as_millis().max(1) as u64)
            .ignore();
        let mut conn = match self.conn().await {
            Ok(conn) => conn,
            Err(_) => return,
        };
        let _ = self.noted::<()>(pipe.query_async(&mut conn).await);
    }

    /// Runs a script another module prepared (its keys made with [`Shared::key`]).
    pub async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Option<T> {
        self.script(invocation).await.ok()
    }

    /// Renews the lease (`None`: Redis did not answer). A lease that vanished (Redis
    /// restarted) is taken again: the caller writes the run again.
    pub async fn renew(&self, id: &str) -> Option<Lease> {
        let mut invocation = self.scripts.renew.key(self.key(&format!("lease:{id}")));
        invocation.arg(&self.instance).arg(LEASE.as_millis() as u64);
        let renewed: i64 = self.script(&invocation).await.ok()?;
        Some(match renewed {
            0 => Lease::Another,
            1 => Lease::Mine,
            _ => Lease::Retaken,
        })
    }

    /// Lets the run's lease go (it finished here).
    pub async fn drop_lease(&self, id: &str) {
        self.drop_claim(&format!("lease:{id}")).await;
    }

    /// Lets a lease or a scout claim go, if it is still this instance's.
    async fn drop_claim(&self, name: &str) {
        let mut invocation = self.scripts.drop_lease.key(self.key(name));
        invocation.arg(&self.instance);
        let _: redis::RedisResult<i64> = self.script(&invocation).await;
    }

    /// The runs not finished whose poller's lease has expired.
    pub async fn orphans(&self) -> Option<Vec<String>> {
        let mut invocation = self.scripts.orphans.key(self.key("followed"));
        invocation.arg(self.key("lease:"));
        self.script(&invocation).await.ok()
    }

    /// A run's latest state and its poller's meta. `Err` when Redis did not answer.
    pub async fn load(&self, id: &str) -> Result<Option<(Run, Option<Meta>)>, ()> {
        let mut mget = redis::cmd("MGET");
        mget.arg(self.key(&format!("run:{id}")))
            .arg(self.key(&format!("meta:{id}")));
        let (run, meta): (Option<String>, Option<String>) =
            self.query(&mget).await.map_err(|_| ())?;
        let run = run.and_then(|json| serde_json::from_str::<Run>(&json).ok());
        Ok(run.map(|run| (run, meta.as_deref().and_then(Meta::decode))))
    }

    /// Forgets a run nobody can follow any more.
    pub async fn unfollow(&self, id: &str) {
        let mut srem = redis::cmd("SREM");
        srem.arg(self.key("followed")).arg(id);
        let _: redis::RedisResult<i64> = self.query(&srem).await;
    }

    /// A run's new state, written in order by the writer task (only the latest of a run is
    /// kept while Redis is away, so nothing piles up).
    pub fn put_run(&self, run: &Run, meta: Option<&Meta>, keep_finished: Duration) {
        let mut writes = locked(&self.writes);
        let meta = meta
            .map(Meta::encode)
            .or_else(|| writes.get(&run.id).and_then(|w| w.meta.clone()));
        let Some(write) = RunWrite::new(run, meta, keep_finished) else {
            return;
        };
        writes.insert(run.id.clone(), write);
        drop(writes);
        self.write_wake.notify_one();
    }

    /// The background work: heartbeats, run writes and the wake-ups of other instances'
    /// changes (`on_change` gets each changed run id; `on_resubscribed` runs after every
    /// (re)subscription, when messages may have been missed).
    pub fn start(
        self: &Arc<Self>,
        on_change: impl Fn(String) + Send + Sync + 'static,
        on_resubscribed: impl Fn() + Send + Sync + 'static,
    ) {
        let shared = self.clone();
        tokio::spawn(async move {
            loop {
                shared.heartbeat().await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        let shared = self.clone();
        tokio::spawn(async move {
            loop {
                let wake = shared.write_wake.notified();
                if !shared.flush_writes().await {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                wake.await;
            }
        });
        let shared = self.clone();
        tokio::spawn(async move {
            let channel = shared.key("changed");
            loop {
                if let Ok(mut pubsub) = shared.client.get_async_pubsub().await {
                    if pubsub.subscribe(&channel).await.is_ok() {
                        on_resubscribed();
                        let mut messages = pubsub.into_on_message();
                        while let Some(message) = messages.next().await {
                            if let Ok(id) = message.get_payload::<String>() {
                                on_change(id);
                            }
                        }
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    async fn heartbeat(&self) {
        let mut invocation = self.scripts.heartbeat.key(self.key("instances"));
        invocation.arg(&self.instance).arg(ALIVE.as_millis() as u64);
        let alive: redis::RedisResult<i64> = self.script(&invocation).await;
        if let Ok(alive) = alive {
            locked(&self.health).instances = alive.max(1) as usize;
        }
    }

    /// Writes every pending run state; `false` if Redis did not take them all.
    async fn flush_writes(&self) -> bool {
        let pending: Vec<(String, RunWrite)> = locked(&self.writes).drain().collect();
        let mut failed = Vec::new();
        for (id, write) in pending {
            // After one failure the rest wait for the next round.
            if !failed.is_empty() || self.write(&id, &write).await.is_err() {
                failed.push((id, write));
            }
        }
        if failed.is_empty() {
            return true;
        }
        let mut writes = locked(&self.writes);
        for (id, write) in failed {
            // A newer state written meanwhile wins.
            writes.entry(id).or_insert(write);
        }
        false
    }

    /// Writes a new run's first state at once, so that any instance knows the run before
    /// its creator answers the browser; left to the writer task when Redis does not take it.
    pub async fn put_new_run(&self, run: &Run, meta: &Meta, keep_finished: Duration) {
        let Some(write) = RunWrite::new(run, Some(meta.encode()), keep_finished) else {
            return;
        };
        if self.write(&run.id, &write).await.is_err() {
            locked(&self.writes).entry(run.id.clone()).or_insert(write);
            self.write_wake.notify_one();
        }
    }

    /// One run's state, its poller's meta, the set of runs followed and the announcement,
    /// in one transaction.
    async fn write(&self, id: &str, write: &RunWrite) -> redis::RedisResult<()> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        let ttl = if write.finished {
            write.keep_finished
        } else {
            RUN_TTL
        };
        let ttl = ttl.as_millis().max(1) as u64;
        pipe.cmd("SET")
            .arg(self.key(&format!("run:{id}")))
            .arg(&write.json)
            .arg("PX")
            .arg(ttl)
            .ignore();
        if write.finished {
            pipe.cmd("SREM").arg(self.key("followed")).arg(id).ignore();
            pipe.cmd("DEL")
                .arg(self.key(&format!("meta:{id}")))
                .ignore();
        } else {
            if let Some(meta) = &write.meta {
                pipe.cmd("SET")
                    .arg(self.key(&format!("meta:{id}")))
                    .arg(meta)
                    .arg("PX")
                    .arg(ttl)
                    .ignore();
            }
            pipe.cmd("SADD").arg(self.key("followed")).arg(id).ignore();
        }
        pipe.cmd("PUBLISH")
            .arg(self.key("changed"))
            .arg(id)
            .ignore();
        let mut conn = self.conn().await?;
        self.noted(pipe.query_async(&mut conn).await)
    }

    pub fn stats(&self) -> serde_json::Value {
        let health = locked(&self.health);
        serde_json::json!({
            "redis": if health.up { "up" } else { "down" },
            "url": self.shown_url,
            "instance": self.instance,
            "instancesAlive": health.instances,
            "pendingWrites": locked(&self.writes).len(),
        })
    }
}

impl Scripts {
    fn new() -> Scripts {
        // Every script reads Redis's own clock, so the instances' clocks do not matter.
        const NOW: &str =
            "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n";
        let script = |body: &str| Script::new(&format!("{NOW}{body}"));
        Scripts {
            // KEYS: slots, pause, queue, instances. ARGV: limit, lease ms, member, queued
            // member or "", alive ms, what (create, poll, urgent or spare). Returns {1, 0}
            // granted or {0, ms to wait}.
            take: script(
                r"
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return {0, paused} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
-- As in one instance: a poll lets the creates waiting anywhere go first, unless it has
-- waited too long ('urgent'); a spare request (a run's progress) never goes before them.
if ARGV[6] == 'poll' then free = free - redis.call('ZCARD', KEYS[3]) end
if ARGV[6] == 'spare' and redis.call('ZCARD', KEYS[3]) > 0 then free = 0 end
if free <= 0 then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if not first[2] then return {0, 100} end
  return {0, math.max(1, math.min(250, tonumber(first[2]) - now))}
end
if ARGV[4] ~= '' then
  -- Only other instances' creates count as ahead: an instance orders its own.
  local mine = string.match(ARGV[4], '^(.*):%d+$')
  local ahead = redis.call('ZRANGE', KEYS[3], 0, -1)
  local rank = 0
  local behind = false
  for _, m in ipairs(ahead) do
    local inst, deadline = string.match(m, '^(.*):%d+|(%d+)$')
    local seen = inst and redis.call('ZSCORE', KEYS[4], inst)
    if not deadline or tonumber(deadline) < now or not seen or tonumber(seen) + tonumber(ARGV[5]) < now then
      redis.call('ZREM', KEYS[3], m)
    elseif string.sub(m, 1, #ARGV[4] + 1) == ARGV[4] .. '|' then
      redis.call('ZREM', KEYS[3], m)
      break
    elseif inst ~= mine then
      rank = rank + 1
      if rank >= free then
        behind = true
        break
      end
    end
  end
  -- Not in the queue at all (dropped while its instance was out of touch): it goes now.
  if behind then return {0, 100} end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
return {1, 0}
",
            ),
            // KEYS: slots, strikes. ARGV: member, hold ms, ok (1/0).
            release: script(
                r"
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
if ARGV[3] == '1' then redis.call('DEL', KEYS[2]) end
return 1
",
            ),
            // KEYS: instances. ARGV: instance, alive ms. Returns the instances alive.
            heartbeat: script(
                r"
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 10 * tonumber(ARGV[2]))
return redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[2]), '+inf')
",
            ),
            // KEYS: slots. ARGV: pairs of (ms from now, member), each added with that score.
            record: script(
                r"
for i = 1, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[i]), ARGV[i + 1])
end
return 1
",
            ),
            // KEYS: pause, strikes. ARGV: retry-after ms or 0.
            pause: script(
                r"
local strikes = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], 120000)
local ms = tonumber(ARGV[1])
if ms == 0 then ms = 1000 * 2 ^ math.min(strikes - 1, 5) end
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return ms
",
            ),
            // KEYS: queue, vt, slots. ARGV: member, client, max, wait ms, step ms, the
            // window's limit. The member is stored as member|deadline; each client's creates
            // are spaced by step in virtual time, so the queue takes clients in turn. The
            // queue is full at max beyond the window's free slots (a burst the window takes
            // at once is no queue). Returns {1, length} or {0, length}.
            enqueue: script(
                r"
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local max = tonumber(ARGV[3]) + math.max(0, tonumber(ARGV[6]) - redis.call('ZCARD', KEYS[3]))
local length = redis.call('ZCARD', KEYS[1])
if length >= max then
  for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local deadline = string.match(m, '|(%d+)$')
    if not deadline or tonumber(deadline) < now then redis.call('ZREM', KEYS[1], m) end
  end
  length = redis.call('ZCARD', KEYS[1])
  if length >= max then return {0, length} end
end
local vt = math.max(now, tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or 0)) + tonumber(ARGV[5])
redis.call('HSET', KEYS[2], ARGV[2], vt)
redis.call('PEXPIRE', KEYS[2], 3600000)
redis.call('ZADD', KEYS[1], vt, ARGV[1] .. '|' .. (now + tonumber(ARGV[4])))
return {1, length + 1}
",
            ),
            // KEYS: queue. ARGV: member (without its deadline).
            dequeue: script(
                r"
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(m, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then redis.call('ZREM', KEYS[1], m) end
end
return 1
",
            ),
            // KEYS: lease. ARGV: instance, lease ms. 1 renewed, 2 taken again, 0 another's.
            renew: script(
                r"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return 0
",
            ),
            // KEYS: followed. ARGV: the lease keys' prefix. The ids without a lease.
            orphans: script(
                r"
local orphans = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. id) == 0 then table.insert(orphans, id) end
end
return orphans
",
            ),
            // KEYS: lease. ARGV: instance.
            drop_lease: script(
                r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
",
            ),
        }
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// 64-bit FNV-1a: the same on every build, so every instance derives the same prefix (and the
/// key itself never reaches Redis).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `redis://user:secret@host` → `redis://user:***@host`.
fn hide_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trips_and_passwords_are_hidden() {
        let meta = Meta {
            resolution: "2K".into(),
            started_unix_ms: 1_780_000_000_123,
            host: Some("127.0.0.1:8080".into()),
        };
        assert_eq!(Meta::decode(&meta.encode()), Some(meta));
        assert_eq!(
            hide_password("redis://:hunter2@10.0.0.5:6379/0"),
            "redis://:***@10.0.0.5:6379/0"
        );
        assert_eq!(
            hide_password("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_ne!(fnv1a("a\nsk-1"), fnv1a("a\nsk-2"));
    }
}
