//! Logs with `tracing`: one span per request (its method, path and, once known, the run id
//! and the signed-in user),
//! closed by one line with the status and the time taken. Never headers, query strings or
//! bodies: the key, and any token a browser sends, stay out of every line.

use std::io::IsTerminal;
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::field::Empty;
use tracing::Instrument;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// Log lines go to stderr, for people or as one JSON object a line; stdout has only the
/// listening line, which scripts read.
pub fn init(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

pub async fn request_span(request: Request, next: Next) -> Response {
    let path: String = request.uri().path().chars().take(120).collect();
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %path,
        run_id = Empty,
        user = Empty
    );
    if let Some(id) = run_id_in(&path) {
        span.record("run_id", id);
    }
    async move {
        let started = Instant::now();
        let response = next.run(request).await;
        // The simulator's images are many and say nothing about the API.
        if !path.starts_with("/sim/images") {
            tracing::info!(
                status = response.status().as_u16(),
                ms = started.elapsed().as_millis() as u64,
                "answered"
            );
        }
        response
    }
    .instrument(span)
    .await
}

/// The run a path names (`…/runs/{id}`).
fn run_id_in(path: &str) -> Option<&str> {
    let (_, id) = path.rsplit_once("/runs/")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// Names the run the current request created, once the API has answered.
pub fn record_run_id(id: &str) {
    tracing::Span::current().record("run_id", id);
}
