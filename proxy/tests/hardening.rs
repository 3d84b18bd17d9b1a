//! The proxy under attack, over real HTTP with the built-in simulator as upstream:
//! DNS rebinding, idle and trickling connections, connection floods, body floods with the
//! memory measured, invented run ids, the spend guard, and the right codes for odd bodies.
//! Attackers and users come from different loopback addresses (127.0.0.x), as on a network.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use common::{code, get_json, run_body, send, Redis, Server};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const KEY: &str = "sk-sim-proxy";

fn server(extra: &[&str]) -> Server {
    let mut args = vec!["--sim-run-ms", "1000", "--test-faults"];
    args.extend_from_slice(extra);
    Server::start(&args, &[])
}

fn address(server: &Server) -> SocketAddr {
    server.base.trim_start_matches("http://").parse().unwrap()
}

fn ip(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// An HTTP client whose connections come from 127.0.0.`last`.
fn client_from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip(last))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// A TCP connection from 127.0.0.`last`.
async fn connect_from(last: u8, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(ip(last), 0))?;
    socket.connect(to).await
}

/// Sends raw bytes and reads the answer until the server closes (at most 10 s).
async fn raw(to: SocketAddr, request: &str) -> String {
    let mut stream = connect_from(9, to).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// Requests the simulator saw with the proxy's key.
async fn upstream_requests(server: &Server) -> u64 {
    let stats = get_json(server.url("/__sim/stats")).await;
    stats["keys"][KEY]["requests"].as_u64().unwrap_or(0)
}

fn valid() -> Value {
    run_body(json!({ "prompt": "A matte ceramic vase" }))
}

/// Creates a valid run from 127.0.0.`last`.
async fn create_from(server: &Server, last: u8) -> (u16, reqwest::header::HeaderMap, Value) {
    send(
        client_from(last)
            .post(server.url("/api/v1/runs"))
            .json(&valid()),
    )
    .await
}

#[tokio::test]
async fn only_its_own_host_names_are_served() {
    let server = server(&["--public-host", "app.example.com"]);
    let to = address(&server);
    let port = to.port();
    // A page on another site whose name was rebound to the proxy's address.
    let body = valid().to_string();
    let rebound = format!(
        "POST /api/v1/runs HTTP/1.1\r\nHost: rebind.attacker.example:{port}\r\nOrigin: http://rebind.attacker.example:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = raw(to, &rebound).await;
    assert!(answer.starts_with("HTTP/1.1 421"), "{answer}");
    assert!(answer.contains("host_not_allowed"), "{answer}");
    assert!(!answer.contains("access-control-allow-origin"), "{answer}");
    for path in ["/api/v1/runs/run_1", "/", "/__runbase/stats"] {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: rebind.attacker.example\r\nConnection: close\r\n\r\n"
        );
        assert!(
            raw(to, &request).await.starts_with("HTTP/1.1 421"),
            "{path}"
        );
    }
    // An absolute-form target names the host too.
    let absolute = format!(
        "GET http://rebind.attacker.example:{port}/__runbase/backend HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    assert!(raw(to, &absolute).await.starts_with("HTTP/1.1 421"));
    assert_eq!(upstream_requests(&server).await, 0, "nothing went upstream");
    // Its own names: the listen address, the loopback forms, and --public-host.
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "app.example.com".to_string(),
    ] {
        let request = format!(
            "GET /__runbase/backend HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nConnection: close\r\n\r\n"
        );
        let answer = raw(to, &request).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{host}: {answer}");
    }
    // A page under one of the server's own names is same-site at any port (a dev server on
    // localhost:5173); any other origin is not, whatever the request's Host.
    let (status, _, body) = send(
        client_from(3)
            .post(server.url("/api/v1/runs"))
            .header("origin", "http://rebind.attacker.example")
            .json(&valid()),
    )
    .await;
    assert_eq!((status, code(&body)), (403, "origin_not_allowed"));
    let answer = client_from(3)
        .post(server.url("/api/v1/runs"))
        .header("origin", "http://localhost:5173")
        .json(&valid())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 201);
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
}

