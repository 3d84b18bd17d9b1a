//! What `/__runbase/stats` shows, as types: the broker, the connection gate, the body budget
//! and the shared store each fill their part, serde writes the JSON, and `/metrics` reads the
//! same fields (a renamed field is a compile error there, not a metric silently gone).

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub mode: Mode,
    pub upstream: UpstreamStats,
    /// Behind the broker only.
    #[serde(flatten)]
    pub broker: Option<BrokerStats>,
    pub connections: ConnectionStats,
    pub bodies: BodyStats,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Mode {
    #[serde(rename = "broker")]
    Broker,
    #[serde(rename = "pass-through")]
    PassThrough,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamStats {
    pub requests_total: u64,
    /// 429s the upstream answered.
    pub rate_limited: u64,
    /// Behind the broker only: the key's window as the scheduler sees it.
    #[serde(flatten)]
    pub window: Option<WindowStats>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowStats {
    pub requests_in_window: usize,
    pub in_flight: usize,
    pub granted: u64,
    /// Pauses of every upstream request after a 429.
    pub pauses: u64,
    /// How long the current pause still lasts.
    pub paused_ms: u64,
    pub limit: usize,
    pub window_ms: u64,
    pub margin_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerStats {
    pub queue: QueueStats,
    pub runs: RunStats,
    pub lag_ms: LagStats,
    /// With sign-in, the users who spent most through this instance.
    pub users: Vec<UserStats>,
    /// With `--redis`; `null` without.
    pub shared: Option<SharedStats>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    pub creates: usize,
    pub polls: usize,
    pub max: usize,
    /// Creates answered with the proxy's own 429.
    pub refused: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunStats {
    /// Runs not finished that this instance polls.
    pub followed: usize,
    /// Runs in the run table.
    pub known: usize,
    pub created: u64,
    pub finished: u64,
    pub polls_per_finished_run: f64,
    /// Run ids this instance did not know, looked up upstream.
    pub unknown_fetched: u64,
    /// Runs taken over from an instance that stopped polling them.
    pub taken_over: u64,
    /// Learned run times (ms), by resolution.
    pub expected_ms_by_resolution: BTreeMap<String, f64>,
}

/// From the API's `completedAt` to the poll that saw it, over the latest finished runs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LagStats {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserStats {
    /// The first 16 hex digits of the SHA-256 of the user id (an id is often an e-mail).
    pub user_hash: String,
    pub runs: u64,
    pub spent_usd: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedStats {
    pub redis: RedisHealth,
    /// The Redis URL, its password hidden.
    pub url: String,
    pub instance: String,
    pub instances_alive: usize,
    pub pending_writes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisHealth {
    Up,
    Down,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStats {
    pub open: usize,
    /// Client addresses with a connection open.
    pub clients: usize,
    /// Idle connections closed to make room at a cap.
    pub shed: u64,
    /// Connections refused at a cap.
    pub refused: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BodyStats {
    /// Request-body bytes held in memory.
    pub bytes_in_flight: usize,
    pub budget_bytes: usize,
}
