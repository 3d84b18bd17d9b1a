//! The one error the client reports, with a stable kind, built from what went wrong.

use crate::core::api::ApiFailure;
use crate::core::validate::Issue;
use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::Validation,
        ErrorKind::Api,
        ErrorKind::Network,
        ErrorKind::Timeout,
        ErrorKind::Aborted,
        ErrorKind::RunFailed,
        ErrorKind::Decode,
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
        }
    }
}

impl Serialize for ErrorKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Serialized as the fields of the JS `RunbaseError` (the message is its constructor's own
/// argument).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientError {
    pub kind: ErrorKind,
    #[serde(skip)]
    pub message: String,
    /// HTTP status, when an answer arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The API's error code (`RATE_LIMITED`, `invalid_api_key`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Whether making the same call again may succeed (never true for a POST that may have
    /// created a run).
    pub retryable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// Set whenever a run exists, so the caller can resume with `waitForRun(runId)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<Issue>,
}

impl ClientError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ClientError {
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

    /// An error answer from the API; `retryable` follows the documented codes.
    pub fn from_api(failure: ApiFailure, retry_after_ms: Option<u64>, retryable: bool) -> Self {
        let code_part = failure
            .code
            .as_deref()
            .map_or(String::new(), |c| format!(" {c}"));
        ClientError {
            kind: ErrorKind::Api,
            message: format!("HTTP {}{code_part}: {}", failure.status, failure.message),
            status: Some(failure.status),
            code: failure.code,
            retryable,
            retry_after_ms,
            run_id: None,
            issues: Vec::new(),
        }
    }

    /// A fetch that failed without any answer.
    pub fn network(detail: &str) -> Self {
        let mut error = ClientError::new(
            ErrorKind::Network,
            format!(
                "The request failed without an answer ({detail}). The network may be down, or the API may not allow requests from a browser page (CORS): a proxy that holds the key avoids this"
            ),
        );
        error.retryable = true;
        error
    }
}
