//! The fetch-based client, exported to JS as `RunbaseClient`. It only performs: the policy
//! module decides when to send, wait and retry; the api module reads the answers. The I/O
//! helpers are a few lines of JS over the global `fetch`, `setTimeout` and `AbortController`,
//! so the client works in a window, a Web Worker and Node alike.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::api::{
    finished_outcome, parse_error, parse_retry_after, parse_run, RunView, RUN_FIELDS,
};
use crate::error::{ClientError, ErrorKind};
use crate::js::{issue_to_js, normalized_to_js, object, object_fields, reflect_get};
use crate::model::{find_model, ModelSpec, GPT_IMAGE_2};
use crate::policy::{
    decide, is_retryable, poll_delay_ms, Budget, Decision, Failure, Method, Settings,
};
use crate::suggest;
use crate::validate::validate;

#[wasm_bindgen(inline_js = r#"
export function linkSignal(user, timeoutMs) {
  if (user != null && !(typeof AbortSignal !== "undefined" && user instanceof AbortSignal)) {
    throw new TypeError("signal must be an AbortSignal");
  }
  const controller = new AbortController();
  const onAbort = () => controller.abort("aborted");
  if (user) {
    if (user.aborted) onAbort(); else user.addEventListener("abort", onAbort, { once: true });
  }
  const timer = timeoutMs > 0 && Number.isFinite(timeoutMs)
    ? setTimeout(() => controller.abort("timeout"), timeoutMs) : undefined;
  return { signal: controller.signal, dispose() { clearTimeout(timer); user?.removeEventListener("abort", onAbort); } };
}
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => { clearTimeout(id); reject(signal.reason); };
    const id = setTimeout(() => { signal.removeEventListener("abort", onAbort); resolve(); }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
export async function send(url, method, headers, body, timeoutMs, signal) {
  if (signal.aborted) return { failure: signal.reason };
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => controller.abort("request_timeout"), timeoutMs);
  try {
    const response = await fetch(url, { method, headers, body, signal: controller.signal });
    const text = await response.text();
    return { status: response.status, text, contentType: response.headers.get("content-type") ?? "",
      retryAfter: response.headers.get("retry-after") ?? "" };
  } catch (error) {
    if (controller.signal.aborted) return { failure: controller.signal.reason };
    return { failure: "network", detail: String(error?.message ?? error) };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}
"#)]
extern "C" {
    #[wasm_bindgen(catch, js_name = linkSignal)]
    fn link_signal(user: &JsValue, timeout_ms: f64) -> Result<JsValue, JsValue>;
    fn sleep(ms: f64, signal: &JsValue) -> Promise;
    fn send(
        url: &str,
        method: &str,
        headers: &JsValue,
        body: &JsValue,
        timeout_ms: f64,
        signal: &JsValue,
    ) -> Promise;
}

thread_local! {
    static ERROR_CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Called once by the package's entry module with its `RunbaseError` class, so that every
/// error is an instance of it. Without it errors are plain `Error`s named "RunbaseError".
#[wasm_bindgen(js_name = __setErrorClass)]
pub fn set_error_class(class: Function) {
    ERROR_CLASS.with(|c| *c.borrow_mut() = Some(class));
}

fn opt<T: Into<JsValue>>(value: Option<T>) -> JsValue {
    value.map_or(JsValue::UNDEFINED, Into::into)
}

pub(crate) fn to_js_error(error: &ClientError) -> JsValue {
    let issues = if error.kind == ErrorKind::Validation && !error.issues.is_empty() {
        error
            .issues
            .iter()
            .map(issue_to_js)
            .collect::<js_sys::Array>()
            .into()
    } else {
        JsValue::UNDEFINED
    };
    let fields = object(&[
        ("kind", error.kind.as_str().into()),
        ("status", opt(error.status)),
        ("code", opt(error.code.as_deref())),
        ("retryable", error.retryable.into()),
        (
            "retryAfterMs",
            opt(error.retry_after_ms.map(|ms| ms as f64)),
        ),
        ("runId", opt(error.run_id.as_deref())),
        ("issues", issues),
    ]);
    let message = JsValue::from_str(&error.message);
    let class = ERROR_CLASS.with(|c| c.borrow().clone());
    if let Some(class) = class {
        let args = js_sys::Array::of2(&message, &fields);
        if let Ok(instance) = js_sys::Reflect::construct(&class, &args) {
            return instance;
        }
    }
    let plain = js_sys::Error::new(&error.message);
    plain.set_name("RunbaseError");
    let _ = js_sys::Object::assign(&plain, &fields.into());
    plain.into()
}

fn options_error(message: String) -> ClientError {
    let mut error = ClientError::new(ErrorKind::Validation, message);
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
    ) -> Result<Self, ClientError> {
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
        if let crate::Value::Object(fields) = keys {
            for (name, _) in fields {
                if !known.contains(&name.as_str()) {
                    let hint = suggest::field_name(&name, known)
                        .map_or(String::new(), |s| format!(" Did you mean \"{s}\"?"));
                    return Err(options_error(format!(
                        "Unknown option \"{name}\" in {what}; known: {}.{hint}",
                        known.join(", ")
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

    fn string(&self, name: &str) -> Result<Option<String>, ClientError> {
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

    fn number(&self, name: &str, default: f64) -> Result<f64, ClientError> {
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

    fn function(&self, name: &str) -> Result<Option<Function>, ClientError> {
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

fn build(options: JsValue) -> Result<Inner, ClientError> {
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
        if let crate::Value::Object(fields) = fields {
            for (name, value) in fields {
                let crate::Value::String(value) = value else {
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
        headers.push(("Authorization".into(), format!("Bearer {}", key.trim())));
    }
    headers.push(("Accept".into(), "application/json".into()));
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
        timeout_ms: o.number("timeoutMs", 600_000.0)?,
        budget: RefCell::new(Budget::new(&settings)),
    })
}

/// One call's cancellation: the caller's signal and the overall time-out, as one signal.
struct Operation {
    signal: JsValue,
    dispose: JsValue,
    run_id: Option<String>,
}

impl Operation {
    fn start(user_signal: &JsValue, timeout_ms: f64) -> Result<Self, ClientError> {
        let linked = link_signal(user_signal, timeout_ms)
            .map_err(|_| options_error("options.signal must be an AbortSignal".into()))?;
        Ok(Operation {
            signal: reflect_get(&linked, &"signal".into()).unwrap_or(JsValue::UNDEFINED),
            dispose: reflect_get(&linked, &"dispose".into()).unwrap_or(JsValue::UNDEFINED),
            run_id: None,
        })
    }

    /// The error for a stop of the whole operation ("aborted" or "timeout").
    fn stopped(&self, reason: &JsValue, timeout_ms: f64) -> ClientError {
        let resume = self.run_id.as_deref().map_or(String::new(), |id| {
            format!("; run {id} goes on, resume with waitForRun(\"{id}\")")
        });
        let error = if reason.as_string().as_deref() == Some("timeout") {
            ClientError::new(
                ErrorKind::Timeout,
                format!("Gave up after {} ms{resume}", timeout_ms as u64),
            )
        } else {
            ClientError::new(ErrorKind::Aborted, format!("Aborted by the caller{resume}"))
        };
        error.with_run(self.run_id.as_deref())
    }

    async fn sleep(&self, ms: f64, timeout_ms: f64) -> Result<(), ClientError> {
        JsFuture::from(sleep(ms, &self.signal))
            .await
            .map(|_| ())
            .map_err(|reason| self.stopped(&reason, timeout_ms))
    }
}

impl Drop for Operation {
    fn drop(&mut self) {
        if let Ok(dispose) = self.dispose.clone().dyn_into::<Function>() {
            let _ = dispose.call0(&JsValue::NULL);
        }
    }
}

fn now() -> f64 {
    js_sys::Date::now()
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
    ) -> Result<JsValue, ClientError> {
        let url = format!("{}{path}", self.base_url);
        let headers = object(
            &self
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), JsValue::from_str(v)))
                .chain(body.map(|_| ("Content-Type", JsValue::from_str("application/json"))))
                .collect::<Vec<_>>(),
        );
        let (verb, body) = match method {
            Method::Get => ("GET", JsValue::UNDEFINED),
            Method::Post => ("POST", body.map_or(JsValue::UNDEFINED, JsValue::from_str)),
        };
        let mut retry = 0;
        loop {
            loop {
                let wait = self.budget.borrow_mut().wait_ms(now());
                if wait <= 0.0 {
                    break;
                }
                op.sleep(wait, timeout_ms).await?;
            }
            self.budget.borrow_mut().record(now());
            let answer = JsFuture::from(send(
                &url,
                verb,
                &headers,
                &body,
                self.request_timeout_ms,
                &op.signal,
            ))
            .await
            .unwrap_or(JsValue::UNDEFINED);
            let (failure, error) = match self.read_answer(method, &answer, op, timeout_ms) {
                Ok(parsed) => return Ok(parsed),
                Err(Ok(stop)) => return Err(stop),
                Err(Err(pair)) => pair,
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
                    if matches!(
                        failure,
                        Failure::Http {
                            status: 429,
                            retry_after_ms: Some(_),
                            ..
                        }
                    ) {
                        // The server asked everyone on this key to wait, not just this run.
                        self.budget.borrow_mut().pause_until(now() + ms);
                    }
                    op.sleep(ms, timeout_ms).await?;
                }
            }
        }
    }

    /// `Ok(body)`, `Err(Ok(stop))` for an abort or overall time-out, or `Err(Err(failure))`.
    #[allow(clippy::type_complexity)]
    fn read_answer(
        &self,
        method: Method,
        answer: &JsValue,
        op: &Operation,
        timeout_ms: f64,
    ) -> Result<JsValue, Result<ClientError, (Failure, ClientError)>> {
        let field = |name: &str| reflect_get(answer, &name.into()).unwrap_or(JsValue::UNDEFINED);
        let may_have_run = if method == Method::Post {
            " A run may or may not have been created: check before creating another"
        } else {
            ""
        };
        if let Some(failure) = field("failure").as_string() {
            return Err(match failure.as_str() {
                "aborted" | "timeout" => Ok(op.stopped(&JsValue::from_str(&failure), timeout_ms)),
                "request_timeout" => {
                    let mut error = ClientError::new(
                        ErrorKind::Timeout,
                        format!(
                            "The API did not answer within {} ms.{may_have_run}",
                            self.request_timeout_ms as u64
                        ),
                    );
                    error.retryable = method == Method::Get;
                    Err((Failure::Timeout, error))
                }
                _ => {
                    let mut error =
                        ClientError::network(&field("detail").as_string().unwrap_or_default());
                    error.retryable = method == Method::Get;
                    if method == Method::Post {
                        error.message.push('.');
                        error.message.push_str(may_have_run);
                    }
                    Err((Failure::Network, error))
                }
            });
        }
        let status = field("status").as_f64().unwrap_or(0.0) as u16;
        let text = field("text").as_string().unwrap_or_default();
        let content_type = field("contentType").as_string().unwrap_or_default();
        let parsed = JSON::parse(&text).ok();
        if (200..300).contains(&status) {
            return match parsed {
                Some(body) if body.is_object() => Ok(body),
                _ => {
                    let mut error = ClientError::new(
                        ErrorKind::Decode,
                        format!(
                            "The API answered HTTP {status} but the body is not a JSON object ({}): {}.{may_have_run}",
                            if content_type.is_empty() { "no content type" } else { &content_type },
                            crate::api::excerpt(&text)
                        ),
                    );
                    error.status = Some(status);
                    error.retryable = method == Method::Get;
                    Err(Err((Failure::Decode, error)))
                }
            };
        }
        let body = parsed.and_then(|p| object_fields(&p, 2, Some(&["error"])).ok());
        let failure = parse_error(status, body.as_ref(), &text, &content_type);
        let retry_after_ms =
            parse_retry_after(&field("retryAfter").as_string().unwrap_or_default(), now());
        let policy_failure = Failure::Http {
            status,
            code: failure.code.clone(),
            retry_after_ms,
        };
        let mut error = ClientError::from_api(
            failure,
            retry_after_ms,
            is_retryable(method, &policy_failure),
        );
        if method == Method::Post && status >= 500 {
            error.message.push('.');
            error.message.push_str(may_have_run);
        }
        Err(Err((policy_failure, error)))
    }

    async fn fetch_run(
        &self,
        id: &str,
        op: &Operation,
        timeout_ms: f64,
    ) -> Result<(JsValue, RunView), ClientError> {
        let path = format!("/runs/{}", String::from(js_sys::encode_uri_component(id)));
        let body = self.call(Method::Get, &path, None, op, timeout_ms).await?;
        let view = read_run(&body).map_err(|e| e.with_run(Some(id)))?;
        Ok((body, view))
    }

    async fn create(
        &self,
        input: &JsValue,
        op: &mut Operation,
        timeout_ms: f64,
    ) -> Result<(JsValue, RunView), ClientError> {
        let value = crate::js::to_value(input, crate::value::MAX_DEPTH);
        let validation = validate(self.model, &value);
        let Some(normalized) = validation.value else {
            let first = validation
                .errors
                .first()
                .map_or(String::new(), |i| format!(": {}", i.message));
            let mut error = ClientError::new(
                ErrorKind::Validation,
                format!(
                    "The input has {} problem(s), so no request was made{first}",
                    validation.errors.len()
                ),
            );
            error.code = Some("invalid_input".into());
            error.issues = validation.errors;
            return Err(error);
        };
        let request = object(&[
            ("model", self.model.id.into()),
            ("input", normalized_to_js(&normalized)),
        ]);
        let body = JSON::stringify(&request)
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default();
        let run = self
            .call(Method::Post, "/runs", Some(&body), op, timeout_ms)
            .await?;
        let view = read_run(&run).map_err(|mut e| {
            e.message
                .push_str(". A run may have been created, but its id could not be read");
            e
        })?;
        op.run_id = Some(view.id.clone());
        Ok((run, view))
    }

    /// Polls until the run finishes; `first` is a fresh view that needs no immediate poll.
    async fn wait(
        &self,
        id: &str,
        first: Option<(JsValue, RunView)>,
        op: &Operation,
        timeout_ms: f64,
        on_update: Option<&Function>,
    ) -> Result<JsValue, ClientError> {
        let started = now();
        let mut last_status: Option<String> = None;
        let mut current = first;
        loop {
            let (run, view) = match current.take() {
                Some(fresh) => fresh,
                None => self.fetch_run(id, op, timeout_ms).await?,
            };
            if last_status.as_deref() != Some(view.status_text.as_str()) {
                last_status = Some(view.status_text.clone());
                if let Some(callback) = on_update {
                    // A throwing callback must not end the wait: the run goes on.
                    let _ = callback.call1(&JsValue::NULL, &run);
                }
            }
            match finished_outcome(&view) {
                Some(Ok(_)) => return Ok(run),
                Some(Err(error)) => return Err(error),
                None => {
                    op.sleep(poll_delay_ms(&self.settings, now() - started), timeout_ms)
                        .await?
                }
            }
        }
    }
}

fn read_run(body: &JsValue) -> Result<RunView, ClientError> {
    let value = object_fields(body, 2, Some(&RUN_FIELDS))
        .map_err(|_| ClientError::new(ErrorKind::Decode, "The run object could not be read"))?;
    parse_run(&value).map_err(|e| {
        ClientError::new(
            ErrorKind::Decode,
            format!("The API's answer is not a run: {}", e.0),
        )
    })
}

struct Call {
    op: Operation,
    timeout_ms: f64,
    on_update: Option<Function>,
    on_create: Option<Function>,
}

fn start_call(options: JsValue, default_timeout: f64) -> Result<Call, ClientError> {
    let o = Options::new(options, "call options", &CALL_OPTIONS)?;
    let timeout_ms = o.number("timeoutMs", default_timeout)?;
    Ok(Call {
        op: Operation::start(&o.get("signal"), timeout_ms)?,
        timeout_ms,
        on_update: o.function("onUpdate")?,
        on_create: o.function("onCreate")?,
    })
}

fn promise<F>(future: F) -> Promise
where
    F: std::future::Future<Output = Result<JsValue, ClientError>> + 'static,
{
    future_to_promise(async move { future.await.map_err(|e| to_js_error(&e)) })
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
            .map_err(|e| to_js_error(&e))
    }

    /// Validates the input (no request when it is invalid), then creates a run.
    #[wasm_bindgen(js_name = createRun, unchecked_return_type = "Promise<Run>")]
    pub fn create_run(
        &self,
        #[wasm_bindgen(unchecked_param_type = "GptImage2Input")] input: JsValue,
        #[wasm_bindgen(unchecked_param_type = "CallOptions")] options: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let mut call = start_call(options, inner.timeout_ms)?;
            let (run, _) = inner.create(&input, &mut call.op, call.timeout_ms).await?;
            Ok(run)
        })
    }

    /// Reads a run once.
    #[wasm_bindgen(js_name = getRun, unchecked_return_type = "Promise<Run>")]
    pub fn get_run(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] run_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "CallOptions")] options: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let call = start_call(options, inner.timeout_ms)?;
            let run_id = check_run_id(&run_id)?;
            let (run, _) = inner.fetch_run(&run_id, &call.op, call.timeout_ms).await?;
            Ok(run)
        })
    }

    /// Follows a run until it finishes; resolves with the succeeded run.
    #[wasm_bindgen(js_name = waitForRun, unchecked_return_type = "Promise<Run>")]
    pub fn wait_for_run(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] run_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "CallOptions")] options: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let mut call = start_call(options, inner.timeout_ms)?;
            let run_id = check_run_id(&run_id)?;
            call.op.run_id = Some(run_id.clone());
            inner
                .wait(
                    &run_id,
                    None,
                    &call.op,
                    call.timeout_ms,
                    call.on_update.as_ref(),
                )
                .await
        })
    }

    /// Validates, creates and waits: resolves with `{ urls, run }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<GenerateResult>")]
    pub fn generate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "GptImage2Input")] input: JsValue,
        #[wasm_bindgen(unchecked_param_type = "CallOptions")] options: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let mut call = start_call(options, inner.timeout_ms)?;
            let (run, view) = inner.create(&input, &mut call.op, call.timeout_ms).await?;
            if let Some(callback) = &call.on_create {
                let _ = callback.call1(&JsValue::NULL, &run);
            }
            let id = view.id.clone();
            let run = inner
                .wait(
                    &id,
                    Some((run, view)),
                    &call.op,
                    call.timeout_ms,
                    call.on_update.as_ref(),
                )
                .await?;
            let urls = read_run(&run).map(|v| v.urls).unwrap_or_default();
            Ok(object(&[
                ("urls", crate::js::strings(urls.iter().map(String::as_str))),
                ("run", run),
            ]))
        })
    }
}

fn check_run_id(id: &JsValue) -> Result<String, ClientError> {
    match id.as_string() {
        Some(id) if !id.trim().is_empty() && id.len() <= 256 => Ok(id),
        _ => Err(options_error(
            "A run id must be a non-empty string of at most 256 characters".into(),
        )),
    }
}
