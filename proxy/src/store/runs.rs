//! Runs in Redis: each one's latest state and meta, who polls it (a lease), the scout of a
//! resolution, and what run times were learned. States are written by one task, latest first.

use std::collections::HashMap;
use std::time::Duration;

use runbase_image::core::api::Run;

use super::{Lease, Meta, Shared, StoreError, StoredRun, LEASE, RUN_TTL};
use crate::lock::locked;

/// A state to write to Redis; only the latest per run is kept while Redis is away.
pub(super) struct RunWrite {
    json: String,
    meta: Option<String>,
    /// The user who created it (with sign-in): written with every state, to live as long.
    owner: Option<String>,
    finished: bool,
    keep_finished: Duration,
}

impl RunWrite {
    pub(super) fn new(
        run: &Run,
        meta: Option<String>,
        owner: Option<&str>,
        keep_finished: Duration,
    ) -> Option<RunWrite> {
        Some(RunWrite {
            json: serde_json::to_string(run).ok()?,
            meta,
            owner: owner.map(str::to_string),
            finished: run.status.is_finished(),
            keep_finished,
        })
    }
}

impl Shared {
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

    pub(super) async fn claim_for(&self, name: &str, ttl: Duration) -> Option<bool> {
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
    pub(super) async fn drop_claim(&self, name: &str) {
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

    /// A run's latest state, its poller's meta and its owner. `Err` when Redis did not answer.
    pub async fn load(&self, id: &str) -> Result<Option<StoredRun>, StoreError> {
        let mut mget = redis::cmd("MGET");
        mget.arg(self.key(&format!("run:{id}")))
            .arg(self.key(&format!("meta:{id}")))
            .arg(self.key(&format!("owner:{id}")));
        let (run, meta, owner): (Option<String>, Option<String>, Option<String>) =
            self.query(&mget).await?;
        let run = run.and_then(|json| serde_json::from_str::<Run>(&json).ok());
        Ok(run.map(|run| StoredRun {
            run,
            meta: meta.as_deref().and_then(Meta::decode),
            owner,
        }))
    }

    /// Forgets a run nobody can follow any more.
    pub async fn unfollow(&self, id: &str) {
        let mut srem = redis::cmd("SREM");
        srem.arg(self.key("followed")).arg(id);
        let _: redis::RedisResult<i64> = self.query(&srem).await;
    }

    /// A run's new state, written in order by the writer task (only the latest of a run is
    /// kept while Redis is away, so nothing piles up).
    pub fn put_run(
        &self,
        run: &Run,
        meta: Option<&Meta>,
        owner: Option<&str>,
        keep_finished: Duration,
    ) {
        let mut writes = locked(&self.writes);
        let meta = meta
            .map(Meta::encode)
            .or_else(|| writes.get(&run.id).and_then(|w| w.meta.clone()));
        let Some(write) = RunWrite::new(run, meta, owner, keep_finished) else {
            return;
        };
        writes.insert(run.id.clone(), write);
        drop(writes);
        self.write_wake.notify_one();
    }

    /// Writes every pending run state; `false` if Redis did not take them all.
    pub(super) async fn flush_writes(&self) -> bool {
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
    pub async fn put_new_run(
        &self,
        run: &Run,
        meta: &Meta,
        owner: Option<&str>,
        keep_finished: Duration,
    ) {
        let Some(write) = RunWrite::new(run, Some(meta.encode()), owner, keep_finished) else {
            return;
        };
        if self.write(&run.id, &write).await.is_err() {
            locked(&self.writes).entry(run.id.clone()).or_insert(write);
            self.write_wake.notify_one();
        }
    }

    /// One run's state, its poller's meta, the set of runs followed and the announcement,
    /// in one atomic step: `put_run.lua`, as the package's server entry writes runs too.
    pub(super) async fn write(&self, id: &str, write: &RunWrite) -> redis::RedisResult<()> {
        let ttl = if write.finished {
            write.keep_finished
        } else {
            RUN_TTL
        };
        let mut invocation = self.scripts.put_run.key(self.key(&format!("run:{id}")));
        invocation
            .key(self.key(&format!("owner:{id}")))
            .key(self.key(&format!("meta:{id}")))
            .key(self.key("followed"))
            .arg(&write.json)
            .arg(write.owner.as_deref().unwrap_or(""))
            .arg(u8::from(write.finished))
            .arg(write.meta.as_deref().unwrap_or(""))
            .arg(ttl.as_millis().max(1) as u64)
            .arg(id)
            .arg(self.key("changed"));
        self.script::<i64>(&invocation).await.map(drop)
    }
}
