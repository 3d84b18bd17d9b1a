//! The run broker over real HTTP, with the built-in simulator as the upstream (the same path
//! as the real API): one key-wide budget, one poller per run, long-polls, overload.

mod common;

use std::time::{Duration, Instant};

use common::{as_run, client, code, get_json, get_text, run_body, send, upstream_seen, Server};
use serde_json::{json, Value};

const KEY: &str = "sk-sim-proxy";

fn valid() -> Value {
    run_body(json!({ "prompt": "A matte ceramic vase" }))
}

fn broker(run_ms: u64, extra: &[&str]) -> Server {
    let run_ms = run_ms.to_string();
    let mut args = vec![
        "--sim-run-ms",
        &run_ms,
        "--test-faults",
        "--client-limit",
        "10000",
    ];
    args.extend_from_slice(extra);
    Server::start(&args, &[])
}

/// Creates a run and long-polls it until it is finished, as the wasm client does behind a
/// proxy that offers the long-poll.
async fn generate(server: &Server) -> Value {
    let http = client();
    let (status, headers, mut run) =
        send(http.post(server.url("/api/v1/runs")).json(&valid())).await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(headers["x-runbase-long-poll"], "25");
    let id = run["id"].as_str().unwrap().to_string();
    for _ in 0..30 {
        if as_run(&run).status.is_finished() {
            return run;
        }
        let seen = run["status"].as_str().unwrap().to_string();
        let url = server.url(&format!("/api/v1/runs/{id}?wait=25&seen={seen}"));
        let (status, _, next) = send(http.get(url)).await;
        assert_eq!(status, 200, "{next}");
        run = next;
    }
    panic!("run {id} never finished: {run}");
}

#[tokio::test]
async fn thirty_clients_share_one_key_without_a_429() {
    let server = broker(1500, &[]);
    let started = Instant::now();
    let runs = futures_util::future::join_all((0..30).map(|_| generate(&server))).await;
    assert_eq!(runs.len(), 30);
    for run in &runs {
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    let (requests, limited, most) = upstream_seen(&server, KEY).await;
    assert_eq!(limited, 0, "no upstream 429");
    assert!(
        most <= 19,
        "at most 19 upstream requests in any 10 s: {most}"
    );
    assert!(requests >= 60, "a create and a poll per run: {requests}");
    assert!(
        requests <= 30 + 45,
        "about one poll per run, not one per browser poll: {requests}"
    );
    let stats = get_json(server.url("/__runbase/stats")).await;
    assert_eq!(stats["mode"], "broker");
    assert_eq!(stats["upstream"]["rateLimited"], 0);
    assert_eq!(stats["upstream"]["requestsTotal"], requests);
    assert_eq!(stats["runs"]["created"], 30);
    assert_eq!(stats["runs"]["finished"], 30);
    assert_eq!(stats["runs"]["followed"], 0);
    assert!(stats["lagMs"]["p50"].as_f64().is_some(), "{stats}");
    assert!(stats["runs"]["pollsPerFinishedRun"].as_f64().unwrap() >= 1.0);
    let metrics = get_text(server.url("/metrics")).await;
    for line in [
        "runbase_upstream_requests_total{status=\"201\"} 30",
        "runbase_runs_created_total 30",
        "runbase_runs_finished_total{status=\"succeeded\"} 30",
        "runbase_spend_micro_usd_total 1500000",
        "runbase_queue_depth{class=\"creates\"} 0",
        "runbase_runs_followed 0",
        "runbase_finish_lag_seconds_count 30",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    assert!(
        !metrics.contains("status=\"429\""),
        "no upstream 429:\n{metrics}"
    );
    eprintln!(
        "30 runs in {:?}, {requests} upstream requests",
        started.elapsed()
    );
}

#[tokio::test]
async fn ten_watchers_of_one_run_cost_one_poller() {
    let server = broker(
        4000,
        &["--first-poll-ms", "1000", "--poll-interval-ms", "1000"],
    );
    let (status, _, run) = send(client().post(server.url("/api/v1/runs")).json(&valid())).await;
    assert_eq!(status, 201);
    let id = run["id"].as_str().unwrap().to_string();
    let created = Instant::now();
    let watchers = (0..10).map(|_| {
        let url = server.url(&format!("/api/v1/runs/{id}?wait=25"));
        async move {
            let (status, _, run) = send(client().get(url)).await;
            (status, run, created.elapsed())
        }
    });
    for (status, run, took) in futures_util::future::join_all(watchers).await {
        assert_eq!((status, run["status"].as_str()), (200, Some("succeeded")));
        assert!(
            took < Duration::from_millis(5800),
            "known about a poll interval after it ended: {took:?}"
        );
    }
    let (requests, limited, _) = upstream_seen(&server, KEY).await;
    assert_eq!(limited, 0);
    // One create, then one poll a second from 1 s until it ended at 4 s: 4 or 5 polls,
    // where 10 browsers polling each second would have made about 40.
    assert!((4..=7).contains(&requests), "{requests} upstream requests");
}

#[tokio::test]
async fn the_long_poll_answers_on_a_change_and_when_the_wait_ends() {
    let server = broker(
        3000,
        &["--first-poll-ms", "400", "--poll-interval-ms", "400"],
    );
    let (_, _, run) = send(client().post(server.url("/api/v1/runs")).json(&valid())).await;
    assert_eq!(run["status"], "pending");
    let id = run["id"].as_str().unwrap().to_string();
    let created = Instant::now();
    let runs = server.url(&format!("/api/v1/runs/{id}"));

    // Without a wait: at once, from the table.
    let (status, _, now) = send(client().get(&runs)).await;
    assert_eq!((status, now["status"].as_str()), (200, Some("pending")));
    assert!(created.elapsed() < Duration::from_millis(300));

    // On a change: pending → processing (at 600 ms; the poll at 800 ms sees it).
    let asked = Instant::now();
    let (status, headers, next) = send(
        client()
            .get(format!("{runs}?wait=20&seen=pending"))
            .header("origin", server.base.as_str()),
    )
    .await;
    assert_eq!((status, next["status"].as_str()), (200, Some("processing")));
    assert!(
        asked.elapsed() < Duration::from_millis(1500),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(headers["x-runbase-long-poll"], "25");
    // Header names are case-insensitive; tower-http writes them in lower case.
    let exposed = headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("x-runbase-long-poll") && exposed.contains("retry-after"),
        "{exposed}"
    );

    // When the wait ends: the current state, 200.
    let asked = Instant::now();
    let (status, _, same) = send(client().get(format!("{runs}?wait=1&seen=processing"))).await;
    assert_eq!((status, same["status"].as_str()), (200, Some("processing")));
    let took = asked.elapsed();
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_millis(1600),
        "{took:?}"
    );

    // `Prefer: wait=N` and no `seen`: when the run is finished.
    let (status, _, done) = send(client().get(&runs).header("prefer", "wait=20")).await;
    assert_eq!((status, done["status"].as_str()), (200, Some("succeeded")));
    let took = created.elapsed();
    assert!(
        took >= Duration::from_millis(2900) && took < Duration::from_millis(4000),
        "{took:?}"
    );

    // The preflight allows the Prefer header.
    let preflight = client()
        .request(reqwest::Method::OPTIONS, &runs)
        .header("origin", server.base.as_str())
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("prefer"), "{allowed}");
}

