//! The key-holding proxy's rules, one implementation for both proxies: `runbase-server`
//! (native) and the package's `runbase-image/server` entry (this module compiled to wasm).
//! What a create's body must be and what goes upstream of it, the refusals in the API's own
//! error shape, the reading of upstream answers (re-shaped, the key scrubbed), the spend
//! windows, and the shared store's layout (its name prefix and Lua scripts).

mod request;
pub mod spend;
pub mod store;
mod upstream;

use serde::Serialize;

use crate::core::api::{ErrorBody, ErrorDetail};
use crate::core::code::ErrorCode;
use crate::core::model::find_model;
use crate::core::validate::Issue;

pub use request::{mend_lone_surrogates, parse_run_request, to_core_value, with_valid_input};
pub use upstream::{
    is_rate_limited, read_upstream, scrub, upstream_timeout, upstream_unreachable, UpstreamAnswer,
};

/// Four 4 MiB reference images as base64 data URLs, plus the prompt and JSON around them.
pub const MAX_BODY_BYTES: usize = 4 * (4 * 1024 * 1024 * 4 / 3 + 64) + 64 * 1024;

/// The key's documented window (docs/RUNBASE-API.md: 20 requests per 10 s), the margin a proxy adds to
/// each slot after its answer (the API counts arrivals, a proxy sees answers), and the slot it
/// leaves to the key's other users.
pub const KEY_REQUESTS: u64 = 20;
pub const KEY_WINDOW_MS: u64 = 10_000;
pub const KEY_MARGIN_MS: u64 = 500;
pub const KEY_SPARE: u64 = 1;

/// `WWW-Authenticate` of a request that brought no credentials (RFC 6750).
pub const AUTH_CHALLENGE: &str = r#"Bearer realm="runbase""#;

/// An answer that refuses a request, in the API's error shape, with the headers it needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    pub status: u16,
    pub body: ErrorBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// `WWW-Authenticate`, on a 401.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<&'static str>,
}

impl Refusal {
    /// A refusal answered with its code's status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            status: code.status().unwrap_or(500),
            body: ErrorBody::new(code, message),
            retry_after_secs: None,
            challenge: None,
        }
    }

    /// A refusal without a code (docs/RUNBASE-API.md promises none for a 500).
    pub fn uncoded(status: u16, message: impl Into<String>) -> Self {
        Refusal {
            status,
            body: ErrorBody {
                error: ErrorDetail {
                    message: message.into(),
                    code: None,
                    issues: Vec::new(),
                },
            },
            retry_after_secs: None,
            challenge: None,
        }
    }

    /// The validator's issues, for an `invalid_input` answer.
    pub fn with_issues(mut self, issues: Vec<Issue>) -> Self {
        self.body.error.issues = issues;
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn challenge(mut self, challenge: &'static str) -> Self {
        self.challenge = Some(challenge);
        self
    }

    /// The body as JSON text.
    pub fn body_json(&self) -> String {
        serde_json::to_string(&self.body).unwrap_or_default()
    }

    /// A page from a foreign origin: what the proxy `accepts`, and how to allow this one.
    pub fn origin_not_allowed(origin: &str, accepts: &str, allow_how: &str) -> Refusal {
        let how = if origin == "null" {
            "A page opened from a file or a sandbox has the origin \"null\", which cannot be allowed safely: serve the page over http(s)"
        } else {
            allow_how
        };
        Refusal::new(ErrorCode::OriginNotAllowed, format!(
                "This server refuses requests from pages at {origin}: it accepts {accepts}. {how}. An origin is the scheme, host and port exactly: http://127.0.0.1:4173 and http://localhost:4173 are different origins"
            ),
        )
    }

    /// A path the proxy does not serve (or a method it does not take there).
    pub fn not_found(method: &str) -> Refusal {
        if matches!(method, "GET" | "POST" | "OPTIONS") {
            Refusal::new(
                ErrorCode::NotFound,
                "The proxy only serves POST /runs and GET /runs/{id}",
            )
        } else {
            Refusal::method_not_allowed()
        }
    }

    pub fn method_not_allowed() -> Refusal {
        Refusal::new(
            ErrorCode::MethodNotAllowed,
            "The proxy only accepts GET and POST",
        )
    }

    pub fn too_large() -> Refusal {
        Refusal::new(ErrorCode::PayloadTooLarge, format!("The request body is over {MAX_BODY_BYTES} bytes (four 4 MB reference images as data URLs)"),
        )
    }

    pub fn no_such_run(message: &str) -> Refusal {
        Refusal::new(ErrorCode::RunNotFound, message)
    }

    /// A caller over its request window: `what` it sent too many of, `noun` what it is
    /// ("client" or "user"), and how long until it may send again.
    pub fn too_many(what: &str, noun: &str, wait_ms: f64) -> Refusal {
        Refusal::new(
            ErrorCode::RateLimited,
            format!("Too many {what} from this {noun} to the proxy: wait and retry"),
        )
        .retry_after(retry_after_secs(wait_ms))
    }

    /// No credentials where sign-in is required.
    pub fn auth_required(message: impl Into<String>) -> Refusal {
        Refusal::new(ErrorCode::AuthRequired, message).challenge(AUTH_CHALLENGE)
    }

    /// The key's window has no room for a create soon enough: nothing was sent upstream.
    pub fn key_busy(waiting: usize, wait_ms: f64) -> Refusal {
        let secs = (wait_ms / 1000.0).ceil().max(1.0);
        Refusal::new(
            ErrorCode::RateLimited,
            format!("The proxy's API key is busy ({waiting} run(s) queued): retry after {secs} s"),
        )
        .retry_after(secs as u64)
    }

    /// A body that arrived too slowly.
    pub fn body_too_slow() -> Refusal {
        Refusal::new(
            ErrorCode::RequestTimeout,
            "The request body arrived too slowly",
        )
    }

    /// The connection ended before the body did (shorter than its Content-Length).
    pub fn incomplete_body() -> Refusal {
        Refusal::new(
            ErrorCode::IncompleteBody,
            "The request body ended before it was complete",
        )
    }

    /// The shared state (Redis) did not answer where a limit must be checked there.
    pub fn shared_state_unavailable(what: &str) -> Refusal {
        Refusal::new(
            ErrorCode::SharedStateUnavailable,
            format!("The proxy cannot reach its shared state (Redis) to {what}; retry shortly"),
        )
        .retry_after(5)
    }
}

