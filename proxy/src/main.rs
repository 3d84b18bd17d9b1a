//! runbase-server: serves the demo and the wasm package, and the Runbase API under a prefix,
//! either as a key-holding proxy to the real API (RUNBASE_API_KEY set) or, by default, backed
//! by the built-in simulator. See the README for every flag.

mod broker;
mod gateway;
mod http;
mod rate_limit;
mod run_request;
mod sim;
mod spend;
mod store;
mod upstream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use broker::scheduler::{self, Scheduler};
use broker::Broker;
use gateway::{Gateway, MAX_BODY_BYTES};
use http::{accept as serve, body_budget, hosts};
use rate_limit::SlidingWindow;
use sim::Simulator;
use std::sync::atomic::AtomicU64;
use upstream::{Secret, Upstream};

/// Locks a mutex even after a panic in another holder: every state guarded here is whole
/// between statements, and the server must keep serving.
pub fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

const DEFAULT_UPSTREAM: &str = "https://api.runbase.net/v1";
/// Fetches of run ids the broker does not know, per client per 10 s (a page resuming its runs
/// after a reload needs a few; an invented id costs an upstream request).
const UNKNOWN_ID_LOOKUPS: usize = 4;

struct Config {
    listen: SocketAddr,
    www: PathBuf,
    pkg: PathBuf,
    api_prefix: String,
    api_key: Option<Secret>,
    upstream: String,
    allowed_models: Vec<String>,
    allowed_origins: Vec<String>,
    public_hosts: Vec<String>,
    client_limit: usize,
    upstream_timeout: Duration,
    body_timeout: Duration,
    sim_run_time: Duration,
    sim_run_spread: u64,
    test_faults: bool,
    pass_through: bool,
    limits: scheduler::Limits,
    broker: broker::Config,
    redis: Option<String>,
    connections: serve::Limits,
    body_budget: usize,
    spend: spend::SpendLimits,
}

const USAGE: &str = "runbase-server [--listen ADDR] [--www DIR] [--pkg DIR] [--api-prefix PATH]
    [--upstream URL] [--allowed-models A,B] [--allowed-origins O1,O2] [--public-host H1,H2]
    [--client-limit N]
    [--upstream-timeout-ms MS] [--body-timeout-ms MS] [--sim-run-ms MS]
    [--sim-run-spread PERCENT] [--test-faults]
    [--pass-through] [--key-requests N] [--key-window-ms MS] [--key-margin-ms MS]
    [--key-spare N] [--queue-max N] [--queue-wait-ms MS] [--poll-interval-ms MS]
    [--first-poll-ms MS] [--long-poll-s S] [--keep-finished-ms MS] [--redis URL]
    [--header-timeout-ms MS] [--idle-timeout-ms MS] [--max-connections N]
    [--max-connections-per-client N] [--body-budget-mb MB] [--spend-per-client-hour-usd USD]
    [--spend-per-client-day-usd USD] [--spend-per-day-usd USD]
Every flag has an environment variable (RUNBASE_LISTEN, RUNBASE_WWW, ...); flags win.
The API key is read from RUNBASE_API_KEY only, never from a flag (flags show in `ps`).";

