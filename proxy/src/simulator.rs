//! A faithful stand-in for the Runbase API (RUNBASE.md): bearer keys, the documented error
//! codes, the shared 20-per-10-seconds budget, runs that move pending → processing →
//! succeeded with real PNG outputs, and (only when switched on for tests) scripted faults.
//! Runs and errors are the core's serde types (`runbase_image::core::api`), so the simulator
//! cannot write an object the client does not read.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use runbase_image::core::api::{Run, RunError, RunOutput, RunStatus};
use serde_json::{json, Value};

use crate::api_error::{allow_preflight, parse_run_request, with_valid_input, ApiError};
use crate::image::render_png;
use crate::rate_limit::SlidingWindow;

/// Keys the simulator accepts start with this, as Runbase's do; a few name account states
/// (see README).
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

#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Create,
    Poll,
    Any,
}

#[derive(Clone, Debug, PartialEq)]
enum FaultKind {
    ServerError,
    HtmlBadGateway,
    Drop,
    Malformed,
    WrongContentType,
    Slow(u64),
    UsageExceeded,
    InsufficientBalance,
    RateLimited(Option<u64>),
    Run(Outcome),
}

#[derive(Clone, Debug)]
struct Fault {
    on: Target,
    kind: FaultKind,
    remaining: u32,
}

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
    cost_usd: u64,
    /// How long this run takes (the server's run time, varied by `--sim-run-spread`).
    run_time: Duration,
    created: Instant,
    created_at: SystemTime,
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
    budget: SlidingWindow,
    faults: Vec<Fault>,
    log: Vec<Request>,
    next_id: u64,
}

pub struct Simulator {
    run_time: Duration,
    /// Each run's time varies by up to this fraction either way (0: all alike).
    spread: f64,
    faults_enabled: bool,
    state: Mutex<SimState>,
}

#[derive(Clone)]
struct Sim(Arc<Simulator>);

impl Simulator {
    pub fn new(run_time: Duration, spread_percent: u64, faults_enabled: bool) -> Arc<Self> {
        Arc::new(Simulator {
            run_time,
            spread: spread_percent.min(100) as f64 / 100.0,
            faults_enabled,
            state: Mutex::new(SimState {
                runs: HashMap::new(),
                order: VecDeque::new(),
                budget: SlidingWindow::new(20, Duration::from_secs(10)),
                faults: Vec::new(),
                log: Vec::new(),
                next_id: 0,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        // A panic while holding the lock cannot leave the maps half-written in a way that
        // matters to a simulator; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The simulated API (`/runs`, `/runs/{id}`) and its public image URLs.
    pub fn api_router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(
                "/runs",
                post(create_run).options(preflight).fallback(not_found),
            )
            .route(
                "/runs/{id}",
                get(get_run).options(preflight).fallback(not_found),
            )
            .fallback(not_found)
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

    /// The run object as RUNBASE.md documents it: no `input` echo, no null members.
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
                message: Some(refunded(message, run.cost_usd)),
                code: None,
            }),
            _ => None,
        };
        Run {
            id: run.id.clone(),
            model: Some(run.model.to_string()),
            completed_at: status
                .is_finished()
                .then(|| iso8601(run.created_at + run.run_time)),
            status,
            cost_usd: Some(run.cost_usd),
            created_at: Some(iso8601(run.created_at)),
            output,
            error,
            extra: Default::default(),
        }
    }
}

/// A failed run's message, noting the full refund RUNBASE.md promises.
fn refunded(message: &str, cost_usd: u64) -> String {
    let message = message.trim_end();
    let stop = if message.ends_with(['.', '!', '?']) {
        ""
    } else {
        "."
    };
    format!(
        "{message}{stop} The charge of {} was refunded.",
        dollars(cost_usd)
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

/// Checks the bearer key and the budget, as the real API does for every runs request: keys
/// look like Runbase's (`sk-...`); anything else is an invalid key.
fn authorize(sim: &Simulator, headers: &HeaderMap) -> Result<String, ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let Some(key) = bearer else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_api_key",
            "Missing API key: send the header Authorization: Bearer <key>",
        ));
    };
    if !key.starts_with(KEY_PREFIX) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "The API key is invalid, disabled or expired",
        ));
    }
    match key {
        KEY_SPENT => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "api_key_spend_limit_exceeded",
                "This API key has reached its lifetime spend limit",
            ))
        }
        KEY_IP => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "ip_not_allowed",
                "Your IP address is not in this API key's allow-list",
            ))
        }
        KEY_QUOTA => return Err(usage_exceeded()),
        _ => {}
    }
    // RUNBASE.md promises no Retry-After: the simulator sends none on its own limit.
    if sim.lock().budget.check(key, Instant::now()).is_err() {
        return Err(rate_limited(None));
    }
    Ok(key.to_string())
}

