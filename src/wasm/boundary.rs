//! The JS boundary: the caller's values are read into the core's [`Value`] by a reader that
//! catches; results go out through serde-wasm-bindgen (built member by member in the module
//! without the client, see `value_to_js`). No logic lives here.
//!
//! Every JS call that could throw (a getter, a Proxy trap, a revoked Proxy) goes through a
//! `catch` import: an exception unwinding through wasm frames would leave the module broken.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};

use js_sys::{Array, Object};
#[cfg(feature = "client")]
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::core::messages::text;
use crate::core::model::{find_model, GPT_IMAGE_2};
use crate::core::validate::{
    field_issues, prompt_length, reference_issues, validate_for_model, Issue, NormalizedInput,
    Severity, Validation,
};
use crate::core::value::{FileInfo, Value, MAX_DEPTH};

#[wasm_bindgen(typescript_custom_section)]
const _: &str = include_str!("types.d.ts");

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = Array, js_name = isArray)]
    fn is_array(value: &JsValue) -> Result<bool, JsValue>;
    #[wasm_bindgen(catch, js_namespace = Object, js_name = keys)]
    fn object_keys(value: &JsValue) -> Result<Array, JsValue>;
    #[wasm_bindgen(catch, js_namespace = Reflect, js_name = get)]
    pub(crate) fn reflect_get(target: &JsValue, key: &JsValue) -> Result<JsValue, JsValue>;
    /// The global `Blob` (a `File` is one too), only for `instanceof`: the generated check
    /// catches, so a revoked Proxy or an environment without Blob gives `false`.
    #[wasm_bindgen(js_name = Blob)]
    type JsBlob;
    /// The entry module's `makeIssue(path, code, message, severity, suggestion, allowed)`:
    /// builds one issue object in one call (see `issues_to_js`).
    pub(crate) type IssueMaker;
    #[wasm_bindgen(method, js_name = call)]
    fn make(
        this: &IssueMaker,
        this_arg: &JsValue,
        path: &JsValue,
        code: &JsValue,
        message: &str,
        severity: &JsValue,
        suggestion: &JsValue,
        allowed: &JsValue,
    ) -> JsValue;
}

thread_local! {
    /// Set once by the entry module (`__configure`).
    static ISSUE_MAKER: RefCell<Option<IssueMaker>> = const { RefCell::new(None) };
    /// JS strings and arrays made once for the core's static text (codes, field names, allowed
    /// values), by address: decoding a string out of wasm memory is the costliest step of
    /// handing an issue to JS, and the same few dozen recur in every answer.
    static STATIC_JS: RefCell<Vec<(usize, usize, JsValue)>> = const { RefCell::new(Vec::new()) };
}

fn cached(address: usize, len: usize, make: impl FnOnce() -> JsValue) -> JsValue {
    let found = STATIC_JS.with(|cache| {
        let cache = cache.try_borrow().ok()?;
        let hit = cache.iter().find(|(a, l, _)| *a == address && *l == len);
        hit.map(|(_, _, value)| value.clone())
    });
    if let Some(value) = found {
        return value;
    }
    // Made with no borrow held: a list's maker asks for its strings here too.
    let value = make();
    STATIC_JS.with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            cache.push((address, len, value.clone()));
        }
    });
    value
}

fn static_str(s: &'static str) -> JsValue {
    cached(s.as_ptr() as usize, s.len(), || JsValue::from_str(s))
}

/// A new JS array of the core's static strings.
fn js_list(list: &[&'static str]) -> Array {
    list.iter().map(|s| static_str(s)).collect()
}

/// A static list is made once and handed out as a copy (the caller may change it).
fn static_list(list: &'static [&'static str]) -> Array {
    let made: Array =
        cached(list.as_ptr() as usize, list.len(), || js_list(list).into()).unchecked_into();
    made.slice(0, list.len() as u32)
}

/// Static text from the cache, other text decoded (hence the `&Cow`).
#[allow(clippy::ptr_arg)]
fn text(s: &Cow<'static, str>) -> JsValue {
    match s {
        Cow::Borrowed(s) => static_str(s),
        Cow::Owned(s) => JsValue::from_str(s),
    }
}

