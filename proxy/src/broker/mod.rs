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
//!
//! The facade is [`Broker`]: `create`, `get` and `stats`; each of its jobs has a file:
//! - `scheduler`: the key's window, shared out between creates and polls;
//! - `create`: the create queue;
//! - `follow`: each run's one poller;
//! - `run_times`: what runs take, learned per resolution, and the scouts;
//! - `table`: the run table and its long-polls;
//! - `takeover`: with Redis, runs another instance polled and learned times;
//! - `lookup`: ids this instance does not know;
//! - `stats`: what `/__runbase/stats` and `/metrics` show.

mod create;
mod follow;
mod lookup;
mod run_times;
pub mod scheduler;
mod stats;
mod table;
mod takeover;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderValue;
use tokio::time::Instant;

use crate::http::error::ApiError;
use crate::store::Shared;
use crate::upstream::{Upstream, UpstreamReply};
use run_times::RunTimes;
use scheduler::Scheduler;
use stats::Counters;
use table::{RunTable, Slot};

pub use stats::pass_through_stats;
pub use table::requested_wait;

#[derive(Clone, Debug)]
pub struct BrokerSettings {
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

pub struct Broker {
    pub upstream: Arc<Upstream>,
    pub sched: Arc<Scheduler>,
    pub config: BrokerSettings,
    table: RunTable,
    run_times: RunTimes,
    counters: Mutex<Counters>,
    shared: Option<Arc<Shared>>,
    /// The runs this instance polls.
    following: Mutex<HashSet<String>>,
    /// Ids the upstream answered 404 for, and when.
    gone: Mutex<HashMap<String, Instant>>,
}

impl Broker {
    pub fn new(
        upstream: Arc<Upstream>,
        sched: Arc<Scheduler>,
        config: BrokerSettings,
        shared: Option<Arc<Shared>>,
    ) -> Arc<Self> {
        let broker = Arc::new(Broker {
            upstream,
            sched,
            table: RunTable::new(config.keep_finished, config.keep_max),
            config,
            run_times: RunTimes::new(),
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

    pub fn knows(&self, id: &str) -> bool {
        self.table.contains(id)
    }

    /// The user who created a run the table holds (with sign-in).
    pub fn owner(&self, id: &str) -> Option<Arc<str>> {
        self.table.owner(id)
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
        let Ok(Some(stored)) = shared.load(id).await else {
            return false;
        };
        let owner = stored.owner.map(Arc::from);
        self.table.insert_stored(id, stored.run, owner);
        true
    }
}

/// The proxy's own error kept as an answer, so every waiter gets the same.
fn stored(error: ApiError) -> UpstreamReply {
    UpstreamReply {
        status: error.status(),
        content_type: Some(HeaderValue::from_static("application/json")),
        retry_after: error.0.retry_after_secs.map(HeaderValue::from),
        body: Bytes::from(error.0.body_json()),
        run: None,
    }
}
