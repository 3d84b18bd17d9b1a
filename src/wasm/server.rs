//! The rules of the package's `runbase-image/server` entry (js/server/), which are the core's
//! (`core::gateway`, the same code runbase-server runs): what a create must be and what goes
//! upstream, the refusals, upstream answers read and scrubbed, per-caller windows, spend
//! windows, the shared store's layout and scripts, and the poll pace. Answers cross as JSON
//! text (this module is no browser's: its size is not budgeted, so plain and uniform wins).

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::core::api::parse_retry_after;
use crate::core::code::ErrorCode;
use crate::core::gateway::spend::{spend_windows, SpendLedger, SpendLimits, SpendWindow};
use crate::core::gateway::{self, store, Refusal};
use crate::core::policy::{poll_delay_ms, Settings};
use crate::core::window;

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Outcome<T: Serialize> {
    #[serde(skip_serializing_if = "Option::is_none")]
    admitted: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<Refusal>,
}

fn outcome<T: Serialize>(result: Result<T, Refusal>) -> String {
    match result {
        Ok(value) => json(&Outcome {
            admitted: Some(value),
            refusal: None,
        }),
        Err(refusal) => json(&Outcome::<T> {
            admitted: None,
            refusal: Some(refusal),
        }),
    }
}

/// A create's body checked: `{admitted: {body, resolution, priceMicroUsd}}` or `{refusal}`.
#[wasm_bindgen(js_name = admitCreate)]
pub fn admit_create(body: &[u8], allowed_models: Vec<String>) -> String {
    outcome(gateway::admit_create(body, &allowed_models))
}

/// An upstream answer for the browser: `{admitted: {status, body, run?}}` or `{refusal}` (a
/// success that is not a run).
#[wasm_bindgen(js_name = readUpstream)]
pub fn read_upstream(status: u16, body: &[u8], key: &str) -> String {
    outcome(gateway::read_upstream(status, body, key))
}

/// Whether an upstream answer is the key's window being full (`429 RATE_LIMITED`; not
/// `USAGE_EXCEEDED`, which waiting does not cure), as the body `readUpstream` wrote says.
#[wasm_bindgen(js_name = isRateLimited)]
pub fn is_rate_limited(status: u16, body: &str) -> bool {
    gateway::is_rate_limited(status, body.as_bytes())
}

/// One of the handler's refusals by name, with its details: a JSON `Refusal`.
#[wasm_bindgen]
pub fn refusal(kind: &str, text: &str, number: f64) -> String {
    let refusal = match kind {
        "not_found" => Refusal::not_found(text),
        "method_not_allowed" => Refusal::method_not_allowed(),
        "too_large" => Refusal::too_large(),
        "no_such_run" => Refusal::no_such_run(text),
        "auth_required" => Refusal::auth_required(text),
        "requests" => Refusal::too_many("requests", text, number),
        "lookups" => Refusal::too_many("lookups of unknown run ids", text, number),
        "key_busy" => Refusal::key_busy(0, number),
        "shared_state" => Refusal::shared_state_unavailable(text),
        "upstream_timeout" => gateway::upstream_timeout(),
        "upstream_unreachable" => gateway::upstream_unreachable(),
        "incomplete_body" => Refusal::incomplete_body(),
        "api_key_missing" => Refusal::new(ErrorCode::ApiKeyMissing, "The proxy has no Runbase API key: set createRunbaseProxy's apiKey (as RUNBASE_API_KEY) where it runs",
        ),
        "auth_unavailable" => Refusal::new(ErrorCode::AuthUnavailable, text).retry_after(5),
        _ => Refusal::new(ErrorCode::InternalError, text),
    };
    json(&refusal)
}

/// The refusal of a page from a foreign origin, for a handler that accepts `accepted`
/// (comma-separated origins).
#[wasm_bindgen(js_name = originRefusal)]
pub fn origin_refusal(origin: &str, accepted: &str) -> String {
    json(&Refusal::origin_not_allowed(
        origin,
        &format!("pages at {accepted}"),
        &format!("To allow this page, add {origin} to createRunbaseProxy's allowedOrigins"),
    ))
}