/// Issues as JS objects, built by the entry module's `makeIssue` in one call each, from static
/// text made into JS strings once: serde-wasm-bindgen sets each member from wasm and decodes
/// every string anew, and a whole call with three issues took 12.2 µs that way against 7.3 µs
/// this way (Node, measured on the same build).
fn issues_to_js(issues: &[Issue]) -> Array {
    ISSUE_MAKER.with(|maker| {
        let maker = maker.try_borrow().ok();
        let maker = maker.as_ref().and_then(|maker| maker.as_ref());
        issues
            .iter()
            .map(|issue| {
                let severity = match issue.severity {
                    Severity::Error => static_str("error"),
                    Severity::Warning => static_str("warning"),
                };
                let allowed = match &issue.allowed {
                    None => JsValue::UNDEFINED,
                    Some(Cow::Borrowed(list)) => static_list(list).into(),
                    Some(Cow::Owned(list)) => js_list(list).into(),
                };
                let suggestion = issue.suggestion.map_or(JsValue::UNDEFINED, static_str);
                let path = text(&issue.path);
                let code = static_str(issue.code.as_str());
                match maker {
                    Some(maker) => maker.make(
                        &JsValue::UNDEFINED,
                        &path,
                        &code,
                        &issue.message,
                        &severity,
                        &suggestion,
                        &allowed,
                    ),
                    // Only when this module is used without its entry module.
                    None => issue_to_js(issue, [&path, &code, &severity, &suggestion, &allowed]),
                }
            })
            .collect()
    })
}

// What goes out is made by serde-wasm-bindgen, which the client needs anyway. The module
// without the client is spared it (2.5 KB gzip, measured: the whole serializer) by making the
// two values validation hands out member by member; tests/e2e/fastpath.test.mjs checks that
// both modules answer alike.
#[cfg(feature = "client")]
fn value_to_js(value: &NormalizedInput) -> JsValue {
    to_js(value)
}

/// An issue as `makeIssue` would make it, for a module used without its entry: by serde here;
/// in the validator's module from the parts `issues_to_js` already made (path, code, severity,
/// suggestion, allowed values).
#[cfg(feature = "client")]
fn issue_to_js(issue: &Issue, _parts: [&JsValue; 5]) -> JsValue {
    to_js(issue)
}

/// An object with these members, those `undefined` left out (as serde leaves out `None`).
#[cfg(not(feature = "client"))]
fn object_of(members: &[(&'static str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in members.iter().filter(|(_, value)| !value.is_undefined()) {
        let _ = js_sys::Reflect::set(&object, &static_str(key), value);
    }
    object.into()
}

#[cfg(not(feature = "client"))]
fn value_to_js(value: &NormalizedInput) -> JsValue {
    // An empty list is left out; a file is `null` (the entry module puts the caller's back).
    let urls = value.image_urls.iter();
    let urls: Array = urls
        .map(|url| url.url().map_or(JsValue::NULL, JsValue::from_str))
        .collect();
    object_of(&[
        ("prompt", value.prompt.into()),
        ("aspect_ratio", static_str(value.aspect_ratio)),
        ("resolution", static_str(value.resolution)),
        (
            "image_urls",
            if urls.length() == 0 {
                JsValue::UNDEFINED
            } else {
                urls.into()
            },
        ),
    ])
}

#[cfg(not(feature = "client"))]
fn issue_to_js(issue: &Issue, parts: [&JsValue; 5]) -> JsValue {
    let [path, code, severity, suggestion, allowed] = parts.map(JsValue::clone);
    object_of(&[
        ("path", path),
        ("code", code),
        ("message", issue.message.as_str().into()),
        ("severity", severity),
        ("suggestion", suggestion),
        ("allowed", allowed),
    ])
}

/// `{ ok, value?, issues, warnings }` as validateInput answers.
fn validation_to_js(validation: &Validation) -> JsValue {
    let result = Object::new();
    let set = |key: &'static str, value: &JsValue| {
        let _ = js_sys::Reflect::set(&result, &static_str(key), value);
    };
    set("ok", &JsValue::from_bool(validation.is_ok()));
    if let Some(value) = &validation.value {
        set("value", &value_to_js(value));
    }
    set("issues", &issues_to_js(&validation.errors));
    set("warnings", &issues_to_js(&validation.warnings));
    result.into()
}

