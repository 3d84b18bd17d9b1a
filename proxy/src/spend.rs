//! The spend guard: limits in money on what the proxy's key spends, per caller (client
//! address, or user with sign-in) per UTC hour and per UTC day, and for the whole proxy per UTC day. A create first
//! reserves its price (the model's price for its resolution) in every window; once the API
//! has answered, the reservation becomes the run's own `costUsd`, or is given back when no
//! run was made. Over a limit: `429 spend_limit_reached`, saying when the window resets.
//! With `--redis` the counters live there (shared by the instances, kept across restarts);
//! else in memory. Refunds of failed runs are not credited back (the guard errs on the safe
//! side).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use runbase_image::core::time::iso8601;

use crate::auth::Caller;
use crate::http::error::ApiError;
use crate::store::Shared;

/// Micro-dollars, as the API's `costUsd`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SpendLimits {
    pub per_client_hour: Option<u64>,
    pub per_client_day: Option<u64>,
    pub per_day: Option<u64>,
}

impl SpendLimits {
    pub fn any(&self) -> bool {
        self.per_client_hour.is_some() || self.per_client_day.is_some() || self.per_day.is_some()
    }
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// One counting window a create falls in.
struct Window {
    key: String,
    limit: u64,
    resets_at_ms: i64,
    what: String,
}

pub struct SpendGuard {
    limits: SpendLimits,
    shared: Option<Arc<Shared>>,
    /// key → (spent, when the key's window ends).
    memory: Mutex<HashMap<String, (u64, i64)>>,
    check: redis::Script,
}

/// A create's reserved price; [`Hold::settle`] with what the API charged, or [`Hold::keep`]
/// when that is unknown. Dropped otherwise (the create was abandoned before it went
/// upstream), it is given back.
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
            memory: Mutex::new(HashMap::new()),
            // KEYS: the windows' counters. ARGV: amount, then limit and ttl ms per key.
            // Returns 0 (added to every counter) or the 1-based index of the window it would
            // overrun.
            check: redis::Script::new(
                r"
local amount = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local spent = tonumber(redis.call('GET', key) or 0)
  if spent + amount > tonumber(ARGV[2 * i]) then return i end
end
for i, key in ipairs(KEYS) do
  redis.call('INCRBY', key, amount)
  redis.call('PEXPIRE', key, ARGV[2 * i + 1])
end
return 0
",
            ),
        })
    }

    fn windows(&self, client: &Caller, now_ms: i64) -> Vec<Window> {
        let (hour, day) = (now_ms.div_euclid(HOUR_MS), now_ms.div_euclid(DAY_MS));
        let mut windows = Vec::new();
        let who = client.noun();
        let mut add = |limit: Option<u64>, key: String, resets_at_ms: i64, what: String| {
            if let Some(limit) = limit {
                windows.push(Window {
                    key,
                    limit,
                    resets_at_ms,
                    what,
                });
            }
        };
        add(
            self.limits.per_client_hour,
            format!("spend:client:{client}:h{hour}"),
            (hour + 1) * HOUR_MS,
            format!("this {who}'s spending this hour"),
        );
        add(
            self.limits.per_client_day,
            format!("spend:client:{client}:d{day}"),
            (day + 1) * DAY_MS,
            format!("this {who}'s spending today (UTC)"),
        );
        add(
            self.limits.per_day,
            format!("spend:all:d{day}"),
            (day + 1) * DAY_MS,
            "this proxy's spending today (UTC)".to_string(),
        );
        windows
    }

    /// Reserves `price` for a create from `client` in every window, or refuses it.
    pub async fn reserve(self: &Arc<Self>, client: &Caller, price: u64) -> Result<Hold, ApiError> {
        let now_ms = crate::unix_ms();
        let windows = self.windows(client, now_ms);
        let over = match &self.shared {
            Some(shared) => {
                let mut invocation = self.check.prepare_invoke();
                invocation.arg(price);
                for window in &windows {
                    invocation
                        .key(shared.key(&window.key))
                        .arg(window.limit)
                        .arg(window.resets_at_ms - now_ms + 60_000);
                }
                let answer: Option<usize> = shared.invoke(&invocation).await;
                match answer {
                    Some(0) => None,
                    Some(i) => windows.get(i - 1),
                    None => {
                        return Err(ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "SHARED_STATE_UNAVAILABLE",
                            "The proxy cannot reach its shared state (Redis) to check its spending limits; retry shortly",
                        )
                        .retry_after(5))
                    }
                }
            }
            None => {
                let mut memory = crate::locked(&self.memory);
                memory.retain(|_, (_, ends)| *ends > now_ms);
                let over = windows
                    .iter()
                    .find(|w| memory.get(&w.key).map_or(0, |(spent, _)| *spent) + price > w.limit);
                if over.is_none() {
                    for window in &windows {
                        memory
                            .entry(window.key.clone())
                            .or_insert((0, window.resets_at_ms))
                            .0 += price;
                    }
                }
                over
            }
        };
        if let Some(window) = over {
            let secs = ((window.resets_at_ms - now_ms) / 1000).max(1) as u64;
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "spend_limit_reached",
                format!(
                    "The limit on {} (${:.2}) is reached: it resets at {} (in {} min)",
                    window.what,
                    window.limit as f64 / 1e6,
                    iso8601(window.resets_at_ms),
                    secs.div_ceil(60)
                ),
            )
            .retry_after(secs));
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
                let now_ms = crate::unix_ms();
                for (key, ends) in keys {
                    let ttl = Duration::from_millis((ends - now_ms + 60_000).max(1) as u64);
                    shared.incr_by(key, by, ttl).await;
                }
            }
            None => {
                let mut memory = crate::locked(&self.memory);
                for (key, ends) in keys {
                    let entry = memory.entry(key.clone()).or_insert((0, *ends));
                    entry.0 = entry.0.saturating_add_signed(by);
                }
            }
        }
    }
}

impl Hold {
    /// The API answered: `Some(cost)` charged for the run made, `None` no run was made.
    pub async fn settle(mut self, charged: Option<u64>) {
        self.settled = true;
        let by = charged.unwrap_or(0) as i64 - self.reserved as i64;
        self.guard.adjust(&self.keys, by).await;
    }

    /// Whether a run was made is unknown (no answer): the price stays counted.
    pub fn keep(mut self) {
        self.settled = true;
    }

    /// The API answered a create: `Some(run's costUsd)` when a run was made (a run without
    /// one keeps the reserved price), `None` when not.
    pub async fn settle_run(self, run: Option<Option<u64>>) {
        let charged = run.map(|cost| cost.unwrap_or(self.reserved));
        self.settle(charged).await;
    }
}
