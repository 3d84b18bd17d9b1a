//! One request: the rate budget, the retry policy's decisions, and the reading of each reply
//! (a success's JSON body, or the error that says why there is none).

use js_sys::JSON;
use wasm_bindgen::prelude::*;

use super::errors::{runtime, Rejection, RequestError};
use super::{now, Inner, Operation};
use crate::core::api::{excerpt, parse_error, parse_retry_after};
use crate::core::code::ErrorCode;
use crate::core::error::{ErrorKind, RunbaseError, MAY_HAVE_RUN};
use crate::core::policy::{decide, is_retryable, Decision, Method, RequestFailure};
use crate::core::value::ascii_number;
use crate::wasm::boundary::object_fields;
use crate::wasm::transport::{Delivery, HttpReply, NoReply};

/// The longest long-poll the client accepts, whatever a server offers.
const MAX_LONG_POLL_S: u64 = 60;

impl Inner {
    /// One request with the budget and the retry policy; the parsed JSON body on success.
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        op: &Operation,
        timeout_ms: f64,
    ) -> Result<JsValue, Rejection> {
        let url = format!("{}{path}", self.base_url);
        let mut headers = self.headers.clone();
        if body.is_some() {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        let verb = match method {
            Method::Get => "GET",
            Method::Post => "POST",
        };
        let mut retry = 0;
        let mut token_renewed = false;
        loop {
            loop {
                let wait = self.budget.here.borrow_mut().wait_ms(now());
                if wait <= 0.0 {
                    break;
                }
                op.sleep(wait).await?;
            }
            // A place in the key's window across the origin's tabs; a share that fails leaves
            // the budget here alone, and the request goes.
            if let Some(across) = &self.budget.across {
                let place = across.take(&op.scope.signal());
                let _ = op
                    .scope
                    .settle(&place)
                    .await
                    .map_err(|stop| op.stopped(stop))?;
            }
            self.budget.here.borrow_mut().record(now());
            let mut sent_headers = headers.clone();
            let token = match &self.access_token {
                Some(token) => {
                    let (promise, generation) = token.promise();
                    let settled = op.scope.settle(&promise).await;
                    let settled = settled.map_err(|stop| op.stopped(stop))?;
                    let value = token
                        .read(settled, generation)
                        .map_err(|e| e.with_run(op.run_id.as_deref()))?;
                    sent_headers.push(("Authorization".into(), format!("Bearer {value}")));
                    Some((token, generation))
                }
                None => None,
            };
            let delivery = op
                .scope
                .send(verb, &url, &sent_headers, body, timeout_ms)
                .await;
            let (failure, error) = match self.read_reply(method, delivery, op) {
                Ok(parsed) => return Ok(parsed),
                Err(RequestError::Stopped(stop)) => return Err(stop),
                Err(RequestError::Failed(failure, error)) => (failure, error),
            };
            // The proxy's sign-in refused the token before anything went upstream, so even a
            // POST made no run: once, with a fresh token.
            let expired = matches!(&failure, RequestFailure::Http { status: 401, code: Some(code), .. } if code == ErrorCode::AuthExpired.as_str());
            if let Some((token, generation)) = token {
                if expired && !token_renewed && token.expired(generation) {
                    token_renewed = true;
                    continue;
                }
            }
            retry += 1;
            match decide(
                &self.settings,
                method,
                &failure,
                retry,
                js_sys::Math::random(),
            ) {
                Decision::GiveUp => return Err(error.with_run(op.run_id.as_deref())),
                Decision::RetryAfter(ms) => {
                    if matches!(failure, RequestFailure::Http { status: 429, .. }) {
                        // The key's window is full for everyone on this client, not just
                        // this run: nobody sends before the wait is over.
                        self.budget.pause_until(now() + ms);
                    }
                    op.sleep(ms).await?;
                }
            }
        }
    }

    /// The parsed JSON body of a success, or why there is none.
    fn read_reply(
        &self,
        method: Method,
        delivery: Delivery,
        op: &Operation,
    ) -> Result<JsValue, RequestError> {
        let may_have_run = if method == Method::Post {
            MAY_HAVE_RUN
        } else {
            ""
        };
        let HttpReply {
            status,
            url,
            text,
            content_type,
            retry_after,
            long_poll,
        } = match delivery {
            Delivery::Replied(reply) => reply,
            Delivery::Stopped(stop) => return Err(RequestError::Stopped(op.stopped(stop))),
            Delivery::TimedOut => {
                let mut error = RunbaseError::new(
                    ErrorKind::Timeout,
                    format!(
                        "The API did not answer within {} ms.{may_have_run}",
                        self.request_timeout_ms as u64
                    ),
                );
                error.retryable = method == Method::Get;
                return Err(RequestError::Failed(RequestFailure::Timeout, error.into()));
            }
            Delivery::Failed(NoReply { failure, cause }) => {
                let error = RunbaseError::network(runtime(), &failure, method == Method::Post);
                return Err(RequestError::Failed(
                    RequestFailure::Network,
                    Rejection::caused(error, cause),
                ));
            }
        };
        if let Some(secs) = ascii_number(&long_poll) {
            self.long_poll_s.set(secs.min(MAX_LONG_POLL_S));
        }
        let parsed = JSON::parse(&text);
        if (200..300).contains(&status) {
            return match parsed {
                Ok(body) if body.is_object() => Ok(body),
                parsed => {
                    let mut error = RunbaseError::new(
                        ErrorKind::Decode,
                        format!(
                            "The API answered HTTP {status} but the body is not a JSON object ({}): {}.{may_have_run}",
                            if content_type.is_empty() { "no content type" } else { &content_type },
                            excerpt(&text)
                        ),
                    );
                    error.status = Some(status);
                    error.retryable = method == Method::Get;
                    Err(RequestError::Failed(
                        RequestFailure::Decode,
                        Rejection::caused(error, parsed.err()),
                    ))
                }
            };
        }
        let body = parsed
            .ok()
            .and_then(|p| object_fields(&p, 2, Some(&["error"])).ok());
        let answer = parse_error(status, body.as_ref(), &text, &content_type);
        let retry_after_ms = parse_retry_after(&retry_after, now());
        let failure = RequestFailure::Http {
            status,
            code: answer.code.clone(),
            retry_after_ms,
        };
        let mut error =
            RunbaseError::from_api(answer, retry_after_ms, is_retryable(method, &failure), &url);
        if method == Method::Post && status >= 500 {
            error.message.push('.');
            error.message.push_str(may_have_run);
        }
        Err(RequestError::Failed(failure, error.into()))
    }
}