/// Called once by the package's entry module with its `RunbaseError` class and its
/// `makeIssue` (see `issues_to_js`); told whether this environment can fit images (see
/// `CAN_FIT_IMAGES`) and whether it is Node. The validator-only module has no client, so
/// it keeps only what validation uses.
#[wasm_bindgen(js_name = __configure)]
pub fn configure(
    #[cfg_attr(not(feature = "client"), allow(unused_variables))] class: js_sys::Function,
    make_issue: js_sys::Function,
    can_fit_images: bool,
    #[cfg_attr(not(feature = "client"), allow(unused_variables))] in_node: bool,
) {
    ISSUE_MAKER.with(|m| *m.borrow_mut() = Some(make_issue.unchecked_into()));
    CAN_FIT_IMAGES.store(can_fit_images, Ordering::Relaxed);
    #[cfg(feature = "client")]
    super::client::configure(class, in_node);
}

/// Whether this environment can re-encode an image smaller (set by the package's entry module,
/// which does the fitting: a browser with createImageBitmap and a canvas, not Node).
static CAN_FIT_IMAGES: AtomicBool = AtomicBool::new(false);

const UNREADABLE: &str = text!(GivenUnreadable);

/// Converts `value` and at most `levels` levels below it; deeper containers become opaque.
pub(crate) fn to_value(value: &JsValue, levels: usize) -> Value {
    // Strings first: most of what an input holds, and each test is a call out of wasm.
    if let Some(s) = value.as_string() {
        return Value::String(s);
    }
    if value.is_null() {
        return Value::Null;
    }
    if let Some(b) = value.as_bool() {
        return Value::Bool(b);
    }
    if let Some(n) = value.as_f64() {
        return Value::Number(n);
    }
    if value.is_undefined() {
        return Value::Opaque(text!(GivenUndefined));
    }
    if value.is_function() {
        return Value::Opaque(text!(GivenFunction));
    }
    if value.is_bigint() {
        return Value::Opaque(text!(GivenBigint));
    }
    if value.is_symbol() {
        return Value::Opaque(text!(GivenSymbol));
    }
    if value.has_type::<JsBlob>() {
        return file_info(value).unwrap_or(Value::Opaque(UNREADABLE));
    }
    match is_array(value) {
        Err(_) => Value::Opaque(UNREADABLE),
        Ok(true) if levels == 0 => Value::Opaque(text!(GivenArray)),
        Ok(true) => array_items(value, levels - 1).unwrap_or(Value::Opaque(UNREADABLE)),
        Ok(false) if levels == 0 => Value::Opaque(text!(GivenObject)),
        Ok(false) => object_fields(value, levels - 1, None).unwrap_or(Value::Opaque(UNREADABLE)),
    }
}

/// A Blob's `type` and `size` (O(1) whatever its size: its bytes are never read).
fn file_info(value: &JsValue) -> Result<Value, JsValue> {
    let media_type = reflect_get(value, &"type".into())?;
    let bytes = reflect_get(value, &"size".into())?.as_f64().unwrap_or(0.0);
    Ok(Value::File(FileInfo {
        media_type: media_type.as_string().unwrap_or_default(),
        bytes: bytes as u64,
        fittable: CAN_FIT_IMAGES.load(Ordering::Relaxed),
        same_as: None,
    }))
}

/// Files compared for being the same object, at most: enough for any legal list.
const FILES_COMPARED: usize = 16;

fn array_items(value: &JsValue, levels: usize) -> Result<Value, JsValue> {
    let length = reflect_get(value, &"length".into())?
        .as_f64()
        .unwrap_or(0.0) as u32;
    let mut files: Vec<(JsValue, usize)> = Vec::new();
    let mut items = Vec::new();
    for i in 0..length {
        let item = reflect_get(value, &i.into())?;
        let mut converted = to_value(&item, levels);
        if let Value::File(file) = &mut converted {
            file.same_as = files.iter().find(|(seen, _)| *seen == item).map(|f| f.1);
            if file.same_as.is_none() && files.len() < FILES_COMPARED {
                files.push((item, i as usize));
            }
        }
        items.push(converted);
    }
    Ok(Value::Array(items))
}

