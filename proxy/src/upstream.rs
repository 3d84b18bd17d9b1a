//! The one way anything reaches the upstream API (the real one or the simulator over HTTP):
//! the key added, the answer read. A success must be a run object: it is parsed as the core's
//! `Run` and written again with serde. An error answer is re-shaped into the API's envelope
//! with only its `code` and a message of at most 300 characters. The key is scrubbed from
//! anything that goes back. Both the broker and `--pass-through` use this, so both count
//! upstream requests and 429s the same way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use runbase_image::core::api::{
    excerpt, parse_retry_after, ApiErrorCode, ErrorBody, ErrorDetail, Run,
};

use crate::http::error::ApiError;
use crate::metrics::{Metrics, StatusLabel};

/// An API key that cannot be printed by accident.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(key: String) -> Self {
        Secret(key)
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

pub struct Upstream {
    pub base: String,
    pub key: Secret,
    pub client: reqwest::Client,
    /// The simulator builds image URLs from the host the browser used.
    pub forward_host: bool,
    pub requests: AtomicU64,
    pub metrics: Arc<Metrics>,
}

/// An upstream answer: status, the headers that matter, the body (a success re-written from
/// the parsed `run`).
#[derive(Clone)]
pub struct UpstreamReply {
    pub status: StatusCode,
    pub content_type: Option<HeaderValue>,
    pub retry_after: Option<HeaderValue>,
    pub body: Bytes,
    pub run: Option<Run>,
}

impl UpstreamReply {
    /// An upstream `429 RATE_LIMITED` (not `USAGE_EXCEEDED`, which waiting does not cure).
    pub fn is_rate_limited(&self) -> bool {
        if self.status != StatusCode::TOO_MANY_REQUESTS {
            return false;
        }
        // The body is the error as `reshaped_error` wrote it.
        let code = serde_json::from_slice::<ErrorBody>(&self.body)
            .ok()
            .and_then(|body| body.error.code);
        code != Some(ApiErrorCode::UsageExceeded)
    }

    /// `Retry-After` in milliseconds from now (seconds or an HTTP date, read as the client
    /// reads it), when the API sent one.
    pub fn retry_after_ms(&self) -> Option<u64> {
        let value = self.retry_after.as_ref()?.to_str().ok()?;
        parse_retry_after(value, crate::unix_ms() as f64)
    }
}

impl IntoResponse for UpstreamReply {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        let out = response.headers_mut();
        if let Some(value) = self.content_type {
            out.insert(header::CONTENT_TYPE, value);
        }
        if let Some(value) = self.retry_after {
            out.insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// A run written as the browser gets it.
pub fn run_response(status: StatusCode, run: &Run) -> Response {
    match serde_json::to_vec(run) {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            Body::from(body),
        )
            .into_response(),
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            format!("The proxy could not write the run: {e}"),
        )
        .into_response(),
    }
}

impl Upstream {
    /// Upstream answers that were 429 (`RATE_LIMITED` or `USAGE_EXCEEDED`), as counted for
    /// `/metrics`.
    pub fn rate_limited(&self) -> u64 {
        let label = StatusLabel {
            status: StatusCode::TOO_MANY_REQUESTS.as_u16(),
        };
        self.metrics
            .upstream_requests
            .get(&label)
            .map_or(0, |count| count.get())
    }
}

