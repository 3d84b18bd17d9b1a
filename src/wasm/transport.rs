//! HTTP for the client: gloo-net's `fetch` over web-sys's `AbortController`, `AbortSignal` and
//! `Headers`, with the caller's signal, the call's time-out and each request's time-out as one
//! chain of controllers. Uses the global `fetch` and `setTimeout`, so a window, a Web Worker
//! and Node all work.
//!
//! Every controller here is aborted with no reason (a `DOMException`), never with the
//! caller's own reason: gloo-net turns a fetch rejection into its error type with
//! `unreachable!` when the rejection is not an `Error`, and a panic kills the module. Why a
//! call stopped is kept on the Rust side instead. gloo-net builds each request and reads each
//! answer; the fetch itself is made here, so that its rejection (Node's TypeError with the
//! reason in `cause`) reaches the caller as the error's `cause` rather than as a string.

use gloo_net::http::{Headers, Request, Response};
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal};

use crate::core::error::NetworkFailure;
use crate::core::value::quote;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
    #[wasm_bindgen(catch, js_name = fetch)]
    fn fetch_request(request: &web_sys::Request) -> Result<Promise, JsValue>;
}

/// Why a whole call stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The caller's AbortSignal fired.
    Aborted,
    /// The call's overall time-out ran out.
    TimedOut,
}

/// `controller.abort` bound to its controller with no reason: usable as a timer or event
/// handler without a Rust closure (none is linked into the module), and whatever calls it, the
/// abort reason stays a `DOMException` (an abort event passed as the reason would not be).
fn aborter(controller: &AbortController) -> Function {
    js_sys::Reflect::get(controller, &"abort".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .map_or_else(
            || Function::new_no_args(""),
            |abort| JsValue::from(abort.bind1(controller, &JsValue::UNDEFINED)).unchecked_into(),
        )
}

/// Calls `handler` after `ms`; cleared when dropped.
struct Timer(JsValue);

impl Timer {
    fn start(ms: f64, handler: &Function) -> Timer {
        Timer(set_timeout(handler, ms))
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.0);
    }
}

/// Calls `handler` when `source` aborts, until dropped.
struct Link {
    source: AbortSignal,
    handler: Function,
}

impl Link {
    fn new(source: &AbortSignal, handler: Function) -> Link {
        // Adding a listener to a real AbortSignal cannot throw.
        let _ = source.add_event_listener_with_callback("abort", &handler);
        Link {
            source: source.clone(),
            handler,
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = self
            .source
            .remove_event_listener_with_callback("abort", &self.handler);
    }
}

/// One call's cancellation: the caller's signal and the overall time-out, as one signal.
pub struct Scope {
    controller: AbortController,
    user: Option<AbortSignal>,
    _link: Option<Link>,
    _timer: Option<Timer>,
}

impl Scope {
    /// `Err` when `AbortController` is missing (a very old runtime).
    pub fn start(user: Option<AbortSignal>, timeout_ms: f64) -> Result<Scope, JsValue> {
        let controller = AbortController::new()?;
        let link = match &user {
            Some(signal) if signal.aborted() => {
                controller.abort();
                None
            }
            Some(signal) => Some(Link::new(signal, aborter(&controller))),
            None => None,
        };
        let timer = (timeout_ms > 0.0 && timeout_ms.is_finite())
            .then(|| Timer::start(timeout_ms, &aborter(&controller)));
        Ok(Scope {
            controller,
            user,
            _link: link,
            _timer: timer,
        })
    }

    /// Fires when the call stops (the caller's signal or the time-out).
    pub fn signal(&self) -> AbortSignal {
        self.controller.signal()
    }

    /// The caller's abort reason, once their signal has fired.
    pub fn abort_reason(&self) -> Option<JsValue> {
        self.user
            .as_ref()
            .filter(|signal| signal.aborted())
            .map(AbortSignal::reason)
    }

    /// Why the call stopped, if it did: only the caller's signal and the timer abort it.
    pub fn stopped(&self) -> Option<Stop> {
        if !self.controller.signal().aborted() {
            None
        } else if self.user.as_ref().is_some_and(AbortSignal::aborted) {
            Some(Stop::Aborted)
        } else {
            Some(Stop::TimedOut)
        }
    }

    /// Waits `ms`, or less if the call stops first (then `Err` with why).
    pub async fn sleep(&self, ms: f64) -> Result<(), Stop> {
        if let Some(stop) = self.stopped() {
            return Err(stop);
        }
        let signal = self.controller.signal();
        let mut pending = None;
        let wait = Promise::new(&mut |resolve, reject| {
            pending = Some((Timer::start(ms, &resolve), Link::new(&signal, reject)));
        });
        let result = JsFuture::from(wait).await;
        drop(pending);
        match (result, self.stopped()) {
            (Ok(_), None) => Ok(()),
            (_, Some(stop)) => Err(stop),
            (Err(_), None) => Err(Stop::Aborted),
        }
    }

    /// Waits for the caller's own promise (an access token), or less if the call stops first.
    pub async fn settle(&self, promise: &Promise) -> Result<Result<JsValue, JsValue>, Stop> {
        if let Some(stop) = self.stopped() {
            return Err(stop);
        }
        let signal = self.controller.signal();
        let mut link = None;
        let stopped = Promise::new(&mut |_, reject| link = Some(Link::new(&signal, reject)));
        let result = JsFuture::from(Promise::race(&js_sys::Array::of2(promise, &stopped))).await;
        drop(link);
        match self.stopped() {
            Some(stop) => Err(stop),
            None => Ok(result),
        }
    }

