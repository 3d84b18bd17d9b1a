//! The simulator over real HTTP on 127.0.0.1: every behaviour RUNBASE.md documents, and the
//! test-only fault scripts.

mod common;

use std::time::Duration;

use common::{client, code, get_json, run_body, send, Server};
use serde_json::{json, Value};

fn post(server: &Server, key: Option<&str>, body: &str) -> reqwest::RequestBuilder {
    let request = client()
        .post(server.url("/sim/v1/runs"))
        .header("content-type", "application/json")
        .body(body.to_string());
    match key {
        Some(key) => request.bearer_auth(key),
        None => request,
    }
}

fn poll(server: &Server, key: &str, id: &str) -> reqwest::RequestBuilder {
    client()
        .get(server.url(&format!("/sim/v1/runs/{id}")))
        .bearer_auth(key)
}

fn valid() -> String {
    run_body(json!({ "prompt": "A red bicycle", "aspect_ratio": "21:9", "resolution": "2K" }))
        .to_string()
}

#[tokio::test]
async fn documented_errors() {
    let server = Server::simulator(1000);
    let cases: Vec<(Option<&str>, String, u16, &str)> = vec![
        (None, valid(), 401, "missing_api_key"),
        (Some("rb_live_unknown"), valid(), 401, "invalid_api_key"),
        (Some("sim_a"), "{not json".into(), 400, "invalid_json"),
        (
            Some("sim_a"),
            json!({ "input": {} }).to_string(),
            400,
            "missing_model",
        ),
        (
            Some("sim_a"),
            json!({ "model": 5, "input": {} }).to_string(),
            400,
            "missing_model",
        ),
        (
            Some("sim_a"),
            json!({ "model": common::GPT }).to_string(),
            400,
            "missing_input",
        ),
        (
            Some("sim_a"),
            json!({ "model": common::GPT, "input": [] }).to_string(),
            400,
            "missing_input",
        ),
        (
            Some("sim_a"),
            json!({ "model": "openai/dall-e-9", "input": {} }).to_string(),
            400,
            "model_not_found",
        ),
        (
            Some("sim_a"),
            run_body(json!({ "prompt": "x", "resolution": "4K" })).to_string(),
            400,
            "invalid_input",
        ),
        (Some("sim_broke_key"), valid(), 402, "insufficient_balance"),
        (
            Some("sim_spent_key"),
            valid(),
            403,
            "api_key_spend_limit_exceeded",
        ),
        (Some("sim_ip_key"), valid(), 403, "ip_not_allowed"),
        (Some("sim_quota_key"), valid(), 429, "USAGE_EXCEEDED"),
    ];
    for (key, body, status, want) in cases {
        let (got, headers, answer) = send(post(&server, key, &body)).await;
        assert_eq!((got, code(&answer)), (status, want), "{key:?} {body}");
        assert!(answer["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        assert_eq!(headers["access-control-allow-origin"], "*");
        assert_eq!(headers["x-runbase-backend"], "simulator");
    }
    let (_, _, answer) = send(post(
        &server,
        Some("sim_a"),
        &run_body(json!({ "prompt": "x", "resolution": "4K" })).to_string(),
    ))
    .await;
    assert_eq!(answer["error"]["issues"][0]["path"], "resolution");

    let (status, _, created) = send(post(&server, Some("sim_a"), &valid())).await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().expect("id");
    let (status, _, answer) = send(poll(&server, "sim_b", id)).await;
    assert_eq!(
        (status, code(&answer)),
        (404, "run_not_found"),
        "another key's run"
    );
    let (status, _, answer) = send(poll(&server, "sim_a", "run_nope")).await;
    assert_eq!((status, code(&answer)), (404, "run_not_found"));
}

#[tokio::test]
async fn a_run_goes_queued_running_succeeded_with_a_real_png() {
    let server = Server::simulator(1500);
    let (status, _, run) = send(post(&server, Some("sim_life"), &valid())).await;
    assert_eq!(status, 201);
    assert_eq!(run["status"], "queued");
    assert_eq!(run["output"], Value::Null);
    let id = run["id"].as_str().expect("id").to_string();
    let mut seen = vec!["queued".to_string()];
    let mut finished = Value::Null;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (status, _, run) = send(poll(&server, "sim_life", &id)).await;
        assert_eq!(status, 200);
        let now = run["status"].as_str().expect("status").to_string();
        if seen.last() != Some(&now) {
            seen.push(now.clone());
        }
        if now == "succeeded" {
            finished = run;
            break;
        }
    }
    assert_eq!(seen, ["queued", "running", "succeeded"]);
    let url = finished["output"]["urls"][0]
        .as_str()
        .expect("an output url");
    let png = client().get(url).send().await.expect("image");
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.expect("bytes");
    assert_eq!(&bytes[1..4], b"PNG");
    let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    assert_eq!((width, height), (2048, 877), "2K at 21:9");
}

#[tokio::test]
async fn twenty_requests_per_ten_seconds_per_key() {
    let server = Server::simulator(1000);
    for i in 0..20 {
        let (status, _, _) = send(poll(&server, "sim_busy", "run_x")).await;
        assert_eq!(status, 404, "request {i} is within the budget");
    }
    let (status, headers, answer) = send(post(&server, Some("sim_busy"), &valid())).await;
    assert_eq!((status, code(&answer)), (429, "RATE_LIMITED"));
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry), "Retry-After {retry}");
    let (status, _, _) = send(post(&server, Some("sim_other"), &valid())).await;
    assert_eq!(status, 201, "another key has its own budget");
}

