//! The one way anything reaches the upstream API (the real one or the simulator over HTTP):
//! the key added, the answer read as the core's `read_upstream` reads it for both proxies (a
//! run written again, an error re-shaped, the key scrubbed). Both the broker and
//! `--pass-through` use this, so both count upstream requests and 429s the same way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use runbase_image::core::api::{parse_retry_after, Run};
use runbase_image::core::gateway::{
    is_rate_limited, read_upstream, upstream_timeout, upstream_unreachable,
};

use crate::http::error::ApiError;
use crate::metrics::{Metrics, StatusLabel};
use runbase_image::core::code::ErrorCode;

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
        is_rate_limited(self.status.as_u16(), &self.body)
    }

    /// `Retry-After` in milliseconds from now (seconds or an HTTP date, read as the client
    /// reads it), when the API sent one.
    pub fn retry_after_ms(&self) -> Option<u64> {
        let value = self.retry_after.as_ref()?.to_str().ok()?;
        parse_retry_after(value, crate::clock::unix_ms() as f64)
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
            ErrorCode::InternalError,
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
        let read = read_upstream(status.as_u16(), &body, self.key.expose())?;
        Ok(UpstreamReply {
            status,
            content_type: Some(HeaderValue::from_static("application/json")),
            retry_after,
            body: Bytes::from(read.body),
            run: read.run,
        })
    }
}

fn upstream_failure(error: &reqwest::Error) -> ApiError {
    if error.is_timeout() {
        upstream_timeout().into()
    } else {
        upstream_unreachable().into()
    }
}