/// What arrives on `stream` until it has been quiet for 300 ms, or closed.
async fn read_for_now(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(Ok(n @ 1..)) =
        tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buffer)).await
    {
        all.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(&all).into_owned()
}

#[tokio::test]
async fn idle_and_trickling_connections_are_closed() {
    // The idle time-out is longer than the header one: a kept-alive connection must outlive
    // the header time-out (hyper's own would close it then) and still close when idle.
    let server = server(&["--idle-timeout-ms", "3000", "--header-timeout-ms", "1000"]);
    let to = address(&server);
    let request = b"GET /__runbase/backend HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    // Silent from the start: it owes a request head.
    let started = Instant::now();
    let mut idle = connect_from(2, to).await.unwrap();
    let mut buffer = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), idle.read(&mut buffer)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "still open: {read:?}"
    );
    let silent_for = started.elapsed();
    assert!(silent_for < Duration::from_millis(2500), "{silent_for:?}");
    // Headers trickled one line every 300 ms, which would take 6 s.
    let mut trickle = connect_from(2, to).await.unwrap();
    let started = Instant::now();
    let mut closed = false;
    for line in
        std::iter::once("GET /__runbase/backend HTTP/1.1\r\nHost: 127.0.0.1\r\n".to_string())
            .chain((0..20).map(|i| format!("X-Slow-{i}: 1\r\n")))
    {
        if trickle.write_all(line.as_bytes()).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let trickled_for = started.elapsed();
    assert!(
        closed && trickled_for < Duration::from_secs(3),
        "a trickle of headers was let go on for {trickled_for:?}"
    );
    // Kept alive: still there for a request twice the header time-out later, and told how
    // long it may idle.
    let mut kept = connect_from(2, to).await.unwrap();
    kept.write_all(request).await.unwrap();
    let first = read_for_now(&mut kept).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(first.contains("keep-alive: timeout=3\r\n"), "{first}");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    kept.write_all(request).await.unwrap();
    let second = read_for_now(&mut kept).await;
    assert!(
        second.starts_with("HTTP/1.1 200"),
        "closed while idle: {second:?}"
    );
    // Then idle past its time-out: closed.
    let started = Instant::now();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), kept.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "an idle keep-alive connection stayed open");
    let idle_for = started.elapsed();
    assert!(idle_for > Duration::from_millis(2000), "{idle_for:?}");
    eprintln!(
        "closed: silent after {silent_for:?}, trickle after {trickled_for:?}, idle keep-alive after {idle_for:?}"
    );
}

