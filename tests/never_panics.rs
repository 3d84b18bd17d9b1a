//! Property tests: the validator and the response readers never panic and keep their
//! promises, whatever they are given. Case counts are fixed below (CASES) and reported in
//! docs/TESTING.md.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use runbase_image::core::api::{
    excerpt, finished_outcome, parse_error, parse_retry_after, parse_run,
};
use runbase_image::core::reference_url::classify;
use runbase_image::{validate, FileInfo, Severity, Value, GPT_IMAGE_2};

const CASES: u32 = 4000;

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,40}",
        Just(String::new()),
        "(data:|DATA:)(image/png|text/plain|image/)?(;base64)?,[A-Za-z0-9+/=%]{0,64}",
        "(https?|ftp|javascript|blob)://[a-z0-9.:\\[\\]@%-]{0,20}(/[ -~]{0,20})?",
        "(1|2|4|16|21|9|3|5)[:x/ ]?(1|2|3|4|5|9|16)",
        "[124]?[kK]",
        "\\PC{0,8}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(Value::Number),
        any_text().prop_map(Value::String),
        Just(Value::Opaque("a function")),
        (
            any_text(),
            any::<u64>(),
            any::<bool>(),
            prop::option::of(0usize..8)
        )
            .prop_map(
                |(media_type, bytes, fittable, same_as)| Value::File(FileInfo {
                    media_type,
                    bytes,
                    fittable,
                    same_as
                })
            ),
    ]
}

/// Arbitrary JSON-like trees, with the model's field names mixed into the keys.
fn any_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("prompt".to_string()),
        Just("aspect_ratio".to_string()),
        Just("resolution".to_string()),
        Just("image_urls".to_string()),
        Just("id".to_string()),
        Just("status".to_string()),
        Just("output".to_string()),
        Just("urls".to_string()),
        Just("error".to_string()),
        Just("message".to_string()),
        Just("code".to_string()),
        any_text(),
    ];
    leaf().prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8).prop_map(Value::Object),
        ]
    })
}

/// Inputs shaped like real ones: each field present or not, any text in it.
fn input_like() -> impl Strategy<Value = Value> {
    (
        prop::option::of(prop_oneof![any_text().prop_map(Value::String), leaf()]),
        prop::option::of(any_text().prop_map(Value::String)),
        prop::option::of(any_text().prop_map(Value::String)),
        prop::option::of(prop::collection::vec(
            prop_oneof![any_text().prop_map(Value::String), leaf()],
            0..7,
        )),
    )
        .prop_map(|(prompt, ratio, resolution, urls)| {
            let mut fields = Vec::new();
            fields.extend(prompt.map(|v| ("prompt".to_string(), v)));
            fields.extend(ratio.map(|v| ("aspect_ratio".to_string(), v)));
            fields.extend(resolution.map(|v| ("resolution".to_string(), v)));
            fields.extend(urls.map(|v| ("image_urls".to_string(), Value::Array(v))));
            Value::Object(fields)
        })
}

fn check_validation(input: &Value) {
    let result = validate(&GPT_IMAGE_2, input);
    assert_eq!(result.value.is_some(), result.errors.is_empty());
    assert!(
        result.errors.len() + result.warnings.len()
            <= runbase_image::core::validate::MAX_ISSUES + 1
    );
    for issue in result.issues() {
        assert!(!issue.message.is_empty() && !issue.code.as_str().is_empty());
        assert!(issue.message.len() < 2_000, "messages stay short");
    }
    assert!(result.errors.iter().all(|i| i.severity == Severity::Error));
    assert!(result
        .warnings
        .iter()
        .all(|i| i.severity == Severity::Warning));
    if let Some(value) = result.value {
        assert!(GPT_IMAGE_2.aspect_ratios.contains(&value.aspect_ratio));
        let resolution = GPT_IMAGE_2
            .resolution(value.resolution)
            .expect("a known resolution");
        assert!(resolution.allows(value.aspect_ratio), "the 4K rule holds");
        assert!(value.image_urls.len() <= GPT_IMAGE_2.max_image_urls);
        let length = runbase_image::prompt_length(value.prompt);
        assert!((1..=GPT_IMAGE_2.prompt_max_length).contains(&length));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn validator_on_arbitrary_json(input in any_value()) {
        check_validation(&input);
    }

    #[test]
    fn validator_on_input_shaped_values(input in input_like()) {
        check_validation(&input);
    }

    #[test]
    fn url_checks_on_arbitrary_strings(url in any_text()) {
        let _ = classify(&url);
    }

    #[test]
    fn response_readers_on_arbitrary_bodies(
        body in any_value(),
        text in any_text(),
        status in any::<u16>(),
        content_type in any_text(),
        retry_after in any_text(),
        now in any::<f64>(),
    ) {
        if let Ok(run) = parse_run(&body) {
            prop_assert!(!run.id.is_empty());
            if let Some(Err(error)) = finished_outcome(&run) {
                prop_assert_eq!(error.run_id.as_deref(), Some(run.id.as_str()));
            }
        }
        let failure = parse_error(status, Some(&body), &text, &content_type);
        prop_assert!(!failure.message.is_empty());
        let failure = parse_error(status, None, &text, &content_type);
        prop_assert!(failure.message.chars().count() < 400);
        prop_assert!(excerpt(&text).chars().count() <= 163);
        if let Some(ms) = parse_retry_after(&retry_after, now) {
            prop_assert!(ms <= 86_400_000);
        }
    }
}