/// An object's own enumerable fields (only `wanted` ones, when given), each converted with
/// `levels` more levels below it.
pub(crate) fn object_fields(
    value: &JsValue,
    levels: usize,
    wanted: Option<&[&str]>,
) -> Result<Value, JsValue> {
    let mut fields = Vec::new();
    for key in object_keys(value)?.iter() {
        let name = key.as_string().unwrap_or_default();
        if wanted.is_some_and(|w| !w.contains(&name.as_str())) {
            continue;
        }
        let item = reflect_get(value, &key)?;
        // JSON.stringify leaves undefined out, so the API never sees such a field.
        if !item.is_undefined() {
            fields.push((name, to_value(&item, levels)));
        }
    }
    Ok(Value::Object(fields))
}

/// A value for JS, made by serde-wasm-bindgen: plain objects and arrays, numbers, strings.
/// Only our own types come here, and none holds a number JS cannot represent, so the
/// serializer has nothing to refuse; `undefined` if it ever did.
#[cfg(feature = "client")]
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::UNDEFINED)
}

/// Checks a run's `input` offline. Never throws: every problem is in the result.
#[wasm_bindgen(js_name = validateInput, unchecked_return_type = "ValidationResult")]
pub fn validate_input(
    #[wasm_bindgen(unchecked_param_type = "unknown")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ValidateOptions | undefined")] options: JsValue,
) -> JsValue {
    // Like `options?.model` in JS: a primitive or unreadable options object has no model.
    let model = if options.is_object() {
        reflect_get(&options, &"model".into()).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    };
    // A model option that is not a string is named as given, never silently replaced.
    let model_id = match model.as_string() {
        Some(id) => id,
        None if model.is_undefined() => GPT_IMAGE_2.id.to_string(),
        None => to_value(&model, 0).describe(),
    };
    let input = to_value(&input, MAX_DEPTH);
    validation_to_js(&validate_for_model(&model_id, &input))
}

/// The issues of one reference (URL string or File/Blob) on its own, errors and warnings, each
/// at path "" (see `validate::reference_issues`): none for a clean one, which js/fast-path.js
/// keeps per string and per file; fitReferenceImage refuses a file with the first error.
#[wasm_bindgen(js_name = referenceIssues, unchecked_return_type = "ValidationIssue[]")]
pub fn reference_issues_js(
    #[wasm_bindgen(unchecked_param_type = "unknown")] entry: JsValue,
) -> Array {
    issues_to_js(&reference_issues(&GPT_IMAGE_2, &to_value(&entry, 0), ""))
}

/// The issues of one gpt-image-2 field's value on its own, or `undefined` for a field whose
/// issues are not its own alone; js/fast-path.js keeps them per value (see
/// `validate::field_issues`).
#[wasm_bindgen(js_name = fieldIssues, unchecked_return_type = "ValidationIssue[] | undefined")]
pub fn field_issues_js(
    field: &str,
    #[wasm_bindgen(unchecked_param_type = "unknown")] value: JsValue,
) -> JsValue {
    // Read as a field of an input is (one level less than the input).
    field_issues(&GPT_IMAGE_2, field, &to_value(&value, MAX_DEPTH - 1))
        .map_or(JsValue::UNDEFINED, |issues| issues_to_js(&issues).into())
}

/// A prompt's length as the validator counts it (UTF-16 code units, like String.length).
#[wasm_bindgen(js_name = promptLength)]
pub fn prompt_length_js(text: &str) -> usize {
    prompt_length(text)
}

/// The model's rules for building a form; `undefined` for a model this library does not know.
#[wasm_bindgen(js_name = getModelFacts, unchecked_return_type = "ModelFacts | undefined")]
pub fn get_model_facts(
    #[wasm_bindgen(unchecked_param_type = "ModelId")] model: Option<String>,
) -> JsValue {
    match model.as_deref().map_or(Some(&GPT_IMAGE_2), find_model) {
        Some(model) => js_sys::JSON::parse(MODEL_FACTS_JSON)
            .and_then(|facts| js_sys::Reflect::get(&facts, &model.id.into()))
            .unwrap_or(JsValue::UNDEFINED),
        None => JsValue::UNDEFINED,
    }
}

/// Every model's facts as JSON, by id: derived from src/core/model.rs (`ModelSpec::facts`)
/// and kept equal to it by a golden test (tests/validation.rs). Parsing this text costs the
/// module about 2.5 KB less than serializing the facts in wasm.
const MODEL_FACTS_JSON: &str = include_str!("model_facts.json");
