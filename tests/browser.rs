//! Browser tests: the wasm exports called with values made by real JavaScript in headless
//! Chromium, hostile ones included. Run by scripts/test through wasm-bindgen-test-runner.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Reflect};
use runbase_image::wasm::boundary::{get_model_facts, prompt_length_js, validate_input};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function hostileValues() {
  const throwing = {};
  Object.defineProperty(throwing, "prompt", { enumerable: true, get() { throw new Error("getter"); } });
  const revocable = Proxy.revocable({}, {});
  revocable.revoke();
  const trapKeys = new Proxy({}, { ownKeys() { throw new Error("ownKeys"); } });
  const trapGet = new Proxy({ prompt: "x" }, { get() { throw new Error("get"); } });
  let deep = {};
  for (let i = 0; i < 100000; i++) deep = { prompt: deep };
  const cyclic = { prompt: "cycle" }; cyclic.self = cyclic; cyclic.image_urls = [cyclic, cyclic];
  const sparse = []; sparse[3] = "https://a.example/x.png";
  const urlsWithGetter = ["https://a.example/x.png"];
  Object.defineProperty(urlsWithGetter, 0, { get() { throw new Error("index"); } });
  return [
    ["undefined", undefined], ["null", null], ["number", 42], ["NaN", NaN], ["string", "a cat"],
    ["bigint", 10n], ["symbol", Symbol("s")], ["function", () => 1], ["array", [1, 2]],
    ["date", new Date(0)], ["map", new Map([["prompt", "x"]])], ["typed array", new Uint8Array(4)],
    ["getter throws", throwing], ["revoked proxy", revocable.proxy], ["ownKeys trap", trapKeys],
    ["get trap", trapGet], ["deep nesting", deep], ["cycle", cyclic], ["sparse urls", { prompt: "x", image_urls: sparse }],
    ["url getter throws", { prompt: "x", image_urls: urlsWithGetter }],
    ["huge prompt", { prompt: "x".repeat(20_000_000) }],
    ["prompt object", { prompt: { toString() { return "x"; } } }],
    ["prompt String object", { prompt: new String("x") }],
    ["null-prototype object", Object.assign(Object.create(null), { prompt: 5 })],
    ["symbol key only", { [Symbol("k")]: 1 }],
    ["many keys", Object.fromEntries(Array.from({ length: 5000 }, (_, i) => ["k" + i, i]))],
    ["many urls", { prompt: "x", image_urls: Array.from({ length: 10000 }, (_, i) => "ftp://x/" + i) }],
    ["url number junk", { prompt: "x", image_urls: [1, null, {}, [], true, 1n] }],
    ["file junk", { prompt: new Blob(["x"]), image_urls: [new Proxy(new Blob(["x"], { type: "image/png" }), { get() { throw new Error("blob get"); } }),
      new Proxy(new Blob(["x"]), { getPrototypeOf() { throw new Error("proto"); } }), revocable.proxy,
      Object.create(Blob.prototype), new File([], "empty.png", { type: "image/png" }),
      Object.defineProperty(new Blob(["x"]), "size", { value: -1 }), Object.defineProperty(new Blob(["x"]), "type", { value: 5 })] }],
  ];
}
export function isWellFormedIssue(issue) {
  return typeof issue.path === "string" && typeof issue.code === "string" && issue.code.length > 0
    && typeof issue.message === "string" && issue.message.length > 0
    && (issue.severity === "error" || issue.severity === "warning");
}
export function loneSurrogate() { return { prompt: "\uD800" }; }
export function withUndefinedField() { return { prompt: "A red bicycle", aspect_ratio: undefined }; }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = hostileValues)]
    fn hostile_values() -> Array;
    #[wasm_bindgen(js_name = isWellFormedIssue)]
    fn is_well_formed_issue(issue: &JsValue) -> bool;
    #[wasm_bindgen(js_name = loneSurrogate)]
    fn lone_surrogate() -> JsValue;
    #[wasm_bindgen(js_name = withUndefinedField)]
    fn with_undefined_field() -> JsValue;
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &key.into()).expect("readable result")
}

fn issues_of(result: &JsValue) -> Vec<JsValue> {
    Array::from(&get(result, "issues")).iter().collect()
}

fn codes(result: &JsValue) -> Vec<String> {
    issues_of(result)
        .iter()
        .map(|i| get(i, "code").as_string().unwrap_or_default())
        .collect()
}

