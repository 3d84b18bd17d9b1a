//! Native, table-driven tests of the validation core: every rule alone, then several at once.
#![cfg(not(target_arch = "wasm32"))]

use runbase_image::core::model::Pairs;
use runbase_image::{
    prompt_length, validate, validate_for_model, FileInfo, ImageRef, IssueCode, Severity, Value,
    GPT_IMAGE_2, TYPESCRIPT_DECLARATIONS,
};

fn s(text: &str) -> Value {
    Value::String(text.to_string())
}

fn obj(fields: &[(&str, Value)]) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn urls(list: &[&str]) -> Value {
    Value::Array(list.iter().map(|u| s(u)).collect())
}

fn with_prompt(extra: &[(&str, Value)]) -> Value {
    let mut fields = vec![("prompt", s("A red bicycle"))];
    fields.extend(extra.iter().cloned());
    obj(&fields)
}

/// `data:image/png;base64,` with a payload that decodes to exactly `bytes` bytes.
fn png_data_url(bytes: usize) -> String {
    let mut payload = "A".repeat(bytes / 3 * 4);
    match bytes % 3 {
        1 => payload.push_str("AA=="),
        2 => payload.push_str("AAA="),
        _ => {}
    }
    format!("data:image/png;base64,{payload}")
}

/// (path, code) of issues, in report order.
type Found = Vec<(String, &'static str)>;

fn found(input: &Value, severity: Severity) -> Found {
    validate(&GPT_IMAGE_2, input)
        .issues()
        .filter(|i| i.severity == severity)
        .map(|i| (i.path.to_string(), i.code.as_str()))
        .collect()
}

fn errors(input: &Value) -> Found {
    found(input, Severity::Error)
}

fn warnings(input: &Value) -> Found {
    found(input, Severity::Warning)
}

fn one(path: &str, code: &'static str) -> Found {
    vec![(path.to_string(), code)]
}

#[test]
fn each_rule_alone() {
    let big = png_data_url(GPT_IMAGE_2.max_image_bytes + 1);
    let cases: Vec<(&str, Value, Found)> = vec![
        ("null input", Value::Null, one("", "input_not_object")),
        ("string input", s("a cat"), one("", "input_not_object")),
        (
            "array input",
            Value::Array(vec![]),
            one("", "input_not_object"),
        ),
        (
            "number input",
            Value::Number(3.0),
            one("", "input_not_object"),
        ),
        ("no prompt", obj(&[]), one("prompt", "prompt_missing")),
        (
            "prompt null",
            obj(&[("prompt", Value::Null)]),
            one("prompt", "prompt_not_string"),
        ),
        (
            "prompt number",
            obj(&[("prompt", Value::Number(1.0))]),
            one("prompt", "prompt_not_string"),
        ),
        (
            "prompt array",
            obj(&[("prompt", urls(&["a"]))]),
            one("prompt", "prompt_not_string"),
        ),
        (
            "prompt empty",
            obj(&[("prompt", s(""))]),
            one("prompt", "prompt_empty"),
        ),
        (
            "prompt 4001",
            obj(&[("prompt", s(&"a".repeat(4001)))]),
            one("prompt", "prompt_too_long"),
        ),
        // 2000 emoji are 4000 UTF-16 code units: at the limit; one more is over it.
        (
            "emoji 2001",
            obj(&[("prompt", s(&"😀".repeat(2001)))]),
            one("prompt", "prompt_too_long"),
        ),
        (
            "ratio 16x9",
            with_prompt(&[("aspect_ratio", s("16x9"))]),
            one("aspect_ratio", "aspect_ratio_unsupported"),
        ),
        (
            "ratio number",
            with_prompt(&[("aspect_ratio", Value::Number(1.5))]),
            one("aspect_ratio", "aspect_ratio_not_string"),
        ),
        (
            "ratio null",
            with_prompt(&[("aspect_ratio", Value::Null)]),
            one("aspect_ratio", "aspect_ratio_not_string"),
        ),
        (
            "resolution 4k",
            with_prompt(&[("resolution", s("4k")), ("aspect_ratio", s("16:9"))]),
            one("resolution", "resolution_unsupported"),
        ),
        (
            "resolution 8K",
            with_prompt(&[("resolution", s("8K"))]),
            one("resolution", "resolution_unsupported"),
        ),
        (
            "resolution bool",
            with_prompt(&[("resolution", Value::Bool(true))]),
            one("resolution", "resolution_not_string"),
        ),
        (
            "4K with 1:1",
            with_prompt(&[("resolution", s("4K")), ("aspect_ratio", s("1:1"))]),
            one("resolution", "resolution_not_allowed_for_aspect_ratio"),
        ),
        (
            "4K with default ratio",
            with_prompt(&[("resolution", s("4K"))]),
            one("resolution", "resolution_not_allowed_for_aspect_ratio"),
        ),
        (
            "4K with 4:3",
            with_prompt(&[("resolution", s("4K")), ("aspect_ratio", s("4:3"))]),
            one("resolution", "resolution_not_allowed_for_aspect_ratio"),
        ),
        (
            "urls string",
            with_prompt(&[("image_urls", s("https://a.example/x.png"))]),
            one("image_urls", "image_urls_not_array"),
        ),
        (
            "urls object",
            with_prompt(&[("image_urls", obj(&[]))]),
            one("image_urls", "image_urls_not_array"),
        ),
        (
            "5 urls",
            with_prompt(&[(
                "image_urls",
                urls(&[
                    "https://a.example/1.png",
                    "https://a.example/2.png",
                    "https://a.example/3.png",
                    "https://a.example/4.png",
                    "https://a.example/5.png",
                ]),
            )]),
            one("image_urls", "image_urls_too_many"),
        ),
        (
            "url number",
            with_prompt(&[("image_urls", Value::Array(vec![Value::Number(1.0)]))]),
            one("image_urls[0]", "image_url_not_string"),
        ),
        (
            "url nested array",
            with_prompt(&[("image_urls", Value::Array(vec![Value::Opaque("an array")]))]),
            one("image_urls[0]", "image_url_not_string"),
        ),
        (
            "url no scheme",
            with_prompt(&[("image_urls", urls(&["example.com/a.png"]))]),
            one("image_urls[0]", "image_url_invalid"),
        ),
        (
            "url relative",
            with_prompt(&[("image_urls", urls(&["/a.png"]))]),
            one("image_urls[0]", "image_url_invalid"),
        ),
        (
            "url empty",
            with_prompt(&[("image_urls", urls(&[""]))]),
            one("image_urls[0]", "image_url_invalid"),
        ),
        (
            "url no host",
            with_prompt(&[("image_urls", urls(&["https://"]))]),
            one("image_urls[0]", "image_url_invalid"),
        ),
        (
            "url no slashes",
            with_prompt(&[("image_urls", urls(&["https:example.com"]))]),
            one("image_urls[0]", "image_url_invalid"),
        ),
        (
            "url space",
            with_prompt(&[("image_urls", urls(&["https://a.example/my cat.png"]))]),
            one("image_urls[0]", "image_url_invalid"),
        ),
        (
            "url padded",
            with_prompt(&[("image_urls", urls(&[" https://a.example/x.png"]))]),
            one("image_urls[0]", "image_url_invalid"),
        ),
        (
            "url bad port",
            with_prompt(&[("image_urls", urls(&["https://a.example:99999/x.png"]))]),
            one("image_urls[0]", "image_url_invalid"),
        ),
        (
            "url bad host char",
            with_prompt(&[("image_urls", urls(&["https://a<b/x.png"]))]),
            one("image_urls[0]", "image_url_invalid"),
        ),
        (
            "ftp",
            with_prompt(&[("image_urls", urls(&["ftp://a.example/x.png"]))]),
            one("image_urls[0]", "image_url_unsupported_scheme"),
        ),
        (
            "javascript",
            with_prompt(&[("image_urls", urls(&["javascript:alert(1)"]))]),
            one("image_urls[0]", "image_url_unsupported_scheme"),
        ),
        (
            "blob",
            with_prompt(&[("image_urls", urls(&["blob:https://a.example/1234"]))]),
            one("image_urls[0]", "image_url_unsupported_scheme"),
        ),
        (
            "data text",
            with_prompt(&[("image_urls", urls(&["data:text/plain;base64,aGVsbG8="]))]),
            one("image_urls[0]", "image_url_not_image"),
        ),
        (
            "data no type",
            with_prompt(&[("image_urls", urls(&["data:,hello"]))]),
            one("image_urls[0]", "image_url_not_image"),
        ),
        (
            "data no comma",
            with_prompt(&[("image_urls", urls(&["data:image/png;base64"]))]),
            one("image_urls[0]", "image_url_invalid"),
        ),
        (
            "data bad base64",
            with_prompt(&[("image_urls", urls(&["data:image/png;base64,ab$d"]))]),
            one("image_urls[0]", "image_url_invalid"),
        ),
        (
            "data empty",
            with_prompt(&[("image_urls", urls(&["data:image/png;base64,"]))]),
            one("image_urls[0]", "image_url_invalid"),
        ),
        (
            "data too large",
            with_prompt(&[("image_urls", urls(&[&big]))]),
            one("image_urls[0]", "image_url_too_large"),
        ),
        (
            "unknown field",
            with_prompt(&[("seed", Value::Number(1.0))]),
            one("seed", "unknown_field"),
        ),
        (
            "camelCase field",
            with_prompt(&[("aspectRatio", s("16:9"))]),
            one("aspectRatio", "unknown_field"),
        ),
        (
            "nested model",
            with_prompt(&[("model", s("openai/gpt-image-2"))]),
            one("model", "unknown_field"),
        ),
    ];
    for (name, input, want) in cases {
        assert_eq!(errors(&input), want, "case {name:?}");
    }
}

#[test]
fn legal_inputs_pass_with_defaults_filled_in() {
    let exact = png_data_url(GPT_IMAGE_2.max_image_bytes);
    let cases: Vec<(&str, Value)> = vec![
        ("prompt only", with_prompt(&[])),
        ("one char", obj(&[("prompt", s("a"))])),
        ("4000 ascii", obj(&[("prompt", s(&"a".repeat(4000)))])),
        ("2000 emoji", obj(&[("prompt", s(&"😀".repeat(2000)))])),
        ("4000 CJK", obj(&[("prompt", s(&"灯".repeat(4000)))])),
        ("every ratio at 2K", with_prompt(&[("resolution", s("2K"))])),
        (
            "4K 16:9",
            with_prompt(&[("resolution", s("4K")), ("aspect_ratio", s("16:9"))]),
        ),
        (
            "4K 9:16",
            with_prompt(&[("resolution", s("4K")), ("aspect_ratio", s("9:16"))]),
        ),
        (
            "4K 21:9",
            with_prompt(&[("resolution", s("4K")), ("aspect_ratio", s("21:9"))]),
        ),
        ("empty urls", with_prompt(&[("image_urls", urls(&[]))])),
        (
            "4 urls",
            with_prompt(&[(
                "image_urls",
                urls(&[
                    "https://a.example/1.png",
                    "https://a.example/2.png",
                    "https://user:pw@a.example:8443/3.png?x=1#f",
                    "https://[::1]:8080/4.png",
                ]),
            )]),
        ),
        (
            "data exactly 4 MiB",
            with_prompt(&[("image_urls", urls(&[&exact]))]),
        ),
        (
            "data percent",
            with_prompt(&[(
                "image_urls",
                urls(&["data:image/svg+xml,%3Csvg%3E%3C/svg%3E"]),
            )]),
        ),
        (
            "data upper scheme",
            with_prompt(&[("image_urls", urls(&["DATA:IMAGE/PNG;BASE64,iVBORw0KGgo="]))]),
        ),
        (
            "https upper",
            with_prompt(&[("image_urls", urls(&["HTTPS://A.EXAMPLE/X.PNG"]))]),
        ),
        (
            "idn host",
            with_prompt(&[("image_urls", urls(&["https://bücher.example/x.png"]))]),
        ),
    ];
    for (name, input) in cases {
        let result = validate(&GPT_IMAGE_2, &input);
        assert!(
            result.errors.is_empty(),
            "case {name:?}: {:?}",
            result.errors
        );
        let value = result.value.expect(name);
        assert!(
            GPT_IMAGE_2.aspect_ratios.contains(&value.aspect_ratio),
            "{name}"
        );
    }
    let input = with_prompt(&[]);
    let result = validate(&GPT_IMAGE_2, &input);
    let value = result.value.expect("valid");
    assert_eq!(
        (value.prompt, value.aspect_ratio, value.resolution),
        ("A red bicycle", "1:1", "1K")
    );
    assert!(value.image_urls.is_empty());
}

#[test]
fn warnings_leave_the_input_valid() {
    let cases: Vec<(&str, Value, Found)> = vec![
        (
            "blank prompt",
            obj(&[("prompt", s("   \n"))]),
            one("prompt", "prompt_blank"),
        ),
        (
            "duplicate",
            with_prompt(&[(
                "image_urls",
                urls(&[
                    "https://a.example/x.png",
                    "https://a.example/y.png",
                    "https://a.example/x.png",
                ]),
            )]),
            one("image_urls[2]", "image_url_duplicate"),
        ),
        (
            "plain http",
            with_prompt(&[("image_urls", urls(&["http://a.example/x.png"]))]),
            one("image_urls[0]", "image_url_insecure"),
        ),
    ];
    for (name, input, want) in cases {
        assert_eq!(warnings(&input), want, "case {name:?}");
        assert!(validate(&GPT_IMAGE_2, &input).is_ok(), "case {name:?}");
    }
}

#[test]
fn several_problems_are_reported_at_once() {
    let input = obj(&[
        ("prompt", s("")),
        ("aspectRatio", s("16:9")),
        ("aspect_ratio", s("16x9")),
        ("resolution", s("4k")),
        (
            "image_urls",
            Value::Array(vec![
                s("https://a.example/1.png"),
                Value::Null,
                s("ftp://a.example/3.png"),
                s("http://a.example/4.png"),
                s("https://a.example/1.png"),
            ]),
        ),
    ]);
    assert_eq!(
        errors(&input),
        vec![
            ("prompt".into(), "prompt_empty"),
            ("aspect_ratio".into(), "aspect_ratio_unsupported"),
            ("resolution".into(), "resolution_unsupported"),
            ("image_urls".into(), "image_urls_too_many"),
            ("image_urls[1]".into(), "image_url_not_string"),
            ("image_urls[2]".into(), "image_url_unsupported_scheme"),
            ("aspectRatio".into(), "unknown_field"),
        ]
    );
    assert_eq!(
        warnings(&input),
        vec![
            ("image_urls[3]".into(), "image_url_insecure"),
            ("image_urls[4]".into(), "image_url_duplicate"),
        ]
    );
    assert!(validate(&GPT_IMAGE_2, &input).value.is_none());
}

#[test]
fn suggestions_for_near_misses() {
    let cases = [
        (
            with_prompt(&[("aspect_ratio", s("16x9"))]),
            "aspect_ratio",
            "16:9",
        ),
        (
            with_prompt(&[("aspect_ratio", s(" 16:9"))]),
            "aspect_ratio",
            "16:9",
        ),
        (
            with_prompt(&[("aspect_ratio", s("1920x1080"))]),
            "aspect_ratio",
            "16:9",
        ),
        (
            with_prompt(&[("resolution", s("4k")), ("aspect_ratio", s("21:9"))]),
            "resolution",
            "4K",
        ),
        (
            with_prompt(&[("aspectRatio", s("1:1"))]),
            "aspectRatio",
            "aspect_ratio",
        ),
        (
            with_prompt(&[("image_url", urls(&[]))]),
            "image_url",
            "image_urls",
        ),
        (with_prompt(&[("size", s("1K"))]), "size", "resolution"),
    ];
    for (input, path, want) in cases {
        let result = validate(&GPT_IMAGE_2, &input);
        let issue = result.errors.iter().find(|i| i.path == path).expect(path);
        assert_eq!(issue.suggestion, Some(want), "{path}");
        assert!(
            issue.message.contains(&format!("Did you mean \"{want}\"?")),
            "{}",
            issue.message
        );
    }
}

#[test]
fn messages_say_what_was_given_and_what_is_allowed() {
    let message = |input: Value| validate(&GPT_IMAGE_2, &input).errors[0].message.clone();
    let m = message(obj(&[("prompt", s(&"😀".repeat(2001)))]));
    assert!(
        m.contains("4002") && m.contains("4000") && m.contains("UTF-16"),
        "{m}"
    );
    let m = message(with_prompt(&[("resolution", s("4K"))]));
    assert!(
        m.contains("\"16:9\", \"9:16\" or \"21:9\"") && m.contains("default"),
        "{m}"
    );
    let m = message(with_prompt(&[("aspect_ratio", Value::Number(1.5))]));
    assert!(m.contains("a number (1.5)") && m.contains("\"1:1\""), "{m}");
    let big = png_data_url(5 * 1024 * 1024);
    let m = message(with_prompt(&[("image_urls", urls(&[&big]))]));
    assert!(m.contains("5 MB") && m.contains("4194304 bytes"), "{m}");
    let m = message(with_prompt(&[(
        "image_urls",
        urls(&["ftp://x.example/a.png"]),
    )]));
    assert!(
        m.contains("\"ftp:\"") && m.contains("https, http, data"),
        "{m}"
    );
    let m = message(obj(&[("prompt", s(&"x".repeat(10_000)))]));
    assert!(
        m.len() < 400,
        "a message never echoes a whole huge value: {m}"
    );
}

/// A File / Blob as the wasm boundary reads it: type and size only.
fn file(media_type: &str, bytes: u64, fittable: bool) -> Value {
    Value::File(FileInfo {
        media_type: media_type.to_string(),
        bytes,
        fittable,
        same_as: None,
    })
}

#[test]
fn files_are_checked_by_type_and_size() {
    let max = GPT_IMAGE_2.max_image_bytes as u64;
    let six_mb = 6 * 1024 * 1024;
    let with_files = |files: Vec<Value>| with_prompt(&[("image_urls", Value::Array(files))]);
    // (name, files, errors, warnings)
    let cases: Vec<(&str, Value, Found, Found)> = vec![
        (
            "small png",
            with_files(vec![file("image/png", 1000, false)]),
            vec![],
            vec![],
        ),
        (
            "exactly the limit, no canvas",
            with_files(vec![file("image/jpeg", max, false)]),
            vec![],
            vec![],
        ),
        (
            "upper-case type",
            with_files(vec![file("IMAGE/WEBP", 10, false)]),
            vec![],
            vec![],
        ),
        (
            "over the limit, fittable",
            with_files(vec![file("image/png", six_mb, true)]),
            vec![],
            one("image_urls[0]", "image_file_will_be_fitted"),
        ),
        (
            "one byte over, fittable",
            with_files(vec![file("image/png", max + 1, true)]),
            vec![],
            one("image_urls[0]", "image_file_will_be_fitted"),
        ),
        (
            "over the limit, no canvas (Node)",
            with_files(vec![file("image/png", max + 1, false)]),
            one("image_urls[0]", "image_url_too_large"),
            vec![],
        ),
        (
            "text file",
            with_files(vec![file("text/plain", 10, true)]),
            one("image_urls[0]", "image_url_not_image"),
            vec![],
        ),
        (
            "no type, large: the type is reported, not the size",
            with_files(vec![file("", six_mb, false)]),
            one("image_urls[0]", "image_url_not_image"),
            vec![],
        ),
        (
            "bare image/",
            with_files(vec![file("image/", 10, true)]),
            one("image_urls[0]", "image_url_not_image"),
            vec![],
        ),
        (
            "empty file",
            with_files(vec![file("image/png", 0, true)]),
            one("image_urls[0]", "image_url_invalid"),
            vec![],
        ),
        (
            "the same file twice, mixed with URLs",
            with_files(vec![
                file("image/png", 10, true),
                s("https://a.example/x.png"),
                Value::File(FileInfo {
                    media_type: "image/png".into(),
                    bytes: 10,
                    fittable: true,
                    same_as: Some(0),
                }),
            ]),
            vec![],
            one("image_urls[2]", "image_url_duplicate"),
        ),
        (
            "four large files in a browser",
            with_files(vec![file("image/png", six_mb, true); 4]),
            vec![],
            (0..4)
                .map(|i| (format!("image_urls[{i}]"), "image_file_will_be_fitted"))
                .collect(),
        ),
        (
            "five files are too many",
            with_files(vec![file("image/png", 10, true); 5]),
            one("image_urls", "image_urls_too_many"),
            vec![],
        ),
        (
            "a file is not a prompt",
            obj(&[("prompt", file("text/plain", 3, true))]),
            one("prompt", "prompt_not_string"),
            vec![],
        ),
    ];
    for (name, input, want_errors, want_warnings) in cases {
        assert_eq!(errors(&input), want_errors, "case {name:?}");
        assert_eq!(warnings(&input), want_warnings, "case {name:?}");
    }

    // A valid file stays a file in the normalized value (JS puts the caller's Blob there),
    // between the URLs, in order; it serializes as null.
    let input = with_files(vec![
        s("https://a.example/x.png"),
        file("image/png", six_mb, true),
    ]);
    let result = validate(&GPT_IMAGE_2, &input);
    let value = result.value.as_ref().expect("valid");
    assert_eq!(
        value.image_urls,
        vec![ImageRef::Url("https://a.example/x.png"), ImageRef::File]
    );
    assert_eq!(
        serde_json::to_value(value).expect("json")["image_urls"],
        serde_json::json!(["https://a.example/x.png", null])
    );

    let message = |input: Value| {
        validate(&GPT_IMAGE_2, &input)
            .issues()
            .next()
            .map(|i| i.message.clone())
            .unwrap_or_default()
    };
    let m = message(with_files(vec![file("image/png", six_mb, true)]));
    assert!(
        m.contains("6 MB")
            && m.contains("6291456 bytes")
            && m.contains("re-encoded")
            && m.contains("4 MB"),
        "{m}"
    );
    let m = message(with_files(vec![file("image/png", six_mb, false)]));
    assert!(
        m.contains("6 MB")
            && m.contains("cannot re-encode")
            && m.contains("4194304 bytes")
            && m.contains("resize or compress"),
        "{m}"
    );
    let m = message(with_files(vec![file("text/plain", 5, true)]));
    assert!(
        m.contains("\"text/plain\"") && m.contains("not an image"),
        "{m}"
    );
    let m = message(with_files(vec![file("", 5, true)]));
    assert!(m.contains("no media type"), "{m}");
}

#[test]
fn prompt_length_counts_utf16_code_units() {
    assert_eq!(prompt_length("abc"), 3);
    assert_eq!(prompt_length("😀"), 2);
    assert_eq!(prompt_length("一张陶瓷台灯的电影级产品照片"), 14);
    assert_eq!(prompt_length("e\u{301}"), 2);
}

#[test]
fn the_issue_list_stays_bounded() {
    let junk: Vec<(String, Value)> = (0..500)
        .map(|i| (format!("junk{i}"), Value::Null))
        .collect();
    let input = Value::Object(junk);
    let result = validate(&GPT_IMAGE_2, &input);
    assert_eq!(
        result.errors.len(),
        runbase_image::core::validate::MAX_ISSUES + 1
    );
    let last = result.errors.last().expect("summary");
    assert_eq!(last.code, IssueCode::TooManyIssues);
    assert!(last.message.starts_with("451 more"), "{}", last.message);
}

#[test]
fn unknown_model_is_one_clear_error() {
    let input = with_prompt(&[]);
    let result = validate_for_model("openai/dall-e-3", &input);
    assert_eq!(result.errors.len(), 1);
    assert_eq!(result.errors[0].code, IssueCode::ModelNotSupported);
    assert!(validate_for_model("openai/gpt-image-2", &input).is_ok());
}

/// `getModelFacts` answers from src/wasm/model_facts.json (cheaper in wasm than serializing);
/// it must be exactly what the model data says. `RUNBASE_UPDATE_GOLDEN=1 cargo test` rewrites it.
#[test]
fn model_facts_json_matches_the_model() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/wasm/model_facts.json");
    let facts = Pairs(
        runbase_image::MODELS
            .iter()
            .map(|m| (m.id, m.facts()))
            .collect(),
    );
    let expected = serde_json::to_string(&facts).expect("json");
    if std::env::var_os("RUNBASE_UPDATE_GOLDEN").is_some() {
        std::fs::write(path, &expected).expect("write golden");
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "src/wasm/model_facts.json is out of date: run RUNBASE_UPDATE_GOLDEN=1 cargo test --test validation"
    );
}

