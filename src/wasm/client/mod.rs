//! The fetch-based client, exported to JS as `RunbaseClient`. It only performs: the policy
//! module decides when to send, wait and retry; the api module reads the answers; the
//! transport (gloo-net over web-sys) sends them and keeps time.
//!
//! Here the JS-facing `RunbaseClient` and each call's operations (create, read, wait); one
//! request with its retries is in `request.rs`, the options' reading in `options.rs`, and
//! what a call rejects with in `errors.rs`.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, Promise, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::boundary::{object_fields, to_js, to_value};
use super::transport::{Scope, Stop};
use crate::core::api::{finished_outcome, parse_run, CreateRequest, Run, RUN_FIELDS};
use crate::core::code::ErrorCode;
use crate::core::error::{ErrorKind, RunbaseError};
use crate::core::model::ModelSpec;
use crate::core::policy::{poll_delay_ms, Method, Settings};
use crate::core::validate::validate;
use crate::core::value::MAX_DEPTH;

mod budget;
mod errors;
mod options;
mod request;
mod token;
use budget::{KeyBudget, KeyShares};
pub(crate) use errors::configure;
use errors::{to_js_error, Rejection};
use options::{build, check_run_id, start_call};

struct Inner {
    base_url: String,
    headers: Vec<(String, String)>,
    /// For a proxy with sign-in: sent as `Authorization: Bearer`.
    access_token: Option<token::AccessToken>,
    model: &'static ModelSpec,
    settings: Settings,
    request_timeout_ms: f64,
    /// Seconds of `?wait=` the server offers (0: none, poll): learned from its answers, so
    /// that behind our proxy the client long-polls and against the API it polls adaptively.
    long_poll_s: Cell<u64>,
    timeout_ms: f64,
    /// Shared by every client of the same key and API base in this module instance (a page,
    /// a worker, a server process) and across the origin's tabs: the API counts one per key.
    budget: Rc<KeyBudget>,
}

/// A Runbase client: with `apiKey` it calls the API directly; with only `baseUrl` it calls
/// your proxy, which holds the key. All runs of one client, and every client of the same key
/// and API base here, share one request budget.
#[wasm_bindgen(js_name = RunbaseClient)]
pub struct Client {
    inner: Rc<Inner>,
}

/// One call: its cancellation scope and, once known, the run it is about.
struct Operation {
    scope: Scope,
    timeout_ms: f64,
    run_id: Option<String>,
}

impl Operation {
    /// The error for a stop of the whole call (an abort's cause: the caller's reason).
    fn stopped(&self, stop: Stop) -> Rejection {
        let resume = self.run_id.as_deref().map_or(String::new(), |id| {
            format!("; run {id} goes on, resume with waitForRun(\"{id}\")")
        });
        let (error, cause) = match stop {
            Stop::TimedOut => (
                RunbaseError::new(
                    ErrorKind::Timeout,
                    format!("Gave up after {} ms{resume}", self.timeout_ms as u64),
                ),
                None,
            ),
            Stop::Aborted => (
                RunbaseError::new(ErrorKind::Aborted, format!("Aborted by the caller{resume}")),
                self.scope.abort_reason(),
            ),
        };
        Rejection::caused(error.with_run(self.run_id.as_deref()), cause)
    }

    async fn sleep(&self, ms: f64) -> Result<(), Rejection> {
        self.scope
            .sleep(ms)
            .await
            .map_err(|stop| self.stopped(stop))
    }
}

fn now() -> f64 {
    js_sys::Date::now()
}

/// A run as the caller receives it: the typed members as the core's [`Run`] defines them,
/// and every other member of the API's answer (one it adds later) as it came.
struct RunAnswer {
    run: Run,
    js: JsValue,
}

impl RunAnswer {
    fn read(body: &JsValue) -> Result<RunAnswer, RunbaseError> {
        let value = object_fields(body, 2, Some(&RUN_FIELDS)).map_err(|_| {
            RunbaseError::new(ErrorKind::Decode, "The run object could not be read")
        })?;
        let run = parse_run(&value)?;
        let js = to_js(&run);
        copy_unnamed(body, &js, &RUN_FIELDS);
        for (member, named) in [("output", &["urls"][..]), ("error", &["message", "code"])] {
            let key = JsValue::from_str(member);
            if let (Ok(from), Ok(to)) = (
                js_sys::Reflect::get(body, &key),
                js_sys::Reflect::get(&js, &key),
            ) {
                if from.is_object() && to.is_object() {
                    copy_unnamed(&from, &to, named);
                }
            }
        }
        Ok(RunAnswer { run, js })
    }
}

