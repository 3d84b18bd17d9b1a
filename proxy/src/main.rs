//! runbase-server: serves the demo and the wasm package, and the Runbase API under a prefix,
//! either as a key-holding proxy to the real API (RUNBASE_API_KEY set) or, by default, backed
//! by the built-in simulator. `runbase-server --help` lists every flag; docs/SERVER.md says
//! more.

mod app;
mod auth;
mod broker;
mod clock;
mod config;
mod gateway;
mod http;
mod lock;
mod metrics;
mod rate_limit;
mod sim;
mod spend;
mod stats;
mod store;
mod upstream;

use clap::Parser;

use config::{Config, Flags};
use http::{accept, hosts, trace};

fn main() {
    // An empty variable counts as unset, as in a shell's `${VAR:-default}`; they are removed
    // before any other thread exists.
    for (name, value) in std::env::vars_os() {
        if value.is_empty() && name.to_string_lossy().starts_with("RUNBASE_") {
            std::env::remove_var(name);
        }
    }
    let open_files = raise_open_files_limit();
    let config = match Flags::parse().into_config(open_files) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("runbase-server: {message}");
            std::process::exit(2);
        }
    };
    trace::init(config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(serve(config)),
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            std::process::exit(1);
        }
    }
}

async fn serve(config: Config) {
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("cannot listen on {}: {e}", config.listen);
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().unwrap_or(config.listen);
    let shared = match &config.redis {
        Some(url) => {
            let key = config.api_key.as_ref().map_or("", |k| k.expose());
            match store::Shared::new(url, key, &config.upstream) {
                Ok(shared) => Some(shared),
                Err(error) => {
                    tracing::error!("{error}");
                    std::process::exit(2);
                }
            }
        }
        None => None,
    };
    if let Some(shared) = &shared {
        shared.connect_at_start().await;
    }
    let auth = match &config.auth {
        Some(settings) => {
            match auth::Authenticator::new(settings, auth_client(), config.client_limit).await {
                Ok(auth) => Some(std::sync::Arc::new(auth)),
                Err(error) => {
                    tracing::error!("cannot check sign-ins: {error}");
                    std::process::exit(2);
                }
            }
        }
        None => None,
    };
    let connections = accept::Connections::default();
    let sign_in = auth.as_ref().map(|auth| auth.describe());
    let app = app::app(&config, local, shared.clone(), connections.clone(), auth);
    // The one line on stdout: scripts and tests read the address from it.
    println!("runbase-server listening on http://{local}/");
    describe(&config, local, shared.as_deref(), sign_in);
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
    accept::serve(listener, app, config.connections, connections, shutdown).await;
    tracing::info!("stopped cleanly");
}

/// What this instance does, as the first log lines.
fn describe(
    config: &Config,
    local: std::net::SocketAddr,
    shared: Option<&store::Shared>,
    sign_in: Option<String>,
) {
    use tracing::info;
    match &config.api_key {
        Some(_) => info!(
            "mode: PROXY to {} (key from RUNBASE_API_KEY, never logged)",
            config.upstream
        ),
        None => {
            info!("mode: SIMULATOR (no RUNBASE_API_KEY set): runs and images are simulated");
            info!(
                "simulated API for your own key: http://{local}/sim/v1 (keys start with \"{}\")",
                sim::KEY_PREFIX
            );
        }
    }
    info!(
        "API for the browser: http://{local}{}/runs",
        config.api_prefix
    );
    info!(
        "host names answered: {} (any other Host gets 421; add names with --public-host)",
        hosts::Hosts::new(local, &config.public_hosts)
            .names()
            .join(", ")
    );
    let page = config.www.join("index.html");
    if page.is_file() {
        info!(
            "page at /: {} (package at /pkg/: {})",
            config.www.display(),
            config.pkg.display()
        );
    } else {
        tracing::warn!("no page at /: {} is not there (scripts/build builds the demo into dist/; or pass --www)", page.display());
    }
    match sign_in {
        Some(how) => info!("sign-in: ON, only signed-in users may spend, each within their own limits: {how}"),
        None => info!("sign-in: OFF, anyone who can reach the proxy may spend (limits per client address; see --auth-jwks, --auth-forward)"),
    }
    if config.pass_through {
        info!("broker OFF (--pass-through): every browser request is forwarded upstream");
    } else {
        info!(
            "broker ON: {} upstream requests per {} ms (+{} ms margin) for the whole key; stats at /__runbase/stats",
            config.limits.requests,
            config.limits.window.as_millis(),
            config.limits.margin.as_millis()
        );
    }
    match shared {
        Some(shared) if shared.is_up() => info!(
            "shared state: Redis at {} (instance {}): budget, queue and runs shared with every instance on it",
            shared.shown_url, shared.instance
        ),
        Some(shared) => tracing::warn!(
            "shared state: Redis at {} does NOT answer: new runs are refused (503) until it does",
            shared.shown_url
        ),
        None => info!("shared state: in memory (one instance; --redis URL to run several)"),
    }
    info!(
        "connections: at most {} open ({} per client address), headers within {} ms, idle closed after {} ms",
        config.connections.max_connections,
        config.connections.max_per_client,
        config.connections.header_read.as_millis(),
        config.connections.idle.as_millis()
    );
    if config.test_faults {
        info!("test fault controls ON at /__sim/faults and /__sim/stats");
    }
}

/// The HTTP client that reads a JWKS URL and asks a forward-auth endpoint: never follows a
/// redirect (a sign-in page is no answer).
fn auth_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
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
