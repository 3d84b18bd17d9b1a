//! Errors in the Runbase API's own shape: the core's `Refusal` (one definition for both proxies
//! and the simulator), answered by axum: `{"error": {"message": "...", "code": "..."}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use runbase_image::core::code::ErrorCode;
use runbase_image::core::gateway::Refusal;

pub struct ApiError(pub Refusal);

impl ApiError {
    /// An error answered with its code's status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError(Refusal::new(code, message))
    }

    /// An error without a code (docs/RUNBASE-API.md promises none for a 500).
    pub fn uncoded(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError(Refusal::uncoded(status.as_u16(), message))
    }

    pub fn retry_after(self, secs: u64) -> Self {
        ApiError(self.0.retry_after(secs))
    }

    pub fn challenge(self, challenge: &'static str) -> Self {
        ApiError(self.0.challenge(challenge))
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        ApiError(refusal)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let Refusal {
            body,
            retry_after_secs,
            challenge,
            ..
        } = self.0;
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}