/// Copies the members of `from` that `named` does not list onto `to`, by reference. `from` is
/// JSON.parse's own output: plain data, no getters that could throw.
fn copy_unnamed(from: &JsValue, to: &JsValue, named: &[&str]) {
    let Ok(keys) = js_sys::Reflect::own_keys(from) else {
        return;
    };
    for key in keys.iter() {
        if !key.as_string().is_some_and(|k| named.contains(&k.as_str())) {
            if let Ok(member) = js_sys::Reflect::get(from, &key) {
                let _ = js_sys::Reflect::set(to, &key, &member);
            }
        }
    }
}

impl Inner {
    /// Reads a run; with `long_poll` (seconds, and the status already seen) the server answers
    /// as soon as the status changes, or when the wait ends.
    async fn fetch_run(
        &self,
        id: &str,
        op: &Operation,
        long_poll: Option<(u64, &str)>,
    ) -> Result<RunAnswer, Rejection> {
        let mut path = format!("/runs/{}", String::from(js_sys::encode_uri_component(id)));
        let mut timeout_ms = self.request_timeout_ms;
        if let Some((secs, seen)) = long_poll {
            path.push_str(&format!(
                "?wait={secs}&seen={}",
                String::from(js_sys::encode_uri_component(seen))
            ));
            // (gloo-net appends its own, empty, query after this one: the URL ends in "&",
            // which every server reads as nothing; its query builder would cost 0.25 KB.)
            // The server holds the answer up to `secs`: give the request that much more.
            timeout_ms += (secs * 1000) as f64;
        }
        let body = self.call(Method::Get, &path, None, op, timeout_ms).await?;
        RunAnswer::read(&body).map_err(|e| e.with_run(Some(id)).into())
    }

    async fn create(&self, input: &JsValue, op: &mut Operation) -> Result<RunAnswer, Rejection> {
        let value = to_value(input, MAX_DEPTH);
        let validation = validate(self.model, &value);
        let Some(normalized) = validation.value else {
            let first = validation
                .errors
                .first()
                .map_or(String::new(), |i| format!(": {}", i.message));
            let mut error = RunbaseError::new(
                ErrorKind::Validation,
                format!(
                    "The input has {} problem(s), so no request was made{first}",
                    validation.errors.len()
                ),
            );
            error.code = Some(ErrorCode::InvalidInput.as_str().into());
            error.issues = validation.errors;
            return Err(error.into());
        };
        // The entry module (index.js) sends files as data: URLs; one can only come here when
        // this class is used without it.
        if normalized.image_urls.iter().any(|i| i.url().is_none()) {
            let mut error = RunbaseError::new(
                ErrorKind::Validation,
                "Files in image_urls are sent only through the package's index.js (as data: URLs)",
            );
            error.code = Some(ErrorCode::InvalidInput.as_str().into());
            return Err(error.into());
        }
        let request = to_js(&CreateRequest {
            model: self.model.id,
            input: &normalized,
        });
        let body = JSON::stringify(&request)
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default();
        let run = self
            .call(
                Method::Post,
                "/runs",
                Some(&body),
                op,
                self.request_timeout_ms,
            )
            .await?;
        let answer = RunAnswer::read(&run).map_err(|mut e| {
            e.message
                .push_str(". A run may have been created, but its id could not be read");
            e
        })?;
        op.run_id = Some(answer.run.id.clone());
        Ok(answer)
    }

    /// Polls until the run finishes; `first` is a fresh answer that needs no immediate poll.
    async fn wait(
        &self,
        id: &str,
        first: Option<RunAnswer>,
        op: &Operation,
        on_update: Option<&Function>,
    ) -> Result<RunAnswer, Rejection> {
        let started = now();
        let mut last_status: Option<String> = None;
        let mut current = first;
        let mut long_poll = false;
        loop {
            let asked = now();
            let answer = match current.take() {
                Some(fresh) => fresh,
                None => {
                    let wait = long_poll
                        .then(|| (self.long_poll_s.get(), last_status.as_deref().unwrap_or("")));
                    self.fetch_run(id, op, wait).await?
                }
            };
            let status = answer.run.status.as_str();
            let changed = last_status.as_deref() != Some(status);
            if changed {
                last_status = Some(status.to_string());
                if let Some(callback) = on_update {
                    // A throwing callback must not end the wait: the run goes on.
                    let _ = callback.call1(&JsValue::NULL, &answer.js);
                }
            }
            match finished_outcome(&answer.run) {
                Some(Ok(_)) => return Ok(answer),
                Some(Err(error)) => return Err(error.into()),
                None => {
                    // Long-poll when the server offers it, unless it just answered an unchanged
                    // run at once (a server that ignores the wait must not be spun on).
                    let ignored_wait = long_poll && !changed && now() - asked < 1000.0;
                    long_poll = self.long_poll_s.get() > 0 && !ignored_wait;
                    if !long_poll {
                        op.sleep(poll_delay_ms(&self.settings, now() - started))
                            .await?
                    }
                }
            }
        }
    }
}

