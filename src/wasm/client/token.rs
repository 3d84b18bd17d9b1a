//! The signed-in user's access token, for a proxy with sign-in (`accessToken`): a string, or a
//! function (sync or async) that returns one. The function is asked when the client has no
//! token, and again once when the proxy answers `401 auth_expired`; calls made meanwhile
//! share its one answer.

use std::cell::{Cell, RefCell};

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use super::errors::{options_error, Rejection};
use crate::core::code::ErrorCode;
use crate::core::error::{ErrorKind, RunbaseError};

pub(super) enum AccessToken {
    Fixed(String),
    Asked {
        ask: Function,
        /// The answer in hand (or on its way), and which asking it was.
        answer: RefCell<Option<Promise>>,
        asked: Cell<u32>,
    },
}

/// A token that may go in a header: no line breaks, not empty, not huge.
fn usable(token: &str) -> bool {
    !token.trim().is_empty() && token.len() <= 16_384 && !token.chars().any(char::is_control)
}

impl AccessToken {
    pub(super) fn from_option(value: JsValue) -> Result<Option<AccessToken>, RunbaseError> {
        if value.is_undefined() {
            return Ok(None);
        }
        if let Some(ask) = value.dyn_ref::<Function>() {
            return Ok(Some(AccessToken::Asked {
                ask: ask.clone(),
                answer: RefCell::new(None),
                asked: Cell::new(0),
            }));
        }
        match value.as_string() {
            Some(token) if usable(&token) => Ok(Some(AccessToken::Fixed(token.trim().into()))),
            _ => Err(options_error(
                "options.accessToken must be a non-empty string without line breaks, or a \
                 function that returns one (or a promise of one)"
                    .into(),
            )),
        }
    }

    /// A promise of the token (the fixed one, the answer in hand, or a new asking of the
    /// function), and which asking it is (0 for a fixed one).
    pub(super) fn promise(&self) -> (Promise, u32) {
        let (ask, answer, asked) = match self {
            AccessToken::Fixed(token) => return (Promise::resolve(&JsValue::from_str(token)), 0),
            AccessToken::Asked { ask, answer, asked } => (ask, answer, asked),
        };
        let mut answer = answer.borrow_mut();
        let promise = answer.get_or_insert_with(|| {
            asked.set(asked.get() + 1);
            // A function that throws is a rejected promise, as for an async one.
            match ask.call0(&JsValue::UNDEFINED) {
                Ok(value) => Promise::resolve(&value),
                Err(thrown) => Promise::reject(&thrown),
            }
        });
        (promise.clone(), asked.get())
    }

    /// The token the promise of asking `generation` gave, or why there is none (the
    /// function's error is the cause).
    pub(super) fn read(
        &self,
        settled: Result<JsValue, JsValue>,
        generation: u32,
    ) -> Result<String, Rejection> {
        let (message, cause) = match settled {
            Ok(value) => match value.as_string() {
                Some(token) if usable(&token) => return Ok(token.trim().into()),
                _ => (
                    "options.accessToken() gave no token (a non-empty string without line breaks)",
                    None,
                ),
            },
            Err(thrown) => ("options.accessToken() failed: see the cause", Some(thrown)),
        };
        // The next request asks again (unless another has asked since).
        self.expired(generation);
        let mut error = RunbaseError::new(ErrorKind::Auth, message);
        error.code = Some(ErrorCode::AccessTokenUnavailable.as_str().into());
        Err(Rejection::caused(error, cause))
    }

    /// The token of `generation` is no good (expired, or never given): the next `promise`
    /// asks for a fresh one. `false` when there is none to ask for (a fixed token), so nothing to retry with.
    pub(super) fn expired(&self, generation: u32) -> bool {
        match self {
            AccessToken::Fixed(_) => false,
            AccessToken::Asked { answer, asked, .. } => {
                // Another call may have asked for a fresh one already.
                if asked.get() == generation {
                    *answer.borrow_mut() = None;
                }
                true
            }
        }
    }
}
