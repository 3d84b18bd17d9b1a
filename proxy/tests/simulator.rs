//! The simulator over real HTTP on 127.0.0.1: every behaviour docs/RUNBASE-API.md documents, and the
//! test-only fault scripts.

mod common;

use std::time::Duration;

use common::{as_error, as_run, client, code, get_json, iso_ms, nulls, run_body, send, Server};
use runbase_image::core::api::RunStatus;
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
        (Some("sim_a"), valid(), 401, "invalid_api_key"),
        (Some("SK-a"), valid(), 401, "invalid_api_key"),
        (Some("sk-a"), "{not json".into(), 400, "invalid_json"),
        (
            Some("sk-a"),
            json!({ "input": {} }).to_string(),
            400,
            "missing_model",
        ),
        (
            Some("sk-a"),
            json!({ "model": 5, "input": {} }).to_string(),
            400,
            "missing_model",
        ),
        (
            Some("sk-a"),
            json!({ "model": common::GPT }).to_string(),
            400,
            "missing_input",
        ),
        (
            Some("sk-a"),
            json!({ "model": common::GPT, "input": [] }).to_string(),
            400,
            "missing_input",
        ),
        (
            Some("sk-a"),
            json!({ "model": "openai/dall-e-9", "input": {} }).to_string(),
            400,
            "model_not_found",
        ),
        (
            Some("sk-a"),
            run_body(json!({ "prompt": "x", "resolution": "4K" })).to_string(),
            400,
            "invalid_input",
        ),
        (Some("sk-sim-broke"), valid(), 402, "insufficient_balance"),
        (
            Some("sk-sim-spent"),
            valid(),
            403,
            "api_key_spend_limit_exceeded",
        ),
        (Some("sk-sim-ip"), valid(), 403, "ip_not_allowed"),
        (Some("sk-sim-quota"), valid(), 429, "USAGE_EXCEEDED"),
    ];
    for (key, body, status, want) in cases {
        let (got, headers, answer) = send(post(&server, key, &body)).await;
        assert_eq!((got, code(&answer)), (status, want), "{key:?} {body}");
        let error = as_error(&answer).error;
        assert_eq!(error.code.as_ref().map(|c| c.as_str()), Some(want));
        assert!(!error.message.is_empty());
        let documented = if want == "invalid_input" {
            sorted(&["message", "code", "issues"])
        } else {
            sorted(&["message", "code"])
        };
        assert_eq!(members(&answer["error"]), documented, "{answer}");
        assert_eq!(answer.as_object().unwrap().len(), 1, "{answer}");
        assert!(headers.get("retry-after").is_none());
        assert_eq!(headers["access-control-allow-origin"], "*");
        assert_eq!(headers["x-runbase-backend"], "simulator");
    }
    let (_, _, answer) = send(post(
        &server,
        Some("sk-a"),
        &run_body(json!({ "prompt": "x", "resolution": "4K" })).to_string(),
    ))
    .await;
    let issue = &answer["error"]["issues"][0];
    assert_eq!(issue["path"], "resolution");
    assert_eq!(issue["code"], "resolution_not_allowed_for_aspect_ratio");
    assert_eq!(issue["severity"], "error");
    assert!(issue["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(
        issue["allowed"].is_array(),
        "the core Issue, all of it: {issue}"
    );

    let (status, _, created) = send(post(&server, Some("sk-a"), &valid())).await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().expect("id");
    let (status, _, answer) = send(poll(&server, "sk-b", id)).await;
    assert_eq!(
        (status, code(&answer)),
        (404, "run_not_found"),
        "another key's run"
    );
    let (status, _, answer) = send(poll(&server, "sk-a", "run_nope")).await;
    assert_eq!((status, code(&answer)), (404, "run_not_found"));
}

/// The members an object has, sorted (serde_json's map sorts its keys).
fn members(object: &Value) -> Vec<&str> {
    object
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// The members every run object has, with `more`, sorted as [`members`] lists them.
fn run_members<'a>(more: &[&'a str]) -> Vec<&'a str> {
    let always = ["id", "model", "status", "costUsd", "createdAt"];
    sorted(&[&always[..], more].concat())
}

/// `names` sorted, to compare with [`members`].
fn sorted<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut names = names.to_vec();
    names.sort_unstable();
    names
}

