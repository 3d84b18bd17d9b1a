//! The server's routes and layers: the API under its prefix (the gateway, with the broker
//! unless `--pass-through`), the simulator when no key is set, the stats and metrics, and the
//! demo and package files; every request passes the host check and gets its trace span.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::auth::Authenticator;
use crate::broker::scheduler::Scheduler;
use crate::broker::{self, Broker};
use crate::config::Config;
use crate::gateway::{Gateway, MAX_BODY_BYTES};
use crate::http::files::static_files;
use crate::http::{accept, body_budget, hosts, trace};
use crate::metrics::{self, Metrics};
use crate::rate_limit::CallerWindows;
use crate::sim::{self, Simulator};
use crate::spend;
use crate::stats::{BodyStats, Mode, Stats};
use crate::store::Shared;
use crate::upstream::{Secret, Upstream};

/// Fetches of run ids the broker does not know, per client per 10 s (a page resuming its runs
/// after a reload needs a few; an invented id costs an upstream request).
const UNKNOWN_ID_LOOKUPS: usize = 4;

pub fn app(
    config: &Config,
    local: SocketAddr,
    shared: Option<Arc<Shared>>,
    connections: accept::Connections,
    auth: Option<Arc<Authenticator>>,
) -> Router {
    // The gateway's spend guard and per-caller windows count in Redis too.
    let shared_for_gateway = shared.clone();
    let client = reqwest::Client::builder()
        .timeout(config.upstream_timeout)
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default();
    let per_client = Mutex::new(CallerWindows::new(
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
                config.sim_strict_window,
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
    let metrics = Metrics::new();
    let upstream = Arc::new(Upstream {
        base: upstream,
        key,
        client,
        forward_host: backend == "simulator",
        requests: AtomicU64::new(0),
        metrics: metrics.clone(),
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
    let sign_in = auth.is_some();
    let gateway = Gateway {
        upstream: upstream.clone(),
        broker: broker.clone(),
        backend,
        allowed_models: config.allowed_models.clone(),
        allowed_origins: config.allowed_origins.clone(),
        hosts: hosts::Hosts::new(local, &config.public_hosts),
        per_client,
        lookups: Mutex::new(CallerWindows::new(
            UNKNOWN_ID_LOOKUPS,
            Duration::from_secs(10),
        )),
        body_timeout: config.body_timeout,
        body_budget: body_budget.clone(),
        spend: config
            .spend
            .any()
            .then(|| spend::SpendGuard::new(config.spend, shared_for_gateway.clone())),
        shared: shared_for_gateway,
        auth,
    };
    let backend_info = serde_json::json!({
        "backend": backend,
        "apiBase": config.api_prefix,
        "models": config.allowed_models,
        "broker": broker.is_some(),
        "signIn": sign_in,
    });
    let stats = move || {
        let (mode, upstream, broker) = match &broker {
            Some(broker) => {
                let (upstream, broker) = broker.stats();
                (Mode::Broker, upstream, Some(broker))
            }
            None => (
                Mode::PassThrough,
                broker::pass_through_stats(&upstream),
                None,
            ),
        };
        Stats {
            mode,
            upstream,
            broker,
            connections: connections.stats(),
            bodies: BodyStats {
                bytes_in_flight: body_budget.in_use(),
                budget_bytes: body_budget.total,
            },
        }
    };
    let stats_text = stats.clone();
    let page = ServeDir::new(&config.www).append_index_html_on_directories(true);
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
                    [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
                    metrics.render(stats_text()),
                )
                    .into_response()
            }),
        )
        .nest_service("/pkg", static_files(ServeDir::new(&config.pkg)))
        .fallback_service(static_files(page))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Answers that change (runs, stats) are never kept; the files set their own.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(axum::middleware::from_fn_with_state(
            hosts::Hosts::new(local, &config.public_hosts),
            hosts::only_own_hosts,
        ))
        .layer(axum::middleware::from_fn(trace::request_span))
}
