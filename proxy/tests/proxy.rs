//! The proxy over real HTTP: in front of a fake upstream that records what it receives, and
//! in front of the built-in simulator. The key must reach the upstream and nothing else.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use common::{as_error, as_run, client, code, get_json, get_text, nulls, run_body, send, Server};
use runbase_image::core::api::RunStatus;
use serde_json::{json, Value};

const KEY: &str = "sk-live-7f3a9c1e5b2d4f6a8c0e";

#[derive(Default)]
struct Recorded {
    requests: Vec<(String, Option<String>, String)>,
}

#[derive(Clone)]
struct Fake {
    recorded: Arc<Mutex<Recorded>>,
    delay: Duration,
}

/// A stand-in for the real API that records method+path, Authorization and body.
async fn fake_upstream(delay: Duration) -> (String, Arc<Mutex<Recorded>>) {
    let recorded = Arc::new(Mutex::new(Recorded::default()));
    let fake = Fake {
        recorded: recorded.clone(),
        delay,
    };
    async fn create(
        State(fake): State<Fake>,
        headers: HeaderMap,
        body: String,
    ) -> (axum::http::StatusCode, Json<Value>) {
        fake.record("POST /runs", &headers, body);
        tokio::time::sleep(fake.delay).await;
        (axum::http::StatusCode::CREATED, Json(created_run()))
    }
    async fn fetch(
        State(fake): State<Fake>,
        Path(id): Path<String>,
        headers: HeaderMap,
    ) -> axum::response::Response {
        use axum::http::StatusCode;
        use axum::response::IntoResponse;
        fake.record(&format!("GET /runs/{id}"), &headers, String::new());
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        match id.as_str() {
            // A careless upstream that quotes what it received.
            "run_echo" => (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "error": {
                    "message": format!("Key not accepted: {auth}. {}", "Details follow. ".repeat(100)),
                    "code": "invalid_api_key",
                    "received": { "authorization": auth },
                } })),
            )
                .into_response(),
            "run_echo_ok" => Json(json!({
                "id": "run_echo_ok", "model": common::GPT, "status": "failed",
                "error": { "message": format!("upstream trace: {auth}") },
            }))
            .into_response(),
            "run_html" => (
                StatusCode::OK,
                [("content-type", "text/html")],
                "<html><body><h1>Welcome to nginx!</h1></body></html>",
            )
                .into_response(),
            "run_list" => Json(json!({ "runs": [] })).into_response(),
            "run_badstatus" => Json(json!({ "id": "run_badstatus", "status": 3 })).into_response(),
            "run_limited" => (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "2")],
                Json(json!({ "error": { "message": "Rate limit exceeded", "code": "RATE_LIMITED" } })),
            )
                .into_response(),
            "run_down" => (
                StatusCode::INTERNAL_SERVER_ERROR,
                [("content-type", "text/plain")],
                "upstream fell over",
            )
                .into_response(),
            _ => Json(finished_run(&id)).into_response(),
        }
    }
    let app = Router::new()
        .route("/v1/runs", post(create))
        .route("/v1/runs/{id}", get(fetch))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/v1"), recorded)
}

/// A created run as docs/RUNBASE-API.md documents it, plus a member the API might add one day.
fn created_run() -> Value {
    json!({
        "id": "run_fake1",
        "model": common::GPT,
        "status": "pending",
        "costUsd": 50000,
        "createdAt": "2026-06-01T12:00:00.000Z",
        "queuePosition": 3,
    })
}

/// A succeeded run, with a `null` member the proxy drops (the documented objects have none).
fn finished_run(id: &str) -> Value {
    json!({
        "id": id,
        "model": common::GPT,
        "status": "succeeded",
        "costUsd": 50000,
        "output": { "urls": ["https://cdn.example/a.png"], "seed": 42 },
        "createdAt": "2026-06-01T12:00:00.000Z",
        "completedAt": "2026-06-01T12:00:04.200Z",
        "error": null,
    })
}

