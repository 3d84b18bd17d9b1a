//! Errors in the Runbase API's own shape, written through the core's one definition of it
//! (`runbase_image::core::api::ErrorBody`): `{"error": {"message": "...", "code": "..."}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use runbase_image::core::api::{ErrorBody, ErrorDetail};
use runbase_image::{Issue, ModelSpec, NormalizedInput};
use serde_json::Value;

pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody::new(code, message),
            retry_after_secs: None,
        }
    }

    /// An error without a code (RUNBASE.md promises none for a 500).
    pub fn uncoded(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                error: ErrorDetail {
                    message: message.into(),
                    code: None,
                    issues: Vec::new(),
                },
            },
            retry_after_secs: None,
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
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// What a CORS preflight answer allows, the same for the simulator and the proxy.
pub fn allow_preflight(response: &mut Response) {
    let out = response.headers_mut();
    out.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    out.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type"),
    );
    out.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
}

/// Reads a run request's body: `{"model": string, "input": object}`; refuses the rest with the
/// API's own codes. Shared by the simulator and the proxy so both answer alike.
pub fn parse_run_request(body: &[u8]) -> Result<(String, Value), ApiError> {
    let parsed: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("The request body is not valid JSON: {e}"),
        )
    })?;
    let Some(model) = parsed.get("model").and_then(Value::as_str) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_model",
            "The request needs a \"model\" string, such as \"openai/gpt-image-2\"",
        ));
    };
    let input = match parsed.get("input") {
        Some(input @ Value::Object(_)) => input.clone(),
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "missing_input",
                "The request needs an \"input\" object",
            ))
        }
    };
    Ok((model.to_string(), input))
}

/// Validates `input` with the library, as the browser does, and hands the input as it should
/// be sent (defaults filled in) to `use_it`; the error lists every issue.
pub fn with_valid_input<T>(
    model: &ModelSpec,
    input: &Value,
    use_it: impl FnOnce(&NormalizedInput<'_>) -> T,
) -> Result<T, ApiError> {
    let value = to_core_value(input, 0);
    let validation = runbase_image::validate(model, &value);
    if let Some(normalized) = &validation.value {
        return Ok(use_it(normalized));
    }
    let first = validation
        .errors
        .first()
        .map_or(String::new(), |i| format!(": {}", i.message));
    let message = format!(
        "The input does not match {}'s schema ({} problem(s)){first}",
        model.id,
        validation.errors.len()
    );
    Err(
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", message)
            .with_issues(validation.errors),
    )
}

/// serde_json's value as the core reads it, bounded like the wasm layer's conversion.
pub fn to_core_value(value: &Value, depth: usize) -> runbase_image::Value {
    use runbase_image::Value as V;
    let deeper = depth < runbase_image::core::value::MAX_DEPTH;
    match value {
        Value::Null => V::Null,
        Value::Bool(b) => V::Bool(*b),
        Value::Number(n) => V::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => V::String(s.clone()),
        Value::Array(items) if deeper => {
            V::Array(items.iter().map(|i| to_core_value(i, depth + 1)).collect())
        }
        Value::Array(_) => V::Opaque("an array"),
        Value::Object(fields) if deeper => V::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), to_core_value(v, depth + 1)))
                .collect(),
        ),
        Value::Object(_) => V::Opaque("an object"),
    }
}
