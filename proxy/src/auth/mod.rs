//! Who may spend through the proxy. Off by default: anyone who can reach it, each client
//! address within its own limits. With `--auth-jwks`, `RUNBASE_AUTH_HS256_SECRET` or
//! `--auth-forward`, every API request must carry a signed-in user's credentials (a JWT
//! verified here, or the site's own answer to a forward-auth request); the user then stands
//! in for the address in every per-client limit and owns the runs they create. Refusals are
//! 401 with `WWW-Authenticate: Bearer` and go nowhere near the upstream; tokens and cookies are
//! never forwarded upstream nor logged.

mod forward;
mod jwks;
mod jwt;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use axum::http::{HeaderMap, Method};

use crate::http::error::ApiError;
use crate::upstream::Secret;
use runbase_image::core::code::ErrorCode;

pub use forward::ForwardAuth;
pub use jwt::JwtVerifier;

/// How the proxy knows its users, from the flags.
#[derive(Clone, Debug)]
pub enum AuthSettings {
    /// Bearer JWTs signed by a key of a JWKS (a file or a URL).
    Jwks { source: String, claims: ClaimRules },
    /// Bearer JWTs signed with HS256 and a shared secret.
    Hs256 { secret: Secret, claims: ClaimRules },
    /// The site's own endpoint says who the request's cookie or token belongs to.
    Forward { url: String },
}

/// What a token's claims must say besides a `sub` and an `exp` in the future.
#[derive(Clone, Debug, Default)]
pub struct ClaimRules {
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

/// Who a request counts against: its signed-in user with auth on, else its address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    Address(IpAddr),
    User(Arc<str>),
}

impl Caller {
    /// The user, with auth on.
    pub fn user(&self) -> Option<&Arc<str>> {
        match self {
            Caller::User(id) => Some(id),
            Caller::Address(_) => None,
        }
    }

    /// "client" or "user", for messages.
    pub fn noun(&self) -> &'static str {
        match self {
            Caller::Address(_) => "client",
            Caller::User(_) => "user",
        }
    }
}

/// The key a caller's limits are counted under (in memory and in Redis): an address as it is
/// written, a user as `user:` and their id, which no address can look like.
impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::Address(ip) => write!(f, "{ip}"),
            Caller::User(id) => write!(f, "user:{id}"),
        }
    }
}

/// Why a request's credentials were not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthError {
    /// None were sent.
    Required(String),
    /// They were refused.
    Invalid(String),
    /// A token that was valid has expired: a fresh one will do.
    Expired,
    /// They could not be checked (the key set or the forward-auth endpoint is away).
    Unavailable(String),
    /// Too many refused lately from this address: not checked now.
    Throttled(std::time::Duration),
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> ApiError {
        // RFC 6750: the challenge names the scheme, and the error for a token refused.
        let (code, message, challenge) = match error {
            AuthError::Required(message) => (
                ErrorCode::AuthRequired,
                message,
                r#"Bearer realm="runbase""#,
            ),
            AuthError::Invalid(message) => (
                ErrorCode::AuthInvalid,
                message,
                r#"Bearer realm="runbase", error="invalid_token", error_description="The access token was refused""#,
            ),
            AuthError::Expired => (
                ErrorCode::AuthExpired,
                "The access token has expired: get a fresh one and retry".to_string(),
                r#"Bearer realm="runbase", error="invalid_token", error_description="The access token expired""#,
            ),
            AuthError::Unavailable(message) => {
                return ApiError::new(ErrorCode::AuthUnavailable, message).retry_after(5)
            }
            AuthError::Throttled(wait) => {
                return ApiError::new(
                    ErrorCode::RateLimited,
                    "Too many refused credentials from this client address: wait and retry",
                )
                .retry_after(crate::rate_limit::retry_after_secs(wait))
            }
        };
        ApiError::new(code, message).challenge(challenge)
    }
}

/// A user id: what a token's `sub` or the forward-auth header says, within reason (it keys
/// limits in Redis and shows in logs and stats).
fn user_id(id: &str) -> Result<Arc<str>, String> {
    runbase_image::core::gateway::user_id(id).map(Arc::from)
}

/// The request as the checks see it.
pub struct Credentials<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub headers: &'a HeaderMap,
    pub client: IpAddr,
}

pub enum Authenticator {
    Jwt(JwtVerifier),
    Forward(ForwardAuth),
}

impl Authenticator {
    /// Ready to check requests: a JWKS is read now, so a wrong path or URL stops the server at
    /// start rather than refusing every user.
    /// `refusals_per_10s`: forward-auth refusals an address may draw before its next new
    /// credentials wait (each costs the site's endpoint a request).
    pub async fn new(
        settings: &AuthSettings,
        http: reqwest::Client,
        refusals_per_10s: usize,
    ) -> Result<Self, String> {
        Ok(match settings {
            AuthSettings::Jwks { source, claims } => {
                Authenticator::Jwt(JwtVerifier::with_jwks(source, claims.clone(), http).await?)
            }
            AuthSettings::Hs256 { secret, claims } => Authenticator::Jwt(JwtVerifier::with_secret(
                secret.expose().as_bytes(),
                claims.clone(),
            )),
            AuthSettings::Forward { url } => {
                Authenticator::Forward(ForwardAuth::new(url, http, refusals_per_10s))
            }
        })
    }

    /// The signed-in user the request comes from.
    pub async fn user(&self, request: &Credentials<'_>) -> Result<Arc<str>, AuthError> {
        match self {
            Authenticator::Jwt(verifier) => verifier.verify(bearer_token(request.headers)?).await,
            Authenticator::Forward(forward) => forward.ask(request).await,
        }
    }

    /// What the banner says.
    pub fn describe(&self) -> String {
        match self {
            Authenticator::Jwt(verifier) => verifier.describe(),
            Authenticator::Forward(forward) => forward.describe(),
        }
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Err(AuthError::Required(
            "This proxy serves signed-in users only: send the user's access token as \
             Authorization: Bearer <token> (the client's accessToken option)"
                .into(),
        ));
    };
    let value = value.to_str().unwrap_or("");
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(AuthError::Invalid(
            "The Authorization header must be Bearer <token>".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_tokens_only() {
        let mut headers = HeaderMap::new();
        assert!(matches!(
            bearer_token(&headers),
            Err(AuthError::Required(_))
        ));
        headers.insert("authorization", HeaderValue::from_static("Basic dTpw"));
        assert!(matches!(bearer_token(&headers), Err(AuthError::Invalid(_))));
        headers.insert("authorization", HeaderValue::from_static("bearer  a.b.c "));
        assert_eq!(bearer_token(&headers), Ok("a.b.c"));
    }

    #[test]
    fn callers_never_share_a_key() {
        let address = Caller::Address("10.0.0.1".parse().unwrap());
        let user = Caller::User(user_id("10.0.0.1").unwrap());
        assert_ne!(address.to_string(), user.to_string());
        assert!(user_id("").is_err() && user_id(&"x".repeat(257)).is_err());
        assert!(user_id("a\nb").is_err());
    }
}