impl Fake {
    fn record(&self, what: &str, headers: &HeaderMap, body: String) {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        self.recorded
            .lock()
            .unwrap()
            .requests
            .push((what.to_string(), auth, body));
    }
}

/// The proxy as it forwards every browser request (`--pass-through`): these tests are about
/// what reaches the upstream and what comes back (the broker's own are in broker.rs).
fn proxy_to(upstream: &str, extra: &[&str]) -> Server {
    let mut args = vec!["--upstream", upstream, "--pass-through"];
    args.extend_from_slice(extra);
    Server::start(&args, &[("RUNBASE_API_KEY", KEY)])
}

fn valid() -> Value {
    run_body(json!({ "prompt": "A matte ceramic vase", "aspect_ratio": "16:9" }))
}

#[tokio::test]
async fn the_key_reaches_the_upstream_and_nothing_else() {
    let (upstream, recorded) = fake_upstream(Duration::ZERO).await;
    let server = proxy_to(&upstream, &[]);
    let answer = client()
        .post(server.url("/api/v1/runs"))
        .bearer_auth("browser-typed-key")
        .json(&json!({ "model": common::GPT, "input": { "prompt": "A vase" }, "webhook": "https://evil.example" }))
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status().as_u16(), 201);
    assert_eq!(answer.headers()["content-type"], "application/json");
    let headers = format!("{:?}", answer.headers());
    let body = answer.text().await.unwrap();
    let created: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        created,
        created_run(),
        "the run as it came, extra members kept"
    );
    assert_eq!(as_run(&created).status, RunStatus::Pending);
    let answer = client()
        .get(server.url("/api/v1/runs/run_fake1"))
        .send()
        .await
        .expect("poll");
    let headers2 = format!("{:?}", answer.headers());
    let body2 = answer.text().await.unwrap();
    let finished: Value = serde_json::from_str(&body2).unwrap();
    let mut want = finished_run("run_fake1");
    want.as_object_mut().unwrap().remove("error");
    assert_eq!(
        finished, want,
        "written back with serde: null members dropped"
    );
    assert!(nulls(&finished, "").is_empty());
    assert_eq!(as_run(&finished).urls(), ["https://cdn.example/a.png"]);

    let requests = recorded.lock().unwrap().requests.clone();
    assert_eq!(requests.len(), 2);
    for (what, auth, _) in &requests {
        assert_eq!(
            auth.as_deref(),
            Some(format!("Bearer {KEY}").as_str()),
            "{what}"
        );
    }
    let forwarded: Value = serde_json::from_str(&requests[0].2).unwrap();
    assert_eq!(
        forwarded,
        json!({
            "model": common::GPT,
            "input": { "prompt": "A vase", "aspect_ratio": "1:1", "resolution": "1K" },
        }),
        "only what was checked goes upstream, defaults filled in"
    );
    let (status, output) = server.stop();
    assert!(status.success(), "clean shutdown: {output}");
    for (place, text) in [
        ("headers", &headers),
        ("body", &body),
        ("headers", &headers2),
        ("body", &body2),
        ("log", &output),
    ] {
        assert!(
            !text.contains(KEY),
            "the key leaked into the {place}: {text}"
        );
        assert!(
            !text.contains("browser-typed-key"),
            "the browser's key appears in the {place}"
        );
    }
    assert!(
        output.contains("mode: PROXY") && output.contains("stopped cleanly"),
        "{output}"
    );
}