#[tokio::test]
async fn a_run_goes_pending_processing_succeeded_with_a_real_png() {
    let server = Server::simulator(1500);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let (status, _, body) = send(post(&server, Some("sk-life"), &valid())).await;
    assert_eq!(status, 201);
    assert_eq!(
        members(&body),
        run_members(&[]),
        "as documented, no input echo: {body}"
    );
    let run = as_run(&body);
    assert_eq!(run.status, RunStatus::Pending);
    assert_eq!(run.model.as_deref(), Some(common::GPT));
    assert_eq!(run.cost_micro_usd, Some(70_000), "2K costs $0.07");
    assert!(run.id.starts_with("run_"));
    let created_at = run.created_at.clone().expect("createdAt");
    let created = iso_ms(&created_at).unwrap_or_else(|| panic!("ISO with ms: {created_at}"));
    assert!(
        (before - 2000..=before + 10_000).contains(&created),
        "createdAt {created_at} is now"
    );
    let mut seen = vec![run.status.clone()];
    let mut finished = Value::Null;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (status, _, body) = send(poll(&server, "sk-life", &run.id)).await;
        assert_eq!(status, 200);
        assert!(nulls(&body, "").is_empty(), "no null members: {body}");
        let now = as_run(&body);
        assert_eq!(now.created_at.as_deref(), Some(created_at.as_str()));
        assert_eq!(now.cost_micro_usd, Some(70_000));
        if seen.last() != Some(&now.status) {
            seen.push(now.status.clone());
        }
        if now.status == RunStatus::Succeeded {
            finished = body;
            break;
        }
        assert_eq!(
            members(&body),
            run_members(&[]),
            "unfinished: no completedAt, output or error"
        );
    }
    assert_eq!(
        seen,
        [
            RunStatus::Pending,
            RunStatus::Processing,
            RunStatus::Succeeded
        ]
    );
    assert_eq!(
        members(&finished),
        run_members(&["completedAt", "output"]),
        "{finished}"
    );
    assert_eq!(members(&finished["output"]), ["urls"]);
    let run = as_run(&finished);
    let completed_at = run.completed_at.clone().expect("completedAt");
    let completed = iso_ms(&completed_at).unwrap_or_else(|| panic!("ISO with ms: {completed_at}"));
    assert_eq!(
        completed - created,
        1500,
        "{created_at} → {completed_at}: the run's time"
    );
    assert_eq!(run.urls().len(), 1);
    let png = client().get(&run.urls()[0]).send().await.expect("image");
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.expect("bytes");
    assert_eq!(&bytes[1..4], b"PNG");
    let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    assert_eq!((width, height), (2048, 877), "2K at 21:9");
}

#[tokio::test]
async fn the_cost_follows_the_resolution() {
    let server = Server::simulator(1000);
    for (input, cost) in [
        (json!({ "prompt": "A lamp" }), 50_000),
        (json!({ "prompt": "A lamp", "resolution": "1K" }), 50_000),
        (json!({ "prompt": "A lamp", "resolution": "2K" }), 70_000),
        (
            json!({ "prompt": "A lamp", "resolution": "4K", "aspect_ratio": "16:9" }),
            120_000,
        ),
        (
            json!({ "prompt": "A lamp", "resolution": "4K", "aspect_ratio": "9:16" }),
            120_000,
        ),
    ] {
        let body = run_body(input.clone()).to_string();
        let (status, _, run) = send(post(&server, Some("sk-cost"), &body)).await;
        assert_eq!(status, 201, "{input}");
        assert_eq!(run["costUsd"], cost, "{input}");
        assert_eq!(
            as_run(&run).cost_micro_usd,
            runbase_image::GPT_IMAGE_2.cost_micro_usd(input["resolution"].as_str().unwrap_or("1K")),
            "the model's own price"
        );
    }
}

