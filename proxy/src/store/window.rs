//! The key's window and create queue as every instance shares them in Redis.

use std::time::Duration;

use super::{Shared, StoreError, ALIVE};
pub use runbase_image::core::gateway::store::clamp_pause_ms;

use crate::lock::locked;

/// How the scheduler may grant slots now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantMode {
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

impl Shared {
    /// How slots may be granted now (see the module's comment).
    pub fn budget(&self, requests: usize, hold: Duration) -> GrantMode {
        let health = locked(&self.health);
        let settled = health.since.elapsed() >= hold;
        if health.up && (health.clean || settled) {
            return GrantMode::Shared;
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
        GrantMode::Alone {
            limit,
            record: health.up,
        }
    }

    /// True once, after Redis came back: the caller writes its slots back with `record`.
    pub fn take_replay_due(&self) -> bool {
        std::mem::take(&mut locked(&self.health).replay_due)
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

    /// An upstream 429: every instance pauses (`Retry-After`, else 1, 2, 4 … 30 s (capped)).
    pub async fn pause(&self, retry_after_ms: Option<u64>) {
        let mut invocation = self.scripts.pause.key(self.key("pause"));
        invocation
            .key(self.key("strikes"))
            .arg(retry_after_ms.map_or(0, clamp_pause_ms));
        let _: redis::RedisResult<i64> = self.script(&invocation).await;
    }

    /// Joins the shared create queue: its member there, unless the queue is full.
    pub async fn enqueue(
        &self,
        client: &str,
        max: usize,
        limit: usize,
        wait: Duration,
        step: Duration,
    ) -> Result<String, StoreError> {
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
        match added {
            1 => Ok(member),
            _ => Err(StoreError::QueueFull(length as usize)),
        }
    }

    /// Counts one request of `caller` in its `name`d window, which every instance shares:
    /// `Some(Err(wait))` over the limit, `None` when Redis did not answer.
    pub async fn count_call(
        &self,
        name: &str,
        caller: &str,
        limit: usize,
        window: Duration,
    ) -> Option<Result<(), Duration>> {
        let mut invocation = self
            .scripts
            .calls
            .key(self.key(&format!("calls:{name}:{caller}")));
        invocation
            .arg(limit)
            .arg(window.as_millis() as u64)
            .arg(self.member());
        let wait_ms: u64 = self.script(&invocation).await.ok()?;
        Some(match wait_ms {
            0 => Ok(()),
            ms => Err(Duration::from_millis(ms)),
        })
    }

    /// Leaves the shared create queue (gone or timed out).
    pub async fn dequeue(&self, member: &str) {
        let mut invocation = self.scripts.dequeue.key(self.key("queue"));
        invocation.arg(member);
        let _: redis::RedisResult<i64> = self.script(&invocation).await;
    }
}