#[tokio::test]
async fn overload_beyond_the_queue_gets_429_with_retry_after() {
    let server = broker(20_000, &["--queue-max", "3", "--queue-wait-ms", "1500"]);
    let creates = (0..30).map(|_| send(client().post(server.url("/api/v1/runs")).json(&valid())));
    let answers = futures_util::future::join_all(creates).await;
    let created = answers.iter().filter(|(s, _, _)| *s == 201).count();
    let refused: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 429).collect();
    assert_eq!(created, 19, "the key's window (19 of 20) is all there is");
    assert_eq!(refused.len(), 11);
    for (_, headers, body) in refused {
        assert_eq!(code(body), "RATE_LIMITED");
        let secs: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&secs), "{secs}");
        assert_eq!(headers["x-runbase-long-poll"], "25");
    }
    let (_, limited, most) = upstream_seen(&server, KEY).await;
    assert_eq!((limited, most), (0, 19));
    let stats = get_json(server.url("/__runbase/stats")).await;
    assert_eq!(stats["queue"]["refused"], 11);
    assert_eq!(
        stats["runs"]["followed"], 19,
        "every created run is followed"
    );
}

#[tokio::test]
async fn an_upstream_429_pauses_and_the_create_still_succeeds() {
    let server = broker(500, &[]);
    server
        .faults(json!([{ "on": "create", "kind": "rate_limited", "retry_after": 2, "count": 1 }]))
        .await;
    let started = Instant::now();
    let (status, _, run) = send(client().post(server.url("/api/v1/runs")).json(&valid())).await;
    assert_eq!(status, 201, "{run}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "paused for the Retry-After"
    );
    let stats = get_json(server.url("/__runbase/stats")).await;
    assert_eq!(stats["upstream"]["rateLimited"], 1);
}

#[tokio::test]
async fn a_run_made_elsewhere_is_fetched_once() {
    let server = broker(300, &[]);
    let (status, _, run) = send(
        client()
            .post(server.url("/sim/v1/runs"))
            .bearer_auth(KEY)
            .json(&valid()),
    )
    .await;
    assert_eq!(status, 201);
    let id = run["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let url = server.url(&format!("/api/v1/runs/{id}"));
    let together = futures_util::future::join_all((0..5).map(|_| send(client().get(&url)))).await;
    for (status, _, run) in together {
        assert_eq!((status, run["status"].as_str()), (200, Some("succeeded")));
    }
    for _ in 0..5 {
        let (status, _, _) = send(client().get(&url)).await;
        assert_eq!(status, 200);
    }
    let (requests, _, _) = upstream_seen(&server, KEY).await;
    assert_eq!(requests, 2, "the create elsewhere and one fetch");
    let (status, headers, body) = send(client().get(server.url("/api/v1/runs/run_nope"))).await;
    assert_eq!((status, code(&body)), (404, "run_not_found"));
    assert_eq!(headers["x-runbase-long-poll"], "25");
}

#[tokio::test]
async fn pass_through_forwards_every_poll() {
    let server = broker(300, &["--pass-through"]);
    let (status, headers, run) =
        send(client().post(server.url("/api/v1/runs")).json(&valid())).await;
    assert_eq!(status, 201);
    assert!(headers.get("x-runbase-long-poll").is_none());
    let url = server.url(&format!("/api/v1/runs/{}", run["id"].as_str().unwrap()));
    for _ in 0..3 {
        send(client().get(&url)).await;
    }
    let (requests, _, _) = upstream_seen(&server, KEY).await;
    assert_eq!(requests, 4);
    let stats = get_json(server.url("/__runbase/stats")).await;
    assert_eq!(stats["mode"], "pass-through");
}