#[tokio::test]
async fn twenty_requests_per_ten_seconds_per_key() {
    let server = Server::simulator(1000);
    for i in 0..20 {
        let (status, _, _) = send(poll(&server, "sk-busy", "run_x")).await;
        assert_eq!(status, 404, "request {i} is within the budget");
    }
    for request in [
        post(&server, Some("sk-busy"), &valid()),
        poll(&server, "sk-busy", "run_x"),
    ] {
        let (status, headers, answer) = send(request).await;
        assert_eq!(status, 429);
        assert_eq!(
            answer,
            json!({ "error": { "message": "Rate limit exceeded", "code": "RATE_LIMITED" } }),
            "the documented body"
        );
        assert!(
            headers.get("retry-after").is_none(),
            "docs/RUNBASE-API.md promises no Retry-After: {headers:?}"
        );
    }
    let (status, _, _) = send(post(&server, Some("sk-other"), &valid())).await;
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
    // What a page may read of an answer is said on the answer itself.
    let answer = client()
        .get(server.url("/sim/v1/runs/run_none"))
        .header("origin", "https://app.example")
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.headers()["access-control-allow-origin"], "*");
    let exposed = answer.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(exposed.contains("retry-after"), "{exposed}");
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
        let answer = post(&server, Some("sk-f"), &valid())
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
    assert_eq!(
        serde_json::from_str::<Value>(&seen[0].3).unwrap(),
        json!({ "error": { "message": "Internal server error" } }),
        "no code is promised for a 500"
    );
    assert!(seen[1].3.contains("<h1>502 Bad Gateway</h1>") && seen[1].1.starts_with("text/html"));
    assert!(
        serde_json::from_str::<Value>(&seen[2].3).is_err(),
        "malformed JSON"
    );
    assert_eq!((seen[3].0, seen[3].1.as_str()), (200, "text/plain"));
    assert!(seen[4].3.contains("USAGE_EXCEEDED") && seen[4].0 == 429 && seen[4].2.is_none());
    assert!(seen[5].3.contains("insufficient_balance") && seen[5].0 == 402);
    assert_eq!((seen[6].0, seen[6].2.as_deref()), (429, Some("3")));
    for rate_limited in &seen[6..8] {
        assert_eq!(
            serde_json::from_str::<Value>(&rate_limited.3).unwrap(),
            json!({ "error": { "message": "Rate limit exceeded", "code": "RATE_LIMITED" } })
        );
    }
    assert_eq!(
        (seen[7].0, seen[7].2.as_deref()),
        (429, None),
        "429 without Retry-After"
    );
    let (status, _, _) = send(post(&server, Some("sk-f"), &valid())).await;
    assert_eq!(status, 201, "faults are used up, then normal service");

    server
        .faults(json!([{ "on": "poll", "kind": "drop", "count": 2 }]))
        .await;
    for _ in 0..2 {
        let result = poll(&server, "sk-f", "run_x").send().await;
        assert!(result.is_err(), "dropped connection: {result:?}");
    }
    server
        .faults(json!([{ "on": "poll", "kind": "slow", "delay_ms": 700 }]))
        .await;
    let started = std::time::Instant::now();
    let (status, _, _) = send(poll(&server, "sk-f", "run_x")).await;
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
        let (_, _, run) = send(post(&server, Some("sk-o"), &valid())).await;
        ids.push(as_run(&run).id);
    }
    let (_, _, early) = send(poll(&server, "sk-o", &ids[2])).await;
    assert_eq!(
        early["status"], "warming_up",
        "an unknown status string while it works"
    );
    let early = as_run(&early);
    assert_eq!(early.status, RunStatus::Other("warming_up".into()));
    assert!(!early.status.is_finished() && early.completed_at.is_none());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut finals = vec![];
    for id in &ids {
        let (_, _, run) = send(poll(&server, "sk-o", id)).await;
        assert!(nulls(&run, "").is_empty(), "no null members: {run}");
        assert!(run.get("input").is_none());
        finals.push(run);
    }

    let failed = as_run(&finals[0]);
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(
        members(&finals[0]),
        run_members(&["completedAt", "error"]),
        "a failed run has an error and no output"
    );
    assert_eq!(
        failed.error.as_ref().and_then(|e| e.message()),
        Some("The model refused: unsafe content. The charge of $0.07 was refunded."),
        "the message notes the full refund"
    );
    assert_eq!(failed.cost_micro_usd, Some(70_000));
    let (created, completed) = (
        iso_ms(failed.created_at.as_deref().unwrap()).unwrap(),
        iso_ms(failed.completed_at.as_deref().unwrap()).unwrap(),
    );
    assert_eq!(completed - created, 300);

    let stuck = as_run(&finals[1]);
    assert_eq!(stuck.status, RunStatus::Processing);
    assert!(stuck.completed_at.is_none() && stuck.output.is_none());

    assert_eq!(as_run(&finals[2]).status, RunStatus::Succeeded);
    assert_eq!(as_run(&finals[2]).urls().len(), 1);

    let empty = as_run(&finals[3]);
    assert_eq!(empty.status, RunStatus::Succeeded);
    assert!(empty.urls().is_empty() && finals[3].get("output").is_none());
    assert!(empty.completed_at.is_some());

    let stats = get_json(server.url("/__sim/stats")).await;
    assert_eq!(stats["keys"]["sk-o"]["requests"], 9);
}