fn usage_exceeded() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "USAGE_EXCEEDED",
        "This API key's usage quota is exhausted; retrying will not help",
    )
}

fn insufficient_balance() -> ApiError {
    ApiError::new(
        StatusCode::PAYMENT_REQUIRED,
        "insufficient_balance",
        "Your balance is too low for this run: top up your account",
    )
}

/// The documented 429 body; `Retry-After` only when a test fault asks for one.
fn rate_limited(retry_after: Option<u64>) -> ApiError {
    let error = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
        "Rate limit exceeded",
    );
    match retry_after {
        Some(secs) => error.retry_after(secs),
        None => error,
    }
}

/// Plays a request-level fault; `None` when the request should then go on normally.
async fn play_fault(kind: &FaultKind) -> Option<Response> {
    let response = match kind {
        FaultKind::ServerError => {
            ApiError::uncoded(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
                .into_response()
        }
        FaultKind::HtmlBadGateway => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
        )
            .into_response(),
        FaultKind::Drop => dropped_connection(),
        FaultKind::Malformed => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"id\": \"run_trunc",
        )
            .into_response(),
        FaultKind::WrongContentType => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain")],
            "OK",
        )
            .into_response(),
        FaultKind::UsageExceeded => usage_exceeded().into_response(),
        FaultKind::InsufficientBalance => insufficient_balance().into_response(),
        FaultKind::RateLimited(secs) => rate_limited(*secs).into_response(),
        FaultKind::Slow(ms) => {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            return None;
        }
        FaultKind::Run(_) => return None,
    };
    Some(response)
}

/// A response whose body fails at once: hyper then closes the connection before anything
/// is sent, which the client sees as a dropped connection.
fn dropped_connection() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("simulated dropped connection"))
    });
    Response::new(Body::from_stream(failing))
}

fn with_cors(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Retry-After, X-Runbase-Backend"),
    );
    headers.insert("x-runbase-backend", HeaderValue::from_static("simulator"));
    response
}

async fn preflight() -> Response {
    let mut response = with_cors(StatusCode::NO_CONTENT.into_response());
    allow_preflight(&mut response);
    response
}

