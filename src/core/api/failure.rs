//! The API's error side (docs/RUNBASE-API.md, "Errors"): the codes, the error body our servers write,
//! and the reader of whatever error answer comes back, with `Retry-After`.

use serde::{Deserialize, Serialize};

use crate::core::code::ErrorCode;
use crate::core::time::{fraction_ms, http_date_unix_ms};
use crate::core::validate::Issue;
use crate::core::value::{ascii_number, split_ascii, Value};

/// Characters of a non-JSON body quoted in an error message.
const EXCERPT_CHARS: usize = 160;

/// A documented error answer: `{"error": {"message": "...", "code": "..."}}`; our own
/// `invalid_input` answers add the validator's `issues`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    /// Written by our servers; never read from an upstream (issues are ours to make).
    #[serde(default, skip_deserializing, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<Issue>,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            error: ErrorDetail {
                message: message.into(),
                code: Some(code),
                issues: Vec::new(),
            },
        }
    }
}

/// An error answer, as far as it can be read. Its code stays the string that came: the
/// client only compares it with [`ErrorCode`]'s strings, and parsing it into the enum
/// would link the table of every code into the wasm module (about 250 B gzip).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: u16,
    pub code: Option<String>,
    pub message: String,
}

/// Reads `{"error": {"message", "code"}}`; anything else becomes a message quoting the body.
/// `body` is the parsed JSON when the text was JSON; `text` the raw text either way.
pub fn parse_error(
    status: u16,
    body: Option<&Value>,
    text: &str,
    content_type: &str,
) -> ApiFailure {
    let error = body.and_then(|b| b.get("error"));
    let field = |name: &str| match error.and_then(|e| e.get(name)) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let message = match (field("message"), error) {
        (Some(message), _) => message,
        (None, Some(Value::String(message))) if !message.is_empty() => message.clone(),
        _ if body.is_some() => format!("The API answered HTTP {status} without an error message"),
        _ => format!(
            "The API answered HTTP {status} with a body that is not JSON ({}): {}",
            if content_type.is_empty() {
                "no content type"
            } else {
                content_type
            },
            excerpt(text)
        ),
    };
    ApiFailure {
        status,
        code: field("code"),
        message,
    }
}

/// A short, single-line, tag-free quote of a body for an error message.
pub fn excerpt(text: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    let mut last_space = true;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
            }
            _ if in_tag => {}
            c if c.is_whitespace() || c.is_control() => {
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
            }
            c => {
                out.push(c);
                last_space = false;
            }
        }
        if out.chars().count() >= EXCERPT_CHARS {
            out.push('…');
            break;
        }
    }
    let trimmed = out.trim();
    if trimmed.is_empty() {
        "(empty body)".to_string()
    } else {
        format!("\"{trimmed}\"")
    }
}

/// `Retry-After` as milliseconds from now: delta-seconds, or an HTTP-date compared with
/// `now_unix_ms`. `None` when absent or unreadable.
pub fn parse_retry_after(header: &str, now_unix_ms: f64) -> Option<u64> {
    let header = header.trim();
    if let Some(ms) = seconds_as_ms(header) {
        return Some(ms.min(86_400_000));
    }
    let at = http_date_unix_ms(header)? as f64;
    Some((at - now_unix_ms).clamp(0.0, 86_400_000.0) as u64)
}

/// `3` or `1.5` seconds as milliseconds; read by hand, as float parsing costs the wasm build
/// kilobytes.
fn seconds_as_ms(text: &str) -> Option<u64> {
    let (whole, fraction) = split_ascii(text, b'.').unwrap_or((text, ""));
    if whole.len() > 9 || fraction.len() > 9 {
        return None;
    }
    let whole = ascii_number(whole)?;
    let millis = fraction_ms(fraction)?;
    Some(whole * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{obj, s};
    use super::*;

    #[test]
    fn errors() {
        let body = obj(&[(
            "error",
            obj(&[("message", s("Too many")), ("code", s("RATE_LIMITED"))]),
        )]);
        let failure = parse_error(429, Some(&body), "", "application/json");
        assert_eq!(failure.code.as_deref(), Some("RATE_LIMITED"));
        assert_eq!(failure.message, "Too many");
        let html = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";
        let failure = parse_error(502, None, html, "text/html");
        assert!(
            failure
                .message
                .contains("\"502 Bad Gateway 502 Bad Gateway\""),
            "{}",
            failure.message
        );
        assert!(failure.message.contains("text/html"));
        assert_eq!(failure.code, None);
        let long = "x".repeat(10_000);
        assert!(parse_error(500, None, &long, "").message.len() < 400);
        assert!(parse_error(500, None, "", "")
            .message
            .contains("(empty body)"));
    }

    #[test]
    fn retry_after() {
        assert_eq!(parse_retry_after("3", 0.0), Some(3000));
        assert_eq!(parse_retry_after(" 1.5 ", 0.0), Some(1500));
        assert_eq!(parse_retry_after("-1", 0.0), None);
        assert_eq!(parse_retry_after("soon", 0.0), None);
        let now = http_date_unix_ms("Sun, 06 Nov 1994 08:49:37 GMT").expect("date") as f64;
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:42 GMT", now),
            Some(5000)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(0)
        );
    }
}