    /// Sends one request; `timeout_ms` bounds it alone.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&str>,
        timeout_ms: f64,
    ) -> Delivery {
        if let Some(stop) = self.stopped() {
            return Delivery::Stopped(stop);
        }
        let Ok(controller) = AbortController::new() else {
            return Delivery::Failed(NoReply::new(url, "AbortController is not available"));
        };
        let _link = Link::new(&self.controller.signal(), aborter(&controller));
        let _timer = Timer::start(timeout_ms, &aborter(&controller));
        let reply = exchange(method, url, headers, body, &controller.signal()).await;
        match (reply, self.stopped()) {
            (_, Some(stop)) => Delivery::Stopped(stop),
            (Ok(reply), None) => Delivery::Replied(reply),
            // Only the call (handled above) and this request's timer abort its controller.
            (Err(_), None) if controller.signal().aborted() => Delivery::TimedOut,
            (Err(no_reply), None) => Delivery::Failed(no_reply),
        }
    }
}

/// An HTTP reply, whatever its status.
pub struct HttpReply {
    pub status: u16,
    /// The URL that answered, absolute (the request's own when the runtime gives none).
    pub url: String,
    pub text: String,
    pub content_type: String,
    pub retry_after: String,
    /// `X-Runbase-Long-Poll`: the longest `?wait=` our proxy (the run broker) offers.
    pub long_poll: String,
}

/// What became of one request.
pub enum Delivery {
    Replied(HttpReply),
    /// The whole call stopped (caller's abort or overall time-out).
    Stopped(Stop),
    /// This request's own time-out ran out.
    TimedOut,
    /// No reply: the network, CORS, or a URL fetch refused.
    Failed(NoReply),
}

/// What a fetch without a reply left: what the runtime said, and the rejection itself.
pub struct NoReply {
    pub failure: NetworkFailure,
    pub cause: Option<JsValue>,
}

impl NoReply {
    fn new(url: &str, detail: &str) -> NoReply {
        NoReply {
            failure: NetworkFailure::new(url, detail),
            cause: None,
        }
    }

    /// From fetch's rejection (or a failed body read): Node puts the reason in `cause`.
    fn from_rejection(url: &str, error: JsValue) -> NoReply {
        let text = |value: &JsValue, name: &str| {
            js_sys::Reflect::get(value, &name.into())
                .ok()
                .and_then(|v| v.as_string())
                .filter(|v| !v.is_empty())
        };
        let reason = if error.is_object() {
            js_sys::Reflect::get(&error, &"cause".into())
                .ok()
                .filter(JsValue::is_object)
        } else {
            None
        };
        let code = reason
            .as_ref()
            .and_then(|r| text(r, "code"))
            .or_else(|| text(&error, "code"));
        let detail = reason
            .as_ref()
            .and_then(|r| text(r, "message"))
            .or_else(|| text(&error, "message"))
            .or_else(|| error.as_string())
            .unwrap_or_else(|| "no reason given".into());
        NoReply {
            failure: NetworkFailure {
                url: url.to_string(),
                code,
                detail,
            },
            cause: Some(error),
        }
    }
}

async fn exchange(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<&str>,
    signal: &AbortSignal,
) -> Result<HttpReply, NoReply> {
    let raw = web_sys::Headers::new().map_err(|_| NoReply::new(url, "Headers is not available"))?;
    for (name, value) in headers {
        // Names and values were checked when the client was made (see `check_headers`).
        let _ = raw.set(name, value);
    }
    let builder = match method {
        "POST" => Request::post(url),
        _ => Request::get(url),
    }
    .headers(Headers::from_raw(raw))
    .abort_signal(Some(signal));
    let request = match body {
        Some(body) => builder.body(body),
        None => builder.build(),
    }
    .map_err(|e| NoReply::new(url, &e.to_string()))?;
    let request: web_sys::Request = request.into();
    let answered = match fetch_request(&request) {
        Ok(promise) => JsFuture::from(promise).await,
        Err(error) => Err(error),
    };
    let raw_response: web_sys::Response = answered
        .and_then(JsCast::dyn_into)
        .map_err(|error| NoReply::from_rejection(url, error))?;
    // (`Clone::clone`: web-sys's own `clone` is the JS Response.clone(), which copies the body.)
    let response = Response::from(Clone::clone(&raw_response));
    let header = |name| response.headers().get(name).unwrap_or_default();
    let (content_type, retry_after) = (header("content-type"), header("retry-after"));
    let long_poll = header("x-runbase-long-poll");
    let answered_url = response.url();
    let text = match raw_response.text() {
        Ok(promise) => JsFuture::from(promise).await,
        Err(error) => Err(error),
    }
    .map_err(|error| NoReply::from_rejection(url, error))?
    .as_string()
    .unwrap_or_default();
    Ok(HttpReply {
        url: if answered_url.is_empty() {
            url.to_string()
        } else {
            answered_url
        },
        status: response.status(),
        text,
        content_type,
        retry_after,
        long_poll,
    })
}

/// Whether `fetch` would accept these headers: checked once, when the client is made, so that
/// no request can fail on them later.
pub fn check_headers(headers: &[(String, String)]) -> Result<(), String> {
    let raw = web_sys::Headers::new().map_err(|_| "Headers is not available".to_string())?;
    for (name, value) in headers {
        raw.set(name, value)
            .map_err(|_| format!("the header {} is not a valid HTTP header", quote(name)))?;
    }
    Ok(())
}