/// `createRunbaseProxy`'s options (their meaning is runbase-server's flags').
const OPTIONS: [&str; 13] = [
    "apiKey",
    "upstream",
    "allowedOrigins",
    "authenticate",
    "redis",
    "clientLimit",
    "spendPerClientHourUsd",
    "spendPerClientDayUsd",
    "spendPerDayUsd",
    "longPollSeconds",
    "queueWaitMs",
    "upstreamTimeoutMs",
    "clientAddress",
];

/// `createRunbaseProxy`'s option names.
#[wasm_bindgen(js_name = optionNames)]
pub fn option_names() -> Vec<String> {
    OPTIONS.iter().map(|name| name.to_string()).collect()
}

/// The option an unknown name most likely meant ("did you mean").
#[wasm_bindgen(js_name = closestOption)]
pub fn closest_option(given: &str) -> Option<String> {
    crate::core::suggest::field_name(given, &OPTIONS).map(str::to_string)
}

/// A user id as `authenticate` named it, trimmed; `Err` says why it is none.
#[wasm_bindgen(js_name = userId)]
pub fn user_id(id: &str) -> Result<String, String> {
    gateway::user_id(id).map(str::to_string)
}

/// The body limit of a create.
#[wasm_bindgen(js_name = maxBodyBytes)]
pub fn max_body_bytes() -> f64 {
    gateway::MAX_BODY_BYTES as f64
}

/// Whole seconds for a Retry-After header, never 0.
#[wasm_bindgen(js_name = retryAfterSecs)]
pub fn retry_after_secs(wait_ms: f64) -> f64 {
    gateway::retry_after_secs(wait_ms) as f64
}

/// A `Retry-After` header read as ms from `now_ms` (seconds or an HTTP date).
#[wasm_bindgen(js_name = parseRetryAfter)]
pub fn parse_retry_after_ms(header: &str, now_ms: f64) -> Option<f64> {
    parse_retry_after(header, now_ms).map(|ms| ms as f64)
}

/// How long after a run started to read it again: the client's own pace.
#[wasm_bindgen(js_name = pollDelayMs)]
pub fn poll_delay(elapsed_ms: f64) -> f64 {
    poll_delay_ms(&Settings::default(), elapsed_ms)
}

/// A pause asked for by a 429's Retry-After, within reason.
#[wasm_bindgen(js_name = clampPauseMs)]
pub fn clamp_pause_ms(ms: f64) -> f64 {
    store::clamp_pause_ms(ms.max(0.0) as u64) as f64
}

/// The key's window as runbase-server uses it: the requests a proxy may send (the documented
/// limit less the spare), and how long each counts after its answer (window + margin), in ms.
#[wasm_bindgen(js_name = keyWindow)]
pub fn key_window() -> Vec<f64> {
    vec![
        (gateway::KEY_REQUESTS - gateway::KEY_SPARE) as f64,
        (gateway::KEY_WINDOW_MS + gateway::KEY_MARGIN_MS) as f64,
    ]
}

/// The prefix of every name of one key in the shared store.
#[wasm_bindgen(js_name = storePrefix)]
pub fn store_prefix(upstream: &str, key: &str) -> String {
    store::prefix(upstream, key)
}

/// The shared store's times, in ms: how long an instance not seen is alive, and how long a
/// run not finished is kept.
#[wasm_bindgen(js_name = storeTimes)]
pub fn store_times() -> Vec<f64> {
    vec![store::ALIVE_MS as f64, store::RUN_TTL_MS as f64]
}

/// A Lua script of the shared store, as sent to Redis.
#[wasm_bindgen(js_name = storeScript)]
pub fn store_script(name: &str) -> Option<String> {
    store::script(name)
}

/// The key's window in this instance's memory (without a store): `take.lua`, `release.lua`
/// and `pause.lua` as one process keeps them.
#[wasm_bindgen]
pub struct KeySlots(store::KeySlots);

#[wasm_bindgen]
impl KeySlots {
    #[wasm_bindgen(constructor)]
    pub fn new() -> KeySlots {
        KeySlots(store::KeySlots::default())
    }

    /// A slot's id (> 0), or minus the ms to wait.
    pub fn take(&mut self, limit: usize, lease_ms: f64, now_ms: f64) -> f64 {
        match self.0.take(limit, lease_ms, now_ms) {
            Ok(id) => id as f64,
            Err(wait_ms) => -wait_ms,
        }
    }

