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
//!
//! Here: the connection, its health and the heartbeat; `window` has the key's shared window
//! and create queue, `runs` the runs, their leases and what was learned, `scripts` the Lua.

mod runs;
mod scripts;
mod window;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Notify;
use tokio::time::Instant;

use runs::RunWrite;
use scripts::Scripts;

pub use window::{clamp_pause_ms, GrantMode, Take, Want};

use crate::lock::locked;
use crate::stats::{RedisHealth, SharedStats};

/// What can go wrong with the shared state.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("--redis {url}: not a Redis URL ({source})")]
    NotAUrl {
        url: String,
        source: redis::RedisError,
    },
    #[error("Redis did not answer: {0}")]
    Unreachable(#[from] redis::RedisError),
    #[error("the shared create queue is full ({0} waiting)")]
    QueueFull(usize),
}

/// How long a run's poller holds it without renewing: a dead instance's runs are taken over
/// within this (plus a second).
pub const LEASE: Duration = Duration::from_secs(5);

/// An instance not seen for this long is dead (its queued creates are dropped).
const ALIVE: Duration = Duration::from_millis(runbase_image::core::gateway::store::ALIVE_MS);

/// A run not finished is kept this long in Redis after its last change.
const RUN_TTL: Duration = Duration::from_millis(runbase_image::core::gateway::store::RUN_TTL_MS);

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

/// A run as Redis holds it.
pub struct StoredRun {
    pub run: runbase_image::core::api::Run,
    /// What its poller needs (while it is not finished).
    pub meta: Option<Meta>,
    /// The user who created it, with sign-in.
    pub owner: Option<String>,
}

/// Who polls a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lease {
    Mine,
    /// Mine again: it had vanished (Redis restarted), so had the run's state.
    Retaken,
    Another,
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

impl Shared {
    /// Checks the URL; the connection is made (and remade) in the background.
    pub fn new(url: &str, key: &str, upstream: &str) -> Result<Arc<Shared>, StoreError> {
        let client = redis::Client::open(url).map_err(|source| StoreError::NotAUrl {
            url: hide_password(url),
            source,
        })?;
        let instance = format!(
            "{}-{}",
            std::process::id(),
            crate::clock::unix_ms() % 1_000_000_000
        );
        Ok(Arc::new(Shared {
            client,
            conn: tokio::sync::Mutex::new(None),
            last_attempt: Mutex::new(None),
            prefix: runbase_image::core::gateway::store::prefix(upstream, key),
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
                tracing::info!(
                    "redis: {} answers{again} (instance {})",
                    self.shown_url,
                    self.instance
                );
            }
            Err(e) if health.up || !health.ever && health.last_error != e.to_string() => {
                if health.up {
                    health.clean = false;
                    health.since = Instant::now();
                }
                health.up = false;
                health.last_error = e.to_string();
                tracing::warn!(
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

    pub fn stats(&self) -> SharedStats {
        let health = locked(&self.health);
        SharedStats {
            redis: if health.up {
                RedisHealth::Up
            } else {
                RedisHealth::Down
            },
            url: self.shown_url.clone(),
            instance: self.instance.clone(),
            instances_alive: health.instances,
            pending_writes: locked(&self.writes).len(),
        }
    }
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
    }
}