#[tokio::test]
async fn a_connection_flood_is_cut_off_and_others_are_served() {
    let server = server(&[
        "--max-connections",
        "120",
        "--max-connections-per-client",
        "40",
    ]);
    let to = address(&server);
    // 400 idle connections from one address, then 200 from ten others.
    let mut flood = Vec::new();
    for n in 0..600 {
        let from = if n < 400 { 2 } else { 10 + (n % 10) as u8 };
        if let Ok(stream) = connect_from(from, to).await {
            flood.push(stream);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats = get_json(server.url("/__runbase/stats")).await;
    let open = stats["connections"]["open"].as_u64().unwrap();
    assert!(open <= 120, "{stats}");
    assert!(
        stats["connections"]["shed"].as_u64().unwrap() >= 450,
        "{stats}"
    );
    // A new client, and the flooding address itself with a real request, are served.
    for from in [3, 2] {
        let answer = client_from(from)
            .get(server.url("/__runbase/backend"))
            .send()
            .await
            .expect("served during the flood");
        assert_eq!(answer.status().as_u16(), 200);
    }
    let (status, _, run) = create_from(&server, 3).await;
    assert_eq!(status, 201, "{run}");
    drop(flood);
}

/// The server's resident memory now and at its peak, in MB (Linux /proc).
fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::test]
async fn a_flood_of_large_bodies_keeps_memory_bounded() {
    // The smallest budget (four largest bodies); each reserved byte costs at most ~3 at once.
    let server = server(&["--body-budget-mb", "90"]);
    let (before, _) = memory_mb(server.pid());
    // 30 clients at once, each sending 4 references of 4.5 MB as data URLs (≈ 24 MB) with an
    // aspect ratio the model refuses: read, parsed and validated in full, never sent upstream.
    let image = "A".repeat(4_500_000);
    let body = run_body(json!({
        "prompt": "A vase",
        "aspect_ratio": "9:1",
        "image_urls": (0..4).map(|_| format!("data:image/png;base64,{image}")).collect::<Vec<_>>(),
    }))
    .to_string();
    let sends = (0..30).map(|n| {
        let (body, url) = (body.clone(), server.url("/api/v1/runs"));
        async move {
            let answer = client_from(20 + n)
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            match answer {
                Ok(answer) => {
                    let status = answer.status().as_u16();
                    let body: Value = answer.json().await.unwrap_or(Value::Null);
                    (status, code(&body).to_string())
                }
                Err(_) => (0, String::new()),
            }
        }
    });
    let answers = futures_util::future::join_all(sends).await;
    let (_, peak) = memory_mb(server.pid());
    let busy = answers
        .iter()
        .filter(|(s, c)| *s == 503 && c == "server_busy")
        .count();
    let checked = answers
        .iter()
        .filter(|(s, _)| *s == 413 || *s == 400)
        .count();
    eprintln!(
        "30 × 24 MB bodies: {checked} read and refused, {busy} turned away busy; memory {before:.0} MB before, peak {peak:.0} MB"
    );
    assert!(busy > 0, "{answers:?}");
    assert_eq!(busy + checked, 30, "{answers:?}");
    // Unbounded, 30 such bodies held ≈ 30 × 24 MB × 3 ≈ 2 GB; the budget holds it to
    // 90 MB × 3 above what the server had.
    assert!(
        peak < before + 3.0 * 90.0 + 40.0,
        "peak {peak} MB, before {before} MB"
    );
    assert_eq!(upstream_requests(&server).await, 0);
}

#[tokio::test]
async fn invented_run_ids_cost_little_upstream_and_never_delay_a_create() {
    let server = server(&["--client-limit", "1000"]);
    let flooder = client_from(2);
    let mut statuses = Vec::new();
    for n in 0..30 {
        let url = server.url(&format!("/api/v1/runs/run_invented{n}"));
        statuses.push(send(flooder.get(url)).await.0);
    }
    let looked_up = statuses.iter().filter(|s| **s == 404).count();
    assert_eq!(looked_up, 4, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 26);
    let upstream = upstream_requests(&server).await;
    assert_eq!(upstream, 4);
    // The same invented id again: answered from what the API said, nothing upstream.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (status, _, body) = send(flooder.get(server.url("/api/v1/runs/run_invented0"))).await;
    assert_eq!((status, code(&body)), (404, "run_not_found"));
    assert_eq!(upstream_requests(&server).await, upstream);
    // Another client's create goes at once.
    let (status, _, run) = create_from(&server, 3).await;
    assert_eq!(status, 201, "{run}");
}

#[tokio::test]
async fn the_spend_guard_limits_clients_and_the_whole_proxy() {
    // 1K runs cost $0.05: two per client per hour, four in all per day.
    let limits = [
        "--spend-per-client-hour-usd",
        "0.12",
        "--spend-per-day-usd",
        "0.20",
    ];
    let server = server(&limits);
    let create = |from: u8| create_from(&server, from);
    assert_eq!(create(2).await.0, 201);
    assert_eq!(create(2).await.0, 201);
    let (status, headers, body) = create(2).await;
    assert_eq!(
        (status, code(&body)),
        (429, "spend_limit_reached"),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("this client's spending this hour ($0.12)"),
        "{message}"
    );
    assert!(message.contains("resets at 20"), "{message}");
    let secs: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&secs), "{secs}");
    assert_eq!(create(3).await.0, 201);
    assert_eq!(create(3).await.0, 201);
    let (status, _, body) = create(4).await;
    assert_eq!((status, code(&body)), (429, "spend_limit_reached"));
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("this proxy's spending today"));
    let stats = get_json(server.url("/__runbase/stats")).await;
    assert_eq!(stats["runs"]["created"], 4, "refused creates went nowhere");
}

