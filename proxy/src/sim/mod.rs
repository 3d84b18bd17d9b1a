//! A faithful stand-in for the Runbase API (docs/RUNBASE-API.md): bearer keys, the documented error
//! codes, the shared 20-per-10-seconds budget, runs that move pending → processing →
//! succeeded with real PNG outputs, and (only when switched on for tests) scripted faults.
//! Runs and errors are the core's serde types (`runbase_image::core::api`), so the simulator
//! cannot write an object the client does not read.
//!
//! Here: the simulator's state and routes; `api` answers the API's requests, `faults` plays
//! and scripts the test faults, `image` draws the PNGs.

mod api;
mod faults;
mod image;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use runbase_image::core::time::iso8601;

use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::http::cors;
use runbase_image::core::api::{Run, RunError, RunOutput, RunStatus};

use crate::rate_limit::CallerWindows;

use api::{create_run, get_run, image, not_found};
use faults::{add_faults, clear_faults, stats, Fault, FaultKind, Target};

/// Keys the simulator accepts start with this, as Runbase's do; a few name account states
/// (docs/SERVER.md, "Without a key: the simulator").
pub const KEY_PREFIX: &str = "sk-";

/// The key the server's own proxy uses when the simulator is its upstream.
pub const PROXY_KEY: &str = "sk-sim-proxy";

/// Keys that name an account state: every request with them is refused so.
pub const KEY_SPENT: &str = "sk-sim-spent";

pub const KEY_IP: &str = "sk-sim-ip";

pub const KEY_QUOTA: &str = "sk-sim-quota";

/// A valid request with this key is refused for want of balance (402).
pub const KEY_BROKE: &str = "sk-sim-broke";

const RUNS_KEPT: usize = 10_000;

/// How a run ends; anything but `Succeed` only comes from a test's fault script.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Succeed,
    Fail(String),
    NeverFinishes,
    UnknownStatus,
    NoOutput,
}

/// A run as the simulator keeps it; [`SimRun::to_api`] writes it as the API's run object.
struct SimRun {
    id: String,
    owner: String,
    model: &'static str,
    /// The input as validated, defaults filled in (what the picture shows).
    prompt: String,
    aspect_ratio: &'static str,
    resolution: &'static str,
    /// Micro-dollars, by the input's resolution.
    cost_micro_usd: u64,
    /// How long this run takes (the server's run time, varied by `--sim-run-spread`).
    run_time: Duration,
    created: Instant,
    created_unix_ms: i64,
    outcome: Outcome,
    image: Option<Arc<Vec<u8>>>,
}

struct Request {
    key: String,
    at: Instant,
    status: u16,
}

struct SimState {
    runs: HashMap<String, SimRun>,
    order: VecDeque<String>,
    budget: CallerWindows,
    faults: Vec<Fault>,
    log: Vec<Request>,
    next_id: u64,
}

pub struct Simulator {
    run_time: Duration,
    /// Each run's time varies by up to this fraction either way (0: all alike).
    spread: f64,
    /// Refused requests count toward the key's window too.
    strict_window: bool,
    faults_enabled: bool,
    state: Mutex<SimState>,
}

#[derive(Clone)]
struct Sim(Arc<Simulator>);

