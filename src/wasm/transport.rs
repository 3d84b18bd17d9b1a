//! HTTP for the client: gloo-net's `fetch` over web-sys's `AbortController`, `AbortSignal` and
//! `Headers`, with the caller's signal, the call's time-out and each request's time-out as one
//! chain of controllers. Uses the global `fetch` and `setTimeout`, so a window, a Web Worker
//! and Node all work.
//!
//! Every controller here is aborted with no reason (a `DOMException`), never with the
//! caller's own reason: gloo-net turns a fetch rejection into its error type with
//! `unreachable!` when the rejection is not an `Error`, and a panic kills the module. Why a
//! call stopped is kept on the Rust side instead.

use std::cell::Cell;
use std::rc::Rc;

use gloo_net::http::{Headers, Request};
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal};

use crate::core::value::quote;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// Why a whole call stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The caller's AbortSignal fired.
    Aborted,
    /// The call's overall time-out ran out.
    TimedOut,
}

/// A timer that runs `on_fire` once after `ms`, cleared when dropped.
struct Timer {
    id: JsValue,
    _callback: Closure<dyn FnMut()>,
}

impl Timer {
    fn start(ms: f64, on_fire: impl FnMut() + 'static) -> Timer {
        let callback = Closure::<dyn FnMut()>::new(on_fire);
        let id = set_timeout(callback.as_ref().unchecked_ref(), ms);
        Timer {
            id,
            _callback: callback,
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.id);
    }
}

/// Aborts `target` when `source` aborts, until dropped.
struct Link {
    source: AbortSignal,
    callback: Closure<dyn FnMut()>,
}

impl Link {
    fn new(source: &AbortSignal, on_abort: impl FnMut() + 'static) -> Link {
        let callback = Closure::<dyn FnMut()>::new(on_abort);
        // Adding a listener to a real AbortSignal cannot throw.
        let _ = source.add_event_listener_with_callback("abort", callback.as_ref().unchecked_ref());
        Link {
            source: source.clone(),
            callback,
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = self
            .source
            .remove_event_listener_with_callback("abort", self.callback.as_ref().unchecked_ref());
    }
}

fn new_controller() -> Result<AbortController, JsValue> {
    AbortController::new()
}

/// One call's cancellation: the caller's signal and the overall time-out, as one signal.
pub struct Scope {
    controller: AbortController,
    stop: Rc<Cell<Option<Stop>>>,
    _link: Option<Link>,
    _timer: Option<Timer>,
}

impl Scope {
    /// `None` when `AbortController` is missing (a very old runtime).
    pub fn start(user: Option<AbortSignal>, timeout_ms: f64) -> Result<Scope, JsValue> {
        let controller = new_controller()?;
        let stop = Rc::new(Cell::new(None));
        let stopper = |reason: Stop| {
            let (controller, stop) = (controller.clone(), stop.clone());
            move || {
                if stop.get().is_none() {
                    stop.set(Some(reason));
                }
                controller.abort();
            }
        };
        let link = match user {
            Some(signal) if signal.aborted() => {
                stopper(Stop::Aborted)();
                None
            }
            Some(signal) => Some(Link::new(&signal, stopper(Stop::Aborted))),
            None => None,
        };
        let timer = (timeout_ms > 0.0 && timeout_ms.is_finite())
            .then(|| Timer::start(timeout_ms, stopper(Stop::TimedOut)));
        Ok(Scope {
            controller,
            stop,
            _link: link,
            _timer: timer,
        })
    }

    pub fn stopped(&self) -> Option<Stop> {
        self.stop.get()
    }

    /// Waits `ms`, or less if the call stops first (then `Err` with why).
    pub async fn sleep(&self, ms: f64) -> Result<(), Stop> {
        if let Some(stop) = self.stopped() {
            return Err(stop);
        }
        let signal = self.controller.signal();
        let mut timer = None;
        let wait = Promise::new(&mut |resolve, reject| {
            timer = Some(set_timeout(&resolve, ms));
            let options = web_sys::AddEventListenerOptions::new();
            options.set_once(true);
            let _ = signal.add_event_listener_with_callback_and_add_event_listener_options(
                "abort", &reject, &options,
            );
        });
        let result = JsFuture::from(wait).await;
        if let Some(id) = timer {
            clear_timeout(&id);
        }
        match (result, self.stopped()) {
            (Ok(_), None) => Ok(()),
            (_, Some(stop)) => Err(stop),
            (Err(_), None) => Err(Stop::Aborted),
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
    ) -> Outcome {
        if let Some(stop) = self.stopped() {
            return Outcome::Stopped(stop);
        }
        let Ok(controller) = new_controller() else {
            return Outcome::Failed("AbortController is not available".into());
        };
        let timed_out = Rc::new(Cell::new(false));
        let _link = Link::new(&self.controller.signal(), {
            let controller = controller.clone();
            move || controller.abort()
        });
        let _timer = Timer::start(timeout_ms, {
            let (controller, timed_out) = (controller.clone(), timed_out.clone());
            move || {
                timed_out.set(true);
                controller.abort();
            }
        });
        let answer = exchange(method, url, headers, body, &controller.signal()).await;
        match (answer, self.stopped()) {
            (_, Some(stop)) => Outcome::Stopped(stop),
            (Ok(answer), None) => Outcome::Answered(answer),
            (Err(_), None) if timed_out.get() => Outcome::TimedOut,
            (Err(detail), None) => Outcome::Failed(detail),
        }
    }
}

/// An HTTP answer, whatever its status.
pub struct Answer {
    pub status: u16,
    pub text: String,
    pub content_type: String,
    pub retry_after: String,
}

pub enum Outcome {
    Answered(Answer),
    /// The whole call stopped (caller's abort or overall time-out).
    Stopped(Stop),
    /// This request's own time-out ran out.
    TimedOut,
    /// No answer: the network, CORS, or a URL fetch refused; with the runtime's words.
    Failed(String),
}

async fn exchange(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<&str>,
    signal: &AbortSignal,
) -> Result<Answer, String> {
    let raw = web_sys::Headers::new().map_err(|_| "Headers is not available".to_string())?;
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
    .map_err(|e| e.to_string())?;
    let response = request.send().await.map_err(|e| e.to_string())?;
    let header = |name| response.headers().get(name).unwrap_or_default();
    let (content_type, retry_after) = (header("content-type"), header("retry-after"));
    let text = response.text().await.map_err(|e| e.to_string())?;
    Ok(Answer {
        status: response.status(),
        text,
        content_type,
        retry_after,
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
