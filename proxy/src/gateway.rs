//! The key-holding proxy: the browser calls `{prefix}/runs` with no key; this validates the
//! request with the library, adds the key and forwards it upstream (the real API, or the
//! built-in simulator). The key is never logged, echoed or sent anywhere but upstream.
//! What goes up is the core's `CreateRequest`; what comes back is read as the core's `Run`
//! and written again with serde, so the browser only ever sees a run object or an error.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use runbase_image::core::api::{excerpt, CreateRequest, Run};

use crate::api_error::{allow_preflight, parse_run_request, with_valid_input, ApiError};
use crate::rate_limit::{retry_after_secs, SlidingWindow};

/// Four 4 MiB reference images as base64 data URLs, plus the prompt and JSON around them.
pub const MAX_BODY_BYTES: usize = 4 * (4 * 1024 * 1024 * 4 / 3 + 64) + 64 * 1024;

/// An API key that cannot be printed by accident.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(key: String) -> Self {
        Secret(key)
    }
    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

pub struct Gateway {
    pub upstream: String,
    pub key: Secret,
    /// "simulator" or "runbase": shown to the demo, sent as X-Runbase-Backend.
    pub backend: &'static str,
    pub allowed_models: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub client: reqwest::Client,
    pub per_client: Mutex<SlidingWindow>,
    /// The simulator builds image URLs from the host the browser used.
    pub forward_host: bool,
    /// How long a request body may take to arrive (slow-loris bodies are cut off).
    pub body_timeout: Duration,
}

#[derive(Clone)]
struct Gw(Arc<Gateway>);

impl Gateway {
    pub fn router(self: &Arc<Self>) -> Router {
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
            .with_state(Gw(self.clone()))
    }

    fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
            // Not a browser's cross-site request (curl, a server, a same-origin GET).
            return true;
        };
        let own = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|host| {
                origin == format!("http://{host}") || origin == format!("https://{host}")
            });
        own || self
            .allowed_origins
            .iter()
            .any(|allowed| allowed == origin || allowed == "*")
    }

    fn cors(&self, headers: &HeaderMap, mut response: Response) -> Response {
        let out = response.headers_mut();
        out.insert("x-runbase-backend", HeaderValue::from_static(self.backend));
        if let Some(origin) = headers.get(header::ORIGIN) {
            if self.origin_allowed(headers) {
                out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
                out.insert(header::VARY, HeaderValue::from_static("Origin"));
                out.insert(
                    header::ACCESS_CONTROL_EXPOSE_HEADERS,
                    HeaderValue::from_static("Retry-After, X-Runbase-Backend"),
                );
            }
        }
        response
    }

    /// The checks every proxied request passes before anything goes upstream.
    fn admit(&self, headers: &HeaderMap, client: SocketAddr) -> Result<(), ApiError> {
        if !self.origin_allowed(headers) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "origin_not_allowed",
                "This proxy does not accept requests from this page's origin (see RUNBASE_ALLOWED_ORIGINS)",
            ));
        }
        let mut budget = self.per_client.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(wait) = budget.check(&client.ip().to_string(), Instant::now()) {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                "Too many requests from this client to the proxy: wait and retry",
            )
            .retry_after(retry_after_secs(wait)));
        }
        Ok(())
    }

    async fn forward(
        &self,
        method: Method,
        path: &str,
        headers: &HeaderMap,
        body: Option<Bytes>,
    ) -> Response {
        let url = format!("{}{path}", self.upstream);
        let mut request = self
            .client
            .request(method, &url)
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", self.key.expose()),
            )
            .header(header::ACCEPT, "application/json");
        if self.forward_host {
            if let Some(host) = headers.get(header::HOST) {
                request = request.header("x-forwarded-host", host.clone());
            }
        }
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let answer = match request.send().await {
            Ok(answer) => answer,
            Err(e) => return upstream_failure(&e).into_response(),
        };
        let status = answer.status();
        let mut content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
        let retry_after = answer.headers().get(header::RETRY_AFTER).cloned();
        let mut body = match answer.bytes().await {
            Ok(body) => body,
            Err(e) => return upstream_failure(&e).into_response(),
        };
        // A success is a run object: read it as one and write it again, members the API adds
        // later kept. Error answers go back as they came (a 500's body may not even be JSON).
        if status.is_success() {
            match serde_json::from_slice::<Run>(&body).and_then(|run| serde_json::to_vec(&run)) {
                Ok(run) => {
                    body = Bytes::from(run);
                    content_type = Some(HeaderValue::from_static("application/json"));
                }
                Err(e) => return not_a_run(status, &body, &e).into_response(),
            }
        }
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        let out = response.headers_mut();
        if let Some(value) = content_type {
            out.insert(header::CONTENT_TYPE, value);
        }
        if let Some(value) = retry_after {
            out.insert(header::RETRY_AFTER, value);
        }
        response
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

