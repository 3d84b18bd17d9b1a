//! The key-holding proxy: the browser calls `{prefix}/runs` with no key; this validates the
//! request with the library, adds the key and forwards it upstream (the real API, or the
//! built-in simulator). The key is never logged, echoed or sent anywhere but upstream.
//! What goes up is the core's `CreateRequest`; what comes back is read as the core's `Run`
//! and written again with serde, so the browser only ever sees a run object or an error.
//! Creating is `create.rs`; here the router, the checks every request passes, and reads.

mod create;

pub use create::{sent, AdmittedCreate};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, OriginalUri, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower::util::option_layer;
use tower_http::set_header::SetResponseHeaderLayer;

use runbase_image::core::code::ErrorCode;
use runbase_image::core::gateway::Refusal;
pub use runbase_image::core::gateway::MAX_BODY_BYTES;

use crate::auth::{Authenticator, Caller, Credentials};
use crate::broker::{requested_wait, Broker};
use crate::http::body_budget::BodyBudget;
use crate::http::cors;
use crate::http::error::ApiError;
use crate::http::hosts::Hosts;
use crate::rate_limit::CallerWindows;
use crate::spend::SpendGuard;
use crate::store::Shared;
use crate::upstream::Upstream;

pub struct Gateway {
    pub upstream: Arc<Upstream>,
    /// The run broker; `None` with `--pass-through` (every browser request forwarded).
    pub broker: Option<Arc<Broker>>,
    /// "simulator" or "runbase": shown to the demo, sent as X-Runbase-Backend.
    pub backend: &'static str,
    pub allowed_models: Vec<String>,
    pub allowed_origins: Vec<String>,
    /// The server's own host names: pages under them are same-site.
    pub hosts: Hosts,
    pub per_client: Mutex<CallerWindows>,
    /// Behind the broker: fetches of run ids it does not know, per client (an invented id
    /// costs an upstream request).
    pub lookups: Mutex<CallerWindows>,
    /// How long a request body may take to arrive (slow-loris bodies are cut off).
    pub body_timeout: Duration,
    pub body_budget: Arc<BodyBudget>,
    /// Limits in money (`--spend-*-usd`); `None` without any.
    pub spend: Option<Arc<SpendGuard>>,
    /// Who may spend; `None`: anyone (each client address is a caller).
    pub auth: Option<Arc<Authenticator>>,
    /// With `--redis`: the per-caller windows are counted there, shared by every instance.
    pub shared: Option<Arc<Shared>>,
}

#[derive(Clone)]
struct Gw(Arc<Gateway>);

impl Gateway {
    /// `POST /runs` and `GET /runs/{id}`; CORS answers preflights of trusted pages (a foreign
    /// page's is refused first, saying why), and every answer names the backend and, behind
    /// the broker, the long-poll it offers.
    pub fn router(self: &Arc<Self>) -> Router {
        let long_poll = self.broker.as_ref().map(|broker| {
            SetResponseHeaderLayer::overriding(
                cors::LONG_POLL_HEADER,
                HeaderValue::from(broker.config.long_poll_secs),
            )
        });
        Router::new()
            .route("/runs", post(create::create_run).fallback(not_found))
            .route("/runs/{id}", get(get_run).fallback(not_found))
            .fallback(not_found)
            .layer(cors::proxy(
                self.hosts.clone(),
                self.allowed_origins.clone(),
            ))
            .layer(middleware::from_fn(cors::preflight_no_content))
            .layer(middleware::from_fn_with_state(
                Gw(self.clone()),
                refuse_foreign_preflight,
            ))
            .layer(SetResponseHeaderLayer::overriding(
                cors::BACKEND_HEADER,
                HeaderValue::from_static(self.backend),
            ))
            .layer(option_layer(long_poll))
            .with_state(Gw(self.clone()))
    }

    fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        match headers.get(header::ORIGIN).map(|o| o.to_str()) {
            // Not a browser's cross-site request (curl, a server, a same-origin GET).
            None => true,
            Some(Ok(origin)) => cors::origin_allowed(origin, &self.hosts, &self.allowed_origins),
            Some(Err(_)) => false,
        }
    }

    /// The checks every proxied request passes before anything goes upstream; who it counts
    /// against.
    async fn admit(&self, request: &Credentials<'_>) -> Result<Caller, ApiError> {
        self.admit_origin(request.headers)?;
        let caller = self.caller(request).await?;
        self.admit_in(&self.per_client, "requests", &caller, "requests")
            .await?;
        Ok(caller)
    }

    /// The signed-in user with auth on, else the client's address.
    async fn caller(&self, request: &Credentials<'_>) -> Result<Caller, ApiError> {
        let Some(auth) = &self.auth else {
            return Ok(Caller::Address(request.client));
        };
        let user = auth.user(request).await?;
        tracing::Span::current().record("user", &*user);
        Ok(Caller::User(user))
    }

    fn admit_origin(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        if !self.origin_allowed(headers) {
            return Err(ApiError::new(
                ErrorCode::OriginNotAllowed,
                self.refuse_origin(headers),
            ));
        }
        Ok(())
    }

    /// Logs a refused origin (once per origin: a flood of them cannot fill the log) and
    /// returns the message that says how to allow it.
    fn refuse_origin(&self, headers: &HeaderMap) -> String {
        let origin: String = headers
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .unwrap_or("(unreadable)")
            .chars()
            .take(200)
            .collect();
        let listed = if self.allowed_origins.is_empty() {
            "none".to_string()
        } else {
            self.allowed_origins.join(", ")
        };
        let names = self.hosts.names().join(", ");
        static LOGGED: std::sync::OnceLock<Mutex<std::collections::HashSet<String>>> =
            std::sync::OnceLock::new();
        let first_time = LOGGED
            .get_or_init(Default::default)
            .lock()
            .is_ok_and(|mut seen| seen.len() < 100 && seen.insert(origin.clone()));
        if first_time {
            tracing::warn!(
                "refused a browser request from origin {origin}: allowed are this server's own names at any port ({names}) and --allowed-origins ({listed}); to allow it, start with --allowed-origins {origin}"
            );
        }
        Refusal::origin_not_allowed(
            &origin,
            &format!("pages under its own names at any port ({names}) and the origins of --allowed-origins (now: {listed})"),
            &format!("To allow this page, start runbase-server with --allowed-origins {origin} (or RUNBASE_ALLOWED_ORIGINS; several separated by commas)"),
        )
        .body
        .error
        .message
    }

    /// A read behind the broker: a run it knows costs the key nothing, so only unknown ids
    /// count against the caller's budget. With sign-in a run is its creator's alone: another
    /// user's, or one this proxy did not make (or has forgotten), is no run for this user,
    /// and nothing is looked up upstream for it.
    async fn admit_read(
        &self,
        broker: &Broker,
        request: &Credentials<'_>,
        id: &str,
        plausible: bool,
    ) -> Result<(), ApiError> {
        self.admit_origin(request.headers)?;
        let caller = self.caller(request).await?;
        let known = plausible && broker.knows_anywhere(id).await;
        let what = "lookups of unknown run ids";
        match caller.user() {
            Some(user) if known && broker.owner(id).as_ref() == Some(user) => Ok(()),
            // Each id tried costs a read of the shared state: counted as a lookup.
            Some(_) => {
                self.admit_in(&self.lookups, "lookups", &caller, what)
                    .await?;
                Err(ApiError::new(
                    ErrorCode::RunNotFound,
                    "No run with this id for this user",
                ))
            }
            None if known => Ok(()),
            None => self.admit_in(&self.lookups, "lookups", &caller, what).await,
        }
    }

    /// One more request from `caller` in `window`, or the proxy's 429 saying when. With
    /// Redis the window is the one every instance shares (`name`d in Redis); while Redis does
    /// not answer, this instance's.
    async fn admit_in(
        &self,
        window: &Mutex<CallerWindows>,
        name: &str,
        caller: &Caller,
        what: &str,
    ) -> Result<(), ApiError> {
        let key = caller.to_string();
        let shared = match &self.shared {
            Some(shared) if shared.is_up() => {
                let (limit, span) = crate::lock::locked(window).limits();
                shared.count_call(name, &key, limit, span).await
            }
            _ => None,
        };
        let counted =
            shared.unwrap_or_else(|| crate::lock::locked(window).check(&key, Instant::now()));
        counted.map_err(|wait| {
            Refusal::too_many(what, caller.noun(), wait.as_secs_f64() * 1000.0).into()
        })
    }

    async fn forward(
        &self,
        method: Method,
        path: &str,
        headers: &HeaderMap,
        body: Option<Bytes>,
    ) -> Response {
        match self
            .upstream
            .call(method, path, headers.get(header::HOST), body)
            .await
        {
            Ok(answer) => answer.into_response(),
            Err(error) => error.into_response(),
        }
    }
}

/// A preflight from a page the proxy does not trust: refused with the reason, which the
/// browser hides from the page but the log and this body tell.
async fn refuse_foreign_preflight(
    State(Gw(gw)): State<Gw>,
    request: Request,
    next: middleware::Next,
) -> Response {
    if request.method() == Method::OPTIONS && !gw.origin_allowed(request.headers()) {
        return (StatusCode::FORBIDDEN, gw.refuse_origin(request.headers())).into_response();
    }
    next.run(request).await
}

async fn not_found(request: Request) -> Response {
    ApiError::from(Refusal::not_found(request.method().as_str())).into_response()
}

async fn get_run(
    State(Gw(gw)): State<Gw>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let credentials = Credentials {
        method: &method,
        path: uri.path(),
        headers: &headers,
        client: client.ip(),
    };
    let plausible = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let admitted = match &gw.broker {
        Some(broker) => gw.admit_read(broker, &credentials, &id, plausible).await,
        None => gw.admit(&credentials).await.map(drop),
    };
    let response = match admitted {
        Err(error) => error.into_response(),
        // axum answers HEAD with the GET handler; the proxy forwards GET and POST only.
        Ok(()) if method == Method::HEAD => {
            ApiError::from(Refusal::method_not_allowed()).into_response()
        }
        Ok(()) if !plausible => {
            ApiError::new(ErrorCode::RunNotFound, "That is not a run id").into_response()
        }
        Ok(()) => match &gw.broker {
            Some(broker) => {
                let wait = requested_wait(
                    query.get("wait").map(String::as_str),
                    headers.get("prefer"),
                    broker.config.max_wait_secs,
                );
                let seen = query.get("seen").cloned();
                let host = headers.get(header::HOST).cloned();
                let look_up = gw.auth.is_none();
                broker.get(&id, wait, seen, host, look_up).await
            }
            None => {
                gw.forward(Method::GET, &format!("/runs/{id}"), &headers, None)
                    .await
            }
        },
    };
    response
}
