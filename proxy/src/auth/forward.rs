//! Forward-auth, as nginx's `auth_request` and Traefik's ForwardAuth do it: the proxy asks the
//! site's own endpoint with the request's `Cookie` and `Authorization`; a 2xx answer with
//! `X-Runbase-User: <id>` admits that user, 401 or 403 refuses, and anything else (no answer,
//! a 5xx, a redirect, a 2xx without the header) is a 503: the proxy fails closed. Answers are
//! kept 5 s per request (method, path and credentials, by their SHA-256, never the credentials
//! themselves). The endpoint is asked at most 32 times at once, and an address whose new
//! credentials it refused more than the client limit in 10 s waits before asking again (a
//! user whose answer is kept is never held up).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::header;
use tokio::time::Instant;

use super::{user_id, AuthError, Credentials};
use crate::lock::locked;
use crate::rate_limit::CallerWindows;

/// The header the site's endpoint names the user in.
pub const USER_HEADER: &str = "x-runbase-user";
/// How long an answer is used for the same credentials.
const KEEP_ANSWER: Duration = Duration::from_secs(5);
/// The longest the endpoint may take.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);
/// Answers kept at most (then the expired ones go, or all).
const ANSWERS_KEPT: usize = 10_000;
/// Requests to the endpoint at once.
const ASKING_AT_ONCE: usize = 32;

pub struct ForwardAuth {
    url: String,
    http: reqwest::Client,
    answers: Mutex<HashMap<[u8; 32], (Instant, Verdict)>>,
    /// The endpoint's refusals per client address.
    refusals: Mutex<CallerWindows>,
    asking: tokio::sync::Semaphore,
}

#[derive(Clone)]
enum Verdict {
    User(Arc<str>),
    Refused,
}

impl ForwardAuth {
    pub fn new(url: &str, http: reqwest::Client, refusals_per_10s: usize) -> Self {
        ForwardAuth {
            url: url.to_string(),
            http,
            answers: Mutex::new(HashMap::new()),
            refusals: Mutex::new(CallerWindows::new(
                refusals_per_10s,
                Duration::from_secs(10),
            )),
            asking: tokio::sync::Semaphore::new(ASKING_AT_ONCE),
        }
    }

    pub fn describe(&self) -> String {
        format!("the sign-in check at {} (forward-auth)", self.url)
    }

    pub async fn ask(&self, request: &Credentials<'_>) -> Result<Arc<str>, AuthError> {
        let credentials = [header::COOKIE, header::AUTHORIZATION];
        if !credentials
            .iter()
            .any(|name| request.headers.contains_key(name))
        {
            return Err(AuthError::Required(
                "This proxy serves signed-in users only: sign in to the site (its session \
                 cookie), or send the user's access token as Authorization: Bearer <token>"
                    .into(),
            ));
        }
        let key = answer_key(request);
        let kept = locked(&self.answers)
            .get(&key)
            .filter(|(at, _)| at.elapsed() < KEEP_ANSWER)
            .map(|(_, verdict)| verdict.clone());
        let verdict = match kept {
            Some(verdict) => verdict,
            None => {
                let address = request.client.to_string();
                let now = std::time::Instant::now();
                if let Some(wait) = locked(&self.refusals).blocked(&address, now) {
                    return Err(AuthError::Throttled(wait));
                }
                let verdict = {
                    let asking = tokio::time::timeout(ASK_TIMEOUT, self.asking.acquire());
                    let Ok(Ok(_permit)) = asking.await else {
                        return Err(AuthError::Unavailable(
                            "The site's sign-in check is busy: retry shortly".into(),
                        ));
                    };
                    self.ask_endpoint(request).await?
                };
                if matches!(verdict, Verdict::Refused) {
                    locked(&self.refusals).record(&address, std::time::Instant::now());
                }
                let mut answers = locked(&self.answers);
                if answers.len() >= ANSWERS_KEPT {
                    answers.retain(|_, (at, _)| at.elapsed() < KEEP_ANSWER);
                    if answers.len() >= ANSWERS_KEPT {
                        answers.clear();
                    }
                }
                answers.insert(key, (Instant::now(), verdict.clone()));
                verdict
            }
        };
        match verdict {
            Verdict::User(id) => Ok(id),
            Verdict::Refused => Err(AuthError::Invalid(
                "The site's sign-in check refused these credentials: sign in again".into(),
            )),
        }
    }

    async fn ask_endpoint(&self, request: &Credentials<'_>) -> Result<Verdict, AuthError> {
        let mut ask = self
            .http
            .get(&self.url)
            .timeout(ASK_TIMEOUT)
            .header("x-forwarded-method", request.method.as_str())
            .header("x-forwarded-uri", request.path)
            .header("x-forwarded-for", request.client.to_string());
        for name in [header::COOKIE, header::AUTHORIZATION] {
            if let Some(value) = request.headers.get(&name) {
                ask = ask.header(name, value.clone());
            }
        }
        let unavailable = |why: String| {
            tracing::warn!("forward-auth: {why}");
            AuthError::Unavailable(
                "The site's sign-in check could not be asked: retry shortly".into(),
            )
        };
        let answer = ask
            .send()
            .await
            .map_err(|e| unavailable(format!("{} did not answer: {e}", self.url)))?;
        let status = answer.status();
        if status == 401 || status == 403 {
            return Ok(Verdict::Refused);
        }
        if !status.is_success() {
            return Err(unavailable(format!("{} answered HTTP {status}", self.url)));
        }
        let user = answer
            .headers()
            .get(USER_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                unavailable(format!(
                    "{} answered HTTP {status} without an {USER_HEADER} header",
                    self.url
                ))
            })?;
        user_id(user)
            .map(Verdict::User)
            .map_err(|why| unavailable(format!("{}'s {USER_HEADER}: {why}", self.url)))
    }
}

/// What an answer is kept under: the SHA-256 of the method, the path and the credentials
/// (each with its length, so that no two requests can run together the same).
fn answer_key(request: &Credentials<'_>) -> [u8; 32] {
    let mut hashed = ring::digest::Context::new(&ring::digest::SHA256);
    let headers = [header::COOKIE, header::AUTHORIZATION].map(|name| request.headers.get(name));
    let parts = [request.method.as_str().as_bytes(), request.path.as_bytes()]
        .into_iter()
        .chain(headers.iter().map(|v| v.map_or(&b""[..], |v| v.as_bytes())));
    for bytes in parts {
        hashed.update(&(bytes.len() as u64).to_be_bytes());
        hashed.update(bytes);
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(hashed.finish().as_ref());
    key
}
