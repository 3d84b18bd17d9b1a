//! CORS with tower-http's `CorsLayer`, for the two APIs this server answers: the proxy's (only
//! pages the server trusts) and the simulator's (any page, as the real API's would be).

use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderName, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use crate::http::hosts::Hosts;

/// Sent on every answer of both APIs: "simulator" or "runbase".
pub const BACKEND_HEADER: HeaderName = HeaderName::from_static("x-runbase-backend");
/// Sent on every answer of the broker's runs endpoints: the longest wait a client should ask for.
pub const LONG_POLL_HEADER: HeaderName = HeaderName::from_static("x-runbase-long-poll");
/// Browsers may keep a preflight's answer this long.
const MAX_AGE: Duration = Duration::from_secs(600);

/// Whether a page at `origin` may call the proxy: one served under the server's own names
/// (any port: a dev server on localhost:5173 calling the proxy on localhost:8080, but never
/// under the request's Host alone, which DNS rebinding controls), or one of `allowed`.
pub fn origin_allowed(origin: &str, hosts: &Hosts, allowed: &[String]) -> bool {
    let own = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|authority| hosts.allows(authority));
    own || allowed.iter().any(|a| a == origin || a == "*")
}

/// The proxy's API: the origin echoed for trusted pages only, and the long-poll may be asked
/// for with `Prefer: wait=N`.
pub fn proxy(hosts: Hosts, allowed: Vec<String>) -> CorsLayer {
    let trusted = AllowOrigin::predicate(move |origin, _| {
        origin
            .to_str()
            .is_ok_and(|origin| origin_allowed(origin, &hosts, &allowed))
    });
    CorsLayer::new()
        .allow_origin(trusted)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("prefer"),
        ])
        .expose_headers([LONG_POLL_HEADER, header::RETRY_AFTER, BACKEND_HEADER])
        .max_age(MAX_AGE)
}

/// The simulated API: any page, with a key of its own.
pub fn simulator() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::RETRY_AFTER, BACKEND_HEADER])
        .max_age(MAX_AGE)
}

/// A preflight's answer has no body: 204 No Content, as this server has always answered
/// (tower-http's layer says 200; browsers take either).
pub async fn preflight_no_content(request: Request, next: Next) -> Response {
    let preflight = request.method() == Method::OPTIONS;
    let mut response = next.run(request).await;
    if preflight && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}