async fn not_found() -> Response {
    with_cors(ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such endpoint").into_response())
}

/// Where image URLs point: the host the caller used (or the proxy forwarded).
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// Plays a scripted fault if one is due, else the normal answer; counts it for /__sim/stats.
async fn answer(
    sim: &Simulator,
    target: Target,
    headers: &HeaderMap,
    normal: impl FnOnce(Option<FaultKind>) -> Response,
) -> Response {
    let fault = sim.take_fault(target);
    let played = match &fault {
        Some(kind) => play_fault(kind).await,
        None => None,
    };
    let response = played.unwrap_or_else(|| normal(fault));
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    sim.record(key, response.status());
    with_cors(response)
}

async fn create_run(State(Sim(sim)): State<Sim>, headers: HeaderMap, body: Bytes) -> Response {
    answer(&sim, Target::Create, &headers, |fault| {
        match create(&sim, &headers, &body, fault) {
            Ok(run) => (StatusCode::CREATED, axum::Json(run)).into_response(),
            Err(error) => error.into_response(),
        }
    })
    .await
}

fn create(
    sim: &Simulator,
    headers: &HeaderMap,
    body: &[u8],
    fault: Option<FaultKind>,
) -> Result<Run, ApiError> {
    let key = authorize(sim, headers)?;
    let (model_id, input) = parse_run_request(body)?;
    let Some(model) = runbase_image::find_model(&model_id) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "model_not_found",
            format!("Unknown model \"{model_id}\""),
        ));
    };
    let (prompt, aspect_ratio, resolution) = with_valid_input(model, &input, |input| {
        (
            input.prompt.to_string(),
            input.aspect_ratio,
            input.resolution,
        )
    })?;
    if key == KEY_BROKE {
        return Err(insufficient_balance());
    }
    let outcome = match fault {
        Some(FaultKind::Run(outcome)) => outcome,
        _ => Outcome::Succeed,
    };
    let mut state = sim.lock();
    state.next_id += 1;
    let id = format!(
        "run_{:08x}{:06}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        state.next_id
    );
    let run = SimRun {
        id: id.clone(),
        owner: key,
        model: model.id,
        prompt,
        aspect_ratio,
        resolution,
        // Every resolution the validator accepts has a price.
        cost_usd: model.cost_usd(resolution).unwrap_or_default(),
        run_time: sim.run_time_of(state.next_id),
        created: Instant::now(),
        created_at: SystemTime::now(),
        outcome,
        image: None,
    };
    let answer = sim.to_api(&run, &base_url(headers));
    state.runs.insert(id.clone(), run);
    state.order.push_back(id);
    while state.order.len() > RUNS_KEPT {
        if let Some(old) = state.order.pop_front() {
            state.runs.remove(&old);
        }
    }
    Ok(answer)
}

async fn get_run(
    State(Sim(sim)): State<Sim>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer(&sim, Target::Poll, &headers, |_| {
        let result = authorize(&sim, &headers).and_then(|key| {
            let state = sim.lock();
            match state.runs.get(&id) {
                Some(run) if run.owner == key => Ok(sim.to_api(run, &base_url(&headers))),
                _ => Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "run_not_found",
                    format!(
                        "No run with id \"{}\" for this API key",
                        id.chars().take(80).collect::<String>()
                    ),
                )),
            }
        });
        match result {
            Ok(run) => axum::Json(run).into_response(),
            Err(error) => error.into_response(),
        }
    })
    .await
}

