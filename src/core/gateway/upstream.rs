//! The upstream API's answers as a proxy passes them on. A success must be a run object: it
//! is parsed as the core's `Run` and written again with serde (members the API adds later
//! kept). An error answer is re-shaped into the API's envelope with only its `code` and a
//! message of at most 300 characters. The key is scrubbed from anything that goes back.

use serde::Serialize;

use super::Refusal;
use crate::core::api::{excerpt, ErrorBody, ErrorDetail, Run};
use crate::core::code::ErrorCode;

/// The longest upstream error message passed on, in characters.
const MESSAGE_MAX: usize = 300;

/// An upstream answer as the browser gets it: the status, the body (a success written again
/// from the parsed `run`), and the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpstreamAnswer {
    pub status: u16,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
}

/// Whether an upstream answer (`status`, its body as [`read_upstream`] wrote it) is the key's
/// window being full: `429 RATE_LIMITED`, not `USAGE_EXCEEDED`, which waiting does not cure.
pub fn is_rate_limited(status: u16, body: &[u8]) -> bool {
    if status != 429 {
        return false;
    }
    let code = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|body| body.error.code);
    code != Some(ErrorCode::UsageExceeded)
}

/// Reads an upstream answer (`status`, its `body`) for the browser, with every occurrence of
/// `key` scrubbed; `Err` when a success is not a run object.
pub fn read_upstream(status: u16, body: &[u8], key: &str) -> Result<UpstreamAnswer, Refusal> {
    let body = scrub(body, key);
    if !(200..300).contains(&status) {
        let reshaped = scrub(&reshaped_error(status, &body), key);
        return Ok(UpstreamAnswer {
            status,
            body: String::from_utf8_lossy(&reshaped).into_owned(),
            run: None,
        });
    }
    let parsed = serde_json::from_slice::<Run>(&body)
        .and_then(|parsed| serde_json::to_vec(&parsed).map(|bytes| (parsed, bytes)));
    let (run, bytes) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return Err(not_a_run(status, &body, &e)),
    };
    // Written again, escapes are decoded: scrubbed once more, and read from that.
    let scrubbed = scrub(&bytes, key);
    let run = if scrubbed == bytes {
        Some(run)
    } else {
        serde_json::from_slice::<Run>(&scrubbed).ok()
    };
    Ok(UpstreamAnswer {
        status,
        body: String::from_utf8_lossy(&scrubbed).into_owned(),
        run,
    })
}

/// The body with every occurrence of the key replaced (an upstream that quotes the
/// Authorization header it received must not show the key to the browser).
pub fn scrub(body: &[u8], key: &str) -> Vec<u8> {
    let key = key.as_bytes();
    if key.len() < 4 {
        return body.to_vec();
    }
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.windows(key.len()).position(|w| w == key) {
        out.extend_from_slice(rest.get(..at).unwrap_or_default());
        out.extend_from_slice(b"[redacted]");
        rest = rest.get(at + key.len()..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    out
}

/// An upstream error answer in the API's envelope: its `code` (if it looks like one) and its
/// message capped, nothing else; a body that is not the API's error JSON is described.
fn reshaped_error(status: u16, body: &[u8]) -> Vec<u8> {
    let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
    let (code, message) = match parsed {
        Some(ErrorBody { error }) => (error.code, error.message),
        None if body.is_empty() => (
            None,
            format!("The Runbase API answered HTTP {status} with an empty body"),
        ),
        None => (
            None,
            format!(
                "The Runbase API answered HTTP {status} with a body that is not its error JSON: {}",
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
        message = format!("The Runbase API answered HTTP {status}");
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
fn not_a_run(status: u16, body: &[u8], error: &serde_json::Error) -> Refusal {
    Refusal::new(ErrorCode::UpstreamInvalidResponse, format!(
            "The Runbase API answered HTTP {status} with a body that is not a run object ({error}): {}",
            excerpt(&String::from_utf8_lossy(body))
        ),
    )
}

/// The upstream did not answer in time.
pub fn upstream_timeout() -> Refusal {
    Refusal::new(
        ErrorCode::UpstreamTimeout,
        "The Runbase API did not answer in time; the run may or may not have been created",
    )
}

/// No answer could be had from the upstream (its messages name no headers; still, only what
/// kind of failure it was is said).
pub fn upstream_unreachable() -> Refusal {
    Refusal::new(
        ErrorCode::UpstreamUnreachable,
        "The proxy could not get an answer from the Runbase API (connection failed or was dropped)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_never_goes_back() {
        let key = "sk-live-secret";
        let run =
            format!(r#"{{"id":"r1","status":"pending","model":"m","input":{{}},"note":"{key}"}}"#);
        let answer = read_upstream(200, run.as_bytes(), key).expect("a run");
        assert!(!answer.body.contains(key) && answer.body.contains("[redacted]"));
        let error = read_upstream(401, format!("bad key {key}").as_bytes(), key).expect("read");
        assert!(!error.body.contains(key), "{}", error.body);
        let escaped = r#"{"id":"r1","status":"pending","note":"sk-live-\u0073ecret"}"#;
        let answer = read_upstream(200, escaped.as_bytes(), key).expect("a run");
        assert!(!answer.body.contains(key), "{}", answer.body);
        assert_eq!(
            read_upstream(200, b"[]", key).expect_err("no run").status,
            502
        );
    }
}