#[tokio::test]
async fn bad_requests_are_refused_before_the_upstream() {
    let (upstream, recorded) = fake_upstream(Duration::ZERO).await;
    let server = proxy_to(&upstream, &[]);
    let runs = server.url("/api/v1/runs");
    let huge = format!("data:image/png;base64,{}", "A".repeat(6_000_000));
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            client().post(&runs).json(
                &run_body(json!({ "prompt": "x" }))
                    .as_object()
                    .map(|o| {
                        let mut o = o.clone();
                        o.insert("model".into(), json!("openai/dall-e-3"));
                        o
                    })
                    .unwrap(),
            ),
            400,
            "model_not_allowed",
        ),
        (
            client()
                .post(&runs)
                .json(&run_body(json!({ "prompt": "", "resolution": "4K" }))),
            400,
            "invalid_input",
        ),
        (client().post(&runs).body("{oops"), 400, "invalid_json"),
        (
            client().post(&runs).json(&json!({ "input": {} })),
            400,
            "missing_model",
        ),
        (
            client().post(&runs).json(&json!({ "model": common::GPT })),
            400,
            "missing_input",
        ),
        (
            client().post(&runs).json(&run_body(
                json!({ "prompt": "x", "image_urls": [&huge, &huge, &huge, &huge] }),
            )),
            413,
            "payload_too_large",
        ),
        (
            client()
                .post(&runs)
                .header("origin", "https://evil.example")
                .json(&valid()),
            403,
            "origin_not_allowed",
        ),
        (
            client().put(&runs).json(&valid()),
            405,
            "method_not_allowed",
        ),
        (
            client().delete(server.url("/api/v1/runs/run_1")),
            405,
            "method_not_allowed",
        ),
        (client().get(server.url("/api/v1/models")), 404, "not_found"),
        (
            client().get(server.url("/api/v1/runs/run_1/cancel")),
            404,
            "not_found",
        ),
        (
            client().get(server.url("/api/v1/runs/run%2F..%2F..%2Fsecrets")),
            404,
            "run_not_found",
        ),
    ];
    for (i, (request, status, want)) in cases.into_iter().enumerate() {
        let (got, headers, body) = send(request).await;
        assert_eq!((got, code(&body)), (status, want), "case {i}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "case {i}"
        );
        assert!(!format!("{headers:?}{body}").contains(KEY));
    }
    let (_, _, body) = send(
        client()
            .post(&runs)
            .json(&run_body(json!({ "prompt": "x", "resolution": "4K" }))),
    )
    .await;
    assert_eq!(
        body["error"]["issues"][0]["code"],
        "resolution_not_allowed_for_aspect_ratio"
    );
    assert_eq!(body["error"]["issues"][0]["path"], "resolution");
    assert_eq!(
        as_error(&body).error.code.as_ref().map(|c| c.as_str()),
        Some("invalid_input")
    );
    assert!(
        recorded.lock().unwrap().requests.is_empty(),
        "nothing reached the upstream"
    );
    assert!(!server.output().contains(KEY));
}

#[tokio::test]
async fn origins_are_checked() {
    let (upstream, _) = fake_upstream(Duration::ZERO).await;
    let server = proxy_to(&upstream, &["--allowed-origins", "https://app.example"]);
    let own = server.base.clone();
    for (origin, allowed) in [
        (own.as_str(), true),
        ("https://app.example", true),
        ("https://evil.example", false),
        ("null", false),
    ] {
        let answer = client()
            .post(server.url("/api/v1/runs"))
            .header("origin", origin)
            .json(&valid())
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status().is_success(), allowed, "{origin}");
        let echoed = answer
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(echoed.as_deref(), allowed.then_some(origin), "{origin}");
    }
    let preflight = client()
        .request(reqwest::Method::OPTIONS, server.url("/api/v1/runs"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status().as_u16(), 403);
}

#[tokio::test]
async fn upstream_trouble_becomes_json_errors() {
    let (slow, _) = fake_upstream(Duration::from_secs(3)).await;
    let server = proxy_to(&slow, &["--upstream-timeout-ms", "500"]);
    let (status, _, body) = send(client().post(server.url("/api/v1/runs")).json(&valid())).await;
    assert_eq!((status, code(&body)), (504, "upstream_timeout"));

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{address}/v1")
    };
    let server = proxy_to(&closed, &[]);
    let (status, _, body) = send(client().get(server.url("/api/v1/runs/run_1"))).await;
    assert_eq!((status, code(&body)), (502, "upstream_unreachable"));
}