async fn image(State(Sim(sim)): State<Sim>, Path((id, file)): Path<(String, String)>) -> Response {
    let found = {
        let state = sim.lock();
        state.runs.get(&id).and_then(|run| {
            let done = sim.status_of(run, Instant::now()) == RunStatus::Succeeded
                && run.outcome != Outcome::NoOutput;
            (done && file == "0.png").then(|| {
                (
                    run.image.clone(),
                    run.prompt.clone(),
                    run.aspect_ratio,
                    run.resolution,
                )
            })
        })
    };
    let Some((cached, prompt, ratio, resolution)) = found else {
        return (StatusCode::NOT_FOUND, "no such image").into_response();
    };
    let png = match cached {
        Some(png) => png,
        None => {
            let png = tokio::task::spawn_blocking(move || render_png(&prompt, ratio, resolution))
                .await
                .map(Arc::new)
                .unwrap_or_default();
            if let Some(run) = sim.lock().runs.get_mut(&id) {
                run.image = Some(png.clone());
            }
            png
        }
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        Body::from(png.as_ref().clone()),
    )
        .into_response();
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

fn parse_fault(spec: &Value) -> Result<Fault, String> {
    let on = match spec.get("on").and_then(Value::as_str).unwrap_or("any") {
        "create" => Target::Create,
        "poll" => Target::Poll,
        "any" => Target::Any,
        other => return Err(format!("unknown target {other:?}")),
    };
    let number = |name| spec.get(name).and_then(Value::as_u64);
    let message = spec
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("The model could not generate this image")
        .to_string();
    let kind = match spec.get("kind").and_then(Value::as_str).unwrap_or_default() {
        "server_error" => FaultKind::ServerError,
        "html_502" => FaultKind::HtmlBadGateway,
        "drop" => FaultKind::Drop,
        "malformed_json" => FaultKind::Malformed,
        "wrong_content_type" => FaultKind::WrongContentType,
        "slow" => FaultKind::Slow(number("delay_ms").unwrap_or(5000)),
        "usage_exceeded" => FaultKind::UsageExceeded,
        "insufficient_balance" => FaultKind::InsufficientBalance,
        "rate_limited" => FaultKind::RateLimited(number("retry_after")),
        "run_failed" => FaultKind::Run(Outcome::Fail(message)),
        "run_never_finishes" => FaultKind::Run(Outcome::NeverFinishes),
        "run_unknown_status" => FaultKind::Run(Outcome::UnknownStatus),
        "run_no_output" => FaultKind::Run(Outcome::NoOutput),
        other => return Err(format!("unknown fault kind {other:?}")),
    };
    let on = if matches!(kind, FaultKind::Run(_)) {
        Target::Create
    } else {
        on
    };
    let remaining = u32::try_from(number("count").unwrap_or(1)).unwrap_or(u32::MAX);
    Ok(Fault {
        on,
        kind,
        remaining,
    })
}

/// `POST /__sim/faults` with `{"faults": [{"on": "create"|"poll"|"any", "kind": ..., "count": N}]}`.
async fn add_faults(State(Sim(sim)): State<Sim>, body: Bytes) -> Response {
    let parsed: Result<Vec<Fault>, String> = serde_json::from_slice::<Value>(&body)
        .map_err(|e| e.to_string())
        .and_then(|v| {
            v.get("faults")
                .and_then(Value::as_array)
                .ok_or_else(|| "expected {\"faults\": [...]}".to_string())?
                .iter()
                .map(parse_fault)
                .collect()
        });
    match parsed {
        Ok(faults) => {
            let added = faults.len();
            sim.lock().faults.extend(faults);
            axum::Json(json!({ "added": added })).into_response()
        }
        Err(message) => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_fault", message).into_response()
        }
    }
}

async fn clear_faults(State(Sim(sim)): State<Sim>) -> Response {
    let mut state = sim.lock();
    state.faults.clear();
    state.log.clear();
    StatusCode::NO_CONTENT.into_response()
}

/// Requests seen per key: total, 429s, and the most in any 10-second window.
async fn stats(State(Sim(sim)): State<Sim>) -> Response {
    let state = sim.lock();
    let mut by_key: HashMap<&str, Vec<&Request>> = HashMap::new();
    for request in &state.log {
        let key = request.key.strip_prefix("Bearer ").unwrap_or(&request.key);
        by_key.entry(key).or_default().push(request);
    }
    let window = Duration::from_secs(10);
    let keys: serde_json::Map<String, Value> = by_key
        .into_iter()
        .map(|(key, requests)| {
            let mut most = 0;
            let mut start = 0;
            for (end, request) in requests.iter().enumerate() {
                while requests
                    .get(start)
                    .is_some_and(|first| request.at.duration_since(first.at) >= window)
                {
                    start += 1;
                }
                most = most.max(end + 1 - start);
            }
            let limited = requests.iter().filter(|r| r.status == 429).count();
            (
                key.to_string(),
                json!({ "requests": requests.len(), "rate_limited": limited, "max_in_10s": most }),
            )
        })
        .collect();
    axum::Json(json!({ "keys": keys })).into_response()
}

/// `2026-06-01T12:00:04.200Z`: ISO 8601 in UTC with milliseconds, as the API writes times.
fn iso8601(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    runbase_image::core::time::iso8601(since.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_times_vary_within_the_spread() {
        let alike = Simulator::new(Duration::from_secs(4), 0, false);
        assert_eq!(alike.run_time_of(7), Duration::from_secs(4));
        let varied = Simulator::new(Duration::from_secs(4), 50, false);
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
    fn iso_dates() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso8601(UNIX_EPOCH + Duration::from_secs(1_795_600_000)),
            "2026-11-25T09:46:40.000Z"
        );
        assert_eq!(
            iso8601(UNIX_EPOCH + Duration::from_millis(1_780_315_204_200)),
            "2026-06-01T12:00:04.200Z"
        );
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
