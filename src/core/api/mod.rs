//! The Runbase API's objects (docs/RUNBASE-API.md, "The run object" and "Errors"): one serde definition
//! each. The simulator writes them, the proxy reads them, the wasm client returns them, so the
//! three cannot disagree. Also the readers that take what the API answers without trusting it:
//! pure functions over [`Value`], tested (and fuzzed) natively; the wasm layer hands them what
//! `JSON.parse` produced.
//!
//! Here the run object and its readers; the error side (codes, error bodies, reading an error
//! answer, `Retry-After`) is in `failure.rs`, re-exported here.

use serde::{Deserialize, Serialize};

use super::error::{ErrorKind, RunbaseError};
use super::validate::NormalizedInput;
use super::value::{Members, Value};

mod failure;
pub use failure::{excerpt, parse_error, parse_retry_after, ApiFailure, ErrorBody, ErrorDetail};

/// How far below a response body the client reads: `output.urls[i]` is three levels down.
pub const RESPONSE_DEPTH: usize = 3;
/// The members of a run object the client reads into wasm; any other member (one the API adds
/// later) is handed to the caller as it came, never copied through wasm memory.
pub const RUN_FIELDS: [&str; 8] = [
    "id",
    "model",
    "status",
    "costUsd",
    "createdAt",
    "completedAt",
    "output",
    "error",
];

/// A run's status. The four documented values, and any other string, which means "not
/// finished yet" (a new status must never break a client).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum RunStatus {
    Pending,
    Processing,
    Succeeded,
    Failed,
    Other(String),
}

impl RunStatus {
    /// The statuses docs/RUNBASE-API.md documents, in the order a run goes through them.
    pub const DOCUMENTED: [RunStatus; 4] = [
        RunStatus::Pending,
        RunStatus::Processing,
        RunStatus::Succeeded,
        RunStatus::Failed,
    ];

    pub fn parse(text: &str) -> RunStatus {
        match text {
            "pending" => RunStatus::Pending,
            "processing" => RunStatus::Processing,
            "succeeded" => RunStatus::Succeeded,
            "failed" => RunStatus::Failed,
            other => RunStatus::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            RunStatus::Pending => "pending",
            RunStatus::Processing => "processing",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Other(text) => text,
        }
    }

    pub fn is_finished(&self) -> bool {
        matches!(self, RunStatus::Succeeded | RunStatus::Failed)
    }
}

impl From<String> for RunStatus {
    fn from(text: String) -> Self {
        match RunStatus::parse(&text) {
            RunStatus::Other(_) => RunStatus::Other(text),
            known => known,
        }
    }
}

impl From<RunStatus> for String {
    fn from(status: RunStatus) -> Self {
        match status {
            RunStatus::Other(text) => text,
            known => known.as_str().to_string(),
        }
    }
}

/// `output` of a succeeded run: the generated images' CDN URLs (not promised to be permanent).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunOutput {
    #[serde(default)]
    pub urls: Vec<String>,
    #[cfg_attr(not(target_arch = "wasm32"), serde(flatten))]
    #[cfg_attr(target_arch = "wasm32", serde(skip))]
    pub extra: Members,
}

/// `error` of a failed run: its shape is not documented, so a string or an object with a
/// `message` (and perhaps a `code`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RunError {
    Message(String),
    Detail {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
}

impl RunError {
    pub fn message(&self) -> Option<&str> {
        match self {
            RunError::Message(text) => Some(text),
            RunError::Detail { message, .. } => message.as_deref(),
        }
    }
}

/// The run object (`POST /runs`, `GET /runs/{id}`), camelCase as documented. Members the API
/// adds later are kept in `extra` and written back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub status: RunStatus,
    /// Micro-dollars (50000 is $0.05), charged at creation, refunded in full on failure.
    #[serde(default, rename = "costUsd", skip_serializing_if = "Option::is_none")]
    pub cost_micro_usd: Option<u64>,
    /// ISO 8601 times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<RunOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
    /// In wasm this stays empty: the client copies the members it does not name from the
    /// parsed answer to the caller's object by reference, so none passes through wasm memory
    /// (and no serializer for arbitrary JSON is linked into the module).
    #[cfg_attr(not(target_arch = "wasm32"), serde(flatten))]
    #[cfg_attr(target_arch = "wasm32", serde(skip))]
    pub extra: Members,
}

impl Run {
    /// The image URLs of a succeeded run (none otherwise).
    pub fn urls(&self) -> &[String] {
        self.output.as_ref().map_or(&[], |o| o.urls.as_slice())
    }
}

