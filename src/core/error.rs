//! The one error the client reports, with a stable kind, built from what went wrong.

use crate::core::api::ApiFailure;
use crate::core::code::ErrorCode;
use crate::core::validate::Issue;
use serde::{Serialize, Serializer};

/// What went wrong, stable for code to switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(tsify_next::Tsify))]
#[cfg_attr(test, serde(rename = "RunbaseErrorKind", rename_all = "snake_case"))]
pub enum ErrorKind {
    /// The input broke the model's rules; no request was made.
    Validation,
    /// The API answered with an error status.
    Api,
    /// No answer: the connection failed or was dropped (or CORS refused it).
    Network,
    /// The per-request or overall time-out ran out.
    Timeout,
    /// The caller's AbortSignal fired.
    Aborted,
    /// The run ended `failed` or `canceled`.
    RunFailed,
    /// An answer that could not be read (not JSON, or not the expected shape).
    Decode,
    /// A proxy with sign-in refused the user's access token (401 auth_required, auth_invalid,
    /// or auth_expired once a fresh token was refused too), or accessToken() gave none.
    Auth,
    /// The WebAssembly module could not be loaded: its .wasm not found where the entry looked,
    /// not fetchable, or not this build's module (it would not compile or instantiate).
    Load,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Validation,
        ErrorKind::Api,
        ErrorKind::Network,
        ErrorKind::Timeout,
        ErrorKind::Aborted,
        ErrorKind::RunFailed,
        ErrorKind::Decode,
        ErrorKind::Auth,
        ErrorKind::Load,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Validation => "validation",
            ErrorKind::Api => "api",
            ErrorKind::Network => "network",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Aborted => "aborted",
            ErrorKind::RunFailed => "run_failed",
            ErrorKind::Decode => "decode",
            ErrorKind::Auth => "auth",
            ErrorKind::Load => "load",
        }
    }
}

impl Serialize for ErrorKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The fields every error of this library carries (see the RunbaseError class). In Rust,
/// the error every call of the client reports; serialized as these fields (the message is
/// the JS constructor's own argument).
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[cfg_attr(test, derive(tsify_next::Tsify))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, serde(rename = "RunbaseErrorFields"))]
#[error("{message}")]
pub struct RunbaseError {
    #[cfg_attr(test, tsify(type = "RunbaseErrorKind"))]
    pub kind: ErrorKind,
    #[serde(skip)]
    pub message: String,
    /// HTTP status, when an answer arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, tsify(optional))]
    pub status: Option<u16>,
    /// The API's error code ("RATE_LIMITED", "invalid_api_key", …), the library's
    /// ("invalid_input", "invalid_options", …) or the proxy's.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, tsify(optional, type = "RunbaseErrorCode"))]
    pub code: Option<String>,
    /// Whether the same call may succeed if made again (never for a POST that may have
    /// created a run).
    pub retryable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, tsify(optional))]
    pub retry_after_ms: Option<u64>,
    /// Set whenever a run exists: resume with client.waitForRun(runId).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, tsify(optional))]
    pub run_id: Option<String>,
    /// For kind "validation" with code "invalid_input": every problem of the input.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(test, tsify(optional, type = "ValidationIssue[]"))]
    pub issues: Vec<Issue>,
}

