//! Reading the options of the constructor (into the client's settings) and of each call:
//! known keys only, each of its type, and the run id argument.

use std::cell::Cell;

use js_sys::Function;
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

use super::budget::{key_budget, KeyShares};
use super::errors::options_error;
use super::token::AccessToken;
use super::{Inner, Operation};
use crate::core::error::RunbaseError;
use crate::core::model::{find_model, GPT_IMAGE_2};
use crate::core::policy::Settings;
use crate::core::suggest;
use crate::core::value::{comma_list, Value};
use crate::wasm::boundary::{object_fields, reflect_get};
use crate::wasm::transport::{check_headers, Scope};

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

const CLIENT_OPTIONS: [&str; 12] = [
    "apiKey",
    "accessToken",
    "baseUrl",
    "headers",
    "model",
    "timeoutMs",
    "requestTimeoutMs",
    "pollIntervalMs",
    "maxPollIntervalMs",
    "maxRetries",
    "rateLimit",
    // The entry module (js/index.js) reads it: it says a refused input's issues in it.
    "locale",
];
const CALL_OPTIONS: [&str; 4] = ["signal", "timeoutMs", "onUpdate", "onCreate"];
pub const DEFAULT_BASE_URL: &str = "https://api.runbase.net/v1";
/// Runbase's keys look like `sk-...` (docs/RUNBASE-API.md).
const KEY_PREFIX: &str = "sk-";

pub(super) fn build(options: JsValue, shares: Option<&KeyShares>) -> Result<Inner, RunbaseError> {
    let o = Options::new(options, "options", &CLIENT_OPTIONS)?;
    let api_key = o.string("apiKey")?;
    let access_token = AccessToken::from_option(o.get("accessToken"))?;
    if api_key.is_some() && access_token.is_some() {
        return Err(options_error(
            "Give either apiKey (the API's key, to call Runbase directly) or accessToken (your \
             user's, for a proxy with sign-in), not both"
                .into(),
        ));
    }
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
                let given = match (&api_key, &access_token) {
                    (Some(_), _) => "apiKey",
                    (_, Some(_)) => "accessToken",
                    _ => "",
                };
                if !given.is_empty() && name.eq_ignore_ascii_case("authorization") {
                    return Err(options_error(format!(
                        "Give either {given} or an Authorization header, not both"
                    )));
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
    let budget_key = api_key
        .as_ref()
        .map(|key| format!("{base_url}\n{}", key.trim()));
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
        access_token,
        model,
        settings,
        request_timeout_ms: o.number("requestTimeoutMs", 30_000.0)?.max(1.0),
        long_poll_s: Cell::new(0),
        timeout_ms: o.number("timeoutMs", 600_000.0)?,
        budget: key_budget(budget_key, &settings, shares),
    })
}

pub(super) struct Call {
    pub(super) op: Operation,
    pub(super) on_update: Option<Function>,
    pub(super) on_create: Option<Function>,
}

pub(super) fn start_call(options: JsValue, default_timeout: f64) -> Result<Call, RunbaseError> {
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

pub(super) fn check_run_id(id: &JsValue) -> Result<String, RunbaseError> {
    match id.as_string() {
        Some(id) if !id.trim().is_empty() && id.len() <= 256 => Ok(id),
        _ => Err(options_error(
            "A run id must be a non-empty string of at most 256 characters".into(),
        )),
    }
}