#[tokio::test]
async fn keys_look_like_runbase_keys() {
    let server = Server::simulator(300);
    for key in ["sk-", "sk-anything", "sk-sim-proxy", "sk-live-7f3a9c1e"] {
        let (status, _, run) = send(post(&server, Some(key), &valid())).await;
        assert_eq!(status, 201, "{key}: {run}");
    }
    for key in [
        "sim_a",
        "sim_proxy_key",
        "sim_broke_key",
        "rk_live_1",
        "Bearer",
        "ssk-a",
    ] {
        let (status, _, answer) = send(post(&server, Some(key), &valid())).await;
        assert_eq!((status, code(&answer)), (401, "invalid_api_key"), "{key}");
    }
    // Account states are refused on polls too, except an empty balance (a create's problem).
    for (key, status, want) in [
        ("sk-sim-spent", 403, "api_key_spend_limit_exceeded"),
        ("sk-sim-ip", 403, "ip_not_allowed"),
        ("sk-sim-quota", 429, "USAGE_EXCEEDED"),
        ("sk-sim-broke", 404, "run_not_found"),
    ] {
        let (got, headers, answer) = send(poll(&server, key, "run_x")).await;
        assert_eq!((got, code(&answer)), (status, want), "{key}");
        assert!(headers.get("retry-after").is_none(), "{key}");
    }
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
    let (status, _, _) = send(poll(&server, "sk-x", "run_x")).await;
    assert_eq!(status, 404, "no fault was installed");
}

/// A page at an origin the server does not know is refused; the log names the origin and
/// what is allowed, and the answer says how to allow it (and that 127.0.0.1 and localhost
/// are different origins).
#[tokio::test]
async fn a_refused_origin_is_named_with_how_to_allow_it() {
    let server = Server::start(&["--allowed-origins", "http://localhost:4173"], &[]);
    let page = "http://192.168.7.9:4173";
    let (status, _, body) = send(
        client()
            .post(server.url("/api/v1/runs"))
            .header("origin", page)
            .json(&run_body(json!({ "prompt": "A lamp" }))),
    )
    .await;
    assert_eq!((status, code(&body)), (403, "origin_not_allowed"));
    let message = body["error"]["message"].as_str().unwrap_or_default();
    for needed in [
        "pages at http://192.168.7.9:4173",
        "--allowed-origins http://192.168.7.9:4173",
        "(now: http://localhost:4173)",
        "http://127.0.0.1:4173 and http://localhost:4173 are different origins",
    ] {
        assert!(message.contains(needed), "{needed:?} not in {message:?}");
    }
    // The browser's preflight is refused too, with the same words (a page sees only a
    // failed fetch: the log is where its developer looks).
    let preflight = client()
        .request(reqwest::Method::OPTIONS, server.url("/api/v1/runs"))
        .header("origin", page)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status().as_u16(), 403);
    assert!(preflight
        .text()
        .await
        .unwrap_or_default()
        .contains("--allowed-origins http://192.168.7.9:4173"));
    let log = server.wait_for_output("refused a browser request");
    let line = log
        .lines()
        .find(|l| l.contains("refused a browser request"))
        .unwrap_or_else(|| panic!("no refusal in the log:\n{log}"));
    assert!(
        line.contains("from origin http://192.168.7.9:4173"),
        "{line}"
    );
    assert!(
        line.contains("localhost, ::1") || line.contains("127.0.0.1"),
        "{line}"
    );
    assert!(
        line.contains("--allowed-origins (http://localhost:4173)"),
        "{line}"
    );
    assert!(
        line.contains("start with --allowed-origins http://192.168.7.9:4173"),
        "{line}"
    );
    assert_eq!(
        log.matches("refused a browser request").count(),
        1,
        "logged once per origin"
    );
    // Its own names are allowed at any port; a listed origin too.
    for origin in ["http://127.0.0.1:5173", "http://localhost:4173"] {
        let (status, _, _) = send(
            client()
                .post(server.url("/api/v1/runs"))
                .header("origin", origin)
                .json(&run_body(json!({ "prompt": "A lamp" }))),
        )
        .await;
        assert!((200..300).contains(&status), "{origin}: {status}");
    }
}