#[tokio::test]
async fn with_redis_the_spend_counters_survive_a_restart() {
    let redis = Redis::start();
    let upstream = server(&[]);
    let proxy = || {
        Server::start(
            &[
                "--upstream",
                &upstream.url("/sim/v1"),
                "--redis",
                &redis.url,
                "--spend-per-client-hour-usd",
                "0.10",
            ],
            &[("RUNBASE_API_KEY", KEY)],
        )
    };
    let first = proxy();
    for _ in 0..2 {
        let (status, _, run) = create_from(&first, 2).await;
        assert_eq!(status, 201, "{run}");
    }
    drop(first);
    let second = proxy();
    let (status, _, body) = create_from(&second, 2).await;
    assert_eq!(
        (status, code(&body)),
        (429, "spend_limit_reached"),
        "{body}"
    );
}

#[tokio::test]
async fn lone_surrogates_are_accepted_and_truncated_bodies_are_400() {
    let server = server(&[]);
    let to = address(&server);
    // What JSON.stringify writes for a string holding a lone surrogate.
    let body = r#"{"model":"openai/gpt-image-2","input":{"prompt":"A vase \ud800 on a table"}}"#;
    let (status, _, run) = send(
        client_from(3)
            .post(server.url("/api/v1/runs"))
            .header("content-type", "application/json")
            .body(body),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    // A body shorter than its Content-Length, the connection half-closed.
    let mut stream = connect_from(3, to).await.unwrap();
    let head = format!(
        "POST /api/v1/runs HTTP/1.1\r\nHost: {to}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"model\":\"openai"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("incomplete_body"), "{answer}");
}

#[tokio::test]
async fn a_flooding_client_delays_another_create_by_at_most_one_slot() {
    let server = server(&["--sim-run-ms", "30000", "--client-limit", "1000"]);
    // The flooder fills the key's window, one create every 100 ms (so that the slots free
    // one by one, and the order runs are made in is the order they were granted), and
    // queues 21 more behind it.
    let flooder = client_from(2);
    let flood = futures_util::future::join_all((0..40u64).map(|n| {
        let request = flooder.post(server.url("/api/v1/runs")).json(&valid());
        async move {
            tokio::time::sleep(Duration::from_millis(100 * n.min(20))).await;
            send(request).await
        }
    }));
    let other = async {
        // Once the window is full and the flooder's creates wait in the queue.
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let stats = get_json(server.url("/__runbase/stats")).await;
            if stats["queue"]["creates"].as_u64().unwrap_or(0) >= 20 {
                break;
            }
        }
        let sent_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let answer = create_from(&server, 3).await;
        (sent_ms, answer)
    };
    let (flooded, (sent_ms, (status, _, run))) = tokio::join!(flood, other);
    assert_eq!(status, 201, "{run}");
    let created_ms = |run: &Value| {
        runbase_image::core::time::iso8601_unix_ms(run["createdAt"].as_str().unwrap()).unwrap()
    };
    let mine = created_ms(&run);
    let ahead = flooded
        .iter()
        .filter(|(status, _, run)| *status == 201 && (sent_ms..mine).contains(&created_ms(run)))
        .count();
    let waiting = flooded
        .iter()
        .filter(|(status, _, run)| *status == 201 && created_ms(run) > mine)
        .count();
    eprintln!("the other client's create waited {} ms; flooder creates made before it meanwhile: {ahead}, after it: {waiting}", mine - sent_ms);
    assert!(ahead <= 1, "{ahead} of the flooder's creates went first");
    assert!(
        waiting >= 15,
        "the flooder's queue was behind it: {waiting}"
    );
}