#[tokio::test]
async fn upstream_errors_are_reshaped_and_the_key_never_leaves() {
    let (upstream, _) = fake_upstream(Duration::ZERO).await;
    let server = proxy_to(&upstream, &[]);
    let answer = client()
        .get(server.url("/api/v1/runs/run_echo"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 401);
    let text = answer.text().await.unwrap();
    assert!(!text.contains(KEY), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let error = body["error"].as_object().unwrap();
    let members: Vec<&str> = error.keys().map(String::as_str).collect();
    assert_eq!(
        members,
        ["code", "message"],
        "only code and message: {text}"
    );
    assert_eq!(error["code"], "invalid_api_key");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("Key not accepted: Bearer [redacted]."),
        "{message}"
    );
    assert_eq!(message.chars().count(), 300);
    // A run that quotes it too.
    let text = get_text(server.url("/api/v1/runs/run_echo_ok")).await;
    assert!(!text.contains(KEY), "{text}");
    assert!(text.contains("upstream trace: Bearer [redacted]"), "{text}");
}

#[tokio::test]
async fn an_upstream_success_that_is_not_a_run_is_a_502() {
    let (upstream, recorded) = fake_upstream(Duration::ZERO).await;
    let server = proxy_to(&upstream, &[]);
    for (id, says) in [
        ("run_html", "Welcome to nginx!"),
        ("run_list", "runs"),
        ("run_badstatus", "status"),
    ] {
        let (status, headers, body) =
            send(client().get(server.url(&format!("/api/v1/runs/{id}")))).await;
        assert_eq!(status, 502, "{id}: {body}");
        let error = as_error(&body).error;
        assert_eq!(
            error.code.as_ref().map(|c| c.as_str()),
            Some("upstream_invalid_response")
        );
        assert!(
            error.message.contains("HTTP 200") && error.message.contains("not a run object"),
            "{}",
            error.message
        );
        assert!(error.message.contains(says), "{id}: {}", error.message);
        assert!(error.message.len() < 500, "{}", error.message);
        assert_eq!(headers["content-type"], "application/json");
    }
    // Error answers keep their status, code and Retry-After, in the API's envelope.
    let (status, headers, body) = send(client().get(server.url("/api/v1/runs/run_limited"))).await;
    assert_eq!((status, code(&body)), (429, "RATE_LIMITED"));
    assert_eq!(headers["retry-after"], "2");
    assert_eq!(body["error"]["message"], "Rate limit exceeded");
    // A body that is not the API's error JSON is described, in that envelope, without a code.
    let (status, headers, body) = send(client().get(server.url("/api/v1/runs/run_down"))).await;
    assert_eq!(status, 500);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        body,
        json!({ "error": { "message": "The Runbase API answered HTTP 500 with a body that is not its error JSON: \"upstream fell over\"" } })
    );
    assert_eq!(recorded.lock().unwrap().requests.len(), 5);
}

#[test]
fn only_models_the_library_knows_may_be_allowed() {
    // The proxy forwards only input the library checked: a model it cannot check is refused
    // at start, not at the first request.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_runbase-server"))
        .args(["--listen", "127.0.0.1:0"])
        .args(["--allowed-models", "openai/gpt-image-2,acme/unknown-model"])
        .env("RUNBASE_API_KEY", KEY)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    for _ in 0..100 {
        if child.try_wait().expect("status").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("output");
    assert_eq!(output.status.code(), Some(2), "it refuses to start");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("\"acme/unknown-model\" is not a model this library can validate"),
        "{said}"
    );
    assert!(!said.contains(KEY));
}