/// `RunbaseErrorCode` (src/wasm/types.d.ts, made by src/typescript.rs) lists every code a
/// RunbaseError can carry: the Rust code gives codes as `ErrorCode` variants only, so the
/// compiler holds it to the enum; the library's JavaScript (js/, js/load/) spells the codes
/// of its own errors, and each must be a variant too.
#[test]
fn typescript_error_codes_are_every_code_there_is() {
    use runbase_image::core::code::{CodeSource, ErrorCode};
    let all: Vec<&str> = ErrorCode::ALL
        .iter()
        .filter(|code| code.source() != Some(CodeSource::SimControl))
        .map(ErrorCode::as_str)
        .collect();
    let line = format!(
        "export type RunbaseErrorCode = {} | (string & {{}});",
        all.iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    assert!(
        TYPESCRIPT_DECLARATIONS.lines().any(|l| l == line),
        "src/wasm/types.d.ts must contain exactly:\n{line}"
    );
    // The JavaScript's codes: the string after each `code: "`, and the code argument of
    // `invalid(message, "code", ...)` (after `", "` or `` `, " ``).
    let codes_after = |source: &str, needle: &str| -> Vec<String> {
        source
            .split(needle)
            .skip(1)
            .filter_map(|rest| rest.get(..rest.find('"')?).map(str::to_string))
            .filter(|code| {
                !code.is_empty() && code.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
            })
            .collect()
    };
    let mut folders = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/js"
    ))];
    let mut found = Vec::new();
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).expect("a folder of js/") {
            let path = entry.expect("entry").path();
            // js/server/ has no codes of its own (it names the core's refusals), js/locales/ only
            // messages.
            if path.is_dir() && !path.ends_with("server") && !path.ends_with("locales") {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "js") {
                continue;
            }
            let source = std::fs::read_to_string(&path).expect("read");
            found.extend(codes_after(&source, "code: \""));
            // `invalid(message, "code", …)`: the string after the message.
            for call in source.split("invalid(").skip(1) {
                let call = &call[..call.find(";\n").unwrap_or(call.len())];
                for needle in ["\", \"", "`, \""] {
                    found.extend(codes_after(call, needle).into_iter().take(1));
                }
            }
        }
    }
    assert!(found.len() >= 8, "{found:?}");
    for code in found {
        assert!(
            all.contains(&code.as_str()),
            "js/ gives the code {code:?}, which is not an ErrorCode (src/core/code.rs)"
        );
    }
}

