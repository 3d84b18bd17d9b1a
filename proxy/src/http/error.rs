//! Errors in the Runbase API's own shape: the core's `Refusal` (one definition for both proxies
//! and the simulator), answered by axum: `{"error": {"message": "...", "code": "..."}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use runbase_image::core::api::ApiErrorCode;
use runbase_image::core::gateway::Refusal;

pub struct ApiError(pub Refusal);

impl ApiError {
    /// An error with the API's code, or one of the proxy's own (`ApiErrorCode::Other`).
    pub fn new(
        status: StatusCode,
        code: impl Into<ApiErrorCode>,
        message: impl Into<String>,
    ) -> Self {
        ApiError(Refusal::new(status.as_u16(), code, message))
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