async fn preflight(State(Gw(gw)): State<Gw>, headers: HeaderMap) -> Response {
    if !gw.origin_allowed(&headers) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let mut response = gw.cors(&headers, StatusCode::NO_CONTENT.into_response());
    allow_preflight(&mut response);
    response
}

async fn not_found(State(Gw(gw)): State<Gw>, request: Request) -> Response {
    let error = if matches!(
        *request.method(),
        Method::GET | Method::POST | Method::OPTIONS
    ) {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "The proxy only serves POST /runs and GET /runs/{id}",
        )
    } else {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "The proxy only accepts GET and POST",
        )
    };
    gw.cors(request.headers(), error.into_response())
}

async fn create_run(
    State(Gw(gw)): State<Gw>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let headers = request.headers().clone();
    let result = async {
        gw.admit(&headers, client)?;
        let body = read_body(request.into_body(), gw.body_timeout).await?;
        let (model_id, input) = parse_run_request(&body)?;
        if !gw.allowed_models.contains(&model_id) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "model_not_allowed",
                format!("This proxy only runs {}", gw.allowed_models.join(", ")),
            ));
        }
        let Some(model) = runbase_image::find_model(&model_id) else {
            // main refuses an allowed model the library cannot check; never forward unchecked.
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "model_not_allowed",
                format!("This proxy cannot check input for {model_id}"),
            ));
        };
        // Only what was checked goes upstream: the model and the input as validated (defaults
        // filled in), nothing else.
        let forwarded = with_valid_input(model, &input, |input| {
            serde_json::to_vec(&CreateRequest {
                model: model.id,
                input,
            })
        })?
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                format!("The proxy could not write the request: {e}"),
            )
        })?;
        Ok(Bytes::from(forwarded))
    }
    .await;
    let response = match result {
        Ok(body) => {
            gw.forward(Method::POST, "/runs", &headers, Some(body))
                .await
        }
        Err(error) => error.into_response(),
    };
    gw.cors(&headers, response)
}

async fn get_run(
    State(Gw(gw)): State<Gw>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    method: Method,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let response = match gw.admit(&headers, client) {
        Err(error) => error.into_response(),
        // axum answers HEAD with the GET handler; the proxy forwards GET and POST only.
        Ok(()) if method == Method::HEAD => ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "The proxy only accepts GET and POST",
        )
        .into_response(),
        Ok(())
            if id.is_empty()
                || id.len() > 128
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
        {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "run_not_found",
                "That is not a run id",
            )
            .into_response()
        }
        Ok(()) => {
            gw.forward(Method::GET, &format!("/runs/{id}"), &headers, None)
                .await
        }
    };
    gw.cors(&headers, response)
}

/// Reads at most [`MAX_BODY_BYTES`], and only while the client keeps sending.
async fn read_body(body: Body, limit: Duration) -> Result<Bytes, ApiError> {
    match tokio::time::timeout(limit, to_bytes(body, MAX_BODY_BYTES)).await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "The request body arrived too slowly",
        )),
        Ok(Err(_)) => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body is over {MAX_BODY_BYTES} bytes (four 4 MB reference images as data URLs)"),
        )),
        Ok(Ok(body)) => Ok(body),
    }
}