fn config() -> Result<Config, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| -> Option<String> {
        let env_name = format!("RUNBASE_{}", name.replace('-', "_").to_uppercase());
        args.iter()
            .position(|a| a == &format!("--{name}"))
            .and_then(|i| args.get(i + 1).cloned())
            .or_else(|| std::env::var(env_name).ok())
            .filter(|v| !v.is_empty())
    };
    if args.iter().any(|a| a == "--help" || a == "-h") {
        return Err(USAGE.to_string());
    }
    let known = [
        "--listen",
        "--www",
        "--pkg",
        "--api-prefix",
        "--upstream",
        "--allowed-models",
        "--allowed-origins",
        "--public-host",
        "--client-limit",
        "--upstream-timeout-ms",
        "--body-timeout-ms",
        "--sim-run-ms",
        "--sim-run-spread",
        "--key-requests",
        "--key-window-ms",
        "--key-margin-ms",
        "--key-spare",
        "--queue-max",
        "--queue-wait-ms",
        "--poll-interval-ms",
        "--first-poll-ms",
        "--long-poll-s",
        "--keep-finished-ms",
        "--redis",
        "--header-timeout-ms",
        "--idle-timeout-ms",
        "--max-connections",
        "--max-connections-per-client",
        "--body-budget-mb",
        "--spend-per-client-hour-usd",
        "--spend-per-client-day-usd",
        "--spend-per-day-usd",
    ];
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        match arg.as_str() {
            "--test-faults" | "--pass-through" => i += 1,
            a if known.contains(&a) => i += 2,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let number = |name: &str, default: u64| -> Result<u64, String> {
        flag(name).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| format!("--{name} must be a number, not {v:?}"))
        })
    };
    let list = |name: &str, default: &str| -> Vec<String> {
        flag(name)
            .unwrap_or_else(|| default.to_string())
            .split(',')
            .map(|s| s.trim().trim_end_matches('/').to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let listen = flag("listen").unwrap_or_else(|| "127.0.0.1:8080".into());
    let prefix = flag("api-prefix").unwrap_or_else(|| "/api/v1".into());
    if !prefix.starts_with('/')
        || prefix.ends_with('/')
        || prefix.starts_with("/sim")
        || prefix.starts_with("/pkg")
    {
        return Err(format!(
            "--api-prefix must look like /api/v1, not {prefix:?}"
        ));
    }
    let allowed_models = list("allowed-models", runbase_image::GPT_IMAGE_2.id);
    // The proxy forwards only input the library has checked, so only models it knows.
    if let Some(unknown) = allowed_models
        .iter()
        .find(|id| runbase_image::find_model(id).is_none())
    {
        let known: Vec<&str> = runbase_image::MODELS.iter().map(|m| m.id).collect();
        return Err(format!(
            "--allowed-models: {unknown:?} is not a model this library can validate (known: {})",
            known.join(", ")
        ));
    }
    Ok(Config {
        listen: listen.parse().map_err(|_| {
            format!("--listen must be an address like 127.0.0.1:8080, not {listen:?}")
        })?,
        www: flag("www").unwrap_or_else(|| "www".into()).into(),
        pkg: flag("pkg").unwrap_or_else(|| "pkg".into()).into(),
        api_prefix: prefix,
        api_key: std::env::var("RUNBASE_API_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty())
            .map(Secret::new),
        upstream: flag("upstream")
            .unwrap_or_else(|| DEFAULT_UPSTREAM.into())
            .trim_end_matches('/')
            .to_string(),
        allowed_models,
        allowed_origins: list("allowed-origins", ""),
        public_hosts: list("public-host", ""),
        // By default a client may use what the key has behind the broker (which shares it
        // out fairly); without it every poll counts too.
        client_limit: number(
            "client-limit",
            if pass_through(&args) {
                40
            } else {
                number("key-requests", 20)?
            },
        )? as usize,
        upstream_timeout: Duration::from_millis(number("upstream-timeout-ms", 60_000)?),
        body_timeout: Duration::from_millis(number("body-timeout-ms", 20_000)?),
        sim_run_time: Duration::from_millis(number("sim-run-ms", 4_000)?),
        sim_run_spread: number("sim-run-spread", 0)?,
        test_faults: args.iter().any(|a| a == "--test-faults")
            || std::env::var("RUNBASE_TEST_FAULTS").is_ok_and(|v| v == "1"),
        pass_through: pass_through(&args),
        limits: {
            let requests = number("key-requests", 20)?;
            let spare = number("key-spare", 1)?;
            if requests == 0 || spare >= requests {
                return Err("--key-requests must be at least 1 and more than --key-spare".into());
            }
            scheduler::Limits {
                requests: (requests - spare) as usize,
                window: Duration::from_millis(number("key-window-ms", 10_000)?.max(1)),
                margin: Duration::from_millis(number("key-margin-ms", 500)?),
                starve: Duration::from_secs(2),
                in_flight: Duration::ZERO,
            }
        },
        broker: broker::Config {
            long_poll_secs: number("long-poll-s", 25)?.clamp(1, 60),
            max_wait_secs: 60,
            queue_max: number("queue-max", 64)? as usize,
            queue_wait: Duration::from_millis(number("queue-wait-ms", 30_000)?),
            poll_interval: Duration::from_millis(number("poll-interval-ms", 1_000)?.max(100)),
            first_poll: Duration::from_millis(number("first-poll-ms", 2_000)?),
            keep_finished: Duration::from_millis(number("keep-finished-ms", 3_600_000)?),
            keep_max: 10_000,
        },
        redis: flag("redis"),
        connections: serve::Limits {
            header_read: Duration::from_millis(number("header-timeout-ms", 10_000)?.max(100)),
            idle: Duration::from_millis(number("idle-timeout-ms", 20_000)?.max(100)),
            max_connections: number("max-connections", 0)? as usize,
            max_per_client: number("max-connections-per-client", 64)?.max(1) as usize,
        },
        spend: {
            let usd = |name: &str| -> Result<Option<u64>, String> {
                flag(name)
                    .map(|v| match v.parse::<f64>() {
                        Ok(usd) if usd.is_finite() && usd >= 0.0 => Ok((usd * 1e6).round() as u64),
                        _ => Err(format!("--{name} must be an amount in dollars, not {v:?}")),
                    })
                    .transpose()
            };
            spend::SpendLimits {
                per_client_hour: usd("spend-per-client-hour-usd")?,
                per_client_day: usd("spend-per-client-day-usd")?,
                per_day: usd("spend-per-day-usd")?,
            }
        },
        body_budget: {
            let mb = number("body-budget-mb", 96)? as usize;
            // A quarter must hold one largest body.
            (mb * 1_000_000).max(4 * MAX_BODY_BYTES)
        },
    })
}

fn pass_through(args: &[String]) -> bool {
    args.iter().any(|a| a == "--pass-through")
        || std::env::var("RUNBASE_PASS_THROUGH").is_ok_and(|v| v == "1")
}

#[tokio::main]
async fn main() {
    let mut config = match config() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    config.limits.in_flight = config.upstream_timeout + config.limits.hold();
    // Open connections stay well under the file descriptors the process may have (each
    // also needs one upstream now and then, and files are served).
    let files = raise_open_files_limit();
    let fit = (files.saturating_sub(128) / 2).max(16) as usize;
    let connections_limit = &mut config.connections.max_connections;
    *connections_limit = match *connections_limit {
        0 => fit.min(4096),
        n => n.min(fit),
    };
    if config.redis.is_some() && config.pass_through {
        eprintln!("--redis shares the broker's state: it cannot go with --pass-through");
        std::process::exit(2);
    }
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("runbase-server: cannot listen on {}: {e}", config.listen);
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().unwrap_or(config.listen);
    let shared = match &config.redis {
        Some(url) => {
            let key = config.api_key.as_ref().map_or("", |k| k.expose());
            match store::Shared::new(url, key, &config.upstream) {
                Ok(shared) => Some(shared),
                Err(message) => {
                    eprintln!("{message}");
                    std::process::exit(2);
                }
            }
        }
        None => None,
    };
    if let Some(shared) = &shared {
        shared.connect_at_start().await;
    }
    let connections = serve::Connections::default();
    let app = app(&config, local, shared.clone(), connections.clone());
    println!("runbase-server listening on http://{local}/");
    if config.api_key.is_some() {
        println!(
            "  mode: PROXY to {} (key from RUNBASE_API_KEY, never logged)",
            config.upstream
        );
    } else {
        println!("  mode: SIMULATOR (no RUNBASE_API_KEY set): runs and images are simulated");
        println!(
            "  simulated API for your own key: http://{local}/sim/v1 (keys start with \"{}\")",
            sim::KEY_PREFIX
        );
    }
    println!(
        "  API for the browser: http://{local}{}/runs",
        config.api_prefix
    );
    println!(
        "  host names answered: {} (any other Host gets 421; add names with --public-host)",
        hosts::Hosts::new(local, &config.public_hosts)
            .names()
            .join(", ")
    );
    if config.pass_through {
        println!("  broker OFF (--pass-through): every browser request is forwarded upstream");
    } else {
        println!(
            "  broker ON: {} upstream requests per {} ms (+{} ms margin) for the whole key; stats at /__runbase/stats",
            config.limits.requests,
            config.limits.window.as_millis(),
            config.limits.margin.as_millis()
        );
    }
    match &shared {
        Some(shared) if shared.is_up() => println!(
            "  shared state: Redis at {} (instance {}): budget, queue and runs shared with every instance on it",
            shared.shown_url, shared.instance
        ),
        Some(shared) => println!(
            "  shared state: Redis at {} does NOT answer: new runs are refused (503) until it does",
            shared.shown_url
        ),
        None => println!("  shared state: in memory (one instance; --redis URL to run several)"),
    }
    println!(
        "  connections: at most {} open ({} per client address), headers within {} ms, idle closed after {} ms",
        config.connections.max_connections,
        config.connections.max_per_client,
        config.connections.header_read.as_millis(),
        config.connections.idle.as_millis()
    );
    if config.test_faults {
        println!("  test fault controls ON at /__sim/faults and /__sim/stats");
    }
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            if let Ok(mut s) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                s.recv().await;
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    };
    serve::serve(listener, app, config.connections, connections, shutdown).await;
    println!("runbase-server stopped cleanly");
}

/// Raises the soft limit of open files to the hard one (often 1 024 → 524 288); the limit now.
fn raise_open_files_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed by reference.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        let wanted = libc::rlimit {
            rlim_cur: limit.rlim_max.min(65_536),
            rlim_max: limit.rlim_max,
        };
        if wanted.rlim_cur > limit.rlim_cur && libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
            limit = wanted;
        }
    }
    limit.rlim_cur
}

