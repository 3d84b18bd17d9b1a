//! Scripted faults for tests (`--test-faults` only): what the next requests meet, and the
//! request statistics the tests read.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::http::error::ApiError;

use super::api::{insufficient_balance, rate_limited, usage_exceeded};
use super::{Outcome, Request, Sim};
use runbase_image::core::code::ErrorCode;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Target {
    Create,
    Poll,
    Any,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum FaultKind {
    ServerError,
    HtmlBadGateway,
    Drop,
    Malformed,
    WrongContentType,
    Slow(u64),
    /// The request is answered as usual (a create makes its run, and charges it), but the
    /// answer leaves this long after: a proxy stopped meanwhile never learns the run's id.
    SlowAnswer(u64),
    UsageExceeded,
    InsufficientBalance,
    RateLimited(Option<u64>),
    Run(Outcome),
}

#[derive(Clone, Debug)]
pub(super) struct Fault {
    pub(super) on: Target,
    pub(super) kind: FaultKind,
    pub(super) remaining: u32,
}

/// Plays a request-level fault; `None` when the request should then go on normally.
pub(super) async fn play_fault(kind: &FaultKind) -> Option<Response> {
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
        FaultKind::Run(_) | FaultKind::SlowAnswer(_) => return None,
    };
    Some(response)
}

/// A response whose body fails at once: hyper then closes the connection before anything
/// is sent, which the client sees as a dropped connection.
pub(super) fn dropped_connection() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("simulated dropped connection"))
    });
    Response::new(Body::from_stream(failing))
}

pub(super) fn parse_fault(spec: &Value) -> Result<Fault, String> {
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
        "slow_answer" => FaultKind::SlowAnswer(number("delay_ms").unwrap_or(5000)),
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
pub(super) async fn add_faults(State(Sim(sim)): State<Sim>, body: Bytes) -> Response {
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
        Err(message) => ApiError::new(ErrorCode::InvalidFault, message).into_response(),
    }
}

pub(super) async fn clear_faults(State(Sim(sim)): State<Sim>) -> Response {
    let mut state = sim.lock();
    state.faults.clear();
    state.log.clear();
    StatusCode::NO_CONTENT.into_response()
}

/// Requests seen per key: total, 429s, and the most in any 10-second window.
pub(super) async fn stats(State(Sim(sim)): State<Sim>) -> Response {
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
            // A create answered 201 made a run, which the key is charged for.
            let created = requests.iter().filter(|r| r.status == 201).count();
            (
                key.to_string(),
                json!({
                    "requests": requests.len(),
                    "rate_limited": limited,
                    "max_in_10s": most,
                    "runs_created": created,
                }),
            )
        })
        .collect();
    axum::Json(json!({ "keys": keys })).into_response()
}
