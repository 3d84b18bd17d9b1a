//! The API's objects (src/core/api/) against docs/RUNBASE-API.md's own examples, and the wasm
//! client's reader (`parse_run`, over a value read without trusting it) against the serde
//! definition the simulator writes and the proxy reads: the three cannot disagree.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use runbase_image::core::api::{
    finished_outcome, parse_run, ErrorBody, Run, RunError, RunOutput, RunStatus,
};
use runbase_image::core::code::ErrorCode;
use runbase_image::core::value::{Members, Value};
use serde_json::json;

#[test]
fn the_documented_run_objects_read_and_write_back_unchanged() {
    let pending = json!({"id": "run_2abc", "model": "openai/gpt-image-2", "status": "pending", "costUsd": 50000});
    let run: Run = serde_json::from_value(pending.clone()).expect("pending run");
    assert_eq!(run.status, RunStatus::Pending);
    assert_eq!(run.cost_micro_usd, Some(50_000));
    assert_eq!(serde_json::to_value(&run).expect("json"), pending);

    let done = json!({"id": "run_2abc", "model": "openai/gpt-image-2", "status": "succeeded", "costUsd": 50000,
        "output": {"urls": ["https://runbase.net/files/generated/abc123.png"]},
        "createdAt": "2026-06-01T12:00:00.000Z", "completedAt": "2026-06-01T12:00:04.200Z"});
    let run: Run = serde_json::from_value(done.clone()).expect("succeeded run");
    assert_eq!(
        run.urls(),
        ["https://runbase.net/files/generated/abc123.png"]
    );
    assert_eq!(
        run.completed_at.as_deref(),
        Some("2026-06-01T12:00:04.200Z")
    );
    assert_eq!(serde_json::to_value(&run).expect("json"), done);
    assert!(matches!(finished_outcome(&run), Some(Ok(urls)) if urls.len() == 1));
}

#[test]
fn members_the_api_adds_later_are_kept_in_order() {
    let body =
        json!({"id": "r", "status": "processing", "queuePosition": 3, "region": {"name": "eu"}});
    let run: Run = serde_json::from_value(body.clone()).expect("run");
    assert_eq!(run.extra.0.len(), 2);
    assert_eq!(run.extra.0[0].0, "queuePosition");
    assert_eq!(serde_json::to_value(&run).expect("json"), body);
}

#[test]
fn statuses_nobody_documented_are_kept_and_mean_not_finished() {
    let run: Run = serde_json::from_value(json!({"id": "r", "status": "warming_up"})).expect("run");
    assert_eq!(run.status, RunStatus::Other("warming_up".into()));
    assert!(!run.status.is_finished());
    assert!(finished_outcome(&run).is_none());
    assert_eq!(
        serde_json::to_value(&run).expect("json")["status"],
        "warming_up"
    );
}

#[test]
fn a_failed_runs_error_may_be_a_string_or_an_object() {
    for error in [
        json!("GPU out of memory"),
        json!({"message": "GPU out of memory", "code": "oom"}),
    ] {
        let run: Run =
            serde_json::from_value(json!({"id": "r", "status": "failed", "error": error}))
                .expect("run");
        assert_eq!(
            run.error.as_ref().and_then(RunError::message),
            Some("GPU out of memory")
        );
        let Some(Err(failure)) = finished_outcome(&run) else {
            panic!("a failed run is an error")
        };
        assert!(failure.message.contains("GPU out of memory"));
        assert_eq!(failure.run_id.as_deref(), Some("r"));
    }
}

#[test]
fn error_bodies() {
    let body: ErrorBody = serde_json::from_value(
        json!({"error": {"message": "Rate limit exceeded", "code": "RATE_LIMITED"}}),
    )
    .expect("error body");
    assert_eq!(body.error.code, Some(ErrorCode::RateLimited));
    let other: ErrorBody =
        serde_json::from_value(json!({"error": {"message": "no", "code": "origin_not_allowed"}}))
            .expect("error body");
    assert_eq!(other.error.code, Some(ErrorCode::OriginNotAllowed));
    assert_eq!(
        serde_json::to_value(&other).expect("json"),
        json!({"error": {"message": "no", "code": "origin_not_allowed"}})
    );
    assert_eq!(
        serde_json::to_value(ErrorBody::new(ErrorCode::InvalidJson, "bad")).expect("json"),
        json!({"error": {"message": "bad", "code": "invalid_json"}})
    );
    // A code the API adds later is kept as it came.
    let later: ErrorBody =
        serde_json::from_value(json!({"error": {"message": "no", "code": "QUOTA_PAUSED"}}))
            .expect("error body");
    assert_eq!(
        later.error.code,
        Some(ErrorCode::Other("QUOTA_PAUSED".into()))
    );
    assert_eq!(
        serde_json::to_value(&later).expect("json")["error"]["code"],
        "QUOTA_PAUSED"
    );
}

fn status() -> impl Strategy<Value = RunStatus> {
    prop_oneof![
        Just(RunStatus::Pending),
        Just(RunStatus::Processing),
        Just(RunStatus::Succeeded),
        Just(RunStatus::Failed),
        "[a-z_]{1,12}".prop_map(RunStatus::from),
    ]
}

fn run() -> impl Strategy<Value = Run> {
    (
        "[a-zA-Z0-9_]{1,20}",
        proptest::option::of("[a-z/0-9-]{1,20}"),
        status(),
        proptest::option::of(0u64..10_000_000_000),
        proptest::option::of("[0-9T:.Z-]{1,24}"),
        proptest::option::of(proptest::collection::vec(
            "https://[a-z]{1,8}/[a-z0-9]{1,8}.png",
            0..4,
        )),
        proptest::option::of(prop_oneof![
            ".{0,20}".prop_map(RunError::Message),
            (
                proptest::option::of(".{0,20}"),
                proptest::option::of("[a-z_]{1,10}")
            )
                .prop_map(|(message, code)| RunError::Detail { message, code }),
        ]),
    )
        .prop_map(
            |(id, model, status, cost_usd, created_at, urls, error)| Run {
                id,
                model,
                status,
                cost_micro_usd: cost_usd,
                created_at: created_at.clone(),
                completed_at: created_at,
                output: urls.map(|urls| RunOutput {
                    urls,
                    extra: Members::default(),
                }),
                error,
                extra: Members::default(),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// What the simulator writes (serde), the wasm client's reader reads back the same.
    #[test]
    fn the_clients_reader_agrees_with_the_serde_definition(run in run()) {
        let text = serde_json::to_string(&run).expect("json");
        let value: Value = serde_json::from_str(&text).expect("value");
        prop_assert_eq!(parse_run(&value).expect("run"), run.clone());
        let back: Run = serde_json::from_str(&text).expect("serde");
        prop_assert_eq!(back, run);
    }
}