/// What js/fast-path.js keeps per value (`field_issues`) is exactly what the whole input's
/// validation says of that field, so that its answers equal the core's.
#[test]
fn a_fields_issues_on_their_own_are_its_issues_in_a_whole_input() {
    use runbase_image::core::validate::field_issues;
    let values = [
        s(""),
        s("  \n"),
        s(&"x".repeat(4001)),
        s("A lamp"),
        s("16x9"),
        s("1920x1080"),
        s("8K"),
        s("4k"),
        s("1:1"),
        s("2K"),
        Value::Number(3.0),
        Value::Null,
    ];
    let mut issues_seen = 0;
    for field in ["prompt", "aspect_ratio", "resolution"] {
        for value in &values {
            let input = match field {
                "prompt" => obj(&[(field, value.clone())]),
                _ => obj(&[("prompt", s("A lamp")), (field, value.clone())]),
            };
            let whole = validate(&GPT_IMAGE_2, &input);
            let want: Vec<_> = whole
                .issues()
                .filter(|i| i.path == field)
                .cloned()
                .collect();
            let mut got = field_issues(&GPT_IMAGE_2, field, value).expect(field);
            // The whole input lists errors before warnings.
            got.sort_by_key(|i| i.severity != Severity::Error);
            assert_eq!(got, want, "{field} = {value:?}");
            issues_seen += got.len();
        }
    }
    assert!(issues_seen > 15, "{issues_seen}");
    assert_eq!(field_issues(&GPT_IMAGE_2, "image_urls", &s("x")), None);
    assert_eq!(field_issues(&GPT_IMAGE_2, "seed", &s("x")), None);
}

