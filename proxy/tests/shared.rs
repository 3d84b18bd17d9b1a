//! Several proxies of one key on one real redis-server, over real HTTP, in front of the
//! built-in simulator with its strict per-key window (20 requests per 10 s): the budget is
//! shared, any instance answers any run, a killed instance's runs reach their users through
//! another, and Redis paused or missing is said clearly and recovered from.

mod common;

use std::time::{Duration, Instant};

use common::{as_run, client, code, get_json, run_body, send, upstream_seen, Redis, Server};
use serde_json::{json, Value};

const KEY: &str = "sk-sim-proxy";

/// The upstream: the simulator alone (its own proxy side is not used).
fn simulator(run_ms: u64) -> Server {
    let run_ms = run_ms.to_string();
    Server::start(&["--sim-run-ms", &run_ms, "--test-faults"], &[])
}

/// A proxy of the simulator's `KEY`, sharing its state through `redis` (if any).
fn proxy(upstream: &Server, redis: Option<&str>) -> Server {
    let base = upstream.url("/sim/v1");
    let mut args = vec!["--upstream", &base, "--client-limit", "10000"];
    if let Some(url) = redis {
        args.extend(["--redis", url]);
    }
    Server::start(&args, &[("RUNBASE_API_KEY", KEY)])
}

fn valid() -> Value {
    run_body(json!({ "prompt": "A matte ceramic vase" }))
}

async fn create(proxy: &Server) -> (u16, reqwest::header::HeaderMap, Value) {
    send(client().post(proxy.url("/api/v1/runs")).json(&valid())).await
}

/// Long-polls a run until it is finished, each poll on the next of `proxies` in turn.
async fn follow(proxies: &[&Server], mut run: Value, turn: usize) -> Value {
    let id = run["id"].as_str().unwrap().to_string();
    for poll in 0..40 {
        if as_run(&run).status.is_finished() {
            return run;
        }
        let proxy = proxies[(turn + poll) % proxies.len()];
        let seen = run["status"].as_str().unwrap().to_string();
        let url = proxy.url(&format!("/api/v1/runs/{id}?wait=25&seen={seen}"));
        let (status, _, next) = send(client().get(url)).await;
        assert_eq!(status, 200, "{next}");
        run = next;
    }
    panic!("run {id} never finished: {run}");
}

/// One user: creates on one proxy, then long-polls through both in turn.
async fn generate(proxies: &[&Server], user: usize) -> Value {
    let (status, _, run) = create(proxies[user % proxies.len()]).await;
    assert_eq!(status, 201, "{run}");
    follow(proxies, run, user + 1).await
}