#[tokio::test]
async fn one_client_is_limited() {
    let (upstream, recorded) = fake_upstream(Duration::ZERO).await;
    let server = proxy_to(&upstream, &["--client-limit", "3"]);
    for _ in 0..3 {
        let (status, _, _) = send(client().get(server.url("/api/v1/runs/run_1"))).await;
        assert_eq!(status, 200);
    }
    let (status, headers, body) = send(client().get(server.url("/api/v1/runs/run_1"))).await;
    assert_eq!((status, code(&body)), (429, "RATE_LIMITED"));
    assert!(headers.contains_key("retry-after"));
    assert_eq!(recorded.lock().unwrap().requests.len(), 3);
}

#[tokio::test]
async fn static_files_and_no_escape() {
    // The page's sources: dist/ is built later in scripts/test.
    let server = Server::start(&["--sim-run-ms", "500", "--www", "www"], &[]);
    let page = client().get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("<!doctype html>"));
    for path in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/pkg/../Cargo.toml",
        "/pkg/%2e%2e/Cargo.toml",
        "/pkg/..%2fCargo.toml",
        "/..%5cCargo.toml",
        "/%2e%2e/%2e%2e/etc/passwd",
    ] {
        let raw = raw_get(&server.base, path).await;
        assert!(
            !raw.contains("[workspace]") && !raw.contains("root:"),
            "{path} escaped: {raw}"
        );
        assert!(
            raw.starts_with("HTTP/1.1 4"),
            "{path}: {}",
            raw.lines().next().unwrap_or("")
        );
    }
}

/// A GET with the path sent exactly as written (clients normalise `..` away).
async fn raw_get(base: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    answer
}

#[tokio::test]
async fn in_front_of_the_simulator() {
    let server = Server::simulator(600);
    let info = get_json(server.url("/__runbase/backend")).await;
    assert_eq!(info["backend"], "simulator");
    assert_eq!(info["apiBase"], "/api/v1");
    // A browser's own header is dropped: the simulator would refuse this key.
    let (status, headers, run) = send(
        client()
            .post(server.url("/api/v1/runs"))
            .bearer_auth("not_a_runbase_key")
            .json(&valid()),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(headers["x-runbase-backend"], "simulator");
    let id = run["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(as_run(&run).status, RunStatus::Pending);
    assert_eq!(run["costUsd"], 50000);
    assert!(run.get("input").is_none() && nulls(&run, "").is_empty());
    // The broker follows the run; the long-poll answers once it has finished.
    let (_, headers, run) =
        send(client().get(server.url(&format!("/api/v1/runs/{id}?wait=10")))).await;
    assert_eq!(headers["x-runbase-long-poll"], "25");
    assert_eq!(run["status"], "succeeded");
    assert!(run["completedAt"].is_string());
    let url = run["output"]["urls"][0].as_str().unwrap();
    assert!(
        url.starts_with(&server.base),
        "image URL on the server the browser used: {url}"
    );
    let png = client().get(url).send().await.unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    let (status, output) = server.stop();
    assert!(status.success());
    assert!(output.contains("mode: SIMULATOR"));
    assert!(
        !output.contains(runbase_server_proxy_key()),
        "the internal key is not logged"
    );
}

fn runbase_server_proxy_key() -> &'static str {
    "sk-sim-proxy"
}

#[tokio::test]
async fn slow_loris_bodies_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (upstream, recorded) = fake_upstream(Duration::ZERO).await;
    let server = proxy_to(&upstream, &["--body-timeout-ms", "600"]);
    let address = server.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/v1/runs HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"model\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = String::new();
    let read =
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer)).await;
    assert!(read.is_ok(), "the proxy did not cut the connection off");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"));
    assert!(recorded.lock().unwrap().requests.is_empty());
}

