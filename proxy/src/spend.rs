//! The spend guard: limits in money on what the proxy's key spends, per caller (client
//! address, or user with sign-in) per UTC hour and per UTC day, and for the whole proxy per UTC day. A create first
//! reserves its price (the model's price for its resolution) in every window; once the API
//! has answered, the reservation becomes the run's own `costUsd`, or is given back when no
//! run was made. Over a limit: `429 spend_limit_reached`, saying when the window resets.
//! With `--redis` the counters live there (shared by the instances, kept across restarts);
//! else in memory. Refunds of failed runs are not credited back (the guard errs on the safe
//! side).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use runbase_image::core::gateway::spend::{spend_windows, SpendLedger};
use runbase_image::core::gateway::{store, Refusal};

pub use runbase_image::core::gateway::spend::SpendLimits;

use crate::auth::Caller;
use crate::http::error::ApiError;
use crate::store::Shared;
use crate::upstream::UpstreamReply;

pub struct SpendGuard {
    limits: SpendLimits,
    shared: Option<Arc<Shared>>,
    memory: Mutex<SpendLedger>,
    check: redis::Script,
}

/// A create's reserved price, [`settle`]d by what became of the create. Dropped otherwise
/// (the create was abandoned before it went upstream), it is given back.
pub struct Hold {
    guard: Arc<SpendGuard>,
    keys: Vec<(String, i64)>,
    reserved: u64,
    settled: bool,
}

impl Drop for Hold {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let guard = self.guard.clone();
        let (keys, by) = (std::mem::take(&mut self.keys), -(self.reserved as i64));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { guard.adjust(&keys, by).await });
        }
    }
}

impl SpendGuard {
    pub fn new(limits: SpendLimits, shared: Option<Arc<Shared>>) -> Arc<SpendGuard> {
        Arc::new(SpendGuard {
            limits,
            shared,
            memory: Mutex::new(SpendLedger::default()),
            check: redis::Script::new(&store::script("spend").unwrap_or_default()),
        })
    }

    /// Reserves `price` for a create from `client` in every window, or refuses it.
    pub async fn reserve(self: &Arc<Self>, client: &Caller, price: u64) -> Result<Hold, ApiError> {
        let now_ms = crate::clock::unix_ms();
        let windows = spend_windows(&self.limits, &client.to_string(), client.noun(), now_ms);
        let over = match &self.shared {
            Some(shared) => {
                let mut invocation = self.check.prepare_invoke();
                invocation.arg(price);
                for window in &windows {
                    invocation
                        .key(shared.key(&window.key))
                        .arg(window.limit)
                        .arg(window.ttl_ms(now_ms));
                }
                let answer: Option<usize> = shared.invoke(&invocation).await;
                match answer {
                    Some(0) => None,
                    Some(i) => Some(i - 1),
                    None => {
                        return Err(
                            Refusal::shared_state_unavailable("check its spending limits").into(),
                        )
                    }
                }
            }
            None => crate::lock::locked(&self.memory).reserve(&windows, price, now_ms),
        };
        if let Some(window) = over.and_then(|i| windows.get(i)) {
            return Err(window.refusal(now_ms).into());
        }
        Ok(Hold {
            guard: self.clone(),
            keys: windows
                .into_iter()
                .map(|w| (w.key, w.resets_at_ms))
                .collect(),
            reserved: price,
            settled: false,
        })
    }

    async fn adjust(&self, keys: &[(String, i64)], by: i64) {
        if by == 0 || keys.is_empty() {
            return;
        }
        match &self.shared {
            Some(shared) => {
                let now_ms = crate::clock::unix_ms();
                for (key, ends) in keys {
                    let ttl = Duration::from_millis((ends - now_ms + 60_000).max(1) as u64);
                    shared.incr_by(key, by, ttl).await;
                }
            }
            None => crate::lock::locked(&self.memory).adjust(keys, by),
        }
    }
}

/// What became of a create, for the price held for it.
pub enum Upshot<'a> {
    /// It never went upstream (refused here, or given up in the queue): nothing was made.
    NotSent,
    /// The API answered: a run is charged its `costUsd` (the price held, when it names
    /// none); an error answer made no run.
    Answered(&'a UpstreamReply),
    /// No answer came: a run may have been made, so the price stays counted.
    Unanswered,
}

/// The one place a create's spend is settled (`None`: no spend limits are set).
pub async fn settle(hold: Option<Hold>, upshot: Upshot<'_>) {
    let Some(mut hold) = hold else {
        return;
    };
    let charged = match upshot {
        // Given back by dropping it: the drop spawns the give-back, which a browser that goes
        // away meanwhile cannot cut short.
        Upshot::NotSent => return drop(hold),
        Upshot::Answered(answer) => answer
            .run
            .as_ref()
            .map_or(0, |run| run.cost_micro_usd.unwrap_or(hold.reserved)),
        Upshot::Unanswered => hold.reserved,
    };
    hold.settled = true;
    // Unanswered: charged the price held, so nothing to adjust (a run may have been made).
    let by = charged as i64 - hold.reserved as i64;
    hold.guard.adjust(&hold.keys, by).await;
}
