//! The one way anything reaches the upstream API (the real one or the simulator over HTTP):
//! the key added, the answer read. A success must be a run object: it is parsed as the core's
//! `Run` and written again with serde; error answers go back as they came. Both the broker
//! and `--pass-through` use this, so both count upstream requests and 429s the same way.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use runbase_image::core::api::{excerpt, Run};

use crate::api_error::ApiError;
use crate::gateway::Secret;

pub struct Upstream {
    pub base: String,
    pub key: Secret,
    pub client: reqwest::Client,
    /// The simulator builds image URLs from the host the browser used.
    pub forward_host: bool,
    pub requests: AtomicU64,
    pub rate_limited: AtomicU64,
}

/// An upstream answer: status, the headers that matter, the body (a success re-written from
/// the parsed `run`).
#[derive(Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: Option<HeaderValue>,
    pub retry_after: Option<HeaderValue>,
    pub body: Bytes,
    pub run: Option<Run>,
}

impl Answer {
    /// An upstream `429 RATE_LIMITED` (not `USAGE_EXCEEDED`, which waiting does not cure).
    pub fn is_rate_limited(&self) -> bool {
        self.status == StatusCode::TOO_MANY_REQUESTS
            && !String::from_utf8_lossy(&self.body).contains("USAGE_EXCEEDED")
    }

    /// `Retry-After` in whole seconds, when the API sent one.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
    }
}

impl IntoResponse for Answer {
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
    /// One request upstream; `Err` is the proxy's own error (time-out, unreachable, not a run).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        host: Option<&HeaderValue>,
        body: Option<Bytes>,
    ) -> Result<Answer, ApiError> {
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
        let answer = request.send().await.map_err(|e| upstream_failure(&e))?;
        let status = answer.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        let mut content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
        let retry_after = answer.headers().get(header::RETRY_AFTER).cloned();
        let mut body = answer.bytes().await.map_err(|e| upstream_failure(&e))?;
        // A success is a run object: read it as one and write it again, members the API adds
        // later kept. Error answers go back as they came (a 500's body may not even be JSON).
        let mut run = None;
        if status.is_success() {
            let parsed = serde_json::from_slice::<Run>(&body)
                .and_then(|parsed| serde_json::to_vec(&parsed).map(|bytes| (parsed, bytes)));
            match parsed {
                Ok((parsed, bytes)) => {
                    body = Bytes::from(bytes);
                    content_type = Some(HeaderValue::from_static("application/json"));
                    run = Some(parsed);
                }
                Err(e) => return Err(not_a_run(status, &body, &e)),
            }
        }
        Ok(Answer {
            status,
            content_type,
            retry_after,
            body,
            run,
        })
    }
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