/// What `generate` resolves with.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Generated<'a> {
    urls: &'a [String],
    /// What the run was charged, in micro-dollars, as the API reported it.
    #[serde(rename = "costUsd", skip_serializing_if = "Option::is_none")]
    cost_micro_usd: Option<u64>,
}

/// The four calls of a client. They share one async body, so the module holds one state
/// machine and one copy of the promise machinery instead of four.
#[derive(Clone, Copy)]
enum Verb {
    Create,
    Get,
    Wait,
    Generate,
}

impl Inner {
    async fn perform(
        &self,
        verb: Verb,
        arg: JsValue,
        options: JsValue,
    ) -> Result<JsValue, Rejection> {
        let mut call = start_call(options, self.timeout_ms)?;
        let on_update = call.on_update.as_ref();
        match verb {
            Verb::Create => Ok(self.create(&arg, &mut call.op).await?.js),
            Verb::Get => {
                let run_id = check_run_id(&arg)?;
                call.op.run_id = Some(run_id.clone());
                Ok(self.fetch_run(&run_id, &call.op, None).await?.js)
            }
            Verb::Wait => {
                let run_id = check_run_id(&arg)?;
                call.op.run_id = Some(run_id.clone());
                Ok(self.wait(&run_id, None, &call.op, on_update).await?.js)
            }
            Verb::Generate => {
                let created = self.create(&arg, &mut call.op).await?;
                if let Some(callback) = &call.on_create {
                    let _ = callback.call1(&JsValue::NULL, &created.js);
                }
                let id = created.run.id.clone();
                let done = self.wait(&id, Some(created), &call.op, on_update).await?;
                let result = to_js(&Generated {
                    urls: done.run.urls(),
                    cost_micro_usd: done.run.cost_micro_usd,
                });
                let _ = js_sys::Reflect::set(&result, &"run".into(), &done.js);
                Ok(result)
            }
        }
    }
}

impl Client {
    fn start(&self, verb: Verb, arg: JsValue, options: JsValue) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            inner
                .perform(verb, arg, options)
                .await
                .map_err(|e| to_js_error(&e.error, e.cause.as_ref()))
        })
    }
}

#[wasm_bindgen(js_class = RunbaseClient)]
impl Client {
    #[wasm_bindgen(constructor)]
    /// `shares`: the entry's `keyShares` (js/share.js), to share a key's budget across tabs.
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "RunbaseClientOptions")] options: JsValue,
        shares: Option<KeyShares>,
    ) -> Result<Client, JsValue> {
        build(options, shares.as_ref())
            .map(|inner| Client {
                inner: Rc::new(inner),
            })
            .map_err(|e| to_js_error(&e, None))
    }

    /// Validates the input (no request when it is invalid), then creates a run.
    #[wasm_bindgen(js_name = createRun, unchecked_return_type = "Promise<Run>")]
    pub fn create_run(
        &self,
        #[wasm_bindgen(unchecked_param_type = "GptImage2Input")] input: JsValue,
        #[wasm_bindgen(unchecked_param_type = "CallOptions")] options: JsValue,
    ) -> Promise {
        self.start(Verb::Create, input, options)
    }

    /// Reads a run once.
    #[wasm_bindgen(js_name = getRun, unchecked_return_type = "Promise<Run>")]
    pub fn get_run(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] run_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "CallOptions")] options: JsValue,
    ) -> Promise {
        self.start(Verb::Get, run_id, options)
    }

    /// Follows a run until it finishes; resolves with the succeeded run.
    #[wasm_bindgen(js_name = waitForRun, unchecked_return_type = "Promise<Run>")]
    pub fn wait_for_run(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] run_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "CallOptions")] options: JsValue,
    ) -> Promise {
        self.start(Verb::Wait, run_id, options)
    }

    /// Validates, creates and waits: resolves with `{ urls, run, costUsd }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<GenerateResult>")]
    pub fn generate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "GptImage2Input")] input: JsValue,
        #[wasm_bindgen(unchecked_param_type = "CallOptions")] options: JsValue,
    ) -> Promise {
        self.start(Verb::Generate, input, options)
    }
}