/// A user id as a sign-in names it, within reason (it keys limits and runs in the store and
/// shows in logs): 1 to 256 characters, trimmed, no control characters.
pub fn user_id(id: &str) -> Result<&str, String> {
    let id = id.trim();
    if id.is_empty() || id.len() > 256 || id.chars().any(char::is_control) {
        return Err(format!(
            "a user id must be 1 to 256 characters without control characters, not {} characters",
            id.len()
        ));
    }
    Ok(id)
}

/// Whole seconds for a Retry-After header, never 0 (a client must not retry at once).
pub fn retry_after_secs(wait_ms: f64) -> u64 {
    // NaN and negatives: 1 as well.
    (wait_ms / 1000.0).ceil().max(1.0) as u64
}

/// A create that may go upstream: the body to send (the model and the input as validated,
/// defaults filled in, nothing else) and what it will cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Admitted {
    pub body: String,
    pub resolution: &'static str,
    pub price_micro_usd: u64,
}

/// A create request's body checked as the proxy must before anything goes upstream: strict
/// JSON, a model this proxy runs (and the library can check), the input valid.
pub fn admit_create<S: AsRef<str>>(body: &[u8], allowed_models: &[S]) -> Result<Admitted, Refusal> {
    let (model_id, input) = parse_run_request(body)?;
    let allowed: Vec<&str> = allowed_models.iter().map(AsRef::as_ref).collect();
    if !allowed.contains(&model_id.as_str()) {
        return Err(Refusal::new(
            ErrorCode::ModelNotAllowed,
            format!("This proxy only runs {}", allowed.join(", ")),
        ));
    }
    let Some(model) = find_model(&model_id) else {
        // An allowed model the library cannot check is never forwarded unchecked.
        return Err(Refusal::new(
            ErrorCode::ModelNotAllowed,
            format!("This proxy cannot check input for {model_id}"),
        ));
    };
    let (body, resolution) = with_valid_input(model, &input, |input| {
        let request = crate::core::api::CreateRequest {
            model: model.id,
            input,
        };
        (serde_json::to_string(&request), input.resolution)
    })?;
    let body = body.map_err(|e| {
        Refusal::new(
            ErrorCode::InternalError,
            format!("The proxy could not write the request: {e}"),
        )
    })?;
    Ok(Admitted {
        body,
        resolution,
        price_micro_usd: model.cost_micro_usd(resolution).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(4100.0), 5);
        assert_eq!(retry_after_secs(3000.0), 3);
        assert_eq!(retry_after_secs(0.0), 1);
        assert_eq!(retry_after_secs(f64::NAN), 1);
    }

    #[test]
    fn creates_are_checked_before_they_go_up() {
        let models = ["openai/gpt-image-2"];
        let ok = admit_create(
            br#"{"model":"openai/gpt-image-2","input":{"prompt":"a lamp","resolution":"4K","aspect_ratio":"16:9"},"webhook":"x"}"#,
            &models,
        )
        .expect("valid");
        assert_eq!(ok.price_micro_usd, 120_000);
        assert_eq!(
            ok.body,
            r#"{"model":"openai/gpt-image-2","input":{"prompt":"a lamp","aspect_ratio":"16:9","resolution":"4K"}}"#
        );
        let wrong = admit_create(
            br#"{"model":"openai/gpt-image-2","input":{"prompt":"a lamp","resolution":"4K"}}"#,
            &models,
        )
        .expect_err("4K needs a wide ratio");
        assert_eq!((wrong.status, wrong.body.error.issues.len()), (400, 1));
        let other = admit_create(br#"{"model":"x/y","input":{}}"#, &models).expect_err("locked");
        assert_eq!(other.body.error.code, Some(ErrorCode::ModelNotAllowed));
        assert_eq!(other.status, 400);
        assert_eq!(
            admit_create(b"{", &models)
                .expect_err("json")
                .body
                .error
                .code,
            Some(ErrorCode::InvalidJson)
        );
    }
}