fn app(
    config: &Config,
    local: SocketAddr,
    shared: Option<Arc<store::Shared>>,
    connections: serve::Connections,
) -> Router {
    let shared_for_spend = shared.clone();
    let client = reqwest::Client::builder()
        .timeout(config.upstream_timeout)
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default();
    let per_client = Mutex::new(SlidingWindow::new(
        config.client_limit,
        Duration::from_secs(10),
    ));
    let mut router = Router::new();
    // The upstream is the real API with the configured key, or the built-in simulator
    // (reached over HTTP like the real one, so both take the very same proxy path).
    let (upstream, key, backend) = match &config.api_key {
        Some(key) => (config.upstream.clone(), key.clone(), "runbase"),
        None => {
            let sim = Simulator::new(
                config.sim_run_time,
                config.sim_run_spread,
                config.test_faults,
            );
            router = router
                .nest("/sim/v1", sim.api_router())
                .nest("/sim/images", sim.image_router());
            if config.test_faults {
                router = router.nest("/__sim", sim.control_router());
            }
            let key = Secret::new(sim::PROXY_KEY.into());
            (format!("http://{local}/sim/v1"), key, "simulator")
        }
    };
    let upstream = Arc::new(Upstream {
        base: upstream,
        key,
        client,
        forward_host: backend == "simulator",
        requests: AtomicU64::new(0),
        rate_limited: AtomicU64::new(0),
    });
    let broker = (!config.pass_through).then(|| {
        Broker::new(
            upstream.clone(),
            Scheduler::new(config.limits, shared.clone()),
            config.broker.clone(),
            shared,
        )
    });
    let body_budget = body_budget::BodyBudget::new(config.body_budget);
    let gateway = Gateway {
        upstream: upstream.clone(),
        broker: broker.clone(),
        backend,
        allowed_models: config.allowed_models.clone(),
        allowed_origins: config.allowed_origins.clone(),
        hosts: hosts::Hosts::new(local, &config.public_hosts),
        per_client,
        lookups: Mutex::new(SlidingWindow::new(
            UNKNOWN_ID_LOOKUPS,
            Duration::from_secs(10),
        )),
        body_timeout: config.body_timeout,
        body_budget: body_budget.clone(),
        spend: config
            .spend
            .any()
            .then(|| spend::SpendGuard::new(config.spend, shared_for_spend)),
    };
    let backend_info = serde_json::json!({
        "backend": backend,
        "apiBase": config.api_prefix,
        "models": config.allowed_models,
        "broker": broker.is_some(),
    });
    let stats = move || {
        let mut stats = match &broker {
            Some(broker) => broker.stats(),
            None => broker::pass_through_stats(&upstream),
        };
        stats["connections"] = connections.stats();
        stats["bodies"] = serde_json::json!({
            "bytesInFlight": body_budget.in_use(),
            "budgetBytes": body_budget.total,
        });
        stats
    };
    let stats_text = stats.clone();
    let static_files = ServeDir::new(&config.www).append_index_html_on_directories(true);
    router
        .nest(&config.api_prefix, Arc::new(gateway).router())
        .route(
            "/__runbase/backend",
            get(move || async move { axum::Json(backend_info).into_response() }),
        )
        .route(
            "/__runbase/stats",
            get(move || async move { axum::Json(stats()).into_response() }),
        )
        .route(
            "/metrics",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    broker::metrics_text(&stats_text()),
                )
                    .into_response()
            }),
        )
        .nest_service("/pkg", ServeDir::new(&config.pkg))
        .fallback_service(static_files)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(axum::middleware::from_fn_with_state(
            hosts::Hosts::new(local, &config.public_hosts),
            hosts::only_own_hosts,
        ))
        .layer(axum::middleware::from_fn(log_request))
}

/// One line per request: method, path, status, time. Never headers or bodies.
async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    let path: String = request.uri().path().chars().take(120).collect();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    if !path.starts_with("/sim/images") {
        eprintln!(
            "{method} {path} -> {} ({} ms)",
            response.status().as_u16(),
            started.elapsed().as_millis()
        );
    }
    response
}