#[tokio::test]
async fn a_flood_from_one_client_does_not_starve_another() {
    let (upstream, _) = fake_upstream(Duration::ZERO).await;
    let server = proxy_to(&upstream, &["--client-limit", "5"]);
    let from = |ip: [u8; 4]| {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(ip))
            .build()
            .unwrap()
    };
    let (flooder, other) = (from([127, 0, 0, 1]), from([127, 0, 0, 2]));
    let mut statuses = vec![];
    for _ in 0..30 {
        let answer = flooder
            .get(server.url("/api/v1/runs/run_1"))
            .send()
            .await
            .unwrap();
        statuses.push(answer.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 5);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 25);
    let answer = other
        .get(server.url("/api/v1/runs/run_1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status().as_u16(),
        200,
        "another client is still served"
    );
}

#[tokio::test]
async fn only_the_two_run_routes_and_methods_exist() {
    let (upstream, recorded) = fake_upstream(Duration::ZERO).await;
    let server = proxy_to(&upstream, &[]);
    for (method, path, status) in [
        ("PATCH", "/api/v1/runs", 405),
        ("HEAD", "/api/v1/runs/run_1", 405),
        ("PUT", "/api/v1/runs/run_1", 405),
        ("GET", "/api/v1/runs", 404),
        ("POST", "/api/v1/runs/run_1", 404),
        ("GET", "/api/v1/account", 404),
        ("POST", "/api/v1/models/openai/gpt-image-2", 404),
        ("GET", "/api/v1/", 404),
        ("GET", "/api/v2/runs", 404),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let answer = client()
            .request(method.clone(), server.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), status, "{method} {path}");
        let text = answer.text().await.unwrap();
        assert!(!text.contains(KEY));
    }
    assert!(recorded.lock().unwrap().requests.is_empty());
}

#[tokio::test]
async fn json_logs_name_the_run_and_never_a_secret() {
    let (upstream, _) = fake_upstream(Duration::ZERO).await;
    // Through the broker, which creates in a task of its own: the run id still reaches the
    // request's span.
    let server = Server::start(
        &["--upstream", &upstream, "--log-format", "json"],
        &[("RUNBASE_API_KEY", KEY)],
    );
    let answer = client()
        .post(server.url("/api/v1/runs?token=query-secret"))
        .bearer_auth("browser-access-token")
        .header("cookie", "session=cookie-secret")
        .json(&valid())
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status().as_u16(), 201);
    let answer = client()
        .get(server.url("/api/v1/runs/run_fake1?wait=1"))
        .bearer_auth("browser-access-token")
        .send()
        .await
        .expect("read");
    assert_eq!(answer.status().as_u16(), 200);
    let (_, output) = server.stop();
    let lines: Vec<Value> = output
        .lines()
        .filter(|line| !line.starts_with("runbase-server listening on "))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let answered = |method: &str| {
        lines
            .iter()
            .find(|l| l["message"] == "answered" && l["span"]["method"] == method)
            .unwrap_or_else(|| panic!("no {method} line in {output}"))
    };
    let create = answered("POST");
    assert_eq!(create["span"]["run_id"], "run_fake1", "{create}");
    assert_eq!(create["span"]["path"], "/api/v1/runs", "no query string");
    assert_eq!(create["status"], 201);
    assert_eq!(answered("GET")["span"]["run_id"], "run_fake1");
    for secret in [KEY, "browser-access-token", "query-secret", "cookie-secret"] {
        assert!(!output.contains(secret), "{secret} is in the log: {output}");
    }
}

/// What the reqwest of these tests gets, undecoded: it has no decompression of its own.
async fn fetch(url: String, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = client().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("an answer")
}