/// What fitReferenceImage refuses a file with, and what js/fast-path.js keeps per reference
/// (`reference_issues`: clean when empty), is exactly what the whole input's validation says
/// of that entry: the same issues, each at the path it is given.
#[test]
fn a_references_issues_on_their_own_are_its_issues_in_a_whole_input() {
    use runbase_image::core::validate::reference_issues;
    let limit = GPT_IMAGE_2.max_image_bytes as u64;
    let entries = [
        file("image/png", 1_000, false),
        file("image/png", 0, false),
        file("text/plain", 10, false),
        file("", 10, true),
        file("image/webp", limit, false),
        file("image/png", limit + 1, false),
        file("image/jpeg", 6_000_000, true),
        s("https://a.example/x.png"),
        s("http://a.example/x.png"),
        s("ftp://a.example/x.png"),
        s("not a url"),
        s(&format!("data:image/png;base64,{}", "A".repeat(12))),
        s(&png_data_url(GPT_IMAGE_2.max_image_bytes + 1)),
        s("data:text/plain,hello"),
        Value::Number(3.0),
        Value::Null,
    ];
    let mut issues_seen = 0;
    for entry in &entries {
        let input = with_prompt(&[("image_urls", Value::Array(vec![entry.clone()]))]);
        let whole = validate(&GPT_IMAGE_2, &input);
        let want: Vec<_> = whole.issues().cloned().collect();
        let mut got = reference_issues(&GPT_IMAGE_2, entry, "image_urls[0]");
        // The whole input lists errors before warnings.
        got.sort_by_key(|i| i.severity != Severity::Error);
        assert_eq!(got, want, "{entry:?}");
        // At the entry itself, the same issues at path "".
        let alone = reference_issues(&GPT_IMAGE_2, entry, "");
        assert!(alone.iter().all(|i| i.path.is_empty()), "{alone:?}");
        assert_eq!(alone.len(), got.len());
        issues_seen += got.len();
    }
    assert!(issues_seen >= 12, "{issues_seen}");
    assert!(reference_issues(&GPT_IMAGE_2, &file("image/png", 1_000, true), "").is_empty());
    assert!(reference_issues(&GPT_IMAGE_2, &s("https://a.example/x.png"), "").is_empty());
}