fn valid_input() -> JsValue {
    js_sys::JSON::parse(r#"{"prompt":"A red bicycle","aspect_ratio":"16:9","resolution":"4K"}"#)
        .expect("json")
}

#[wasm_bindgen_test]
fn hostile_values_never_throw_and_always_explain() {
    for entry in hostile_values().iter() {
        let entry = Array::from(&entry);
        let name = entry.get(0).as_string().unwrap_or_default();
        let result = validate_input(entry.get(1), JsValue::UNDEFINED);
        assert_eq!(get(&result, "ok").as_bool(), Some(false), "{name}");
        let issues = issues_of(&result);
        assert!(!issues.is_empty(), "{name}: no issue reported");
        assert!(issues.len() <= 51, "{name}: issue list unbounded");
        for issue in &issues {
            assert!(is_well_formed_issue(issue), "{name}: malformed issue");
        }
    }
    // The module is still alive and correct after all of that.
    let result = validate_input(valid_input(), JsValue::UNDEFINED);
    assert_eq!(get(&result, "ok").as_bool(), Some(true));
}

#[wasm_bindgen_test]
fn specific_hostile_cases_get_specific_codes() {
    let by_name = |wanted: &str| {
        hostile_values()
            .iter()
            .map(|e| Array::from(&e))
            .find(|e| e.get(0).as_string().as_deref() == Some(wanted))
            .map(|e| validate_input(e.get(1), JsValue::UNDEFINED))
            .expect(wanted)
    };
    assert_eq!(codes(&by_name("undefined")), ["input_not_object"]);
    assert_eq!(codes(&by_name("array")), ["input_not_object"]);
    assert_eq!(codes(&by_name("huge prompt")), ["prompt_too_long"]);
    assert_eq!(codes(&by_name("prompt object")), ["prompt_not_string"]);
    assert_eq!(
        codes(&by_name("prompt String object")),
        ["prompt_not_string"]
    );
    assert_eq!(codes(&by_name("deep nesting")), ["prompt_not_string"]);
    assert_eq!(
        codes(&by_name("cycle")),
        [
            "image_url_not_string",
            "image_url_not_string",
            "unknown_field"
        ]
    );
    let message = get(&issues_of(&by_name("getter throws"))[0], "message");
    assert!(message
        .as_string()
        .unwrap_or_default()
        .contains("could not be read"));
    let junk = codes(&by_name("url number junk"));
    assert_eq!(junk.len(), 7, "{junk:?}");
    assert!(codes(&by_name("many urls")).contains(&"too_many_issues".to_string()));
    // A flood of unknown fields cannot hide that the prompt is missing.
    assert_eq!(codes(&by_name("many keys"))[0], "prompt_missing");
}

#[wasm_bindgen_test]
fn valid_input_comes_back_normalised() {
    let result = validate_input(with_undefined_field(), JsValue::UNDEFINED);
    assert_eq!(get(&result, "ok").as_bool(), Some(true));
    let value = get(&result, "value");
    assert_eq!(
        get(&value, "prompt").as_string().as_deref(),
        Some("A red bicycle")
    );
    assert_eq!(
        get(&value, "aspect_ratio").as_string().as_deref(),
        Some("1:1")
    );
    assert_eq!(get(&value, "resolution").as_string().as_deref(), Some("1K"));
    assert!(get(&value, "image_urls").is_undefined());
    assert_eq!(Array::from(&get(&result, "issues")).length(), 0);
    // JSON.stringify sends a lone surrogate as one escaped code unit: length 1, valid.
    let result = validate_input(lone_surrogate(), JsValue::UNDEFINED);
    assert_eq!(get(&result, "ok").as_bool(), Some(true));
}

#[wasm_bindgen_test]
fn near_misses_carry_suggestions_across_the_boundary() {
    let input = js_sys::JSON::parse(r#"{"prompt":"x","aspectRatio":"16:9","resolution":"4k"}"#)
        .expect("json");
    let result = validate_input(input, JsValue::UNDEFINED);
    let issues = issues_of(&result);
    let suggestion = |i: usize| get(&issues[i], "suggestion").as_string();
    assert_eq!(codes(&result), ["resolution_unsupported", "unknown_field"]);
    assert_eq!(suggestion(0).as_deref(), Some("4K"));
    assert_eq!(suggestion(1).as_deref(), Some("aspect_ratio"));
    assert_eq!(
        get(&issues[0], "path").as_string().as_deref(),
        Some("resolution")
    );
}

#[wasm_bindgen_test]
fn options_are_checked_not_ignored() {
    let bad_model = js_sys::JSON::parse(r#"{"model":"openai/dall-e-3"}"#).expect("json");
    assert_eq!(
        codes(&validate_input(valid_input(), bad_model)),
        ["model_not_supported"]
    );
    let number_model = js_sys::JSON::parse(r#"{"model":7}"#).expect("json");
    assert_eq!(
        codes(&validate_input(valid_input(), number_model)),
        ["model_not_supported"]
    );
    for junk in [JsValue::NULL, JsValue::from(3), JsValue::from_str("x")] {
        assert_eq!(
            get(&validate_input(valid_input(), junk), "ok").as_bool(),
            Some(true)
        );
    }
}

#[wasm_bindgen_test]
fn model_facts_for_forms() {
    let facts = get_model_facts(None);
    assert_eq!(
        get(&facts, "id").as_string().as_deref(),
        Some("openai/gpt-image-2")
    );
    assert_eq!(get(&facts, "promptMaxLength").as_f64(), Some(4000.0));
    assert_eq!(Array::from(&get(&facts, "aspectRatios")).length(), 10);
    let by_ratio = get(&facts, "resolutionsByAspectRatio");
    assert_eq!(Array::from(&get(&by_ratio, "1:1")).length(), 2);
    assert_eq!(Array::from(&get(&by_ratio, "21:9")).length(), 3);
    let restricted = get(&get(&facts, "aspectRatiosByResolution"), "4K");
    assert_eq!(Array::from(&restricted).length(), 3);
    assert_eq!(get(&facts, "maxImageBytes").as_f64(), Some(4194304.0));
    assert!(get_model_facts(Some("nope".into())).is_undefined());
    assert_eq!(prompt_length_js("😀灯"), 3);
}