#[tokio::test]
async fn files_are_compressed_as_accepted_and_revalidated_and_api_answers_are_neither() {
    use std::io::Read;
    // A package and a site of the test's own: the real ones are built later in scripts/test.
    let dir = std::env::temp_dir().join(format!("runbase-files-{}", std::process::id()));
    let (pkg, www) = (dir.join("pkg"), dir.join("www"));
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::create_dir_all(&www).unwrap();
    let wasm: Vec<u8> = (0..64_000u32)
        .map(|i| (i % 251) as u8 ^ (i / 4096) as u8)
        .collect();
    std::fs::write(pkg.join("module_bg.wasm"), &wasm).unwrap();
    std::fs::write(www.join("index.html"), "<!doctype html>".repeat(100)).unwrap();
    let script = "console.log('a file named by its hash');".repeat(50);
    std::fs::write(www.join("app.0123456789abcdef.js"), &script).unwrap();
    std::fs::write(www.join("app.js"), &script).unwrap();
    let server = Server::start(
        &[
            "--pkg",
            pkg.to_str().unwrap(),
            "--www",
            www.to_str().unwrap(),
            "--sim-run-ms",
            "300",
        ],
        &[],
    );
    let wasm_url = server.url("/pkg/module_bg.wasm");

    let answer = fetch(
        wasm_url.clone(),
        &[("accept-encoding", "gzip, deflate, br")],
    )
    .await;
    let headers = answer.headers().clone();
    assert_eq!(
        headers["content-encoding"], "br",
        "brotli when the browser takes it"
    );
    assert_eq!(headers["content-type"], "application/wasm");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["vary"], "accept-encoding");
    let body = answer.bytes().await.unwrap();
    assert!(
        body.len() < wasm.len() / 4,
        "{} bytes for {}",
        body.len(),
        wasm.len()
    );
    let mut decoded = Vec::new();
    brotli_decompressor::Decompressor::new(&body[..], 4096)
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, wasm);

    let answer = fetch(wasm_url.clone(), &[("accept-encoding", "gzip")]).await;
    assert_eq!(answer.headers()["content-encoding"], "gzip");
    let body = answer.bytes().await.unwrap();
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, wasm);

    // Without Accept-Encoding: the bytes as they are.
    let answer = fetch(wasm_url.clone(), &[]).await;
    assert!(!answer.headers().contains_key("content-encoding"));
    assert_eq!(answer.bytes().await.unwrap(), wasm);

    // The page: revalidated, and 304 when unchanged.
    let page = fetch(server.url("/"), &[("accept-encoding", "br")]).await;
    assert_eq!(page.headers()["content-encoding"], "br");
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let modified = page.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    let again = fetch(server.url("/"), &[("if-modified-since", &modified)]).await;
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["cache-control"], "no-cache");
    assert!(again.bytes().await.unwrap().is_empty());

    // A name with its content's hash is kept a year; the same file unhashed is revalidated.
    let hashed = fetch(
        server.url("/app.0123456789abcdef.js"),
        &[("accept-encoding", "br")],
    )
    .await;
    assert_eq!(hashed.status(), 200);
    assert_eq!(hashed.headers()["content-encoding"], "br");
    assert_eq!(
        hashed.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let plain = fetch(server.url("/app.js"), &[]).await;
    assert_eq!(plain.headers()["cache-control"], "no-cache");
    assert_eq!(plain.text().await.unwrap(), script);
    // A file that is not there is not kept either.
    let missing = fetch(server.url("/app.fedcba9876543210.js"), &[]).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["cache-control"], "no-store");

    // The API: never compressed (a long-poll must not wait on an encoder), never kept.
    let create = client()
        .post(server.url("/api/v1/runs"))
        .header("accept-encoding", "gzip, br")
        .json(&valid());
    let (status, headers, run) = send(create).await;
    assert_eq!(status, 201, "{run}");
    assert!(!headers.contains_key("content-encoding"));
    assert_eq!(headers["cache-control"], "no-store");
    let id = run["id"].as_str().unwrap();
    let url = server.url(&format!("/api/v1/runs/{id}?wait=5"));
    let poll = fetch(url, &[("accept-encoding", "gzip, br")]).await;
    assert!(!poll.headers().contains_key("content-encoding"));
    assert_eq!(poll.headers()["cache-control"], "no-store");
    let stats = fetch(server.url("/__runbase/stats"), &[]).await;
    assert_eq!(stats.headers()["cache-control"], "no-store");
    let _ = std::fs::remove_dir_all(&dir);
}