impl Upstream {
    /// One request upstream; `Err` is the proxy's own error (time-out, unreachable, not a run).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        host: Option<&HeaderValue>,
        body: Option<Bytes>,
    ) -> Result<UpstreamReply, ApiError> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .client
            .request(method, &url)
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", self.key.expose()),
            )
            .header(header::ACCEPT, "application/json");
        if self.forward_host {
            if let Some(host) = host {
                request = request.header("x-forwarded-host", host.clone());
            }
        }
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let answer = request.send().await.map_err(|e| {
            // No status: counted as 0 (a time-out or a connection that failed).
            self.metrics
                .upstream_requests
                .get_or_create(&StatusLabel { status: 0 })
                .inc();
            upstream_failure(&e)
        })?;
        let status = answer.status();
        self.metrics
            .upstream_requests
            .get_or_create(&StatusLabel {
                status: status.as_u16(),
            })
            .inc();
        let retry_after = answer.headers().get(header::RETRY_AFTER).cloned();
        let body = answer.bytes().await.map_err(|e| upstream_failure(&e))?;
        let body = self.scrubbed(&body);
        // A success is a run object: read it as one and write it again, members the API adds
        // later kept.
        let (body, run) = if status.is_success() {
            let parsed = serde_json::from_slice::<Run>(&body)
                .and_then(|parsed| serde_json::to_vec(&parsed).map(|bytes| (parsed, bytes)));
            match parsed {
                // Written again, escapes are decoded: scrubbed once more, and read from that.
                Ok((parsed, bytes)) => {
                    let scrubbed = self.scrubbed(&bytes);
                    if scrubbed == bytes {
                        (bytes, Some(parsed))
                    } else {
                        let run = serde_json::from_slice::<Run>(&scrubbed).ok();
                        (scrubbed, run)
                    }
                }
                Err(e) => return Err(not_a_run(status, &self.scrubbed(&body), &e)),
            }
        } else {
            (self.scrubbed(&reshaped_error(status, &body)), None)
        };
        Ok(UpstreamReply {
            status,
            content_type: Some(HeaderValue::from_static("application/json")),
            retry_after,
            body: Bytes::from(body),
            run,
        })
    }
}

impl Upstream {
    /// The body with every occurrence of the key replaced (an upstream that quotes the
    /// Authorization header it received must not show the key to the browser).
    fn scrubbed(&self, body: &[u8]) -> Vec<u8> {
        let key = self.key.expose().as_bytes();
        if key.len() < 4 {
            return body.to_vec();
        }
        let mut out = Vec::with_capacity(body.len());
        let mut rest = body;
        while let Some(at) = rest.windows(key.len()).position(|w| w == key) {
            out.extend_from_slice(&rest[..at]);
            out.extend_from_slice(b"[redacted]");
            rest = &rest[at + key.len()..];
        }
        out.extend_from_slice(rest);
        out
    }
}

/// The longest upstream error message passed on, in characters.
const MESSAGE_MAX: usize = 300;

/// An upstream error answer in the API's envelope: its `code` (if it looks like one) and its
/// message capped, nothing else; a body that is not the API's error JSON is described.
fn reshaped_error(status: StatusCode, body: &[u8]) -> Vec<u8> {
    let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
    let (code, message) = match parsed {
        Some(ErrorBody { error }) => (error.code, error.message),
        None if body.is_empty() => (
            None,
            format!(
                "The Runbase API answered HTTP {} with an empty body",
                status.as_u16()
            ),
        ),
        None => (
            None,
            format!(
                "The Runbase API answered HTTP {} with a body that is not its error JSON: {}",
                status.as_u16(),
                excerpt(&String::from_utf8_lossy(body))
            ),
        ),
    };
    let code = code.filter(|c| {
        let c = c.as_str();
        (1..=64).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    let mut message: String = message.chars().take(MESSAGE_MAX).collect();
    if message.trim().is_empty() {
        message = format!("The Runbase API answered HTTP {}", status.as_u16());
    }
    let body = ErrorBody {
        error: ErrorDetail {
            message,
            code,
            issues: Vec::new(),
        },
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

/// An upstream success whose body is not a run object.
fn not_a_run(status: StatusCode, body: &[u8], error: &serde_json::Error) -> ApiError {
    let text = String::from_utf8_lossy(body);
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "upstream_invalid_response",
        format!(
            "The Runbase API answered HTTP {} with a body that is not a run object ({error}): {}",
            status.as_u16(),
            excerpt(&text)
        ),
    )
}

fn upstream_failure(error: &reqwest::Error) -> ApiError {
    // reqwest's messages name the URL, never our headers; still, say only what kind it was.
    if error.is_timeout() {
        ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "upstream_timeout",
            "The Runbase API did not answer in time; the run may or may not have been created",
        )
    } else {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "upstream_unreachable",
            "The proxy could not get an answer from the Runbase API (connection failed or was dropped)",
        )
    }
}
