//! The simulated API's answers: keys and account states, creates and reads of runs, the
//! documented errors, and the images.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use runbase_image::core::api::{Run, RunStatus};
use runbase_image::core::code::ErrorCode;

use crate::http::error::ApiError;
use runbase_image::core::gateway::{parse_run_request, with_valid_input};

use super::faults::{play_fault, FaultKind, Target};
use super::image::render_png;
use super::{
    Outcome, Sim, SimRun, Simulator, KEY_BROKE, KEY_IP, KEY_PREFIX, KEY_QUOTA, KEY_SPENT, RUNS_KEPT,
};

/// Checks the bearer key and the budget, as the real API does for every runs request: keys
/// look like Runbase's (`sk-...`); anything else is an invalid key.
pub(super) fn authorize(sim: &Simulator, headers: &HeaderMap) -> Result<String, ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let Some(key) = bearer else {
        return Err(ApiError::new(
            ErrorCode::MissingApiKey,
            "Missing API key: send the header Authorization: Bearer <key>",
        ));
    };
    if !key.starts_with(KEY_PREFIX) {
        return Err(ApiError::new(
            ErrorCode::InvalidApiKey,
            "The API key is invalid, disabled or expired",
        ));
    }
    match key {
        KEY_SPENT => {
            return Err(ApiError::new(
                ErrorCode::ApiKeySpendLimitExceeded,
                "This API key has reached its lifetime spend limit",
            ))
        }
        KEY_IP => {
            return Err(ApiError::new(
                ErrorCode::IpNotAllowed,
                "Your IP address is not in this API key's allow-list",
            ))
        }
        KEY_QUOTA => return Err(usage_exceeded()),
        _ => {}
    }
    // docs/RUNBASE-API.md promises no Retry-After: the simulator sends none on its own limit.
    let mut state = sim.lock();
    if state.budget.check(key, Instant::now()).is_err() {
        if sim.strict_window {
            state.budget.record(key, Instant::now());
        }
        return Err(rate_limited(None));
    }
    Ok(key.to_string())
}

pub(super) fn usage_exceeded() -> ApiError {
    ApiError::new(
        ErrorCode::UsageExceeded,
        "This API key's usage quota is exhausted; retrying will not help",
    )
}

pub(super) fn insufficient_balance() -> ApiError {
    ApiError::new(
        ErrorCode::InsufficientBalance,
        "Your balance is too low for this run: top up your account",
    )
}

/// The documented 429 body; `Retry-After` only when a test fault asks for one.
pub(super) fn rate_limited(retry_after: Option<u64>) -> ApiError {
    let error = ApiError::new(ErrorCode::RateLimited, "Rate limit exceeded");
    match retry_after {
        Some(secs) => error.retry_after(secs),
        None => error,
    }
}

pub(super) async fn not_found() -> Response {
    ApiError::new(ErrorCode::NotFound, "No such endpoint").into_response()
}

/// Where image URLs point: the host the caller used (or the proxy forwarded).
pub(super) fn base_url(headers: &HeaderMap) -> String {
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
pub(super) async fn answer(
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
    let late = match &fault {
        Some(FaultKind::SlowAnswer(ms)) => Some(std::time::Duration::from_millis(*ms)),
        _ => None,
    };
    let response = played.unwrap_or_else(|| normal(fault));
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    sim.record(key, response.status());
    if let Some(late) = late {
        tokio::time::sleep(late).await;
    }
    response
}

pub(super) async fn create_run(
    State(Sim(sim)): State<Sim>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&sim, Target::Create, &headers, |fault| {
        match create(&sim, &headers, &body, fault) {
            Ok(run) => (StatusCode::CREATED, axum::Json(run)).into_response(),
            Err(error) => error.into_response(),
        }
    })
    .await
}

pub(super) fn create(
    sim: &Simulator,
    headers: &HeaderMap,
    body: &[u8],
    fault: Option<FaultKind>,
) -> Result<Run, ApiError> {
    let key = authorize(sim, headers)?;
    let (model_id, input) = parse_run_request(body)?;
    let Some(model) = runbase_image::find_model(&model_id) else {
        return Err(ApiError::new(
            ErrorCode::ModelNotFound,
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
        crate::clock::unix_ms() / 1000,
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
        cost_micro_usd: model.cost_micro_usd(resolution).unwrap_or_default(),
        run_time: sim.run_time_of(state.next_id),
        created: Instant::now(),
        created_unix_ms: crate::clock::unix_ms(),
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

pub(super) async fn get_run(
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
                    ErrorCode::RunNotFound,
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

pub(super) async fn image(
    State(Sim(sim)): State<Sim>,
    Path((id, file)): Path<(String, String)>,
) -> Response {
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