#[tokio::test]
async fn two_proxies_on_one_redis_share_the_key_budget() {
    let upstream = simulator(1500);
    let redis = Redis::start();
    let (a, b) = (
        proxy(&upstream, Some(&redis.url)),
        proxy(&upstream, Some(&redis.url)),
    );
    let both = [&a, &b];
    let started = Instant::now();
    let runs = futures_util::future::join_all((0..30).map(|user| generate(&both, user))).await;
    let took = started.elapsed();
    for run in &runs {
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    let (requests, limited, most) = upstream_seen(&upstream, KEY).await;
    eprintln!("30 runs through two proxies in {took:?}: {requests} upstream requests");
    assert_eq!(limited, 0, "no upstream 429");
    assert!(
        most <= 19,
        "at most 19 upstream requests in any 10 s: {most}"
    );
    let (sa, sb) = (
        get_json(a.url("/__runbase/stats")).await,
        get_json(b.url("/__runbase/stats")).await,
    );
    let created = |s: &Value| s["runs"]["created"].as_u64().unwrap();
    assert_eq!(created(&sa) + created(&sb), 30);
    assert!(created(&sa) >= 10 && created(&sb) >= 10, "{sa}\n{sb}");
    assert_eq!(sa["shared"]["redis"], "up");
    assert_eq!(sa["shared"]["instancesAlive"], 2);
    assert_ne!(sa["shared"]["instance"], sb["shared"]["instance"]);
    for stats in [&sa, &sb] {
        assert_eq!(
            stats["runs"]["unknownFetched"], 0,
            "each instance knew the other's runs from Redis"
        );
    }
    assert!(
        requests <= 30 + 45,
        "one poller per run, not one per proxy or per browser poll: {requests}"
    );
}

/// The same load without Redis: each proxy keeps its own budget, and together they overrun
/// the key (what the shared window prevents).
#[tokio::test]
async fn two_proxies_without_redis_overrun_the_key() {
    let upstream = simulator(1500);
    let (a, b) = (proxy(&upstream, None), proxy(&upstream, None));
    // Each proxy then pauses on the upstream's 429s: only what reached the upstream matters.
    let creates = (0..30).map(|user| {
        let proxy = if user % 2 == 0 { &a } else { &b };
        tokio::time::timeout(Duration::from_secs(3), create(proxy))
    });
    futures_util::future::join_all(creates).await;
    let (_, limited, most) = upstream_seen(&upstream, KEY).await;
    assert!(most > 20 || limited > 0, "most {most}, 429s {limited}");
}

#[tokio::test]
async fn a_killed_proxy_s_runs_reach_their_users_through_the_other() {
    let upstream = simulator(4000);
    let redis = Redis::start();
    let (a, b) = (
        proxy(&upstream, Some(&redis.url)),
        proxy(&upstream, Some(&redis.url)),
    );
    let mut runs = Vec::new();
    for _ in 0..6 {
        let (status, _, run) = create(&a).await;
        assert_eq!(status, 201, "{run}");
        runs.push(run);
    }
    let killed = Instant::now();
    drop(a); // SIGKILL: no goodbye, its leases simply stop being renewed
    let only_b = [&b];
    let finished =
        futures_util::future::join_all(runs.into_iter().map(|r| follow(&only_b, r, 0))).await;
    let taken = killed.elapsed();
    for run in &finished {
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    eprintln!("the killed instance's 6 runs (4 s) reached their users {taken:?} after the kill");
    let stats = get_json(b.url("/__runbase/stats")).await;
    assert_eq!(stats["runs"]["takenOver"], 6, "{stats}");
    assert!(
        taken < Duration::from_secs(15),
        "the runs (4 s) reached their users {taken:?} after the kill"
    );
    let (_, limited, _) = upstream_seen(&upstream, KEY).await;
    assert_eq!(limited, 0);
}

/// The one window where a run is charged twice, measured from outside: the API has made (and
/// charged) a run, its answer has not reached the instance yet, and the instance is killed.
/// Nobody learns the run's id (the API has no idempotency key and no list of runs); the
/// user's retry makes a second one.
#[tokio::test]
async fn a_create_answered_after_its_instance_died_is_charged_twice_when_retried() {
    let upstream = simulator(2000);
    let redis = Redis::start();
    let (a, b) = (
        proxy(&upstream, Some(&redis.url)),
        proxy(&upstream, Some(&redis.url)),
    );
    upstream
        .faults(json!([{ "on": "create", "kind": "slow_answer", "delay_ms": 3000 }]))
        .await;
    let pending = tokio::spawn({
        let url = a.url("/api/v1/runs");
        async move { client().post(url).json(&valid()).send().await }
    });
    // Until the API has made the run (its 201 is written, not yet sent).
    let until = Instant::now() + Duration::from_secs(10);
    while created_upstream(&upstream).await == 0 {
        assert!(Instant::now() < until, "the create never reached the API");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(a); // SIGKILL
    let lost = pending.await.expect("task");
    assert!(lost.is_err(), "the browser gets no answer: {lost:?}");
    let stats = get_json(b.url("/__runbase/stats")).await;
    assert_eq!(
        stats["runs"]["known"], 0,
        "no instance knows the run: {stats}"
    );
    // The user presses Generate again.
    let (status, _, again) = create(&b).await;
    assert_eq!(status, 201, "{again}");
    follow(&[&b], again, 0).await;
    assert_eq!(
        created_upstream(&upstream).await,
        2,
        "two runs charged for the one image the user saw"
    );
}

/// Runs the API made for the proxies' key (creates it answered 201).
async fn created_upstream(upstream: &Server) -> u64 {
    let stats = get_json(upstream.url("/__sim/stats")).await;
    stats["keys"][KEY]["runs_created"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn redis_paused_refuses_new_runs_clearly_keeps_old_ones_and_recovers() {
    let upstream = simulator(3000);
    let redis = Redis::start();
    let a = proxy(&upstream, Some(&redis.url));
    let (status, _, going) = create(&a).await;
    assert_eq!(status, 201, "{going}");
    redis.pause();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, headers, body) = create(&a).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(code(&body), "SHARED_STATE_UNAVAILABLE");
    assert!(body["error"]["message"].as_str().unwrap().contains("Redis"));
    assert_eq!(headers["retry-after"], "5");
    // The run started before goes on: its poller grants itself a share of the budget.
    let finished = follow(&[&a], going, 0).await;
    assert_eq!(finished["status"], "succeeded", "{finished}");
    let stats = get_json(a.url("/__runbase/stats")).await;
    assert_eq!(stats["shared"]["redis"], "down");
    redis.resume();
    let back = Instant::now();
    loop {
        let (status, _, run) = create(&a).await;
        if status == 201 {
            follow(&[&a], run, 0).await;
            break;
        }
        assert_eq!(status, 503, "{run}");
        assert!(back.elapsed() < Duration::from_secs(10), "no recovery");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, limited, _) = upstream_seen(&upstream, KEY).await;
    assert_eq!(limited, 0);
    let output = a.output();
    assert!(output.contains("does not answer"), "{output}");
    assert!(output.contains("answers again"), "{output}");
}

#[tokio::test]
async fn redis_missing_at_start_is_said_and_joined_when_it_comes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let upstream = simulator(1000);
    let url = format!("redis://127.0.0.1:{port}");
    let a = proxy(&upstream, Some(&url));
    let said = "does NOT answer: new runs are refused";
    let output = a.wait_for_output(said);
    assert!(output.contains(said), "{output}");
    let (status, _, body) = create(&a).await;
    assert_eq!((status, code(&body)), (503, "SHARED_STATE_UNAVAILABLE"));
    let _redis = Redis::start_on(port);
    let came = Instant::now();
    loop {
        let (status, _, run) = create(&a).await;
        if status == 201 {
            assert_eq!(follow(&[&a], run, 0).await["status"], "succeeded");
            break;
        }
        assert!(
            came.elapsed() < Duration::from_secs(10),
            "never joined: {run}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn redis_restarted_empty_loses_no_run() {
    let upstream = simulator(6000);
    let redis = Redis::start();
    let (a, b) = (
        proxy(&upstream, Some(&redis.url)),
        proxy(&upstream, Some(&redis.url)),
    );
    let mut runs = Vec::new();
    for _ in 0..4 {
        let (status, _, run) = create(&a).await;
        assert_eq!(status, 201, "{run}");
        runs.push(run);
    }
    // Users watch through the instance that did not create the runs, while Redis dies and
    // comes back with nothing (no persistence): the pollers write their runs again.
    let only_b = [&b];
    let watch = futures_util::future::join_all(runs.into_iter().map(|r| follow(&only_b, r, 0)));
    let port = redis.port;
    let restart = async move {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        drop(redis);
        tokio::time::sleep(Duration::from_millis(3000)).await;
        Redis::start_on(port)
    };
    let (finished, _redis) = tokio::join!(watch, restart);
    for run in &finished {
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    let (_, limited, most) = upstream_seen(&upstream, KEY).await;
    assert_eq!(limited, 0);
    assert!(most <= 19, "{most}");
    let (status, _, run) = create(&b).await;
    assert_eq!(status, 201, "creates resume: {run}");
}
