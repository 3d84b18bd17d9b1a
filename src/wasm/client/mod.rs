//! The fetch-based client, exported to JS as `RunbaseClient`. It only performs: the policy
//! module decides when to send, wait and retry; the api module reads the answers; the
//! transport (gloo-net over web-sys) sends them and keeps time.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Promise, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::AbortSignal;

use super::boundary::{object_fields, reflect_get, to_js, to_value};
use super::transport::{check_headers, Delivery, HttpReply, NoReply, Scope, Stop};
use crate::core::api::{
    excerpt, finished_outcome, parse_error, parse_retry_after, parse_run, CreateRequest, Run,
    RUN_FIELDS,
};
use crate::core::error::{ErrorKind, RunbaseError, Runtime, MAY_HAVE_RUN};
use crate::core::model::{find_model, ModelSpec, GPT_IMAGE_2};
use crate::core::policy::{
    decide, is_retryable, poll_delay_ms, Budget, Decision, Method, RequestFailure, Settings,
};
use crate::core::suggest;
use crate::core::validate::validate;
use crate::core::value::{ascii_number, comma_list, Value, MAX_DEPTH};

thread_local! {
    static ERROR_CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Whether this is Node (told by the entry module): network errors are worded for it.
static IN_NODE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn runtime() -> Runtime {
    if IN_NODE.load(std::sync::atomic::Ordering::Relaxed) {
        Runtime::Node
    } else {
        Runtime::Browser
    }
}

/// The entry module's `RunbaseError` class, so that every error is an instance of it
/// (without it errors are plain `Error`s named "RunbaseError"), and whether this is Node
/// (whose fetch says why a connection failed, and where CORS does not exist). Set by
/// `boundary::configure`.
pub(crate) fn configure(class: Function, in_node: bool) {
    ERROR_CLASS.with(|c| *c.borrow_mut() = Some(class));
    IN_NODE.store(in_node, std::sync::atomic::Ordering::Relaxed);
}

/// What a call rejects with: the error and what caused it on the JS side (fetch's TypeError,
/// the caller's abort reason, JSON.parse's SyntaxError, a failed body read), which becomes
/// the `RunbaseError`'s standard `cause`.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
struct Rejection {
    error: RunbaseError,
    cause: Option<JsValue>,
}

impl From<RunbaseError> for Rejection {
    fn from(error: RunbaseError) -> Self {
        Rejection { error, cause: None }
    }
}

/// Why one request gave no body to use.
#[derive(Debug, thiserror::Error)]
enum RequestError {
    /// The whole call stopped (the caller's abort or its time-out): nothing to retry.
    #[error("{0}")]
    Stopped(Rejection),
    /// This request failed: the policy decides from `RequestFailure` whether to retry.
    #[error("{1}")]
    Failed(RequestFailure, Rejection),
}

impl Rejection {
    fn caused(error: RunbaseError, cause: Option<JsValue>) -> Self {
        Rejection { error, cause }
    }

    fn with_run(mut self, run_id: Option<&str>) -> Self {
        self.error = self.error.with_run(run_id);
        self
    }
}

pub(crate) fn to_js_error(error: &RunbaseError, cause: Option<&JsValue>) -> JsValue {
    let fields = to_js(error);
    if let Some(cause) = cause {
        let _ = js_sys::Reflect::set(&fields, &"cause".into(), cause);
    }
    let message = JsValue::from_str(&error.message);
    let class = ERROR_CLASS.with(|c| c.borrow().clone());
    if let Some(class) = class {
        let args = js_sys::Array::of2(&message, &fields);
        if let Ok(instance) = js_sys::Reflect::construct(&class, &args) {
            return instance;
        }
    }
    // Only if the entry module never set the class (it always does, in init) or it threw.
    js_sys::Error::new(&error.message).into()
}

fn options_error(message: String) -> RunbaseError {
    let mut error = RunbaseError::new(ErrorKind::Validation, message);
    error.code = Some("invalid_options".into());
    error
}

/// Reads an options object: known keys only (a typo gets "did you mean"), each of its type.
struct Options {
    object: JsValue,
    what: &'static str,
}

impl Options {
    fn new(
        value: JsValue,
        what: &'static str,
        known: &[&'static str],
    ) -> Result<Self, RunbaseError> {
        if value.is_undefined() || value.is_null() {
            return Ok(Options {
                object: JsValue::UNDEFINED,
                what,
            });
        }
        if !value.is_object() || js_sys::Array::is_array(&value) {
            return Err(options_error(format!("{what} must be an object")));
        }
        let keys = object_fields(&value, 0, None)
            .map_err(|_| options_error(format!("{what} could not be read")))?;
        if let Value::Object(fields) = keys {
            for (name, _) in fields {
                if !known.contains(&name.as_str()) {
                    let hint = suggest::field_name(&name, known)
                        .map_or(String::new(), |s| format!(" Did you mean \"{s}\"?"));
                    return Err(options_error(format!(
                        "Unknown option \"{name}\" in {what}; known: {}.{hint}",
                        comma_list(known)
                    )));
                }
            }
        }
        Ok(Options {
            object: value,
            what,
        })
    }

    fn get(&self, name: &str) -> JsValue {
        if self.object.is_undefined() {
            return JsValue::UNDEFINED;
        }
        reflect_get(&self.object, &name.into()).unwrap_or(JsValue::UNDEFINED)
    }

    fn string(&self, name: &str) -> Result<Option<String>, RunbaseError> {
        let value = self.get(name);
        if value.is_undefined() {
            return Ok(None);
        }
        match value.as_string() {
            Some(s) if !s.trim().is_empty() => Ok(Some(s)),
            _ => Err(options_error(format!(
                "{}.{name} must be a non-empty string",
                self.what
            ))),
        }
    }

    fn number(&self, name: &str, default: f64) -> Result<f64, RunbaseError> {
        let value = self.get(name);
        if value.is_undefined() {
            return Ok(default);
        }
        match value.as_f64() {
            Some(n) if n.is_finite() && n >= 0.0 => Ok(n),
            _ => Err(options_error(format!(
                "{}.{name} must be a finite number ≥ 0",
                self.what
            ))),
        }
    }

    fn function(&self, name: &str) -> Result<Option<Function>, RunbaseError> {
        let value = self.get(name);
        if value.is_undefined() {
            return Ok(None);
        }
        value
            .dyn_into::<Function>()
            .map(Some)
            .map_err(|_| options_error(format!("{}.{name} must be a function", self.what)))
    }
}

struct Inner {
    base_url: String,
    headers: Vec<(String, String)>,
    model: &'static ModelSpec,
    settings: Settings,
    request_timeout_ms: f64,
    /// Seconds of `?wait=` the server offers (0: none, poll): learned from its answers, so
    /// that behind our proxy the client long-polls and against the API it polls adaptively.
    long_poll_s: Cell<u64>,
    timeout_ms: f64,
    budget: RefCell<Budget>,
}

/// A Runbase client: with `apiKey` it calls the API directly; with only `baseUrl` it calls
/// your proxy, which holds the key. All runs of one client share one request budget.
#[wasm_bindgen(js_name = RunbaseClient)]
pub struct Client {
    inner: Rc<Inner>,
}

const CLIENT_OPTIONS: [&str; 10] = [
    "apiKey",
    "baseUrl",
    "headers",
    "model",
    "timeoutMs",
    "requestTimeoutMs",
    "pollIntervalMs",
    "maxPollIntervalMs",
    "maxRetries",
    "rateLimit",
];
const CALL_OPTIONS: [&str; 4] = ["signal", "timeoutMs", "onUpdate", "onCreate"];
pub const DEFAULT_BASE_URL: &str = "https://api.runbase.net/v1";
/// Runbase's keys look like `sk-...` (RUNBASE.md).
const KEY_PREFIX: &str = "sk-";
/// The longest long-poll the client accepts, whatever a server offers.
const MAX_LONG_POLL_S: u64 = 60;

fn build(options: JsValue) -> Result<Inner, RunbaseError> {
    let o = Options::new(options, "options", &CLIENT_OPTIONS)?;
    let api_key = o.string("apiKey")?;
    let base_url =
        match (o.string("baseUrl")?, &api_key) {
            (Some(url), _) => url.trim_end_matches('/').to_string(),
            (None, Some(_)) => DEFAULT_BASE_URL.to_string(),
            (None, None) => return Err(options_error(
                "Give apiKey (to call Runbase directly) or baseUrl (of a proxy that holds the key)"
                    .into(),
            )),
        };
    let mut headers = Vec::new();
    let extra = o.get("headers");
    if !extra.is_undefined() {
        let fields = object_fields(&extra, 0, None)
            .map_err(|_| options_error("options.headers could not be read".into()))?;
        if let Value::Object(fields) = fields {
            for (name, value) in fields {
                let Value::String(value) = value else {
                    return Err(options_error(format!(
                        "options.headers[\"{name}\"] must be a string"
                    )));
                };
                if api_key.is_some() && name.eq_ignore_ascii_case("authorization") {
                    return Err(options_error(
                        "Give either apiKey or an Authorization header, not both".into(),
                    ));
                }
                headers.push((name, value));
            }
        }
    }
    if let Some(key) = &api_key {
        let key = key.trim();
        if !key.starts_with(KEY_PREFIX) {
            // A warning, not a refusal: a new kind of key must not lock anyone out.
            web_sys::console::warn_1(&JsValue::from_str(
                "runbase-image: apiKey does not start with \"sk-\" as Runbase keys do: is it the right key?",
            ));
        }
        headers.push(("Authorization".into(), format!("Bearer {key}")));
    }
    headers.push(("Accept".into(), "application/json".into()));
    check_headers(&headers)
        .map_err(|problem| options_error(format!("options.headers: {problem}")))?;
    let model = match o.string("model")? {
        None => &GPT_IMAGE_2,
        Some(id) => find_model(&id).ok_or_else(|| {
            options_error(format!(
                "options.model \"{id}\" is not a model this library knows"
            ))
        })?,
    };
    let defaults = Settings::default();
    let rate = Options::new(
        o.get("rateLimit"),
        "options.rateLimit",
        &["requests", "windowMs"],
    )?;
    let settings = Settings {
        poll_interval_ms: o.number("pollIntervalMs", defaults.poll_interval_ms)?,
        max_poll_interval_ms: o.number("maxPollIntervalMs", defaults.max_poll_interval_ms)?,
        budget_requests: rate
            .number("requests", defaults.budget_requests as f64)?
            .max(1.0) as usize,
        budget_window_ms: rate.number("windowMs", defaults.budget_window_ms)?,
        max_retries: o
            .number("maxRetries", f64::from(defaults.max_retries))?
            .min(100.0) as u32,
        ..defaults
    };
    Ok(Inner {
        base_url,
        headers,
        model,
        settings,
        request_timeout_ms: o.number("requestTimeoutMs", 30_000.0)?.max(1.0),
        long_poll_s: Cell::new(0),
        timeout_ms: o.number("timeoutMs", 600_000.0)?,
        budget: RefCell::new(Budget::new(&settings)),
    })
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
    /// One request with the budget and the retry policy; the parsed JSON body on success.
    async fn call(
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
        loop {
            loop {
                let wait = self.budget.borrow_mut().wait_ms(now());
                if wait <= 0.0 {
                    break;
                }
                op.sleep(wait).await?;
            }
            self.budget.borrow_mut().record(now());
            let delivery = op.scope.send(verb, &url, &headers, body, timeout_ms).await;
            let (failure, error) = match self.read_reply(method, delivery, op) {
                Ok(parsed) => return Ok(parsed),
                Err(RequestError::Stopped(stop)) => return Err(stop),
                Err(RequestError::Failed(failure, error)) => (failure, error),
            };
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
                        self.budget.borrow_mut().pause_until(now() + ms);
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
            error.code = Some("invalid_input".into());
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
            error.code = Some("invalid_input".into());
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

struct Call {
    op: Operation,
    on_update: Option<Function>,
    on_create: Option<Function>,
}

fn start_call(options: JsValue, default_timeout: f64) -> Result<Call, RunbaseError> {
    let o = Options::new(options, "call options", &CALL_OPTIONS)?;
    let timeout_ms = o.number("timeoutMs", default_timeout)?;
    let signal = o.get("signal");
    let signal = if signal.is_undefined() || signal.is_null() {
        None
    } else {
        Some(
            signal
                .dyn_into::<AbortSignal>()
                .map_err(|_| options_error("options.signal must be an AbortSignal".into()))?,
        )
    };
    let scope = Scope::start(signal, timeout_ms)
        .map_err(|_| options_error("AbortController is not available here".into()))?;
    Ok(Call {
        op: Operation {
            scope,
            timeout_ms,
            run_id: None,
        },
        on_update: o.function("onUpdate")?,
        on_create: o.function("onCreate")?,
    })
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
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "RunbaseClientOptions")] options: JsValue,
    ) -> Result<Client, JsValue> {
        build(options)
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

fn check_run_id(id: &JsValue) -> Result<String, RunbaseError> {
    match id.as_string() {
        Some(id) if !id.trim().is_empty() && id.len() <= 256 => Ok(id),
        _ => Err(options_error(
            "A run id must be a non-empty string of at most 256 characters".into(),
        )),
    }
}