impl RunbaseError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        RunbaseError {
            kind,
            message: message.into(),
            status: None,
            code: None,
            retryable: false,
            retry_after_ms: None,
            run_id: None,
            issues: Vec::new(),
        }
    }

    pub fn with_run(mut self, run_id: Option<&str>) -> Self {
        if self.run_id.is_none() {
            self.run_id = run_id.map(str::to_string);
        }
        self
    }

    /// An error answer from the API with HTTP `status`; `retryable` follows the documented
    /// codes. `url` is the address that answered (without its query): a 404 or 405 that is
    /// not the API's documented 404 (`run_not_found`) means nothing answers there, and the
    /// message says what a base URL is.
    pub fn from_api(
        failure: ApiFailure,
        retry_after_ms: Option<u64>,
        retryable: bool,
        url: &str,
    ) -> Self {
        let ApiFailure {
            status,
            code,
            message,
        } = failure;
        let code_part = code.as_deref().map_or(String::new(), |c| format!(" {c}"));
        let nothing_there =
            matches!(status, 404 | 405) && code.as_deref() != Some(ErrorCode::RunNotFound.as_str());
        let message = if nothing_there {
            let url = url.split('?').next().unwrap_or(url);
            format!("Nothing answers at {url} (HTTP {status}{code_part}): {BASE_URL_HINT}")
        } else {
            format!("HTTP {status}{code_part}: {message}")
        };
        // A sign-in's refusals (ErrorCode::AuthRequired, AuthInvalid, AuthExpired) share the
        // prefix; a prefix test is cheaper in the wasm client than a list.
        let refused_user = status == 401 && code.as_deref().is_some_and(|c| c.starts_with("auth_"));
        RunbaseError {
            kind: if refused_user {
                ErrorKind::Auth
            } else {
                ErrorKind::Api
            },
            message,
            status: Some(status),
            code,
            retryable,
            retry_after_ms,
            run_id: None,
            issues: Vec::new(),
        }
    }

    /// A fetch that got no answer at all. `post`: the request would create a run.
    pub fn network(runtime: Runtime, failure: &NetworkFailure, post: bool) -> Self {
        let NetworkFailure { url, code, detail } = failure;
        let (code, detail) = (code.as_deref(), detail.as_str());
        let url = url.split('?').next().unwrap_or(url);
        // Node's fetch refuses the ports of the fetch standard's block list (9, 6000, …) itself.
        let bad_port = runtime == Runtime::Node && code.is_none() && detail == "bad port";
        let never_connected = bad_port
            || runtime == Runtime::Node && code.is_some_and(|code| NEVER_CONNECTED.contains(&code));
        let mut message = match (runtime, code) {
            (Runtime::Node, None) if bad_port => format!(
                "Could not connect to {url}: fetch refuses this port (\"bad port\": the fetch standard blocks it): give the server another port. No request reached the server"
            ),
            (Runtime::Node, Some(code)) if never_connected => {
                let why = match code {
                    "ECONNREFUSED" => "nothing listens there: is the server running, and are the host and port of baseUrl right?",
                    "ENOTFOUND" | "EAI_AGAIN" => "the host name could not be resolved: check baseUrl and this machine's DNS",
                    _ => "the host could not be reached: check baseUrl and the network",
                };
                format!("Could not connect to {url}: {code} ({why}). No request reached the server")
            }
            (Runtime::Node, Some(code)) => format!(
                "The request to {url} failed without an answer: {code} ({detail})"
            ),
            (Runtime::Node, None) => {
                format!("The request to {url} failed without an answer: {detail}")
            }
            (Runtime::Browser, _) => format!(
                "The request to {url} failed without an answer ({detail}). The network may be down, or the API may not allow requests from a browser page (CORS): a proxy that holds the key avoids this"
            ),
        };
        if post && !never_connected {
            message.push('.');
            message.push_str(MAY_HAVE_RUN);
        }
        let mut error = RunbaseError::new(ErrorKind::Network, message);
        // A GET may always be made again; a POST only when it is known not to have arrived.
        error.retryable = !post || never_connected;
        error
    }
}

/// Where the client runs: network errors are worded for it (Node's fetch tells why a
/// connection failed; a browser's never does, and there CORS is the usual suspect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Browser,
    Node,
}

/// What a fetch that got no answer reported: the URL, the runtime's error code when it gives
/// one (Node: the `code` of the TypeError's `cause`, such as `ECONNREFUSED`), and its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkFailure {
    pub url: String,
    pub code: Option<String>,
    pub detail: String,
}

impl NetworkFailure {
    /// A failure the runtime gave no code for.
    pub fn new(url: &str, detail: &str) -> Self {
        NetworkFailure {
            url: url.to_string(),
            code: None,
            detail: detail.to_string(),
        }
    }
}

