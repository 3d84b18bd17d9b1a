//! How a call fails in JS: the entry module's `RunbaseError` class and runtime (set by
//! `configure`), what a call rejects with, why one request failed, and bad options' error.

use std::cell::RefCell;

use js_sys::Function;
use wasm_bindgen::prelude::*;

use crate::core::code::ErrorCode;
use crate::core::error::{ErrorKind, RunbaseError, Runtime};
use crate::core::policy::RequestFailure;
use crate::wasm::boundary::to_js;

thread_local! {
    static ERROR_CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Whether this is Node (told by the entry module): network errors are worded for it.
static IN_NODE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub(super) fn runtime() -> Runtime {
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
pub(super) struct Rejection {
    pub(super) error: RunbaseError,
    pub(super) cause: Option<JsValue>,
}

impl From<RunbaseError> for Rejection {
    fn from(error: RunbaseError) -> Self {
        Rejection { error, cause: None }
    }
}

/// Why one request gave no body to use.
#[derive(Debug, thiserror::Error)]
pub(super) enum RequestError {
    /// The whole call stopped (the caller's abort or its time-out): nothing to retry.
    #[error("{0}")]
    Stopped(Rejection),
    /// This request failed: the policy decides from `RequestFailure` whether to retry.
    #[error("{1}")]
    Failed(RequestFailure, Rejection),
}

impl Rejection {
    pub(super) fn caused(error: RunbaseError, cause: Option<JsValue>) -> Self {
        Rejection { error, cause }
    }

    pub(super) fn with_run(mut self, run_id: Option<&str>) -> Self {
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

pub(super) fn options_error(message: String) -> RunbaseError {
    let mut error = RunbaseError::new(ErrorKind::Validation, message);
    error.code = Some(ErrorCode::InvalidOptions.as_str().into());
    error
}
