//! The API's error side (docs/RUNBASE-API.md, "Errors"): the codes, the error body our servers write,
//! and the reader of whatever error answer comes back, with `Retry-After`.

use serde::{Deserialize, Serialize};

use crate::core::time::{fraction_ms, http_date_unix_ms};
use crate::core::validate::Issue;
use crate::core::value::{ascii_number, split_ascii, Value};

/// Characters of a non-JSON body quoted in an error message.
const EXCERPT_CHARS: usize = 160;

/// An error answer's `code`: the ones docs/RUNBASE-API.md documents, and any other string as it came
/// (runbase-server's own codes, or one the API adds later). On the wire and in JS it is the
/// plain string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(from = "String")]
pub enum ApiErrorCode {
    /// 400: the body is not JSON.
    InvalidJson,
    /// 400: `model` missing or not a string.
    MissingModel,
    /// 400: `input` missing or not an object.
    MissingInput,
    /// 400: the input does not match the model's schema.
    InvalidInput,
    /// 400: unknown model id.
    ModelNotFound,
    /// 401: no `Authorization: Bearer ...` header.
    MissingApiKey,
    /// 401: the key is invalid, disabled or expired.
    InvalidApiKey,
    /// 402: the balance is too low for this run.
    InsufficientBalance,
    /// 403: the key's lifetime spend limit is reached.
    ApiKeySpendLimitExceeded,
    /// 403: the caller's IP is not in the key's allow-list.
    IpNotAllowed,
    /// 404: no run with this id for this key.
    RunNotFound,
    /// 429: too many requests in a short window: wait and retry.
    RateLimited,
    /// 429: the key's quota is exhausted: retrying does not help.
    UsageExceeded,
    Other(String),
}

impl ApiErrorCode {
    /// The codes docs/RUNBASE-API.md documents, in its order.
    pub const DOCUMENTED: [ApiErrorCode; 13] = [
        ApiErrorCode::InvalidJson,
        ApiErrorCode::MissingModel,
        ApiErrorCode::MissingInput,
        ApiErrorCode::InvalidInput,
        ApiErrorCode::ModelNotFound,
        ApiErrorCode::MissingApiKey,
        ApiErrorCode::InvalidApiKey,
        ApiErrorCode::InsufficientBalance,
        ApiErrorCode::ApiKeySpendLimitExceeded,
        ApiErrorCode::IpNotAllowed,
        ApiErrorCode::RunNotFound,
        ApiErrorCode::RateLimited,
        ApiErrorCode::UsageExceeded,
    ];

    pub fn parse(text: &str) -> ApiErrorCode {
        match text {
            "invalid_json" => ApiErrorCode::InvalidJson,
            "missing_model" => ApiErrorCode::MissingModel,
            "missing_input" => ApiErrorCode::MissingInput,
            "invalid_input" => ApiErrorCode::InvalidInput,
            "model_not_found" => ApiErrorCode::ModelNotFound,
            "missing_api_key" => ApiErrorCode::MissingApiKey,
            "invalid_api_key" => ApiErrorCode::InvalidApiKey,
            "insufficient_balance" => ApiErrorCode::InsufficientBalance,
            "api_key_spend_limit_exceeded" => ApiErrorCode::ApiKeySpendLimitExceeded,
            "ip_not_allowed" => ApiErrorCode::IpNotAllowed,
            "run_not_found" => ApiErrorCode::RunNotFound,
            "RATE_LIMITED" => ApiErrorCode::RateLimited,
            "USAGE_EXCEEDED" => ApiErrorCode::UsageExceeded,
            other => ApiErrorCode::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ApiErrorCode::InvalidJson => "invalid_json",
            ApiErrorCode::MissingModel => "missing_model",
            ApiErrorCode::MissingInput => "missing_input",
            ApiErrorCode::InvalidInput => "invalid_input",
            ApiErrorCode::ModelNotFound => "model_not_found",
            ApiErrorCode::MissingApiKey => "missing_api_key",
            ApiErrorCode::InvalidApiKey => "invalid_api_key",
            ApiErrorCode::InsufficientBalance => "insufficient_balance",
            ApiErrorCode::ApiKeySpendLimitExceeded => "api_key_spend_limit_exceeded",
            ApiErrorCode::IpNotAllowed => "ip_not_allowed",
            ApiErrorCode::RunNotFound => "run_not_found",
            ApiErrorCode::RateLimited => "RATE_LIMITED",
            ApiErrorCode::UsageExceeded => "USAGE_EXCEEDED",
            ApiErrorCode::Other(text) => text,
        }
    }

    /// Whether docs/RUNBASE-API.md documents this code.
    pub fn is_documented(&self) -> bool {
        !matches!(self, ApiErrorCode::Other(_))
    }
}

impl From<&str> for ApiErrorCode {
    fn from(text: &str) -> Self {
        ApiErrorCode::parse(text)
    }
}

impl From<String> for ApiErrorCode {
    fn from(text: String) -> Self {
        match ApiErrorCode::parse(&text) {
            ApiErrorCode::Other(_) => ApiErrorCode::Other(text),
            known => known,
        }
    }
}

impl From<ApiErrorCode> for String {
    fn from(code: ApiErrorCode) -> Self {
        match code {
            ApiErrorCode::Other(text) => text,
            known => known.as_str().to_string(),
        }
    }
}

impl std::str::FromStr for ApiErrorCode {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(ApiErrorCode::parse(text))
    }
}

impl std::fmt::Display for ApiErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ApiErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ApiErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for ApiErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

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
    pub code: Option<ApiErrorCode>,
    /// Written by our servers; never read from an upstream (issues are ours to make).
    #[serde(default, skip_deserializing, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<Issue>,
}

impl ErrorBody {
    pub fn new(code: impl Into<ApiErrorCode>, message: impl Into<String>) -> Self {
        ErrorBody {
            error: ErrorDetail {
                message: message.into(),
                code: Some(code.into()),
                issues: Vec::new(),
            },
        }
    }
}

/// An error answer, as far as it can be read. Its code stays the string that came: the
/// client only compares it with [`ApiErrorCode`]'s strings, and parsing it into the enum
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
    fn error_codes_are_their_strings_both_ways() {
        for code in ApiErrorCode::DOCUMENTED {
            assert!(code.is_documented());
            assert_eq!(ApiErrorCode::parse(code.as_str()), code);
            assert_eq!(ApiErrorCode::from(String::from(code.clone())), code);
            assert_eq!(code.to_string(), code.as_str());
        }
        let other = ApiErrorCode::from("spend_limit_reached");
        assert_eq!(other, ApiErrorCode::Other("spend_limit_reached".into()));
        assert!(!other.is_documented() && other == "spend_limit_reached");
        // Codes are case-sensitive as documented: `rate_limited` is not `RATE_LIMITED`.
        assert!(!ApiErrorCode::from("rate_limited").is_documented());
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