    pub fn release(&mut self, id: f64, hold_ms: f64, ok: bool, now_ms: f64) {
        self.0.release(id as u64, hold_ms, ok, now_ms);
    }

    /// An upstream 429 (`retry_after_ms`: its Retry-After, if any): the pause, in ms.
    pub fn pause(&mut self, retry_after_ms: Option<f64>, now_ms: f64) -> f64 {
        self.0
            .pause(retry_after_ms.map(|ms| ms.max(0.0) as u64), now_ms)
    }
}

impl Default for KeySlots {
    fn default() -> Self {
        Self::new()
    }
}

/// A window per caller, counted in this instance's memory.
#[wasm_bindgen]
pub struct CallerWindows(window::CallerWindows);

#[wasm_bindgen]
impl CallerWindows {
    #[wasm_bindgen(constructor)]
    pub fn new(limit: usize, window_ms: f64) -> CallerWindows {
        CallerWindows(window::CallerWindows::new(limit, window_ms))
    }

    /// Counts a request of `caller` now: 0, or the ms until it may send (not counted).
    pub fn check(&mut self, caller: &str, now_ms: f64) -> f64 {
        self.0.check(caller, now_ms).err().unwrap_or(0.0)
    }

    /// The ms until `caller` may send, counting nothing (0: now).
    pub fn blocked(&mut self, caller: &str, now_ms: f64) -> f64 {
        self.0.blocked(caller, now_ms).unwrap_or(0.0)
    }

    /// Counts one now, over the limit or not.
    pub fn record(&mut self, caller: &str, now_ms: f64) {
        self.0.record(caller, now_ms);
    }
}

/// The spend limits of one handler, with this instance's counters (used without a store).
#[wasm_bindgen]
pub struct SpendGuard {
    limits: SpendLimits,
    ledger: SpendLedger,
}

#[wasm_bindgen]
impl SpendGuard {
    /// Limits in micro-dollars, each `undefined` when not set.
    #[wasm_bindgen(constructor)]
    pub fn new(
        per_client_hour: Option<f64>,
        per_client_day: Option<f64>,
        per_day: Option<f64>,
    ) -> SpendGuard {
        let micro = |usd: Option<f64>| usd.map(|v| v.max(0.0) as u64);
        SpendGuard {
            limits: SpendLimits {
                per_client_hour: micro(per_client_hour),
                per_client_day: micro(per_client_day),
                per_day: micro(per_day),
            },
            ledger: SpendLedger::default(),
        }
    }

    /// The windows a create of `caller` falls in now: JSON `[{key, limit, resetsAtMs}]`.
    pub fn windows(&self, caller: &str, noun: &str, now_ms: f64) -> String {
        json(&spend_windows(&self.limits, caller, noun, now_ms as i64))
    }

    /// The refusal of a create that would overrun window `index` of [`SpendGuard::windows`].
    pub fn refusal(&self, caller: &str, noun: &str, index: usize, now_ms: f64) -> String {
        let windows = spend_windows(&self.limits, caller, noun, now_ms as i64);
        windows
            .get(index)
            .map(|w: &SpendWindow| json(&w.refusal(now_ms as i64)))
            .unwrap_or_default()
    }

    /// Reserves `price` in this instance's counters: -1, or the window it would overrun.
    pub fn reserve(&mut self, caller: &str, noun: &str, price: f64, now_ms: f64) -> i32 {
        let windows = spend_windows(&self.limits, caller, noun, now_ms as i64);
        match self
            .ledger
            .reserve(&windows, price.max(0.0) as u64, now_ms as i64)
        {
            Some(index) => index as i32,
            None => -1,
        }
    }

    /// Adds `by` micro-dollars (negative: gives back) to the windows of `caller` that held a
    /// reservation made at `reserved_ms`.
    pub fn adjust(&mut self, caller: &str, noun: &str, reserved_ms: f64, by: f64) {
        let keys: Vec<(String, i64)> =
            spend_windows(&self.limits, caller, noun, reserved_ms as i64)
                .into_iter()
                .map(|w| (w.key, w.resets_at_ms))
                .collect();
        self.ledger.adjust(&keys, by as i64);
    }
}