/// The body of `POST /runs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateRequest<'a> {
    pub model: &'a str,
    pub input: &'a NormalizedInput<'a>,
}

/// Reads a run object the way the serde definition does, from a [`Value`] the wasm layer read
/// without trusting it (`tests/never_panics.rs` checks the two agree). Members of the wrong
/// type are left out rather than failing the whole run, except `id` and `status`, without
/// which nothing can be done: without them, a [`ErrorKind::Decode`] error.
pub fn parse_run(body: &Value) -> Result<Run, RunbaseError> {
    let not_a_run = |why: String| {
        RunbaseError::new(
            ErrorKind::Decode,
            format!("The API's answer is not a run: {why}"),
        )
    };
    let Value::Object(_) = body else {
        return Err(not_a_run(format!(
            "expected a run object, got {}",
            body.describe()
        )));
    };
    let text = |name: &str| match body.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let id = match text("id") {
        Some(id) if !id.is_empty() => id,
        _ => return Err(not_a_run("the run object has no \"id\" string".into())),
    };
    let Some(status) = text("status") else {
        return Err(not_a_run(format!("run {id} has no \"status\" string")));
    };
    let output = match body.get("output") {
        Some(output @ Value::Object(_)) => Some(RunOutput {
            urls: match output.get("urls") {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|u| match u {
                        Value::String(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            },
            extra: Members::default(),
        }),
        _ => None,
    };
    let error = match body.get("error") {
        Some(Value::String(message)) => Some(RunError::Message(message.clone())),
        Some(error @ Value::Object(_)) => {
            let field = |name| match error.get(name) {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            };
            Some(RunError::Detail {
                message: field("message"),
                code: field("code"),
            })
        }
        _ => None,
    };
    let cost_micro_usd = match body.get("costUsd") {
        // Micro-dollars are whole numbers; anything else is not a cost we can state.
        Some(Value::Number(n)) if *n >= 0.0 && n.fract() == 0.0 && *n < 9.0e15 => Some(*n as u64),
        _ => None,
    };
    Ok(Run {
        id,
        model: text("model"),
        status: RunStatus::from(status),
        cost_micro_usd,
        created_at: text("createdAt"),
        completed_at: text("completedAt"),
        output,
        error,
        extra: Members::default(),
    })
}

/// What a finished run means for the caller: its image URLs, or the error to report (with
/// the run id). `None` while it is not finished, including under a status nobody knows.
pub fn finished_outcome(run: &Run) -> Option<Result<&[String], RunbaseError>> {
    let fail =
        |kind, message: String| Some(Err(RunbaseError::new(kind, message).with_run(Some(&run.id))));
    match run.status {
        RunStatus::Succeeded if run.urls().is_empty() => fail(
            ErrorKind::Decode,
            format!("Run {} succeeded but its output has no image URLs (output.urls is missing or empty)", run.id),
        ),
        RunStatus::Succeeded => Some(Ok(run.urls())),
        RunStatus::Failed => fail(
            ErrorKind::RunFailed,
            format!(
                "Run {} failed: {}",
                run.id,
                run.error
                    .as_ref()
                    .and_then(RunError::message)
                    .unwrap_or("the API gave no reason")
            ),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn obj(fields: &[(&str, Value)]) -> Value {
        Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }
    pub(super) fn s(text: &str) -> Value {
        Value::String(text.into())
    }

    #[test]
    fn runs() {
        let run = obj(&[
            ("id", s("run_1")),
            ("status", s("succeeded")),
            (
                "output",
                obj(&[(
                    "urls",
                    Value::Array(vec![s("https://a/1.png"), Value::Null]),
                )]),
            ),
        ]);
        let view = parse_run(&run).expect("run");
        assert_eq!(view.status, RunStatus::Succeeded);
        assert_eq!(view.urls(), ["https://a/1.png"]);
        let failed = obj(&[
            ("id", s("r")),
            ("status", s("failed")),
            ("error", obj(&[("message", s("nope"))])),
        ]);
        assert_eq!(
            parse_run(&failed)
                .expect("run")
                .error
                .as_ref()
                .and_then(RunError::message),
            Some("nope")
        );
        let odd = obj(&[("id", s("r")), ("status", s("warming_up"))]);
        assert!(!parse_run(&odd).expect("run").status.is_finished());
        assert!(parse_run(&obj(&[("status", s("pending"))])).is_err());
        assert!(parse_run(&obj(&[("id", s("r"))])).is_err());
        assert!(parse_run(&Value::Null).is_err());
    }
}