/// Node's codes for a connection that was never made: no request reached the server, so a
/// POST cannot have created a run.
pub const NEVER_CONNECTED: [&str; 6] = [
    "ECONNREFUSED",
    "ENOTFOUND",
    "EAI_AGAIN",
    "EHOSTUNREACH",
    "ENETUNREACH",
    "UND_ERR_CONNECT_TIMEOUT",
];

/// Appended to the message of a POST that failed in a way that may have created a run.
pub const MAY_HAVE_RUN: &str =
    " A run may or may not have been created: check before creating another";

/// What a base URL looks like, for a request that found nothing at the one given.
pub const BASE_URL_HINT: &str = "check baseUrl \u{2014} it is the API's base, such as https://api.runbase.net/v1, or your proxy's, such as /api/v1 served by runbase-server; the client appends /runs";

#[cfg(test)]
mod tests {
    use super::*;

    fn no_answer(code: Option<&str>, detail: &str) -> NetworkFailure {
        NetworkFailure {
            code: code.map(str::to_string),
            ..NetworkFailure::new("http://127.0.0.1:9/v1/runs?wait=25", detail)
        }
    }

    #[test]
    fn network_errors_speak_of_where_they_happen() {
        let refused = no_answer(Some("ECONNREFUSED"), "connect ECONNREFUSED 127.0.0.1:9");
        let node = RunbaseError::network(Runtime::Node, &refused, true);
        assert!(node
            .message
            .starts_with("Could not connect to http://127.0.0.1:9/v1/runs: ECONNREFUSED"));
        assert!(!node.message.contains("CORS") && !node.message.contains("may or may not"));
        assert!(
            node.retryable,
            "nothing reached the server: safe to make again"
        );
        let blocked = RunbaseError::network(Runtime::Node, &no_answer(None, "bad port"), true);
        assert!(blocked.message.contains("bad port") && blocked.retryable);
        assert!(!blocked.message.contains("may or may not"));
        let dropped = no_answer(Some("UND_ERR_SOCKET"), "other side closed");
        let node = RunbaseError::network(Runtime::Node, &dropped, true);
        assert!(node.message.contains("UND_ERR_SOCKET (other side closed)"));
        assert!(node.message.contains("may or may not have been created"));
        assert!(!node.message.contains("CORS") && !node.retryable);
        let browser =
            RunbaseError::network(Runtime::Browser, &no_answer(None, "Failed to fetch"), false);
        assert!(browser.message.contains("CORS") && browser.message.contains("proxy"));
        assert!(browser.message.contains("http://127.0.0.1:9/v1/runs "));
        assert!(browser.retryable);
    }

    #[test]
    fn a_404_outside_the_api_says_what_a_base_url_is() {
        let failure = |status, code: Option<&str>| {
            ApiFailure {
            status,
            code: code.map(str::to_string),
            message: "The API answered HTTP 404 with a body that is not JSON (no content type): (empty body)".into(),
        }
        };
        let url = "http://localhost:5173/api/v1/runs";
        let wrong = RunbaseError::from_api(failure(404, None), None, false, url);
        assert_eq!(
            wrong.message,
            format!("Nothing answers at {url} (HTTP 404): {BASE_URL_HINT}")
        );
        assert!(wrong.message.contains("https://api.runbase.net/v1"));
        let wrong =
            RunbaseError::from_api(failure(405, Some("method_not_allowed")), None, false, url);
        assert!(wrong.message.starts_with("Nothing answers at http://localhost:5173/api/v1/runs (HTTP 405 method_not_allowed): check baseUrl"));
        // A proxy's sign-in refusing the user is kind "auth"; the API refusing its key is not.
        let refused = RunbaseError::from_api(failure(401, Some("auth_expired")), None, false, url);
        assert_eq!(refused.kind, ErrorKind::Auth);
        let key = RunbaseError::from_api(failure(401, Some("invalid_api_key")), None, false, url);
        assert_eq!(key.kind, ErrorKind::Api);
        let run = RunbaseError::from_api(failure(404, Some("run_not_found")), None, false, url);
        assert!(
            run.message.starts_with("HTTP 404 run_not_found: "),
            "{}",
            run.message
        );
    }
}
