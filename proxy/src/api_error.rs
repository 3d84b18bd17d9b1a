//! Errors in the Runbase API's own shape: `{"error": {"message": "...", "code": "..."}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra members of the `error` object (validation issues).
    pub extra: Option<(&'static str, Value)>,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: None,
            retry_after_secs: None,
        }
    }

    pub fn with(mut self, key: &'static str, value: Value) -> Self {
        self.extra = Some((key, value));
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "message": self.message, "code": self.code });
        if let (Some((key, value)), Some(map)) = (self.extra, error.as_object_mut()) {
            map.insert(key.to_string(), value);
        }
        let mut response = (self.status, axum::Json(json!({ "error": error }))).into_response();
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

/// The validator's issues as JSON, for an `invalid_input` answer.
pub fn issues_json<'a>(issues: impl Iterator<Item = &'a runbase_image::Issue>) -> Value {
    issues
        .map(|i| {
            json!({
                "path": i.path,
                "code": i.code.as_str(),
                "message": i.message,
                "severity": i.severity.as_str(),
            })
        })
        .collect()
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

/// Validates `input` with the library, as the browser does; the error lists every issue.
pub fn validate_input(model: &runbase_image::ModelSpec, input: &Value) -> Result<(), ApiError> {
    let value = to_core_value(input, 0);
    let validation = runbase_image::validate(model, &value);
    if validation.is_ok() {
        return Ok(());
    }
    let first = validation
        .errors
        .first()
        .map_or(String::new(), |i| format!(": {}", i.message));
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_input",
        format!(
            "The input does not match {}'s schema ({} problem(s)){first}",
            model.id,
            validation.errors.len()
        ),
    )
    .with("issues", issues_json(validation.errors.iter())))
}

/// serde_json's value as the core reads it, bounded like the wasm layer's conversion.
pub fn to_core_value(value: &Value, depth: usize) -> runbase_image::Value {
    use runbase_image::Value as V;
    let deeper = depth < runbase_image::value::MAX_DEPTH;
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