#[tokio::test]
async fn browsers_may_call_it() {
    let server = Server::simulator(1000);
    let answer = client()
        .request(reqwest::Method::OPTIONS, server.url("/sim/v1/runs"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("preflight");
    assert_eq!(answer.status().as_u16(), 204);
    let allowed = answer.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"));
    let exposed = answer.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("Retry-After"));
}

#[tokio::test]
async fn request_faults() {
    let server = Server::simulator(300);
    server
        .faults(json!([
            { "on": "create", "kind": "server_error" },
            { "on": "create", "kind": "html_502" },
            { "on": "create", "kind": "malformed_json" },
            { "on": "create", "kind": "wrong_content_type" },
            { "on": "create", "kind": "usage_exceeded" },
            { "on": "create", "kind": "insufficient_balance" },
            { "on": "create", "kind": "rate_limited", "retry_after": 3 },
            { "on": "create", "kind": "rate_limited" },
        ]))
        .await;
    let mut seen = vec![];
    for _ in 0..8 {
        let answer = post(&server, Some("sim_f"), &valid())
            .send()
            .await
            .expect("answer");
        let status = answer.status().as_u16();
        let retry = answer
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let kind = answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        let text = answer.text().await.unwrap();
        seen.push((status, kind, retry, text));
    }
    assert_eq!(seen[0].0, 500);
    assert!(seen[1].3.contains("<h1>502 Bad Gateway</h1>") && seen[1].1.starts_with("text/html"));
    assert!(
        serde_json::from_str::<Value>(&seen[2].3).is_err(),
        "malformed JSON"
    );
    assert_eq!((seen[3].0, seen[3].1.as_str()), (200, "text/plain"));
    assert!(seen[4].3.contains("USAGE_EXCEEDED") && seen[4].0 == 429 && seen[4].2.is_none());
    assert!(seen[5].3.contains("insufficient_balance") && seen[5].0 == 402);
    assert_eq!((seen[6].0, seen[6].2.as_deref()), (429, Some("3")));
    assert_eq!(
        (seen[7].0, seen[7].2.as_deref()),
        (429, None),
        "429 without Retry-After"
    );
    let (status, _, _) = send(post(&server, Some("sim_f"), &valid())).await;
    assert_eq!(status, 201, "faults are used up, then normal service");

    server
        .faults(json!([{ "on": "poll", "kind": "drop", "count": 2 }]))
        .await;
    for _ in 0..2 {
        let result = poll(&server, "sim_f", "run_x").send().await;
        assert!(result.is_err(), "dropped connection: {result:?}");
    }
    server
        .faults(json!([{ "on": "poll", "kind": "slow", "delay_ms": 700 }]))
        .await;
    let started = std::time::Instant::now();
    let (status, _, _) = send(poll(&server, "sim_f", "run_x")).await;
    assert_eq!(status, 404);
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "slow answer"
    );
}

#[tokio::test]
async fn run_outcome_faults() {
    let server = Server::simulator(300);
    server
        .faults(json!([
            { "kind": "run_failed", "message": "The model refused: unsafe content" },
            { "kind": "run_never_finishes" },
            { "kind": "run_unknown_status" },
            { "kind": "run_no_output" },
        ]))
        .await;
    let mut ids = vec![];
    for _ in 0..4 {
        let (_, _, run) = send(post(&server, Some("sim_o"), &valid())).await;
        ids.push(run["id"].as_str().expect("id").to_string());
    }
    let (_, _, early) = send(poll(&server, "sim_o", &ids[2])).await;
    assert_eq!(
        early["status"], "warming_up",
        "an unknown status string while it works"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut finals = vec![];
    for id in &ids {
        let (_, _, run) = send(poll(&server, "sim_o", id)).await;
        finals.push(run);
    }
    assert_eq!(finals[0]["status"], "failed");
    assert_eq!(
        finals[0]["error"]["message"],
        "The model refused: unsafe content"
    );
    assert_eq!(finals[1]["status"], "running");
    assert_eq!(finals[2]["status"], "succeeded");
    assert_eq!(finals[3]["status"], "succeeded");
    assert_eq!(finals[3]["output"], json!({}));
    let stats = get_json(server.url("/__sim/stats")).await;
    assert_eq!(stats["keys"]["sim_o"]["requests"], 9);
}

#[tokio::test]
async fn fault_controls_are_off_unless_asked_for() {
    let server = Server::start(&[], &[]);
    let answer = client()
        .post(server.url("/__sim/faults"))
        .body(r#"{"faults":[{"kind":"drop"}]}"#)
        .send()
        .await
        .expect("answer");
    assert_ne!(answer.status().as_u16(), 200);
    let (status, _, _) = send(poll(&server, "sim_x", "run_x")).await;
    assert_eq!(status, 404, "no fault was installed");
}
