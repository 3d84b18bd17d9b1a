//! Errors in the Runbase API's own shape, written through the core's one definition of it
//! (`runbase_image::core::api::ErrorBody`): `{"error": {"message": "...", "code": "..."}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use runbase_image::core::api::{ApiErrorCode, ErrorBody, ErrorDetail};
use runbase_image::core::gateway::Refusal;

pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    pub retry_after_secs: Option<u64>,
    /// `WWW-Authenticate`, on a 401.
    pub challenge: Option<&'static str>,
}

impl ApiError {
    /// An error with the API's code, or one of the proxy's own (`ApiErrorCode::Other`).
    pub fn new(
        status: StatusCode,
        code: impl Into<ApiErrorCode>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            body: ErrorBody::new(code, message),
            retry_after_secs: None,
            challenge: None,
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
            challenge: None,
        }
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn challenge(mut self, challenge: &'static str) -> Self {
        self.challenge = Some(challenge);
        self
    }
}

/// The core's refusals (the rules both proxies share) as this server answers them.
impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(refusal.status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: refusal.body,
            retry_after_secs: refusal.retry_after_secs,
            challenge: refusal.challenge,
        }
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
        if let Some(challenge) = self.challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}