impl Simulator {
    pub fn new(
        run_time: Duration,
        spread_percent: u64,
        strict_window: bool,
        faults_enabled: bool,
    ) -> Arc<Self> {
        Arc::new(Simulator {
            run_time,
            spread: spread_percent.min(100) as f64 / 100.0,
            strict_window,
            faults_enabled,
            state: Mutex::new(SimState {
                runs: HashMap::new(),
                order: VecDeque::new(),
                budget: CallerWindows::new(20, Duration::from_secs(10)),
                faults: Vec::new(),
                log: Vec::new(),
                next_id: 0,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        // A panic while holding the lock cannot leave the maps half-written in a way that
        // matters to a simulator; keep serving.
        crate::lock::locked(&self.state)
    }

    /// The simulated API (`/runs`, `/runs/{id}`) and its public image URLs.
    pub fn api_router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/runs", post(create_run).fallback(not_found))
            .route("/runs/{id}", get(get_run).fallback(not_found))
            .fallback(not_found)
            .layer(cors::simulator())
            .layer(axum::middleware::from_fn(cors::preflight_no_content))
            .layer(SetResponseHeaderLayer::overriding(
                cors::BACKEND_HEADER,
                HeaderValue::from_static("simulator"),
            ))
            .with_state(Sim(self.clone()))
    }

    pub fn image_router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/{id}/{file}", get(image))
            .with_state(Sim(self.clone()))
    }

    /// Test-only controls: fault scripts and request statistics.
    pub fn control_router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/faults", post(add_faults).delete(clear_faults))
            .route("/stats", get(stats))
            .with_state(Sim(self.clone()))
    }

    fn take_fault(&self, target: Target) -> Option<FaultKind> {
        if !self.faults_enabled {
            return None;
        }
        let mut state = self.lock();
        let index = state.faults.iter().position(|f| {
            f.remaining > 0
                && (f.on == Target::Any || f.on == target)
                && (target == Target::Create || !matches!(f.kind, FaultKind::Run(_)))
        })?;
        let fault = state.faults.get_mut(index)?;
        fault.remaining -= 1;
        let kind = fault.kind.clone();
        state.faults.retain(|f| f.remaining > 0);
        Some(kind)
    }

    fn record(&self, key: &str, status: StatusCode) {
        if self.faults_enabled {
            self.lock().log.push(Request {
                key: key.to_string(),
                at: Instant::now(),
                status: status.as_u16(),
            });
        }
    }

    /// The `n`-th run's time: the run time, varied by up to the spread either way (a fixed
    /// scatter by run number, so a test run is repeatable).
    fn run_time_of(&self, n: u64) -> Duration {
        let unit = (n.wrapping_mul(2_654_435_761) % 1000) as f64 / 999.0; // 0..=1
        self.run_time
            .mul_f64(1.0 + self.spread * (2.0 * unit - 1.0))
    }

    /// Where a run is now: `pending` for the first fifth of its time, `processing` until it
    /// is done, then `succeeded` or `failed`; the test-only outcomes bend this.
    fn status_of(&self, run: &SimRun, now: Instant) -> RunStatus {
        let elapsed = now.saturating_duration_since(run.created);
        let pending_for = run.run_time / 5;
        match &run.outcome {
            Outcome::NeverFinishes if elapsed >= pending_for => RunStatus::Processing,
            Outcome::UnknownStatus if elapsed < run.run_time => {
                RunStatus::Other("warming_up".into())
            }
            _ if elapsed < pending_for => RunStatus::Pending,
            _ if elapsed < run.run_time => RunStatus::Processing,
            Outcome::Fail(_) => RunStatus::Failed,
            _ => RunStatus::Succeeded,
        }
    }

    /// The run object as docs/RUNBASE-API.md documents it: no `input` echo, no null members.
    fn to_api(&self, run: &SimRun, base_url: &str) -> Run {
        let status = self.status_of(run, Instant::now());
        let output = match (&run.outcome, &status) {
            (Outcome::NoOutput, _) => None,
            (_, RunStatus::Succeeded) => Some(RunOutput {
                urls: vec![format!("{base_url}/sim/images/{}/0.png", run.id)],
                ..RunOutput::default()
            }),
            _ => None,
        };
        let error = match (&run.outcome, &status) {
            (Outcome::Fail(message), RunStatus::Failed) => Some(RunError::Detail {
                message: Some(refunded(message, run.cost_micro_usd)),
                code: None,
            }),
            _ => None,
        };
        Run {
            id: run.id.clone(),
            model: Some(run.model.to_string()),
            completed_at: status
                .is_finished()
                .then(|| iso8601(run.created_unix_ms + run.run_time.as_millis() as i64)),
            status,
            cost_micro_usd: Some(run.cost_micro_usd),
            created_at: Some(iso8601(run.created_unix_ms)),
            output,
            error,
            extra: Default::default(),
        }
    }
}

/// A failed run's message, noting the full refund docs/RUNBASE-API.md promises.
fn refunded(message: &str, cost_micro_usd: u64) -> String {
    let message = message.trim_end();
    let stop = if message.ends_with(['.', '!', '?']) {
        ""
    } else {
        "."
    };
    format!(
        "{message}{stop} The charge of {} was refunded.",
        dollars(cost_micro_usd)
    )
}

/// Micro-dollars as `$0.05`: at least cents, more digits only when they are not zero.
fn dollars(micro: u64) -> String {
    let fraction = format!("{:06}", micro % 1_000_000);
    let digits = fraction.trim_end_matches('0');
    let digits = if digits.len() < 2 {
        fraction.get(..2).unwrap_or("00")
    } else {
        digits
    };
    format!("${}.{digits}", micro / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_times_vary_within_the_spread() {
        let alike = Simulator::new(Duration::from_secs(4), 0, false, false);
        assert_eq!(alike.run_time_of(7), Duration::from_secs(4));
        let varied = Simulator::new(Duration::from_secs(4), 50, false, false);
        let times: Vec<Duration> = (1..=50).map(|n| varied.run_time_of(n)).collect();
        assert!(times
            .iter()
            .all(|t| *t >= Duration::from_secs(2) && *t <= Duration::from_secs(6)));
        let (shortest, longest) = (times.iter().min(), times.iter().max());
        assert!(longest
            .zip(shortest)
            .is_some_and(|(l, s)| *l - *s > Duration::from_secs(3)));
    }

    #[test]
    fn refund_notes() {
        assert_eq!(dollars(50_000), "$0.05");
        assert_eq!(dollars(120_000), "$0.12");
        assert_eq!(dollars(1_000_000), "$1.00");
        assert_eq!(dollars(1_234_500), "$1.2345");
        assert_eq!(dollars(0), "$0.00");
        assert_eq!(
            refunded("The model refused", 70_000),
            "The model refused. The charge of $0.07 was refunded."
        );
        assert_eq!(
            refunded("Blocked by the content policy. ", 50_000),
            "Blocked by the content policy. The charge of $0.05 was refunded."
        );
    }
}
